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
    build_file, load_settings, read_json, read_source, recording, stem, subject, FsLoader,
    LoadedFile, Subject,
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

    /// The errors among the diagnostics (not the warnings), in order.
    pub fn errors(&self) -> Vec<&Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error()).collect()
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

/// [`build`] for the file at `path`: a test file `NAME.test.flow` sees what its tests
/// need of `NAME.flow` ([`Subject`]).
pub fn build_at(
    path: &std::path::Path,
    source: &Arc<SourceFile>,
    settings: &settings::Settings,
) -> Build {
    let env = Env::new(flow_stdlib::builtin())
        .with_business(settings.business())
        .with_loader(&FsLoader);
    build_with_subject(source, &env, &stem(path), &subject(path))
}

/// [`build`] in a given environment: any standard library, business and loader.
pub fn build_in(source: &Arc<SourceFile>, env: &Env<'_>, default_name: &str) -> Build {
    build_with_subject(source, env, default_name, &Subject::default())
}

/// [`build_in`], with what a test file sees of the file it tests in scope too: its
/// custom actions (for `expect`) and the inputs of its on-demand workflows. Problems
/// in those declarations are their own file's to report.
pub fn build_with_subject(
    source: &Arc<SourceFile>,
    env: &Env<'_>,
    default_name: &str,
    subject: &Subject,
) -> Build {
    let actions = &subject.actions;
    let mut parsed = flow_syntax::parse(source);
    parsed.file.subject_inputs = subject.inputs.clone();
    let own: Vec<String> = parsed
        .file
        .actions
        .iter()
        .map(|a| a.name.name.clone())
        .collect();
    parsed.file.actions.extend(
        actions
            .iter()
            .filter(|a| !own.contains(&a.name.name))
            .cloned(),
    );
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
