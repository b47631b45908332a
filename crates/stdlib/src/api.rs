//! The API method catalogue: `stdlib/api/*.def`, generated from Stripe's published
//! definitions by `scripts/stripe-schemas` (do not edit those files by hand).
//!
//! One file per resource, named as in Stripe's Python library (`credit_notes.def`,
//! `checkout.sessions.def`), plus `shared.def` for parameter types several resources use:
//!
//! ```text
//! resource credit_notes credit_note            # the resource and its object type (or -)
//!
//! method void_credit_note POST /v1/credit_notes/{id}/void -> credit_note  "Marks a credit note as void."
//!   id      string        path                 # a path parameter, in path order
//!   expand  list(string)  optional             # a body or query parameter
//!
//! params credit_notes.create.line              # a nested parameter type
//!   amount  integer  optional
//! ```
//!
//! Parameter types are those of the schema files (`schema.rs`); `object(NAME)` names a
//! `params NAME` block. A method returns an object type, `list(OBJECT)` (a list or search
//! result page) or `json`. Lines whose first character is `#` are comments.

use std::collections::HashMap;

use crate::schema::{parse_type, FieldType};

/// The HTTP verb of a method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    Get,
    Post,
    Delete,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Delete => "DELETE",
        }
    }
}

/// What a method answers.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Returns {
    /// One object of this type.
    Object(String),
    /// A page of a list or a search: `data` holds objects of this type.
    List(String),
    /// Not described by an object type.
    #[default]
    Json,
}

impl Returns {
    /// `invoice`, `list(invoice)` or `json`: as the catalogue writes it.
    pub fn parse(text: &str) -> Returns {
        match text.strip_prefix("list(").and_then(|r| r.strip_suffix(')')) {
            Some(o) => Returns::List(o.to_string()),
            None if text == "json" => Returns::Json,
            None => Returns::Object(text.to_string()),
        }
    }
}

impl std::fmt::Display for Returns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Returns::Object(o) => f.write_str(o),
            Returns::List(o) => write!(f, "list({o})"),
            Returns::Json => f.write_str("json"),
        }
    }
}

/// A parameter of a method, or a field of a nested parameter type.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiParam {
    pub name: String,
    pub ty: FieldType,
    /// `null` (or an empty string) may be sent to unset it.
    pub nullable: bool,
    pub required: bool,
    /// Part of the path (`{id}`), not of the query or the body.
    pub in_path: bool,
}

#[derive(Clone, Debug)]
pub struct Method {
    /// As in Stripe's Python library: `void_invoice`, `create`, `list`.
    pub name: String,
    pub verb: Verb,
    /// With placeholders: `/v1/invoices/{id}/void`.
    pub path: String,
    /// The path parameters first, in path order, then the others.
    pub params: Vec<ApiParam>,
    pub returns: Returns,
    pub summary: String,
}

impl Method {
    pub fn param(&self, name: &str) -> Option<&ApiParam> {
        self.params.iter().find(|p| p.name == name)
    }

    pub fn path_params(&self) -> impl Iterator<Item = &ApiParam> {
        self.params.iter().filter(|p| p.in_path)
    }

    /// How the method is called: `stripe.invoices.void_invoice(id)`, the IDs of the
    /// path by position, then the required parameters by name
    /// (`stripe.credit_notes.create(invoice: …)`).
    pub fn call_form(&self, resource: &str) -> String {
        let mut args: Vec<String> = self.path_params().map(|p| p.name.clone()).collect();
        args.extend(
            self.params
                .iter()
                .filter(|p| p.required && !p.in_path)
                .map(|p| format!("{}: …", p.name)),
        );
        format!("stripe.{resource}.{}({})", self.name, args.join(", "))
    }
}

#[derive(Clone, Debug)]
pub struct Resource {
    /// `credit_notes`, `checkout.sessions`.
    pub name: String,
    /// The object type the resource is about, if it has one.
    pub object: Option<String>,
    pub methods: Vec<Method>,
}

