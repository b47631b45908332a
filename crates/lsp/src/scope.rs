//! The names in scope at a point of a document: the event of the workflow the point is
//! in (so the type of `data.object`), and the `let`s before it, typed by the checker.
//! Read line by line from the text, so a document that does not parse still has them;
//! a `let` inside a block counts until the end of its workflow (close enough for
//! completion and hover).

use flow_check::{Checker, Env, Ty};
use flow_stdlib::{FieldDef, Stdlib};
use flow_syntax::ast::StmtKind;
use flow_syntax::Span;

/// A `let` before the point.
#[derive(Clone, Debug)]
pub struct Let {
    pub name: String,
    /// Where the name is written.
    pub span: Span,
    pub ty: Ty,
}

/// What is known at a point.
pub struct Scope<'a> {
    pub lib: &'a Stdlib,
    /// `on EVENT_TYPE` of the workflow the point is in.
    pub trigger: Option<String>,
    /// The object type of the event's `data.object`.
    pub object: Option<String>,
    pub lets: Vec<Let>,
}

/// A path resolved to a type, with the schema field it ends at (if any).
pub struct Resolved<'a> {
    pub ty: Ty,
    /// The object type that declares the last field, and the field.
    pub field: Option<(String, &'a FieldDef)>,
}

/// The trigger written on a line: `on payment_intent.succeeded`, possibly after
/// `workflow "Name"` on the same line.
fn trigger_of(line: &str) -> Option<&str> {
    let mut rest = line.trim_start();
    if let Some(after) = rest.strip_prefix("workflow") {
        let after = after.trim_start().strip_prefix('"')?;
        rest = after.split_once('"')?.1.trim_start();
    }
    let name = rest.strip_prefix("on")?;
    if !name.starts_with(char::is_whitespace) {
        return None;
    }
    let name = name.trim_start();
    let end = name
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .unwrap_or(name.len());
    Some(&name[..end]).filter(|n| !n.is_empty())
}

/// The lines of `text[..offset]` with their starting offsets, the line the offset is
/// on left out.
fn lines_before(text: &str, offset: usize) -> Vec<(usize, &str)> {
    let end = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let mut out = Vec::new();
    let mut start = 0;
    for line in text[..end].split_inclusive('\n') {
        out.push((start, line.trim_end_matches(['\n', '\r'])));
        start += line.len();
    }
    out
}

impl<'a> Scope<'a> {
    /// The scope at `offset` of `text`.
    pub fn at(lib: &'a Stdlib, text: &str, offset: usize) -> Scope<'a> {
        let offset = floor_boundary(text, offset);
        let lines = lines_before(text, offset);
        let current = &text[text[..offset].rfind('\n').map_or(0, |i| i + 1)..offset];
        let (first, trigger) = match trigger_of(current) {
            Some(t) => (lines.len(), Some(t)),
            None => lines
                .iter()
                .enumerate()
                .rev()
                .find_map(|(i, (_, l))| trigger_of(l).map(|t| (i, Some(t))))
                .unwrap_or((0, None)),
        };
        let object = trigger
            .and_then(|t| lib.event(t))
            .and_then(|e| e.object.clone())
            .filter(|o| lib.object(o).is_some());
        let mut scope = Scope {
            lib,
            trigger: trigger.map(str::to_string),
            object,
            lets: Vec::new(),
        };
        scope.lets = scope.read_lets(lines.get(first..).unwrap_or(&[]));
        let quantified = scope.quantified(text, offset);
        scope.lets.extend(quantified);
        scope
    }

    /// The names of the `any(NAME in LIST: …)` and `all(…)` the offset is inside, each
    /// typed as an item of its list.
    fn quantified(&self, text: &str, offset: usize) -> Vec<Let> {
        let prefix = crate::cursor::prefix(text, offset);
        let mut out = Vec::new();
        for &open in &prefix.open {
            let before = text[..open].trim_end();
            if !(before.ends_with("any") || before.ends_with("all")) {
                continue;
            }
            let inside = &text[open + 1..offset];
            let Some((head, _)) = inside.split_once(':') else {
                continue;
            };
            let mut words = head.split_whitespace();
            let (Some(name), Some("in"), Some(list), None) =
                (words.next(), words.next(), words.next(), words.next())
            else {
                continue;
            };
            let item = match self.resolve(&crate::cursor::segments(list)).map(|r| r.ty) {
                Some(Ty::List(item)) => *item,
                Some(Ty::Nullable(t)) => match *t {
                    Ty::List(item) => *item,
                    _ => continue,
                },
                _ => continue,
            };
            let at = open + 1 + inside.find(name).unwrap_or(0);
            out.push(Let {
                name: name.to_string(),
                span: Span::new(at, at + name.len()),
                ty: item,
            });
        }
        out
    }

    /// The `let`s of these lines, each typed by the checker given those before it.
    fn read_lets(&self, lines: &[(usize, &str)]) -> Vec<Let> {
        let mut cx = Checker::new(Env::new(self.lib));
        cx.set_object(self.object.clone());
        let mut lets = Vec::new();
        for (start, line) in lines {
            let code = crate::cursor::strip_comment(line);
            let trimmed = code.trim();
            if !trimmed.starts_with("let ") {
                continue;
            }
            let Ok(stmt) = flow_syntax::parse_stmt(trimmed) else {
                continue;
            };
            let (StmtKind::Let { name, .. } | StmtKind::LetAction { name, .. }) = &stmt.kind else {
                continue;
            };
            let name = name.clone();
            cx.stmt(&stmt);
            let ty = cx
                .local_names()
                .into_iter()
                .find(|(n, _)| *n == name.name)
                .map_or(Ty::Error, |(_, t)| t);
            let indent = code.len() - code.trim_start().len();
            let at = start + indent;
            lets.retain(|l: &Let| l.name != name.name);
            lets.push(Let {
                name: name.name,
                span: Span::new(at + name.span.start as usize, at + name.span.end as usize),
                ty,
            });
        }
        lets
    }

    pub fn local(&self, name: &str) -> Option<&Let> {
        self.lets.iter().rev().find(|l| l.name == name)
    }

    /// The fields of the event's object.
    pub fn object_fields(&self) -> Vec<(String, &'a FieldDef)> {
        self.object
            .as_deref()
            .map(|o| fields_of(self.lib, &Ty::Object(o.to_string())))
            .unwrap_or_default()
    }

    /// The type of a dotted path (as [`crate::cursor::segments`] splits it); a
    /// reference is followed to the object it names.
    pub fn resolve(&self, segments: &[&str]) -> Option<Resolved<'a>> {
        let (first, rest) = segments.split_first()?;
        let mut at = self.resolve_first(first)?;
        for seg in rest {
            at = self.step(&at.ty, seg)?;
        }
        Some(at)
    }

