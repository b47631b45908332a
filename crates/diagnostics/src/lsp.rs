//! Diagnostics as the Language Server Protocol has them (`lsp-types`), for
//! `flow check --format json` and editors: ranges in UTF-16 code units, the code,
//! the help appended to the message, secondary labels as related information.

use std::path::Path;

use lsp_types::{
    DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, Position,
    PublishDiagnosticsParams, Range, Uri,
};

use flow_syntax::{Diagnostic, Severity, SourceFile, Span};

/// The `file://` URI of a path (made absolute when it exists), percent-encoded.
pub fn file_uri(path: &Path) -> String {
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

fn uri(path: &Path) -> Uri {
    let text = file_uri(path);
    text.parse()
        .unwrap_or_else(|_| "file:///".parse().unwrap_or_else(|_| unreachable!()))
}

fn position(source: &SourceFile, offset: u32) -> Position {
    let (line, character) = source.lsp_position(offset);
    Position::new(line as u32, character as u32)
}

/// The LSP range of a span.
pub fn range(source: &SourceFile, span: Span) -> Range {
    Range::new(position(source, span.start), position(source, span.end))
}

/// One LSP diagnostic.
pub fn diagnostic(d: &Diagnostic, source: &SourceFile) -> lsp_types::Diagnostic {
    let span = d.primary_span().unwrap_or_default();
    let severity = match d.severity {
        Severity::Error => DiagnosticSeverity::ERROR,
        Severity::Warning => DiagnosticSeverity::WARNING,
        Severity::Note => DiagnosticSeverity::INFORMATION,
    };
    let mut message = d.message.clone();
    if let Some(h) = &d.help {
        message.push_str(&format!("\nhelp: {h}"));
    }
    let related: Vec<DiagnosticRelatedInformation> = d
        .labels
        .iter()
        .filter(|l| !l.primary)
        .map(|l| DiagnosticRelatedInformation {
            location: Location::new(uri(Path::new(&source.name)), range(source, l.span)),
            message: l.message.clone(),
        })
        .collect();
    lsp_types::Diagnostic {
        range: range(source, span),
        severity: Some(severity),
        code: Some(NumberOrString::String(d.code.to_string())),
        source: Some("flow".into()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        ..lsp_types::Diagnostic::default()
    }
}

/// The diagnostics of one file, as `textDocument/publishDiagnostics` sends them.
pub fn publish(
    path: &Path,
    source: &SourceFile,
    diagnostics: &[Diagnostic],
) -> PublishDiagnosticsParams {
    PublishDiagnosticsParams {
        uri: uri(path),
        diagnostics: diagnostics.iter().map(|d| diagnostic(d, source)).collect(),
        version: None,
    }
}

/// A problem with a file that has no source to point into (it could not be read):
/// reported at its first character.
pub fn publish_unreadable(path: &Path, d: &Diagnostic) -> PublishDiagnosticsParams {
    PublishDiagnosticsParams {
        uri: uri(path),
        diagnostics: vec![lsp_types::Diagnostic {
            range: Range::default(),
            severity: Some(DiagnosticSeverity::ERROR),
            code: Some(NumberOrString::String(d.code.to_string())),
            source: Some("flow".into()),
            message: d.message.clone(),
            ..lsp_types::Diagnostic::default()
        }],
        version: None,
    }
}
