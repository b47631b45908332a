//! The language's meaning, one case a line: a workflow, the `data.object` of an event
//! of the type its `on` names, how the run ends, and exactly the actions it takes.
//!
//! ```text
//! yields!(name, "flow source", { data.object }, Succeeded | Skipped, [actions]);
//! yields!(name, "flow source", { data.object }, Failed("R0101", "message part"), [actions]);
//! ```
//!
//! Actions are compared with the run report's JSON (`report.to_json()["actions"]`),
//! as `flow run --format json` prints it. `retrieve` finds its objects in `world()`.

use serde_json::{json, Value as Json};

use flow::bindings::Recording;
use flow::settings::Settings;
use flow::syntax::SourceFile;
use flow::vm::{Event, RunReport, Status};

/// The objects `retrieve` can find.
fn world() -> Recording {
    let mut r = Recording::new();
    for o in [
        json!({ "id": "cus_1", "object": "customer", "email": "jenny@example.com", "metadata": {} }),
        json!({ "id": "cus_old", "object": "customer", "metadata": { "first_payment": "pi_0" } }),
        json!({ "id": "ch_small", "object": "charge", "amount": 1200, "currency": "usd", "customer": "cus_1" }),
        json!({ "id": "ch_large", "object": "charge", "amount": 48000, "currency": "usd" }),
    ] {
        r.add(o);
    }
    r
}

/// Build `source` (it must have no errors and one workflow) and run it on an event of
/// the type the workflow is triggered by, with `object` as its `data.object`.
fn run(source: &str, object: Json) -> RunReport {
    run_in(source, object, None)
}

/// [`run`] on an event from a connected account (`"account": "acct_…"`) when given.
fn run_in(source: &str, object: Json, account: Option<&str>) -> RunReport {
    let file = SourceFile::new("case.flow", source);
    let build = flow::build(&file, &Settings::default(), "case");
    let rendered: String = build
        .diagnostics
        .iter()
        .map(|d| flow::diagnostics::render(d, &file, false))
        .collect();
    assert!(!build.has_errors(), "{source}\n{rendered}");
    assert_eq!(build.compiled.programs.len(), 1, "{source}: one workflow");
    let program = &build.compiled.programs[0];
    let event = Event::from_json(
        json!({
            "id": "evt_1",
            "object": "event",
            "type": program.trigger,
            "created": 1764864000,
            "account": account,
            "data": { "object": object },
        }),
        None,
    )
    .unwrap_or_else(|e| panic!("{source}: {e}"));
    flow::vm::run(program, &file, &event, &mut world())
}

macro_rules! yields {
    ($name:ident, $source:expr, $object:tt, Failed($code:literal, $message:literal), $actions:tt) => {
        #[test]
        fn $name() {
            let report = run($source, json!($object));
            let got = report.to_json();
            assert_eq!(report.status, Status::Failed, "{got:#}");
            assert_eq!(got["code"], $code, "{got:#}");
            let error = report.error.clone().unwrap_or_default();
            assert!(error.contains($message), "{error:?} says {:?}", $message);
            assert_eq!(got["actions"], json!($actions), "{got:#}");
        }
    };
    ($name:ident, $source:expr, $object:tt, $status:ident, $actions:tt) => {
        #[test]
        fn $name() {
            let report = run($source, json!($object));
            let got = report.to_json();
            assert_eq!(report.status, Status::$status, "{got:#}");
            assert_eq!(got["code"], Json::Null, "{got:#}");
            assert_eq!(got["actions"], json!($actions), "{got:#}");
        }
    };
}

