//! `flow`: a small typed language for automating work on Stripe events.
//!
//! The pipeline, one module per stage, each handing a typed value to the next:
//!
//! ```text
//! syntax  (grammar/flow.pest → ast::File)
//!   → check   (ast::File → Checked: names resolved against stdlib schemas, types)
//!   → compile (Checked → Program: bytecode, constant pool, field-read table)
//!   → vm      (Program × Event → RunReport; side effects through bindings)
//! ```
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

pub mod batch;
pub mod bindings;
pub mod check;
pub mod cli;
pub mod compile;
pub mod diagnostics;
pub mod money;
pub mod preview;
pub mod repl;
pub mod serve;
pub mod settings;
pub mod stdlib;
pub mod syntax;
pub mod testing;
pub mod vm;

use std::sync::Arc;

use diagnostics::Diagnostic;
use syntax::SourceFile;

/// The result of the front half of the pipeline for one file.
pub struct Build {
    pub checked: check::Checked,
    pub compiled: compile::Compiled,
    /// Syntax and type diagnostics, in source order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Build {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Parse, check and compile one source file. `default_name` names workflows that
/// have no `workflow "…"` line (the file's stem).
pub fn build(source: &Arc<SourceFile>, settings: &settings::Settings, default_name: &str) -> Build {
    let parsed = syntax::parse(source);
    let (checked, check_diags) =
        check::check_file(&parsed.file, source.clone(), settings, default_name);
    let mut diagnostics = parsed.diagnostics;
    diagnostics.extend(check_diags);
    diagnostics.sort_by_key(|d| d.primary_span().map_or(0, |s| s.start));
    let compiled = compile::compile(&checked);
    Build {
        checked,
        compiled,
        diagnostics,
    }
}
