//! `flow test`: find the `test "…" { … }` items of flow files, run each on the
//! workflows it tests, and report every failure against the `expect` at fault.
//!
//! Tests live beside the workflows: in the same file, or in `NAME.test.flow` beside
//! `NAME.flow` (whose workflows it then runs). A test's event runs every workflow
//! the event triggers, with the recording bindings (nothing leaves the machine).

#![forbid(unsafe_code)]

pub mod coverage;
pub mod expect;

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use flow_bindings::Recording;
use flow_check::test_case::{ExpectedStatus, TExpectKind, TTest};
use flow_diagnostics::{self as diagnostics, Diagnostic};
use flow_program::{Op, Program};

pub use coverage::Coverage;
use expect::{Actual, Line};
use flow_syntax::{SourceFile, Span};
use flow_vm::{self as vm, Event, RunReport, Status};

/// How many tests passed and failed, and how many a filter left out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub filtered_out: usize,
}

/// How results are written: for people, one JSON object a line, or JUnit XML.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    Text,
    Json,
    Junit,
}

/// The name under which errors are reported that stop a whole file's tests when the
/// tests' own names are unknown (in the JSON and JUnit formats).
pub const FILE_ERRORS: &str = "(the tests could not be read)";

/// One failure as the JSON and JUnit formats report it.
#[derive(Clone, Debug)]
struct Reported {
    code: &'static str,
    message: String,
    /// 1-based line and column in the file, when known.
    position: Option<(usize, usize)>,
    /// The whole failure as plain text (diagnostic, diff and notes).
    text: String,
}

/// One test's result, kept for the JUnit report.
#[derive(Clone, Debug)]
struct Record {
    file: String,
    name: String,
    failures: Vec<Reported>,
}

/// One failure: a diagnostic pointing into the test file, and the lines shown under it.
#[derive(Clone, Debug)]
pub struct Failure {
    pub diagnostic: Diagnostic,
    pub lines: Vec<Line>,
    pub notes: Vec<String>,
}

impl Failure {
    fn new(diagnostic: Diagnostic) -> Failure {
        Failure {
            diagnostic,
            lines: Vec::new(),
            notes: Vec::new(),
        }
    }
}

/// Where output goes, whether it is coloured, its format, and which tests run.
pub struct Printer<'a> {
    pub out: &'a mut dyn Write,
    pub color: bool,
    /// How results are written (default: text).
    pub format: Format,
    /// Run only the tests whose name contains this text.
    pub filter: Option<String>,
    /// `--coverage`: the outcomes of conditions the tests took, reported at the end.
    pub coverage: Option<Coverage>,
    records: Vec<Record>,
}

