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
}

#[derive(Clone, Debug)]
pub struct Workflow {
    /// `workflow "Name"`; absent means the file's stem names it.
    pub name: Option<(String, Span)>,
    /// `on EVENT_TYPE`.
    pub trigger: Ident,
    /// `when CONDITION`.
    pub when: Option<Expr>,
    pub body: Block,
    /// From `workflow`/`on` to the end of the body.
    pub span: Span,
    /// The span of the header (`workflow "…" on …`), used to point at the workflow as a whole.
    pub header_span: Span,
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
}

impl Path {
    /// The path as written, with dots: `customer.metadata.Tier`.
    pub fn dotted(&self) -> String {
        let mut out = String::new();
        for (i, s) in self.segments.iter().enumerate() {
            if s.quoted {
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
        }
    }

    /// Binding power: `or` < `and` < comparisons.
    pub fn precedence(self) -> u8 {
        match self {
            BinOp::Or => 1,
            BinOp::And => 2,
            _ => 3,
        }
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
    Binary {
        op: BinOp,
        op_span: Span,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `retrieve REF`
    Retrieve(Path),
}
