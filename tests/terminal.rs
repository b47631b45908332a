//! Text from event data never drives the reader's terminal: escape sequences, bells,
//! carriage returns and bidirectional overrides in an event are shown as escapes in
//! the text report of `flow run` and in `flow preview`, and one-line fields stay on
//! one line.

use std::process::Command;

const FLOW: &str = r#"on payment_intent.succeeded {
    email to: "team@example.com", subject: "Order {description}", body: "Note: {description}"
}
"#;

fn event() -> String {
    serde_json::json!({
        "id": "evt_1", "object": "event", "type": "payment_intent.succeeded",
        "data": {"object": {"id": "pi_1", "object": "payment_intent", "amount": 100,
            "currency": "usd", "customer": null,
            "description": "\u{1b}]0;pwned\u{7}\u{1b}[2J a\rb\r\nBcc: x@evil.test \u{202e}txt.exe"}}
    })
    .to_string()
}

fn flow(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("w.flow"), FLOW).unwrap();
    std::fs::write(dir.path().join("e.json"), event()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_flow"))
        .args(args)
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn assert_safe(text: &str) {
    for bad in ['\u{1b}', '\u{7}', '\r', '\u{202e}'] {
        assert!(
            !text.contains(bad),
            "{bad:?} reached the terminal: {text:?}"
        );
    }
    assert!(
        text.contains("\\u{1b}]0;pwned\\u{7}"),
        "shown as escapes: {text}"
    );
}

#[test]
fn the_run_report_escapes_data() {
    let text = flow(&["run", "w.flow", "--event", "e.json"]);
    assert_safe(&text);
    let subject = text.lines().find(|l| l.contains("subject:")).unwrap();
    assert!(
        subject.contains("Bcc: x@evil.test"),
        "the subject stays one line: {text}"
    );
}

#[test]
fn the_preview_escapes_data() {
    let text = flow(&["preview", "w.flow", "--event", "e.json"]);
    assert_safe(&text);
    // The header lines end at the first blank line; data cannot add one to them.
    let headers: Vec<&str> = text.lines().take_while(|l| !l.is_empty()).collect();
    assert!(
        !headers.iter().any(|l| l.starts_with("Bcc:")),
        "no header line can be made from data: {text}"
    );
}

mod serve_support;

#[test]
fn the_run_history_escapes_data() {
    use serve_support::*;
    let dir = flows_dir(&[("w.flow", FLOW)]);
    let server = start(dir.path(), &[]);
    let mut body: serde_json::Value = serde_json::from_str(&event()).unwrap();
    body["id"] = "evt_\u{1b}]0;pwned\u{7}\n\u{1b}[2J".into();
    let body = body.to_string();
    let (status, answer) = server.deliver(&body);
    assert_eq!(status, 200, "{answer}");
    let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while count(
        dir.path(),
        "SELECT count(*) FROM runs WHERE status = 'succeeded'",
    ) < 1
    {
        assert!(std::time::Instant::now() < until, "{}", server.log_text());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(server.stop(), 0);

    let (code, list, err) = flow_in(dir.path(), &["runs"]);
    assert_eq!(code, 0, "{err}");
    assert_safe(&list);
    assert_eq!(list.lines().count(), 2, "a heading and one line: {list}");
    let (code, show, err) = flow_in(dir.path(), &["runs", "show", "1"]);
    assert_eq!(code, 0, "{err}");
    assert_safe(&show);
}
