//! Typed slots: the fields a condition reads, each decoded once from the event into
//! a typed value, and the condition itself in a typed form that reads them by
//! position ([`TypedCond`]).
//!
//! The compiler builds a [`TypedCond`] for a `when` (and for an expression compiled
//! alone) made only of comparisons of a field with a constant, `in [constants]`,
//! null tests, bool fields, `and`, `or` and `not`. The VM evaluates it over a frame
//! of slots (see `flow_vm::SlotFrame`), from its [`Plan`] (built with it: a flat
//! sequence of tests each specialised to the kind of its constant) and, wherever a
//! slot holds something the typed form does not expect, runs the ordinary
//! instructions instead, which give every error exactly as before. The typed form
//! is derived from the instructions: it is not part of the canonical form, and does
//! not change a version.

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
    /// A `when`: the first instruction of the body, where the run goes on when the
    /// condition is true. `None`: the program is the condition alone, and its value
    /// is the condition's.
    pub then: Option<u32>,
    root: Node,
    /// `root` as the VM evaluates it, built with it (so never out of step with it).
    plan: Plan,
}

impl TypedCond {
    pub fn new(layout: SlotLayout, root: Node, then: Option<u32>) -> TypedCond {
        let plan = Plan::of(&root);
        TypedCond {
            layout,
            then,
            root,
            plan,
        }
    }

    /// The condition as a tree of nodes.
    pub fn root(&self) -> &Node {
        &self.root
    }

    /// The condition as the VM evaluates it.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }
}

/// A typed condition as the VM evaluates it: a flat sequence of steps joined by
/// `and` or by `or`, each a test already specialised to the kind of its constant
/// (the operator and the constant's kind are settled here, once), so that a step is
/// a check of the slot's kind and a compare or two. A step over a slot that holds
/// anything else is its source node, evaluated as a tree, which answers exactly as
/// it always did.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// `true`: the steps joined by `and`, from the left, stopping at the first false
    /// (one step on its own is this too); `false`: by `or`, stopping at the first
    /// true.
    pub all: bool,
    pub steps: Box<[Step]>,
    /// The plan as one of the fused shapes the VM evaluates with no dispatch on each
    /// step's kind ([`Fused`]), or [`Fused::NONE`].
    pub fused: Fused,
}

/// Two or three steps joined by `and`, each of a kind in [`Fused::KINDS`], as one
/// code: the VM has an evaluator for each such shape, with the steps' kinds settled
/// when it was compiled, so that the steps are tested one after the other with no
/// jump on a step's kind and no loop. Code 0 is no fused shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fused(pub u8);

impl Fused {
    pub const NONE: Fused = Fused(0);
    /// The kinds of step, by number: `Check::Int`, `Check::Str`, `Check::Bool`,
    /// `Check::Null` and `Check::Money`.
    pub const INT: u8 = 0;
    pub const STR: u8 = 1;
    pub const BOOL: u8 = 2;
    pub const NULL: u8 = 3;
    pub const MONEY: u8 = 4;
    pub const KINDS: u8 = 5;
    /// Codes `1..=THREE` are three steps, `THREE + 1..=TWO` two.
    pub const THREE: u8 = Fused::KINDS * Fused::KINDS * Fused::KINDS;
    pub const TWO: u8 = Fused::THREE + Fused::KINDS * Fused::KINDS;

    /// The code of three steps of kinds `a`, `b` and `c`.
    pub const fn three(a: u8, b: u8, c: u8) -> Fused {
        Fused(1 + (a * Fused::KINDS + b) * Fused::KINDS + c)
    }

    /// The code of two steps of kinds `a` and `b`.
    pub const fn two(a: u8, b: u8) -> Fused {
        Fused(Fused::THREE + 1 + a * Fused::KINDS + b)
    }

    /// The kind of the step at `i` (0, 1 or 2) of the shape; `None` past its steps
    /// or for [`Fused::NONE`].
    pub const fn kind(self, i: u8) -> Option<u8> {
        let k = Fused::KINDS;
        let (n, code) = match self.0 {
            0 => return None,
            c if c <= Fused::THREE => (3, c - 1),
            c if c <= Fused::TWO => (2, c - Fused::THREE - 1),
            _ => return None,
        };
        if i >= n {
            return None;
        }
        // The kinds are the code's digits in base `KINDS`, the first step's first.
        Some(code / k.pow((n - 1 - i) as u32) % k)
    }

