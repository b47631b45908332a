//! Arithmetic and the built-in functions, on run-time values.
//!
//! Integers and money use checked integer arithmetic, decimals `rust_decimal`'s
//! checked operations: an overflow or a division by zero fails the run (R0105), and
//! nothing wraps or becomes a float. Money keeps its currency: ± needs one currency
//! (R0302 names both otherwise), × and ÷ by a number round to the currency's minor
//! unit as the program says (half away from zero unless `floor`/`ceil`).

use rust_decimal::{Decimal, RoundingStrategy};

use flow_program::{ArithOp, Func, Pattern, Rounding};
use flow_stdlib::money::Money;
use flow_syntax::Span;

use crate::error::{RunCode, RunError};
use crate::value::Value;

fn overflow(span: Span, what: &str) -> RunError {
    RunError::at(
        RunCode::Arithmetic,
        span,
        format!("{what} is too large for flow's numbers"),
    )
}

fn by_zero(span: Span) -> RunError {
    RunError::at(RunCode::Arithmetic, span, "division by zero")
}

fn strategy(r: Rounding) -> RoundingStrategy {
    match r {
        Rounding::HalfAwayFromZero => RoundingStrategy::MidpointAwayFromZero,
        Rounding::Floor => RoundingStrategy::ToNegativeInfinity,
        Rounding::Ceil => RoundingStrategy::ToPositiveInfinity,
    }
}

fn decimal(v: &Value) -> Option<Decimal> {
    match v {
        Value::Int(i) => Some(Decimal::from(*i)),
        Value::Dec(d) => Some(*d),
        _ => None,
    }
}

/// A whole decimal as an integer, if it fits.
fn whole(d: Decimal, span: Span, what: &str) -> Result<i64, RunError> {
    i64::try_from(d).map_err(|_| overflow(span, what))
}

/// An operator that needs a value on both sides: R0101 on the side that is null.
pub fn both_present(
    symbol: &str,
    l: &Value,
    r: &Value,
    span: Span,
    operands: Option<(Span, Span)>,
) -> Result<(), RunError> {
    for (v, side) in [(l, operands.map(|o| o.0)), (r, operands.map(|o| o.1))] {
        if v.is_null() {
            return Err(RunError::at(
                RunCode::Null,
                side.unwrap_or(span),
                format!("`{symbol}` needs a value on both sides, but this is null"),
            ));
        }
    }
    Ok(())
}

