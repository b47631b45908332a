//! `flow run FILE --events EVENTS.jsonl --skipped omit|include`, through the built
//! binary, on a file of many workflows of one event type.

use std::process::Command;

const FLOW: &str = env!("CARGO_BIN_EXE_flow");

fn event(id: &str, amount: i64, currency: &str) -> String {
    serde_json::json!({
        "id": id, "object": "event", "type": "payment_intent.succeeded",
        "data": {"object": {"id": "pi_1", "object": "payment_intent", "amount": amount,
            "currency": currency, "customer": "cus_1", "status": "succeeded",
            "metadata": {"order_id": "1"}}}
    })
    .to_string()
}

/// Workflow `i` runs when the amount is above `i` dollars (in USD); one more, on
/// another event type, never runs here.
fn flows(n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        s.push_str(&format!(
            "workflow \"Above {i}\"\non payment_intent.succeeded\nwhen amount > {i} USD and currency == USD {{\n    email to: \"ops@example.com\", body: \"Above {i}.\"\n}}\n\n"
        ));
    }
    s.push_str("workflow \"Refunds\"\non charge.refunded {\n    email to: \"ops@example.com\", body: \"Refunded.\"\n}\n");
    s
}

fn run(dir: &std::path::Path, extra: &[&str]) -> (i32, Vec<serde_json::Value>, String) {
    let mut args = vec![
        "run".to_string(),
        dir.join("many.flow").display().to_string(),
        "--events".to_string(),
        dir.join("events.jsonl").display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let out = Command::new(FLOW).args(&args).output().expect("flow runs");
    let stdout = String::from_utf8(out.stdout).expect("UTF-8 reports");
    let lines = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    (
        out.status.code().unwrap_or(-1),
        lines,
        String::from_utf8(out.stderr).expect("UTF-8 summary"),
    )
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("many.flow"), flows(20)).unwrap();
    // $5.50: workflows 0..=5 run; €50: none (another currency); $0.50: workflow 0.
    let events = [
        event("evt_1", 550, "usd"),
        "{\"broken\": ".to_string(),
        event("evt_2", 5_000, "eur"),
        event("evt_3", 50, "usd"),
    ];
    std::fs::write(dir.path().join("events.jsonl"), events.join("\n") + "\n").unwrap();
    dir
}

#[test]
fn omit_writes_no_skipped_report_and_still_counts_them() {
    let dir = setup();
    let (code, lines, stderr) = run(dir.path(), &["--skipped", "omit", "--jobs", "1"]);
    assert_eq!(code, 1, "a bad line: exit 1; {stderr}");
    let names: Vec<&str> = lines
        .iter()
        .filter_map(|l| l["workflow"].as_str())
        .collect();
    assert_eq!(
        names,
        ["Above 0", "Above 1", "Above 2", "Above 3", "Above 4", "Above 5", "Above 0"]
    );
    assert!(lines.iter().all(|l| l["status"] != "skipped"));
    // The bad line's error record is still written.
    assert_eq!(lines.iter().filter(|l| l["line"] == 2).count(), 1);
    assert!(
        stderr.contains("3 events: 60 runs (7 succeeded, 53 skipped, 0 failed), 1 bad line"),
        "{stderr}"
    );
}

#[test]
fn include_is_the_default_and_writes_every_run() {
    let dir = setup();
    let (_, default, stderr) = run(dir.path(), &["--jobs", "2"]);
    let (_, include, _) = run(dir.path(), &["--skipped", "include", "--jobs", "2"]);
    assert_eq!(default, include);
    assert_eq!(default.len(), 61, "60 reports and one error record");
    assert_eq!(
        default.iter().filter(|l| l["status"] == "skipped").count(),
        53
    );
    assert!(
        stderr.contains("60 runs (7 succeeded, 53 skipped, 0 failed)"),
        "{stderr}"
    );
    // Omitting leaves the other lines as they were, in the same order.
    let (_, omit, _) = run(dir.path(), &["--skipped", "omit", "--jobs", "2"]);
    let kept: Vec<_> = default
        .into_iter()
        .filter(|l| l["status"] != "skipped")
        .collect();
    assert_eq!(omit, kept);
}

#[test]
fn skipped_is_refused_with_a_single_event() {
    let dir = setup();
    let out = Command::new(FLOW)
        .args(["run", "many.flow", "--event", "e.json", "--skipped", "omit"])
        .current_dir(dir.path())
        .output()
        .expect("flow runs");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn help_names_the_choices() {
    let out = Command::new(FLOW)
        .args(["run", "--help"])
        .output()
        .expect("flow runs");
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("--skipped <WHICH>"), "{help}");
    assert!(help.contains("omit"), "{help}");
}
