//! `flow check` reads a file one workflow at a time (`flow_project::check_at`) and
//! must report exactly what the whole build reports (`flow_project::build_at`): the
//! same diagnostics, in the same order. Compared on every `.flow` file of the
//! repository, on all of them joined into one file (names taken twice, tests and
//! custom actions after workflows), and on deterministic mutations of them.

mod common;

use common::Rng;

use std::path::{Path, PathBuf};

use flow::settings::Settings;
use flow::syntax::SourceFile;

fn flow_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            flow_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "flow") {
            out.push(p);
        }
    }
}

fn files() -> Vec<PathBuf> {
    let root = common::root();
    let mut out = Vec::new();
    for dir in [
        "examples",
        "stdlib/templates",
        "tests/diagnostics",
        "tests/data",
    ] {
        flow_files(&root.join(dir), &mut out);
    }
    out.sort();
    out
}

/// The two paths on one text, read as the file at `path`; how many diagnostics.
fn same(path: &Path, text: &str, settings: &Settings) -> usize {
    let source = SourceFile::new(path.display().to_string(), text);
    let checked = flow_project::check_at(path, &source, settings);
    let built = flow_project::build_at(path, &source, settings).diagnostics;
    assert_eq!(
        format!("{checked:#?}"),
        format!("{built:#?}"),
        "{}:\n{text}",
        path.display()
    );
    checked.len()
}

#[test]
fn every_file_checks_alike() {
    let files = files();
    assert!(files.len() > 50, "{}", files.len());
    let mut reported = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let settings = flow_project::load_settings(path).unwrap_or_default();
        reported += same(path, &text, &settings);
    }
    // The error files of tests/diagnostics report something.
    assert!(reported > 50, "{reported}");
}

#[test]
fn one_file_of_everything_checks_alike() {
    let mut text = String::new();
    for path in files() {
        text.push_str(&std::fs::read_to_string(&path).unwrap());
        text.push('\n');
    }
    let all = common::root().join("examples/all.flow");
    let n = same(&all, &text, &Settings::default());
    assert!(n > 0);
    // Twice over: every workflow name is taken twice.
    let twice = format!("{text}\n{text}");
    assert!(same(&all, &twice, &Settings::default()) > n);
}

#[test]
fn mutated_files_check_alike() {
    let files = files();
    let texts: Vec<(PathBuf, String)> = files
        .iter()
        .map(|p| (p.clone(), std::fs::read_to_string(p).unwrap()))
        .collect();
    let pieces = [
        "\n",
        " ",
        "{",
        "}",
        "\"",
        "x",
        "amount",
        "USD",
        "workflow \"a\"\n",
        "if ",
        "let x = 1\n",
        "update customer.metadata.a = \"b\" ",
        "on charge.succeeded { }\n",
        "<",
        ">",
        ";",
    ];
    let mut rng = Rng(0xC0FF_EE11);
    for i in 0..600 {
        let (path, text) = &texts[i % texts.len()];
        let mut chars: Vec<char> = text.chars().collect();
        for _ in 0..=rng.below(2) {
            let at = rng.below(chars.len() + 1);
            if rng.below(2) == 0 && at < chars.len() {
                let end = (at + rng.below(8)).min(chars.len());
                chars.drain(at..end);
            } else {
                let piece = pieces[rng.below(pieces.len())];
                chars.splice(at..at, piece.chars());
            }
        }
        let mutated: String = chars.into_iter().collect();
        same(path, &mutated, &Settings::default());
    }
}
