//! `flow serve --live` end to end with a real peer: localstripe delivers its signed
//! `payment_intent.succeeded` webhooks to the server, which runs Tag valuable
//! customers against localstripe itself; the test reads the customer's `Tier: VIP`
//! back from localstripe. localstripe sends an older API version's payload, with
//! fewer fields than the schema: what is absent must read as the schema says.
//!
//! Needs the servers `.ci/run` starts (see tests/common/localstripe.rs): without them
//! it is ignored in a plain `cargo test`; `.ci/run` runs it with `--ignored`.

#[path = "common/localstripe.rs"]
mod localstripe;
mod serve_support;

use std::time::{Duration, Instant};

use serve_support::{count, flows_dir, start_with, SECRET};

const TAG: &str = include_str!("../stdlib/templates/tag_valuable_customers.flow");

#[test]
#[ignore = "needs localstripe and the mail server: .ci/run starts them and runs these tests"]
fn localstripe_webhooks_run_tag_valuable_customers_live() {
    let Some(s) = localstripe::servers("localstripe_webhooks_run_tag_valuable_customers_live")
    else {
        return;
    };
    let toml = s.toml();
    let dir = flows_dir(&[("tag.flow", TAG), ("flow.toml", &toml)]);
    let server = start_with(
        dir.path(),
        &["--live"],
        &[
            ("STRIPE_WEBHOOK_SECRET", SECRET),
            ("STRIPE_API_KEY", "sk_test_flow_serve_e2e"),
        ],
    );

    // localstripe signs and posts its events to the server, as Stripe would.
    let hook = format!("flow_e2e_{}", localstripe::unique());
    let url = format!("http://{}/webhook", server.addr);
    s.call(
        "POST",
        &format!("/_config/webhooks/{hook}"),
        &[
            ("url", url.as_str()),
            ("secret", SECRET),
            ("events[]", "payment_intent.succeeded"),
        ],
    );

    // A customer pays 2,500.00 USD: over both thresholds of the template.
    let (pi, _charge) = s.payment(250_000, "usd", &[]);
    let customer = pi["customer"]
        .as_str()
        .expect("the payment's customer")
        .to_string();

    let deadline = Instant::now() + Duration::from_secs(30);
    let tier = loop {
        let c = s.call("GET", &format!("/v1/customers/{customer}"), &[]);
        let tier = c["metadata"]["Tier"].as_str().map(str::to_string);
        if tier.is_some() || Instant::now() > deadline {
            break tier;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        tier.as_deref(),
        Some("VIP"),
        "the customer was tagged through the webhook; server log:\n{}",
        server.log_text()
    );

    // The run log has the event, verified and recorded, and its succeeded run.
    let pi_id = pi["id"].as_str().unwrap();
    let events = count(
        dir.path(),
        &format!("SELECT count(*) FROM events WHERE payload LIKE '%{pi_id}%'"),
    );
    assert_eq!(events, 1, "one event for the payment");
    let succeeded = || {
        count(
            dir.path(),
            &format!(
                "SELECT count(*) FROM runs r JOIN events e ON e.id = r.event_id \
                 WHERE e.payload LIKE '%{pi_id}%' AND r.status = 'succeeded'"
            ),
        )
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while succeeded() == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let succeeded = succeeded();
    assert_eq!(succeeded, 1, "{}", server.log_text());
    // And the thank-you e-mail went out through the mail server, with the customer.
    let mails = s.mail(|m| {
        m["body"]
            .as_str()
            .is_some_and(|b| b.contains(customer.as_str()))
    });
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(
        mails[0]["rcpt_tos"],
        serde_json::json!(["fulfillment@example.com"])
    );
}
