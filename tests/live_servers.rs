//! `flow run --live` against real servers on loopback: localstripe (a fake but
//! stateful Stripe API) and aiosmtpd (a mail server that keeps what it receives in a
//! folder, see tests/servers/). `.ci/run` starts them and passes their addresses:
//!
//! - `FLOW_TEST_STRIPE_API`  e.g. `http://127.0.0.1:8420`
//! - `FLOW_TEST_SMTP`        e.g. `smtp://127.0.0.1:8025`
//! - `FLOW_TEST_MAIL_DIR`    the folder the mail server writes to
//!
//! Without them these tests skip with a message, except under `CI=true`, where they
//! fail instead.
//!
//! Each test makes its own customer and payment on localstripe through its API,
//! builds the event Stripe would send, runs a flow with `--live`, and reads back
//! from localstripe and from the mail folder what the run did.

#[path = "common/live.rs"]
mod common;

use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{flow, test_key, workdir};
use serde_json::{json, Value as Json};

struct Servers {
    stripe: String,
    smtp: String,
    mail_dir: PathBuf,
    /// For the tests' own calls to localstripe.
    agent: ureq::Agent,
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

fn reachable(host_port: &str) -> bool {
    host_port
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .is_some_and(|a| TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok())
}

/// The servers, or `None` (with a message) when they are not there outside CI.
fn servers(test: &str) -> Option<Servers> {
    let stripe = std::env::var("FLOW_TEST_STRIPE_API").unwrap_or_default();
    let smtp = std::env::var("FLOW_TEST_SMTP").unwrap_or_default();
    let mail_dir = std::env::var("FLOW_TEST_MAIL_DIR").unwrap_or_default();
    let problem = if stripe.is_empty() || smtp.is_empty() || mail_dir.is_empty() {
        Some(
            "FLOW_TEST_STRIPE_API, FLOW_TEST_SMTP and FLOW_TEST_MAIL_DIR are not all set"
                .to_string(),
        )
    } else if !reachable(stripe.trim_start_matches("http://").trim_end_matches('/')) {
        Some(format!("localstripe is not answering at {stripe}"))
    } else if !reachable(smtp.trim_start_matches("smtp://")) {
        Some(format!("the mail server is not answering at {smtp}"))
    } else if !Path::new(&mail_dir).is_dir() {
        Some(format!("the mail folder {mail_dir} does not exist"))
    } else {
        None
    };
    if let Some(p) = problem {
        if in_ci() {
            panic!("{test}: {p}; under CI these tests must run (.ci/run starts the servers)");
        }
        // Straight to stderr, past the test harness's capture, so it is seen.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test}: {p} (run .ci/run, or start the servers in tests/servers/)"
        );
        return None;
    }
    Some(Servers {
        stripe,
        smtp,
        mail_dir: PathBuf::from(mail_dir),
        agent: ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into(),
    })
}

/// A number for names that no other test run uses.
fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{nanos}")
}

impl Servers {
    fn call(&self, method: &str, path: &str, form: &[(&str, &str)]) -> Json {
        let url = format!("{}{path}", self.stripe);
        let auth = "Bearer sk_test_localstripe";
        let result = if method == "GET" {
            self.agent.get(&url).header("Authorization", auth).call()
        } else {
            self.agent
                .post(&url)
                .header("Authorization", auth)
                .send_form(form.iter().copied())
        };
        let mut resp = result.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = resp.status().as_u16();
        let body = resp.body_mut().read_to_string().expect("body");
        assert!(status < 300, "{method} {path}: {status} {body}");
        serde_json::from_str(&body).expect("JSON")
    }

