//! Half-typed documents are the normal case in an editor: every prefix of every
//! template, and each one with a character dropped, is checked, completed, hovered and
//! searched for definitions at many points, formatted and outlined without a panic.

use flow_lsp::document::Document;
use flow_lsp::{analysis, complete, definition, formatting, hover, symbols};

fn exercise(text: &str) {
    let uri = "file:///nowhere/half.flow".parse().expect("a URI");
    let doc = Document::new(uri, text.to_string());
    let _ = analysis::diagnostics(&doc);
    // A formatting edit, when there is one, gives a text that is formatted.
    if let Ok(edits) = formatting::formatting(&doc) {
        for e in edits {
            assert_eq!(
                flow_format::format(&e.new_text).ok(),
                Some(e.new_text.clone())
            );
        }
    }
    for s in symbols::document_symbols(&doc) {
        assert!(s.range.start <= s.selection_range.start, "{text:?}: {s:?}");
        assert!(s.selection_range.end <= s.range.end, "{text:?}: {s:?}");
    }
    let mut offset = 0;
    while offset <= text.len() {
        let _ = complete::complete(&doc, offset);
        let _ = hover::hover(&doc, offset);
        let _ = definition::definition(&doc, offset);
        offset += 17;
    }
    // Past the end, and inside a character.
    let _ = complete::complete(&doc, text.len() + 10);
    let _ = hover::hover(&doc, text.len() + 10);
}

#[test]
fn no_prefix_of_a_template_makes_it_panic() {
    for t in &flow_stdlib::builtin().templates {
        let text = t.source;
        let cuts: Vec<usize> = (0..=text.len())
            .step_by(37)
            .filter(|&i| text.is_char_boundary(i))
            .collect();
        for cut in cuts {
            exercise(&text[..cut]);
            let mut dropped = text.to_string();
            if dropped.is_char_boundary(cut) && cut < dropped.len() {
                dropped.remove(cut);
                exercise(&dropped);
            }
        }
    }
}

#[test]
fn odd_texts_do_not_make_it_panic() {
    for text in [
        "",
        "\"",
        "on",
        "on ",
        "on é.",
        "{{{{",
        "}}}}",
        "on charge.succeeded { stripe.",
        "on charge.succeeded { stripe..(",
        "on charge.succeeded { x[[[0]. ",
        "on charge.succeeded when status == \"",
        "on charge.succeeded when ]] in [\"",
        "on charge.succeeded { let = \n let x = \n x.",
        "workflow \"",
        "workflow \"x\" on",
        "\u{1F600}.\u{1F600}",
    ] {
        exercise(text);
    }
}
