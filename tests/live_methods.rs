//! `flow run --live` calling Stripe API methods (`stripe.invoices.void_invoice(id)`,
//! `stripe.customers.update(…)`, `stripe.invoices.list(…)`, …) against a stand-in
//! Stripe on loopback, served from inside the test: the requests it receives (verb,
//! escaped path, query or form body, `Idempotency-Key`, `Stripe-Account`) and what the
//! run's report records.

#[path = "common/live.rs"]
mod common;

#[path = "common/standin.rs"]
mod standin;

use std::collections::BTreeSet;

use common::{flow, test_key, workdir};
use serde_json::{json, Value as Json};
use standin::{Reply, Script, Seen, StandIn};

impl Seen {
    /// The query's pairs, decoded, in order.
    fn query(&self) -> Vec<(String, String)> {
        self.target
            .split_once('?')
            .map(|(_, q)| decode_form(q))
            .unwrap_or_default()
    }

    /// The form body's pairs, decoded, in order.
    fn form(&self) -> Vec<(String, String)> {
        decode_form(&self.body)
    }
}

/// `a=1&b%5Bc%5D=x+y` → `[("a", "1"), ("b[c]", "x y")]`.
fn decode_form(text: &str) -> Vec<(String, String)> {
    fn decode(part: &str) -> String {
        let bytes = part.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("ASCII escape");
                    out.push(u8::from_str_radix(hex, 16).expect("a %XX escape"));
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).expect("UTF-8 after decoding")
    }
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn pairs(items: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Status and JSON body.
type Answer = (u16, Json);

fn ok(body: Json) -> Answer {
    (200, body)
}

/// An answer as Stripe sends it, with a `Request-Id`.
fn reply((status, body): Answer) -> Reply {
    Reply::Answer(
        status,
        vec![("Request-Id", "req_standin".to_string())],
        body.to_string(),
    )
}

/// A stand-in Stripe: for each `VERB /path` (the query left out), answers in order
/// (the last one repeats); anything else gets Stripe's 404.
fn stand_in(routes: Vec<(&str, &str, Vec<Answer>)>) -> StandIn {
    StandIn::start(Script {
        routes: routes
            .into_iter()
            .map(|(verb, path, answers)| (verb, path, answers.into_iter().map(reply).collect()))
            .collect(),
        otherwise: reply(stripe_error(404, "resource_missing", "No such route")),
        match_query: false,
    })
}

impl StandIn {
    fn toml(&self) -> String {
        format!(
            "[stripe]\napi_base = \"{}\"\ntimeout = 2\nmax_network_retries = 1\nmax_retry_time = 5\n",
            self.url("")
        )
    }
}

fn stripe_error(status: u16, code: &str, message: &str) -> Answer {
    (
        status,
        json!({"error": {"type": "invalid_request_error", "code": code, "message": message}}),
    )
}

/// An event of `kind` about `object`, from `account` when given.
fn event(id: &str, kind: &str, object: Json, account: Option<&str>) -> String {
    let mut e = json!({
        "id": id, "object": "event", "type": kind, "created": 1764160000,
        "livemode": false, "data": {"object": object},
    });
    if let Some(a) = account {
        e["account"] = json!(a);
    }
    e.to_string()
}

fn overdue(invoice: &str) -> String {
    overdue_in(invoice, None)
}

fn overdue_in(invoice: &str, account: Option<&str>) -> String {
    event(
        "evt_overdue_1",
        "invoice.overdue",
        json!({"id": invoice, "object": "invoice", "customer": "cus_1",
            "currency": "usd", "status": "open"}),
        account,
    )
}

fn invoice(id: &str, status: &str) -> Json {
    json!({"id": id, "object": "invoice", "customer": "cus_1", "currency": "usd",
        "status": status})
}

fn customer(id: &str) -> Json {
    json!({"id": id, "object": "customer", "metadata": {}})
}

/// Run `source` (a workflow file) on `event` with `--live` against `stripe`.
fn run(stripe: &StandIn, source: &str, event: &str) -> common::Output {
    let dir = workdir(&stripe.toml(), &[("w.flow", source), ("event.json", event)]);
    flow(
        dir.path(),
        Some(&test_key()),
        &[
            "run",
            "w.flow",
            "--event",
            "event.json",
            "--live",
            "--format",
            "json",
        ],
    )
}

/// Run and expect the run to succeed; its report.
fn run_ok(stripe: &StandIn, source: &str, event: &str) -> Json {
    let out = run(stripe, source, event);
    assert_eq!(out.code, 0, "the run should succeed:\n{}", out.all());
    let report = out.report();
    assert_eq!(report["status"], "succeeded", "{report:#}");
    report
}

const VOID: &str = r#"workflow "Void overdue invoices"
on invoice.overdue {
    stripe.invoices.void_invoice(id)
}
"#;

#[test]
fn void_invoice_posts_once_to_the_void_path_with_an_idempotency_key() {
    let stripe = stand_in(vec![(
        "POST",
        "/v1/invoices/in_1Void/void",
        vec![ok(invoice("in_1Void", "void"))],
    )]);
    let report = run_ok(&stripe, VOID, &overdue("in_1Void"));

    let req = stripe.one();
    assert_eq!(
        (req.method.as_str(), req.target.as_str()),
        ("POST", "/v1/invoices/in_1Void/void")
    );
    let key = req
        .header("Idempotency-Key")
        .expect("a POST carries an Idempotency-Key");
    assert!(key.starts_with("flow_"), "unexpected key {key}");
    assert_eq!(
        req.header("Stripe-Account"),
        None,
        "a platform event acts on the platform"
    );
    assert_eq!(req.body, "", "void_invoice sends no parameters");
    assert_eq!(
        report["actions"],
        json!([{"action": "stripe", "method": "invoices.void_invoice",
            "http": "POST /v1/invoices/in_1Void/void", "id": "in_1Void",
            "account": null, "params": {}}]),
        "the recorded action"
    );
}

#[test]
fn an_id_is_sent_as_one_escaped_path_segment() {
    let escaped = "/v1/invoices/in_1%2F..%2Fx%3Fy%23z/void";
    let stripe = stand_in(vec![("POST", escaped, vec![ok(invoice("in_1", "void"))])]);
    let report = run_ok(&stripe, VOID, &overdue("in_1/../x?y#z"));

    let req = stripe.one();
    assert_eq!(req.method, "POST");
    assert_eq!(
        req.target, escaped,
        "the id must stay one segment, with no query or fragment"
    );
    assert_eq!(report["actions"][0]["http"], format!("POST {escaped}"));
    assert_eq!(report["actions"][0]["id"], "in_1/../x?y#z");
}

#[test]
fn update_sends_nested_parameters_as_stripes_form() {
    let stripe = stand_in(vec![(
        "POST",
        "/v1/customers/cus_1",
        vec![ok(customer("cus_1"))],
    )]);
    let source = r#"workflow "Tag VIP"
on invoice.overdue {
    stripe.customers.update(customer, metadata: {"Tier": "VIP"}, expand: ["default_source"])
}
"#;
    let report = run_ok(&stripe, source, &overdue("in_1"));

    let req = stripe.one();
    assert_eq!(
        (req.method.as_str(), req.target.as_str()),
        ("POST", "/v1/customers/cus_1")
    );
    assert_eq!(
        req.header("Content-Type"),
        Some("application/x-www-form-urlencoded")
    );
    let sent: BTreeSet<_> = req.form().into_iter().collect();
    assert_eq!(
        sent,
        pairs(&[("metadata[Tier]", "VIP"), ("expand[0]", "default_source")]),
        "the form body as sent: {}",
        req.body
    );
    assert!(req.header("Idempotency-Key").is_some(), "a POST has a key");
    assert_eq!(
        report["actions"][0]["params"],
        json!({"metadata": {"Tier": "VIP"}, "expand": ["default_source"]})
    );
}

const LIST_OPEN: &str = r#"workflow "Count open invoices"
on invoice.overdue {
    let open = stripe.invoices.list(customer: customer, status: "open")
    stripe.customers.update(customer, metadata: {"open": "{length(open)}"})
}
"#;

fn page(ids: &[&str], has_more: bool) -> Answer {
    let data: Vec<Json> = ids.iter().map(|id| invoice(id, "open")).collect();
    ok(json!({"object": "list", "url": "/v1/invoices", "data": data, "has_more": has_more}))
}

#[test]
fn list_is_a_get_with_its_parameters_in_the_query() {
    let stripe = stand_in(vec![
        ("GET", "/v1/invoices", vec![page(&["in_a", "in_b"], false)]),
        ("POST", "/v1/customers/cus_1", vec![ok(customer("cus_1"))]),
    ]);
    run_ok(&stripe, LIST_OPEN, &overdue("in_1"));

    let seen = stripe.seen();
    let gets: Vec<&Seen> = seen.iter().filter(|s| s.method == "GET").collect();
    assert_eq!(gets.len(), 1, "one page is enough: {seen:#?}");
    let get = gets[0];
    assert_eq!(
        get.target, "/v1/invoices?customer=cus_1&status=open&limit=100",
        "the list's request"
    );
    assert_eq!(get.body, "", "a GET has no body");
    assert_eq!(get.header("Idempotency-Key"), None, "a GET has no key");
    let update = seen
        .iter()
        .find(|s| s.method == "POST")
        .expect("the update after the list");
    assert_eq!(
        update.form(),
        [("metadata[open]".to_string(), "2".to_string())],
        "the list had the page's two invoices"
    );
}

#[test]
fn a_list_with_more_pages_asks_for_the_next_one_after_the_last_id() {
    let stripe = stand_in(vec![
        (
            "GET",
            "/v1/invoices",
            vec![page(&["in_a", "in_b"], true), page(&["in_c"], false)],
        ),
        ("POST", "/v1/customers/cus_1", vec![ok(customer("cus_1"))]),
    ]);
    let report = run_ok(&stripe, LIST_OPEN, &overdue("in_1"));

    let seen = stripe.seen();
    let gets: Vec<&Seen> = seen.iter().filter(|s| s.method == "GET").collect();
    assert_eq!(gets.len(), 2, "two pages: {seen:#?}");
    assert_eq!(
        gets[0].query().into_iter().collect::<BTreeSet<_>>(),
        pairs(&[("customer", "cus_1"), ("status", "open"), ("limit", "100")]),
        "the first page: {}",
        gets[0].target
    );
    // The second page asks for what is still wanted (100 less the 2 received),
    // after the last invoice of the first page.
    assert_eq!(
        gets[1].query().into_iter().collect::<BTreeSet<_>>(),
        pairs(&[
            ("customer", "cus_1"),
            ("status", "open"),
            ("starting_after", "in_b"),
            ("limit", "98"),
        ]),
        "the second page: {}",
        gets[1].target
    );
    let update = seen
        .iter()
        .find(|s| s.method == "POST")
        .expect("the update after the list");
    assert_eq!(
        update.form(),
        [("metadata[open]".to_string(), "3".to_string())],
        "the list holds the items of both pages"
    );
    // Each page is an action of its own in the report.
    let methods: Vec<&str> = report["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .filter_map(|a| a["method"].as_str())
        .collect();
    assert_eq!(
        methods,
        ["invoices.list", "invoices.list", "customers.update"]
    );
    assert_eq!(report["actions"][1]["params"]["starting_after"], "in_b");
}

#[test]
fn a_connected_accounts_event_acts_in_that_account() {
    let stripe = stand_in(vec![(
        "POST",
        "/v1/invoices/in_1/void",
        vec![ok(invoice("in_1", "void"))],
    )]);
    let report = run_ok(&stripe, VOID, &overdue_in("in_1", Some("acct_123")));
    assert_eq!(stripe.one().header("Stripe-Account"), Some("acct_123"));
    assert_eq!(report["actions"][0]["account"], "acct_123");
}

fn void_with(account_arg: &str) -> String {
    format!(
        "workflow \"Void overdue invoices\"\non invoice.overdue {{\n    stripe.invoices.void_invoice(id, stripe_account: {account_arg})\n}}\n"
    )
}

#[test]
fn stripe_account_null_acts_on_the_platform() {
    let stripe = stand_in(vec![(
        "POST",
        "/v1/invoices/in_1/void",
        vec![ok(invoice("in_1", "void"))],
    )]);
    let report = run_ok(
        &stripe,
        &void_with("null"),
        &overdue_in("in_1", Some("acct_123")),
    );
    assert_eq!(
        stripe.one().header("Stripe-Account"),
        None,
        "`stripe_account: null` sends no Stripe-Account"
    );
    assert_eq!(report["actions"][0]["account"], Json::Null);
}

#[test]
fn stripe_account_names_another_account() {
    let stripe = stand_in(vec![(
        "POST",
        "/v1/invoices/in_1/void",
        vec![ok(invoice("in_1", "void"))],
    )]);
    let report = run_ok(
        &stripe,
        &void_with("\"acct_999\""),
        &overdue_in("in_1", Some("acct_123")),
    );
    assert_eq!(stripe.one().header("Stripe-Account"), Some("acct_999"));
    assert_eq!(report["actions"][0]["account"], "acct_999");
}

#[test]
fn a_stripe_account_that_is_not_an_account_id_is_refused_before_sending() {
    let stripe = stand_in(vec![(
        "POST",
        "/v1/invoices/in_1/void",
        vec![ok(invoice("in_1", "void"))],
    )]);
    let out = run(
        &stripe,
        &void_with("\"acct_1\\r\\nX-Injected: 1\""),
        &overdue("in_1"),
    );
    assert_eq!(out.code, 1, "the run should fail:\n{}", out.all());
    let report = out.report();
    assert_eq!(report["code"], "R0201", "{report:#}");
    let error = report["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("is not a connected account's id"),
        "unexpected error: {error}"
    );
    assert!(
        stripe.seen().is_empty(),
        "nothing should be sent: {:#?}",
        stripe.seen()
    );
}

#[test]
fn delete_sends_a_delete_without_an_idempotency_key() {
    let stripe = stand_in(vec![(
        "DELETE",
        "/v1/customers/cus_1Gone",
        vec![ok(
            json!({"id": "cus_1Gone", "object": "customer", "deleted": true}),
        )],
    )]);
    let source = r#"workflow "Remove new customers"
on customer.created {
    stripe.customers.delete(id)
}
"#;
    let ev = event(
        "evt_created_1",
        "customer.created",
        customer("cus_1Gone"),
        None,
    );
    let report = run_ok(&stripe, source, &ev);

    let req = stripe.one();
    assert_eq!(
        (req.method.as_str(), req.target.as_str()),
        ("DELETE", "/v1/customers/cus_1Gone")
    );
    assert_eq!(req.header("Idempotency-Key"), None, "a DELETE has no key");
    assert_eq!(req.body, "", "a DELETE has no body");
    assert_eq!(
        report["actions"][0]["http"],
        "DELETE /v1/customers/cus_1Gone"
    );
}

const TAG_THEN_VOID: &str = r#"workflow "Tag and void"
on invoice.overdue {
    stripe.customers.update(customer, metadata: {"Tier": "Late"})
    stripe.invoices.void_invoice(id)
}
"#;

#[test]
fn a_stripe_error_fails_the_run_with_its_message_and_keeps_earlier_actions() {
    let stripe = stand_in(vec![
        ("POST", "/v1/customers/cus_1", vec![ok(customer("cus_1"))]),
        (
            "POST",
            "/v1/invoices/in_1/void",
            vec![stripe_error(
                400,
                "invoice_not_open",
                "You can only pass in open invoices.",
            )],
        ),
    ]);
    let out = run(&stripe, TAG_THEN_VOID, &overdue("in_1"));
    assert_eq!(out.code, 1, "the run should fail:\n{}", out.all());
    let report = out.report();
    assert_eq!(report["status"], "failed", "{report:#}");
    assert_eq!(report["code"], "R0201", "{report:#}");
    let error = report["error"].as_str().unwrap_or_default();
    for part in [
        "POST /v1/invoices/in_1/void",
        "400 invalid_request_error",
        "code invoice_not_open",
        "You can only pass in open invoices.",
        "req_standin",
    ] {
        assert!(error.contains(part), "`{part}` missing from: {error}");
    }
    assert_eq!(
        report["actions"],
        json!([{"action": "stripe", "method": "customers.update",
            "http": "POST /v1/customers/cus_1", "id": "cus_1", "account": null,
            "params": {"metadata": {"Tier": "Late"}}}]),
        "the update done before the failure stays in the report"
    );
    let voids = stripe
        .seen()
        .iter()
        .filter(|s| s.path() == "/v1/invoices/in_1/void")
        .count();
    assert_eq!(voids, 1, "a 400 is not tried again");
}

#[test]
fn the_same_step_of_the_same_event_sends_the_same_idempotency_key() {
    let stripe = stand_in(vec![
        ("POST", "/v1/customers/cus_1", vec![ok(customer("cus_1"))]),
        (
            "POST",
            "/v1/invoices/in_1/void",
            vec![ok(invoice("in_1", "void"))],
        ),
    ]);
    run_ok(&stripe, TAG_THEN_VOID, &overdue("in_1"));
    run_ok(&stripe, TAG_THEN_VOID, &overdue("in_1"));

    let keys = |path: &str| -> Vec<String> {
        stripe
            .seen()
            .iter()
            .filter(|s| s.path() == path)
            .map(|s| {
                s.header("Idempotency-Key")
                    .expect("every POST has a key")
                    .to_string()
            })
            .collect()
    };
    let updates = keys("/v1/customers/cus_1");
    let voids = keys("/v1/invoices/in_1/void");
    assert_eq!(updates.len(), 2, "one update per run");
    assert_eq!(voids.len(), 2, "one void per run");
    assert_eq!(
        updates[0], updates[1],
        "the update's key differs across runs"
    );
    assert_eq!(voids[0], voids[1], "the void's key differs across runs");
    assert_ne!(updates[0], voids[0], "two steps must not share a key");
}

#[test]
fn a_workflow_calling_only_methods_needs_the_key_before_it_runs() {
    let stripe = stand_in(vec![]);
    let dir = workdir(
        &stripe.toml(),
        &[("w.flow", VOID), ("event.json", &overdue("in_1"))],
    );
    let out = flow(
        dir.path(),
        None,
        &["run", "w.flow", "--event", "event.json", "--live"],
    );
    assert_eq!(
        out.code,
        2,
        "a live run without a key is refused:\n{}",
        out.all()
    );
    assert!(
        out.stderr
            .contains("error[E0961]: cannot run live: STRIPE_API_KEY is not set"),
        "the error should say to set STRIPE_API_KEY:\n{}",
        out.stderr
    );
    assert!(stripe.seen().is_empty(), "nothing should be sent");
}
