//! Tab completion: what may follow the cursor, from the event's schema, the `let`s,
//! the event itself (metadata keys) and the stdlib catalogues. Types come from the
//! same checker that checks the line, so completion agrees with the errors.

use serde_json::Value as Json;

use super::{Session, COMMANDS};
use flow_check::tree::{Root, TExprKind};
use flow_check::{TExpr, Ty};
use flow_stdlib::FieldType;
use flow_vm::Value;

/// One completion: what the list shows, and what replaces the text being completed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub display: String,
    pub replacement: String,
}

impl Candidate {
    fn new(replacement: impl Into<String>, display: impl Into<String>) -> Candidate {
        Candidate {
            replacement: replacement.into(),
            display: display.into(),
        }
    }
}

/// What completes the text before the cursor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Completion {
    /// Replace the text from byte `start` to the cursor by one of the candidates.
    Items {
        start: usize,
        candidates: Vec<Candidate>,
    },
    /// A file path, starting at this byte (`:event`, `:load`).
    Files { start: usize },
}

const KEYWORDS: &[&str] = &[
    "and", "or", "not", "in", "true", "false", "null", "retrieve", "let", "if", "else", "update",
];

/// Complete `line` at byte `pos`.
pub fn complete(session: &Session, line: &str, pos: usize) -> Completion {
    let mut pos = pos.min(line.len());
    while !line.is_char_boundary(pos) {
        pos -= 1;
    }
    let before = &line[..pos];
    let lead = before.len() - before.trim_start().len();
    let trimmed = &before[lead..];
    let Some(rest) = trimmed.strip_prefix(':') else {
        return code(session, before, 0);
    };
    let Some(space) = rest.find(char::is_whitespace) else {
        let candidates = COMMANDS
            .iter()
            .filter(|c| c.0.starts_with(rest))
            .map(|c| {
                let sep = if c.1.is_empty() { "" } else { " " };
                Candidate::new(format!("{}{sep}", c.0), format!(":{}", c.0))
            })
            .collect();
        return Completion::Items {
            start: lead + 1,
            candidates,
        };
    };
    let cmd = &rest[..space];
    let after = &rest[space..];
    let arg_start = lead + 1 + space + (after.len() - after.trim_start().len());
    match cmd {
        "type" => Completion::Items {
            start: arg_start,
            candidates: event_types(&before[arg_start..]),
        },
        "event" | "load" => Completion::Files { start: arg_start },
        "fields" | "t" | "bytecode" => code(session, before, arg_start),
        _ => Completion::Items {
            start: pos,
            candidates: Vec::new(),
        },
    }
}

fn event_types(prefix: &str) -> Vec<Candidate> {
    flow_stdlib::builtin()
        .events
        .iter()
        .filter(|e| e.name.starts_with(prefix))
        .map(|e| Candidate::new(e.name.clone(), e.name.clone()))
        .collect()
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn ends_with_word(s: &str, word: &str) -> bool {
    s.strip_suffix(word).is_some_and(|head| {
        head.chars()
            .last()
            .is_none_or(|c| !is_name_char(c) && c != '.')
    })
}

/// The path written just before the end of `s` (`ch.outcome.type`), if any.
fn trailing_path(s: &str) -> &str {
    let s = s.trim_end();
    let start = s
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_name_char(*c) || *c == '.')
        .last()
        .map_or(s.len(), |(i, _)| i);
    &s[start..]
}

/// Where the string the cursor is in opened, if it is in one (and not inside a
/// `{…}` interpolation).
fn open_quote(src: &str) -> Option<usize> {
    let mut open = None;
    let mut escaped = false;
    for (i, c) in src.char_indices() {
        match open {
            Some(_) if escaped => escaped = false,
            Some(_) if c == '\\' => escaped = true,
            Some(_) if c == '"' => open = None,
            Some(_) => {}
            None if c == '"' => open = Some(i),
            None if c == '\n' => {}
            None => {}
        }
    }
    let q = open?;
    let inside = &src[q + 1..];
    match (inside.rfind('{'), inside.rfind('}')) {
        (Some(o), c) if c.is_none_or(|c| c < o) => None,
        _ => Some(q),
    }
}