impl Resource {
    pub fn method(&self, name: &str) -> Option<&Method> {
        self.methods.iter().find(|m| m.name == name)
    }
}

/// Every API method, by resource, and the nested parameter types they use.
#[derive(Clone, Debug, Default)]
pub struct Catalogue {
    pub resources: Vec<Resource>,
    param_types: HashMap<String, Vec<ApiParam>>,
    index: HashMap<String, usize>,
}

impl Catalogue {
    pub fn resource(&self, name: &str) -> Option<&Resource> {
        self.index.get(name).map(|&i| &self.resources[i])
    }

    /// `catalogue.method("invoices", "void_invoice")`.
    pub fn method(&self, resource: &str, method: &str) -> Option<&Method> {
        self.resource(resource)?.method(method)
    }

    /// The fields of a nested parameter type (`object(NAME)` in a parameter's type).
    pub fn param_type(&self, name: &str) -> Option<&[ApiParam]> {
        self.param_types.get(name).map(Vec::as_slice)
    }

    pub fn param_type_count(&self) -> usize {
        self.param_types.len()
    }

    pub fn method_count(&self) -> usize {
        self.resources.iter().map(|r| r.methods.len()).sum()
    }

    /// Parse one `.def` file into the catalogue. Call [`Catalogue::finish`] after the
    /// last one.
    pub fn parse(&mut self, file: &str, text: &str) -> Result<(), String> {
        enum Block {
            None,
            Method,
            Params(String),
        }
        let mut block = Block::None;
        let mut resource: Option<usize> = None;
        for (n, raw) in text.lines().enumerate() {
            let at = || format!("{file}:{}", n + 1);
            if raw.trim().is_empty() || raw.starts_with('#') {
                continue;
            }
            if let Some(rest) = raw.strip_prefix("resource ") {
                let mut w = rest.split_whitespace();
                let (Some(name), Some(object), None) = (w.next(), w.next(), w.next()) else {
                    return Err(format!("{}: expected `resource NAME OBJECT`", at()));
                };
                if self.index.contains_key(name) {
                    return Err(format!("{}: resource `{name}` is defined twice", at()));
                }
                self.index.insert(name.to_string(), self.resources.len());
                resource = Some(self.resources.len());
                self.resources.push(Resource {
                    name: name.to_string(),
                    object: (object != "-").then(|| object.to_string()),
                    methods: Vec::new(),
                });
                block = Block::None;
            } else if let Some(rest) = raw.strip_prefix("method ") {
                let r = resource
                    .ok_or_else(|| format!("{}: a method before any `resource` line", at()))?;
                let method = parse_method(rest).map_err(|e| format!("{}: {e}", at()))?;
                let res = &mut self.resources[r];
                if res.method(&method.name).is_some() {
                    return Err(format!(
                        "{}: method `{}.{}` is defined twice",
                        at(),
                        res.name,
                        method.name
                    ));
                }
                res.methods.push(method);
                block = Block::Method;
            } else if let Some(rest) = raw.strip_prefix("params ") {
                let name = rest.trim();
                if name.is_empty() || name.contains(char::is_whitespace) {
                    return Err(format!("{}: expected `params NAME`", at()));
                }
                if self.param_types.contains_key(name) {
                    return Err(format!(
                        "{}: parameter type `{name}` is defined twice",
                        at()
                    ));
                }
                self.param_types.insert(name.to_string(), Vec::new());
                block = Block::Params(name.to_string());
            } else if raw.starts_with(' ') {
                let param = parse_param(raw).map_err(|e| format!("{}: {e}", at()))?;
                let list = match &block {
                    Block::None => {
                        return Err(format!(
                            "{}: a parameter outside a `method` or `params` block",
                            at()
                        ))
                    }
                    Block::Method => {
                        let r = resource.unwrap_or_default();
                        match self.resources[r].methods.last_mut() {
                            Some(m) => &mut m.params,
                            None => return Err(format!("{}: a parameter before any method", at())),
                        }
                    }
                    Block::Params(name) => match self.param_types.get_mut(name) {
                        Some(list) => list,
                        None => return Err(format!("{}: unknown parameter block", at())),
                    },
                };
                if list.iter().any(|p| p.name == param.name) {
                    return Err(format!(
                        "{}: parameter `{}` is listed twice",
                        at(),
                        param.name
                    ));
                }
                if param.in_path && matches!(block, Block::Params(_)) {
                    return Err(format!(
                        "{}: `path` is for a method's parameters only",
                        at()
                    ));
                }
                list.push(param);
            } else {
                return Err(format!(
                    "{}: expected `resource`, `method`, `params` or an indented parameter",
                    at()
                ));
            }
        }
        Ok(())
    }

