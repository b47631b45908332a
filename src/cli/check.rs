//! `flow check`: parse and type-check flow files; text for people, LSP-shaped JSON
//! for editors and CI.

use std::path::PathBuf;

use flow_diagnostics::{self as diagnostics, lsp, Diagnostic, Severity};

use super::output::{print_plain, stderr_color, Stdout};
use super::Format;

pub fn check(files: &[PathBuf], format: Format, deny: Option<&str>) -> i32 {
    let deny_warnings = match deny {
        None => false,
        Some("warnings") => true,
        Some(other) => {
            print_plain(
                &Diagnostic::error("E0903", format!("unknown `--deny {other}`"))
                    .with_help("the only choice is `--deny warnings`"),
                None,
            );
            return 2;
        }
    };
    let mut errors = 0;
    let mut warnings = 0;
    let mut lsp = Vec::new();
    let color = stderr_color();
    let files = flow_project::walk::flow_files_lenient(files);
    for path in &files {
        let source = match flow_project::read_source(path) {
            Ok(s) => s,
            Err(d) => {
                errors += 1;
                if format == Format::Json {
                    lsp.push(lsp::publish_unreadable(path, &d));
                } else {
                    print_plain(&d, None);
                }
                continue;
            }
        };
        let settings = match flow_project::load_settings(path) {
            Ok(s) => s,
            Err(d) => {
                print_plain(&d, None);
                return 2;
            }
        };
        let diagnostics = flow_project::check_at(path, &source, &settings);
        for d in &diagnostics {
            match d.severity {
                Severity::Error => errors += 1,
                Severity::Warning => warnings += 1,
                Severity::Note => {}
            }
        }
        match format {
            Format::Json => lsp.push(lsp::publish(path, &source, &diagnostics)),
            Format::Text => {
                for d in &diagnostics {
                    eprint!("{}", diagnostics::render(d, &source, color));
                }
            }
        }
    }
    if format == Format::Json {
        let text = serde_json::to_string_pretty(&lsp).unwrap_or_default();
        Stdout::lock().line(&text);
    } else {
        let files_word = if files.len() == 1 { "file" } else { "files" };
        eprintln!(
            "checked {} {files_word}: {errors} error{}, {warnings} warning{}",
            files.len(),
            if errors == 1 { "" } else { "s" },
            if warnings == 1 { "" } else { "s" }
        );
    }
    if errors > 0 || (deny_warnings && warnings > 0) {
        1
    } else {
        0
    }
}
