//! What the VM asks of the world: an [`Action`] with exactly the parameters Stripe's
//! API would receive, carried out by a [`Bindings`] implementation (`flow-bindings`
//! has the recording and the live ones).

use serde::Serialize;
use serde_json::{Map, Value as Json};
use sha2::{Digest, Sha256};

pub use flow_stdlib::api::{Returns, Verb};

/// An e-mail as its reader sees it. In JSON, `append` is a list of `[label, text]`
/// pairs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Email {
    pub to: Vec<String>,
    pub subject: Option<String>,
    pub body: String,
    /// Appended fields, in order: label, text.
    pub append: Vec<(String, String)>,
}

/// One side effect of a run, with exactly the parameters Stripe's API (or Slack, or an
/// HTTP endpoint) would receive. In JSON, an object whose `"action"` names the kind,
/// followed by its fields:
/// `{"action":"update","object":…,"id":…,"account":…,"params":…}`.
///
/// `account` is the connected account a Stripe request acts on (`Stripe-Account`),
/// or `None` for the platform's own account: by default the event's `account`, so an
/// event from a connected account is acted on in that account.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum Action {
    Email(Email),
    Update {
        object: String,
        id: String,
        account: Option<String>,
        params: Json,
    },
    Retrieve {
        object: String,
        id: String,
        account: Option<String>,
    },
    Refund {
        account: Option<String>,
        params: Map<String, Json>,
    },
    /// A Slack message: `{"action":"slack","channel":…,"text":…,"blocks":…}`
    /// (`blocks` null when none are given). The text is as the workflow made it; the
    /// live binding escapes it for Slack's mrkdwn when it sends it.
    Slack {
        channel: String,
        text: String,
        blocks: Option<Json>,
    },
    /// An HTTP request with a JSON body, signed by the live binding:
    /// `{"action":"http","name":…,"method":…,"url":…,"headers":[…],"body":…}`;
    /// `name` is the custom action it carries out (null for `http`), `headers` the
    /// extra headers given, as `[name, value]` pairs.
    Http {
        name: Option<String>,
        method: String,
        url: String,
        headers: Vec<(String, String)>,
        body: Option<Json>,
    },
    /// A call of a Stripe API method of the catalogue (`stripe.invoices.void_invoice(…)`).
    Stripe(StripeCall),
}

/// A call of a Stripe API method:
/// `{"action":"stripe","method":"invoices.void_invoice","http":"POST /v1/invoices/in_123/void","id":"in_123","account":null,"params":{…}}`.
///
/// `http` is the verb and the path with its placeholders filled in (each escaped as
/// one path segment); `id` the first path parameter (the object acted on) or null;
/// `params` exactly what Stripe receives, as JSON: money in minor units, objects as
/// their IDs. Bindings encode `params` as a query (GET, DELETE) or a form body (POST).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StripeCall {
    /// `invoices.void_invoice`: the resource and the method, as in Stripe's Python
    /// library.
    pub method: String,
    /// `POST /v1/invoices/in_123/void`.
    pub http: String,
    pub id: Option<String>,
    pub account: Option<String>,
    pub params: Json,
    /// What the method answers: one object, a page of a list or a search, or JSON.
    #[serde(skip)]
    pub returns: Returns,
}

impl StripeCall {
    /// The HTTP verb and the path, from `http`.
    pub fn verb_and_path(&self) -> (&str, &str) {
        self.http.split_once(' ').unwrap_or(("GET", &self.http))
    }

    /// The object type this call answers with (or lists), if the catalogue says.
    pub fn object(&self) -> Option<&str> {
        match &self.returns {
            Returns::Object(o) | Returns::List(o) => Some(o),
            Returns::Json => None,
        }
    }
}

