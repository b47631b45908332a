//! Stage 1: text → [`ast::File`].
//!
//! [`parser`] is the front door: a hand-written parser (`fast.rs`) reads a file
//! first, and pest's grammar (`grammar/flow.pest`, `grammar.rs`) parses what it
//! declines, turning syntax errors into diagnostics. [`Span`] and [`SourceFile`] are owned here and used by
//! every later stage to point back at the user's text.

#![forbid(unsafe_code)]

pub mod ast;
mod diagnostic;
mod fast;
mod grammar;
mod literal;
pub mod parser;
mod span;

pub use diagnostic::{Diagnostic, Label, Severity};
pub use parser::{parse, parse_expr, parse_stmt, parse_time_text, Parsed};
pub use span::{SourceFile, Span};
