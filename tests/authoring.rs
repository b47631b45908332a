//! Templates, `flow preview` and `flow test`, through the built binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn flow(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flow"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run flow")
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn last_line(s: &str) -> &str {
    s.lines().last().unwrap_or("")
}

#[test]
fn the_templates_and_examples_pass_their_tests() {
    let o = flow(&["test", "stdlib/templates", "examples"], &root());
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(!out.contains("FAILED"), "{out}");
    let summary = last_line(&out);
    let passed: usize = summary
        .strip_suffix(" passed, 0 failed")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("summary line: {summary:?}"));
    assert!(passed >= 30, "{out}");
    // Every template carries tests.
    for t in std::fs::read_dir(root().join("stdlib/templates")).unwrap() {
        let name = t.unwrap().file_name().to_string_lossy().to_string();
        if let Some(stem) = name.strip_suffix(".flow").filter(|s| !s.ends_with(".test")) {
            assert!(
                out.contains(&format!("templates/{stem}.test.flow: ")),
                "{stem} has no tests:\n{out}"
            );
        }
    }
}

#[test]
fn templates_are_listed_with_their_summary() {
    let o = flow(&["templates"], &root());
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0));
    for name in [
        "tag_valuable_customers",
        "take_action_on_fraud_warnings",
        "personalize_orders",
        "notify_on_disputes",
        "tag_first_time_customers",
        "alert_on_failed_invoice_payments",
    ] {
        assert!(
            out.lines().any(|l| l.starts_with(name)),
            "{name} missing:\n{out}"
        );
    }
    assert!(out.contains(
        "tag_valuable_customers            Tag valuable customers: thank big spenders, and mark the biggest as VIP."
    ), "{out}");
    assert_eq!(out.lines().count(), 6, "{out}");
}

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

