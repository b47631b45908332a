//! Every diagnostic code, as a user sees it: one small `.flow` file per code under
//! tests/diagnostics/, each its own snapshot under tests/snapshots/ holding the case's
//! source and what `flow check` prints for it. The error index, docs/diagnostics.md, is
//! made from the registry (`flow::diagnostics::codes`) and these cases, and checked here.
//!
//! After a change: `INSTA_UPDATE=always cargo test --test diagnostics` rewrites the
//! snapshots, `FLOW_BLESS=1 cargo test --test diagnostics` the index; review the diffs.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use flow::diagnostics::codes::{self, Code};
use flow::diagnostics::{render, Severity};
use flow::settings::Settings;
use flow::syntax::SourceFile;

fn cases() -> Vec<PathBuf> {
    let dir = common::root().join("tests/diagnostics");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/diagnostics exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "flow"))
        .collect();
    files.sort();
    files
}

/// Check a case as `flow check tests/diagnostics/NAME.flow` does: the diagnostics, and
/// their text without colour.
fn check(path: &Path) -> (Vec<flow::diagnostics::Diagnostic>, String) {
    let name = format!(
        "tests/diagnostics/{}",
        path.file_name().unwrap().to_string_lossy()
    );
    let source = SourceFile::new(name, std::fs::read_to_string(path).unwrap());
    let stem = path.file_stem().unwrap().to_string_lossy().to_string();
    let build = flow::build(&source, &Settings::default(), &stem);
    let rendered: String = build
        .diagnostics
        .iter()
        .map(|d| render(d, &source, false))
        .collect();
    (build.diagnostics, rendered)
}

#[test]
fn every_case_reports_its_code() {
    for path in cases() {
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let (diags, rendered) = check(&path);
        let code = stem.split('_').next().unwrap();
        if stem.starts_with("ok_") {
            assert!(diags.is_empty(), "{stem} should be clean:\n{rendered}");
        } else if code.len() == 5 && code[1..].chars().all(|c| c.is_ascii_digit()) {
            assert!(
                diags.iter().any(|d| d.code == code),
                "{stem} should report {code}:\n{rendered}"
            );
            for d in &diags {
                assert!(!d.labels.is_empty(), "{stem}: {} has a span", d.code);
            }
        }
    }
}

/// One snapshot per case: its source, then what `flow check` prints for it.
#[test]
fn rendered() {
    insta::glob!("diagnostics/*.flow", |path| {
        let source = std::fs::read_to_string(path).unwrap();
        let (_, rendered) = check(path);
        let shown = if rendered.is_empty() {
            "(no diagnostics)\n"
        } else {
            &rendered
        };
        insta::with_settings!({ omit_expression => true }, {
            insta::assert_snapshot!(format!(
                "----- SOURCE CODE\n{}\n\n----- FLOW CHECK\n{shown}",
                source.trim_end()
            ));
        });
    });
}

#[test]
fn one_check_reports_every_independent_mistake() {
    let (diags, rendered) = check(&common::root().join("tests/diagnostics/multiple_mistakes.flow"));
    let codes: Vec<&str> = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.code)
        .collect();
    assert_eq!(
        codes,
        ["E0207", "E0207", "E0301", "E0204", "E0102", "E0203", "E0306", "E0104"],
        "{rendered}"
    );
}

