//! A reader that goes away (`flow events | head -1`) ends the output quietly: exit 0,
//! no panic, nothing on stderr.

use std::process::{Command, Stdio};

fn closed_early(args: &[&str]) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_flow"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("flow starts");
    // Close the reading end before flow writes: every write then fails with EPIPE.
    drop(child.stdout.take());
    child.wait_with_output().expect("flow ends")
}

#[test]
fn listings_end_quietly_when_the_reader_is_gone() {
    for args in [
        &["events"][..],
        &["fields", "payment_intent.succeeded"],
        &["compile", "stdlib/templates/tag_valuable_customers.flow"],
        &["check", "--format", "json", "stdlib/templates"],
        &[
            "run",
            "stdlib/templates/tag_valuable_customers.flow",
            "--event",
            "examples/events/payment_2500_usd.json",
        ],
    ] {
        let out = closed_early(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "flow {args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "flow {args:?}: {stderr}");
    }
}

#[test]
#[cfg(target_os = "linux")]
fn a_full_disk_is_an_error() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full opens");
    let out = Command::new(env!("CARGO_BIN_EXE_flow"))
        .arg("events")
        .stdout(full)
        .output()
        .expect("flow runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot write the output"), "{stderr}");
}
