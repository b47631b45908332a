//! The canonical form of a program, and the version derived from it.
//!
//! The canonical form is the program's serialization as JSON with every object's
//! keys sorted, and without source positions: the instructions, the constants, the
//! field reads, the objects, updates, tables and refunds, the number of locals, the
//! name and the trigger. Two sources that differ only in comments or layout compile
//! to the same canonical form; any change to what the program does changes it.
//!
//! The version of a workflow is a digest of that form and of the settings it was
//! checked with. It is stored beside every run, so it must not change between
//! releases unless the program itself does: a change to the canonical form is a
//! change of every stored version, and bumps [`FORMAT`].

use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use crate::Program;

/// The name of the canonical form, hashed before it: bump it when the form changes
/// on purpose, so that a version never means two things.
const FORMAT: &str = "flow-program/1";

impl Program {
    /// The canonical JSON of this program: no source positions, object keys in
    /// sorted order, no whitespace.
    pub fn canonical(&self) -> Vec<u8> {
        // A program holds strings, integers, booleans, lists and records only (no
        // maps with other keys than strings, no floats): it always serializes.
        let tree = serde_json::to_value(self).expect("a program serializes to JSON");
        serde_json::to_vec(&sorted(tree)).expect("JSON is written to memory")
    }

    /// The version of this program checked with `settings` (the `flow.toml` text it
    /// was checked with): 16 hex digits of a SHA-256 of the canonical form and the
    /// settings.
    pub fn version(&self, settings: &str) -> String {
        let mut h = Sha256::new();
        h.update(FORMAT.as_bytes());
        h.update(b"\0");
        h.update(self.canonical());
        h.update(b"\0");
        h.update(settings.as_bytes());
        let digest = h.finalize();
        digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
    }
}

/// The same JSON with every object's keys in sorted order, at every depth.
fn sorted(value: Json) -> Json {
    match value {
        Json::Object(map) => {
            let mut entries: Vec<(String, Json)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Json::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Json::Array(items) => Json::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CmpOp, Conv, FieldRead, Lit, Op, Root, UpdateSpec};
    use flow_stdlib::money::{Currency, Money};
    use flow_syntax::Span;
    use rust_decimal::Decimal;
    use std::str::FromStr;

    fn span(start: u32) -> Span {
        Span {
            start,
            end: start + 3,
        }
    }

    /// A program with every kind of part, its source positions offset by `at`.
    fn program(at: u32) -> Program {
        let mut p = Program::empty("Tag", "payment_intent.succeeded", 1, span(at));
        p.consts = vec![
            Lit::Money(Money::new(100_000, Currency::USD)),
            Lit::Dec(Decimal::from_str("10.50").unwrap()),
            Lit::Currency(Currency::USD),
            Lit::Str("VIP".into()),
            Lit::Int(-3),
            Lit::Bool(true),
            Lit::Null,
        ];
        p.reads = vec![FieldRead {
            root: Root::Object,
            path: vec!["amount".into()],
            conv: Conv::Money {
                currency_path: vec!["currency".into()],
            },
            required: true,
            display: "amount".into(),
        }];
        p.code = vec![
            Op::Load(0),
            Op::Const(0),
            Op::Compare(CmpOp::Gt, 0),
            Op::JumpIfFalse(5),
            Op::Halt,
            Op::Skip,
        ];
        p.spans = (0..p.code.len() as u32).map(|i| span(at + i)).collect();
        p.operands = vec![(span(at), span(at + 9))];
        p.updates = vec![UpdateSpec {
            object: "customer".into(),
            param_path: vec!["metadata".into(), "Tier".into()],
            target: span(at + 20),
        }];
        p
    }

    #[test]
    fn positions_are_not_part_of_the_canonical_form() {
        assert_eq!(program(0).canonical(), program(40).canonical());
        assert_eq!(program(0).version(""), program(40).version(""));
        let mut other = program(0);
        other.code[2] = Op::Compare(CmpOp::Gt, 7);
        assert_eq!(other.canonical(), program(0).canonical());
    }

    #[test]
    fn the_canonical_form_is_sorted_json_with_exact_numbers() {
        let text = String::from_utf8(program(0).canonical()).unwrap();
        assert!(text.starts_with(r#"{"code":[{"load":0},{"const":0},{"compare":["gt"]},"#));
        assert!(text.contains(r#"{"money":{"currency":"USD","minor":100000}}"#));
        assert!(text.contains(r#"{"dec":"10.50"}"#));
        assert!(text.contains(r#""name":"Tag","objects":[],"reads":"#));
        assert!(!text.contains("span"), "{text}");
        assert!(!text.contains("target"), "{text}");
        let parsed: Json = serde_json::from_str(&text).unwrap();
        let keys: Vec<&String> = parsed.as_object().unwrap().keys().collect();
        let mut want = keys.clone();
        want.sort();
        assert_eq!(keys, want);
    }

    #[test]
    fn what_the_program_does_is_part_of_the_version() {
        let base = program(0).version("");
        assert_eq!(base.len(), 16);
        assert!(base.bytes().all(|b| b.is_ascii_hexdigit()));
        let mut threshold = program(0);
        threshold.consts[0] = Lit::Money(Money::new(100_001, Currency::USD));
        let mut scale = program(0);
        scale.consts[1] = Lit::Dec(Decimal::from_str("10.5").unwrap());
        let mut op = program(0);
        op.code[2] = Op::Compare(CmpOp::Ge, 0);
        let mut display = program(0);
        display.reads[0].display = "amount_received".into();
        let mut name = program(0);
        name.name = "Tag them".into();
        for (what, p) in [
            ("threshold", threshold),
            ("scale", scale),
            ("operator", op),
            ("display", display),
            ("name", name),
        ] {
            assert_ne!(p.version(""), base, "{what}");
        }
        assert_ne!(program(0).version("[business]\n"), base, "settings");
    }
}
