//! The standard library, embedded in the binary at build time: object schemas,
//! the event catalogue, currencies, the action catalogue, the API method catalogue and
//! the templates.
//!
//! Everything here is data under `stdlib/`; this module loads it once. The schemas,
//! the event list and the API catalogue are generated from Stripe's definitions by
//! `scripts/stripe-schemas`; object types and the API catalogue are parsed when first
//! used.

#![forbid(unsafe_code)]

pub mod api;
pub mod cron;
pub mod money;
pub mod schema;
pub mod suggest;

use std::collections::HashMap;
use std::sync::OnceLock;

pub use api::Catalogue;
use money::Currency;
pub use schema::{ActionDef, FieldDef, FieldType, ObjectDef, ParamDef};

mod embedded;

/// An event type and the object type of its `data.object`. The built-in standard
/// library has a schema for every one; `None` (dynamic JSON) is left for a standard
/// library given as files whose `events.txt` says `json`.
#[derive(Clone, Debug)]
pub struct EventDef {
    pub name: String,
    pub object: Option<String>,
    /// What the event means, as Stripe says it ("Occurs whenever …"); may be empty.
    pub description: String,
}

/// A template: a ready-made flow to start from.
#[derive(Clone, Debug)]
pub struct Template {
    /// The file stem, e.g. `tag_valuable_customers`.
    pub name: String,
    pub source: &'static str,
}

/// An object type of the schemas, parsed when first asked for.
struct LazyObject {
    /// Index into `Stdlib::schema_files`.
    file: usize,
    line: usize,
    body: &'static str,
    def: OnceLock<Result<ObjectDef, String>>,
}

pub struct Stdlib {
    /// Every object type, by name: its block of a schema file, parsed on first use
    /// (2,000 types, of which a check reads a few).
    objects: HashMap<String, LazyObject>,
    schema_files: Vec<String>,
    pub events: Vec<EventDef>,
    event_index: HashMap<String, usize>,
    currencies: HashMap<Currency, u32>,
    pub actions: Vec<ActionDef>,
    /// The files of the API catalogue (`api/*.def`), parsed when first asked for.
    api_files: Vec<(String, &'static str)>,
    api: OnceLock<Result<Catalogue, String>>,
    pub templates: Vec<Template>,
}

impl Stdlib {
    pub fn event(&self, name: &str) -> Option<&EventDef> {
        self.event_index.get(name).map(|&i| &self.events[i])
    }

    /// An object type by name. Its schema block is parsed the first time it is asked
    /// for; a block that does not parse is no object (`check_objects` reports it, and
    /// the tests check every built-in one).
    pub fn object(&self, name: &str) -> Option<&ObjectDef> {
        self.parsed(name)?.as_ref().ok()
    }

    fn parsed(&self, name: &str) -> Option<&Result<ObjectDef, String>> {
        let (key, lazy) = self.objects.get_key_value(name)?;
        Some(lazy.def.get_or_init(|| {
            schema::parse_block(
                self.schema_files.get(lazy.file).map_or("", String::as_str),
                &schema::ObjectBlock {
                    name: key,
                    line: lazy.line,
                    body: lazy.body,
                },
            )
        }))
    }

    /// Whether an object type of this name is defined (without parsing it).
    pub fn has_object(&self, name: &str) -> bool {
        self.objects.contains_key(name)
    }

    /// The names of every object type, in no particular order.
    pub fn object_names(&self) -> impl Iterator<Item = &str> {
        self.objects.keys().map(String::as_str)
    }

    /// Every object type, parsed (all of them: for tests and listings).
    pub fn objects(&self) -> impl Iterator<Item = &ObjectDef> {
        self.objects.keys().filter_map(|name| self.object(name))
    }

    /// Parse every object type: the first error, with its file and line.
    pub fn check_objects(&self) -> Result<(), String> {
        let mut names: Vec<&String> = self.objects.keys().collect();
        names.sort();
        for name in names {
            if let Some(Err(e)) = self.parsed(name) {
                return Err(e.clone());
            }
        }
        Ok(())
    }

    pub fn action(&self, name: &str) -> Option<&ActionDef> {
        self.actions.iter().find(|a| a.name == name)
    }

