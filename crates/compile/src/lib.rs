//! Stage 3: [`Checked`] → [`Program`]s of bytecode, one per workflow.
//!
//! Field paths are resolved here once, into a table the VM indexes; nothing is
//! looked up by name in the tree at run time.

#![forbid(unsafe_code)]

use flow_check::tree::*;
use flow_check::Checked;
pub use flow_program::{disassemble, BranchPoint, CallSpec, Op, Pattern, Program, UpdateSpec};
use flow_syntax::Span;

mod typed;

/// A compiled file: one program per workflow, in file order.
#[derive(Clone, Debug)]
pub struct Compiled {
    pub programs: Vec<Program>,
}

pub fn compile(checked: &Checked) -> Compiled {
    Compiled {
        programs: checked.workflows.iter().map(compile_workflow).collect(),
    }
}

pub fn compile_workflow(w: &TWorkflow) -> Program {
    let mut c = Compiler {
        p: Program::empty(w.name.clone(), w.trigger.clone(), w.locals, w.span),
        breaks: Vec::new(),
    };
    c.p.max_actions = w.max_actions;
    c.p.schedule = w.schedule.clone();
    c.p.inputs = w.inputs.clone();
    if let Some(cond) = &w.when {
        let test = c.here();
        c.expr(cond);
        let jump = c.emit(Op::JumpIfFalse(0), cond.span);
        c.branch("when", cond.span, test);
        c.p.typed = typed::condition(cond, &c.p.reads, Some(c.here()));
        c.stmts(&w.body);
        c.emit(Op::Halt, w.span);
        let skip = c.here();
        c.patch(jump, skip);
        c.emit(Op::Skip, cond.span);
    } else {
        c.stmts(&w.body);
        c.emit(Op::Halt, w.span);
    }
    c.p
}

/// Compile one expression into a program that leaves its value on the stack (the REPL).
pub fn compile_expr(e: &TExpr, locals: u16) -> Program {
    let mut c = Compiler {
        p: Program::empty("<expr>", "", locals, e.span),
        breaks: Vec::new(),
    };
    c.expr(e);
    c.emit(Op::Halt, e.span);
    c.p.typed = typed::condition(e, &c.p.reads, None);
    c.p
}

/// Compile statements into a program (the REPL's `let` and actions).
pub fn compile_stmts(stmts: &[TStmt], locals: u16, span: Span) -> Program {
    let mut c = Compiler {
        p: Program::empty("<repl>", "", locals, span),
        breaks: Vec::new(),
    };
    c.stmts(stmts);
    c.emit(Op::Halt, span);
    c.p
}

struct Compiler {
    p: Program,
    /// For each loop being compiled, its `break` jumps, patched at its end.
    breaks: Vec<Vec<usize>>,
}

impl Compiler {
    fn emit(&mut self, op: Op, span: Span) -> usize {
        self.p.code.push(op);
        self.p.spans.push(span);
        self.p.code.len() - 1
    }

    fn here(&self) -> u32 {
        self.p.code.len() as u32
    }

    /// A condition whose instructions start at `test`, and whose block starts here.
    fn branch(&mut self, kind: &'static str, span: Span, test: u32) {
        let then = self.here();
        self.p.branches.push(BranchPoint {
            kind,
            span,
            test,
            then,
        });
    }

    fn patch(&mut self, at: usize, target: u32) {
        self.p.code[at] = match self.p.code[at] {
            Op::JumpIfFalse(_) => Op::JumpIfFalse(target),
            Op::Jump(_) => Op::Jump(target),
            Op::Next(l, v, _) => Op::Next(l, v, target),
            other => other,
        };
    }

    fn constant(&mut self, l: &Lit) -> u32 {
        if let Some(i) = self.p.consts.iter().position(|c| c == l) {
            return i as u32;
        }
        self.p.consts.push(l.clone());
        (self.p.consts.len() - 1) as u32
    }

