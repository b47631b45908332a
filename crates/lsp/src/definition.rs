//! Go to definition: from a `let` name to the `let` that names it.

use lsp_types::Location;

use crate::cursor;
use crate::document::Document;
use crate::scope::{self, Scope};

/// Where the name under the cursor is defined, if it is a `let` name.
pub fn definition(doc: &Document, offset: usize) -> Option<Location> {
    let text = doc.text();
    let offset = scope::floor_boundary(text, offset);
    let prefix = cursor::prefix(text, offset);
    if prefix.in_comment || prefix.string_start.is_some() && !prefix.in_interpolation {
        return None;
    }
    let (_, word) = cursor::word_at(text, offset)?;
    let segments = cursor::segments(word);
    let [name] = segments.as_slice() else {
        return None;
    };
    let scope = Scope::at(flow_stdlib::builtin(), text, offset);
    let l = scope.local(name)?;
    Some(Location::new(doc.uri.clone(), doc.range(l.span)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_let() {
        let text = "on charge.succeeded {\n  let big = amount > 10 USD\n  if big {\n  }\n}";
        let doc = Document::new("file:///x.flow".parse().expect("a URI"), text.to_string());
        let at = text.rfind("big").expect("a use") + 1;
        let loc = definition(&doc, at).expect("found");
        assert_eq!(loc.range.start, lsp_types::Position::new(1, 6));
        assert!(definition(&doc, text.find("amount").expect("a field")).is_none());
    }
}
