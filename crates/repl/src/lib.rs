//! `flow repl`: try expressions, conditions and statements against an event.
//!
//! Every line goes through the same stages as `flow run`: it is parsed
//! ([`syntax::parse_expr`] / [`syntax::parse_stmt`]), checked by a [`Checker`] that
//! knows the event's schema and the `let`s entered so far, compiled
//! ([`flow_compile::compile_expr`] / [`flow_compile::compile_stmts`]) and evaluated by
//! [`vm::eval`] with the [`Recording`] bindings, so actions are shown, never carried
//! out. [`Session`] holds that state and answers one input at a time; it needs no
//! terminal. The terminal front end (line editing, completion, history) is in
//! `editor`, and [`complete()`] is the completion logic it uses.

#![forbid(unsafe_code)]

mod complete;
mod editor;

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{json, Value as Json};

use flow_bindings::{Action, Recording};
use flow_check::describe_field_type;
use flow_check::tree::TStmt;
use flow_check::{self as check, Checker, TExpr, Ty};
use flow_diagnostics::{self as diagnostics, Diagnostic, Severity};
use flow_program::{Op, Program};
use flow_project::read_json;
use flow_project::settings::{self, Settings};

use flow_syntax::ast::{ExprKind, Stmt, StmtKind};
use flow_syntax::{self as syntax, SourceFile, Span};
use flow_vm::{self as vm, Event, RunCode, RunError, RunReport, Status, Value};

pub use complete::{complete, Candidate, Completion};

/// What `flow repl` was started with.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// A `.flow` file to load (as `:load` does).
    pub file: Option<PathBuf>,
    pub event: Option<PathBuf>,
    pub event_type: Option<String>,
    pub objects: Option<PathBuf>,
    /// What `now` is (Unix seconds); `None`: the time of each evaluation.
    pub now: Option<i64>,
}

/// The commands, with their arguments and what they do (for `:help` and completion).
pub const COMMANDS: &[(&str, &str, &str)] = &[
    (
        "event",
        "FILE",
        "load an event (JSON) and evaluate against it",
    ),
    (
        "type",
        "EVENT_TYPE",
        "check against this event type (keeps the event if its object fits)",
    ),
    (
        "fields",
        "[PATH]",
        "list the fields of the event's object, or of PATH, with types and enum values",
    ),
    (
        "t",
        "EXPR",
        "show the type of an expression without evaluating it",
    ),
    ("lets", "", "list the names defined with `let`"),
    ("load", "FILE.flow", "load the workflows of a file"),
    (
        "run",
        "",
        "run the loaded workflows on the current event and show the run report",
    ),
    (
        "bytecode",
        "EXPR",
        "show the compiled bytecode of an expression or statement",
    ),
    (
        "settings",
        "",
        "show the business settings in use (flow.toml)",
    ),
    ("help", "", "show this help"),
    ("quit", "", "leave (Ctrl-D does too)"),
];

/// The answer to one input.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Reply {
    /// What to print, ending in a newline (or empty).
    pub text: String,
    /// The input had an error (a diagnostic of severity error, or a failed run).
    pub failed: bool,
    /// The input asked to leave.
    pub quit: bool,
}

impl Reply {
    fn ok(text: impl Into<String>) -> Reply {
        Reply {
            text: text.into(),
            ..Reply::default()
        }
    }

    fn failed(text: impl Into<String>) -> Reply {
        Reply {
            text: text.into(),
            failed: true,
            quit: false,
        }
    }
}

/// A name defined with `let`: its type, and the text that defined it (replayed
/// when the event changes). Its value is in `Session::locals` at the same index.
#[derive(Clone, Debug)]
struct Let {
    name: String,
    ty: Ty,
    text: String,
    /// Whether the value was computed (false when there was no event to read).
    has_value: bool,
}

/// A workflow loaded with `:load` or typed at the prompt.
struct Workflow {
    source: Arc<SourceFile>,
    program: Program,
}

/// The state of one REPL session.
pub struct Session {
    settings: Settings,
    event: Option<Event>,
    /// `--now`: what `now` is in every evaluation.
    now: Option<i64>,
    event_type: Option<String>,
    /// The object type of `data.object` (`None`: dynamic JSON).
    object: Option<String>,
    lets: Vec<Let>,
    locals: Vec<Value>,
    bindings: Recording,
    workflows: Vec<Workflow>,
    typed_workflows: usize,
    color: bool,
    pretty: bool,
}

/// The name REPL input goes by in diagnostics.
pub const SOURCE_NAME: &str = "<repl>";

impl Session {
    /// A session with no event and no event type: fields are dynamic JSON.
    pub fn new(settings: Settings) -> Session {
        Session {
            settings,
            event: None,
            now: None,
            event_type: None,
            object: None,
            lets: Vec::new(),
            locals: Vec::new(),
            bindings: Recording::new(),
            workflows: Vec::new(),
            typed_workflows: 0,
            color: false,
            pretty: false,
        }
    }

    /// Colour diagnostics (a terminal), and print objects as indented JSON.
    pub fn set_style(&mut self, color: bool, pretty: bool) {
        self.color = color;
        self.pretty = pretty;
    }

