//! The schema files under `stdlib/schemas/`: one `object NAME` block per Stripe
//! object type, one line per field: `NAME TYPE [absent] [update] ["DESCRIPTION"]`.
//! The description (Stripe's, its first sentence) is optional; it holds no `"` and may
//! hold `#`.
//!
//! TYPE is `string`, `integer`, `decimal`, `bool`, `timestamp`, `currency`,
//! `metadata`, `json`, `money` / `money(FIELD)`, `ref(OBJECT)`, `enum(a|b)` (closed),
//! `enum+(a|b)` (open), `list(TYPE)`, `object(NAME)`; a trailing `?` makes it nullable.
//! `#` starts a comment. The same types describe the parameters of the API catalogue
//! (`api.rs`), where `object(NAME)` names a parameter type.
//!
//! The files are generated from Stripe's definitions by `scripts/stripe-schemas` (its
//! `generate.mjs` says how each declaration becomes a type); do not edit them by hand.
//! Nested objects are named by their place: `charge.outcome`, `invoice.automatic_tax`;
//! `X.list` is the list object of `X` (`object`, `data: list(object(X))`, `has_more`,
//! `url`), `deleted_X` what Stripe answers when X is deleted.

use std::collections::HashMap;

/// The type of a field or an action parameter, as declared in the stdlib.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldType {
    String,
    Integer,
    Decimal,
    Bool,
    Timestamp,
    Currency,
    Metadata,
    Json,
    /// Minor units; the currency is the named sibling field.
    Money {
        currency_field: String,
    },
    /// The ID of another object, which may come expanded.
    Ref(String),
    Enum {
        values: Vec<String>,
        open: bool,
    },
    List(Box<FieldType>),
    Object(String),
    /// Action parameters only: one e-mail address or a list of them.
    Addresses,
    /// Action parameters only: an ordered table of label → value.
    Table,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FieldDef {
    pub name: String,
    pub ty: FieldType,
    pub nullable: bool,
    /// The key may be missing from the JSON.
    pub absent: bool,
    /// Settable through the object's update endpoint.
    pub updatable: bool,
    /// What the field is, as Stripe says it; `None` when the schema gives nothing.
    pub description: Option<String>,
}

impl FieldDef {
    /// Whether a read may give null: nullable, or absent from the JSON.
    pub fn may_be_null(&self) -> bool {
        self.nullable || self.absent
    }
}

#[derive(Clone, Debug, Default)]
pub struct ObjectDef {
    pub name: String,
    pub fields: Vec<FieldDef>,
    index: HashMap<String, usize>,
}

impl ObjectDef {
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.index.get(name).map(|&i| &self.fields[i])
    }
}

pub fn parse_type(text: &str) -> Result<(FieldType, bool), String> {
    let (body, nullable) = match text.strip_suffix('?') {
        Some(b) => (b, true),
        None => (text, false),
    };
    Ok((parse_type_body(body)?, nullable))
}

fn inner<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    text.strip_prefix(prefix)?
        .strip_prefix('(')?
        .strip_suffix(')')
}

fn parse_type_body(t: &str) -> Result<FieldType, String> {
    Ok(match t {
        "string" => FieldType::String,
        "integer" => FieldType::Integer,
        "decimal" => FieldType::Decimal,
        "bool" => FieldType::Bool,
        "timestamp" => FieldType::Timestamp,
        "currency" => FieldType::Currency,
        "metadata" => FieldType::Metadata,
        "json" => FieldType::Json,
        "money" => FieldType::Money {
            currency_field: "currency".into(),
        },
        "addresses" => FieldType::Addresses,
        "table" => FieldType::Table,
        _ => {
            if let Some(f) = inner(t, "money") {
                FieldType::Money {
                    currency_field: f.to_string(),
                }
            } else if let Some(o) = inner(t, "ref") {
                FieldType::Ref(o.to_string())
            } else if let Some(v) = inner(t, "enum+") {
                FieldType::Enum {
                    values: enum_values(v)?,
                    open: true,
                }
            } else if let Some(v) = inner(t, "enum") {
                FieldType::Enum {
                    values: enum_values(v)?,
                    open: false,
                }
            } else if let Some(e) = inner(t, "list") {
                FieldType::List(Box::new(parse_type_body(e.trim_end_matches('?'))?))
            } else if let Some(o) = inner(t, "object") {
                FieldType::Object(o.to_string())
            } else {
                return Err(format!("unknown type `{t}`"));
            }
        }
    })
}

fn enum_values(v: &str) -> Result<Vec<String>, String> {
    let values: Vec<String> = v.split('|').map(str::to_string).collect();
    if values.iter().any(String::is_empty) {
        return Err(format!("`enum({v})` has an empty value"));
    }
    Ok(values)
}

/// One `object NAME` block of a schema file, not parsed yet: its fields are read when
/// the object is first asked for (see `Stdlib::object`).
#[derive(Clone, Debug)]
pub struct ObjectBlock<'a> {
    pub name: &'a str,
    /// The line number (from 1) of the `object` line.
    pub line: usize,
    /// The lines after the `object` line, up to the next one.
    pub body: &'a str,
}

