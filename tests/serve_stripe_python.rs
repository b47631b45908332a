//! Cross-check with Stripe's official Python library (`stripe` on PyPI): events it
//! signs are accepted by `flow serve`, and every header it rejects is rejected.
//!
//! The library is found through `FLOW_TEST_PYTHON` (a python with `stripe` installed;
//! `.ci/run` makes one). It is ignored in a plain `cargo test`; `.ci/run` runs it with
//! `--ignored`, and there a missing library fails it.

mod serve_support;

use std::process::Command;

use serde_json::Value;
use serve_support::*;

/// Builds the cases with the library: each payload, its header, and the library's
/// own verdict (`Webhook.construct_event` with its default tolerance of 300 s).
const CASES: &str = r#"
import json, sys, time
import stripe
from stripe import Webhook, WebhookSignature

secret = sys.argv[1]
now = int(time.time())
cases = []

def event(i, **extra):
    obj = {"id": "pi_py_%d" % i, "object": "payment_intent", "amount": 250000,
           "currency": "usd", "customer": "cus_py_%d" % i, "metadata": {}}
    obj.update(extra)
    return {"id": "evt_py_%d" % i, "object": "event", "api_version": "2024-06-20",
            "created": now, "type": "payment_intent.succeeded", "livemode": False,
            "data": {"object": obj}}

def sign(payload, timestamp=None, key=secret):
    return WebhookSignature.generate_signature_header(payload, key, timestamp=timestamp)

def digest(payload, timestamp):
    return WebhookSignature._compute_signature("%d.%s" % (timestamp, payload), secret)

def add(name, payload, header, expect):
    try:
        Webhook.construct_event(payload, header, secret)
        accepts, error = True, None
    except stripe.SignatureVerificationError as e:
        accepts, error = False, str(e)
    cases.append({"name": name, "event": json.loads(payload)["id"], "payload": payload,
                  "header": header, "python_accepts": accepts, "python_error": error,
                  "expect": expect})

n = iter(range(1000))
p = json.dumps(event(next(n)), separators=(",", ":"))
add("signed by the library", p, sign(p), True)
p = json.dumps(event(next(n)), indent=2)
add("pretty-printed body, newlines kept", p, sign(p), True)
p = json.dumps(event(next(n), description="Café ☕ 東京"), ensure_ascii=False)
add("UTF-8 body", p, sign(p), True)
p = json.dumps(event(next(n)))
add("signed four minutes ago", p, sign(p, now - 240), True)
p = json.dumps(event(next(n)))
add("timestamp ahead of the clock", p, sign(p, now + 600), True)
p = json.dumps(event(next(n)))
add("two v1, the second valid (a rolled secret)", p,
    "t=%d,v1=%s,v1=%s" % (now, "0" * 64, digest(p, now)), True)
p = json.dumps(event(next(n)))
add("a test-mode v0 beside the v1", p, sign(p) + ",v0=" + "1" * 64, True)

p = json.dumps(event(next(n)))
add("another endpoint's secret", p, sign(p, key="whsec_another_endpoint"), False)
p = json.dumps(event(next(n)))
add("body changed after signing", p.replace("250000", "250001"), sign(p), False)
p = json.dumps(event(next(n)))
add("only v0", p, "t=%d,v0=%s" % (now, digest(p, now)), False)
p = json.dumps(event(next(n)))
add("signed ten minutes ago", p, sign(p, now - 600), False)
p = json.dumps(event(next(n)))
add("no timestamp", p, "v1=%s" % digest(p, now), False)
p = json.dumps(event(next(n)))
add("a timestamp that is not a number", p, "t=soon,v1=%s" % digest(p, now), False)
p = json.dumps(event(next(n)))
add("garbage", p, "garbage", False)
p = json.dumps(event(next(n)))
add("empty header", p, "", False)
p = json.dumps(event(next(n)))
add("upper-case digest", p, "t=%d,v1=%s" % (now, digest(p, now).upper()), False)
p = json.dumps(event(next(n)))
add("digest of another timestamp", p, "t=%d,v1=%s" % (now + 1, digest(p, now)), False)
p = json.dumps(event(next(n)))
add("scheme V1 in capitals", p, "t=%d,V1=%s" % (now, digest(p, now)), False)

print(json.dumps({"version": stripe.VERSION, "cases": cases}))
"#;

/// The python to use. The test is ignored in a plain `cargo test`; asked for with
/// `--ignored` (as `.ci/run` does) it fails when there is no usable python.
fn python() -> Option<String> {
    let missing = |why: String| -> Option<String> {
        panic!(
            "{why}: set FLOW_TEST_PYTHON to a python with `pip install stripe` (.ci/run makes one)"
        );
    };
    let Ok(python) = std::env::var("FLOW_TEST_PYTHON") else {
        return missing("FLOW_TEST_PYTHON is not set".into());
    };
    let ok = Command::new(&python)
        .args(["-c", "import stripe"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        return missing(format!("{python} cannot `import stripe`"));
    }
    Some(python)
}

#[test]
#[ignore = "needs Stripe's Python library: .ci/run sets FLOW_TEST_PYTHON and runs it"]
fn the_server_agrees_with_stripes_python_library() {
    let Some(python) = python() else { return };
    let out = Command::new(&python)
        .args(["-c", CASES, SECRET])
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "the case builder failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON from python");
    let cases = report["cases"].as_array().unwrap();
    assert!(cases.len() >= 16);
    eprintln!("stripe-python {}: {} cases", report["version"], cases.len());

    let dir = flows_dir(&[("tag.flow", TAG)]);
    let s = start(dir.path(), &[]);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let accepts = c["python_accepts"].as_bool().unwrap();
        // The library behaves as Stripe documents (else this test checks nothing).
        assert_eq!(
            accepts,
            c["expect"].as_bool().unwrap(),
            "{name}: the library says {}",
            c["python_error"]
        );
        let payload = c["payload"].as_str().unwrap();
        let header = c["header"].as_str().unwrap();
        let (status, reply) = s.post(payload, Some(header));
        let want = if accepts { 200 } else { 400 };
        assert_eq!(
            status,
            want,
            "{name}: the library {} it ({}), the server answered {status} {reply}",
            if accepts { "accepts" } else { "rejects" },
            c["python_error"]
        );
        let id = c["event"].as_str().unwrap();
        let stored: Option<Vec<u8>> = db(dir.path())
            .query_row("SELECT payload FROM events WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .ok();
        if accepts {
            assert_eq!(stored.as_deref(), Some(payload.as_bytes()), "{name}");
        } else {
            assert_eq!(stored, None, "{name}: a rejected event was recorded");
        }
    }
    s.wait_idle(std::time::Duration::from_secs(20));
    let accepted = cases.iter().filter(|c| c["python_accepts"] == true).count() as i64;
    assert_eq!(
        count(
            dir.path(),
            "SELECT count(*) FROM runs WHERE status = 'succeeded'"
        ),
        accepted
    );
}
