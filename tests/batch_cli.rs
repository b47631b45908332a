//! `flow run FILE --events EVENTS.jsonl`, through the built binary.

use std::io::Write;
use std::process::{Command, Stdio};

const FLOW: &str = env!("CARGO_BIN_EXE_flow");
const TEMPLATE: &str = "stdlib/templates/tag_valuable_customers.flow";

fn event(id: &str, amount: i64, currency: &str) -> String {
    serde_json::json!({
        "id": id, "object": "event", "type": "payment_intent.succeeded",
        "data": {"object": {"id": "pi_1", "object": "payment_intent", "amount": amount,
            "currency": currency, "customer": "cus_1", "status": "succeeded",
            "metadata": {"order_id": "1"}}}
    })
    .to_string()
}

fn stream() -> String {
    [
        event("evt_1", 250_000, "usd"),
        "{\"broken\": ".to_string(),
        event("evt_2", 500, "usd"),
        String::new(),
        r#"{"id": "pi_1", "object": "payment_intent"}"#.to_string(),
        event("evt_3", 250_000, "eur"),
    ]
    .join("\n")
        + "\n"
}

fn run(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(FLOW)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("flow runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn one_json_line_per_triggered_workflow_and_bad_lines_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    std::fs::write(&path, stream()).unwrap();
    for jobs in ["1", "2"] {
        let (code, out, err) = run(
            &[
                "run",
                TEMPLATE,
                "--events",
                path.to_str().unwrap(),
                "--jobs",
                jobs,
            ],
            "",
        );
        let lines: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).expect("each line is JSON"))
            .collect();
        assert_eq!(lines.len(), 5, "{out}");
        assert_eq!(lines[0]["event"], "evt_1");
        assert_eq!(lines[0]["status"], "succeeded");
        assert_eq!(lines[0]["actions"][1]["params"]["metadata"]["Tier"], "VIP");
        assert_eq!(lines[1]["line"], 2);
        assert!(lines[1]["error"]
            .as_str()
            .unwrap()
            .starts_with("not valid JSON"));
        assert_eq!(lines[2]["event"], "evt_2");
        assert_eq!(lines[2]["status"], "skipped");
        assert_eq!(lines[3]["line"], 5);
        assert!(lines[3]["error"].as_str().unwrap().contains("not an event"));
        // 2500.00 EUR is not more than 1000 USD: money is never converted.
        assert_eq!(lines[4]["event"], "evt_3");
        assert_eq!(lines[4]["status"], "skipped");
        assert_eq!(code, 1, "a bad line makes the exit code 1");
        assert!(
            err.contains("3 events: 3 runs (1 succeeded, 2 skipped, 0 failed), 2 bad lines"),
            "{err}"
        );
    }
}

#[test]
fn reads_standard_input_and_prints_text_on_request() {
    let input = format!("{}\n", event("evt_9", 150_000, "usd"));
    let (code, out, _) = run(&["run", TEMPLATE, "--events", "-"], &input);
    assert_eq!(code, 0);
    let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(report["status"], "succeeded");
    assert_eq!(report["actions"][0]["append"][1][1], "1500.00 USD");

    let (code, out, _) = run(
        &["run", TEMPLATE, "--events", "-", "--format", "text"],
        &input,
    );
    assert_eq!(code, 0);
    assert!(
        out.starts_with("succeeded · Tag valuable customers on payment_intent.succeeded (evt_9)"),
        "{out}"
    );
}

#[test]
fn bare_objects_with_a_type() {
    let input = "{\"id\": \"pi_7\", \"object\": \"payment_intent\", \"amount\": 300000, \"currency\": \"usd\", \"customer\": \"cus_7\"}\n";
    let (code, out, _) = run(
        &[
            "run",
            TEMPLATE,
            "--events",
            "-",
            "--type",
            "payment_intent.succeeded",
        ],
        input,
    );
    assert_eq!(code, 0, "{out}");
    let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(report["event"], serde_json::Value::Null);
    assert_eq!(report["actions"][1]["id"], "cus_7");
}

#[test]
fn event_and_events_do_not_go_together() {
    let (code, _, err) = run(
        &["run", TEMPLATE, "--event", "a.json", "--events", "b.jsonl"],
        "",
    );
    assert_eq!(code, 2);
    assert!(err.contains("cannot be used with"), "{err}");
    let (code, _, err) = run(&["run", TEMPLATE], "");
    assert_eq!(code, 2);
    assert!(err.contains("--event"), "{err}");
}

#[test]
fn a_missing_events_file_is_a_diagnostic() {
    let (code, out, err) = run(&["run", TEMPLATE, "--events", "no/such.jsonl"], "");
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(
        err.contains("E0901") && err.contains("no/such.jsonl"),
        "{err}"
    );
}