impl<'a> Printer<'a> {
    /// A text printer running every test.
    pub fn new(out: &'a mut dyn Write, color: bool) -> Printer<'a> {
        Printer {
            out,
            color,
            format: Format::Text,
            filter: None,
            coverage: None,
            records: Vec::new(),
        }
    }

    /// Whether the filter keeps the test of this name.
    fn selects(&self, name: &str) -> bool {
        self.filter.as_deref().is_none_or(|f| name.contains(f))
    }

    /// A test's result: printed as text, written as a JSON line, or kept for JUnit.
    fn test_result(
        &mut self,
        file: &str,
        name: &str,
        failures: &[Failure],
        source: &Arc<SourceFile>,
    ) {
        match self.format {
            Format::Text => {
                self.result(file, name, failures.is_empty());
                for f in failures {
                    self.failure(f, source);
                }
            }
            _ => {
                let reported = failures.iter().map(|f| reported(f, Some(source))).collect();
                self.record(file, name, reported);
            }
        }
    }

    fn record(&mut self, file: &str, name: &str, failures: Vec<Reported>) {
        let record = Record {
            file: file.to_string(),
            name: name.to_string(),
            failures,
        };
        match self.format {
            Format::Text => {}
            Format::Json => {
                let _ = writeln!(self.out, "{}", json_line(&record));
            }
            Format::Junit => self.records.push(record),
        }
    }

    /// Errors that stop a file's tests from running: each selected test fails with
    /// them. Returns how many tests failed (at least one when no names are known).
    fn file_errors(
        &mut self,
        file: &str,
        names: &[&str],
        header: Option<String>,
        errors: &[&Diagnostic],
        source: Option<&Arc<SourceFile>>,
        summary: &mut Summary,
    ) {
        let selected: Vec<&str> = names.iter().copied().filter(|n| self.selects(n)).collect();
        summary.filtered_out += names.len() - selected.len();
        if !names.is_empty() && selected.is_empty() {
            return;
        }
        summary.failed += selected.len().max(1);
        match self.format {
            Format::Text => {
                if let Some(h) = header {
                    let _ = writeln!(self.out, "{h}");
                }
                for d in errors {
                    self.diagnostic(d, source);
                }
            }
            _ => {
                let reported: Vec<Reported> = errors
                    .iter()
                    .map(|d| reported(&Failure::new((*d).clone()), source))
                    .collect();
                if selected.is_empty() {
                    self.record(file, FILE_ERRORS, reported);
                } else {
                    for n in selected {
                        self.record(file, n, reported.clone());
                    }
                }
            }
        }
    }

    /// The end: the summary line, or the JUnit report.
    fn finish(&mut self, summary: &Summary) {
        match self.format {
            Format::Text => {
                let mut line = format!("{} passed, {} failed", summary.passed, summary.failed);
                if self.filter.is_some() {
                    line.push_str(&format!(" ({} filtered out)", summary.filtered_out));
                }
                let _ = writeln!(self.out, "{line}");
                if let Some(c) = &self.coverage {
                    let _ = write!(self.out, "{}", c.to_text());
                }
            }
            Format::Json => {
                let line = serde_json::json!({
                    "summary": {
                        "passed": summary.passed,
                        "failed": summary.failed,
                        "filtered_out": summary.filtered_out,
                    }
                });
                let _ = writeln!(self.out, "{line}");
                if let Some(c) = &self.coverage {
                    let _ = writeln!(self.out, "{}", c.to_json());
                }
            }
            Format::Junit => {
                let report = junit(&self.records);
                let _ = write!(self.out, "{report}");
                // The XML stays a JUnit report: coverage goes to stderr.
                if let Some(c) = &self.coverage {
                    eprint!("{}", c.to_text());
                }
            }
        }
    }

    fn diagnostic(&mut self, d: &Diagnostic, source: Option<&Arc<SourceFile>>) {
        let text = match source {
            Some(s) => diagnostics::render(d, s, self.color),
            None => diagnostics::render_plain(d),
        };
        let _ = write!(self.out, "{text}");
    }

    fn failure(&mut self, f: &Failure, source: &Arc<SourceFile>) {
        self.diagnostic(&f.diagnostic, Some(source));
        if !f.lines.is_empty() {
            let _ = writeln!(self.out, "  expected (-) and actual (+) actions:");
            for l in &f.lines {
                let (mark, text, code) = match l {
                    Line::Same(t) => (' ', t, None),
                    Line::Expected(t) => ('-', t, Some("31")),
                    Line::Actual(t) => ('+', t, Some("32")),
                };
                match (code, self.color) {
                    (Some(c), true) => {
                        let _ = writeln!(self.out, "  \x1b[{c}m{mark} {text}\x1b[0m");
                    }
                    _ => {
                        let _ = writeln!(self.out, "  {mark} {text}");
                    }
                }
            }
        }
        for n in &f.notes {
            let _ = writeln!(self.out, "  {n}");
        }
        let _ = writeln!(self.out);
    }

    fn result(&mut self, file: &str, name: &str, ok: bool) {
        let word = match (ok, self.color) {
            (true, true) => "\x1b[32mok\x1b[0m",
            (true, false) => "ok",
            (false, true) => "\x1b[1;31mFAILED\x1b[0m",
            (false, false) => "FAILED",
        };
        let _ = writeln!(self.out, "test {file}: {name} ... {word}");
    }
}

/// Run the tests found under `paths` (files, or folders searched recursively) and
/// print a line per test, each failure, and `N passed, M failed`.
/// `now` is what `now` is in every test's runs; `None`: each test's event's
/// `created`, so that a test gives the same result whenever it runs.
pub fn run_paths(paths: &[PathBuf], printer: &mut Printer<'_>, now: Option<i64>) -> Summary {
    let mut summary = Summary::default();
    let mut files = Vec::new();
    for p in paths {
        if !p.exists() {
            let d = Diagnostic::error(
                "E0901",
                format!("cannot read {}: no such file or folder", p.display()),
            )
            .with_help("give flow files, or folders to search for them");
            printer.file_errors(
                &p.display().to_string(),
                &[],
                None,
                &[&d],
                None,
                &mut summary,
            );
            continue;
        }
        files.extend(flow_project::walk::flow_files_lenient(
            std::slice::from_ref(p),
        ));
    }
    let mut seen = HashSet::new();
    files.retain(|f| seen.insert(std::fs::canonicalize(f).unwrap_or_else(|_| f.clone())));
    for f in &files {
        run_file(f, printer, &mut summary, now);
    }
    if summary.passed + summary.failed == 0 {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        let note = match &printer.filter {
            Some(f) if summary.filtered_out > 0 => format!(
                "error: no test name contains {f:?} ({} tests filtered out)",
                summary.filtered_out
            ),
            _ => format!(
                "no tests found in {} (tests are `test \"name\" {{ given …  expect … }}` items in .flow files)",
                shown.join(", ")
            ),
        };
        // The JSON and JUnit outputs stay machine-readable: notes go to stderr, as does
        // the error of a filter that matches nothing.
        if printer.format == Format::Text && summary.filtered_out == 0 {
            let _ = writeln!(printer.out, "{note}");
        } else {
            eprintln!("{note}");
        }
    }
    printer.finish(&summary);
    summary
}

/// A built flow file.
type Built = flow_project::LoadedFile;

fn build_file(path: &Path) -> Result<Built, Diagnostic> {
    flow_project::build_file(path)
}

/// Whether a source seems to hold tests, even if they did not parse.
fn mentions_tests(text: &str) -> bool {
    text.lines().any(|l| {
        l.strip_prefix("test")
            .is_some_and(|r| r.starts_with([' ', '\t', '"']))
    })
}

fn run_file(path: &Path, printer: &mut Printer<'_>, summary: &mut Summary, now: Option<i64>) {
    let shown = path.display().to_string();
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let subject_path = file_name
        .strip_suffix(".test.flow")
        .map(|stem| path.with_file_name(format!("{stem}.flow")));
    // The custom actions the tested file declares can be expected here too.
    let built = match flow_project::build_file(path) {
        Ok(b) => b,
        Err(d) => {
            if subject_path.is_some() {
                printer.file_errors(&shown, &[], None, &[&d], None, summary);
            }
            return;
        }
    };
    let tests = &built.build.checked.tests;
    let test_names: Vec<&str> = tests.iter().map(|t| t.name.as_str()).collect();
    let is_test_file = subject_path.is_some();
    if let (Some(c), false) = (printer.coverage.as_mut(), built.build.has_errors()) {
        // Every workflow of the files tested counts, whether or not a test runs it.
        for p in &built.build.compiled.programs {
            c.register(p, &built.source);
        }
    }
    if tests.is_empty() && !(is_test_file || mentions_tests(&built.source.text)) {
        return;
    }
    // The test file itself must be free of errors.
    if built.build.has_errors() {
        let errors = built.build.errors();
        printer.file_errors(
            &shown,
            &test_names,
            Some(format!(
                "{shown}: the tests cannot run: fix these errors first"
            )),
            &errors,
            Some(&built.source),
            summary,
        );
        return;
    }
    // The workflows under test: those of NAME.flow for NAME.test.flow, and the file's own.
    let subject = match &subject_path {
        None => None,
        Some(sp) if !sp.exists() => {
            let d = Diagnostic::error(
                "E0801",
                format!("{shown} tests {}, which does not exist", sp.display()),
            )
            .with_help("NAME.test.flow holds the tests of NAME.flow beside it");
            printer.file_errors(&shown, &test_names, None, &[&d], None, summary);
            return;
        }
        Some(sp) => match build_file(sp) {
            Ok(b) if !b.build.has_errors() => Some(b),
            Ok(b) => {
                let errors = b.build.errors();
                printer.file_errors(
                    &shown,
                    &test_names,
                    Some(format!(
                        "{}: the tests in {shown} cannot run: fix these errors first",
                        sp.display()
                    )),
                    &errors,
                    Some(&b.source),
                    summary,
                );
                return;
            }
            Err(d) => {
                printer.file_errors(&shown, &test_names, None, &[&d], None, summary);
                return;
            }
        },
    };
    let mut programs: Vec<(&Program, &Arc<SourceFile>)> = Vec::new();
    let mut names = Vec::new();
    for b in subject.iter().chain(std::iter::once(&built)) {
        for p in &b.build.compiled.programs {
            programs.push((p, &b.source));
            if let Some(c) = printer.coverage.as_mut() {
                c.register(p, &b.source);
            }
        }
        names.push(b.source.name.clone());
    }
    for t in tests {
        if !printer.selects(&t.name) {
            summary.filtered_out += 1;
            continue;
        }
        let failures = run_test(
            t,
            &programs,
            &names,
            &built.source,
            now,
            printer.coverage.as_mut(),
        );
        if failures.is_empty() {
            summary.passed += 1;
        } else {
            summary.failed += 1;
        }
        printer.test_result(&shown, &t.name, &failures, &built.source);
    }
}

/// A failure as the JSON and JUnit formats report it.
fn reported(f: &Failure, source: Option<&Arc<SourceFile>>) -> Reported {
    let d = &f.diagnostic;
    let position = source
        .zip(d.primary_span())
        .map(|(s, span)| s.line_col(span.start));
    let mut text = diagnostics::render_plain(d);
    if let Some((line, column)) = position {
        if let Some(s) = source {
            text.push_str(&format!("  at {}:{line}:{column}\n", s.name));
        }
    }
    if !f.lines.is_empty() {
        text.push_str("  expected (-) and actual (+) actions:\n");
        for l in &f.lines {
            let (mark, t) = match l {
                Line::Same(t) => (' ', t),
                Line::Expected(t) => ('-', t),
                Line::Actual(t) => ('+', t),
            };
            text.push_str(&format!("  {mark} {t}\n"));
        }
    }
    for n in &f.notes {
        text.push_str(&format!("  {n}\n"));
    }
    Reported {
        code: d.code,
        message: d.message.clone(),
        position,
        text,
    }
}

/// A test's result as one line of JSON.
fn json_line(r: &Record) -> String {
    let failures: Vec<serde_json::Value> = r
        .failures
        .iter()
        .map(|f| {
            serde_json::json!({
                "code": f.code,
                "message": f.message,
                "line": f.position.map(|p| p.0),
                "column": f.position.map(|p| p.1),
            })
        })
        .collect();
    serde_json::json!({
        "file": r.file,
        "name": r.name,
        "status": if r.failures.is_empty() { "passed" } else { "failed" },
        "failures": failures,
    })
    .to_string()
}

/// Text made safe for XML 1.0 content and attribute values: the markup characters
/// are escaped, and characters XML cannot carry become U+FFFD.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Kept exactly in attribute values too (which would otherwise turn them into spaces).
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Text made safe for XML 1.0 element content: like [`xml_escape`], but line breaks
/// and tabs stay as they are.
fn xml_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\t' => out.push(c),
            '\r' => out.push_str("&#13;"),
            c => out.push_str(&xml_escape(c.encode_utf8(&mut [0; 4]))),
        }
    }
    out
}

