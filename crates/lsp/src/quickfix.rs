//! Quick fixes: an unknown name (E0101 event type, E0102 field, E0301 action, E0302
//! parameter) replaced by a name the diagnostic suggests. The diagnostic carries its
//! suggestions in `data.suggestions` (see `flow_diagnostics::lsp`); its range is the
//! unknown name's, so the fix replaces exactly that.

use std::collections::HashMap;

use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, Diagnostic, NumberOrString, TextEdit, Uri,
    WorkspaceEdit,
};

/// The codes whose suggestions are names to put in place of the one at fault.
const FIXABLE: &[&str] = &["E0101", "E0102", "E0301", "E0302"];

/// The quick fixes for these diagnostics of the document at `uri`.
pub fn quick_fixes(uri: &Uri, diagnostics: &[Diagnostic]) -> Vec<CodeActionOrCommand> {
    diagnostics
        .iter()
        .filter(
            |d| matches!(&d.code, Some(NumberOrString::String(c)) if FIXABLE.contains(&c.as_str())),
        )
        .flat_map(|d| {
            suggestions(d)
                .into_iter()
                .enumerate()
                .map(move |(i, name)| fix(uri, d, name, i == 0))
        })
        .collect()
}

/// The names a diagnostic suggests: from `data`, or else read from its message.
fn suggestions(d: &Diagnostic) -> Vec<String> {
    let from_data = d
        .data
        .as_ref()
        .and_then(|v| v.get("suggestions"))
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect::<Vec<_>>()
        });
    match from_data {
        Some(names) if !names.is_empty() => names,
        _ => d
            .message
            .lines()
            .find(|l| l.starts_with("did you mean"))
            .map(flow_diagnostics::lsp::suggestions)
            .unwrap_or_default(),
    }
}

fn fix(uri: &Uri, d: &Diagnostic, name: String, preferred: bool) -> CodeActionOrCommand {
    let edit = TextEdit::new(d.range, name.clone());
    CodeActionOrCommand::CodeAction(CodeAction {
        title: format!("Replace with `{name}`"),
        kind: Some(CodeActionKind::QUICKFIX),
        diagnostics: Some(vec![d.clone()]),
        edit: Some(WorkspaceEdit {
            changes: Some(HashMap::from([(uri.clone(), vec![edit])])),
            ..WorkspaceEdit::default()
        }),
        is_preferred: Some(preferred),
        ..CodeAction::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis;
    use crate::document::Document;

    /// The replacements offered for the diagnostics of a text.
    fn fixes(text: &str) -> Vec<String> {
        let uri: Uri = "file:///nowhere/fix.flow".parse().expect("a URI");
        let doc = Document::new(uri.clone(), text.to_string());
        quick_fixes(&uri, &analysis::diagnostics(&doc))
            .into_iter()
            .filter_map(|a| match a {
                CodeActionOrCommand::CodeAction(a) => a.edit,
                CodeActionOrCommand::Command(_) => None,
            })
            .filter_map(|e| e.changes)
            .flat_map(|c| c.into_values().flatten())
            .map(|e| e.new_text)
            .collect()
    }

    #[test]
    fn each_unknown_name_gets_its_suggestion() {
        let event = fixes("on payment_intent.succeded {\n}\n");
        assert_eq!(
            event.first().map(String::as_str),
            Some("payment_intent.succeeded")
        );
        assert_eq!(
            fixes("on charge.succeeded when amout > 1 USD {\n}\n"),
            ["amount"]
        );
        assert_eq!(
            fixes("on charge.succeeded {\n    emial to: \"a@example.com\", body: \"b\"\n}\n"),
            ["email"]
        );
        assert_eq!(
            fixes("on charge.succeeded {\n    email to: \"a@example.com\", bdy: \"b\"\n}\n"),
            ["body"]
        );
    }
}
