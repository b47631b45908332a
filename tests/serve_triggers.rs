//! `flow serve` beyond webhooks: runs that wait (surviving `kill -9`), schedules (with
//! the test clock, catch-up after downtime, a daylight-saving change) and on-demand
//! invocations (`POST /invoke/NAME`, `flow invoke`).

mod serve_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use serve_support::*;

const WAIT: Duration = Duration::from_secs(20);
const TOKEN: &str = "test-invoke-token";

const WAIT_FLOW: &str = r#"workflow "Wait and tell"
on payment_intent.succeeded {
    email to: "first@example.com", subject: "First", body: "Before the wait for {id}."
    wait 2 seconds
    email to: "second@example.com", subject: "Second", body: "After the wait for {id}."
}
"#;

const TICK_FLOW: &str = r#"workflow "Every minute"
on schedule "* * * * *" timezone "UTC" {
    email to: "ops@example.com", subject: "Tick", body: "A minute passed."
}
"#;

const DST_FLOW: &str = r#"workflow "Half past two"
on schedule "30 2 * * *" timezone "America/New_York" {
    email to: "ops@example.com", subject: "Nightly", body: "Half past two, New York."
}
"#;

const GOODWILL_FLOW: &str = r#"workflow "Goodwill gesture"
on demand (customer: ref<customer>, credit: money, reason: string) {
    update customer.metadata.goodwill_reason = reason
    email to: "cs-leads@example.com", subject: "Goodwill", body: "Goodwill credit of {credit} for {customer}: {reason}"
}
"#;

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let until = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `flow runs --format json ARGS…`: one object per run.
fn runs_json(dir: &Path, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["runs", "--format", "json"];
    all.extend_from_slice(args);
    let (code, out, err) = flow_in(dir, &all);
    assert_eq!(code, 0, "{err}");
    out.lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object a line"))
        .collect()
}

fn start_env(dir: &Path, env: &[(&str, &str)]) -> Server {
    let mut all = vec![("STRIPE_WEBHOOK_SECRET", SECRET)];
    all.extend_from_slice(env);
    start_with(dir, &[], &all)
}

// ------------------------------------------------------------------ waits

#[test]
fn a_waiting_run_survives_kill_9_and_finishes_once_after_its_wake_up_time() {
    let dir = flows_dir(&[("wait.flow", WAIT_FLOW)]);
    let d = dir.path();
    let s = start(d, &[]);
    let body = payment_event("evt_wait", 1_000, "usd", Some("cus_W"));
    let (status, reply) = s.deliver(&body);
    assert_eq!(status, 200, "{reply}");
    let waiting = s
        .wait_log(WAIT, |l| l["msg"] == "run waiting")
        .unwrap_or_else(|| panic!("the run never waited:\n{}", s.log_text()));
    assert_eq!(waiting["status"], "waiting");
    // The first action is carried out; the second is not yet.
    assert_eq!(performed(d).len(), 1);
    let listed = runs_json(d, &["--status", "waiting"]);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["status"], "waiting");
    assert_eq!(listed[0]["trigger"], "event");
    let wakes_at = listed[0]["wakes_at"].as_str().expect("a wake-up time");
    let wake_ms: i64 = db(d)
        .query_row("SELECT wake_at FROM runs WHERE id = 1", [], |r| r.get(0))
        .unwrap();
    assert!(wakes_at.starts_with(&flow::serve::time::rfc3339(wake_ms)[..19]));
    let (_, text, _) = flow_in(d, &["runs"]);
    assert!(
        text.contains("waiting") && text.contains("wakes at"),
        "{text}"
    );
    assert!(runs_json(d, &["--status", "started"]).is_empty());

    // Killed while the run waits; the run log still says so.
    s.kill9();
    assert_eq!(runs_json(d, &["--status", "waiting"]).len(), 1);

    let s = start(d, &[]);
    let listening = s.wait_log(WAIT, |l| l["msg"] == "listening").unwrap();
    assert_eq!(listening["waiting"], 1, "{listening}");
    assert_eq!(listening["resuming"], 0, "a waiting run is not run at once");
    let finished = s
        .wait_log(WAIT, |l| l["msg"] == "run finished")
        .unwrap_or_else(|| panic!("the run never finished:\n{}", s.log_text()));
    assert_eq!(finished["status"], "succeeded", "{finished}");
    assert_eq!(finished["run"], 1);
    let (finished_at, attempts, status): (i64, i64, String) = db(d)
        .query_row(
            "SELECT finished_at, attempts, status FROM runs WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(status, "succeeded");
    assert_eq!(attempts, 2, "one attempt up to the wait, one after it");
    assert!(
        finished_at >= wake_ms,
        "finished at {finished_at}, before its wake-up time {wake_ms}"
    );
    // Each action was carried out once: the first was answered from the journal.
    let done = performed(d);
    assert_eq!(done.len(), 2, "{done:?}");
    assert!(done.iter().all(|(_, _, calls)| *calls == 1), "{done:?}");
    assert_eq!(done[0].1["to"], json!(["first@example.com"]), "{done:?}");
    assert_eq!(done[1].1["to"], json!(["second@example.com"]), "{done:?}");
    let (_, metrics) = s.get("/metrics");
    assert!(
        metrics
            .lines()
            .any(|l| l == "flow_actions_replayed_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.lines().any(|l| l == "flow_runs_waiting 0"),
        "{metrics}"
    );
    let listed = runs_json(d, &[]);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["wakes_at"], Value::Null);
    assert_eq!(s.stop(), 0);
}

