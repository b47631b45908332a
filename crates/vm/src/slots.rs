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

use flow_program::{
    Check, CmpOp, Fused, Key, Node, Plan, Root, SlotKind, SlotLayout, SlotSpec, Step, StrKey,
    TypedCond,
};
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

// The arms of `fused!` in `eval_typed` are the codes 1 to 150.
const _: () = assert!(Fused::THREE == 125 && Fused::TWO == 150);

/// The kind of the step at `i` of the shape `code`, for a shape's evaluator.
const fn kind_of(code: u8, i: u8) -> u8 {
    match Fused(code).kind(i) {
        Some(k) => k,
        None => u8::MAX,
    }
}

/// A match of the plan's fused shape to its evaluator (each code's kinds settled
/// where it is compiled), and any other plan to [`sequence`]. The codes are listed
/// where it is used, since a pattern cannot be computed; the assertion above holds
/// the list to `Fused`'s codes.
macro_rules! fused {
    ($fused:expr, $all:expr, $steps:expr, $slots:expr; three: $($three:literal)*; two: $($two:literal)*;) => {
        match $fused.0 {
            $($three => three::<{ kind_of($three, 0) }, { kind_of($three, 1) }, { kind_of($three, 2) }>($steps, $slots),)*
            $($two => two::<{ kind_of($two, 0) }, { kind_of($two, 1) }>($steps, $slots),)*
            _ => sequence($all, $steps, $slots),
        }
    };
}

/// The typed condition's value over `frame` (decoded for `cond.layout`); `None`:
/// run the ordinary instructions.
#[inline]
pub fn eval_typed(cond: &TypedCond, frame: &SlotFrame<'_>) -> Option<bool> {
    let plan = cond.plan();
    let slots = &frame.slots[..];
    let steps = &*plan.steps;
    // A step on its own (`and` and `or` of one are the step) is the common case.
    if let [step] = steps {
        return check(step, slots);
    }
    plan_of_steps(plan, slots)
}

