//! Files of many workflows: each is parsed on its own, and every span and
//! diagnostic still points into the whole file.

use std::process::Command;

use flow::syntax::{parse, SourceFile};

const TEMPLATES: [&str; 4] = [
    include_str!("../stdlib/templates/tag_valuable_customers.flow"),
    include_str!("../stdlib/templates/personalize_orders.flow"),
    include_str!("../stdlib/templates/take_action_on_fraud_warnings.flow"),
    include_str!("data/reads_many_fields.flow"),
];

/// Every `Span { start, end }` in a value's debug form, in order.
fn spans(debug: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut rest = debug;
    while let Some(i) = rest.find("Span { start: ") {
        rest = &rest[i + "Span { start: ".len()..];
        let start: usize = rest[..rest.find(',').unwrap()].parse().unwrap();
        rest = &rest[rest.find("end: ").unwrap() + 5..];
        let end: usize = rest[..rest.find(' ').unwrap()].parse().unwrap();
        out.push((start, end));
    }
    out
}

#[test]
fn spans_of_later_workflows_point_at_their_own_text() {
    let whole = TEMPLATES.join("\n");
    let parsed = parse(&SourceFile::new("all.flow", whole.clone()));
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    let mut alone = Vec::new();
    for t in TEMPLATES {
        let p = parse(&SourceFile::new("one.flow", t));
        assert!(p.diagnostics.is_empty());
        alone.extend(p.file.workflows.into_iter().map(|w| (t, w)));
    }
    assert_eq!(parsed.file.workflows.len(), alone.len());
    let mut compared = 0;
    for (w, (text, a)) in parsed.file.workflows.iter().zip(&alone) {
        let in_file = spans(&format!("{w:?}"));
        let on_its_own = spans(&format!("{a:?}"));
        assert_eq!(in_file.len(), on_its_own.len());
        for (f, o) in in_file.iter().zip(&on_its_own) {
            assert_eq!(&whole[f.0..f.1], &text[o.0..o.1]);
            compared += 1;
        }
    }
    assert!(compared > 100, "{compared}");
}

#[test]
fn diagnostics_in_a_later_workflow_name_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.flow");
    let mut text = String::new();
    for i in 0..30 {
        text.push_str(&format!(
            "workflow \"w{i}\"\non payment_intent.succeeded\nwhen amount > 10 USD {{\n    update customer.metadata.N = \"{i}\"\n}}\n\n"
        ));
    }
    // Line 183: a type error; line 190: a syntax error; line 195: two statements on
    // one line (reported once, not once per workflow after it).
    text.push_str("workflow \"bad type\"\non payment_intent.succeeded\nwhen amount > \"ten\" {\n    update customer.metadata.N = \"x\"\n}\n\n");
    text.push_str("workflow \"bad syntax\"\non payment_intent.succeeded\nwhen amount > {\n    update customer.metadata.N = \"x\"\n}\n\n");
    text.push_str("workflow \"no separator\"\non payment_intent.succeeded {\n    update customer.metadata.A = \"x\" update customer.metadata.B = \"y\"\n}\n\n");
    text.push_str("workflow \"after\"\non payment_intent.succeeded {\n    update customer.metadata.C = \"z\"\n}\n");
    std::fs::write(&path, &text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_flow"))
        .args(["check", "--format", "json", path.to_str().unwrap()])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let diags = json[0]["diagnostics"].as_array().unwrap();
    let lines: Vec<(u64, String)> = diags
        .iter()
        .map(|d| {
            (
                d["range"]["start"]["line"].as_u64().unwrap() + 1,
                d["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        lines.iter().filter(|(_, c)| c == "E0002").count(),
        1,
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|(l, c)| *l == 183 && c != "E0001"),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|(l, c)| *l == 190 && c == "E0001"),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|(l, c)| *l == 195 && c == "E0002"),
        "{lines:?}"
    );
    assert!(lines.iter().all(|(l, _)| *l > 180), "{lines:?}");
    assert_eq!(out.status.code(), Some(1));
}
