//! The run report: one per workflow triggered by an event.

use serde_json::{json, Value as Json};

use crate::{Action, RunCode};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Succeeded,
    /// The `when` condition was false.
    Skipped,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Succeeded => "succeeded",
            Status::Skipped => "skipped",
            Status::Failed => "failed",
        }
    }
}

#[derive(Clone, Debug)]
pub struct RunReport {
    pub workflow: String,
    pub event: Option<String>,
    pub event_type: String,
    pub status: Status,
    /// The stable code of the error, when the run failed.
    pub code: Option<RunCode>,
    pub error: Option<String>,
    /// Every action carried out, in order (kept when a later step fails).
    pub actions: Vec<Action>,
}

impl RunReport {
    pub fn to_json(&self) -> Json {
        json!({
            "workflow": self.workflow,
            "event": self.event,
            "event_type": self.event_type,
            "status": self.status.as_str(),
            "code": self.code.map(RunCode::as_str),
            "error": self.error,
            "actions": self.actions.iter().map(Action::to_json).collect::<Vec<_>>(),
        })
    }

    /// The report for a person.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "{} · {} on {} ({})\n",
            self.status.as_str(),
            self.workflow,
            self.event_type,
            self.event.as_deref().unwrap_or("no event id")
        );
        if let Some(e) = &self.error {
            out.push_str(&format!("  error: {e}\n"));
        }
        if self.actions.is_empty() && self.status != Status::Skipped {
            out.push_str("  no actions\n");
        }
        for a in &self.actions {
            match a {
                Action::Email(e) => {
                    out.push_str(&format!("  email to {}\n", e.to.join(", ")));
                    if let Some(s) = &e.subject {
                        out.push_str(&format!("    subject: {s}\n"));
                    }
                    for line in e.body.lines() {
                        out.push_str(&format!("    | {line}\n"));
                    }
                    let width = e
                        .append
                        .iter()
                        .map(|(l, _)| l.chars().count())
                        .max()
                        .unwrap_or(0);
                    for (l, t) in &e.append {
                        out.push_str(&format!("    {l:<width$}  {t}\n"));
                    }
                }
                Action::Update { object, id, params } => {
                    out.push_str(&format!("  update {object} {id} {params}\n"));
                }
                Action::Retrieve { object, id } => {
                    out.push_str(&format!("  retrieve {object} {id}\n"))
                }
                Action::Refund { params } => {
                    out.push_str(&format!("  refund {}\n", Json::Object(params.clone())));
                }
            }
        }
        out
    }
}