// ------------------------------------------------------------------ schedules

fn schedule_runs(dir: &Path) -> Vec<(i64, String, String)> {
    let c = db(dir);
    let mut st = c
        .prepare("SELECT id, event_id, status FROM runs ORDER BY id")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn slots_missed_while_stopped_run_once_each_in_order_and_older_ones_are_skipped() {
    let dir = flows_dir(&[("tick.flow", TICK_FLOW)]);
    let d = dir.path();
    // First seen at 10:00:30: it starts from now.
    let s = start_env(d, &[("FLOW_SERVE_CLOCK", "2026-01-01T10:00:30Z")]);
    s.wait_log(WAIT, |l| l["msg"] == "schedule started")
        .unwrap_or_else(|| panic!("never started:\n{}", s.log_text()));
    assert_eq!(s.stop(), 0);
    assert!(schedule_runs(d).is_empty(), "no slot of the past runs");

    // Back at 10:02:30: the slots of 10:01 and 10:02 were missed.
    let s = start_env(d, &[("FLOW_SERVE_CLOCK", "2026-01-01T10:02:30Z")]);
    let catching = s
        .wait_log(WAIT, |l| l["msg"] == "schedule catching up")
        .unwrap_or_else(|| panic!("no catch-up:\n{}", s.log_text()));
    assert_eq!(catching["slots"], 2, "{catching}");
    wait_for("two runs", WAIT, || schedule_runs(d).len() == 2);
    s.wait_idle(WAIT);
    let runs = schedule_runs(d);
    assert_eq!(
        runs,
        vec![
            (
                1,
                "schedule:Every minute:2026-01-01T10:01:00Z".to_string(),
                "succeeded".to_string()
            ),
            (
                2,
                "schedule:Every minute:2026-01-01T10:02:00Z".to_string(),
                "succeeded".to_string()
            ),
        ]
    );
    assert_eq!(
        s.count_logs(|l| l["msg"] == "schedule fired" && l["late"] == true),
        2
    );
    assert_eq!(performed(d).len(), 2);
    let listed = runs_json(d, &[]);
    assert_eq!(listed[0]["trigger"], "schedule");
    assert_eq!(listed[0]["slot"], "2026-01-01T10:01:00Z");
    assert_eq!(listed[1]["slot"], "2026-01-01T10:02:00Z");
    assert_eq!(s.stop(), 0);

    // The same clock again: nothing is fired twice.
    let s = start_env(d, &[("FLOW_SERVE_CLOCK", "2026-01-01T10:02:40Z")]);
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(s.count_logs(|l| l["msg"] == "schedule fired"), 0);
    assert_eq!(s.stop(), 0);
    assert_eq!(schedule_runs(d).len(), 2);

    // Two days later with a two-minute policy: the last two slots run, the rest
    // are skipped, and the log says how many and which.
    std::fs::write(d.join("flow.toml"), "[serve]\nschedule_catch_up = \"2m\"\n").unwrap();
    let s = start_env(d, &[("FLOW_SERVE_CLOCK", "2026-01-03T10:00:30Z")]);
    let skipped = s
        .wait_log(WAIT, |l| l["msg"] == "schedule slots skipped")
        .unwrap_or_else(|| panic!("nothing skipped:\n{}", s.log_text()));
    assert_eq!(skipped["skipped"], 2 * 1440 - 4, "{skipped}");
    assert_eq!(skipped["from"], "2026-01-01T10:03:00Z");
    assert_eq!(skipped["to"], "2026-01-03T09:58:00Z");
    wait_for("two more runs", WAIT, || schedule_runs(d).len() == 4);
    s.wait_idle(WAIT);
    let runs = schedule_runs(d);
    assert_eq!(runs[2].1, "schedule:Every minute:2026-01-03T09:59:00Z");
    assert_eq!(runs[3].1, "schedule:Every minute:2026-01-03T10:00:00Z");
    assert_eq!(s.stop(), 0);

    // A policy that is not one stops the server from starting.
    std::fs::write(
        d.join("flow.toml"),
        "[serve]\nschedule_catch_up = \"soon\"\n",
    )
    .unwrap();
    let out = Command::new(flow_bin())
        .current_dir(d)
        .args(["serve", ".", "--listen", "127.0.0.1:0"])
        .env("STRIPE_WEBHOOK_SECRET", SECRET)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("E0929") && err.contains("soon") && err.contains("help"),
        "{err}"
    );
}

