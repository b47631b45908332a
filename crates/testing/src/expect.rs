//! Expectations against what a run did: evaluating the expected values, matching
//! them with the actions taken, and showing the difference.

use serde_json::Value as Json;

use flow_bindings::{Action, Recording};
use flow_check::test_case::TExpectedAction;
use flow_check::TExpr;
use flow_syntax::SourceFile;
use flow_vm::{self as vm, Event, Value};

/// An action a run carried out, with the workflow that did it.
#[derive(Clone, Debug)]
pub struct Actual {
    pub workflow: String,
    pub action: Action,
}

impl Actual {
    /// Reads (`retrieve`, a Stripe GET) change nothing: `expect actions [ … ]` and
    /// `expect no actions` leave them out.
    pub fn is_side_effect(&self) -> bool {
        match &self.action {
            Action::Retrieve { .. } => false,
            Action::Stripe(call) => call.verb_and_path().0 != "GET",
            _ => true,
        }
    }
}

/// An argument that differs: its name, the expected value and the value found.
pub type Difference = (String, String, String);

/// An expected action with its values computed.
#[derive(Clone, Debug)]
pub enum Want {
    Call {
        action: String,
        args: Vec<(String, Value)>,
    },
    Update {
        object: String,
        id: Value,
        path: Vec<String>,
        value: Value,
    },
    /// `stripe.invoices.void_invoice(id)`: the method, the IDs expected in its path
    /// and the parameters expected among those sent.
    Stripe {
        method: String,
        ids: Vec<(String, Value)>,
        params: Vec<(String, Value)>,
    },
}

/// Compute an expected value on the test's event. `Err` is the run error, rendered.
pub fn eval(e: &TExpr, event: &Event, source: &SourceFile) -> Result<Value, String> {
    let p = flow_compile::compile_expr(e, 0);
    let mut locals = Vec::new();
    let (r, _) = vm::eval(&p, Some(source), event, &mut locals, &mut Recording::new());
    r.map(|v| v.unwrap_or(Value::Null))
        .map_err(|e| e.render(source))
}

/// Compute the values of an expected action; `Err` names the span that failed.
pub fn want(
    a: &TExpectedAction,
    event: &Event,
    source: &SourceFile,
) -> Result<Want, (flow_syntax::Span, String)> {
    let ev = |e: &TExpr| eval(e, event, source).map_err(|m| (e.span, m));
    Ok(match a {
        TExpectedAction::Call { action, args, .. } => Want::Call {
            action: action.clone(),
            args: args
                .iter()
                .map(|(n, e)| Ok((n.clone(), ev(e)?)))
                .collect::<Result<_, _>>()?,
        },
        TExpectedAction::Stripe { spec, args, .. } => {
            let mut ids = Vec::new();
            let mut params = Vec::new();
            for (arg, e) in spec.args.iter().zip(args) {
                let v = ev(e)?;
                match arg.kind {
                    flow_program::ArgKind::Path => ids.push((arg.name.clone(), v)),
                    _ => params.push((arg.name.clone(), v)),
                }
            }
            Want::Stripe {
                method: spec.method.clone(),
                ids,
                params,
            }
        }
        TExpectedAction::Update {
            object,
            id,
            param_path,
            value,
            ..
        } => Want::Update {
            object: object.clone(),
            id: ev(id)?,
            path: param_path.clone(),
            value: ev(value)?,
        },
    })
}

impl Want {
    pub fn kind(&self) -> &str {
        match self {
            Want::Call { action, .. } => action,
            Want::Update { .. } => "update",
            Want::Stripe { .. } => "stripe",
        }
    }

