//! Diagnostics as the Language Server Protocol has them (`lsp-types`), for
//! `flow check --format json` and `flow lsp`: ranges in UTF-16 code units, the code
//! with a link to its entry in the error index, the message followed by the primary
//! label's text ("did you mean `amount`?") and the help, secondary labels as related
//! information, and the did-you-mean names as `data.suggestions` for quick fixes.

use std::path::Path;

use lsp_types::{
    CodeDescription, DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString,
    Position, PublishDiagnosticsParams, Range, Uri,
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

/// Where the error index explains a code: `docs/diagnostics.md#e0102`, a reference
/// relative to the root of flow's repository (the index has one heading per code).
pub fn code_link(code: &str) -> String {
    format!("docs/diagnostics.md#{}", code.to_ascii_lowercase())
}

fn code_description(code: &str) -> Option<CodeDescription> {
    code_link(code)
        .parse()
        .ok()
        .map(|href| CodeDescription { href })
}

/// The names a label proposes: "did you mean `a`?", "did you mean `a`, `b` or `c`?".
pub fn suggestions(label: &str) -> Vec<String> {
    let Some(rest) = label.split("did you mean ").nth(1) else {
        return Vec::new();
    };
    rest.split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The text of the primary label, when it says more than the message.
fn primary_text(d: &Diagnostic) -> Option<&str> {
    d.labels
        .iter()
        .find(|l| l.primary)
        .map(|l| l.message.as_str())
        .filter(|m| !m.is_empty() && *m != d.message)
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
    let label = primary_text(d);
    if let Some(l) = label {
        message.push_str(&format!("\n{l}"));
    }
    if let Some(h) = &d.help {
        message.push_str(&format!("\nhelp: {h}"));
    }
    let names = label.map(suggestions).unwrap_or_default();
    let data = (!names.is_empty()).then(|| serde_json::json!({ "suggestions": names }));
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
        code_description: code_description(d.code),
        source: Some("flow".into()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        data,
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
            code_description: code_description(d.code),
            source: Some("flow".into()),
            message: d.message.clone(),
            ..lsp_types::Diagnostic::default()
        }],
        version: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flow_syntax::Label;

    fn unknown_field() -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code: "E0102",
            message: "`amout` is not a field of payment_intent or a name in scope".into(),
            labels: vec![
                Label {
                    span: Span::new(5, 10),
                    message: "did you mean `amount`?".into(),
                    primary: true,
                },
                Label {
                    span: Span::new(0, 2),
                    message: "the workflow's event".into(),
                    primary: false,
                },
            ],
            help: Some("names are case-sensitive".into()),
        }
    }

    #[test]
    fn keeps_the_primary_label_and_offers_its_suggestion() {
        let source = SourceFile::new("x.flow", "when amout > 1");
        let d = diagnostic(&unknown_field(), &source);
        assert_eq!(
            d.message,
            "`amout` is not a field of payment_intent or a name in scope\n\
             did you mean `amount`?\nhelp: names are case-sensitive"
        );
        assert_eq!(
            d.data,
            Some(serde_json::json!({ "suggestions": ["amount"] }))
        );
        assert_eq!(
            d.code_description.map(|c| c.href.to_string()),
            Some("docs/diagnostics.md#e0102".to_string())
        );
        let related = d.related_information.unwrap_or_default();
        assert_eq!(related.len(), 1);
        assert_eq!(related[0].message, "the workflow's event");
    }

    #[test]
    fn reads_every_suggestion_of_a_label() {
        assert_eq!(
            suggestions("did you mean `a`, `b` or `c`?"),
            vec!["a", "b", "c"]
        );
        assert!(suggestions("unknown field").is_empty());
    }
}
