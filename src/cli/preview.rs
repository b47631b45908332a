//! `flow preview`: the e-mails and Slack messages a run would send, as their readers
//! would see them.

use serde_json::{json, Value as Json};

use flow_vm::{Action, Email, RunReport, Status};

use super::output::one_line;

/// An e-mail as delivered: the subject falls back to the workflow's name.
#[derive(Clone, Debug, PartialEq)]
pub struct Preview {
    pub workflow: String,
    pub to: Vec<String>,
    pub subject: String,
    /// No `subject:` was given: the workflow's name is used.
    pub default_subject: bool,
    pub body: String,
    pub fields: Vec<(String, String)>,
}

impl Preview {
    pub fn of(workflow: &str, e: &Email) -> Preview {
        Preview {
            workflow: workflow.to_string(),
            to: e.to.clone(),
            subject: e.subject_or(workflow),
            default_subject: e.subject.is_none(),
            body: e.body.clone(),
            fields: e.append.clone(),
        }
    }

    pub fn to_json(&self) -> Json {
        json!({
            "workflow": self.workflow,
            "to": self.to,
            "subject": self.subject,
            "default_subject": self.default_subject,
            "body": self.body,
            "fields": self.fields.iter().map(|(l, v)| json!({"label": l, "value": v})).collect::<Vec<_>>(),
        })
    }

    /// The e-mail as text: headers, body, and the appended fields as a table.
    pub fn to_text(&self) -> String {
        let mut out = format!("To:      {}\n", one_line(&self.to.join(", ")));
        out.push_str(&format!("Subject: {}", one_line(&self.subject)));
        if self.default_subject {
            out.push_str("   (the workflow's name: no `subject:` given)");
        }
        out.push_str("\n\n");
        out.push_str(&flow_vm::message_text(&self.body, &self.fields));
        out
    }
}

/// What each run did besides e-mails and Slack messages, in a line each, for the
/// text preview.
fn other_actions(r: &RunReport) -> Vec<String> {
    r.actions
        .iter()
        .filter(|a| !matches!(a, Action::Slack { .. }))
        .filter_map(Action::summary)
        .collect()
}

/// The Slack messages of some runs: (workflow, channel, text, blocks).
fn slack_messages(reports: &[RunReport]) -> Vec<(&str, &str, &str, Option<&Json>)> {
    reports
        .iter()
        .flat_map(|r| {
            r.actions.iter().filter_map(|a| match a {
                Action::Slack {
                    channel,
                    text,
                    blocks,
                } => Some((
                    r.workflow.as_str(),
                    channel.as_str(),
                    text.as_str(),
                    blocks.as_ref(),
                )),
                _ => None,
            })
        })
        .collect()
}

/// A Slack message as the channel shows it: text from the event is shown as written
/// (it is sent escaped, so Slack shows it so too, mentions and links included).
fn slack_text(channel: &str, text: &str, blocks: Option<&Json>) -> String {
    let mut out = format!("Channel: {}\n\n", one_line(channel));
    for line in text.lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    if let Some(b) = blocks {
        out.push_str(&format!("\nBlocks: {b}\n"));
    }
    out
}

/// The whole preview of some runs, as text.
pub fn render_text(reports: &[RunReport]) -> String {
    let previews: Vec<Preview> = reports
        .iter()
        .flat_map(|r| {
            r.actions.iter().filter_map(|a| match a {
                Action::Email(e) => Some(Preview::of(&r.workflow, e)),
                _ => None,
            })
        })
        .collect();
    let mut out = String::new();
    let total = previews.len();
    for (i, p) in previews.iter().enumerate() {
        let title = format!(" Email {} of {total} · {} ", i + 1, p.workflow);
        out.push_str(&format!(
            "──{title}{}\n",
            "─".repeat(60usize.saturating_sub(title.chars().count()))
        ));
        out.push_str(&p.to_text());
        out.push('\n');
    }
    let messages = slack_messages(reports);
    let total = messages.len();
    for (i, (workflow, channel, text, blocks)) in messages.iter().enumerate() {
        let title = format!(" Slack {} of {total} · {workflow} ", i + 1);
        out.push_str(&format!(
            "──{title}{}\n",
            "─".repeat(60usize.saturating_sub(title.chars().count()))
        ));
        out.push_str(&slack_text(channel, text, *blocks));
        out.push('\n');
    }
    for r in reports {
        let line = match r.status {
            Status::Skipped => format!(
                "{}: skipped (the `when` condition is false for this event): nothing sent",
                r.workflow
            ),
            Status::Failed => format!(
                "{}: failed: {}",
                r.workflow,
                r.error.as_deref().unwrap_or("")
            ),
            Status::Succeeded | Status::Waiting => {
                let n = r
                    .actions
                    .iter()
                    .filter(|a| matches!(a, Action::Email(_)))
                    .count();
                let mut line = match n {
                    0 => format!("{}: succeeded, sent no email", r.workflow),
                    1 => format!("{}: succeeded, sent 1 email", r.workflow),
                    n => format!("{}: succeeded, sent {n} emails", r.workflow),
                };
                match r
                    .actions
                    .iter()
                    .filter(|a| matches!(a, Action::Slack { .. }))
                    .count()
                {
                    0 => {}
                    1 => line.push_str(" and 1 Slack message"),
                    n => line.push_str(&format!(" and {n} Slack messages")),
                }
                line
            }
        };
        out.push_str(&line);
        out.push('\n');
        for a in other_actions(r) {
            out.push_str(&format!("  also: {a}\n"));
        }
    }
    out
}

