//! Commands for writing workflows: `templates`, `new`, `preview` and `test`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use flow_diagnostics::{self as diagnostics, Diagnostic};
use flow_project::read_json;
use flow_vm::{self as vm, Event, RunReport, Status};

use super::output::{build_runnable, known_event_type, print_plain, terminal_safe, triggered};
use super::Format;

// ------------------------------------------------------------------ templates, new

/// What a template does: its first comment line, continued on the next comment
/// lines when the sentence goes on (so that a summary is never cut mid-sentence).
pub fn summary(source: &str) -> String {
    let mut out = String::new();
    for line in source.lines().map(str::trim) {
        let Some(text) = line.strip_prefix("//").map(str::trim) else {
            if out.is_empty() {
                continue;
            }
            break;
        };
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(text);
        if text.ends_with('.') || text.is_empty() {
            break;
        }
    }
    out.trim().to_string()
}

pub fn templates(format: super::Format) -> i32 {
    let lib = flow_stdlib::builtin();
    if format == super::Format::Json {
        let list: Vec<serde_json::Value> = lib
            .templates
            .iter()
            .map(|t| serde_json::json!({ "name": t.name, "summary": summary(t.source) }))
            .collect();
        println!("{}", serde_json::Value::Array(list));
        return 0;
    }
    let width = lib
        .templates
        .iter()
        .map(|t| t.name.len())
        .max()
        .unwrap_or(0);
    for t in &lib.templates {
        println!("{:<width$}  {}", t.name, summary(t.source));
    }
    0
}

pub fn new(name: &str, file: Option<&Path>, force: bool) -> i32 {
    let lib = flow_stdlib::builtin();
    let Some(template) = lib.template(name) else {
        let close = flow_check::did_you_mean(name, lib.templates.iter().map(|t| t.name.as_str()));
        let all: Vec<&str> = lib.templates.iter().map(|t| t.name.as_str()).collect();
        let mut help = format!(
            "the templates are {}; `flow templates` describes them",
            all.join(", ")
        );
        if let Some(p) = flow_check::phrase(&close) {
            help = format!("{p} ({help})");
        }
        print_plain(
            &Diagnostic::error("E0907", format!("there is no template `{name}`")).with_help(help),
            None,
        );
        return 2;
    };
    let path = file
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(format!("{name}.flow")));
    let Some(file_stem) = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(".flow"))
        .filter(|s| !s.is_empty() && !s.ends_with(".test"))
    else {
        print_plain(
            &Diagnostic::error("E0908", format!("{} is not a name for a flow file", path.display()))
                .with_help("flow files end in `.flow` (and `.test.flow` is for tests): e.g. `flow new --template NAME my_workflow.flow`"),
            None,
        );
        return 2;
    };
    let tests = flow_stdlib::file(&format!("templates/{name}.test.flow"));
    let test_path = path.with_file_name(format!("{file_stem}.test.flow"));
    let mut writes = vec![(path.clone(), template.source)];
    if let Some(t) = tests {
        writes.push((test_path, t));
    }
    if !force {
        for (p, _) in &writes {
            if p.exists() {
                print_plain(
                    &Diagnostic::error("E0909", format!("{} already exists", p.display()))
                        .with_help("choose another file name, or pass --force to overwrite it"),
                    None,
                );
                return 1;
            }
        }
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Err(e) = std::fs::create_dir_all(dir) {
            print_plain(
                &Diagnostic::error("E0910", format!("cannot create {}: {e}", dir.display()))
                    .with_help("check the path and its permissions"),
                None,
            );
            return 1;
        }
    }
    for (p, text) in &writes {
        if let Err(e) = std::fs::write(p, text) {
            print_plain(
                &Diagnostic::error("E0910", format!("cannot write {}: {e}", p.display()))
                    .with_help("check the path and its permissions"),
                None,
            );
            return 1;
        }
    }
    println!("wrote {} (from the template `{name}`)", path.display());
    if writes.len() > 1 {
        println!("wrote {} (its tests)", writes[1].0.display());
    }
    println!("next: edit it, then");
    println!("  flow check {}", path.display());
    println!(
        "  flow preview {} --event EVENT.json   (the e-mails it sends)",
        path.display()
    );
    if writes.len() > 1 {
        println!("  flow test {}", writes[1].0.display());
    }
    0
}

