//! `flow serve --db postgres://…`: several servers on one PostgreSQL run log.
//!
//! Needs a PostgreSQL server: `.ci/run` starts a throwaway cluster
//! (`scripts/test-postgres.sh`) and sets `FLOW_TEST_POSTGRES` to a URL of it with a
//! role that may create databases; each test makes a database of its own. Without
//! it these tests are ignored in a plain `cargo test`; `.ci/run` runs them with
//! `--ignored`, and then a missing server fails them.

mod serve_support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use serve_support::{
    flow_in, flows_dir, payment_event, sign, start_with, try_post, Server, SECRET, TAG,
};

const WAIT: Duration = Duration::from_secs(60);

/// A database of the test's own, dropped at the end.
struct Pg {
    admin: String,
    name: String,
    url: String,
}

impl Pg {
    fn new(test: &str) -> Pg {
        let admin = std::env::var("FLOW_TEST_POSTGRES").unwrap_or_default();
        if admin.is_empty() {
            panic!("{test}: FLOW_TEST_POSTGRES is not set (.ci/run starts PostgreSQL with scripts/test-postgres.sh and runs these tests)");
        }
        let name = format!("flow_{test}_{}", std::process::id());
        let mut c = postgres::Client::connect(&admin, postgres::NoTls)
            .unwrap_or_else(|e| panic!("{test}: PostgreSQL at {admin}: {e}"));
        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .unwrap();
        c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        let url = format!("{base}/{name}");
        Pg { admin, name, url }
    }

    fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).unwrap()
    }

    fn count(&self, sql: &str) -> i64 {
        self.client().query_one(sql, &[]).unwrap().get(0)
    }

    fn wait_idle(&self, servers: &[&Server]) {
        let until = Instant::now() + WAIT;
        loop {
            let started = self.count("SELECT count(*) FROM flow.runs WHERE status = 'started'");
            if started == 0 {
                return;
            }
            if Instant::now() > until {
                let logs: Vec<String> = servers.iter().map(|s| s.log_text()).collect();
                panic!("{started} runs still started:\n{}", logs.join("\n----\n"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

fn secret() -> [(&'static str, &'static str); 1] {
    [("STRIPE_WEBHOOK_SECRET", SECRET)]
}

const NOTIFY: &str = r#"workflow "Notify sales"
on payment_intent.succeeded {
    email to: "sales@example.com", subject: "Paid", body: "Payment {id} succeeded."
}
"#;

/// Deliver as Stripe does: to the server in turn, and to the next one when a server
/// does not acknowledge it. The server that acknowledged it, or `None`.
fn deliver(addrs: &[Option<String>], first: usize, body: &str) -> Option<usize> {
    let sig = sign(body);
    for k in 0..addrs.len() {
        let i = (first + k) % addrs.len();
        let Some(addr) = &addrs[i] else { continue };
        if try_post(addr, body, &sig) == Some(200) {
            return Some(i);
        }
    }
    None
}

#[test]
#[ignore = "needs PostgreSQL: .ci/run starts it and runs these tests"]
fn three_servers_share_a_run_log_and_a_killed_ones_runs_are_taken_over() {
    const EVENTS: usize = 450;
    let pg = Pg::new("three_servers");
    // Two workflows on the event: every event starts two runs.
    let dir = flows_dir(&[
        ("tag.flow", TAG),
        ("notify.flow", NOTIFY),
        ("flow.toml", "[serve]\nlease = \"2s\"\n"),
    ]);
    let d = dir.path();
    let db = pg.url.as_str();
    let mut servers: Vec<Option<Server>> = vec![
        Some(start_with(d, &["--db", db], &secret())),
        // The one killed: one slow worker, so that runs are queued on it.
        Some(start_with(
            d,
            &["--db", db, "--workers", "1", "--simulate-latency-ms", "40"],
            &secret(),
        )),
        Some(start_with(d, &["--db", db], &secret())),
    ];
    for s in servers.iter().flatten() {
        let l = s
            .wait_log(WAIT, |l| l["msg"] == "listening")
            .expect("listening");
        assert_eq!(l["shared"], true, "{l}");
        assert!(
            l["run_log"].as_str().unwrap().starts_with("postgres://"),
            "{l}"
        );
    }
    let mut addrs: Vec<Option<String>> = servers
        .iter()
        .map(|s| s.as_ref().map(|s| s.addr.clone()))
        .collect();

    let body = |i: usize| {
        payment_event(
            &format!("evt_pg_{i:04}"),
            250_000,
            "usd",
            Some(&format!("cus_pg_{i:04}")),
        )
    };
    let (mut acked, mut redelivered) = (0usize, 0usize);
    for i in 0..EVENTS {
        if i == EVENTS / 2 {
            // Killed in the middle of the burst, with runs queued and in flight.
            servers[1].take().expect("the second server").kill9();
            addrs[1] = None;
        }
        let first = deliver(&addrs, i, &body(i))
            .unwrap_or_else(|| panic!("event {i} was acknowledged by no server"));
        acked += 1;
        // 5%: delivered again, to another server, as Stripe does after a timeout.
        if i % 20 == 7 {
            let again = deliver(&addrs, first + 1, &body(i - 3)).expect("redelivered");
            assert_ne!(again, first, "a redelivery goes to another server");
            redelivered += 1;
        }
    }
    let alive: Vec<&Server> = servers.iter().flatten().collect();
    pg.wait_idle(&alive);

    // Every acknowledged event is recorded once, with one run, which succeeded.
    let n = EVENTS as i64;
    assert_eq!(acked, EVENTS);
    assert_eq!(pg.count("SELECT count(*) FROM flow.events"), n);
    assert_eq!(
        pg.count("SELECT sum(deliveries)::BIGINT FROM flow.events"),
        n + redelivered as i64
    );
    assert_eq!(pg.count("SELECT count(*) FROM flow.runs"), 2 * n);
    assert_eq!(
        pg.count(
            "SELECT count(*) FROM (SELECT DISTINCT event_id, workflow FROM flow.runs
                                   WHERE status = 'succeeded') AS s"
        ),
        2 * n,
        "every event has one succeeded run per workflow"
    );
    // Every action was carried out once: one journal entry per action, and the
    // recording bindings saw each idempotency key once (a resumed run's action asked
    // again with its key is counted, not carried out).
    assert_eq!(
        pg.count("SELECT count(*) FROM flow.actions WHERE status = 'succeeded'"),
        3 * n,
        "the template e-mails and tags each customer; the other workflow e-mails"
    );
    assert_eq!(pg.count("SELECT count(*) FROM flow.performed"), 3 * n);
    assert_eq!(
        pg.count(
            "SELECT count(*) FROM flow.performed p
             WHERE NOT EXISTS (SELECT 1 FROM flow.actions a WHERE a.idempotency_key = p.idempotency_key)"
        ),
        0
    );
    // The killed server's runs were taken over by the others, once its lease ran out.
    let taken: usize = alive
        .iter()
        .map(|s| s.count_logs(|l| l["msg"] == "runs taken up"))
        .sum();
    assert!(taken > 0, "no run was taken over:\n{}", alive[0].log_text());
    assert_eq!(
        pg.count("SELECT count(*) FROM flow.runs WHERE lease_owner IS NOT NULL"),
        0,
        "finished runs hold no lease"
    );

    // `flow runs` reads the shared run log.
    let (code, out, err) = flow_in(
        d,
        &["runs", "--db", db, "--format", "json", "--limit", "1000"],
    );
    assert_eq!(code, 0, "{err}");
    let listed: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(listed.len(), 2 * EVENTS);
    assert!(listed.iter().all(|r| r["status"] == "succeeded"));

    for s in servers.into_iter().flatten() {
        assert_eq!(s.stop(), 0);
    }
}

const TICK_FLOW: &str = r#"workflow "Every minute"
on schedule "* * * * *" timezone "UTC" {
    email to: "ops@example.com", subject: "Tick", body: "A minute passed."
}
"#;

#[test]
#[ignore = "needs PostgreSQL: .ci/run starts it and runs these tests"]
fn two_servers_racing_for_a_schedule_slot_fire_it_once() {
    let pg = Pg::new("schedule_race");
    let dir = flows_dir(&[("tick.flow", TICK_FLOW)]);
    let d = dir.path();
    let env = [
        ("STRIPE_WEBHOOK_SECRET", SECRET),
        ("FLOW_SERVE_CLOCK", "2026-01-01T10:00:55Z"),
    ];
    let a = start_with(d, &["--db", &pg.url], &env);
    let b = start_with(d, &["--db", &pg.url], &env);
    let slot = "schedule:Every minute:2026-01-01T10:01:00Z";
    let until = Instant::now() + WAIT;
    let both_looked = || {
        a.count_logs(|l| l["msg"] == "schedule fired" || l["msg"] == "schedule slot already fired")
            + b.count_logs(|l| {
                l["msg"] == "schedule fired" || l["msg"] == "schedule slot already fired"
            })
    };
    while both_looked() < 2 {
        assert!(
            Instant::now() < until,
            "the slot was not tried by both:\n{}\n----\n{}",
            a.log_text(),
            b.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    pg.wait_idle(&[&a, &b]);
    let fired = a.count_logs(|l| l["msg"] == "schedule fired")
        + b.count_logs(|l| l["msg"] == "schedule fired");
    let already = a.count_logs(|l| l["msg"] == "schedule slot already fired")
        + b.count_logs(|l| l["msg"] == "schedule slot already fired");
    assert_eq!((fired, already), (1, 1));
    let mut c = pg.client();
    let runs: Vec<(String, String)> = c
        .query("SELECT event_id, status FROM flow.runs ORDER BY id", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(runs, vec![(slot.to_string(), "succeeded".to_string())]);
    assert_eq!(a.stop(), 0);
    assert_eq!(b.stop(), 0);
}

#[test]
#[ignore = "needs PostgreSQL: .ci/run starts it and runs these tests"]
fn deactivation_reaches_every_server_and_a_newer_schema_is_refused() {
    let pg = Pg::new("activation");
    let dir = flows_dir(&[("tag.flow", TAG)]);
    let d = dir.path();
    let a = start_with(d, &["--db", &pg.url], &secret());
    let b = start_with(d, &["--db", &pg.url], &secret());
    let name = "Tag valuable customers";

    let (code, _, err) = flow_in(d, &["deactivate", name, "--db", &pg.url]);
    assert_eq!(code, 0, "{err}");
    let (status, reply) = b.deliver(&payment_event("evt_off", 250_000, "usd", Some("cus_1")));
    assert_eq!((status, reply["runs"].as_i64()), (200, Some(0)), "{reply}");

    let (code, _, err) = flow_in(d, &["activate", name, "--db", &pg.url]);
    assert_eq!(code, 0, "{err}");
    let (status, reply) = a.deliver(&payment_event("evt_on", 250_000, "usd", Some("cus_2")));
    assert_eq!((status, reply["runs"].as_i64()), (200, Some(1)), "{reply}");
    // The same event through the other server: a duplicate.
    let (status, reply) = b.deliver(&payment_event("evt_on", 250_000, "usd", Some("cus_2")));
    assert_eq!(
        (status, reply["duplicate"].as_bool()),
        (200, Some(true)),
        "{reply}"
    );
    // A payment under the template's threshold: its run is recorded skipped with the
    // event, finished, with its one attempt.
    let (status, reply) = a.deliver(&payment_event("evt_small", 50_000, "usd", Some("cus_3")));
    assert_eq!((status, reply["runs"].as_i64()), (200, Some(1)), "{reply}");
    pg.wait_idle(&[&a, &b]);
    assert_eq!(pg.count("SELECT count(*) FROM flow.runs"), 2);
    assert_eq!(
        pg.count(
            "SELECT count(*) FROM flow.runs r JOIN flow.attempts t ON t.run_id = r.id
             WHERE r.event_id = 'evt_small' AND r.status = 'skipped' AND r.attempts = 1
               AND t.attempt = 1 AND t.status = 'skipped' AND r.lease_owner IS NULL"
        ),
        1
    );
    assert_eq!(
        a.count_logs(|l| l["msg"] == "run finished" && l["status"] == "skipped"),
        1
    );
    assert_eq!(a.stop(), 0);
    assert_eq!(b.stop(), 0);

    // A database written by a newer flow is left alone.
    pg.client()
        .batch_execute("UPDATE flow.schema_version SET version = 99")
        .unwrap();
    std::fs::write(
        d.join("flow.toml"),
        format!("[serve]\nwebhook_secret = \"{SECRET}\"\n"),
    )
    .unwrap();
    let (code, _, err) = flow_in(
        d,
        &["serve", ".", "--db", &pg.url, "--listen", "127.0.0.1:0"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("E0923"), "{err}");
    assert!(err.contains("newer flow"), "{err}");
}

const CHECK_CHARGE: &str = r#"workflow "Check the charge"
on payment_intent.succeeded {
    email to: "team@example.com", body: "Payment {id} succeeded"
    if latest_charge != null {
        let ch = retrieve latest_charge
        update customer.metadata.Charge = ch.id
    }
}
"#;

#[test]
#[ignore = "needs PostgreSQL: .ci/run starts it and runs these tests"]
fn a_retried_run_is_taken_up_by_a_server_at_once() {
    let pg = Pg::new("retry");
    let dir = flows_dir(&[
        ("check.flow", CHECK_CHARGE),
        // The default lease: servers look for runs every 2 s, unless woken.
        ("flow.toml", "[serve]\nlease = \"30s\"\n"),
    ]);
    let d = dir.path();
    let objects = d.join("objects");
    std::fs::create_dir(&objects).unwrap();
    let args = ["--db", pg.url.as_str(), "--objects", "objects"];
    let a = start_with(d, &args, &secret());
    let b = start_with(d, &args, &secret());
    let mut event: Value =
        serde_json::from_str(&payment_event("evt_retry", 1_200, "usd", Some("cus_R"))).unwrap();
    event["data"]["object"]["latest_charge"] = json!("ch_later");
    let (status, _) = a.deliver(&event.to_string());
    assert_eq!(status, 200);
    pg.wait_idle(&[&a, &b]);
    let (_, out, _) = flow_in(
        d,
        &[
            "runs", "--db", &pg.url, "--status", "failed", "--format", "json",
        ],
    );
    let failed: Value = serde_json::from_str(out.lines().next().expect("a failed run")).unwrap();
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("`ch_later`: no such object"),
        "{failed}"
    );
    let id = failed["run"].to_string();

    std::fs::write(
        objects.join("ch_later.json"),
        json!({"id": "ch_later", "object": "charge", "amount": 1200, "currency": "usd"})
            .to_string(),
    )
    .unwrap();
    let (code, out, err) = flow_in(d, &["runs", "retry", &id, "--db", &pg.url]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("the running server carries it out"), "{err}");
    assert!(out.starts_with(&format!("run {id} succeeded")), "{out}");
    // Taken up on the wake-up, not at a later look.
    let woken = a.count_logs(|l| l["msg"] == "runs taken up" && l["after"] == "a wake-up")
        + b.count_logs(|l| l["msg"] == "runs taken up" && l["after"] == "a wake-up");
    assert_eq!(woken, 1, "{}\n----\n{}", a.log_text(), b.log_text());
    // The e-mail was sent once, the retrieve and the update once they could be.
    assert_eq!(
        pg.count("SELECT count(*) FROM flow.performed WHERE calls = 1"),
        2
    );
    assert_eq!(pg.count("SELECT count(*) FROM flow.performed"), 2);
    assert_eq!(a.stop(), 0);
    assert_eq!(b.stop(), 0);
}

#[test]
#[ignore = "needs PostgreSQL: .ci/run starts it and runs these tests"]
fn stripes_rate_limit_is_shared_by_the_servers_of_a_database() {
    use flow::bindings::rate::RateGate;
    use flow::serve::runlog::{postgres::Log, SharedGate, DEFAULT_LEASE};
    let pg = Pg::new("rate_limit");
    // Two servers' run logs on one database, two workers each, 10 turns each.
    let gates: Vec<std::sync::Arc<SharedGate>> = (0..2)
        .map(|_| std::sync::Arc::new(SharedGate(Log::open(&pg.url, DEFAULT_LEASE).unwrap())))
        .collect();
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let gate = gates[i % 2].clone();
            std::thread::spawn(move || {
                for _ in 0..10 {
                    gate.wait_turn("key_test", 8).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    // Every second of the database's clock gave at most 8 turns, all 40 were given,
    // and they took at least five seconds.
    let mut c = pg.client();
    let turns: Vec<i64> = c
        .query(
            "SELECT turns FROM flow.rate_windows WHERE account = 'key_test' ORDER BY second",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(turns.iter().all(|t| *t <= 8), "{turns:?}");
    assert_eq!(turns.iter().sum::<i64>(), 40, "{turns:?}");
    assert!(turns.len() >= 5, "{turns:?}");
}

fn wait_flow(second_subject: &str) -> String {
    format!(
        r#"workflow "Wait and tell"
on payment_intent.succeeded {{
    email to: "first@example.com", subject: "First", body: "Before the wait for {{id}}."
    wait 2 seconds
    email to: "second@example.com", subject: "{second_subject}", body: "After the wait for {{id}}."
}}
"#
    )
}

#[test]
#[ignore = "needs PostgreSQL: .ci/run starts it and runs these tests"]
fn a_waiting_run_of_a_killed_server_wakes_on_another_on_its_version() {
    let pg = Pg::new("waits");
    // Two servers, each with its own copy of the flows; the second one's copy was
    // changed since, so the run's version is not one it loaded.
    let one = flows_dir(&[("wait.flow", &wait_flow("Second"))]);
    let two = flows_dir(&[("wait.flow", &wait_flow("Changed since"))]);
    let a = start_with(one.path(), &["--db", &pg.url], &secret());
    let (status, reply) = a.deliver(&payment_event("evt_wait", 1_200, "usd", None));
    assert_eq!((status, reply["runs"].as_i64()), (200, Some(1)), "{reply}");
    a.wait_log(WAIT, |l| l["msg"] == "run waiting")
        .unwrap_or_else(|| panic!("the run never waited:\n{}", a.log_text()));
    a.kill9();

    let b = start_with(two.path(), &["--db", &pg.url], &secret());
    pg.wait_idle(&[&b]);
    let taken = b
        .wait_log(WAIT, |l| l["msg"] == "runs taken up")
        .unwrap_or_else(|| panic!("never taken up:\n{}", b.log_text()));
    assert_eq!(taken["runs"].as_array().map(Vec::len), Some(1), "{taken}");
    let finished = b
        .wait_log(WAIT, |l| l["msg"] == "run finished")
        .unwrap_or_else(|| panic!("never finished:\n{}", b.log_text()));
    assert_eq!(finished["status"], "succeeded", "{finished}");
    // Each e-mail once: the first answered from the journal, the second from the
    // version the run was recorded with.
    let mut c = pg.client();
    let sent: Vec<(String, i64)> = c
        .query(
            "SELECT action, calls FROM flow.performed ORDER BY step",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(sent.iter().all(|(_, calls)| *calls == 1), "{sent:?}");
    assert!(sent[1].0.contains("\"Second\""), "{sent:?}");
    let attempts: Vec<String> = c
        .query(
            "SELECT t.status FROM flow.attempts t JOIN flow.runs r ON r.id = t.run_id
             WHERE r.event_id = 'evt_wait' ORDER BY t.attempt",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(attempts, vec!["waiting", "succeeded"]);
    assert_eq!(b.stop(), 0);
}

#[test]
#[ignore = "needs PostgreSQL: .ci/run starts it and runs these tests"]
fn a_server_reaches_its_database_over_tls_trusting_only_the_ca_it_is_given() {
    let pg = Pg::new("tls");
    let tls = std::env::var("FLOW_TEST_POSTGRES_TLS").unwrap_or_default();
    assert!(
        tls.contains("sslrootcert="),
        "FLOW_TEST_POSTGRES_TLS is not set (scripts/test-postgres.sh prints it)"
    );
    // The same database, over TLS, with the test CA to trust.
    let (base, query) = tls.split_once('?').expect("a query");
    let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
    let url = format!("{base}/{}?{query}", pg.name);
    let dir = flows_dir(&[("tag.flow", TAG)]);
    let d = dir.path();
    let s = start_with(d, &["--db", &url], &secret());
    let (status, reply) = s.deliver(&payment_event("evt_tls", 250_000, "usd", Some("cus_T")));
    assert_eq!((status, reply["runs"].as_i64()), (200, Some(1)), "{reply}");
    pg.wait_idle(&[&s]);
    assert_eq!(
        pg.count("SELECT count(*) FROM flow.runs WHERE status = 'succeeded'"),
        1
    );
    // The server's connections are encrypted.
    assert!(
        pg.count(
            "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
             WHERE a.application_name = 'flow serve' AND s.ssl"
        ) > 0
    );
    assert_eq!(s.stop(), 0);

    // Without the CA, the server's certificate is not trusted: nothing is read.
    let untrusted = format!("{base}/{}?sslmode=require", pg.name);
    let (code, _, err) = flow_in(d, &["runs", "--db", &untrusted]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("E0925"), "{err}");
    assert!(err.contains("certificate"), "{err}");
    // libpq's verify-full is taken (the certificate is always verified, name included).
    let full = format!(
        "{base}/{}?{}",
        pg.name,
        query.replace("sslmode=require", "sslmode=verify-full")
    );
    let (code, out, err) = flow_in(d, &["runs", "--db", &full, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 1, "{out}");
}
