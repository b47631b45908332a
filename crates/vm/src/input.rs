//! The input of an on-demand run: a JSON object checked against the workflow's
//! inputs, every problem found at once (missing, unknown, of the wrong type, a
//! currency that does not exist), before anything runs.

use std::fmt;
use std::rc::Rc;

use rust_decimal::Decimal;
use serde_json::Value as Json;

use flow_program::{InputSpec, InputType};
use flow_stdlib::money::{Currency, Money, MoneyError};
use flow_stdlib::suggest::did_you_mean;

use crate::Value;

/// One thing wrong with an input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputProblem {
    /// The input's name (`credit`), or the key given (`creditt`).
    pub name: String,
    pub message: String,
    /// A did-you-mean or what to write instead; may be empty.
    pub help: String,
}

impl fmt::Display for InputProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.name, self.message)?;
        if !self.help.is_empty() {
            write!(f, " ({})", self.help)?;
        }
        Ok(())
    }
}

/// The values of the inputs, each with the local it goes in; or every problem.
pub fn decode(inputs: &[InputSpec], json: &Json) -> Result<Vec<(u16, Value)>, Vec<InputProblem>> {
    let empty = serde_json::Map::new();
    let map = match json {
        Json::Object(m) => m,
        Json::Null => &empty,
        other => {
            return Err(vec![InputProblem {
                name: "input".into(),
                message: format!(
                    "the input is a JSON object of named values, not {}",
                    kind(other)
                ),
                help: example(inputs),
            }])
        }
    };
    let mut problems = Vec::new();
    let mut values = Vec::new();
    for key in map.keys() {
        if !inputs.iter().any(|i| &i.name == key) {
            let close = closest(key, inputs.iter().map(|i| i.name.as_str()));
            problems.push(InputProblem {
                name: key.clone(),
                message: "is not an input of this workflow".into(),
                help: match close {
                    Some(c) => format!("did you mean `{c}`?"),
                    None => format!(
                        "its inputs are: {}",
                        inputs
                            .iter()
                            .map(|i| i.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                },
            });
        }
    }
    for i in inputs {
        let v = match map.get(&i.name) {
            None | Some(Json::Null) if i.optional => {
                Ok(i.default.as_ref().map_or(Value::Null, Value::from_lit))
            }
            None => Err(format!("is missing ({})", a(&i.ty))),
            Some(Json::Null) => Err(format!("is null, but it is {} that is required", a(&i.ty))),
            Some(j) => value(&i.ty, j),
        };
        match v {
            Ok(v) => values.push((i.slot, v)),
            Err(message) => problems.push(InputProblem {
                name: i.name.clone(),
                help: if message.starts_with("is missing") || message.starts_with("is null") {
                    format!("give it, e.g. `\"{}\": {}`", i.name, sample(&i.ty))
                } else {
                    format!("write {} such as {}", a(&i.ty), sample(&i.ty))
                },
                message,
            }),
        }
    }
    if problems.is_empty() {
        Ok(values)
    } else {
        Err(problems)
    }
}

fn example(inputs: &[InputSpec]) -> String {
    let fields: Vec<String> = inputs
        .iter()
        .map(|i| format!("\"{}\": {}", i.name, sample(&i.ty)))
        .collect();
    format!("such as {{{}}}", fields.join(", "))
}

/// A value of the type, as JSON text, for help.
fn sample(t: &InputType) -> String {
    match t {
        InputType::Bool => "true".into(),
        InputType::Integer => "3".into(),
        InputType::Decimal => "\"2.5\"".into(),
        InputType::String => "\"text\"".into(),
        InputType::Timestamp => "\"2027-01-01T09:00:00Z\"".into(),
        InputType::Duration => "\"3 days\"".into(),
        InputType::Currency => "\"usd\"".into(),
        InputType::Money => "{\"amount\": 1250, \"currency\": \"usd\"} or \"12.50 USD\"".into(),
        InputType::Ref(o) => format!("\"{}_…\" (the ID of a {o})", id_prefix(o)),
        InputType::List(t) => format!("[{}]", sample(t)),
        InputType::Metadata => "{\"key\": \"value\"}".into(),
        InputType::Enum(v) => format!("\"{}\"", v.first().map_or("", String::as_str)),
        InputType::Json => "any JSON".into(),
    }
}

fn id_prefix(object: &str) -> &'static str {
    match object {
        "customer" => "cus",
        "charge" => "ch",
        "invoice" => "in",
        "payment_intent" => "pi",
        "subscription" => "sub",
        "refund" => "re",
        "product" => "prod",
        "price" => "price",
        _ => "id",
    }
}

/// The type with its article: `a string`, `an integer`.
fn a(t: &InputType) -> String {
    let text = t.to_string();
    let vowel = text.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {text}", if vowel { "an" } else { "a" })
}

fn kind(j: &Json) -> &'static str {
    match j {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "an object",
    }
}

