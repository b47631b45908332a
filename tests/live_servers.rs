//! `flow run --live` against real servers on loopback: localstripe (a fake but
//! stateful Stripe API) and aiosmtpd (a mail server that keeps what it receives in a
//! folder, see tests/servers/). `.ci/run` starts them and passes their addresses:
//!
//! - `FLOW_TEST_STRIPE_API`  e.g. `http://127.0.0.1:8420`
//! - `FLOW_TEST_SMTP`        e.g. `smtp://127.0.0.1:8025`
//! - `FLOW_TEST_MAIL_DIR`    the folder the mail server writes to
//!
//! Without them these tests show as ignored in `cargo test`; `.ci/run` runs them
//! with `--ignored`, and there a missing server fails them.
//!
//! Each test makes its own customer and payment on localstripe through its API,
//! builds the event Stripe would send, runs a flow with `--live`, and reads back
//! from localstripe and from the mail folder what the run did.

#[path = "common/live.rs"]
mod common;

#[path = "common/localstripe.rs"]
mod localstripe;

use common::{flow, test_key, workdir};
use localstripe::{servers, unique, Servers};
use serde_json::{json, Value as Json};

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
#[ignore = "needs localstripe and the mail server: .ci/run starts them and runs these tests"]
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
#[ignore = "needs localstripe and the mail server: .ci/run starts them and runs these tests"]
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
#[ignore = "needs localstripe and the mail server: .ci/run starts them and runs these tests"]
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
#[ignore = "needs localstripe and the mail server: .ci/run starts them and runs these tests"]
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
#[ignore = "needs localstripe and the mail server: .ci/run starts them and runs these tests"]
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
        json!([{"action": "retrieve", "object": "charge", "id": charge, "account": null}])
    );
    let refunds = s.call("GET", &format!("/v1/refunds?charge={charge}"), &[]);
    assert_eq!(refunds["data"], json!([]));
}

#[test]
#[ignore = "needs localstripe and the mail server: .ci/run starts them and runs these tests"]
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
#[ignore = "needs localstripe and the mail server: .ci/run starts them and runs these tests"]
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

const TAG_VIP_BY_METHOD: &str = r#"workflow "Tag VIP"
on payment_intent.succeeded {
    stripe.customers.update(customer, metadata: {"Tier": "VIP"})
}
"#;

#[test]
#[ignore = "needs localstripe and the mail server: .ci/run starts them and runs these tests"]
fn customers_update_sets_the_metadata_on_stripe() {
    let Some(s) = servers("customers_update_sets_the_metadata_on_stripe") else {
        return;
    };
    let (pi, _) = s.payment(1_000, "usd", &[]);
    let cus = pi["customer"]
        .as_str()
        .expect("the payment has a customer")
        .to_string();
    let (_dir, out) = run_live(
        &s,
        TAG_VIP_BY_METHOD,
        &event("payment_intent.succeeded", pi),
    );
    assert_eq!(out.code, 0, "the run should succeed:\n{}", out.all());
    let report = out.report();
    assert_eq!(
        report["actions"],
        json!([{"action": "stripe", "method": "customers.update",
            "http": format!("POST /v1/customers/{cus}"), "id": cus, "account": null,
            "params": {"metadata": {"Tier": "VIP"}}}]),
        "the recorded action"
    );
    assert!(
        out.stderr
            .contains(&format!("POST /v1/customers/{cus} (Idempotency-Key: flow_")),
        "the update should be sent with a key:\n{}",
        out.stderr
    );

    let customer = s.call("GET", &format!("/v1/customers/{cus}"), &[]);
    assert_eq!(
        customer["metadata"]["Tier"], "VIP",
        "localstripe's customer after the run: {customer}"
    );
}

const COPY_EMAIL_BY_METHOD: &str = r#"workflow "Copy the e-mail"
on payment_intent.succeeded {
    let c = stripe.customers.retrieve(customer)
    stripe.customers.update(customer, metadata: {"Contact": "{c.email}"})
}
"#;

#[test]
#[ignore = "needs localstripe and the mail server: .ci/run starts them and runs these tests"]
fn customers_retrieve_answers_the_customer_stripe_has() {
    let Some(s) = servers("customers_retrieve_answers_the_customer_stripe_has") else {
        return;
    };
    let (pi, _) = s.payment(1_000, "usd", &[]);
    let cus = pi["customer"]
        .as_str()
        .expect("the payment has a customer")
        .to_string();
    let email = s.call("GET", &format!("/v1/customers/{cus}"), &[])["email"]
        .as_str()
        .expect("the customer has an e-mail")
        .to_string();
    let (_dir, out) = run_live(
        &s,
        COPY_EMAIL_BY_METHOD,
        &event("payment_intent.succeeded", pi),
    );
    assert_eq!(out.code, 0, "the run should succeed:\n{}", out.all());
    let report = out.report();
    assert_eq!(
        report["actions"][0],
        json!({"action": "stripe", "method": "customers.retrieve",
            "http": format!("GET /v1/customers/{cus}"), "id": cus, "account": null,
            "params": {}}),
        "the recorded retrieve"
    );

    // The retrieved customer's e-mail, written back by the update.
    let customer = s.call("GET", &format!("/v1/customers/{cus}"), &[]);
    assert_eq!(
        customer["metadata"]["Contact"], email,
        "localstripe's customer after the run: {customer}"
    );
}