    /// Start a session as `flow repl` does; on failure, the rendered error.
    pub fn start(opts: &Options) -> Result<(Session, String), String> {
        let settings = match &opts.file {
            Some(f) => flow_project::load_settings(f),
            None => settings::load_for(None).map_err(|e| {
                Diagnostic::error("E0902", format!("invalid settings: {e}"))
                    .with_help("flow.toml holds `[business]` with `default_currency = \"USD\"` and `dispute_fee = \"15.00 USD\"`")
            }),
        }
        .map_err(|d| plain(&d))?;
        let mut s = Session::new(settings);
        s.bindings = flow_project::recording(opts.objects.as_deref()).map_err(|d| plain(&d))?;
        s.now = opts.now;
        if let Some(t) = &opts.event_type {
            if let Err(d) = known_event_type(t) {
                return Err(plain(&d));
            }
        }
        let mut banner = String::new();
        match &opts.event {
            Some(path) => {
                let event = load_event(path, opts.event_type.as_deref(), true)?;
                s.set_event(event);
            }
            None => {
                if let Some(t) = &opts.event_type {
                    s.set_type_only(t);
                }
            }
        }
        if let Some(file) = &opts.file {
            let r = s.load(file);
            if r.failed {
                return Err(r.text);
            }
            banner.push_str(&r.text);
        }
        Ok((s, banner))
    }

    pub fn event(&self) -> Option<&Event> {
        self.event.as_ref()
    }

    pub fn event_type(&self) -> Option<&str> {
        self.event_type.as_deref()
    }

    /// The object type that `data.object` is checked as.
    pub fn object(&self) -> Option<&str> {
        self.object.as_deref()
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The `let` names in scope, with their types (latest definition last).
    pub fn let_names(&self) -> Vec<(String, Ty)> {
        self.lets
            .iter()
            .map(|l| (l.name.clone(), l.ty.clone()))
            .collect()
    }

    /// The value of the latest `let` of this name, when it was computed.
    pub fn let_value(&self, name: &str) -> Option<&Value> {
        let i = self.lets.iter().rposition(|l| l.name == name)?;
        if self.lets[i].has_value {
            self.locals.get(i)
        } else {
            None
        }
    }

    /// One line (or block) of input: a `:command`, a workflow (`on …`), a statement,
    /// or an expression.
    pub fn eval(&mut self, input: &str) -> Reply {
        let trimmed = input.trim();
        if trimmed.is_empty() || trimmed.starts_with("//") {
            return Reply::default();
        }
        if let Some(cmd) = trimmed.strip_prefix(':') {
            return self.command(cmd);
        }
        if starts_with_word(trimmed, "on") || starts_with_word(trimmed, "workflow") {
            return self.define(input);
        }
        let source = SourceFile::new(SOURCE_NAME, input);
        match self.parse(input) {
            Ok(Line::Expr(e)) => self.expr_line(&source, &e),
            Ok(Line::Stmt(s)) => {
                let out = self.run_stmt(&source, &s, input);
                Reply {
                    text: out.text,
                    failed: out.failed,
                    quit: false,
                }
            }
            Err(d) => Reply::failed(self.render(&d, &source)),
        }
    }

    // ------------------------------------------------------------- checking

    /// A checker for one input: the event's object type, and the `let`s so far in
    /// their slots.
    fn checker(&self) -> Checker<'_> {
        let mut cx = Checker::new(
            flow_check::Env::new(flow_stdlib::builtin()).with_business(self.settings.business()),
        );
        cx.set_object(self.object.clone());
        for l in &self.lets {
            cx.declare(&l.name, l.ty.clone(), Span::default());
        }
        cx
    }

    /// Type an expression as the checker sees it here (`None` when it does not check).
    pub fn type_of(&self, text: &str) -> Option<TExpr> {
        let e = syntax::parse_expr(text).ok()?;
        let mut cx = self.checker();
        let t = cx.expr(&e);
        if cx.diagnostics.iter().any(Diagnostic::is_error) || t.ty.is_error() {
            return None;
        }
        Some(t)
    }

    fn parse(&self, input: &str) -> Result<Line, Diagnostic> {
        self.parse_line(input).map_err(|mut d| {
            // The input is a line (or a block), not a file.
            d.message = d
                .message
                .replace("found the end of the file", "found the end of the input");
            d
        })
    }

    fn parse_line(&self, input: &str) -> Result<Line, Diagnostic> {
        let expr_err = match syntax::parse_expr(input) {
            Ok(e) => {
                if !self.is_bare_action(&e) {
                    return Ok(Line::Expr(e));
                }
                None
            }
            Err(d) => Some(d),
        };
        match syntax::parse_stmt(input) {
            Ok(s) => Ok(Line::Stmt(s)),
            Err(stmt_err) => match expr_err {
                Some(expr_err) if !looks_like_stmt(input) => Err(expr_err),
                _ => Err(stmt_err),
            },
        }
    }

    /// `email` alone reads as a path; when it is no name or field here, it is the action.
    fn is_bare_action(&self, e: &syntax::ast::Expr) -> bool {
        let ExprKind::Path(p) = &e.kind else {
            return false;
        };
        let [seg] = p.segments.as_slice() else {
            return false;
        };
        let lib = flow_stdlib::builtin();
        lib.action(&seg.name).is_some()
            && !self.lets.iter().any(|l| l.name == seg.name)
            && self
                .object
                .as_deref()
                .and_then(|o| lib.object(o))
                .is_some_and(|d| d.field(&seg.name).is_none())
    }

    fn render(&self, d: &Diagnostic, source: &Arc<SourceFile>) -> String {
        diagnostics::render(d, source, self.color)
    }

    /// Render diagnostics; true when one is an error.
    fn report(&self, diags: &[Diagnostic], source: &Arc<SourceFile>, out: &mut String) -> bool {
        let mut failed = false;
        for d in diags {
            failed |= d.is_error();
            out.push_str(&self.render(d, source));
        }
        failed
    }

    // ------------------------------------------------------------- evaluating

