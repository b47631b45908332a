//! `now` from the command line: `--now TIME` on `run`, `preview`, `test` and `repl`,
//! and in `flow test` the event's `created` by default, so that a test gives the same
//! result on any day.

mod common;
use common::*;

const FLOW: &str = r#"workflow "Stale disputes"
on charge.dispute.created
when now - created > 30 days {
    email to: "disputes@example.com", subject: "Stale since {created}", body: "Checked at {now}; due {evidence_details.due_by}"
}
"#;

fn dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    temp_file(d.path(), "stale.flow", FLOW);
    d
}

fn run_at(args: &[&str]) -> Ran {
    let d = dir();
    let event = root().join("examples/events/dispute_created_usd.json");
    let mut all = vec!["run", "stale.flow", "--event"];
    let event = event.to_string_lossy().to_string();
    all.push(&event);
    all.extend_from_slice(args);
    ran(flow().current_dir(d.path()).args(&all).output().unwrap())
}

#[test]
fn run_takes_now_from_the_command_line() {
    // The example dispute was created on 2025-11-26.
    let late = run_at(&["--now", "2026-01-15T12:00:00Z", "--format", "json"]);
    assert_eq!(late.code, 0, "{}", late.stderr);
    let report: serde_json::Value = serde_json::from_str(late.stdout.trim()).unwrap();
    assert_eq!(report["status"], "succeeded", "{report}");
    let body = report["actions"][0]["body"].as_str().unwrap();
    assert!(
        body.starts_with("Checked at 2026-01-15T12:00:00Z;"),
        "{body}"
    );

    let early = run_at(&["--now", "2025-12-01", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(early.stdout.trim()).unwrap();
    assert_eq!(report["status"], "skipped", "{report}");

    let bad = run_at(&["--now", "yesterday"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("is not a time"), "{}", bad.stderr);
}

#[test]
fn a_test_runs_at_its_events_time_unless_told_otherwise() {
    let d = dir();
    temp_file(
        d.path(),
        "stale.test.flow",
        r#"test "a fresh dispute is not stale" {
    given charge.dispute.created { "id": "dp_1", "created": 1764153720, "evidence_details": { "due_by": 1765036700 } }
    expect skipped
}
"#,
    );
    let today = ran(flow()
        .current_dir(d.path())
        .args(["test"])
        .output()
        .unwrap());
    assert_eq!(today.code, 0, "{}{}", today.stdout, today.stderr);
    assert!(
        today.stdout.contains("1 passed, 0 failed"),
        "{}",
        today.stdout
    );
    let later = ran(flow()
        .current_dir(d.path())
        .args(["test", "--now", "2026-06-01"])
        .output()
        .unwrap());
    assert_eq!(later.code, 1, "{}{}", later.stdout, later.stderr);
    assert!(
        later.stdout.contains("0 passed, 1 failed"),
        "{}",
        later.stdout
    );
}

#[test]
fn preview_and_the_repl_take_now_too() {
    let d = dir();
    let event = root().join("examples/events/dispute_created_usd.json");
    let out = ran(flow()
        .current_dir(d.path())
        .args(["preview", "stale.flow", "--event"])
        .arg(&event)
        .args(["--now", "2026-01-15"])
        .output()
        .unwrap());
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("Checked at 2026-01-15T00:00:00Z;"),
        "{}",
        out.stdout
    );

    use std::io::Write;
    let mut child = flow()
        .args(["repl", "--now", "2024-01-01T09:00:00+01:00"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"now\nnow + 90 minutes\n")
        .unwrap();
    let out = ran(child.wait_with_output().unwrap());
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "2024-01-01T08:00:00Z (1704096000) : timestamp",
            "2024-01-01T09:30:00Z (1704101400) : timestamp"
        ],
        "{}",
        out.stderr
    );
}
