//! `flow run --live` with `slack`, `http` and custom actions, against servers on
//! loopback started by each test: a stand-in for Slack's Web API
//! (`chat.postMessage`) and an HTTP receiver. The signature of every request is
//! checked by an independent implementation (Python's `hmac`), and the token and
//! secret are looked for in everything flow printed or wrote.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value as Json};

mod serve_support;

#[path = "common/standin.rs"]
mod standin;

use standin::{Reply, Script, Seen, StandIn};

const TOKEN: &str = "xoxb-1234-test-token-Abc9Zq";
const SECRET: &str = "flowsec_7yZq4V2wTestSecret";

/// A reply: status, headers, body.
type Answer = (u16, Vec<(&'static str, String)>, String);

fn ok(body: Json) -> Answer {
    (200, vec![], body.to_string())
}

fn reply((status, headers, body): Answer) -> Reply {
    Reply::Answer(status, headers, body)
}

/// A scripted server: for each path, whatever the verb, replies in order (the last
/// one repeats); 404 for any other path.
fn server(routes: Vec<(&str, Vec<Answer>)>) -> StandIn {
    StandIn::start(Script {
        routes: routes
            .into_iter()
            .map(|(path, answers)| ("*", path, answers.into_iter().map(reply).collect()))
            .collect(),
        otherwise: reply((404, vec![], "{\"error\": \"no such route\"}".into())),
        match_query: true,
    })
}

/// Slack's answer to a message posted.
fn posted() -> Answer {
    ok(json!({"ok": true, "channel": "C0DISPUTES", "ts": "1764170001.000100"}))
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn report(&self) -> Json {
        let lines: Vec<&str> = self.stdout.lines().filter(|l| l.starts_with('{')).collect();
        assert_eq!(
            lines.len(),
            1,
            "one report:\n{}\n{}",
            self.stdout,
            self.stderr
        );
        serde_json::from_str(lines[0]).expect("a report is JSON")
    }
}

/// `flow run --live --verbose --format json` on `event` in a folder with `flow.toml`
/// and `flow.flow`, with the token and the secret in the environment; neither may be
/// in anything it printed or left in the folder.
fn run_live(toml: &str, flow_src: &str, event: &Json) -> Run {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("flow.toml"), toml).unwrap();
    std::fs::write(dir.path().join("flow.flow"), flow_src).unwrap();
    std::fs::write(dir.path().join("event.json"), event.to_string()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_flow"))
        .current_dir(dir.path())
        .args([
            "run",
            "flow.flow",
            "--event",
            "event.json",
            "--live",
            "--verbose",
            "--format",
            "json",
        ])
        .env("NO_COLOR", "1")
        .env_remove("STRIPE_API_KEY")
        .env("SLACK_BOT_TOKEN", TOKEN)
        .env("FLOW_HTTP_SECRET", SECRET)
        .output()
        .expect("run flow");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).to_string(),
    };
    for secret in [TOKEN, SECRET] {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "{secret} leaked:\n{}\n{}",
            run.stdout,
            run.stderr
        );
        no_secret_in_files(secret, dir.path());
    }
    run
}

fn no_secret_in_files(secret: &str, dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            no_secret_in_files(secret, &p);
        } else if let Ok(bytes) = std::fs::read(&p) {
            assert!(
                !String::from_utf8_lossy(&bytes).contains(secret),
                "{secret} is in {}",
                p.display()
            );
        }
    }
}

/// The signature a receiver computes, by Python's `hmac` (not flow's code).
fn python_signature(secret: &str, timestamp: &str, body: &str) -> String {
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import hmac, hashlib, sys\n\
             secret, t = sys.argv[1], sys.argv[2]\n\
             body = sys.stdin.buffer.read()\n\
             print(hmac.new(secret.encode(), t.encode() + b'.' + body, hashlib.sha256).hexdigest())",
            secret,
            timestamp,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Check a request's `Flow-Signature` as a receiver would: `t=…,v1=…`, the v1
/// digest Python's HMAC-SHA256 of "t.body" under the secret, a recent `t`.
fn assert_signed(s: &Seen) {
    let header = s.header("Flow-Signature").expect("a Flow-Signature header");
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = Some(v.to_string()),
            Some(("v1", v)) => v1 = Some(v.to_string()),
            _ => {}
        }
    }
    let (t, v1) = (t.expect("t="), v1.expect("v1="));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let ts: i64 = t.parse().expect("t is a number");
    assert!((now - ts).abs() < 300, "t={t} is recent");
    assert_eq!(v1, python_signature(SECRET, &t, &s.body), "{header}");
    assert_ne!(v1, python_signature("another secret", &t, &s.body));
}

