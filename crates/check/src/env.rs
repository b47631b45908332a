//! What a check runs against: the standard library, the business's settings, and
//! a loader for the files that tests name. The checker itself never touches the
//! disk, so an editor or a WASM build can embed it.

use serde_json::Value as Json;

use flow_stdlib::money::{Currency, Money};
use flow_stdlib::Stdlib;
use flow_syntax::SourceFile;

/// Files that a test names (`given "events/x.json"`, `with "objects/"`), read on
/// the checker's behalf. Paths are as written, relative to the file being checked.
pub trait Loader {
    /// The text of a file: `Ok((shown name, text))`, or why it cannot be read.
    fn read(&self, from: &SourceFile, path: &str) -> Result<(String, String), String>;
    /// The Stripe objects of a `.json` file or of a folder of them, each with an `id`.
    fn objects(&self, from: &SourceFile, path: &str) -> Result<Vec<Json>, String>;
}

/// A loader for sources that have no files beside them (an editor buffer, a REPL
/// line): every file a test names is reported as unavailable.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoFiles;

impl Loader for NoFiles {
    fn read(&self, _from: &SourceFile, path: &str) -> Result<(String, String), String> {
        Err(format!(
            "cannot read {path}: this source has no files beside it"
        ))
    }

    fn objects(&self, _from: &SourceFile, path: &str) -> Result<Vec<Json>, String> {
        Err(format!(
            "cannot read {path}: this source has no files beside it"
        ))
    }
}

/// The business's settings that change what a program means: a bare number compared
/// with money is in `default_currency`; `dispute_fee` is a name in conditions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Business {
    pub default_currency: Currency,
    pub dispute_fee: Money,
    /// The most actions one run carries out (`[run] max_actions`).
    pub max_actions: u32,
}

impl Default for Business {
    fn default() -> Business {
        let usd = Currency::USD;
        Business {
            default_currency: usd,
            dispute_fee: Money::new(1500, usd),
            max_actions: flow_program::DEFAULT_MAX_ACTIONS,
        }
    }
}

/// Everything a check reads besides the source.
#[derive(Clone, Copy)]
pub struct Env<'a> {
    pub lib: &'a Stdlib,
    pub business: Business,
    pub loader: &'a dyn Loader,
}

impl<'a> Env<'a> {
    /// The given standard library with the default business settings and no files.
    pub fn new(lib: &'a Stdlib) -> Env<'a> {
        Env {
            lib,
            business: Business::default(),
            loader: &NoFiles,
        }
    }

    pub fn with_business(self, business: Business) -> Env<'a> {
        Env { business, ..self }
    }

    pub fn with_loader(self, loader: &'a dyn Loader) -> Env<'a> {
        Env { loader, ..self }
    }
}
