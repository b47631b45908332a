//! The recording bindings answer Stripe calls from the objects given with `--objects`,
//! so that the steps after a call run: `flow run … --objects DIR --format json`.

mod common;

use std::path::Path;

use common::{flow_ok, temp_file};
use serde_json::{json, Value};

/// `flow run FLOW --event EVENT --objects DIR --format json`: the one report.
fn run(flow: &Path, event: &Path, objects: &Path) -> Value {
    let path = |p: &Path| p.to_str().expect("temporary paths are UTF-8").to_string();
    let r = flow_ok(&[
        "run",
        &path(flow),
        "--event",
        &path(event),
        "--objects",
        &path(objects),
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    let reports: Vec<Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert_eq!(reports.len(), 1, "{reports:?}");
    reports.into_iter().next().unwrap_or(Value::Null)
}

fn invoice(id: &str, status: &str, created: i64) -> Value {
    json!({"id": id, "object": "invoice", "customer": "cus_R7ecord1ng", "status": status,
           "created": created, "currency": "usd", "amount_due": 2000, "livemode": false,
           "metadata": {}})
}

#[test]
fn a_list_of_the_customers_open_invoices_is_answered_from_the_objects() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let objects = dir.path().join("objects");
    std::fs::create_dir(&objects).expect("objects folder");
    let three = json!([
        invoice("in_Open1", "open", 1_767_000_100),
        invoice("in_Paid1", "paid", 1_767_000_200),
        invoice("in_Open2", "open", 1_767_000_300),
    ]);
    temp_file(&objects, "invoices.json", &three.to_string());
    let event = json!({
        "id": "evt_SubDeleted1", "object": "event", "type": "customer.subscription.deleted",
        "created": 1_767_225_600, "livemode": false,
        "data": {"object": {"id": "sub_Gone1", "object": "subscription",
                            "customer": "cus_R7ecord1ng", "status": "canceled",
                            "created": 1_766_000_000, "currency": "usd", "metadata": {}}}
    });
    let event = temp_file(dir.path(), "event.json", &event.to_string());
    let flow = temp_file(
        dir.path(),
        "open.flow",
        r#"on customer.subscription.deleted {
    let open = stripe.invoices.list(customer: customer, status: "open")
    email to: "ar@example.com", body: "{length(open)} open"
}
"#,
    );
    let report = run(&flow, &event, &objects);
    assert_eq!(report["status"], "succeeded", "{report}");
    assert_eq!(
        report["actions"][0],
        json!({"action": "stripe", "method": "invoices.list", "http": "GET /v1/invoices",
               "id": null, "account": null,
               "params": {"customer": "cus_R7ecord1ng", "status": "open", "limit": 100}})
    );
    assert_eq!(report["actions"][1]["action"], "email");
    assert_eq!(report["actions"][1]["body"], "2 open");
}

#[test]
fn a_created_credit_note_has_an_id_that_is_the_same_in_every_run() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let objects = dir.path().join("objects");
    std::fs::create_dir(&objects).expect("objects folder");
    let event = json!({
        "id": "evt_Overdue1", "object": "event", "type": "invoice.overdue",
        "created": 1_767_225_600, "livemode": false,
        "data": {"object": invoice("in_Late1", "open", 1_766_000_000)}
    });
    let event = temp_file(dir.path(), "event.json", &event.to_string());
    let flow = temp_file(
        dir.path(),
        "credit.flow",
        r#"on invoice.overdue {
    let cn = stripe.credit_notes.create(invoice: id, amount: 5 USD, reason: "order_change")
    email to: "ar@example.com", body: "{cn.id}"
}
"#,
    );
    let first = run(&flow, &event, &objects);
    assert_eq!(first["status"], "succeeded", "{first}");
    assert_eq!(first["actions"][0]["method"], "credit_notes.create");
    assert_eq!(
        first["actions"][0]["params"],
        json!({"invoice": "in_Late1", "amount": 500, "reason": "order_change"})
    );
    let body = first["actions"][1]["body"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        body.starts_with("cn_") && body.len() > "cn_".len(),
        "the e-mail names the new credit note: {body:?}"
    );
    let second = run(&flow, &event, &objects);
    assert_eq!(second["actions"][1]["body"], body.as_str());
}
