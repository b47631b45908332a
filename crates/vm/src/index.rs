//! A shared pre-filter for the `when` conditions of many workflows.
//!
//! A workflow whose `when` starts with a comparison of a field with a constant
//! (`when amount > 1000 USD and …`, `when currency == "eur"`) is skipped whenever
//! that comparison is false. The workflows of one event type that compare the same
//! field with the same operator and the same kind of constant form a group; per
//! event, each group is answered once:
//!
//! - ordered comparisons (`<`, `<=`, `>`, `>=`) on integers, money of one currency,
//!   timestamps or durations are monotonic in the constant, so a binary search over
//!   the group's sorted constants finds where they turn false, in a few probes;
//! - any other comparison is probed once per distinct constant.
//!
//! A probe is a tiny program, `field OP constant`, run by the VM itself (`vm::eval`):
//! the answer is the VM's own. A probe that fails (a read error, a type the VM cannot
//! order) answers nothing: every workflow of that group is run in full, and reports
//! the error as it always did. Only a clean `false` skips a workflow.
//!
//! Batch mode (`flow run --events`) and `flow serve` both use it: batch mode skips a
//! workflow's run without running it, and `flow serve` records the run as skipped in
//! the transaction that records the event.

use flow_program::{CmpOp, FieldRead, Lit, Op, Program, Root};
use flow_syntax::Span;

use crate::{Action, ActionContext, ActionError, Bindings, Event, Value};

/// A probe reads fields and compares: it never carries out an action.
struct NoActions;

impl Bindings for NoActions {
    fn perform(
        &mut self,
        _: &Action,
        _: &ActionContext<'_>,
    ) -> Result<serde_json::Value, ActionError> {
        Err(ActionError::new(
            "a condition's probe carries out no action",
        ))
    }
}

/// Where a workflow's leading comparison is answered: `group`, constant `rank`.
#[derive(Clone, Copy, Debug)]
struct Leading {
    group: usize,
    rank: usize,
}

/// Comparisons of one field with one operator and one kind of constant.
struct Group {
    /// One probe per distinct constant; in ascending order when `ordered`.
    probes: Vec<Program>,
    ordered: bool,
    /// `>`/`>=`: true for the smaller constants; `<`/`<=`: for the larger ones.
    true_below: bool,
}

/// What a group's probes answered for one event.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// A probe failed: its workflows run in full.
    Unknown,
    /// Ordered: the number of leading ranks on the `true_below` side whose
    /// comparison is true (`>`: ranks `< n` are true; `<`: ranks `>= n` are true).
    Boundary(usize),
    /// Per rank.
    Each(Vec<bool>),
}

/// The pre-filter of the workflows of one event type (in their order).
pub struct Index {
    leading: Vec<Option<Leading>>,
    groups: Vec<Group>,
}

/// The key a constant is sorted by within an ordered group, and the group's kind.
fn order_key(lit: &Lit) -> Option<(String, i64)> {
    match lit {
        Lit::Int(i) => Some(("int".into(), *i)),
        Lit::Money(m) => Some((format!("money {:?}", m.currency), m.minor)),
        Lit::Time(t) => Some(("time".into(), *t)),
        Lit::Duration(d) => Some(("duration".into(), *d)),
        _ => None,
    }
}

/// The read, operator and constant of a workflow's leading comparison, when that
/// comparison being false skips the run with nothing else done.
fn leading_comparison(p: &Program) -> Option<(&FieldRead, CmpOp, &Lit)> {
    if p.trigger_kind() != "event" || !p.inputs.is_empty() {
        return None;
    }
    let (Some(&Op::Load(r)), Some(&Op::Const(c)), Some(&Op::Compare(op, _))) =
        (p.code.first(), p.code.get(1), p.code.get(2))
    else {
        return None;
    };
    let Some(&Op::JumpIfFalse(mut pc)) = p.code.get(3) else {
        return None;
    };
    // Follow a false from there: through the `and`s it ends (each pushes `false` and
    // tests it again) to the `when`'s `Skip`. Anything else: not a plain prefix.
    for _ in 0..p.code.len() {
        match p.code.get(pc as usize)? {
            Op::Skip => {
                let read = p.reads.get(r as usize)?;
                // A field of the event (or its object), never a local.
                if !matches!(read.root, Root::Event | Root::Object) {
                    return None;
                }
                let lit = p.consts.get(c as usize)?;
                return Some((read, op, lit));
            }
            Op::Jump(t) => pc = *t,
            Op::Const(k) => {
                if p.consts.get(*k as usize) != Some(&Lit::Bool(false)) {
                    return None;
                }
                let Some(&Op::JumpIfFalse(t)) = p.code.get(pc as usize + 1) else {
                    return None;
                };
                pc = t;
            }
            _ => return None,
        }
    }
    None
}

/// A program that leaves `read OP lit`, as the VM computes it.
fn probe(read: &FieldRead, op: CmpOp, lit: &Lit) -> Program {
    let mut p = Program::empty("probe", "probe", 0, Span::default());
    p.reads = vec![read.clone()];
    p.consts = vec![lit.clone()];
    p.code = vec![Op::Load(0), Op::Const(0), Op::Compare(op, 0), Op::Halt];
    p.spans = vec![Span::default(); p.code.len()];
    p
}

