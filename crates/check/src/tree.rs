//! The checked tree: every name resolved, every expression typed. This is what the
//! compiler consumes; it holds no unresolved strings.

pub use flow_program::{ArithOp, CmpOp, Conv, FieldRead, Func, Lit, Root, Rounding, StripeSpec};
use flow_syntax::Span;

use crate::types::Ty;

#[derive(Clone, Debug)]
pub struct TWorkflow {
    pub name: String,
    /// The event type, or `schedule` / `demand` ([`flow_program::SCHEDULE`]).
    pub trigger: String,
    pub schedule: Option<flow_program::ScheduleSpec>,
    pub inputs: Vec<flow_program::InputSpec>,
    /// The object type of `data.object` (`None`: dynamic JSON).
    pub object: Option<String>,
    pub when: Option<TExpr>,
    pub body: Vec<TStmt>,
    /// Number of `let` slots.
    pub locals: u16,
    /// The most actions a run carries out.
    pub max_actions: u32,
    pub span: Span,
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
    /// `a + b`, `a * b`…; money multiplied or divided is rounded as `round` says.
    Arith {
        op: ArithOp,
        round: Rounding,
        lhs: Box<TExpr>,
        rhs: Box<TExpr>,
    },
    Neg(Box<TExpr>),
    Call {
        func: Func,
        args: Vec<TExpr>,
    },
    /// `matches(text, "literal pattern")`: the pattern compiled at check time.
    Match {
        text: Box<TExpr>,
        pattern: String,
    },
    /// The time the run started.
    Now,
    /// `any(var in list: cond)` / `all(…)`; `slots` holds the list and its position
    /// (`slots`, `slots + 1`) and `var` the item.
    Quant {
        all: bool,
        slots: u16,
        var: u16,
        list: Box<TExpr>,
        cond: Box<TExpr>,
    },
    /// A Stripe API method called with these argument values (in `spec.args`'s order).
    Stripe {
        spec: Box<StripeSpec>,
        args: Vec<TExpr>,
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
    /// `for var in list limit N { body }`: `slots` holds the list and the position
    /// (`slots`, `slots + 1`), `var` the item.
    For {
        slots: u16,
        var: u16,
        list: TExpr,
        limit: u32,
        body: Vec<TStmt>,
        span: Span,
    },
    /// `break`: leave the innermost loop.
    Break {
        span: Span,
    },
    /// `wait DURATION`, or `wait until TIMESTAMP` (`until`).
    Wait {
        until: bool,
        value: TExpr,
        span: Span,
    },
    /// An expression evaluated for what it does (a Stripe method call), its value
    /// dropped.
    Do {
        value: TExpr,
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
    /// `slack`, `http` or a custom action, carried out through the bindings; with
    /// `let NAME = …`, its answer is stored in `slot`.
    Call {
        /// `slack`, `http`, or the custom action's name.
        action: String,
        /// A custom action's address (it is carried out as an `http` POST).
        endpoint: Option<String>,
        /// Parameters in the order written.
        params: Vec<(String, TExpr)>,
        slot: Option<u16>,
        span: Span,
    },
}
