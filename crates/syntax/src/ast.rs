//! The abstract syntax tree: owned nodes, each with the byte span it came from.

use rust_decimal::Decimal;

use super::Span;

#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A parsed `.flow` file.
#[derive(Clone, Debug, Default)]
pub struct File {
    pub workflows: Vec<Workflow>,
    /// `test "name" { … }` items, in file order.
    pub tests: Vec<Test>,
    /// `action NAME url: "…" { … }` declarations, in file order.
    pub actions: Vec<ActionDecl>,
    /// Not written in the file: for a test file `NAME.test.flow`, the inputs of the
    /// on-demand workflows of `NAME.flow`, which its tests give and expect.
    pub subject_inputs: Vec<InputDecl>,
}

/// `action NAME url: "https://…" { PARAM: TYPE … }`: a custom action, carried out as
/// a signed `http` POST of its parameters as JSON.
#[derive(Clone, Debug)]
pub struct ActionDecl {
    pub name: Ident,
    pub url: String,
    pub url_span: Span,
    pub params: Vec<ParamDecl>,
    pub span: Span,
}

/// `PARAM: TYPE`, the type written as in the stdlib's `actions.def` (`string`,
/// `money`, `ref(customer)`, `enum(a|b)`); a trailing `?` makes it optional.
#[derive(Clone, Debug)]
pub struct ParamDecl {
    pub name: Ident,
    pub ty: String,
    pub ty_span: Span,
}

/// `test "name" { given …  expect … }`.
#[derive(Clone, Debug)]
pub struct Test {
    pub name: String,
    pub name_span: Span,
    pub givens: Vec<Given>,
    /// `answer stripe.RESOURCE.METHOD with …`, in the order written.
    pub answers: Vec<Answer>,
    pub expects: Vec<Expect>,
    pub span: Span,
}

/// `answer stripe.credit_notes.create with { … }`: what a method answers in a test.
#[derive(Clone, Debug)]
pub struct Answer {
    /// `credit_notes`.
    pub resource: Ident,
    /// `create`.
    pub method: Ident,
    /// A map (one object) or a list (the items of a list or a search).
    pub value: Expr,
    pub span: Span,
}

/// `given EVENT_TYPE { … }` or `given "events/x.json"`, with objects for `retrieve`.
#[derive(Clone, Debug)]
pub struct Given {
    pub event: GivenEvent,
    pub with: Option<GivenObjects>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum GivenEvent {
    /// An event type and a partial `data.object` (an `ExprKind::Map`).
    Partial { event_type: Ident, object: Expr },
    /// A Stripe event in a JSON file, relative to the test's file.
    File { path: String, span: Span },
}

#[derive(Clone, Debug)]
pub enum GivenObjects {
    /// `with [ { "id": …, "object": …, … }, … ]` (an `ExprKind::List`).
    Inline(Expr),
    /// `with "objects"`: a folder of `.json` files, or one file.
    Path { path: String, span: Span },
}

#[derive(Clone, Debug)]
pub struct Expect {
    pub kind: ExpectKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum ExpectKind {
    /// `expect succeeded`, `expect failed "part of the error"`, `expect skipped`.
    Status {
        status: Ident,
        message: Option<(String, Span)>,
    },
    /// `expect no update`, `expect no actions`.
    No { what: Ident },
    /// `expect email to: "…"`, `expect update customer.metadata.Tier == "VIP"`.
    Action(ExpectedAction),
    /// `expect actions [ … ]`: exactly these, in this order.
    Actions(Vec<ExpectedAction>),
}

#[derive(Clone, Debug)]
pub enum ExpectedAction {
    /// `ACTION name: value …`, some of the action's arguments.
    Call {
        name: Ident,
        args: Vec<Arg>,
        span: Span,
    },
    /// `update REF.path == value`.
    Update {
        target: Path,
        value: Expr,
        span: Span,
    },
    /// `stripe.invoices.void_invoice(id)`: some of the method's arguments.
    Stripe { call: StripeCall, span: Span },
}

impl ExpectedAction {
    pub fn span(&self) -> Span {
        match self {
            ExpectedAction::Call { span, .. }
            | ExpectedAction::Update { span, .. }
            | ExpectedAction::Stripe { span, .. } => *span,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Workflow {
    /// `workflow "Name"`; absent means the file's stem names it.
    pub name: Option<(String, Span)>,
    /// What starts it: `on EVENT_TYPE`, `on schedule …` or `on demand (…)`.
    pub trigger: Trigger,
    /// `when CONDITION`.
    pub when: Option<Expr>,
    pub body: Block,
    /// From `workflow`/`on` to the end of the body.
    pub span: Span,
    /// The span of the header (`workflow "…" on …`), used to point at the workflow as a whole.
    pub header_span: Span,
}

/// What starts a workflow.
#[derive(Clone, Debug)]
pub enum Trigger {
    /// `on payment_intent.succeeded`.
    Event(Ident),
    /// `on schedule "0 9 1 * *" timezone "America/New_York"`: the cron text and the
    /// zone, each with the span of its string literal (quotes included).
    Schedule {
        cron: (String, Span),
        timezone: Option<(String, Span)>,
        span: Span,
    },
    /// `on demand (customer: ref<customer>, credit: money)`.
    Demand { inputs: Vec<InputDecl>, span: Span },
}

impl Trigger {
    /// From `schedule`/`demand` or the event type to the end of the trigger.
    pub fn span(&self) -> Span {
        match self {
            Trigger::Event(e) => e.span,
            Trigger::Schedule { span, .. } | Trigger::Demand { span, .. } => *span,
        }
    }

    /// The event type, for an event trigger.
    pub fn event(&self) -> Option<&Ident> {
        match self {
            Trigger::Event(e) => Some(e),
            _ => None,
        }
    }
}

/// `NAME: TYPE` or `NAME: TYPE = DEFAULT`, an input of an on-demand workflow; the
/// type as written (`ref<customer>`, `money?`).
#[derive(Clone, Debug)]
pub struct InputDecl {
    pub name: Ident,
    pub ty: String,
    pub ty_span: Span,
    pub default: Option<Expr>,
    pub span: Span,
}

#[derive(Clone, Debug, Default)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum StmtKind {
    /// `let NAME = EXPR`
    Let { name: Ident, value: Expr },
    /// `if C { … } else if C { … } else { … }`
    If {
        branches: Vec<(Expr, Block)>,
        otherwise: Option<Block>,
    },
    /// `update REF.path = EXPR`
    Update { target: Path, value: Expr },
    /// `retrieve REF` as a statement of its own.
    Retrieve { target: Path },
    /// `ACTION name: value …`
    Action { name: Ident, args: Vec<Arg> },
    /// `stripe.RESOURCE.METHOD(…)` on a line of its own (an [`ExprKind::Stripe`]).
    Call(Expr),
    /// `for NAME in LIST limit N { … }`.
    For {
        var: Ident,
        list: Expr,
        /// `limit N`: the most items taken, with the span of `N`.
        limit: Option<(Decimal, Span)>,
        body: Block,
    },
    /// `break`: leave the innermost loop.
    Break,
    /// `wait DURATION`, or `wait until TIMESTAMP` (`until` true).
    Wait { until: bool, value: Expr },
    /// `let NAME = ACTION name: value …`: the action's answer, named.
    LetAction {
        name: Ident,
        action: Ident,
        args: Vec<Arg>,
    },
}

#[derive(Clone, Debug)]
pub struct Arg {
    pub name: Ident,
    pub value: Expr,
}

/// A field path: `amount`, `ch.outcome.risk_level`, `metadata["Order ID"]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Path {
    pub segments: Vec<Segment>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    pub name: String,
    pub span: Span,
    /// Written as `["…"]` rather than `.name`.
    pub quoted: bool,
    /// `[0]`: an item of a list, by position (`name` is the position as text).
    pub index: Option<usize>,
}

impl Path {
    /// The path as written, with dots: `customer.metadata.Tier`.
    pub fn dotted(&self) -> String {
        let mut out = String::new();
        for (i, s) in self.segments.iter().enumerate() {
            if let Some(n) = s.index {
                out.push_str(&format!("[{n}]"));
            } else if s.quoted {
                out.push_str(&format!("[{:?}]", s.name));
            } else {
                if i > 0 {
                    out.push('.');
                }
                out.push_str(&s.name);
            }
        }
        out
    }
}

#[derive(Clone, Debug)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    Add,
    Sub,
    Mul,
    Div,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Or => "or",
            BinOp::And => "and",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::In => "in",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
        }
    }