    fn read(&mut self, r: &FieldRead) -> u32 {
        if let Some(i) = self.p.reads.iter().position(|x| x == r) {
            return i as u32;
        }
        self.p.reads.push(r.clone());
        (self.p.reads.len() - 1) as u32
    }

    fn object(&mut self, o: &str) -> u32 {
        if let Some(i) = self.p.objects.iter().position(|x| x == o) {
            return i as u32;
        }
        self.p.objects.push(o.to_string());
        (self.p.objects.len() - 1) as u32
    }

    fn operand(&mut self, a: Span, b: Span) -> u32 {
        self.p.operands.push((a, b));
        (self.p.operands.len() - 1) as u32
    }

    fn stmts(&mut self, stmts: &[TStmt]) {
        for s in stmts {
            self.stmt(s);
        }
    }

    fn stmt(&mut self, s: &TStmt) {
        match s {
            TStmt::Let { slot, value } => {
                self.expr(value);
                self.emit(Op::StoreLocal(*slot), value.span);
            }
            TStmt::If {
                branches,
                otherwise,
            } => {
                let mut to_end = Vec::new();
                for (i, (cond, body)) in branches.iter().enumerate() {
                    let test = self.here();
                    self.expr(cond);
                    let j = self.emit(Op::JumpIfFalse(0), cond.span);
                    self.branch(if i == 0 { "if" } else { "else if" }, cond.span, test);
                    self.stmts(body);
                    to_end.push(self.emit(Op::Jump(0), cond.span));
                    let next = self.here();
                    self.patch(j, next);
                }
                if let Some(body) = otherwise {
                    self.stmts(body);
                }
                let end = self.here();
                for j in to_end {
                    self.patch(j, end);
                }
            }
            TStmt::Update {
                object,
                id,
                param_path,
                value,
                span,
            } => {
                self.expr(id);
                self.expr(value);
                self.p.updates.push(UpdateSpec {
                    object: object.clone(),
                    param_path: param_path.clone(),
                    target: id.span,
                });
                let n = (self.p.updates.len() - 1) as u32;
                self.emit(Op::Update(n), *span);
            }
            TStmt::For {
                slots,
                var,
                list,
                limit,
                body,
                span,
            } => {
                // A list action looped over directly fetches one item more than the
                // loop takes, so that a list cut by the limit can be told.
                match &list.kind {
                    TExprKind::Stripe { spec, args } if spec.max_items.is_some() => {
                        let mut spec = spec.clone();
                        spec.max_items = Some(limit.saturating_add(1));
                        let wider = TExpr {
                            kind: TExprKind::Stripe {
                                spec,
                                args: args.clone(),
                            },
                            ty: list.ty.clone(),
                            span: list.span,
                        };
                        self.expr(&wider);
                    }
                    _ => self.expr(list),
                }
                self.emit(Op::Loop(*slots, *limit), list.span);
                let top = self.here();
                let next = self.emit(Op::Next(*slots, *var, 0), *span);
                self.breaks.push(Vec::new());
                self.stmts(body);
                self.emit(Op::Jump(top), *span);
                let exit = self.here();
                self.patch(next, exit);
                for j in self.breaks.pop().unwrap_or_default() {
                    self.patch(j, exit);
                }
                self.emit(Op::EndLoop, *span);
            }
            TStmt::Break { span } => {
                let j = self.emit(Op::Jump(0), *span);
                if let Some(list) = self.breaks.last_mut() {
                    list.push(j);
                }
            }
            TStmt::Wait { until, value, span } => {
                self.expr(value);
                self.emit(if *until { Op::WaitUntil } else { Op::Wait }, *span);
            }
            TStmt::Do { value, span } => {
                self.expr(value);
                self.emit(Op::Pop, *span);
            }
            TStmt::Retrieve { object, id, span } => {
                self.expr(id);
                let n = self.object(object);
                let k = self.operand(id.span, id.span);
                self.emit(Op::Retrieve(n, k), *span);
                self.emit(Op::Pop, *span);
            }
            TStmt::Email {
                to,
                subject,
                body,
                append,
                span,
            } => {
                self.expr(to);
                match subject {
                    Some(s) => self.expr(s),
                    None => {
                        let k = self.constant(&Lit::Null);
                        self.emit(Op::Const(k), *span);
                    }
                }
                self.expr(body);
                if append.is_empty() {
                    let k = self.constant(&Lit::Null);
                    self.emit(Op::Const(k), *span);
                } else {
                    self.table(append, *span);
                }
                self.emit(Op::Email, *span);
            }
            TStmt::Refund { params, span } => {
                for (_, v) in params {
                    self.expr(v);
                }
                self.p
                    .refunds
                    .push(params.iter().map(|(k, _)| k.clone()).collect());
                let n = (self.p.refunds.len() - 1) as u32;
                self.emit(Op::Refund(n), *span);
            }
            TStmt::Call {
                action,
                endpoint,
                params,
                slot,
                span,
            } => {
                for (_, v) in params {
                    self.expr(v);
                }
                self.p.calls.push(CallSpec {
                    action: action.clone(),
                    params: params.iter().map(|(k, _)| k.clone()).collect(),
                    endpoint: endpoint.clone(),
                });
                let n = (self.p.calls.len() - 1) as u32;
                self.emit(Op::Call(n), *span);
                match slot {
                    Some(s) => self.emit(Op::StoreLocal(*s), *span),
                    None => self.emit(Op::Pop, *span),
                };
            }
        }
    }

