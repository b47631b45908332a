//! `flow lsp`: a language server for `.flow` files over standard input and output.
//!
//! The editor sends whole documents ([`document`]); each change is parsed and checked
//! as `flow check` would (with the `flow.toml` beside the file) and the diagnostics
//! published ([`analysis`]). Requests are answered from the text around the cursor
//! ([`cursor`]) and the names in scope there ([`scope`]), so that a half-typed
//! document, the normal case while typing, still gets [`hover`], [`complete`]ions,
//! [`definition`]s and [`quickfix`]es. [`formatting`] puts the whole document in
//! `flow fmt`'s layout, and [`symbols`] gives its outline (workflows, tests, custom
//! actions) from what parses. [`server`] runs the message loop.

#![forbid(unsafe_code)]

pub mod analysis;
pub mod complete;
pub mod cursor;
pub mod definition;
pub mod document;
pub mod formatting;
pub mod hover;
pub mod quickfix;
pub mod scope;
pub mod server;
pub mod symbols;

/// Serve the Language Server Protocol on standard input and output until the client
/// says `exit` (or closes the input). Only protocol messages go to standard output.
pub fn run_stdio() -> Result<(), String> {
    let (connection, io) = lsp_server::Connection::stdio();
    server::serve(connection)?;
    io.join().map_err(|e| format!("flow lsp: {e}"))
}
