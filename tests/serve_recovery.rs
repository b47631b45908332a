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

/// The idempotency key of a step of Tag valuable customers on an event: the key the
/// live Stripe binding sends, and the one the run log journals.
fn key(event: &str, step: usize) -> String {
    flow::bindings::stripe::idempotency_key(&flow::bindings::ActionContext {
        event_id: Some(event),
        workflow: "Tag valuable customers",
        step,
    })
    .expect("an event id gives a key")
}