/// A plan of two steps or more: a fused shape's evaluator, else [`sequence`].
#[inline(never)]
fn plan_of_steps(plan: &Plan, slots: &[Slot<'_>]) -> Option<bool> {
    let steps = &*plan.steps;
    fused!(plan.fused, plan.all, steps, slots;
        three:
            1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20
            21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40
            41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60
            61 62 63 64 65 66 67 68 69 70 71 72 73 74 75 76 77 78 79 80
            81 82 83 84 85 86 87 88 89 90 91 92 93 94 95 96 97 98 99 100
            101 102 103 104 105 106 107 108 109 110 111 112 113 114 115 116 117 118 119 120
            121 122 123 124 125;
        two:
            126 127 128 129 130 131 132 133 134 135 136 137 138 139 140 141 142 143 144 145
            146 147 148 149 150;
    )
}

/// Three steps joined by `and`, of kinds `A`, `B` and `C`: each a compare of its
/// slot with no jump on its kind. Inline: a call here costs as much as the steps.
#[inline(always)]
fn three<const A: u8, const B: u8, const C: u8>(
    steps: &[Step],
    slots: &[Slot<'_>],
) -> Option<bool> {
    let [a, b, c] = steps else {
        return sequence(true, steps, slots);
    };
    Some(as_kind::<A>(a, slots)? && as_kind::<B>(b, slots)? && as_kind::<C>(c, slots)?)
}

/// Two steps joined by `and`, of kinds `A` and `B`.
#[inline(always)]
fn two<const A: u8, const B: u8>(steps: &[Step], slots: &[Slot<'_>]) -> Option<bool> {
    let [a, b] = steps else {
        return sequence(true, steps, slots);
    };
    Some(as_kind::<A>(a, slots)? && as_kind::<B>(b, slots)?)
}

/// A step of kind `K` (a [`Fused`] kind): the same answer as [`check`], with the
/// jump on the step's kind settled at compile time. A step of another kind (never
/// made: the plan's shape is its steps' kinds) goes to `check`. (`check` keeps arms
/// of its own: calling this from them made `and3` 25% slower in the benchmark.)
#[inline(always)]
fn as_kind<const K: u8>(step: &Step, slots: &[Slot<'_>]) -> Option<bool> {
    let at = |slot: &u16| slots.get(*slot as usize).copied();
    let source = &step.source;
    match (K, &step.check) {
        (Fused::INT, Check::Int { slot, within }) => match at(slot)? {
            Slot::Int(x) => Some(within.test(x)),
            _ => other_kind(source, slots),
        },
        (Fused::STR, Check::Str { slot, key, ne }) => match at(slot)? {
            Slot::Str(s) => Some(key.matches(s) != *ne),
            _ => other_kind(source, slots),
        },
        (Fused::BOOL, Check::Bool { slot, want }) => match at(slot)? {
            Slot::Bool(b) => Some(b == *want),
            _ => other_kind(source, slots),
        },
        (Fused::NULL, Check::Null { slot, ne, required }) => null(at(slot)?, *ne, *required),
        (
            Fused::MONEY,
            Check::Money {
                slot,
                currency,
                within,
            },
        ) => match at(slot)? {
            Slot::Money(m) if m.currency == *currency => Some(within.test(m.minor)),
            // Never compared with money in another currency: the ordinary path
            // decides.
            Slot::Money(_) => None,
            _ => other_kind(source, slots),
        },
        _ => check_apart(step, slots),
    }
}

/// [`check`], out of line: a fused shape is made only of its kinds' steps, so this
/// is never reached from one.
#[cold]
#[inline(never)]
fn check_apart(step: &Step, slots: &[Slot<'_>]) -> Option<bool> {
    check(step, slots)
}

/// `slot == null` (`ne`: `!=`).
#[inline(always)]
fn null(v: Slot<'_>, ne: bool, required: bool) -> Option<bool> {
    match v {
        Slot::Json(_) => None,
        Slot::Null | Slot::Absent => {
            if required {
                None
            } else {
                Some(!ne)
            }
        }
        // A value is never null.
        _ => Some(ne),
    }
}

/// Steps joined by `and` (`all`) or by `or`.
#[inline(never)]
fn sequence(all: bool, steps: &[Step], slots: &[Slot<'_>]) -> Option<bool> {
    if all {
        for s in steps {
            if !check(s, slots)? {
                return Some(false);
            }
        }
        Some(true)
    } else {
        for s in steps {
            if check(s, slots)? {
                return Some(true);
            }
        }
        Some(false)
    }
}

/// One step of a plan: the slot of the kind the step expects answers here, in a
/// compare or two; anything else is the step's source node, as a tree.
#[inline(always)]
fn check(step: &Step, slots: &[Slot<'_>]) -> Option<bool> {
    let at = |slot: &u16| slots.get(*slot as usize).copied();
    let source = &step.source;
    match &step.check {
        Check::Int { slot, within } => match at(slot)? {
            Slot::Int(x) => Some(within.test(x)),
            _ => tree(source, slots),
        },
        Check::Money {
            slot,
            currency,
            within,
        } => match at(slot)? {
            Slot::Money(m) if m.currency == *currency => Some(within.test(m.minor)),
            // Never compared with money in another currency: the ordinary path
            // decides.
            Slot::Money(_) => None,
            _ => tree(source, slots),
        },
        Check::Str { slot, key, ne } => match at(slot)? {
            Slot::Str(s) => Some(key.matches(s) != *ne),
            _ => tree(source, slots),
        },
        Check::Currency { slot, keys, ne } => match at(slot)? {
            Slot::Currency(c) => Some(
                match &**keys {
                    [four] => among(four, c),
                    more => more.iter().any(|four| among(four, c)),
                } != *ne,
            ),
            _ => tree(source, slots),
        },
        Check::Bool { slot, want } => match at(slot)? {
            Slot::Bool(b) => Some(b == *want),
            _ => tree(source, slots),
        },
        Check::Null { slot, ne, required } => null(at(slot)?, *ne, *required),
        Check::Truth { slot, ne } => match at(slot)? {
            Slot::Bool(b) => Some(b != *ne),
            _ => None,
        },
        Check::StrIn { slot, keys, ne } => match at(slot)? {
            Slot::Str(s) => Some(str_in(keys, s) != *ne),
            _ => tree(source, slots),
        },
        Check::IntIn { slot, keys, ne } => match at(slot)? {
            Slot::Int(x) => Some(keys.contains(&x) != *ne),
            _ => tree(source, slots),
        },
        Check::Tree => tree(source, slots),
    }
}

/// `c` is one of `four`, without a branch.
#[inline(always)]
fn among(four: &[Currency; 4], c: Currency) -> bool {
    (four[0] == c) | (four[1] == c) | (four[2] == c) | (four[3] == c)
}

/// Out of line: a loop over the keys would hold registers that every other step
/// needs.
#[inline(never)]
fn str_in(keys: &[StrKey], s: &str) -> bool {
    keys.iter().any(|k| k.matches(s))
}

/// A fused shape's step over a slot of another kind than the step's: [`tree`],
/// marked as the unlikely way, so that the shape's compares follow one another in
/// the code with no jump taken. (Marking [`check`]'s ways out so too made `and3`
/// slower again.)
#[cold]
#[inline(never)]
fn other_kind(n: &Node, slots: &[Slot<'_>]) -> Option<bool> {
    tree(n, slots)
}

/// A step of no specialised kind, or over a slot of another kind than the step's:
/// the node as a tree, out of the way of the compares.
#[inline(never)]
fn tree(n: &Node, slots: &[Slot<'_>]) -> Option<bool> {
    leaf(n, slots)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The evaluation of the tree as it was before plans, kept word for word: what
    /// every plan must answer.
    mod reference {
        use super::super::Slot;
        use flow_program::{CmpOp, Key, Node};

        pub fn leaf(n: &Node, slots: &[Slot<'_>]) -> Option<bool> {
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

        fn is_null(v: Slot<'_>) -> bool {
            matches!(v, Slot::Null | Slot::Absent)
        }

        fn equal(v: Slot<'_>, k: &Key) -> Option<bool> {
            Some(match (v, k) {
                (Slot::Json(_), _) => return None,
                (Slot::Null | Slot::Absent, k) => matches!(k, Key::Null),
                (_, Key::Null) => false,
                (Slot::Int(a), Key::Int(b)) => a == *b,
                (Slot::Str(a), Key::Str(b)) => a == &**b,
                (Slot::Bool(a), Key::Bool(b)) => a == *b,
                (Slot::Currency(a), Key::Currency(b)) => a == *b,
                (Slot::Money(a), Key::Money(b)) => a == *b,
                _ => return None,
            })
        }

        fn test(v: Slot<'_>, op: CmpOp, k: &Key, required: bool) -> Option<bool> {
            if let (Slot::Int(a), Key::Int(b)) = (v, k) {
                return Some(ordered(op, a.cmp(b)));
            }
            let ord = match (v, k) {
                (Slot::Int(a), Key::Int(b)) => a.cmp(b),
                (Slot::Str(a), Key::Str(b)) => a.cmp(&**b),
                (Slot::Bool(a), Key::Bool(b)) => a.cmp(b),
                (Slot::Money(a), Key::Money(b)) if a.currency == b.currency => {
                    a.minor.cmp(&b.minor)
                }
                (Slot::Currency(a), Key::Currency(b)) if matches!(op, CmpOp::Eq | CmpOp::Ne) => {
                    return Some((a == *b) == (op == CmpOp::Eq))
                }
                (
                    Slot::Int(_)
                    | Slot::Str(_)
                    | Slot::Bool(_)
                    | Slot::Money(_)
                    | Slot::Currency(_),
                    Key::Null,
                ) if matches!(op, CmpOp::Eq | CmpOp::Ne) => return Some(op == CmpOp::Ne),
                _ => return test_other(v, op, k, required),
            };
            Some(ordered(op, ord))
        }

        fn ordered(op: CmpOp, ord: std::cmp::Ordering) -> bool {
            let accepts: u8 = match op {
                CmpOp::Eq => 0b010,
                CmpOp::Ne => 0b101,
                CmpOp::Lt => 0b001,
                CmpOp::Le => 0b011,
                CmpOp::Gt => 0b100,
                CmpOp::Ge => 0b110,
            };
            (accepts >> (ord as i8 + 1)) & 1 == 1
        }

        fn test_other(v: Slot<'_>, op: CmpOp, k: &Key, required: bool) -> Option<bool> {
            let ord = match (v, k) {
                (Slot::Json(_), _) => return None,
                (Slot::Null | Slot::Absent, _) if required => return None,
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
                    if a.currency != b.currency {
                        return None;
                    }
                    a.minor.cmp(&b.minor)
                }
                _ => return None,
            };
            Some(ordered(op, ord))
        }
    }

    /// xorshift: the same cases every run.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }

        fn pick<T: Clone>(&mut self, of: &[T]) -> T {
            of[self.below(of.len())].clone()
        }

        fn chance(&mut self, percent: usize) -> bool {
            self.below(100) < percent
        }
    }

    const INTS: [i64; 11] = [
        i64::MIN,
        i64::MIN + 1,
        -1,
        0,
        1,
        2,
        5,
        10,
        1_764_000_000,
        i64::MAX - 1,
        i64::MAX,
    ];
    const STRS: [&str; 14] = [
        "",
        "a",
        "b",
        "ab",
        "abcde",
        "abcdE",
        "succeeded",
        "succeedeD",
        "Succeeded",
        "succeeded!",
        "requires_payment_method",
        "requires_payment_methoD",
        "Requires_payment_method",
        "é",
    ];
    const OPS: [CmpOp; 6] = [
        CmpOp::Eq,
        CmpOp::Ne,
        CmpOp::Lt,
        CmpOp::Le,
        CmpOp::Gt,
        CmpOp::Ge,
    ];
    /// The kinds of value: 0 int, 1 string, 2 bool, 3 currency, 4 money.
    const KINDS: usize = 5;

    fn currencies() -> [Currency; 4] {
        ["usd", "eur", "gbp", "jpy"].map(|c| Currency::parse(c).expect("a currency"))
    }

    fn key(rng: &mut Rng, kind: usize) -> Key {
        let cs = currencies();
        match kind {
            0 => Key::Int(rng.pick(&INTS)),
            1 => Key::Str(rng.pick(&STRS).into()),
            2 => Key::Bool(rng.chance(50)),
            3 => Key::Currency(rng.pick(&cs)),
            _ => Key::Money(Money::new(rng.pick(&INTS), rng.pick(&cs[..2]))),
        }
    }

    /// A constant, mostly of the slot's kind: now and then null or another kind.
    fn key_near(rng: &mut Rng, kind: usize) -> Key {
        match rng.below(10) {
            0 => Key::Null,
            1 => {
                let other = rng.below(KINDS);
                key(rng, other)
            }
            _ => key(rng, kind),
        }
    }

    fn value<'j>(rng: &mut Rng, kind: usize, json: &'j Json) -> Slot<'j> {
        let cs = currencies();
        let kind = match rng.below(10) {
            0 => return rng.pick(&[Slot::Absent, Slot::Null, Slot::Json(json)]),
            1 => rng.below(KINDS),
            _ => kind,
        };
        match kind {
            0 => Slot::Int(rng.pick(&INTS)),
            1 => Slot::Str(rng.pick(&STRS)),
            2 => Slot::Bool(rng.chance(50)),
            3 => Slot::Currency(rng.pick(&cs)),
            _ => Slot::Money(Money::new(rng.pick(&INTS), rng.pick(&cs[..2]))),
        }
    }

    /// `cond` over a frame of slots of `kinds` (as `value` makes them) answers as
    /// the tree it was made from; that answer.
    fn answers_as_the_tree(
        cond: &TypedCond,
        kinds: &[usize],
        rng: &mut Rng,
        json: &Json,
    ) -> Option<bool> {
        let frame = SlotFrame {
            slots: kinds.iter().map(|k| value(rng, *k, json)).collect(),
        };
        let want = reference::leaf(cond.root(), &frame.slots);
        assert_eq!(
            eval_typed(cond, &frame),
            want,
            "{:?}\n{:?}\n{:?}",
            cond.root(),
            cond.plan(),
            frame
        );
        want
    }

    /// A node over `kinds.len()` slots (and now and then a slot past them).
    fn node(rng: &mut Rng, kinds: &[usize], depth: usize) -> Node {
        let slot = if rng.chance(2) {
            kinds.len()
        } else {
            rng.below(kinds.len())
        };
        let kind = kinds.get(slot).copied().unwrap_or(0);
        let required = rng.chance(30);
        let leaf = |rng: &mut Rng| Node::Test {
            slot: slot as u16,
            op: rng.pick(&OPS),
            key: key_near(rng, kind),
            required,
        };
        match rng.below(if depth == 0 { 4 } else { 8 }) {
            0 | 1 => leaf(rng),
            2 => {
                let n = rng.below(6);
                Node::AnyOf {
                    slot: slot as u16,
                    keys: (0..n).map(|_| key_near(rng, kind)).collect(),
                    required,
                }
            }
            3 => Node::Truth {
                slot: slot as u16,
                required,
            },
            4 => Node::Not(Box::new(node(rng, kinds, depth - 1))),
            // Comparisons of one slot side by side: ranges.
            5 => {
                let n = 1 + rng.below(4);
                let mut parts: Vec<Node> = (0..n).map(|_| leaf(rng)).collect();
                if rng.chance(30) {
                    parts.insert(rng.below(n + 1), node(rng, kinds, depth - 1));
                }
                Node::All(parts.into())
            }
            6 => {
                let n = rng.below(4);
                Node::All((0..n).map(|_| node(rng, kinds, depth - 1)).collect())
            }
            _ => {
                let n = rng.below(4);
                Node::Any((0..n).map(|_| node(rng, kinds, depth - 1)).collect())
            }
        }
    }

    /// The plan answers exactly as the tree always did, for every kind of slot value,
    /// operator and constant, in every combination of `and`, `or` and `not`.
    #[test]
    fn plans_answer_as_the_tree() {
        let json = Json::Array(Vec::new());
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut made = [0usize; 10];
        let mut answered = 0;
        let cases = 200_000;
        for _ in 0..cases {
            let kinds: Vec<usize> = (0..1 + rng.below(3)).map(|_| rng.below(KINDS)).collect();
            let root = node(&mut rng, &kinds, 3);
            let cond = TypedCond::new(SlotLayout::default(), root, None);
            for s in cond.plan().steps.iter() {
                made[match s.check {
                    Check::Int { .. } => 0,
                    Check::Money { .. } => 1,
                    Check::Str { .. } => 2,
                    Check::StrIn { .. } => 3,
                    Check::IntIn { .. } => 4,
                    Check::Currency { .. } => 5,
                    Check::Bool { .. } => 6,
                    Check::Null { .. } => 7,
                    Check::Truth { .. } => 8,
                    Check::Tree => 9,
                }] += 1;
            }
            for _ in 0..4 {
                let want = answers_as_the_tree(&cond, &kinds, &mut rng, &json);
                answered += usize::from(want.is_some());
            }
        }
        // Every kind of step was made, and most cases have an answer.
        assert!(made.iter().all(|n| *n > 100), "{made:?}");
        assert!(answered > cases, "{answered} of {}", cases * 4);
    }

    /// Every fused shape is made from steps of its kinds, and answers exactly as the
    /// tree, over slots of every kind.
    #[test]
    fn fused_shapes_answer_as_the_tree() {
        let json = Json::Array(Vec::new());
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let cs = currencies();
        // A test of the kind of `Fused` `kind` on slot `slot`, and the kind of value
        // (as `value` numbers them) its slot holds.
        let test = |rng: &mut Rng, kind: u8, slot: u16| -> (Node, usize) {
            let eq = [CmpOp::Eq, CmpOp::Ne];
            let (op, key, value) = match kind {
                Fused::INT => (rng.pick(&OPS), Key::Int(rng.pick(&INTS)), 0),
                Fused::STR => (rng.pick(&eq), Key::Str(rng.pick(&STRS).into()), 1),
                Fused::BOOL => (rng.pick(&eq), Key::Bool(rng.chance(50)), 2),
                Fused::NULL => (rng.pick(&eq), Key::Null, rng.below(KINDS)),
                _ => (
                    rng.pick(&OPS),
                    Key::Money(Money::new(rng.pick(&INTS), rng.pick(&cs[..2]))),
                    4,
                ),
            };
            let n = Node::Test {
                slot,
                op,
                key,
                required: rng.chance(30),
            };
            let n = if rng.chance(30) {
                Node::Not(Box::new(n))
            } else {
                n
            };
            (n, value)
        };
        for code in 1..=Fused::TWO {
            let shape = Fused(code);
            let kinds: Vec<u8> = (0..3).map_while(|i| shape.kind(i)).collect();
            // How many answers were false, true and "not here".
            let mut answers = [0usize; 3];
            for _ in 0..300 {
                let (parts, values): (Vec<Node>, Vec<usize>) = kinds
                    .iter()
                    .enumerate()
                    .map(|(i, k)| test(&mut rng, *k, i as u16))
                    .unzip();
                let cond = TypedCond::new(SlotLayout::default(), Node::All(parts.into()), None);
                assert_eq!(cond.plan().fused, shape, "{:?}", cond.plan());
                for _ in 0..8 {
                    let want = answers_as_the_tree(&cond, &values, &mut rng, &json);
                    answers[want.map_or(2, usize::from)] += 1;
                }
            }
            // Both answers, and more than a tenth of the frames answered.
            assert!(
                answers[0] > 0 && answers[1] > 0 && answers[0] + answers[1] > 240,
                "{code}: {answers:?}"
            );
        }
    }

    #[test]
    fn ranges_are_one_step() {
        let test = |op, k| Node::Test {
            slot: 0,
            op,
            key: Key::Int(k),
            required: true,
        };
        let cond = TypedCond::new(
            SlotLayout::default(),
            Node::All([test(CmpOp::Ge, 10), test(CmpOp::Lt, 20)].into()),
            None,
        );
        assert_eq!(cond.plan().steps.len(), 1);
        for (x, want) in [(9, false), (10, true), (19, true), (20, false)] {
            let frame = SlotFrame {
                slots: [Slot::Int(x)].into_iter().collect(),
            };
            assert_eq!(eval_typed(&cond, &frame), Some(want), "{x}");
        }
        let frame = SlotFrame {
            slots: [Slot::Null].into_iter().collect(),
        };
        assert_eq!(eval_typed(&cond, &frame), None);
    }
}