    /// A customer who paid `amount` (minor units) by card: the confirmed
    /// PaymentIntent as Stripe would put it in an event, and its charge's id.
    fn payment(&self, amount: i64, currency: &str, metadata: &[(&str, &str)]) -> (Json, String) {
        let email = format!("jenny.{}@example.com", unique());
        let customer = self.call("POST", "/v1/customers", &[("email", &email)]);
        let cus = customer["id"].as_str().expect("customer id").to_string();
        let pm = self.call(
            "POST",
            "/v1/payment_methods",
            &[
                ("type", "card"),
                ("card[number]", "4242424242424242"),
                ("card[exp_month]", "12"),
                ("card[exp_year]", "2030"),
                ("card[cvc]", "123"),
            ],
        );
        let pm = pm["id"].as_str().expect("pm id").to_string();
        let amount = amount.to_string();
        let meta_keys: Vec<String> = metadata
            .iter()
            .map(|(k, _)| format!("metadata[{k}]"))
            .collect();
        let mut form = vec![
            ("amount", amount.as_str()),
            ("currency", currency),
            ("customer", cus.as_str()),
            ("payment_method", pm.as_str()),
        ];
        for (k, (_, v)) in meta_keys.iter().zip(metadata) {
            form.push((k.as_str(), v));
        }
        let pi = self.call("POST", "/v1/payment_intents", &form);
        let pi_id = pi["id"].as_str().expect("pi id").to_string();
        let confirmed = self.call("POST", &format!("/v1/payment_intents/{pi_id}/confirm"), &[]);
        assert_eq!(confirmed["status"], "succeeded", "{confirmed}");
        let charge = confirmed["charges"]["data"][0]["id"]
            .as_str()
            .or_else(|| confirmed["latest_charge"].as_str())
            .expect("a charge")
            .to_string();
        let pi = self.call("GET", &format!("/v1/payment_intents/{pi_id}"), &[]);
        (pi, charge)
    }

    /// flow.toml for these servers.
    fn toml(&self) -> String {
        format!(
            "[stripe]\napi_base = \"{}\"\ntimeout = 10\nmax_network_retries = 2\nmax_retry_time = 20\n\n\
             [email]\nfrom = \"Flow <flow@example.com>\"\nsmtp = \"{}\"\n",
            self.stripe, self.smtp
        )
    }