fn dispute(metadata: Json) -> Json {
    json!({
        "id": "evt_1QwDisputeLive01", "object": "event", "type": "charge.dispute.created",
        "data": {"object": {
            "id": "dp_1QwDisputeLive01", "object": "dispute", "amount": 48000,
            "currency": "usd", "charge": "ch_3QwLargeChargeB2", "reason": "fraudulent",
            "status": "needs_response", "metadata": metadata,
            "evidence_details": {"due_by": 1765584000, "has_evidence": false,
                "past_due": false, "submission_count": 0, "enhanced_eligibility": {}}
        }}
    })
}

fn toml(slack: &StandIn, allow: &str) -> String {
    format!(
        "[slack]\napi_base = \"{}\"\n[http]\nallow = [{allow}]\ntimeout = 5\nmax_network_retries = 2\nmax_retry_time = 20\n",
        slack.url("/api")
    )
}

/// The two actions of the issue, on a `charge.dispute.created` event.
fn dispute_flow(receiver: &StandIn) -> String {
    format!(
        r##"workflow "Dispute alerts"
on charge.dispute.created {{
    slack channel: "#disputes", text: "New {{reason}} dispute for {{amount}} on {{charge}}"
    http method: "POST", url: "{}",
         json: {{ "dispute": id, "charge": charge, "amount": amount }}
}}
"##,
        receiver.url("/hooks/stripe-dispute")
    )
}

#[test]
fn a_dispute_is_posted_to_slack_and_sent_signed_to_the_receiver() {
    let slack = server(vec![("/api/chat.postMessage", vec![posted()])]);
    let receiver = server(vec![(
        "/hooks/stripe-dispute",
        vec![ok(json!({"received": true}))],
    )]);
    let out = run_live(
        &toml(&slack, "\"127.0.0.1\""),
        &dispute_flow(&receiver),
        &dispute(json!({})),
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    // Slack got the message, with the bot token.
    let posts = slack.seen();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[0].method, "POST");
    assert_eq!(posts[0].target, "/api/chat.postMessage");
    assert_eq!(
        posts[0].header("Authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(
        posts[0].json(),
        json!({"channel": "#disputes", "text": "New fraudulent dispute for 480.00 USD on ch_3QwLargeChargeB2"})
    );
    // The receiver got the JSON body, signed, with the action's idempotency key.
    let hooks = receiver.seen();
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    assert_eq!(hooks[0].method, "POST");
    assert_eq!(hooks[0].target, "/hooks/stripe-dispute");
    assert_eq!(
        hooks[0].json(),
        json!({"dispute": "dp_1QwDisputeLive01", "charge": "ch_3QwLargeChargeB2", "amount": 48000})
    );
    assert_eq!(hooks[0].header("Content-Type"), Some("application/json"));
    assert_signed(&hooks[0]);
    let key = hooks[0]
        .header("Idempotency-Key")
        .expect("an Idempotency-Key");
    assert!(key.starts_with("flow_") && key.len() == 45, "{key}");
    // The report holds what was done, recorded as in a run without --live.
    let report = out.report();
    assert_eq!(report["status"], "succeeded");
    assert_eq!(
        report["actions"],
        json!([
            {"action": "slack", "channel": "#disputes", "text": "New fraudulent dispute for 480.00 USD on ch_3QwLargeChargeB2", "blocks": null},
            {"action": "http", "name": null, "method": "POST", "url": receiver.url("/hooks/stripe-dispute"), "headers": [],
             "body": {"dispute": "dp_1QwDisputeLive01", "charge": "ch_3QwLargeChargeB2", "amount": 48000}}
        ])
    );
    // --verbose logs each request, with the key but without the token or secret.
    assert!(out.stderr.contains("slack: POST"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("(Idempotency-Key: {key}) → 200")),
        "{}",
        out.stderr
    );
}

#[test]
fn the_same_event_sends_the_same_idempotency_key() {
    let slack = server(vec![("/api/chat.postMessage", vec![posted()])]);
    let receiver = server(vec![("/hooks/stripe-dispute", vec![ok(json!({}))])]);
    let settings = toml(&slack, "\"127.0.0.1\"");
    for _ in 0..2 {
        let out = run_live(&settings, &dispute_flow(&receiver), &dispute(json!({})));
        assert_eq!(out.code, 0, "{}", out.stderr);
    }
    let keys: Vec<String> = receiver
        .seen()
        .iter()
        .map(|s| s.header("Idempotency-Key").unwrap().to_string())
        .collect();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0], keys[1]);
}