/// Split a schema file into its object blocks. What lies outside a block (other than
/// comments and blank lines) and a malformed `object` line are errors here; the field
/// lines are checked by [`parse_block`].
pub fn index_schema<'a>(file: &str, text: &'a str) -> Result<Vec<ObjectBlock<'a>>, String> {
    // (name, line of `object`, where its body starts, where the `object` line starts)
    let mut heads: Vec<(&'a str, usize, usize, usize)> = Vec::new();
    let mut offset = 0;
    for (n, raw) in text.split_inclusive('\n').enumerate() {
        let line_start = offset;
        offset += raw.len();
        let line = raw.split('#').next().unwrap_or("").trim_end();
        if line.trim().is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix("object ") {
            let name = name.trim();
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(format!("{file}:{}: expected `object NAME`", n + 1));
            }
            heads.push((name, n + 1, offset, line_start));
        } else if heads.is_empty() {
            return Err(format!("{file}:{}: field outside an `object` block", n + 1));
        }
    }
    let ends: Vec<usize> = heads
        .iter()
        .skip(1)
        .map(|h| h.3)
        .chain(std::iter::once(text.len()))
        .collect();
    Ok(heads
        .iter()
        .zip(ends)
        .map(|(&(name, line, start, _), end)| ObjectBlock {
            name,
            line,
            body: text.get(start..end).unwrap_or(""),
        })
        .collect())
}

/// Parse the fields of one object block of `file`. A field defined twice is an error.
pub fn parse_block(file: &str, block: &ObjectBlock<'_>) -> Result<ObjectDef, String> {
    let mut obj = ObjectDef {
        name: block.name.to_string(),
        ..ObjectDef::default()
    };
    for (n, raw) in block.body.lines().enumerate() {
        let at = || format!("{file}:{}", block.line + n + 1);
        let (line, description) = split_description(raw).map_err(|e| format!("{}: {e}", at()))?;
        if line.trim().is_empty() {
            if description.is_some() {
                return Err(format!("{}: a description without a field", at()));
            }
            continue;
        }
        let mut words = line.split_whitespace();
        let name = words
            .next()
            .ok_or_else(|| format!("{}: empty field line", at()))?;
        let ty = words
            .next()
            .ok_or_else(|| format!("{}: field `{name}` has no type", at()))?;
        let (ty, nullable) = parse_type(ty).map_err(|e| format!("{}: {e}", at()))?;
        let mut def = FieldDef {
            name: name.to_string(),
            ty,
            nullable,
            absent: false,
            updatable: false,
            description,
        };
        for flag in words {
            match flag {
                "absent" => def.absent = true,
                "update" => def.updatable = true,
                other => return Err(format!("{}: unknown flag `{other}`", at())),
            }
        }
        if obj.index.contains_key(&def.name) {
            return Err(format!(
                "{}: field `{}` of `{}` is defined twice",
                at(),
                def.name,
                obj.name
            ));
        }
        obj.index.insert(def.name.clone(), obj.fields.len());
        obj.fields.push(def);
    }
    Ok(obj)
}

/// A field line without its comment, and its `"description"` if it has one: a `#`
/// before the first `"` starts a comment; after the closing `"` only a comment may follow.
fn split_description(raw: &str) -> Result<(&str, Option<String>), String> {
    let quote = raw.find('"');
    let hash = raw.find('#');
    let Some(q) = quote.filter(|&q| hash.is_none_or(|h| q < h)) else {
        return Ok((raw.split('#').next().unwrap_or("").trim_end(), None));
    };
    let rest = &raw[q + 1..];
    let close = rest
        .find('"')
        .ok_or_else(|| "the description has no closing `\"`".to_string())?;
    let after = rest[close + 1..].trim_start();
    if !after.is_empty() && !after.starts_with('#') {
        return Err(format!("unexpected `{after}` after the description"));
    }
    let text = rest[..close].trim();
    Ok((
        raw[..q].trim_end(),
        (!text.is_empty()).then(|| text.to_string()),
    ))
}

/// Parse one schema file, adding its objects to `out`. An object or a field defined
/// twice is an error.
pub fn parse_schema(
    file: &str,
    text: &str,
    out: &mut HashMap<String, ObjectDef>,
) -> Result<(), String> {
    for block in index_schema(file, text)? {
        if out.contains_key(block.name) {
            return Err(format!(
                "{file}:{}: object `{}` is defined twice",
                block.line, block.name
            ));
        }
        let def = parse_block(file, &block)?;
        out.insert(def.name.clone(), def);
    }
    Ok(())
}

/// An action of the catalogue (`stdlib/actions.def`): its typed parameters.
#[derive(Clone, Debug)]
pub struct ActionDef {
    pub name: String,
    pub summary: String,
    pub params: Vec<ParamDef>,
}

#[derive(Clone, Debug)]
pub struct ParamDef {
    pub name: String,
    pub ty: FieldType,
    pub optional: bool,
    pub doc: String,
}