    /// The arguments of `actual` that differ from what is expected: (name, expected, found).
    /// `None` when the action is of another kind or on another object.
    pub fn differences(&self, actual: &Actual) -> Option<Vec<Difference>> {
        let mut out = Vec::new();
        match (self, &actual.action) {
            (Want::Call { action, args }, Action::Email(e)) if action == "email" => {
                for (name, v) in args {
                    let found = match name.as_str() {
                        "to" => {
                            let mut want = texts(v);
                            let mut have = e.to.clone();
                            want.sort();
                            have.sort();
                            (want != have).then(|| show_list(&e.to))
                        }
                        "subject" => {
                            let have = e.subject.clone().unwrap_or_else(|| actual.workflow.clone());
                            (v.to_text() != have).then(|| quote(&have))
                        }
                        "body" => (v.to_text() != e.body).then(|| quote(&e.body)),
                        "append" => {
                            let rows = match v {
                                Value::Table(rows) => rows.to_vec(),
                                _ => Vec::new(),
                            };
                            let ok = rows.iter().all(|(label, value)| {
                                e.append
                                    .iter()
                                    .any(|(l, t)| l == label && *t == value.to_text())
                            });
                            (!ok).then(|| show_rows(&e.append))
                        }
                        other => {
                            let j = actual.action.to_json();
                            let have = j.get(other).cloned().unwrap_or(Json::Null);
                            (!json_matches(v, &have)).then(|| have.to_string())
                        }
                    };
                    if let Some(found) = found {
                        out.push((name.clone(), show(v, name), found));
                    }
                }
            }
            (
                Want::Call { action, args },
                Action::Http {
                    name,
                    method,
                    url,
                    headers,
                    body,
                },
            ) if name.as_deref() == Some(action.as_str())
                || (name.is_none() && action == "http") =>
            {
                // A custom action's arguments are the fields of the body it sends;
                // `http`'s are its method, url, json body and headers.
                let body = body.clone().unwrap_or(Json::Null);
                for (n, v) in args {
                    let have = match (name.is_some(), n.as_str()) {
                        (true, _) => body.get(n).cloned().unwrap_or(Json::Null),
                        (false, "method") => Json::String(method.clone()),
                        (false, "url") => Json::String(url.clone()),
                        (false, "json") => body.clone(),
                        (false, "headers") => Json::Object(
                            headers
                                .iter()
                                .map(|(k, v)| (k.clone(), Json::String(v.clone())))
                                .collect(),
                        ),
                        (false, _) => Json::Null,
                    };
                    let ok = match &have {
                        Json::String(s) => v.to_text() == *s,
                        other => v.to_json() == *other,
                    };
                    if !ok {
                        out.push((n.clone(), show_json(&v.to_json()), show_json(&have)));
                    }
                }
            }
            (Want::Call { action, args }, a) if a.kind() == action && action != "email" => {
                let j = a.to_json();
                let params = j.get("params").cloned().unwrap_or(j);
                for (name, v) in args {
                    let have = params.get(name).cloned().unwrap_or(Json::Null);
                    if !json_matches(v, &have) {
                        out.push((name.clone(), show_param(v), show_json(&have)));
                    }
                }
            }
            (
                Want::Update {
                    object,
                    id,
                    path,
                    value,
                },
                Action::Update {
                    object: o,
                    id: i,
                    params,
                    ..
                },
            ) if object == o => {
                if id.to_text() != *i || id.is_null() {
                    out.push(("id".into(), show_id(id), i.clone()));
                }
                let mut have = params;
                for k in path {
                    have = have.get(k).unwrap_or(&Json::Null);
                }
                if !json_matches(value, have) {
                    out.push((path.join("."), show_param(value), show_json(have)));
                }
            }
            (
                Want::Stripe {
                    method,
                    ids,
                    params,
                },
                Action::Stripe(call),
            ) if *method == call.method => {
                let (_, path) = call.verb_and_path();
                for (name, v) in ids {
                    let id = match v {
                        Value::Object(o) => o
                            .get("id")
                            .and_then(Json::as_str)
                            .unwrap_or_default()
                            .to_string(),
                        other => other.to_text(),
                    };
                    let segment = flow_vm::escape_segment(&id);
                    if !path.split('/').any(|s| s == segment) {
                        out.push((name.clone(), show_id(v), path.to_string()));
                    }
                }
                for (name, v) in params {
                    let have = call.params.get(name).cloned().unwrap_or(Json::Null);
                    let ok = match v {
                        // Money: its minor units, and its currency where the call has one.
                        Value::Money(m) => {
                            have.as_i64() == Some(m.minor)
                                && call
                                    .params
                                    .get("currency")
                                    .and_then(Json::as_str)
                                    .is_none_or(|c| c == m.currency.api_code())
                        }
                        Value::Table(_) | Value::List(_) => v.to_stripe() == have,
                        other => json_matches(other, &have),
                    };
                    if !ok {
                        out.push((name.clone(), show_param(v), show_json(&have)));
                    }
                }
            }
            _ => return None,
        }
        Some(out)
    }

    pub fn matches(&self, actual: &Actual) -> bool {
        self.differences(actual).is_some_and(|d| d.is_empty())
    }

    /// One line, in the style of [`show_actual`].
    pub fn show(&self) -> String {
        match self {
            Want::Call { action, args } => {
                let mut s = action.clone();
                for (i, (n, v)) in args.iter().enumerate() {
                    s.push_str(if i == 0 { " " } else { ", " });
                    let shown = if action == "email" {
                        show(v, n)
                    } else if action != "refund" && matches!(v, Value::Table(_)) {
                        // A JSON body: typed values, as sent.
                        show_json(&v.to_json())
                    } else {
                        show_param(v)
                    };
                    s.push_str(&format!("{n}: {shown}"));
                }
                s
            }
            Want::Update {
                object,
                id,
                path,
                value,
            } => format!(
                "update {object} {} {} = {}",
                show_id(id),
                path.join("."),
                show_param(value)
            ),
            Want::Stripe {
                method,
                ids,
                params,
            } => {
                let mut args: Vec<String> = ids.iter().map(|(_, v)| show_id(v)).collect();
                args.extend(
                    params
                        .iter()
                        .map(|(n, v)| format!("{n}: {}", show_param(v))),
                );
                format!("stripe.{method}({})", args.join(", "))
            }
        }
    }
}

