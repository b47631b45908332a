//! Every object of Stripe's official examples (`fixtures3.json` of Stripe's OpenAPI
//! repository, 176 resource types; a copy is in `../shared/stripe/` beside the checkout)
//! reads with the type its schema declares: each key is a declared field, no non-null
//! field is null, no integer is a string, no closed enum refuses its value, and every
//! field is present unless declared `absent`.
//!
//! The file is not part of the project, so a plain `cargo test` shows this test as
//! ignored; `.ci/run` runs it with `--ignored`, and asked for without the file, it
//! fails. FLOW_STRIPE_FIXTURES names another copy.

mod common;

use flow::stdlib::{FieldDef, FieldType, Stdlib};
use serde_json::Value;

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

struct Conformance<'a> {
    lib: &'a Stdlib,
    problems: Vec<String>,
}

impl Conformance<'_> {
    fn object(&mut self, at: &str, name: &str, v: &Value) {
        let Some(def) = self.lib.object(name) else {
            self.problems.push(format!("{at}: no schema for `{name}`"));
            return;
        };
        let Value::Object(map) = v else {
            self.problems.push(format!(
                "{at}: {} where the object {name} is declared",
                kind(v)
            ));
            return;
        };
        for key in map.keys() {
            if def.field(key).is_none() {
                self.problems
                    .push(format!("{at}.{key}: not a field of {name}"));
            }
        }
        for f in &def.fields {
            let here = format!("{at}.{}", f.name);
            match map.get(&f.name) {
                None if !f.absent => self.problems.push(format!(
                    "{here}: missing, and not declared `absent` in {name}"
                )),
                None => {}
                Some(value) => self.field(&here, f, value),
            }
        }
    }

    fn field(&mut self, at: &str, f: &FieldDef, v: &Value) {
        if v.is_null() {
            if !f.nullable {
                self.problems
                    .push(format!("{at}: null, but declared non-null"));
            }
            return;
        }
        self.value(at, &f.ty, v);
    }

    fn value(&mut self, at: &str, ty: &FieldType, v: &Value) {
        let ok = match ty {
            FieldType::String | FieldType::Currency => v.is_string(),
            FieldType::Integer | FieldType::Timestamp | FieldType::Money { .. } => {
                v.is_i64() || v.is_u64()
            }
            FieldType::Decimal => {
                v.is_number()
                    || v.as_str()
                        .is_some_and(|s| s.parse::<f64>().is_ok_and(f64::is_finite))
            }
            FieldType::Bool => v.is_boolean(),
            FieldType::Metadata => v
                .as_object()
                .is_some_and(|m| m.values().all(Value::is_string)),
            FieldType::Json | FieldType::Table | FieldType::Addresses => true,
            FieldType::Enum { values, open } => match v.as_str() {
                Some(s) if *open || values.iter().any(|x| x == s) => true,
                Some(s) => {
                    self.problems.push(format!(
                        "{at}: `{s}` is not one of the closed enum's values ({})",
                        values.join("|")
                    ));
                    return;
                }
                None => false,
            },
            // An expanded reference in an example is often a stub of the object (its
            // own example is checked as a resource of its own): its id is enough.
            FieldType::Ref(_) => match v {
                Value::String(_) => true,
                Value::Object(m) => m.get("id").is_some_and(Value::is_string),
                _ => false,
            },
            FieldType::List(inner) => match v {
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        self.value(&format!("{at}[{i}]"), inner, item);
                    }
                    true
                }
                _ => false,
            },
            FieldType::Object(o) => {
                self.object(at, o, v);
                true
            }
        };
        if !ok {
            self.problems
                .push(format!("{at}: {} where {ty:?} is declared", kind(v)));
        }
    }
}

#[test]
#[ignore = "needs ../shared/stripe/fixtures3.json beside the checkout (.ci/run runs it)"]
fn stripe_examples_read_with_their_declared_types() {
    let path = std::env::var("FLOW_STRIPE_FIXTURES")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| common::root().join("../shared/stripe/fixtures3.json"));
    // Asked for (`--ignored`) without the file: a failure, never a pass.
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (Stripe's examples are needed)", path.display()));
    let fixtures: Value = serde_json::from_str(&text).expect("fixtures3.json is JSON");
    let resources = fixtures["resources"]
        .as_object()
        .expect("fixtures3.json has `resources`");
    assert!(resources.len() >= 170, "{} resource types", resources.len());
    let lib = flow::stdlib::builtin();
    let mut c = Conformance {
        lib,
        problems: Vec::new(),
    };
    for (name, example) in resources {
        // a resource's example is named by its schema (`deleted_customer`), or by its
        // `object` value (`deleted_external_account` is a `deleted_bank_account`)
        let value = example["object"].as_str().unwrap_or(name);
        let object = if lib.object(name).is_some() {
            name.clone()
        } else if name.starts_with("deleted_") {
            format!("deleted_{value}")
        } else {
            value.to_string()
        };
        c.object(name, &object, example);
        // An event's data.object is of the type its event type says.
        if let (Some(t), Some(data)) = (example["type"].as_str(), example["data"].get("object")) {
            match lib.event(t).and_then(|e| e.object.as_deref()) {
                Some(o) => c.object(&format!("{name}.data.object ({t})"), o, data),
                None => c.problems.push(format!("{name}: unknown event type `{t}`")),
            }
        }
    }
    // Every event's object is among them or has a schema of its own.
    for e in &lib.events {
        let o = e.object.as_deref().unwrap_or("json");
        assert!(lib.object(o).is_some(), "{}: {o} has a schema", e.name);
    }
    let n = c.problems.len();
    c.problems.truncate(400);
    assert!(
        n == 0,
        "{n} fields of Stripe's examples do not read with their declared types:\n{}",
        c.problems.join("\n")
    );
}
