//! The standard library, embedded in the binary at build time: object schemas,
//! the event catalogue, currencies, the action catalogue and the templates.
//!
//! Everything here is data under `stdlib/`; this module loads it once.

#![forbid(unsafe_code)]

pub mod api;
pub mod money;
pub mod schema;

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

pub struct Stdlib {
    pub objects: HashMap<String, ObjectDef>,
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

    pub fn object(&self, name: &str) -> Option<&ObjectDef> {
        self.objects.get(name)
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
                api.finish(|o| self.objects.contains_key(o))?;
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
pub fn load() -> Result<Stdlib, String> {
    from_files(embedded::FILES)
}

/// A standard library from files laid out as `stdlib/` is (`schemas/*.schema`,
/// `events.txt`, `currencies.txt`, `actions.def`, `api/*.def`, `templates/*.flow`), by path
/// relative to it: for a test's small schema, or another API version's.
pub fn from_files(files: &[(&str, &'static str)]) -> Result<Stdlib, String> {
    let mut objects = HashMap::new();
    let mut currencies = HashMap::new();
    let mut events = Vec::new();
    let mut actions = Vec::new();
    let mut templates = Vec::new();
    let mut api_files = Vec::new();
    for (path, text) in files {
        if path.starts_with("schemas/") && path.ends_with(".schema") {
            schema::parse_schema(path, text, &mut objects)?;
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
        assert!(s.events.len() >= 200, "all webhook event types are known");
        assert!(s.currency_codes().len() >= 100);
        for (name, obj) in &s.objects {
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
}
