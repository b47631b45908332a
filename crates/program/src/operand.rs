//! The operands of bytecode: where a field is read from and how its JSON becomes a
//! value, literals and comparison operators. The checker resolves names to these,
//! and the compiler and the VM use them as they are.

use rust_decimal::Decimal;
use serde::{Serialize, Serializer};

use flow_stdlib::money::{Currency, Money};

/// Where a field path starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Root {
    /// `data.object` of the event.
    Object,
    /// The event envelope (`event.id`, `event.type`, …).
    Event,
    /// A `let` slot holding an object.
    Local(u16),
}

/// How a JSON value read from an event becomes a flow value.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
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

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FieldRead {
    pub root: Root,
    pub path: Vec<String>,
    pub conv: Conv,
    /// Null or absent is an error at run time (the schema says it is always there).
    pub required: bool,
    /// The path as the user wrote it, for run-time errors.
    ///
    /// It is part of the canonical form, and so of the version: run-time errors
    /// quote it (``cannot read `cus.email`: the object is null``), and those messages
    /// are in run reports and in the run log, so two programs that differ in it do
    /// not behave the same to whoever reads their reports. It is built from the
    /// names of the path's segments, never from the layout around them, so a
    /// comment or a change of whitespace leaves it as it is; renaming a `let` does
    /// change it, and with it the version.
    pub display: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Lit {
    Null,
    Bool(bool),
    Int(i64),
    /// Serialized as its exact text, scale included (`10.50`, not `10.5`).
    Dec(#[serde(serialize_with = "exact_decimal")] Decimal),
    Str(String),
    Currency(Currency),
    Money(Money),
}

/// A decimal as its exact text: never through a float.
fn exact_decimal<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(d)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
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
