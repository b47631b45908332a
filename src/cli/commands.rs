//! The subcommands.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{json, Value as Json};

use super::{Command, Format};
use crate::bindings::{Bindings, Recording};
use crate::check::Ty;
use crate::diagnostics::{self, Diagnostic, Severity};
use crate::settings::{self, Settings};
use crate::stdlib::{self, FieldType};
use crate::syntax::{SourceFile, Span};
use crate::vm::{self, Event, Status};

pub fn dispatch(command: Command) -> i32 {
    match command {
        Command::Check {
            files,
            format,
            deny,
        } => check(&files, format, deny.as_deref()),
        Command::Run {
            file,
            event,
            events,
            event_type,
            objects,
            format,
            jobs,
            live,
            outbox,
            verbose,
        } => {
            let input = match (&events, &event) {
                (Some(path), _) => Input::Stream(path, jobs),
                (None, Some(path)) => Input::One(path),
                (None, None) => Input::Stream(Path::new("-"), jobs),
            };
            let format = format.unwrap_or(match input {
                Input::One(_) => Format::Text,
                Input::Stream(..) => Format::Json,
            });
            run(
                &file,
                input,
                event_type.as_deref(),
                objects.as_deref(),
                format,
                live.then_some(super::live::LiveOptions { outbox, verbose }),
            )
        }
        Command::Compile { file, emit } => compile(&file, &emit),
        Command::Events { filter } => events(filter.as_deref()),
        Command::Fields { event_type, path } => fields(&event_type, path.as_deref()),
        Command::Repl {
            file,
            event,
            event_type,
            objects,
        } => crate::repl::main(crate::repl::Options {
            file,
            event,
            event_type,
            objects,
        }),
        Command::Templates => super::authoring::templates(),
        Command::New {
            template,
            file,
            force,
        } => super::authoring::new(&template, file.as_deref(), force),
        Command::Preview {
            file,
            event,
            event_type,
            objects,
            format,
        } => super::authoring::preview(
            &file,
            &event,
            event_type.as_deref(),
            objects.as_deref(),
            format,
        ),
        Command::Test { paths } => super::authoring::test(&paths),
        Command::Serve(a) => crate::serve::cli::serve(a),
        Command::Runs(a) => crate::serve::cli::runs(a),
        Command::Activate(a) => crate::serve::cli::activate(a, true),
        Command::Deactivate(a) => crate::serve::cli::activate(a, false),
    }
}

pub(super) fn stderr_color() -> bool {
    diagnostics::use_color(std::io::stderr().is_terminal())
}

/// Print a diagnostic that is not about a flow file (a missing file, bad JSON).
pub(crate) fn print_plain(d: &Diagnostic, source: Option<&Arc<SourceFile>>) {
    let text = match source {
        Some(s) => diagnostics::render(d, s, stderr_color()),
        None => {
            let mut t = format!(
                "{}[{}]: {}\n",
                diagnostics::severity_word(d.severity),
                d.code,
                d.message
            );
            if let Some(h) = &d.help {
                t.push_str(&format!("  help: {h}\n"));
            }
            t
        }
    };
    eprint!("{text}");
}

/// Read a flow file and its settings, and build it: what `run`, `compile` and
/// `preview` start from. `Err` is the exit code, after printing why.
pub(super) fn build_file(file: &Path) -> Result<(Arc<SourceFile>, Settings, crate::Build), i32> {
    let source = read_source(file).map_err(|d| {
        print_plain(&d, None);
        2
    })?;
    let settings = load_settings(file).map_err(|d| {
        print_plain(&d, None);
        2
    })?;
    let build = crate::build(&source, &settings, &stem(file));
    Ok((source, settings, build))
}

/// [`build_file`], then its problems on stderr; a file with errors is refused (`what`
/// says what does not happen: "not run", "no preview").
pub(super) fn build_runnable(
    file: &Path,
    what: &str,
) -> Result<(Arc<SourceFile>, Settings, crate::Build), i32> {
    let (source, settings, build) = build_file(file)?;
    let color = stderr_color();
    for d in build
        .diagnostics
        .iter()
        .filter(|d| d.severity != Severity::Note)
    {
        eprint!("{}", diagnostics::render(d, &source, color));
    }
    if build.has_errors() {
        eprintln!(
            "{}: {what}: fix the errors above first (`flow check {}`)",
            file.display(),
            file.display()
        );
        return Err(2);
    }
    Ok((source, settings, build))
}