/// The JUnit XML report: a `<testsuite>` per file, in the order the files ran.
fn junit(records: &[Record]) -> String {
    let mut files: Vec<&str> = Vec::new();
    for r in records {
        if !files.contains(&r.file.as_str()) {
            files.push(&r.file);
        }
    }
    let failed = records.iter().filter(|r| !r.failures.is_empty()).count();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str(&format!(
        "<testsuites name=\"flow test\" tests=\"{}\" failures=\"{failed}\" errors=\"0\">\n",
        records.len()
    ));
    for file in files {
        let suite: Vec<&Record> = records.iter().filter(|r| r.file == file).collect();
        let suite_failed = suite.iter().filter(|r| !r.failures.is_empty()).count();
        let file = xml_escape(file);
        x.push_str(&format!(
            "  <testsuite name=\"{file}\" tests=\"{}\" failures=\"{suite_failed}\" errors=\"0\">\n",
            suite.len()
        ));
        for r in suite {
            let name = xml_escape(&r.name);
            if r.failures.is_empty() {
                x.push_str(&format!(
                    "    <testcase name=\"{name}\" classname=\"{file}\"/>\n"
                ));
                continue;
            }
            x.push_str(&format!(
                "    <testcase name=\"{name}\" classname=\"{file}\">\n"
            ));
            for f in &r.failures {
                x.push_str(&format!(
                    "      <failure message=\"{}\" type=\"{}\">{}</failure>\n",
                    xml_escape(&f.message),
                    f.code,
                    xml_text(&f.text)
                ));
            }
            x.push_str("    </testcase>\n");
        }
        x.push_str("  </testsuite>\n");
    }
    x.push_str("</testsuites>\n");
    x
}

