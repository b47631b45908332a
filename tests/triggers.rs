//! Workflows started by a schedule or on demand, and waits: the three workflows of
//! the examples as written, `flow run --at` / `--input`, `flow schedule`, the run's
//! clock across waits (passed at once, or stopping the run when it ends later), and
//! the checks of each.

mod common;
use common::*;

use serde_json::{json, Value as Json};

use flow::bindings::Recording;
use flow::settings::Settings;
use flow::syntax::SourceFile;
use flow::vm::{Event, RunReport, Status};

fn json_line(r: &Ran) -> Json {
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    serde_json::from_str(r.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {}", r.stdout))
}

// ---------------------------------------------------------------- schedules

#[test]
fn a_slot_runs_with_the_slot_as_now_and_no_event() {
    let r = flow_ok(&[
        "run",
        "examples/monthly_close.flow",
        "--at",
        "2027-01-01T14:00:00Z",
        "--format",
        "json",
    ]);
    let report = json_line(&r);
    assert_eq!(report["trigger"], "schedule");
    assert_eq!(report["slot"], "2027-01-01T14:00:00Z");
    assert_eq!(
        report["event"],
        "schedule:Monthly close reminder:2027-01-01T14:00:00Z"
    );
    assert_eq!(report["status"], "succeeded");
    assert_eq!(
        report["actions"],
        json!([{"action": "email", "to": ["finance@example.com"], "subject": "Monthly close",
                "body": "Reconcile last month's payouts.", "append": []}])
    );
}

#[test]
fn a_time_that_is_no_slot_is_refused_with_the_slots_around_it() {
    // 9:00 UTC is 4:00 in New York: not the slot.
    let r = flow_ok(&[
        "run",
        "examples/monthly_close.flow",
        "--at",
        "2027-01-01T09:00:00Z",
    ]);
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(r.stdout.is_empty(), "nothing ran: {}", r.stdout);
    assert!(r.stderr.contains("error[E0911]"), "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "the slot before is 2026-12-01T14:00:00Z, the one after 2027-01-01T14:00:00Z"
        ),
        "{}",
        r.stderr
    );
}