/// The recording bindings, answering `retrieve` from the `--objects` folder if given.
pub(crate) fn recording(objects: Option<&Path>) -> Result<Recording, Diagnostic> {
    let mut recording = Recording::new();
    if let Some(dir) = objects {
        recording.load_dir(dir).map_err(|e| {
            Diagnostic::error("E0906", e)
                .with_help("--objects takes a folder of Stripe objects as .json files")
        })?;
    }
    Ok(recording)
}

/// The workflows of a build that the event triggers; when there are none, a note on
/// stderr says which triggers the file has.
pub(super) fn triggered<'b>(
    build: &'b crate::Build,
    file: &Path,
    event: &Event,
) -> Vec<&'b crate::compile::Program> {
    let programs = &build.compiled.programs;
    let matching: Vec<_> = programs
        .iter()
        .filter(|p| p.trigger == event.event_type())
        .collect();
    if matching.is_empty() {
        let triggers: Vec<&str> = programs.iter().map(|p| p.trigger.as_str()).collect();
        eprintln!(
            "note: no workflow in {} is triggered by {} (its triggers: {})",
            file.display(),
            event.event_type(),
            if triggers.is_empty() {
                "none".to_string()
            } else {
                triggers.join(", ")
            }
        );
    }
    matching
}

pub(super) fn read_source(path: &Path) -> Result<Arc<SourceFile>, Diagnostic> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(SourceFile::new(path.display().to_string(), text)),
        Err(e) => Err(
            Diagnostic::error("E0901", format!("cannot read {}: {e}", path.display()))
                .with_help("check the path; flow files end in `.flow`"),
        ),
    }
}

pub(super) fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "workflow".into())
}

pub(super) fn load_settings(path: &Path) -> Result<Settings, Diagnostic> {
    settings::load_for(Some(path)).map_err(|e| {
        Diagnostic::error("E0902", format!("invalid settings: {e}"))
            .with_help("flow.toml holds `[business]` with `default_currency = \"USD\"` and `dispute_fee = \"15.00 USD\"`, and `[stripe]` and `[email]` for live runs (see README)")
    })
}

// ------------------------------------------------------------------ check

fn check(files: &[PathBuf], format: Format, deny: Option<&str>) -> i32 {
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
    let files = expand_dirs(files);
    for path in &files {
        let source = match read_source(path) {
            Ok(s) => s,
            Err(d) => {
                errors += 1;
                if format == Format::Json {
                    lsp.push(json!({"uri": file_uri(path), "diagnostics": [{
                        "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
                        "severity": 1, "code": d.code, "source": "flow", "message": d.message,
                    }]}));
                } else {
                    print_plain(&d, None);
                }
                continue;
            }
        };
        let settings = match load_settings(path) {
            Ok(s) => s,
            Err(d) => {
                print_plain(&d, None);
                return 2;
            }
        };
        let build = crate::build(&source, &settings, &stem(path));
        for d in &build.diagnostics {
            match d.severity {
                Severity::Error => errors += 1,
                Severity::Warning => warnings += 1,
                Severity::Note => {}
            }
        }
        match format {
            Format::Json => lsp.push(json!({
                "uri": file_uri(path),
                "diagnostics": build.diagnostics.iter().map(|d| lsp_diagnostic(d, &source)).collect::<Vec<_>>(),
            })),
            Format::Text => {
                for d in &build.diagnostics {
                    eprint!("{}", diagnostics::render(d, &source, color));
                }
            }
        }
    }
    if format == Format::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(&Json::Array(lsp)).unwrap_or_default()
        );
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

/// Files as given, with each folder replaced by the `.flow` files under it (sorted).
pub fn expand_dirs(paths: &[PathBuf]) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "flow") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out);
        } else {
            out.push(p.clone());
        }
    }
    out
}

fn file_uri(path: &Path) -> String {
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut s = String::from("file://");
    for b in abs.to_string_lossy().bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                s.push(b as char)
            }
            _ => s.push_str(&format!("%{b:02X}")),
        }
    }
    s
}

