//! Diagnostics shared by every stage: a code, a message, labelled spans and help.
//!
//! Stages produce [`Diagnostic`] values; [`render`] turns them into miette reports
//! for the terminal, and `cli` turns them into LSP-shaped JSON.

use std::fmt;
use std::sync::Arc;

use crate::syntax::{SourceFile, Span};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
    Note,
}

#[derive(Clone, Debug)]
pub struct Label {
    pub span: Span,
    pub message: String,
    pub primary: bool,
}

#[derive(Clone, Debug)]
pub struct Diagnostic {
    pub severity: Severity,
    /// A stable code such as `E0201`; see the error index in `docs/diagnostics.md`.
    pub code: &'static str,
    pub message: String,
    pub labels: Vec<Label>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            labels: Vec::new(),
            help: None,
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    pub fn note(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Note,
            ..Diagnostic::error(code, message)
        }
    }

    /// The main label, on the exact span at fault.
    pub fn with_label(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            message: message.into(),
            primary: true,
        });
        self
    }

    /// A secondary label: a second place that explains the first.
    pub fn with_secondary(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            message: message.into(),
            primary: false,
        });
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    pub fn primary_span(&self) -> Option<Span> {
        self.labels
            .iter()
            .find(|l| l.primary)
            .or(self.labels.first())
            .map(|l| l.span)
    }
}

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
    stream_is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
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

pub fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}
