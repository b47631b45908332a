//! A hand-written parser for the grammar of `grammar/flow.pest`: recursive descent,
//! with the same precedence climbing as [`crate::grammar`] for expressions.
//!
//! It builds exactly the tree the pest path builds (same nodes, same spans) for the
//! files it accepts, and it only accepts files pest accepts. Whatever it is not sure
//! of (a syntax error, a literal that does not fit, nesting close to the limit, a
//! string whose interpolation spans lines), it declines, and the pest path parses the
//! file and reports the problems as it always has. The grammar file stays the
//! reference of the syntax: each function below names the rule it follows.
//!
//! The rules are PEG rules, tried in order. Where pest would try another alternative
//! after one fails, this parser decides up front by looking at the next tokens, and
//! only when the rules make that decision exact; everywhere else a failure declines.

use rust_decimal::Decimal;

use super::ast::*;
use super::literal::{parse_time, push_text, unescape, MAX_CHAIN, MAX_NESTING};
use super::Span;

/// Why parsing stopped: the pest path takes over.
struct Decline;

type R<T> = Result<T, Decline>;

/// Below the pest path's limit, so that anything near it goes there and gets the
/// same diagnostic.
const DEPTH_LIMIT: usize = MAX_NESTING - 8;
const CHAIN_LIMIT: usize = 2 * MAX_CHAIN - 8;
/// `ref<list<…>>` in an input's type (an atomic rule, not counted by the pest path).
const TYPE_DEPTH_LIMIT: usize = 32;

/// Parse a whole file, or decline (`None`).
pub(crate) fn parse_file(text: &str) -> Option<File> {
    parse_outline(text, true).map(|(file, _)| file)
}

/// Parse a whole file, or decline; with `keep_workflows` false, each workflow is
/// dropped as soon as it is read and the file comes back without workflows. Also
/// where each workflow starts, for [`parse_workflow_at`].
pub(crate) fn parse_outline(text: &str, keep_workflows: bool) -> Option<(File, Vec<usize>)> {
    let mut p = P::new(text)?;
    let mut starts = Vec::new();
    p.file(keep_workflows, &mut starts)
        .ok()
        .map(|f| (f, starts))
}

/// The workflow that starts at `start` (one of the starts [`parse_outline`] gave), or
/// decline.
pub(crate) fn parse_workflow_at(text: &str, start: usize) -> Option<Workflow> {
    let mut p = P::new(text)?;
    p.pos = start;
    if !(p.kw("workflow") || p.kw("on")) {
        return None;
    }
    p.workflow().ok()
}

struct P<'a> {
    t: &'a str,
    b: &'a [u8],
    pos: usize,
    /// How many nesting rules (`expr`, `block`, `paren`, `list`, `map`, `interp`,
    /// `if_stmt`) are open, as the pest path counts them.
    depth: usize,
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

/// The reserved words (`keyword` in the grammar).
fn is_keyword(w: &str) -> bool {
    matches!(
        w,
        "workflow"
            | "on"
            | "when"
            | "if"
            | "else"
            | "let"
            | "update"
            | "retrieve"
            | "for"
            | "break"
            | "wait"
            | "and"
            | "or"
            | "not"
            | "in"
            | "true"
            | "false"
            | "null"
    )
}

enum Item {
    Not(Span),
    Neg(Span),
    Primary(Expr),
    Op(BinOp, Span),
}

impl<'a> P<'a> {
    fn new(text: &'a str) -> Option<P<'a>> {
        u32::try_from(text.len()).ok()?;
        Some(P {
            t: text,
            b: text.as_bytes(),
            pos: 0,
            depth: 0,
        })
    }

    fn at(&self, i: usize) -> u8 {
        self.b.get(i).copied().unwrap_or(0)
    }

    fn cur(&self) -> u8 {
        self.at(self.pos)
    }

    fn span(&self, start: usize) -> Span {
        Span::new(start, self.pos)
    }

    /// The position after whitespace and comments from `i` (pest's implicit skip).
    fn ws_from(&self, mut i: usize) -> usize {
        loop {
            match self.at(i) {
                b' ' | b'\t' | b'\r' | b'\n' => i += 1,
                b'/' if self.at(i + 1) == b'/' => {
                    while i < self.b.len() && self.b[i] != b'\n' {
                        i += 1;
                    }
                }
                _ => return i,
            }
        }
    }

    fn ws(&mut self) {
        self.pos = self.ws_from(self.pos);
    }

    /// The end of a `name` starting at `i`.
    fn name_end(&self, i: usize) -> Option<usize> {
        if !is_name_start(self.at(i)) {
            return None;
        }
        let mut j = i + 1;
        while is_name_char(self.at(j)) {
            j += 1;
        }
        Some(j)
    }

    /// The word (run of name characters) at `i`.
    fn word(&self, i: usize) -> &'a str {
        let mut j = i;
        while is_name_char(self.at(j)) {
            j += 1;
        }
        &self.t[i..j]
    }

    /// `kw_…`: the word `w` and no name character after it.
    fn kw_at(&self, i: usize, w: &str) -> bool {
        self.b.get(i..i + w.len()) == Some(w.as_bytes()) && !is_name_char(self.at(i + w.len()))
    }

    fn kw(&self, w: &str) -> bool {
        self.kw_at(self.pos, w)
    }

    /// The end of an `ident` (a name that is not reserved) at `i`.
    fn ident_end(&self, i: usize) -> Option<usize> {
        let end = self.name_end(i)?;
        (!is_keyword(&self.t[i..end])).then_some(end)
    }

    fn expect(&mut self, c: u8) -> R<()> {
        if self.cur() == c {
            self.pos += 1;
            Ok(())
        } else {
            Err(Decline)
        }
    }

