//! `textDocument/documentSymbol`: the outline of a document. Each workflow (named by
//! `workflow "…"`, else by the file's stem, with its trigger as the detail) holds its
//! inputs and the names its body `let`s at the top level; each test and each custom
//! `action` declaration follows, all in file order. A document with syntax errors
//! lists what the parser recovered.

use lsp_types::{DocumentSymbol, Range, SymbolKind};

use flow_syntax::ast::{ActionDecl, StmtKind, Test, Trigger, Workflow};
use flow_syntax::Span;

use crate::document::Document;

/// The symbols of a document, in file order.
pub fn document_symbols(doc: &Document) -> Vec<DocumentSymbol> {
    let parsed = flow_syntax::parse(&doc.source);
    let stem = match &doc.path {
        Some(p) => flow_project::stem(p),
        None => "workflow".to_string(),
    };
    let mut items: Vec<(u32, DocumentSymbol)> = Vec::new();
    for w in &parsed.file.workflows {
        items.push((w.span.start, workflow(doc, w, &stem)));
    }
    for t in &parsed.file.tests {
        items.push((t.span.start, test(doc, t)));
    }
    for a in &parsed.file.actions {
        items.push((a.span.start, action(doc, a)));
    }
    items.sort_by_key(|(start, _)| *start);
    items.into_iter().map(|(_, s)| s).collect()
}

/// `on payment_intent.succeeded`, `on schedule "0 9 1 * *" timezone "…"`,
/// `on demand (customer: ref<customer>, credit: money)`.
pub fn trigger_text(doc: &Document, trigger: &Trigger) -> String {
    match trigger {
        Trigger::Event(e) => format!("on {}", e.name),
        Trigger::Schedule { cron, timezone, .. } => {
            let mut s = format!("on schedule {}", literal(doc, &cron.0, cron.1));
            if let Some((zone, span)) = timezone {
                s.push_str(" timezone ");
                s.push_str(&literal(doc, zone, *span));
            }
            s
        }
        Trigger::Demand { inputs, .. } => {
            let inputs: Vec<String> = inputs
                .iter()
                .map(|i| format!("{}: {}", i.name.name, i.ty))
                .collect();
            format!("on demand ({})", inputs.join(", "))
        }
    }
}

/// A string literal as written (quotes included), or quoted from its value when the
/// span does not hold it.
fn literal(doc: &Document, value: &str, span: Span) -> String {
    let written = doc.source.slice(span);
    if written.starts_with('"') && written.len() >= 2 {
        written.to_string()
    } else {
        format!("{value:?}")
    }
}

fn workflow(doc: &Document, w: &Workflow, stem: &str) -> DocumentSymbol {
    let (name, selection) = match &w.name {
        Some((name, span)) => (name.clone(), *span),
        None => (stem.to_string(), w.trigger.span()),
    };
    let mut children = Vec::new();
    if let Trigger::Demand { inputs, .. } = &w.trigger {
        for i in inputs {
            children.push(symbol(
                doc,
                i.name.name.clone(),
                Some(i.ty.clone()),
                SymbolKind::VARIABLE,
                i.span,
                i.name.span,
                None,
            ));
        }
    }
    for stmt in &w.body.stmts {
        let name = match &stmt.kind {
            StmtKind::Let { name, .. } | StmtKind::LetAction { name, .. } => name,
            _ => continue,
        };
        children.push(symbol(
            doc,
            name.name.clone(),
            None,
            SymbolKind::VARIABLE,
            stmt.span,
            name.span,
            None,
        ));
    }
    symbol(
        doc,
        name,
        Some(trigger_text(doc, &w.trigger)),
        SymbolKind::FUNCTION,
        w.span,
        selection,
        Some(children),
    )
}

fn test(doc: &Document, t: &Test) -> DocumentSymbol {
    symbol(
        doc,
        t.name.clone(),
        Some("test".into()),
        SymbolKind::METHOD,
        t.span,
        t.name_span,
        None,
    )
}

fn action(doc: &Document, a: &ActionDecl) -> DocumentSymbol {
    let children = a
        .params
        .iter()
        .map(|p| {
            symbol(
                doc,
                p.name.name.clone(),
                Some(p.ty.clone()),
                SymbolKind::FIELD,
                Span {
                    start: p.name.span.start,
                    end: p.ty_span.end.max(p.name.span.end),
                },
                p.name.span,
                None,
            )
        })
        .collect();
    symbol(
        doc,
        a.name.name.clone(),
        Some(format!("action url: {}", literal(doc, &a.url, a.url_span))),
        SymbolKind::INTERFACE,
        a.span,
        a.name.span,
        Some(children),
    )
}

