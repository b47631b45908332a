//! A workflow's version is a digest of what it does: comments and layout are not part
//! of it, a change of behaviour is, and the version of a known workflow (and the
//! idempotency keys of its actions) must not change between releases by accident.

mod common;
mod serve_support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use flow::serve::flows::{settings_text, version_of};
use flow::settings::Settings;
use flow::syntax::SourceFile;
use flow::vm::{idempotency_key, ActionContext};
use serve_support::*;

const WAIT: Duration = Duration::from_secs(20);

/// Every workflow file of the templates and the examples (tests left out).
fn workflow_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in ["stdlib/templates", "examples"] {
        for e in std::fs::read_dir(common::root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if name.ends_with(".flow") && !name.ends_with(".test.flow") {
                out.push(p);
            }
        }
    }
    out.sort();
    assert!(out.len() >= 6, "{out:?}");
    out
}

/// (workflow, version) for each workflow of a text, with default settings, as
/// `flow serve` versions them.
fn versions(name: &str, text: &str) -> Vec<(String, String)> {
    let source = SourceFile::new(name, text.to_string());
    let build = flow::build(&source, &Settings::default(), "workflow");
    assert!(
        !build.has_errors(),
        "{name} does not build:\n{:?}\n{text}",
        build.diagnostics
    );
    let settings = settings_text(&Settings::default());
    let out: Vec<(String, String)> = build
        .compiled
        .programs
        .iter()
        .map(|p| {
            let v = version_of(p, &settings);
            assert_eq!(v, p.version(&settings));
            (p.name.clone(), v)
        })
        .collect();
    assert!(!out.is_empty(), "{name} has no workflow");
    out
}

/// The same text with a comment on a line of its own before every line, a comment at
/// the end of every line, and every existing comment reworded.
fn comments_edited(text: &str) -> String {
    let mut out = String::from("// A comment before everything.\n");
    for line in text.lines() {
        if line.trim_start().starts_with("//") {
            out.push_str(&format!("{line} (and some more words)\n"));
        } else {
            out.push_str(&format!(
                "// About the next line.\n{line} // and about this one\n"
            ));
        }
    }
    out
}

/// The same text indented further, with blank lines between its lines and spaces at
/// their ends.
fn whitespace_edited(text: &str) -> String {
    let mut out = String::from("\n\n");
    for line in text.lines() {
        out.push_str(&format!("      {line}   \n\n"));
    }
    out
}

#[test]
fn comments_and_whitespace_leave_every_version_unchanged() {
    for path in workflow_files() {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let before = versions(&name, &text);
        let commented = comments_edited(&text);
        assert_ne!(commented, text);
        assert_eq!(versions(&name, &commented), before, "{name}: comments");
        let spaced = whitespace_edited(&text);
        assert_ne!(spaced, text);
        assert_eq!(versions(&name, &spaced), before, "{name}: whitespace");
    }
}

#[test]
fn a_change_of_behaviour_changes_the_version() {
    let edits = [
        (
            "tag_valuable_customers.flow",
            "amount > 2000 USD",
            "amount > 2001 USD",
        ),
        (
            "tag_valuable_customers.flow",
            "amount > 1000 USD",
            "amount > 1000.01 USD",
        ),
        ("tag_valuable_customers.flow", "\"VIP\"", "\"Gold\""),
        (
            "personalize_orders.flow",
            "amount > 500 USD",
            "amount > 499 USD",
        ),
        ("alert_on_failed_invoice_payments.flow", ">= 3", ">= 4"),
        ("take_action_on_fraud_warnings.flow", "<", "<="),
    ];
    for (file, from, to) in edits {
        let path = common::root().join("stdlib/templates").join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} has no {from:?}");
        let before = versions(file, &text);
        let after = versions(file, &text.replacen(from, to, 1));
        assert_eq!(before.len(), after.len());
        for (b, a) in before.iter().zip(&after) {
            assert_eq!(b.0, a.0);
            assert_ne!(b.1, a.1, "{file}: {from} → {to} kept the version");
        }
    }
    // The settings a workflow is checked with are part of its version.
    let path = common::root().join("stdlib/templates/take_action_on_fraud_warnings.flow");
    let source = SourceFile::new("t.flow", std::fs::read_to_string(path).unwrap());
    let build = flow::build(&source, &Settings::default(), "t");
    let p = &build.compiled.programs[0];
    let default = settings_text(&Settings::default());
    let other = default.replace("15.00 USD", "20.00 USD");
    assert_ne!(default, other);
    assert_ne!(p.version(&default), p.version(&other));
}