fn lsp_range(source: &SourceFile, span: Span) -> Json {
    let (sl, sc) = source.lsp_position(span.start);
    let (el, ec) = source.lsp_position(span.end);
    json!({"start": {"line": sl, "character": sc}, "end": {"line": el, "character": ec}})
}

/// One LSP `Diagnostic`.
pub fn lsp_diagnostic(d: &Diagnostic, source: &SourceFile) -> Json {
    let span = d.primary_span().unwrap_or_default();
    let severity = match d.severity {
        Severity::Error => 1,
        Severity::Warning => 2,
        Severity::Note => 3,
    };
    let mut message = d.message.clone();
    if let Some(h) = &d.help {
        message.push_str(&format!("\nhelp: {h}"));
    }
    let mut out = json!({
        "range": lsp_range(source, span),
        "severity": severity,
        "code": d.code,
        "source": "flow",
        "message": message,
    });
    let related: Vec<Json> = d
        .labels
        .iter()
        .filter(|l| !l.primary)
        .map(|l| {
            json!({
                "location": {"uri": file_uri(Path::new(&source.name)), "range": lsp_range(source, l.span)},
                "message": l.message,
            })
        })
        .collect();
    if !related.is_empty() {
        out["relatedInformation"] = Json::Array(related);
    }
    out
}

// ------------------------------------------------------------------ run

/// Read and parse a JSON file, with a diagnostic pointing into it on failure.
pub fn read_json(path: &Path) -> Result<Json, (Diagnostic, Option<Arc<SourceFile>>)> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        (
            Diagnostic::error("E0901", format!("cannot read {}: {e}", path.display()))
                .with_help("check the path"),
            None,
        )
    })?;
    let source = SourceFile::new(path.display().to_string(), text);
    serde_json::from_str(&source.text).map_err(|e| {
        let offset = offset_of(&source.text, e.line(), e.column());
        (
            Diagnostic::error("E0904", format!("{} is not valid JSON", path.display()))
                .with_label(Span::new(offset, offset), e.to_string())
                .with_help("an event is a JSON object as Stripe sends it to a webhook"),
            Some(source.clone()),
        )
    })
}

fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            return (offset + column.saturating_sub(1)).min(text.len());
        }
        offset += l.len();
    }
    text.len()
}

