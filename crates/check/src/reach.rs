//! Warnings for what is legal but almost surely wrong: a branch that can never run
//! given the conditions around it, and a comparison that is always true or false.
//!
//! The analysis collects facts from the conditions that hold on the way to a branch
//! (`when amount > 1000 USD` gives "currency is USD" and "amount ≥ 100001 minor") and
//! evaluates each nested condition against them: `if amount < 500 USD` or
//! `if currency == EUR` inside that `when` can never be true.

use crate::tree::*;
use flow_stdlib::money::Currency;
use flow_syntax::Diagnostic;
use flow_syntax::Span;

#[derive(Clone, Debug)]
enum Fact {
    /// The currency at `subject` is (or is not) `code`.
    Currency {
        subject: String,
        is: bool,
        code: Currency,
    },
    /// The amount at `subject` lies in `lo..=hi` minor units of `currency`.
    Range {
        subject: String,
        currency: Currency,
        lo: i64,
        hi: i64,
    },
    /// The text at `subject` is (or is not) `value`.
    Text {
        subject: String,
        is: bool,
        value: String,
    },
}

/// A condition decided by the facts: its value, the condition that decides it, and why.
#[derive(Clone, Copy, Debug)]
struct Verdict {
    value: bool,
    origin: Option<Span>,
    why: Why,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Why {
    Currency,
    Range,
    Text,
}

impl Why {
    fn help(self) -> &'static str {
        match self {
            Why::Currency => "the currency is already fixed by the condition around it, and money is never converted between currencies",
            Why::Range => "the amount is already bounded by the condition around it: change one of the thresholds",
            Why::Text => "the value is already fixed by the condition around it",
        }
    }
}

fn verdict(value: bool, origin: Span, why: Why) -> Verdict {
    Verdict {
        value,
        origin: Some(origin),
        why,
    }
}

/// What is known to hold, and where each fact comes from.
#[derive(Default, Clone)]
struct Facts(Vec<(Fact, Span)>);

pub fn analyze(w: &TWorkflow) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut facts = Facts::default();
    if let Some(c) = &w.when {
        trivial(c, &facts, &mut out);
        facts.assume(c);
    }
    block(&w.body, &facts, &mut out);
    out
}

fn block(stmts: &[TStmt], facts: &Facts, out: &mut Vec<Diagnostic>) {
    for s in stmts {
        if let TStmt::For { body, .. } = s {
            block(body, facts, out);
        }
        if let TStmt::If {
            branches,
            otherwise,
        } = s
        {
            let mut always_taken = false;
            for (cond, body) in branches {
                if always_taken {
                    out.push(
                        Diagnostic::warning("W0105", "this branch can never run")
                            .with_label(cond.span, "an earlier condition is always true here")
                            .with_help(
                                "remove the branch, or change the conditions so that each can hold",
                            ),
                    );
                    continue;
                }
                match facts.eval(cond) {
                    Some(Verdict {
                        value: false,
                        origin,
                        why,
                    }) => {
                        let mut d = Diagnostic::warning("W0105", "this branch can never run")
                            .with_label(cond.span, "this is always false here");
                        if let Some(o) = origin {
                            d = d.with_secondary(o, "because this condition holds around it");
                        }
                        out.push(d.with_help(why.help()));
                        continue;
                    }
                    Some(Verdict {
                        value: true,
                        origin,
                        ..
                    }) => {
                        let mut d =
                            Diagnostic::warning("W0104", "this condition is always true here")
                                .with_label(cond.span, "always true");
                        if let Some(o) = origin {
                            d = d.with_secondary(o, "because this condition holds around it");
                        }
                        out.push(d.with_help("drop the `if`, or check what you meant to test"));
                        always_taken = true;
                    }
                    None => trivial(cond, facts, out),
                }
                let mut inner = facts.clone();
                inner.assume(cond);
                block(body, &inner, out);
            }
            if let Some(body) = otherwise {
                if always_taken {
                    out.push(
                        Diagnostic::warning("W0105", "this `else` can never run")
                            .with_label(
                                first_span(body).unwrap_or_default(),
                                "an earlier condition is always true",
                            )
                            .with_help("remove the `else`, or change the conditions"),
                    );
                }
                block(body, facts, out);
            }
        }
    }
}