/// `l OP r`. `operands` are the spans of the two sides, for errors.
pub fn arith(
    op: ArithOp,
    round: Rounding,
    l: &Value,
    r: &Value,
    span: Span,
    operands: Option<(Span, Span)>,
) -> Result<Value, RunError> {
    use ArithOp::*;
    both_present(op.symbol(), l, r, span, operands)?;
    let what = "the result";
    Ok(match (op, l, r) {
        (Add, Value::Int(a), Value::Int(b)) => {
            Value::Int(a.checked_add(*b).ok_or_else(|| overflow(span, what))?)
        }
        (Sub, Value::Int(a), Value::Int(b)) => {
            Value::Int(a.checked_sub(*b).ok_or_else(|| overflow(span, what))?)
        }
        (Mul, Value::Int(a), Value::Int(b)) => {
            Value::Int(a.checked_mul(*b).ok_or_else(|| overflow(span, what))?)
        }
        (Add | Sub, Value::Money(a), Value::Money(b)) => {
            if a.currency != b.currency {
                return Err(RunError::at(
                    RunCode::Currency,
                    span,
                    format!(
                        "cannot {} {a} and {b}: amounts in two currencies are never converted",
                        if op == Add { "add" } else { "subtract" }
                    ),
                ));
            }
            let minor = if op == Add {
                a.minor.checked_add(b.minor)
            } else {
                a.minor.checked_sub(b.minor)
            };
            Value::Money(Money::new(
                minor.ok_or_else(|| overflow(span, what))?,
                a.currency,
            ))
        }
        (Div, Value::Money(a), Value::Money(b)) => {
            if a.currency != b.currency {
                return Err(RunError::at(
                    RunCode::Currency,
                    span,
                    format!(
                        "cannot divide {a} by {b}: amounts in two currencies are never converted"
                    ),
                ));
            }
            if b.minor == 0 {
                return Err(by_zero(span));
            }
            Value::Dec(
                Decimal::from(a.minor)
                    .checked_div(Decimal::from(b.minor))
                    .ok_or_else(|| overflow(span, what))?,
            )
        }
        (Mul | Div, Value::Money(m), n) | (Mul, n, Value::Money(m)) if decimal(n).is_some() => {
            let n = decimal(n).unwrap_or_default();
            let minor = Decimal::from(m.minor);
            let exact = if op == Mul {
                minor.checked_mul(n)
            } else {
                if n.is_zero() {
                    return Err(by_zero(span));
                }
                minor.checked_div(n)
            }
            .ok_or_else(|| overflow(span, what))?;
            let rounded = exact.round_dp_with_strategy(0, strategy(round));
            Value::Money(Money::new(whole(rounded, span, what)?, m.currency))
        }
        (Add, Value::Time(t), Value::Duration(d)) | (Add, Value::Duration(d), Value::Time(t)) => {
            Value::Time(t.checked_add(*d).ok_or_else(|| overflow(span, what))?)
        }
        (Sub, Value::Time(t), Value::Duration(d)) => {
            Value::Time(t.checked_sub(*d).ok_or_else(|| overflow(span, what))?)
        }
        (Sub, Value::Time(a), Value::Time(b)) => {
            Value::Duration(a.checked_sub(*b).ok_or_else(|| overflow(span, what))?)
        }
        (Add, Value::Duration(a), Value::Duration(b)) => {
            Value::Duration(a.checked_add(*b).ok_or_else(|| overflow(span, what))?)
        }
        (Sub, Value::Duration(a), Value::Duration(b)) => {
            Value::Duration(a.checked_sub(*b).ok_or_else(|| overflow(span, what))?)
        }
        (Mul, Value::Duration(d), Value::Int(n)) | (Mul, Value::Int(n), Value::Duration(d)) => {
            Value::Duration(d.checked_mul(*n).ok_or_else(|| overflow(span, what))?)
        }
        (Div, Value::Duration(d), Value::Int(n)) => {
            if *n == 0 {
                return Err(by_zero(span));
            }
            Value::Duration(d.checked_div(*n).ok_or_else(|| overflow(span, what))?)
        }
        (_, a, b) => match (decimal(a), decimal(b)) {
            (Some(x), Some(y)) => {
                let d = match op {
                    Add => x.checked_add(y),
                    Sub => x.checked_sub(y),
                    Mul => x.checked_mul(y),
                    Div => {
                        if y.is_zero() {
                            return Err(by_zero(span));
                        }
                        x.checked_div(y)
                    }
                }
                .ok_or_else(|| overflow(span, what))?;
                Value::Dec(d.normalize())
            }
            _ => {
                return Err(RunError::at(
                    RunCode::WrongType,
                    span,
                    format!(
                        "cannot compute {} {} {}",
                        a.to_text(),
                        op.symbol(),
                        b.to_text()
                    ),
                ))
            }
        },
    })
}

/// `-v`.
pub fn neg(v: &Value, span: Span) -> Result<Value, RunError> {
    let what = "the negation";
    Ok(match v {
        Value::Null => {
            return Err(RunError::at(
                RunCode::Null,
                span,
                "`-` needs a value, but this is null",
            ))
        }
        Value::Int(i) => Value::Int(i.checked_neg().ok_or_else(|| overflow(span, what))?),
        Value::Dec(d) => Value::Dec(-*d),
        Value::Money(m) => Value::Money(Money::new(
            m.minor.checked_neg().ok_or_else(|| overflow(span, what))?,
            m.currency,
        )),
        Value::Duration(d) => Value::Duration(d.checked_neg().ok_or_else(|| overflow(span, what))?),
        other => {
            return Err(RunError::at(
                RunCode::WrongType,
                span,
                format!("cannot negate {}", other.to_text()),
            ))
        }
    })
}

/// Text as a function reads it: null is the empty text.
fn text(v: &Value) -> std::borrow::Cow<'_, str> {
    match v {
        Value::Str(s) => std::borrow::Cow::Borrowed(s),
        Value::Null => std::borrow::Cow::Borrowed(""),
        other => std::borrow::Cow::Owned(other.to_text()),
    }
}

