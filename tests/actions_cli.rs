//! `flow actions [TEXT]`: the built-in actions and the methods of Stripe's API, as
//! text and as JSON.

mod common;

use common::flow_ok;
use serde_json::Value;

fn json_of(args: &[&str]) -> Vec<Value> {
    let r = flow_ok(args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", r.stdout))
}

/// The line of a parameter table that starts with this name.
fn row<'a>(stdout: &'a str, name: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no row `{name}` in:\n{stdout}"))
}

#[test]
fn the_list_has_the_actions_and_each_resource_with_its_methods() {
    let r = flow_ok(&["actions"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for action in ["email", "refund", "slack", "http"] {
        assert!(
            r.stdout
                .lines()
                .any(|l| l.starts_with(&format!("{action} "))),
            "{action} is listed:\n{}",
            r.stdout
        );
    }
    let invoices = r
        .stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some("stripe.invoices"))
        .expect("a line for stripe.invoices");
    assert!(invoices.split_whitespace().any(|w| w == "void_invoice"));
    assert!(invoices.split_whitespace().any(|w| w == "create"));
    let last = r.stdout.lines().last().unwrap_or_default();
    assert!(
        last.contains("flow actions invoices.void_invoice"),
        "{last}"
    );
}

#[test]
fn a_method_named_exactly_is_shown_with_its_request_and_call() {
    for name in [
        "invoices.void_invoice",
        "stripe.invoices.void_invoice",
        "Invoices.Void_Invoice",
    ] {
        let r = flow_ok(&["actions", name]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(
            r.stdout.starts_with("stripe.invoices.void_invoice(id)\n"),
            "{}",
            r.stdout
        );
        assert!(
            r.stdout.contains("POST /v1/invoices/{id}/void"),
            "{}",
            r.stdout
        );
        assert!(r.stdout.contains("returns: invoice"), "{}", r.stdout);
        assert!(row(&r.stdout, "id").contains("path"));
        assert!(r.stdout.contains("`stripe_account`"), "{}", r.stdout);
    }
}

#[test]
fn credit_note_create_shows_required_optional_enum_values_and_nested_fields() {
    let r = flow_ok(&["actions", "credit_notes.create"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .starts_with("stripe.credit_notes.create(invoice: …)\n"),
        "{}",
        r.stdout
    );
    assert!(row(&r.stdout, "invoice").contains("required"));
    assert!(row(&r.stdout, "invoice").contains("ref<invoice>"));
    assert!(row(&r.stdout, "amount").contains("optional"));
    let reason = row(&r.stdout, "reason");
    assert!(reason.contains("open enum"), "{reason}");
    assert!(reason.contains("order_change"), "{reason}");
    assert!(reason.contains("product_unsatisfactory"), "{reason}");
    let nested = row(&r.stdout, "lines[].amount");
    assert!(
        nested.starts_with("    "),
        "indented under `lines`: {nested}"
    );
    assert!(row(&r.stdout, "lines").contains("list<object>"));
    assert!(row(&r.stdout, "lines[].type").contains("invoice_line_item"));
}

#[test]
fn several_matches_are_listed_and_a_resource_lists_its_methods() {
    let r = flow_ok(&["actions", "credit_note"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(row(&r.stdout, "stripe.credit_notes.void_credit_note").contains("void"));
    assert!(row(&r.stdout, "stripe.credit_notes.create").contains("Issue a credit note"));

    let r = flow_ok(&["actions", "checkout.sessions"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("stripe.checkout.sessions.expire"));
    assert!(r.stdout.contains("stripe.checkout.sessions.create"));

    let r = flow_ok(&["actions", "email"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.starts_with("email to: …, body: …\n"),
        "{}",
        r.stdout
    );
    assert!(row(&r.stdout, "subject").contains("optional"));
}

#[test]
fn json_names_the_method_and_its_request() {
    let all = json_of(&["actions", "invoices.void_invoice", "--format", "json"]);
    assert_eq!(all.len(), 1, "{all:?}");
    let m = &all[0];
    assert_eq!(m["name"], "stripe.invoices.void_invoice");
    assert_eq!(m["kind"], "stripe");
    assert_eq!(m["http"], "POST /v1/invoices/{id}/void");
    assert_eq!(m["returns"], "invoice");
    let id = &m["params"][0];
    assert_eq!(id["name"], "id");
    assert_eq!(id["in_path"], true);
    assert_eq!(id["required"], true);

    let create = &json_of(&["actions", "credit_notes.create", "--format", "json"])[0];
    let params = create["params"].as_array().expect("params");
    let param = |n: &str| params.iter().find(|p| p["name"] == n).expect(n).clone();
    assert_eq!(param("reason")["open"], true);
    assert!(param("reason")["values"]
        .as_array()
        .is_some_and(|v| v.iter().any(|x| x == "order_change")));
    let lines = param("lines")["fields"].as_array().expect("fields").clone();
    assert!(lines.iter().any(|f| f["name"] == "amount"));
}

#[test]
fn every_method_and_action_is_in_the_json() {
    let lib = flow_stdlib::builtin();
    let api = lib.api().expect("the API catalogue");
    let all = json_of(&["actions", "--format", "json"]);
    assert_eq!(all.len(), api.method_count() + lib.actions.len());
    let actions = all.iter().filter(|e| e["kind"] == "action").count();
    assert_eq!(actions, lib.actions.len());
    for e in &all {
        assert!(e["name"].is_string() && e["params"].is_array(), "{e}");
    }
}

#[test]
fn a_typo_is_refused_with_the_closest_names() {
    let r = flow_ok(&["actions", "invoices.void_invoce"]);
    assert_ne!(r.code, 0);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert!(r.stderr.contains("did you mean"), "{}", r.stderr);
    assert!(r.stderr.contains("`invoices.void_invoice`"), "{}", r.stderr);
    assert!(r.stderr.contains("`flow actions`"), "{}", r.stderr);

    let r = flow_ok(&["actions", "zzzzzzzz", "--format", "json"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("`flow actions`"), "{}", r.stderr);
}