#[test]
fn text_from_the_event_reaches_slack_escaped() {
    let slack = server(vec![("/api/chat.postMessage", vec![posted()])]);
    let flow_src = r##"on charge.dispute.created {
    slack channel: "#disputes", text: "Note on {id}: {metadata.note}",
          blocks: [{ "type": "section", "text": { "type": "mrkdwn", "text": "*Note:* {metadata.note}" } }]
}
"##;
    let note = "<!channel> & <@U024BE7LH> <https://evil.example/login|reset your password>";
    let out = run_live(
        &toml(&slack, ""),
        flow_src,
        &dispute(json!({ "note": note })),
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let posts = slack.seen();
    assert_eq!(posts.len(), 1);
    let body = posts[0].json();
    let escaped = "&lt;!channel&gt; &amp; &lt;@U024BE7LH&gt; &lt;https://evil.example/login|reset your password&gt;";
    assert_eq!(
        body["text"],
        format!("Note on dp_1QwDisputeLive01: {escaped}")
    );
    assert_eq!(
        body["blocks"][0]["text"]["text"],
        format!("*Note:* {escaped}")
    );
    assert!(!posts[0].body.contains("<!channel>"), "{}", posts[0].body);
    // The report shows the text as written.
    assert_eq!(
        out.report()["actions"][0]["text"],
        format!("Note on dp_1QwDisputeLive01: {note}")
    );
}

#[test]
fn slack_refusing_the_message_fails_the_run_with_its_error() {
    let slack = server(vec![(
        "/api/chat.postMessage",
        vec![ok(json!({"ok": false, "error": "channel_not_found"}))],
    )]);
    let flow_src = "on charge.dispute.created { slack channel: \"#nowhere\", text: \"x\" }\n";
    let out = run_live(&toml(&slack, ""), flow_src, &dispute(json!({})));
    assert_eq!(out.code, 1);
    let report = out.report();
    assert_eq!(report["code"], "R0201");
    assert!(
        report["error"]
            .as_str()
            .unwrap()
            .contains("channel_not_found"),
        "{report}"
    );
    assert_eq!(report["actions"], json!([]));
}

/// A flow that sends one `http` request to `url`.
fn http_to(url: &str) -> String {
    format!(
        "on charge.dispute.created {{ http method: \"POST\", url: \"{url}\", json: {{ \"dispute\": id }} }}\n"
    )
}

#[test]
fn loopback_and_metadata_addresses_are_refused_unless_allowed() {
    let slack = server(vec![]);
    let receiver = server(vec![("/hook", vec![ok(json!({}))])]);
    let none = toml(&slack, "");
    let cases = [
        // A name that resolves to loopback.
        (
            format!("https://localhost:{}/hook", receiver.port),
            "loopback",
        ),
        (
            format!("https://127.0.0.1:{}/hook", receiver.port),
            "loopback",
        ),
        // Plain http is refused before anything else.
        (receiver.url("/hook"), "plain http"),
        (
            "https://169.254.169.254/latest/meta-data/".to_string(),
            "cloud metadata",
        ),
        ("https://10.0.0.7/hook".to_string(), "private"),
        ("https://[fe80::1]/hook".to_string(), "link-local"),
    ];
    for (url, why) in &cases {
        let out = run_live(&none, &http_to(url), &dispute(json!({})));
        assert_eq!(out.code, 1, "{url}: {}", out.stdout);
        let report = out.report();
        assert_eq!(report["code"], "R0201", "{url}: {report}");
        let error = report["error"].as_str().unwrap();
        assert!(error.contains(why), "{url}: {error}");
        assert!(error.contains("[http] allow"), "{url}: {error}");
        assert_eq!(report["actions"], json!([]));
    }
    assert!(receiver.seen().is_empty(), "nothing was sent");
    // Allowed by name: `localhost` is reached, over plain http too.
    let allowed = toml(&slack, "\"localhost\"");
    let url = format!("http://localhost:{}/hook", receiver.port);
    let out = run_live(&allowed, &http_to(&url), &dispute(json!({})));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(receiver.seen().len(), 1);
    // Allowing one address does not allow another.
    let out = run_live(
        &toml(&slack, "\"127.0.0.1\""),
        &http_to("https://169.254.169.254/latest/meta-data/"),
        &dispute(json!({})),
    );
    assert!(out.report()["error"]
        .as_str()
        .unwrap()
        .contains("cloud metadata"));
}

