//! `docs/run-report.schema.json` describes the run reports flow writes: real reports
//! (every template and example workflow run on every example event) are checked
//! against it, key by key, and the schema names every run-time code.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::{json, Value};

use flow::bindings::Recording;
use flow::settings::Settings;
use flow::syntax::SourceFile;
use flow::vm::{Event, RunCode};

fn schema() -> Value {
    let path = common::root().join("docs/run-report.schema.json");
    let text = std::fs::read_to_string(&path).expect("the schema is there");
    serde_json::from_str(&text).expect("the schema is JSON")
}

fn files(dir: &str, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(common::root().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| keep(&p.file_name().unwrap().to_string_lossy()))
        .collect();
    out.sort();
    out
}

/// Every report of every workflow (templates and examples) on every example event,
/// as the text `flow run --format json` prints, parsed back in order.
fn real_reports() -> Vec<Value> {
    let workflows = |d| files(d, |n| n.ends_with(".flow") && !n.ends_with(".test.flow"));
    let mut flows = workflows("stdlib/templates");
    flows.extend(workflows("examples"));
    let events: Vec<Event> = files("examples/events", |n| n.ends_with(".json"))
        .iter()
        .map(|p| {
            let json = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
            Event::from_json(json, None).unwrap()
        })
        .collect();
    let objects = common::root().join("examples/objects");
    let mut out = Vec::new();
    for path in flows {
        let text = std::fs::read_to_string(&path).unwrap();
        let source = SourceFile::new(path.display().to_string(), text);
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let build = flow::build(&source, &Settings::default(), &stem);
        assert!(
            !build.has_errors(),
            "{}: {:?}",
            path.display(),
            build.diagnostics
        );
        for program in &build.compiled.programs {
            for event in events.iter().filter(|e| e.event_type() == program.trigger) {
                let mut bindings = Recording::new();
                bindings.load_dir(&objects).unwrap();
                let report = flow::vm::run(program, &source, event, &mut bindings);
                let line = serde_json::to_string(&report).unwrap();
                assert_eq!(line, report.to_json().to_string());
                out.push(serde_json::from_str(&line).unwrap());
            }
        }
    }
    out
}

fn kinds(reports: &[Value]) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for r in reports {
        seen.insert(format!("status:{}", r["status"].as_str().unwrap()));
        for a in r["actions"].as_array().unwrap() {
            seen.insert(format!("action:{}", a["action"].as_str().unwrap()));
        }
    }
    seen
}

/// The reports exercise every status and every action: a succeeded run with an
/// e-mail and an update, a failed run with a code, a skipped run, a refund, a
/// retrieve, a Slack message and an HTTP request (examples/dispute_alerts.flow), and
/// Stripe API methods (examples/overdue_invoices.flow).
fn covered() -> Vec<Value> {
    let reports = real_reports();
    let seen = kinds(&reports);
    for want in [
        "status:succeeded",
        "status:skipped",
        "status:failed",
        "action:email",
        "action:update",
        "action:retrieve",
        "action:refund",
        "action:slack",
        "action:http",
        "action:stripe",
    ] {
        assert!(seen.contains(want), "no report with {want}: {seen:?}");
    }
    assert!(reports.iter().any(|r| {
        let a: Vec<&str> = r["actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["action"].as_str().unwrap())
            .collect();
        r["status"] == "succeeded" && a.contains(&"email") && a.contains(&"update")
    }));
    assert!(reports
        .iter()
        .any(|r| r["status"] == "failed" && r["code"].is_string()));
    reports
}

// A validator of the part of JSON Schema (draft 2020-12) the schema uses. A keyword
// it does not know is an error, so that nothing in the schema goes unchecked.

const KEYWORDS: &[&str] = &[
    "$schema",
    "$defs",
    "$ref",
    "title",
    "description",
    "type",
    "enum",
    "const",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "prefixItems",
    "minItems",
    "maxItems",
    "oneOf",
    "allOf",
    "if",
    "then",
    "else",
];

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn has_type(v: &Value, t: &str) -> bool {
    let actual = type_name(v);
    actual == t || (t == "number" && actual == "integer")
}

fn resolve<'a>(root: &'a Value, reference: &str) -> &'a Value {
    let name = reference
        .strip_prefix("#/$defs/")
        .unwrap_or_else(|| panic!("only local $defs references: {reference}"));
    root["$defs"]
        .get(name)
        .unwrap_or_else(|| panic!("{reference} is not defined"))
}