fn first_span(stmts: &[TStmt]) -> Option<Span> {
    stmts.first().map(|s| match s {
        TStmt::Let { value, .. } => value.span,
        TStmt::If { branches, .. } => branches.first().map(|b| b.0.span).unwrap_or_default(),
        TStmt::Update { span, .. }
        | TStmt::Retrieve { span, .. }
        | TStmt::Email { span, .. }
        | TStmt::Refund { span, .. }
        | TStmt::Call { span, .. }
        | TStmt::Do { span, .. }
        | TStmt::For { span, .. }
        | TStmt::Wait { span, .. }
        | TStmt::Break { span } => *span,
    })
}

/// Comparisons whose result does not depend on the event at all.
fn trivial(e: &TExpr, facts: &Facts, out: &mut Vec<Diagnostic>) {
    match &e.kind {
        TExprKind::And(a, b) | TExprKind::Or(a, b) => {
            trivial(a, facts, out);
            trivial(b, facts, out);
        }
        TExprKind::Not(a) => trivial(a, facts, out),
        TExprKind::Compare { op, lhs, rhs } => {
            let result = match (&lhs.kind, &rhs.kind) {
                (TExprKind::Lit(a), TExprKind::Lit(b)) => lit_compare(*op, a, b),
                (TExprKind::Field(f), TExprKind::Lit(Lit::Null))
                | (TExprKind::Lit(Lit::Null), TExprKind::Field(f))
                    if f.required && matches!(op, CmpOp::Eq | CmpOp::Ne) =>
                {
                    Some(*op == CmpOp::Ne)
                }
                _ => None,
            };
            if let Some(r) = result {
                let help = if matches!(&lhs.kind, TExprKind::Field(_))
                    || matches!(&rhs.kind, TExprKind::Field(_))
                {
                    "the schema says this field is never null"
                } else {
                    "both sides are constants"
                };
                out.push(
                    Diagnostic::warning("W0104", format!("this comparison is always {r}"))
                        .with_label(e.span, format!("always {r}"))
                        .with_help(help),
                );
            }
        }
        _ => {}
    }
    let _ = facts;
}

fn lit_compare(op: CmpOp, a: &Lit, b: &Lit) -> Option<bool> {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (a, b) {
        (Lit::Int(x), Lit::Int(y)) => Some(x.cmp(y)),
        (Lit::Dec(x), Lit::Dec(y)) => Some(x.cmp(y)),
        (Lit::Money(x), Lit::Money(y)) => {
            if x.currency != y.currency {
                return Some(op == CmpOp::Ne);
            }
            Some(x.minor.cmp(&y.minor))
        }
        (Lit::Str(x), Lit::Str(y)) if matches!(op, CmpOp::Eq | CmpOp::Ne) => Some(x.cmp(y)),
        (Lit::Currency(x), Lit::Currency(y)) if matches!(op, CmpOp::Eq | CmpOp::Ne) => {
            Some(x.cmp(y))
        }
        (Lit::Bool(x), Lit::Bool(y)) if matches!(op, CmpOp::Eq | CmpOp::Ne) => Some(x.cmp(y)),
        (Lit::Null, Lit::Null) => Some(Ordering::Equal),
        _ => None,
    };
    ord.map(|o| apply(op, o))
}

fn apply(op: CmpOp, o: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::*;
    match op {
        CmpOp::Eq => o == Equal,
        CmpOp::Ne => o != Equal,
        CmpOp::Lt => o == Less,
        CmpOp::Le => o != Greater,
        CmpOp::Gt => o == Greater,
        CmpOp::Ge => o != Less,
    }
}

fn subject(f: &FieldRead) -> String {
    format!("{:?}/{}", f.root, f.path.join("."))
}