#[test]
fn server_errors_are_retried_with_the_same_key_and_others_are_not() {
    let slack = server(vec![]);
    let receiver = server(vec![
        (
            "/flaky",
            vec![
                (503, vec![], "{}".into()),
                (429, vec![("Retry-After", "1".into())], "{}".into()),
                ok(json!({"order": "ord_42"})),
            ],
        ),
        (
            "/gone",
            vec![(404, vec![], "{\"error\": \"no such hook\"}".into())],
        ),
    ]);
    let settings = toml(&slack, "\"127.0.0.1\"");
    let out = run_live(
        &settings,
        &http_to(&receiver.url("/flaky")),
        &dispute(json!({})),
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let seen = receiver.seen();
    assert_eq!(seen.len(), 3, "{seen:?}");
    let key = seen[0].header("Idempotency-Key").unwrap();
    for s in &seen {
        assert_eq!(s.header("Idempotency-Key"), Some(key));
        assert_signed(s);
    }
    assert!(out.stderr.contains("retrying in"), "{}", out.stderr);
    let out = run_live(
        &settings,
        &http_to(&receiver.url("/gone")),
        &dispute(json!({})),
    );
    assert_eq!(out.code, 1);
    let error = out.report()["error"].as_str().unwrap().to_string();
    assert!(
        error.contains("answered 404: {\"error\": \"no such hook\"}"),
        "{error}"
    );
    assert_eq!(receiver.seen().len(), 4, "a 404 is not retried");
}

#[test]
fn redirects_are_not_followed_and_answers_are_bounded() {
    let slack = server(vec![]);
    let elsewhere = server(vec![("/", vec![ok(json!({}))])]);
    let receiver = server(vec![
        (
            "/moved",
            vec![(302, vec![("Location", elsewhere.url("/"))], String::new())],
        ),
        ("/big", vec![ok(json!({ "padding": "x".repeat(5000) }))]),
    ]);
    let settings = format!("{}max_answer_bytes = 1000\n", toml(&slack, "\"127.0.0.1\""));
    let out = run_live(
        &settings,
        &http_to(&receiver.url("/moved")),
        &dispute(json!({})),
    );
    assert_eq!(out.code, 1);
    let error = out.report()["error"].as_str().unwrap().to_string();
    assert!(error.contains("redirects are not followed"), "{error}");
    assert!(elsewhere.seen().is_empty(), "the redirect was not followed");
    let out = run_live(
        &settings,
        &http_to(&receiver.url("/big")),
        &dispute(json!({})),
    );
    assert_eq!(out.code, 1);
    let error = out.report()["error"].as_str().unwrap().to_string();
    assert!(error.contains("larger than 1000 bytes"), "{error}");
}

#[test]
fn the_answer_is_named_with_let_and_used_by_a_later_step() {
    let slack = server(vec![("/api/chat.postMessage", vec![posted()])]);
    let receiver = server(vec![("/orders", vec![ok(json!({"order": "ord_42"}))])]);
    let flow_src = format!(
        r##"on charge.dispute.created {{
    let r = http method: "POST", url: "{}", json: {{ "charge": charge }}
    slack channel: "#disputes", text: "order {{r.body.order}} ({{r.status}})"
}}
"##,
        receiver.url("/orders")
    );
    let out = run_live(
        &toml(&slack, "\"127.0.0.1\""),
        &flow_src,
        &dispute(json!({})),
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(slack.seen()[0].json()["text"], "order ord_42 (200)");
}

#[test]
fn a_custom_action_is_a_signed_post_of_its_parameters() {
    let slack = server(vec![]);
    let crm = server(vec![("/notes", vec![ok(json!({"id": "note_1"}))])]);
    let flow_src = format!(
        r##"action crm_note url: "{}" {{
    charge: ref(charge)
    text: string
    priority: enum(low|high)?
}}

on charge.dispute.created {{
    crm_note charge: charge, text: "Dispute {{id}}: {{reason}}", priority: "high"
}}
"##,
        crm.url("/notes")
    );
    let out = run_live(
        &toml(&slack, "\"127.0.0.1\""),
        &flow_src,
        &dispute(json!({})),
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let seen = crm.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "POST");
    assert_eq!(
        seen[0].json(),
        json!({"charge": "ch_3QwLargeChargeB2", "text": "Dispute dp_1QwDisputeLive01: fraudulent", "priority": "high"})
    );
    assert_signed(&seen[0]);
    assert_eq!(out.report()["actions"][0]["name"], "crm_note");
}

