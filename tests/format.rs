//! `flow fmt`: over every `.flow` file of the repository, formatting is idempotent,
//! keeps every comment and compiles to the same programs; the repository's own files
//! are formatted; the command rewrites, checks and filters.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use flow::format::{format, scan_comments, Error};
use flow::settings::Settings;
use flow::syntax::SourceFile;

/// The folders whose files are kept formatted (`flow fmt --check` passes on them;
/// `examples/compact.flow` by `// fmt: off`). Left out: `tests/diagnostics/`, whose
/// snapshots print line:column positions in those files as they are written.
const FORMATTED: &[&str] = &["examples", "stdlib/templates", "tests/data"];

fn flow_files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            flow_files_under(&path, out);
        } else if path.extension().is_some_and(|x| x == "flow") {
            out.push(path);
        }
    }
}

fn all_flow_files() -> Vec<PathBuf> {
    let root = common::root();
    let mut out = Vec::new();
    for dir in ["examples", "stdlib", "tests", "fuzz", "docs", "benches"] {
        flow_files_under(&root.join(dir), &mut out);
    }
    out.sort();
    out
}

fn comment_texts(text: &str) -> Vec<String> {
    let mut all: Vec<String> = scan_comments(text).into_iter().map(|c| c.text).collect();
    all.sort();
    all
}

/// The canonical forms of the programs a text compiles to, or `None` if it has errors.
fn programs(name: &str, text: &str) -> Option<Vec<Vec<u8>>> {
    let source = SourceFile::new(format!("{name}.flow"), text);
    let build = flow::build(&source, &Settings::default(), name);
    if build.has_errors() {
        return None;
    }
    Some(
        build
            .compiled
            .programs
            .iter()
            .map(|p| p.canonical())
            .collect(),
    )
}

#[test]
fn formatting_every_flow_file_is_idempotent_and_keeps_comments_and_meaning() {
    let files = all_flow_files();
    let (mut compared, mut unchecked, mut unparsed) = (0, 0, 0);
    for path in &files {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).unwrap();
        let once = match format(&text) {
            Ok(f) => f,
            Err(Error::Syntax(_)) => {
                unparsed += 1;
                continue;
            }
            Err(e) => panic!("{name}: {e}"),
        };
        let twice = format(&once).unwrap_or_else(|e| panic!("{name}, formatted: {e}"));
        assert_eq!(
            twice,
            once,
            "{name}: formatting is not idempotent:\n{}",
            common::line_diff(&once, &twice)
        );
        assert_eq!(
            comment_texts(&once),
            comment_texts(&text),
            "{name}: comments"
        );
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        match programs(&stem, &text) {
            Some(before) => {
                let after = programs(&stem, &once)
                    .unwrap_or_else(|| panic!("{name}: the formatted file does not check"));
                assert!(before == after, "{name}: the programs differ");
                compared += 1;
            }
            None => unchecked += 1,
        }
    }
    eprintln!(
        "{} files: {compared} compiled the same, {unchecked} with errors (idempotence and comments only), {unparsed} not parsed",
        files.len()
    );
    assert!(compared >= 20, "only {compared} files compared");
}

#[test]
fn the_repository_flow_files_are_formatted() {
    let root = common::root();
    let mut files = Vec::new();
    for dir in FORMATTED {
        flow_files_under(&root.join(dir), &mut files);
    }
    files.sort();
    assert!(files.len() >= 20);
    let args: Vec<String> = std::iter::once("fmt".to_string())
        .chain(std::iter::once("--check".to_string()))
        .chain(files.iter().map(|f| f.display().to_string()))
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = common::flow_ok(&args);
    assert_eq!(
        r.code, 0,
        "run `flow fmt` on these files:\n{}{}",
        r.stdout, r.stderr
    );
    // And at the root, as a user would run it: every file a folder walk finds (what
    // `.flowignore` leaves out aside) is formatted or kept as written.
    let r = common::flow_ok(&["fmt", "--check", "."]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("0 of "), "{}", r.stderr);
}

const MESSY: &str = "// Tag them.\non payment_intent.succeeded when amount>1000 USD<update customer.metadata.Tier=\"VIP\">\n";
const TIDY: &str = "// Tag them.\non payment_intent.succeeded\nwhen amount > 1000 USD {\n    update customer.metadata.Tier = \"VIP\"\n}\n";

#[test]
fn fmt_rewrites_changed_files_and_check_only_lists_them() {
    let dir = tempfile::tempdir().unwrap();
    let messy = common::temp_file(dir.path(), "messy.flow", MESSY);
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let tidy = common::temp_file(dir.path(), "sub/tidy.flow", TIDY);
    let broken = common::temp_file(dir.path(), "broken.flow", "on charge.succeeded {\n");
    let folder = dir.path().display().to_string();

    let r = common::flow_ok(&["fmt", "--check", &folder]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.contains("messy.flow\n--- "), "{}", r.stdout);
    assert!(
        r.stdout.contains("+when amount > 1000 USD {"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("tidy.flow"), "{}", r.stdout);
    assert!(r.stderr.contains("E0001"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&messy).unwrap(), MESSY);

    let r = common::flow_ok(&["fmt", &folder]);
    assert_eq!(r.code, 1, "the broken file is reported: {}", r.stderr);
    assert_eq!(std::fs::read_to_string(&messy).unwrap(), TIDY);
    assert_eq!(std::fs::read_to_string(&tidy).unwrap(), TIDY);
    assert_eq!(
        std::fs::read_to_string(&broken).unwrap(),
        "on charge.succeeded {\n"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");

    let r = common::flow_ok(&["fmt", "--check", &messy.display().to_string()]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
}

#[test]
fn fmt_dash_formats_standard_input_to_standard_output() {
    let mut child = common::flow()
        .args(["fmt", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(MESSY.as_bytes())
        .unwrap();
    let r = common::ran(child.wait_with_output().unwrap());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, TIDY);
}

/// Every file again with a comment at the end of every line and on a line of its own
/// between every two lines: formatting keeps them all, stays idempotent, and compiles
/// to the same programs.
#[test]
fn comments_everywhere_are_kept() {
    let mut tried = 0;
    for path in all_flow_files() {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        if format(&text).is_err() {
            continue;
        }
        let mut commented = String::new();
        for (i, line) in text.lines().enumerate() {
            commented.push_str(&format!("// own {i}\n{line} // end {i}\n"));
        }
        let once = match format(&commented) {
            Ok(f) => f,
            // A line ending inside a string's interpolation: the comment became code.
            Err(Error::Syntax(_)) => continue,
            Err(e) => panic!("{name} with comments: {e}\n{commented}"),
        };
        let twice = format(&once).unwrap_or_else(|e| panic!("{name}, formatted: {e}"));
        assert_eq!(
            twice,
            once,
            "{name} with comments: not idempotent:\n{}",
            common::line_diff(&once, &twice)
        );
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(before) = programs(&stem, &text) {
            assert!(
                programs(&stem, &once) == Some(before),
                "{name} with comments: the programs differ"
            );
        }
        tried += 1;
    }
    assert!(tried >= 20, "only {tried} files tried");
}
