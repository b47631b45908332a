//! A readable listing of a program: `flow compile --emit bytecode`.

use std::fmt::Write as _;

use super::{Op, Program};
use crate::{Conv, Lit, Root};
use flow_syntax::SourceFile;

fn lit(l: &Lit) -> String {
    match l {
        Lit::Null => "null".into(),
        Lit::Bool(b) => b.to_string(),
        Lit::Int(i) => i.to_string(),
        Lit::Dec(d) => d.to_string(),
        Lit::Str(s) => format!("{s:?}"),
        Lit::Currency(c) => c.to_string(),
        Lit::Money(m) => format!("{m} ({} minor)", m.minor),
        Lit::Time(t) => format!("time {t}"),
        Lit::Duration(d) => format!("duration {d} s"),
    }
}

fn conv(c: &Conv) -> String {
    match c {
        Conv::Str => "string".into(),
        Conv::Int => "integer".into(),
        Conv::Decimal => "decimal".into(),
        Conv::Bool => "bool".into(),
        Conv::Timestamp => "timestamp".into(),
        Conv::Currency => "currency".into(),
        Conv::Money { currency_path } => format!("money(currency at {})", currency_path.join(".")),
        Conv::Ref => "ref".into(),
        Conv::Metadata => "metadata".into(),
        Conv::Object => "object".into(),
        Conv::Json => "json".into(),
        Conv::List(inner) => format!("list<{}>", conv(inner)),
    }
}

pub fn disassemble(p: &Program, source: Option<&SourceFile>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "workflow {:?} on {}  ({} locals)",
        p.name, p.trigger, p.locals
    );
    if !p.consts.is_empty() {
        let _ = writeln!(out, "  constants:");
        for (i, c) in p.consts.iter().enumerate() {
            let _ = writeln!(out, "    #{i:<3} {}", lit(c));
        }
    }
    if !p.reads.is_empty() {
        let _ = writeln!(out, "  field reads:");
        for (i, r) in p.reads.iter().enumerate() {
            let root = match r.root {
                Root::Object => "data.object".to_string(),
                Root::Event => "event".to_string(),
                Root::Local(s) => format!("local {s}"),
            };
            let _ = writeln!(
                out,
                "    @{i:<3} {root} / {}  as {}{}",
                r.path.join("."),
                conv(&r.conv),
                if r.required {
                    ", required"
                } else {
                    ", may be null"
                }
            );
        }
    }
    let _ = writeln!(out, "  code:");
    for (i, op) in p.code.iter().enumerate() {
        let text = match op {
            Op::Const(k) => format!(
                "const      #{k}  {}",
                p.consts.get(*k as usize).map(lit).unwrap_or_default()
            ),
            Op::Load(k) => format!(
                "load       @{k}  {}",
                p.reads
                    .get(*k as usize)
                    .map(|r| r.display.clone())
                    .unwrap_or_default()
            ),
            Op::LoadLocal(s) => format!("load.local {s}"),
            Op::StoreLocal(s) => format!("store.local {s}"),
            Op::Pop => "pop".into(),
            Op::Not => "not".into(),
            Op::Compare(c, _) => format!("compare    {}", c.symbol()),
            Op::In => "in".into(),
            Op::Arith(a, r, _) => match r {
                crate::Rounding::HalfAwayFromZero => format!("arith      {}", a.symbol()),
                crate::Rounding::Floor => format!("arith      {} floor", a.symbol()),
                crate::Rounding::Ceil => format!("arith      {} ceil", a.symbol()),
            },
            Op::Neg => "neg".into(),
            Op::CallFn(f, n) => format!("call.fn    {}/{n}", f.name()),
            Op::Match(k) => format!(
                "match      {:?}",
                p.patterns
                    .get(*k as usize)
                    .map(|p| p.source.as_str())
                    .unwrap_or_default()
            ),
            Op::Now => "now".into(),
            Op::IterStart(s) => format!("iter.start {s}"),
            Op::Loop(s, limit) => format!("loop       {s} limit {limit}"),
            Op::EndLoop => "end.loop".into(),
            Op::Wait => "wait".into(),
            Op::WaitUntil => "wait.until".into(),
            Op::Next(l, v, t) => format!("next       {l} -> {v} else {t:04}"),
            Op::MakeList(n) => format!("list       {n}"),
            Op::MakeTable(k) => format!(
                "table      {:?}",
                p.tables.get(*k as usize).cloned().unwrap_or_default()
            ),
            Op::Concat(n) => format!("concat     {n}"),
            Op::IdOf => "id.of".into(),
            Op::JumpIfFalse(t) => format!("jump.false {t:04}"),
            Op::Jump(t) => format!("jump       {t:04}"),
            Op::Retrieve(k, _) => format!(
                "retrieve   {}",
                p.objects.get(*k as usize).cloned().unwrap_or_default()
            ),
            Op::Update(k) => match p.updates.get(*k as usize) {
                Some(u) => format!("update     {} {}", u.object, u.param_path.join(".")),
                None => "update".into(),
            },
            Op::Email => "email".into(),
            Op::Refund(k) => format!(
                "refund     {}",
                p.refunds
                    .get(*k as usize)
                    .map(|v| v.join(", "))
                    .unwrap_or_default()
            ),
            Op::Call(k) => match p.calls.get(*k as usize) {
                Some(c) => format!("call       {} {}", c.action, c.params.join(", ")),
                None => "call".into(),
            },
            Op::Stripe(k) => match p.stripe.get(*k as usize) {
                Some(c) => {
                    let args: Vec<&str> = c.args.iter().map(|a| a.name.as_str()).collect();
                    let mut s = format!("stripe     {} {} {}", c.method, c.verb, args.join(", "));
                    if let Some(n) = c.max_items {
                        s.push_str(&format!(" (up to {n} items)"));
                    }
                    s
                }
                None => "stripe".into(),
            },
            Op::Skip => "skip".into(),
            Op::Halt => "halt".into(),
        };
        let loc = source
            .zip(p.spans.get(i))
            .map(|(s, sp)| {
                let (l, c) = s.line_col(sp.start);
                format!("{l}:{c}")
            })
            .unwrap_or_default();
        let _ = writeln!(out, "    {i:04}  {text:<48} ; {loc}");
    }
    out
}