fn validate(root: &Value, schema: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    let s = match schema {
        Value::Bool(true) => return,
        Value::Bool(false) => return errors.push(format!("{at}: not allowed")),
        Value::Object(s) => s,
        other => panic!("{at}: a schema is an object or a boolean, not {other}"),
    };
    for key in s.keys() {
        assert!(
            KEYWORDS.contains(&key.as_str()),
            "{at}: unknown keyword {key}"
        );
    }
    if let Some(r) = s.get("$ref") {
        validate(root, resolve(root, r.as_str().unwrap()), v, at, errors);
    }
    if let Some(t) = s.get("type") {
        let types: Vec<&str> = match t {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().map(|t| t.as_str().unwrap()).collect(),
            other => panic!("{at}: bad type {other}"),
        };
        if !types.iter().any(|t| has_type(v, t)) {
            errors.push(format!("{at}: {} is not of type {types:?}", type_name(v)));
        }
    }
    if let Some(e) = s.get("enum") {
        if !e.as_array().unwrap().contains(v) {
            errors.push(format!("{at}: {v} is not one of {e}"));
        }
    }
    if let Some(c) = s.get("const") {
        if c != v {
            errors.push(format!("{at}: {v} is not {c}"));
        }
    }
    if let Value::Object(o) = v {
        let props = s.get("properties").and_then(Value::as_object);
        if let Some(props) = props {
            for (k, sub) in props {
                if let Some(x) = o.get(k) {
                    validate(root, sub, x, &format!("{at}.{k}"), errors);
                }
            }
        }
        if let Some(req) = s.get("required") {
            for k in req.as_array().unwrap() {
                if !o.contains_key(k.as_str().unwrap()) {
                    errors.push(format!("{at}: {k} is missing"));
                }
            }
        }
        if let Some(extra) = s.get("additionalProperties") {
            for (k, x) in o {
                if !props.is_some_and(|p| p.contains_key(k)) {
                    validate(root, extra, x, &format!("{at}.{k}"), errors);
                }
            }
        }
    }
    if let Value::Array(items) = v {
        let prefix = s
            .get("prefixItems")
            .map(|p| p.as_array().unwrap().as_slice())
            .unwrap_or_default();
        for (i, x) in items.iter().enumerate() {
            let sub = match prefix.get(i) {
                Some(p) => Some(p),
                None => s.get("items"),
            };
            if let Some(sub) = sub {
                validate(root, sub, x, &format!("{at}[{i}]"), errors);
            }
        }
        if let Some(n) = s.get("minItems").and_then(Value::as_u64) {
            if (items.len() as u64) < n {
                errors.push(format!("{at}: fewer than {n} items"));
            }
        }
        if let Some(n) = s.get("maxItems").and_then(Value::as_u64) {
            if items.len() as u64 > n {
                errors.push(format!("{at}: more than {n} items"));
            }
        }
    }
    if let Some(all) = s.get("allOf") {
        for sub in all.as_array().unwrap() {
            validate(root, sub, v, at, errors);
        }
    }
    if let Some(one) = s.get("oneOf") {
        let passing = one
            .as_array()
            .unwrap()
            .iter()
            .filter(|sub| errors_of(root, sub, v, at).is_empty())
            .count();
        if passing != 1 {
            errors.push(format!("{at}: {passing} of oneOf match, not exactly one"));
        }
    }
    if let Some(cond) = s.get("if") {
        let branch = if errors_of(root, cond, v, at).is_empty() {
            s.get("then")
        } else {
            s.get("else")
        };
        if let Some(b) = branch {
            validate(root, b, v, at, errors);
        }
    }
}

fn errors_of(root: &Value, schema: &Value, v: &Value, at: &str) -> Vec<String> {
    let mut errors = Vec::new();
    validate(root, schema, v, at, &mut errors);
    errors
}

fn check(schema: &Value, report: &Value) -> Vec<String> {
    errors_of(schema, schema, report, "report")
}

/// The schema of an action of this kind: the `oneOf` variant whose `action` is it.
fn variant<'a>(schema: &'a Value, kind: &str) -> &'a Value {
    schema["$defs"]["action"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| resolve(schema, v["$ref"].as_str().unwrap()))
        .find(|v| v["properties"]["action"]["const"] == kind)
        .unwrap_or_else(|| panic!("no action variant with \"action\": \"{kind}\""))
}

fn types_of(prop: &Value) -> Vec<String> {
    if let Some(c) = prop.get("const") {
        return vec![type_name(c).to_string()];
    }
    match &prop["type"] {
        Value::String(t) => vec![t.clone()],
        Value::Array(ts) => ts.iter().map(|t| t.as_str().unwrap().to_string()).collect(),
        other => panic!("a property without a type: {other}"),
    }
}

/// The properties a report has only sometimes: `loops`, when the run had loops.
const OPTIONAL: &[&str] = &["loops", "waits", "slot", "wakes_at"];

/// Every key of `value` is a property of `schema` of a type that fits its value, and
/// every property is required and present (but those of [`OPTIONAL`], which come
/// last when present).
fn keys_match(schema: &Value, value: &Value, at: &str) {
    let props = schema["properties"].as_object().unwrap();
    let obj = value.as_object().unwrap();
    for (k, x) in obj {
        let prop = props
            .get(k)
            .unwrap_or_else(|| panic!("{at}: `{k}` is not in the schema's properties"));
        let types = types_of(prop);
        assert!(
            types.iter().any(|t| has_type(x, t)),
            "{at}.{k}: a {} where the schema says {types:?}",
            type_name(x)
        );
    }
    let required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    let keys: Vec<&str> = obj
        .keys()
        .map(String::as_str)
        .filter(|k| !OPTIONAL.contains(k))
        .collect();
    assert_eq!(
        keys, required,
        "{at}: the keys, in order, are the required ones"
    );
    let mut all: Vec<&str> = props
        .keys()
        .map(String::as_str)
        .filter(|k| !OPTIONAL.contains(k))
        .collect();
    all.sort();
    let mut req = required.clone();
    req.sort();
    assert_eq!(all, req, "{at}: every property is required");
}