    /// Check what the files say of each other: every `object(NAME)` of a parameter is a
    /// parameter type, every path placeholder a path parameter, every type a method
    /// returns or a resource is about one of `objects`.
    pub fn finish(&self, object_exists: impl Fn(&str) -> bool) -> Result<(), String> {
        let check_params = |owner: &str, params: &[ApiParam]| -> Result<(), String> {
            for p in params {
                let mut ty = &p.ty;
                while let FieldType::List(inner) = ty {
                    ty = inner;
                }
                if let FieldType::Object(o) = ty {
                    if !self.param_types.contains_key(o) {
                        return Err(format!(
                            "{owner}: parameter `{}` names `object({o})`, which no `params` block defines",
                            p.name
                        ));
                    }
                }
            }
            Ok(())
        };
        for r in &self.resources {
            if let Some(o) = &r.object {
                if !object_exists(o) {
                    return Err(format!("resource `{}`: no schema for `{o}`", r.name));
                }
            }
            for m in &r.methods {
                let owner = format!("method `{}.{}`", r.name, m.name);
                check_params(&owner, &m.params)?;
                let placeholders = placeholders(&m.path);
                let path: Vec<&str> = m.path_params().map(|p| p.name.as_str()).collect();
                if placeholders != path {
                    return Err(format!(
                        "{owner}: the path {} has the placeholders {placeholders:?}, the path parameters are {path:?}",
                        m.path
                    ));
                }
                if let Returns::Object(o) | Returns::List(o) = &m.returns {
                    if !object_exists(o) {
                        return Err(format!("{owner}: returns `{o}`, which has no schema"));
                    }
                }
            }
        }
        for (name, params) in &self.param_types {
            check_params(&format!("params `{name}`"), params)?;
        }
        Ok(())
    }
}

fn placeholders(path: &str) -> Vec<&str> {
    path.split('{')
        .skip(1)
        .filter_map(|s| s.split_once('}').map(|(name, _)| name))
        .collect()
}

/// `NAME VERB PATH -> RETURNS ["summary"]`
fn parse_method(rest: &str) -> Result<Method, String> {
    let (head, summary) = match rest.find('"') {
        Some(i) => {
            let s = rest[i..].trim_end();
            let inner = s
                .strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
                .ok_or("the summary must be one quoted string at the end of the line")?;
            (&rest[..i], inner.to_string())
        }
        None => (rest, String::new()),
    };
    let mut w = head.split_whitespace();
    let (Some(name), Some(verb), Some(path), Some("->"), Some(returns), None) =
        (w.next(), w.next(), w.next(), w.next(), w.next(), w.next())
    else {
        return Err("expected `method NAME VERB PATH -> RETURNS \"summary\"`".into());
    };
    let verb = match verb {
        "GET" => Verb::Get,
        "POST" => Verb::Post,
        "DELETE" => Verb::Delete,
        other => return Err(format!("unknown HTTP verb `{other}`")),
    };
    if !path.starts_with('/') {
        return Err(format!("the path `{path}` does not start with /"));
    }
    let returns = Returns::parse(returns);
    Ok(Method {
        name: name.to_string(),
        verb,
        path: path.to_string(),
        params: Vec::new(),
        returns,
        summary,
    })
}