/// `func(args)`.
pub fn call(func: Func, args: &[Value], span: Span) -> Result<Value, RunError> {
    let arg = |i: usize| args.get(i).unwrap_or(&Value::Null);
    Ok(match func {
        Func::Contains => Value::Bool(text(arg(0)).contains(&*text(arg(1)))),
        Func::StartsWith => Value::Bool(text(arg(0)).starts_with(&*text(arg(1)))),
        Func::EndsWith => Value::Bool(text(arg(0)).ends_with(&*text(arg(1)))),
        Func::Matches => {
            let pattern = Pattern::new(&text(arg(1))).map_err(|e| {
                RunError::at(
                    RunCode::Pattern,
                    span,
                    format!(
                        "the pattern {:?} is not a valid regular expression: {e}",
                        text(arg(1))
                    ),
                )
            })?;
            Value::Bool(pattern.regex.is_match(&text(arg(0))))
        }
        Func::Lower | Func::Upper | Func::Trim => match arg(0) {
            Value::Null => Value::Null,
            v => {
                let t = text(v);
                Value::Str(
                    match func {
                        Func::Lower => t.to_lowercase(),
                        Func::Upper => t.to_uppercase(),
                        _ => t.trim().to_string(),
                    }
                    .into(),
                )
            }
        },
        Func::Length => Value::Int(match arg(0) {
            Value::Null => 0,
            Value::List(items) => items.len() as i64,
            Value::Object(o) => o.as_object().map_or(0, |m| m.len()) as i64,
            v => text(v).chars().count() as i64,
        }),
        Func::IsEmpty => Value::Bool(match arg(0) {
            Value::Null => true,
            Value::List(items) => items.is_empty(),
            Value::Object(o) => o.as_object().is_none_or(|m| m.is_empty()),
            v => text(v).is_empty(),
        }),
        Func::Round | Func::Floor | Func::Ceil => {
            let r = match func {
                Func::Floor => Rounding::Floor,
                Func::Ceil => Rounding::Ceil,
                _ => Rounding::HalfAwayFromZero,
            };
            match arg(0) {
                Value::Dec(d) => Value::Int(whole(
                    d.round_dp_with_strategy(0, strategy(r)),
                    span,
                    "the rounded number",
                )?),
                Value::Null => {
                    return Err(RunError::at(
                        RunCode::Null,
                        span,
                        format!("`{}` needs a value, but this is null", func.name()),
                    ))
                }
                // Integers and money are whole already.
                v => v.clone(),
            }
        }
        Func::Abs => match arg(0) {
            Value::Int(i) => Value::Int(
                i.checked_abs()
                    .ok_or_else(|| overflow(span, "the absolute value"))?,
            ),
            Value::Dec(d) => Value::Dec(d.abs()),
            Value::Money(m) => Value::Money(Money::new(
                m.minor
                    .checked_abs()
                    .ok_or_else(|| overflow(span, "the absolute value"))?,
                m.currency,
            )),
            Value::Duration(d) => Value::Duration(
                d.checked_abs()
                    .ok_or_else(|| overflow(span, "the absolute value"))?,
            ),
            Value::Null => {
                return Err(RunError::at(
                    RunCode::Null,
                    span,
                    "`abs` needs a value, but this is null",
                ))
            }
            other => other.clone(),
        },
        Func::FormatTime => {
            let t = match arg(0) {
                Value::Time(t) | Value::Int(t) => *t,
                Value::Null => return Ok(Value::Null),
                other => {
                    return Err(RunError::at(
                        RunCode::WrongType,
                        span,
                        format!("format_time: {} is not a time", other.to_text()),
                    ))
                }
            };
            Value::Str(format_time(t, &text(arg(1)), &text(arg(2)), span)?.into())
        }
    })
}

