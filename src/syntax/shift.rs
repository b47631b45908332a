//! Moving spans: a workflow parsed on its own (from a slice of the file) gets the
//! byte offsets it has in the whole file.

use super::ast::*;
use super::Span;
use crate::diagnostics::Diagnostic;

fn span(s: &mut Span, by: u32) {
    s.start += by;
    s.end += by;
}

pub fn workflow(w: &mut Workflow, by: u32) {
    if let Some((_, s)) = &mut w.name {
        span(s, by);
    }
    span(&mut w.trigger.span, by);
    if let Some(e) = &mut w.when {
        expr(e, by);
    }
    block(&mut w.body, by);
    span(&mut w.span, by);
    span(&mut w.header_span, by);
}

pub fn diagnostic(d: &mut Diagnostic, by: u32) {
    for l in &mut d.labels {
        span(&mut l.span, by);
    }
}

fn block(b: &mut Block, by: u32) {
    span(&mut b.span, by);
    for s in &mut b.stmts {
        stmt(s, by);
    }
}

fn stmt(s: &mut Stmt, by: u32) {
    span(&mut s.span, by);
    match &mut s.kind {
        StmtKind::Let { name, value } => {
            span(&mut name.span, by);
            expr(value, by);
        }
        StmtKind::If {
            branches,
            otherwise,
        } => {
            for (c, b) in branches {
                expr(c, by);
                block(b, by);
            }
            if let Some(b) = otherwise {
                block(b, by);
            }
        }
        StmtKind::Update { target, value } => {
            path(target, by);
            expr(value, by);
        }
        StmtKind::Retrieve { target } => path(target, by),
        StmtKind::Action { name, args } => {
            span(&mut name.span, by);
            for a in args {
                span(&mut a.name.span, by);
                expr(&mut a.value, by);
            }
        }
    }
}

fn path(p: &mut Path, by: u32) {
    span(&mut p.span, by);
    for s in &mut p.segments {
        span(&mut s.span, by);
    }
}

fn expr(e: &mut Expr, by: u32) {
    span(&mut e.span, by);
    match &mut e.kind {
        ExprKind::Path(p) | ExprKind::Retrieve(p) => path(p, by),
        ExprKind::Number(_) | ExprKind::Bool(_) | ExprKind::Null | ExprKind::Currency(_) => {}
        ExprKind::Str(parts) => {
            for p in parts {
                if let StrPart::Expr(e) = p {
                    expr(e, by);
                }
            }
        }
        ExprKind::Money { currency, .. } => span(&mut currency.span, by),
        ExprKind::List(items) => {
            for i in items {
                expr(i, by);
            }
        }
        ExprKind::Map(rows) => {
            for (k, v) in rows {
                span(&mut k.span, by);
                expr(v, by);
            }
        }
        ExprKind::Not(inner) => expr(inner, by),
        ExprKind::Binary {
            op_span, lhs, rhs, ..
        } => {
            span(op_span, by);
            expr(lhs, by);
            expr(rhs, by);
        }
    }
}