#[test]
fn new_writes_a_template_and_its_tests_and_never_overwrites() {
    let dir = temp();
    let o = flow(
        &[
            "new",
            "--template",
            "notify_on_disputes",
            "flows/disputes.flow",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let written = std::fs::read_to_string(dir.path().join("flows/disputes.flow")).unwrap();
    let template =
        std::fs::read_to_string(root().join("stdlib/templates/notify_on_disputes.flow")).unwrap();
    assert_eq!(written, template);
    assert!(dir.path().join("flows/disputes.test.flow").is_file());

    std::fs::write(dir.path().join("flows/disputes.flow"), "// mine\n").unwrap();
    let o = flow(
        &[
            "new",
            "--template",
            "notify_on_disputes",
            "flows/disputes.flow",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("error[E0909]: flows/disputes.flow already exists"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("flows/disputes.flow")).unwrap(),
        "// mine\n"
    );
    let o = flow(
        &[
            "new",
            "--template",
            "notify_on_disputes",
            "flows/disputes.flow",
            "--force",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("flows/disputes.flow")).unwrap(),
        template
    );

    let o = flow(&["new", "--template", "notify_on_dispute"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("there is no template `notify_on_dispute`")
            && stderr(&o).contains("did you mean `notify_on_disputes`?"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn preview_shows_the_email_as_read() {
    let o = flow(
        &[
            "preview",
            "stdlib/templates/notify_on_disputes.flow",
            "--event",
            "examples/events/dispute_created_jpy.json",
        ],
        &root(),
    );
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(out.contains("To:      disputes@example.com\n"), "{out}");
    assert!(
        out.contains("Subject: New dispute: 3000 JPY (fraudulent)\n"),
        "{out}"
    );
    assert!(
        out.contains(
            "A customer disputed a payment of 3000 JPY, giving the reason \"fraudulent\"."
        ),
        "{out}"
    );
    assert!(
        out.contains("| Amount          | 3000 JPY             |"),
        "{out}"
    );
    assert!(
        out.contains("| Evidence due by | 2025-12-13T00:00:00Z |"),
        "{out}"
    );

    // No subject: the reader sees the workflow's name.
    let o = flow(
        &[
            "preview",
            "stdlib/templates/tag_valuable_customers.flow",
            "--event",
            "examples/events/payment_2500_usd.json",
            "--format",
            "json",
        ],
        &root(),
    );
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let email = &json["emails"][0];
    assert_eq!(email["subject"], "Tag valuable customers");
    assert_eq!(email["default_subject"], true);
    assert_eq!(email["fields"][1]["label"], "Amount");
    assert_eq!(email["fields"][1]["value"], "2500.00 USD");
    assert_eq!(json["runs"][0]["status"], "succeeded");
    assert_eq!(json["emails"].as_array().map(Vec::len), Some(1));

    // The attempt count, in the subject and the table.
    let o = flow(
        &[
            "preview",
            "stdlib/templates/alert_on_failed_invoice_payments.flow",
            "--event",
            "examples/events/invoice_payment_failed_attempt_1.json",
        ],
        &root(),
    );
    let out = stdout(&o);
    assert!(
        out.contains("Subject: Invoice A1B2C3D4-0007 payment failed (attempt 1)"),
        "{out}"
    );
    assert!(out.contains("| Attempts     | 1 "), "{out}");
}

/// The new user's path: a template, a new threshold, and a test that says what changed.
#[test]
fn a_changed_threshold_fails_a_test_at_its_expect_line() {
    let dir = temp();
    let o = flow(
        &["new", "--template", "tag_valuable_customers", "my.flow"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0));
    let o = flow(&["test"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert_eq!(last_line(&stdout(&o)), "6 passed, 0 failed");

    let path = dir.path().join("my.flow");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("amount > 1000 USD", "amount > 2000 USD"),
    )
    .unwrap();
    let o = flow(&["test", "my.test.flow"], dir.path());
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert_eq!(last_line(&out), "4 passed, 2 failed");
    assert!(
        out.contains(
            "test my.test.flow: a 1,500 USD payment is thanked, but not tagged ... FAILED"
        ),
        "{out}"
    );
    // The failure points at the `expect` in the test file, with the diff.
    let tests = std::fs::read_to_string(dir.path().join("my.test.flow")).unwrap();
    let line = tests
        .lines()
        .position(|l| l.contains("expect actions ["))
        .unwrap()
        + 1;
    assert!(out.contains(&format!("╭─[my.test.flow:{line}:5]")), "{out}");
    assert!(
        out.contains(
            "  - email to: \"fulfillment@example.com\", subject: \"Tag valuable customers\"\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("`when amount > 2000 USD` (my.flow:4:6) is false for this event"),
        "{out}"
    );
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

const VIP: &str = r#"workflow "VIP"
on payment_intent.succeeded
when amount > 1000 USD {
    email to: "team@example.com", subject: "Big order", body: "{amount} from {customer}"
    update customer.metadata.Tier = "VIP"
}
"#;

#[test]
fn a_wrong_expectation_shows_expected_and_actual_actions() {
    let dir = temp();
    write(dir.path(), "vip.flow", VIP);
    write(
        dir.path(),
        "vip.test.flow",
        r#"test "right" {
    given payment_intent.succeeded { amount: 1500.00 USD, customer: "cus_1" }
    expect email body: "1500.00 USD from cus_1"
}

test "wrong tier" {
    given payment_intent.succeeded { amount: 1500.00 USD, customer: "cus_1" }
    expect email to: "team@example.com"
    expect update customer.metadata.Tier == "Gold"
}
"#,
    );
    let o = flow(&["test", "."], dir.path());
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("test vip.test.flow: right ... ok"), "{out}");
    assert!(
        out.contains("test vip.test.flow: wrong tier ... FAILED"),
        "{out}"
    );
    assert!(
        out.contains("error[E0805]: expected an update, but no update the run made matches"),
        "{out}"
    );
    assert!(out.contains("╭─[vip.test.flow:9:5]"), "{out}");
    assert!(
        out.contains("  - update customer cus_1 metadata.Tier = \"Gold\"\n"),
        "{out}"
    );
    assert!(
        out.contains("  + update customer cus_1 metadata.Tier = \"VIP\"\n"),
        "{out}"
    );
    assert!(
        out.contains("`metadata.Tier`: expected \"Gold\", found \"VIP\""),
        "{out}"
    );
    assert_eq!(last_line(&out), "1 passed, 1 failed");
}

#[test]
fn a_field_the_test_does_not_set_is_named_never_defaulted() {
    let dir = temp();
    write(
        dir.path(),
        "vip.flow",
        &format!(
            "{VIP}\ntest \"forgot the customer\" {{\n    given payment_intent.succeeded {{ amount: 1500.00 USD }}\n    expect failed\n}}\n"
        ),
    );
    let o = flow(&["test", "vip.flow"], dir.path());
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains(
            "error[E0804]: the workflow reads `customer`, which the given event does not set"
        ),
        "{out}"
    );
    assert!(out.contains("add `customer: …` to this object"), "{out}");
    assert!(out.contains("read at vip.flow:4:"), "{out}");
    // An explicit null is a value: the same test with `customer: null` passes.
    write(
        dir.path(),
        "vip.flow",
        &format!(
            "{VIP}\ntest \"a guest\" {{\n    given payment_intent.succeeded {{ amount: 1500.00 USD, customer: null }}\n    expect failed \"`customer` is null\"\n}}\n"
        ),
    );
    let o = flow(&["test", "vip.flow"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert_eq!(last_line(&stdout(&o)), "1 passed, 0 failed");
}

#[test]
fn tests_are_type_checked_like_workflows() {
    let dir = temp();
    write(dir.path(), "vip.flow", VIP);
    write(
        dir.path(),
        "vip.test.flow",
        "test \"typo\" {\n    given payment_intent.succeeded { amout: 1500 }\n    expect emial to: \"team@example.com\"\n}\n",
    );
    let o = flow(&["check", "vip.test.flow"], dir.path());
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err.contains("error[E0102]: payment_intent has no field `amout`"),
        "{err}"
    );
    assert!(err.contains("did you mean `amount`?"), "{err}");
    // The test cannot run: `flow test` shows why and counts it as failed.
    let o = flow(&["test", "vip.test.flow"], dir.path());
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        out.contains("the tests cannot run: fix these errors first"),
        "{out}"
    );
    assert_eq!(last_line(&out), "0 passed, 1 failed");
}

#[test]
fn a_test_file_needs_the_flow_it_tests() {
    let dir = temp();
    write(
        dir.path(),
        "lonely.test.flow",
        "test \"x\" {\n    given payment_intent.succeeded { amount: 1 }\n    expect skipped\n}\n",
    );
    let o = flow(&["test", "."], dir.path());
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        out.contains("lonely.test.flow tests lonely.flow, which does not exist"),
        "{out}"
    );
    assert_eq!(last_line(&out), "0 passed, 1 failed");
}

/// `expect slack`, `expect http` and the custom actions of the file under test: a
/// Slack text or a body that differs fails the test and shows what the run sent.
#[test]
fn slack_http_and_custom_actions_are_expected_by_name() {
    let dir = temp();
    std::fs::write(
        dir.path().join("alerts.flow"),
        r##"action crm_note url: "https://crm.example.com/notes" { charge: ref(charge), text: string }

on charge.dispute.created {
    slack channel: "#disputes", text: "New {reason} dispute for {amount}"
    http method: "POST", url: "https://orders.example.com/hooks", json: { "dispute": id, "amount": amount }
    crm_note charge: charge, text: "Dispute {id}"
}
"##,
    )
    .unwrap();
    let given = r#"given charge.dispute.created { "id": "dp_1", "amount": 2000, "currency": "usd", "charge": "ch_1", "reason": "fraudulent" }"#;
    std::fs::write(
        dir.path().join("alerts.test.flow"),
        format!(
            r##"test "right" {{
    {given}
    expect slack channel: "#disputes", text: "New fraudulent dispute for 20.00 USD"
    expect http json: {{ "dispute": "dp_1", "amount": 20.00 USD }}
    expect crm_note charge: "ch_1", text: "Dispute dp_1"
}}

test "wrong text" {{
    {given}
    expect slack text: "New dispute"
}}

test "wrong amount" {{
    {given}
    expect http json: {{ "dispute": "dp_1", "amount": 21.00 USD }}
}}

test "no slack" {{
    {given}
    expect no slack
}}
"##
        ),
    )
    .unwrap();
    let o = flow(&["test", "alerts.test.flow"], dir.path());
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert_eq!(last_line(&out), "1 passed, 3 failed", "{out}");
    assert!(out.contains("right ... ok"), "{out}");
    assert!(
        out.contains(
            "`text`: expected \"New dispute\", found \"New fraudulent dispute for 20.00 USD\""
        ),
        "{out}"
    );
    assert!(
        out.contains("`json`: expected {\"dispute\":\"dp_1\",\"amount\":2100}, found {\"dispute\":\"dp_1\",\"amount\":2000}"),
        "{out}"
    );
    assert!(
        out.contains("expected no slack, but the run made 1 slack"),
        "{out}"
    );
}