/// The whole preview of some runs, as JSON.
pub fn render_json(reports: &[RunReport]) -> Json {
    let emails: Vec<Json> = reports
        .iter()
        .flat_map(|r| {
            r.actions.iter().filter_map(|a| match a {
                Action::Email(e) => Some(Preview::of(&r.workflow, e).to_json()),
                _ => None,
            })
        })
        .collect();
    let runs: Vec<Json> = reports
        .iter()
        .map(|r| {
            json!({
                "workflow": r.workflow,
                "status": r.status.as_str(),
                "error": r.error,
                "actions": r.actions.iter().map(Action::to_json).collect::<Vec<_>>(),
            })
        })
        .collect();
    let slack: Vec<Json> = slack_messages(reports)
        .into_iter()
        .map(|(workflow, channel, text, blocks)| {
            json!({ "workflow": workflow, "channel": channel, "text": text, "blocks": blocks })
        })
        .collect();
    json!({ "emails": emails, "slack": slack, "runs": runs })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_on_characters() {
        let rows = vec![
            ("Customer ID".to_string(), "cus_1".to_string()),
            ("Montant".to_string(), "2 500,00 €".to_string()),
        ];
        let t = flow_vm::fields_table(&rows);
        let widths: Vec<usize> = t.lines().map(|l| l.chars().count()).collect();
        assert!(widths.iter().all(|w| *w == widths[0]), "{t}");
        assert!(t.contains("| Customer ID | cus_1      |"), "{t}");
    }

    #[test]
    fn slack_messages_are_shown_with_their_channel() {
        let report = RunReport {
            loops: Vec::new(),
            waits: Vec::new(),
            workflow: "Dispute alerts".into(),
            event: Some("evt_1".into()),
            event_type: "charge.dispute.created".into(),
            trigger: "event",
            slot: None,
            status: Status::Succeeded,
            code: None,
            error: None,
            wakes_at: None,
            actions: vec![Action::Slack {
                channel: "#disputes".into(),
                text: "New <!channel> dispute".into(),
                blocks: None,
            }],
        };
        let text = render_text(std::slice::from_ref(&report));
        assert!(text.contains("Slack 1 of 1 · Dispute alerts"), "{text}");
        assert!(
            text.contains("Channel: #disputes\n\nNew <!channel> dispute\n"),
            "{text}"
        );
        assert!(!text.contains("also: slack"), "{text}");
        assert!(
            text.contains("Dispute alerts: succeeded, sent no email and 1 Slack message"),
            "{text}"
        );
        let j = render_json(&[report]);
        assert_eq!(j["slack"][0]["channel"], "#disputes");
        assert_eq!(j["slack"][0]["text"], "New <!channel> dispute");
    }

    #[test]
    fn the_subject_defaults_to_the_workflow_name() {
        let e = Email {
            to: vec!["a@example.com".into()],
            subject: None,
            body: "Hello".into(),
            append: vec![],
        };
        let p = Preview::of("Tag valuable customers", &e);
        assert_eq!(p.subject, "Tag valuable customers");
        assert!(p.default_subject);
        assert!(p
            .to_text()
            .starts_with("To:      a@example.com\nSubject: Tag valuable customers"));
    }
}
