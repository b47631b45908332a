//! The typed form of a condition (see `flow_program::TypedCond`): built from the
//! checked expression when every part of it is a comparison of a field with a
//! constant, `in [constants]`, a null test, a bool field, `and`, `or` or `not`.

use flow_check::tree::*;
use flow_program::{Key, Node, SlotKind, SlotLayout, SlotSpec, TypedCond};

/// The typed form of `e`, whose instructions have been compiled (so that every
/// field it reads is in `reads`); `None` when some part of it is not handled.
pub(crate) fn condition(e: &TExpr, reads: &[FieldRead], then: Option<u32>) -> Option<TypedCond> {
    let mut t = Typer {
        reads,
        layout: SlotLayout::default(),
    };
    let root = t.node(e)?;
    Some(TypedCond::new(t.layout, root, then))
}

struct Typer<'a> {
    reads: &'a [FieldRead],
    layout: SlotLayout,
}

/// `a OP b` is `b FLIP(OP) a`.
fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
        CmpOp::Eq | CmpOp::Ne => op,
    }
}

impl Typer<'_> {
    fn slot(&mut self, r: &FieldRead) -> Option<(u16, SlotKind)> {
        let read = self.reads.iter().position(|x| x == r)? as u32;
        let spec = SlotSpec::for_read(read, r)?;
        let kind = spec.kind;
        Some((self.layout.slot(read, || spec), kind))
    }

    fn test(&mut self, r: &FieldRead, op: CmpOp, lit: &Lit) -> Option<Node> {
        let (slot, kind) = self.slot(r)?;
        Some(Node::Test {
            slot,
            op,
            key: Key::for_literal(kind, op, lit)?,
            required: r.required,
        })
    }

    fn node(&mut self, e: &TExpr) -> Option<Node> {
        Some(match &e.kind {
            TExprKind::And(l, r) => {
                let mut all = Vec::new();
                for side in [l, r] {
                    match self.node(side)? {
                        Node::All(parts) => all.extend(parts.into_vec()),
                        n => all.push(n),
                    }
                }
                Node::All(all.into())
            }
            TExprKind::Or(l, r) => {
                let mut any = Vec::new();
                for side in [l, r] {
                    match self.node(side)? {
                        Node::Any(parts) => any.extend(parts.into_vec()),
                        n => any.push(n),
                    }
                }
                Node::Any(any.into())
            }
            TExprKind::Not(inner) => Node::Not(Box::new(self.node(inner)?)),
            TExprKind::Compare { op, lhs, rhs } => match (&lhs.kind, &rhs.kind) {
                (TExprKind::Field(r), TExprKind::Lit(l)) => self.test(r, *op, l)?,
                (TExprKind::Lit(l), TExprKind::Field(r)) => self.test(r, flip(*op), l)?,
                _ => return None,
            },
            TExprKind::In { needle, list } => {
                let (TExprKind::Field(r), TExprKind::List(items)) = (&needle.kind, &list.kind)
                else {
                    return None;
                };
                let (slot, kind) = self.slot(r)?;
                let mut keys = Vec::with_capacity(items.len());
                for i in items {
                    let TExprKind::Lit(l) = &i.kind else {
                        return None;
                    };
                    keys.push(Key::for_literal(kind, CmpOp::Eq, l)?);
                }
                Node::AnyOf {
                    slot,
                    keys: keys.into(),
                    required: r.required,
                }
            }
            TExprKind::Field(r) if r.conv == Conv::Bool => {
                let (slot, _) = self.slot(r)?;
                Node::Truth {
                    slot,
                    required: r.required,
                }
            }
            _ => return None,
        })
    }
}
