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
    /// A point in time, Unix seconds (`2024-01-01`).
    Time(i64),
    /// A length of time in seconds (`7 days`).
    Duration(i64),
}

/// An arithmetic operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
}

impl ArithOp {
    pub fn symbol(self) -> &'static str {
        match self {
            ArithOp::Add => "+",
            ArithOp::Sub => "-",
            ArithOp::Mul => "*",
            ArithOp::Div => "/",
        }
    }
}

/// How money multiplied or divided comes back to the currency's minor unit: half
/// away from zero unless `floor(…)` or `ceil(…)` says otherwise.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    #[default]
    HalfAwayFromZero,
    Floor,
    Ceil,
}

/// A built-in function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Func {
    Contains,
    StartsWith,
    EndsWith,
    Matches,
    Lower,
    Upper,
    Trim,
    Length,
    IsEmpty,
    Round,
    Floor,
    Ceil,
    Abs,
    FormatTime,
}

impl Func {
    pub const ALL: [Func; 14] = [
        Func::Contains,
        Func::StartsWith,
        Func::EndsWith,
        Func::Matches,
        Func::Lower,
        Func::Upper,
        Func::Trim,
        Func::Length,
        Func::IsEmpty,
        Func::Round,
        Func::Floor,
        Func::Ceil,
        Func::Abs,
        Func::FormatTime,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Func::Contains => "contains",
            Func::StartsWith => "starts_with",
            Func::EndsWith => "ends_with",
            Func::Matches => "matches",
            Func::Lower => "lower",
            Func::Upper => "upper",
            Func::Trim => "trim",
            Func::Length => "length",
            Func::IsEmpty => "is_empty",
            Func::Round => "round",
            Func::Floor => "floor",
            Func::Ceil => "ceil",
            Func::Abs => "abs",
            Func::FormatTime => "format_time",
        }
    }

    /// How it is called, for help texts.
    pub fn signature(self) -> &'static str {
        match self {
            Func::Contains => "contains(text: string, part: string) -> bool",
            Func::StartsWith => "starts_with(text: string, prefix: string) -> bool",
            Func::EndsWith => "ends_with(text: string, suffix: string) -> bool",
            Func::Matches => "matches(text: string, pattern: string) -> bool",
            Func::Lower => "lower(text: string) -> string",
            Func::Upper => "upper(text: string) -> string",
            Func::Trim => "trim(text: string) -> string",
            Func::Length => "length(text or list) -> integer",
            Func::IsEmpty => "is_empty(text, list or metadata) -> bool",
            Func::Round => "round(number or money) -> integer or money",
            Func::Floor => "floor(number or money) -> integer or money",
            Func::Ceil => "ceil(number or money) -> integer or money",
            Func::Abs => "abs(number, money or duration) -> the same type",
            Func::FormatTime => {
                "format_time(time: timestamp, format: string, zone: string) -> string"
            }
        }
    }

    pub fn by_name(name: &str) -> Option<Func> {
        Func::ALL.into_iter().find(|f| f.name() == name)
    }
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
