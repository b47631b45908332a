//! `flow serve --live` killed with SIGKILL, again and again, while bursts of signed
//! webhooks arrive on several connections and several workers carry out runs against
//! a Stripe served from this test and an e-mail outbox. Events that got no answer are
//! delivered again, as Stripe does, to the next server. Afterwards:
//!
//! - every acknowledged event has exactly one succeeded run of the workflow;
//! - Stripe saw exactly one Idempotency-Key for each event's update (however often
//!   the request was sent), so each update was carried out once;
//! - the outbox holds exactly one `.eml` per event, with that event's own content.
//!
//! The kill times come from a seed (printed; `FLOW_CHAOS_SEED` repeats a run).

mod serve_support;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::json;
use serve_support::*;

const ROUNDS: usize = 30;
/// New events a round delivers at most; then it redelivers old ones until the kill.
const NEW_PER_ROUND: usize = 150;
const SENDERS: usize = 4;

/// A small stand-in for Stripe's `POST /v1/customers/:id`, with Stripe's idempotency:
/// the first request under a key is carried out, a repeat gets the same answer.
struct FakeStripe {
    url: String,
    /// Idempotency-Key → (path, times sent).
    keys: Arc<Mutex<HashMap<String, (String, usize)>>>,
    unkeyed: Arc<Mutex<usize>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeStripe {
    fn start() -> FakeStripe {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind"));
        let port = server.server_addr().to_ip().expect("ip").port();
        let keys: Arc<Mutex<HashMap<String, (String, usize)>>> = Arc::default();
        let unkeyed = Arc::new(Mutex::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (keys, unkeyed, stop) = (keys.clone(), unkeyed.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let Ok(Some(mut req)) = server.recv_timeout(Duration::from_millis(20)) else {
                        continue;
                    };
                    let mut body = String::new();
                    let _ = req.as_reader().read_to_string(&mut body);
                    let path = req.url().to_string();
                    let key = req
                        .headers()
                        .iter()
                        .find(|h| h.field.equiv("Idempotency-Key"))
                        .map(|h| h.value.as_str().to_string());
                    match key {
                        Some(k) => {
                            let mut keys = keys.lock().unwrap();
                            let entry = keys.entry(k).or_insert((path.clone(), 0));
                            entry.1 += 1;
                        }
                        None => *unkeyed.lock().unwrap() += 1,
                    }
                    // Stripe takes a few milliseconds: runs are in flight when a
                    // server is killed.
                    std::thread::sleep(Duration::from_millis(3));
                    let id = path.rsplit('/').next().unwrap_or("").to_string();
                    let answer =
                        json!({"id": id, "object": "customer", "metadata": {"Tier": "VIP"}});
                    let resp = tiny_http::Response::from_string(answer.to_string()).with_header(
                        tiny_http::Header::from_bytes("Content-Type", "application/json").unwrap(),
                    );
                    let _ = req.respond(resp);
                }
            })
        };
        FakeStripe {
            url: format!("http://127.0.0.1:{port}"),
            keys,
            unkeyed,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for FakeStripe {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A small deterministic generator for the kill times.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn event(n: usize) -> (String, String) {
    let id = format!("evt_chaos_{n:04}");
    let body = payment_event(&id, 250_000, "usd", Some(&format!("cus_chaos_{n:04}")));
    (id, body)
}

/// What Stripe knows: which events it has to deliver, which a server acknowledged.
#[derive(Default)]
struct Deliveries {
    next: usize,
    /// Sent (or due) and not acknowledged yet: delivered again.
    unacked: BTreeSet<usize>,
    /// Not acknowledged, waiting for the next delivery attempt.
    due: Vec<usize>,
    acked: BTreeSet<usize>,
    sent: usize,
}

impl Deliveries {
    /// The next event to deliver: one due again, a new one while the round has room,
    /// else a redelivery of one already acknowledged.
    fn take(&mut self, new_left: &mut usize, rng: &mut Rng) -> usize {
        if let Some(n) = self.due.pop() {
            return n;
        }
        if (*new_left > 0 && rng.below(4) > 0) || self.acked.is_empty() {
            *new_left = new_left.saturating_sub(1);
            let n = self.next;
            self.next += 1;
            self.unacked.insert(n);
            return n;
        }
        let i = rng.below(self.acked.len() as u64) as usize;
        self.acked.iter().nth(i).copied().unwrap_or(0)
    }
}

/// Deliver events on `SENDERS` connections at once until the server stops answering
/// after `killed` is set (or, with `until_all`, until nothing is left to deliver).
fn burst(
    addr: &str,
    d: &Arc<Mutex<Deliveries>>,
    new: usize,
    killed: &Arc<AtomicBool>,
    seed: u64,
    until_all: bool,
) {
    let new_left = Arc::new(Mutex::new(new));
    let threads: Vec<_> = (0..SENDERS)
        .map(|s| {
            let (addr, d, killed, new_left) = (
                addr.to_string(),
                d.clone(),
                killed.clone(),
                new_left.clone(),
            );
            std::thread::spawn(move || {
                let mut rng = Rng(seed ^ (s as u64 + 1));
                loop {
                    let n = {
                        let mut d = d.lock().unwrap();
                        if until_all && d.due.is_empty() {
                            return;
                        }
                        let mut left = new_left.lock().unwrap();
                        d.take(&mut left, &mut rng)
                    };
                    let (_, body) = event(n);
                    let answer = try_post(&addr, &body, &sign(&body));
                    let mut d = d.lock().unwrap();
                    d.sent += 1;
                    if answer == Some(200) {
                        d.unacked.remove(&n);
                        d.acked.insert(n);
                        drop(d);
                        // A steady stream rather than a flood: the kill then falls
                        // among requests, commits and runs alike.
                        std::thread::sleep(Duration::from_millis(2));
                    } else {
                        if d.unacked.contains(&n) {
                            d.due.push(n);
                        }
                        if killed.load(Ordering::SeqCst) {
                            return;
                        }
                        drop(d);
                        std::thread::sleep(Duration::from_millis(5));
                    }
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
}

#[test]
fn no_event_lost_doubled_or_mixed_up_when_the_server_is_killed_during_bursts() {
    let seed = std::env::var("FLOW_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    eprintln!("FLOW_CHAOS_SEED={seed}");
    let mut rng = Rng(seed);
    let stripe = FakeStripe::start();
    // The stand-in has no rate limit: flow's own (25 requests a second for a test
    // key) would make the thousands of updates take minutes.
    let toml = format!(
        "[stripe]\napi_base = \"{}\"\nmax_network_retries = 0\nrate_limit = 10000\n\n[email]\nfrom = \"Flow <flow@example.com>\"\noutbox = \"outbox\"\n",
        stripe.url
    );
    let dir = flows_dir(&[("tag.flow", TAG), ("flow.toml", &toml)]);
    let env = [
        ("STRIPE_WEBHOOK_SECRET", SECRET),
        ("STRIPE_API_KEY", "sk_test_flow_chaos"),
    ];
    let args = ["--live", "--workers", "4"];

    let d = Arc::new(Mutex::new(Deliveries::default()));
    let started = Instant::now();
    for round in 0..ROUNDS {
        let server = start_with(dir.path(), &args, &env);
        let killed = Arc::new(AtomicBool::new(false));
        let sender = {
            let (addr, d, killed) = (server.addr.clone(), d.clone(), killed.clone());
            let seed = seed.wrapping_add(round as u64);
            std::thread::spawn(move || burst(&addr, &d, NEW_PER_ROUND, &killed, seed, false))
        };
        std::thread::sleep(Duration::from_millis(200 + rng.below(1000)));
        killed.store(true, Ordering::SeqCst);
        server.kill9();
        sender.join().unwrap();
        let d = d.lock().unwrap();
        eprintln!(
            "round {round}: {} sent, {} acknowledged, {} waiting for delivery",
            d.sent,
            d.acked.len(),
            d.unacked.len()
        );
    }

    // The last server gets every event never acknowledged, and finishes its runs.
    let server = start_with(dir.path(), &args, &env);
    let never = Arc::new(AtomicBool::new(false));
    {
        let mut d = d.lock().unwrap();
        d.due = d.unacked.iter().copied().collect();
    }
    burst(&server.addr, &d, 0, &never, seed, true);
    let (acked, unacked) = {
        let d = d.lock().unwrap();
        (d.acked.clone(), d.unacked.clone())
    };
    assert!(
        unacked.is_empty(),
        "every event is acknowledged in the end: {unacked:?}"
    );
    let until = Instant::now() + Duration::from_secs(60);
    let finished = || {
        count(
            dir.path(),
            "SELECT count(*) FROM runs WHERE status IN ('succeeded', 'failed', 'skipped')",
        )
    };
    while finished() < acked.len() as i64 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(server.stop(), 0);
    eprintln!(
        "{} events, {ROUNDS} kills, {:.1} s",
        acked.len(),
        started.elapsed().as_secs_f64()
    );

    // Exactly one run per event, and it succeeded.
    let c = db(dir.path());
    let mut st = c
        .prepare("SELECT event_id, status, count(*) FROM runs GROUP BY event_id, status")
        .unwrap();
    let runs: Vec<(String, String, i64)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let expected: BTreeSet<String> = acked.iter().map(|n| event(*n).0).collect();
    let got: BTreeSet<String> = runs.iter().map(|r| r.0.clone()).collect();
    assert_eq!(got, expected, "one run for each acknowledged event");
    for (event, status, n) in &runs {
        assert_eq!((status.as_str(), *n), ("succeeded", 1), "{event}: {runs:?}");
    }

    // Stripe: one key per event's update, each key for one customer.
    assert_eq!(*stripe.unkeyed.lock().unwrap(), 0, "every POST has a key");
    let keys = stripe.keys.lock().unwrap().clone();
    let mut per_customer: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (key, (path, _)) in &keys {
        per_customer
            .entry(path.clone())
            .or_default()
            .push(key.clone());
    }
    assert_eq!(
        per_customer.len(),
        acked.len(),
        "one customer updated per event"
    );
    for n in &acked {
        let path = format!("/v1/customers/cus_chaos_{n:04}");
        let k = per_customer.get(&path).map(Vec::len).unwrap_or(0);
        assert_eq!(k, 1, "{path}: one Idempotency-Key, so carried out once");
    }
    let resent: usize = keys.values().map(|(_, sent)| sent - 1).sum();
    eprintln!("requests sent again under their key after a kill: {resent}");

    // The outbox: one message per event, holding that event's own customer.
    let outbox = dir.path().join("outbox");
    let mut messages: BTreeMap<String, String> = BTreeMap::new();
    for entry in std::fs::read_dir(&outbox).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) == Some("eml") {
            let text = std::fs::read_to_string(&path).unwrap();
            messages.insert(path.display().to_string(), text);
        }
    }
    assert_eq!(messages.len(), acked.len(), "one .eml per e-mail");
    let mut seen = BTreeSet::new();
    for (path, text) in &messages {
        let customers: Vec<&str> = text
            .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .filter(|w| w.starts_with("cus_chaos_"))
            .collect();
        assert!(
            !customers.is_empty() && customers.iter().all(|c| *c == customers[0]),
            "{path} holds one event's customer: {text}"
        );
        let n = customers[0].trim_start_matches("cus_chaos_").to_string();
        assert!(
            path.contains(&format!("evt_chaos_{n}")),
            "{path} holds the content of its own event (cus_chaos_{n})"
        );
        seen.insert(n);
    }
    assert_eq!(seen.len(), acked.len(), "every event's message is there");
}