/// One value: its JSON checked against the type.
fn value(t: &InputType, j: &Json) -> Result<Value, String> {
    let wrong = || format!("is {}, not {}", kind(j), a(t));
    Ok(match (t, j) {
        (InputType::Bool, Json::Bool(b)) => Value::Bool(*b),
        (InputType::Integer, Json::Number(n)) => Value::Int(
            n.as_i64()
                .ok_or_else(|| format!("{n} is not a whole number"))?,
        ),
        (InputType::Decimal, Json::Number(n)) => Value::Dec(decimal(&n.to_string())?),
        (InputType::Decimal, Json::String(s)) => Value::Dec(decimal(s)?),
        (InputType::String, Json::String(s)) => Value::Str(s.as_str().into()),
        (InputType::Timestamp, Json::Number(n)) => Value::Time(
            n.as_i64()
                .ok_or_else(|| format!("{n} is not a time in Unix seconds"))?,
        ),
        (InputType::Timestamp, Json::String(s)) => Value::Time(
            s.parse::<jiff::Timestamp>()
                .map_err(|_| format!("\"{s}\" is not a time such as \"2027-01-01T09:00:00Z\""))?
                .as_second(),
        ),
        (InputType::Duration, Json::Number(n)) => Value::Duration(
            n.as_i64()
                .ok_or_else(|| format!("{n} is not a whole number of seconds"))?,
        ),
        (InputType::Duration, Json::String(s)) => Value::Duration(duration(s)?),
        (InputType::Currency, Json::String(s)) => Value::Currency(currency(s)?),
        (InputType::Money, Json::Object(m)) => {
            let c = match m.get("currency") {
                Some(Json::String(c)) => currency(c)?,
                _ => return Err("has no `currency`".into()),
            };
            let minor = match m.get("amount") {
                Some(Json::Number(n)) => n.as_i64().ok_or_else(|| {
                    format!("`amount` {n} is not a whole number of minor units (cents)")
                })?,
                _ => return Err("has no `amount` (in minor units: 1250 for 12.50)".into()),
            };
            if let Some(extra) = m.keys().find(|k| *k != "amount" && *k != "currency") {
                return Err(format!("has `{extra}`; money is `amount` and `currency`"));
            }
            Value::Money(Money::new(minor, c))
        }
        (InputType::Money, Json::String(s)) => {
            let (amount, code) = s
                .trim()
                .rsplit_once(' ')
                .ok_or_else(|| format!("\"{s}\" is not an amount and a currency"))?;
            let c = currency(code)?;
            let major = decimal(amount.trim())?;
            Value::Money(Money::from_major(major, c).map_err(|e| match e {
                MoneyError::TooPrecise { exponent } => format!(
                    "\"{s}\" has more decimal places than {} has ({exponent})",
                    c.code()
                ),
                MoneyError::Overflow => format!("\"{s}\" is too large an amount"),
            })?)
        }
        (InputType::Ref(o), Json::String(s)) => {
            if s.trim().is_empty() || s.chars().any(char::is_whitespace) {
                return Err(format!("\"{s}\" is not the ID of a {o}"));
            }
            Value::Str(s.as_str().into())
        }
        (InputType::List(inner), Json::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for (n, item) in items.iter().enumerate() {
                out.push(value(inner, item).map_err(|e| format!("item {n} {e}"))?);
            }
            Value::List(out.into())
        }
        (InputType::Metadata, Json::Object(m)) => {
            if let Some((k, _)) = m.iter().find(|(_, v)| !v.is_string()) {
                return Err(format!(
                    "`{k}` is not a string; metadata values are strings"
                ));
            }
            Value::Object(Rc::new(j.clone()))
        }
        (InputType::Enum(values), Json::String(s)) => {
            if !values.contains(s) {
                let close = closest(s, values.iter().map(String::as_str));
                return Err(match close {
                    Some(c) => format!(
                        "\"{s}\" is not one of {} (did you mean \"{c}\"?)",
                        values.join(", ")
                    ),
                    None => format!("\"{s}\" is not one of {}", values.join(", ")),
                });
            }
            Value::Str(s.as_str().into())
        }
        (InputType::Json, j) => Value::from_json(j),
        _ => return Err(wrong()),
    })
}

