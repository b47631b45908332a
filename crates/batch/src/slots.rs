//! Typed slots filled straight from a line's bytes.
//!
//! The fields that the workflows' typed `when`s read (see `flow_program::TypedCond`)
//! are merged, over every workflow of the file, into one tree of paths from the top
//! of the line ([`Fields`]). A scan of the line ([`crate::scan::fill`]) checks its
//! syntax exactly as the decoder's scan does and records, for each field, what it
//! holds ([`Got`]): a string borrowed from the line, an integer, … and nothing is
//! built. From those, each slot of a workflow's layout is made as
//! `flow_vm::SlotFrame::decode` would make it from the decoded event; where the
//! scan cannot be sure of that, the slot is "not here" and the ordinary path decides.

use std::borrow::Cow;

use flow_program::{CmpOp, Key, Node, Root, SlotKind, SlotLayout, SlotSpec};
use flow_program::{Op, Program, TypedCond};
use flow_stdlib::money::{Currency, Money};
use flow_vm::{eval_typed, Slot, SlotFrame};
use serde_json::Value as Json;

use crate::kept;

/// What a field of the line holds, as far as slots need to know.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Got<'a> {
    /// Not there, or a step of its path is not an object (nor a list).
    Absent,
    Null,
    Bool(bool),
    /// A number `serde_json` holds as an `i64`.
    Int(i64),
    Str(Cow<'a, str>),
    /// An object (its members are fields of their own when read).
    Object,
    /// Anything else: another number, a list, or a list on the way.
    Other,
}

/// A node of the tree of fields read from the top of the line.
#[derive(Debug, Default)]
pub(crate) struct FieldNode {
    pub(crate) children: Vec<(String, FieldNode)>,
    /// The fields whose path ends here.
    pub(crate) here: Vec<usize>,
    /// The fields whose path ends here that only say where their value starts and
    /// whether it is an object (`Got::Object`) or not (`Got::Other`): the members
    /// the decoder keeps, which the slots do not read.
    pub(crate) kept: Vec<usize>,
    /// The fields whose path goes on below.
    pub(crate) below: Vec<usize>,
    /// One bit per length of the children's keys ([`len_bit`]): most members of
    /// an object are not looked for, and most of those have a key of another
    /// length, told apart without a look at the children.
    pub(crate) lens: u64,
}

/// The bit of a key of `len` bytes in [`FieldNode::lens`] (every length from 63 on
/// shares the last).
pub(crate) fn len_bit(len: usize) -> u64 {
    1 << len.min(63)
}

impl FieldNode {
    fn insert(&mut self, path: &[String], field: usize, kept: bool) {
        let mut node = self;
        for key in path {
            node.below.push(field);
            let i = match node.children.iter().position(|(k, _)| k == key) {
                Some(i) => i,
                None => {
                    node.children.push((key.clone(), FieldNode::default()));
                    node.lens |= len_bit(key.len());
                    node.children.len() - 1
                }
            };
            node = &mut node.children[i].1;
        }
        if kept {
            node.kept.push(field);
        } else {
            node.here.push(field);
        }
    }
}

/// The decoder's tree of kept members ([`kept::Node`]), each with the field whose
/// value the scan records: the kept part of a line can be built from one scan
/// ([`crate::scan::kept_from_fill`]) rather than a second.
#[derive(Debug)]
pub(crate) struct KeptFields {
    /// The field of this member (unused at the top).
    pub(crate) field: usize,
    /// The member's kept tree, to decode its value as the decoder's scan does.
    pub(crate) node: kept::Node,
    pub(crate) children: Vec<(String, KeptFields)>,
}

/// The envelope's fields, always read.
pub(crate) const ID: usize = 0;
pub(crate) const OBJECT: usize = 1;
pub(crate) const TYPE: usize = 2;
pub(crate) const DATA_OBJECT: usize = 3;

/// One distinct slot of all the layouts: a field read as one kind.
#[derive(Clone, Debug, PartialEq)]
struct Distinct {
    field: usize,
    kind: SlotKind,
    /// For a `Ref`: the field of the expanded object's `id`.
    id: usize,
    /// For `Money`: the field of the currency.
    currency: usize,
}

/// The fields and distinct slots of every typed condition of a file.
#[derive(Debug, Default)]
pub(crate) struct Slots {
    paths: Vec<Vec<String>>,
    distinct: Vec<Distinct>,
    pub(crate) tree: FieldNode,
}

