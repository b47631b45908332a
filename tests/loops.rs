//! `for` loops end to end, as the issue that brought them says they are done: the
//! open invoices of a customer whose subscription ended, nested loops, and a list
//! longer than a loop takes.

mod common;
use common::*;
use serde_json::{json, Value};

/// `flow run FLOW --event EVENT --objects DIR --format json` in a folder of its own.
fn run_in(dir: &std::path::Path, flow: &str, event: Value, objects: &[Value]) -> Value {
    let flow_file = temp_file(dir, "loop.flow", flow);
    let event_file = temp_file(dir, "event.json", &event.to_string());
    let objects_dir = dir.join("objects");
    std::fs::create_dir_all(&objects_dir).expect("a folder");
    temp_file(
        &objects_dir,
        "all.json",
        &Value::Array(objects.to_vec()).to_string(),
    );
    let r = flow_ok(&[
        "run",
        flow_file.to_str().expect("a path"),
        "--event",
        event_file.to_str().expect("a path"),
        "--objects",
        objects_dir.to_str().expect("a path"),
        "--format",
        "json",
    ]);
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    serde_json::from_str(r.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {}", r.stdout))
}

fn deleted(customer: &str) -> Value {
    json!({
        "id": "evt_sub_deleted", "object": "event", "type": "customer.subscription.deleted",
        "created": 1764864000, "livemode": false,
        "data": { "object": { "id": "sub_1", "object": "subscription", "customer": customer, "status": "canceled" } },
    })
}

fn invoice(
    id: &str,
    customer: &str,
    status: &str,
    number: &str,
    remaining: i64,
    created: i64,
) -> Value {
    json!({ "id": id, "object": "invoice", "customer": customer, "status": status, "number": number,
            "amount_remaining": remaining, "currency": "usd", "created": created, "metadata": {} })
}

const FLAG: &str = r#"on customer.subscription.deleted {
    for inv in stripe.invoices.list(customer: customer, status: "open") {
        update inv.metadata.write_off_review = "true"
        email to: "ar@example.com", body: "Invoice {inv.number} ({inv.amount_remaining}) of {customer} is still open."
    }
}
"#;

#[test]
fn two_open_invoices_of_three_get_an_update_and_an_email_each_in_order() {
    let dir = tempfile::tempdir().expect("a folder");
    let report = run_in(
        dir.path(),
        FLAG,
        deleted("cus_1"),
        &[
            invoice("in_old", "cus_1", "open", "A-1", 1000, 1_764_000_001),
            invoice("in_paid", "cus_1", "paid", "A-2", 0, 1_764_000_002),
            invoice("in_new", "cus_1", "open", "A-3", 2500, 1_764_000_003),
            invoice("in_other", "cus_2", "open", "B-1", 700, 1_764_000_004),
        ],
    );
    assert_eq!(report["status"], "succeeded", "{report:#}");
    let email = |n: &str, amount: &str| {
        json!({ "action": "email", "to": ["ar@example.com"], "subject": null,
                "body": format!("Invoice {n} ({amount}) of cus_1 is still open."), "append": [] })
    };
    let update = |id: &str| {
        json!({ "action": "update", "object": "invoice", "id": id, "account": null,
                "params": { "metadata": { "write_off_review": "true" } } })
    };
    assert_eq!(
        report["actions"],
        json!([
            { "action": "stripe", "method": "invoices.list", "http": "GET /v1/invoices", "id": null,
              "account": null, "params": { "customer": "cus_1", "status": "open", "limit": 100 } },
            update("in_new"),
            email("A-3", "25.00 USD"),
            update("in_old"),
            email("A-1", "10.00 USD"),
        ])
    );
    assert_eq!(
        report["loops"],
        json!([{ "at": format!("{}:2:16", dir.path().join("loop.flow").display()), "limit": 100, "iterations": 2, "truncated": false }])
    );
}