/// An action on one line: `email to: "…", subject: "…", body: "…", append: { … }`.
pub fn show_actual(a: &Actual) -> String {
    match &a.action {
        Action::Email(e) => {
            let subject = e.subject.clone().unwrap_or_else(|| a.workflow.clone());
            let mut s = format!(
                "email to: {}, subject: {}, body: {}",
                show_list(&e.to),
                quote(&subject),
                quote(&e.body)
            );
            if !e.append.is_empty() {
                s.push_str(&format!(", append: {}", show_rows(&e.append)));
            }
            s
        }
        Action::Update {
            object, id, params, ..
        } => {
            let mut leaves = Vec::new();
            flatten(params, &mut Vec::new(), &mut leaves);
            let sets: Vec<String> = leaves
                .iter()
                .map(|(p, v)| format!("{p} = {}", show_json(v)))
                .collect();
            format!("update {object} {id} {}", sets.join(", "))
        }
        Action::Retrieve { object, id, .. } => format!("retrieve {object} {id}"),
        Action::Stripe(call) => {
            let mut s = format!("stripe.{} {}", call.method, call.http);
            if let Some(params) = call.params.as_object().filter(|m| !m.is_empty()) {
                let fields: Vec<String> = params
                    .iter()
                    .map(|(k, v)| format!("{k}: {}", show_json(v)))
                    .collect();
                s.push_str(&format!(" {}", fields.join(", ")));
            }
            s
        }
        Action::Http {
            name: Some(name),
            body,
            ..
        } => {
            let mut s = name.clone();
            if let Some(Json::Object(fields)) = body {
                for (i, (k, v)) in fields.iter().enumerate() {
                    s.push_str(if i == 0 { " " } else { ", " });
                    s.push_str(&format!("{k}: {}", show_json(v)));
                }
            }
            s
        }
        other => {
            let j = other.to_json();
            let mut s = other.kind().to_string();
            let fields = match j.get("params") {
                Some(Json::Object(params)) => params.clone(),
                // `slack` and `http`: their fields, with `http`'s body as `json`.
                _ => match &j {
                    Json::Object(m) => m
                        .iter()
                        .filter(|(k, v)| {
                            !matches!(k.as_str(), "action" | "account" | "name")
                                && !v.is_null()
                                && v.as_array().is_none_or(|a| !a.is_empty())
                        })
                        .map(|(k, v)| {
                            let k = if k == "body" && other.kind() == "http" {
                                "json".to_string()
                            } else {
                                k.clone()
                            };
                            (k, v.clone())
                        })
                        .collect(),
                    _ => serde_json::Map::new(),
                },
            };
            for (i, (k, v)) in fields.iter().enumerate() {
                s.push_str(if i == 0 { " " } else { ", " });
                s.push_str(&format!("{k}: {}", show_json(v)));
            }
            s
        }
    }
}

fn flatten(j: &Json, prefix: &mut Vec<String>, out: &mut Vec<(String, Json)>) {
    match j {
        Json::Object(m) if !m.is_empty() => {
            for (k, v) in m {
                prefix.push(k.clone());
                flatten(v, prefix, out);
                prefix.pop();
            }
        }
        other => out.push((prefix.join("."), other.clone())),
    }
}

/// Whether an expected value is what the API received: text compares as text
/// (metadata, IDs), anything else as the API parameter (money in minor units).
fn json_matches(v: &Value, have: &Json) -> bool {
    match have {
        // A null metadata value is sent as "" (Stripe's way to unset a key).
        Json::String(s) => v.to_text() == *s,
        other => v.to_param() == *other,
    }
}

fn texts(v: &Value) -> Vec<String> {
    match v {
        Value::List(items) => items.iter().map(Value::to_text).collect(),
        Value::Null => Vec::new(),
        other => vec![other.to_text()],
    }
}

fn quote(s: &str) -> String {
    Json::String(s.to_string()).to_string()
}