fn decimal(s: &str) -> Result<Decimal, String> {
    s.parse::<Decimal>()
        .map_err(|_| format!("\"{s}\" is not a number"))
}

fn currency(s: &str) -> Result<Currency, String> {
    match Currency::parse(s) {
        Some(c) if c.is_known() => Ok(c),
        _ => Err(format!(
            "\"{s}\" is not a currency Stripe knows (such as \"usd\" or \"eur\")"
        )),
    }
}

/// `"3 days"`, `"90 minutes"`, `"1 week"`: seconds.
fn duration(s: &str) -> Result<i64, String> {
    let bad = || format!("\"{s}\" is not a length of time such as \"3 days\" or \"2 hours\"");
    let (n, unit) = s.trim().split_once(' ').ok_or_else(bad)?;
    let n: i64 = n.trim().parse().map_err(|_| bad())?;
    let per = match unit.trim().trim_end_matches('s') {
        "second" => 1,
        "minute" => 60,
        "hour" => 3_600,
        "day" => 86_400,
        "week" => 604_800,
        _ => return Err(bad()),
    };
    n.checked_mul(per).ok_or_else(bad)
}

/// The closest name, when it is close enough to be a typo (the rule of every
/// did-you-mean of flow).
fn closest<'a>(word: &str, names: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    did_you_mean(word, names).first().copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(name: &str, ty: InputType, optional: bool, slot: u16) -> InputSpec {
        InputSpec {
            name: name.into(),
            ty,
            optional,
            default: None,
            slot,
        }
    }

    fn goodwill() -> Vec<InputSpec> {
        vec![
            spec("customer", InputType::Ref("customer".into()), false, 0),
            spec("credit", InputType::Money, false, 1),
            spec("reason", InputType::String, false, 2),
            spec("note", InputType::String, true, 3),
        ]
    }

    #[test]
    fn a_good_input_fills_the_slots() {
        let v = decode(
            &goodwill(),
            &json!({"customer": "cus_1", "credit": {"amount": 1250, "currency": "usd"}, "reason": "late"}),
        )
        .expect("valid");
        assert_eq!(v.len(), 4);
        assert_eq!(v[1].1.to_text(), "12.50 USD");
        assert_eq!(v[3], (3, Value::Null));
        let v = decode(
            &goodwill(),
            &json!({"customer": "cus_1", "credit": "5 JPY", "reason": ""}),
        )
        .expect("valid");
        assert_eq!(v[1].1.to_text(), "5 JPY");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let e = decode(
            &goodwill(),
            &json!({"custmer": "cus_1", "credit": {"amount": 100, "currency": "usx"}, "reason": 3}),
        )
        .expect_err("four problems");
        let names: Vec<&str> = e.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["custmer", "customer", "credit", "reason"]);
        assert_eq!(e[0].help, "did you mean `customer`?");
        assert!(e[1].message.starts_with("is missing"), "{}", e[1]);
        assert!(
            e[2].message.contains("\"usx\" is not a currency"),
            "{}",
            e[2]
        );
        assert_eq!(e[3].message, "is a number, not a string");
    }

    #[test]
    fn money_in_major_units_must_fit_the_currency() {
        let e = decode(
            &goodwill(),
            &json!({"customer": "cus_1", "credit": "1.5 JPY", "reason": "x"}),
        )
        .expect_err("JPY has no minor unit");
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].name, "credit");
    }

    #[test]
    fn types_of_every_kind() {
        let ok = |t: InputType, j: Json| value(&t, &j).expect("decodes");
        assert_eq!(
            ok(InputType::Duration, json!("3 days")),
            Value::Duration(259_200)
        );
        assert_eq!(
            ok(InputType::Timestamp, json!("2027-01-01T00:00:00Z")),
            Value::Time(1_798_761_600)
        );
        assert_eq!(
            ok(InputType::List(Box::new(InputType::Integer)), json!([1, 2])),
            Value::List(vec![Value::Int(1), Value::Int(2)].into())
        );
        let e = value(
            &InputType::Enum(vec!["low".into(), "high".into()]),
            &json!("hgh"),
        )
        .expect_err("not a value");
        assert!(e.contains("did you mean \"high\""), "{e}");
        let e = value(
            &InputType::List(Box::new(InputType::Integer)),
            &json!([1, "2"]),
        )
        .expect_err("a string in the list");
        assert_eq!(e, "item 1 is a string, not an integer");
        assert!(decode(&goodwill(), &json!([1])).is_err());
    }
}
