//! Helpers shared by the live-run tests: run the built binary with a Stripe key in
//! its environment, and check that the key appears in none of its output.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// A test key, different each run, so that finding it in output cannot be a
/// coincidence.
pub fn test_key() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("sk_test_51Flow{nanos}x{}Secret", std::process::id())
}

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Output {
    /// The JSON reports (one per line) of `--format json`.
    pub fn reports(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .filter(|l| l.starts_with('{'))
            .map(|l| serde_json::from_str(l).expect("a report is JSON"))
            .collect()
    }

    pub fn report(&self) -> serde_json::Value {
        let r = self.reports();
        assert_eq!(
            r.len(),
            1,
            "expected one report:\n{}\n{}",
            self.stdout,
            self.stderr
        );
        r.into_iter().next().unwrap_or_default()
    }

    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// Run `flow` in `dir` with STRIPE_API_KEY set to `key` (when given), and check that
/// the key is nowhere in what it printed, nor in any file it left in `dir`.
pub fn flow(dir: &Path, key: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_flow"));
    cmd.current_dir(dir).args(args).env("NO_COLOR", "1");
    cmd.env_remove("STRIPE_API_KEY");
    cmd.env_remove("SMTP_USERNAME");
    cmd.env_remove("SMTP_PASSWORD");
    if let Some(k) = key {
        cmd.env("STRIPE_API_KEY", k);
    }
    let start = Instant::now();
    let out = cmd.output().expect("run flow");
    let output = Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).to_string(),
        elapsed: start.elapsed(),
    };
    if let Some(k) = key {
        assert_no_key(k, &output.all(), "flow's output");
        assert_no_key_in_files(k, dir);
    }
    output
}

pub fn assert_no_key(key: &str, text: &str, what: &str) {
    let secret = key.trim_start_matches("sk_test_");
    assert!(
        !text.contains(key) && !text.contains(secret),
        "the API key leaked into {what}:\n{text}"
    );
}

/// Every file under `dir` (reports, outbox messages): none holds the key.
pub fn assert_no_key_in_files(key: &str, dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            assert_no_key_in_files(key, &p);
        } else if let Ok(bytes) = std::fs::read(&p) {
            assert_no_key(
                key,
                &String::from_utf8_lossy(&bytes),
                &p.display().to_string(),
            );
        }
    }
}

/// A temporary folder with `flow.toml` and the given files.
pub fn workdir(flow_toml: &str, files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("flow.toml"), flow_toml).expect("write flow.toml");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write file");
    }
    dir
}

/// A stdlib template's source.
pub fn template(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("stdlib/templates")
        .join(name);
    std::fs::read_to_string(&path).expect("template")
}