    /// The shape of `steps` joined by `and` (`all`), when it is one.
    fn of(all: bool, steps: &[Step]) -> Fused {
        let kind = |s: &Step| match s.check {
            Check::Int { .. } => Some(Fused::INT),
            Check::Str { .. } => Some(Fused::STR),
            Check::Bool { .. } => Some(Fused::BOOL),
            Check::Null { .. } => Some(Fused::NULL),
            Check::Money { .. } => Some(Fused::MONEY),
            _ => None,
        };
        if !all {
            return Fused::NONE;
        }
        match steps {
            [a, b, c] => match (kind(a), kind(b), kind(c)) {
                (Some(a), Some(b), Some(c)) => Fused::three(a, b, c),
                _ => Fused::NONE,
            },
            [a, b] => match (kind(a), kind(b)) {
                (Some(a), Some(b)) => Fused::two(a, b),
                _ => Fused::NONE,
            },
            _ => Fused::NONE,
        }
    }
}

/// A test, and the node it was made from.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub check: Check,
    pub source: Node,
}

/// One step of a [`Plan`]. Each answers only for a slot of the kind it names (and a
/// `Money` only in its currency); for any other slot, its source node answers.
#[derive(Clone, Debug, PartialEq)]
pub enum Check {
    /// An integer (or timestamp) slot [`Within`] a range: every comparison of an
    /// integer with a constant, and comparisons of one slot side by side in an `and`
    /// (`x >= a and x < b`), as one test.
    Int { slot: u16, within: Within },
    /// An amount in `currency`, its minor units [`Within`] a range. Money in another
    /// currency is never compared here (nor converted).
    Money {
        slot: u16,
        currency: Currency,
        within: Within,
    },
    /// A string (or ID) slot equal to `key` (`ne`: not equal).
    Str { slot: u16, key: StrKey, ne: bool },
    /// A string slot among `keys` (`ne`: not among them).
    StrIn {
        slot: u16,
        keys: Box<[StrKey]>,
        ne: bool,
    },
    /// An integer slot among `keys` (`ne`: not among them).
    IntIn {
        slot: u16,
        keys: Box<[i64]>,
        ne: bool,
    },
    /// A currency slot among `keys` (`ne`: not among them): `==`, `!=` and `in`. The
    /// keys are in fours, the last four filled up with its own first key, so that a
    /// four is compared without a branch.
    Currency {
        slot: u16,
        keys: Box<[[Currency; 4]]>,
        ne: bool,
    },
    /// A bool slot equal to `want`.
    Bool { slot: u16, want: bool },
    /// `slot == null` (`ne`: `!= null`). `required`: a null or absent slot is an
    /// error of the ordinary path.
    Null { slot: u16, ne: bool, required: bool },
    /// A bool field on its own (`ne`: under `not`).
    Truth { slot: u16, ne: bool },
    /// Anything else: the source node, as a tree.
    Tree,
}

/// A string constant, with its bytes packed into two words when it is short, so that
/// a string of its length is compared in two compares of words rather than a call
/// of `memcmp`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StrKey {
    text: Box<str>,
    words: (u64, u64),
}

