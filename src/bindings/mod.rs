//! Action bindings: how a run's side effects are carried out.
//!
//! The VM never acts on the world itself: it builds an [`Action`] and hands it to a
//! [`Bindings`] implementation. [`Recording`] (the default) carries nothing out and
//! answers `retrieve` from a folder of Stripe objects; [`live::Live`] carries actions
//! out through [`stripe::Stripe`] and [`email::Mailer`].

pub mod email;
pub mod live;
pub mod stripe;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value as Json};

/// An e-mail as its reader sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct Email {
    pub to: Vec<String>,
    pub subject: Option<String>,
    pub body: String,
    /// Appended fields, in order: label, text.
    pub append: Vec<(String, String)>,
}

/// One side effect of a run, with exactly the parameters Stripe's API would receive.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Email(Email),
    Update {
        object: String,
        id: String,
        params: Json,
    },
    Retrieve {
        object: String,
        id: String,
    },
    Refund {
        params: Map<String, Json>,
    },
}

impl Email {
    /// The message as its reader sees it, in the e-mail sent and in `flow preview`:
    /// the body, then the appended fields as a table.
    pub fn message_text(&self) -> String {
        message_text(&self.body, &self.append)
    }

    /// The subject line: the one given, or the workflow's name.
    pub fn subject_or(&self, workflow: &str) -> String {
        self.subject.clone().unwrap_or_else(|| workflow.to_string())
    }
}

/// The body, then the fields boxed and aligned in two columns.
pub fn message_text(body: &str, fields: &[(String, String)]) -> String {
    let mut out = String::new();
    for line in body.lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    if !fields.is_empty() {
        out.push('\n');
        out.push_str(&fields_table(fields));
    }
    out
}

/// Label and value columns, boxed and aligned, in ASCII: the same in a terminal and
/// in any mail reader, and plain 7-bit text on the wire.
pub fn fields_table(rows: &[(String, String)]) -> String {
    let width = |s: &str| s.chars().count();
    let lw = rows.iter().map(|(l, _)| width(l)).max().unwrap_or(0);
    let vw = rows.iter().map(|(_, v)| width(v)).max().unwrap_or(0);
    let rule = format!("+{}+{}+\n", "-".repeat(lw + 2), "-".repeat(vw + 2));
    let mut out = rule.clone();
    for (l, v) in rows {
        out.push_str(&format!(
            "| {l}{} | {v}{} |\n",
            " ".repeat(lw - width(l)),
            " ".repeat(vw - width(v))
        ));
    }
    out.push_str(&rule);
    out
}

impl Action {
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Email(_) => "email",
            Action::Update { .. } => "update",
            Action::Retrieve { .. } => "retrieve",
            Action::Refund { .. } => "refund",
        }
    }

    /// The run report's JSON for this action.
    pub fn to_json(&self) -> Json {
        match self {
            Action::Email(e) => json!({
                "action": "email",
                "to": e.to,
                "subject": e.subject,
                "body": e.body,
                "append": e.append.iter().map(|(l, t)| json!([l, t])).collect::<Vec<_>>(),
            }),
            Action::Update { object, id, params } => json!({
                "action": "update", "object": object, "id": id, "params": params,
            }),
            Action::Retrieve { object, id } => json!({
                "action": "retrieve", "object": object, "id": id,
            }),
            Action::Refund { params } => json!({ "action": "refund", "params": params }),
        }
    }
}

/// What an action is part of: enough to derive a stable idempotency key.
#[derive(Clone, Debug)]
pub struct ActionContext<'a> {
    pub event_id: Option<&'a str>,
    pub workflow: &'a str,
    /// The index of this action among the run's actions.
    pub step: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ActionError {
    pub message: String,
}

impl ActionError {
    pub fn new(message: impl Into<String>) -> ActionError {
        ActionError {
            message: message.into(),
        }
    }
}

pub trait Bindings {
    /// Carry out an action. `retrieve` returns the object; other actions may return
    /// what the service answered (or `Json::Null`).
    fn perform(&mut self, action: &Action, cx: &ActionContext<'_>) -> Result<Json, ActionError>;
}

/// The default bindings: nothing leaves the machine. Retrieves are answered from
/// objects given with `--objects`.
#[derive(Clone, Default)]
pub struct Recording {
    objects: HashMap<String, Json>,
}

impl Recording {
    pub fn new() -> Recording {
        Recording::default()
    }

    pub fn with_object(mut self, object: Json) -> Recording {
        self.add(object);
        self
    }

    pub fn add(&mut self, object: Json) {
        if let Some(id) = object.get("id").and_then(Json::as_str) {
            self.objects.insert(id.to_string(), object);
        }
    }

    /// Load every `.json` file of a folder (any names), or one file: objects are found
    /// by `id`. A file may hold one object or an array of them.
    pub fn load_dir(&mut self, dir: &Path) -> Result<usize, String> {
        let objects = load_objects(dir)?;
        let n = objects.len();
        for o in objects {
            self.add(o);
        }
        Ok(n)
    }
}

/// Stripe objects from a `.json` file or a folder of them (each file one object or
/// an array of objects), each with a string `id`.
pub fn load_objects(path: &Path) -> Result<Vec<Json>, String> {
    let files = if path.is_dir() {
        let entries =
            std::fs::read_dir(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut paths: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("json"))
            .collect();
        paths.sort();
        paths
    } else {
        vec![path.to_path_buf()]
    };
    let mut out = Vec::new();
    for p in files {
        let text =
            std::fs::read_to_string(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        let value: Json = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not valid JSON: {e}", p.display()))?;
        let items = match value {
            Json::Array(items) => items,
            other => vec![other],
        };
        for item in items {
            if item.get("id").and_then(Json::as_str).is_none() {
                return Err(format!(
                    "{}: a Stripe object needs a string `id`",
                    p.display()
                ));
            }
            out.push(item);
        }
    }
    Ok(out)
}

impl Bindings for Recording {
    fn perform(&mut self, action: &Action, _cx: &ActionContext<'_>) -> Result<Json, ActionError> {
        match action {
            Action::Retrieve { object, id } => match self.objects.get(id) {
                Some(o) => {
                    let kind = o.get("object").and_then(Json::as_str).unwrap_or(object);
                    if kind != object {
                        return Err(ActionError::new(format!(
                            "retrieve {object} `{id}`: the object with that id is a {kind}"
                        )));
                    }
                    Ok(o.clone())
                }
                None => Err(ActionError::new(format!(
                    "retrieve {object} `{id}`: no such object (give it in a file under --objects)"
                ))),
            },
            _ => Ok(Json::Null),
        }
    }
}