/// A time in a zone, as `format` (strftime's directives) says.
fn format_time(t: i64, format: &str, zone: &str, span: Span) -> Result<String, RunError> {
    let bad = |m: String| RunError::at(RunCode::Pattern, span, m);
    let tz = jiff::tz::TimeZone::get(zone)
        .map_err(|_| bad(format!("format_time: `{zone}` is not a time zone")))?;
    let ts = jiff::Timestamp::from_second(t)
        .map_err(|_| bad(format!("format_time: {t} is out of range")))?;
    jiff::fmt::strtime::format(format.as_bytes(), &ts.to_zoned(tz))
        .map_err(|e| bad(format!("format_time: `{format}` is not a time format: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flow_stdlib::money::Currency;

    fn usd(minor: i64) -> Value {
        Value::Money(Money::new(minor, Currency::parse("usd").unwrap()))
    }

    fn go(op: ArithOp, r: Rounding, a: Value, b: Value) -> Result<Value, RunError> {
        arith(op, r, &a, &b, Span::default(), None)
    }

    #[test]
    fn money_divided_rounds_half_away_from_zero_unless_told() {
        let half = Rounding::HalfAwayFromZero;
        assert_eq!(
            go(ArithOp::Div, half, usd(1999), Value::Int(2)).unwrap(),
            usd(1000)
        );
        assert_eq!(
            go(ArithOp::Div, half, usd(-1999), Value::Int(2)).unwrap(),
            usd(-1000)
        );
        assert_eq!(
            go(ArithOp::Div, Rounding::Floor, usd(1999), Value::Int(2)).unwrap(),
            usd(999)
        );
        assert_eq!(
            go(ArithOp::Div, Rounding::Ceil, usd(1001), Value::Int(3)).unwrap(),
            usd(334)
        );
        assert_eq!(
            go(
                ArithOp::Mul,
                half,
                usd(1999),
                Value::Dec(Decimal::new(15, 2))
            )
            .unwrap(),
            usd(300)
        );
        assert_eq!(
            go(ArithOp::Div, half, usd(1000), usd(400)).unwrap(),
            Value::Dec(Decimal::new(25, 1))
        );
    }

    #[test]
    fn overflow_and_division_by_zero_fail_the_run() {
        let half = Rounding::HalfAwayFromZero;
        let e = go(ArithOp::Add, half, Value::Int(i64::MAX), Value::Int(1)).unwrap_err();
        assert_eq!(e.code, RunCode::Arithmetic);
        let e = go(ArithOp::Div, half, usd(100), Value::Int(0)).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (RunCode::Arithmetic, "division by zero")
        );
        let e = go(ArithOp::Mul, half, usd(i64::MAX), Value::Int(2)).unwrap_err();
        assert_eq!(e.code, RunCode::Arithmetic);
        let eur = Value::Money(Money::new(1, Currency::parse("eur").unwrap()));
        let e = go(ArithOp::Add, half, usd(1), eur).unwrap_err();
        assert_eq!(e.code, RunCode::Currency);
        assert!(e.message.contains("0.01 USD and 0.01 EUR"), "{}", e.message);
    }

    #[test]
    fn functions() {
        let s = |t: &str| Value::Str(t.into());
        let sp = Span::default();
        assert_eq!(
            call(
                Func::EndsWith,
                &[s("a@acme-corp.com"), s("@acme-corp.com")],
                sp
            )
            .unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            call(Func::Contains, &[Value::Null, s(".edu")], sp).unwrap(),
            Value::Bool(false)
        );
        assert_eq!(call(Func::Lower, &[s("DE")], sp).unwrap(), s("de"));
        assert_eq!(
            call(Func::Length, &[s("Größe")], sp).unwrap(),
            Value::Int(5)
        );
        assert_eq!(
            call(Func::Round, &[Value::Dec(Decimal::new(25, 1))], sp).unwrap(),
            Value::Int(3)
        );
        assert_eq!(
            call(Func::Floor, &[Value::Dec(Decimal::new(-25, 1))], sp).unwrap(),
            Value::Int(-3)
        );
        assert_eq!(
            call(
                Func::FormatTime,
                &[
                    Value::Time(1_765_036_700),
                    s("%Y-%m-%d %H:%M"),
                    s("Europe/Berlin")
                ],
                sp
            )
            .unwrap(),
            s("2025-12-06 16:58")
        );
        assert_eq!(
            call(Func::Matches, &[s("x"), s("(")], sp).unwrap_err().code,
            RunCode::Pattern
        );
    }
}