// ------------------------------------------------------------------ preview

/// Build a flow and run its workflows on an event; `Err` is the exit code, after
/// printing why.
fn run_on_event(
    file: &Path,
    event_path: &Path,
    event_type: Option<&str>,
    objects: Option<&Path>,
    now: Option<i64>,
) -> Result<Vec<RunReport>, i32> {
    let loaded = build_runnable(file, "no preview")?;
    let (source, build) = (loaded.source, loaded.build);
    let json = read_json(event_path).map_err(|(d, s)| {
        print_plain(&d, s.as_ref());
        2
    })?;
    known_event_type(event_type)?;
    let mut event = Event::from_json(json, event_type).map_err(|msg| {
        print_plain(
            &Diagnostic::error("E0905", format!("{}: {msg}", event_path.display()))
                .with_help("give a Stripe event (`\"object\": \"event\"`, `type`, `data.object`), or a bare object with --type EVENT_TYPE"),
            None,
        );
        2
    })?;
    event.now = now;
    let mut bindings = flow_project::recording(objects).map_err(|d| {
        print_plain(&d, None);
        2
    })?;
    let programs = triggered(&build, file, &event);
    Ok(programs
        .into_iter()
        .map(|p| vm::run(p, &source, &event, &mut bindings))
        .collect())
}

pub fn preview(
    file: &Path,
    event: &Path,
    event_type: Option<&str>,
    objects: Option<&Path>,
    format: Format,
    now: Option<i64>,
) -> i32 {
    let reports = match run_on_event(file, event, event_type, objects, now) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let _ = match format {
        Format::Json => writeln!(out, "{}", super::preview::render_json(&reports)),
        Format::Text => write!(
            out,
            "{}",
            terminal_safe(&super::preview::render_text(&reports))
        ),
    };
    if reports.iter().any(|r| r.status == Status::Failed) {
        1
    } else {
        0
    }
}

// ------------------------------------------------------------------ test

/// How `flow test` writes its results.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TestFormat {
    Text,
    Json,
    Junit,
}

/// `flow test`; `coverage` is `--coverage`, with its `--threshold` (0 without one).
pub fn test(
    paths: &[PathBuf],
    now: Option<i64>,
    filter: Option<String>,
    format: TestFormat,
    coverage: Option<u32>,
) -> i32 {
    let paths = if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths.to_vec()
    };
    let stdout = std::io::stdout();
    let color = format == TestFormat::Text && diagnostics::use_color(stdout.is_terminal());
    let mut out = stdout.lock();
    let mut printer = flow_testing::Printer::new(&mut out, color);
    printer.format = match format {
        TestFormat::Text => flow_testing::Format::Text,
        TestFormat::Json => flow_testing::Format::Json,
        TestFormat::Junit => flow_testing::Format::Junit,
    };
    printer.filter = filter.clone();
    if coverage.is_some() {
        printer.coverage = Some(flow_testing::Coverage::default());
    }
    let summary = flow_testing::run_paths(&paths, &mut printer, now);
    let below = match (coverage, &printer.coverage) {
        (Some(threshold), Some(c)) if !c.meets(threshold) => {
            let (covered, total) = c.counts();
            Some(format!(
                "error: coverage {}% ({covered} of {total} outcomes) is below the threshold of {threshold}%",
                flow_testing::coverage::percent_text(covered, total)
            ))
        }
        _ => None,
    };
    let _ = out.flush();
    if let Some(message) = &below {
        eprintln!("{message}");
    }
    if summary.failed > 0 || below.is_some() {
        1
    } else if filter.is_some() && summary.passed == 0 {
        // A filter that selects nothing is a mistake in the command (the note says so).
        2
    } else {
        0
    }
}