#[test]
fn every_code_is_documented_and_tested() {
    let docs = std::fs::read_to_string(common::root().join("docs/diagnostics.md")).unwrap();
    let mut used = BTreeSet::new();
    let mut sources = walk(&common::root().join("src"));
    sources.extend(walk(&common::root().join("crates")));
    for entry in sources {
        let text = std::fs::read_to_string(&entry).unwrap();
        let bytes = text.as_bytes();
        for i in 0..bytes.len().saturating_sub(6) {
            if bytes[i] == b'"'
                && matches!(bytes[i + 1], b'E' | b'W' | b'N')
                && bytes[i + 6] == b'"'
                && bytes[i + 2..i + 6].iter().all(u8::is_ascii_digit)
            {
                used.insert(text[i + 1..i + 6].to_string());
            }
        }
    }
    assert!(used.len() > 30, "found the codes in the sources: {used:?}");
    // The registry and the index list the same codes, the run-time ones included.
    let registry: BTreeSet<String> = flow::diagnostics::codes::ALL
        .iter()
        .map(|c| c.code.to_string())
        .collect();
    let indexed: BTreeSet<String> = docs
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(str::to_string)
        .collect();
    assert_eq!(
        registry, indexed,
        "codes.rs and docs/diagnostics.md list the same codes"
    );
    for code in flow::vm::RunCode::ALL {
        assert!(
            registry.contains(code.as_str()),
            "{} is in the registry and the index",
            code.as_str()
        );
    }
    for code in &used {
        assert!(registry.contains(code), "{code} is in the registry");
    }
    let tested: BTreeSet<String> = cases()
        .iter()
        .map(|p| {
            p.file_stem()
                .unwrap()
                .to_string_lossy()
                .split('_')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    for code in &used {
        assert!(
            docs.contains(&format!("## {code}")),
            "{code} is documented in docs/diagnostics.md"
        );
        // Codes of `flow test` runs (E08xx) and of the command line (E09xx) are tested
        // through the binary elsewhere.
        if !code.starts_with("E08") && !code.starts_with("E09") {
            assert!(
                tested.contains(code),
                "{code} has a case under tests/diagnostics/"
            );
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
    out
}

/// The error index, docs/diagnostics.md: for each check-time code (errors, warnings,
/// then notes) its explanation and the first case under tests/diagnostics/ that shows
/// it, with what `flow check` prints for it (long cases are shortened to their first
/// lines); then the run-time codes, each with what a failed run says.
fn error_index() -> String {
    let cases = cases();
    let mut out: Vec<String> = [
        "# Diagnostics",
        "",
        "Every problem `flow check` reports has a stable code: `E` errors stop a check, `W` warnings",
        "do not (unless `--deny warnings`), `N` notes inform. Each code below has an example from",
        "`tests/diagnostics/`, whose rendered output is a snapshot test.",
        "",
    ]
    .map(String::from)
    .to_vec();
    let of = |severity: Severity| {
        codes::ALL
            .iter()
            .filter(move |c| !c.is_run_time() && c.severity == severity)
    };
    let check_time: Vec<&Code> = of(Severity::Error)
        .chain(of(Severity::Warning))
        .chain(of(Severity::Note))
        .collect();
    for code in check_time {
        out.extend([format!("## {}", code.code), String::new()]);
        out.extend([code.explanation.to_string(), String::new()]);
        let prefix = format!("{}_", code.code);
        let Some(case) = cases.iter().find(|c| {
            c.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&prefix))
        }) else {
            continue;
        };
        let mut source = std::fs::read_to_string(case).unwrap();
        if source.matches('\n').count() > 20 {
            source = source.lines().take(6).collect::<Vec<_>>().join("\n") + "\n…\n";
        }
        let (_, rendered) = check(case);
        let shown: Vec<&str> = rendered
            .lines()
            .filter(|l| !l.starts_with("checked "))
            .collect();
        out.extend(
            [
                "```",
                source.trim_end(),
                "```",
                "",
                "```text",
                shown.join("\n").trim_end(),
                "```",
                "",
            ]
            .map(String::from),
        );
    }
    out.extend(
        [
            "# Run-time errors",
            "",
            "A run that fails says why in its report: `\"code\"` beside `\"error\"` in JSON, and the",
            "message with its place in the flow file in text. The codes are stable.",
            "",
        ]
        .map(String::from),
    );
    for code in codes::ALL.iter().filter(|c| c.is_run_time()) {
        out.extend([format!("## {}", code.code), String::new()]);
        out.extend([code.explanation.to_string(), String::new()]);
        out.extend(["```text", code.example.unwrap_or_default(), "```", ""].map(String::from));
    }
    out.join("\n")
}

#[test]
fn the_error_index_is_up_to_date() {
    let path = common::root().join("docs/diagnostics.md");
    if let Err(diff) = common::expect_file(&path, &error_index()) {
        panic!("{diff}");
    }
}

/// A snapshot whose case is gone is deleted with it.
#[test]
fn every_snapshot_has_its_case() {
    let cases: BTreeSet<String> = cases()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let dir = common::root().join("tests/snapshots");
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let case = name
            .strip_prefix("diagnostics__rendered@")
            .and_then(|n| n.strip_suffix(".snap"));
        assert!(
            case.is_some_and(|c| cases.contains(c)),
            "tests/snapshots/{name} is not the snapshot of a case under tests/diagnostics/"
        );
    }
}

#[test]
fn flow_explain_gives_every_code_of_the_registry() {
    for c in flow::diagnostics::codes::ALL {
        let r = common::flow_ok(&["explain", &c.code.to_ascii_lowercase(), "--format", "json"]);
        assert_eq!(r.code, 0, "{}: {}", c.code, r.stderr);
        let j: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
        assert_eq!(j["code"], c.code);
        assert_eq!(j["explanation"], c.explanation);
        assert_eq!(
            j["index"],
            format!("docs/diagnostics.md#{}", c.code.to_ascii_lowercase())
        );
    }
    let r = common::flow_ok(&["explain", "R0302"]);
    assert!(
        r.stdout.starts_with("R0302 (run-time error)\n"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("What a failed run says:"), "{}", r.stdout);
    let r = common::flow_ok(&["explain", "E0317x"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("error[E0914]"), "{}", r.stderr);
    assert!(r.stderr.contains("did you mean `E0317`"), "{}", r.stderr);
}
