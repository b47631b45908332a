//! `flow run --live` against a scripted Stripe on loopback, served from inside the
//! test: failures, retries, waits and time limits, and what ends up in the report.
//! Every run also checks that the API key is in none of the output.

#[path = "common/live.rs"]
mod common;

#[path = "common/standin.rs"]
mod standin;

use std::net::TcpListener;
use std::time::Duration;

use common::{flow, test_key, workdir};
use serde_json::json;
use standin::{Reply, Script, Seen, StandIn};

fn ok(body: serde_json::Value) -> Reply {
    Reply::Answer(200, vec![], body.to_string())
}

fn stripe_error(status: u16, kind: &str, code: &str, message: &str) -> Reply {
    Reply::Answer(
        status,
        vec![("Request-Id", "req_test123".to_string())],
        json!({"error": {"type": kind, "code": code, "message": message}}).to_string(),
    )
}

/// Answer 401 quoting the Authorization header it was sent, as a careless server
/// might.
fn echo_auth() -> Reply {
    Reply::Made(|seen: &Seen| {
        let auth = seen.header("authorization").unwrap_or_default();
        let body = json!({"error": {"type": "invalid_request_error",
            "message": format!("Invalid API Key provided: {auth}")}});
        Reply::Answer(
            401,
            vec![("Content-Type", "text/plain; charset=UTF-8".to_string())],
            body.to_string(),
        )
    })
}

/// A scripted Stripe: for each `METHOD /path`, replies in order (the last one
/// repeats).
fn fake_stripe(routes: Vec<(&str, &str, Vec<Reply>)>) -> StandIn {
    StandIn::start(Script {
        routes,
        otherwise: stripe_error(404, "invalid_request_error", "", "no such route"),
        match_query: true,
    })
}

impl StandIn {
    fn posts(&self) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.method == "POST")
            .collect()
    }

    fn toml(&self, timeout: f64, retries: u32, max_time: f64) -> String {
        format!(
            "[stripe]\napi_base = \"{}\"\napi_version = \"2026-07-29.dahlia\"\ntimeout = {timeout}\nmax_network_retries = {retries}\nmax_retry_time = {max_time}\n",
            self.url("")
        )
    }
}

const REFUND_FLOW: &str = r#"workflow "Refund fraud"
on radar.early_fraud_warning.created {
    let ch = retrieve charge
    refund charge: ch, amount: ch.amount, reason: "fraudulent"
}
"#;

fn warning(event_id: &str) -> String {
    json!({
        "id": event_id, "object": "event", "type": "radar.early_fraud_warning.created",
        "data": {"object": {"id": "issfr_1", "object": "radar.early_fraud_warning",
            "actionable": true, "charge": "ch_1", "created": 1764159990,
            "fraud_type": "made_with_stolen_card", "livemode": false}}
    })
    .to_string()
}

fn charge() -> Reply {
    ok(
        json!({"id": "ch_1", "object": "charge", "amount": 1200, "currency": "usd",
        "customer": "cus_1", "status": "succeeded", "refunded": false}),
    )
}

fn refund_ok() -> Reply {
    ok(
        json!({"id": "re_1", "object": "refund", "amount": 1200, "charge": "ch_1",
        "currency": "usd", "status": "succeeded"}),
    )
}

fn run_refund(toml: &str, key: &str) -> (tempfile::TempDir, common::Output) {
    let dir = workdir(
        toml,
        &[
            ("refund.flow", REFUND_FLOW),
            ("event.json", &warning("evt_fault_1")),
        ],
    );
    let out = flow(
        dir.path(),
        Some(key),
        &[
            "run",
            "refund.flow",
            "--event",
            "event.json",
            "--live",
            "--verbose",
            "--format",
            "json",
        ],
    );
    (dir, out)
}