// ---------------------------------------------------------------- integers
yields!(int_at_least, r#"on invoice.payment_failed when attempt_count >= 3 { email to: "a@example.com", body: "again" }"#, { "attempt_count": 3 }, Succeeded, [{ "action": "email", "to": ["a@example.com"], "subject": null, "body": "again", "append": [] }]);
yields!(int_below_is_skipped, r#"on invoice.payment_failed when attempt_count >= 3 { email to: "a@example.com", body: "again" }"#, { "attempt_count": 2 }, Skipped, []);
yields!(int_equal, r#"on invoice.payment_failed { if attempt_count == 1 { email to: "a@example.com", body: "first" } else { email to: "a@example.com", body: "again" } }"#, { "attempt_count": 1 }, Succeeded, [{ "action": "email", "to": ["a@example.com"], "subject": null, "body": "first", "append": [] }]);
yields!(int_not_equal_and_less, r#"on invoice.payment_failed when attempt_count != 1 and attempt_count < 4 { email to: "a@example.com", body: "{attempt_count}" }"#, { "attempt_count": 3 }, Succeeded, [{ "action": "email", "to": ["a@example.com"], "subject": null, "body": "3", "append": [] }]);
yields!(int_interpolated, r#"on invoice.payment_failed { email to: "a@example.com", subject: "attempt {attempt_count}", body: "invoice {number}" }"#, { "attempt_count": 12, "number": "INV-7" }, Succeeded, [{ "action": "email", "to": ["a@example.com"], "subject": "attempt 12", "body": "invoice INV-7", "append": [] }]);

// ---------------------------------------------------------------- money
yields!(money_above, r#"on payment_intent.succeeded when amount > 1000 USD { update customer.metadata.Tier = "VIP" }"#, { "amount": 100001, "currency": "usd", "customer": "cus_1" }, Succeeded, [{ "action": "update", "object": "customer", "id": "cus_1", "account": null, "params": { "metadata": { "Tier": "VIP" } } }]);
yields!(money_exactly_at_threshold_is_skipped, r#"on payment_intent.succeeded when amount > 1000 USD { update customer.metadata.Tier = "VIP" }"#, { "amount": 100000, "currency": "usd", "customer": "cus_1" }, Skipped, []);
yields!(money_at_least_takes_the_threshold, r#"on payment_intent.succeeded when amount >= 1000 USD { update customer.metadata.Tier = "VIP" }"#, { "amount": 100000, "currency": "usd", "customer": "cus_1" }, Succeeded, [{ "action": "update", "object": "customer", "id": "cus_1", "account": null, "params": { "metadata": { "Tier": "VIP" } } }]);
yields!(money_below, r#"on payment_intent.succeeded when amount < 10 USD { email to: "a@example.com", body: "{amount}" }"#, { "amount": 999, "currency": "usd" }, Succeeded, [{ "action": "email", "to": ["a@example.com"], "subject": null, "body": "9.99 USD", "append": [] }]);
yields!(money_constant_on_the_left, r#"on payment_intent.succeeded when 1000 USD < amount { update customer.metadata.Tier = "VIP" }"#, { "amount": 100001, "currency": "usd", "customer": "cus_1" }, Succeeded, [{ "action": "update", "object": "customer", "id": "cus_1", "account": null, "params": { "metadata": { "Tier": "VIP" } } }]);
yields!(money_constant_on_the_left_at_threshold, r#"on payment_intent.succeeded when 1000 USD < amount { update customer.metadata.Tier = "VIP" }"#, { "amount": 100000, "currency": "usd", "customer": "cus_1" }, Skipped, []);
yields!(money_two_fields, r#"on payment_intent.succeeded when amount_received < amount { email to: "a@example.com", body: "{amount_received} of {amount}" }"#, { "amount": 5000, "amount_received": 2500, "currency": "usd" }, Succeeded, [{ "action": "email", "to": ["a@example.com"], "subject": null, "body": "25.00 USD of 50.00 USD", "append": [] }]);
yields!(money_in_another_currency_is_never_above, r#"on payment_intent.succeeded when amount > 1000 USD { update customer.metadata.Tier = "VIP" }"#, { "amount": 250000, "currency": "eur", "customer": "cus_1" }, Skipped, []);
yields!(money_in_another_currency_is_never_below, r#"on payment_intent.succeeded when amount < 1000 USD { update customer.metadata.Tier = "small" }"#, { "amount": 100, "currency": "eur", "customer": "cus_1" }, Skipped, []);
yields!(money_in_another_currency_is_never_equal, r#"on payment_intent.succeeded { if amount == 1000 USD { email to: "a@example.com", body: "equal" } else { email to: "a@example.com", body: "not equal" } }"#, { "amount": 100000, "currency": "eur" }, Succeeded, [{ "action": "email", "to": ["a@example.com"], "subject": null, "body": "not equal", "append": [] }]);
yields!(money_in_another_currency_is_unequal, r#"on payment_intent.succeeded when amount != 1000 USD { email to: "a@example.com", body: "{amount}" }"#, { "amount": 100000, "currency": "eur" }, Succeeded, [{ "action": "email", "to": ["a@example.com"], "subject": null, "body": "1000.00 EUR", "append": [] }]);
yields!(jpy_has_no_minor_unit, r#"on payment_intent.succeeded when amount > 4999 JPY { email to: "a@example.com", body: "{amount}" }"#, { "amount": 5000, "currency": "jpy" }, Succeeded, [{ "action": "email", "to": ["a@example.com"], "subject": null, "body": "5000 JPY", "append": [] }]);
yields!(jpy_exactly_at_threshold_is_skipped, r#"on payment_intent.succeeded when amount > 5000 JPY { email to: "a@example.com", body: "{amount}" }"#, { "amount": 5000, "currency": "jpy" }, Skipped, []);
yields!(kwd_has_three_decimals, r#"on payment_intent.succeeded when amount == 12.345 KWD { email to: "a@example.com", body: "{amount}" }"#, { "amount": 12345, "currency": "kwd" }, Succeeded, [{ "action": "email", "to": ["a@example.com"], "subject": null, "body": "12.345 KWD", "append": [] }]);
yields!(money_in_a_list, r#"on payment_intent.succeeded when amount in [10 USD, 10 EUR] { email to: "a@example.com", body: "{currency}" }"#, { "amount": 1000, "currency": "eur" }, Succeeded, [{ "action": "email", "to": ["a@example.com"], "subject": null, "body": "EUR", "append": [] }]);
yields!(money_not_in_a_list_of_other_currencies, r#"on payment_intent.succeeded when amount in [10 USD, 10 EUR] { email to: "a@example.com", body: "{currency}" }"#, { "amount": 1000, "currency": "gbp" }, Skipped, []);

// ---------------------------------------------------------------- strings, enums, currencies, booleans, lists
yields!(string_equal, r#"on payment_intent.succeeded when description == "Order 42" { email to: "a@example.com", body: "{description}!" }"#, { "description": "Order 42" }, Succeeded, [{ "action": "email", "to": ["a@example.com"], "subject": null, "body": "Order 42!", "append": [] }]);
yields!(string_differs_by_case, r#"on payment_intent.succeeded when description == "Order 42" { email to: "a@example.com", body: "x" }"#, { "description": "order 42" }, Skipped, []);
yields!(null_string_is_not_equal, r#"on payment_intent.succeeded when description == "Order 42" { email to: "a@example.com", body: "x" }"#, { "description": null }, Skipped, []);
yields!(enum_status, r#"on payment_intent.succeeded when status == "succeeded" { email to: "a@example.com", body: "{status}" }"#, { "status": "succeeded" }, Succeeded, [{ "action": "email", "to": ["a@example.com"], "subject": null, "body": "succeeded", "append": [] }]);
yields!(enum_other_status_is_skipped, r#"on payment_intent.succeeded when status == "succeeded" { email to: "a@example.com", body: "{status}" }"#, { "status": "processing" }, Skipped, []);
yields!(enum_in_list, r#"on payment_intent.succeeded when status in ["processing", "requires_action"] { email to: "a@example.com", body: "{status}" }"#, { "status": "requires_action" }, Succeeded, [{ "action": "email", "to": ["a@example.com"], "subject": null, "body": "requires_action", "append": [] }]);
yields!(enum_not_in_list, r#"on payment_intent.succeeded when status in ["processing", "requires_action"] { email to: "a@example.com", body: "{status}" }"#, { "status": "succeeded" }, Skipped, []);
yields!(currency_equal, r#"on payment_intent.succeeded when currency == EUR { email to: "a@example.com", body: "{currency}" }"#, { "currency": "eur" }, Succeeded, [{ "action": "email", "to": ["a@example.com"], "subject": null, "body": "EUR", "append": [] }]);
yields!(currency_not_in_list, r#"on payment_intent.succeeded when currency in [USD, EUR] { email to: "a@example.com", body: "x" }"#, { "currency": "gbp" }, Skipped, []);
yields!(local_in_list, r#"on payment_intent.succeeded { let c = currency; if c in [USD, EUR] { email to: "a@example.com", body: "{c}" } else { email to: "b@example.com", body: "{c}" } }"#, { "currency": "gbp" }, Succeeded, [{ "action": "email", "to": ["b@example.com"], "subject": null, "body": "GBP", "append": [] }]);
yields!(reference_equals_its_id, r#"on payment_intent.succeeded when customer == "cus_1" { email to: "a@example.com", body: "{customer}" }"#, { "customer": "cus_1" }, Succeeded, [{ "action": "email", "to": ["a@example.com"], "subject": null, "body": "cus_1", "append": [] }]);
yields!(string_in_list_field, r#"on payment_intent.succeeded when "link" in payment_method_types { email to: "a@example.com", body: "x" }"#, { "payment_method_types": ["card", "link"] }, Succeeded, [{ "action": "email", "to": ["a@example.com"], "subject": null, "body": "x", "append": [] }]);
yields!(string_not_in_list_field, r#"on payment_intent.succeeded when "link" in payment_method_types { email to: "a@example.com", body: "x" }"#, { "payment_method_types": ["card"] }, Skipped, []);
yields!(bool_field_is_a_condition, r#"on payment_intent.succeeded when livemode { email to: "a@example.com", body: "x" }"#, { "livemode": false }, Skipped, []);
yields!(bool_compared, r#"on payment_intent.succeeded when livemode == false { email to: "a@example.com", body: "test mode" }"#, { "livemode": false }, Succeeded, [{ "action": "email", "to": ["a@example.com"], "subject": null, "body": "test mode", "append": [] }]);
yields!(timestamp_compared_and_shown, r#"on payment_intent.succeeded when created >= 1764000000 { email to: "a@example.com", body: "{created}" }"#, { "created": 1764153720 }, Succeeded, [{ "action": "email", "to": ["a@example.com"], "subject": null, "body": "2025-11-26T10:42:00Z", "append": [] }]);
yields!(escaped_braces_are_text, r#"on payment_intent.succeeded { email to: "a@example.com", body: "\{amount\} is {amount}" }"#, { "amount": 5, "currency": "usd" }, Succeeded, [{ "action": "email", "to": ["a@example.com"], "subject": null, "body": "{amount} is 0.05 USD", "append": [] }]);

// ---------------------------------------------------------------- and, or, not, null guards
yields!(and_short_circuits_on_null, r#"on charge.succeeded when application_fee_amount != null and application_fee_amount > 1 USD { retrieve customer }"#, { "currency": "usd", "application_fee_amount": null, "customer": "cus_1" }, Skipped, []);
yields!(and_takes_both, r#"on charge.succeeded when application_fee_amount != null and application_fee_amount > 1 USD { retrieve customer }"#, { "currency": "usd", "application_fee_amount": 101, "customer": "cus_1" }, Succeeded, [{ "action": "retrieve", "object": "customer", "id": "cus_1", "account": null }]);
yields!(or_short_circuits_on_null, r#"on charge.succeeded when application_fee_amount == null or application_fee_amount > 1 USD { email to: "a@example.com", body: "x" }"#, { "currency": "usd", "application_fee_amount": null }, Succeeded, [{ "action": "email", "to": ["a@example.com"], "subject": null, "body": "x", "append": [] }]);
yields!(unguarded_null_comparison_fails, r#"on charge.succeeded when application_fee_amount > 1 USD { retrieve customer }"#, { "currency": "usd", "application_fee_amount": null, "customer": "cus_1" }, Failed("R0101", "`application_fee_amount` is null"), []);
yields!(not_negates, r#"on payment_intent.succeeded when not (status == "succeeded") { email to: "a@example.com", body: "x" }"#, { "status": "succeeded" }, Skipped, []);
yields!(and_binds_tighter_than_or, r#"on payment_intent.succeeded when status == "succeeded" or status == "processing" and livemode { email to: "a@example.com", body: "x" }"#, { "status": "succeeded", "livemode": false }, Succeeded, [{ "action": "email", "to": ["a@example.com"], "subject": null, "body": "x", "append": [] }]);
yields!(parentheses_group, r#"on payment_intent.succeeded when (status == "succeeded" or status == "processing") and livemode { email to: "a@example.com", body: "x" }"#, { "status": "succeeded", "livemode": false }, Skipped, []);
yields!(null_guard_narrows, r#"on payment_intent.succeeded { if receipt_email != null { email to: receipt_email, body: "Thanks" } }"#, { "receipt_email": "jenny@example.com" }, Succeeded, [{ "action": "email", "to": ["jenny@example.com"], "subject": null, "body": "Thanks", "append": [] }]);
yields!(null_guard_skips_the_block, r#"on payment_intent.succeeded { if receipt_email != null { email to: receipt_email, body: "Thanks" } }"#, { "receipt_email": null }, Succeeded, []);

// ---------------------------------------------------------------- if / else if / else, let
yields!(if_first_branch, r#"on charge.succeeded { if amount > 10 USD { email to: "big@b.co", body: "x" } else if amount > 1 USD { email to: "mid@b.co", body: "x" } else { email to: "small@b.co", body: "x" } }"#, { "amount": 2000, "currency": "usd" }, Succeeded, [{ "action": "email", "to": ["big@b.co"], "subject": null, "body": "x", "append": [] }]);
yields!(if_else_if_branch, r#"on charge.succeeded { if amount > 10 USD { email to: "big@b.co", body: "x" } else if amount > 1 USD { email to: "mid@b.co", body: "x" } else { email to: "small@b.co", body: "x" } }"#, { "amount": 500, "currency": "usd" }, Succeeded, [{ "action": "email", "to": ["mid@b.co"], "subject": null, "body": "x", "append": [] }]);
yields!(if_else_branch, r#"on charge.succeeded { if amount > 10 USD { email to: "big@b.co", body: "x" } else if amount > 1 USD { email to: "mid@b.co", body: "x" } else { email to: "small@b.co", body: "x" } }"#, { "amount": 100, "currency": "usd" }, Succeeded, [{ "action": "email", "to": ["small@b.co"], "subject": null, "body": "x", "append": [] }]);
yields!(if_without_else_does_nothing, r#"on charge.succeeded { if amount > 10 USD { email to: "big@b.co", body: "x" } }"#, { "amount": 100, "currency": "usd" }, Succeeded, []);
yields!(let_holds_a_condition, r#"on payment_intent.succeeded { let big = amount > 2000 USD; if big { email to: "a@example.com", body: "big" } else { email to: "a@example.com", body: "small" } }"#, { "amount": 200001, "currency": "usd" }, Succeeded, [{ "action": "email", "to": ["a@example.com"], "subject": null, "body": "big", "append": [] }]);
yields!(let_holds_text, r#"on payment_intent.succeeded { let note = "Order {metadata.order_id}"; email to: "a@example.com", subject: note, body: note }"#, { "metadata": { "order_id": "10423" } }, Succeeded, [{ "action": "email", "to": ["a@example.com"], "subject": "Order 10423", "body": "Order 10423", "append": [] }]);
yields!(missing_metadata_key_is_empty_text, r#"on payment_intent.succeeded { email to: "a@example.com", subject: "Order {metadata.order_id}", body: "x" }"#, { "metadata": {} }, Succeeded, [{ "action": "email", "to": ["a@example.com"], "subject": "Order ", "body": "x", "append": [] }]);
yields!(compact_blocks, r#"on payment_intent.succeeded when amount > 1000 USD < email to: "team@example.com", body: "Add a note"; if amount > 2000 USD < update customer.metadata.Tier = "VIP" > >"#, { "amount": 250000, "currency": "usd", "customer": "cus_1" }, Succeeded, [{ "action": "email", "to": ["team@example.com"], "subject": null, "body": "Add a note", "append": [] }, { "action": "update", "object": "customer", "id": "cus_1", "account": null, "params": { "metadata": { "Tier": "VIP" } } }]);

// ---------------------------------------------------------------- update
yields!(update_metadata_interpolated, r#"on payment_intent.succeeded { update customer.metadata.LastAmount = "{amount}" }"#, { "amount": 1200, "currency": "usd", "customer": "cus_1" }, Succeeded, [{ "action": "update", "object": "customer", "id": "cus_1", "account": null, "params": { "metadata": { "LastAmount": "12.00 USD" } } }]);
yields!(update_metadata_to_null_unsets_it, r#"on payment_intent.succeeded { update customer.metadata.Tier = null }"#, { "customer": "cus_1" }, Succeeded, [{ "action": "update", "object": "customer", "id": "cus_1", "account": null, "params": { "metadata": { "Tier": "" } } }]);
yields!(update_a_field, r#"on payment_intent.succeeded { update customer.description = "VIP since {created}" }"#, { "created": 1764153720, "customer": "cus_1" }, Succeeded, [{ "action": "update", "object": "customer", "id": "cus_1", "account": null, "params": { "description": "VIP since 2025-11-26T10:42:00Z" } }]);
yields!(update_the_trigger_object_itself, r#"on invoice.overdue { update metadata.collections = "escalated" }"#, { "id": "in_123", "object": "invoice" }, Succeeded, [{ "action": "update", "object": "invoice", "id": "in_123", "account": null, "params": { "metadata": { "collections": "escalated" } } }]);
yields!(update_a_field_of_the_trigger_object, r#"on charge.succeeded { update description = "checked on {created}" }"#, { "id": "ch_1", "object": "charge", "created": 1764153720 }, Succeeded, [{ "action": "update", "object": "charge", "id": "ch_1", "account": null, "params": { "description": "checked on 2025-11-26T10:42:00Z" } }]);
yields!(update_through_a_reference_of_a_retrieved_object, r#"on radar.early_fraud_warning.created { let ch = retrieve charge; update ch.customer.metadata.fraud_flag = "early warning {id}" }"#, { "id": "issfr_1", "charge": "ch_small" }, Succeeded, [{ "action": "retrieve", "object": "charge", "id": "ch_small", "account": null }, { "action": "update", "object": "customer", "id": "cus_1", "account": null, "params": { "metadata": { "fraud_flag": "early warning issfr_1" } } }]);
yields!(update_a_retrieved_object, r#"on radar.early_fraud_warning.created { let ch = retrieve charge; update ch.metadata.reviewed = "yes" }"#, { "id": "issfr_1", "charge": "ch_small" }, Succeeded, [{ "action": "retrieve", "object": "charge", "id": "ch_small", "account": null }, { "action": "update", "object": "charge", "id": "ch_small", "account": null, "params": { "metadata": { "reviewed": "yes" } } }]);
yields!(update_of_a_null_reference_fails, r#"on payment_intent.succeeded when amount > 1000 USD { update customer.metadata.Tier = "VIP" }"#, { "amount": 100001, "currency": "usd", "customer": null }, Failed("R0101", "cannot update the customer: `customer` is null"), []);
yields!(actions_before_a_failure_are_kept, r#"on payment_intent.succeeded { email to: "a@example.com", body: "thanks"; update customer.metadata.Tier = "VIP" }"#, { "customer": null }, Failed("R0101", "`customer` is null"), [{ "action": "email", "to": ["a@example.com"], "subject": null, "body": "thanks", "append": [] }]);

// ---------------------------------------------------------------- email
yields!(email_to_a_list_with_a_table, r#"on payment_intent.succeeded { email to: ["a@example.com", "b@example.com"], subject: "Paid: {amount}", body: "by {customer}", append: { "Amount": amount, "Customer": customer, "Email": receipt_email } }"#, { "amount": 150, "currency": "usd", "customer": "cus_1", "receipt_email": null }, Succeeded, [{ "action": "email", "to": ["a@example.com", "b@example.com"], "subject": "Paid: 1.50 USD", "body": "by cus_1", "append": [["Amount", "1.50 USD"], ["Customer", "cus_1"], ["Email", ""]] }]);
yields!(email_without_recipient_fails, r#"on payment_intent.succeeded { email to: receipt_email, body: "x" }"#, { "receipt_email": null }, Failed("R0301", "email has no recipient"), []);
yields!(email_to_a_non_address_fails, r#"on payment_intent.succeeded { if receipt_email != null { email to: receipt_email, body: "x" } }"#, { "receipt_email": "nobody" }, Failed("R0301", "`nobody` is not an e-mail address"), []);

// ---------------------------------------------------------------- retrieve, refund
yields!(an_id_of_dot_is_refused, r#"on payment_intent.succeeded { update customer.metadata.Tier = "VIP" }"#, { "customer": "." }, Failed("R0104", "`.` is not an ID"), []);
yields!(an_id_of_dot_dot_is_refused, r#"on payment_intent.succeeded { retrieve customer }"#, { "customer": ".." }, Failed("R0104", "`..` is not an ID"), []);
yields!(an_empty_id_is_refused, r#"on payment_intent.succeeded { retrieve customer }"#, { "customer": "" }, Failed("R0104", "is not an ID"), []);
yields!(retrieve_records_the_object, r#"on payment_intent.succeeded { retrieve customer }"#, { "customer": "cus_1" }, Succeeded, [{ "action": "retrieve", "object": "customer", "id": "cus_1", "account": null }]);
yields!(retrieve_of_an_unknown_object_fails, r#"on payment_intent.succeeded { retrieve customer }"#, { "customer": "cus_nope" }, Failed("R0201", "retrieve customer `cus_nope`: no such object"), []);
yields!(retrieved_fields_are_read, r#"on payment_intent.succeeded when customer != null { let cus = retrieve customer; if cus.metadata.first_payment == null { update customer.metadata.first_payment = id } }"#, { "id": "pi_1", "customer": "cus_1" }, Succeeded, [{ "action": "retrieve", "object": "customer", "id": "cus_1", "account": null }, { "action": "update", "object": "customer", "id": "cus_1", "account": null, "params": { "metadata": { "first_payment": "pi_1" } } }]);
yields!(retrieved_fields_decide, r#"on payment_intent.succeeded when customer != null { let cus = retrieve customer; if cus.metadata.first_payment == null { update customer.metadata.first_payment = id } }"#, { "id": "pi_2", "customer": "cus_old" }, Succeeded, [{ "action": "retrieve", "object": "customer", "id": "cus_old", "account": null }]);
yields!(refund_a_small_fraudulent_charge, r#"on radar.early_fraud_warning.created { let ch = retrieve charge; if ch.amount < dispute_fee { refund charge: ch, amount: ch.amount, reason: "fraudulent" } else { email to: "risk@example.com", body: "{ch.id}: {ch.amount}" } }"#, { "charge": "ch_small" }, Succeeded, [{ "action": "retrieve", "object": "charge", "id": "ch_small", "account": null }, { "action": "refund", "account": null, "params": { "charge": "ch_small", "amount": 1200, "reason": "fraudulent" } }]);
yields!(refund_not_worth_it, r#"on radar.early_fraud_warning.created { let ch = retrieve charge; if ch.amount < dispute_fee { refund charge: ch, amount: ch.amount, reason: "fraudulent" } else { email to: "risk@example.com", body: "{ch.id}: {ch.amount}" } }"#, { "charge": "ch_large" }, Succeeded, [{ "action": "retrieve", "object": "charge", "id": "ch_large", "account": null }, { "action": "email", "to": ["risk@example.com"], "subject": null, "body": "ch_large: 480.00 USD", "append": [] }]);
yields!(refund_in_full, r#"on payment_intent.succeeded { refund payment_intent: id }"#, { "id": "pi_1" }, Succeeded, [{ "action": "refund", "account": null, "params": { "payment_intent": "pi_1" } }]);
yields!(refund_in_another_currency_fails, r#"on radar.early_fraud_warning.created { let ch = retrieve charge; refund charge: ch, amount: 5 EUR }"#, { "charge": "ch_small" }, Failed("R0302", "the amount is 5.00 EUR, but the payment is in USD"), [{ "action": "retrieve", "object": "charge", "id": "ch_small", "account": null }]);
yields!(refund_of_nothing_fails, r#"on payment_intent.succeeded { refund payment_intent: id, amount: 0 USD }"#, { "id": "pi_1", "currency": "usd" }, Failed("R0303", "must be positive, not 0.00 USD"), []);
yields!(refund_finer_than_kwd_takes_fails, r#"on charge.succeeded { refund charge: id, amount: 12.345 KWD }"#, { "id": "ch_9", "currency": "kwd" }, Failed("R0303", "Stripe needs KWD amounts rounded to 0.010"), []);
yields!(refund_of_kwd_to_the_ten_fils, r#"on charge.succeeded { refund charge: id, amount: 12.340 KWD }"#, { "id": "ch_9", "currency": "kwd" }, Succeeded, [{ "action": "refund", "account": null, "params": { "charge": "ch_9", "amount": 12340 } }]);
yields!(refund_of_the_trigger_charge_in_another_currency_fails, r#"on charge.succeeded { refund charge: id, amount: 10.00 EUR }"#, { "id": "ch_9", "object": "charge", "currency": "usd" }, Failed("R0302", "the amount is 10.00 EUR, but the payment is in USD"), []);
yields!(refund_of_a_yen_charge_in_dollars_fails, r#"on charge.succeeded { refund charge: id, amount: 10.00 USD }"#, { "id": "ch_9", "object": "charge", "currency": "jpy" }, Failed("R0302", "the amount is 10.00 USD, but the payment is in JPY"), []);
yields!(refund_of_the_trigger_charge_in_its_currency, r#"on charge.succeeded { refund charge: id, amount: 1000 JPY }"#, { "id": "ch_9", "object": "charge", "currency": "jpy" }, Succeeded, [{ "action": "refund", "account": null, "params": { "charge": "ch_9", "amount": 1000 } }]);
yields!(refund_of_an_amount_by_an_id_of_unknown_currency_fails, r#"on charge.dispute.created { refund charge: charge, amount: 5 USD }"#, { "id": "dp_1", "object": "dispute", "charge": "ch_7", "currency": "usd" }, Failed("R0302", "the currency of charge `ch_7` is not known here; retrieve it first"), []);
yields!(refund_in_full_by_an_id_needs_no_currency, r#"on charge.dispute.created { refund charge: charge }"#, { "id": "dp_1", "object": "dispute", "charge": "ch_7", "currency": "usd" }, Succeeded, [{ "action": "refund", "account": null, "params": { "charge": "ch_7" } }]);

// ---------------------------------------------------------------- arithmetic
yields!(refund_half_of_the_amount, r#"on charge.succeeded { refund charge: id, amount: amount / 2 }"#, { "id": "ch_1", "object": "charge", "amount": 12000, "currency": "usd" }, Succeeded, [{ "action": "refund", "account": null, "params": { "charge": "ch_1", "amount": 6000 } }]);
yields!(half_of_an_odd_amount_rounds_half_away_from_zero, r#"on charge.succeeded { refund charge: id, amount: amount / 2 }"#, { "id": "ch_1", "object": "charge", "amount": 1999, "currency": "usd" }, Succeeded, [{ "action": "refund", "account": null, "params": { "charge": "ch_1", "amount": 1000 } }]);
yields!(floor_chooses_the_rounding, r#"on charge.succeeded { refund charge: id, amount: floor(amount / 2) }"#, { "id": "ch_1", "object": "charge", "amount": 1999, "currency": "usd" }, Succeeded, [{ "action": "refund", "account": null, "params": { "charge": "ch_1", "amount": 999 } }]);
yields!(precedence_of_arithmetic, r#"on charge.succeeded when amount - 10 USD * 2 == 80 USD and -amount < 0 USD { retrieve customer }"#, { "amount": 10000, "currency": "usd", "customer": "cus_1" }, Succeeded, [{ "action": "retrieve", "object": "customer", "id": "cus_1", "account": null }]);
yields!(money_of_two_currencies_does_not_add, r#"on charge.succeeded when amount + 5 USD > 10 USD { retrieve customer }"#, { "amount": 10000, "currency": "eur", "customer": "cus_1" }, Failed("R0302", "cannot add 100.00 EUR and 5.00 USD"), []);
yields!(division_by_zero_fails, r#"on invoice.payment_failed when amount_due / attempt_count > 10 USD { retrieve customer }"#, { "amount_due": 5000, "currency": "usd", "attempt_count": 0, "customer": "cus_1" }, Failed("R0105", "division by zero"), []);
yields!(overflow_fails, r#"on invoice.payment_failed when attempt_count * 9223372036854775807 > 0 { retrieve customer }"#, { "attempt_count": 2, "customer": "cus_1" }, Failed("R0105", "too large"), []);
yields!(ratio_of_money, r#"on charge.refunded when amount_refunded / amount > 0.5 { retrieve customer }"#, { "amount": 1000, "amount_refunded": 600, "currency": "usd", "customer": "cus_1" }, Succeeded, [{ "action": "retrieve", "object": "customer", "id": "cus_1", "account": null }]);

// ---------------------------------------------------------------- functions
yields!(ends_with_routes, r#"on customer.created { if ends_with(email, "@acme-corp.com") or ends_with(email, "@globex.com") { email to: "enterprise@example.com", body: "{email}" } else if contains(email, ".edu") { email to: "edu@example.com", body: "{email}" } }"#, { "email": "ada@globex.com" }, Succeeded, [{ "action": "email", "to": ["enterprise@example.com"], "subject": null, "body": "ada@globex.com", "append": [] }]);
yields!(contains_routes, r#"on customer.created { if ends_with(email, "@acme-corp.com") or ends_with(email, "@globex.com") { email to: "enterprise@example.com", body: "{email}" } else if contains(email, ".edu") { email to: "edu@example.com", body: "{email}" } }"#, { "email": "ada@cs.mit.edu" }, Succeeded, [{ "action": "email", "to": ["edu@example.com"], "subject": null, "body": "ada@cs.mit.edu", "append": [] }]);
yields!(a_null_text_contains_nothing, r#"on customer.created { if contains(email, ".edu") { email to: "a@example.com", body: "x" } }"#, { "id": "cus_1", "email": null }, Succeeded, []);
yields!(matches_a_pattern, r#"on payment_intent.succeeded when matches(metadata.order_id, "^B2B-[0-9]+$") { retrieve customer }"#, { "metadata": { "order_id": "B2B-1042" }, "customer": "cus_1" }, Succeeded, [{ "action": "retrieve", "object": "customer", "id": "cus_1", "account": null }]);
yields!(does_not_match_a_pattern, r#"on payment_intent.succeeded when matches(metadata.order_id, "^B2B-[0-9]+$") { retrieve customer }"#, { "metadata": { "order_id": "B2C-1042" }, "customer": "cus_1" }, Skipped, []);
yields!(length_of_a_list, r#"on invoice.paid when length(discounts) > 1 { email to: "ar@example.com", body: "{length(discounts)} discounts" }"#, { "discounts": ["di_1", "di_2", "di_3"] }, Succeeded, [{ "action": "email", "to": ["ar@example.com"], "subject": null, "body": "3 discounts", "append": [] }]);
yields!(lower_compares_without_case, r#"on charge.succeeded when lower(billing_details.address.country) == "de" { retrieve customer }"#, { "billing_details": { "address": { "country": "DE" } }, "customer": "cus_1" }, Succeeded, [{ "action": "retrieve", "object": "customer", "id": "cus_1", "account": null }]);
yields!(format_time_in_a_zone, r#"on charge.succeeded { email to: "a@example.com", body: "{format_time(created, "%Y-%m-%d %H:%M", "Europe/Berlin")}" }"#, { "created": 1765036700 }, Succeeded, [{ "action": "email", "to": ["a@example.com"], "subject": null, "body": "2025-12-06 16:58", "append": [] }]);

// ---------------------------------------------------------------- lists
yields!(an_item_of_a_list_object, r#"on customer.subscription.updated { email to: "a@example.com", subject: "Plan: {items.data[0].price.nickname}", body: "{items.data[5].price.nickname}" }"#, { "items": { "object": "list", "data": [{ "price": { "nickname": "Pro" } }] } }, Succeeded, [{ "action": "email", "to": ["a@example.com"], "subject": "Plan: Pro", "body": "", "append": [] }]);
yields!(an_item_of_a_typed_list_object, r#"on invoice.paid when lines.data[0].amount > 10 USD { email to: "a@example.com", subject: "{lines.data[0].description}", body: "{lines.data[0].amount}" }"#, { "lines": { "object": "list", "data": [{ "id": "il_1", "amount": 1200, "currency": "usd", "description": "Pro plan" }] } }, Succeeded, [{ "action": "email", "to": ["a@example.com"], "subject": "Pro plan", "body": "12.00 USD", "append": [] }]);
yields!(a_position_in_a_named_list, r#"on invoice.paid { let ds = discounts; if ds[1] == "di_2" and ds[9] == null { retrieve customer } }"#, { "discounts": ["di_1", "di_2"], "customer": "cus_1" }, Succeeded, [{ "action": "retrieve", "object": "customer", "id": "cus_1", "account": null }]);
yields!(an_empty_list_compares_with_a_list, r#"on invoice.paid when discounts == [] { retrieve customer }"#, { "discounts": [], "customer": "cus_1" }, Succeeded, [{ "action": "retrieve", "object": "customer", "id": "cus_1", "account": null }]);
yields!(any_item_decides, r#"on customer.subscription.updated when any(item in items.data: item.price.nickname == "Pro") { retrieve customer }"#, { "items": { "data": [{ "price": { "nickname": "Basic" } }, { "price": { "nickname": "Pro" } }] }, "customer": "cus_1" }, Succeeded, [{ "action": "retrieve", "object": "customer", "id": "cus_1", "account": null }]);
yields!(all_items_must_hold, r#"on customer.subscription.updated when all(item in items.data: item.price.nickname == "Pro") { retrieve customer }"#, { "items": { "data": [{ "price": { "nickname": "Basic" } }, { "price": { "nickname": "Pro" } }] }, "customer": "cus_1" }, Skipped, []);
yields!(all_of_nothing_holds, r#"on invoice.paid when all(d in discounts: d == "di_1") and not any(d in discounts: d == "di_1") { retrieve customer }"#, { "discounts": [], "customer": "cus_1" }, Succeeded, [{ "action": "retrieve", "object": "customer", "id": "cus_1", "account": null }]);

// ---------------------------------------------------------------- time
yields!(a_timestamp_before_a_date, r#"on customer.subscription.created when start_date < 2024-01-01 { retrieve customer }"#, { "start_date": 1704067199, "customer": "cus_1" }, Succeeded, [{ "action": "retrieve", "object": "customer", "id": "cus_1", "account": null }]);
yields!(a_timestamp_at_the_date_is_not_before, r#"on customer.subscription.created when start_date < 2024-01-01 { retrieve customer }"#, { "start_date": 1704067200, "customer": "cus_1" }, Skipped, []);
yields!(a_timestamp_against_a_date_time, r#"on customer.subscription.created when start_date >= 2024-01-01T09:00:00+01:00 { retrieve customer }"#, { "start_date": 1704096000, "customer": "cus_1" }, Succeeded, [{ "action": "retrieve", "object": "customer", "id": "cus_1", "account": null }]);
yields!(a_due_date_within_a_week_of_the_event, r#"on charge.dispute.created when evidence_details.due_by < event.created + 7 days { email to: "disputes@example.com", subject: "Evidence due {evidence_details.due_by}", body: "{evidence_details.due_by - event.created} left" }"#, { "evidence_details": { "due_by": 1765036700 } }, Succeeded, [{ "action": "email", "to": ["disputes@example.com"], "subject": "Evidence due 2025-12-06T15:58:20Z", "body": "1 day 23 hours 58 minutes 20 seconds left", "append": [] }]);

// ---------------------------------------------------------------- connected accounts

/// An event from a connected account is acted on in that account; the platform's own
/// events on the platform.
#[test]
fn actions_on_a_connected_accounts_event_act_in_that_account() {
    let source = r#"on charge.succeeded when amount > 1000 USD { let cus = retrieve customer; update customer.metadata.Tier = "VIP"; refund charge: id }"#;
    let object = json!({ "id": "ch_1", "object": "charge", "amount": 250000, "currency": "usd", "customer": "cus_1" });
    let report = run_in(source, object.clone(), Some("acct_1Conn"));
    assert_eq!(report.status, Status::Succeeded, "{:#}", report.to_json());
    let actions = report.to_json()["actions"].clone();
    assert_eq!(
        actions,
        json!([
            { "action": "retrieve", "object": "customer", "id": "cus_1", "account": "acct_1Conn" },
            { "action": "update", "object": "customer", "id": "cus_1", "account": "acct_1Conn", "params": { "metadata": { "Tier": "VIP" } } },
            { "action": "refund", "account": "acct_1Conn", "params": { "charge": "ch_1" } },
        ])
    );
    assert!(
        report
            .to_text()
            .contains("update customer cus_1 {\"metadata\":{\"Tier\":\"VIP\"}} in acct_1Conn"),
        "{}",
        report.to_text()
    );
    let platform = run_in(source, object, None).to_json();
    assert!(platform["actions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["account"].is_null()));
}

// ---------------------------------------------------------------- events that are not as their schema says
yields!(missing_required_field_fails, r#"on payment_intent.succeeded when amount > 1 USD { retrieve customer }"#, { "currency": "usd", "customer": "cus_1" }, Failed("R0103", "the event has no `amount`"), []);
yields!(wrong_type_fails, r#"on payment_intent.succeeded when amount > 1 USD { retrieve customer }"#, { "amount": "12", "currency": "usd", "customer": "cus_1" }, Failed("R0104", "`amount` should be an integer amount"), []);

// ---------------------------------------------------------------- slack, http and custom actions
yields!(slack_posts_the_message, r##"on charge.dispute.created { slack channel: "#disputes", text: "New {reason} dispute for {amount} on {charge}" }"##, { "id": "dp_1", "amount": 2000, "currency": "usd", "charge": "ch_1", "reason": "fraudulent" }, Succeeded, [{ "action": "slack", "channel": "#disputes", "text": "New fraudulent dispute for 20.00 USD on ch_1", "blocks": null }]);
yields!(slack_text_is_recorded_as_written, r##"on charge.dispute.created { slack channel: "#disputes", text: "{reason}" }"##, { "reason": "<!channel>" }, Succeeded, [{ "action": "slack", "channel": "#disputes", "text": "<!channel>", "blocks": null }]);
yields!(slack_blocks_are_json, r##"on charge.dispute.created { slack channel: "C1", text: "x", blocks: [{ "type": "section", "text": { "type": "mrkdwn", "text": "Dispute {id}" } }] }"##, { "id": "dp_1" }, Succeeded, [{ "action": "slack", "channel": "C1", "text": "x", "blocks": [{ "type": "section", "text": { "type": "mrkdwn", "text": "Dispute dp_1" } }] }]);
yields!(slack_without_a_channel_fails, r##"on charge.dispute.created { slack channel: "{metadata.room}", text: "x" }"##, { "metadata": {} }, Failed("R0101", "slack: `channel` is null or empty"), []);
yields!(http_sends_the_json_body, r##"on charge.dispute.created { http method: "POST", url: "https://orders.example.com/hooks/stripe-dispute", json: { "dispute": id, "charge": charge, "amount": amount } }"##, { "id": "dp_1", "amount": 2000, "currency": "usd", "charge": "ch_1" }, Succeeded, [{ "action": "http", "name": null, "method": "POST", "url": "https://orders.example.com/hooks/stripe-dispute", "headers": [], "body": { "dispute": "dp_1", "charge": "ch_1", "amount": 2000 } }]);
yields!(http_without_a_body, r##"on charge.dispute.created { http method: "GET", url: "https://orders.example.com/disputes/{id}" }"##, { "id": "dp_1" }, Succeeded, [{ "action": "http", "name": null, "method": "GET", "url": "https://orders.example.com/disputes/dp_1", "headers": [], "body": null }]);
yields!(http_headers_are_recorded, r##"on charge.dispute.created { http method: "POST", url: "https://x.example.com/", json: { "n": [1, 2.5], "ok": true, "none": null }, headers: { "X-Team": "risk" } }"##, { "id": "dp_1" }, Succeeded, [{ "action": "http", "name": null, "method": "POST", "url": "https://x.example.com/", "headers": [["X-Team", "risk"]], "body": { "n": [1, 2.5], "ok": true, "none": null } }]);
yields!(http_method_is_checked_at_run_time, r##"on charge.dispute.created { http method: "{metadata.m}", url: "https://x.example.com/" }"##, { "metadata": { "m": "TRACE" } }, Failed("R0104", "`TRACE` is not a method"), []);
yields!(http_to_something_else_fails, r##"on charge.dispute.created { http method: "POST", url: "{metadata.hook}" }"##, { "metadata": { "hook": "file:///etc/passwd" } }, Failed("R0104", "is not an https:// address"), []);
yields!(http_answer_is_named_with_let, r##"on charge.dispute.created { let r = http method: "POST", url: "https://x.example.com/"
  slack channel: "#d", text: "answered {r.status}" }"##, { "id": "dp_1" }, Succeeded, [{ "action": "http", "name": null, "method": "POST", "url": "https://x.example.com/", "headers": [], "body": null }, { "action": "slack", "channel": "#d", "text": "answered ", "blocks": null }]);
yields!(custom_action_posts_its_parameters, r##"action crm_note url: "https://crm.example.com/notes" { customer: ref(customer), text: string, priority: enum(low|high)? }
on charge.dispute.created { crm_note customer: "cus_1", text: "Dispute {id}: {reason}" }"##, { "id": "dp_1", "reason": "fraudulent" }, Succeeded, [{ "action": "http", "name": "crm_note", "method": "POST", "url": "https://crm.example.com/notes", "headers": [], "body": { "customer": "cus_1", "text": "Dispute dp_1: fraudulent" } }]);

// ---------------------------------------------------------------- Stripe API methods
yields!(void_an_overdue_invoice, r#"on invoice.overdue { stripe.invoices.void_invoice(id) }"#, { "id": "in_123", "object": "invoice", "currency": "usd", "customer": "cus_1" }, Succeeded, [{ "action": "stripe", "method": "invoices.void_invoice", "http": "POST /v1/invoices/in_123/void", "id": "in_123", "account": null, "params": {} }]);
yields!(cancel_a_subscription, r#"on customer.subscription.updated when status == "past_due" { stripe.subscriptions.cancel(id, prorate: true, cancellation_details: { comment: "unpaid" }) }"#, { "id": "sub_1", "object": "subscription", "status": "past_due", "customer": "cus_1" }, Succeeded, [{ "action": "stripe", "method": "subscriptions.cancel", "http": "DELETE /v1/subscriptions/sub_1", "id": "sub_1", "account": null, "params": { "prorate": true, "cancellation_details": { "comment": "unpaid" } } }]);
yields!(an_id_is_one_path_segment, r#"on invoice.overdue { stripe.invoices.void_invoice("in_1/../x?y") }"#, { "id": "in_123" }, Succeeded, [{ "action": "stripe", "method": "invoices.void_invoice", "http": "POST /v1/invoices/in_1%2F..%2Fx%3Fy/void", "id": "in_1/../x?y", "account": null, "params": {} }]);
yields!(a_null_id_fails_before_anything_is_sent, r#"on invoice.overdue { stripe.subscriptions.cancel(subscription) }"#, { "id": "in_123", "subscription": null }, Failed("R0101", "`subscription` is null"), []);
yields!(money_fills_in_its_currency, r#"on invoice.overdue { stripe.invoice_items.create(customer: customer, amount: 12.50 EUR, description: "Late fee") }"#, { "id": "in_123", "customer": "cus_1", "currency": "eur" }, Succeeded, [{ "action": "stripe", "method": "invoice_items.create", "http": "POST /v1/invoiceitems", "id": null, "account": null, "params": { "customer": "cus_1", "amount": 1250, "description": "Late fee", "currency": "eur" } }]);
yields!(money_and_currency_must_agree, r#"on invoice.overdue { stripe.invoice_items.create(customer: customer, amount: 12.50 EUR, currency: currency) }"#, { "id": "in_123", "customer": "cus_1", "currency": "usd" }, Failed("R0302", "`amount` is 12.50 EUR, but `currency` is USD"), []);
yields!(zero_decimal_money_in_minor_units, r#"on invoice.overdue { stripe.invoice_items.create(customer: customer, amount: 500 JPY) }"#, { "id": "in_123", "customer": "cus_1", "currency": "jpy" }, Succeeded, [{ "action": "stripe", "method": "invoice_items.create", "http": "POST /v1/invoiceitems", "id": null, "account": null, "params": { "customer": "cus_1", "amount": 500, "currency": "jpy" } }]);
yields!(a_credit_note_in_the_invoices_currency, r#"on invoice.overdue { stripe.credit_notes.create(invoice: id, amount: 5 USD, reason: "order_change") }"#, { "id": "in_123", "object": "invoice", "currency": "usd" }, Succeeded, [{ "action": "stripe", "method": "credit_notes.create", "http": "POST /v1/credit_notes", "id": null, "account": null, "params": { "invoice": "in_123", "amount": 500, "reason": "order_change" } }]);
yields!(a_credit_note_in_another_currency_fails, r#"on invoice.overdue { stripe.credit_notes.create(invoice: id, amount: 5 EUR) }"#, { "id": "in_123", "object": "invoice", "currency": "usd" }, Failed("R0302", "`amount` is 5.00 EUR, but the invoice in_123 is in USD"), []);
yields!(a_retrieved_objects_currency_is_checked, r#"on radar.early_fraud_warning.created { let ch = retrieve charge; stripe.refunds.create(charge: ch, amount: 5 EUR) }"#, { "charge": "ch_small" }, Failed("R0302", "`amount` is 5.00 EUR, but the charge ch_small is in USD"), [{ "action": "retrieve", "object": "charge", "id": "ch_small", "account": null }]);
yields!(an_ids_currency_is_looked_up, r#"on radar.early_fraud_warning.created { stripe.refunds.create(charge: charge, amount: 5 USD) }"#, { "charge": "ch_small" }, Succeeded, [{ "action": "retrieve", "object": "charge", "id": "ch_small", "account": null }, { "action": "stripe", "method": "refunds.create", "http": "POST /v1/refunds", "id": null, "account": null, "params": { "charge": "ch_small", "amount": 500 } }]);
yields!(a_list_answers_its_items, r#"on customer.subscription.deleted { let open = stripe.invoices.list(customer: customer, status: "open"); email to: "ar@example.com", body: "{length(open)}" }"#, { "id": "sub_1", "customer": "cus_1" }, Succeeded, [{ "action": "stripe", "method": "invoices.list", "http": "GET /v1/invoices", "id": null, "account": null, "params": { "customer": "cus_1", "status": "open", "limit": 100 } }, { "action": "email", "to": ["ar@example.com"], "subject": null, "body": "0", "append": [] }]);

/// A connected account's event acts in that account; `stripe_account:` says otherwise.
#[test]
fn a_method_acts_in_the_events_account_unless_told() {
    let object = json!({ "id": "ch_1", "object": "charge", "amount": 250000, "currency": "usd", "customer": "cus_1" });
    let run = |call: &str| {
        let source = format!("on charge.succeeded {{ {call} }}");
        let report = run_in(&source, object.clone(), Some("acct_1Conn"));
        assert_eq!(report.status, Status::Succeeded, "{:#}", report.to_json());
        report.to_json()["actions"][0]["account"].clone()
    };
    let tag = r#"stripe.customers.update(customer, metadata: {"Tier": "VIP"}"#;
    assert_eq!(run(&format!("{tag})")), json!("acct_1Conn"));
    assert_eq!(run(&format!("{tag}, stripe_account: null)")), Json::Null);
    assert_eq!(
        run(&format!("{tag}, stripe_account: \"acct_2Other\")")),
        json!("acct_2Other")
    );
}

/// What a method answers is a typed value later steps read.
#[test]
fn a_created_objects_id_reaches_a_later_step() {
    let source = r#"on invoice.overdue {
        let cn = stripe.credit_notes.create(invoice: id, amount: 5 USD, reason: "order_change")
        email to: "ar@example.com", body: "Credit note {cn.id} for {cn.invoice}"
    }"#;
    let object = json!({ "id": "in_123", "object": "invoice", "currency": "usd" });
    let first = run(source, object.clone()).to_json();
    assert_eq!(first["status"], "succeeded", "{first:#}");
    let body = first["actions"][1]["body"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        body.starts_with("Credit note cn_") && body.ends_with(" for in_123"),
        "{body}"
    );
    let again = run(source, object).to_json();
    assert_eq!(
        again["actions"][1]["body"],
        json!(body),
        "the same run makes the same id"
    );
}

// ---------------------------------------------------------------- loops
yields!(a_loop_over_a_list_literal, r#"on invoice.overdue { for to in ["a@example.com", "b@example.com"] { email to: to, body: "{id}" } }"#, { "id": "in_1" }, Succeeded, [{ "action": "email", "to": ["a@example.com"], "subject": null, "body": "in_1", "append": [] }, { "action": "email", "to": ["b@example.com"], "subject": null, "body": "in_1", "append": [] }]);
yields!(a_loop_over_a_list_field, r#"on invoice.paid { for line in lines.data { email to: "a@example.com", body: "{line.id}: {line.amount}" } }"#, { "id": "in_1", "currency": "usd", "lines": { "object": "list", "has_more": false, "url": "/v1/invoices/in_1/lines", "data": [{ "id": "il_1", "object": "line_item", "amount": 500, "currency": "usd" }, { "id": "il_2", "object": "line_item", "amount": 700, "currency": "usd" }] } }, Succeeded, [{ "action": "email", "to": ["a@example.com"], "subject": null, "body": "il_1: 5.00 USD", "append": [] }, { "action": "email", "to": ["a@example.com"], "subject": null, "body": "il_2: 7.00 USD", "append": [] }]);
yields!(break_leaves_the_loop, r#"on invoice.overdue { for n in [1, 2, 3] { if n == 2 { break }
  email to: "a@example.com", body: "{n}" }
  email to: "b@example.com", body: "done" }"#, { "id": "in_1" }, Succeeded, [{ "action": "email", "to": ["a@example.com"], "subject": null, "body": "1", "append": [] }, { "action": "email", "to": ["b@example.com"], "subject": null, "body": "done", "append": [] }]);
yields!(nested_loops_run_in_order, r#"on invoice.overdue { for a in ["x", "y"] { for b in [1, 2] { email to: "a@example.com", body: "{a}{b}" } } }"#, { "id": "in_1" }, Succeeded, [{ "action": "email", "to": ["a@example.com"], "subject": null, "body": "x1", "append": [] }, { "action": "email", "to": ["a@example.com"], "subject": null, "body": "x2", "append": [] }, { "action": "email", "to": ["a@example.com"], "subject": null, "body": "y1", "append": [] }, { "action": "email", "to": ["a@example.com"], "subject": null, "body": "y2", "append": [] }]);

/// A list longer than the loop's limit is cut, and the report says so.
#[test]
fn a_list_cut_by_the_limit_is_reported() {
    let source = r#"on invoice.overdue { for n in [1, 2, 3] limit 2 { email to: "a@example.com", body: "{n}" } }"#;
    let report = run(source, json!({ "id": "in_1" }));
    let got = report.to_json();
    assert_eq!(got["status"], "succeeded", "{got:#}");
    assert_eq!(got["actions"].as_array().map(Vec::len), Some(2), "{got:#}");
    assert_eq!(
        got["loops"],
        json!([{ "at": "case.flow:1:31", "limit": 2, "iterations": 2, "truncated": true }])
    );
    assert!(
        report
            .to_text()
            .contains("warning: the loop at case.flow:1:31 took only the first 2 items"),
        "{}",
        report.to_text()
    );
    let whole = run(
        r#"on invoice.overdue { for n in [1, 2] limit 2 { email to: "a@example.com", body: "{n}" } }"#,
        json!({ "id": "in_1" }),
    )
    .to_json();
    assert_eq!(whole["loops"][0]["truncated"], false, "{whole:#}");
    let none = run(
        r#"on invoice.overdue { email to: "a@example.com", body: "x" }"#,
        json!({ "id": "in_1" }),
    )
    .to_json();
    assert!(
        none.get("loops").is_none(),
        "a run without loops keeps its shape: {none:#}"
    );
}

/// Bindings that keep the idempotency key of every action.
struct Keys(Vec<String>);

impl flow::vm::Bindings for Keys {
    fn perform(
        &mut self,
        _action: &flow::vm::Action,
        cx: &flow::vm::ActionContext<'_>,
    ) -> Result<Json, flow::vm::ActionError> {
        self.0
            .push(flow::vm::idempotency_key(cx).unwrap_or_default());
        Ok(Json::Null)
    }
}

/// In a loop, an action's key follows the item it is for, not its position: the same
/// item keeps its key when the list has changed, and every item has its own.
#[test]
fn an_action_in_a_loop_is_keyed_by_its_item() {
    let source = r#"on invoice.overdue { for line in lines.data { email to: "a@example.com", body: "{line.id}" } }"#;
    let file = SourceFile::new("case.flow", source);
    let build = flow::build(&file, &Settings::default(), "case");
    assert!(!build.has_errors());
    let program = &build.compiled.programs[0];
    let keys = |ids: &[&str]| {
        let data: Vec<Json> = ids
            .iter()
            .map(|id| json!({ "id": id, "object": "line_item", "amount": 1, "currency": "usd", "metadata": {} }))
            .collect();
        let event = Event::from_json(
            json!({ "id": "evt_1", "object": "event", "type": "invoice.overdue", "created": 1,
                    "data": { "object": { "id": "in_1", "lines": { "object": "list", "data": data, "has_more": false } } } }),
            None,
        )
        .expect("an event");
        let mut b = Keys(Vec::new());
        let report = flow::vm::run(program, &file, &event, &mut b);
        assert_eq!(report.status, Status::Succeeded, "{:#}", report.to_json());
        b.0
    };
    let first = keys(&["il_a", "il_b", "il_c"]);
    let later = keys(&["il_c", "il_a"]);
    assert_eq!(first.len(), 3);
    assert_eq!(later, vec![first[2].clone(), first[0].clone()]);
    let unique: std::collections::BTreeSet<&String> = first.iter().collect();
    assert_eq!(unique.len(), 3, "{first:?}");
}