    fn enter(&mut self) -> R<()> {
        self.depth += 1;
        if self.depth > DEPTH_LIMIT {
            return Err(Decline);
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn name(&mut self) -> R<Ident> {
        let start = self.pos;
        let end = self.name_end(start).ok_or(Decline)?;
        self.pos = end;
        Ok(Ident {
            name: self.t[start..end].to_string(),
            span: Span::new(start, end),
        })
    }

    fn ident(&mut self) -> R<Ident> {
        let start = self.pos;
        let end = self.ident_end(start).ok_or(Decline)?;
        self.pos = end;
        Ok(Ident {
            name: self.t[start..end].to_string(),
            span: Span::new(start, end),
        })
    }

    /// `name ~ ":"` at `i` (an argument, a map entry, a named argument).
    fn name_colon_at(&self, i: usize) -> bool {
        self.name_end(i)
            .is_some_and(|e| self.at(self.ws_from(e)) == b':')
    }

    /// `ident ~ name ~ ":"` at `i`.
    fn ident_name_colon_at(&self, i: usize) -> bool {
        self.ident_end(i)
            .is_some_and(|e| self.name_colon_at(self.ws_from(e)))
    }

    /// `stripe_target` at `i`: `stripe` and two or more `.name`, then `(` after
    /// whitespace (no comments).
    fn stripe_target_end(&self, i: usize) -> Option<usize> {
        let end = self.stripe_names_end(i)?;
        let mut j = end;
        while matches!(self.at(j), b' ' | b'\t' | b'\r' | b'\n') {
            j += 1;
        }
        (self.at(j) == b'(').then_some(end)
    }

    /// `"stripe" ~ ("." ~ name){2,}` (`answer_target`).
    fn stripe_names_end(&self, i: usize) -> Option<usize> {
        if self.b.get(i..i + 6) != Some(b"stripe") {
            return None;
        }
        let mut j = i + 6;
        let mut names = 0;
        while self.at(j) == b'.' {
            match self.name_end(j + 1) {
                Some(e) => {
                    j = e;
                    names += 1;
                }
                None => break,
            }
        }
        (names >= 2).then_some(j)
    }

    /// `stmt_start` at `i`.
    fn stmt_start_at(&self, i: usize) -> bool {
        ["let", "if", "for", "break", "wait", "update", "retrieve"]
            .iter()
            .any(|k| self.kw_at(i, k))
            || self.stripe_target_end(i).is_some()
            || self.ident_name_colon_at(i)
    }

    // ------------------------------------------------------------ items

    fn file(&mut self, keep_workflows: bool, starts: &mut Vec<usize>) -> R<File> {
        let mut file = File::default();
        loop {
            self.ws();
            if self.pos >= self.b.len() {
                return Ok(file);
            }
            if self.cur() == b';' {
                self.pos += 1;
            } else if self.kw("workflow") || self.kw("on") {
                starts.push(self.pos);
                let w = self.workflow()?;
                if keep_workflows {
                    file.workflows.push(w);
                }
            } else if self.kw("test") {
                file.tests.push(self.test()?);
            } else if self.kw("action") {
                file.actions.push(self.action_decl()?);
            } else {
                return Err(Decline);
            }
        }
    }

    /// A string with no interpolation (`plain_string`, or a `string` the pest path
    /// reads with `string_literal`): its text and span.
    fn string_lit(&mut self) -> R<(String, Span)> {
        if self.cur() != b'"' {
            return Err(Decline);
        }
        let (parts, span) = self.string()?;
        let mut out = String::new();
        for part in parts {
            match part {
                StrPart::Text(t) => out.push_str(&t),
                StrPart::Expr(_) => return Err(Decline),
            }
        }
        Ok((out, span))
    }

    /// `workflow = workflow_name? ~ kw_on ~ trigger ~ when_clause? ~ block`
    fn workflow(&mut self) -> R<Workflow> {
        let start = self.pos;
        let mut name = None;
        if self.kw("workflow") {
            self.pos += "workflow".len();
            self.ws();
            name = Some(self.string_lit()?);
            self.ws();
        }
        if !self.kw("on") {
            return Err(Decline);
        }
        self.pos += 2;
        self.ws();
        let trigger = self.trigger()?;
        let save = self.pos;
        self.ws();
        let when = if self.kw("when") {
            self.pos += 4;
            self.ws();
            Some(self.expr()?)
        } else {
            self.pos = save;
            None
        };
        self.ws();
        let body = self.block()?;
        let header_end = when.as_ref().map_or(trigger.span().end, |w| w.span.end);
        Ok(Workflow {
            name,
            trigger,
            when,
            body,
            span: self.span(start),
            header_span: Span::new(start, header_end as usize),
        })
    }

    /// `trigger = schedule_trigger | demand_trigger | event_type`
    fn trigger(&mut self) -> R<Trigger> {
        let start = self.pos;
        if self.kw("schedule") && self.at(self.ws_from(start + 8)) == b'"' {
            self.pos = self.ws_from(start + 8);
            let cron = self.string_lit()?;
            let save = self.pos;
            self.ws();
            let timezone = if self.kw("timezone") {
                self.pos += "timezone".len();
                self.ws();
                Some(self.string_lit()?)
            } else {
                self.pos = save;
                None
            };
            return Ok(Trigger::Schedule {
                cron,
                timezone,
                span: self.span(start),
            });
        }
        if self.kw("demand") && self.at(self.ws_from(start + 6)) == b'(' {
            self.pos = self.ws_from(start + 6) + 1;
            let mut inputs = Vec::new();
            self.ws();
            if self.cur() == b')' {
                self.pos += 1;
            } else {
                loop {
                    inputs.push(self.input_param()?);
                    if self.list_sep(b')')? {
                        break;
                    }
                }
            }
            return Ok(Trigger::Demand {
                inputs,
                span: self.span(start),
            });
        }
        let end = self.event_type_end(start).ok_or(Decline)?;
        self.pos = end;
        Ok(Trigger::Event(Ident {
            name: self.t[start..end].to_string(),
            span: Span::new(start, end),
        }))
    }

    /// `event_type = @{ name ~ ("." ~ name)* }`
    fn event_type_end(&self, i: usize) -> Option<usize> {
        let mut j = self.name_end(i)?;
        while self.at(j) == b'.' {
            match self.name_end(j + 1) {
                Some(e) => j = e,
                None => break,
            }
        }
        Some(j)
    }

    /// `input_param = name ~ ":" ~ input_type ~ ("=" ~ expr)?`
    fn input_param(&mut self) -> R<InputDecl> {
        let start = self.pos;
        let name = self.name()?;
        self.ws();
        self.expect(b':')?;
        self.ws();
        let ty_start = self.pos;
        self.input_type(0)?;
        let ty_span = self.span(ty_start);
        let save = self.pos;
        self.ws();
        let default = if self.cur() == b'=' {
            self.pos += 1;
            self.ws();
            Some(self.expr()?)
        } else {
            self.pos = save;
            None
        };
        Ok(InputDecl {
            name,
            ty: self.t[ty_span.range()].to_string(),
            ty_span,
            default,
            span: self.span(start),
        })
    }

    /// `input_type = @{ name ~ ("<" ~ input_type ~ ">" | "(" ~ (name_char | "|")* ~ ")")? ~ "?"? }`
    fn input_type(&mut self, depth: usize) -> R<()> {
        if depth > TYPE_DEPTH_LIMIT {
            return Err(Decline);
        }
        self.pos = self.name_end(self.pos).ok_or(Decline)?;
        match self.cur() {
            b'<' => {
                self.pos += 1;
                self.input_type(depth + 1)?;
                self.expect(b'>')?;
            }
            b'(' => {
                self.pos += 1;
                while is_name_char(self.cur()) || self.cur() == b'|' {
                    self.pos += 1;
                }
                self.expect(b')')?;
            }
            _ => {}
        }
        if self.cur() == b'?' {
            self.pos += 1;
        }
        Ok(())
    }

    /// `action_decl = kw_action ~ name ~ kw_url ~ ":" ~ plain_string ~ "{" ~ (action_param ~ ","? | ";")* ~ "}"`
    fn action_decl(&mut self) -> R<ActionDecl> {
        let start = self.pos;
        self.pos += "action".len();
        self.ws();
        let name = self.name()?;
        self.ws();
        if !self.kw("url") {
            return Err(Decline);
        }
        self.pos += 3;
        self.ws();
        self.expect(b':')?;
        self.ws();
        let (url, url_span) = self.string_lit()?;
        self.ws();
        self.expect(b'{')?;
        let mut params = Vec::new();
        loop {
            self.ws();
            match self.cur() {
                b';' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    break;
                }
                _ => {
                    let name = self.name()?;
                    self.ws();
                    self.expect(b':')?;
                    self.ws();
                    let ty_start = self.pos;
                    self.pos = self.name_end(ty_start).ok_or(Decline)?;
                    while is_name_char(self.cur())
                        || matches!(self.cur(), b'(' | b')' | b'|' | b'+' | b'.' | b'?')
                    {
                        self.pos += 1;
                    }
                    let ty_span = self.span(ty_start);
                    params.push(ParamDecl {
                        name,
                        ty: self.t[ty_span.range()].to_string(),
                        ty_span,
                    });
                    let save = self.pos;
                    self.ws();
                    if self.cur() == b',' {
                        self.pos += 1;
                    } else {
                        self.pos = save;
                    }
                }
            }
        }
        Ok(ActionDecl {
            name,
            url,
            url_span,
            params,
            span: self.span(start),
        })
    }

    // ------------------------------------------------------------ tests

    /// `test = kw_test ~ string ~ "{" ~ (test_stmt | ";")* ~ "}"`
    fn test(&mut self) -> R<Test> {
        let start = self.pos;
        self.pos += "test".len();
        self.ws();
        let (name, name_span) = self.string_lit()?;
        self.ws();
        self.expect(b'{')?;
        let mut givens = Vec::new();
        let mut answers = Vec::new();
        let mut expects = Vec::new();
        loop {
            self.ws();
            if self.cur() == b';' {
                self.pos += 1;
            } else if self.cur() == b'}' {
                self.pos += 1;
                break;
            } else if self.kw("given") {
                givens.push(self.given()?);
            } else if self.kw("answer") {
                answers.push(self.answer()?);
            } else if self.kw("expect") {
                expects.push(self.expect_item()?);
            } else {
                return Err(Decline);
            }
        }
        Ok(Test {
            name,
            name_span,
            givens,
            answers,
            expects,
            span: self.span(start),
        })
    }

    /// `given = kw_given ~ (string | event_type ~ map) ~ given_with?`
    fn given(&mut self) -> R<Given> {
        let start = self.pos;
        self.pos += "given".len();
        self.ws();
        let event = if self.cur() == b'"' {
            let (path, span) = self.string_lit()?;
            GivenEvent::File { path, span }
        } else {
            let es = self.pos;
            let end = self.event_type_end(es).ok_or(Decline)?;
            self.pos = end;
            let event_type = Ident {
                name: self.t[es..end].to_string(),
                span: Span::new(es, end),
            };
            self.ws();
            if self.cur() != b'{' {
                return Err(Decline);
            }
            let object = self.map()?;
            GivenEvent::Partial { event_type, object }
        };
        let save = self.pos;
        self.ws();
        let with = if self.kw("with") {
            self.pos += 4;
            self.ws();
            match self.cur() {
                b'[' => Some(GivenObjects::Inline(self.list()?)),
                b'"' => {
                    let (path, span) = self.string_lit()?;
                    Some(GivenObjects::Path { path, span })
                }
                _ => return Err(Decline),
            }
        } else {
            self.pos = save;
            None
        };
        Ok(Given {
            event,
            with,
            span: self.span(start),
        })
    }

    /// `answer = kw_answer ~ answer_target ~ kw_with ~ (list | map)`
    fn answer(&mut self) -> R<Answer> {
        let start = self.pos;
        self.pos += "answer".len();
        self.ws();
        let ts = self.pos;
        let end = self.stripe_names_end(ts).ok_or(Decline)?;
        self.pos = end;
        let (resource, method) = self.stripe_split(ts, end);
        self.ws();
        if !self.kw("with") {
            return Err(Decline);
        }
        self.pos += 4;
        self.ws();
        let value = match self.cur() {
            b'[' => self.list()?,
            b'{' => self.map()?,
            _ => return Err(Decline),
        };
        Ok(Answer {
            resource,
            method,
            value,
            span: self.span(start),
        })
    }

    /// `expect = kw_expect ~ (expect_status | expect_no | expect_list | expect_update | expect_stripe | expect_action)`
    fn expect_item(&mut self) -> R<Expect> {
        let start = self.pos;
        self.pos += "expect".len();
        self.ws();
        let s = self.pos;
        let word = self.word(s);
        let kind = if matches!(word, "succeeded" | "failed" | "skipped") {
            self.pos = s + word.len();
            let status = Ident {
                name: word.to_string(),
                span: Span::new(s, self.pos),
            };
            let save = self.pos;
            self.ws();
            let message = if self.cur() == b'"' {
                Some(self.string_lit()?)
            } else {
                self.pos = save;
                None
            };
            ExpectKind::Status { status, message }
        } else if word == "no" && self.name_end(self.ws_from(s + 2)).is_some() {
            self.pos = self.ws_from(s + 2);
            ExpectKind::No { what: self.name()? }
        } else if word == "actions" && self.at(self.ws_from(s + 7)) == b'[' {
            self.pos = self.ws_from(s + 7) + 1;
            let mut items = Vec::new();
            loop {
                self.ws();
                if self.cur() == b']' {
                    self.pos += 1;
                    break;
                }
                items.push(self.expected_action()?);
                let save = self.pos;
                self.ws();
                if matches!(self.cur(), b',' | b';') {
                    self.pos += 1;
                } else {
                    self.pos = save;
                }
            }
            ExpectKind::Actions(items)
        } else {
            ExpectKind::Action(self.expected_action()?)
        };
        Ok(Expect {
            kind,
            span: self.span(start),
        })
    }

    /// `expect_update | expect_stripe | expect_action`
    fn expected_action(&mut self) -> R<ExpectedAction> {
        let start = self.pos;
        if self.kw("update") {
            self.pos += "update".len();
            self.ws();
            let target = self.path()?;
            self.ws();
            if self.b.get(self.pos..self.pos + 2) == Some(b"==") {
                self.pos += 2;
            } else {
                self.expect(b'=')?;
            }
            self.ws();
            let value = self.expr()?;
            return Ok(ExpectedAction::Update {
                target,
                value,
                span: self.span(start),
            });
        }
        if self.stripe_target_end(start).is_some() {
            let call = self.stripe_call()?;
            return Ok(ExpectedAction::Stripe {
                call,
                span: self.span(start),
            });
        }
        let name = self.ident()?;
        let args = self.args()?;
        Ok(ExpectedAction::Call {
            name,
            args,
            span: self.span(start),
        })
    }

    // ------------------------------------------------------------ statements

    /// `block = brace_block | angle_block`
    fn block(&mut self) -> R<Block> {
        let start = self.pos;
        self.enter()?;
        let close = match self.cur() {
            b'{' => b'}',
            b'<' if self.stmt_start_at(self.ws_from(start + 1)) => b'>',
            _ => return Err(Decline),
        };
        self.pos += 1;
        let mut stmts = Vec::new();
        loop {
            self.ws();
            let c = self.cur();
            if c == b';' {
                self.pos += 1;
            } else if c == close {
                self.pos += 1;
                break;
            } else {
                stmts.push(self.stmt()?);
            }
        }
        self.leave();
        Ok(Block {
            stmts,
            span: self.span(start),
        })
    }

    /// `stmt = let_action | let_stmt | if_stmt | for_stmt | break_stmt | wait_stmt
    /// | update_stmt | retrieve_stmt | call_stmt | action_stmt`
    fn stmt(&mut self) -> R<Stmt> {
        let start = self.pos;
        let kind = if self.kw("let") {
            self.pos += 3;
            self.ws();
            let name = self.ident()?;
            self.ws();
            self.expect(b'=')?;
            self.ws();
            if self.ident_name_colon_at(self.pos) {
                let action = self.ident()?;
                let args = self.args()?;
                StmtKind::LetAction { name, action, args }
            } else {
                StmtKind::Let {
                    name,
                    value: self.expr()?,
                }
            }
        } else if self.kw("if") {
            let mut branches = Vec::new();
            let mut otherwise = None;
            self.if_stmt(&mut branches, &mut otherwise)?;
            StmtKind::If {
                branches,
                otherwise,
            }
        } else if self.kw("for") {
            self.pos += 3;
            self.ws();
            let var = self.ident()?;
            self.ws();
            if !self.kw("in") {
                return Err(Decline);
            }
            self.pos += 2;
            self.ws();
            let list = self.expr()?;
            let save = self.pos;
            self.ws();
            let limit = if self.kw("limit") {
                self.pos += "limit".len();
                self.ws();
                let ns = self.pos;
                let end = self.number_end(ns).ok_or(Decline)?;
                self.pos = end;
                Some((number(&self.t[ns..end])?, Span::new(ns, end)))
            } else {
                self.pos = save;
                None
            };
            self.ws();
            let body = self.block()?;
            StmtKind::For {
                var,
                list,
                limit,
                body,
            }
        } else if self.kw("break") {
            self.pos += "break".len();
            StmtKind::Break
        } else if self.kw("wait") {
            self.pos += "wait".len();
            self.ws();
            if self.kw("until") {
                let save = self.pos;
                self.pos += "until".len();
                self.ws();
                match self.try_expr()? {
                    Some(value) => StmtKind::Wait { until: true, value },
                    None => {
                        self.pos = save;
                        StmtKind::Wait {
                            until: false,
                            value: self.expr()?,
                        }
                    }
                }
            } else {
                StmtKind::Wait {
                    until: false,
                    value: self.expr()?,
                }
            }
        } else if self.kw("update") {
            self.pos += "update".len();
            self.ws();
            let target = self.path()?;
            self.ws();
            self.expect(b'=')?;
            self.ws();
            StmtKind::Update {
                target,
                value: self.expr()?,
            }
        } else if self.kw("retrieve") {
            StmtKind::Retrieve {
                target: self.retrieve()?,
            }
        } else if self.stripe_target_end(start).is_some() {
            let call = self.stripe_call()?;
            StmtKind::Call(Expr {
                kind: ExprKind::Stripe(call),
                span: self.span(start),
            })
        } else {
            let name = self.ident()?;
            let args = self.args()?;
            StmtKind::Action { name, args }
        };
        Ok(Stmt {
            kind,
            span: self.span(start),
        })
    }

    /// `if_stmt = kw_if ~ expr ~ block ~ else_clause?`, `else_clause = kw_else ~ (if_stmt | block)`
    fn if_stmt(
        &mut self,
        branches: &mut Vec<(Expr, Block)>,
        otherwise: &mut Option<Block>,
    ) -> R<()> {
        self.enter()?;
        self.pos += 2;
        self.ws();
        let cond = self.expr()?;
        self.ws();
        let block = self.block()?;
        branches.push((cond, block));
        let save = self.pos;
        self.ws();
        if self.kw("else") {
            self.pos += 4;
            self.ws();
            if self.kw("if") {
                self.if_stmt(branches, otherwise)?;
            } else {
                *otherwise = Some(self.block()?);
            }
        } else {
            self.pos = save;
        }
        self.leave();
        Ok(())
    }

    /// `arg*`, `arg = name ~ ":" ~ expr ~ ","?`
    fn args(&mut self) -> R<Vec<Arg>> {
        let mut args = Vec::new();
        loop {
            let save = self.pos;
            self.ws();
            if !self.name_colon_at(self.pos) {
                self.pos = save;
                return Ok(args);
            }
            let name = self.name()?;
            self.ws();
            self.expect(b':')?;
            self.ws();
            let value = self.expr()?;
            let save = self.pos;
            self.ws();
            if self.cur() == b',' {
                self.pos += 1;
            } else {
                self.pos = save;
            }
            args.push(Arg { name, value });
        }
    }

    /// `retrieve = kw_retrieve ~ path`
    fn retrieve(&mut self) -> R<Path> {
        self.pos += "retrieve".len();
        self.ws();
        self.path()
    }

    /// `path = ${ ident ~ (("." ~ name) | ("[" ~ (plain_string | index) ~ "]"))* }`
    fn path(&mut self) -> R<Path> {
        let start = self.pos;
        let first = self.ident()?;
        let mut segments = vec![Segment {
            name: first.name,
            span: first.span,
            quoted: false,
            index: None,
        }];
        loop {
            match self.cur() {
                b'.' => {
                    let Some(end) = self.name_end(self.pos + 1) else {
                        break;
                    };
                    segments.push(Segment {
                        name: self.t[self.pos + 1..end].to_string(),
                        span: Span::new(self.pos + 1, end),
                        quoted: false,
                        index: None,
                    });
                    self.pos = end;
                }
                b'[' => {
                    self.pos += 1;
                    if self.cur() == b'"' {
                        let (name, span) = self.string_lit()?;
                        segments.push(Segment {
                            name,
                            span,
                            quoted: true,
                            index: None,
                        });
                    } else {
                        let s = self.pos;
                        while self.cur().is_ascii_digit() {
                            self.pos += 1;
                        }
                        if self.pos == s {
                            return Err(Decline);
                        }
                        let n: usize = self.t[s..self.pos].parse().map_err(|_| Decline)?;
                        segments.push(Segment {
                            name: n.to_string(),
                            span: self.span(s),
                            quoted: false,
                            index: Some(n),
                        });
                    }
                    self.expect(b']')?;
                }
                _ => break,
            }
        }
        Ok(Path {
            segments,
            span: self.span(start),
        })
    }

    // ------------------------------------------------------------ expressions

    fn expr(&mut self) -> R<Expr> {
        self.try_expr()?.ok_or(Decline)
    }

    /// `expr = prefix* ~ primary ~ (infix ~ prefix* ~ primary)*`; `None` when no
    /// expression starts here (exactly when the rule fails at its first tokens).
    fn try_expr(&mut self) -> R<Option<Expr>> {
        self.enter()?;
        let start = self.pos;
        let mut items = Vec::new();
        if !self.operand(&mut items)? {
            self.pos = start;
            self.leave();
            return Ok(None);
        }
        loop {
            let save = self.pos;
            self.ws();
            let Some((op, len)) = self.infix() else {
                self.pos = save;
                break;
            };
            let mark = items.len();
            items.push(Item::Op(op, Span::new(self.pos, self.pos + len)));
            self.pos += len;
            self.ws();
            if !self.operand(&mut items)? {
                // The iteration fails as a whole: the expression ends before the operator.
                items.truncate(mark);
                self.pos = save;
                break;
            }
            if items.len() > CHAIN_LIMIT {
                return Err(Decline);
            }
        }
        items.reverse();
        let e = climb(&mut items, 0)?;
        self.leave();
        Ok(Some(e))
    }

    /// `prefix* ~ primary`; `false` when no primary starts after the prefixes.
    fn operand(&mut self, items: &mut Vec<Item>) -> R<bool> {
        loop {
            if self.kw("not") {
                items.push(Item::Not(Span::new(self.pos, self.pos + 3)));
                self.pos += 3;
            } else if self.cur() == b'-' {
                items.push(Item::Neg(Span::new(self.pos, self.pos + 1)));
                self.pos += 1;
            } else {
                break;
            }
            if items.len() > CHAIN_LIMIT {
                return Err(Decline);
            }
            self.ws();
        }
        if !self.primary_starts() {
            return Ok(false);
        }
        items.push(Item::Primary(self.primary()?));
        Ok(true)
    }

    /// Whether `primary` might match here: `false` only where it cannot.
    fn primary_starts(&self) -> bool {
        match self.cur() {
            b'(' | b'"' | b'[' | b'{' => true,
            c if c.is_ascii_digit() => true,
            c if is_name_start(c) => {
                let w = self.word(self.pos);
                !is_keyword(w) || matches!(w, "true" | "false" | "null" | "retrieve")
            }
            _ => false,
        }
    }

    /// `infix`: the operator here and its length, if any.
    fn infix(&self) -> Option<(BinOp, usize)> {
        let i = self.pos;
        let two = self.b.get(i..i + 2);
        Some(match self.at(i) {
            b'o' if self.kw_at(i, "or") => (BinOp::Or, 2),
            b'a' if self.kw_at(i, "and") => (BinOp::And, 3),
            b'=' if two == Some(b"==") => (BinOp::Eq, 2),
            b'!' if two == Some(b"!=") => (BinOp::Ne, 2),
            b'<' if two == Some(b"<=") => (BinOp::Le, 2),
            b'>' if two == Some(b">=") => (BinOp::Ge, 2),
            b'<' if !self.stmt_start_at(self.ws_from(i + 1)) => (BinOp::Lt, 1),
            b'>' => (BinOp::Gt, 1),
            b'i' if self.kw_at(i, "in") => (BinOp::In, 2),
            b'+' => (BinOp::Add, 1),
            b'-' => (BinOp::Sub, 1),
            b'*' => (BinOp::Mul, 1),
            b'/' if self.at(i + 1) != b'/' => (BinOp::Div, 1),
            _ => return None,
        })
    }

    /// `primary = paren | datetime | date | duration | money | number | string
    /// | currency | boolean | null | list | map | retrieve | quant | stripe_call | call | path`
    fn primary(&mut self) -> R<Expr> {
        let start = self.pos;
        match self.cur() {
            b'(' => {
                self.enter()?;
                self.pos += 1;
                self.ws();
                let mut e = self.expr()?;
                self.ws();
                self.expect(b')')?;
                self.leave();
                e.span = self.span(start);
                Ok(e)
            }
            b'"' => {
                let (parts, span) = self.string()?;
                Ok(Expr {
                    kind: ExprKind::Str(parts),
                    span,
                })
            }
            b'[' => self.list(),
            b'{' => self.map(),
            c if c.is_ascii_digit() => self.numeric(),
            _ => self.word_primary(),
        }
    }

    /// `datetime | date | duration | money | number`
    fn numeric(&mut self) -> R<Expr> {
        let start = self.pos;
        if let Some(end) = self.datetime_end(start).or_else(|| self.date_end(start)) {
            self.pos = end;
            let sp = self.span(start);
            let secs = parse_time(&self.t[start..end], sp).map_err(|_| Decline)?;
            return Ok(Expr {
                kind: ExprKind::Time(secs),
                span: sp,
            });
        }
        let nend = self.number_end(start).ok_or(Decline)?;
        let amount = number(&self.t[start..nend])?;
        let after = self.ws_from(nend);
        let unit = self.word(after);
        let per: i64 = match unit {
            "second" | "seconds" => 1,
            "minute" | "minutes" => 60,
            "hour" | "hours" => 3_600,
            "day" | "days" => 86_400,
            "week" | "weeks" => 604_800,
            _ => 0,
        };
        if per != 0 {
            self.pos = after + unit.len();
            let seconds = amount
                .checked_mul(Decimal::from(per))
                .filter(|s| s.fract().is_zero())
                .and_then(|s| i64::try_from(s).ok())
                .ok_or(Decline)?;
            return Ok(Expr {
                kind: ExprKind::Duration(seconds),
                span: self.span(start),
            });
        }
        if let Some(cend) = self.currency_end(after) {
            self.pos = cend;
            return Ok(Expr {
                kind: ExprKind::Money {
                    amount,
                    currency: Ident {
                        name: self.t[after..cend].to_string(),
                        span: Span::new(after, cend),
                    },
                },
                span: self.span(start),
            });
        }
        self.pos = nend;
        Ok(Expr {
            kind: ExprKind::Number(amount),
            span: self.span(start),
        })
    }

    fn digits(&self, i: usize, n: usize) -> bool {
        (i..i + n).all(|k| self.at(k).is_ascii_digit())
    }

    /// `ASCII_DIGIT{4} ~ "-" ~ ASCII_DIGIT{2} ~ "-" ~ ASCII_DIGIT{2}`
    fn ymd(&self, i: usize) -> bool {
        self.digits(i, 4)
            && self.at(i + 4) == b'-'
            && self.digits(i + 5, 2)
            && self.at(i + 7) == b'-'
            && self.digits(i + 8, 2)
    }

    /// `date`
    fn date_end(&self, i: usize) -> Option<usize> {
        let e = i + 10;
        (self.ymd(i) && !(is_name_char(self.at(e)) || matches!(self.at(e), b'-' | b':')))
            .then_some(e)
    }

    /// `datetime`
    fn datetime_end(&self, i: usize) -> Option<usize> {
        if !(self.ymd(i)
            && self.at(i + 10) == b'T'
            && self.digits(i + 11, 2)
            && self.at(i + 13) == b':'
            && self.digits(i + 14, 2))
        {
            return None;
        }
        let mut j = i + 16;
        if self.at(j) == b':' && self.digits(j + 1, 2) {
            j += 3;
        }
        match self.at(j) {
            b'Z' => j += 1,
            b'+' | b'-'
                if self.digits(j + 1, 2) && self.at(j + 3) == b':' && self.digits(j + 4, 2) =>
            {
                j += 6
            }
            _ => return None,
        }
        (!is_name_char(self.at(j))).then_some(j)
    }

    /// `number = @{ "-"? ~ ASCII_DIGIT+ ~ ("_" ~ ASCII_DIGIT+)* ~ ("." ~ ASCII_DIGIT+)? ~ !name_char }`
    fn number_end(&self, i: usize) -> Option<usize> {
        let mut j = i;
        if self.at(j) == b'-' {
            j += 1;
        }
        if !self.at(j).is_ascii_digit() {
            return None;
        }
        while self.at(j).is_ascii_digit() {
            j += 1;
        }
        while self.at(j) == b'_' && self.at(j + 1).is_ascii_digit() {
            j += 1;
            while self.at(j).is_ascii_digit() {
                j += 1;
            }
        }
        if self.at(j) == b'.' && self.at(j + 1).is_ascii_digit() {
            j += 1;
            while self.at(j).is_ascii_digit() {
                j += 1;
            }
        }
        (!is_name_char(self.at(j))).then_some(j)
    }

    /// `currency = @{ ASCII_ALPHA_UPPER{3} ~ !(name_char | "." | "[") }`
    fn currency_end(&self, i: usize) -> Option<usize> {
        let e = i + 3;
        ((i..e).all(|k| self.at(k).is_ascii_uppercase())
            && !(is_name_char(self.at(e)) || matches!(self.at(e), b'.' | b'[')))
        .then_some(e)
    }

    /// A primary that starts with a letter or `_`.
    fn word_primary(&mut self) -> R<Expr> {
        let start = self.pos;
        if let Some(end) = self.currency_end(start) {
            self.pos = end;
            return Ok(Expr {
                kind: ExprKind::Currency(self.t[start..end].to_string()),
                span: self.span(start),
            });
        }
        let w = self.word(start);
        let simple = match w {
            "true" => Some(ExprKind::Bool(true)),
            "false" => Some(ExprKind::Bool(false)),
            "null" => Some(ExprKind::Null),
            _ => None,
        };
        if let Some(kind) = simple {
            self.pos = start + w.len();
            return Ok(Expr {
                kind,
                span: self.span(start),
            });
        }
        if w == "retrieve" {
            let path = self.retrieve()?;
            return Ok(Expr {
                kind: ExprKind::Retrieve(path),
                span: self.span(start),
            });
        }
        if matches!(w, "any" | "all") && self.at(start + 3) == b'(' {
            return self.quant(w == "all");
        }
        if self.stripe_target_end(start).is_some() {
            let call = self.stripe_call()?;
            return Ok(Expr {
                kind: ExprKind::Stripe(call),
                span: self.span(start),
            });
        }
        let end = self.ident_end(start).ok_or(Decline)?;
        if self.at(self.ws_from(end)) == b'(' {
            let name = self.ident()?;
            self.pos = self.ws_from(self.pos) + 1;
            let args = self.expr_list(b')')?;
            return Ok(Expr {
                kind: ExprKind::Call { name, args },
                span: self.span(start),
            });
        }
        let path = self.path()?;
        Ok(Expr {
            span: path.span,
            kind: ExprKind::Path(path),
        })
    }

    /// `(expr ~ ("," ~ expr)* ~ ","?)? ~ CLOSE`, after the opening bracket.
    fn expr_list(&mut self, close: u8) -> R<Vec<Expr>> {
        let mut items = Vec::new();
        self.ws();
        if self.cur() == close {
            self.pos += 1;
            return Ok(items);
        }
        loop {
            items.push(self.expr()?);
            if self.list_sep(close)? {
                return Ok(items);
            }
        }
    }

    /// After an item of a list: `"," ~ CLOSE?` or `CLOSE`. True when the list closed
    /// (its bracket consumed), false when another item follows.
    fn list_sep(&mut self, close: u8) -> R<bool> {
        self.ws();
        match self.cur() {
            b',' => {
                self.pos += 1;
                self.ws();
                if self.cur() == close {
                    self.pos += 1;
                    return Ok(true);
                }
                Ok(false)
            }
            c if c == close => {
                self.pos += 1;
                Ok(true)
            }
            _ => Err(Decline),
        }
    }

    /// `quant = quant_kw ~ "(" ~ name ~ in_op ~ expr ~ ":" ~ expr ~ ")"`
    fn quant(&mut self, all: bool) -> R<Expr> {
        let start = self.pos;
        self.pos += 4;
        self.ws();
        let var = self.name()?;
        self.ws();
        if !self.kw("in") {
            return Err(Decline);
        }
        self.pos += 2;
        self.ws();
        let list = self.expr()?;
        self.ws();
        self.expect(b':')?;
        self.ws();
        let cond = self.expr()?;
        self.ws();
        self.expect(b')')?;
        Ok(Expr {
            kind: ExprKind::Quant {
                all,
                var,
                list: Box::new(list),
                cond: Box::new(cond),
            },
            span: self.span(start),
        })
    }

    /// `resource` and `method` of a `stripe.…` target (as `stripe_target` in the pest path).
    fn stripe_split(&self, start: usize, end: usize) -> (Ident, Ident) {
        let text = &self.t[start..end];
        let after = "stripe.".len();
        let dot = text.rfind('.').unwrap_or(text.len());
        let resource_end = dot.max(after);
        let method_start = (dot + 1).min(text.len());
        (
            Ident {
                name: text[after..resource_end].to_string(),
                span: Span::new(start + after, start + resource_end),
            },
            Ident {
                name: text[method_start..].to_string(),
                span: Span::new(start + method_start, end),
            },
        )
    }

    /// `stripe_call = stripe_target ~ "(" ~ (call_arg ~ ("," ~ call_arg)* ~ ","?)? ~ ")"`
    fn stripe_call(&mut self) -> R<StripeCall> {
        let start = self.pos;
        let end = self.stripe_target_end(start).ok_or(Decline)?;
        let (resource, method) = self.stripe_split(start, end);
        self.pos = self.ws_from(end);
        self.expect(b'(')?;
        let mut args = Vec::new();
        self.ws();
        if self.cur() == b')' {
            self.pos += 1;
        } else {
            loop {
                let name = if self.name_colon_at(self.pos) {
                    let n = self.name()?;
                    self.ws();
                    self.expect(b':')?;
                    self.ws();
                    Some(n)
                } else {
                    None
                };
                let value = self.expr()?;
                args.push(CallArg { name, value });
                if self.list_sep(b')')? {
                    break;
                }
            }
        }
        Ok(StripeCall {
            resource,
            method,
            args,
        })
    }

    /// `list = "[" ~ (expr ~ ("," ~ expr)* ~ ","?)? ~ "]"`
    fn list(&mut self) -> R<Expr> {
        let start = self.pos;
        self.enter()?;
        self.pos += 1;
        let items = self.expr_list(b']')?;
        self.leave();
        Ok(Expr {
            kind: ExprKind::List(items),
            span: self.span(start),
        })
    }

    /// `map = "{" ~ (map_entry ~ ","?)* ~ "}"`, `map_entry = (string | name) ~ ":" ~ expr`
    fn map(&mut self) -> R<Expr> {
        let start = self.pos;
        self.enter()?;
        self.pos += 1;
        let mut entries = Vec::new();
        loop {
            self.ws();
            if self.cur() == b'}' {
                self.pos += 1;
                break;
            }
            let key = if self.cur() == b'"' {
                let (name, span) = self.string_lit()?;
                Ident { name, span }
            } else {
                self.name()?
            };
            self.ws();
            self.expect(b':')?;
            self.ws();
            let value = self.expr()?;
            entries.push((key, value));
            let save = self.pos;
            self.ws();
            if self.cur() == b',' {
                self.pos += 1;
            } else {
                self.pos = save;
            }
        }
        self.leave();
        Ok(Expr {
            kind: ExprKind::Map(entries),
            span: self.span(start),
        })
    }

    /// `string = ${ "\"" ~ (text | escape | interp)* ~ "\"" }`: its parts and span.
    fn string(&mut self) -> R<(Vec<StrPart>, Span)> {
        let start = self.pos;
        self.pos += 1;
        let mut parts = Vec::new();
        loop {
            match self.cur() {
                b'"' => {
                    self.pos += 1;
                    return Ok((parts, self.span(start)));
                }
                b'\\' => {
                    let c = self.at(self.pos + 1);
                    if !matches!(c, b'"' | b'\\' | b'n' | b't' | b'r' | b'{' | b'}') {
                        return Err(Decline);
                    }
                    let mut buf = [0u8; 4];
                    push_text(
                        &mut parts,
                        unescape(&self.t[self.pos..self.pos + 2]).encode_utf8(&mut buf),
                    );
                    self.pos += 2;
                }
                b'{' => {
                    let open = self.pos;
                    self.enter()?;
                    self.pos += 1;
                    self.ws();
                    let e = self.expr()?;
                    self.ws();
                    self.expect(b'}')?;
                    self.leave();
                    // Spans of the pest path are cut back past trailing comments line by
                    // line, which a string across lines confuses: that is its to parse.
                    if self.t[open..self.pos].contains('\n') {
                        return Err(Decline);
                    }
                    parts.push(StrPart::Expr(e));
                }
                _ if self.pos >= self.b.len() || self.cur() == b'\n' => return Err(Decline),
                _ => {
                    let s = self.pos;
                    while self.pos < self.b.len()
                        && !matches!(self.b[self.pos], b'"' | b'\\' | b'{' | b'\n')
                    {
                        self.pos += 1;
                    }
                    push_text(&mut parts, &self.t[s..self.pos]);
                }
            }
        }
    }
}

/// A number literal held exactly, or decline (the pest path reports it).
fn number(text: &str) -> R<Decimal> {
    let cleaned: String = text.chars().filter(|&c| c != '_').collect();
    Decimal::from_str_exact(&cleaned).map_err(|_| Decline)
}

/// Precedence climbing over `items` (reversed), as the pest path does it.
fn climb(items: &mut Vec<Item>, min_prec: u8) -> R<Expr> {
    let mut lhs = unary(items)?;
    while let Some(Item::Op(op, op_span)) = items.last() {
        let (op, op_span) = (*op, *op_span);
        let prec = op.precedence();
        if prec < min_prec {
            break;
        }
        items.pop();
        let rhs = climb(items, prec + 1)?;
        let sp = lhs.span.to(rhs.span);
        lhs = Expr {
            kind: ExprKind::Binary {
                op,
                op_span,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            },
            span: sp,
        };
    }
    Ok(lhs)
}

fn unary(items: &mut Vec<Item>) -> R<Expr> {
    let (sp, inner, wrap): (Span, Expr, fn(Box<Expr>) -> ExprKind) = match items.pop() {
        Some(Item::Primary(e)) => return Ok(e),
        Some(Item::Not(sp)) => (sp, climb(items, 3)?, ExprKind::Not),
        Some(Item::Neg(sp)) => (sp, unary(items)?, ExprKind::Neg),
        _ => return Err(Decline),
    };
    let span = sp.to(inner.span);
    Ok(Expr {
        kind: wrap(Box::new(inner)),
        span,
    })
}