#[test]
fn a_500_then_200_is_retried_with_the_same_idempotency_key() {
    let stripe = fake_stripe(vec![
        ("GET", "/v1/charges/ch_1", vec![charge()]),
        (
            "POST",
            "/v1/refunds",
            vec![
                stripe_error(
                    500,
                    "api_error",
                    "",
                    "Something went wrong on Stripe's end.",
                ),
                refund_ok(),
            ],
        ),
    ]);
    let key = test_key();
    let (_dir, out) = run_refund(&stripe.toml(2.0, 3, 10.0), &key);
    assert_eq!(out.code, 0, "{}", out.all());
    let report = out.report();
    assert_eq!(report["status"], "succeeded");
    assert_eq!(report["actions"].as_array().map(Vec::len), Some(2));

    let posts = stripe.posts();
    assert_eq!(posts.len(), 2, "one failure, one retry");
    let k1 = posts[0]
        .header("Idempotency-Key")
        .expect("an idempotency key");
    assert_eq!(Some(k1), posts[1].header("Idempotency-Key"));
    assert!(k1.starts_with("flow_"), "{k1}");
    assert_eq!(posts[0].body, posts[1].body);
    assert_eq!(posts[0].body, "charge=ch_1&amount=1200&reason=fraudulent");
    for s in stripe.seen() {
        assert_eq!(s.header("Stripe-Version"), Some("2026-07-29.dahlia"));
        assert_eq!(
            s.header("Authorization"),
            Some(format!("Bearer {key}").as_str())
        );
    }
    let paths: Vec<String> = stripe.seen().iter().map(|s| s.target.clone()).collect();
    assert_eq!(paths, ["/v1/charges/ch_1", "/v1/refunds", "/v1/refunds"]);
    assert_eq!(
        stripe.seen()[0].header("Idempotency-Key"),
        None,
        "a GET has no key"
    );
    // The wait before the retry is the backoff (0.25–0.5 s for the first retry).
    let gap = posts[1].at - posts[0].at;
    assert!(gap >= Duration::from_millis(200), "{gap:?}");
    assert!(out.stderr.contains("retrying in"), "{}", out.stderr);
}

