//! `flow run` end to end: the templates on events above, at and below each threshold,
//! in several currencies, with a guest payment and a missing charge.

mod common;
use common::*;
use serde_json::json;

const TAG: &str = "stdlib/templates/tag_valuable_customers.flow";
const FRAUD: &str = "stdlib/templates/take_action_on_fraud_warnings.flow";
const COMPACT: &str = "examples/compact.flow";

fn ev(name: &str) -> String {
    format!("examples/events/{name}.json")
}

fn thank_you(amount: &str) -> serde_json::Value {
    json!({
        "action": "email",
        "to": ["fulfillment@example.com"],
        "subject": null,
        "body": "Please add a handwritten thank-you note before shipping.",
        "append": [["Customer ID", "cus_RvA9bC8dE7fG6h"], ["Amount", amount]],
    })
}

fn vip() -> serde_json::Value {
    json!({"action": "update", "object": "customer", "id": "cus_RvA9bC8dE7fG6h", "account": null,
           "params": {"metadata": {"Tier": "VIP"}}})
}

#[test]
fn above_both_thresholds_emails_and_tags_vip() {
    let r = one_report(TAG, &ev("payment_2500_usd"));
    assert_eq!(
        r,
        json!({
            "workflow": "Tag valuable customers",
            "event": "evt_payment2500usd000000",
            "event_type": "payment_intent.succeeded",
            "trigger": "event",
            "status": "succeeded",
            "code": null,
            "error": null,
            "actions": [thank_you("2500.00 USD"), vip()],
        })
    );
}

#[test]
fn between_thresholds_emails_only() {
    let r = one_report(TAG, &ev("payment_1500_usd"));
    assert_eq!(r["status"], "succeeded");
    assert_eq!(r["actions"], json!([thank_you("1500.00 USD")]));
}

#[test]
fn exactly_1000_usd_is_not_above_1000_usd() {
    let r = one_report(TAG, &ev("payment_1000_usd"));
    assert_eq!(r["status"], "skipped");
    assert_eq!(r["actions"], json!([]));
    // One cent more is.
    let r = one_report(TAG, &ev("payment_1000_01_usd"));
    assert_eq!(r["status"], "succeeded");
    assert_eq!(r["actions"], json!([thank_you("1000.01 USD")]));
}

#[test]
fn below_threshold_is_skipped() {
    let r = one_report(TAG, &ev("payment_500_usd"));
    assert_eq!(r["status"], "skipped");
}

#[test]
fn other_currencies_never_compare_with_usd() {
    // 2,500 EUR is more than 1,000 USD at any rate, but money is never converted.
    for e in ["payment_2500_eur", "payment_300000_jpy", "payment_1235_kwd"] {
        let r = one_report(TAG, &ev(e));
        assert_eq!(r["status"], "skipped", "{e}");
        assert_eq!(r["actions"], json!([]), "{e}");
    }
}

#[test]
fn guest_payment_fails_at_the_update_and_keeps_the_email() {
    let r = one_report(TAG, &ev("payment_2500_usd_guest"));
    assert_eq!(r["status"], "failed");
    assert_eq!(
        r["code"], "R0101",
        "a failed run's report carries its R-code"
    );
    let err = r["error"].as_str().unwrap();
    assert!(
        err.starts_with("stdlib/templates/tag_valuable_customers.flow:9:16: "),
        "error names the file, line and column: {err}"
    );
    assert!(
        err.contains("`customer` is null"),
        "error names the field: {err}"
    );
    let actions = r["actions"].as_array().unwrap();
    assert_eq!(
        actions.len(),
        1,
        "the email sent before the failure stays in the report"
    );
    assert_eq!(actions[0]["append"][0], json!(["Customer ID", ""]));
}

#[test]
fn fraud_warning_on_small_charge_refunds_it() {
    let r = one_report(FRAUD, &ev("fraud_warning_small_charge"));
    assert_eq!(
        r["actions"],
        json!([
            {"action": "retrieve", "object": "charge", "id": "ch_3QwSmallChargeA1", "account": null},
            {"action": "refund", "account": null, "params": {"charge": "ch_3QwSmallChargeA1", "amount": 1200, "reason": "fraudulent"}},
        ])
    );
    assert_eq!(r["status"], "succeeded");
}

