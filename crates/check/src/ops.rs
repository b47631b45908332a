//! Typing arithmetic, function calls, quantifiers and time: the operators and
//! built-ins of conditions.
//!
//! Money keeps its currency through arithmetic: money ± money needs one currency (a
//! check error when both are known, else the run fails naming both); money × or ÷ a
//! number is money, rounded to the currency's minor unit half away from zero unless
//! `floor(…)` or `ceil(…)` is around it; money ÷ money is a decimal. Nothing becomes a
//! float.

use flow_program::Pattern;
use flow_syntax::ast::{self, BinOp};
use flow_syntax::{Diagnostic, Span};

use crate::tree::{ArithOp, Func, Lit, Rounding, TExpr, TExprKind};
use crate::types::Ty;
use crate::Checker;
use flow_stdlib::suggest::{did_you_mean, phrase};

impl Checker<'_> {
    /// `lhs OP rhs` for `+ - * /`.
    pub(crate) fn arith(
        &mut self,
        op: BinOp,
        op_span: Span,
        lhs: &ast::Expr,
        rhs: &ast::Expr,
        sp: Span,
    ) -> TExpr {
        let l = self.expr(lhs);
        let r = self.expr(rhs);
        let aop = match op {
            BinOp::Add => ArithOp::Add,
            BinOp::Sub => ArithOp::Sub,
            BinOp::Mul => ArithOp::Mul,
            _ => ArithOp::Div,
        };
        for side in [&l, &r] {
            if side.ty.is_nullable() && !matches!(side.ty, Ty::Null) {
                self.warn_nullable(
                    side,
                    &format!("`{}` needs a value on both sides", op.symbol()),
                );
            }
        }
        let ty = self.arith_type(aop, &l, &r, op_span);
        TExpr {
            kind: TExprKind::Arith {
                op: aop,
                round: Rounding::HalfAwayFromZero,
                lhs: Box::new(l),
                rhs: Box::new(r),
            },
            ty,
            span: sp,
        }
    }

    fn arith_type(&mut self, op: ArithOp, l: &TExpr, r: &TExpr, op_span: Span) -> Ty {
        use ArithOp::*;
        let (a, b) = (l.ty.base().clone(), r.ty.base().clone());
        let number = |t: &Ty| matches!(t, Ty::Int | Ty::Decimal);
        let ty = match (op, &a, &b) {
            (_, Ty::Error, _) | (_, _, Ty::Error) => return Ty::Error,
            (Add | Sub | Mul, Ty::Int, Ty::Int) => Ty::Int,
            (Div, Ty::Int, Ty::Int) => Ty::Decimal,
            (_, x, y) if number(x) && number(y) => Ty::Decimal,
            (Add | Sub, Ty::Money, Ty::Money) => {
                self.same_currency(l, r, op, op_span);
                Ty::Money
            }
            (Div, Ty::Money, Ty::Money) => {
                self.same_currency(l, r, op, op_span);
                Ty::Decimal
            }
            (Mul | Div, Ty::Money, y) if number(y) => Ty::Money,
            (Mul, x, Ty::Money) if number(x) => Ty::Money,
            (Add, Ty::Timestamp, Ty::Duration) | (Add, Ty::Duration, Ty::Timestamp) => {
                Ty::Timestamp
            }
            (Sub, Ty::Timestamp, Ty::Duration) => Ty::Timestamp,
            (Sub, Ty::Timestamp, Ty::Timestamp) => Ty::Duration,
            (Add | Sub, Ty::Duration, Ty::Duration) => Ty::Duration,
            (Mul | Div, Ty::Duration, Ty::Int) | (Mul, Ty::Int, Ty::Duration) => Ty::Duration,
            _ => {
                let help = match (&a, &b) {
                    (Ty::Money, x) | (x, Ty::Money) if number(x) && matches!(op, Add | Sub) => {
                        "money adds to money: write the amount with its currency, e.g. `5 USD`".to_string()
                    }
                    (Ty::Money, Ty::Money) => {
                        "money × money has no meaning; multiply or divide money by a number, or divide money by money for a ratio".to_string()
                    }
                    (Ty::Str, _) | (_, Ty::Str) => {
                        "text is joined by interpolation: \"{a} {b}\"".to_string()
                    }
                    (Ty::Timestamp, _) | (_, Ty::Timestamp) => {
                        "a time moves by a duration (`created + 7 days`); two times subtract to a duration".to_string()
                    }
                    _ => "`+ - * /` work on numbers, money (with one currency), times and durations".to_string(),
                };
                self.error(
                    Diagnostic::error("E0208", format!("cannot {} {a} and {b}", verb(op)))
                        .with_label(op_span, format!("`{}` between {a} and {b}", op.symbol()))
                        .with_secondary(l.span, format!("this is {a}"))
                        .with_secondary(r.span, format!("this is {b}"))
                        .with_help(help),
                );
                return Ty::Error;
            }
        };
        if l.ty.is_nullable() || r.ty.is_nullable() {
            ty.nullable()
        } else {
            ty
        }
    }

    /// Two money literals in different currencies: known now, so said now.
    fn same_currency(&mut self, l: &TExpr, r: &TExpr, op: ArithOp, op_span: Span) {
        let currency = |t: &TExpr| match &t.kind {
            TExprKind::Lit(Lit::Money(m)) => Some(m.currency),
            _ => None,
        };
        if let (Some(a), Some(b)) = (currency(l), currency(r)) {
            if a != b {
                self.error(
                    Diagnostic::error(
                        "E0209",
                        format!(
                            "cannot {} {a} and {b}: amounts are never converted",
                            verb(op)
                        ),
                    )
                    .with_label(op_span, "two currencies")
                    .with_secondary(l.span, format!("in {a}"))
                    .with_secondary(r.span, format!("in {b}"))
                    .with_help("write both amounts in one currency"),
                );
            }
        }
    }

    /// `-x`.
    pub(crate) fn neg(&mut self, inner: &ast::Expr, sp: Span) -> TExpr {
        let t = self.expr(inner);
        // A literal stays a literal: `-5`, `-1.50 USD`.
        let folded = match &t.kind {
            TExprKind::Lit(Lit::Int(i)) => i.checked_neg().map(Lit::Int),
            TExprKind::Lit(Lit::Dec(d)) => Some(Lit::Dec(-*d)),
            TExprKind::Lit(Lit::Money(m)) => m
                .minor
                .checked_neg()
                .map(|minor| Lit::Money(flow_stdlib::money::Money::new(minor, m.currency))),
            TExprKind::Lit(Lit::Duration(d)) => d.checked_neg().map(Lit::Duration),
            _ => None,
        };
        if let Some(l) = folded {
            return TExpr {
                kind: TExprKind::Lit(l),
                ty: t.ty,
                span: sp,
            };
        }
        match t.ty.base() {
            Ty::Int | Ty::Decimal | Ty::Money | Ty::Duration | Ty::Error => {}
            other => {
                let other = other.clone();
                self.error(
                    Diagnostic::error("E0208", format!("cannot negate {other}"))
                        .with_label(t.span, format!("this is {other}"))
                        .with_help("`-` negates numbers, money and durations"),
                );
            }
        }
        let ty = t.ty.clone();
        TExpr {
            kind: TExprKind::Neg(Box::new(t)),
            ty,
            span: sp,
        }
    }

    /// `name(args)`.
    pub(crate) fn call(&mut self, name: &ast::Ident, args: &[ast::Expr], sp: Span) -> TExpr {
        let Some(func) = Func::by_name(&name.name) else {
            let mut names: Vec<&str> = Func::ALL.iter().map(|f| f.name()).collect();
            names.extend(["any", "all"]);
            let close = did_you_mean(&name.name, names.iter().copied());
            let mut d = Diagnostic::error("E0211", format!("unknown function `{}`", name.name))
                .with_label(
                    name.span,
                    phrase(&close).unwrap_or_else(|| "no such function".into()),
                )
                .with_help(format!("the functions are: {}", names.join(", ")));
            if matches!(name.name.as_str(), "any" | "all") {
                d = d.with_help(format!(
                    "`{}` takes a name, a list and a condition: `{}(item in items.data: item.price.nickname == \"Pro\")`",
                    name.name, name.name
                ));
            }
            self.error(d);
            // `any(x in xs)`: the arguments name what the quantifier would have bound.
            if !matches!(name.name.as_str(), "any" | "all") {
                for a in args {
                    self.expr(a);
                }
            }
            return self.err_expr(sp);
        };
        // `floor(amount / 3)`: the rounding of the money operation inside.
        if matches!(func, Func::Round | Func::Floor | Func::Ceil) && args.len() == 1 {
            let mut t = self.expr(&args[0]);
            if let (Ty::Money, TExprKind::Arith { op, round, .. }) = (t.ty.base(), &mut t.kind) {
                if matches!(op, ArithOp::Mul | ArithOp::Div) {
                    *round = match func {
                        Func::Floor => Rounding::Floor,
                        Func::Ceil => Rounding::Ceil,
                        _ => Rounding::HalfAwayFromZero,
                    };
                    t.span = sp;
                    return t;
                }
            }
            return self.call_typed(func, vec![t], name, sp);
        }
        if func == Func::Matches && args.len() == 2 {
            if let ast::ExprKind::Str(parts) = &args[1].kind {
                if parts.iter().all(|p| matches!(p, ast::StrPart::Text(_))) {
                    let pattern = pattern_text(parts);
                    let text = self.expr(&args[0]);
                    self.expect_arg(func, &text, &Ty::Str, 1);
                    if let Err(e) = Pattern::new(&pattern) {
                        self.error(
                            Diagnostic::error("E0213", format!("this pattern is not a valid regular expression: {e}"))
                                .with_label(args[1].span, "invalid pattern")
                                .with_help("patterns use the syntax of Rust's `regex` crate: `^B2B-[0-9]+$`; write `\\\\` for a backslash"),
                        );
                    }
                    return TExpr {
                        kind: TExprKind::Match {
                            text: Box::new(text),
                            pattern,
                        },
                        ty: Ty::Bool,
                        span: sp,
                    };
                }
            }
        }
        let typed: Vec<TExpr> = args.iter().map(|a| self.expr(a)).collect();
        self.call_typed(func, typed, name, sp)
    }

    fn call_typed(&mut self, func: Func, args: Vec<TExpr>, name: &ast::Ident, sp: Span) -> TExpr {
        let arity = match func {
            Func::Contains | Func::StartsWith | Func::EndsWith | Func::Matches => 2,
            Func::FormatTime => 3,
            _ => 1,
        };
        if args.len() != arity {
            self.error(
                Diagnostic::error(
                    "E0212",
                    format!(
                        "`{}` takes {arity} argument{}, not {}",
                        func.name(),
                        if arity == 1 { "" } else { "s" },
                        args.len()
                    ),
                )
                .with_label(name.span.to(sp), "wrong number of arguments")
                .with_help(func.signature()),
            );
            return self.err_expr(sp);
        }
        let ty = match func {
            Func::Contains | Func::StartsWith | Func::EndsWith | Func::Matches => {
                self.expect_arg(func, &args[0], &Ty::Str, 1);
                self.expect_arg(func, &args[1], &Ty::Str, 2);
                Ty::Bool
            }
            Func::Lower | Func::Upper | Func::Trim => {
                self.expect_arg(func, &args[0], &Ty::Str, 1);
                if args[0].ty.is_nullable() {
                    Ty::Str.nullable()
                } else {
                    Ty::Str
                }
            }
            Func::Length => {
                self.expect_kind(func, &args[0], |t| {
                    matches!(
                        t,
                        Ty::Str | Ty::List(_) | Ty::Json | Ty::Enum(_) | Ty::Ref(_)
                    )
                });
                Ty::Int
            }
            Func::IsEmpty => {
                self.expect_kind(func, &args[0], |t| {
                    matches!(
                        t,
                        Ty::Str | Ty::List(_) | Ty::Metadata | Ty::Json | Ty::Enum(_) | Ty::Ref(_)
                    )
                });
                Ty::Bool
            }
            Func::Round | Func::Floor | Func::Ceil => {
                self.expect_kind(func, &args[0], |t| {
                    matches!(t, Ty::Int | Ty::Decimal | Ty::Money)
                });
                match args[0].ty.base() {
                    Ty::Money => Ty::Money,
                    Ty::Error => Ty::Error,
                    _ => Ty::Int,
                }
            }
            Func::Abs => {
                self.expect_kind(func, &args[0], |t| {
                    matches!(t, Ty::Int | Ty::Decimal | Ty::Money | Ty::Duration)
                });
                args[0].ty.base().clone()
            }
            Func::FormatTime => {
                self.expect_arg(func, &args[0], &Ty::Timestamp, 1);
                self.expect_arg(func, &args[1], &Ty::Str, 2);
                self.expect_arg(func, &args[2], &Ty::Str, 3);
                if let TExprKind::Lit(Lit::Str(zone)) = &args[2].kind {
                    if jiff::tz::TimeZone::get(zone).is_err() {
                        self.error(
                            Diagnostic::error("E0212", format!("`{zone}` is not a time zone"))
                                .with_label(args[2].span, "unknown time zone")
                                .with_help("give an IANA time zone such as \"Europe/Berlin\", \"America/New_York\" or \"UTC\""),
                        );
                    }
                }
                if let TExprKind::Lit(Lit::Str(format)) = &args[1].kind {
                    let probe = jiff::Timestamp::UNIX_EPOCH.to_zoned(jiff::tz::TimeZone::UTC);
                    if jiff::fmt::strtime::format(format.as_bytes(), &probe).is_err() {
                        self.error(
                            Diagnostic::error("E0212", format!("`{format}` is not a time format"))
                                .with_label(args[1].span, "invalid format")
                                .with_help(
                                    "use strftime's directives: \"%Y-%m-%d %H:%M\", \"%d %B %Y\"",
                                ),
                        );
                    }
                }
                Ty::Str
            }
        };
        TExpr {
            kind: TExprKind::Call { func, args },
            ty,
            span: sp,
        }
    }

    fn expect_arg(&mut self, func: Func, arg: &TExpr, want: &Ty, n: usize) {
        let have = arg.ty.base();
        let ok = have == want
            || matches!(have, Ty::Error | Ty::Json | Ty::Null)
            || (matches!(want, Ty::Str) && matches!(have, Ty::Enum(_) | Ty::Ref(_)))
            || (matches!(want, Ty::Timestamp) && matches!(have, Ty::Int));
        if !ok {
            self.error(
                Diagnostic::error(
                    "E0212",
                    format!("argument {n} of `{}` is {have}, not {want}", func.name()),
                )
                .with_label(arg.span, format!("this is {have}"))
                .with_help(func.signature()),
            );
        }
    }

    fn expect_kind(&mut self, func: Func, arg: &TExpr, ok: impl Fn(&Ty) -> bool) {
        let have = arg.ty.base();
        if !(ok(have) || matches!(have, Ty::Error)) {
            self.error(
                Diagnostic::error("E0212", format!("`{}` does not take {have}", func.name()))
                    .with_label(arg.span, format!("this is {have}"))
                    .with_help(func.signature()),
            );
        }
    }

    /// `any(var in list: cond)` / `all(…)`.
    pub(crate) fn quant(
        &mut self,
        all: bool,
        var: &ast::Ident,
        list: &ast::Expr,
        cond: &ast::Expr,
        sp: Span,
    ) -> TExpr {
        let l = self.expr(list);
        let item = match l.ty.base() {
            Ty::List(t) => (**t).clone(),
            Ty::Json | Ty::Error => Ty::Json,
            other => {
                let other = other.clone();
                self.error(
                    Diagnostic::error(
                        "E0212",
                        format!("`{}` needs a list, not {other}", if all { "all" } else { "any" }),
                    )
                    .with_label(l.span, format!("this is {other}"))
                    .with_help("write `any(item in LIST: condition)`, e.g. `any(d in discounts: d == \"di_1\")`"),
                );
                Ty::Error
            }
        };
        self.scopes.push(std::collections::HashMap::new());
        let slots = self.hidden_slots(2);
        let slot = self.declare(&var.name, item, var.span);
        let c = self.condition(cond, "the condition of a quantifier");
        self.pop_scope();
        TExpr {
            kind: TExprKind::Quant {
                all,
                slots,
                var: slot,
                list: Box::new(l),
                cond: Box::new(c),
            },
            ty: Ty::Bool,
            span: sp,
        }
    }
}

fn pattern_text(parts: &[ast::StrPart]) -> String {
    parts
        .iter()
        .map(|p| match p {
            ast::StrPart::Text(t) => t.as_str(),
            ast::StrPart::Expr(_) => "",
        })
        .collect()
}

fn verb(op: ArithOp) -> &'static str {
    match op {
        ArithOp::Add => "add",
        ArithOp::Sub => "subtract",
        ArithOp::Mul => "multiply",
        ArithOp::Div => "divide",
    }
}
