//! Checking a document as `flow check` does: parsed, checked against the built-in
//! standard library with the business settings of the `flow.toml` that applies to its
//! file (a test file sees the custom actions of the file it tests), every diagnostic
//! turned into the LSP's shape by `flow_diagnostics::lsp`.

use lsp_types::{Diagnostic, DiagnosticSeverity, NumberOrString, PublishDiagnosticsParams};

use flow_check::Env;
use flow_project::settings::Settings;

use crate::document::Document;

/// The diagnostics of a document.
pub fn diagnostics(doc: &Document) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let settings = match doc.path.as_deref().map(flow_project::load_settings) {
        Some(Ok(s)) => s,
        Some(Err(d)) => {
            // A bad flow.toml: said at the top of the file, and checked with defaults.
            out.push(Diagnostic {
                severity: Some(DiagnosticSeverity::ERROR),
                code: Some(NumberOrString::String(d.code.to_string())),
                source: Some("flow".into()),
                message: d.message,
                ..Diagnostic::default()
            });
            Settings::default()
        }
        None => Settings::default(),
    };
    let env = Env::new(flow_stdlib::builtin())
        .with_business(settings.business())
        .with_loader(&flow_project::FsLoader);
    let (stem, subject) = match &doc.path {
        Some(p) => (flow_project::stem(p), flow_project::subject(p)),
        None => ("workflow".to_string(), flow_project::Subject::default()),
    };
    let build = flow_project::build_with_subject(&doc.source, &env, &stem, &subject);
    out.extend(build.diagnostics.iter().map(|d| {
        let mut d = flow_diagnostics::lsp::diagnostic(d, &doc.source);
        // Every label points into this document: name it as the client does.
        for r in d.related_information.iter_mut().flatten() {
            r.location.uri = doc.uri.clone();
        }
        d
    }));
    out
}

/// `textDocument/publishDiagnostics` for a document.
pub fn publish(doc: &Document, version: Option<i32>) -> PublishDiagnosticsParams {
    PublishDiagnosticsParams {
        uri: doc.uri.clone(),
        diagnostics: diagnostics(doc),
        version,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn related_places_are_in_the_same_document() {
        let uri: lsp_types::Uri = "untitled:Untitled-1".parse().expect("a URI");
        let text =
            "workflow \"a\" on charge.succeeded {\n}\nworkflow \"a\" on charge.failed {\n}\n";
        let doc = Document::new(uri.clone(), text.to_string());
        let ds = diagnostics(&doc);
        let dup = ds
            .iter()
            .find(|d| d.code == Some(NumberOrString::String("W0107".into())))
            .expect("two workflows named alike");
        let related = dup.related_information.as_deref().unwrap_or_default();
        assert_eq!(related.len(), 1);
        assert_eq!(related[0].location.uri, uri);
        assert_eq!(related[0].message, "first used here");
    }
}