#[test]
fn without_the_token_or_the_secret_the_action_says_what_to_set() {
    let slack = server(vec![("/api/chat.postMessage", vec![posted()])]);
    let receiver = server(vec![("/hooks/stripe-dispute", vec![ok(json!({}))])]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("flow.toml"), toml(&slack, "\"127.0.0.1\"")).unwrap();
    std::fs::write(dir.path().join("flow.flow"), dispute_flow(&receiver)).unwrap();
    std::fs::write(
        dir.path().join("event.json"),
        dispute(json!({})).to_string(),
    )
    .unwrap();
    let run = |envs: &[(&str, &str)]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_flow"));
        cmd.current_dir(dir.path())
            .args([
                "run",
                "flow.flow",
                "--event",
                "event.json",
                "--live",
                "--format",
                "json",
            ])
            .env_remove("SLACK_BOT_TOKEN")
            .env_remove("FLOW_HTTP_SECRET");
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        serde_json::from_str::<Json>(stdout.lines().next().unwrap_or("{}")).unwrap()
    };
    let r = run(&[]);
    assert!(
        r["error"]
            .as_str()
            .unwrap()
            .contains("SLACK_BOT_TOKEN is not set"),
        "{r}"
    );
    let r = run(&[("SLACK_BOT_TOKEN", TOKEN)]);
    assert!(
        r["error"]
            .as_str()
            .unwrap()
            .contains("FLOW_HTTP_SECRET is not set"),
        "{r}"
    );
    assert_eq!(r["actions"][0]["action"], "slack");
    assert!(receiver.seen().is_empty());
}

#[test]
fn under_flow_serve_each_action_is_journaled_and_sent_once() {
    let slack = server(vec![("/api/chat.postMessage", vec![posted()])]);
    let receiver = server(vec![(
        "/hooks/stripe-dispute",
        vec![ok(json!({"received": true}))],
    )]);
    let dir = serve_support::flows_dir(&[
        ("flow.toml", &toml(&slack, "\"127.0.0.1\"")),
        ("alerts.flow", &dispute_flow(&receiver)),
    ]);
    let s = serve_support::start_with(
        dir.path(),
        &["--live"],
        &[
            ("STRIPE_WEBHOOK_SECRET", serve_support::SECRET),
            ("STRIPE_API_KEY", "sk_test_51FlowServeOutboundKey"),
            ("SLACK_BOT_TOKEN", TOKEN),
            ("FLOW_HTTP_SECRET", SECRET),
        ],
    );
    let event = dispute(json!({})).to_string();
    let done = |n: i64| {
        let until = std::time::Instant::now() + Duration::from_secs(20);
        while serve_support::count(
            dir.path(),
            "SELECT count(*) FROM runs WHERE status = 'succeeded'",
        ) < n
        {
            assert!(std::time::Instant::now() < until, "{}", s.log_text());
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let (status, _) = s.deliver(&event);
    assert_eq!(status, 200, "{}", s.log_text());
    done(1);
    // Stripe delivers the same event again: it is not run again.
    let (status, _) = s.deliver(&event);
    assert_eq!(status, 200, "{}", s.log_text());
    s.wait_idle(Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(slack.seen().len(), 1);
    let hooks = receiver.seen();
    assert_eq!(hooks.len(), 1);
    assert_signed(&hooks[0]);
    // Both actions are in the journal, the request under the key the receiver saw.
    let db = serve_support::db(dir.path());
    let journal: Vec<(String, String, String)> = db
        .prepare("SELECT kind, idempotency_key, status FROM actions ORDER BY step")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(journal.len(), 2, "{journal:?}");
    assert_eq!(
        (journal[0].0.as_str(), journal[0].2.as_str()),
        ("slack", "succeeded")
    );
    assert_eq!(
        (journal[1].0.as_str(), journal[1].2.as_str()),
        ("http", "succeeded")
    );
    assert_eq!(
        Some(journal[1].1.as_str()),
        hooks[0].header("Idempotency-Key")
    );
    drop(db);
    let logs = s.log_text();
    assert!(!logs.contains(TOKEN) && !logs.contains(SECRET), "{logs}");
    s.stop();
    for secret in [TOKEN, SECRET] {
        no_secret_in_files(secret, dir.path());
        assert!(!s_log_contains(&dir, secret));
    }
}

/// Whether anything flow serve left in `dir` mentions `text` (the run log included).
fn s_log_contains(dir: &tempfile::TempDir, text: &str) -> bool {
    let db = serve_support::db(dir.path());
    let all: String = db
        .prepare("SELECT coalesce(action, '') || coalesce(result, '') || coalesce(error, '') FROM actions")
        .unwrap()
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    all.contains(text)
}
