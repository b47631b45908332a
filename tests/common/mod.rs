//! Helpers shared by the integration tests: run the `flow` binary and read its output.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn flow() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_flow"));
    c.current_dir(root()).env("NO_COLOR", "1");
    c
}

pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn ran(out: Output) -> Ran {
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn flow_ok(args: &[&str]) -> Ran {
    ran(flow().args(args).output().expect("flow runs"))
}

/// `flow run FLOW --event EVENT [--objects examples/objects] --format json`, one JSON
/// report per line.
pub fn reports(flow_file: &str, event: &str) -> Vec<Value> {
    let r = flow_ok(&[
        "run",
        flow_file,
        "--event",
        event,
        "--objects",
        "examples/objects",
        "--format",
        "json",
    ]);
    assert!(
        r.code == 0 || r.code == 1,
        "flow run failed to run: {}",
        r.stderr
    );
    r.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

pub fn one_report(flow_file: &str, event: &str) -> Value {
    let mut r = reports(flow_file, event);
    assert_eq!(r.len(), 1, "expected one report, got {r:?}");
    r.remove(0)
}

/// Write a file under a fresh temporary directory and return its path.
pub fn temp_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write temp file");
    p
}
