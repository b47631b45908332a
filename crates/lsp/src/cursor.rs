//! What the text around the cursor says, read without parsing: the dotted word being
//! typed, whether the cursor is inside a string or a comment, the brace depth, and the
//! call or statement it stands in. A half-typed document does not parse, so every
//! question an editor asks while typing is answered from the text first.

/// A character of a dotted name: `items.data[0].price`.
pub fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']')
}

/// The dotted word that ends at `offset`: its start and its text.
pub fn word_before(text: &str, offset: usize) -> (usize, &str) {
    let before = &text[..offset];
    let start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_word_char(*c))
        .last()
        .map_or(offset, |(i, _)| i);
    (start, &text[start..offset])
}

/// The dotted word around `offset`, cut after the segment the cursor is in: on
/// `metadata` of `customer.metadata.Tier`, `customer.metadata`. Its start and text.
pub fn word_at(text: &str, offset: usize) -> Option<(usize, &str)> {
    let (start, _) = word_before(text, offset);
    let rest = &text[offset..];
    let segment_end = rest
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
        .map_or(rest.len(), |(i, _)| i);
    let word = &text[start..offset + segment_end];
    let word = word.trim_end_matches(['.', '[', ']']);
    (!word.is_empty()).then_some((start, word))
}

/// The segments of a dotted word: `items.data[0].price` → `items`, `data`, `[0]`,
/// `price` (a position stays in brackets).
pub fn segments(word: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for part in word.split('.') {
        let mut rest = part;
        while let Some(i) = rest.find('[') {
            if i > 0 {
                out.push(&rest[..i]);
            }
            let end = rest[i..].find(']').map_or(rest.len(), |j| i + j + 1);
            out.push(&rest[i..end]);
            rest = &rest[end..];
        }
        if !rest.is_empty() || out.is_empty() {
            out.push(rest);
        }
    }
    out
}

/// What lies between the start of the text and the cursor, read once.
#[derive(Debug, Default, PartialEq)]
pub struct Prefix {
    /// In a string literal, which starts at this offset (the quote).
    pub string_start: Option<usize>,
    /// In a `{…}` of a string: code again.
    pub in_interpolation: bool,
    /// In a `//` comment.
    pub in_comment: bool,
    /// `{` minus `}` outside strings and comments.
    pub depth: usize,
    /// The `(` and `[` still open, innermost last (their offsets).
    pub open: Vec<usize>,
}

/// Scan the text up to `offset`.
pub fn prefix(text: &str, offset: usize) -> Prefix {
    let mut p = Prefix::default();
    let mut chars = text[..offset].char_indices().peekable();
    let mut interp = 0usize;
    while let Some((i, c)) = chars.next() {
        if p.in_comment {
            if c == '\n' {
                p.in_comment = false;
            }
            continue;
        }
        if p.string_start.is_some() && interp == 0 {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => p.string_start = None,
                '{' => interp = 1,
                _ => {}
            }
            continue;
        }
        match c {
            '"' if interp == 0 => p.string_start = Some(i),
            '/' if chars.peek().map(|(_, c)| *c) == Some('/') => p.in_comment = true,
            '{' if p.string_start.is_some() => interp += 1,
            '}' if p.string_start.is_some() => interp -= 1,
            '{' => p.depth += 1,
            '}' => p.depth = p.depth.saturating_sub(1),
            '(' | '[' => p.open.push(i),
            ')' | ']' => {
                p.open.pop();
            }
            '\n' => p.open.clear(),
            _ => {}
        }
    }
    p.in_interpolation = interp > 0;
    p
}

/// The whole dotted word around `offset`: its start and text.
pub fn word_around(text: &str, offset: usize) -> (usize, &str) {
    let (start, _) = word_before(text, offset);
    let rest = &text[offset..];
    let end = rest
        .char_indices()
        .find(|(_, c)| !is_word_char(*c))
        .map_or(rest.len(), |(i, _)| i);
    (start, text[start..offset + end].trim_end_matches('.'))
}

/// The text of the line the offset is on, up to the offset.
pub fn line_before(text: &str, offset: usize) -> &str {
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    &text[start..offset]
}

/// The last word of a text (letters, digits, `_`), if it ends with one.
pub fn last_word(text: &str) -> &str {
    let trimmed = text.trim_end();
    let start = trimmed
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_alphanumeric() || *c == '_')
        .last()
        .map_or(trimmed.len(), |(i, _)| i);
    &trimmed[start..]
}

/// The previous line that is not blank, trimmed, before the line of `offset`.
pub fn previous_line(text: &str, offset: usize) -> Option<&str> {
    let start = text[..offset].rfind('\n')?;
    text[..start]
        .lines()
        .rev()
        .map(|l| strip_comment(l).trim())
        .find(|l| !l.is_empty())
}

/// A line without its `//` comment (a `//` inside a string stays).
pub fn strip_comment(line: &str) -> &str {
    let mut in_string = false;
    let mut escaped = false;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '/' if !in_string && prev == '/' => return &line[..i - 1],
            _ => {}
        }
        prev = c;
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        let t = "when customer.meta";
        assert_eq!(word_before(t, t.len()), (5, "customer.meta"));
        let t = "update customer.metadata.Tier = 1";
        assert_eq!(word_at(t, 18), Some((7, "customer.metadata")));
        assert_eq!(word_at(t, 7), Some((7, "customer")));
        assert_eq!(
            segments("items.data[0].price"),
            vec!["items", "data", "[0]", "price"]
        );
        assert_eq!(segments("customer."), vec!["customer"]);
    }

    #[test]
    fn prefixes() {
        let t = "on x {\n  if status == \"suc";
        let p = prefix(t, t.len());
        assert_eq!(p.depth, 1);
        assert_eq!(p.string_start, Some(t.len() - 4));
        let t = "on x { email body: \"a {amount} b\" // c\n stripe.invoices.void_invoice(inv, ";
        let p = prefix(t, t.len());
        assert_eq!((p.depth, p.string_start, p.in_comment), (1, None, false));
        assert_eq!(p.open.len(), 1);
        assert_eq!(
            strip_comment("url: \"https://x\", // y"),
            "url: \"https://x\", "
        );
        let t = "on x { // a \" quote\n";
        assert_eq!(prefix(t, t.len()).string_start, None);
    }
}
