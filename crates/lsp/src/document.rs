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
}
