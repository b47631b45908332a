//! `textDocument/formatting`: the document in `flow fmt`'s canonical layout, as one
//! edit replacing the whole text (none when it is already formatted). The formatter
//! refuses a text with syntax errors, or one it would not keep the same (comments
//! lost or added, another tree): then there is no edit, and the reason is given back
//! for the server to show. The client's formatting options are not used: there is one
//! layout (`docs/formatting.md`).

use lsp_types::{Range, TextEdit};

use crate::document::Document;

/// The edits that format a document (empty when it is formatted already), or why it
/// is left as it is.
pub fn formatting(doc: &Document) -> Result<Vec<TextEdit>, String> {
    let text = doc.text();
    let formatted = flow_format::format(text).map_err(|e| e.to_string())?;
    if formatted == text {
        return Ok(Vec::new());
    }
    let whole = Range::new(doc.position(0), doc.position(text.len()));
    Ok(vec![TextEdit::new(whole, formatted)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use lsp_types::{Position, Uri};

    fn doc(text: &str) -> Document {
        let uri: Uri = "file:///tmp/f.flow".parse().expect("a URI");
        Document::new(uri, text.to_string())
    }

    const MESSY: &str = "workflow   \"Big\" on payment_intent.succeeded when amount>1000 USD { let big=amount > 2000 USD\n\n\n  if big { update customer.metadata.Tier = \"VIP\" }  // big ones\n}";

    #[test]
    fn one_edit_replaces_the_whole_text() {
        let d = doc(MESSY);
        let edits = formatting(&d).expect("it formats");
        assert_eq!(edits.len(), 1);
        let edit = &edits[0];
        assert_eq!(edit.range.start, Position::new(0, 0));
        assert_eq!(edit.range.end, Position::new(4, 1));
        let canonical = flow_format::format(MESSY).expect("it formats");
        assert_eq!(edit.new_text, canonical);
        assert!(edit.new_text.contains("// big ones"), "{}", edit.new_text);
        assert!(edit
            .new_text
            .starts_with("workflow \"Big\"\non payment_intent.succeeded\n"));
        // Formatting the result changes nothing.
        assert_eq!(formatting(&doc(&edit.new_text)).map(|e| e.len()), Ok(0));
    }

    #[test]
    fn the_end_of_the_range_counts_utf16_units() {
        let text = "on charge.succeeded {\n    email to: \"a@example.com\", body: \"😀é\"}";
        let edits = formatting(&doc(text)).expect("it formats");
        assert_eq!(edits.len(), 1);
        // `    email to: "a@example.com", body: "` is 38 units, then 2 + 1, `"}` 2.
        assert_eq!(edits[0].range.end, Position::new(1, 43));
    }

    #[test]
    fn a_syntax_error_means_no_edit_and_a_reason() {
        let text = "on charge.succeeded {\n    let = 2\n";
        let why = formatting(&doc(text)).expect_err("refused");
        assert!(why.contains("syntax errors"), "{why}");
    }

    #[test]
    fn never_panics() {
        for text in [
            "",
            "\n",
            "\u{feff}",
            "on",
            "// only a comment\n",
            "on x { \"",
            "\r\n\r\n",
        ] {
            let _ = formatting(&doc(text));
        }
    }
}