/// What a slot the scan cannot be sure of holds: the ordinary path decides.
static NOT_HERE: Json = Json::Null;

impl Slots {
    pub(crate) fn new() -> Slots {
        let mut s = Slots::default();
        for path in [&["id"][..], &["object"], &["type"], &["data", "object"]] {
            let path: Vec<String> = path.iter().map(|k| k.to_string()).collect();
            s.field(path);
        }
        s
    }

    fn field(&mut self, path: Vec<String>) -> usize {
        self.field_of(path, false)
    }

    fn field_of(&mut self, path: Vec<String>, kept: bool) -> usize {
        if let Some(i) = self.paths.iter().position(|p| *p == path) {
            return i;
        }
        self.tree.insert(&path, self.paths.len(), kept);
        self.paths.push(path);
        self.paths.len() - 1
    }

    /// Fields for every member of the decoder's tree of kept members `top` (a field
    /// the slots read already serves as it is). Called once every slot is planned:
    /// a field added here only says where its value starts.
    pub(crate) fn keep(&mut self, top: &kept::Node) -> KeptFields {
        fn walk(s: &mut Slots, node: &kept::Node, path: &mut Vec<String>) -> KeptFields {
            let field = if path.is_empty() {
                0
            } else {
                s.field_of(path.clone(), true)
            };
            let mut children = Vec::with_capacity(node.children.len());
            for (key, child) in &node.children {
                path.push(key.clone());
                children.push((key.clone(), walk(s, child, path)));
                path.pop();
            }
            KeptFields {
                field,
                node: node.clone(),
                children,
            }
        }
        walk(self, top, &mut Vec::new())
    }

    /// The path of a field from the top of the line.
    fn full(root: Root, path: &[String]) -> Option<Vec<String>> {
        if path.is_empty() {
            return None;
        }
        match root {
            Root::Event => Some(path.to_vec()),
            Root::Object => {
                let mut full = vec!["data".to_string(), "object".to_string()];
                full.extend(path.iter().cloned());
                Some(full)
            }
            Root::Local(_) => None,
        }
    }

    fn slot(&mut self, s: &SlotSpec) -> Option<u16> {
        let path = Slots::full(s.root, &s.path)?;
        let id = if s.kind == SlotKind::Ref {
            let mut p = path.clone();
            p.push("id".into());
            self.field(p)
        } else {
            0
        };
        let currency = if s.kind == SlotKind::Money {
            let p = Slots::full(s.root, &s.currency_path)?;
            self.field(p)
        } else {
            0
        };
        let d = Distinct {
            field: self.field(path),
            kind: s.kind,
            id,
            currency,
        };
        let i = match self.distinct.iter().position(|x| *x == d) {
            Some(i) => i,
            None => {
                self.distinct.push(d);
                self.distinct.len() - 1
            }
        };
        u16::try_from(i).ok()
    }

    /// Where each slot of `layout` is among the distinct slots (added as needed).
    pub(crate) fn plan(&mut self, cond: TypedCond) -> Option<Planned> {
        let at = cond
            .layout
            .slots
            .iter()
            .map(|s| self.slot(s))
            .collect::<Option<Vec<u16>>>()?;
        Some(Planned { cond, at })
    }

    /// How many fields the scan records.
    pub(crate) fn fields(&self) -> usize {
        self.paths.len()
    }

    /// Every distinct slot's value, from what the scan recorded.
    pub(crate) fn values<'g>(&self, got: &'g [Got<'_>], out: &mut Vec<Slot<'g>>) {
        out.clear();
        out.extend(self.distinct.iter().map(|d| value(d, got)));
    }
}

