//! Crash recovery: `kill -9` the server while events arrive and runs are carried out,
//! twice, and restart it. Every acknowledged event must end with exactly one run, every
//! run must succeed, and every action must have been carried out exactly once, under
//! the idempotency key of its (event, workflow, step).

mod serve_support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serve_support::*;

const EVENTS: usize = 60;
const WORKERS: &str = "4";

fn event_id(i: usize) -> String {
    format!("evt_crash_{i:03}")
}

fn body(i: usize) -> String {
    // Above 2000 USD: each run sends an e-mail, then tags the customer.
    payment_event(
        &event_id(i),
        250_000 + i as i64,
        "usd",
        Some(&format!("cus_{i:03}")),
    )
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let until = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn performed_count(dir: &std::path::Path) -> i64 {
    count(dir, "SELECT count(*) FROM performed")
}

#[test]
fn killed_twice_every_run_completes_once_and_no_action_is_carried_out_twice() {
    let dir = flows_dir(&[("tag.flow", TAG)]);
    let d = dir.path();
    let slow = ["--workers", WORKERS, "--simulate-latency-ms", "60"];

    // Round 1: events arrive while the server is killed.
    let s = start(d, &slow);
    let addr = s.addr.clone();
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let poster = {
        let acked = acked.clone();
        std::thread::spawn(move || {
            for i in 0..EVENTS {
                let b = body(i);
                if try_post(&addr, &b, &sign(&b)) == Some(200) {
                    acked.lock().unwrap().insert(i);
                }
                std::thread::sleep(Duration::from_millis(8));
            }
        })
    };
    wait_for(
        "actions before the first kill",
        Duration::from_secs(30),
        || performed_count(d) >= 12,
    );
    s.kill9();
    poster.join().unwrap();
    let acked_round1 = acked.lock().unwrap().clone();
    let unfinished_1 = count(d, "SELECT count(*) FROM runs WHERE status = 'started'");
    let in_flight_1 = count(
        d,
        "SELECT count(*) FROM runs WHERE status = 'started' AND attempts > 0",
    );
    assert!(unfinished_1 > 0, "the kill came too late to test anything");
    assert!(
        (performed_count(d) as usize) < 2 * EVENTS,
        "the kill came too late to test anything"
    );
    // Acknowledged means recorded: every 200 has its event and its run.
    for i in &acked_round1 {
        let id = event_id(*i);
        let runs = db(d)
            .query_row(
                "SELECT count(*) FROM runs WHERE event_id = ?1",
                [&id],
                |r| r.get::<_, i64>(0),
            )
            .unwrap();
        assert_eq!(runs, 1, "{id} was acknowledged but not recorded");
    }

    // Round 2: the restarted server resumes, and is killed again mid-way.
    let s = start(d, &slow);
    let listening = s
        .wait_log(Duration::from_secs(10), |l| l["msg"] == "listening")
        .unwrap();
    assert_eq!(listening["resuming"], unfinished_1);
    let done_before = performed_count(d);
    wait_for(
        "progress after the restart",
        Duration::from_secs(30),
        || performed_count(d) >= done_before + 8,
    );
    s.kill9();

    // Round 3: finish; Stripe redelivers every event (the unacknowledged ones and,
    // for good measure, the acknowledged ones too).
    let s = start(d, &["--workers", WORKERS]);
    let mut duplicates = 0;
    for i in 0..EVENTS {
        let (status, reply) = s.deliver(&body(i));
        assert_eq!(status, 200, "{reply}");
        if reply["duplicate"] == true {
            duplicates += 1;
        }
    }
    assert!(duplicates >= acked_round1.len(), "{duplicates} duplicates");
    s.wait_idle(Duration::from_secs(60));
    let (_, metrics) = s.get("/metrics");
    assert_eq!(s.stop(), 0);

    // Exactly one run per event, all succeeded.
    let c = db(d);
    let runs: Vec<(String, String, i64)> = c
        .prepare("SELECT event_id, status, attempts FROM runs ORDER BY event_id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(runs.len(), EVENTS);
    for (i, (id, status, _)) in runs.iter().enumerate() {
        assert_eq!(id, &event_id(i));
        assert_eq!(status, "succeeded", "{id}");
    }
    let resumed: i64 = runs.iter().filter(|r| r.2 > 1).count() as i64;
    assert!(
        resumed >= in_flight_1,
        "runs in flight at the kill were resumed"
    );

    // Every action carried out once, under the key of its event, workflow and step.
    let performed: BTreeMap<String, i64> = c
        .prepare("SELECT idempotency_key, calls FROM performed")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let expected: BTreeSet<String> = (0..EVENTS)
        .flat_map(|i| (0..2).map(move |step| key(&event_id(i), step)))
        .collect();
    assert_eq!(
        performed.keys().cloned().collect::<BTreeSet<_>>(),
        expected,
        "each action exactly once, with the same keys after the restarts"
    );
    // Nothing was asked for twice: the journal answers for the actions done before a
    // kill, and an action of the recording bindings is recorded with its journal
    // entry in one transaction.
    let repeated: Vec<(&String, &i64)> = performed.iter().filter(|(_, n)| **n != 1).collect();
    assert!(
        repeated.is_empty(),
        "carried out more than once: {repeated:?}"
    );
    let replayed: i64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("flow_actions_replayed_total "))
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1);
    eprintln!(
        "recovery: {} acknowledged before the first kill, {unfinished_1} unfinished then ({in_flight_1} in flight), {resumed} runs resumed",
        acked_round1.len(),
    );
    assert!(replayed >= 0, "{metrics}");

    // The journal holds both steps of every run, with the same keys.
    let journal: i64 = count(
        d,
        "SELECT count(*) FROM actions a JOIN performed p ON p.idempotency_key = a.idempotency_key WHERE a.status = 'succeeded'",
    );
    assert_eq!(journal, 2 * EVENTS as i64);
    assert!(metrics.contains("flow_runs_resumed_total"), "{metrics}");
}