    pub fn currency_exponent(&self, c: Currency) -> Option<u32> {
        self.currencies.get(&c).copied()
    }

    pub fn currency_codes(&self) -> Vec<Currency> {
        let mut v: Vec<Currency> = self.currencies.keys().copied().collect();
        v.sort();
        v
    }

    pub fn template(&self, name: &str) -> Option<&Template> {
        self.templates.iter().find(|t| t.name == name)
    }

    /// Every API method (`api/*.def`); not yet used by the checker. Parsed on first
    /// use, so that commands that do not need it do not pay for it; an error says which
    /// file and line is wrong (the built-in files are checked by the tests).
    pub fn api(&self) -> Result<&Catalogue, &str> {
        self.api
            .get_or_init(|| {
                let mut api = Catalogue::default();
                for (path, text) in &self.api_files {
                    api.parse(path, text)?;
                }
                api.finish(|o| self.has_object(o))?;
                Ok(api)
            })
            .as_ref()
            .map_err(String::as_str)
    }
}

/// A deliberately simple check: something@domain.tld, no spaces.
pub fn is_email_address(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c == ',' || c == '<' || c == '>')
        && !domain.contains('@')
}

/// A file embedded from `stdlib/`, by relative path.
pub fn file(path: &str) -> Option<&'static str> {
    embedded::file(path)
}

/// The built-in standard library, loaded once. The data is part of the binary and
/// covered by tests, so a failure to load it is a build defect, reported as such.
///
/// Only the outer layers (the command line, the server) call this; the checker and
/// the stages after it take a `&Stdlib` they are given.
pub fn builtin() -> &'static Stdlib {
    static STDLIB: OnceLock<Stdlib> = OnceLock::new();
    STDLIB.get_or_init(|| match load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("flow: the built-in standard library is damaged: {e}");
            std::process::exit(70);
        }
    })
}

/// The built-in standard library, loaded afresh (see [`builtin`] for the shared one).
/// Its object types are parsed when first used (the tests parse every one).
pub fn load() -> Result<Stdlib, String> {
    build(embedded::FILES)
}