fn code(session: &Session, before: &str, base: usize) -> Completion {
    let src = &before[base..];
    if let Some(q) = open_quote(src) {
        let partial = &src[q + 1..];
        let values = string_values(session, &src[..q]);
        let candidates = values
            .into_iter()
            .filter(|v| v.starts_with(partial))
            .map(|v| Candidate::new(format!("{v}\""), format!("\"{v}\"")))
            .collect();
        return Completion::Items {
            start: base + q + 1,
            candidates,
        };
    }
    let word_len: usize = src
        .chars()
        .rev()
        .take_while(|c| is_name_char(*c) || *c == '.')
        .map(char::len_utf8)
        .sum();
    let word_start = src.len() - word_len;
    let word = &src[word_start..];
    let prev = src[..word_start].trim_end();
    if ends_with_word(prev, "on") {
        return Completion::Items {
            start: base + word_start,
            candidates: event_types(word),
        };
    }
    if let Some(dot) = word.rfind('.') {
        let head = &word[..dot];
        let partial = &word[dot + 1..];
        let in_update = starts_with_update(src) && !src[..word_start].contains('=');
        let members = members(session, head, in_update);
        let members: Vec<(String, String)> = members
            .into_iter()
            .filter(|(n, _)| n.starts_with(partial))
            .collect();
        let quoted = members.iter().any(|(n, _)| !is_plain_name(n));
        let (start, candidates) = if quoted {
            let c = members
                .into_iter()
                .map(|(n, d)| {
                    let r = if is_plain_name(&n) {
                        format!(".{n}")
                    } else {
                        format!("[{n:?}]")
                    };
                    Candidate::new(r, d)
                })
                .collect();
            (base + word_start + dot, c)
        } else {
            let c = members
                .into_iter()
                .map(|(n, d)| Candidate::new(n, d))
                .collect();
            (base + word_start + dot + 1, c)
        };
        return Completion::Items { start, candidates };
    }
    Completion::Items {
        start: base + word_start,
        candidates: names(session, word, prev.is_empty()),
    }
}

fn starts_with_update(src: &str) -> bool {
    let t = src.trim_start();
    t.strip_prefix("update")
        .is_some_and(|r| r.starts_with(char::is_whitespace))
}

fn is_plain_name(n: &str) -> bool {
    n.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && n.chars().all(is_name_char)
}

/// The values a string being typed may take: enum values after `==`, `!=` or
/// `in [`, and for an action's enum parameter.
fn string_values(session: &Session, before_quote: &str) -> Vec<String> {
    let b = before_quote.trim_end();
    let lhs = if let Some(head) = b.strip_suffix("==").or_else(|| b.strip_suffix("!=")) {
        Some(trailing_path(head))
    } else if b.ends_with('[') || b.ends_with(',') {
        b.rfind('[').and_then(|i| {
            let head = b[..i].trim_end();
            head.strip_suffix("in")
                .filter(|_| ends_with_word(head, "in"))
                .map(trailing_path)
        })
    } else {
        None
    };
    if let Some(lhs) = lhs.filter(|l| !l.is_empty()) {
        return match session.type_of(lhs).map(|t| t.ty.base().clone()) {
            Some(Ty::Enum(e)) => e.values.clone(),
            _ => Vec::new(),
        };
    }
    // `refund … reason: "`
    if let Some(head) = b.strip_suffix(':') {
        let param = trailing_path(head);
        let action = b
            .trim_start()
            .split(|c: char| !is_name_char(c))
            .next()
            .unwrap_or("");
        if let Some(p) = flow_stdlib::builtin()
            .action(action)
            .and_then(|a| a.param(param))
        {
            if let FieldType::Enum { values, .. } = &p.ty {
                return values.clone();
            }
        }
    }
    Vec::new()
}