    fn expr_line(&mut self, source: &Arc<SourceFile>, e: &syntax::ast::Expr) -> Reply {
        let mut cx = self.checker();
        let t = cx.expr(e);
        let locals = cx.locals_count();
        let diags = std::mem::take(&mut cx.diagnostics);
        drop(cx);
        let mut text = String::new();
        if self.report(&diags, source, &mut text) {
            return Reply::failed(text);
        }
        let program = flow_compile::compile_expr(&t, locals);
        let Some(event) = self.event_for(&program) else {
            text.push_str(&format!("{} : {}\n", one_line(&source.text), t.ty));
            return Reply::ok(text);
        };
        let (result, _actions) = vm::eval(
            &program,
            Some(source),
            &event,
            &mut self.locals,
            &mut self.bindings,
        );
        self.locals.truncate(self.lets.len());
        match result {
            Ok(v) => {
                let v = v.unwrap_or(Value::Null);
                text.push_str(&format!("{} : {}\n", self.show(&v), t.ty));
                Reply::ok(text)
            }
            Err(err) => {
                text.push_str(&self.render(&run_error(&err, source), source));
                Reply::failed(text)
            }
        }
    }

    /// The event to evaluate a program against: the current one, or an empty one when
    /// the program reads nothing from the event (`1000 USD > 999.99 USD`). `None`:
    /// types only.
    fn event_for(&self, p: &Program) -> Option<Event> {
        if let Some(e) = &self.event {
            return Some(e.clone());
        }
        let reads_locals_without_value = p.code.iter().any(|op| match op {
            Op::LoadLocal(s) => self.lets.get(*s as usize).is_none_or(|l| !l.has_value),
            _ => false,
        });
        let pure = p.reads.is_empty() && p.objects.is_empty() && !reads_locals_without_value;
        pure.then(|| Event {
            json: json!({"object": "event", "type": "", "data": {"object": {}}}),
            strict: false,
            now: self.now,
            wake_by: None,
        })
    }

    /// Check, compile and run one statement.
    fn run_stmt(&mut self, source: &Arc<SourceFile>, s: &Stmt, input: &str) -> StmtOutcome {
        let mut cx = self.checker();
        let checked = cx.stmt(s);
        let locals = cx.locals_count();
        let diags = std::mem::take(&mut cx.diagnostics);
        drop(cx);
        let mut text = String::new();
        let failed = self.report(&diags, source, &mut text);
        let first_error = diags.iter().find(|d| d.is_error()).cloned();
        let Some(checked) = checked.filter(|_| !failed) else {
            return StmtOutcome {
                text,
                failed: true,
                first_error: first_error.or_else(|| {
                    Some(Diagnostic::error(
                        "E0001",
                        "this statement could not be checked",
                    ))
                }),
            };
        };
        let new_let = match (&s.kind, &checked) {
            (StmtKind::Let { name, .. }, TStmt::Let { slot, value }) => {
                Some((name.name.clone(), value.ty.clone(), *slot))
            }
            (
                StmtKind::LetAction { name, .. },
                TStmt::Call {
                    slot: Some(slot), ..
                },
            ) => Some((name.name.clone(), flow_check::Ty::Json, *slot)),
            _ => None,
        };
        let program = flow_compile::compile_stmts(std::slice::from_ref(&checked), locals, s.span);
        let Some(event) = self.event_for(&program) else {
            match new_let {
                Some((name, ty, _)) => {
                    text.push_str(&format!("{name} : {ty}\n"));
                    self.locals.truncate(self.lets.len());
                    self.locals.push(Value::Null);
                    self.lets.push(Let {
                        name,
                        ty,
                        text: input.to_string(),
                        has_value: false,
                    });
                }
                None => text.push_str(&format!(
                    "checked: {} (no event to run it on; load one with :event FILE)\n",
                    stmt_word(s)
                )),
            }
            return StmtOutcome {
                text,
                failed: false,
                first_error: None,
            };
        };
        let (result, actions) = vm::eval(
            &program,
            Some(source),
            &event,
            &mut self.locals,
            &mut self.bindings,
        );
        text.push_str(&action_lines(&actions));
        match result {
            Ok(_) => {
                match new_let {
                    Some((name, ty, slot)) => {
                        let v = self
                            .locals
                            .get(slot as usize)
                            .cloned()
                            .unwrap_or(Value::Null);
                        self.locals.truncate(self.lets.len());
                        self.locals.push(v.clone());
                        text.push_str(&format!("{name} = {} : {ty}\n", show_short(&v)));
                        self.lets.push(Let {
                            name,
                            ty,
                            text: input.to_string(),
                            has_value: true,
                        });
                    }
                    None => {
                        self.locals.truncate(self.lets.len());
                        if !actions
                            .iter()
                            .any(|a| !matches!(a, Action::Retrieve { .. }))
                        {
                            text.push_str("no actions\n");
                        }
                    }
                }
                StmtOutcome {
                    text,
                    failed: false,
                    first_error: None,
                }
            }
            Err(err) => {
                self.locals.truncate(self.lets.len());
                let d = run_error(&err, source);
                text.push_str(&self.render(&d, source));
                StmtOutcome {
                    text,
                    failed: true,
                    first_error: Some(d),
                }
            }
        }
    }

    /// A value as the REPL shows it: strings quoted, money with its currency, objects
    /// as JSON.
    pub fn show(&self, v: &Value) -> String {
        match v {
            Value::Object(o) if self.pretty => {
                serde_json::to_string_pretty(&**o).unwrap_or_else(|_| o.to_string())
            }
            Value::Table(rows) => {
                let items: Vec<String> = rows
                    .iter()
                    .map(|(k, v)| format!("{k:?}: {}", self.show(v)))
                    .collect();
                format!("{{ {} }}", items.join(", "))
            }
            other => other.to_string(),
        }
    }

    // ------------------------------------------------------------- context

    fn set_event(&mut self, mut event: Event) {
        event.now = self.now;
        let t = event.event_type().to_string();
        self.object = object_of(&t);
        self.event_type = Some(t);
        self.event = Some(event);
    }

    fn set_type_only(&mut self, t: &str) {
        self.object = object_of(t);
        self.event_type = Some(t.to_string());
        self.event = None;
    }

