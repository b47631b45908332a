//! Typed slots: the fields a condition reads, each decoded once from the event into
//! a typed value, and the condition itself in a typed form that reads them by
//! position ([`TypedCond`]).
//!
//! The compiler builds a [`TypedCond`] for a `when` (and for an expression compiled
//! alone) made only of comparisons of a field with a constant, `in [constants]`,
//! null tests, bool fields, `and`, `or` and `not`. The VM evaluates it over a frame
//! of slots (see `flow_vm::SlotFrame`) and, wherever a slot holds something the
//! typed form does not expect, runs the ordinary instructions instead, which give
//! every error exactly as before. The typed form is derived from the instructions:
//! it is not part of the canonical form, and does not change a version.

use flow_stdlib::money::{Currency, Money};

use crate::{CmpOp, Conv, FieldRead, Lit, Root};

/// What a slot holds when it holds what its field's schema type says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotKind {
    /// An integer or a Unix timestamp: an `i64`.
    Int,
    /// A string.
    Str,
    /// An ID: a string, or an expanded object whose `id` (a string) is taken.
    Ref,
    Bool,
    /// A currency code (`usd`), parsed.
    Currency,
    /// An integer amount in minor units, with the currency read from
    /// [`SlotSpec::currency_path`] (same root).
    Money,
}

/// One slot: where its field is, and what it holds.
#[derive(Clone, Debug, PartialEq)]
pub struct SlotSpec {
    /// Its entry in [`crate::Program::reads`].
    pub read: u32,
    /// [`Root::Object`] (`data.object`) or [`Root::Event`] (the envelope); never a
    /// local.
    pub root: Root,
    pub path: Vec<String>,
    pub kind: SlotKind,
    /// For [`SlotKind::Money`]: the path of the currency, from the same root.
    pub currency_path: Vec<String>,
    /// Null or absent is an error (the schema says it is always there): the
    /// ordinary path reports it.
    pub required: bool,
}

impl SlotSpec {
    /// The slot of `read` (its entry `index` in [`crate::Program::reads`]), when its
    /// field is under the event or `data.object` and of a kind a slot holds.
    pub fn for_read(index: u32, read: &FieldRead) -> Option<SlotSpec> {
        if !matches!(read.root, Root::Object | Root::Event) || read.path.is_empty() {
            return None;
        }
        let (kind, currency_path) = match &read.conv {
            Conv::Int | Conv::Timestamp => (SlotKind::Int, Vec::new()),
            Conv::Str => (SlotKind::Str, Vec::new()),
            Conv::Ref => (SlotKind::Ref, Vec::new()),
            Conv::Bool => (SlotKind::Bool, Vec::new()),
            Conv::Currency => (SlotKind::Currency, Vec::new()),
            Conv::Money { currency_path } => (SlotKind::Money, currency_path.clone()),
            _ => return None,
        };
        Some(SlotSpec {
            read: index,
            root: read.root,
            path: read.path.clone(),
            kind,
            currency_path,
            required: read.required,
        })
    }
}

/// The slots of one typed condition, in slot order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SlotLayout {
    pub slots: Vec<SlotSpec>,
}

impl SlotLayout {
    /// The slot of read `read`, added when it is not there yet.
    pub fn slot(&mut self, read: u32, spec: impl FnOnce() -> SlotSpec) -> u16 {
        if let Some(i) = self.slots.iter().position(|s| s.read == read) {
            return i as u16;
        }
        self.slots.push(spec());
        (self.slots.len() - 1) as u16
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

/// A constant a slot is compared with.
#[derive(Clone, Debug, PartialEq)]
pub enum Key {
    Null,
    /// An integer or a timestamp (for [`SlotKind::Int`] slots).
    Int(i64),
    /// For [`SlotKind::Str`] and [`SlotKind::Ref`] slots.
    Str(Box<str>),
    Bool(bool),
    Currency(Currency),
    Money(Money),
}

impl Key {
    /// The constant of `slot OP lit` for a slot of `kind`: only where the typed form
    /// compares exactly as the instructions do.
    pub fn for_literal(kind: SlotKind, op: CmpOp, lit: &Lit) -> Option<Key> {
        let equality = matches!(op, CmpOp::Eq | CmpOp::Ne);
        Some(match (kind, lit) {
            // Null is a value for `==` and `!=` only (ordering it is an error).
            (_, Lit::Null) if equality => Key::Null,
            (SlotKind::Int, Lit::Int(i) | Lit::Time(i)) => Key::Int(*i),
            (SlotKind::Str | SlotKind::Ref, Lit::Str(s)) => Key::Str(s.as_str().into()),
            (SlotKind::Bool, Lit::Bool(b)) => Key::Bool(*b),
            // Currencies are not ordered.
            (SlotKind::Currency, Lit::Currency(c)) if equality => Key::Currency(*c),
            (SlotKind::Money, Lit::Money(m)) => Key::Money(*m),
            _ => return None,
        })
    }
}

/// A node of a typed condition. Each evaluates to a bool, or to "not here" (a slot
/// holds what the node does not expect), and then the whole condition is run by the
/// ordinary instructions.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// `slot OP key`. `required`: a null or absent slot is an error of the
    /// ordinary path.
    Test {
        slot: u16,
        op: CmpOp,
        key: Key,
        required: bool,
    },
    /// `slot in [keys]`.
    AnyOf {
        slot: u16,
        keys: Box<[Key]>,
        required: bool,
    },
    /// A bool field on its own.
    Truth {
        slot: u16,
        required: bool,
    },
    Not(Box<Node>),
    /// `a and b and …`, from the left, stopping at the first false.
    All(Box<[Node]>),
    /// `a or b or …`, from the left, stopping at the first true.
    Any(Box<[Node]>),
}

/// A condition in typed form, over the slots of `layout`.
#[derive(Clone, Debug, PartialEq)]
pub struct TypedCond {
    pub layout: SlotLayout,
    pub root: Node,
    /// A `when`: the first instruction of the body, where the run goes on when the
    /// condition is true. `None`: the program is the condition alone, and its value
    /// is the condition's.
    pub then: Option<u32>,
}
