//! The operands of bytecode: where a field is read from and how its JSON becomes a
//! value, literals and comparison operators. The checker resolves names to these,
//! and the compiler and the VM use them as they are.

use rust_decimal::Decimal;

use flow_stdlib::money::{Currency, Money};

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