/// `  NAME TYPE [optional | path]`
fn parse_param(line: &str) -> Result<ApiParam, String> {
    let mut w = line.split_whitespace();
    let name = w.next().ok_or("empty parameter line")?;
    let ty = w
        .next()
        .ok_or_else(|| format!("parameter `{name}` has no type"))?;
    let (ty, nullable) = parse_type(ty)?;
    let mut p = ApiParam {
        name: name.to_string(),
        ty,
        nullable,
        required: true,
        in_path: false,
    };
    for flag in w {
        match flag {
            "optional" => p.required = false,
            "path" => p.in_path = true,
            other => {
                return Err(format!(
                    "unknown flag `{other}` (expected `optional` or `path`)"
                ))
            }
        }
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
# a comment
resource credit_notes credit_note

method create POST /v1/credit_notes -> credit_note  \"Issue a credit note.\"
  invoice  string
  amount   money                         optional
  lines    list(object(credit_notes.create.line))  optional
  currency currency                      optional

method void_credit_note POST /v1/credit_notes/{id}/void -> credit_note
  id      string        path
  expand  list(string)  optional

method list GET /v1/credit_notes -> list(credit_note)

params credit_notes.create.line
  amount  integer  optional
  type    enum(custom_line_item|invoice_line_item)
";

    fn sample() -> Catalogue {
        let mut c = Catalogue::default();
        c.parse("credit_notes.def", SAMPLE).expect("parses");
        c
    }

    #[test]
    fn parses_resources_methods_and_param_types() {
        let c = sample();
        c.finish(|o| o == "credit_note").expect("consistent");
        let r = c.resource("credit_notes").expect("resource");
        assert_eq!(r.object.as_deref(), Some("credit_note"));
        let create = c.method("credit_notes", "create").expect("create");
        assert_eq!(create.verb, Verb::Post);
        assert_eq!(create.summary, "Issue a credit note.");
        assert_eq!(create.returns, Returns::Object("credit_note".into()));
        let invoice = create.param("invoice").expect("invoice");
        assert!(invoice.required && !invoice.in_path);
        assert!(!create.param("amount").expect("amount").required);
        let void = c.method("credit_notes", "void_credit_note").expect("void");
        assert_eq!(void.path, "/v1/credit_notes/{id}/void");
        assert_eq!(
            void.path_params()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>(),
            ["id"]
        );
        assert_eq!(
            c.method("credit_notes", "list").map(|m| &m.returns),
            Some(&Returns::List("credit_note".into()))
        );
        let line = c
            .param_type("credit_notes.create.line")
            .expect("param type");
        assert!(matches!(line[1].ty, FieldType::Enum { open: false, .. }));
    }

    #[test]
    fn refuses_what_does_not_fit() {
        let bad = |text: &str| {
            let mut c = Catalogue::default();
            c.parse("x.def", text)
                .and_then(|()| c.finish(|o| o == "credit_note"))
                .expect_err("refused")
        };
        assert!(bad("  id string path\n").contains("x.def:1"));
        assert!(bad("resource r -\nmethod m PATCH /v1/x -> json\n").contains("unknown HTTP verb"));
        assert!(bad("resource r -\nmethod m GET /v1/x/{id} -> json\n").contains("placeholders"));
        assert!(
            bad("resource r -\nmethod m GET /v1/x -> json\n  a string sometimes\n")
                .contains("unknown flag `sometimes`")
        );
        assert!(
            bad("resource r -\nmethod m GET /v1/x -> json\n  a object(nope)\n")
                .contains("no `params` block")
        );
        assert!(bad("resource r -\nmethod m GET /v1/x -> widget\n").contains("no schema"));
        assert!(
            bad("resource r -\nmethod m GET /v1/x -> json\nmethod m GET /v1/y -> json\n")
                .contains("defined twice")
        );
        assert!(bad("resource r -\nmethod m GET /v1/x -> json\n  a strin\n")
            .contains("unknown type `strin`"));
    }
}
