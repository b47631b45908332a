//! Run-time values.

use std::fmt;
use std::rc::Rc;

use rust_decimal::Decimal;
use serde_json::Value as Json;

use flow_program::Lit;
use flow_stdlib::money::{Currency, Money};

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Dec(Decimal),
    Str(Rc<str>),
    Currency(Currency),
    Money(Money),
    /// Unix seconds.
    Time(i64),
    /// A length of time in seconds.
    Duration(i64),
    List(Rc<[Value]>),
    /// A Stripe object or any JSON object (metadata too).
    Object(Rc<Json>),
    /// Labelled values (email `append`, refund `metadata`).
    Table(Rc<[(String, Value)]>),
}

impl Value {
    pub fn from_lit(l: &Lit) -> Value {
        match l {
            Lit::Null => Value::Null,
            Lit::Bool(b) => Value::Bool(*b),
            Lit::Int(i) => Value::Int(*i),
            Lit::Dec(d) => Value::Dec(*d),
            Lit::Str(s) => Value::Str(s.as_str().into()),
            Lit::Currency(c) => Value::Currency(*c),
            Lit::Money(m) => Value::Money(*m),
            Lit::Time(t) => Value::Time(*t),
            Lit::Duration(d) => Value::Duration(*d),
        }
    }

    /// A JSON value read without a schema.
    pub fn from_json(j: &Json) -> Value {
        match j {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => n
                    .to_string()
                    .parse::<Decimal>()
                    .map(Value::Dec)
                    .unwrap_or(Value::Null),
            },
            Json::String(s) => Value::Str(s.as_str().into()),
            Json::Array(items) => Value::List(items.iter().map(Value::from_json).collect()),
            Json::Object(_) => Value::Object(Rc::new(j.clone())),
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The text an e-mail shows for this value.
    pub fn to_text(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Dec(d) => d.to_string(),
            Value::Str(s) => s.to_string(),
            Value::Currency(c) => c.to_string(),
            Value::Money(m) => m.to_string(),
            Value::Time(t) => format_timestamp(*t),
            Value::Duration(d) => format_duration(*d),
            Value::List(items) => items
                .iter()
                .map(Value::to_text)
                .collect::<Vec<_>>()
                .join(", "),
            Value::Object(o) => match o.get("id").and_then(Json::as_str) {
                Some(id) => id.to_string(),
                None => o.to_string(),
            },
            Value::Table(rows) => rows
                .iter()
                .map(|(k, v)| format!("{k}: {}", v.to_text()))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    /// The value as a Stripe API parameter: money in minor units, currencies in lower case.
    pub fn to_param(&self) -> Json {
        match self {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            Value::Dec(d) => Json::String(d.to_string()),
            Value::Str(s) => Json::String(s.to_string()),
            Value::Currency(c) => Json::String(c.api_code()),
            Value::Money(m) => Json::from(m.minor),
            Value::Time(t) | Value::Duration(t) => Json::from(*t),
            Value::List(items) => Json::Array(items.iter().map(Value::to_param).collect()),
            Value::Object(o) => match o.get("id") {
                Some(id) => id.clone(),
                None => (**o).clone(),
            },
            Value::Table(rows) => Json::Object(
                rows.iter()
                    .map(|(k, v)| (k.clone(), Json::String(v.to_text())))
                    .collect(),
            ),
        }
    }
}

impl Value {
    /// The value as a parameter of a Stripe API method: [`Value::to_param`], with
    /// tables as objects and lists as arrays of such values (nested parameters), and
    /// decimals as Stripe's decimal strings.
    pub fn to_stripe(&self) -> Json {
        match self {
            Value::Table(rows) => Json::Object(
                rows.iter()
                    .map(|(k, v)| (k.clone(), v.to_stripe()))
                    .collect(),
            ),
            Value::List(items) => Json::Array(items.iter().map(Value::to_stripe).collect()),
            other => other.to_param(),
        }
    }

    /// The value in a JSON body (`http`, custom actions, Slack blocks): tables as
    /// objects and lists as arrays, each value converted the same way; anything else
    /// as an API parameter ([`Value::to_param`]: money in minor units, an object by
    /// its `id`), except decimals, which stay numbers.
    pub fn to_json(&self) -> Json {
        match self {
            Value::Table(rows) => {
                Json::Object(rows.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
            Value::List(items) => Json::Array(items.iter().map(Value::to_json).collect()),
            Value::Dec(d) => d
                .to_string()
                .parse::<serde_json::Number>()
                .map(Json::Number)
                .unwrap_or_else(|_| Json::String(d.to_string())),
            other => other.to_param(),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Time(t) => write!(f, "{} ({t})", format_timestamp(*t)),
            Value::Object(o) => f.write_str(&o.to_string()),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            other => f.write_str(&other.to_text()),
        }
    }
}

/// Seconds as people say them: `7 days`, `1 day 2 hours`, `90 seconds` → `1 minute 30 seconds`.
pub fn format_duration(d: i64) -> String {
    if d == 0 {
        return "0 seconds".into();
    }
    let mut rest = d.unsigned_abs();
    let mut parts = Vec::new();
    for (unit, secs) in [
        ("week", 604_800u64),
        ("day", 86_400),
        ("hour", 3_600),
        ("minute", 60),
        ("second", 1),
    ] {
        let n = rest / secs;
        rest %= secs;
        if n > 0 {
            parts.push(format!("{n} {unit}{}", if n == 1 { "" } else { "s" }));
        }
    }
    let text = parts.join(" ");
    if d < 0 {
        format!("-{text}")
    } else {
        text
    }
}

/// Unix seconds as an RFC 3339 UTC time: `2024-07-26T10:02:10Z`.
pub fn format_timestamp(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs % 3600) / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(format_timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_timestamp(1_721_988_130), "2024-07-26T10:02:10Z");
        assert_eq!(format_timestamp(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_timestamp(1_765_036_700), "2025-12-06T15:58:20Z");
        assert_eq!(format_duration(7 * 86_400), "1 week");
        assert_eq!(format_duration(93_784), "1 day 2 hours 3 minutes 4 seconds");
        assert_eq!(format_duration(-90), "-1 minute 30 seconds");
    }
}