/// A symbol whose selection range lies within its range, as the protocol requires
/// (the range is widened to hold the selection if the spans disagree).
#[allow(deprecated)] // `deprecated` is a field of the type; `tags` replaces it.
fn symbol(
    doc: &Document,
    name: String,
    detail: Option<String>,
    kind: SymbolKind,
    span: Span,
    selection: Span,
    children: Option<Vec<DocumentSymbol>>,
) -> DocumentSymbol {
    let whole = Span {
        start: span.start.min(selection.start),
        end: span.end.max(selection.end),
    };
    let range: Range = doc.range(whole);
    DocumentSymbol {
        // Clients reject an empty name.
        name: if name.trim().is_empty() {
            "(unnamed)".into()
        } else {
            name
        },
        detail,
        kind,
        tags: None,
        deprecated: None,
        range,
        selection_range: doc.range(selection),
        children,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lsp_types::{Position, Uri};

    fn doc(uri: &str, text: &str) -> Document {
        let uri: Uri = uri.parse().expect("a URI");
        Document::new(uri, text.to_string())
    }

    const FILE: &str = "workflow \"Big\"\non payment_intent.succeeded\nwhen amount > 1000 USD {\n    let big = amount > 2000 USD\n    if big {\n        let inner = 1\n    }\n}\n\ntest \"a big one\" {\n    given payment_intent.succeeded { amount: 5000 USD }\n    expect succeeded\n}\n";

    #[test]
    fn workflows_and_tests_in_file_order() {
        let d = doc("file:///tmp/big.flow", FILE);
        let symbols = document_symbols(&d);
        let names: Vec<&str> = symbols.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["Big", "a big one"]);
        let w = &symbols[0];
        assert_eq!(w.kind, SymbolKind::FUNCTION);
        assert_eq!(w.detail.as_deref(), Some("on payment_intent.succeeded"));
        assert_eq!(w.range.start, Position::new(0, 0));
        assert_eq!(w.range.end, Position::new(7, 1));
        assert_eq!(w.selection_range.start, Position::new(0, 9));
        // Only the top-level `let`.
        let children = w.children.as_deref().unwrap_or_default();
        let lets: Vec<&str> = children.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(lets, ["big"]);
        assert_eq!(children[0].kind, SymbolKind::VARIABLE);
        assert_eq!(children[0].selection_range.start, Position::new(3, 8));
        let t = &symbols[1];
        assert_eq!(t.kind, SymbolKind::METHOD);
        assert_eq!(t.range.start, Position::new(9, 0));
        assert_eq!(t.range.end, Position::new(12, 1));
    }

    #[test]
    fn an_unnamed_workflow_takes_the_file_stem() {
        let d = doc(
            "file:///tmp/monthly%20report.flow",
            "on schedule \"0 9 1 * *\" timezone \"Europe/Paris\" {\n    email to: \"a@example.com\", body: \"hi\"\n}\n",
        );
        let symbols = document_symbols(&d);
        assert_eq!(symbols.len(), 1);
        assert_eq!(symbols[0].name, "monthly report");
        assert_eq!(
            symbols[0].detail.as_deref(),
            Some("on schedule \"0 9 1 * *\" timezone \"Europe/Paris\"")
        );
        assert_eq!(symbols[0].selection_range.start, Position::new(0, 3));
    }

    #[test]
    fn demand_inputs_and_custom_actions() {
        let text = "action notify_crm url: \"https://crm.example.com/hook\" {\n    customer: string\n    note: string?\n}\n\nworkflow \"Credit\"\non demand (customer: ref<customer>, credit: money) {\n    notify_crm customer: customer.id, note: \"credit\"\n}\n";
        let d = doc("untitled:Untitled-1", text);
        let symbols = document_symbols(&d);
        let names: Vec<&str> = symbols.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["notify_crm", "Credit"], "{symbols:#?}");
        let a = &symbols[0];
        assert_eq!(a.kind, SymbolKind::INTERFACE);
        let params: Vec<&str> = a
            .children
            .iter()
            .flatten()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(params, ["customer", "note"]);
        let w = &symbols[1];
        assert_eq!(
            w.detail.as_deref(),
            Some("on demand (customer: ref<customer>, credit: money)")
        );
        let inputs: Vec<&str> = w
            .children
            .iter()
            .flatten()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(inputs, ["customer", "credit"]);
    }

    #[test]
    fn a_syntax_error_keeps_the_items_that_parse() {
        let text = "workflow \"Good\"\non charge.succeeded {\n    let x = 1\n}\n\nworkflow \"Bad\"\non charge.failed {\n    let = = 2\n}\n\ntest \"still here\" {\n    given charge.succeeded { amount: 10 USD }\n    expect succeeded\n}\n";
        let d = doc("file:///tmp/x.flow", text);
        let symbols = document_symbols(&d);
        let names: Vec<&str> = symbols.iter().map(|s| s.name.as_str()).collect();
        assert!(names.contains(&"Good"), "{names:?}");
        assert!(names.contains(&"still here"), "{names:?}");
    }

    #[test]
    fn ranges_hold_their_selections_on_any_input() {
        for text in [
            "",
            "workflow",
            "workflow \"",
            "on",
            "on schedule",
            "on demand (",
            "test \"é\" {",
            "action a url: \"x\" {\n  p: \n",
            "\u{feff}on charge.succeeded {}",
            "on charge.succeeded { let é = \"\u{1F600}\" }\n",
        ] {
            let d = doc("file:///tmp/x.flow", text);
            for s in document_symbols(&d) {
                assert!(s.range.start <= s.selection_range.start, "{text:?}: {s:?}");
                assert!(s.selection_range.end <= s.range.end, "{text:?}: {s:?}");
            }
        }
    }
}
