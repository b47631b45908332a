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

/// `FLOW_BLESS=1`: tests that compare output with a file in the tree rewrite the file.
pub fn bless() -> bool {
    std::env::var("FLOW_BLESS").is_ok_and(|v| v == "1")
}

/// Compare the file at `path` with the text it should hold; with `FLOW_BLESS=1`, write
/// the text instead. `Err`: what differs, as a line diff.
pub fn expect_file(path: &Path, actual: &str) -> Result<(), String> {
    let expected = std::fs::read_to_string(path).unwrap_or_default();
    if expected == actual {
        return Ok(());
    }
    let shown = path.strip_prefix(root()).unwrap_or(path).display();
    if bless() {
        std::fs::write(path, actual).unwrap_or_else(|e| panic!("write {shown}: {e}"));
        return Ok(());
    }
    Err(format!(
        "{shown} is out of date (`FLOW_BLESS=1` rewrites it); - the file, + now:\n{}",
        line_diff(&expected, actual)
    ))
}

/// The lines that differ between two texts, with two lines of context around each
/// change: ` ` kept, `-` only in `old`, `+` only in `new`.
pub fn line_diff(old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    // The longest common subsequence, from the ends.
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut ops: Vec<(char, usize, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', i, a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', i, a[i]));
            i += 1;
        } else {
            ops.push(('+', i, b[j]));
            j += 1;
        }
    }
    let near = |k: usize| {
        ops[k.saturating_sub(2)..(k + 3).min(ops.len())]
            .iter()
            .any(|o| o.0 != ' ')
    };
    let mut out = String::new();
    let mut gap = true;
    for (k, (tag, line, text)) in ops.iter().enumerate() {
        if !near(k) {
            gap = true;
            continue;
        }
        if gap {
            out.push_str(&format!("@@ line {}\n", line + 1));
            gap = false;
        }
        out.push_str(&format!("{tag}{text}\n"));
    }
    if out.is_empty() {
        // Only line endings differ.
        out.push_str("(the texts differ in line endings or a final newline only)\n");
    }
    out
}

/// xorshift64*: small, deterministic.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// The hand-written parser and pest on one input: where the hand-written one
/// accepts, pest accepts too and builds the same tree; `parse` (which falls back to
/// pest where it declines) gives the pest path's tree and diagnostics. Whether the
/// hand-written parser accepted it.
pub fn parses_alike(text: &str) -> bool {
    use flow::syntax::parser::{parse_fast, parse_with_pest, pest_accepts};
    use flow::syntax::{parse, SourceFile};

    let source = SourceFile::new("t.flow", text);
    let reference = parse_with_pest(&source);
    let fast = parse_fast(text);
    if let Some(file) = &fast {
        assert!(pest_accepts(text), "accepted what pest rejects:\n{text}");
        assert_eq!(
            format!("{file:?}"),
            format!("{:?}", reference.file),
            "a different tree for:\n{text}"
        );
    }
    let got = parse(&source);
    assert_eq!(
        format!("{:?}", got.file),
        format!("{:?}", reference.file),
        "parse differs from the pest path on:\n{text}"
    );
    assert_eq!(
        format!("{:?}", got.diagnostics),
        format!("{:?}", reference.diagnostics),
        "diagnostics differ on:\n{text}"
    );
    fast.is_some()
}

/// A condition on `payment_intent.succeeded`, checked (no errors) and compiled alone.
pub fn condition_program(text: &str) -> flow::compile::Program {
    let expr = flow::syntax::parse_expr(text).unwrap_or_else(|d| panic!("{text}: {d:?}"));
    let env = flow::check::Env::new(flow::stdlib::builtin());
    let mut checker = flow::check::Checker::new(env);
    checker.set_object(Some("payment_intent".into()));
    let typed = checker.condition(&expr, "the condition");
    assert!(
        checker.diagnostics.iter().all(|d| !d.is_error()),
        "{text}: {:?}",
        checker.diagnostics
    );
    flow::compile::compile_expr(&typed, checker.locals_count())
}
