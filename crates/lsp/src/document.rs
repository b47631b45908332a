//! An open document: the client's URI, the file it names (if any) and the text, with
//! conversions between LSP positions (lines and UTF-16 code units) and byte offsets.

use std::path::PathBuf;
use std::sync::Arc;

use lsp_types::{Position, Range, Uri};

use flow_syntax::{SourceFile, Span};

pub struct Document {
    pub uri: Uri,
    /// The file on disk the URI names (`file://` URIs only).
    pub path: Option<PathBuf>,
    pub source: Arc<SourceFile>,
}

impl Document {
    pub fn new(uri: Uri, text: String) -> Document {
        let path = file_path(&uri);
        let name = path
            .as_ref()
            .map_or_else(|| uri.as_str().to_string(), |p| p.display().to_string());
        Document {
            uri,
            path,
            source: SourceFile::new(name, text),
        }
    }

    pub fn text(&self) -> &str {
        &self.source.text
    }

    /// The text with `range` (positions in UTF-16 units, clamped to the document,
    /// in either order) replaced by `new`: one change of incremental synchronisation.
    pub fn edited(&self, range: Range, new: &str) -> String {
        let text = self.text();
        let (a, b) = (self.offset(range.start), self.offset(range.end));
        let (start, end) = (a.min(b), a.max(b));
        let mut out = String::with_capacity(text.len() + new.len());
        out.push_str(&text[..start]);
        out.push_str(new);
        out.push_str(&text[end..]);
        out
    }

    /// The byte offset of a position, clamped to the document (a position past the
    /// end of a line is the line's end).
    pub fn offset(&self, pos: Position) -> usize {
        let text = self.text();
        let mut start = 0;
        for _ in 0..pos.line {
            match text[start..].find('\n') {
                Some(i) => start += i + 1,
                None => return text.len(),
            }
        }
        let line = &text[start..];
        let line = &line[..line.find('\n').unwrap_or(line.len())];
        let mut units = 0;
        for (i, c) in line.char_indices() {
            if units >= pos.character as usize {
                return start + i;
            }
            units += c.len_utf16();
        }
        start + line.len()
    }

    pub fn position(&self, offset: usize) -> Position {
        let (line, character) = self.source.lsp_position(offset as u32);
        Position::new(line as u32, character as u32)
    }

    pub fn range(&self, span: Span) -> Range {
        flow_diagnostics::lsp::range(&self.source, span)
    }
}

/// The path of a `file://` URI, percent-decoded.
pub fn file_path(uri: &Uri) -> Option<PathBuf> {
    let rest = uri.as_str().strip_prefix("file://")?;
    let path = percent_encoding::percent_decode_str(rest).decode_utf8_lossy();
    Some(PathBuf::from(path.into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Document {
        let uri: Uri = "file:///tmp/a%20b.flow".parse().expect("a URI");
        Document::new(uri, text.to_string())
    }

    #[test]
    fn positions_and_offsets_agree() {
        let d = doc("on x\n  é amount\n");
        assert_eq!(d.path, Some(PathBuf::from("/tmp/a b.flow")));
        assert_eq!(d.offset(Position::new(1, 4)), 10);
        assert_eq!(d.position(10), Position::new(1, 4));
        assert_eq!(d.offset(Position::new(1, 99)), 16);
        assert_eq!(d.offset(Position::new(9, 0)), 17);
    }

    #[test]
    fn incremental_changes_replace_their_range() {
        let d = doc("on x {\n  é amount\n}\n");
        let r = |a: (u32, u32), b: (u32, u32)| {
            Range::new(Position::new(a.0, a.1), Position::new(b.0, b.1))
        };
        // `amount` → `amont`: after a non-ASCII character, in UTF-16 units.
        assert_eq!(
            d.edited(r((1, 4), (1, 10)), "amont"),
            "on x {\n  é amont\n}\n"
        );
        // An insertion, a deletion across lines, and a range past the end.
        assert_eq!(
            d.edited(r((0, 0), (0, 0)), "// a\n"),
            "// a\non x {\n  é amount\n}\n"
        );
        assert_eq!(d.edited(r((0, 6), (2, 0)), ""), "on x {}\n");
        assert_eq!(d.edited(r((2, 1), (9, 9)), "\n"), "on x {\n  é amount\n}\n");
    }
}
