//! The run report: one per workflow triggered by an event.

use serde::Serialize;
use serde_json::Value as Json;

use crate::{Action, RunCode};

/// How a run ended: `"succeeded"`, `"skipped"`, `"failed"` or `"waiting"` in JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Succeeded,
    /// The `when` condition was false.
    Skipped,
    Failed,
    /// Stopped at a wait that ends later (`flow serve`): it goes on at `wakes_at`.
    Waiting,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Succeeded => "succeeded",
            Status::Skipped => "skipped",
            Status::Failed => "failed",
            Status::Waiting => "waiting",
        }
    }
}

/// What one run did. Its JSON (`flow run --format json`, batch mode, the run log) is
/// its serialization, fields in this order, and is described by
/// `docs/run-report.schema.json`.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    pub workflow: String,
    pub event: Option<String>,
    pub event_type: String,
    /// What started the run: `event`, `schedule` or `demand`.
    pub trigger: &'static str,
    /// A scheduled run's slot (RFC 3339, UTC); left out for other runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slot: Option<String>,
    pub status: Status,
    /// The stable code of the error, when the run failed.
    pub code: Option<RunCode>,
    pub error: Option<String>,
    /// A waiting run: when it goes on (Unix seconds); left out otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wakes_at: Option<i64>,
    /// Every action carried out, in order (kept when a later step fails).
    pub actions: Vec<Action>,
    /// The `for` loops that ran, one entry per loop of the source (left out when
    /// there are none, so that the reports of workflows without loops keep their
    /// shape).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub loops: Vec<LoopRun>,
    /// The waits the run passed, in order (left out when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub waits: Vec<WaitRun>,
}

/// A wait a run passed: where it is, and when it ended (`now` after it).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WaitRun {
    /// `file.flow:3:5`: the `wait` statement.
    pub at: String,
    /// RFC 3339, UTC.
    pub until: String,
}

/// What a `for` loop of the source did in a run: where it is, how many times its
/// body ran (over every time the loop was entered), and whether a list was longer
/// than its limit and cut.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LoopRun {
    /// `file.flow:3:5`: the list looped over.
    pub at: String,
    pub limit: u32,
    pub iterations: u64,
    pub truncated: bool,
}

impl RunReport {
    /// The report as a JSON tree: its serialization.
    pub fn to_json(&self) -> Json {
        // Every key is a string: serializing cannot fail.
        serde_json::to_value(self).unwrap_or(Json::Null)
    }