#[test]
fn the_schema_is_draft_2020_12_with_the_action_variants() {
    let s = schema();
    assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert_eq!(s["type"], "object");
    let kinds: Vec<&Value> = s["$defs"]["action"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| &resolve(&s, v["$ref"].as_str().unwrap())["properties"]["action"]["const"])
        .collect();
    assert_eq!(
        kinds,
        [
            &json!("email"),
            &json!("update"),
            &json!("retrieve"),
            &json!("refund"),
            &json!("slack"),
            &json!("http"),
            &json!("stripe")
        ]
    );
    assert_eq!(
        s["properties"]["actions"]["items"]["$ref"],
        "#/$defs/action"
    );
}

#[test]
fn every_run_code_is_in_the_schema_and_nothing_else() {
    let s = schema();
    let mut want: Vec<Value> = RunCode::ALL.iter().map(|c| json!(c.as_str())).collect();
    want.push(Value::Null);
    assert_eq!(s["properties"]["code"]["enum"].as_array().unwrap(), &want);
}

#[test]
fn every_key_of_a_real_report_is_in_the_schema_with_its_type() {
    let s = schema();
    let reports = covered();
    let mut seen_action_keys: BTreeSet<(String, String)> = BTreeSet::new();
    for r in &reports {
        keys_match(&s, r, "report");
        for a in r["actions"].as_array().unwrap() {
            let kind = a["action"].as_str().unwrap();
            keys_match(variant(&s, kind), a, kind);
            for k in a.as_object().unwrap().keys() {
                seen_action_keys.insert((kind.to_string(), k.clone()));
            }
            if kind == "email" {
                for pair in a["append"].as_array().unwrap() {
                    let pair = pair.as_array().unwrap();
                    assert_eq!(pair.len(), 2, "{a}");
                    assert!(pair.iter().all(Value::is_string), "{a}");
                }
                assert!(a["to"].as_array().unwrap().iter().all(Value::is_string));
            }
        }
    }
    // And every property of every variant is seen in a real report.
    for kind in ["email", "update", "retrieve", "refund", "slack", "http"] {
        for k in variant(&s, kind)["properties"].as_object().unwrap().keys() {
            assert!(
                seen_action_keys.contains(&(kind.to_string(), k.clone())),
                "no real {kind} has `{k}`"
            );
        }
    }
}

#[test]
fn real_reports_are_valid_and_have_every_required_field() {
    let s = schema();
    let reports = covered();
    let required = s["required"].as_array().unwrap();
    for r in &reports {
        for k in required {
            assert!(r.get(k.as_str().unwrap()).is_some(), "{k} missing in {r}");
        }
        let errors = check(&s, r);
        assert!(errors.is_empty(), "{errors:?} in {r}");
        let code = &r["code"];
        assert_eq!(code.is_string(), r["status"] == "failed", "{r}");
    }
}

#[test]
fn what_the_schema_does_not_allow_is_refused() {
    let s = schema();
    let good = covered()
        .into_iter()
        .find(|r| {
            r["status"] == "succeeded"
                && r["actions"][0]["action"] == "email"
                && r["actions"][1]["action"] == "update"
        })
        .unwrap();
    assert!(check(&s, &good).is_empty());
    type Mutation = fn(&mut Value);
    let mutations: [(&str, Mutation); 10] = [
        ("an unknown key", |r| r["extra"] = json!(1)),
        ("a missing key", |r| {
            r.as_object_mut().unwrap().remove("event_type");
        }),
        ("a number for the event", |r| r["event"] = json!(7)),
        ("an unknown status", |r| r["status"] = json!("done")),
        ("an unknown code", |r| {
            r["status"] = json!("failed");
            r["code"] = json!("R9999");
            r["error"] = json!("x");
        }),
        ("a failed run without a code", |r| {
            r["status"] = json!("failed");
            r["error"] = json!("x");
        }),
        ("a succeeded run with an error", |r| r["error"] = json!("x")),
        ("an unknown action", |r| {
            r["actions"][0]["action"] = json!("delete")
        }),
        ("an e-mail without its appended fields", |r| {
            r["actions"][0].as_object_mut().unwrap().remove("append");
        }),
        ("an appended field of three parts", |r| {
            r["actions"][0]["append"] = json!([["a", "b", "c"]])
        }),
    ];
    for (what, mutate) in mutations {
        let mut bad = good.clone();
        mutate(&mut bad);
        assert!(!check(&s, &bad).is_empty(), "{what} was accepted: {bad}");
    }
}