    /// Define the `let`s again against a new context; say which no longer hold.
    fn replay_lets(&mut self) -> String {
        let old = std::mem::take(&mut self.lets);
        self.locals.clear();
        let mut out = String::new();
        for l in old {
            let source = SourceFile::new(SOURCE_NAME, l.text.as_str());
            let outcome = match syntax::parse_stmt(&l.text) {
                Ok(s) => self.run_stmt(&source, &s, &l.text),
                Err(d) => StmtOutcome {
                    text: String::new(),
                    failed: true,
                    first_error: Some(d),
                },
            };
            if outcome.failed {
                let why = outcome
                    .first_error
                    .map(|d| d.message)
                    .unwrap_or_else(|| "it no longer checks".into());
                out.push_str(&format!("note: `{}` is no longer defined: {why}\n", l.name));
            }
        }
        out
    }

    fn context_line(&self) -> String {
        match (&self.event, &self.event_type) {
            (Some(e), Some(t)) => format!(
                "event {} · {t} · data.object is {}\n",
                e.id().unwrap_or("(no id)"),
                self.object.as_deref().unwrap_or("dynamic JSON")
            ),
            (None, Some(t)) => format!(
                "type {t} · data.object is {} · no event: types only\n",
                self.object.as_deref().unwrap_or("dynamic JSON")
            ),
            _ => "no event and no event type: fields are dynamic JSON (:event FILE or :type EVENT_TYPE)\n".to_string(),
        }
    }

    /// What the interactive session prints first.
    pub fn banner(&self) -> String {
        let mut s = format!("flow repl · {}", self.context_line());
        s.push_str("Type an expression, a condition, a `let` or an action (actions are shown, never carried out).\n:help lists the commands; Tab completes; Ctrl-D leaves.\n");
        s
    }

    // ------------------------------------------------------------- commands

    fn command(&mut self, cmd: &str) -> Reply {
        let (name, arg) = match cmd.split_once(char::is_whitespace) {
            Some((n, a)) => (n, a.trim()),
            None => (cmd, ""),
        };
        match name {
            "help" | "h" | "?" => Reply::ok(help_text()),
            "quit" | "q" | "exit" => Reply {
                quit: true,
                ..Reply::default()
            },
            "event" => self.cmd_event(arg),
            "type" => self.cmd_type(arg),
            "fields" => self.cmd_fields(arg),
            "t" => self.cmd_t(arg),
            "lets" => self.cmd_lets(),
            "load" => {
                if arg.is_empty() {
                    return self.usage("load");
                }
                self.load(Path::new(arg))
            }
            "run" => self.cmd_run(),
            "bytecode" => self.cmd_bytecode(arg),
            "settings" => self.cmd_settings(),
            other => {
                let names = COMMANDS.iter().map(|c| c.0);
                let close = check::did_you_mean(other, names);
                let mut d = Diagnostic::error("E0950", format!("unknown command `:{other}`"));
                d = d.with_help(match close.first() {
                    Some(c) => format!("did you mean `:{c}`? :help lists the commands"),
                    None => ":help lists the commands".to_string(),
                });
                Reply::failed(plain(&d))
            }
        }
    }

    fn usage(&self, name: &str) -> Reply {
        let (_, args, what) = COMMANDS
            .iter()
            .find(|c| c.0 == name)
            .copied()
            .unwrap_or((name, "", ""));
        Reply::failed(plain(
            &Diagnostic::error("E0951", format!("`:{name}` needs {args}"))
                .with_help(format!("`:{name} {args}`: {what}")),
        ))
    }

    fn cmd_event(&mut self, arg: &str) -> Reply {
        if arg.is_empty() {
            return Reply::ok(self.context_line());
        }
        let event = match load_event(Path::new(arg), self.event_type.as_deref(), false) {
            Ok(e) => e,
            Err(text) => return Reply::failed(text),
        };
        self.set_event(event);
        let mut text = self.context_line();
        text.push_str(&self.replay_lets());
        Reply::ok(text)
    }

    fn cmd_type(&mut self, arg: &str) -> Reply {
        if arg.is_empty() {
            return Reply::ok(self.context_line());
        }
        if let Err(d) = known_event_type(arg) {
            return Reply::failed(plain(&d));
        }
        let mut text = String::new();
        let new_object = flow_stdlib::builtin()
            .event(arg)
            .and_then(|e| e.object.clone());
        match self.event.take() {
            Some(mut event) => {
                let kind = event
                    .object()
                    .get("object")
                    .and_then(Json::as_str)
                    .map(str::to_string);
                if kind.is_some() && kind == new_object {
                    if let Some(obj) = event.json.as_object_mut() {
                        obj.insert("type".into(), Json::String(arg.to_string()));
                    }
                    self.set_event(event);
                } else {
                    text.push_str(&format!(
                        "note: the event's object is {}, not {}: it is set aside; load one with :event FILE\n",
                        kind.as_deref().unwrap_or("unknown"),
                        new_object.as_deref().unwrap_or("dynamic JSON")
                    ));
                    self.set_type_only(arg);
                }
            }
            None => self.set_type_only(arg),
        }
        text.push_str(&self.context_line());
        text.push_str(&self.replay_lets());
        Reply::ok(text)
    }

