//! `flow check` through the binary: exit codes, several files, `--deny warnings`, and
//! the LSP JSON output.

mod common;
use common::*;

#[test]
fn errors_exit_1_and_are_counted_across_files() {
    let r = flow_ok(&[
        "check",
        "tests/diagnostics/E0101_unknown_event_type.flow",
        "tests/diagnostics/multiple_mistakes.flow",
        "stdlib/templates/tag_valuable_customers.flow",
    ]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("checked 3 files: 9 errors, 1 warning"),
        "{}",
        r.stderr
    );
    assert!(r
        .stderr
        .contains("error[E0101]: unknown event type `payment_intent.succeded`"));
    assert!(
        r.stderr
            .contains("╭─[tests/diagnostics/E0101_unknown_event_type.flow:1:20]"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains('\x1b'),
        "no colour when not on a terminal"
    );
}

#[test]
fn warnings_pass_unless_denied() {
    let f = "tests/diagnostics/W0105_unreachable_branch.flow";
    assert_eq!(flow_ok(&["check", f]).code, 0);
    let r = flow_ok(&["check", "--deny", "warnings", f]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("warning[W0105]"));
    let r = flow_ok(&["check", "--deny", "everything", f]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("error[E0903]"), "{}", r.stderr);
}

#[test]
fn missing_file_is_reported_and_others_still_checked() {
    let r = flow_ok(&[
        "check",
        "no/such.flow",
        "tests/diagnostics/E0202_unknown_currency.flow",
    ]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("error[E0901]: cannot read no/such.flow"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("error[E0202]"), "{}", r.stderr);
}

#[test]
fn json_output_is_lsp_publish_diagnostics() {
    let r = flow_ok(&[
        "check",
        "--format",
        "json",
        "tests/diagnostics/multiple_mistakes.flow",
        "tests/diagnostics/W0107_duplicate_workflow_name.flow",
        "stdlib/templates/tag_valuable_customers.flow",
    ]);
    assert_eq!(r.code, 1);
    // It deserializes into the LSP types...
    let params: Vec<lsp_types::PublishDiagnosticsParams> = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("not LSP-shaped: {e}\n{}", r.stdout));
    assert_eq!(params.len(), 3);
    assert!(params[0].uri.as_str().starts_with("file:///"));
    assert!(params[0]
        .uri
        .as_str()
        .ends_with("tests/diagnostics/multiple_mistakes.flow"));
    assert!(params[2].diagnostics.is_empty(), "the template is clean");
    let first = &params[0].diagnostics[0];
    assert_eq!(first.source.as_deref(), Some("flow"));
    assert_eq!(
        first.code,
        Some(lsp_types::NumberOrString::String("E0207".into()))
    );
    assert_eq!(first.severity, Some(lsp_types::DiagnosticSeverity::ERROR));
    // `when amount > "1000"`: line 4 (0-based 3), the string literal.
    assert_eq!(
        first.range.start,
        lsp_types::Position {
            line: 3,
            character: 14
        }
    );
    assert_eq!(
        first.range.end,
        lsp_types::Position {
            line: 3,
            character: 20
        }
    );
    assert!(first
        .message
        .contains("help: write the amount as money: `1000 USD`"));
    // ...with related information where a second span matters.
    let dup = &params[1].diagnostics[0];
    assert_eq!(dup.severity, Some(lsp_types::DiagnosticSeverity::WARNING));
    let related = dup
        .related_information
        .as_ref()
        .expect("relatedInformation");
    assert_eq!(related[0].message, "first used here");
    assert_eq!(
        related[0].location.range.start,
        lsp_types::Position {
            line: 0,
            character: 9
        }
    );
    // And the raw JSON uses exactly the LSP field names.
    let raw: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let d = &raw[0]["diagnostics"][0];
    for key in ["range", "severity", "code", "source", "message"] {
        assert!(d.get(key).is_some(), "{key} present");
    }
}

#[test]
fn events_and_fields_help_writing_conditions() {
    let r = flow_ok(&["events", "early_fraud"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("radar.early_fraud_warning.created"));
    assert!(r.stdout.contains("radar.early_fraud_warning"));
    let r = flow_ok(&["fields", "payment_intent.succeeded"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("amount"), "{}", r.stdout);
    assert!(
        r.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("customer") && l.contains("ref<customer>?")),
        "{}",
        r.stdout
    );
    let r = flow_ok(&["fields", "charge.succeeded", "outcome"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("risk_level"), "{}", r.stdout);
    let r = flow_ok(&["fields", "charge.succeded"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("did you mean `charge.succeeded`"),
        "{}",
        r.stderr
    );
}

#[test]
fn all_265_event_types_are_known_triggers() {
    let r = flow_ok(&["events"]);
    assert_eq!(r.stdout.lines().count(), 265);
    // each with its object type and what it means
    for line in r.stdout.lines() {
        assert!(line.split_whitespace().count() >= 3, "{line}");
        assert!(!line.contains("dynamic"), "{line}");
    }
    let r = flow_ok(&["events", "charge.succeeded"]);
    assert_eq!(
        r.stdout.split_whitespace().collect::<Vec<_>>(),
        "charge.succeeded charge Occurs whenever a charge is successful."
            .split_whitespace()
            .collect::<Vec<_>>()
    );
}

#[test]
fn fields_of_every_event_and_of_object_types() {
    // Every event type's object has fields (none is dynamic JSON).
    let events = flow_ok(&["events"]);
    for line in events.stdout.lines().step_by(7) {
        let event = line.split_whitespace().next().unwrap();
        let r = flow_ok(&["fields", event]);
        assert_eq!(r.code, 0, "{event}: {}", r.stderr);
        assert!(r.stdout.lines().count() > 1, "{event}: {}", r.stdout);
    }
    let r = flow_ok(&["fields", "product.created"]);
    assert!(r.stdout.starts_with("product\n"), "{}", r.stdout);
    assert!(r.stdout.contains("  default_price"), "{}", r.stdout);
    // An object type is taken in place of an event type.
    let r = flow_ok(&["fields", "customer", "invoice_settings"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.starts_with("customer.invoice_settings\n"),
        "{}",
        r.stdout
    );
    let r = flow_ok(&["fields", "price"]);
    assert!(r.stdout.contains("unit_amount"), "{}", r.stdout);
}

#[test]
fn folders_are_checked_recursively() {
    let r = flow_ok(&["check", "stdlib/templates", "examples"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let n: usize = std::fs::read_dir(root().join("stdlib/templates"))
        .unwrap()
        .chain(std::fs::read_dir(root().join("examples")).unwrap())
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "flow"))
        .count();
    assert!(
        r.stderr
            .contains(&format!("checked {n} files: 0 errors, 0 warnings")),
        "{}",
        r.stderr
    );
}