impl Index {
    pub fn new(programs: &[&Program]) -> Index {
        // Group key: the read (its root, path, conversion, requiredness), the
        // operator, and the kind of constant (for ordered groups).
        struct Building<'p> {
            read: &'p FieldRead,
            op: CmpOp,
            kind: Option<String>,
            lits: Vec<&'p Lit>,
        }
        let mut building: Vec<Building> = Vec::new();
        let mut found: Vec<Option<(usize, &Lit)>> = Vec::with_capacity(programs.len());
        for p in programs {
            let Some((read, op, lit)) = leading_comparison(p) else {
                found.push(None);
                continue;
            };
            let is_ordered = matches!(op, CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge);
            let kind = if is_ordered {
                order_key(lit).map(|(k, _)| k)
            } else {
                None
            };
            let same_read = |b: &FieldRead| {
                b.root == read.root
                    && b.path == read.path
                    && b.conv == read.conv
                    && b.required == read.required
            };
            let g = match building
                .iter()
                .position(|b| same_read(b.read) && b.op == op && b.kind == kind)
            {
                Some(g) => g,
                None => {
                    building.push(Building {
                        read,
                        op,
                        kind,
                        lits: Vec::new(),
                    });
                    building.len() - 1
                }
            };
            if !building[g].lits.contains(&lit) {
                building[g].lits.push(lit);
            }
            found.push(Some((g, lit)));
        }
        let mut groups = Vec::with_capacity(building.len());
        for b in &mut building {
            let ordered = b.kind.is_some();
            if ordered {
                b.lits
                    .sort_by_key(|l| order_key(l).map_or(i64::MIN, |(_, v)| v));
            }
            groups.push(Group {
                probes: b.lits.iter().map(|l| probe(b.read, b.op, l)).collect(),
                ordered,
                true_below: matches!(b.op, CmpOp::Gt | CmpOp::Ge),
            });
        }
        let leading = found
            .into_iter()
            .map(|f| {
                let (group, lit) = f?;
                let rank = building[group].lits.iter().position(|l| *l == lit)?;
                Some(Leading { group, rank })
            })
            .collect();
        Index { leading, groups }
    }

    /// Whether any workflow can be answered here.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Answer every group for this event (into `answers`, one per group).
    pub fn answer(&self, event: &Event, locals: &mut Vec<Value>, answers: &mut Vec<Answer>) {
        self.answer_by(answers, |g, i| {
            let p = self.groups.get(g)?.probes.get(i)?;
            match crate::eval(p, None, event, locals, &mut NoActions).0 {
                Ok(Some(Value::Bool(b))) => Some(b),
                _ => None,
            }
        });
    }

    /// The probes of each group, in order (for another way of asking them).
    pub fn probes(&self) -> impl Iterator<Item = &[Program]> {
        self.groups.iter().map(|g| &g.probes[..])
    }

    /// Answer every group (into `answers`, one per group), probe `i` of group `g`
    /// being answered by `ask(g, i)` (`None`: it fails).
    pub fn answer_by(
        &self,
        answers: &mut Vec<Answer>,
        mut ask: impl FnMut(usize, usize) -> Option<bool>,
    ) {
        answers.clear();
        for (n, g) in self.groups.iter().enumerate() {
            let mut ask = |i: usize| ask(n, i);
            let answer = if g.ordered {
                // The first rank on the far side: `>`: the first false; `<`: the first
                // true. Each probe is the VM's answer; the order does the rest.
                let (mut lo, mut hi) = (0, g.probes.len());
                let mut failed = false;
                while lo < hi {
                    let mid = lo + (hi - lo) / 2;
                    match ask(mid) {
                        Some(b) if b == g.true_below => lo = mid + 1,
                        Some(_) => hi = mid,
                        None => {
                            failed = true;
                            break;
                        }
                    }
                }
                if failed {
                    Answer::Unknown
                } else {
                    Answer::Boundary(lo)
                }
            } else {
                let each: Option<Vec<bool>> = (0..g.probes.len()).map(&mut ask).collect();
                each.map_or(Answer::Unknown, Answer::Each)
            };
            answers.push(answer);
        }
    }

    /// Whether these answers make every leading comparison false: then every
    /// workflow that has one is skipped.
    pub fn all_false(&self, answers: &[Answer]) -> bool {
        answers.len() == self.groups.len()
            && self.groups.iter().zip(answers).all(|(g, a)| match a {
                Answer::Unknown => false,
                // No rank on the `true_below` side.
                Answer::Boundary(n) => {
                    if g.true_below {
                        *n == 0
                    } else {
                        *n >= g.probes.len()
                    }
                }
                Answer::Each(each) => each.iter().all(|b| !b),
            })
    }

    /// Whether workflow `i` has a leading comparison answered here.
    pub fn has_leading(&self, i: usize) -> bool {
        matches!(self.leading.get(i), Some(Some(_)))
    }

    /// Whether workflow `i`'s leading comparison is known to be false (it is skipped).
    pub fn skips(&self, i: usize, answers: &[Answer]) -> bool {
        let Some(Some(l)) = self.leading.get(i) else {
            return false;
        };
        let (Some(g), Some(a)) = (self.groups.get(l.group), answers.get(l.group)) else {
            return false;
        };
        match a {
            Answer::Unknown => false,
            // Ranks below the boundary are on the `true_below` side.
            Answer::Boundary(n) => (l.rank < *n) != g.true_below,
            Answer::Each(each) => each.get(l.rank) == Some(&false),
        }
    }
}