impl ActionDef {
    pub fn param(&self, name: &str) -> Option<&ParamDef> {
        self.params.iter().find(|p| p.name == name)
    }
}

/// `action NAME "summary"` then `  PARAM TYPE [optional] ["doc"]` lines.
pub fn parse_actions(text: &str) -> Result<Vec<ActionDef>, String> {
    let mut out: Vec<ActionDef> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim_end();
        if line.trim().is_empty() {
            continue;
        }
        let at = format!("actions.def:{}", n + 1);
        let (head, doc) = match line.find('"') {
            Some(i) => (&line[..i], line[i..].trim_matches('"').to_string()),
            None => (line, String::new()),
        };
        if let Some(rest) = head.strip_prefix("action ") {
            out.push(ActionDef {
                name: rest.trim().to_string(),
                summary: doc,
                params: Vec::new(),
            });
            continue;
        }
        let action = out
            .last_mut()
            .ok_or_else(|| format!("{at}: parameter outside an action"))?;
        let mut words = head.split_whitespace();
        let name = words.next().ok_or_else(|| format!("{at}: empty line"))?;
        let ty = words
            .next()
            .ok_or_else(|| format!("{at}: `{name}` has no type"))?;
        let (ty, _) = parse_type(ty).map_err(|e| format!("{at}: {e}"))?;
        let optional = words.next() == Some("optional");
        action.params.push(ParamDef {
            name: name.to_string(),
            ty,
            optional,
            doc,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<HashMap<String, ObjectDef>, String> {
        let mut out = HashMap::new();
        parse_schema("t.schema", text, &mut out).map(|()| out)
    }

    #[test]
    fn parses_every_type() {
        let objects = parse(
            "# a comment\nobject widget\n  id string\n  size integer?  absent update  # trailing\n  \
             price money(settlement_currency)\n  kind enum+(a|b)\n  parts list(object(widget.part))?\n\
             object widget.part\n  owner ref(customer)\n",
        )
        .expect("parses");
        let w = &objects["widget"];
        let size = w.field("size").expect("size");
        assert!(size.nullable && size.absent && size.updatable);
        assert_eq!(
            w.field("price").map(|f| &f.ty),
            Some(&FieldType::Money {
                currency_field: "settlement_currency".into()
            })
        );
        assert!(matches!(
            w.field("kind").map(|f| &f.ty),
            Some(FieldType::Enum { open: true, .. })
        ));
        assert_eq!(
            objects["widget.part"].field("owner").map(|f| &f.ty),
            Some(&FieldType::Ref("customer".into()))
        );
    }

    #[test]
    fn reads_descriptions_and_does_without_them() {
        let objects = parse(
            "object w\n  id string  \"Unique identifier for the object.\"\n  \
             size integer? absent update  \"Size in #units, or null.\"  # a comment\n  \
             kind string  # \"not a description\"\n  plain bool\n",
        )
        .expect("parses");
        let w = &objects["w"];
        let description = |f: &str| w.field(f).and_then(|f| f.description.clone());
        assert_eq!(
            description("id").as_deref(),
            Some("Unique identifier for the object.")
        );
        let size = w.field("size").expect("size");
        assert!(size.nullable && size.absent && size.updatable);
        assert_eq!(
            size.description.as_deref(),
            Some("Size in #units, or null.")
        );
        assert_eq!(description("kind"), None);
        assert_eq!(description("plain"), None);
    }

    #[test]
    fn refuses_a_malformed_description() {
        let err = |text: &str| parse(text).expect_err("refused");
        assert_eq!(
            err("object w\n  id string \"Unique\n"),
            "t.schema:2: the description has no closing `\"`"
        );
        assert_eq!(
            err("object w\n  id string \"Unique.\" absent\n"),
            "t.schema:2: unexpected `absent` after the description"
        );
        assert_eq!(
            err("object w\n  \"Unique.\"\n"),
            "t.schema:2: a description without a field"
        );
    }

    #[test]
    fn refuses_what_it_does_not_know_with_the_place() {
        let err = |text: &str| parse(text).expect_err("refused");
        assert_eq!(
            err("  id string\n"),
            "t.schema:1: field outside an `object` block"
        );
        assert_eq!(
            err("object w\n  id strin\n"),
            "t.schema:2: unknown type `strin`"
        );
        assert_eq!(
            err("object w\n  id string sometimes\n"),
            "t.schema:2: unknown flag `sometimes`"
        );
        assert_eq!(
            err("object w\n  id\n"),
            "t.schema:2: field `id` has no type"
        );
        assert_eq!(
            err("object w\n  id string\n  id integer\n"),
            "t.schema:3: field `id` of `w` is defined twice"
        );
        assert_eq!(
            err("object w\n  id string\nobject w\n"),
            "t.schema:3: object `w` is defined twice"
        );
        assert_eq!(
            err("object w\n  k enum(a||b)\n"),
            "t.schema:2: `enum(a||b)` has an empty value"
        );
    }
}