/// The fields (or keys) after `head.`: name and what the list shows.
fn members(session: &Session, head: &str, in_update: bool) -> Vec<(String, String)> {
    let lib = flow_stdlib::builtin();
    let Some(t) = session.type_of(head) else {
        return Vec::new();
    };
    let fields = |o: &str, only_updatable: bool| -> Vec<(String, String)> {
        lib.object(o)
            .map(|d| {
                d.fields
                    .iter()
                    .filter(|f| !only_updatable || f.updatable)
                    .map(|f| {
                        let ty = Ty::of_field(o, f);
                        (f.name.clone(), format!("{} ({ty})", f.name))
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    match t.ty.base() {
        Ty::Object(o) if lib.object(o).is_some() => fields(o, false),
        Ty::Ref(o) if in_update => fields(o, true),
        Ty::Ref(o) => vec![("id".into(), format!("id (ref<{o}>)"))],
        Ty::Metadata | Ty::Json | Ty::Object(_) => match json_at(session, &t) {
            Some(Json::Object(m)) => m
                .iter()
                .map(|(k, v)| (k.clone(), format!("{k} ({})", super::json_kind(v))))
                .collect(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// Names that may start an expression or statement.
fn names(session: &Session, word: &str, at_start: bool) -> Vec<Candidate> {
    let lib = flow_stdlib::builtin();
    let mut out: Vec<Candidate> = Vec::new();
    let mut push = |r: String, d: String| {
        if r.starts_with(word) && !out.iter().any(|c| c.replacement == r) {
            out.push(Candidate::new(r, d));
        }
    };
    for (name, ty) in session.let_names().into_iter().rev() {
        push(name.clone(), format!("{name} ({ty})"));
    }
    match session.object().and_then(|o| lib.object(o).map(|d| (o, d))) {
        Some((o, def)) => {
            for f in &def.fields {
                push(
                    f.name.clone(),
                    format!("{} ({})", f.name, Ty::of_field(o, f)),
                );
            }
        }
        None => {
            if let Some(Json::Object(m)) = session.event().map(|e| e.object()) {
                for (k, v) in m {
                    if is_plain_name(k) {
                        push(k.clone(), format!("{k} ({})", super::json_kind(v)));
                    }
                }
            }
        }
    }
    push("event".into(), "event (the envelope)".into());
    push(
        "dispute_fee".into(),
        format!("dispute_fee ({})", session.settings().dispute_fee),
    );
    if at_start {
        for a in &lib.actions {
            push(a.name.clone(), format!("{} (action)", a.name));
        }
    }
    for k in KEYWORDS {
        push((*k).to_string(), (*k).to_string());
    }
    if word.starts_with(|c: char| c.is_ascii_uppercase()) {
        for c in lib.currency_codes() {
            push(c.code().to_string(), c.code().to_string());
        }
    }
    out
}

/// The JSON a typed field read points at in the current event (or in a `let`).
pub(super) fn json_at(session: &Session, t: &TExpr) -> Option<Json> {
    let from_local = |slot: u16| -> Option<Json> {
        let l = session.lets.get(slot as usize).filter(|l| l.has_value)?;
        let _ = l;
        match session.locals.get(slot as usize)? {
            Value::Object(o) => Some((**o).clone()),
            _ => None,
        }
    };
    match &t.kind {
        TExprKind::Local(slot) => from_local(*slot),
        TExprKind::Field(r) => {
            let root = match r.root {
                Root::Object => session.event.as_ref()?.object().clone(),
                Root::Event => session.event.as_ref()?.json.clone(),
                Root::Local(slot) => from_local(slot)?,
            };
            let mut cur = &root;
            for k in &r.path {
                cur = cur.get(k)?;
            }
            Some(cur.clone())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flow_project::settings::Settings;
    use flow_vm::Event;
    use serde_json::json;

    fn session() -> Session {
        let mut s = Session::new(Settings::default());
        let event = Event::from_json(
            json!({
                "id": "evt_1", "object": "event", "type": "payment_intent.succeeded",
                "data": {"object": {"id": "pi_1", "object": "payment_intent",
                    "amount": 150000, "currency": "usd", "customer": "cus_123",
                    "status": "succeeded",
                    "metadata": {"order_id": "42", "Gift wrap": "yes"}}}
            }),
            None,
        )
        .unwrap();
        s.set_event(event);
        s
    }

    fn items(c: Completion) -> (usize, Vec<String>) {
        match c {
            Completion::Items { start, candidates } => (
                start,
                candidates.into_iter().map(|c| c.replacement).collect(),
            ),
            Completion::Files { start } => (start, vec!["<files>".into()]),
        }
    }

    #[test]
    fn field_names_from_the_schema() {
        let s = session();
        let (start, c) = items(complete(&s, "amount_rec", 10));
        assert_eq!((start, c), (0, vec!["amount_received".to_string()]));
        let (_, c) = items(complete(&s, "x and amount", 12));
        assert!(c.contains(&"amount_capturable".to_string()));
        assert!(
            !c.contains(&"email".to_string()),
            "actions only start a line"
        );
    }

    #[test]
    fn after_a_dot_through_lets_and_metadata() {
        let mut s = session();
        s.eval("let m = metadata");
        let line = "m.ord";
        let (start, c) = items(complete(&s, line, line.len()));
        assert_eq!((start, c), (2, vec!["order_id".to_string()]));
        // A key with a space needs `["…"]`, so then every candidate replaces from the dot.
        let (start, c) = items(complete(&s, "m.", 2));
        assert_eq!(start, 1);
        assert!(c.contains(&"[\"Gift wrap\"]".to_string()), "{c:?}");
        assert!(c.contains(&".order_id".to_string()), "{c:?}");
        let line = "last_payment_error.ty";
        let (start, c) = items(complete(&s, line, line.len()));
        assert_eq!((start, c), (19, vec!["type".to_string()]));
        let line = "update customer.meta";
        let (_, c) = items(complete(&s, line, line.len()));
        assert_eq!(c, vec!["metadata".to_string()]);
    }

    #[test]
    fn enum_values_inside_quotes() {
        let s = session();
        let line = "status == \"req";
        let (start, c) = items(complete(&s, line, line.len()));
        assert_eq!(start, 11);
        assert!(c.contains(&"requires_action\"".to_string()), "{c:?}");
        let line = "status in [\"succeeded\", \"pro";
        let (_, c) = items(complete(&s, line, line.len()));
        assert_eq!(c, vec!["processing\"".to_string()]);
        let line = "refund payment_intent: id, reason: \"fr";
        let (_, c) = items(complete(&s, line, line.len()));
        assert_eq!(c, vec!["fraudulent\"".to_string()]);
    }

    #[test]
    fn commands_event_types_and_files() {
        let s = session();
        assert_eq!(
            items(complete(&s, ":fi", 3)),
            (1, vec!["fields ".to_string()])
        );
        let line = ":type charge.dispute.cl";
        let (start, c) = items(complete(&s, line, line.len()));
        assert_eq!(start, 6);
        assert_eq!(c, vec!["charge.dispute.closed".to_string()]);
        let line = "on invoice.paid";
        let (_, c) = items(complete(&s, line, line.len()));
        assert!(c.contains(&"invoice.paid".to_string()));
        assert_eq!(complete(&s, ":event ex", 9), Completion::Files { start: 7 });
    }
}
