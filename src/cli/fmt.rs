//! `flow fmt`: rewrite flow files in the canonical layout (`flow_format`), or with
//! `--check` list those that are not in it; `-` formats standard input to standard
//! output. A file that does not parse is left as it is, its errors reported as
//! `flow check` reports them.

use std::io::Read;
use std::path::{Path, PathBuf};

use flow_diagnostics::{self as diagnostics, Diagnostic};
use flow_format::Error;
use flow_syntax::SourceFile;

use super::output::{print_plain, stderr_color, Stdout};

/// How many lines of diff the `--check` excerpt shows per file.
const EXCERPT_LINES: usize = 40;

pub fn fmt(paths: &[PathBuf], check: bool) -> i32 {
    if paths.len() == 1 && paths[0] == Path::new("-") {
        return stdin(check);
    }
    let files = flow_project::walk::flow_files_lenient(paths);
    let mut failed = 0;
    let mut changed = 0;
    let mut out = Stdout::lock();
    for path in &files {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                print_plain(
                    &Diagnostic::error("E0901", format!("cannot read {}: {e}", path.display()))
                        .with_help("check the path; flow files end in `.flow`"),
                    None,
                );
                failed += 1;
                continue;
            }
        };
        let name = path.display().to_string();
        let formatted = match flow_format::format(&text) {
            Ok(f) => f,
            Err(e) => {
                report(&name, &text, &e);
                failed += 1;
                continue;
            }
        };
        if formatted == text {
            continue;
        }
        changed += 1;
        if check {
            out.line(&name);
            out.write(&excerpt(&name, &text, &formatted));
        } else if let Err(e) = write_atomically(path, &formatted) {
            print_plain(
                &Diagnostic::error("E0901", format!("cannot write {name}: {e}")),
                None,
            );
            failed += 1;
        } else {
            out.line(&name);
        }
    }
    let files_word = if files.len() == 1 { "file" } else { "files" };
    let unformatted = if failed > 0 {
        format!("; {failed} could not be formatted")
    } else {
        String::new()
    };
    if check {
        eprintln!(
            "{changed} of {} {files_word} would be reformatted{unformatted}",
            files.len()
        );
    } else {
        eprintln!(
            "formatted {changed} of {} {files_word}{unformatted}",
            files.len()
        );
    }
    if failed > 0 || (check && changed > 0) {
        1
    } else {
        0
    }
}

/// `flow fmt -`: standard input to standard output (unchanged when it cannot be
/// formatted). With `--check`, nothing is written and the exit code tells.
fn stdin(check: bool) -> i32 {
    let mut text = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut text) {
        print_plain(
            &Diagnostic::error("E0901", format!("cannot read standard input: {e}")),
            None,
        );
        return 1;
    }
    match flow_format::format(&text) {
        Ok(formatted) => {
            if check {
                if formatted == text {
                    0
                } else {
                    Stdout::lock().write(&excerpt("<stdin>", &text, &formatted));
                    1
                }
            } else {
                Stdout::lock().write(&formatted);
                0
            }
        }
        Err(e) => {
            report("<stdin>", &text, &e);
            1
        }
    }
}

fn report(name: &str, text: &str, e: &Error) {
    match e {
        Error::Syntax(ds) => {
            let source = SourceFile::new(name, text);
            let color = stderr_color();
            for d in ds {
                eprint!("{}", diagnostics::render(d, &source, color));
            }
            eprintln!("{name}: not formatted: it has syntax errors");
        }
        Error::Comments { .. } | Error::Changed(_) => eprintln!("error: {name}: {e}"),
    }
}

/// Write `text` to a new file beside `path`, then rename it over `path`: a reader sees
/// the old file or the new one, never half of it.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "flow".into());
    let tmp = dir.join(format!(".{file_name}.fmt-{}.tmp", std::process::id()));
    let result = std::fs::write(&tmp, text)
        .and_then(|()| {
            if let Ok(meta) = std::fs::metadata(path) {
                std::fs::set_permissions(&tmp, meta.permissions())?;
            }
            Ok(())
        })
        .and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A unified diff of the change, in hunks with two lines of context, cut after
/// [`EXCERPT_LINES`] lines.
fn excerpt(name: &str, old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let ops = line_ops(&a, &b);
    let mut out = format!("--- {name}\n+++ {name} (formatted)\n");
    let mut shown = 0;
    let mut i = 0;
    while i < ops.len() {
        if ops[i].0 == ' ' {
            i += 1;
            continue;
        }
        // A hunk: from two lines before this change to two lines after the last change
        // that is at most four kept lines further.
        let start = i.saturating_sub(CONTEXT);
        let mut end = i;
        let mut kept = 0;
        let mut j = i;
        while j < ops.len() && kept <= 2 * CONTEXT {
            if ops[j].0 == ' ' {
                kept += 1;
            } else {
                kept = 0;
                end = j;
            }
            j += 1;
        }
        let end = (end + 1 + CONTEXT).min(ops.len());
        let hunk = &ops[start..end];
        let (old_start, new_start) = (hunk[0].1 + 1, hunk[0].2 + 1);
        let old_n = hunk.iter().filter(|o| o.0 != '+').count();
        let new_n = hunk.iter().filter(|o| o.0 != '-').count();
        out.push_str(&format!(
            "@@ -{old_start},{old_n} +{new_start},{new_n} @@\n"
        ));
        for (sign, _, _, line) in hunk {
            if shown == EXCERPT_LINES {
                out.push_str("…\n");
                return out;
            }
            out.push(*sign);
            out.push_str(line);
            out.push('\n');
            shown += 1;
        }
        i = end;
    }
    if shown == 0 {
        out.push_str("(only the line breaks at the end of the file differ)\n");
    }
    out
}

/// Lines of context around a change in [`excerpt`].
const CONTEXT: usize = 2;

/// The lines of both texts as kept (` `), removed (`-`) or added (`+`), with their
/// 0-based line numbers in the old and the new text: a longest common subsequence,
/// or, for very long texts, the common start and end around one change.
fn line_ops<'t>(a: &[&'t str], b: &[&'t str]) -> Vec<(char, usize, usize, &'t str)> {
    let mut ops = Vec::new();
    if a.len().saturating_mul(b.len()) > 4_000_000 {
        let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
        let suffix = a[prefix..]
            .iter()
            .rev()
            .zip(b[prefix..].iter().rev())
            .take_while(|(x, y)| x == y)
            .count();
        ops.extend((0..prefix).map(|k| (' ', k, k, a[k])));
        ops.extend((prefix..a.len() - suffix).map(|k| ('-', k, prefix, a[k])));
        let old_end = a.len() - suffix;
        ops.extend((prefix..b.len() - suffix).map(|k| ('+', old_end, k, b[k])));
        ops.extend((0..suffix).map(|k| {
            let (x, y) = (a.len() - suffix + k, b.len() - suffix + k);
            (' ', x, y, a[x])
        }));
        return ops;
    }
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
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', i, j, a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', i, j, a[i]));
            i += 1;
        } else {
            ops.push(('+', i, j, b[j]));
            j += 1;
        }
    }
    ops
}