    fn cmd_fields(&self, arg: &str) -> Reply {
        let lib = flow_stdlib::builtin();
        if arg.is_empty() {
            let Some(object) = &self.object else {
                let mut text = match &self.event_type {
                    Some(t) => format!("{t}: data.object is dynamic JSON (no schema)\n"),
                    None => "no event type: fields are dynamic JSON (:type EVENT_TYPE)\n".into(),
                };
                if let Some(Json::Object(m)) = self.event.as_ref().map(Event::object) {
                    text.push_str("keys in this event:\n");
                    for (k, v) in m {
                        text.push_str(&format!("  {k:<34} {}\n", json_kind(v)));
                    }
                }
                return Reply::ok(text);
            };
            return Reply::ok(fields_of(object, None));
        }
        let (t, mut text) = match self.typed(arg) {
            Ok(typed) => typed,
            Err(reply) => return reply,
        };
        match t.ty.base() {
            Ty::Object(o) if lib.object(o).is_some() => text.push_str(&fields_of(o, None)),
            Ty::Ref(o) if lib.object(o).is_some() => text.push_str(&fields_of(
                o,
                Some(&format!(
                    "`{}` is the ID of a {o}: `retrieve {}` to read these",
                    one_line(arg),
                    one_line(arg)
                )),
            )),
            Ty::Enum(en) => {
                text.push_str(&format!("{arg} : {}\n", t.ty));
                for v in &en.values {
                    text.push_str(&format!("  \"{v}\"\n"));
                }
                if en.open {
                    text.push_str("  (Stripe may add values)\n");
                }
            }
            Ty::Metadata | Ty::Json | Ty::Object(_) => {
                text.push_str(&format!("{arg} : {}\n", t.ty));
                match complete::json_at(self, &t) {
                    Some(Json::Object(m)) => {
                        for (k, v) in m {
                            text.push_str(&format!("  {k:<34} {}\n", json_kind(&v)));
                        }
                    }
                    _ => text.push_str("  (keys are known only at run time)\n"),
                }
            }
            other => text.push_str(&format!("{arg} : {other}, which has no fields\n")),
        }
        Reply::ok(text)
    }

    /// Parse and check one expression without running it: its typed tree and the
    /// warnings to show, or the reply that reports its errors.
    fn typed(&self, arg: &str) -> Result<(TExpr, String), Reply> {
        let source = SourceFile::new(SOURCE_NAME, arg);
        let e = syntax::parse_expr(arg).map_err(|d| Reply::failed(self.render(&d, &source)))?;
        let mut cx = self.checker();
        let t = cx.expr(&e);
        let diags = std::mem::take(&mut cx.diagnostics);
        drop(cx);
        let mut text = String::new();
        if self.report(&diags, &source, &mut text) {
            return Err(Reply::failed(text));
        }
        Ok((t, text))
    }

    fn cmd_t(&self, arg: &str) -> Reply {
        if arg.is_empty() {
            return self.usage("t");
        }
        let (t, mut text) = match self.typed(arg) {
            Ok(typed) => typed,
            Err(reply) => return reply,
        };
        text.push_str(&format!("{} : {}\n", one_line(arg), t.ty));
        Reply::ok(text)
    }

    fn cmd_lets(&self) -> Reply {
        if self.lets.is_empty() {
            return Reply::ok("no names defined yet: `let NAME = EXPR`\n");
        }
        let mut text = String::new();
        for (i, l) in self.lets.iter().enumerate() {
            if self.lets[i + 1..].iter().any(|later| later.name == l.name) {
                continue;
            }
            match self.locals.get(i).filter(|_| l.has_value) {
                Some(v) => text.push_str(&format!("{} = {} : {}\n", l.name, show_short(v), l.ty)),
                None => text.push_str(&format!("{} : {}\n", l.name, l.ty)),
            }
        }
        Reply::ok(text)
    }

    fn cmd_bytecode(&self, arg: &str) -> Reply {
        if arg.is_empty() {
            return self.usage("bytecode");
        }
        let source = SourceFile::new(SOURCE_NAME, arg);
        let mut text = String::new();
        let program = match self.parse(arg) {
            Ok(Line::Expr(e)) => {
                let mut cx = self.checker();
                let t = cx.expr(&e);
                let locals = cx.locals_count();
                let diags = std::mem::take(&mut cx.diagnostics);
                drop(cx);
                if self.report(&diags, &source, &mut text) {
                    return Reply::failed(text);
                }
                flow_compile::compile_expr(&t, locals)
            }
            Ok(Line::Stmt(s)) => {
                let mut cx = self.checker();
                let checked = cx.stmt(&s);
                let locals = cx.locals_count();
                let diags = std::mem::take(&mut cx.diagnostics);
                drop(cx);
                let failed = self.report(&diags, &source, &mut text);
                match checked.filter(|_| !failed) {
                    Some(c) => flow_compile::compile_stmts(&[c], locals, s.span),
                    None => return Reply::failed(text),
                }
            }
            Err(d) => return Reply::failed(self.render(&d, &source)),
        };
        text.push_str(&flow_program::disassemble(&program, Some(&source)));
        if !text.ends_with('\n') {
            text.push('\n');
        }
        Reply::ok(text)
    }

    fn cmd_settings(&self) -> Reply {
        let from = match &self.settings.path {
            Some(p) => p.display().to_string(),
            None => "defaults (no flow.toml found)".to_string(),
        };
        Reply::ok(format!(
            "default_currency = {}\ndispute_fee = {}\nfrom {from}\n",
            self.settings.default_currency, self.settings.dispute_fee
        ))
    }

    /// `:load FILE.flow`: build it (with the flow.toml beside it) and keep its workflows.
    pub fn load(&mut self, path: &Path) -> Reply {
        let flow_project::LoadedFile {
            source,
            settings,
            build,
        } = match flow_project::build_file(path) {
            Ok(loaded) => loaded,
            Err(d) => return Reply::failed(plain(&d)),
        };
        let mut out = String::new();
        let shown: Vec<Diagnostic> = build
            .diagnostics
            .iter()
            .filter(|d| d.severity != Severity::Note)
            .cloned()
            .collect();
        if self.report(&shown, &source, &mut out) {
            out.push_str(&format!(
                "{}: not loaded: fix the errors above first\n",
                path.display()
            ));
            return Reply::failed(out);
        }
        self.settings = settings;
        self.workflows = build
            .compiled
            .programs
            .into_iter()
            .map(|program| Workflow {
                source: source.clone(),
                program,
            })
            .collect();
        let names: Vec<String> = self
            .workflows
            .iter()
            .map(|w| format!("\"{}\" on {}", w.program.name, w.program.trigger))
            .collect();
        out.push_str(&format!(
            "loaded {} workflow{} from {}: {}\n",
            names.len(),
            if names.len() == 1 { "" } else { "s" },
            path.display(),
            names.join(", ")
        ));
        Reply::ok(out)
    }