/// Run one test; every failure found.
pub fn run_test(
    t: &TTest,
    programs: &[(&Program, &Arc<SourceFile>)],
    files: &[String],
    source: &Arc<SourceFile>,
    now: Option<i64>,
    mut coverage: Option<&mut Coverage>,
) -> Vec<Failure> {
    let Some(given) = &t.given else {
        return vec![Failure::new(
            Diagnostic::error("E0802", "this test cannot run: its `given` has errors")
                .with_label(t.name_span, "see the errors above"),
        )];
    };
    let mut event = match Event::from_json(given.event.clone(), None) {
        Ok(e) => e,
        Err(msg) => {
            return vec![Failure::new(
                Diagnostic::error("E0802", format!("the given event is not usable: {msg}"))
                    .with_label(given.span, "this event"),
            )]
        }
    };
    event.strict = given.strict;
    event.now = Some(now.or_else(|| event.created()).unwrap_or(0));
    let mut bindings = Recording::new();
    for o in &given.objects {
        bindings.add(o.clone());
    }
    for (method, answer) in &t.answers {
        bindings.answer(method, answer.clone());
    }
    let at = event.now.unwrap_or(0);
    let matching: Vec<_> = programs
        .iter()
        .filter(|(p, _)| p.trigger == given.event_type && has_slot(p, at))
        .collect();
    if matching.is_empty() && given.event_type == flow_program::SCHEDULE {
        let slots: Vec<String> = programs
            .iter()
            .filter_map(|(p, _)| {
                let sched = p.schedule.as_ref()?.schedule()?;
                let next = sched.next_after(at)?;
                Some(format!(
                    "\"{}\" next at {}",
                    p.name,
                    vm::value::format_timestamp(next)
                ))
            })
            .collect();
        return vec![Failure::new(
            Diagnostic::error(
                "E0803",
                format!(
                    "no scheduled workflow in {} has a slot at {}",
                    files.join(" or "),
                    vm::value::format_timestamp(at)
                ),
            )
            .with_label(given.span, "no workflow runs at this time")
            .with_help(if slots.is_empty() {
                "there are no scheduled workflows to test".to_string()
            } else {
                format!("give the time of a slot: {}", slots.join("; "))
            }),
        )];
    }
    if matching.is_empty() {
        let mut triggers: Vec<&str> = programs.iter().map(|(p, _)| p.trigger.as_str()).collect();
        triggers.dedup();
        return vec![Failure::new(
            Diagnostic::error(
                "E0803",
                format!(
                    "no workflow in {} is triggered by `{}`",
                    files.join(" or "),
                    given.event_type
                ),
            )
            .with_label(given.span, "this event triggers nothing")
            .with_help(if triggers.is_empty() {
                "there are no workflows to test".to_string()
            } else {
                format!("the workflows are triggered by {}", triggers.join(", "))
            }),
        )];
    }
    let reports: Vec<RunReport> = matching
        .iter()
        .map(|(p, s)| match coverage.as_deref_mut() {
            Some(c) => {
                let (report, visits) = vm::run_counted(p, s, &event, &mut bindings);
                c.record(p, s, &visits);
                report
            }
            None => vm::run(p, s, &event, &mut bindings),
        })
        .collect();
    // A field read that the partial object does not set: the test itself is incomplete.
    if let Some(err) = reports
        .iter()
        .filter(|r| r.code == Some(vm::RunCode::NotSet))
        .find_map(|r| r.error.as_deref())
    {
        let (field, location) = split_not_set(err);
        let owner = not_set_where(err);
        let key = field.rsplit('.').next().unwrap_or(&field);
        let label = if owner == "the given event" {
            format!("add `{key}: …` to this object")
        } else {
            format!("add `{key}: …` to {owner}")
        };
        return vec![Failure::new(
            Diagnostic::error(
                "E0804",
                format!("the workflow reads `{field}`, which {owner} does not set"),
            )
            .with_label(given.span, label)
            .with_help(format!(
                "read at {location}; give the field the value the test needs, or `null` if the event has none (a missing field is never read as null in a test)"
            )),
        )];
    }
    let status = if reports.iter().any(|r| r.status == Status::Failed) {
        Status::Failed
    } else if reports.iter().any(|r| r.status == Status::Succeeded) {
        Status::Succeeded
    } else {
        Status::Skipped
    };
    let error = reports.iter().find_map(|r| r.error.clone());
    // Why a run was skipped: its `when` condition, quoted from the workflow.
    let skipped_why = matching
        .iter()
        .zip(&reports)
        .find(|(_, r)| r.status == Status::Skipped)
        .map(|((p, s), _)| {
            let at = p.code.iter().position(|op| matches!(op, Op::Skip));
            match at.and_then(|i| p.spans.get(i)) {
                Some(span) => format!(
                    "the run was skipped: `when {}` ({}) is false for this event",
                    s.slice(*span),
                    s.location(*span)
                ),
                None => "the run was skipped: the `when` condition is false for this event".into(),
            }
        });
    let actual: Vec<Actual> = reports
        .iter()
        .flat_map(|r| {
            r.actions.iter().map(|a| Actual {
                workflow: r.workflow.clone(),
                action: a.clone(),
            })
        })
        .collect();
    let all_lines = || -> Vec<Line> {
        actual
            .iter()
            .map(|a| Line::Actual(expect::show_actual(a)))
            .collect()
    };
    let mut failures = Vec::new();
    let mut status_expected = false;
    for e in &t.expects {
        let fail = |message: String, label: &str| {
            Diagnostic::error("E0805", message).with_label(e.span, label.to_string())
        };
        match &e.kind {
            TExpectKind::Status {
                status: want,
                message,
            } => {
                status_expected = true;
                let got = match status {
                    // Waits pass at once in tests: a run never ends waiting there.
                    Status::Succeeded | Status::Waiting => ExpectedStatus::Succeeded,
                    Status::Failed => ExpectedStatus::Failed,
                    Status::Skipped => ExpectedStatus::Skipped,
                };
                if got != *want {
                    let mut d = fail(
                        format!(
                            "expected the run to {}, but it {}",
                            match want {
                                ExpectedStatus::Succeeded => "succeed",
                                ExpectedStatus::Failed => "fail",
                                ExpectedStatus::Skipped => "be skipped",
                            },
                            describe_status(status)
                        ),
                        "expected here",
                    );
                    if let Some(err) = &error {
                        d = d.with_help(format!("the run failed: {err}"));
                    } else if let Some(why) = &skipped_why {
                        d = d.with_help(why.clone());
                    }
                    failures.push(Failure {
                        lines: all_lines(),
                        ..Failure::new(d)
                    });
                } else if let (Some(m), Some(err)) = (message, &error) {
                    if !err.contains(m.as_str()) {
                        failures.push(Failure::new(
                            fail(
                                format!("the run failed, but not with \"{m}\""),
                                "expected this in the error",
                            )
                            .with_help(format!("the error is: {err}")),
                        ));
                    }
                }
            }
            TExpectKind::No { kind } => {
                let bad: Vec<&Actual> = actual
                    .iter()
                    .filter(|a| match kind {
                        Some(k) => a.action.kind() == *k,
                        None => a.is_side_effect(),
                    })
                    .collect();
                if !bad.is_empty() {
                    let what = kind.unwrap_or("actions");
                    let d = fail(
                        format!(
                            "expected no {what}, but the run made {}",
                            count_words(bad.len(), kind.unwrap_or("action"))
                        ),
                        "expected here",
                    );
                    failures.push(Failure {
                        lines: bad
                            .iter()
                            .map(|a| Line::Actual(expect::show_actual(a)))
                            .collect(),
                        ..Failure::new(d)
                    });
                }
            }
            TExpectKind::Action(a) => {
                let want = match expect::want(a, &event, source) {
                    Ok(w) => w,
                    Err((span, m)) => {
                        failures.push(cannot_compute(span, &m));
                        continue;
                    }
                };
                if !actual.iter().any(|x| want.matches(x)) {
                    let same_kind: Vec<(&Actual, Vec<expect::Difference>)> = actual
                        .iter()
                        .filter_map(|x| want.differences(x).map(|d| (x, d)))
                        .collect();
                    let message = if same_kind.is_empty() {
                        format!("expected {}, but the run made none", a_kind(want.kind()))
                    } else {
                        format!(
                            "expected {}, but no {} the run made matches",
                            a_kind(want.kind()),
                            want.kind()
                        )
                    };
                    let mut lines = vec![Line::Expected(want.show())];
                    lines.extend(all_lines());
                    let mut notes = Vec::new();
                    if let Some((_, diffs)) = same_kind.iter().min_by_key(|(_, d)| d.len()) {
                        for (name, wanted, found) in diffs {
                            notes.push(format!("`{name}`: expected {wanted}, found {found}"));
                        }
                    }
                    let mut d = fail(message, "expected here");
                    if let Some(err) = &error {
                        d = d.with_help(format!("the run failed: {err}"));
                    } else if let Some(why) = &skipped_why {
                        d = d.with_help(why.clone());
                    }
                    failures.push(Failure {
                        diagnostic: d,
                        lines,
                        notes,
                    });
                }
            }
            TExpectKind::Actions(list) => {
                let mut wants = Vec::new();
                let mut ok = true;
                for a in list {
                    match expect::want(a, &event, source) {
                        Ok(w) => wants.push(w),
                        Err((span, m)) => {
                            failures.push(cannot_compute(span, &m));
                            ok = false;
                        }
                    }
                }
                if !ok {
                    continue;
                }
                let effects: Vec<&Actual> = actual.iter().filter(|a| a.is_side_effect()).collect();
                let lines = expect::diff(&wants, &effects);
                if lines.iter().any(|l| !matches!(l, Line::Same(_))) {
                    let message = if wants.len() == effects.len() {
                        format!(
                            "the run made {}, but not the ones expected",
                            count_words(effects.len(), "action")
                        )
                    } else {
                        format!(
                            "expected exactly {}, but the run made {}",
                            count_words(wants.len(), "action"),
                            count_words(effects.len(), "action")
                        )
                    };
                    let mut d = fail(message, "expected these actions, in this order");
                    if let Some(err) = &error {
                        d = d.with_help(format!("the run failed: {err}"));
                    } else if let Some(why) = &skipped_why {
                        d = d.with_help(why.clone());
                    }
                    failures.push(Failure {
                        lines,
                        ..Failure::new(d)
                    });
                }
            }
        }
    }
    if !status_expected && status == Status::Failed {
        let err = error.unwrap_or_default();
        failures.insert(
            0,
            Failure {
                lines: all_lines(),
                ..Failure::new(
                    Diagnostic::error("E0806", format!("the run failed: {err}"))
                        .with_label(t.name_span, "in this test")
                        .with_help("if the failure is what should happen, say so: `expect failed`"),
                )
            },
        );
    }
    failures
}