#[test]
fn runs_recorded_before_a_crash_finish_on_their_version_after_the_file_changed() {
    let dir = flows_dir(&[("tag.flow", TAG)]);
    let d = dir.path();
    let s = start(d, &["--workers", "1", "--simulate-latency-ms", "300"]);
    let v1 = s
        .wait_log(Duration::from_secs(10), |l| l["msg"] == "listening")
        .unwrap()["workflows"][0]["version"]
        .as_str()
        .unwrap()
        .to_string();
    for i in 0..3 {
        assert_eq!(s.deliver(&body(i)).0, 200);
    }
    wait_for("the first action", Duration::from_secs(30), || {
        performed_count(d) >= 1
    });
    s.kill9();

    // The file changes while the server is down: the next server loads a new version,
    // and finishes the runs recorded before on the version they were recorded with,
    // built again from the source kept in the run log.
    std::fs::write(d.join("tag.flow"), TAG.replace("\"VIP\"", "\"Gold\"")).unwrap();
    let s = start(d, &["--workers", "1"]);
    let v2 = s
        .wait_log(Duration::from_secs(10), |l| l["msg"] == "listening")
        .unwrap()["workflows"][0]["version"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(v1, v2);
    assert_eq!(s.deliver(&body(3)).0, 200);
    s.wait_idle(Duration::from_secs(30));
    assert_eq!(s.stop(), 0);

    let c = db(d);
    let rows: Vec<(String, String, String)> = c
        .prepare(
            "SELECT r.event_id, r.version, json_extract(p.action, '$.params.metadata.Tier')
             FROM runs r JOIN performed p ON p.event_id = r.event_id AND p.step = 1
             ORDER BY r.event_id",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let want: Vec<(String, String, String)> = (0..4)
        .map(|i| {
            let (v, tier) = if i < 3 { (&v1, "VIP") } else { (&v2, "Gold") };
            (event_id(i), v.clone(), tier.to_string())
        })
        .collect();
    assert_eq!(rows, want);
    assert_eq!(
        count(d, "SELECT count(*) FROM performed WHERE calls != 1"),
        0
    );
}

const NOTE: &str = r#"// Note every payment, with its description.
workflow "Note payments"
on payment_intent.succeeded {
    email to: "ops@example.com",
          body: "A payment arrived.",
          append: { "Description": description }
}
"#;

/// A payment whose description takes pages of its own in the run log: in the event,
/// and in the journal entry of the e-mail that quotes it.
fn described_event(id: &str) -> String {
    let mut e: serde_json::Value =
        serde_json::from_str(&payment_event(id, 5_000, "usd", Some("cus_A"))).unwrap();
    e["data"]["object"]["description"] = serde_json::json!("x".repeat(20_000));
    e.to_string()
}

fn health(s: &Server) -> (u16, serde_json::Value) {
    let (status, body) = s.get("/healthz");
    (status, serde_json::from_str(&body).unwrap())
}

#[test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "the full-disk hook of flow serve is in debug builds only"
)]
fn a_full_run_log_holds_the_runs_and_carries_them_out_once_there_is_room() {
    let dir = flows_dir(&[("note.flow", NOTE)]);
    let d = dir.path();
    // The run log's writer takes the number in this file as its `max_page_count`.
    let pages = d.join("max-pages");
    let s = start_with(
        d,
        // The e-mail takes long enough for the disk to fill before its outcome is
        // recorded.
        &["--workers", "1", "--simulate-latency-ms", "800"],
        &[
            ("STRIPE_WEBHOOK_SECRET", SECRET),
            ("FLOW_SERVE_TEST_MAX_PAGES", pages.to_str().unwrap()),
        ],
    );
    let first = described_event("evt_full_1");
    let second = described_event("evt_full_2");

    // Acknowledged while there is room; the disk is full by the time the e-mail's
    // outcome is to be recorded.
    let (status, reply) = s.deliver(&first);
    assert_eq!((status, reply["runs"].clone()), (200, 1.into()), "{reply}");
    std::fs::write(&pages, "1").unwrap();
    let stopped = s
        .wait_log(Duration::from_secs(20), |l| {
            l["msg"] == "run not finished" || l["msg"] == "run finished"
        })
        .unwrap_or_else(|| panic!("the run did not stop:\n{}", s.log_text()));
    assert_eq!(stopped["msg"], "run not finished", "{}", s.log_text());
    let (status, h) = health(&s);
    assert_eq!(status, 503, "{h}");
    assert_eq!(h["status"], "degraded", "{h}");
    assert!(h["reason"].as_str().unwrap().contains("full"), "{h}");
    // The run waits: neither failed nor finished.
    assert_eq!(
        count(d, "SELECT count(*) FROM runs WHERE status = 'started'"),
        1
    );
    assert_eq!(count(d, "SELECT count(*) FROM attempts"), 0);
    // An event that cannot be recorded is answered 500: Stripe delivers it again.
    assert_eq!(s.deliver(&second).0, 500);
    assert_eq!(
        count(d, "SELECT count(*) FROM events WHERE id = 'evt_full_2'"),
        0
    );
    let (_, metrics) = s.get("/metrics");
    assert!(
        metrics.lines().any(|l| l == "flow_run_log_degraded 1"),
        "{metrics}"
    );

    // Room again: healthy, and the run is carried out without anyone asking.
    std::fs::write(&pages, "").unwrap();
    wait_for("healthz ok", Duration::from_secs(10), || {
        let (status, h) = health(&s);
        status == 200 && h["status"] == "ok"
    });
    wait_for("the run to succeed", Duration::from_secs(10), || {
        count(d, "SELECT count(*) FROM runs WHERE status = 'succeeded'") == 1
    });
    // Stripe's redeliveries: the first event is a duplicate, the second runs now.
    let (status, reply) = s.deliver(&first);
    assert_eq!(
        (status, reply["duplicate"].clone()),
        (200, true.into()),
        "{reply}"
    );
    let (status, reply) = s.deliver(&second);
    assert_eq!((status, reply["runs"].clone()), (200, 1.into()), "{reply}");
    s.wait_idle(Duration::from_secs(10));
    let (_, metrics) = s.get("/metrics");
    assert_eq!(s.stop(), 0);

    let c = db(d);
    let runs: Vec<(String, String, i64)> = c
        .prepare("SELECT event_id, status, attempts FROM runs ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(runs[0].0, "evt_full_1");
    assert_eq!(runs[0].1, "succeeded");
    assert!(runs[0].2 >= 2, "{runs:?}");
    assert_eq!(runs[1], ("evt_full_2".into(), "succeeded".into(), 1));
    assert_eq!(
        count(
            d,
            "SELECT count(*) FROM attempts WHERE status != 'succeeded'"
        ),
        0
    );
    // Each e-mail asked for once, under the key of its event.
    let performed: Vec<(String, i64)> = c
        .prepare("SELECT event_id, calls FROM performed ORDER BY event_id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        performed,
        vec![("evt_full_1".into(), 1), ("evt_full_2".into(), 1)]
    );
    for line in [
        "flow_run_log_degraded 0",
        "flow_runs_total{status=\"failed\"} 0",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line}:\n{metrics}");
    }
}