/// Escape one path segment (an ID) for a request path: every byte outside Stripe's
/// ID alphabet (letters, digits, `_`, `-`, `.`, `~`) is percent-encoded, so an ID can
/// never add a segment, a query or a fragment to the path.
pub fn escape_segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
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
            Action::Slack { .. } => "slack",
            Action::Http { .. } => "http",
            Action::Stripe(_) => "stripe",
        }
    }

    /// The connected account a Stripe request acts on; `None`: the platform (and for
    /// e-mail).
    pub fn account(&self) -> Option<&str> {
        match self {
            Action::Email(_) | Action::Slack { .. } | Action::Http { .. } => None,
            Action::Update { account, .. }
            | Action::Retrieve { account, .. }
            | Action::Refund { account, .. } => account.as_deref(),
            Action::Stripe(call) => call.account.as_deref(),
        }
    }

    /// A Stripe request, a Slack message or an HTTP request in one line of text
    /// (`update customer cus_1 {…} in acct_1`, `slack #disputes: …`,
    /// `http POST https://… {…}`); `None` for an e-mail, which is shown as a message.
    pub fn summary(&self) -> Option<String> {
        let text = match self {
            Action::Email(_) => return None,
            Action::Update {
                object, id, params, ..
            } => format!("update {object} {id} {params}"),
            Action::Retrieve { object, id, .. } => format!("retrieve {object} {id}"),
            Action::Refund { params, .. } => format!("refund {}", Json::Object(params.clone())),
            Action::Slack { channel, text, .. } => {
                let one_line = text.replace('\r', "\\r").replace('\n', "\\n");
                format!("slack {channel}: {one_line}")
            }
            Action::Http {
                name,
                method,
                url,
                body,
                ..
            } => {
                let mut s = match name {
                    Some(n) => format!("{n}: http {method} {url}"),
                    None => format!("http {method} {url}"),
                };
                if let Some(b) = body {
                    s.push_str(&format!(" {b}"));
                }
                s
            }
            Action::Stripe(call) => {
                let mut s = format!("stripe {} {}", call.method, call.http);
                if call.params.as_object().is_some_and(|m| !m.is_empty()) {
                    s.push_str(&format!(" {}", call.params));
                }
                s
            }
        };
        Some(match self.account() {
            Some(acct) => format!("{text} in {acct}"),
            None => text,
        })
    }

    /// The run report's JSON for this action: its serialization.
    pub fn to_json(&self) -> Json {
        // Every key is a string: serializing cannot fail.
        serde_json::to_value(self).unwrap_or(Json::Null)
    }
}

/// What an action is part of: enough to derive a stable idempotency key.
#[derive(Clone, Debug)]
pub struct ActionContext<'a> {
    pub event_id: Option<&'a str>,
    pub workflow: &'a str,
    /// The index of this action among the run's actions.
    pub step: usize,
    /// The event's own object (`data.object`), when there is one: recording bindings
    /// answer for it as for an object given to them.
    pub trigger: Option<&'a Json>,
    /// The run's `now` (Unix seconds): the time recording bindings give what they
    /// create.
    pub now: i64,
    /// Inside `for` loops: the action's place in the program and the ids of the
    /// items it is for (`412:in_1`). The idempotency key is made of it instead of
    /// the step, so that it follows the item, whatever its position in the list.
    pub item: Option<&'a str>,
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

/// The idempotency key of an action: the same (event id, workflow, step) always
/// gives the same key; `None` without an event id (such a run cannot be replayed
/// safely).
pub fn idempotency_key(cx: &ActionContext<'_>) -> Option<String> {
    let event = cx.event_id.filter(|e| !e.is_empty())?;
    let mut h = Sha256::new();
    let step = match cx.item {
        Some(place) => format!("item:{place}"),
        None => cx.step.to_string(),
    };
    // Length-prefixed, so that no two different triples hash the same text.
    for part in [event, cx.workflow, &step] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    let digest = h.finalize();
    let hex: String = digest.iter().take(20).map(|b| format!("{b:02x}")).collect();
    Some(format!("flow_{hex}"))
}
