//! The types of flow values.

use std::fmt;
use std::rc::Rc;

use flow_stdlib::{FieldDef, FieldType};

#[derive(Clone, Debug, PartialEq)]
pub struct EnumTy {
    /// Where the values come from, e.g. `payment_intent.status`.
    pub origin: String,
    pub values: Vec<String>,
    pub open: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Ty {
    Bool,
    Int,
    Decimal,
    Str,
    Timestamp,
    /// A length of time, in seconds (`7 days`, or a timestamp minus another).
    Duration,
    Currency,
    /// An amount with its currency.
    Money,
    Enum(Rc<EnumTy>),
    List(Box<Ty>),
    /// String → string map (Stripe metadata).
    Metadata,
    /// `{ "Label": value }` tables (email `append`).
    Table,
    /// A whole object of a known Stripe type (`retrieve charge`).
    Object(String),
    /// The ID of an object of that type (`customer` on a PaymentIntent).
    Ref(String),
    /// JSON whose shape is not modelled; checked at run time.
    Json,
    /// The type of the literal `null`.
    Null,
    Nullable(Box<Ty>),
    /// After an error: accepted everywhere, so that one mistake is reported once.
    Error,
}

impl Ty {
    pub fn nullable(self) -> Ty {
        match self {
            Ty::Nullable(_) | Ty::Null | Ty::Json | Ty::Error => self,
            t => Ty::Nullable(Box::new(t)),
        }
    }

    pub fn is_nullable(&self) -> bool {
        matches!(self, Ty::Nullable(_) | Ty::Null)
    }

    /// The type without its nullability.
    pub fn base(&self) -> &Ty {
        match self {
            Ty::Nullable(t) => t,
            t => t,
        }
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Ty::Error)
    }

    /// The type of a field as declared in a schema.
    pub fn of_field(owner: &str, f: &FieldDef) -> Ty {
        let t = Ty::of_type(&format!("{owner}.{}", f.name), &f.ty);
        if f.may_be_null() {
            t.nullable()
        } else {
            t
        }
    }

    pub fn of_type(origin: &str, t: &FieldType) -> Ty {
        match t {
            FieldType::String => Ty::Str,
            FieldType::Integer => Ty::Int,
            FieldType::Decimal => Ty::Decimal,
            FieldType::Bool => Ty::Bool,
            FieldType::Timestamp => Ty::Timestamp,
            FieldType::Currency => Ty::Currency,
            FieldType::Metadata => Ty::Metadata,
            FieldType::Json => Ty::Json,
            FieldType::Money { .. } => Ty::Money,
            FieldType::Ref(o) => Ty::Ref(o.clone()),
            FieldType::Enum { values, open } => Ty::Enum(Rc::new(EnumTy {
                origin: origin.to_string(),
                values: values.clone(),
                open: *open,
            })),
            FieldType::List(inner) => Ty::List(Box::new(Ty::of_type(origin, inner))),
            FieldType::Object(o) => Ty::Object(o.clone()),
            FieldType::Addresses => Ty::List(Box::new(Ty::Str)),
            FieldType::Table => Ty::Table,
        }
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Bool => f.write_str("bool"),
            Ty::Int => f.write_str("integer"),
            Ty::Decimal => f.write_str("decimal"),
            Ty::Str => f.write_str("string"),
            Ty::Timestamp => f.write_str("timestamp"),
            Ty::Duration => f.write_str("duration"),
            Ty::Currency => f.write_str("currency"),
            Ty::Money => f.write_str("money"),
            Ty::Enum(e) => write!(f, "enum {}", e.origin),
            Ty::List(t) => write!(f, "list<{t}>"),
            Ty::Metadata => f.write_str("metadata"),
            Ty::Table => f.write_str("table"),
            Ty::Object(o) => write!(f, "{o}"),
            Ty::Ref(o) => write!(f, "ref<{o}>"),
            Ty::Json => f.write_str("json"),
            Ty::Null => f.write_str("null"),
            Ty::Nullable(t) => write!(f, "{t}?"),
            Ty::Error => f.write_str("unknown"),
        }
    }
}

/// `type` as shown in field listings, with enum values.
pub fn describe_field_type(owner: &str, f: &FieldDef) -> String {
    let ty = Ty::of_field(owner, f);
    let mut s = match (&f.ty, ty.is_nullable()) {
        (FieldType::Enum { values, open }, n) => format!(
            "enum{}({}){}",
            if *open { "+" } else { "" },
            values.join("|"),
            if n { "?" } else { "" }
        ),
        _ => ty.to_string(),
    };
    if f.updatable {
        s.push_str("  (updatable)");
    }
    s
}