    /// A workflow typed at the prompt: `on EVENT_TYPE … { … }`.
    fn define(&mut self, input: &str) -> Reply {
        let source = SourceFile::new(SOURCE_NAME, input);
        let name = format!("repl_{}", self.typed_workflows + 1);
        let build = flow_project::build(&source, &self.settings, &name);
        let mut out = String::new();
        let shown: Vec<Diagnostic> = build
            .diagnostics
            .iter()
            .filter(|d| d.severity != Severity::Note)
            .cloned()
            .collect();
        if self.report(&shown, &source, &mut out) {
            return Reply::failed(out);
        }
        if build.compiled.programs.is_empty() {
            let d = Diagnostic::error("E0001", "expected a workflow: `on EVENT_TYPE { … }`")
                .with_label(Span::new(0, input.len()), "not a workflow");
            return Reply::failed(self.render(&d, &source));
        }
        self.typed_workflows += 1;
        for program in build.compiled.programs {
            out.push_str(&format!(
                "defined \"{}\" on {} (:run runs it on the current event)\n",
                program.name, program.trigger
            ));
            self.workflows.push(Workflow {
                source: source.clone(),
                program,
            });
        }
        Reply::ok(out)
    }

    fn cmd_run(&mut self) -> Reply {
        let Some(event) = self.event.clone() else {
            return Reply::failed(plain(
                &Diagnostic::error("E0952", "`:run` needs an event")
                    .with_help("load one with `:event FILE`"),
            ));
        };
        if self.workflows.is_empty() {
            return Reply::failed(plain(
                &Diagnostic::error("E0953", "no workflows to run").with_help(
                    "load a file with `:load FILE.flow`, or type one: `on EVENT_TYPE { … }`",
                ),
            ));
        }
        let mut text = String::new();
        let mut failed = false;
        let mut ran = 0;
        for w in &self.workflows {
            if w.program.trigger != event.event_type() {
                continue;
            }
            ran += 1;
            let report: RunReport = vm::run(&w.program, &w.source, &event, &mut self.bindings);
            failed |= report.status == Status::Failed;
            text.push_str(&report.to_text());
        }
        if ran == 0 {
            let triggers: Vec<&str> = self
                .workflows
                .iter()
                .map(|w| w.program.trigger.as_str())
                .collect();
            text.push_str(&format!(
                "note: no workflow is triggered by {} (their triggers: {})\n",
                event.event_type(),
                triggers.join(", ")
            ));
        }
        Reply {
            text,
            failed,
            quit: false,
        }
    }
}

enum Line {
    Expr(syntax::ast::Expr),
    Stmt(Stmt),
}

struct StmtOutcome {
    text: String,
    failed: bool,
    first_error: Option<Diagnostic>,
}

fn object_of(event_type: &str) -> Option<String> {
    let lib = flow_stdlib::builtin();
    lib.event(event_type)
        .and_then(|e| e.object.clone())
        .filter(|o| lib.object(o).is_some())
}

fn known_event_type(t: &str) -> Result<(), Diagnostic> {
    let lib = flow_stdlib::builtin();
    if lib.event(t).is_some() {
        return Ok(());
    }
    let close = check::did_you_mean(t, lib.events.iter().map(|e| e.name.as_str()));
    let mut d = Diagnostic::error("E0101", format!("unknown event type `{t}`"));
    d = d.with_help(match check::phrase(&close) {
        Some(p) => format!("{p} `flow events` lists the Stripe event types"),
        None => "`flow events` lists the Stripe event types".to_string(),
    });
    Err(d)
}

/// Read an event file. `event_type` names the type of a bare object; `overrides`
/// also makes it replace an envelope's own type (as `--type` does).
fn load_event(path: &Path, event_type: Option<&str>, overrides: bool) -> Result<Event, String> {
    let json = match read_json(path) {
        Ok(j) => j,
        Err((d, source)) => {
            return Err(match source {
                Some(s) => diagnostics::render(&d, &s, false),
                None => plain(&d),
            })
        }
    };
    let is_envelope = json.get("object").and_then(Json::as_str) == Some("event");
    let t = if is_envelope && !overrides {
        None
    } else {
        event_type
    };
    Event::from_json(json, t).map_err(|msg| {
        plain(
            &Diagnostic::error("E0905", format!("{}: {msg}", path.display()))
                .with_help("give a Stripe event (`\"object\": \"event\"`, `type`, `data.object`), or a bare object with its type (`--type EVENT_TYPE`, or `:type EVENT_TYPE` first)"),
        )
    })
}

/// A diagnostic that points into no source.
fn plain(d: &Diagnostic) -> String {
    diagnostics::render_plain(d)
}

/// A run-time failure as a diagnostic pointing into the line.
fn run_error(e: &RunError, source: &SourceFile) -> Diagnostic {
    // The REPL's bindings record; the only action that can fail is a `retrieve`
    // of an object not given with --objects.
    let help = match e.code {
        RunCode::ActionFailed | RunCode::BadAnswer => {
            "retrieved objects come from `--objects DIR`: a folder of Stripe objects as .json files"
        }
        RunCode::Null => {
            "the value is null in this event: test it first, e.g. `x != null and x > …`"
        }
        _ => "the line type-checks; the event's data does not fit it here",
    };
    let mut d = Diagnostic::error("E0954", format!("evaluation failed: {}", e.message));
    if let Some(sp) = e.span {
        let sp = Span::new(
            (sp.start as usize).min(source.text.len()),
            (sp.end as usize).min(source.text.len()),
        );
        d = d.with_label(sp, "here, on this event");
    }
    d.with_help(help)
}