#[test]
fn the_same_event_run_again_sends_the_same_keys() {
    let stripe = fake_stripe(vec![
        ("GET", "/v1/charges/ch_1", vec![charge()]),
        ("POST", "/v1/refunds", vec![refund_ok()]),
    ]);
    let key = test_key();
    let toml = stripe.toml(2.0, 1, 5.0);
    let (_d1, first) = run_refund(&toml, &key);
    let (_d2, again) = run_refund(&toml, &key);
    assert_eq!(
        (first.code, again.code),
        (0, 0),
        "{}\n{}",
        first.all(),
        again.all()
    );
    let posts = stripe.posts();
    assert_eq!(posts.len(), 2);
    assert_eq!(
        posts[0].header("Idempotency-Key"),
        posts[1].header("Idempotency-Key")
    );

    // Another event: another key.
    let dir = workdir(
        &toml,
        &[
            ("refund.flow", REFUND_FLOW),
            ("event.json", &warning("evt_fault_2")),
        ],
    );
    let out = flow(
        dir.path(),
        Some(&key),
        &["run", "refund.flow", "--event", "event.json", "--live"],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let posts = stripe.posts();
    assert_ne!(
        posts[0].header("Idempotency-Key"),
        posts[2].header("Idempotency-Key")
    );
}

#[test]
fn a_429_with_retry_after_waits() {
    let stripe = fake_stripe(vec![
        ("GET", "/v1/charges/ch_1", vec![charge()]),
        (
            "POST",
            "/v1/refunds",
            vec![
                Reply::Answer(
                    429,
                    vec![("Retry-After", "1".into())],
                    json!({"error": {"type": "invalid_request_error", "code": "rate_limit",
                        "message": "Too many requests"}})
                    .to_string(),
                ),
                refund_ok(),
            ],
        ),
    ]);
    let key = test_key();
    let (_dir, out) = run_refund(&stripe.toml(2.0, 3, 10.0), &key);
    assert_eq!(out.code, 0, "{}", out.all());
    let posts = stripe.posts();
    assert_eq!(posts.len(), 2);
    let gap = posts[1].at - posts[0].at;
    assert!(gap >= Duration::from_millis(1000), "waited only {gap:?}");
    assert_eq!(
        posts[0].header("Idempotency-Key"),
        posts[1].header("Idempotency-Key")
    );
}

#[test]
fn a_retry_after_beyond_the_time_limit_gives_up_at_once() {
    let stripe = fake_stripe(vec![
        ("GET", "/v1/charges/ch_1", vec![charge()]),
        (
            "POST",
            "/v1/refunds",
            vec![Reply::Answer(
                429,
                vec![("Retry-After", "120".into())],
                json!({"error": {"type": "invalid_request_error", "code": "rate_limit",
                    "message": "Too many requests"}})
                .to_string(),
            )],
        ),
    ]);
    let (_dir, out) = run_refund(&stripe.toml(2.0, 3, 3.0), &test_key());
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.elapsed < Duration::from_secs(3), "{:?}", out.elapsed);
    let error = out.report()["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(error.contains("asked to wait 120.0 s"), "{error}");
    assert!(error.contains("Too many requests"), "{error}");
    assert_eq!(stripe.posts().len(), 1);
}

#[test]
fn a_400_fails_the_run_with_stripes_words_and_keeps_earlier_actions() {
    let stripe = fake_stripe(vec![
        ("GET", "/v1/charges/ch_1", vec![charge()]),
        (
            "POST",
            "/v1/refunds",
            vec![stripe_error(
                400,
                "invalid_request_error",
                "charge_already_refunded",
                "Charge ch_1 has already been refunded.",
            )],
        ),
    ]);
    let (_dir, out) = run_refund(&stripe.toml(2.0, 3, 10.0), &test_key());
    assert_eq!(out.code, 1, "{}", out.all());
    let report = out.report();
    assert_eq!(report["status"], "failed");
    let error = report["error"].as_str().unwrap_or_default();
    assert!(error.contains("refund.flow:4:"), "{error}");
    assert!(error.contains("POST /v1/refunds"), "{error}");
    assert!(error.contains("400 invalid_request_error"), "{error}");
    assert!(error.contains("code charge_already_refunded"), "{error}");
    assert!(
        error.contains("Charge ch_1 has already been refunded."),
        "{error}"
    );
    assert!(error.contains("req_test123"), "{error}");
    assert_eq!(
        report["actions"],
        json!([{"action": "retrieve", "object": "charge", "id": "ch_1", "account": null}])
    );
    assert_eq!(stripe.posts().len(), 1, "a 400 is not tried again");

    // The text report says the same.
    let dir = workdir(
        &stripe.toml(2.0, 3, 10.0),
        &[
            ("refund.flow", REFUND_FLOW),
            ("event.json", &warning("evt_fault_1")),
        ],
    );
    let text = flow(
        dir.path(),
        Some(&test_key()),
        &["run", "refund.flow", "--event", "event.json", "--live"],
    );
    assert_eq!(text.code, 1);
    assert!(
        text.stdout.contains("failed · Refund fraud"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains("Charge ch_1 has already been refunded."),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("retrieve charge ch_1"),
        "{}",
        text.stdout
    );
}

#[test]
fn stripe_should_retry_is_honoured() {
    // A 500 that Stripe says not to retry, and a 400 it says to retry.
    let stripe = fake_stripe(vec![
        ("GET", "/v1/charges/ch_1", vec![charge()]),
        (
            "POST",
            "/v1/refunds",
            vec![Reply::Answer(
                500,
                vec![("Stripe-Should-Retry", "false".into())],
                json!({"error": {"type": "api_error", "message": "Do not retry this"}}).to_string(),
            )],
        ),
    ]);
    let (_dir, out) = run_refund(&stripe.toml(2.0, 3, 10.0), &test_key());
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.report()["error"]
        .as_str()
        .unwrap_or("")
        .contains("Do not retry this"));
    assert_eq!(stripe.posts().len(), 1);

    let stripe = fake_stripe(vec![
        ("GET", "/v1/charges/ch_1", vec![charge()]),
        (
            "POST",
            "/v1/refunds",
            vec![
                Reply::Answer(
                    400,
                    vec![("Stripe-Should-Retry", "true".into())],
                    json!({"error": {"type": "invalid_request_error", "message": "Try again"}})
                        .to_string(),
                ),
                refund_ok(),
            ],
        ),
    ]);
    let (_dir, out) = run_refund(&stripe.toml(2.0, 3, 10.0), &test_key());
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(stripe.posts().len(), 2);
}

#[test]
fn a_409_is_retried_and_retries_are_bounded_in_number() {
    let stripe = fake_stripe(vec![
        ("GET", "/v1/charges/ch_1", vec![charge()]),
        (
            "POST",
            "/v1/refunds",
            vec![stripe_error(
                409,
                "idempotency_error",
                "",
                "A request with this key is in progress",
            )],
        ),
    ]);
    let (_dir, out) = run_refund(&stripe.toml(2.0, 2, 20.0), &test_key());
    assert_eq!(out.code, 1, "{}", out.all());
    assert_eq!(stripe.posts().len(), 3, "the request and 2 retries");
    let error = out.report()["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(error.contains("gave up after 3 attempts"), "{error}");
    assert!(error.contains("max_network_retries = 2"), "{error}");
    assert!(
        error.contains("A request with this key is in progress"),
        "{error}"
    );
}

#[test]
fn a_server_that_never_answers_times_out_within_the_bound() {
    // The e-mail goes to an outbox first; the update then hangs.
    let stripe = fake_stripe(vec![("POST", "/v1/customers/cus_1", vec![Reply::Hang])]);
    let flow_src = common::template("tag_valuable_customers.flow");
    let event = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/events/payment_2500_usd.json"),
    )
    .unwrap()
    .replace("cus_RvA9bC8dE7fG6h", "cus_1");
    let dir = workdir(
        &stripe.toml(0.5, 10, 2.0),
        &[("tag.flow", &flow_src), ("event.json", &event)],
    );
    let key = test_key();
    let out = flow(
        dir.path(),
        Some(&key),
        &[
            "run",
            "tag.flow",
            "--event",
            "event.json",
            "--live",
            "--outbox",
            "out",
            "--format",
            "json",
            "-v",
        ],
    );
    assert_eq!(out.code, 1, "{}", out.all());
    // At most 2 s of trying (max_retry_time), plus the start of the program.
    assert!(
        out.elapsed < Duration::from_secs(5),
        "took {:?}",
        out.elapsed
    );
    // At least two attempts of 0.5 s each.
    assert!(
        out.elapsed >= Duration::from_millis(1000),
        "took {:?}",
        out.elapsed
    );
    let report = out.report();
    let error = report["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("POST /v1/customers/cus_1: gave up after"),
        "{error}"
    );
    assert!(error.contains("no answer within 0."), "{error}");
    assert!(error.contains("max_retry_time = 2.0 s"), "{error}");
    // The e-mail was sent before, and stays in the report.
    assert_eq!(report["actions"][0]["action"], "email");
    assert_eq!(report["actions"].as_array().map(Vec::len), Some(1));
    let outbox: Vec<_> = std::fs::read_dir(dir.path().join("out"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(outbox.len(), 1);
    // Every attempt carried the same key.
    let posts = stripe.posts();
    assert!(posts.len() >= 2, "{}", posts.len());
    assert!(posts
        .iter()
        .all(|p| p.header("Idempotency-Key") == posts[0].header("Idempotency-Key")));
    assert!(
        posts.iter().all(|p| p.body == "metadata%5BTier%5D=VIP"),
        "{:?}",
        posts[0].body
    );
}

#[test]
fn a_refused_connection_is_retried_then_reported() {
    // A port with nothing listening on it.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let toml = format!(
        "[stripe]\napi_base = \"http://127.0.0.1:{port}\"\ntimeout = 0.5\nmax_network_retries = 2\nmax_retry_time = 5\n"
    );
    let dir = workdir(
        &toml,
        &[
            ("refund.flow", REFUND_FLOW),
            ("event.json", &warning("evt_fault_1")),
        ],
    );
    let out = flow(
        dir.path(),
        Some(&test_key()),
        &[
            "run",
            "refund.flow",
            "--event",
            "event.json",
            "--live",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.code, 1, "{}", out.all());
    let report = out.report();
    let error = report["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("GET /v1/charges/ch_1: gave up after 3 attempts"),
        "{error}"
    );
    assert!(error.contains("connection error"), "{error}");
    assert_eq!(report["actions"], json!([]));
}

#[test]
fn the_key_is_never_shown_even_when_the_server_quotes_it() {
    let stripe = fake_stripe(vec![("GET", "/v1/charges/ch_1", vec![echo_auth()])]);
    let key = test_key();
    for format in ["json", "text"] {
        // `flow` itself asserts that the key is not in the output.
        let (_dir, out) = {
            let dir = workdir(
                &stripe.toml(2.0, 3, 10.0),
                &[
                    ("refund.flow", REFUND_FLOW),
                    ("event.json", &warning("evt_fault_1")),
                ],
            );
            let out = flow(
                dir.path(),
                Some(&key),
                &[
                    "run",
                    "refund.flow",
                    "--event",
                    "event.json",
                    "--live",
                    "--verbose",
                    "--format",
                    format,
                ],
            );
            (dir, out)
        };
        assert_eq!(out.code, 1, "{}", out.all());
        assert!(
            out.all()
                .contains("Invalid API Key provided: Bearer [redacted key]"),
            "{}",
            out.all()
        );
    }
    // The server did receive it: the test would catch a leak.
    assert_eq!(
        stripe.seen()[0].header("Authorization"),
        Some(format!("Bearer {key}").as_str())
    );
}

#[test]
fn a_live_run_needs_a_key_and_an_event_id() {
    let dir = workdir(
        "[stripe]\napi_base = \"http://127.0.0.1:9\"\n",
        &[
            ("refund.flow", REFUND_FLOW),
            ("event.json", &warning("evt_fault_1")),
        ],
    );
    let out = flow(
        dir.path(),
        None,
        &["run", "refund.flow", "--event", "event.json", "--live"],
    );
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr
            .contains("error[E0961]: cannot run live: STRIPE_API_KEY is not set"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());

    // A bare object (no event id): no idempotency key can be made.
    std::fs::write(
        dir.path().join("warning.json"),
        json!({"id": "issfr_1", "object": "radar.early_fraud_warning", "charge": "ch_1",
            "actionable": true, "created": 1, "fraud_type": "made_with_stolen_card", "livemode": false})
        .to_string(),
    )
    .unwrap();
    let out = flow(
        dir.path(),
        Some(&test_key()),
        &[
            "run",
            "refund.flow",
            "--event",
            "warning.json",
            "--type",
            "radar.early_fraud_warning.created",
            "--live",
        ],
    );
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains("error[E0960]"), "{}", out.stderr);

    // Without --live nothing needs a key (and --outbox needs --live).
    let out = flow(
        dir.path(),
        None,
        &[
            "run",
            "refund.flow",
            "--event",
            "event.json",
            "--outbox",
            "x",
        ],
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("--live"), "{}", out.stderr);
}

#[test]
fn a_live_email_needs_somewhere_to_go() {
    let dir = workdir(
        "",
        &[
            ("tag.flow", &common::template("personalize_orders.flow")),
            (
                "event.json",
                &std::fs::read_to_string(
                    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("examples/events/payment_2500_usd.json"),
                )
                .unwrap(),
            ),
        ],
    );
    // An e-mail-only flow needs no Stripe key.
    let out = flow(
        dir.path(),
        None,
        &["run", "tag.flow", "--event", "event.json", "--live"],
    );
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr
            .contains("error[E0962]: cannot send e-mail: no mail server and no outbox"),
        "{}",
        out.stderr
    );

    let out = flow(
        dir.path(),
        None,
        &[
            "run",
            "tag.flow",
            "--event",
            "event.json",
            "--live",
            "--outbox",
            "mail",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let files: Vec<_> = std::fs::read_dir(dir.path().join("mail"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(files.len(), 1);
    let text = std::fs::read_to_string(files[0].path()).unwrap();
    assert!(
        text.contains("Subject: Personalize order 10423\r\n"),
        "{text}"
    );
    assert!(text.contains("From: flow@localhost\r\n"), "{text}");
    // The fields as `flow preview` shows them (short lines stay as they are even
    // when the long body line is quoted-printable).
    assert!(
        text.contains("| Customer ID | cus_RvA9bC8dE7fG6h |\r\n"),
        "{text}"
    );
    assert!(
        text.contains("| Amount      | 2500.00 USD        |\r\n"),
        "{text}"
    );
    assert!(
        text.contains("| Order       | 10423              |\r\n"),
        "{text}"
    );
}

/// A successful answer that quotes the key (a proxy or a careless server echoing the
/// request) is redacted before any step uses it: the key reaches neither the e-mail
/// built from the answer nor the report.
#[test]
fn a_successful_answer_quoting_the_key_is_redacted() {
    let key = test_key();
    let echo = json!({"id": "ch_1", "object": "charge", "amount": 1200, "currency": "usd",
        "description": format!("seen Authorization: Bearer {key}"), "customer": "cus_1",
        "status": "succeeded", "refunded": false});
    let stripe = fake_stripe(vec![("GET", "/v1/charges/ch_1", vec![ok(echo)])]);
    let dir = workdir(
        &stripe.toml(2.0, 3, 10.0),
        &[
            (
                "echo.flow",
                "on radar.early_fraud_warning.created {\n    let ch = retrieve charge\n    email to: \"risk@example.com\", body: \"{ch.description}\"\n}\n",
            ),
            ("event.json", &warning("evt_echo_1")),
        ],
    );
    // `flow` asserts that the key is in none of the output and none of the files
    // left behind (the outbox message included).
    let out = flow(
        dir.path(),
        Some(&key),
        &[
            "run",
            "echo.flow",
            "--event",
            "event.json",
            "--live",
            "--outbox",
            "out",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout
            .contains("seen Authorization: Bearer [redacted key]"),
        "{}",
        out.all()
    );
    let sent: Vec<_> = std::fs::read_dir(dir.path().join("out"))
        .expect("the outbox exists")
        .flatten()
        .collect();
    assert_eq!(sent.len(), 1, "one e-mail written");
}

#[test]
fn an_event_from_a_connected_account_is_acted_on_in_that_account() {
    let stripe = fake_stripe(vec![
        ("GET", "/v1/charges/ch_1", vec![charge()]),
        ("POST", "/v1/refunds", vec![refund_ok()]),
    ]);
    let mut event: serde_json::Value = serde_json::from_str(&warning("evt_conn_1")).unwrap();
    event["account"] = json!("acct_1Connected");
    let dir = workdir(
        &stripe.toml(2.0, 0, 10.0),
        &[
            ("refund.flow", REFUND_FLOW),
            ("event.json", &event.to_string()),
        ],
    );
    let key = test_key();
    let run = || {
        flow(
            dir.path(),
            Some(&key),
            &[
                "run",
                "refund.flow",
                "--event",
                "event.json",
                "--live",
                "--format",
                "json",
            ],
        )
    };
    let out = run();
    assert_eq!(out.code, 0, "{}", out.all());
    let report = out.report();
    assert_eq!(
        report["actions"][0]["account"], "acct_1Connected",
        "{report}"
    );
    assert_eq!(
        report["actions"][1]["account"], "acct_1Connected",
        "{report}"
    );
    let seen = stripe.seen();
    assert_eq!(seen.len(), 2);
    for s in &seen {
        assert_eq!(
            s.header("Stripe-Account"),
            Some("acct_1Connected"),
            "{} {}",
            s.method,
            s.target
        );
    }

    // An `account` that is not a connected account's id is refused, unsent.
    event["account"] = json!("acct_1\r\nX-Evil: 1");
    std::fs::write(dir.path().join("event.json"), event.to_string()).unwrap();
    let out = run();
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.report()["error"]
            .as_str()
            .unwrap_or("")
            .contains("is not a connected account's id"),
        "{}",
        out.all()
    );
    assert_eq!(stripe.seen().len(), 2, "nothing more was sent");
}

const LOOK_FOUR_TIMES: &str = r#"workflow "Look four times"
on radar.early_fraud_warning.created {
    let ch = retrieve charge
    let _again = retrieve charge
    let _once_more = retrieve charge
    let _and_again = retrieve charge
    refund charge: ch, amount: ch.amount, reason: "fraudulent"
}
"#;

#[test]
fn requests_wait_for_their_turn_under_the_rate_limit() {
    let stripe = fake_stripe(vec![
        ("GET", "/v1/charges/ch_1", vec![charge()]),
        ("POST", "/v1/refunds", vec![refund_ok()]),
    ]);
    let key = test_key();
    // Two requests a second: the run's five requests take three seconds of the clock
    // (two, two and one), so the first and the last are more than a second apart.
    let toml = format!("{}rate_limit = 2\n", stripe.toml(2.0, 3, 10.0));
    let dir = workdir(
        &toml,
        &[
            ("look.flow", LOOK_FOUR_TIMES),
            ("event.json", &warning("evt_rate_1")),
        ],
    );
    let out = flow(
        dir.path(),
        Some(&key),
        &["run", "look.flow", "--event", "event.json", "--live"],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let seen: Vec<_> = stripe.seen().into_iter().map(|s| s.at).collect();
    assert_eq!(seen.len(), 5, "{}", out.all());
    let spread = seen[4] - seen[0];
    assert!(
        spread > Duration::from_millis(1000),
        "five requests in {spread:?}"
    );
    // A limit that is not a number of requests a second is refused.
    let toml = format!("{}rate_limit = 0\n", stripe.toml(2.0, 3, 10.0));
    let (_dir, out) = run_refund(&toml, &key);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.all().contains(
            "[stripe] rate_limit: 0 is not a number of requests a second from 1 to 10000"
        ),
        "{}",
        out.all()
    );
}
