//! A flow project on disk: `flow.toml` ([`settings`]), the `.flow` files of a folder
//! ([`walk`]), and reading and building one file ([`load`]) — the one place where
//! the pipeline meets the file system. Every command starts here.
//!
//! ```
//! use flow_project::{build, settings::Settings};
//! use flow_syntax::SourceFile;
//!
//! let source = SourceFile::new("vip.flow", r#"
//!     on payment_intent.succeeded when amount > 1000 USD {
//!         update customer.metadata.Tier = "VIP"
//!     }"#);
//! let built = build(&source, &Settings::default(), "vip");
//! assert!(built.diagnostics.is_empty());
//! assert_eq!(built.compiled.programs[0].trigger, "payment_intent.succeeded");
//! ```

#![forbid(unsafe_code)]

pub mod load;
pub mod settings;
pub mod walk;

use std::sync::Arc;

use flow_check::Env;
use flow_syntax::{Diagnostic, SourceFile};

pub use load::{
    build_file, load_settings, read_json, read_source, recording, stem, FsLoader, LoadedFile,
};

/// The result of the front half of the pipeline for one file.
pub struct Build {
    pub checked: flow_check::Checked,
    pub compiled: flow_compile::Compiled,
    /// Syntax and type diagnostics, in source order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Build {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Parse, check and compile one source file against the built-in standard library,
/// with the business settings of `settings`; files its tests name are read relative
/// to the source's name. `default_name` names workflows that have no
/// `workflow "…"` line (the file's stem).
pub fn build(source: &Arc<SourceFile>, settings: &settings::Settings, default_name: &str) -> Build {
    let env = Env::new(flow_stdlib::builtin())
        .with_business(settings.business())
        .with_loader(&FsLoader);
    build_in(source, &env, default_name)
}

/// [`build`] in a given environment: any standard library, business and loader.
pub fn build_in(source: &Arc<SourceFile>, env: &Env<'_>, default_name: &str) -> Build {
    let parsed = flow_syntax::parse(source);
    let (checked, check_diags) =
        flow_check::check_file(&parsed.file, source.clone(), env, default_name);
    let mut diagnostics = parsed.diagnostics;
    diagnostics.extend(check_diags);
    diagnostics.sort_by_key(|d| d.primary_span().map_or(0, |s| s.start));
    let compiled = flow_compile::compile(&checked);
    Build {
        checked,
        compiled,
        diagnostics,
    }
}