#[test]
fn flow_schedule_lists_slots_across_a_daylight_saving_change() {
    let d = tempfile::tempdir().unwrap();
    temp_file(
        d.path(),
        "nightly.flow",
        "workflow \"Nightly\"\non schedule \"30 2 * * *\" timezone \"America/New_York\" {\n    email to: \"ops@example.com\", body: \"{now}\"\n}\n",
    );
    let r = ran(flow()
        .current_dir(d.path())
        .args([
            "schedule",
            "nightly.flow",
            "--from",
            "2026-03-07T00:00:00Z",
            "--to",
            "2026-03-10T00:00:00Z",
            "--format",
            "json",
        ])
        .output()
        .unwrap());
    let listed = json_line(&r);
    let utc: Vec<&str> = listed[0]["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["utc"].as_str().unwrap())
        .collect();
    // 2:30 does not exist on 8 March (clocks go from 2:00 to 3:00): that day's slot
    // is the change itself, 3:00 EDT.
    assert_eq!(
        utc,
        [
            "2026-03-07T07:30:00Z",
            "2026-03-08T07:00:00Z",
            "2026-03-09T06:30:00Z"
        ]
    );
    assert_eq!(listed[0]["slots"][1]["local"], "2026-03-08T03:00:00-04:00");
    // The slot at the change runs, with `now` the slot.
    let r = ran(flow()
        .current_dir(d.path())
        .args([
            "run",
            "nightly.flow",
            "--at",
            "2026-03-08T07:00:00Z",
            "--format",
            "json",
        ])
        .output()
        .unwrap());
    assert_eq!(json_line(&r)["actions"][0]["body"], "2026-03-08T07:00:00Z");
}

#[test]
fn a_scheduled_workflow_reads_no_event() {
    let file = SourceFile::new(
        "s.flow",
        "on schedule \"0 8 * * *\" {\n    email to: \"ops@example.com\", body: \"{amount}\"\n}\n",
    );
    let build = flow::build(&file, &Settings::default(), "s");
    let d = build
        .diagnostics
        .iter()
        .find(|d| d.code == "E0102")
        .expect("E0102");
    assert_eq!(d.message, "`amount` is not a name in scope");
    assert!(
        d.help
            .as_deref()
            .is_some_and(|h| h.contains("a scheduled workflow has no event")),
        "{d:?}"
    );
}

// ---------------------------------------------------------------- on demand

#[test]
fn four_wrong_fields_are_reported_together_and_nothing_runs() {
    let d = tempfile::tempdir().unwrap();
    let input = temp_file(
        d.path(),
        "input.json",
        r#"{"custmer": "cus_1", "credit": {"amount": 500, "currency": "usx"}, "reason": 7}"#,
    );
    let r = flow_ok(&[
        "run",
        "examples/goodwill.flow",
        "--input",
        input.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stdout.is_empty(), "nothing ran: {}", r.stdout);
    assert!(r.stderr.contains("error[E0912]"), "{}", r.stderr);
    assert!(r.stderr.contains("has 4 problems"), "{}", r.stderr);
    for part in [
        "`custmer`: is not an input of this workflow (did you mean `customer`?)",
        "`customer`: is missing",
        "`credit`: \"usx\" is not a currency Stripe knows",
        "`reason`: is a number, not a string",
    ] {
        assert!(r.stderr.contains(part), "{part:?} in {}", r.stderr);
    }
}

#[test]
fn a_valid_input_runs_the_goodwill_gesture() {
    let r = flow_ok(&[
        "run",
        "examples/goodwill.flow",
        "--input",
        "examples/inputs/goodwill.json",
        "--now",
        "2027-01-05T10:00:00Z",
        "--format",
        "json",
    ]);
    let report = json_line(&r);
    assert_eq!(report["trigger"], "demand");
    assert_eq!(report["event_type"], "demand");
    assert!(
        report["event"].as_str().unwrap().starts_with("demand:"),
        "{report}"
    );
    assert_eq!(
        report["actions"],
        json!([
            {"action": "update", "object": "customer", "id": "cus_RvA9bC8dE7fG6h", "account": null,
             "params": {"metadata": {"goodwill_reason": "the parcel arrived a week late"}}},
            {"action": "email", "to": ["cs-leads@example.com"], "subject": null,
             "body": "Goodwill credit of 25.00 USD for cus_RvA9bC8dE7fG6h: the parcel arrived a week late",
             "append": []}
        ])
    );
    // The same input at the same time: the same run id (and idempotency keys).
    let again = json_line(&flow_ok(&[
        "run",
        "examples/goodwill.flow",
        "--input",
        "examples/inputs/goodwill.json",
        "--now",
        "2027-01-05T10:00:00Z",
        "--format",
        "json",
    ]));
    assert_eq!(again["event"], report["event"]);
}

/// Build a one-workflow source, with no errors.
fn program(source: &str) -> (std::sync::Arc<SourceFile>, flow::Build) {
    let file = SourceFile::new("case.flow", source);
    let build = flow::build(&file, &Settings::default(), "case");
    let rendered: String = build
        .diagnostics
        .iter()
        .map(|d| flow::diagnostics::render(d, &file, false))
        .collect();
    assert!(!build.has_errors(), "{source}\n{rendered}");
    (file, build)
}

#[test]
fn optional_inputs_take_their_default_or_null() {
    let (file, build) = program(
        "on demand (days: integer = 7, note: string?, who: string) {\n    email to: \"ops@example.com\", body: \"{who}: {days} days, note {note}.\"\n}\n",
    );
    let p = &build.compiled.programs[0];
    let event = Event::demand("demand:t", json!({"who": "ana"}), 1_798_761_600);
    let report = flow::vm::run(p, &file, &event, &mut Recording::new());
    assert_eq!(report.status, Status::Succeeded, "{:?}", report.error);
    assert_eq!(
        report.to_json()["actions"][0]["body"],
        "ana: 7 days, note ."
    );
    // A run started with a bad input fails before its first step, with R0305.
    let event = Event::demand("demand:t", json!({"days": "7"}), 1_798_761_600);
    let report = flow::vm::run(p, &file, &event, &mut Recording::new());
    assert_eq!(report.status, Status::Failed);
    assert_eq!(report.to_json()["code"], "R0305");
    assert!(report.actions.is_empty());
    let error = report.error.unwrap_or_default();
    assert!(
        error.contains("`days`: is a string, not an integer"),
        "{error}"
    );
    assert!(error.contains("`who`: is missing"), "{error}");
}

#[test]
fn inputs_written_wrongly_are_checked() {
    for (source, message) in [
        (
            "on demand (a: string, a: integer) { email to: \"x@example.com\", body: \"{a}\" }",
            "the input `a` is declared twice",
        ),
        (
            "on demand (n: integer = \"seven\") { email to: \"x@example.com\", body: \"{n}\" }",
            "this default is string, not integer",
        ),
        (
            "on demand (c: charge) { email to: \"x@example.com\", body: \"{c}\" }",
            "an input cannot be a whole charge",
        ),
        (
            "on demand (c: ref<custmer>) { email to: \"x@example.com\", body: \"{c}\" }",
            "`custmer` is not a Stripe object type",
        ),
    ] {
        let file = SourceFile::new("case.flow", source);
        let build = flow::build(&file, &Settings::default(), "case");
        assert!(
            build
                .diagnostics
                .iter()
                .any(|d| d.code == "E0318" && d.message == message),
            "{source}: {:?}",
            build.diagnostics
        );
    }
}

// ---------------------------------------------------------------- waits

fn run_waiting(source: &str, now: i64, wake_by: Option<i64>) -> RunReport {
    let (file, build) = program(source);
    let p = &build.compiled.programs[0];
    let mut event = Event::from_json(
        json!({"id": "evt_1", "object": "event", "type": p.trigger, "created": now,
               "data": {"object": {"id": "in_1", "object": "invoice", "due_date": now + 86_400}}}),
        None,
    )
    .unwrap();
    event.now = Some(now);
    event.wake_by = wake_by;
    flow::vm::run(p, &file, &event, &mut Recording::new())
}

const WAITS: &str = "on invoice.finalized {\n    email to: \"a@example.com\", body: \"before {now}\"\n    wait 3 days\n    email to: \"a@example.com\", body: \"after {now}\"\n    if due_date != null {\n        wait until due_date\n    }\n    email to: \"a@example.com\", body: \"due {now}\"\n}\n";

#[test]
fn waits_pass_at_once_on_the_runs_own_clock() {
    // 2027-01-01T00:00:00Z; the invoice is due a day later, before the 3 days end.
    let report = run_waiting(WAITS, 1_798_761_600, None);
    assert_eq!(report.status, Status::Succeeded, "{:?}", report.error);
    let bodies: Vec<Json> = report.to_json()["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["body"].clone())
        .collect();
    assert_eq!(
        bodies,
        [
            "before 2027-01-01T00:00:00Z",
            "after 2027-01-04T00:00:00Z",
            // `wait until` a time that has passed goes on at once.
            "due 2027-01-04T00:00:00Z"
        ]
    );
    let waits = report.to_json()["waits"].clone();
    assert_eq!(
        waits,
        json!([
            {"at": "case.flow:3:5", "until": "2027-01-04T00:00:00Z"},
            {"at": "case.flow:6:9", "until": "2027-01-04T00:00:00Z"}
        ])
    );
}

#[test]
fn a_wait_that_ends_later_stops_the_run_waiting() {
    let start = 1_798_761_600;
    // The real time is an hour after the start: the 3 days have not passed.
    let report = run_waiting(WAITS, start, Some(start + 3_600));
    assert_eq!(report.status, Status::Waiting);
    assert_eq!(report.wakes_at, Some(start + 3 * 86_400));
    assert_eq!(report.actions.len(), 1, "only the step before the wait");
    let j = report.to_json();
    assert_eq!(j["status"], "waiting");
    assert_eq!(j["wakes_at"], start + 3 * 86_400);
    // Carried out again once the wait has ended, it goes to its end: the same steps
    // in the same order (under `flow serve` the journal answers the first from the
    // run log instead of carrying it out again).
    let report = run_waiting(WAITS, start, Some(start + 3 * 86_400));
    assert_eq!(report.status, Status::Succeeded, "{:?}", report.error);
    assert_eq!(report.actions.len(), 3);
}

#[test]
fn a_wait_needs_a_duration_or_a_time() {
    let file = SourceFile::new(
        "case.flow",
        "on invoice.finalized {\n    wait until 3 days\n}\n",
    );
    let build = flow::build(&file, &Settings::default(), "case");
    assert!(
        build
            .diagnostics
            .iter()
            .any(|d| d.code == "E0320"
                && d.message == "`wait until` needs a timestamp, not duration"),
        "{:?}",
        build.diagnostics
    );
}

#[test]
fn the_examples_tests_pass() {
    let r = flow_ok(&[
        "test",
        "examples/monthly_close.flow",
        "examples/monthly_close.test.flow",
        "examples/goodwill.flow",
        "examples/goodwill.test.flow",
        "examples/nudge_unpaid_invoices.flow",
        "examples/nudge_unpaid_invoices.test.flow",
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("6 passed, 0 failed") || r.stdout.contains("6 passed, 0 failed"),
        "{}{}",
        r.stdout,
        r.stderr
    );
}

/// The issue's three workflows, exactly as users write them, in one file: they check
/// cleanly and each runs.
const AS_WRITTEN: &str = r#"workflow "Monthly close reminder"
on schedule "0 9 1 * *" timezone "America/New_York" {
    email to: "finance@example.com", subject: "Monthly close", body: "Reconcile last month's payouts."
}

workflow "Goodwill gesture"
on demand (customer: ref<customer>, credit: money, reason: string) {
    update customer.metadata.goodwill_reason = reason
    email to: "cs-leads@example.com", body: "Goodwill credit of {credit} for {customer}: {reason}"
}

workflow "Nudge unpaid invoices"
on invoice.finalized {
    wait 3 days
    let inv = stripe.invoices.retrieve(id)
    if inv.status == "open" { email to: "ar@example.com", body: "{id} is still open." }
}
"#;

#[test]
fn the_three_workflows_work_as_written() {
    let d = tempfile::tempdir().unwrap();
    temp_file(d.path(), "beyond.flow", AS_WRITTEN);
    let input = temp_file(
        d.path(),
        "input.json",
        r#"{"customer": "cus_1", "credit": "10.00 USD", "reason": "late"}"#,
    );
    let run = |args: &[&str]| ran(flow().current_dir(d.path()).args(args).output().unwrap());
    let r = run(&["check", "beyond.flow"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("0 errors, 0 warnings"), "{}", r.stderr);

    let at = run(&[
        "run",
        "beyond.flow",
        "--at",
        "2027-02-01T14:00:00Z",
        "--format",
        "json",
    ]);
    assert_eq!(json_line(&at)["workflow"], "Monthly close reminder");

    let demand = run(&[
        "run",
        "beyond.flow",
        "--input",
        input.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let report = json_line(&demand);
    assert_eq!(report["workflow"], "Goodwill gesture");
    assert_eq!(
        report["actions"][1]["body"],
        "Goodwill credit of 10.00 USD for cus_1: late"
    );

    let event = root().join("examples/events/invoice_finalized.json");
    let nudge = run(&[
        "run",
        "beyond.flow",
        "--event",
        event.to_str().unwrap(),
        "--now",
        "2025-11-24T16:00:20Z",
        "--format",
        "json",
    ]);
    let report = json_line(&nudge);
    assert_eq!(report["workflow"], "Nudge unpaid invoices");
    // The run starts at `--now`; the wait ends three days later.
    assert_eq!(report["waits"][0]["until"], "2025-11-27T16:00:20Z");
    assert_eq!(
        report["actions"][1]["body"],
        "in_1QwInvoiceFinal03 is still open."
    );
}