/// A slot's value, as `flow_vm::slots::decode_slot` makes it from the decoded event.
fn value<'g>(d: &Distinct, got: &'g [Got<'_>]) -> Slot<'g> {
    let not_here = Slot::Json(&NOT_HERE);
    let Some(v) = got.get(d.field) else {
        return not_here;
    };
    let string = |f: usize| match got.get(f) {
        Some(Got::Str(s)) => Some(&**s),
        _ => None,
    };
    match (d.kind, v) {
        (_, Got::Absent) => Slot::Absent,
        (_, Got::Null) => Slot::Null,
        (SlotKind::Int, Got::Int(i)) => Slot::Int(*i),
        (SlotKind::Str | SlotKind::Ref, Got::Str(s)) => Slot::Str(s),
        (SlotKind::Ref, Got::Object) => string(d.id).map_or(not_here, Slot::Str),
        (SlotKind::Bool, Got::Bool(b)) => Slot::Bool(*b),
        (SlotKind::Currency, Got::Str(s)) => Currency::parse(s).map_or(not_here, Slot::Currency),
        (SlotKind::Money, Got::Int(minor)) => string(d.currency)
            .and_then(Currency::parse)
            .map_or(not_here, |c| Slot::Money(Money::new(*minor, c))),
        _ => not_here,
    }
}

/// A typed condition, with where its slots are among the distinct ones.
#[derive(Debug)]
pub(crate) struct Planned {
    cond: TypedCond,
    at: Vec<u16>,
}

impl Planned {
    /// The condition's value over the distinct slots' `values`; `None`: not here.
    pub(crate) fn eval(&self, values: &[Slot<'_>]) -> Option<bool> {
        let frame = SlotFrame::from_pairs(
            &self.cond.layout,
            self.at.iter().enumerate().map(|(i, &d)| {
                (
                    i,
                    values
                        .get(d as usize)
                        .copied()
                        .unwrap_or(Slot::Json(&NOT_HERE)),
                )
            }),
        );
        eval_typed(&self.cond, &frame)
    }

    /// An index probe's value (`field OP constant`). As the VM compares money
    /// (never converted): an amount in another currency than the constant's is
    /// unequal and unordered, so `!=` is true and every other comparison false.
    /// Anything else as [`Planned::eval`].
    pub(crate) fn probe(&self, values: &[Slot<'_>]) -> Option<bool> {
        if let (
            Node::Test {
                op,
                key: Key::Money(k),
                ..
            },
            [d],
        ) = (self.cond.root(), &self.at[..])
        {
            if let Some(Slot::Money(m)) = values.get(*d as usize) {
                if m.currency != k.currency {
                    return Some(*op == CmpOp::Ne);
                }
            }
        }
        self.eval(values)
    }
}

/// The typed form of an index probe (`Load 0, Const 0, Compare op, Halt`: the field
/// compared with the constant), as the compiler builds it for `field OP constant`.
pub(crate) fn probe_of(p: &Program) -> Option<TypedCond> {
    let (Some(Op::Load(0)), Some(Op::Const(0)), Some(&Op::Compare(op, _))) =
        (p.code.first(), p.code.get(1), p.code.get(2))
    else {
        return None;
    };
    let read = p.reads.first()?;
    let lit = p.consts.first()?;
    let spec = SlotSpec::for_read(0, read)?;
    let key = Key::for_literal(spec.kind, op, lit)?;
    let required = read.required;
    Some(TypedCond::new(
        SlotLayout { slots: vec![spec] },
        Node::Test {
            slot: 0,
            op,
            key,
            required,
        },
        None,
    ))
}

/// A vector emptied and given back for values of another lifetime (its buffer kept).
pub(crate) fn recycle<T, U>(mut v: Vec<T>) -> Vec<U> {
    v.clear();
    v.into_iter().filter_map(|_| None).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys of every length up to past 63 (where lengths share a bit) are found,
    /// among members with keys of the same lengths that are not looked for.
    #[test]
    fn keys_of_every_length_are_found_among_others_of_that_length() {
        let mut tree = FieldNode::default();
        let mut members = Vec::new();
        for len in 1..=80 {
            let key = "k".repeat(len);
            tree.insert(std::slice::from_ref(&key), len - 1, false);
            members.push(format!(r#""{}":{len}"#, "j".repeat(len)));
            members.push(format!(r#""{key}":{len}"#));
        }
        // A length no key has, and an escaped key (read by `serde_json`).
        members.push(r#""kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk":0"#.into());
        members.push(r#""\u006b":100"#.into());
        let text = format!("{{{}}}", members.join(","));
        let mut got = vec![Got::Absent; 80];
        let mut starts = vec![0; 80];
        crate::scan::fill(&tree, text.as_bytes(), &mut got, &mut starts).expect("valid JSON");
        for (i, g) in got.iter().enumerate() {
            let want = if i == 0 { 100 } else { i as i64 + 1 };
            assert_eq!(*g, Got::Int(want), "key of {} bytes", i + 1);
        }
    }
}