#[test]
fn a_schedule_fires_once_at_a_daylight_saving_change() {
    // 2026-03-08 02:30 does not exist in New York (clocks go from 02:00 to 03:00):
    // the slot is the first instant after the gap, 03:00 EDT = 07:00Z.
    let dir = flows_dir(&[("dst.flow", DST_FLOW)]);
    let d = dir.path();
    let s = start_env(d, &[("FLOW_SERVE_CLOCK", "2026-03-08T06:59:58Z")]);
    let fired = s
        .wait_log(WAIT, |l| l["msg"] == "schedule fired")
        .unwrap_or_else(|| panic!("never fired:\n{}", s.log_text()));
    assert_eq!(fired["slot"], "2026-03-08T07:00:00Z", "{fired}");
    assert_eq!(fired["local"], "2026-03-08T03:00:00-04:00", "{fired}");
    assert_eq!(fired["late"], false);
    s.wait_idle(WAIT);
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(s.count_logs(|l| l["msg"] == "schedule fired"), 1);
    let runs = schedule_runs(d);
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].1, "schedule:Half past two:2026-03-08T07:00:00Z");
    assert_eq!(runs[0].2, "succeeded");
    let listed = runs_json(d, &[]);
    assert_eq!(listed[0]["trigger"], "schedule");
    assert_eq!(listed[0]["slot"], "2026-03-08T07:00:00Z");
    assert_eq!(s.stop(), 0);
}

// ------------------------------------------------------------------ on demand

/// A request, with the answer's status, head and JSON body.
fn call(addr: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String, Value) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a response head");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    (
        status,
        head.to_string(),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