    fn table(&mut self, rows: &[(String, TExpr)], span: Span) {
        for (_, v) in rows {
            self.expr(v);
        }
        self.p
            .tables
            .push(rows.iter().map(|(l, _)| l.clone()).collect());
        let n = (self.p.tables.len() - 1) as u32;
        self.emit(Op::MakeTable(n), span);
    }

    fn expr(&mut self, e: &TExpr) {
        match &e.kind {
            TExprKind::Lit(l) => {
                let k = self.constant(l);
                self.emit(Op::Const(k), e.span);
            }
            TExprKind::Field(r) => {
                if let Root::Local(slot) = r.root {
                    if r.path.is_empty() {
                        self.emit(Op::LoadLocal(slot), e.span);
                        return;
                    }
                }
                let k = self.read(r);
                self.emit(Op::Load(k), e.span);
            }
            TExprKind::Local(slot) => {
                self.emit(Op::LoadLocal(*slot), e.span);
            }
            TExprKind::Retrieve { object, id } => {
                self.expr(id);
                let n = self.object(object);
                let k = self.operand(id.span, id.span);
                self.emit(Op::Retrieve(n, k), e.span);
            }
            TExprKind::IdOf(inner) => {
                self.expr(inner);
                self.emit(Op::IdOf, e.span);
            }
            TExprKind::Stripe { spec, args } => {
                for a in args {
                    self.expr(a);
                }
                self.p.stripe.push((**spec).clone());
                let n = (self.p.stripe.len() - 1) as u32;
                self.emit(Op::Stripe(n), e.span);
            }
            TExprKind::Not(inner) => {
                self.expr(inner);
                self.emit(Op::Not, e.span);
            }
            TExprKind::And(l, r) => {
                // l ? r : false
                self.expr(l);
                let j = self.emit(Op::JumpIfFalse(0), l.span);
                self.expr(r);
                let end = self.emit(Op::Jump(0), e.span);
                let f = self.here();
                self.patch(j, f);
                let k = self.constant(&Lit::Bool(false));
                self.emit(Op::Const(k), e.span);
                let done = self.here();
                self.patch(end, done);
            }
            TExprKind::Or(l, r) => {
                // l ? true : r
                self.expr(l);
                let j = self.emit(Op::JumpIfFalse(0), l.span);
                let k = self.constant(&Lit::Bool(true));
                self.emit(Op::Const(k), e.span);
                let end = self.emit(Op::Jump(0), e.span);
                let rhs = self.here();
                self.patch(j, rhs);
                self.expr(r);
                let done = self.here();
                self.patch(end, done);
            }
            TExprKind::Compare { op, lhs, rhs } => {
                self.expr(lhs);
                self.expr(rhs);
                let k = self.operand(lhs.span, rhs.span);
                self.emit(Op::Compare(*op, k), e.span);
            }
            TExprKind::In { needle, list } => {
                self.expr(needle);
                self.expr(list);
                self.emit(Op::In, e.span);
            }
            TExprKind::Interp(parts) => {
                for p in parts {
                    match p {
                        TPart::Text(t) => {
                            let k = self.constant(&Lit::Str(t.clone()));
                            self.emit(Op::Const(k), e.span);
                        }
                        TPart::Expr(x) => self.expr(x),
                    }
                }
                self.emit(Op::Concat(parts.len() as u32), e.span);
            }
            TExprKind::List(items) => {
                for i in items {
                    self.expr(i);
                }
                self.emit(Op::MakeList(items.len() as u32), e.span);
            }
            TExprKind::Table(rows) => self.table(rows, e.span),
            TExprKind::Arith {
                op,
                round,
                lhs,
                rhs,
            } => {
                self.expr(lhs);
                self.expr(rhs);
                let k = self.operand(lhs.span, rhs.span);
                self.emit(Op::Arith(*op, *round, k), e.span);
            }
            TExprKind::Neg(inner) => {
                self.expr(inner);
                self.emit(Op::Neg, e.span);
            }
            TExprKind::Call { func, args } => {
                for a in args {
                    self.expr(a);
                }
                self.emit(Op::CallFn(*func, args.len() as u8), e.span);
            }
            TExprKind::Match { text, pattern } => {
                self.expr(text);
                match Pattern::new(pattern) {
                    Ok(p) => {
                        self.p.patterns.push(p);
                        let n = (self.p.patterns.len() - 1) as u32;
                        self.emit(Op::Match(n), e.span);
                    }
                    Err(_) => {
                        // The checker reported it; at run time the call says so too.
                        let k = self.constant(&Lit::Str(pattern.clone()));
                        self.emit(Op::Const(k), e.span);
                        self.emit(Op::CallFn(Func::Matches, 2), e.span);
                    }
                }
            }
            TExprKind::Now => {
                self.emit(Op::Now, e.span);
            }
            TExprKind::Quant {
                all,
                slots,
                var,
                list,
                cond,
            } => {
                self.expr(list);
                self.emit(Op::IterStart(*slots), list.span);
                let top = self.here();
                let next = self.emit(Op::Next(*slots, *var, 0), e.span);
                self.expr(cond);
                let (yes, no) = (
                    self.constant(&Lit::Bool(true)),
                    self.constant(&Lit::Bool(false)),
                );
                if *all {
                    // A false item decides; the end of the list means true.
                    let fail = self.emit(Op::JumpIfFalse(0), cond.span);
                    self.emit(Op::Jump(top), e.span);
                    let at = self.here();
                    self.patch(fail, at);
                    self.emit(Op::Const(no), e.span);
                    let end = self.emit(Op::Jump(0), e.span);
                    let exit = self.here();
                    self.patch(next, exit);
                    self.emit(Op::Const(yes), e.span);
                    let done = self.here();
                    self.patch(end, done);
                } else {
                    // A true item decides; the end of the list means false.
                    self.emit(Op::JumpIfFalse(top), cond.span);
                    self.emit(Op::Const(yes), e.span);
                    let end = self.emit(Op::Jump(0), e.span);
                    let exit = self.here();
                    self.patch(next, exit);
                    self.emit(Op::Const(no), e.span);
                    let done = self.here();
                    self.patch(end, done);
                }
            }
        }
    }
}
