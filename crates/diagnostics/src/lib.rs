//! How diagnostics reach people and editors. Every stage produces
//! [`Diagnostic`] values (a code, a message, labelled spans, help); [`render`]
//! draws one for a terminal (through miette, rustc's layout), [`render_plain`] one
//! that has no source to show, and [`lsp`] turns them into the Language Server
//! Protocol's shape. [`codes`] is the registry of every code.

#![forbid(unsafe_code)]

pub mod codes;
pub mod lsp;

use std::fmt;
use std::sync::Arc;

pub use flow_syntax::{Diagnostic, Label, Severity, SourceFile, Span};

/// A diagnostic together with the file it points into: what miette renders.
#[derive(Debug)]
pub struct Report {
    pub diagnostic: Diagnostic,
    pub source: Arc<SourceFile>,
    window: Window,
}

impl Report {
    pub fn new(diagnostic: Diagnostic, source: Arc<SourceFile>) -> Report {
        let window = Window(source.clone());
        Report {
            diagnostic,
            source,
            window,
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Note => miette::Severity::Advice,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.diagnostic
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        if self.diagnostic.labels.is_empty() {
            None
        } else {
            Some(&self.window)
        }
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        if self.diagnostic.labels.is_empty() {
            return None;
        }
        let max = self.source.text.len();
        Some(Box::new(self.diagnostic.labels.iter().map(move |l| {
            let start = (l.span.start as usize).min(max);
            let len = l.span.len().min(max - start);
            let text = if l.message.is_empty() {
                None
            } else {
                Some(l.message.clone())
            };
            if l.primary {
                miette::LabeledSpan::new_primary_with_span(text, (start, len))
            } else {
                miette::LabeledSpan::new_with_span(text, (start, len))
            }
        })))
    }
}

/// The source as miette reads it: only the lines around a span are handed over, so
/// that rendering a diagnostic costs the same in a ten-line file and a huge one.
#[derive(Debug)]
struct Window(Arc<SourceFile>);

impl miette::SourceCode for Window {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let src = &self.0;
        let start = span.offset().min(src.text.len());
        let end = (span.offset() + span.len()).min(src.text.len()).max(start);
        let first = src.line_of(start as u32);
        let last = src.line_of(end as u32);
        // Two lines of margin: miette looks one character past the context it shows.
        let range = src.line_range(first.saturating_sub(before + 2), last + after + 2);
        let piece = &src.text[range.clone()];
        let local = miette::SourceSpan::new((start - range.start).into(), end - start);
        let inner = piece.read_span(&local, before, after)?;
        let first_line = src.line_of(range.start as u32);
        let offset = range.start + inner.span().offset();
        Ok(Box::new(miette::MietteSpanContents::new_named(
            src.name.clone(),
            inner.data(),
            miette::SourceSpan::new(offset.into(), inner.span().len()),
            inner.line() + first_line,
            inner.column(),
            inner.line_count(),
        )))
    }
}

/// Whether to colour output: only on a terminal, and never when `NO_COLOR` is set.
pub fn use_color(stream_is_terminal: bool) -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    match COLOR.get().copied().unwrap_or(ColorChoice::Auto) {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto if set("NO_COLOR") => false,
        ColorChoice::Auto if set("CLICOLOR_FORCE") => {
            std::env::var_os("CLICOLOR_FORCE").is_some_and(|v| v != "0")
        }
        ColorChoice::Auto => stream_is_terminal,
    }
}

/// Whether output is coloured: `--color auto|always|never`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set; `CLICOLOR_FORCE` (not `0`) forces it.
    Auto,
    Always,
    Never,
}

static COLOR: std::sync::OnceLock<ColorChoice> = std::sync::OnceLock::new();

/// Choose colour for the whole process (`--color`), once, before any output.
pub fn set_color(choice: ColorChoice) {
    let _ = COLOR.set(choice);
}

/// Render one diagnostic as rustc-like text: `error[E0201]: …`, then the source with
/// the span underlined and labelled (by miette), then `help: …`.
pub fn render(diagnostic: &Diagnostic, source: &Arc<SourceFile>, color: bool) -> String {
    let report = Report::new(diagnostic.clone(), source.clone());
    let theme = if color {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    let handler = miette::GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false);
    let mut body = String::new();
    let _ = handler.render_report(&mut body, &report);
    // miette opens with `× message`; the header below says it rustc's way, so keep
    // only what follows: the snippet and the help.
    let lines: Vec<&str> = body.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.contains('╭') || l.contains("help:"))
        .unwrap_or(lines.len());
    let word = severity_word(diagnostic.severity);
    let header = format!("{word}[{}]: {}", diagnostic.code, diagnostic.message);
    let header = if color {
        let code = match diagnostic.severity {
            Severity::Error => "1;31",
            Severity::Warning => "1;33",
            Severity::Note => "1;36",
        };
        format!(
            "\x1b[{code}m{word}[{}]\x1b[0m\x1b[1m: {}\x1b[0m",
            diagnostic.code, diagnostic.message
        )
    } else {
        header
    };
    let mut out = header;
    out.push('\n');
    if start == lines.len() {
        let location = diagnostic
            .primary_span()
            .map(|s| source.location(s))
            .unwrap_or_else(|| source.name.clone());
        out.push_str(&format!("  --> {location}\n"));
    }
    for l in &lines[start..] {
        out.push_str(l.trim_end());
        out.push('\n');
    }
    out
}

/// A diagnostic about something that is not a flow file (a missing file, bad JSON
/// without a position): the header and the help, with no snippet.
pub fn render_plain(d: &Diagnostic) -> String {
    let mut t = format!("{}[{}]: {}\n", severity_word(d.severity), d.code, d.message);
    if let Some(h) = &d.help {
        t.push_str(&format!("  help: {h}\n"));
    }
    t
}

pub fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}