const GOODWILL: &str = "/invoke/Goodwill%20gesture";
const BEARER: &str = "Bearer test-invoke-token";

#[test]
fn invocations_are_authorized_checked_all_at_once_and_run_once() {
    let dir = flows_dir(&[("goodwill.flow", GOODWILL_FLOW), ("tag.flow", TAG)]);
    let d = dir.path();
    let s = start_env(d, &[("FLOW_INVOKE_TOKEN", TOKEN)]);
    let valid = r#"{"customer": "cus_G", "credit": "10.00 USD", "reason": "late delivery"}"#;

    // Tokens.
    for auth in [None, Some("Bearer wrong"), Some("Basic test-invoke-token")] {
        let headers: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
        let (status, head, body) = call(&s.addr, GOODWILL, &headers, valid);
        assert_eq!(status, 401, "{auth:?}: {body}");
        assert!(
            head.to_ascii_lowercase()
                .contains("www-authenticate: bearer"),
            "{head}"
        );
    }
    let auth = [("Authorization", BEARER)];

    // Names.
    let (status, _, body) = call(&s.addr, "/invoke/Goodwil%20gesture", &auth, valid);
    assert_eq!(status, 404, "{body}");
    assert!(
        body["help"].as_str().unwrap().contains("Goodwill gesture"),
        "{body}"
    );
    let (status, _, body) = call(&s.addr, "/invoke/Tag%20valuable%20customers", &auth, valid);
    assert_eq!(status, 409, "{body}");

    // Four problems, reported together.
    let bad = r#"{"custmer": "cus_G", "credit": "12.50 XYZ", "reason": 5}"#;
    let (status, _, body) = call(&s.addr, GOODWILL, &auth, bad);
    assert_eq!(status, 422, "{body}");
    assert!(body["error"].is_string(), "{body}");
    let problems = body["problems"].as_array().expect("problems");
    let names: std::collections::BTreeSet<&str> = problems
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["credit", "custmer", "customer", "reason"]
            .into_iter()
            .collect(),
        "{body}"
    );
    let of = |n: &str| problems.iter().find(|p| p["name"] == n).unwrap();
    assert!(
        of("custmer")["help"].as_str().unwrap().contains("customer"),
        "{body}"
    );
    assert!(
        of("customer")["message"]
            .as_str()
            .unwrap()
            .contains("missing"),
        "{body}"
    );
    assert!(
        of("credit")["message"].as_str().unwrap().contains("XYZ"),
        "{body}"
    );
    for p in problems {
        assert!(p["message"].is_string() && p["help"].is_string(), "{p}");
    }
    assert_eq!(count(d, "SELECT count(*) FROM runs"), 0, "nothing recorded");

    // A valid invocation runs.
    let (status, _, body) = call(&s.addr, GOODWILL, &auth, valid);
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["workflow"], "Goodwill gesture");
    assert!(
        body["event"].as_str().unwrap().starts_with("demand:"),
        "{body}"
    );
    let run = body["run"].as_i64().expect("a run id");
    s.wait_idle(WAIT);
    let listed = runs_json(d, &[]);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["run"], run);
    assert_eq!(listed[0]["status"], "succeeded", "{listed:?}");
    assert_eq!(listed[0]["trigger"], "demand");
    let done = performed(d);
    assert_eq!(done.len(), 2, "{done:?}");
    assert!(done[1].1.to_string().contains("late delivery"), "{done:?}");

    // An Idempotency-Key sent twice starts one run.
    let keyed = [
        ("Authorization", BEARER),
        ("Idempotency-Key", "goodwill-42"),
    ];
    let (s1, _, first) = call(&s.addr, GOODWILL, &keyed, valid);
    let (s2, _, second) = call(&s.addr, GOODWILL, &keyed, valid);
    assert_eq!((s1, s2), (202, 202), "{first} {second}");
    assert_eq!(first["run"], second["run"]);
    assert_eq!(first["event"], second["event"]);
    assert_eq!(second["duplicate"], true);
    // The same key with another input is refused.
    let other = r#"{"customer": "cus_G", "credit": "99.00 USD", "reason": "late delivery"}"#;
    let (status, _, body) = call(&s.addr, GOODWILL, &keyed, other);
    assert_eq!(status, 409, "{body}");
    s.wait_idle(WAIT);
    assert_eq!(count(d, "SELECT count(*) FROM runs"), 2);

    // `flow invoke`, end to end.
    std::fs::write(d.join("in.json"), valid).unwrap();
    std::fs::write(d.join("bad.json"), bad).unwrap();
    let url = format!("http://{}", s.addr);
    let invoke = |args: &[&str], token: Option<&str>| {
        let mut c = Command::new(flow_bin());
        c.current_dir(d)
            .arg("invoke")
            .args(args)
            .env("NO_COLOR", "1")
            .env_remove("FLOW_INVOKE_TOKEN");
        if let Some(t) = token {
            c.env("FLOW_INVOKE_TOKEN", t);
        }
        let out = c.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = invoke(
        &["Goodwill gesture", "--input", "in.json", "--url", &url],
        Some(TOKEN),
    );
    assert_eq!(code, 0, "{err}");
    let run: i64 = out
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("a run id: {out}"));
    s.wait_idle(WAIT);
    let shown = runs_json(d, &[]);
    assert!(
        shown
            .iter()
            .any(|r| r["run"] == run && r["status"] == "succeeded"),
        "{shown:?}"
    );
    let (code, out, err) = invoke(
        &[
            "Goodwill gesture",
            "--input",
            "in.json",
            "--url",
            &url,
            "--format",
            "json",
        ],
        Some(TOKEN),
    );
    assert_eq!(code, 0, "{err}");
    let answer: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(answer["workflow"], "Goodwill gesture");
    // Every problem is printed; the exit code is not 0.
    let (code, _, err) = invoke(
        &["Goodwill gesture", "--input", "bad.json", "--url", &url],
        Some(TOKEN),
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("E0933") && err.contains("422"), "{err}");
    for name in ["`custmer`", "`customer`", "`credit`", "`reason`"] {
        assert!(err.contains(name), "{name} missing from\n{err}");
    }
    // No token, an unreadable file, no server.
    let (code, _, err) = invoke(&["Goodwill gesture", "--url", &url], None);
    assert_eq!(code, 2);
    assert!(err.contains("E0930") && err.contains("help"), "{err}");
    let (code, _, err) = invoke(
        &["Goodwill gesture", "--input", "missing.json", "--url", &url],
        Some(TOKEN),
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("E0931") && err.contains("missing.json"),
        "{err}"
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let (code, _, err) = invoke(
        &["Goodwill gesture", "--input", "in.json", "--url", &nowhere],
        Some(TOKEN),
    );
    assert_eq!(code, 2);
    assert!(err.contains("E0932") && err.contains("help"), "{err}");
    assert_eq!(s.stop(), 0);
}

#[test]
fn without_a_token_invocation_is_off() {
    let dir = flows_dir(&[("goodwill.flow", GOODWILL_FLOW)]);
    let s = start(dir.path(), &[]);
    let (status, _, body) = call(&s.addr, GOODWILL, &[("Authorization", BEARER)], "{}");
    assert_eq!(status, 404, "{body}");
    assert!(
        body["help"].as_str().unwrap().contains("FLOW_INVOKE_TOKEN"),
        "{body}"
    );
    // A signed webhook of type `demand` starts nothing.
    let fake = json!({"id": "evt_fake", "object": "event", "type": "demand", "created": 1,
                      "data": {"object": {"customer": "cus_X", "credit": "1.00 USD", "reason": "x"}}})
    .to_string();
    let (status, reply) = s.deliver(&fake);
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["runs"], 0);
    assert_eq!(s.stop(), 0);
}