/// The idempotency key of a step of Tag valuable customers on an event: the key the
/// live Stripe binding sends, and the one the run log journals.
fn key(event: &str, step: usize) -> String {
    flow::bindings::stripe::idempotency_key(&flow::bindings::ActionContext {
        event_id: Some(event),
        workflow: "Tag valuable customers",
        step,
        trigger: None,
        now: 0,
        item: None,
    })
    .expect("an event id gives a key")
}

/// Flag every open invoice of the customer whose subscription ended.
const SWEEP: &str = r#"workflow "Flag open invoices"
on customer.subscription.deleted {
    for inv in stripe.invoices.list(customer: customer, status: "open") {
        update inv.metadata.write_off_review = "true"
    }
}
"#;

/// `kill -9` in the middle of a 50-item loop: after the restart the run goes on, and
/// every item is acted on exactly once, under its own key.
#[test]
fn killed_in_a_loop_every_item_is_acted_on_once() {
    let dir = flows_dir(&[("sweep.flow", SWEEP)]);
    let d = dir.path();
    let objects = d.join("objects");
    std::fs::create_dir(&objects).unwrap();
    let invoices: Vec<serde_json::Value> = (0..50)
        .map(|i| {
            serde_json::json!({
                "id": format!("in_loop_{i:02}"), "object": "invoice", "customer": "cus_loop",
                "status": "open", "created": 1_700_000_000 + i, "currency": "usd",
                "amount_remaining": 1000, "metadata": {},
            })
        })
        .chain([serde_json::json!({
            "id": "in_loop_paid", "object": "invoice", "customer": "cus_loop",
            "status": "paid", "created": 1_700_000_100, "currency": "usd", "metadata": {},
        })])
        .collect();
    std::fs::write(
        objects.join("invoices.json"),
        serde_json::to_string(&invoices).unwrap(),
    )
    .unwrap();
    let event = serde_json::json!({
        "id": "evt_loop_1", "object": "event", "type": "customer.subscription.deleted",
        "created": now(), "livemode": false, "api_version": "2026-07-29.dahlia",
        "data": { "object": { "id": "sub_loop", "object": "subscription", "customer": "cus_loop", "status": "canceled" } },
    })
    .to_string();
    let args = [
        "--workers",
        "1",
        "--objects",
        "objects",
        "--simulate-latency-ms",
        "40",
    ];
    let s = start(d, &args);
    assert_eq!(s.deliver(&event).0, 200);
    wait_for("some of the loop's items", Duration::from_secs(30), || {
        performed_count(d) >= 10
    });
    s.kill9();
    let before = performed_count(d);
    assert!(
        before < 50,
        "killed in the middle of the loop: {before} done"
    );

    let s = start(d, &args);
    s.wait_idle(Duration::from_secs(60));
    assert_eq!(s.stop(), 0);
    let c = db(d);
    let mut done: Vec<String> = c
        .prepare("SELECT json_extract(action, '$.id') FROM performed ORDER BY 1")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    done.dedup();
    let want: Vec<String> = (0..50).map(|i| format!("in_loop_{i:02}")).collect();
    assert_eq!(done, want, "every open invoice, once");
    assert_eq!(count(d, "SELECT count(*) FROM performed"), 50);
    assert_eq!(
        count(d, "SELECT count(*) FROM performed WHERE calls != 1"),
        0
    );
    assert_eq!(
        count(d, "SELECT count(*) FROM runs WHERE status = 'succeeded'"),
        1
    );
}
