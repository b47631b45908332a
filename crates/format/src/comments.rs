//! The `//` comments of a source text, found by position: the grammar skips them, so
//! the formatter recovers them from the text and puts each back where it belongs.

/// One `//` comment: from its `//` to the end of its line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    /// Byte offset of the `//`.
    pub start: usize,
    /// Byte offset of the end of the line (the `\n`, or the end of the text).
    pub end: usize,
    /// The comment's text, `//` included, without trailing white space.
    pub text: String,
}

enum Mode {
    /// Inside a string literal.
    Str,
    /// Inside a `{…}` interpolation of a string, with the depth of braces opened in it.
    Interp(usize),
}

/// Every comment outside string literals, in order. A comment inside an
/// interpolation (`"{x // …` followed by a line break) belongs to its string, which
/// the formatter copies as written, so it is not listed.
pub fn scan(text: &str) -> Vec<Comment> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut stack: Vec<Mode> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match stack.last_mut() {
            Some(Mode::Str) => match b {
                b'\\' => i += 1,
                b'"' | b'\n' => {
                    stack.pop();
                }
                b'{' => stack.push(Mode::Interp(0)),
                _ => {}
            },
            Some(Mode::Interp(depth)) => match b {
                b'"' => stack.push(Mode::Str),
                b'{' => *depth += 1,
                b'}' if *depth == 0 => {
                    stack.pop();
                }
                b'}' => *depth -= 1,
                b'/' if bytes.get(i + 1) == Some(&b'/') => {
                    i = line_end(text, i);
                    continue;
                }
                _ => {}
            },
            None => match b {
                b'"' => stack.push(Mode::Str),
                b'/' if bytes.get(i + 1) == Some(&b'/') => {
                    let end = line_end(text, i);
                    out.push(Comment {
                        start: i,
                        end,
                        text: text.get(i..end).unwrap_or("").trim_end().to_string(),
                    });
                    i = end;
                    continue;
                }
                _ => {}
            },
        }
        i += 1;
    }
    out
}

fn line_end(text: &str, from: usize) -> usize {
    text.get(from..)
        .and_then(|rest| rest.find('\n'))
        .map_or(text.len(), |n| from + n)
}

/// The comments' texts, sorted: two texts with the same comments have equal lists.
pub fn texts(text: &str) -> Vec<String> {
    let mut all: Vec<String> = scan(text).into_iter().map(|c| c.text).collect();
    all.sort();
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_outside_strings_only() {
        let text = "// a\non x { email to: \"a//b\" // b\n  let s = \"{f(\"//\")}\" }\n";
        let found: Vec<String> = scan(text).into_iter().map(|c| c.text).collect();
        assert_eq!(found, ["// a", "// b"]);
    }

    #[test]
    fn an_escaped_quote_does_not_end_the_string() {
        let text = "let s = \"a \\\" // not\" // yes";
        let found: Vec<String> = scan(text).into_iter().map(|c| c.text).collect();
        assert_eq!(found, ["// yes"]);
    }
}