fn show_list(items: &[String]) -> String {
    match items {
        [one] => quote(one),
        _ => format!(
            "[{}]",
            items
                .iter()
                .map(|s| quote(s))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn show_rows(rows: &[(String, String)]) -> String {
    let inner: Vec<String> = rows
        .iter()
        .map(|(l, t)| format!("{}: {}", quote(l), quote(t)))
        .collect();
    format!("{{ {} }}", inner.join(", "))
}

fn show_id(id: &Value) -> String {
    match id {
        Value::Null => "null".into(),
        other => other.to_text(),
    }
}

/// An e-mail argument as the reader sees it.
fn show(v: &Value, name: &str) -> String {
    match (v, name) {
        (Value::Table(rows), _) => {
            let rows: Vec<(String, String)> =
                rows.iter().map(|(l, v)| (l.clone(), v.to_text())).collect();
            show_rows(&rows)
        }
        (_, "to") => show_list(&texts(v)),
        (Value::Null, _) => "null".into(),
        _ => quote(&v.to_text()),
    }
}

/// A value as the API receives it.
fn show_param(v: &Value) -> String {
    show_json(&v.to_param())
}

fn show_json(j: &Json) -> String {
    j.to_string()
}

/// One line of a diff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    Same(String),
    Expected(String),
    Actual(String),
}

/// The difference between an exact list of expected actions and the actions taken,
/// aligned on the longest run of matches.
pub fn diff(wants: &[Want], actual: &[&Actual]) -> Vec<Line> {
    let (n, m) = (wants.len(), actual.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if wants[i].matches(actual[j]) {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < n || j < m {
        if i < n && j < m && wants[i].matches(actual[j]) {
            out.push(Line::Same(show_actual(actual[j])));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push(Line::Expected(wants[i].show()));
            i += 1;
        } else {
            out.push(Line::Actual(show_actual(actual[j])));
            j += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use flow_bindings::Email;
    use flow_stdlib::money::{Currency, Money};

    fn email(to: &str) -> Actual {
        Actual {
            workflow: "Tag".into(),
            action: Action::Email(Email {
                to: vec![to.into()],
                subject: None,
                body: "Hi".into(),
                append: vec![("Amount".into(), "2500.00 USD".into())],
            }),
        }
    }

    fn update(tier: &str) -> Actual {
        Actual {
            workflow: "Tag".into(),
            action: Action::Update {
                object: "customer".into(),
                id: "cus_1".into(),
                account: None,
                params: serde_json::json!({"metadata": {"Tier": tier}}),
            },
        }
    }

    fn want_email(args: Vec<(&str, Value)>) -> Want {
        Want::Call {
            action: "email".into(),
            args: args.into_iter().map(|(n, v)| (n.to_string(), v)).collect(),
        }
    }

    fn want_update(tier: &str) -> Want {
        Want::Update {
            object: "customer".into(),
            id: Value::Str("cus_1".into()),
            path: vec!["metadata".into(), "Tier".into()],
            value: Value::Str(tier.into()),
        }
    }

    #[test]
    fn emails_match_on_the_arguments_given() {
        let usd = Currency::parse("usd").unwrap();
        let a = email("team@example.com");
        assert!(want_email(vec![("to", Value::Str("team@example.com".into()))]).matches(&a));
        assert!(want_email(vec![("subject", Value::Str("Tag".into()))]).matches(&a));
        let rows = vec![("Amount".to_string(), Value::Money(Money::new(250000, usd)))];
        assert!(want_email(vec![("append", Value::Table(rows.into()))]).matches(&a));
        let wrong = want_email(vec![("to", Value::Str("risk@example.com".into()))]);
        assert_eq!(
            wrong.differences(&a),
            Some(vec![(
                "to".into(),
                "\"risk@example.com\"".into(),
                "\"team@example.com\"".into()
            )])
        );
        assert_eq!(wrong.differences(&update("VIP")), None);
    }

    #[test]
    fn updates_match_on_object_id_and_value() {
        assert!(want_update("VIP").matches(&update("VIP")));
        assert!(!want_update("VIP").matches(&update("Gold")));
        assert_eq!(
            show_actual(&update("VIP")),
            "update customer cus_1 metadata.Tier = \"VIP\""
        );
        assert_eq!(want_update("VIP").show(), show_actual(&update("VIP")));
    }

    #[test]
    fn exact_lists_diff_on_the_longest_match() {
        let a = email("team@example.com");
        let u = update("Gold");
        let wants = vec![
            want_email(vec![("to", Value::Str("team@example.com".into()))]),
            want_update("VIP"),
        ];
        let lines = diff(&wants, &[&a, &u]);
        assert!(matches!(lines[0], Line::Same(_)));
        assert_eq!(
            lines[1],
            Line::Expected("update customer cus_1 metadata.Tier = \"VIP\"".into())
        );
        assert_eq!(
            lines[2],
            Line::Actual("update customer cus_1 metadata.Tier = \"Gold\"".into())
        );
    }
}