/// The actions a statement would take, as a run report lists them.
fn action_lines(actions: &[Action]) -> String {
    let shown: Vec<Action> = actions
        .iter()
        .filter(|a| !matches!(a, Action::Retrieve { .. }))
        .cloned()
        .collect();
    if shown.is_empty() {
        return String::new();
    }
    let report = RunReport {
        loops: Vec::new(),
        waits: Vec::new(),
        workflow: String::new(),
        event: None,
        event_type: String::new(),
        trigger: "event",
        slot: None,
        status: Status::Succeeded,
        code: None,
        error: None,
        wakes_at: None,
        actions: shown,
    };
    let mut out = String::new();
    for line in report.to_text().lines().skip(1) {
        if let Some(rest) = line.strip_prefix("    ") {
            out.push_str(&format!("  {rest}\n"));
        } else {
            let rest = line.strip_prefix("  ").unwrap_or(line);
            out.push_str(&format!("would {rest}\n"));
        }
    }
    out
}

/// A value in a `let` line: a Stripe object is shown by its id (type its name to
/// see all of it).
fn show_short(v: &Value) -> String {
    match v {
        Value::Object(o) => match o.get("id").and_then(Json::as_str) {
            Some(id) => format!("{{\"id\": {id:?}, …}}"),
            None => v.to_string(),
        },
        other => other.to_string(),
    }
}

fn stmt_word(s: &Stmt) -> String {
    match &s.kind {
        StmtKind::Let { .. } => "let".into(),
        StmtKind::If { .. } => "if".into(),
        StmtKind::Update { .. } => "update".into(),
        StmtKind::Retrieve { .. } => "retrieve".into(),
        StmtKind::Action { name, .. } => name.name.clone(),
        StmtKind::LetAction { action, .. } => action.name.clone(),
        StmtKind::For { .. } => "for".into(),
        StmtKind::Break => "break".into(),
        StmtKind::Wait { .. } => "wait".into(),
        StmtKind::Call(e) => match &e.kind {
            flow_syntax::ast::ExprKind::Stripe(c) => {
                format!("stripe.{}.{}", c.resource.name, c.method.name)
            }
            _ => "call".into(),
        },
    }
}

fn fields_of(object: &str, note: Option<&str>) -> String {
    let mut out = format!("{object}\n");
    if let Some(n) = note {
        out.push_str(&format!("  ({n})\n"));
    }
    if let Some(def) = flow_stdlib::builtin().object(object) {
        for f in &def.fields {
            out.push_str(&format!(
                "  {:<34} {}\n",
                f.name,
                describe_field_type(object, f)
            ));
        }
    }
    out
}

fn json_kind(v: &Json) -> String {
    match v {
        Json::Null => "null".into(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => n.to_string(),
        Json::String(s) => format!("{s:?}"),
        Json::Array(a) => format!("list of {}", a.len()),
        Json::Object(_) => "object".into(),
    }
}

fn help_text() -> String {
    let mut s = String::from(
        "Type an expression or condition (`amount > 1000 USD`), a `let`, or an action\n\
         (`email to: …`, `update …`, `refund …`): it is checked against the event's\n\
         schema and evaluated on the current event; actions are shown, never carried out.\n\
         A line that opens `{` or `(` continues until it is closed.\n\ncommands:\n",
    );
    for (name, args, what) in COMMANDS {
        let head = if args.is_empty() {
            format!(":{name}")
        } else {
            format!(":{name} {args}")
        };
        s.push_str(&format!("  {head:<22} {what}\n"));
    }
    s
}

/// Collapse the whitespace of a (possibly multi-line) input.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn starts_with_word(s: &str, word: &str) -> bool {
    s.strip_prefix(word).is_some_and(|rest| {
        rest.is_empty() || rest.starts_with(|c: char| !(c.is_alphanumeric() || c == '_'))
    })
}

/// Whether an input that parses as neither is better explained as a statement.
fn looks_like_stmt(input: &str) -> bool {
    let t = input.trim_start();
    if ["let", "if", "update"]
        .iter()
        .any(|k| starts_with_word(t, k))
    {
        return true;
    }
    // `NAME name:` is an action with arguments.
    let mut words = t.split(|c: char| c.is_whitespace());
    let first = words.next().unwrap_or("");
    if flow_stdlib::builtin().action(first).is_some() {
        return true;
    }
    let rest = t[first.len()..].trim_start();
    let is_name = |w: &str| {
        !w.is_empty()
            && w.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let second: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    is_name(first) && is_name(&second) && rest[second.len()..].trim_start().starts_with(':')
}

/// Whether an input is complete: every `{`, `(` and `[` outside strings is closed.
/// An incomplete input continues on the next line.
pub fn is_complete(input: &str) -> bool {
    let t = input.trim_start();
    if t.starts_with(':') {
        return true;
    }
    let mut depth: i64 = 0;
    let mut in_string = false;
    let mut escaped = false;
    for line in input.lines() {
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            if in_string {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    in_string = false;
                }
                continue;
            }
            match c {
                '"' => in_string = true,
                '/' if chars.peek() == Some(&'/') => break,
                '{' | '(' | '[' => depth += 1,
                '}' | ')' | ']' => depth -= 1,
                _ => {}
            }
        }
        // A string never spans lines.
        in_string = false;
        escaped = false;
    }
    depth <= 0
}

