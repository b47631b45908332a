//! Load test of `flow serve` (not in the default suite):
//!
//! ```sh
//! cargo test --release --test serve_load -- --ignored --nocapture
//! ```
//!
//! 10,000 signed `payment_intent.succeeded` webhooks, 5% of them redeliveries of an
//! event already sent, posted over loopback by 32 concurrent keep-alive connections to
//! a server running "Tag valuable customers". Reports the request throughput, the
//! latency percentiles and the time until every run has finished; asserts that every
//! request was acknowledged, that no event was lost and that no run or action happened
//! twice.

mod serve_support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serve_support::*;

const REQUESTS: usize = 10_000;
const DUPLICATES: usize = REQUESTS / 20;
const CONNECTIONS: usize = 32;

/// A small deterministic generator (no dependency, same plan every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Event `i`: a third above 2,000 USD (e-mail and tag), a third between 1,000 and
/// 2,000 USD (e-mail), a third at or below 1,000 USD (skipped).
fn amount(i: usize) -> i64 {
    match i % 3 {
        0 => 250_000 + i as i64,
        1 => 150_000 + i as i64,
        _ => 50_000 + i as i64,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[test]
#[ignore = "load test: cargo test --release --test serve_load -- --ignored --nocapture"]
fn ten_thousand_signed_events_five_percent_duplicates() {
    let unique = REQUESTS - DUPLICATES;
    let mut rng = Lcg(0x5eed);
    let mut plan: Vec<usize> = (0..unique).collect();
    for _ in 0..DUPLICATES {
        let again = rng.below(unique);
        plan.push(again);
    }
    for i in (1..plan.len()).rev() {
        plan.swap(i, rng.below(i + 1));
    }
    let bodies: Vec<String> = (0..unique)
        .map(|i| {
            payment_event(
                &format!("evt_load_{i:05}"),
                amount(i),
                "usd",
                Some(&format!("cus_load_{i:05}")),
            )
        })
        .collect();

    let dir = flows_dir(&[("tag.flow", TAG)]);
    let s = start(dir.path(), &[]);
    let plan = Arc::new(plan);
    let bodies = Arc::new(bodies);
    let next = Arc::new(AtomicUsize::new(0));
    let results = Arc::new(Mutex::new(Vec::with_capacity(REQUESTS)));
    let started = Instant::now();
    let clients: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let (plan, bodies, next, results) =
                (plan.clone(), bodies.clone(), next.clone(), results.clone());
            let addr = s.addr.clone();
            std::thread::spawn(move || {
                let mut client = Client::connect(&addr);
                let mut mine = Vec::new();
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= plan.len() {
                        break;
                    }
                    let body = &bodies[plan[k]];
                    let sig = sign(body);
                    let t = Instant::now();
                    let (status, reply) = client.post_webhook(body, &sig);
                    mine.push((t.elapsed(), status, reply["duplicate"] == true));
                }
                results.lock().unwrap().extend(mine);
            })
        })
        .collect();
    for c in clients {
        c.join().expect("a client thread");
    }
    let posting = started.elapsed();
    s.wait_idle(Duration::from_secs(600));
    let all_done = started.elapsed();

    let results = results.lock().unwrap();
    assert_eq!(results.len(), REQUESTS);
    let failed: Vec<u16> = results.iter().map(|r| r.1).filter(|s| *s != 200).collect();
    assert!(failed.is_empty(), "not acknowledged: {failed:?}");
    let duplicates = results.iter().filter(|r| r.2).count();
    assert_eq!(duplicates, DUPLICATES, "redeliveries acknowledged as such");
    let mut latencies: Vec<Duration> = results.iter().map(|r| r.0).collect();
    latencies.sort();

    // Nothing lost, nothing twice.
    let d = dir.path();
    assert_eq!(count(d, "SELECT count(*) FROM events"), unique as i64);
    assert_eq!(count(d, "SELECT count(*) FROM runs"), unique as i64);
    assert_eq!(
        count(d, "SELECT count(DISTINCT event_id) FROM runs"),
        unique as i64
    );
    let c = db(d);
    let by_status: BTreeMap<String, i64> = c
        .prepare("SELECT status, count(*) FROM runs GROUP BY status")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let thirds = |k: usize| (0..unique).filter(|i| i % 3 == k).count() as i64;
    assert_eq!(by_status.get("succeeded"), Some(&(thirds(0) + thirds(1))));
    assert_eq!(by_status.get("skipped"), Some(&thirds(2)));
    assert_eq!(by_status.len(), 2, "{by_status:?}");
    let performed: BTreeMap<String, i64> = c
        .prepare("SELECT idempotency_key, calls FROM performed")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let expected: BTreeSet<String> = (0..unique)
        .flat_map(|i| {
            let steps = match i % 3 {
                0 => 2,
                1 => 1,
                _ => 0,
            };
            (0..steps).map(move |step| {
                flow::bindings::stripe::idempotency_key(&flow::bindings::ActionContext {
                    event_id: Some(&format!("evt_load_{i:05}")),
                    workflow: "Tag valuable customers",
                    step,
                    trigger: None,
                    now: 0,
                    item: None,
                })
                .expect("an event id gives a key")
            })
        })
        .collect();
    assert_eq!(performed.keys().cloned().collect::<BTreeSet<_>>(), expected);
    assert!(
        performed.values().all(|n| *n == 1),
        "an action carried out twice"
    );
    let (_, metrics) = s.get("/metrics");
    assert!(metrics.contains(&format!("flow_events_received_total {unique}\n")));
    assert!(metrics.contains(&format!("flow_events_duplicate_total {DUPLICATES}\n")));
    assert_eq!(s.stop(), 0);

    let rate = REQUESTS as f64 / posting.as_secs_f64();
    println!("\nflow serve load test");
    println!(
        "  requests      {REQUESTS} ({unique} events + {DUPLICATES} redeliveries), {CONNECTIONS} concurrent keep-alive connections, loopback"
    );
    println!(
        "  posting took  {:.2} s: {rate:.0} requests/s",
        posting.as_secs_f64()
    );
    println!(
        "  latency       p50 {}, p99 {}, max {}",
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.99)),
        ms(*latencies.last().unwrap())
    );
    println!(
        "  all {unique} runs finished {:.2} s after the first request ({:.0} runs/s); {} actions, each once",
        all_done.as_secs_f64(),
        unique as f64 / all_done.as_secs_f64(),
        expected.len()
    );
}