    /// The report for a person.
    pub fn to_text(&self) -> String {
        let mut out = match (self.trigger, &self.slot) {
            ("schedule", Some(slot)) => format!(
                "{} · {} on schedule (slot {slot})\n",
                self.status.as_str(),
                self.workflow,
            ),
            ("demand", _) => format!(
                "{} · {} on demand ({})\n",
                self.status.as_str(),
                self.workflow,
                self.event.as_deref().unwrap_or("no run id")
            ),
            _ => format!(
                "{} · {} on {} ({})\n",
                self.status.as_str(),
                self.workflow,
                self.event_type,
                self.event.as_deref().unwrap_or("no event id")
            ),
        };
        if let Some(t) = self.wakes_at {
            out.push_str(&format!(
                "  waiting until {}\n",
                crate::value::format_timestamp(t)
            ));
        }
        if let Some(e) = &self.error {
            out.push_str(&format!("  error: {e}\n"));
        }
        if self.actions.is_empty() && self.status != Status::Skipped {
            out.push_str("  no actions\n");
        }
        for l in self.loops.iter().filter(|l| l.truncated) {
            out.push_str(&format!(
                "  warning: the loop at {} took only the first {} items of a longer list (`limit N` takes more)\n",
                l.at, l.limit
            ));
        }
        for a in &self.actions {
            match a {
                Action::Email(e) => {
                    // One-line fields stay on one line whatever the data holds.
                    let one_line = |s: &str| s.replace('\r', "\\r").replace('\n', "\\n");
                    out.push_str(&format!("  email to {}\n", one_line(&e.to.join(", "))));
                    if let Some(s) = &e.subject {
                        out.push_str(&format!("    subject: {}\n", one_line(s)));
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
                Action::Slack {
                    channel,
                    text,
                    blocks,
                } => {
                    let one_line = |s: &str| s.replace('\r', "\\r").replace('\n', "\\n");
                    out.push_str(&format!("  slack {}\n", one_line(channel)));
                    for line in text.lines() {
                        out.push_str(&format!("    | {line}\n"));
                    }
                    if let Some(b) = blocks {
                        out.push_str(&format!("    blocks: {b}\n"));
                    }
                }
                other => {
                    if let Some(line) = other.summary() {
                        out.push_str(&format!("  {line}\n"));
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Email;
    use serde_json::json;

    /// The report's JSON as it was built by hand before it was derived: the field
    /// order and the shape of every action are part of the format.
    fn by_hand(r: &RunReport) -> Json {
        let actions: Vec<Json> = r
            .actions
            .iter()
            .map(|a| match a {
                Action::Email(e) => json!({
                    "action": "email",
                    "to": e.to,
                    "subject": e.subject,
                    "body": e.body,
                    "append": e.append.iter().map(|(l, t)| json!([l, t])).collect::<Vec<_>>(),
                }),
                Action::Update { object, id, account, params } => json!({
                    "action": "update", "object": object, "id": id, "account": account, "params": params,
                }),
                Action::Retrieve { object, id, account } => json!({
                    "action": "retrieve", "object": object, "id": id, "account": account,
                }),
                Action::Refund { account, params } => json!({ "action": "refund", "account": account, "params": params }),
                Action::Slack { channel, text, blocks } => json!({ "action": "slack", "channel": channel, "text": text, "blocks": blocks }),
                Action::Http { name, method, url, headers, body } => json!({
                    "action": "http", "name": name, "method": method, "url": url,
                    "headers": headers.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(), "body": body,
                }),
                // The issue's form, in its order: users and tests depend on it.
                Action::Stripe(c) => json!({
                    "action": "stripe", "method": c.method, "http": c.http, "id": c.id,
                    "account": c.account, "params": c.params,
                }),
            })
            .collect();
        let mut m = serde_json::Map::new();
        m.insert("workflow".into(), json!(r.workflow));
        m.insert("event".into(), json!(r.event));
        m.insert("event_type".into(), json!(r.event_type));
        m.insert("trigger".into(), json!(r.trigger));
        if let Some(s) = &r.slot {
            m.insert("slot".into(), json!(s));
        }
        m.insert("status".into(), json!(r.status.as_str()));
        m.insert("code".into(), json!(r.code.map(RunCode::as_str)));
        m.insert("error".into(), json!(r.error));
        if let Some(t) = r.wakes_at {
            m.insert("wakes_at".into(), json!(t));
        }
        m.insert("actions".into(), Json::Array(actions));
        if !r.loops.is_empty() {
            m.insert(
                "loops".into(),
                serde_json::to_value(&r.loops).unwrap_or(Json::Null),
            );
        }
        if !r.waits.is_empty() {
            let waits: Vec<Json> = r
                .waits
                .iter()
                .map(|w| json!({"at": w.at, "until": w.until}))
                .collect();
            m.insert("waits".into(), Json::Array(waits));
        }
        Json::Object(m)
    }

    fn reports() -> Vec<RunReport> {
        let mut params = serde_json::Map::new();
        params.insert("payment_intent".into(), json!("pi_1"));
        params.insert("amount".into(), json!(1499));
        let actions = vec![
            Action::Email(Email {
                to: vec!["a@example.com".into(), "b@example.com".into()],
                subject: Some("Über \"big\" order".into()),
                body: "line one\nline two".into(),
                append: vec![
                    ("Amount".into(), "14.99 USD".into()),
                    ("Ø".into(), "".into()),
                ],
            }),
            Action::Email(Email {
                to: vec![],
                subject: None,
                body: String::new(),
                append: vec![],
            }),
            Action::Update {
                object: "customer".into(),
                id: "cus_1".into(),
                account: None,
                params: json!({"metadata": {"Tier": "VIP", "b": 1, "a": null}}),
            },
            Action::Retrieve {
                object: "charge".into(),
                id: "ch_1".into(),
                account: Some("acct_1".into()),
            },
            Action::Refund {
                account: None,
                params,
            },
            Action::Slack {
                channel: "#disputes".into(),
                text: "New <!channel> & dispute".into(),
                blocks: None,
            },
            Action::Slack {
                channel: "C123".into(),
                text: "t".into(),
                blocks: Some(json!([{"type": "divider"}])),
            },
            Action::Http {
                name: None,
                method: "POST".into(),
                url: "https://orders.example.com/hooks".into(),
                headers: vec![],
                body: Some(json!({"dispute": "dp_1", "amount": 2000})),
            },
            Action::Http {
                name: Some("crm_note".into()),
                method: "POST".into(),
                url: "https://crm.example.com/notes".into(),
                headers: vec![("X-Team".into(), "risk".into())],
                body: None,
            },
            Action::Stripe(crate::StripeCall {
                method: "invoices.void_invoice".into(),
                http: "POST /v1/invoices/in_123/void".into(),
                id: Some("in_123".into()),
                account: Some("acct_9".into()),
                params: json!({"expand": ["customer"]}),
                returns: crate::Returns::Object("invoice".into()),
            }),
            Action::Stripe(crate::StripeCall {
                method: "invoices.list".into(),
                http: "GET /v1/invoices".into(),
                id: None,
                account: None,
                params: json!({"customer": "cus_1", "status": "open", "limit": 100}),
                returns: crate::Returns::List("invoice".into()),
            }),
        ];
        let mut out = vec![RunReport {
            workflow: "Tag \u{1F600} customers".into(),
            event: Some("evt_1".into()),
            event_type: "payment_intent.succeeded".into(),
            trigger: "event",
            slot: None,
            status: Status::Succeeded,
            code: None,
            error: None,
            wakes_at: None,
            actions,
            loops: Vec::new(),
            waits: vec![WaitRun {
                at: "t.flow:3:5".into(),
                until: "2026-12-09T10:00:00Z".into(),
            }],
        }];
        for code in RunCode::ALL {
            out.push(RunReport {
                workflow: "W".into(),
                event: None,
                event_type: "charge.refunded".into(),
                trigger: "event",
                slot: None,
                status: Status::Failed,
                code: Some(code),
                error: Some(format!("t.flow:1:2: {}", code.help())),
                wakes_at: None,
                actions: vec![],
                loops: Vec::new(),
                waits: Vec::new(),
            });
        }
        out.push(RunReport {
            event: Some("schedule:W:2027-01-01T14:00:00Z".into()),
            event_type: "schedule".into(),
            trigger: "schedule",
            slot: Some("2027-01-01T14:00:00Z".into()),
            status: Status::Waiting,
            code: None,
            error: None,
            wakes_at: Some(1_798_984_800),
            ..out[1].clone()
        });
        out.push(RunReport {
            status: Status::Skipped,
            ..out[1].clone()
        });
        out
    }

    #[test]
    fn the_json_is_the_one_built_by_hand_byte_for_byte() {
        for r in reports() {
            let want = by_hand(&r).to_string();
            assert_eq!(serde_json::to_string(&r).unwrap(), want);
            assert_eq!(r.to_json().to_string(), want);
            for a in &r.actions {
                assert_eq!(serde_json::to_string(a).unwrap(), a.to_json().to_string());
            }
        }
    }

    #[test]
    fn codes_and_statuses_are_their_stable_names() {
        for code in RunCode::ALL {
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                json!(code.as_str()),
                "{code:?}"
            );
        }
        for s in [Status::Succeeded, Status::Skipped, Status::Failed] {
            assert_eq!(serde_json::to_value(s).unwrap(), json!(s.as_str()));
        }
    }
}