#[test]
fn fraud_warning_on_large_charge_emails_risk() {
    let r = one_report(FRAUD, &ev("fraud_warning_large_charge"));
    assert_eq!(r["status"], "succeeded");
    assert_eq!(
        r["actions"][1],
        json!({
            "action": "email",
            "to": ["risk@example.com"],
            "subject": null,
            "body": "Early fraud warning on ch_3QwLargeChargeB2: please investigate.",
            "append": [["Charge ID", "ch_3QwLargeChargeB2"], ["Amount", "480.00 USD"]],
        })
    );
}

#[test]
fn missing_charge_fails_with_its_id() {
    let r = one_report(FRAUD, &ev("fraud_warning_missing_charge"));
    assert_eq!(
        r["code"], "R0201",
        "the bindings' refusal is an action failure"
    );
    assert_eq!(r["status"], "failed");
    assert_eq!(r["actions"], json!([]));
    let err = r["error"].as_str().unwrap();
    assert!(err.contains("ch_3QwUnknownC3"), "{err}");
    assert!(
        err.contains(":5:14: "),
        "points at `retrieve charge`: {err}"
    );
}

#[test]
fn compact_form_runs_like_the_block_form() {
    let r = one_report(COMPACT, &ev("payment_2500_usd"));
    assert_eq!(
        r["workflow"], "compact",
        "unnamed workflows take the file's stem"
    );
    assert_eq!(r["status"], "succeeded");
    assert_eq!(r["actions"][0]["to"], json!(["team@example.com"]));
    assert_eq!(r["actions"][0]["body"], "Add a note");
    assert_eq!(r["actions"][1], vip());
    let r = one_report(COMPACT, &ev("payment_1500_usd"));
    assert_eq!(r["actions"].as_array().unwrap().len(), 1);
    let r = one_report(COMPACT, &ev("payment_1000_usd"));
    assert_eq!(r["status"], "skipped");
}

#[test]
fn zero_and_three_decimal_currencies() {
    let dir = tempfile::tempdir().unwrap();
    let f = temp_file(
        dir.path(),
        "currencies.flow",
        r#"
workflow "Yen" on payment_intent.succeeded when amount > 1000 JPY {
    email to: "jp@example.com", body: "Big yen order: {amount}"
}
workflow "Dinar" on payment_intent.succeeded when amount >= 1.235 KWD {
    email to: "kw@example.com", body: "Dinar order: {amount}"
}
"#,
    );
    let f = f.to_str().unwrap();
    let r = reports(f, &ev("payment_1001_jpy"));
    assert_eq!(r[0]["status"], "succeeded");
    assert_eq!(r[0]["actions"][0]["body"], "Big yen order: 1001 JPY");
    assert_eq!(r[1]["status"], "skipped");
    let r = reports(f, &ev("payment_300000_jpy"));
    assert_eq!(r[0]["actions"][0]["body"], "Big yen order: 300000 JPY");
    let r = reports(f, &ev("payment_1235_kwd"));
    assert_eq!(r[0]["status"], "skipped");
    assert_eq!(r[1]["status"], "succeeded");
    assert_eq!(r[1]["actions"][0]["body"], "Dinar order: 1.235 KWD");
}

#[test]
fn settings_come_from_flow_toml_beside_the_flow() {
    let dir = tempfile::tempdir().unwrap();
    temp_file(
        dir.path(),
        "flow.toml",
        "[business]\ndefault_currency = \"EUR\"\ndispute_fee = \"20.00 EUR\"\n",
    );
    let f = temp_file(
        dir.path(),
        "eur.flow",
        r#"on payment_intent.succeeded when amount > 1000 {
    email to: "eu@example.com", body: "fee {dispute_fee}"
}"#,
    );
    let f = f.to_str().unwrap();
    // A bare number compared with money is in the default currency: EUR here.
    let r = one_report(f, &ev("payment_2500_eur"));
    assert_eq!(r["status"], "succeeded");
    assert_eq!(r["actions"][0]["body"], "fee 20.00 EUR");
    let r = one_report(f, &ev("payment_2500_usd"));
    assert_eq!(r["status"], "skipped");
}