fn cannot_compute(span: Span, message: &str) -> Failure {
    Failure::new(
        Diagnostic::error(
            "E0807",
            format!("cannot compute the expected value: {message}"),
        )
        .with_label(span, "this value")
        .with_help("expected values are computed on the test's event; write the value itself"),
    )
}

fn describe_status(s: Status) -> &'static str {
    match s {
        Status::Succeeded => "succeeded",
        Status::Failed => "failed",
        Status::Skipped => "was skipped",
        Status::Waiting => "is waiting",
    }
}

fn a_kind(kind: &str) -> String {
    match kind {
        "email" => "an email".into(),
        "update" => "an update".into(),
        other => format!("a {other}"),
    }
}

fn count_words(n: usize, what: &str) -> String {
    match n {
        0 => format!("no {what}s"),
        1 => format!("1 {what}"),
        n => format!("{n} {what}s"),
    }
}

/// From "file:3:9: `customer` is not set in the test's event": the field and the place.
fn split_not_set(err: &str) -> (String, String) {
    let at = err.find(vm::NOT_SET).unwrap_or(err.len());
    let head = &err[..at];
    let field_start = head.rfind(": `").map_or(0, |i| i + 3);
    let field = head[field_start..].trim_matches('`').to_string();
    let location = head[..field_start.saturating_sub(3)].to_string();
    (field, location)
}

/// "the given event", or "the given charge ch_1" for an object given for `retrieve`.
fn not_set_where(err: &str) -> String {
    let at = err.find(vm::NOT_SET).map_or(0, |i| i + vm::NOT_SET.len());
    format!("the given {}", &err[at..])
}

/// Whether a workflow runs at `at`: any workflow but a scheduled one, and that one
/// when `at` is one of its slots.
fn has_slot(p: &Program, at: i64) -> bool {
    match &p.schedule {
        None => true,
        Some(s) => s.schedule().is_some_and(|sched| sched.is_slot(at)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_set_errors_name_the_field_and_the_place() {
        let err = "my.flow:4:6: `customer` is not set in the test's event";
        assert_eq!(
            split_not_set(err),
            ("customer".to_string(), "my.flow:4:6".to_string())
        );
        assert_eq!(not_set_where(err), "the given event");
        let err = "my.flow:5:8: `amount` is not set in the test's charge ch_1";
        assert_eq!(not_set_where(err), "the given charge ch_1");
    }
}
