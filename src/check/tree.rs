//! The checked tree: every name resolved, every expression typed. This is what the
//! compiler consumes; it holds no unresolved strings.

use std::sync::Arc;

use rust_decimal::Decimal;

use super::types::Ty;
use crate::money::{Currency, Money};
use crate::syntax::{SourceFile, Span};

/// A checked file: its workflows, ready to compile.
#[derive(Clone, Debug)]
pub struct Checked {
    pub source: Arc<SourceFile>,
    pub workflows: Vec<TWorkflow>,
    /// The file's `test` items, checked (see `check::test_case`).
    pub tests: Vec<super::test_case::TTest>,
}

#[derive(Clone, Debug)]
pub struct TWorkflow {
    pub name: String,
    pub trigger: String,
    /// The object type of `data.object` (`None`: dynamic JSON).
    pub object: Option<String>,
    pub when: Option<TExpr>,
    pub body: Vec<TStmt>,
    /// Number of `let` slots.
    pub locals: u16,
    pub span: Span,
}

/// Where a field path starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Root {
    /// `data.object` of the event.
    Object,
    /// The event envelope (`event.id`, `event.type`, …).
    Event,
    /// A `let` slot holding an object.
    Local(u16),
}

/// How a JSON value read from an event becomes a flow value.
#[derive(Clone, Debug, PartialEq)]
pub enum Conv {
    Str,
    Int,
    Decimal,
    Bool,
    Timestamp,
    Currency,
    /// An integer amount; the currency is read from this path (same root).
    Money {
        currency_path: Vec<String>,
    },
    /// An ID string, or an expanded object whose `id` is taken.
    Ref,
    Metadata,
    Object,
    Json,
    List(Box<Conv>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct FieldRead {
    pub root: Root,
    pub path: Vec<String>,
    pub conv: Conv,
    /// Null or absent is an error at run time (the schema says it is always there).
    pub required: bool,
    /// The path as the user wrote it, for run-time errors.
    pub display: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Lit {
    Null,
    Bool(bool),
    Int(i64),
    Dec(Decimal),
    Str(String),
    Currency(Currency),
    Money(Money),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

#[derive(Clone, Debug)]
pub struct TExpr {
    pub kind: TExprKind,
    pub ty: Ty,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum TPart {
    Text(String),
    Expr(TExpr),
}

#[derive(Clone, Debug)]
pub enum TExprKind {
    Lit(Lit),
    Field(FieldRead),
    Local(u16),
    /// Fetch the object whose ID `id` evaluates to.
    Retrieve {
        object: String,
        id: Box<TExpr>,
    },
    /// An object's `id` (an object passed where a reference is expected).
    IdOf(Box<TExpr>),
    Not(Box<TExpr>),
    And(Box<TExpr>, Box<TExpr>),
    Or(Box<TExpr>, Box<TExpr>),
    Compare {
        op: CmpOp,
        lhs: Box<TExpr>,
        rhs: Box<TExpr>,
    },
    In {
        needle: Box<TExpr>,
        list: Box<TExpr>,
    },
    Interp(Vec<TPart>),
    List(Vec<TExpr>),
    Table(Vec<(String, TExpr)>),
}

#[derive(Clone, Debug)]
pub enum TStmt {
    Let {
        slot: u16,
        value: TExpr,
    },
    If {
        branches: Vec<(TExpr, Vec<TStmt>)>,
        otherwise: Option<Vec<TStmt>>,
    },
    Update {
        /// The object type updated, e.g. `customer`.
        object: String,
        /// Evaluates to the object's ID.
        id: TExpr,
        /// Where in the update parameters the value goes: `["metadata", "Tier"]`.
        param_path: Vec<String>,
        value: TExpr,
        span: Span,
    },
    Retrieve {
        object: String,
        id: TExpr,
        span: Span,
    },
    Email {
        to: TExpr,
        subject: Option<TExpr>,
        body: TExpr,
        append: Vec<(String, TExpr)>,
        span: Span,
    },
    Refund {
        /// Parameters in Stripe's names, in the order written.
        params: Vec<(String, TExpr)>,
        span: Span,
    },
}