#[test]
fn bare_object_with_type() {
    let dir = tempfile::tempdir().unwrap();
    let event: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join(ev("payment_2500_usd"))).unwrap(),
    )
    .unwrap();
    let obj = temp_file(dir.path(), "pi.json", &event["data"]["object"].to_string());
    let obj = obj.to_str().unwrap();
    let r = flow_ok(&["run", TAG, "--event", obj, "--format", "json"]);
    assert_eq!(r.code, 2, "a bare object needs --type");
    assert!(r.stderr.contains("--type"), "{}", r.stderr);
    let r = flow_ok(&[
        "run",
        TAG,
        "--event",
        obj,
        "--type",
        "payment_intent.succeeded",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rep: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(rep["event"], serde_json::Value::Null);
    assert_eq!(rep["actions"][1], vip());
}

#[test]
fn only_workflows_triggered_by_the_event_type_run() {
    let r = reports(FRAUD, &ev("payment_2500_usd"));
    assert!(r.is_empty());
}

#[test]
fn text_report_for_people() {
    let r = flow_ok(&["run", TAG, "--event", &ev("payment_2500_usd")]);
    assert_eq!(r.code, 0);
    assert!(
        r.stdout
            .starts_with("succeeded · Tag valuable customers on payment_intent.succeeded"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("  email to fulfillment@example.com\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("    Amount       2500.00 USD\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("update customer cus_RvA9bC8dE7fG6h {\"metadata\":{\"Tier\":\"VIP\"}}"),
        "{}",
        r.stdout
    );
    // A failed run exits 1.
    let r = flow_ok(&["run", TAG, "--event", &ev("payment_2500_usd_guest")]);
    assert_eq!(r.code, 1);
}

#[test]
fn bad_event_json_is_a_diagnostic_pointing_into_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let bad = temp_file(
        dir.path(),
        "bad.json",
        "{\n  \"id\": \"evt_1\",\n  \"type\" \"x\"\n}\n",
    );
    let r = flow_ok(&["run", TAG, "--event", bad.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("error[E0904]"), "{}", r.stderr);
    assert!(r.stderr.contains("bad.json:3:"), "{}", r.stderr);
}

#[test]
fn templates_and_examples_check_clean() {
    let r = flow_ok(&[
        "check",
        "stdlib/templates/tag_valuable_customers.flow",
        "stdlib/templates/take_action_on_fraud_warnings.flow",
        "stdlib/templates/personalize_orders.flow",
        "examples/compact.flow",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("checked 4 files: 0 errors, 0 warnings"),
        "{}",
        r.stderr
    );
}

#[test]
fn compile_emits_a_readable_disassembly() {
    let r = flow_ok(&["compile", FRAUD, "--emit", "bytecode"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = r.stdout;
    assert!(out.contains(
        "workflow \"Take action based on fraud warnings\" on radar.early_fraud_warning.created"
    ));
    assert!(
        out.contains("15.00 USD (1500 minor)"),
        "dispute_fee is a constant: {out}"
    );
    assert!(out.contains("retrieve   charge"), "{out}");
    assert!(out.contains("refund     charge, amount, reason"), "{out}");
    assert!(
        out.contains("data.object / charge  as ref, required"),
        "{out}"
    );
}

/// A run stops at `[run] max_actions` (R0304) and keeps what it did.
#[test]
fn a_run_stops_at_its_limit_of_actions() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    temp_file(dir.path(), "flow.toml", "[run]\nmax_actions = 3\n");
    let flow_file = temp_file(
        dir.path(),
        "sweep.flow",
        "on invoice.overdue {\n    for n in [1, 2, 3, 4, 5] {\n        email to: \"ar@example.com\", body: \"{n}\"\n    }\n}\n",
    );
    let event = temp_file(
        dir.path(),
        "event.json",
        r#"{"id": "evt_1", "object": "event", "type": "invoice.overdue", "created": 1, "data": {"object": {"id": "in_1"}}}"#,
    );
    let r = flow_ok(&[
        "run",
        flow_file.to_str().expect("a path"),
        "--event",
        event.to_str().expect("a path"),
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let report: serde_json::Value = serde_json::from_str(r.stdout.trim()).expect("one report");
    assert_eq!(report["code"], "R0304", "{report:#}");
    assert!(
        report["error"]
            .as_str()
            .is_some_and(|e| e.contains("carried out 3 actions, its limit")),
        "{report:#}"
    );
    let bodies: Vec<&str> = report["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .filter_map(|a| a["body"].as_str())
        .collect();
    assert_eq!(bodies, ["1", "2", "3"]);
    let bad = temp_file(dir.path(), "flow.toml", "[run]\nmax_actions = 0\n");
    let _ = bad;
    let refused = flow_ok(&["check", flow_file.to_str().expect("a path")]);
    assert_ne!(
        refused.code, 0,
        "max_actions = 0 is refused: {}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("max_actions must be at least 1"),
        "{}",
        refused.stderr
    );
}