/// A standard library from files laid out as `stdlib/` is (`schemas/*.schema`,
/// `events.txt`, `currencies.txt`, `actions.def`, `api/*.def`, `templates/*.flow`), by path
/// relative to it: for a test's small schema, or another API version's. Every object
/// type is parsed here, so that a mistake is reported at once.
pub fn from_files(files: &[(&str, &'static str)]) -> Result<Stdlib, String> {
    let lib = build(files)?;
    lib.check_objects()?;
    Ok(lib)
}

fn build(files: &[(&str, &'static str)]) -> Result<Stdlib, String> {
    let mut objects: HashMap<String, LazyObject> = HashMap::new();
    let mut schema_files: Vec<String> = Vec::new();
    let mut currencies = HashMap::new();
    let mut events = Vec::new();
    let mut actions = Vec::new();
    let mut templates = Vec::new();
    let mut api_files = Vec::new();
    for (path, text) in files {
        if path.starts_with("schemas/") && path.ends_with(".schema") {
            let file = schema_files.len();
            schema_files.push(path.to_string());
            for block in schema::index_schema(path, text)? {
                if objects.contains_key(block.name) {
                    return Err(format!(
                        "{path}:{}: object `{}` is defined twice",
                        block.line, block.name
                    ));
                }
                objects.insert(
                    block.name.to_string(),
                    LazyObject {
                        file,
                        line: block.line,
                        body: block.body,
                        def: OnceLock::new(),
                    },
                );
            }
        } else if *path == "currencies.txt" {
            for (n, line) in text.lines().enumerate() {
                let line = line.split('#').next().unwrap_or("").trim();
                if line.is_empty() {
                    continue;
                }
                let mut w = line.split_whitespace();
                let code = w.next().and_then(Currency::parse);
                let exp = w.next().and_then(|e| e.parse::<u32>().ok());
                match (code, exp) {
                    (Some(c), Some(e)) => {
                        currencies.insert(c, e);
                    }
                    _ => {
                        return Err(format!(
                            "currencies.txt:{}: expected `CODE EXPONENT`",
                            n + 1
                        ))
                    }
                }
            }
        } else if *path == "events.txt" {
            events = parse_events(text)?;
        } else if *path == "actions.def" {
            actions = schema::parse_actions(text)?;
        } else if let Some(file) = path.strip_prefix("api/").filter(|p| p.ends_with(".def")) {
            api_files.push((format!("api/{file}"), *text));
        } else if let Some(stem) = path
            .strip_prefix("templates/")
            .and_then(|p| p.strip_suffix(".flow"))
        {
            if !stem.ends_with(".test") && !stem.contains('/') {
                templates.push(Template {
                    name: stem.to_string(),
                    source: text,
                });
            }
        }
    }
    for e in &events {
        if let Some(o) = &e.object {
            if !objects.contains_key(o) {
                return Err(format!(
                    "events.txt: the object of `{}` is `{o}`, which no schema defines",
                    e.name
                ));
            }
        }
    }
    let event_index = events
        .iter()
        .enumerate()
        .map(|(i, e)| (e.name.clone(), i))
        .collect();
    Ok(Stdlib {
        objects,
        schema_files,
        events,
        event_index,
        currencies,
        actions,
        api_files,
        api: OnceLock::new(),
        templates,
    })
}

/// `events.txt`: `EVENT_TYPE OBJECT [DESCRIPTION…]` a line (`json` for an object not
/// modelled); lines starting with `#` are comments (a description may contain `#`).
fn parse_events(text: &str) -> Result<Vec<EventDef>, String> {
    let mut events: Vec<EventDef> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = || format!("events.txt:{}", n + 1);
        let (name, rest) = line
            .split_once(char::is_whitespace)
            .ok_or_else(|| format!("{}: expected `EVENT_TYPE OBJECT [DESCRIPTION]`", at()))?;
        let rest = rest.trim_start();
        let (obj, description) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        if events.iter().any(|e| e.name == name) {
            return Err(format!("{}: event type `{name}` is listed twice", at()));
        }
        events.push(EventDef {
            name: name.to_string(),
            object: (obj != "json").then(|| obj.to_string()),
            description: description.trim().to_string(),
        });
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdlib_loads_and_is_consistent() {
        let s = load().expect("stdlib loads");
        s.check_objects().expect("every object type parses");
        assert!(s.events.len() >= 200, "all webhook event types are known");
        assert!(s.currency_codes().len() >= 100);
        for obj in s.objects() {
            let name = &obj.name;
            for f in &obj.fields {
                let mut ty = &f.ty;
                while let FieldType::List(inner) = ty {
                    ty = inner;
                }
                if let FieldType::Object(o) = ty {
                    assert!(
                        s.objects.contains_key(o),
                        "{name}.{}: object({o}) is defined",
                        f.name
                    );
                }
                if let FieldType::Money { currency_field } = ty {
                    assert!(
                        obj.field(currency_field).is_some(),
                        "{name}.{}: money's currency field `{currency_field}` exists",
                        f.name
                    );
                }
            }
        }
        for e in &s.events {
            let o = e.object.as_deref().unwrap_or("json");
            assert!(s.object(o).is_some(), "{}: {o} has a schema", e.name);
            assert!(!e.description.is_empty(), "{} is described", e.name);
        }
        let api = s.api().expect("the API catalogue loads");
        assert!(api.method_count() >= 500, "the API catalogue is whole");
        let void = api
            .method("invoices", "void_invoice")
            .expect("invoices.void_invoice");
        assert_eq!(void.path, "/v1/invoices/{id}/void");
        assert_eq!(void.verb, api::Verb::Post);
        assert_eq!(void.returns, api::Returns::Object("invoice".into()));
        for a in ["email", "refund"] {
            assert!(s.action(a).is_some(), "action {a} is in the catalogue");
        }
    }

    #[test]
    fn the_built_in_schemas_carry_stripes_descriptions() {
        let s = load().expect("stdlib loads");
        let field = |o: &str, f: &str| {
            s.object(o)
                .and_then(|o| o.field(f).cloned())
                .unwrap_or_else(|| panic!("{o}.{f} is in the schemas"))
        };
        assert_eq!(
            field("payment_intent", "amount").description.as_deref(),
            Some("Amount intended to be collected by this PaymentIntent.")
        );
        // a markdown link is kept as its text
        assert_eq!(
            field("charge", "failure_code").description.as_deref(),
            Some("Error code explaining reason for charge failure if available (see the errors section for a list of codes).")
        );
        // `e.g.` does not end the first sentence
        assert_eq!(
            field("issuing.authorization", "request_history").description.as_deref(),
            Some("History of every time a `pending_request` authorization was approved/declined, either by you directly or by Stripe (e.g. based on your spending_controls).")
        );
        // short: no description in the schemas is longer than 300 characters
        let mut described = 0;
        for obj in s.objects() {
            for f in &obj.fields {
                if let Some(d) = &f.description {
                    described += 1;
                    assert!(
                        d.chars().count() <= 300 && !d.contains('\n'),
                        "{}.{}: {d}",
                        obj.name,
                        f.name
                    );
                }
            }
        }
        assert!(described > 5000, "most fields are described ({described})");
        // a field of extras.schema has none
        assert_eq!(field("invoice", "subscription").description, None);
    }

    #[test]
    fn a_given_standard_library_is_checked_whole_when_loaded() {
        let bad = from_files(&[("schemas/w.schema", "object w\n  id strin\n")]);
        assert_eq!(
            bad.err().as_deref(),
            Some("schemas/w.schema:2: unknown type `strin`")
        );
        let twice = from_files(&[
            ("schemas/a.schema", "object w\n  id string\n"),
            ("schemas/b.schema", "# w again\nobject w\n  id string\n"),
        ]);
        assert_eq!(
            twice.err().as_deref(),
            Some("schemas/b.schema:2: object `w` is defined twice")
        );
        let unknown = from_files(&[("events.txt", "widget.created widget Occurs.\n")]);
        assert!(unknown
            .err()
            .is_some_and(|e| e.contains("no schema defines")));
        // The built-in one parses an object type when it is first asked for.
        let s = load().expect("stdlib loads");
        assert!(s.has_object("charge"));
        let charge = s.object("charge").expect("charge parses");
        assert!(charge.field("amount").is_some());
        assert!(s.object("no_such_object").is_none());
    }
}

/// `update` and `refund` are written on top of the catalogue: what they send is what
/// the catalogue's methods take (`retrieve` finds its path there: see the Stripe
/// bindings' `resource_path`).
#[cfg(test)]
mod on_the_catalogue {
    use super::*;

    #[test]
    fn refund_takes_what_refunds_create_takes() {
        let lib = load().expect("stdlib loads");
        let api = lib.api().expect("the catalogue loads");
        let create = api.method("refunds", "create").expect("refunds.create");
        let refund = lib.action("refund").expect("the refund action");
        for p in &refund.params {
            let m = create.param(&p.name).unwrap_or_else(|| {
                panic!("refund `{}` is not a parameter of refunds.create", p.name)
            });
            let same = match (&p.ty, &m.ty) {
                (FieldType::Enum { values: a, .. }, FieldType::Enum { values: b, .. }) => {
                    a.iter().all(|v| b.contains(v))
                }
                (a, b) => std::mem::discriminant(a) == std::mem::discriminant(b),
            };
            assert!(
                same,
                "refund `{}`: {:?} here, {:?} in refunds.create",
                p.name, p.ty, m.ty
            );
        }
    }

    #[test]
    fn every_updatable_field_is_a_parameter_of_its_update_method() {
        let lib = load().expect("stdlib loads");
        let api = lib.api().expect("the catalogue loads");
        let mut checked = 0;
        for r in &api.resources {
            let (Some(object), Some(update)) = (r.object.as_deref(), r.method("update")) else {
                continue;
            };
            if update.path_params().count() != 1 {
                continue;
            }
            let Some(def) = lib.object(object) else {
                continue;
            };
            for f in def.fields.iter().filter(|f| f.updatable) {
                assert!(
                    update.param(&f.name).is_some(),
                    "{object}.{} is updatable but not a parameter of {}.update",
                    f.name,
                    r.name
                );
                checked += 1;
            }
        }
        assert!(checked > 300, "{checked} updatable fields checked");
    }
}