    fn resolve_first(&self, name: &str) -> Option<Resolved<'a>> {
        let plain = |ty| Some(Resolved { ty, field: None });
        if let Some(l) = self.local(name) {
            return plain(l.ty.clone());
        }
        if name == "event" {
            return plain(Ty::Object("event".into()));
        }
        if let Some(o) = &self.object {
            if let Some(f) = self.lib.object(o).and_then(|d| d.field(name)) {
                return Some(Resolved {
                    ty: Ty::of_field(o, f),
                    field: Some((o.clone(), f)),
                });
            }
        }
        match name {
            "now" => plain(Ty::Timestamp),
            "dispute_fee" => plain(Ty::Money),
            _ => None,
        }
    }

    fn step(&self, ty: &Ty, seg: &str) -> Option<Resolved<'a>> {
        let plain = |ty| Some(Resolved { ty, field: None });
        match ty.base() {
            Ty::List(item) if seg.starts_with('[') => plain((**item).clone().nullable()),
            Ty::Object(o) | Ty::Ref(o) => {
                let f = self.lib.object(o)?.field(seg)?;
                Some(Resolved {
                    ty: Ty::of_field(o, f),
                    field: Some((o.clone(), f)),
                })
            }
            Ty::Metadata => plain(Ty::Str.nullable()),
            Ty::Json => plain(Ty::Json),
            _ => None,
        }
    }
}

/// The fields of a value of this type: an object's, or (through a reference) those of
/// the object it names; with the object type that declares them.
pub fn fields_of<'a>(lib: &'a Stdlib, ty: &Ty) -> Vec<(String, &'a FieldDef)> {
    match ty.base() {
        Ty::Object(o) | Ty::Ref(o) => lib
            .object(o)
            .map(|d| d.fields.iter().map(|f| (o.clone(), f)).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// The largest char boundary at or before `offset`, within the text.
pub fn floor_boundary(text: &str, offset: usize) -> usize {
    let mut o = offset.min(text.len());
    while !text.is_char_boundary(o) {
        o -= 1;
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_trigger_and_typed_lets() {
        let lib = flow_stdlib::builtin();
        let text = "workflow \"x\" on charge.succeeded {\n  let c = retrieve customer\n  let n = amount\n  if c.";
        let s = Scope::at(lib, text, text.len());
        assert_eq!(s.trigger.as_deref(), Some("charge.succeeded"));
        assert_eq!(s.object.as_deref(), Some("charge"));
        let names: Vec<&str> = s.lets.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["c", "n"]);
        assert_eq!(s.lets[0].ty.to_string(), "customer");
        assert_eq!(&text[s.lets[1].span.range()], "n");
        let r = s.resolve(&["c", "email"]).expect("c.email resolves");
        assert_eq!(r.ty.to_string(), "string?");
        let r = s
            .resolve(&["customer", "metadata"])
            .expect("through the ref");
        assert_eq!(r.ty, Ty::Metadata);
        assert!(s.resolve(&["nothing"]).is_none());
    }
}