// ------------------------------------------------------------------ entry point

/// `flow repl`: interactive on a terminal; otherwise one result per input line.
pub fn main(opts: Options) -> i32 {
    let interactive = std::io::stdin().is_terminal();
    let (mut session, loaded) = match Session::start(&opts) {
        Ok(s) => s,
        Err(text) => {
            eprint!("{text}");
            return 2;
        }
    };
    if interactive {
        let color = diagnostics::use_color(std::io::stdout().is_terminal());
        session.set_style(color, true);
        editor::run(session, &loaded, color)
    } else {
        piped(session, &loaded)
    }
}

/// Read standard input line by line (a block continues while brackets are open) and
/// print each result; exit 1 when an input failed.
fn piped(mut session: Session, loaded: &str) -> i32 {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if out.write_all(loaded.as_bytes()).is_err() {
        return 0;
    }
    let mut failed = false;
    let mut block = String::new();
    let mut bytes = Vec::new();
    loop {
        bytes.clear();
        let n = match input.read_until(b'\n', &mut bytes) {
            Ok(n) => n,
            Err(e) => {
                eprint!(
                    "{}",
                    plain(
                        &Diagnostic::error("E0955", format!("cannot read standard input: {e}"))
                            .with_help("pipe text into `flow repl`, one input per line")
                    )
                );
                return 2;
            }
        };
        let at_end = n == 0;
        if !at_end {
            let line = String::from_utf8_lossy(&bytes);
            let line = line.trim_end_matches(['\n', '\r']);
            if block.is_empty() && (line.trim().is_empty() || line.trim_start().starts_with("//")) {
                continue;
            }
            if !block.is_empty() {
                block.push('\n');
            }
            block.push_str(line);
            if !is_complete(&block) {
                continue;
            }
        }
        if !block.is_empty() {
            let reply = session.eval(&block);
            block.clear();
            failed |= reply.failed;
            if out.write_all(reply.text.as_bytes()).is_err() || out.flush().is_err() {
                break;
            }
            if reply.quit {
                break;
            }
        }
        if at_end {
            break;
        }
    }
    i32::from(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session_with_event() -> Session {
        let mut s = Session::new(Settings::default());
        let event = Event::from_json(
            json!({
                "id": "evt_1", "object": "event", "type": "payment_intent.succeeded",
                "data": {"object": {"id": "pi_1", "object": "payment_intent",
                    "amount": 150000, "currency": "usd", "customer": "cus_123",
                    "description": null, "status": "succeeded",
                    "metadata": {"order_id": "42"}}}
            }),
            None,
        )
        .unwrap();
        s.set_event(event);
        s
    }

    #[test]
    fn values_print_with_their_types() {
        let mut s = session_with_event();
        assert_eq!(s.eval("amount > 1000 USD").text, "true : bool\n");
        assert_eq!(s.eval("amount").text, "1500.00 USD : money\n");
        assert_eq!(s.eval("customer").text, "\"cus_123\" : ref<customer>?\n");
        assert_eq!(s.eval("description").text, "null : string?\n");
    }

    #[test]
    fn lets_keep_their_slots_between_lines() {
        let mut s = session_with_event();
        assert_eq!(
            s.eval("let big = amount > 1000 USD").text,
            "big = true : bool\n"
        );
        assert_eq!(s.eval("let m = metadata").text.lines().count(), 1);
        assert_eq!(s.eval("big and m.order_id == \"42\"").text, "true : bool\n");
        assert_eq!(s.eval("not big").text, "false : bool\n");
    }

    #[test]
    fn a_failed_let_defines_nothing() {
        let mut s = session_with_event();
        let r = s.eval("let x = amout");
        assert!(r.failed);
        assert!(r.text.contains("E0102"), "{}", r.text);
        assert!(s.let_names().is_empty());
        assert!(s.eval("x").failed);
    }

    #[test]
    fn blocks_are_complete_when_brackets_close() {
        assert!(!is_complete("if amount > 1000 USD {"));
        assert!(!is_complete("(amount > 1000 USD"));
        assert!(is_complete("if a { email to: \"{\" }"));
        assert!(is_complete("amount // {"));
        assert!(is_complete(":t (amount"));
        assert!(is_complete(
            "if a {\n  update customer.metadata.x = \"1\"\n}"
        ));
    }

    #[test]
    fn type_only_without_an_event() {
        let mut s = Session::new(Settings::default());
        s.set_type_only("payment_intent.succeeded");
        assert_eq!(
            s.eval("amount > 1000 USD").text,
            "amount > 1000 USD : bool\n"
        );
        // Nothing read from the event: evaluated anyway.
        assert_eq!(s.eval("1000 USD > 999.99 USD").text, "true : bool\n");
        assert_eq!(
            s.eval("let limit = 500 USD").text,
            "limit = 500.00 USD : money\n"
        );
        assert_eq!(s.eval("let a = amount").text, "a : money\n");
        assert_eq!(s.eval("limit < 600 USD").text, "true : bool\n");
        assert_eq!(s.eval("a > limit").text, "a > limit : bool\n");
    }

    #[test]
    fn lets_are_defined_again_on_a_new_event() {
        let mut s = Session::new(Settings::default());
        s.set_type_only("payment_intent.succeeded");
        s.eval("let a = amount");
        assert!(s.let_value("a").is_none());
        let event = Event::from_json(
            json!({"id": "evt_2", "object": "event", "type": "payment_intent.succeeded",
                "data": {"object": {"object": "payment_intent", "amount": 500, "currency": "eur"}}}),
            None,
        )
        .unwrap();
        s.set_event(event);
        assert_eq!(s.replay_lets(), "");
        assert_eq!(
            s.let_value("a").map(|v| v.to_string()),
            Some("5.00 EUR".into())
        );
    }
}
