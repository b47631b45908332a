//! Byte spans into a source file, and the source files themselves.
//!
//! Every later stage refers back to the user's text through a [`Span`], so that a
//! diagnostic or a run-time error can point at the exact characters.

use std::sync::Arc;

/// A half-open byte range `start..end` into one source file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start: start as u32,
            end: end as u32,
        }
    }

    pub fn len(&self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    pub fn range(&self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

impl From<pest::Span<'_>> for Span {
    fn from(s: pest::Span<'_>) -> Span {
        Span::new(s.start(), s.end())
    }
}

/// A named source text: a `.flow` file, a REPL line, a stdlib template.
#[derive(Debug)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Arc<SourceFile> {
        let text = text.into();
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Arc::new(SourceFile {
            name: name.into(),
            text,
            line_starts,
        })
    }

    /// The 0-based line of a byte offset, and the text of that line before it.
    fn line_prefix(&self, offset: u32) -> (usize, &str) {
        let mut offset = (offset as usize).min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        (line, &self.text[self.line_starts[line]..offset])
    }

    /// The byte range of lines `first..=last` (0-based, clamped), without the final
    /// newline's successor line.
    pub fn line_range(&self, first: usize, last: usize) -> std::ops::Range<usize> {
        let n = self.line_starts.len();
        let first = first.min(n - 1);
        let last = last.min(n - 1).max(first);
        let start = self.line_starts[first];
        let end = self
            .line_starts
            .get(last + 1)
            .copied()
            .unwrap_or(self.text.len());
        start..end
    }

    /// The 0-based line of a byte offset.
    pub fn line_of(&self, offset: u32) -> usize {
        self.line_prefix(offset).0
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: u32) -> (usize, usize) {
        let (line, before) = self.line_prefix(offset);
        (line + 1, before.chars().count() + 1)
    }

    /// 0-based line and UTF-16 character offset, as the Language Server Protocol counts.
    pub fn lsp_position(&self, offset: u32) -> (usize, usize) {
        let (line, before) = self.line_prefix(offset);
        (line, before.encode_utf16().count())
    }

    /// `file:line:col` for a span, as printed in run errors.
    pub fn location(&self, span: Span) -> String {
        let (line, col) = self.line_col(span.start);
        format!("{}:{}:{}", self.name, line, col)
    }

    pub fn slice(&self, span: Span) -> &str {
        self.text.get(span.range()).unwrap_or("")
    }
}
