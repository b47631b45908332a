//! Compiled programs run as the source says: `if`/`else if` chains and `let`s.

use flow::bindings::Recording;
use flow::settings::Settings;
use flow::syntax::SourceFile;
use flow::vm::{run, Event, Status};

fn run_on(flow: &str, object: serde_json::Value) -> flow::vm::RunReport {
    let src = SourceFile::new("t.flow", flow);
    let b = flow::build(&src, &Settings::default(), "t");
    assert!(!b.has_errors(), "{:?}", b.diagnostics);
    let e = Event::from_json(object, Some("charge.succeeded")).unwrap();
    run(&b.compiled.programs[0], &src, &e, &mut Recording::new())
}

#[test]
fn and_or_short_circuit() {
    let obj = serde_json::json!({"id": "ch_1", "amount": 100, "currency": "usd", "application_fee_amount": null});
    // The right side would fail on null; `and` never evaluates it.
    let r = run_on("on charge.succeeded when application_fee_amount != null and application_fee_amount > 1 USD { retrieve customer }", obj.clone());
    assert_eq!(r.status, Status::Skipped, "{:?}", r.error);
    let r = run_on("on charge.succeeded when application_fee_amount == null or application_fee_amount > 1 USD { email to: \"a@b.co\", body: \"x\" }", obj.clone());
    assert_eq!(r.status, Status::Succeeded, "{:?}", r.error);
    // Without the guard the null comparison fails the run, naming the field.
    let r = run_on(
        "on charge.succeeded when application_fee_amount > 1 USD { retrieve customer }",
        obj,
    );
    assert_eq!(r.status, Status::Failed);
    assert!(r
        .error
        .unwrap()
        .contains("`application_fee_amount` is null"));
}

#[test]
fn if_else_chains_take_one_branch() {
    let flow = "on charge.succeeded {\n if amount > 10 USD { email to: \"big@b.co\", body: \"x\" }\n else if amount > 1 USD { email to: \"mid@b.co\", body: \"x\" }\n else { email to: \"small@b.co\", body: \"x\" } }";
    for (amount, to) in [(2000, "big@b.co"), (500, "mid@b.co"), (100, "small@b.co")] {
        let r = run_on(
            flow,
            serde_json::json!({"id": "ch_1", "amount": amount, "currency": "usd"}),
        );
        assert_eq!(r.actions.len(), 1);
        assert_eq!(r.actions[0].to_json()["to"][0], to);
    }
}