    /// Binding power: `or` < `and` < comparisons and `in` < `+ -` < `* /`.
    pub fn precedence(self) -> u8 {
        match self {
            BinOp::Or => 1,
            BinOp::And => 2,
            BinOp::Add | BinOp::Sub => 4,
            BinOp::Mul | BinOp::Div => 5,
            _ => 3,
        }
    }

    pub fn is_arithmetic(self) -> bool {
        matches!(self, BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div)
    }

    pub fn is_ordering(self) -> bool {
        matches!(self, BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge)
    }
}

#[derive(Clone, Debug)]
pub enum StrPart {
    Text(String),
    Expr(Expr),
}

#[derive(Clone, Debug)]
pub enum ExprKind {
    Path(Path),
    /// A number as written; integer or decimal.
    Number(Decimal),
    Str(Vec<StrPart>),
    Bool(bool),
    Null,
    /// `USD`
    Currency(String),
    /// `1000 USD`, `14.99 USD`: the amount in major units as written.
    Money {
        amount: Decimal,
        currency: Ident,
    },
    List(Vec<Expr>),
    /// `{ "Label": value, … }`
    Map(Vec<(Ident, Expr)>),
    Not(Box<Expr>),
    /// `-x`
    Neg(Box<Expr>),
    /// `2024-01-01`, `2024-01-01T09:00:00Z`: Unix seconds.
    Time(i64),
    /// `30 minutes`, `7 days`: seconds.
    Duration(i64),
    /// `name(args)`
    Call {
        name: Ident,
        args: Vec<Expr>,
    },
    /// `any(x in xs: condition)`, `all(…)`
    Quant {
        all: bool,
        var: Ident,
        list: Box<Expr>,
        cond: Box<Expr>,
    },
    Binary {
        op: BinOp,
        op_span: Span,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `retrieve REF`
    Retrieve(Path),
    /// `stripe.invoices.void_invoice(inv)`: a method of Stripe's API.
    Stripe(StripeCall),
}

/// `stripe.RESOURCE.METHOD(ARGS)`.
#[derive(Clone, Debug)]
pub struct StripeCall {
    /// `invoices`, `checkout.sessions`: as in Stripe's Python library.
    pub resource: Ident,
    /// `void_invoice`, `create`, `list`.
    pub method: Ident,
    /// In the order written: path parameters by position first, then by name.
    pub args: Vec<CallArg>,
}

/// An argument of a method call: `inv` (by position) or `status: "open"`.
#[derive(Clone, Debug)]
pub struct CallArg {
    pub name: Option<Ident>,
    pub value: Expr,
}
