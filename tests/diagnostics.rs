//! Every diagnostic code, as a user sees it: one small `.flow` file per code under
//! tests/diagnostics/, its rendered output reviewed as a snapshot.
//! Regenerate with `INSTA_UPDATE=always cargo test --test diagnostics` and review the diff.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

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

fn check(path: &PathBuf) -> (Vec<flow::diagnostics::Diagnostic>, String) {
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

#[test]
fn rendered_diagnostics() {
    for path in cases() {
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let (_, rendered) = check(&path);
        insta::assert_snapshot!(stem, rendered);
    }
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
