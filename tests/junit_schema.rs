//! `flow test --format junit` against the JUnit schema (Jenkins' junit-4.xsd, which
//! `scripts/junit-schema.sh` fetches), checked by xmllint. Ignored in a plain
//! `cargo test`; `.ci/run` installs xmllint, sets FLOW_TEST_JUNIT_XSD and runs it,
//! and it fails without them.

mod common;
use common::*;

use std::io::Write;
use std::process::{Command, Stdio};

fn schema() -> String {
    std::env::var("FLOW_TEST_JUNIT_XSD")
        .expect("FLOW_TEST_JUNIT_XSD names the JUnit schema (scripts/junit-schema.sh)")
}

/// xmllint's verdict on `xml`: `Ok` when it is valid, else what xmllint said.
fn validate(xml: &str) -> Result<(), String> {
    let mut child = Command::new("xmllint")
        .args(["--noout", "--schema", &schema(), "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("xmllint runs (Debian's libxml2-utils)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(xml.as_bytes())
        .expect("xmllint reads");
    let out = child.wait_with_output().expect("xmllint ends");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
#[ignore = "needs xmllint and the JUnit schema; .ci/run provides them"]
fn passing_and_failing_reports_are_valid_junit() {
    // Every template's tests, passing.
    let r = flow_ok(&["test", "stdlib/templates", "--format", "junit"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("<testcase"), "{}", r.stdout);
    validate(&r.stdout).unwrap_or_else(|e| panic!("{e}\n{}", r.stdout));

    // A failing test, with characters to escape in its name and message.
    let d = tempfile::tempdir().unwrap();
    temp_file(
        d.path(),
        "vip.flow",
        "on payment_intent.succeeded when amount > 1000 USD {\n    update customer.metadata.Tier = \"VIP\"\n}\n\ntest \"<fails> & \\\"quotes\\\"\" {\n    given payment_intent.succeeded { amount: 200000, currency: \"usd\", customer: \"cus_1\" }\n    expect update customer.metadata.Tier == \"<Gold>\"\n}\n",
    );
    let r = ran(flow()
        .current_dir(d.path())
        .args(["test", "vip.flow", "--format", "junit"])
        .output()
        .unwrap());
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.contains("<failure"), "{}", r.stdout);
    validate(&r.stdout).unwrap_or_else(|e| panic!("{e}\n{}", r.stdout));

    // And the check can fail: a report with an element the schema does not allow.
    let broken = r.stdout.replace("<failure", "<failed");
    assert!(validate(&broken).is_err(), "xmllint accepted {broken}");
}
