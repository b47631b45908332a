//! Reading a project's files, each failure as a diagnostic with a code and help:
//! flow sources, JSON events, `flow.toml`, Stripe objects for `--objects`; and
//! the one "read, load settings, build" that every command starts from.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value as Json;

use flow_bindings::Recording;
use flow_check::Loader;
use flow_syntax::{Diagnostic, SourceFile, Span};

use crate::settings::{self, Settings};

/// A flow file read, with its settings, and built.
pub struct LoadedFile {
    pub source: Arc<SourceFile>,
    pub settings: Settings,
    pub build: crate::Build,
}

/// Read a flow file and the `flow.toml` that applies to it, and build it. A test
/// file `NAME.test.flow` sees what its tests need of `NAME.flow` ([`Subject`]).
pub fn build_file(path: &Path) -> Result<LoadedFile, Diagnostic> {
    let source = read_source(path)?;
    let settings = load_settings(path)?;
    let env = flow_check::Env::new(flow_stdlib::builtin())
        .with_business(settings.business())
        .with_loader(&FsLoader);
    let build = crate::build_with_subject(&source, &env, &stem(path), &subject(path));
    Ok(LoadedFile {
        source,
        settings,
        build,
    })
}

/// What a test file `NAME.test.flow` sees of the file it tests, `NAME.flow` beside
/// it: the custom actions it declares, which the tests may expect, and the inputs of
/// its on-demand workflows, which the tests give and expect what is done with.
/// Empty for any other file, or when `NAME.flow` cannot be read.
#[derive(Clone, Debug, Default)]
pub struct Subject {
    pub actions: Vec<flow_syntax::ast::ActionDecl>,
    pub inputs: Vec<flow_syntax::ast::InputDecl>,
}

/// The [`Subject`] of the file at `path`: `NAME.flow` read and parsed once.
pub fn subject(path: &Path) -> Subject {
    let file = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(".test.flow"))
        .and_then(|stem| std::fs::read_to_string(path.with_file_name(format!("{stem}.flow"))).ok())
        .map(|text| flow_syntax::parse(&SourceFile::new("subject", text)).file);
    let Some(file) = file else {
        return Subject::default();
    };
    let inputs = file
        .workflows
        .into_iter()
        .flat_map(|w| match w.trigger {
            flow_syntax::ast::Trigger::Demand { inputs, .. } => inputs,
            _ => Vec::new(),
        })
        .collect();
    Subject {
        actions: file.actions,
        inputs,
    }
}

/// A flow file's text (E0901 when it cannot be read).
pub fn read_source(path: &Path) -> Result<Arc<SourceFile>, Diagnostic> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(SourceFile::new(path.display().to_string(), text)),
        Err(e) => Err(
            Diagnostic::error("E0901", format!("cannot read {}: {e}", path.display()))
                .with_help("check the path; flow files end in `.flow`"),
        ),
    }
}

/// The name of a file's workflows that have no `workflow "…"` line: its stem.
pub fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "workflow".into())
}

/// The settings that apply to a flow file or folder (E0902 when `flow.toml` is bad).
pub fn load_settings(path: &Path) -> Result<Settings, Diagnostic> {
    settings::load_for(Some(path)).map_err(|e| {
        Diagnostic::error("E0902", format!("invalid settings: {e}"))
            .with_help("flow.toml holds `[business]` with `default_currency = \"USD\"` and `dispute_fee = \"15.00 USD\"`, and `[stripe]`, `[email]`, `[slack]`, `[http]` and `[serve]` for live runs and the server (see README)")
    })
}

/// Read and parse a JSON file, with a diagnostic pointing into it on failure (the
/// source is returned with it, to render the span).
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

/// The recording bindings, answering `retrieve` from the `--objects` folder if given
/// (E0906 when it cannot be read).
pub fn recording(objects: Option<&Path>) -> Result<Recording, Diagnostic> {
    let mut recording = Recording::new();
    if let Some(dir) = objects {
        recording.load_dir(dir).map_err(|e| {
            Diagnostic::error("E0906", e)
                .with_help("--objects takes a folder of Stripe objects as .json files")
        })?;
    }
    Ok(recording)
}

/// Reads the files a test names from the disk, relative to the test's file.
#[derive(Clone, Copy, Debug, Default)]
pub struct FsLoader;

impl FsLoader {
    fn resolve(from: &SourceFile, path: &str) -> PathBuf {
        match Path::new(&from.name).parent() {
            Some(p) if !p.as_os_str().is_empty() => p.join(path),
            _ => PathBuf::from(".").join(path),
        }
    }
}

impl Loader for FsLoader {
    fn read(&self, from: &SourceFile, path: &str) -> Result<(String, String), String> {
        let full = Self::resolve(from, path);
        std::fs::read_to_string(&full)
            .map(|text| (full.display().to_string(), text))
            .map_err(|e| format!("cannot read {}: {e}", full.display()))
    }

    fn objects(&self, from: &SourceFile, path: &str) -> Result<Vec<Json>, String> {
        flow_bindings::load_objects(&Self::resolve(from, path))
    }
}
