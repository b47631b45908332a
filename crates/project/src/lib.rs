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

/// What `flow check` needs of the file at `path`: the diagnostics of [`build_at`],
/// the same and in the same order, without compiling and without keeping a
/// workflow's tree once it is checked.
pub fn check_at(
    path: &std::path::Path,
    source: &Arc<SourceFile>,
    settings: &settings::Settings,
) -> Vec<Diagnostic> {
    let env = Env::new(flow_stdlib::builtin())
        .with_business(settings.business())
        .with_loader(&FsLoader);
    let subject = subject(path);
    let default_name = stem(path);
    if let Some(diagnostics) = check_one_at_a_time(source, &env, &default_name, &subject) {
        return diagnostics;
    }
    let parsed = flow_syntax::parse(source);
    let mut file = parsed.file;
    let actions = with_subject_actions(std::mem::take(&mut file.actions), &subject);
    let mut check = flow_check::FileCheck::new(&actions, &env, &default_name);
    for w in std::mem::take(&mut file.workflows) {
        check.workflow(&w);
    }
    let (_, check_diags) = check.finish(&file.tests, &subject.inputs, source);
    let mut diagnostics = parsed.diagnostics;
    diagnostics.extend(check_diags);
    diagnostics.sort_by_key(|d| d.primary_span().map_or(0, |s| s.start));
    diagnostics
}

/// [`check_at`] holding one workflow's tree at a time: the file is read once for its
/// actions and tests, then each workflow is read again, checked and dropped. `None`
/// where the hand-written parser declines the file (a syntax error): then the file is
/// parsed whole, and pest reports its problems.
fn check_one_at_a_time(
    source: &Arc<SourceFile>,
    env: &Env<'_>,
    default_name: &str,
    subject: &Subject,
) -> Option<Vec<Diagnostic>> {
    let outline = flow_syntax::parser::outline(source)?;
    let actions = with_subject_actions(outline.file.actions.clone(), subject);
    let mut check = flow_check::FileCheck::new(&actions, env, default_name);
    // In the order `parse` and `check_file` give them: every syntax diagnostic (the
    // workflows', then the tests'), then every check diagnostic.
    let mut diagnostics = Vec::new();
    for i in 0..outline.workflow_count() {
        let (workflow, syntax) = outline.workflow(source, i)?;
        diagnostics.extend(syntax);
        check.workflow(&workflow);
    }
    diagnostics.extend(outline.test_diagnostics(source));
    let (_, check_diags) = check.finish(&outline.file.tests, &subject.inputs, source);
    diagnostics.extend(check_diags);
    diagnostics.sort_by_key(|d| d.primary_span().map_or(0, |s| s.start));
    Some(diagnostics)
}

/// The file's own custom actions, then those of the file it tests that it does not
/// declare itself.
fn with_subject_actions(
    mut own: Vec<flow_syntax::ast::ActionDecl>,
    subject: &Subject,
) -> Vec<flow_syntax::ast::ActionDecl> {
    let names: Vec<String> = own.iter().map(|a| a.name.name.clone()).collect();
    own.extend(
        subject
            .actions
            .iter()
            .filter(|a| !names.contains(&a.name.name))
            .cloned(),
    );
    own
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
    let mut parsed = flow_syntax::parse(source);
    parsed.file.subject_inputs = subject.inputs.clone();
    parsed.file.actions = with_subject_actions(std::mem::take(&mut parsed.file.actions), subject);
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
