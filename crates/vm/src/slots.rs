//! Typed slots: a frame of the fields a typed condition reads, decoded once, and the
//! evaluation of the condition over it (see `flow_program::TypedCond`).
//!
//! A frame is filled from an [`Event`] ([`SlotFrame::decode`]), or by another
//! decoder that never builds the event's JSON in full ([`SlotFrame::from_pairs`]).
//! Evaluating it reads slots by position: no lookup by name, no allocation. Where a
//! slot holds anything the typed form does not expect (a wrong type, a null where
//! the schema says the field is always there, money in another currency than the
//! constant's), the answer is "not here" (`None`) and the caller runs the ordinary
//! instructions, which report exactly what they always did.

use serde_json::Value as Json;
use smallvec::SmallVec;

use flow_program::{CmpOp, Key, Node, Root, SlotKind, SlotLayout, SlotSpec, TypedCond};
use flow_stdlib::money::{Currency, Money};

use crate::Event;

/// One slot's value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Slot<'a> {
    /// The key is not there (or a step of the path is not an object).
    Absent,
    /// The JSON `null`.
    Null,
    /// An integer, or a Unix timestamp.
    Int(i64),
    /// A string; for an ID, the string or an expanded object's `id`.
    Str(&'a str),
    Bool(bool),
    Currency(Currency),
    /// An amount with its currency.
    Money(Money),
    /// Anything else (a wrong type, a list on the way): the ordinary path reads it.
    Json(&'a Json),
}

/// What a slot that could not be read holds (a local as root, never made by the
/// compiler).
static NULL: Json = Json::Null;

/// The slots of one [`SlotLayout`], in its order. Up to eight live inline: a frame
/// for a condition of up to eight fields allocates nothing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SlotFrame<'a> {
    slots: SmallVec<[Slot<'a>; 8]>,
}

impl<'a> SlotFrame<'a> {
    /// Decode the fields of `layout` from `event`.
    pub fn decode(layout: &SlotLayout, event: &'a Event) -> SlotFrame<'a> {
        // `data.object` is looked up only when a slot is under it.
        let object = if layout.slots.iter().any(|s| s.root == Root::Object) {
            event.object()
        } else {
            &NULL
        };
        SlotFrame {
            slots: layout
                .slots
                .iter()
                .map(|s| decode_slot(s, &event.json, object))
                .collect(),
        }
    }

    /// A frame for `layout` from (slot index → value) pairs, for a decoder of its
    /// own: a slot not given is [`Slot::Absent`], an index out of the layout is
    /// ignored. A value should be what [`SlotFrame::decode`] makes of the field:
    /// for [`SlotKind::Int`] an `Int`, for `Str` and `Ref` a `Str` (a `Ref` that is
    /// an expanded object: its `id`), for `Money` a `Money` with the currency read
    /// from `SlotSpec::currency_path`, else `Null`, `Absent` or `Json` (then the
    /// ordinary path runs). A value of another kind than the slot's is never taken
    /// for a match: the condition is run by the ordinary path.
    pub fn from_pairs(
        layout: &SlotLayout,
        pairs: impl IntoIterator<Item = (usize, Slot<'a>)>,
    ) -> SlotFrame<'a> {
        let mut slots: SmallVec<[Slot<'a>; 8]> =
            std::iter::repeat_n(Slot::Absent, layout.len()).collect();
        for (i, v) in pairs {
            if let Some(s) = slots.get_mut(i) {
                *s = v;
            }
        }
        SlotFrame { slots }
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub fn get(&self, i: usize) -> Option<Slot<'a>> {
        self.slots.get(i).copied()
    }
}

/// One field, as [`SlotFrame::decode`] reads it: the same steps as the VM's own
/// reads (a key of an object at each step; a list on the way is left to the VM).
pub fn decode_slot<'a>(spec: &SlotSpec, event: &'a Json, object: &'a Json) -> Slot<'a> {
    let root = match spec.root {
        Root::Object => object,
        Root::Event => event,
        Root::Local(_) => return Slot::Json(&NULL),
    };
    let mut cur = root;
    for key in &spec.path {
        if cur.is_array() {
            return Slot::Json(cur);
        }
        match cur.get(key) {
            Some(v) => cur = v,
            None => return Slot::Absent,
        }
    }
    match (spec.kind, cur) {
        (_, Json::Null) => Slot::Null,
        (SlotKind::Int, Json::Number(n)) => n.as_i64().map_or(Slot::Json(cur), Slot::Int),
        (SlotKind::Str | SlotKind::Ref, Json::String(s)) => Slot::Str(s),
        (SlotKind::Ref, Json::Object(o)) => match o.get("id") {
            Some(Json::String(id)) => Slot::Str(id),
            _ => Slot::Json(cur),
        },
        (SlotKind::Bool, Json::Bool(b)) => Slot::Bool(*b),
        (SlotKind::Currency, Json::String(s)) => {
            Currency::parse(s).map_or(Slot::Json(cur), Slot::Currency)
        }
        (SlotKind::Money, Json::Number(n)) => {
            let Some(minor) = n.as_i64() else {
                return Slot::Json(cur);
            };
            let mut at = root;
            for k in &spec.currency_path {
                match at.get(k) {
                    Some(v) => at = v,
                    None => return Slot::Json(cur),
                }
            }
            match at.as_str().and_then(Currency::parse) {
                Some(c) => Slot::Money(Money::new(minor, c)),
                None => Slot::Json(cur),
            }
        }
        _ => Slot::Json(cur),
    }
}

/// The typed condition's value over `frame` (decoded for `cond.layout`); `None`:
/// run the ordinary instructions.
#[inline]
pub fn eval_typed(cond: &TypedCond, frame: &SlotFrame<'_>) -> Option<bool> {
    leaf(&cond.root, &frame.slots)
}

/// A node, with the tests (the leaves, and most of the work) inline.
#[inline(always)]
fn leaf(n: &Node, slots: &[Slot<'_>]) -> Option<bool> {
    match n {
        Node::Test {
            slot,
            op,
            key,
            required,
        } => test(*slots.get(*slot as usize)?, *op, key, *required),
        Node::Truth { slot, .. } => match slots.get(*slot as usize)? {
            Slot::Bool(b) => Some(*b),
            _ => None,
        },
        _ => node(n, slots),
    }
}

#[inline(never)]
fn node(n: &Node, slots: &[Slot<'_>]) -> Option<bool> {
    match n {
        Node::Test { .. } | Node::Truth { .. } => leaf(n, slots),
        Node::AnyOf {
            slot,
            keys,
            required,
        } => {
            let v = *slots.get(*slot as usize)?;
            if matches!(v, Slot::Json(_)) || (*required && is_null(v)) {
                return None;
            }
            let mut found = false;
            for k in keys.iter() {
                found |= equal(v, k)?;
            }
            Some(found)
        }
        Node::Not(inner) => leaf(inner, slots).map(|b| !b),
        Node::All(parts) => {
            for p in parts.iter() {
                if !leaf(p, slots)? {
                    return Some(false);
                }
            }
            Some(true)
        }
        Node::Any(parts) => {
            for p in parts.iter() {
                if leaf(p, slots)? {
                    return Some(true);
                }
            }
            Some(false)
        }
    }
}

#[inline(always)]
fn is_null(v: Slot<'_>) -> bool {
    matches!(v, Slot::Null | Slot::Absent)
}

/// `v == k` as `equal` has it, for the kinds the typed form compares; `None` for a
/// value of another kind.
#[inline(always)]
fn equal(v: Slot<'_>, k: &Key) -> Option<bool> {
    Some(match (v, k) {
        (Slot::Json(_), _) => return None,
        (Slot::Null | Slot::Absent, k) => matches!(k, Key::Null),
        (_, Key::Null) => false,
        (Slot::Int(a), Key::Int(b)) => a == *b,
        (Slot::Str(a), Key::Str(b)) => a == &**b,
        (Slot::Bool(a), Key::Bool(b)) => a == *b,
        (Slot::Currency(a), Key::Currency(b)) => a == *b,
        // Money of different currencies is never equal (nor converted).
        (Slot::Money(a), Key::Money(b)) => a == *b,
        _ => return None,
    })
}

/// `v OP k`: the slot of the kind the constant expects first (the common case, kept
/// small), anything else in `test_other`.
#[inline(always)]
fn test(v: Slot<'_>, op: CmpOp, k: &Key, required: bool) -> Option<bool> {
    // Integers and timestamps first, by two compares rather than a jump table.
    if let (Slot::Int(a), Key::Int(b)) = (v, k) {
        return Some(ordered(op, a.cmp(b)));
    }
    let ord = match (v, k) {
        (Slot::Int(a), Key::Int(b)) => a.cmp(b),
        (Slot::Str(a), Key::Str(b)) => a.cmp(&**b),
        (Slot::Bool(a), Key::Bool(b)) => a.cmp(b),
        (Slot::Money(a), Key::Money(b)) if a.currency == b.currency => a.minor.cmp(&b.minor),
        (Slot::Currency(a), Key::Currency(b)) if matches!(op, CmpOp::Eq | CmpOp::Ne) => {
            return Some((a == *b) == (op == CmpOp::Eq))
        }
        // A value is never null.
        (
            Slot::Int(_) | Slot::Str(_) | Slot::Bool(_) | Slot::Money(_) | Slot::Currency(_),
            Key::Null,
        ) if matches!(op, CmpOp::Eq | CmpOp::Ne) => return Some(op == CmpOp::Ne),
        _ => return test_other(v, op, k, required),
    };
    Some(ordered(op, ord))
}

/// Whether `ord` satisfies `op`, without a branch on `op`: each operator is the set
/// of orderings it accepts (bit 0 less, bit 1 equal, bit 2 greater).
#[inline(always)]
fn ordered(op: CmpOp, ord: std::cmp::Ordering) -> bool {
    let accepts: u8 = match op {
        CmpOp::Eq => 0b010,
        CmpOp::Ne => 0b101,
        CmpOp::Lt => 0b001,
        CmpOp::Le => 0b011,
        CmpOp::Gt => 0b100,
        CmpOp::Ge => 0b110,
    };
    // `Ordering` is -1, 0 or 1.
    (accepts >> (ord as i8 + 1)) & 1 == 1
}

#[inline(never)]
fn test_other(v: Slot<'_>, op: CmpOp, k: &Key, required: bool) -> Option<bool> {
    let ord = match (v, k) {
        (Slot::Json(_), _) => return None,
        (Slot::Null | Slot::Absent, _) if required => return None,
        // Null is a value for `==` and `!=` only: ordering it is an error.
        (Slot::Null | Slot::Absent, _) | (_, Key::Null) => {
            let eq = is_null(v) == matches!(k, Key::Null);
            return match op {
                CmpOp::Eq => Some(eq),
                CmpOp::Ne => Some(!eq),
                _ => None,
            };
        }
        (Slot::Int(a), Key::Int(b)) => a.cmp(b),
        (Slot::Str(a), Key::Str(b)) => a.cmp(&**b),
        (Slot::Bool(a), Key::Bool(b)) => a.cmp(b),
        (Slot::Currency(a), Key::Currency(b)) => {
            return match op {
                CmpOp::Eq => Some(a == *b),
                CmpOp::Ne => Some(a != *b),
                _ => None,
            }
        }
        (Slot::Money(a), Key::Money(b)) => {
            // Another currency: never compared here; the ordinary path decides.
            if a.currency != b.currency {
                return None;
            }
            a.minor.cmp(&b.minor)
        }
        _ => return None,
    };
    Some(ordered(op, ord))
}
