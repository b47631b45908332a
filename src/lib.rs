//! `flow`: a small typed language for automating work on Stripe events.
//!
//! This crate is the `flow` command line; the language lives in the crates under
//! `crates/`, one per stage, each handing a typed value to the next and depending
//! only on the crates below it:
//!
//! ```text
//! flow-syntax       text → ast::File                    (spans, grammar, parser, Diagnostic)
//! flow-format       text → text in the canonical layout (`flow fmt`; comments kept)
//! flow-diagnostics  Diagnostic → terminal text, LSP     (code registry)
//! flow-stdlib       Stripe schemas, events, actions, currencies, money, templates
//! flow-program      what a compiled workflow is         (bytecode, operands, disassembly, version)
//! flow-check        ast::File → Checked                 (names, types; no I/O)
//! flow-compile      Checked → Program
//! flow-vm           Program × Event → RunReport         (actions through the Bindings trait)
//! flow-bindings     recording; live Stripe, e-mail, Slack, http (feature `live`)
//! flow-project      flow.toml, the folder walker, read-and-build a file
//! flow-testing      `flow test`      flow-batch   `flow run --events`
//! flow-repl         `flow repl`      flow-serve   `flow serve`, the run log
//! flow (this)       the CLI: clap types, one module per command, output
//! ```
//!
//! The whole pipeline in a few lines:
//!
//! ```
//! use flow::{bindings::Recording, settings::Settings, syntax::SourceFile, vm::Event};
//!
//! let source = SourceFile::new("vip.flow", r#"
//!     on payment_intent.succeeded when amount > 1000 USD {
//!         update customer.metadata.Tier = "VIP"
//!     }"#);
//! let build = flow::build(&source, &Settings::default(), "vip");
//! assert!(build.diagnostics.is_empty());
//!
//! let event = Event::from_json(serde_json::json!({
//!     "id": "evt_1", "object": "event", "type": "payment_intent.succeeded",
//!     "data": { "object": { "id": "pi_1", "object": "payment_intent",
//!         "amount": 150000, "currency": "usd", "customer": "cus_1" } }
//! }), None).unwrap();
//! let report = flow::vm::run(&build.compiled.programs[0], &source, &event, &mut Recording::new());
//! assert_eq!(report.to_json()["actions"][0]["params"]["metadata"]["Tier"], "VIP");
//! ```

#![forbid(unsafe_code)]

pub mod cli;

pub use flow_bindings as bindings;
pub use flow_check as check;
pub use flow_diagnostics as diagnostics;
pub use flow_format as format;
pub use flow_program as program;
pub use flow_project::settings;
pub use flow_project::{build, Build};
#[cfg(feature = "serve")]
pub use flow_serve as serve;
pub use flow_stdlib as stdlib;
pub use flow_syntax as syntax;
pub use flow_vm as vm;

/// The compiler, with the program types it produces.
pub mod compile {
    pub use flow_compile::*;
}