// These two are pinned: a change to either changes what every stored run refers to
// (the version in the run log) or what Stripe deduplicates on (the idempotency key).
// Change them only on purpose, and say so in the release notes.

#[test]
fn the_version_of_a_template_is_pinned() {
    let text = include_str!("../stdlib/templates/tag_valuable_customers.flow");
    assert_eq!(
        versions("tag_valuable_customers.flow", text),
        [(
            "Tag valuable customers".to_string(),
            "5365b6db5f43648b".to_string()
        )]
    );
}

#[test]
fn the_idempotency_key_derivation_is_pinned() {
    let cx = ActionContext {
        event_id: Some("evt_1"),
        workflow: "Tag valuable customers",
        step: 0,
        trigger: None,
        now: 0,
        item: None,
    };
    assert_eq!(
        idempotency_key(&cx).as_deref(),
        Some("flow_9568321675bd1414c8d463d56c508eb03627b37c")
    );
    let next = ActionContext { step: 1, ..cx };
    assert_ne!(
        idempotency_key(&next).as_deref(),
        Some("flow_9568321675bd1414c8d463d56c508eb03627b37c")
    );
}

fn run_versions(dir: &std::path::Path) -> Vec<(String, String)> {
    let c = db(dir);
    let mut st = c
        .prepare("SELECT event_id, version FROM runs ORDER BY id")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Wait until `n` log lines match.
fn wait_count(s: &Server, n: usize, f: impl Fn(&serde_json::Value) -> bool) {
    let until = Instant::now() + WAIT;
    while s.count_logs(&f) < n {
        if Instant::now() > until {
            panic!("fewer than {n} matching log lines:\n{}", s.log_text());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SIGHUP, and wait until that reload is over: the reloads are done one after the
/// other, so the next request being logged means the previous one was applied.
fn reload(s: &Server) {
    let requested = |l: &serde_json::Value| l["msg"] == "reload requested";
    let before = s.count_logs(requested);
    s.signal("HUP");
    wait_count(s, before + 1, requested);
    s.signal("HUP");
    wait_count(s, before + 2, requested);
}

#[test]
fn a_served_workflow_keeps_its_version_when_only_a_comment_changes() {
    let dir = flows_dir(&[("tag.flow", TAG)]);
    let path = dir.path().join("tag.flow");
    // No polling: only SIGHUP reloads.
    let s = start(dir.path(), &["--poll-ms", "600000"]);
    let listening = s
        .wait_log(WAIT, |l| l["msg"] == "listening")
        .expect("listening");
    let v1 = listening["workflows"][0]["version"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        v1,
        versions("tag.flow", TAG)[0].1,
        "the server versions as version_of does"
    );
    s.deliver(&payment_event("evt_before", 250_000, "usd", Some("cus_A")));
    s.wait_idle(WAIT);

    // Only a comment changes: the file is built again, to the same version.
    let edited = TAG.replace(
        "// Tag valuable customers: thank big spenders, and mark the biggest as VIP.",
        "// Thank the customers who spend the most.\n// (The biggest get the VIP tier.)",
    );
    assert_ne!(edited, TAG);
    std::fs::write(&path, &edited).unwrap();
    reload(&s);
    assert_eq!(
        s.count_logs(|l| l["msg"] == "reloaded"),
        0,
        "a comment made a new version:\n{}",
        s.log_text()
    );
    s.deliver(&payment_event("evt_after", 250_000, "usd", Some("cus_A")));
    s.wait_idle(WAIT);
    assert_eq!(
        run_versions(dir.path()),
        [
            ("evt_before".to_string(), v1.clone()),
            ("evt_after".to_string(), v1.clone())
        ]
    );
    assert_eq!(count(dir.path(), "SELECT count(*) FROM versions"), 1);

    // A change of behaviour in the same file is a new version.
    std::fs::write(
        &path,
        edited.replace("amount > 2000 USD", "amount > 3000 USD"),
    )
    .unwrap();
    reload(&s);
    let reloaded = s
        .wait_log(WAIT, |l| l["msg"] == "reloaded")
        .unwrap_or_else(|| panic!("no new version:\n{}", s.log_text()));
    let v2 = reloaded["new_versions"][0]["version"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(v1, v2);
    s.deliver(&payment_event("evt_changed", 250_000, "usd", Some("cus_A")));
    s.wait_idle(WAIT);
    assert_eq!(run_versions(dir.path())[2], ("evt_changed".to_string(), v2));
    assert_eq!(count(dir.path(), "SELECT count(*) FROM versions"), 2);
}
