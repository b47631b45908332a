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

/// How many changed lines of each side the `--check` excerpt shows.
const EXCERPT_LINES: usize = 12;

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
    let files_word = |n: usize| if n == 1 { "file" } else { "files" };
    if check {
        eprintln!(
            "{changed} of {} {} would be reformatted{}",
            files.len(),
            files_word(files.len()),
            if failed > 0 {
                format!("; {failed} could not be formatted")
            } else {
                String::new()
            }
        );
    } else {
        eprintln!(
            "formatted {changed} of {} {}{}",
            files.len(),
            files_word(files.len()),
            if failed > 0 {
                format!("; {failed} could not be formatted")
            } else {
                String::new()
            }
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

/// A unified-diff-like excerpt: the lines from the first that differs to the last,
/// old and new, each side cut to [`EXCERPT_LINES`] lines.
fn excerpt(name: &str, old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let old_lines = &a[prefix..a.len() - suffix];
    let new_lines = &b[prefix..b.len() - suffix];
    let mut out = format!(
        "--- {name}\n+++ {name} (formatted)\n@@ -{},{} +{},{} @@\n",
        prefix + 1,
        old_lines.len(),
        prefix + 1,
        new_lines.len()
    );
    for (sign, lines) in [('-', old_lines), ('+', new_lines)] {
        for line in lines.iter().take(EXCERPT_LINES) {
            out.push(sign);
            out.push_str(line);
            out.push('\n');
        }
        if lines.len() > EXCERPT_LINES {
            out.push_str(&format!(
                "{sign}… ({} more lines)\n",
                lines.len() - EXCERPT_LINES
            ));
        }
    }
    if old.ends_with('\n') != new.ends_with('\n') && old_lines.is_empty() && new_lines.is_empty() {
        out.push_str("(only the line break at the end of the file differs)\n");
    }
    out
}