    /// The messages the mail server received that match `pred`, waiting a little
    /// for them to arrive.
    fn mail(&self, pred: impl Fn(&Json) -> bool) -> Vec<Json> {
        let start = Instant::now();
        loop {
            let mut found = Vec::new();
            if let Ok(entries) = std::fs::read_dir(&self.mail_dir) {
                for e in entries.flatten() {
                    let p = e.path();
                    if p.extension().and_then(|e| e.to_str()) != Some("json") {
                        continue;
                    }
                    let Ok(text) = std::fs::read_to_string(&p) else {
                        continue;
                    };
                    let Ok(m) = serde_json::from_str::<Json>(&text) else {
                        continue;
                    };
                    if pred(&m) {
                        found.push(m);
                    }
                }
            }
            if !found.is_empty() || start.elapsed() > Duration::from_secs(5) {
                return found;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn event(kind: &str, object: Json) -> String {
    json!({
        "id": format!("evt_live{}", unique()),
        "object": "event",
        "api_version": "2026-07-29.dahlia",
        "created": 1764160000,
        "livemode": false,
        "type": kind,
        "data": {"object": object},
    })
    .to_string()
}

fn fraud_warning(charge: &str) -> String {
    event(
        "radar.early_fraud_warning.created",
        json!({"id": format!("issfr_{}", unique()), "object": "radar.early_fraud_warning",
            "actionable": true, "charge": charge, "created": 1764159990,
            "fraud_type": "made_with_stolen_card", "livemode": false}),
    )
}

fn run_live(s: &Servers, flow_src: &str, event: &str) -> (tempfile::TempDir, common::Output) {
    let dir = workdir(&s.toml(), &[("w.flow", flow_src), ("event.json", event)]);
    let key = test_key();
    let out = flow(
        dir.path(),
        Some(&key),
        &[
            "run",
            "w.flow",
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
fn tag_valuable_customers_marks_a_vip_and_emails_fulfillment() {
    let Some(s) = servers("tag_valuable_customers_marks_a_vip_and_emails_fulfillment") else {
        return;
    };
    let (pi, _) = s.payment(250_000, "usd", &[]);
    let cus = pi["customer"].as_str().unwrap().to_string();
    let (_dir, out) = run_live(
        &s,
        &common::template("tag_valuable_customers.flow"),
        &event("payment_intent.succeeded", pi),
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let report = out.report();
    assert_eq!(report["status"], "succeeded", "{report}");
    let kinds: Vec<&str> = report["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["action"].as_str())
        .collect();
    assert_eq!(kinds, ["email", "update"]);

    // localstripe has the customer's new metadata.
    let customer = s.call("GET", &format!("/v1/customers/{cus}"), &[]);
    assert_eq!(customer["metadata"]["Tier"], "VIP", "{customer}");

    // The mail server has the e-mail, with its fields.
    let mails = s.mail(|m| m["body"].as_str().is_some_and(|b| b.contains(&cus)));
    assert_eq!(mails.len(), 1, "{mails:?}");
    let m = &mails[0];
    assert_eq!(m["mail_from"], "flow@example.com");
    assert_eq!(m["from"], "Flow <flow@example.com>");
    assert_eq!(m["rcpt_tos"], json!(["fulfillment@example.com"]));
    assert_eq!(m["subject"], "Tag valuable customers");
    assert_eq!(m["content_type"], "text/plain");
    assert!(
        m["message_id"].as_str().unwrap().starts_with("<flow_"),
        "{m}"
    );
    let body = m["body"].as_str().unwrap().replace("\r\n", "\n");
    // Exactly what `flow preview` shows: the body, then the fields as a table.
    let expected = flow::bindings::message_text(
        "Please add a handwritten thank-you note before shipping.",
        &[
            ("Customer ID".to_string(), cus.to_string()),
            ("Amount".to_string(), "2500.00 USD".to_string()),
        ],
    );
    assert_eq!(body.trim_end(), expected.trim_end(), "{body}");
}

#[test]
fn a_smaller_payment_is_thanked_but_not_made_vip() {
    let Some(s) = servers("a_smaller_payment_is_thanked_but_not_made_vip") else {
        return;
    };
    let (pi, _) = s.payment(150_000, "usd", &[]);
    let cus = pi["customer"].as_str().unwrap().to_string();
    let (_dir, out) = run_live(
        &s,
        &common::template("tag_valuable_customers.flow"),
        &event("payment_intent.succeeded", pi),
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(out.report()["actions"].as_array().map(Vec::len), Some(1));
    let customer = s.call("GET", &format!("/v1/customers/{cus}"), &[]);
    assert_eq!(customer["metadata"].get("Tier"), None, "{customer}");
    let mails = s.mail(|m| m["body"].as_str().is_some_and(|b| b.contains(&cus)));
    assert_eq!(mails.len(), 1);
    assert!(mails[0]["body"].as_str().unwrap().contains("1500.00 USD"));
}

#[test]
fn personalize_orders_emails_the_order_details() {
    let Some(s) = servers("personalize_orders_emails_the_order_details") else {
        return;
    };
    let order = format!("A-{}", unique());
    let (pi, _) = s.payment(72_050, "usd", &[("order_id", &order)]);
    let (_dir, out) = run_live(
        &s,
        &common::template("personalize_orders.flow"),
        &event("payment_intent.succeeded", pi),
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let subject = format!("Personalize order {order}");
    let mails = s.mail(|m| m["subject"].as_str() == Some(subject.as_str()));
    assert_eq!(mails.len(), 1);
    let body = mails[0]["body"].as_str().unwrap().replace("\r\n", "\n");
    assert!(body.contains("A 720.50 USD order just came in."), "{body}");
    assert!(
        body.contains(&format!("| {:<11} | {order}", "Order")),
        "{body}"
    );
}

const REFUND_WITHOUT_REASON: &str = r#"workflow "Refund small fraud"
on radar.early_fraud_warning.created {
    let ch = retrieve charge
    if ch.amount < dispute_fee {
        refund charge: ch, amount: ch.amount, metadata: { "warning": id }
    }
}
"#;

#[test]
fn a_refund_is_created_on_stripe() {
    let Some(s) = servers("a_refund_is_created_on_stripe") else {
        return;
    };
    let (_, charge) = s.payment(1_200, "usd", &[]);
    let (_dir, out) = run_live(&s, REFUND_WITHOUT_REASON, &fraud_warning(&charge));
    assert_eq!(out.code, 0, "{}", out.all());
    let report = out.report();
    assert_eq!(report["status"], "succeeded", "{report}");
    assert_eq!(report["actions"][1]["params"]["amount"], 1200);
    assert!(
        out.stderr
            .contains("POST /v1/refunds (Idempotency-Key: flow_"),
        "{}",
        out.stderr
    );

    let refunds = s.call("GET", &format!("/v1/refunds?charge={charge}"), &[]);
    let data = refunds["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "{refunds}");
    assert_eq!(data[0]["amount"], 1200);
    assert_eq!(data[0]["currency"], "usd");
    assert_eq!(data[0]["status"], "succeeded");
    assert!(data[0]["metadata"]["warning"]
        .as_str()
        .unwrap()
        .starts_with("issfr_"));
}

#[test]
fn a_refund_stripe_refuses_shows_its_message_in_the_report() {
    let Some(s) = servers("a_refund_stripe_refuses_shows_its_message_in_the_report") else {
        return;
    };
    // The template refunds with `reason: "fraudulent"`, which localstripe refuses.
    let (_, charge) = s.payment(1_200, "usd", &[]);
    let (_dir, out) = run_live(
        &s,
        &common::template("take_action_on_fraud_warnings.flow"),
        &fraud_warning(&charge),
    );
    assert_eq!(out.code, 1, "{}", out.all());
    let report = out.report();
    assert_eq!(report["status"], "failed");
    let error = report["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("POST /v1/refunds: Stripe answered 400 invalid_request_error"),
        "{error}"
    );
    assert!(error.contains("Unexpected reason"), "{error}");
    // The retrieve done before stays in the report.
    assert_eq!(
        report["actions"],
        json!([{"action": "retrieve", "object": "charge", "id": charge}])
    );
    let refunds = s.call("GET", &format!("/v1/refunds?charge={charge}"), &[]);
    assert_eq!(refunds["data"], json!([]));
}

#[test]
fn a_large_charge_is_sent_to_the_risk_team() {
    let Some(s) = servers("a_large_charge_is_sent_to_the_risk_team") else {
        return;
    };
    let (_, charge) = s.payment(2_500, "usd", &[]);
    let (_dir, out) = run_live(
        &s,
        &common::template("take_action_on_fraud_warnings.flow"),
        &fraud_warning(&charge),
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let mails = s.mail(|m| m["body"].as_str().is_some_and(|b| b.contains(&charge)));
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0]["rcpt_tos"], json!(["risk@example.com"]));
    assert_eq!(mails[0]["subject"], "Take action based on fraud warnings");
    let body = mails[0]["body"].as_str().unwrap().replace("\r\n", "\n");
    assert!(
        body.contains(&format!("| Charge ID | {charge} |\n")),
        "{body}"
    );
    assert!(body.contains("| Amount    | 25.00 USD"), "{body}");
    let refunds = s.call("GET", &format!("/v1/refunds?charge={charge}"), &[]);
    assert_eq!(refunds["data"], json!([]));
}

#[test]
fn a_missing_object_fails_with_stripes_answer() {
    let Some(s) = servers("a_missing_object_fails_with_stripes_answer") else {
        return;
    };
    let (_dir, out) = run_live(
        &s,
        &common::template("take_action_on_fraud_warnings.flow"),
        &fraud_warning("ch_doesnotexist"),
    );
    assert_eq!(out.code, 1, "{}", out.all());
    let error = out.report()["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        error.contains("GET /v1/charges/ch_doesnotexist: Stripe answered 404"),
        "{error}"
    );
}
