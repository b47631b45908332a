//! `flow serve` end to end: the real binary on loopback, signed webhooks, the run log,
//! the run history commands, activation, reloads, operations and shutdown.

mod serve_support;

use std::time::Duration;

use serde_json::{json, Value};
use serve_support::*;

const WAIT: Duration = Duration::from_secs(20);
const TAG_NAME: &str = "Tag valuable customers";

fn tag_dir() -> tempfile::TempDir {
    flows_dir(&[("tag.flow", TAG)])
}

fn run_versions(dir: &std::path::Path) -> Vec<(String, String, String)> {
    let c = db(dir);
    let mut st = c
        .prepare("SELECT event_id, version, status FROM runs ORDER BY id")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn listening_version(s: &Server) -> String {
    let l = s
        .wait_log(WAIT, |l| l["msg"] == "listening")
        .expect("listening");
    l["workflows"][0]["version"].as_str().unwrap().to_string()
}

#[test]
fn an_event_runs_once_and_a_redelivery_is_acknowledged_but_not_run() {
    let dir = tag_dir();
    let s = start(dir.path(), &[]);
    let body = payment_event("evt_once", 250_000, "usd", Some("cus_A"));
    let (status, reply) = s.deliver(&body);
    assert_eq!(status, 200, "{reply}");
    assert_eq!(
        reply,
        json!({"received": true, "duplicate": false, "runs": 1})
    );
    // Stripe delivers again (a timeout on its side): a new signature, the same event.
    std::thread::sleep(Duration::from_millis(1100));
    let (status, reply) = s.deliver(&body);
    assert_eq!(status, 200);
    assert_eq!(
        reply,
        json!({"received": true, "duplicate": true, "runs": 0})
    );
    s.wait_idle(WAIT);
    let (status, reply) = s.deliver(&body);
    assert_eq!((status, reply["duplicate"].clone()), (200, json!(true)));

    assert_eq!(count(dir.path(), "SELECT count(*) FROM runs"), 1);
    assert_eq!(
        count(
            dir.path(),
            "SELECT deliveries FROM events WHERE id = 'evt_once'"
        ),
        3
    );
    let done = performed(dir.path());
    assert_eq!(done.len(), 2, "{done:?}");
    assert_eq!(done[0].0, key("evt_once", 0));
    assert_eq!(done[0].1["action"], "email");
    assert_eq!(done[1].0, key("evt_once", 1));
    assert_eq!(
        done[1].1,
        json!({"action": "update", "object": "customer", "id": "cus_A", "account": null, "params": {"metadata": {"Tier": "VIP"}}})
    );
    assert!(done.iter().all(|d| d.2 == 1), "{done:?}");
    // The raw payload is kept byte for byte.
    let payload: Vec<u8> = db(dir.path())
        .query_row("SELECT payload FROM events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(payload, body.as_bytes());
    let (_, metrics) = s.get("/metrics");
    assert!(
        metrics.contains("flow_events_received_total 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("flow_events_duplicate_total 2\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("flow_runs_total{status=\"succeeded\"} 1\n"),
        "{metrics}"
    );
}

#[test]
fn a_bad_or_missing_signature_gets_400_and_nothing_is_recorded() {
    let dir = tag_dir();
    let s = start(dir.path(), &[]);
    let body = payment_event("evt_forged", 250_000, "usd", Some("cus_A"));
    let t = now();
    let good = flow::serve::signature::compute(SECRET, t, body.as_bytes());
    let tampered = body.replace("250000", "250001");
    let cases: Vec<(&str, String, Option<String>)> = vec![
        ("missing header", body.clone(), None),
        ("empty header", body.clone(), Some(String::new())),
        (
            "another secret",
            body.clone(),
            Some(flow::serve::signature::header(
                "whsec_other",
                t,
                body.as_bytes(),
            )),
        ),
        ("changed body", tampered, Some(format!("t={t},v1={good}"))),
        ("only v0", body.clone(), Some(format!("t={t},v0={good}"))),
        (
            "too old",
            body.clone(),
            Some(flow::serve::signature::header(
                SECRET,
                t - 301,
                body.as_bytes(),
            )),
        ),
        ("no timestamp", body.clone(), Some(format!("v1={good}"))),
    ];
    for (what, b, sig) in &cases {
        let (status, reply) = s.post(b, sig.as_deref());
        assert_eq!(status, 400, "{what}: {reply}");
        assert!(reply["error"].is_string(), "{what}: {reply}");
    }
    // Authentic, but not an event: refused too, and not recorded.
    let not_json = "{not json";
    let (status, _) = s.post(not_json, Some(&sign(not_json)));
    assert_eq!(status, 400);
    let no_id = r#"{"object":"event","type":"payment_intent.succeeded","data":{"object":{}}}"#;
    let (status, reply) = s.post(no_id, Some(&sign(no_id)));
    assert_eq!(status, 400, "{reply}");

    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(count(dir.path(), "SELECT count(*) FROM events"), 0);
    assert_eq!(count(dir.path(), "SELECT count(*) FROM runs"), 0);
    assert_eq!(count(dir.path(), "SELECT count(*) FROM performed"), 0);
    let (_, metrics) = s.get("/metrics");
    assert!(
        metrics.contains("flow_events_rejected_total{reason=\"signature\"} 7\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("flow_events_rejected_total{reason=\"malformed\"} 2\n"),
        "{metrics}"
    );
    assert!(metrics.contains("flow_events_received_total 0\n"));
    // The same event, signed, is then accepted.
    assert_eq!(s.deliver(&body).0, 200);
}

#[test]
fn deactivate_and_activate_take_effect_without_a_restart() {
    let dir = tag_dir();
    let s = start(dir.path(), &[]);
    let (code, out, err) = flow_in(dir.path(), &["deactivate", TAG_NAME]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("is inactive"), "{out}");
    let (status, reply) = s.deliver(&payment_event("evt_off", 250_000, "usd", Some("cus_A")));
    assert_eq!((status, reply["runs"].clone()), (200, json!(0)));

    let (code, _, err) = flow_in(dir.path(), &["activate", TAG_NAME]);
    assert_eq!(code, 0, "{err}");
    let (status, reply) = s.deliver(&payment_event("evt_on", 250_000, "usd", Some("cus_A")));
    assert_eq!((status, reply["runs"].clone()), (200, json!(1)));
    s.wait_idle(WAIT);
    let runs = run_versions(dir.path());
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].0, "evt_on");
    // The event that came while inactive is recorded all the same.
    assert_eq!(count(dir.path(), "SELECT count(*) FROM events"), 2);

    let (code, _, err) = flow_in(dir.path(), &["deactivate", "Tag valuable customer"]);
    assert_eq!(code, 2);
    assert!(err.contains("error[E0927]"), "{err}");
    assert!(
        err.contains("did you mean `Tag valuable customers`?"),
        "{err}"
    );
    let (code, _, err) = flow_in(dir.path(), &["activate", TAG_NAME, "--db", "nowhere.db"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("error[E0925]: no run log at nowhere.db"),
        "{err}"
    );
}

#[test]
fn a_broken_file_is_refused_and_its_previous_version_stays_active() {
    let dir = tag_dir();
    let path = dir.path().join("tag.flow");
    let s = start(dir.path(), &[]);
    let v1 = listening_version(&s);

    std::fs::write(&path, TAG.replace("amount > 2000 USD", "amount > 2000 UDS")).unwrap();
    let refused = s
        .wait_log(WAIT, |l| {
            l["msg"] == "file refused; its previous version stays active"
        })
        .unwrap_or_else(|| panic!("no refusal logged:\n{}", s.log_text()));
    assert_eq!(refused["level"], "error");
    assert_eq!(refused["file"], "tag.flow");
    let diags = refused["diagnostics"][0].as_str().unwrap();
    assert!(diags.contains("error[E0202]"), "{diags}");
    assert!(diags.contains("tag.flow:8:22"), "{diags}");

    s.deliver(&payment_event("evt_during", 250_000, "usd", Some("cus_A")));
    // A fixed file, with a change: a new version.
    std::fs::write(&path, TAG.replace("\"VIP\"", "\"Gold\"")).unwrap();
    let reloaded = s
        .wait_log(WAIT, |l| l["msg"] == "reloaded")
        .unwrap_or_else(|| panic!("no reload:\n{}", s.log_text()));
    let v2 = reloaded["new_versions"][0]["version"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(v1, v2);
    s.deliver(&payment_event("evt_after", 250_000, "usd", Some("cus_A")));
    s.wait_idle(WAIT);

    let runs = run_versions(dir.path());
    assert_eq!(
        runs,
        vec![
            ("evt_during".into(), v1.clone(), "succeeded".into()),
            ("evt_after".into(), v2.clone(), "succeeded".into()),
        ]
    );
    let tiers: Vec<Value> = performed(dir.path())
        .into_iter()
        .filter(|p| p.1["action"] == "update")
        .map(|p| p.1["params"]["metadata"]["Tier"].clone())
        .collect();
    assert_eq!(tiers, vec![json!("VIP"), json!("Gold")]);
    // Both versions are in the run log with their source.
    assert_eq!(count(dir.path(), "SELECT count(*) FROM versions"), 2);
    let (_, metrics) = s.get("/metrics");
    assert!(
        metrics.contains("flow_reloads_total{outcome=\"refused\"} 1\n"),
        "{metrics}"
    );
}

#[test]
fn an_empty_save_keeps_the_workflows_and_deleting_the_file_removes_them() {
    let dir = tag_dir();
    let path = dir.path().join("tag.flow");
    let s = start(dir.path(), &[]);
    let v1 = listening_version(&s);
    let refusals = |s: &Server| {
        s.count_logs(|l| {
            l["msg"] == "file refused; its previous version stays active"
                && l["file"] == "tag.flow"
                && l["reason"]
                    .as_str()
                    .is_some_and(|r| r.contains("holds no workflow"))
        })
    };
    for (i, emptied) in ["", "// Nothing here yet.\n"].into_iter().enumerate() {
        std::fs::write(&path, emptied).unwrap();
        let until = std::time::Instant::now() + WAIT;
        while refusals(&s) <= i {
            assert!(
                std::time::Instant::now() < until,
                "{emptied:?} was not refused:\n{}",
                s.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let event = format!("evt_emptied_{i}");
        let (status, reply) = s.deliver(&payment_event(&event, 250_000, "usd", Some("cus_A")));
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["runs"], 1, "{emptied:?}: {reply}");
    }
    s.wait_idle(WAIT);
    assert_eq!(
        run_versions(dir.path()),
        vec![
            ("evt_emptied_0".into(), v1.clone(), "succeeded".into()),
            ("evt_emptied_1".into(), v1.clone(), "succeeded".into()),
        ]
    );
    assert_eq!(
        s.count_logs(|l| l["msg"] == "reloaded"),
        0,
        "{}",
        s.log_text()
    );

    // Deleting the file is how its workflows are removed.
    std::fs::remove_file(&path).unwrap();
    s.wait_log(WAIT, |l| {
        l["msg"] == "reloaded" && l["removed"] == json!([TAG_NAME])
    })
    .unwrap_or_else(|| panic!("the workflow was not removed:\n{}", s.log_text()));
    let (status, reply) = s.deliver(&payment_event("evt_deleted", 250_000, "usd", Some("cus_A")));
    assert_eq!((status, reply["runs"].clone()), (200, json!(0)), "{reply}");
    let health: Value = serde_json::from_str(&s.get("/healthz").1).unwrap();
    assert_eq!(health["workflows"], 0);
    assert_eq!(s.stop(), 0);
}

#[test]
fn sighup_reloads_and_runs_in_flight_finish_on_their_version() {
    let dir = tag_dir();
    let path = dir.path().join("tag.flow");
    // One slow worker, and no polling: only SIGHUP reloads.
    let s = start(
        dir.path(),
        &[
            "--workers",
            "1",
            "--simulate-latency-ms",
            "250",
            "--poll-ms",
            "600000",
        ],
    );
    let v1 = listening_version(&s);
    for i in 0..3 {
        let (status, _) = s.deliver(&payment_event(
            &format!("evt_old{i}"),
            250_000,
            "usd",
            Some("cus_A"),
        ));
        assert_eq!(status, 200);
    }
    std::fs::write(&path, TAG.replace("\"VIP\"", "\"Gold\"")).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(s
        .wait_log(Duration::from_millis(1), |l| l["msg"] == "reloaded")
        .is_none());
    s.signal("HUP");
    let reloaded = s
        .wait_log(WAIT, |l| l["msg"] == "reloaded")
        .unwrap_or_else(|| panic!("SIGHUP did not reload:\n{}", s.log_text()));
    let reloaded_at = flow::serve::time::now_ms();
    let v2 = reloaded["new_versions"][0]["version"]
        .as_str()
        .unwrap()
        .to_string();
    s.deliver(&payment_event("evt_new", 250_000, "usd", Some("cus_A")));
    s.wait_idle(WAIT);

    let runs = run_versions(dir.path());
    let versions: Vec<&str> = runs.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(versions, [v1.as_str(), &v1, &v1, &v2]);
    // The last old run started after the reload, and still ran the old version.
    let started: i64 = db(dir.path())
        .query_row(
            "SELECT started_at FROM runs WHERE event_id = 'evt_old2'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(started > reloaded_at, "evt_old2 ran before the reload");
    let tiers: Vec<(String, Value)> = performed(dir.path())
        .into_iter()
        .filter(|p| p.1["action"] == "update")
        .map(|p| (p.0, p.1["params"]["metadata"]["Tier"].clone()))
        .collect();
    assert_eq!(
        tiers,
        vec![
            (key("evt_old0", 1), json!("VIP")),
            (key("evt_old1", 1), json!("VIP")),
            (key("evt_old2", 1), json!("VIP")),
            (key("evt_new", 1), json!("Gold")),
        ]
    );
}

#[test]
fn sigterm_finishes_the_run_in_flight_and_the_next_start_runs_the_queue() {
    let dir = tag_dir();
    let s = start(
        dir.path(),
        &["--workers", "1", "--simulate-latency-ms", "600"],
    );
    s.deliver(&payment_event("evt_first", 250_000, "usd", Some("cus_A")));
    s.deliver(&payment_event("evt_second", 250_000, "usd", Some("cus_B")));
    // Wait until the first run has been taken by the worker.
    let until = std::time::Instant::now() + WAIT;
    loop {
        let health: Value = serde_json::from_str(&s.get("/healthz").1).unwrap();
        if health["runs_in_flight"] == 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < until,
            "no run started: {health}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let code = s.stop();
    assert_eq!(code, 0);
    let runs = run_versions(dir.path());
    assert_eq!(
        runs[0].2, "succeeded",
        "the run in flight finished: {runs:?}"
    );
    assert_eq!(runs[1].2, "started", "the queued run waits: {runs:?}");
    assert_eq!(performed(dir.path()).len(), 2);
    // The queued run was taken with its event, and given back unstarted.
    let attempts = "SELECT count(*) FROM runs r JOIN events e ON e.id = r.event_id
                    WHERE e.id = 'evt_second' AND r.attempts = ";
    assert_eq!(count(dir.path(), &format!("{attempts}0")), 1);

    let s = start(dir.path(), &["--workers", "1"]);
    let listening = s.wait_log(WAIT, |l| l["msg"] == "listening").unwrap();
    assert_eq!(listening["resuming"], 1);
    s.wait_idle(WAIT);
    let runs = run_versions(dir.path());
    assert!(runs.iter().all(|r| r.2 == "succeeded"), "{runs:?}");
    assert_eq!(performed(dir.path()).len(), 4);
    // Its first attempt, not a resumed one.
    assert_eq!(count(dir.path(), &format!("{attempts}1")), 1);
    let finished = s
        .wait_log(WAIT, |l| {
            l["msg"] == "run finished" && l["event"] == "evt_second"
        })
        .unwrap();
    assert_eq!(
        (&finished["attempt"], &finished["resumed"]),
        (&json!(1), &json!(false))
    );
    assert_eq!(s.stop(), 0);
}

#[test]
fn healthz_metrics_and_structured_logs() {
    let dir = tag_dir();
    let s = start(dir.path(), &[]);
    let (status, body) = s.get("/healthz");
    assert_eq!(status, 200);
    let health: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["workflows"], 1);

    s.deliver(&payment_event("evt_m1", 250_000, "usd", Some("cus_A")));
    s.deliver(&payment_event("evt_m2", 50_000, "usd", Some("cus_A")));
    s.deliver(&payment_event("evt_m3", 250_000, "usd", None));
    s.wait_idle(WAIT);
    let (status, m) = s.get("/metrics");
    assert_eq!(status, 200);
    for line in [
        "# TYPE flow_events_received_total counter",
        "flow_events_received_total 3",
        "flow_runs_total{status=\"succeeded\"} 1",
        "flow_runs_total{status=\"skipped\"} 1",
        "flow_runs_total{status=\"failed\"} 1",
        "# TYPE flow_action_duration_seconds histogram",
        "flow_action_duration_seconds_count{action=\"email\"} 2",
        "flow_action_duration_seconds_count{action=\"update\"} 1",
        "flow_action_duration_seconds_bucket{action=\"update\",le=\"+Inf\"} 1",
        "flow_workflows_loaded 1",
    ] {
        assert!(m.lines().any(|l| l == line), "missing `{line}` in\n{m}");
    }
    assert_eq!(s.get("/nope").0, 404);
    assert_eq!(s.get("/webhook").0, 405);

    // Every log line is one JSON object with a time, a level and a message. Lines are
    // written by the server's log thread, a few milliseconds after they are made.
    let deadline = std::time::Instant::now() + WAIT;
    while s.logs().len() < 7 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let logs = s.logs();
    assert!(logs.len() >= 7, "{logs:?}");
    for l in &logs {
        assert!(l["ts"].as_str().is_some_and(|t| t.ends_with('Z')), "{l}");
        assert!(
            ["info", "warn", "error"].contains(&l["level"].as_str().unwrap()),
            "{l}"
        );
        assert!(l["msg"].is_string(), "{l}");
    }
    let failed = s
        .wait_log(WAIT, |l| {
            l["msg"] == "run finished" && l["status"] == "failed"
        })
        .unwrap();
    assert_eq!(failed["event"], "evt_m3");
    assert_eq!(
        failed["error"],
        "tag.flow:9:16: cannot update the customer: `customer` is null"
    );
}

#[test]
fn the_secret_comes_from_flow_toml_and_is_never_printed() {
    let secret = "whsec_from_the_toml_file_123";
    let dir = flows_dir(&[
        ("tag.flow", TAG),
        (
            "flow.toml",
            &format!("[serve]\nwebhook_secret = \"{secret}\"\ntolerance = 60\n"),
        ),
    ]);
    let s = start_with(dir.path(), &[], &[]);
    let listening = s.wait_log(WAIT, |l| l["msg"] == "listening").unwrap();
    assert_eq!(listening["secret_from"], "./flow.toml");
    assert_eq!(listening["tolerance"], 60);
    let body = payment_event("evt_toml", 250_000, "usd", Some("cus_A"));
    let sig = flow::serve::signature::header(secret, now(), body.as_bytes());
    assert_eq!(s.post(&body, Some(&sig)).0, 200);
    // 60 s tolerance from the file.
    let old = flow::serve::signature::header(secret, now() - 120, body.as_bytes());
    assert_eq!(s.post(&body, Some(&old)).0, 400);
    assert_eq!(
        s.post(&body, Some(&sign(&body))).0,
        400,
        "the test secret is not this one"
    );
    s.wait_idle(WAIT);
    let (_, metrics) = s.get("/metrics");
    let logs = s.log_text();
    drop(s);
    assert!(!logs.contains(secret), "{logs}");
    assert!(!metrics.contains(secret));

    // With no secret at all, the server does not start.
    let bare = tag_dir();
    let (code, out, err) = flow_in(bare.path(), &["serve", ".", "--listen", "127.0.0.1:0"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("error[E0921]: no webhook signing secret"),
        "{err}"
    );
    assert!(err.contains("STRIPE_WEBHOOK_SECRET"), "{err}");
    // And there is no flag for it.
    let (code, _, err) = flow_in(bare.path(), &["serve", ".", "--secret", secret]);
    assert_eq!(code, 2);
    assert!(err.contains("unexpected argument '--secret'"), "{err}");
}

#[test]
fn a_file_with_errors_is_refused_at_startup_with_its_diagnostics() {
    let dir = flows_dir(&[
        ("tag.flow", TAG),
        ("broken.flow", "on payment_intent.succeeded when amount > 1000 USD {\n    email to: \"team@example.com\", body: \"{amout}\"\n}\n"),
    ]);
    let out = std::process::Command::new(flow_bin())
        .current_dir(dir.path())
        .args(["serve", ".", "--listen", "127.0.0.1:0"])
        .env("STRIPE_WEBHOOK_SECRET", SECRET)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("error[E0102]"), "{err}");
    assert!(err.contains("did you mean `amount`?"), "{err}");
    assert!(err.contains("broken.flow:2"), "{err}");
    assert!(
        err.contains("error[E0922]: not started: broken.flow refused"),
        "{err}"
    );
    assert!(
        !dir.path().join(".flow/runs.db").exists(),
        "nothing was opened"
    );

    // Two files with a workflow of the same name: refused too.
    let dir = flows_dir(&[("a.flow", TAG), ("b.flow", TAG)]);
    let out = std::process::Command::new(flow_bin())
        .current_dir(dir.path())
        .args(["serve", ".", "--listen", "127.0.0.1:0"])
        .env("STRIPE_WEBHOOK_SECRET", SECRET)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("a workflow named \"Tag valuable customers\" is already loaded from a.flow"),
        "{err}"
    );
}

#[test]
fn a_second_server_on_the_same_run_log_is_refused() {
    let dir = tag_dir();
    let _s = start(dir.path(), &[]);
    let out = std::process::Command::new(flow_bin())
        .current_dir(dir.path())
        .args(["serve", ".", "--listen", "127.0.0.1:0"])
        .env("STRIPE_WEBHOOK_SECRET", SECRET)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("error[E0923]: another flow serve is using the run log"),
        "{err}"
    );
}

/// `flow serve` with the test secret, expected to refuse to start: its exit code and
/// standard error. A server that starts anyway is stopped, and the test fails.
fn serve_refused(dir: &std::path::Path, args: &[&str]) -> (i32, String) {
    use std::io::Read;
    let mut child = std::process::Command::new(flow_bin())
        .current_dir(dir)
        .args(["serve", ".", "--listen", "127.0.0.1:0"])
        .args(args)
        .env("STRIPE_WEBHOOK_SECRET", SECRET)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let until = std::time::Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > until {
            let _ = child.kill();
            let _ = child.wait();
            panic!("flow serve {args:?} started and kept running");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status.code().unwrap_or(-1), err)
}

#[cfg(unix)]
#[test]
fn a_second_server_on_a_link_to_the_run_log_is_refused() {
    let dir = tag_dir();
    let d = dir.path();
    for sub in ["a", "b", "c"] {
        std::fs::create_dir(d.join(sub)).unwrap();
    }
    let s = start(d, &["--db", "a/runs.db"]);
    std::fs::hard_link(d.join("a/runs.db"), d.join("b/runs.db")).unwrap();
    std::os::unix::fs::symlink(d.join("a/runs.db"), d.join("c/runs.db")).unwrap();
    for other in ["b/runs.db", "c/runs.db", "./a/../a/runs.db"] {
        let (code, err) = serve_refused(d, &["--db", other]);
        assert_eq!(code, 2, "{other}: {err}");
        assert!(
            err.contains("error[E0923]: another flow serve is using the run log"),
            "{other}: {err}"
        );
    }
    // The first server goes on, and the run history reads the run log meanwhile (by
    // its name or a symbolic link: SQLite finds the write-ahead log beside the file
    // the link resolves to, which it cannot do through a hard link).
    let (status, reply) = s.deliver(&payment_event("evt_link", 250_000, "usd", Some("cus_A")));
    assert_eq!((status, reply["runs"].clone()), (200, json!(1)), "{reply}");
    for name in ["a/runs.db", "c/runs.db"] {
        let until = std::time::Instant::now() + WAIT;
        loop {
            let (code, out, err) = flow_in(d, &["runs", "--db", name, "--status", "succeeded"]);
            assert_eq!(code, 0, "{name}: {err}");
            if out.contains("evt_link") {
                break;
            }
            assert!(
                std::time::Instant::now() < until,
                "{name}: no succeeded run of evt_link:\n{out}{err}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    assert_eq!(s.stop(), 0);
}

#[test]
fn runs_lists_filters_and_shows_the_history() {
    let dir = tag_dir();
    let s = start(dir.path(), &[]);
    s.deliver(&payment_event("evt_l1", 250_000, "usd", Some("cus_A")));
    s.deliver(&payment_event("evt_l2", 50_000, "usd", Some("cus_A")));
    s.deliver(&payment_event("evt_l3", 250_000, "usd", None));
    s.wait_idle(WAIT);

    let (code, out, err) = flow_in(dir.path(), &["runs"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(lines[0].starts_with("RUN  TIME"), "{out}");
    for (line, (event, status)) in lines[1..].iter().zip([
        ("evt_l1", "succeeded"),
        ("evt_l2", "skipped"),
        ("evt_l3", "failed"),
    ]) {
        assert!(line.contains(event) && line.contains(status), "{line}");
        assert!(line.contains(TAG_NAME), "{line}");
    }
    assert!(lines[3].contains("cannot update the customer"), "{out}");

    let (_, out, _) = flow_in(dir.path(), &["runs", "--status", "failed"]);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.contains("evt_l3"));
    let (_, out, err) = flow_in(dir.path(), &["runs", "--workflow", "Other"]);
    assert_eq!((out.as_str(), err.trim()), ("", "no runs"));
    let (_, out, _) = flow_in(dir.path(), &["runs", "--since", "1h"]);
    assert_eq!(out.lines().count(), 4, "{out}");
    let (_, out, _) = flow_in(dir.path(), &["runs", "--since", "2999-01-01"]);
    assert_eq!(out.lines().count(), 0, "{out}");
    let (_, out, _) = flow_in(
        dir.path(),
        &[
            "runs",
            "--since",
            "2020-01-01T00:00:00Z",
            "--format",
            "json",
        ],
    );
    let rows: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["event"], "evt_l1");
    assert_eq!(rows[0]["status"], "succeeded");
    assert_eq!(rows[0]["workflow"], TAG_NAME);
    let (code, _, err) = flow_in(dir.path(), &["runs", "--since", "last week"]);
    assert_eq!(code, 2);
    assert!(err.contains("error[E0928]"), "{err}");

    let id = rows[0]["run"].as_i64().unwrap().to_string();
    let (code, out, err) = flow_in(dir.path(), &["runs", "show", &id]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(&format!("run {id} · succeeded · {TAG_NAME} (version ")),
        "{out}"
    );
    assert!(out.contains("evt_l1 (payment_intent.succeeded)"), "{out}");
    assert!(out.contains(&format!("key {}", key("evt_l1", 1))), "{out}");
    assert!(out.contains(r#"{"action":"update","object":"customer","id":"cus_A","account":null,"params":{"metadata":{"Tier":"VIP"}}}"#), "{out}");
    let (_, out, _) = flow_in(dir.path(), &["runs", "show", &id, "--format", "json"]);
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["actions"].as_array().unwrap().len(), 2);
    assert_eq!(shown["event_payload"]["id"], "evt_l1");
    let (code, _, err) = flow_in(dir.path(), &["runs", "show", "999"]);
    assert_eq!(code, 2);
    assert!(err.contains("error[E0925]: there is no run 999"), "{err}");
    // Only failed runs are retried.
    let (code, _, err) = flow_in(dir.path(), &["runs", "retry", &id]);
    assert_eq!(code, 2);
    assert!(err.contains("only a failed run is retried"), "{err}");
}

const CHECK_CHARGE: &str = r#"workflow "Check the charge"
on payment_intent.succeeded {
    email to: "team@example.com", body: "Payment {id} succeeded"
    if latest_charge != null {
        let ch = retrieve latest_charge
        if customer != null {
            update customer.metadata.Charge = ch.id
        }
    }
}
"#;

fn charge_event(id: &str, charge: &str) -> String {
    let mut e: Value =
        serde_json::from_str(&payment_event(id, 1_200, "usd", Some("cus_R"))).unwrap();
    e["data"]["object"]["latest_charge"] = json!(charge);
    e.to_string()
}

fn add_charge(objects: &std::path::Path, id: &str) {
    std::fs::write(
        objects.join(format!("{id}.json")),
        json!({"id": id, "object": "charge", "amount": 1200, "currency": "usd"}).to_string(),
    )
    .unwrap();
}

#[test]
fn retry_carries_out_only_what_failed_with_the_same_keys() {
    let dir = flows_dir(&[("check.flow", CHECK_CHARGE)]);
    let objects = dir.path().join("objects");
    std::fs::create_dir(&objects).unwrap();
    let s = start(dir.path(), &["--objects", "objects"]);
    s.deliver(&charge_event("evt_r1", "ch_missing1"));
    s.wait_idle(WAIT);
    let (_, out, _) = flow_in(
        dir.path(),
        &["runs", "--status", "failed", "--format", "json"],
    );
    let failed: Value = serde_json::from_str(out.lines().next().expect("a failed run")).unwrap();
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("retrieve charge `ch_missing1`: no such object"),
        "{failed}"
    );
    let id = failed["run"].to_string();

    // Through the running server: it picks the run up again.
    add_charge(&objects, "ch_missing1");
    let (code, out, err) = flow_in(dir.path(), &["runs", "retry", &id]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("the running server carries it out"), "{err}");
    assert!(
        out.starts_with(&format!(
            "run {id} succeeded · Check the charge on evt_r1 (attempt 2)"
        )),
        "{out}"
    );
    let done = performed(dir.path());
    assert_eq!(
        done.iter().map(|d| (d.0.clone(), d.2)).collect::<Vec<_>>(),
        vec![
            (key_of("evt_r1", "Check the charge", 0), 1),
            (key_of("evt_r1", "Check the charge", 2), 1),
        ],
        "the e-mail was not sent again; the retrieve (step 1) is not a change"
    );
    let (_, out, _) = flow_in(dir.path(), &["runs", "show", &id]);
    assert!(out.contains("attempts  2"), "{out}");
    assert!(out.contains("attempt 1  failed"), "{out}");
    assert!(out.contains("attempt 2  succeeded"), "{out}");

    // With no server running, the retry runs in the command itself.
    s.deliver(&charge_event("evt_r2", "ch_missing2"));
    s.wait_idle(WAIT);
    assert_eq!(s.stop(), 0);
    let id2 = count(dir.path(), "SELECT id FROM runs WHERE event_id = 'evt_r2'").to_string();
    let (code, out, _) = flow_in(dir.path(), &["runs", "retry", &id2, "--objects", "objects"]);
    assert_eq!(code, 1, "still missing: {out}");
    assert!(out.contains(&format!("run {id2} failed")), "{out}");
    add_charge(&objects, "ch_missing2");
    let (code, out, err) = flow_in(dir.path(), &["runs", "retry", &id2, "--objects", "objects"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("succeeded") && out.contains("(attempt 3)"),
        "{out}"
    );
    let emails = performed(dir.path())
        .iter()
        .filter(|d| d.0 == key_of("evt_r2", "Check the charge", 0))
        .map(|d| d.2)
        .collect::<Vec<_>>();
    assert_eq!(emails, vec![1], "three attempts, one e-mail");
}

#[test]
fn live_needs_a_key_before_it_accepts_an_event() {
    let dir = tag_dir();
    let out = std::process::Command::new(flow_bin())
        .current_dir(dir.path())
        .args(["serve", ".", "--live", "--listen", "127.0.0.1:0"])
        .env("STRIPE_WEBHOOK_SECRET", SECRET)
        .env_remove("STRIPE_API_KEY")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("error[E0961]: cannot run live: STRIPE_API_KEY is not set"),
        "{err}"
    );
    assert!(!dir.path().join(".flow").exists(), "nothing was created");
}

#[test]
fn an_older_api_payload_runs_as_the_schema_says_without_a_crash() {
    // localstripe and old API versions send fewer fields.
    let dir = flows_dir(&[
        ("tag.flow", TAG),
        (
            "receipt.flow",
            "workflow \"Receipt\"\non payment_intent.succeeded {\n    if receipt_email != null {\n        email to: receipt_email, body: \"Thanks\"\n    } else {\n        email to: \"team@example.com\", body: \"No receipt e-mail for {id}\"\n    }\n}\n",
        ),
    ]);
    let s = start(dir.path(), &[]);
    let old = json!({
        "id": "evt_old_api", "object": "event", "type": "payment_intent.succeeded",
        "data": {"object": {"id": "pi_old", "object": "payment_intent", "currency": "usd"}},
    })
    .to_string();
    assert_eq!(s.deliver(&old).0, 200);
    s.wait_idle(WAIT);
    let c = db(dir.path());
    let status = |w: &str| -> (String, Option<String>) {
        c.query_row(
            "SELECT status, error FROM runs WHERE workflow = ?1",
            [w],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    };
    let (st, err) = status("Tag valuable customers");
    assert_eq!(st, "failed");
    assert_eq!(
        err.as_deref(),
        Some("tag.flow:4:6: the event has no `amount`, which its schema says is always present")
    );
    // An absent nullable field reads as null.
    assert_eq!(status("Receipt"), ("succeeded".to_string(), None));
    let mail = performed(dir.path());
    assert_eq!(mail[0].1["body"], "No receipt e-mail for pi_old");
    assert_eq!(s.get("/healthz").0, 200);
}

/// The idempotency key of a step of Tag valuable customers on an event: the key the
/// live Stripe binding sends, and the one the run log journals.
fn key(event: &str, step: usize) -> String {
    key_of(event, "Tag valuable customers", step)
}

fn key_of(event: &str, workflow: &str, step: usize) -> String {
    flow::bindings::stripe::idempotency_key(&flow::bindings::ActionContext {
        event_id: Some(event),
        workflow,
        step,
        trigger: None,
        now: 0,
        item: None,
    })
    .expect("an event id gives a key")
}

const MANY: &str = r#"workflow "Big in dollars"
on payment_intent.succeeded
when amount > 1000 USD {
    email to: "ops@example.com", body: "big"
}

workflow "Huge in dollars"
on payment_intent.succeeded
when amount >= 5000 USD and customer != null {
    email to: "ops@example.com", body: "huge"
}

workflow "Paid in euros"
on payment_intent.succeeded
when currency == EUR {
    email to: "ops@example.com", body: "euros"
}

workflow "No customer"
on payment_intent.succeeded
when customer == null or amount_received < 0 USD {
    email to: "ops@example.com", body: "guest"
}

workflow "Paid in part"
on payment_intent.succeeded
when amount - amount_received > 0 USD {
    email to: "ops@example.com", body: "part"
}

workflow "Every payment"
on payment_intent.succeeded {
    email to: "ops@example.com", body: "paid"
}
"#;

/// A `when` found false as the event is recorded (by the index of leading
/// comparisons, or from the typed slots of its condition) is in the log as skipped,
/// finished, with one attempt, as a worker would have left it, and is never handed to
/// a worker. Any other run is carried out as before.
#[test]
fn a_when_found_false_at_the_webhook_is_recorded_skipped_with_the_event() {
    let dir = flows_dir(&[("many.flow", MANY)]);
    let s = start(dir.path(), &[]);
    let events = [
        ("evt_a", 250_000, "usd", Some("cus_A")),
        ("evt_b", 800, "usd", None),
        ("evt_c", 100_000, "eur", Some("cus_C")),
        ("evt_d", 900_000, "usd", Some("cus_D")),
    ];
    for (id, amount, currency, customer) in events {
        let (status, reply) = s.deliver(&payment_event(id, amount, currency, customer));
        assert_eq!(status, 200, "{reply}");
        // Every workflow's run is counted, decided already or not.
        assert_eq!(
            reply,
            json!({"received": true, "duplicate": false, "runs": 6})
        );
    }
    s.wait_idle(WAIT);

    // What each run came to: the same as `flow run` says of these events.
    let c = db(dir.path());
    let mut st = c
        .prepare(
            "SELECT r.event_id, r.workflow, r.status, r.attempts, r.started_at IS NOT NULL,
                    r.finished_at IS NOT NULL, a.status
             FROM runs r LEFT JOIN attempts a ON a.run_id = r.id ORDER BY r.event_id, r.id",
        )
        .unwrap();
    type Row = (String, String, String, i64, bool, bool, Option<String>);
    let rows: Vec<Row> = st
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let (sk, ok) = ("skipped", "succeeded");
    let expected = [
        (
            "evt_a",
            ["Big in dollars", ok],
            ["Huge in dollars", sk],
            ["Paid in euros", sk],
            ["No customer", sk],
        ),
        (
            "evt_b",
            ["Big in dollars", sk],
            ["Huge in dollars", sk],
            ["Paid in euros", sk],
            ["No customer", ok],
        ),
        (
            "evt_c",
            ["Big in dollars", sk],
            ["Huge in dollars", sk],
            ["Paid in euros", ok],
            ["No customer", sk],
        ),
        (
            "evt_d",
            ["Big in dollars", ok],
            ["Huge in dollars", ok],
            ["Paid in euros", sk],
            ["No customer", sk],
        ),
    ];
    let mut want: Vec<(String, String, String)> = Vec::new();
    for (event, a, b, c, d) in expected {
        for [w, status] in [a, b, c, d, ["Paid in part", sk], ["Every payment", ok]] {
            want.push((event.into(), w.into(), status.into()));
        }
    }
    want.sort();
    let mut got: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| (r.0.clone(), r.1.clone(), r.2.clone()))
        .collect();
    got.sort();
    assert_eq!(got, want);
    // Each finished run has one attempt, started and finished.
    for r in &rows {
        assert_eq!((r.3, r.4, r.5), (1, true, true), "{r:?}");
    }

    // Decided as the event was recorded: every skipped run whose `when` has a typed
    // form. "Paid in part" computes a value, and for evt_c "No customer" compares
    // euros with dollars, which the typed form leaves to the VM: workers decide.
    let mut at_ack: Vec<(String, String)> = s
        .logs()
        .iter()
        .filter(|l| l["msg"] == "run finished" && l["detail"].is_string())
        .map(|l| {
            assert_eq!(l["status"], "skipped", "{l}");
            assert_eq!(l["attempt"], 1, "{l}");
            (
                l["event"].as_str().unwrap().to_string(),
                l["workflow"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    at_ack.sort();
    let mut want_at_ack: Vec<(String, String)> = [
        ("evt_a", "Huge in dollars"),
        ("evt_a", "Paid in euros"),
        ("evt_a", "No customer"),
        ("evt_b", "Big in dollars"),
        ("evt_b", "Huge in dollars"),
        ("evt_b", "Paid in euros"),
        ("evt_c", "Big in dollars"),
        ("evt_c", "Huge in dollars"),
        ("evt_d", "Paid in euros"),
        ("evt_d", "No customer"),
    ]
    .iter()
    .map(|(e, w)| (e.to_string(), w.to_string()))
    .collect();
    want_at_ack.sort();
    assert_eq!(at_ack, want_at_ack);
    // No run wrote its one attempt, whether decided on receipt or carried out by a
    // worker: `flow runs show` gives it from the run itself.
    for r in &rows {
        assert_eq!(r.6, None, "{r:?}");
    }
    for (workflow, status) in [
        ("Huge in dollars", "skipped"),
        ("Big in dollars", "succeeded"),
    ] {
        let run: i64 = c
            .query_row(
                "SELECT id FROM runs WHERE event_id = 'evt_a' AND workflow = ?1",
                [workflow],
                |r| r.get(0),
            )
            .unwrap();
        let (code, out, err) = flow_in(
            dir.path(),
            &["runs", "show", &run.to_string(), "--format", "json"],
        );
        assert_eq!(code, 0, "{err}");
        let shown: Value = serde_json::from_str(&out).unwrap();
        let attempts = shown["attempts"].as_array().unwrap();
        assert_eq!(attempts.len(), 1, "{shown}");
        assert_eq!(attempts[0]["attempt"], 1, "{shown}");
        assert_eq!(attempts[0]["status"], status, "{shown}");
        assert_eq!(attempts[0]["error"], Value::Null, "{shown}");
        assert_eq!(
            attempts[0]["started_at"], shown["run"]["started_at"],
            "{shown}"
        );
        assert_eq!(
            attempts[0]["finished_at"], shown["run"]["finished_at"],
            "{shown}"
        );
    }
    // The other skipped runs went through a worker.
    let by_worker = s.count_logs(|l| {
        l["msg"] == "run finished" && l["status"] == "skipped" && l["detail"].is_null()
    });
    assert_eq!(by_worker, 5, "{}", s.log_text());

    let (_, metrics) = s.get("/metrics");
    assert!(
        metrics.contains("flow_runs_total{status=\"skipped\"} 15\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("flow_runs_total{status=\"succeeded\"} 9\n"),
        "{metrics}"
    );
    // Only what was carried out was performed: one e-mail per succeeded run.
    assert_eq!(performed(dir.path()).len(), 9);
}
