//! The layout: one function per kind of node of the AST, each matching every variant
//! of its kind, so that a new kind of node does not compile until it has a layout.

use flow_syntax::ast::*;
use flow_syntax::Span;

use crate::comments::Comment;
use crate::{INDENT, WIDTH};

pub struct Printer<'a> {
    src: &'a str,
    comments: &'a [Comment],
    /// The next comment not yet written.
    next: usize,
    pub out: String,
    /// Where in the source the last thing written ended (blank lines after it are kept).
    last: usize,
    /// Everything on one line, no comments: to measure a node.
    flat: bool,
}

/// A top-level item, in file order.
enum Item<'f> {
    Workflow(&'f Workflow),
    Test(&'f Test),
    Action(&'f ActionDecl),
}

/// One element of a bracketed sequence: a list item, a map entry, an argument.
#[derive(Clone, Copy)]
enum Elem<'e> {
    Expr(&'e Expr),
    Entry(&'e Ident, &'e Expr),
    Named(&'e Option<Ident>, &'e Expr),
}

impl Elem<'_> {
    fn start(&self) -> usize {
        match self {
            Elem::Expr(e) => e.span.start as usize,
            Elem::Entry(k, _) => k.span.start as usize,
            Elem::Named(Some(n), _) => n.span.start as usize,
            Elem::Named(None, e) => e.span.start as usize,
        }
    }

    fn end(&self) -> usize {
        match self {
            Elem::Expr(e) | Elem::Entry(_, e) | Elem::Named(_, e) => e.span.end as usize,
        }
    }
}

/// A line of a test: a `given`, an `answer` or an `expect`, in file order.
enum TestLine<'t> {
    Given(&'t Given),
    Answer(&'t Answer),
    Expect(&'t Expect),
}

fn width(s: &str) -> usize {
    s.chars().count()
}

impl<'a> Printer<'a> {
    pub fn new(src: &'a str, comments: &'a [Comment]) -> Printer<'a> {
        Printer {
            src,
            comments,
            next: 0,
            out: String::new(),
            last: 0,
            flat: false,
        }
    }

    // ------------------------------------------------------------ text and lines

    fn slice(&self, span: Span) -> &'a str {
        self.src.get(span.range()).unwrap_or("")
    }

    fn push(&mut self, s: &str) {
        self.out.push_str(s);
    }

    fn pad(&mut self, n: usize) {
        self.out.extend(std::iter::repeat_n(' ', n));
    }

    fn newline(&mut self) {
        let kept = self.out.trim_end_matches(' ').len();
        self.out.truncate(kept);
        self.out.push('\n');
    }

    /// The column the next character goes to.
    fn col(&self) -> usize {
        let line = self.out.rsplit('\n').next().unwrap_or("");
        width(line)
    }

    /// The indentation of the line being written.
    fn line_indent(&self) -> usize {
        let line = self.out.rsplit('\n').next().unwrap_or("");
        line.len() - line.trim_start_matches(' ').len()
    }

    /// One blank line, unless there is one already or the line before opens a block.
    fn blank(&mut self) {
        if self.out.is_empty()
            || self.out.ends_with("\n\n")
            || ["{\n", "[\n", "(\n"].iter().any(|o| self.out.ends_with(o))
        {
            return;
        }
        self.out.push('\n');
    }

    fn mark(&mut self, pos: usize) {
        self.last = self.last.max(pos);
    }

    /// Whether the source has a blank line between the last thing written and `pos`.
    fn blank_before(&self, pos: usize) -> bool {
        let Some(between) = self.src.get(self.last..pos) else {
            return false;
        };
        let mut newlines = 0;
        for ch in between.chars() {
            match ch {
                '\n' => {
                    newlines += 1;
                    if newlines >= 2 {
                        return true;
                    }
                }
                ' ' | '\t' | '\r' => {}
                _ => newlines = 0,
            }
        }
        false
    }

    // ------------------------------------------------------------ comments

    /// Whether a comment not yet written comes before `end`: one inside `start..end`,
    /// or one before `start` that has not found its line yet, which will be written
    /// inside too. Either way the node is laid out as one holding a comment, so that
    /// formatting again gives the same layout.
    fn has_comment(&self, _start: usize, end: usize) -> bool {
        !self.flat && self.comments.get(self.next).is_some_and(|c| c.start < end)
    }

    /// Write, each on a line of its own at `indent`, the comments before `pos`. Called
    /// at the start of a line only.
    fn flush(&mut self, pos: usize, indent: usize) {
        while let Some(c) = self.comments.get(self.next) {
            if c.start >= pos || self.flat {
                return;
            }
            if self.blank_before(c.start) {
                self.blank();
            }
            self.pad(indent);
            self.push(&c.text);
            self.newline();
            self.last = c.end;
            self.next += 1;
        }
    }

    /// Append the next comment to the line being written, when in the source it
    /// follows `pos` on the same line with only separators between. Called at the end
    /// of a line only.
    fn trailing(&mut self, pos: usize) {
        let Some(c) = self.comments.get(self.next) else {
            return;
        };
        if self.flat || c.start < pos {
            return;
        }
        let between = self.src.get(pos..c.start).unwrap_or("x");
        if between
            .chars()
            .all(|ch| matches!(ch, ' ' | '\t' | ',' | ';' | '(' | '[' | '{' | '<'))
        {
            self.push(" ");
            self.push(&c.text);
            self.last = c.end;
            self.next += 1;
        }
    }

    /// A line of its own at `indent` for the node starting at `pos`: the comments
    /// before it, and a blank line if the source has one.
    fn line_start(&mut self, pos: usize, indent: usize) {
        self.flush(pos, indent);
        if self.blank_before(pos) {
            self.blank();
        }
        self.pad(indent);
    }

    /// A continuation line at `indent` (inside a node): the comments before `pos`,
    /// never a blank line of its own.
    fn cont_line(&mut self, pos: usize, indent: usize) {
        self.flush(pos, indent);
        self.pad(indent);
    }

    /// The end of the line of the node ending at `pos`: its trailing comment.
    fn line_end(&mut self, pos: usize) {
        self.trailing(pos);
        self.newline();
        self.mark(pos);
    }

    // ------------------------------------------------------------ file and items

    pub fn file(&mut self, file: &File) {
        // Every field named: a new kind of item does not compile until it is written.
        let File {
            workflows,
            tests,
            actions,
            subject_inputs: _,
        } = file;
        let mut items: Vec<(u32, Item)> = Vec::new();
        items.extend(workflows.iter().map(|w| (w.span.start, Item::Workflow(w))));
        items.extend(tests.iter().map(|t| (t.span.start, Item::Test(t))));
        items.extend(actions.iter().map(|a| (a.span.start, Item::Action(a))));
        items.sort_by_key(|(start, _)| *start);
        for (i, (start, item)) in items.iter().enumerate() {
            if i > 0 {
                self.blank();
            }
            self.line_start(*start as usize, 0);
            match item {
                Item::Workflow(w) => self.workflow(w),
                Item::Test(t) => self.test(t),
                Item::Action(a) => self.action_decl(a),
            }
        }
        self.flush(usize::MAX, 0);
    }

    fn workflow(&mut self, w: &Workflow) {
        if let Some((_, name_span)) = &w.name {
            self.push("workflow ");
            self.push(self.slice(*name_span));
            self.line_end(name_span.end as usize);
            self.cont_line(w.trigger.span().start as usize, 0);
        }
        self.push("on ");
        self.trigger(&w.trigger);
        if let Some(cond) = &w.when {
            self.line_end(w.trigger.span().end as usize);
            self.cont_line(cond.span.start as usize, 0);
            self.push("when ");
            self.expr(cond, 2);
        }
        self.push(" ");
        self.block(&w.body, 0);
        self.line_end(w.span.end as usize);
    }

    /// The trigger after `on`: the event type, `schedule "…" timezone "…"`, or
    /// `demand (inputs)` on one line.
    fn trigger(&mut self, t: &Trigger) {
        match t {
            Trigger::Event(e) => self.push(&e.name),
            Trigger::Schedule { cron, timezone, .. } => {
                self.push("schedule ");
                self.push(self.slice(cron.1));
                if let Some((_, zsp)) = timezone {
                    self.push(" timezone ");
                    self.push(self.slice(*zsp));
                }
            }
            Trigger::Demand { inputs, .. } => {
                self.push("demand (");
                for (i, input) in inputs.iter().enumerate() {
                    if i > 0 {
                        self.push(", ");
                    }
                    self.push(&input.name.name);
                    self.push(": ");
                    self.push(&input.ty);
                    if let Some(d) = &input.default {
                        self.push(" = ");
                        self.expr(d, 2);
                    }
                }
                self.push(")");
            }
        }
    }

    fn action_decl(&mut self, a: &ActionDecl) {
        self.push("action ");
        self.push(&a.name.name);
        self.push(" url: ");
        self.push(self.slice(a.url_span));
        let close = (a.span.end as usize).saturating_sub(1);
        if a.params.is_empty() && !self.has_comment(a.url_span.end as usize, close) {
            self.push(" {}");
            self.line_end(a.span.end as usize);
            return;
        }
        self.push(" {");
        self.line_end(a.url_span.end as usize);
        for p in &a.params {
            self.line_start(p.name.span.start as usize, INDENT);
            self.param(p);
            self.line_end(p.ty_span.end as usize);
        }
        self.flush(close, INDENT);
        self.push("}");
        self.line_end(a.span.end as usize);
    }

    fn param(&mut self, p: &ParamDecl) {
        self.push(&p.name.name);
        self.push(": ");
        self.push(self.slice(p.ty_span));
    }

    fn test(&mut self, t: &Test) {
        // Every field named: a new kind of test line does not compile until it is written.
        let Test {
            name: _,
            name_span,
            givens,
            answers,
            expects,
            span: _,
        } = t;
        self.push("test ");
        self.push(self.slice(*name_span));
        let mut lines: Vec<(u32, TestLine)> = Vec::new();
        lines.extend(givens.iter().map(|g| (g.span.start, TestLine::Given(g))));
        lines.extend(answers.iter().map(|a| (a.span.start, TestLine::Answer(a))));
        lines.extend(expects.iter().map(|e| (e.span.start, TestLine::Expect(e))));
        lines.sort_by_key(|(start, _)| *start);
        let close = (t.span.end as usize).saturating_sub(1);
        if lines.is_empty() && !self.has_comment(t.name_span.end as usize, close) {
            self.push(" {}");
            self.line_end(t.span.end as usize);
            return;
        }
        self.push(" {");
        self.line_end(t.name_span.end as usize);
        for (start, line) in &lines {
            self.line_start(*start as usize, INDENT);
            let end = match line {
                TestLine::Given(g) => {
                    self.given(g, INDENT);
                    g.span.end
                }
                TestLine::Answer(a) => {
                    self.answer(a);
                    a.span.end
                }
                TestLine::Expect(e) => {
                    self.expect(e, INDENT);
                    e.span.end
                }
            };
            self.line_end(end as usize);
        }
        self.flush(close, INDENT);
        self.push("}");
        self.line_end(t.span.end as usize);
    }

    // ------------------------------------------------------------ tests

    fn given(&mut self, g: &Given, indent: usize) {
        let start = self.out.len();
        self.push("given ");
        let event_end = match &g.event {
            GivenEvent::Partial { event_type, object } => {
                self.push(&event_type.name);
                self.push(" ");
                self.expr(object, 0);
                object.span.end
            }
            GivenEvent::File { span, .. } => {
                self.push(self.slice(*span));
                span.end
            }
        };
        let Some(with) = &g.with else {
            return;
        };
        let with_start = match with {
            GivenObjects::Inline(e) => e.span.start,
            GivenObjects::Path { span, .. } => span.start,
        } as usize;
        let one_line = !self.out[start..].contains('\n')
            && !self.has_comment(event_end as usize, with_start)
            && self.col() + width(" with ") + width(&self.given_objects_flat(with)) <= WIDTH;
        if one_line || self.flat {
            self.push(" ");
        } else {
            self.line_end(event_end as usize);
            self.cont_line(with_start, indent + INDENT);
        }
        self.push("with ");
        match with {
            GivenObjects::Inline(e) => self.expr(e, 0),
            GivenObjects::Path { span, .. } => self.push(self.slice(*span)),
        }
    }

    /// `answer stripe.RESOURCE.METHOD with VALUE`.
    fn answer(&mut self, a: &Answer) {
        self.push("answer stripe.");
        self.push(&a.resource.name);
        self.push(".");
        self.push(&a.method.name);
        self.push(" with ");
        self.expr(&a.value, 0);
    }

    fn given_objects_flat(&self, with: &GivenObjects) -> String {
        match with {
            GivenObjects::Inline(e) => self.flat_expr(e),
            GivenObjects::Path { span, .. } => self.slice(*span).to_string(),
        }
    }

    fn expect(&mut self, e: &Expect, indent: usize) {
        self.push("expect ");
        match &e.kind {
            ExpectKind::Status { status, message } => {
                self.push(&status.name);
                if let Some((_, span)) = message {
                    self.push(" ");
                    self.push(self.slice(*span));
                }
            }
            ExpectKind::No { what } => {
                self.push("no ");
                self.push(&what.name);
            }
            ExpectKind::Action(a) => self.expected_action(a, 0),
            ExpectKind::Actions(list) => {
                self.push("actions [");
                let text = self.slice(e.span);
                let open = e.span.start as usize + text.find('[').unwrap_or(0) + 1;
                let close = (e.span.end as usize).saturating_sub(1);
                if list.is_empty() && !self.has_comment(open, close) {
                    self.push("]");
                    return;
                }
                self.line_end(open);
                for a in list {
                    self.line_start(a.span().start as usize, indent + INDENT);
                    self.expected_action(a, 0);
                    self.line_end(a.span().end as usize);
                }
                self.flush(close, indent + INDENT);
                self.pad(indent);
                self.push("]");
            }
        }
    }

    fn expected_action(&mut self, a: &ExpectedAction, reserve: usize) {
        match a {
            ExpectedAction::Call { name, args, .. } => {
                self.push(&name.name);
                self.args(args, reserve);
            }
            ExpectedAction::Update { target, value, .. } => {
                self.push("update ");
                self.push(self.slice(target.span));
                self.push(" == ");
                self.expr(value, reserve);
            }
            ExpectedAction::Stripe { call, span } => self.stripe_call(*span, call, reserve),
        }
    }

    // ------------------------------------------------------------ statements

    /// `{ … }` (a compact `< … >` block too), the statements one level deeper than
    /// `indent`.
    fn block(&mut self, b: &Block, indent: usize) {
        let open = b.span.start as usize + 1;
        let close = (b.span.end as usize).saturating_sub(1);
        if b.stmts.is_empty() && !self.has_comment(open, close) {
            self.push("{}");
            return;
        }
        self.push("{");
        self.line_end(open);
        for s in &b.stmts {
            self.line_start(s.span.start as usize, indent + INDENT);
            self.stmt(s, indent);
            self.line_end(s.span.end as usize);
        }
        self.flush(close, indent + INDENT);
        self.pad(indent);
        self.push("}");
        self.mark(b.span.end as usize);
    }

    /// One statement, from the current column of a line indented `indent + INDENT`.
    fn stmt(&mut self, s: &Stmt, indent: usize) {
        let inner = indent + INDENT;
        match &s.kind {
            StmtKind::Let { name, value } => {
                self.push("let ");
                self.push(&name.name);
                self.push(" = ");
                self.expr(value, 0);
            }
            StmtKind::If {
                branches,
                otherwise,
            } => {
                for (i, (cond, body)) in branches.iter().enumerate() {
                    self.push(if i == 0 { "if " } else { " else if " });
                    self.expr(cond, 2);
                    self.push(" ");
                    self.block(body, inner);
                }
                if let Some(body) = otherwise {
                    self.push(" else ");
                    self.block(body, inner);
                }
            }
            StmtKind::Update { target, value } => {
                self.push("update ");
                self.push(self.slice(target.span));
                self.push(" = ");
                self.expr(value, 0);
            }
            StmtKind::Retrieve { target } => {
                self.push("retrieve ");
                self.push(self.slice(target.span));
            }
            StmtKind::Action { name, args } => {
                self.push(&name.name);
                self.args(args, 0);
            }
            StmtKind::Call(call) => self.expr(call, 0),
            StmtKind::For {
                var,
                list,
                limit,
                body,
            } => {
                self.push("for ");
                self.push(&var.name);
                self.push(" in ");
                let limit_text = limit.as_ref().map(|(_, span)| self.slice(*span));
                let after = limit_text.map_or(0, |l| width(" limit ") + width(l));
                self.expr(list, after + 2);
                if let Some(l) = limit_text {
                    self.push(" limit ");
                    self.push(l);
                }
                self.push(" ");
                self.block(body, inner);
            }
            StmtKind::Break => self.push("break"),
            StmtKind::Wait { until, value } => {
                self.push(if *until { "wait until " } else { "wait " });
                self.expr(value, 0);
            }
            StmtKind::LetAction { name, action, args } => {
                self.push("let ");
                self.push(&name.name);
                self.push(" = ");
                self.push(&action.name);
                self.args(args, 0);
            }
        }
    }

    /// ` name: value, …` after an action's name: on the line if it fits, else one
    /// argument per line, aligned under the first.
    fn args(&mut self, args: &[Arg], reserve: usize) {
        let (Some(first), Some(last)) = (args.first(), args.last()) else {
            return;
        };
        let flat: Vec<String> = args
            .iter()
            .map(|a| format!("{}: {}", a.name.name, self.flat_expr(&a.value)))
            .collect();
        let flat = flat.join(", ");
        let start = first.name.span.start as usize;
        let end = last.value.span.end as usize;
        let fits = self.col() + 1 + width(&flat) + reserve <= WIDTH;
        if self.flat || (fits && !self.has_comment(start, end)) {
            self.push(" ");
            self.push(&flat);
            return;
        }
        self.push(" ");
        let align = self.col();
        for (i, a) in args.iter().enumerate() {
            let is_last = i + 1 == args.len();
            if i > 0 {
                self.cont_line(a.name.span.start as usize, align);
            }
            self.push(&a.name.name);
            self.push(": ");
            self.expr(&a.value, if is_last { reserve } else { 1 });
            if !is_last {
                self.push(",");
                self.line_end(a.value.span.end as usize);
            }
        }
    }

    // ------------------------------------------------------------ expressions

    /// An expression on one line, whatever its length.
    fn flat_expr(&self, e: &Expr) -> String {
        let mut p = Printer {
            src: self.src,
            comments: self.comments,
            next: self.comments.len(),
            out: String::new(),
            last: 0,
            flat: true,
        };
        p.expr(e, 0);
        p.out
    }

    /// An expression from the current column; `reserve` columns must stay free after
    /// it on its last line (a `,`, a ` {`).
    fn expr(&mut self, e: &Expr, reserve: usize) {
        self.expr_in(e, false, reserve)
    }

    fn expr_in(&mut self, e: &Expr, needs_parens: bool, reserve: usize) {
        let parens = needs_parens || self.written_parens(e);
        if parens {
            self.push("(");
        }
        let reserve = reserve + usize::from(parens);
        match &e.kind {
            ExprKind::Path(p) => self.push(self.slice(p.span)),
            ExprKind::Number(_)
            | ExprKind::Str(_)
            | ExprKind::Currency(_)
            | ExprKind::Time(_)
            | ExprKind::Bool(_)
            | ExprKind::Null => {
                let text = self.core(e.span);
                self.push(text)
            }
            ExprKind::Money { currency, .. } => {
                let text = self.core(e.span);
                self.push(leading_number(text));
                self.push(" ");
                self.push(&currency.name);
            }
            ExprKind::Duration(_) => {
                let text = self.core(e.span);
                self.push(leading_number(text));
                self.push(" ");
                self.push(trailing_word(text));
            }
            ExprKind::List(items) => {
                let elems: Vec<Elem> = items.iter().map(Elem::Expr).collect();
                let (open, close) = self.brackets(e.span);
                self.seq("[", "]", false, open, close, &elems, reserve);
            }
            ExprKind::Map(entries) => {
                let elems: Vec<Elem> = entries.iter().map(|(k, v)| Elem::Entry(k, v)).collect();
                let (open, close) = self.brackets(e.span);
                self.seq("{", "}", true, open, close, &elems, reserve);
            }
            ExprKind::Not(inner) => {
                self.push("not ");
                let p = matches!(&inner.kind, ExprKind::Binary { op, .. } if op.precedence() < 3);
                self.expr_in(inner, p, reserve);
            }
            ExprKind::Neg(inner) => {
                self.push("-");
                let p = matches!(&inner.kind, ExprKind::Binary { .. } | ExprKind::Not(_));
                self.expr_in(inner, p, reserve);
            }
            ExprKind::Call { name, args } => {
                let elems: Vec<Elem> = args.iter().map(Elem::Expr).collect();
                let open = format!("{}(", name.name);
                let (_, close) = self.brackets(e.span);
                self.seq(
                    &open,
                    ")",
                    false,
                    name.span.end as usize,
                    close,
                    &elems,
                    reserve,
                );
            }
            ExprKind::Quant {
                all,
                var,
                list,
                cond,
            } => {
                self.push(if *all { "all(" } else { "any(" });
                self.push(&var.name);
                self.push(" in ");
                self.expr(list, 2);
                self.push(": ");
                self.expr(cond, reserve + 1);
                self.push(")");
            }
            ExprKind::Binary { op, lhs, rhs, .. } => {
                let op_text = format!(" {} ", op.symbol());
                let lhs_parens = match &lhs.kind {
                    ExprKind::Binary { op: l, .. } => l.precedence() < op.precedence(),
                    ExprKind::Not(_) => op.precedence() >= 3,
                    _ => false,
                };
                let rhs_parens = match &rhs.kind {
                    ExprKind::Binary { op: r, .. } => r.precedence() <= op.precedence(),
                    ExprKind::Not(_) => op.precedence() >= 3,
                    _ => false,
                };
                let rhs_width = if self.flat {
                    0
                } else {
                    width(&self.flat_expr(rhs)) + 2 * usize::from(rhs_parens)
                };
                self.expr_in(lhs, lhs_parens, width(&op_text) + rhs_width + reserve);
                self.push(&op_text);
                self.expr_in(rhs, rhs_parens, reserve);
            }
            ExprKind::Retrieve(path) => {
                self.push("retrieve ");
                self.push(self.slice(path.span));
            }
            ExprKind::Stripe(call) => self.stripe_call(e.span, call, reserve),
        }
        if parens {
            self.push(")");
        }
    }

    fn stripe_call(&mut self, span: Span, call: &StripeCall, reserve: usize) {
        let elems: Vec<Elem> = call
            .args
            .iter()
            .map(|a| Elem::Named(&a.name, &a.value))
            .collect();
        let open = format!("stripe.{}.{}(", call.resource.name, call.method.name);
        let (_, close) = self.brackets(span);
        self.seq(
            &open,
            ")",
            false,
            call.method.span.end as usize,
            close,
            &elems,
            reserve,
        );
    }

    /// Parentheses the author wrote around an operation: kept, for reading.
    fn written_parens(&self, e: &Expr) -> bool {
        match &e.kind {
            ExprKind::Binary { lhs, .. } => e.span.start < lhs.span.start,
            ExprKind::Not(_) | ExprKind::Neg(_) => {
                self.src.as_bytes().get(e.span.start as usize) == Some(&b'(')
            }
            _ => false,
        }
    }

    /// The text of a token without the parentheses, white space and comments around it.
    fn core(&self, span: Span) -> &'a str {
        let (s, e) = self.strip(span);
        self.src.get(s..e).unwrap_or("")
    }

    /// `span` without the parentheses, white space and comments around its node.
    fn strip(&self, span: Span) -> (usize, usize) {
        let bytes = self.src.as_bytes();
        let (mut s, mut e) = (span.start as usize, (span.end as usize).min(bytes.len()));
        loop {
            while s < e {
                if bytes[s].is_ascii_whitespace() {
                    s += 1;
                } else if let Some(c) = self.comments.iter().find(|c| c.start == s) {
                    s = c.end;
                } else {
                    break;
                }
            }
            while e > s {
                if bytes[e - 1].is_ascii_whitespace() {
                    e -= 1;
                } else if let Some(c) = self
                    .comments
                    .iter()
                    .find(|c| c.start < e && e <= c.end && c.start >= s)
                {
                    e = c.start;
                } else {
                    break;
                }
            }
            if e >= s + 2 && bytes[s] == b'(' && bytes[e - 1] == b')' {
                s += 1;
                e -= 1;
            } else {
                return (s, e);
            }
        }
    }

    /// Where a bracketed node's contents start (after its opening bracket) and where
    /// its closing bracket is.
    fn brackets(&self, span: Span) -> (usize, usize) {
        let (s, e) = self.strip(span);
        (s + 1, e.saturating_sub(1))
    }

    /// A bracketed sequence: `[a, b]`, `{ "k": v }`, `f(a, b)`. On one line if it fits;
    /// otherwise the elements fill lines one level deeper than the line it opens on,
    /// and the closing bracket has a line of its own. With a comment inside, one
    /// element per line, each with its comments.
    #[allow(clippy::too_many_arguments)]
    fn seq(
        &mut self,
        open: &str,
        close: &str,
        spaced: bool,
        open_pos: usize,
        close_pos: usize,
        elems: &[Elem],
        reserve: usize,
    ) {
        let commented = self.has_comment(open_pos, close_pos);
        if elems.is_empty() && !commented {
            self.push(open);
            self.push(close);
            return;
        }
        let flat: Vec<String> = elems.iter().map(|el| self.flat_elem(el)).collect();
        if self.flat || !commented {
            let pad = if spaced { " " } else { "" };
            let one = format!("{open}{pad}{}{pad}{close}", flat.join(", "));
            if self.flat || self.col() + width(&one) + reserve <= WIDTH {
                self.push(&one);
                return;
            }
        }
        let outer = self.line_indent();
        let inner = outer + INDENT;
        self.push(open);
        self.line_end(open_pos);
        let mut line_open = false;
        for (i, el) in elems.iter().enumerate() {
            let is_last = i + 1 == elems.len();
            let comma = usize::from(!is_last);
            if line_open {
                self.push(" ");
            } else {
                self.cont_line(el.start(), inner);
            }
            let before = self.out.len();
            self.elem(el, comma);
            if !is_last {
                self.push(",");
            }
            let broke = self.out[before..].contains('\n');
            let next_fits = elems.get(i + 1).is_some_and(|_| {
                self.col() + 1 + width(&flat[i + 1]) + usize::from(i + 2 < elems.len()) <= WIDTH
            });
            line_open = !commented && !broke && next_fits;
            if !line_open {
                self.line_end(el.end());
            }
        }
        self.flush(close_pos, inner);
        self.pad(outer);
        self.push(close);
    }

    fn flat_elem(&self, el: &Elem) -> String {
        match el {
            Elem::Expr(e) | Elem::Named(None, e) => self.flat_expr(e),
            Elem::Entry(k, v) => format!("{}: {}", self.slice(k.span), self.flat_expr(v)),
            Elem::Named(Some(n), v) => format!("{}: {}", n.name, self.flat_expr(v)),
        }
    }

    fn elem(&mut self, el: &Elem, reserve: usize) {
        match el {
            Elem::Expr(e) | Elem::Named(None, e) => self.expr(e, reserve),
            Elem::Entry(k, v) => {
                self.push(self.slice(k.span));
                self.push(": ");
                self.expr(v, reserve);
            }
            Elem::Named(Some(n), v) => {
                self.push(&n.name);
                self.push(": ");
                self.expr(v, reserve);
            }
        }
    }
}

/// `1_000.50` of `1_000.50 USD` or of `3 days`.
fn leading_number(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '_' | '.' | '-')))
        .unwrap_or(text.len());
    &text[..end]
}

/// `days` of `3 days`.
fn trailing_word(text: &str) -> &str {
    let start = text
        .rfind(|c: char| !c.is_ascii_alphabetic())
        .map_or(0, |i| i + 1);
    &text[start..]
}
