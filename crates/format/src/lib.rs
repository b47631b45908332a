//! `flow fmt`: one canonical layout for `.flow` files.
//!
//! The rules (also in `docs/formatting.md`):
//!
//! - Indentation is 4 spaces; lines aim at 100 columns ([`WIDTH`]). A line holding one
//!   long string, path or operation stays long: only lists, maps, calls and
//!   argument lists are broken.
//! - A workflow: `workflow "Name"` on its own line, then `on EVENT`, then, when there
//!   is a condition, `when CONDITION {` on a line of its own, the body one level in,
//!   `}` alone.
//! - One statement per line; `;` between statements becomes a line break; the compact
//!   `< … >` block becomes `{ … }`; an empty block is `{}`. `} else if C {` and
//!   `} else {` follow the closing brace. `for NAME in LIST limit N {` like `if`;
//!   `break` alone.
//! - Binary operators have one space on each side, `not x`, `-x`. Parentheses the
//!   author wrote around an operation are kept; those around a single value are
//!   dropped; none are added except where the meaning needs them.
//! - Action arguments are `name: value` separated by `, `. When the statement does not
//!   fit in 100 columns, each argument has a line of its own, aligned under the first,
//!   each line but the last ending in `,` (there is no closing bracket, so no
//!   trailing comma).
//! - Lists are `[a, b]`, maps `{ "k": v }` (keys as written, quoted or not), calls
//!   `f(a, b)`, Stripe calls `stripe.r.m(id, name: value)`; empty ones `[]`, `{}`,
//!   `f()`. One that does not fit opens a line: its elements fill the lines one level
//!   deeper than the line where it opens, as many per line as fit, separated by `, `
//!   with no trailing comma, and the closing bracket has its own line. With a comment
//!   inside, each element gets its own line.
//! - Tests: `test "name" {`, each `given` and `expect` on its own line; a `given`'s
//!   `with …` stays on the line when the whole `given` fits, else it goes on the next
//!   line, one level deeper. `answer stripe.R.M with VALUE` is one line.
//!   `expect actions [ … ]` has one action per line.
//!   `expect update P = v` is written `==`.
//! - Custom actions: `action NAME url: "…" {`, one `param: type` per line, `}`.
//! - Items (workflows, tests, custom actions) are separated by exactly one blank line;
//!   inside blocks, a blank line between statements is kept (several become one),
//!   none after `{` or before `}`. The file ends with one line break.
//! - Strings, numbers, money, dates, durations, paths and type names are written as
//!   they are in the source, escapes and all: formatting never changes a value.
//! - Comments are kept: a comment on a line of its own stays before the statement,
//!   item, argument or element that follows it, at its indentation; a comment after
//!   code stays at the end of that line, one space after it. A comment inside an
//!   expression that is kept on one line moves to the next line.
//!
//! [`format`] refuses rather than write a file that would read differently: the result
//! must parse to the same tree (positions aside) and hold the same comments.

#![forbid(unsafe_code)]

mod comments;
mod printer;

use std::fmt;

use flow_syntax::{parse, Diagnostic, SourceFile};

pub use comments::{scan as scan_comments, Comment};

/// The width lines are kept within, where they can be broken.
pub const WIDTH: usize = 100;
/// One level of indentation.
pub const INDENT: usize = 4;

/// Why a text was not formatted.
#[derive(Debug)]
pub enum Error {
    /// The text does not parse: these are its syntax errors.
    Syntax(Vec<Diagnostic>),
    /// Formatting would lose or add comments (a fault of the formatter): the file is
    /// left as it is.
    Comments {
        lost: Vec<String>,
        added: Vec<String>,
    },
    /// The formatted text would not parse to the same tree (a fault of the formatter):
    /// the file is left as it is.
    Changed(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Syntax(ds) => {
                let first = ds.first().map_or("", |d| d.message.as_str());
                write!(f, "the file has syntax errors: {first}")
            }
            Error::Comments { lost, added } => {
                write!(f, "formatting would not keep the comments as they are")?;
                if let Some(c) = lost.first() {
                    write!(f, "; it would lose `{c}`")?;
                }
                if let Some(c) = added.first() {
                    write!(f, "; it would add `{c}`")?;
                }
                write!(f, ": the file is left unchanged")
            }
            Error::Changed(why) => write!(
                f,
                "formatting would change what the file means ({why}): the file is left unchanged"
            ),
        }
    }
}

impl std::error::Error for Error {}

/// The line that keeps a file as it is written: among the comments before its first
/// item, `// fmt: off` (a file that shows a layout of its own, such as the compact
/// `< … >` form).
pub const OFF: &str = "// fmt: off";

/// Whether the file asks to be left as written ([`OFF`] among its leading comments).
pub fn left_as_written(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .take_while(|l| l.is_empty() || l.starts_with("//"))
        .any(|l| l == OFF)
}

/// The text in the canonical layout, or why it cannot be formatted. A file that says
/// `// fmt: off` before its first item ([`left_as_written`]) is its own layout.
pub fn format(text: &str) -> Result<String, Error> {
    if left_as_written(text) {
        return Ok(text.to_string());
    }
    let source = SourceFile::new("input.flow", text);
    let parsed = parse(&source);
    let errors: Vec<Diagnostic> = parsed
        .diagnostics
        .into_iter()
        .filter(Diagnostic::is_error)
        .collect();
    if !errors.is_empty() {
        return Err(Error::Syntax(errors));
    }
    let comments = comments::scan(text);
    let mut printer = printer::Printer::new(text, &comments);
    printer.file(&parsed.file);
    let out = printer.out;
    same_comments(text, &out)?;
    same_tree(&parsed.file, &out)?;
    Ok(out)
}

/// Whether `text` is already in the canonical layout (`Err` if it cannot be formatted).
pub fn is_formatted(text: &str) -> Result<bool, Error> {
    format(text).map(|out| out == text)
}

/// The multiset of comment texts before and after must be equal.
fn same_comments(before: &str, after: &str) -> Result<(), Error> {
    let mut lost = comments::texts(before);
    let mut added = comments::texts(after);
    if lost == added {
        return Ok(());
    }
    // The differences, both ways, for the message.
    let mut i = 0;
    while i < lost.len() {
        if let Some(j) = added.iter().position(|c| *c == lost[i]) {
            added.remove(j);
            lost.remove(i);
        } else {
            i += 1;
        }
    }
    Err(Error::Comments { lost, added })
}

/// The formatted text must parse, to the same tree apart from positions.
fn same_tree(file: &flow_syntax::ast::File, out: &str) -> Result<(), Error> {
    let reparsed = parse(&SourceFile::new("formatted.flow", out));
    if let Some(d) = reparsed.diagnostics.iter().find(|d| d.is_error()) {
        return Err(Error::Changed(format!(
            "the result does not parse: {}",
            d.message
        )));
    }
    if shape(file) != shape(&reparsed.file) {
        return Err(Error::Changed("the result parses differently".into()));
    }
    Ok(())
}

/// The tree as text, without its byte positions.
pub fn shape(file: &flow_syntax::ast::File) -> String {
    let debug = format!("{file:?}");
    let mut out = String::with_capacity(debug.len());
    let mut rest = debug.as_str();
    while let Some(at) = rest.find("Span { start: ") {
        out.push_str(&rest[..at]);
        match rest[at..].find('}') {
            Some(end) => rest = &rest[at + end + 1..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests;