/// Where `flow run` takes its events from.
enum Input<'a> {
    One(&'a Path),
    /// A file of JSON lines (`-`: standard input), with a number of worker threads.
    Stream(&'a Path, Option<usize>),
}

fn run(
    file: &Path,
    input: Input<'_>,
    event_type: Option<&str>,
    objects: Option<&Path>,
    format: Format,
    live: Option<super::live::LiveOptions>,
) -> i32 {
    let (source, settings, build) = match build_runnable(file, "not run") {
        Ok(b) => b,
        Err(code) => return code,
    };
    if let Some(t) = event_type {
        if stdlib::get().event(t).is_none() {
            print_plain(
                &Diagnostic::error("E0101", format!("unknown event type `{t}`"))
                    .with_help("see `flow events` for the list of Stripe event types"),
                None,
            );
            return 2;
        }
    }
    let event_path = match input {
        Input::One(path) => path,
        Input::Stream(path, jobs) => {
            // `--live` does not go with `--events` (clap says so).
            let recording = match recording(objects) {
                Ok(r) => r,
                Err(d) => {
                    print_plain(&d, None);
                    return 2;
                }
            };
            let programs = &build.compiled.programs;
            return crate::batch::cli::run(
                programs, &source, path, event_type, recording, format, jobs,
            );
        }
    };
    let json = match read_json(event_path) {
        Ok(j) => j,
        Err((d, s)) => {
            print_plain(&d, s.as_ref());
            return 2;
        }
    };
    let event = match Event::from_json(json, event_type) {
        Ok(e) => e,
        Err(msg) => {
            print_plain(
                &Diagnostic::error("E0905", format!("{}: {msg}", event_path.display()))
                    .with_help("give a Stripe event (`\"object\": \"event\"`, `type`, `data.object`), or a bare object with --type EVENT_TYPE"),
                None,
            );
            return 2;
        }
    };
    let matching = triggered(&build, file, &event);
    let mut bindings: Box<dyn Bindings> = match live {
        Some(opts) => match super::live::bindings(&settings, &matching, &event, &opts) {
            Ok(b) => Box::new(b),
            Err(d) => {
                print_plain(&d, None);
                return 2;
            }
        },
        None => {
            let recording = match recording(objects) {
                Ok(r) => r,
                Err(d) => {
                    print_plain(&d, None);
                    return 2;
                }
            };
            Box::new(recording)
        }
    };
    let mut failed = false;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for p in matching {
        let report = vm::run(p, &source, &event, bindings.as_mut());
        failed |= report.status == Status::Failed;
        let _ = match format {
            Format::Json => writeln!(out, "{}", report.to_json()),
            Format::Text => write!(out, "{}", report.to_text()),
        };
    }
    if failed {
        1
    } else {
        0
    }
}

// ------------------------------------------------------------------ compile

fn compile(file: &Path, emit: &str) -> i32 {
    if emit != "bytecode" {
        print_plain(
            &Diagnostic::error("E0903", format!("unknown `--emit {emit}`"))
                .with_help("the only choice is `--emit bytecode`"),
            None,
        );
        return 2;
    }
    let (source, _settings, build) = match build_file(file) {
        Ok(b) => b,
        Err(code) => return code,
    };
    if build.has_errors() {
        let color = stderr_color();
        for d in &build.diagnostics {
            eprint!("{}", diagnostics::render(d, &source, color));
        }
        return 1;
    }
    for p in &build.compiled.programs {
        println!("{}", crate::compile::disassemble(p, Some(&source)));
    }
    0
}

// ------------------------------------------------------------------ events, fields

fn events(filter: Option<&str>) -> i32 {
    for e in &stdlib::get().events {
        if filter.is_none_or(|f| e.name.contains(f)) {
            let obj = match &e.object {
                Some(o) if stdlib::get().object(o).is_some() => o.clone(),
                Some(o) => format!("{o} (dynamic)"),
                None => "dynamic".to_string(),
            };
            println!("{:<60} {obj}", e.name);
        }
    }
    0
}

/// `type` as shown in field listings, with enum values.
pub fn describe_field_type(owner: &str, f: &crate::stdlib::FieldDef) -> String {
    let ty = Ty::of_field(owner, f);
    let mut s = match (&f.ty, ty.is_nullable()) {
        (FieldType::Enum { values, open }, n) => format!(
            "enum{}({}){}",
            if *open { "+" } else { "" },
            values.join("|"),
            if n { "?" } else { "" }
        ),
        _ => ty.to_string(),
    };
    if f.updatable {
        s.push_str("  (updatable)");
    }
    s
}

fn fields(event_type: &str, path: Option<&str>) -> i32 {
    let lib = stdlib::get();
    let Some(ev) = lib.event(event_type) else {
        let close =
            crate::check::did_you_mean(event_type, lib.events.iter().map(|e| e.name.as_str()));
        let mut d = Diagnostic::error("E0101", format!("unknown event type `{event_type}`"));
        d = d.with_help(crate::check::phrase(&close).unwrap_or_else(|| "see `flow events`".into()));
        print_plain(&d, None);
        return 2;
    };
    let Some(mut object) = ev.object.clone().filter(|o| lib.object(o).is_some()) else {
        println!("{event_type}: data.object is dynamic JSON (no schema)");
        return 0;
    };
    if let Some(p) = path {
        for seg in p.split('.') {
            let def = lib.object(&object);
            match def.and_then(|d| d.field(seg)).map(|f| &f.ty) {
                Some(FieldType::Object(o)) => object = o.clone(),
                Some(FieldType::Ref(o)) if lib.object(o).is_some() => object = o.clone(),
                _ => {
                    print_plain(
                        &Diagnostic::error(
                            "E0102",
                            format!("`{p}` is not an object field of {object}"),
                        )
                        .with_help(format!("run `flow fields {event_type}` to see the fields")),
                        None,
                    );
                    return 2;
                }
            }
        }
    }
    if let Some(def) = lib.object(&object) {
        println!("{object}");
        for f in &def.fields {
            println!("  {:<34} {}", f.name, describe_field_type(&object, f));
        }
    }
    0
}