impl StrKey {
    pub fn new(text: &str) -> StrKey {
        StrKey {
            text: text.into(),
            words: words(text.as_bytes()),
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// `s == self.text`.
    #[inline(always)]
    pub fn matches(&self, s: &str) -> bool {
        let (a, b) = (s.as_bytes(), self.text.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        if a.len() > 16 {
            return long_eq(a, b);
        }
        words(a) == self.words
    }
}

/// `a == b`, compared as [`StrKey::matches`] compares (words for up to 16 bytes, no
/// call of `memcmp`), for two strings neither of which is a key made ahead.
#[inline(always)]
pub fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if a.len() > 16 {
        return long_eq(a, b);
    }
    words(a) == words(b)
}

/// Out of line: the call of `memcmp` would hold registers where a key is compared.
#[inline(never)]
fn long_eq(a: &[u8], b: &[u8]) -> bool {
    a == b
}

/// A string of up to 16 bytes as two words that are equal for two strings of one
/// length exactly when their bytes are: its first and last eight bytes (which
/// overlap under 16), four for a string under 8, and for one under 4 its first,
/// middle and last byte. Anything longer: `(0, 0)` (compared as bytes).
#[inline(always)]
fn words(s: &[u8]) -> (u64, u64) {
    let n = s.len();
    let word = |at: usize| {
        s.get(at..at + 8)
            .and_then(|w| w.try_into().ok())
            .map_or(0, u64::from_le_bytes)
    };
    let half = |at: usize| {
        s.get(at..at + 4)
            .and_then(|w| w.try_into().ok())
            .map_or(0, |w| u64::from(u32::from_le_bytes(w)))
    };
    let byte = |at: usize| s.get(at).map_or(0, |b| u64::from(*b));
    match n {
        8..=16 => (word(0), word(n - 8)),
        4..=7 => (half(0), half(n - 4)),
        1..=3 => (byte(0) | byte(n / 2) << 8 | byte(n - 1) << 16, 0),
        _ => (0, 0),
    }
}

/// `lo <= x <= lo + span`, as one compare (`x - lo`, wrapping, as unsigned), or,
/// when `outside`, not so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Within {
    pub lo: i64,
    pub span: u64,
    pub outside: bool,
}

impl Within {
    /// No integer.
    const NONE: Within = Within {
        lo: i64::MIN,
        span: u64::MAX,
        outside: true,
    };

    /// The integers from `lo` to `hi` (both in); none when `lo > hi`.
    fn between(lo: i64, hi: i64) -> Within {
        if lo > hi {
            return Within::NONE;
        }
        Within {
            lo,
            span: hi.wrapping_sub(lo) as u64,
            outside: false,
        }
    }

    /// The integers `x` with `x OP k`.
    pub fn of(op: CmpOp, k: i64) -> Within {
        match op {
            CmpOp::Eq => Within::between(k, k),
            CmpOp::Ne => Within {
                outside: true,
                ..Within::between(k, k)
            },
            CmpOp::Lt => k
                .checked_sub(1)
                .map_or(Within::NONE, |k| Within::between(i64::MIN, k)),
            CmpOp::Le => Within::between(i64::MIN, k),
            CmpOp::Gt => k
                .checked_add(1)
                .map_or(Within::NONE, |k| Within::between(k, i64::MAX)),
            CmpOp::Ge => Within::between(k, i64::MAX),
        }
    }

    /// The integers in both, when each is one range (not `outside`, or none).
    fn and(self, other: Within) -> Option<Within> {
        let range = |w: Within| match w {
            Within::NONE => Some(None),
            Within { outside: false, .. } => Some(Some((w.lo, w.lo.wrapping_add(w.span as i64)))),
            _ => None,
        };
        Some(match (range(self)?, range(other)?) {
            (Some((a, b)), Some((c, d))) => Within::between(a.max(c), b.min(d)),
            _ => Within::NONE,
        })
    }

    fn not(self) -> Within {
        Within {
            outside: !self.outside,
            ..self
        }
    }

