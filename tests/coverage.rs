//! `flow test --coverage [--threshold N]`: the outcomes of `when` and `if`
//! conditions the tests took, per workflow.

mod common;
use common::*;

use serde_json::Value as Json;

const FLOW: &str = r#"workflow "Tiers"
on payment_intent.succeeded
when amount > 1000 USD {
    if amount > 5000 USD {
        update customer.metadata.Tier = "Gold"
    } else if amount > 2000 USD {
        update customer.metadata.Tier = "Silver"
    }
}

workflow "Untested"
on charge.refunded
when amount > 10 USD {
    email to: "ops@example.com", body: "refund"
}
"#;

const TESTS: &str = r#"
test "gold" {
    given payment_intent.succeeded { amount: 600000, currency: "usd", customer: "cus_1" }
    expect update customer.metadata.Tier == "Gold"
}

test "small" {
    given payment_intent.succeeded { amount: 500, currency: "usd", customer: "cus_1" }
    expect skipped
}
"#;

fn dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    temp_file(d.path(), "tiers.flow", FLOW);
    temp_file(d.path(), "tiers.test.flow", TESTS);
    d
}

fn in_dir(d: &tempfile::TempDir, args: &[&str]) -> Ran {
    ran(flow().current_dir(d.path()).args(args).output().unwrap())
}

#[test]
fn each_outcome_the_tests_took_is_counted() {
    let d = dir();
    let r = in_dir(&d, &["test", ".", "--coverage", "--format", "json"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let last: Json = serde_json::from_str(r.stdout.lines().last().unwrap()).unwrap();
    let c = &last["coverage"];
    // Tiers: `when` true and false; `if` true only; `else if` never evaluated.
    // Untested: its `when` never evaluated.
    assert_eq!(c["covered"], 3, "{c:#}");
    assert_eq!(c["total"], 8, "{c:#}");
    assert_eq!(c["percent"], "37.5");
    let tiers = c["workflows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["workflow"] == "Tiers")
        .unwrap();
    let outcomes: Vec<(String, bool, bool)> = tiers["branches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                format!(
                    "{} {}",
                    b["kind"].as_str().unwrap(),
                    b["condition"].as_str().unwrap()
                ),
                b["true"].as_bool().unwrap(),
                b["false"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("when amount > 1000 USD".to_string(), true, true),
            ("if amount > 5000 USD".to_string(), true, false),
            ("else if amount > 2000 USD".to_string(), false, false),
        ]
    );
    let untested = c["workflows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["workflow"] == "Untested")
        .expect("a workflow no test runs is listed");
    assert_eq!(untested["covered"], 0);
    assert_eq!(untested["total"], 2);
}

#[test]
fn the_text_report_and_the_threshold() {
    let d = dir();
    let r = in_dir(&d, &["test", ".", "--coverage", "--threshold", "30"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("\"Tiers\": 3 of 6 outcomes (50.0%)"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("true yes  false NO   if amount > 5000 USD"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("total: 3 of 8 outcomes (37.5%)"),
        "{}",
        r.stdout
    );
    let r = in_dir(&d, &["test", ".", "--coverage", "--threshold", "40"]);
    assert_eq!(r.code, 1, "below the threshold: {}", r.stdout);
    assert!(
        r.stderr
            .contains("coverage 37.5% (3 of 8 outcomes) is below the threshold of 40%"),
        "{}",
        r.stderr
    );
    // Without --coverage there is no report, and --threshold needs --coverage.
    let r = in_dir(&d, &["test", "."]);
    assert!(!r.stdout.contains("coverage"), "{}", r.stdout);
    let r = in_dir(&d, &["test", ".", "--threshold", "40"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

#[test]
fn the_templates_tests_take_every_outcome() {
    let r = flow_ok(&[
        "test",
        "stdlib/templates",
        "--coverage",
        "--threshold",
        "100",
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("total: 14 of 14 outcomes (100.0%)"),
        "{}",
        r.stdout
    );
}