fn currency_subject(f: &FieldRead) -> Option<String> {
    match &f.conv {
        Conv::Money { currency_path } => Some(format!("{:?}/{}", f.root, currency_path.join("."))),
        _ => None,
    }
}

fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
        o => o,
    }
}

/// A comparison of a field with a literal, field first.
fn atom(e: &TExpr) -> Option<(CmpOp, &FieldRead, &Lit)> {
    if let TExprKind::Compare { op, lhs, rhs } = &e.kind {
        match (&lhs.kind, &rhs.kind) {
            (TExprKind::Field(f), TExprKind::Lit(l)) => return Some((*op, f, l)),
            (TExprKind::Lit(l), TExprKind::Field(f)) => return Some((flip(*op), f, l)),
            _ => {}
        }
    }
    None
}

/// The minor-unit interval where `x op b` holds.
fn interval(op: CmpOp, b: i64) -> (i64, i64) {
    match op {
        CmpOp::Gt => (b.saturating_add(1), i64::MAX),
        CmpOp::Ge => (b, i64::MAX),
        CmpOp::Lt => (i64::MIN, b.saturating_sub(1)),
        CmpOp::Le => (i64::MIN, b),
        CmpOp::Eq => (b, b),
        CmpOp::Ne => (i64::MIN, i64::MAX),
    }
}

impl Facts {
    /// Record what a condition that holds tells (its `and`-ed comparisons).
    fn assume(&mut self, e: &TExpr) {
        match &e.kind {
            TExprKind::And(a, b) => {
                self.assume(a);
                self.assume(b);
            }
            _ => {
                let Some((op, f, l)) = atom(e) else { return };
                match l {
                    Lit::Money(m) => {
                        if let Some(cs) = currency_subject(f) {
                            if op != CmpOp::Ne {
                                self.0.push((
                                    Fact::Currency {
                                        subject: cs,
                                        is: true,
                                        code: m.currency,
                                    },
                                    e.span,
                                ));
                                let (lo, hi) = interval(op, m.minor);
                                self.0.push((
                                    Fact::Range {
                                        subject: subject(f),
                                        currency: m.currency,
                                        lo,
                                        hi,
                                    },
                                    e.span,
                                ));
                            }
                        }
                    }
                    Lit::Currency(c) if matches!(op, CmpOp::Eq | CmpOp::Ne) => {
                        self.0.push((
                            Fact::Currency {
                                subject: subject(f),
                                is: op == CmpOp::Eq,
                                code: *c,
                            },
                            e.span,
                        ));
                    }
                    Lit::Str(s) if matches!(op, CmpOp::Eq | CmpOp::Ne) => {
                        self.0.push((
                            Fact::Text {
                                subject: subject(f),
                                is: op == CmpOp::Eq,
                                value: s.clone(),
                            },
                            e.span,
                        ));
                    }
                    _ => {}
                }
            }
        }
    }