    #[inline(always)]
    pub fn test(self, x: i64) -> bool {
        (x.wrapping_sub(self.lo) as u64 <= self.span) != self.outside
    }
}

impl Plan {
    fn of(root: &Node) -> Plan {
        let (all, parts) = match root {
            Node::All(parts) => (true, &parts[..]),
            Node::Any(parts) => (false, &parts[..]),
            n => (true, std::slice::from_ref(n)),
        };
        let mut steps = Vec::with_capacity(parts.len());
        let mut i = 0;
        while i < parts.len() {
            // In an `and`, comparisons of one slot side by side are one range: the
            // same answer, and the same order of evaluation, as the `and` of them.
            if all {
                if let Some((check, n)) = range(&parts[i..]) {
                    steps.push(Step {
                        check,
                        source: Node::All(parts[i..i + n].into()),
                    });
                    i += n;
                    continue;
                }
            }
            steps.push(Step {
                check: check(&parts[i], false),
                source: parts[i].clone(),
            });
            i += 1;
        }
        let fused = Fused::of(all, &steps);
        Plan {
            all,
            steps: steps.into(),
            fused,
        }
    }
}

/// The step of a comparison of an integer or an amount with a constant.
fn ordered(n: &Node) -> Option<(u16, Option<Currency>, Within)> {
    match n {
        Node::Test {
            slot,
            op,
            key: Key::Int(k),
            ..
        } => Some((*slot, None, Within::of(*op, *k))),
        Node::Test {
            slot,
            op,
            key: Key::Money(m),
            ..
        } => Some((*slot, Some(m.currency), Within::of(*op, m.minor))),
        _ => None,
    }
}

/// Two or more comparisons at the start of `parts` (of an `and`) of one integer
/// slot, or one amount slot with constants of one currency, each a range (not
/// `!=`), as one step; and how many they are.
fn range(parts: &[Node]) -> Option<(Check, usize)> {
    let (slot, currency, mut within) = ordered(parts.first()?)?;
    let mut n = 1;
    for p in &parts[1..] {
        let Some((s, c, w)) = ordered(p) else { break };
        if s != slot || c != currency {
            break;
        }
        let Some(both) = within.and(w) else { break };
        within = both;
        n += 1;
    }
    if n < 2 {
        return None;
    }
    let check = match currency {
        None => Check::Int { slot, within },
        Some(currency) => Check::Money {
            slot,
            currency,
            within,
        },
    };
    Some((check, n))
}

/// The step of `n` (`ne`: under an odd number of `not`s).
fn check(n: &Node, ne: bool) -> Check {
    match n {
        Node::Not(inner) => check(inner, !ne),
        Node::Test {
            slot,
            op,
            key,
            required,
        } => {
            let slot = *slot;
            let equality = matches!(op, CmpOp::Eq | CmpOp::Ne);
            // For an equality: `!=` is `not ==`.
            let not_eq = ne != (*op == CmpOp::Ne);
            match key {
                Key::Int(k) => Check::Int {
                    slot,
                    within: flip(Within::of(*op, *k), ne),
                },
                Key::Money(m) => Check::Money {
                    slot,
                    currency: m.currency,
                    within: flip(Within::of(*op, m.minor), ne),
                },
                Key::Str(k) if equality => Check::Str {
                    slot,
                    key: StrKey::new(k),
                    ne: not_eq,
                },
                Key::Bool(b) if equality => Check::Bool {
                    slot,
                    want: *b != not_eq,
                },
                Key::Null if equality => Check::Null {
                    slot,
                    ne: not_eq,
                    required: *required,
                },
                Key::Currency(c) if equality => Check::Currency {
                    slot,
                    keys: [[*c; 4]].into(),
                    ne: not_eq,
                },
                _ => Check::Tree,
            }
        }
        Node::AnyOf { slot, keys, .. } => any_of(*slot, keys, ne),
        Node::Truth { slot, .. } => Check::Truth { slot: *slot, ne },
        Node::All(_) | Node::Any(_) => Check::Tree,
    }
}

/// `w`, or its complement when `not`.
fn flip(w: Within, not: bool) -> Within {
    if not {
        w.not()
    } else {
        w
    }
}

/// The step of `slot in [keys]`, when every key but null is of one kind (a value is
/// never null, and a null slot is left to the tree); else the tree.
fn any_of(slot: u16, keys: &[Key], ne: bool) -> Check {
    let keys: Vec<&Key> = keys.iter().filter(|k| !matches!(k, Key::Null)).collect();
    let all = |f: fn(&Key) -> bool| !keys.is_empty() && keys.iter().all(|k| f(k));
    if all(|k| matches!(k, Key::Currency(_))) {
        let cs: Vec<Currency> = keys
            .iter()
            .filter_map(|k| match k {
                Key::Currency(c) => Some(*c),
                _ => None,
            })
            .collect();
        let keys = cs
            .chunks(4)
            .map(|four| {
                let mut out = [four[0]; 4];
                out[..four.len()].copy_from_slice(four);
                out
            })
            .collect();
        Check::Currency { slot, keys, ne }
    } else if all(|k| matches!(k, Key::Int(_))) {
        let keys = keys
            .iter()
            .filter_map(|k| match k {
                Key::Int(i) => Some(*i),
                _ => None,
            })
            .collect();
        Check::IntIn { slot, keys, ne }
    } else if all(|k| matches!(k, Key::Str(_))) {
        let keys = keys
            .iter()
            .filter_map(|k| match k {
                Key::Str(s) => Some(StrKey::new(s)),
                _ => None,
            })
            .collect();
        Check::StrIn { slot, keys, ne }
    } else {
        Check::Tree
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every shape has its own code, in `1..=Fused::TWO`, and gives its kinds back.
    #[test]
    fn fused_codes_are_one_per_shape() {
        let mut seen = std::collections::HashSet::new();
        for a in 0..Fused::KINDS {
            for b in 0..Fused::KINDS {
                let two = Fused::two(a, b);
                assert_eq!(
                    [0, 1, 2, 3].map(|i| two.kind(i)),
                    [Some(a), Some(b), None, None]
                );
                assert!(seen.insert(two.0));
                for c in 0..Fused::KINDS {
                    let three = Fused::three(a, b, c);
                    assert_eq!(
                        [0, 1, 2, 3].map(|i| three.kind(i)),
                        [Some(a), Some(b), Some(c), None]
                    );
                    assert!(seen.insert(three.0));
                }
            }
        }
        assert_eq!(seen.len(), usize::from(Fused::TWO));
        assert!(seen.iter().all(|c| (1..=Fused::TWO).contains(c)));
        assert_eq!(Fused::NONE.kind(0), None);
        assert_eq!(Fused(Fused::TWO + 1).kind(0), None);
    }

    #[test]
    fn same_bytes_is_equality_of_bytes() {
        let words: Vec<Vec<u8>> = (0..=20)
            .flat_map(|n| {
                let base: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
                let mut variants = vec![base.clone()];
                for at in 0..n {
                    let mut v = base.clone();
                    v[at as usize] ^= 0x20;
                    variants.push(v);
                }
                variants
            })
            .collect();
        for a in &words {
            for b in &words {
                assert_eq!(same_bytes(a, b), a == b, "{a:?} {b:?}");
            }
        }
    }

    /// A string key matches exactly the strings equal to it, at every length the
    /// words are made differently (and past them), and at every byte.
    #[test]
    fn string_keys_match_equal_strings() {
        let mut texts: Vec<String> = Vec::new();
        for n in 0..=20 {
            let base: String = "succeeded_requires".chars().cycle().take(n).collect();
            texts.push(base.clone());
            for at in 0..n {
                let mut b = base.clone().into_bytes();
                b[at] ^= 0x20;
                texts.push(String::from_utf8(b).expect("ASCII"));
            }
        }
        texts.extend(["é".to_string(), "e\u{301}".to_string(), "ée".to_string()]);
        for k in &texts {
            let key = StrKey::new(k);
            for s in &texts {
                assert_eq!(key.matches(s), s == k, "{k:?} {s:?}");
            }
        }
    }

    #[test]
    fn ranges_of_integers() {
        let values = [i64::MIN, i64::MIN + 1, -1, 0, 1, 2, i64::MAX - 1, i64::MAX];
        let ops = [
            CmpOp::Eq,
            CmpOp::Ne,
            CmpOp::Lt,
            CmpOp::Le,
            CmpOp::Gt,
            CmpOp::Ge,
        ];
        let holds = |op: CmpOp, x: i64, k: i64| match op {
            CmpOp::Eq => x == k,
            CmpOp::Ne => x != k,
            CmpOp::Lt => x < k,
            CmpOp::Le => x <= k,
            CmpOp::Gt => x > k,
            CmpOp::Ge => x >= k,
        };
        for op in ops {
            for k in values {
                let w = Within::of(op, k);
                for x in values {
                    assert_eq!(w.test(x), holds(op, x, k), "{x} {op:?} {k}");
                    assert_eq!(w.not().test(x), !holds(op, x, k), "not {x} {op:?} {k}");
                }
                for op2 in ops {
                    for k2 in values {
                        let Some(both) = w.and(Within::of(op2, k2)) else {
                            assert!(op == CmpOp::Ne || op2 == CmpOp::Ne);
                            continue;
                        };
                        for x in values {
                            assert_eq!(
                                both.test(x),
                                holds(op, x, k) && holds(op2, x, k2),
                                "{x} {op:?} {k} and {op2:?} {k2}"
                            );
                        }
                    }
                }
            }
        }
    }
}