#[test]
fn nested_loops_go_through_each_customers_open_invoices() {
    let dir = tempfile::tempdir().expect("a folder");
    let flow = r#"on customer.subscription.deleted {
    for c in stripe.customers.list(email: "team@example.com") {
        for inv in stripe.invoices.list(customer: c, status: "open") {
            email to: "ar@example.com", body: "{c.id}: {inv.id}"
        }
    }
}
"#;
    let customer = |id: &str, created: i64| json!({ "id": id, "object": "customer", "email": "team@example.com", "created": created, "metadata": {} });
    let report = run_in(
        dir.path(),
        flow,
        deleted("cus_a"),
        &[
            customer("cus_a", 1),
            customer("cus_b", 2),
            json!({ "id": "cus_x", "object": "customer", "email": "other@example.com", "created": 3, "metadata": {} }),
            invoice("in_a1", "cus_a", "open", "A-1", 100, 10),
            invoice("in_a2", "cus_a", "open", "A-2", 100, 11),
            invoice("in_b1", "cus_b", "open", "B-1", 100, 12),
            invoice("in_b2", "cus_b", "paid", "B-2", 0, 13),
            invoice("in_x1", "cus_x", "open", "X-1", 100, 14),
        ],
    );
    assert_eq!(report["status"], "succeeded", "{report:#}");
    let bodies: Vec<&str> = report["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .filter_map(|a| a["body"].as_str())
        .collect();
    // Newest first at each level: cus_b before cus_a, A-2 before A-1.
    assert_eq!(bodies, ["cus_b: in_b1", "cus_a: in_a2", "cus_a: in_a1"]);
    let loops = report["loops"].as_array().expect("loops");
    assert_eq!(loops.len(), 2, "{report:#}");
    assert_eq!(
        loops[1]["iterations"], 3,
        "the inner loop's body ran 3 times over 2 entries"
    );
}

#[test]
fn a_list_of_250_items_with_the_default_limit_is_cut_and_reported() {
    let dir = tempfile::tempdir().expect("a folder");
    let objects: Vec<Value> = (0..250)
        .map(|i| {
            invoice(
                &format!("in_{i:03}"),
                "cus_1",
                "open",
                &format!("N-{i}"),
                100,
                1_764_000_000 + i,
            )
        })
        .collect();
    let flow = "on customer.subscription.deleted {\n    for inv in stripe.invoices.list(customer: customer, status: \"open\") {\n        email to: \"ar@example.com\", body: \"{inv.id}\"\n    }\n}\n";
    let report = run_in(dir.path(), flow, deleted("cus_1"), &objects);
    assert_eq!(report["status"], "succeeded", "{report:#}");
    let actions = report["actions"].as_array().expect("actions");
    let pages: Vec<&Value> = actions.iter().filter(|a| a["action"] == "stripe").collect();
    let emails = actions.iter().filter(|a| a["action"] == "email").count();
    assert_eq!(emails, 100);
    // 101 items asked for, so that a longer list can be told: a page of 100, then 1.
    assert_eq!(pages.len(), 2, "{pages:#?}");
    assert_eq!(pages[1]["params"]["limit"], 1);
    assert_eq!(pages[1]["params"]["starting_after"], "in_150");
    assert_eq!(report["loops"][0]["truncated"], true);
    assert_eq!(report["loops"][0]["iterations"], 100);
    let text = flow_ok(&[
        "run",
        dir.path().join("loop.flow").to_str().expect("a path"),
        "--event",
        dir.path().join("event.json").to_str().expect("a path"),
        "--objects",
        dir.path().join("objects").to_str().expect("a path"),
    ]);
    assert!(
        text.stdout
            .contains("took only the first 100 items of a longer list"),
        "{}",
        text.stdout
    );
    let wider = run_in(
        dir.path(),
        &flow.replace(") {\n        email", ") limit 300 {\n        email"),
        deleted("cus_1"),
        &objects,
    );
    assert_eq!(
        wider["loops"][0]["truncated"], false,
        "{:#}",
        wider["loops"]
    );
    assert_eq!(wider["loops"][0]["iterations"], 250);
}