    /// The verdict when the facts decide the condition.
    fn eval(&self, e: &TExpr) -> Option<Verdict> {
        match &e.kind {
            TExprKind::And(a, b) => match (self.eval(a), self.eval(b)) {
                (Some(v), _) | (_, Some(v)) if !v.value => Some(v),
                (Some(v), Some(w)) if v.value && w.value => Some(v),
                _ => None,
            },
            TExprKind::Or(a, b) => match (self.eval(a), self.eval(b)) {
                (Some(v), _) | (_, Some(v)) if v.value => Some(v),
                (Some(v), Some(w)) if !v.value && !w.value => Some(v),
                _ => None,
            },
            TExprKind::Not(a) => self.eval(a).map(|v| Verdict {
                value: !v.value,
                ..v
            }),
            TExprKind::In { needle, list } => {
                let TExprKind::Field(f) = &needle.kind else {
                    return None;
                };
                let TExprKind::List(items) = &list.kind else {
                    return None;
                };
                let codes: Option<Vec<Currency>> = items
                    .iter()
                    .map(|i| match &i.kind {
                        TExprKind::Lit(Lit::Currency(c)) => Some(*c),
                        _ => None,
                    })
                    .collect();
                let codes = codes?;
                let (known, origin) = self.currency_of(&subject(f))?;
                Some(verdict(codes.contains(&known), origin, Why::Currency))
            }
            _ => {
                let (op, f, l) = atom(e)?;
                match l {
                    Lit::Money(m) => {
                        let cs = currency_subject(f)?;
                        let (currency, origin) = match self.currency_of(&cs) {
                            Some(c) => c,
                            None => {
                                // A currency known *not* to be the literal's decides it too.
                                let o = self.currency_excluded(&cs, m.currency)?;
                                return Some(verdict(op == CmpOp::Ne, o, Why::Currency));
                            }
                        };
                        if currency != m.currency {
                            return Some(verdict(op == CmpOp::Ne, origin, Why::Currency));
                        }
                        let (lo, hi, range_origin) = self.range_of(&subject(f), currency)?;
                        let b = m.minor;
                        let decided = match op {
                            CmpOp::Gt => decide(lo > b, hi <= b),
                            CmpOp::Ge => decide(lo >= b, hi < b),
                            CmpOp::Lt => decide(hi < b, lo >= b),
                            CmpOp::Le => decide(hi <= b, lo > b),
                            CmpOp::Eq => decide(lo == b && hi == b, b < lo || b > hi),
                            CmpOp::Ne => decide(b < lo || b > hi, lo == b && hi == b),
                        }?;
                        Some(verdict(decided, range_origin, Why::Range))
                    }
                    Lit::Currency(c) if matches!(op, CmpOp::Eq | CmpOp::Ne) => {
                        let s = subject(f);
                        if let Some((known, origin)) = self.currency_of(&s) {
                            return Some(verdict(
                                (known == *c) == (op == CmpOp::Eq),
                                origin,
                                Why::Currency,
                            ));
                        }
                        let origin = self.currency_excluded(&s, *c)?;
                        Some(verdict(op == CmpOp::Ne, origin, Why::Currency))
                    }
                    Lit::Str(v) if matches!(op, CmpOp::Eq | CmpOp::Ne) => {
                        let s = subject(f);
                        for (fact, origin) in &self.0 {
                            if let Fact::Text { subject, is, value } = fact {
                                if *subject != s {
                                    continue;
                                }
                                if *is {
                                    return Some(verdict(
                                        (value == v) == (op == CmpOp::Eq),
                                        *origin,
                                        Why::Text,
                                    ));
                                }
                                if value == v {
                                    return Some(verdict(op == CmpOp::Ne, *origin, Why::Text));
                                }
                            }
                        }
                        None
                    }
                    _ => None,
                }
            }
        }
    }

    fn currency_of(&self, subject: &str) -> Option<(Currency, Span)> {
        self.0.iter().find_map(|(f, o)| match f {
            Fact::Currency {
                subject: s,
                is: true,
                code,
            } if s == subject => Some((*code, *o)),
            _ => None,
        })
    }

    fn currency_excluded(&self, subject: &str, code: Currency) -> Option<Span> {
        self.0.iter().find_map(|(f, o)| match f {
            Fact::Currency {
                subject: s,
                is: false,
                code: c,
            } if s == subject && *c == code => Some(*o),
            _ => None,
        })
    }

    fn range_of(&self, subject: &str, currency: Currency) -> Option<(i64, i64, Span)> {
        let mut found = None;
        let (mut lo, mut hi) = (i64::MIN, i64::MAX);
        for (f, o) in &self.0 {
            if let Fact::Range {
                subject: s,
                currency: c,
                lo: l,
                hi: h,
            } = f
            {
                if s == subject && *c == currency {
                    lo = lo.max(*l);
                    hi = hi.min(*h);
                    found.get_or_insert(*o);
                }
            }
        }
        found.map(|o| (lo, hi, o))
    }
}

fn decide(always: bool, never: bool) -> Option<bool> {
    if always {
        Some(true)
    } else if never {
        Some(false)
    } else {
        None
    }
}
