//! Stage 2: [`ast::File`] → [`Checked`]: every name resolved against the event
//! schema, the action catalogue and the `let`s in scope; every expression typed.
//!
//! The checker keeps going after a problem, so one `flow check` reports all of them.

#![forbid(unsafe_code)]

mod env;
mod ops;
mod reach;
mod stripe;
use flow_stdlib::suggest;
pub mod test_case;
pub mod tree;
mod trigger;
pub mod types;

use std::collections::HashMap;
use std::sync::Arc;

use rust_decimal::Decimal;

pub use env::{Business, Env, Loader, NoFiles};
pub use flow_program::DEFAULT_MAX_ACTIONS;
use flow_stdlib::money::{Currency, Money, MoneyError};
pub use flow_stdlib::suggest::{did_you_mean, phrase};
use flow_stdlib::{FieldType, ObjectDef, Stdlib};
use flow_syntax::ast::{self, BinOp, ExprKind, StmtKind};
use flow_syntax::Diagnostic;
use flow_syntax::{SourceFile, Span};
use tree::*;
pub use tree::{TExpr, TStmt, TWorkflow};
pub use types::{describe_field_type, EnumTy, Ty};

/// A custom action declared in a flow file (`action NAME url: "…" { … }`): its
/// parameters, checked like a built-in action's, and the address it posts to.
#[derive(Clone, Debug)]
pub struct CustomAction {
    pub def: flow_stdlib::ActionDef,
    pub url: String,
}

/// A checked file: its workflows, ready to compile.
#[derive(Clone, Debug)]
pub struct Checked {
    pub source: Arc<SourceFile>,
    pub workflows: Vec<TWorkflow>,
    /// The file's `test` items, checked (see `check::test_case`).
    pub tests: Vec<test_case::TTest>,
}

/// Stripe's limit on the steps (actions and conditions) of one workflow.
pub const MAX_STEPS: usize = 50;

/// The most items a `for` loop takes without `limit N`: Stripe's largest page.
pub const DEFAULT_LOOP_LIMIT: u32 = 100;

/// The largest `limit N` a loop may have.
pub const MAX_LOOP_LIMIT: u32 = 10_000;

/// Check a parsed file. `default_name` names workflows without `workflow "…"`.
pub fn check_file(
    file: &ast::File,
    source: Arc<SourceFile>,
    env: &Env<'_>,
    default_name: &str,
) -> (Checked, Vec<Diagnostic>) {
    let mut check = FileCheck::new(&file.actions, env, default_name);
    let mut workflows = Vec::new();
    for w in &file.workflows {
        if let Some(tw) = check.workflow(w) {
            workflows.push(tw);
        }
    }
    let (tests, diagnostics) = check.finish(&file.tests, &file.subject_inputs, &source);
    (
        Checked {
            source,
            workflows,
            tests,
        },
        diagnostics,
    )
}

/// Checking a file one workflow at a time, in file order: [`check_file`] keeps each
/// typed workflow, `flow check` (which needs only the diagnostics) can drop it, and
/// the AST of each workflow too, as soon as it is checked. Of each workflow this
/// keeps what the file-wide checks need: its name and its inputs.
pub struct FileCheck<'e> {
    env: Env<'e>,
    default_name: String,
    custom: std::rc::Rc<[CustomAction]>,
    diagnostics: Vec<Diagnostic>,
    /// The name of each typed workflow, and where each workflow's name is written.
    names: Vec<String>,
    name_spans: Vec<Span>,
    inputs: Vec<(String, Ty)>,
}

impl<'e> FileCheck<'e> {
    /// Start with the file's custom actions (all of them: a workflow may use one
    /// declared after it).
    pub fn new(actions: &[ast::ActionDecl], env: &Env<'e>, default_name: &str) -> FileCheck<'e> {
        let mut diagnostics = Vec::new();
        let custom = custom_actions(actions, env.lib, &mut diagnostics).into();
        FileCheck {
            env: *env,
            default_name: default_name.to_string(),
            custom,
            diagnostics,
            names: Vec::new(),
            name_spans: Vec::new(),
            inputs: Vec::new(),
        }
    }

    /// Check the next workflow of the file.
    pub fn workflow(&mut self, w: &ast::Workflow) -> Option<TWorkflow> {
        let mut cx = Checker::new(self.env);
        cx.custom = self.custom.clone();
        self.name_spans
            .push(w.name.as_ref().map_or(w.trigger.span(), |n| n.1));
        let typed = cx.workflow(w, &self.default_name);
        if let Some(tw) = &typed {
            if !cx.diagnostics.iter().any(Diagnostic::is_error) {
                cx.diagnostics.extend(reach::analyze(tw));
            }
            self.names.push(tw.name.clone());
            self.inputs.extend(
                tw.inputs
                    .iter()
                    .map(|i| (i.name.clone(), trigger::input_ty(&i.ty, i.optional))),
            );
        }
        self.diagnostics.append(&mut cx.diagnostics);
        typed
    }

    /// The file-wide checks (workflow names, tests): the checked tests and every
    /// diagnostic, in the order [`check_file`] gives them.
    pub fn finish(
        mut self,
        tests: &[ast::Test],
        subject_inputs: &[ast::InputDecl],
        source: &Arc<SourceFile>,
    ) -> (Vec<test_case::TTest>, Vec<Diagnostic>) {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for (sp, name) in self.name_spans.iter().zip(&self.names) {
            if let Some(first) = seen.get(name.as_str()) {
                self.diagnostics.push(
                    Diagnostic::warning("W0107", format!("two workflows are named \"{name}\""))
                        .with_label(*sp, "this name is taken")
                        .with_secondary(*first, "first used here")
                        .with_help("give each workflow its own name: run reports and tests refer to workflows by name"),
                );
            } else {
                seen.insert(name, *sp);
            }
        }
        let env = self.env;
        self.inputs
            .extend(trigger::subject_inputs(subject_inputs, &env));
        let tests = test_case::check_tests(
            tests,
            source,
            &env,
            &self.custom,
            &self.inputs,
            &mut self.diagnostics,
        );
        (tests, self.diagnostics)
    }
}

struct Local {
    slot: u16,
    ty: Ty,
    span: Span,
    used: bool,
}

/// The checker for one workflow (also used by the REPL, one line at a time).
pub struct Checker<'s> {
    env: Env<'s>,
    /// The object type of `data.object`; `None` for dynamic JSON.
    object: Option<String>,
    scopes: Vec<HashMap<String, Local>>,
    next_slot: u16,
    /// Paths known not to be null here (`if x != null { … }`).
    non_null: Vec<String>,
    steps: usize,
    /// Checking a `when` condition: nothing in it may change anything.
    in_when: bool,
    /// How many `for` loops the statement being checked is in.
    loops: usize,
    /// Whether the workflow has a loop (its static step count counts a body once).
    has_loop: bool,
    /// The custom actions of the file being checked.
    pub custom: std::rc::Rc<[CustomAction]>,
    pub diagnostics: Vec<Diagnostic>,
    /// A workflow started without an event (`scheduled`, `on-demand`): there is no
    /// `event` and no field of one.
    no_event: Option<&'static str>,
    /// In a test of on-demand workflows: the inputs, read from the test's input
    /// (`data.object`) by name, with their types.
    input_fields: Vec<(String, Ty)>,
}

/// An action by name: built in, or declared in the file.
fn find_action<'a>(
    lib: &'a Stdlib,
    custom: &'a [CustomAction],
    name: &str,
) -> Option<&'a flow_stdlib::ActionDef> {
    lib.action(name)
        .or_else(|| custom.iter().find(|c| c.def.name == name).map(|c| &c.def))
}

/// The event's `data.object` itself, as the start of a path.
fn object_root(ty: Ty, span: Span) -> TExpr {
    TExpr {
        kind: TExprKind::Field(FieldRead {
            root: Root::Object,
            path: vec![],
            conv: Conv::Object,
            required: true,
            display: String::new(),
        }),
        ty,
        span,
    }
}

impl<'s> Checker<'s> {
    pub fn new(env: Env<'s>) -> Checker<'s> {
        Checker {
            env,
            object: None,
            scopes: vec![HashMap::new()],
            next_slot: 0,
            non_null: Vec::new(),
            steps: 0,
            in_when: false,
            loops: 0,
            has_loop: false,
            custom: std::rc::Rc::from(Vec::new()),
            diagnostics: Vec::new(),
            no_event: None,
            input_fields: Vec::new(),
        }
    }

    /// Type `data.object` as this object type (`None`: dynamic JSON).
    pub fn set_object(&mut self, object: Option<String>) {
        self.object = object;
    }

    /// Read these names from `data.object` with these types (the inputs of
    /// on-demand workflows, in their tests).
    pub fn set_input_fields(&mut self, fields: Vec<(String, Ty)>) {
        self.input_fields = fields;
    }

    pub fn locals_count(&self) -> u16 {
        self.next_slot
    }

    /// Declare a `let` from outside (the REPL keeps its names between lines).
    pub fn declare(&mut self, name: &str, ty: Ty, span: Span) -> u16 {
        let slot = self.next_slot;
        self.next_slot += 1;
        if let Some(scope) = self.scopes.last_mut() {
            scope.insert(
                name.to_string(),
                Local {
                    slot,
                    ty,
                    span,
                    used: true,
                },
            );
        }
        slot
    }

    /// Slots of the compiler's own (a quantifier's list and position), named by nobody.
    fn hidden_slots(&mut self, n: u16) -> u16 {
        let slot = self.next_slot;
        self.next_slot += n;
        slot
    }

    pub fn local_names(&self) -> Vec<(String, Ty)> {
        self.scopes
            .iter()
            .flat_map(|s| s.iter().map(|(n, l)| (n.clone(), l.ty.clone())))
            .collect()
    }

    fn error(&mut self, d: Diagnostic) {
        self.diagnostics.push(d);
    }

    // ------------------------------------------------------------- workflows

    fn workflow(&mut self, w: &ast::Workflow, default_name: &str) -> Option<TWorkflow> {
        let name = w
            .name
            .as_ref()
            .map_or_else(|| default_name.to_string(), |n| n.0.clone());
        let lib = self.env.lib;
        let mut schedule = None;
        let mut inputs = Vec::new();
        let trigger = match &w.trigger {
            ast::Trigger::Event(t) => t,
            ast::Trigger::Schedule { cron, timezone, .. } => {
                self.no_event = Some("scheduled");
                schedule = Some(self.schedule(cron, timezone.as_ref())?);
                return self.workflow_body(w, name, flow_program::SCHEDULE, schedule, inputs);
            }
            ast::Trigger::Demand { inputs: decls, .. } => {
                self.no_event = Some("on-demand");
                // The inputs' scope encloses the `when` and the body.
                self.scopes.push(HashMap::new());
                inputs = self.inputs(decls);
                let r = self.workflow_body(w, name, flow_program::DEMAND, schedule, inputs);
                self.pop_scope();
                return r;
            }
        };
        match lib.event(&trigger.name) {
            Some(ev) => {
                // Every event of the built-in standard library has a schema; a
                // standard library given as files may leave one as dynamic JSON.
                let object = ev.object.clone().filter(|o| lib.object(o).is_some());
                self.object = object;
            }
            None => {
                let names = lib.events.iter().map(|e| e.name.as_str());
                let close = did_you_mean(&trigger.name, names);
                let mut d =
                    Diagnostic::error("E0101", format!("unknown event type `{}`", trigger.name))
                        .with_label(
                            trigger.span,
                            phrase(&close).unwrap_or_else(|| "not a Stripe event type".into()),
                        );
                d = d.with_help(if close.is_empty() {
                    let prefix = trigger.name.split('.').next().unwrap_or("");
                    let same: Vec<&str> = lib
                        .events
                        .iter()
                        .map(|e| e.name.as_str())
                        .filter(|n| n.split('.').next() == Some(prefix))
                        .take(12)
                        .collect();
                    if same.is_empty() {
                        "see `flow events` for the list of Stripe event types".to_string()
                    } else {
                        format!("events of `{prefix}`: {}", same.join(", "))
                    }
                } else {
                    "see `flow events` for the list of Stripe event types".to_string()
                });
                self.error(d);
                return None;
            }
        }
        self.workflow_body(w, name, &trigger.name, schedule, inputs)
    }

    /// The `when` condition and the body, once the trigger is known.
    fn workflow_body(
        &mut self,
        w: &ast::Workflow,
        name: String,
        trigger: &str,
        schedule: Option<flow_program::ScheduleSpec>,
        inputs: Vec<flow_program::InputSpec>,
    ) -> Option<TWorkflow> {
        let when = w.when.as_ref().map(|c| {
            self.steps += 1;
            self.in_when = true;
            let t = self.condition(c, "the `when` condition");
            self.in_when = false;
            t
        });
        let facts = w.when.as_ref().map(non_null_facts).unwrap_or_default();
        let n = self.non_null.len();
        self.non_null.extend(facts);
        let body = self.block(&w.body);
        self.non_null.truncate(n);
        if self.steps > MAX_STEPS {
            self.error(
                Diagnostic::warning(
                    "W0106",
                    format!(
                        "this workflow has {} steps{}; Stripe allows at most {MAX_STEPS}",
                        self.steps,
                        if self.has_loop {
                            " (a loop's body counted once)"
                        } else {
                            ""
                        }
                    ),
                )
                .with_label(w.header_span, "too many actions and conditions")
                .with_help("split it into several workflows on the same event"),
            );
        }
        Some(TWorkflow {
            name,
            trigger: trigger.to_string(),
            schedule,
            inputs,
            object: self.object.clone(),
            when,
            body,
            locals: self.next_slot,
            max_actions: self.env.business.max_actions,
            span: w.span,
        })
    }

    fn block(&mut self, b: &ast::Block) -> Vec<TStmt> {
        self.scopes.push(HashMap::new());
        let out = b.stmts.iter().filter_map(|s| self.stmt(s)).collect();
        self.pop_scope();
        out
    }

    fn pop_scope(&mut self) {
        if let Some(scope) = self.scopes.pop() {
            let mut unused: Vec<(&String, &Local)> =
                scope.iter().filter(|(_, l)| !l.used).collect();
            unused.sort_by_key(|(_, l)| l.span.start);
            for (name, l) in unused {
                if !name.starts_with('_') {
                    self.diagnostics.push(
                        Diagnostic::warning("W0103", format!("`{name}` is never used"))
                            .with_label(l.span, "defined here")
                            .with_help(format!(
                                "remove the `let`, or name it `_{name}` if it is kept on purpose"
                            )),
                    );
                }
            }
        }
    }

    pub fn stmt(&mut self, s: &ast::Stmt) -> Option<TStmt> {
        match &s.kind {
            StmtKind::Let { name, value } => {
                let value = self.expr(value);
                let slot = self.next_slot;
                self.next_slot += 1;
                if let Some(scope) = self.scopes.last_mut() {
                    scope.insert(
                        name.name.clone(),
                        Local {
                            slot,
                            ty: value.ty.clone(),
                            span: name.span,
                            used: false,
                        },
                    );
                }
                Some(TStmt::Let { slot, value })
            }
            StmtKind::If {
                branches,
                otherwise,
            } => {
                let mut out = Vec::new();
                let base = self.non_null.len();
                let mut negated: Vec<String> = Vec::new();
                for (cond, block) in branches {
                    self.steps += 1;
                    // Each `else if` runs only when the conditions before it were false.
                    self.non_null.extend(negated.iter().cloned());
                    let c = self.condition(cond, "an `if` condition");
                    self.non_null.extend(non_null_facts(cond));
                    let body = self.block(block);
                    self.non_null.truncate(base);
                    negated.extend(null_facts(cond));
                    out.push((c, body));
                }
                let otherwise = otherwise.as_ref().map(|b| {
                    self.non_null.extend(negated.iter().cloned());
                    let r = self.block(b);
                    self.non_null.truncate(base);
                    r
                });
                Some(TStmt::If {
                    branches: out,
                    otherwise,
                })
            }
            StmtKind::Update { target, value } => {
                self.steps += 1;
                self.update(target, value, s.span)
            }
            StmtKind::Retrieve { target } => {
                self.steps += 1;
                let (object, id) = self.retrieve_target(target)?;
                Some(TStmt::Retrieve {
                    object,
                    id,
                    span: s.span,
                })
            }
            StmtKind::Action { name, args } => {
                self.steps += 1;
                self.action(name, args, None, s.span)
            }
            StmtKind::For {
                var,
                list,
                limit,
                body,
            } => self.for_loop(var, list, limit.as_ref(), body, s.span),
            StmtKind::Break => {
                if self.loops == 0 {
                    self.error(
                        Diagnostic::error("E0316", "`break` outside a loop")
                            .with_label(s.span, "there is no loop to leave here")
                            .with_help("`break` leaves the innermost `for` loop; to end the run early, put the rest in an `if`"),
                    );
                    return None;
                }
                Some(TStmt::Break { span: s.span })
            }
            StmtKind::Wait { until, value } => self.wait(*until, value, s.span),
            StmtKind::Call(e) => {
                self.steps += 1;
                let value = self.expr(e);
                Some(TStmt::Do {
                    value,
                    span: s.span,
                })
            }
            StmtKind::LetAction { name, action, args } => {
                self.steps += 1;
                self.let_action(name, action, args, s.span)
            }
        }
    }

    /// `for NAME in LIST limit N { … }`: the list, the item typed as the list's items,
    /// the body in a scope of its own, and the limit within what a run may take.
    fn for_loop(
        &mut self,
        var: &ast::Ident,
        list: &ast::Expr,
        limit: Option<&(Decimal, Span)>,
        body: &ast::Block,
        span: Span,
    ) -> Option<TStmt> {
        self.steps += 1;
        self.has_loop = true;
        let l = self.expr(list);
        let item = match l.ty.base() {
            Ty::List(t) => (**t).clone(),
            Ty::Json | Ty::Error | Ty::Null => Ty::Json,
            other => {
                let other = other.clone();
                self.error(
                    Diagnostic::error("E0316", format!("`for` needs a list, not {other}"))
                        .with_label(l.span, format!("this is {other}"))
                        .with_help("loop over a list: a list action (`stripe.invoices.list(…)`), a list field (`items.data`) or `[a, b]`"),
                );
                Ty::Error
            }
        };
        let limit = match limit {
            None => DEFAULT_LOOP_LIMIT,
            Some((n, sp)) => match u32::try_from(n.trunc())
                .ok()
                .filter(|v| n.fract().is_zero() && (1..=MAX_LOOP_LIMIT).contains(v))
            {
                Some(v) => v,
                None => {
                    self.error(
                        Diagnostic::error("E0316", format!("a loop's limit is a whole number from 1 to {MAX_LOOP_LIMIT}"))
                            .with_label(*sp, "not a limit a loop can have")
                            .with_help(format!("write e.g. `limit 500`; without `limit` a loop takes at most {DEFAULT_LOOP_LIMIT} items")),
                    );
                    DEFAULT_LOOP_LIMIT
                }
            },
        };
        self.scopes.push(HashMap::new());
        let slots = self.hidden_slots(2);
        // Declared as used: a loop may be run for its count alone.
        let slot = self.declare(&var.name, item, var.span);
        self.loops += 1;
        let body = self.block(body);
        self.loops -= 1;
        self.pop_scope();
        Some(TStmt::For {
            slots,
            var: slot,
            list: l,
            limit,
            body,
            span,
        })
    }

    /// `let NAME = ACTION …`: the answer of an action that has one (`http` and custom
    /// actions: `{ "status": …, "body": … }`, dynamic JSON).
    fn let_action(
        &mut self,
        name: &ast::Ident,
        action: &ast::Ident,
        args: &[ast::Arg],
        span: Span,
    ) -> Option<TStmt> {
        let answers =
            action.name == "http" || self.custom.iter().any(|c| c.def.name == action.name);
        let known = answers || self.env.lib.action(&action.name).is_some();
        let slot = self.next_slot;
        self.next_slot += 1;
        if let Some(scope) = self.scopes.last_mut() {
            scope.insert(
                name.name.clone(),
                Local {
                    slot,
                    ty: Ty::Json,
                    span: name.span,
                    used: !answers,
                },
            );
        }
        if known && !answers {
            self.error(
                Diagnostic::error(
                    "E0311",
                    format!("`{}` has no answer to name with `let`", action.name),
                )
                .with_label(action.span, "this action answers nothing a later step can use")
                .with_help(format!(
                    "write `{} …` on its own line; `let NAME = http …` (and a custom action) names the answer: its `status` and JSON `body`",
                    action.name
                )),
            );
            for a in args {
                self.expr(&a.value);
            }
            return None;
        }
        self.action(action, args, Some(slot), span)
    }

    fn lookup_local(&mut self, name: &str) -> Option<&mut Local> {
        self.scopes.iter_mut().rev().find_map(|s| s.get_mut(name))
    }

    // ------------------------------------------------------------- actions

    fn action(
        &mut self,
        name: &ast::Ident,
        args: &[ast::Arg],
        slot: Option<u16>,
        span: Span,
    ) -> Option<TStmt> {
        let lib = self.env.lib;
        let custom = self.custom.clone();
        let endpoint = custom
            .iter()
            .find(|c| c.def.name == name.name)
            .map(|c| c.url.clone());
        let Some(def) = find_action(lib, &custom, &name.name) else {
            let mut also = vec!["update", "retrieve", "let", "if"];
            also.extend(custom.iter().map(|c| c.def.name.as_str()));
            let mut help = "the actions are {actions}, and the statements `update REF.path = value` and `retrieve REF`".to_string();
            if !custom.is_empty() {
                let names: Vec<String> =
                    custom.iter().map(|c| format!("`{}`", c.def.name)).collect();
                help = format!("{help}; this file declares {}", names.join(", "));
            }
            self.error(unknown_action(lib, name, &also, &help));
            for a in args {
                self.expr(&a.value);
            }
            return None;
        };
        let mut seen: HashMap<&str, Span> = HashMap::new();
        // Required parameters that a misspelt argument probably meant.
        let mut meant: Vec<&str> = Vec::new();
        let mut params: Vec<(String, TExpr, Span)> = Vec::new();
        let mut ok = true;
        for a in args {
            if let Some(first) = seen.get(a.name.name.as_str()) {
                self.error(
                    Diagnostic::error("E0304", format!("`{}` is given twice", a.name.name))
                        .with_label(a.name.span, "given again here")
                        .with_secondary(*first, "first given here")
                        .with_help("give each parameter once"),
                );
                ok = false;
                continue;
            }
            seen.insert(&a.name.name, a.name.span);
            let Some(p) = def.param(&a.name.name) else {
                let close = did_you_mean(&a.name.name, def.params.iter().map(|p| p.name.as_str()));
                meant.extend(close.iter().copied());
                let all: Vec<String> = def.params.iter().map(|p| format!("`{}`", p.name)).collect();
                self.error(
                    Diagnostic::error(
                        "E0302",
                        format!("`{}` has no parameter `{}`", def.name, a.name.name),
                    )
                    .with_label(
                        a.name.span,
                        phrase(&close).unwrap_or_else(|| "unknown parameter".into()),
                    )
                    .with_help(format!(
                        "`{}` takes {}",
                        def.name,
                        all.join(", ")
                    )),
                );
                self.expr(&a.value);
                ok = false;
                continue;
            };
            let value = self.param_value(&def.name, &p.name, &p.ty, &a.value);
            params.push((p.name.clone(), value, a.name.span));
        }
        for p in def.params.iter().filter(|p| !p.optional) {
            if meant.contains(&p.name.as_str()) {
                ok = false;
            } else if !seen.contains_key(p.name.as_str()) {
                self.error(
                    Diagnostic::error("E0303", format!("`{}` needs `{}`", def.name, p.name))
                        .with_label(name.span, format!("`{}` is missing", p.name))
                        .with_help(format!("add `{}: …` ({})", p.name, p.doc)),
                );
                ok = false;
            }
        }
        if !ok {
            return None;
        }
        let take = |params: &mut Vec<(String, TExpr, Span)>, n: &str| {
            params
                .iter()
                .position(|(k, _, _)| k == n)
                .map(|i| params.remove(i).1)
        };
        match def.name.as_str() {
            "email" => {
                let to = take(&mut params, "to")?;
                let body = take(&mut params, "body")?;
                let subject = take(&mut params, "subject");
                let append = match take(&mut params, "append").map(|e| e.kind) {
                    Some(TExprKind::Table(rows)) => rows,
                    _ => Vec::new(),
                };
                Some(TStmt::Email {
                    to,
                    subject,
                    body,
                    append,
                    span,
                })
            }
            "refund" => {
                let has = |n: &str| params.iter().any(|(k, _, _)| k == n);
                if !has("charge") && !has("payment_intent") {
                    self.error(
                        Diagnostic::error("E0307", "`refund` needs `charge` or `payment_intent`")
                            .with_label(name.span, "which payment should be refunded?")
                            .with_help("add `charge: ch` (a retrieved charge or a charge ID) or `payment_intent: id`"),
                    );
                    return None;
                }
                if has("charge") && has("payment_intent") {
                    let sp = params
                        .iter()
                        .find(|(k, _, _)| k == "payment_intent")
                        .map(|p| p.2);
                    self.error(
                        Diagnostic::error(
                            "E0307",
                            "give `refund` either `charge` or `payment_intent`, not both",
                        )
                        .with_label(sp.unwrap_or(name.span), "remove one of the two")
                        .with_help("Stripe refunds one payment: name it once"),
                    );
                    return None;
                }
                Some(TStmt::Refund {
                    params: params.into_iter().map(|(k, v, _)| (k, v)).collect(),
                    span,
                })
            }
            _ => Some(TStmt::Call {
                action: def.name.clone(),
                endpoint,
                params: params.into_iter().map(|(k, v, _)| (k, v)).collect(),
                slot,
                span,
            }),
        }
    }

    /// Check an action argument against its declared type, converting where the
    /// language says so (an object passes its ID, a number literal is not money).
    /// Tests use it for the arguments of an expected action.
    pub fn param_value(
        &mut self,
        action: &str,
        param: &str,
        ty: &FieldType,
        e: &ast::Expr,
    ) -> TExpr {
        match ty {
            // Any value: sent as JSON (maps and lists as written, money in minor units).
            FieldType::Json => self.expr(e),
            FieldType::Table => {
                if let ExprKind::Map(entries) = &e.kind {
                    let rows = entries
                        .iter()
                        .map(|(k, v)| (k.name.clone(), self.expr(v)))
                        .collect();
                    return TExpr {
                        kind: TExprKind::Table(rows),
                        ty: Ty::Table,
                        span: e.span,
                    };
                }
                let t = self.expr(e);
                self.mismatch(
                    &t,
                    &format!("`{param}` takes a table: {{ \"Label\": value, … }}"),
                    "write the fields as `{ \"Customer ID\": customer, \"Amount\": amount }`",
                );
                t
            }
            FieldType::Metadata => {
                if let ExprKind::Map(entries) = &e.kind {
                    let rows = entries
                        .iter()
                        .map(|(k, v)| {
                            let t = self.expr(v);
                            self.expect_text(&t, "a metadata value");
                            (k.name.clone(), t)
                        })
                        .collect();
                    return TExpr {
                        kind: TExprKind::Table(rows),
                        ty: Ty::Metadata,
                        span: e.span,
                    };
                }
                let t = self.expr(e);
                if !matches!(t.ty.base(), Ty::Metadata | Ty::Error | Ty::Json) {
                    self.mismatch(
                        &t,
                        &format!("`{param}` takes metadata: {{ \"key\": \"value\", … }}"),
                        "write `{ \"order\": \"1234\" }`",
                    );
                }
                t
            }
            FieldType::Addresses => {
                let t = self.expr(e);
                let check_lit = |cx: &mut Self, t: &TExpr| {
                    if let TExprKind::Lit(Lit::Str(s)) = &t.kind {
                        if !flow_stdlib::is_email_address(s) {
                            cx.error(
                                Diagnostic::error(
                                    "E0306",
                                    format!("`{s}` is not an e-mail address"),
                                )
                                .with_label(t.span, "expected an address such as team@example.com")
                                .with_help("write the full address: `name@domain`"),
                            );
                        }
                    }
                };
                match (&t.kind, t.ty.base()) {
                    (TExprKind::List(items), _) => {
                        for i in items {
                            check_lit(self, i);
                            if !matches!(i.ty.base(), Ty::Str | Ty::Error | Ty::Json) {
                                self.mismatch(
                                    i,
                                    "each recipient is an e-mail address (a string)",
                                    "write `to: [\"a@example.com\", \"b@example.com\"]`",
                                );
                            }
                        }
                    }
                    (_, Ty::Str) => {
                        check_lit(self, &t);
                        self.warn_nullable(&t, &format!("`{action}` needs a recipient"));
                    }
                    (_, Ty::Error | Ty::Json) => {}
                    (_, Ty::List(inner)) if matches!(**inner, Ty::Str) => {}
                    _ => self.mismatch(
                        &t,
                        "`to` takes an e-mail address or a list of them",
                        "write `to: \"team@example.com\"`",
                    ),
                }
                t
            }
            FieldType::Ref(object) => {
                let t = self.expr(e);
                match t.ty.base().clone() {
                    // The object itself is passed: the run takes its ID, and checks
                    // that an amount is in the object's currency.
                    Ty::Object(o) if &o == object => t,
                    Ty::Ref(o) if &o == object => {
                        self.warn_nullable(&t, &format!("`{action}` needs a {object}"));
                        t
                    }
                    Ty::Str | Ty::Json | Ty::Error => t,
                    other => {
                        let what = match &other {
                            Ty::Ref(o) | Ty::Object(o) => {
                                format!("{}, not {}", suggest::a(o), suggest::a(object))
                            }
                            _ => format!("{other}"),
                        };
                        self.error(
                            Diagnostic::error("E0305", format!("`{param}` of `{action}` takes {}; this is {what}", suggest::a(object)))
                                .with_label(t.span, format!("expected {} or its ID", suggest::a(object)))
                                .with_help(format!("pass a retrieved {object} (`let x = retrieve …`), a reference field to one, or its ID")),
                        );
                        t
                    }
                }
            }
            FieldType::Money { .. } => {
                let t = self.expr(e);
                match t.ty.base() {
                    Ty::Money | Ty::Error | Ty::Json => {}
                    Ty::Int | Ty::Decimal => self.error(
                        Diagnostic::error("E0305", format!("`{param}` of `{action}` takes money; a bare number has no currency"))
                            .with_label(t.span, "a number, not money")
                            .with_help(format!(
                                "write the amount with its currency, e.g. `{} {}`, or pass an amount field such as `ch.amount`",
                                number_text(&t).unwrap_or_else(|| "10.00".into()),
                                self.env.business.default_currency
                            )),
                    ),
                    other => {
                        let other = other.clone();
                        self.mismatch(&t, &format!("`{param}` of `{action}` takes money, not {other}"), "pass an amount such as `ch.amount` or `10.00 USD`")
                    }
                }
                self.warn_nullable(&t, &format!("`{param}` needs an amount"));
                t
            }
            FieldType::Enum { values, .. } => {
                let t = self.expr(e);
                match (&t.kind, t.ty.base()) {
                    (TExprKind::Lit(Lit::Str(s)), _) => {
                        if !values.contains(s) {
                            let close = did_you_mean(s, values.iter().map(String::as_str));
                            self.error(
                                Diagnostic::error(
                                    "E0204",
                                    format!("\"{s}\" is not a valid `{param}` for `{action}`"),
                                )
                                .with_label(
                                    t.span,
                                    phrase(&close)
                                        .unwrap_or_else(|| "not one of the allowed values".into()),
                                )
                                .with_help(format!("`{param}` is one of {}", quote_all(values))),
                            );
                        }
                    }
                    (_, Ty::Str | Ty::Enum(_) | Ty::Error | Ty::Json) => {}
                    (_, other) => {
                        let other = other.clone();
                        self.mismatch(
                            &t,
                            &format!("`{param}` is one of {}, not {other}", quote_all(values)),
                            "write one of the values as a string",
                        )
                    }
                }
                t
            }
            other => {
                let t = self.expr(e);
                let want = Ty::of_type(param, other);
                if !self.assignable(&t.ty, &want) {
                    self.mismatch(
                        &t,
                        &format!("`{param}` of `{action}` takes {want}, not {}", t.ty),
                        "",
                    );
                }
                t
            }
        }
    }

    fn assignable(&self, have: &Ty, want: &Ty) -> bool {
        let have = have.base();
        matches!(have, Ty::Error | Ty::Json)
            || have == want
            || matches!(
                (have, want),
                (Ty::Enum(_), Ty::Str) | (Ty::Str, Ty::Enum(_))
            )
    }

    fn mismatch(&mut self, t: &TExpr, message: &str, help: &str) {
        if t.ty.is_error() {
            return;
        }
        let mut d = Diagnostic::error("E0305", message.to_string())
            .with_label(t.span, format!("this is {}", t.ty));
        if !help.is_empty() {
            d = d.with_help(help.to_string());
        }
        self.error(d);
    }

    fn expect_text(&mut self, t: &TExpr, what: &str) {
        if !matches!(
            t.ty.base(),
            Ty::Str | Ty::Enum(_) | Ty::Error | Ty::Json | Ty::Null
        ) {
            self.error(
                Diagnostic::error("E0305", format!("{what} must be a string, not {}", t.ty))
                    .with_label(t.span, format!("this is {}", t.ty))
                    .with_help(format!(
                        "Stripe stores metadata as text: write `\"{{{}}}\"` to store its text",
                        "…"
                    )),
            );
        }
    }

    fn warn_nullable(&mut self, t: &TExpr, why: &str) {
        if t.ty.is_nullable() {
            let guard = guard_text(t);
            self.error(
                Diagnostic::warning("W0102", format!("this may be null, but {why}"))
                    .with_label(t.span, format!("this is {}", t.ty))
                    .with_help(match guard {
                        Some(g) => format!("guard it: `if {g} != null {{ … }}`"),
                        None => "guard it with `if … != null { … }`".to_string(),
                    }),
            );
        }
    }

    // ------------------------------------------------------------- update / retrieve

    fn update(&mut self, target: &ast::Path, value: &ast::Expr, span: Span) -> Option<TStmt> {
        let value_t = self.expr(value);
        let first = target.segments.first()?;
        let (object, id, head, rest) = self.update_target(target)?;
        let first = &ast::Segment {
            name: head,
            span: first.span,
            quoted: false,
            index: None,
        };
        let Some(def) = self.env.lib.object(&object) else {
            self.error(
                Diagnostic::error("E0309", format!("`{object}` objects cannot be updated by flow yet"))
                    .with_label(first.span, "no schema for this object type")
                    .with_help("update metadata of a customer, payment_intent, charge, refund, dispute, invoice, subscription or payout"),
            );
            return None;
        };
        let Some(field_seg) = rest.first() else {
            self.error(
                Diagnostic::error("E0309", "say which field to update")
                    .with_label(target.span, "a whole object cannot be assigned")
                    .with_help(format!(
                        "write `update {}.metadata.KEY = \"value\"`",
                        first.name
                    )),
            );
            return None;
        };
        let updatable: Vec<&str> = def
            .fields
            .iter()
            .filter(|f| f.updatable)
            .map(|f| f.name.as_str())
            .collect();
        let Some(field) = def.field(&field_seg.name) else {
            let close = did_you_mean(&field_seg.name, def.fields.iter().map(|f| f.name.as_str()));
            self.error(
                Diagnostic::error(
                    "E0102",
                    format!("{object} has no field `{}`", field_seg.name),
                )
                .with_label(
                    field_seg.span,
                    phrase(&close).unwrap_or_else(|| "unknown field".into()),
                )
                .with_help(format!(
                    "fields that can be updated on a {object}: {}",
                    updatable.join(", ")
                )),
            );
            return None;
        };
        if !field.updatable {
            self.error(
                Diagnostic::error(
                    "E0309",
                    format!("`{}` of a {object} cannot be updated", field.name),
                )
                .with_label(field_seg.span, "Stripe does not allow changing this field")
                .with_help(format!(
                    "fields that can be updated on a {object}: {}",
                    updatable.join(", ")
                )),
            );
            return None;
        }
        let mut param_path = vec![field.name.clone()];
        match (&field.ty, rest.len()) {
            (FieldType::Metadata, 2) => {
                param_path.push(rest[1].name.clone());
                self.expect_text(&value_t, "a metadata value");
            }
            (FieldType::Metadata, _) => {
                self.error(
                    Diagnostic::error("E0309", "say which metadata key to set")
                        .with_label(target.span, "expected `….metadata.KEY`")
                        .with_help(format!(
                            "write `update {}.metadata.KEY = \"value\"`",
                            first.name
                        )),
                );
                return None;
            }
            (ty, 1) => {
                let want = Ty::of_field(&object, field);
                let _ = ty;
                if !(self.assignable(&value_t.ty, want.base())
                    || matches!(value_t.ty, Ty::Null if field.nullable))
                {
                    self.mismatch(
                        &value_t,
                        &format!(
                            "`{}` of a {object} is {want}, not {}",
                            field.name, value_t.ty
                        ),
                        "",
                    );
                }
            }
            (FieldType::Object(_) | FieldType::Json, _) => {
                self.error(
                    Diagnostic::error(
                        "E0309",
                        format!("`{}` cannot be updated field by field", field.name),
                    )
                    .with_label(target.span, "too deep")
                    .with_help(format!("update `{}.{}` as a whole", first.name, field.name)),
                );
                return None;
            }
            _ => {
                let ty = Ty::of_field(&object, field);
                self.error(
                    Diagnostic::error(
                        "E0308",
                        format!(
                            "`update` needs a reference to an object; `{}` is {ty}",
                            field_seg.name
                        ),
                    )
                    .with_label(field_seg.span, "not a reference")
                    .with_help(format!(
                        "update the object a reference field points to, e.g. `update customer.metadata.Tier = \"VIP\"`; {}",
                        self.ref_fields_hint()
                    )),
                );
                return None;
            }
        }
        Some(TStmt::Update {
            object,
            id,
            param_path,
            value: value_t,
            span,
        })
    }

    /// The object an `update` changes, its id, how to name it, and the path within it:
    /// the last point of the path that is a Stripe object (a reference such as
    /// `ch.customer`, or an object with an id such as a retrieved `ch`), else the
    /// event's own object (`update metadata.x = …`).
    fn update_target<'p>(
        &mut self,
        target: &'p ast::Path,
    ) -> Option<(String, TExpr, String, &'p [ast::Segment])> {
        let segs = &target.segments;
        let first = segs.first()?;
        let lib = self.env.lib;
        let is_resource = |o: &str| lib.object(o).is_some_and(|d| d.field("id").is_some());
        // The type at each point of the path: after `k` segments.
        let local_ty = self
            .lookup_local(&first.name)
            .map(|l| l.ty.clone())
            .or_else(|| {
                self.input_fields
                    .iter()
                    .find(|(n, _)| *n == first.name)
                    .map(|(_, t)| t.clone())
            });
        let own = self.object.clone().filter(|o| {
            local_ty.is_none()
                && first.name != "event"
                && lib
                    .object(o)
                    .is_some_and(|d| d.field(&first.name).is_some())
        });
        let (mut ty, start) = match (&local_ty, &own) {
            (Some(t), _) => (t.clone(), 1),
            (None, Some(o)) => (Ty::Object(o.clone()), 0),
            (None, None) => {
                // Not a name in scope nor a field of the event's object: say so as
                // any read would, or that the object has no schema.
                let head = ast::Path {
                    segments: vec![first.clone()],
                    span: first.span,
                };
                let head_t = self.path(&head, false);
                if !matches!(head_t.ty, Ty::Error) {
                    self.error(
                        Diagnostic::error("E0308", format!("`update` needs a reference to an object; `{}` is {}", first.name, head_t.ty))
                            .with_label(first.span, "not a reference")
                            .with_help(format!("update the object a reference field points to, e.g. `update customer.metadata.Tier = \"VIP\"`; {}", self.ref_fields_hint())),
                    );
                }
                return None;
            }
        };
        let mut cut: Option<(usize, String)> = None;
        let mut k = start;
        loop {
            match ty.base() {
                Ty::Ref(o) => cut = Some((k, o.clone())),
                Ty::Object(o) if is_resource(o) => cut = Some((k, o.clone())),
                _ => {}
            }
            let Some(seg) = segs.get(k) else { break };
            let next = match ty.base() {
                Ty::Ref(o) | Ty::Object(o) => lib
                    .object(o)
                    .and_then(|d| d.field(&seg.name))
                    .map(|f| Ty::of_field(o, f)),
                _ => None,
            };
            match next {
                Some(t) if k + 1 < segs.len() => {
                    ty = t;
                    k += 1;
                }
                _ => break,
            }
        }
        let Some((k, object)) = cut else {
            let shown = match &local_ty {
                Some(t) => t.to_string(),
                None => "not an object".into(),
            };
            self.error(
                Diagnostic::error("E0308", format!("`update` needs a reference to an object; `{}` is {shown}", first.name))
                    .with_label(first.span, "not a reference")
                    .with_help(format!("update the object a reference field points to, e.g. `update customer.metadata.Tier = \"VIP\"`; {}", self.ref_fields_hint())),
            );
            return None;
        };
        let id = if k == 0 {
            // The event's own object: its `id`.
            let root = object_root(Ty::Object(object.clone()), first.span);
            let id_seg = ast::Segment {
                name: "id".into(),
                span: first.span,
                quoted: false,
                index: None,
            };
            self.walk_fields(root, Root::Object, vec![], &[id_seg], String::new(), true)
        } else {
            let head = ast::Path {
                segments: segs[..k].to_vec(),
                span: first.span.to(segs[k - 1].span),
            };
            let head_t = self.path(&head, false);
            if matches!(head_t.ty, Ty::Error) {
                return None;
            }
            match head_t.ty.base() {
                Ty::Object(_) => {
                    let sp = head_t.span;
                    TExpr {
                        kind: TExprKind::IdOf(Box::new(head_t)),
                        ty: Ty::Ref(object.clone()),
                        span: sp,
                    }
                }
                _ => head_t,
            }
        };
        let head = if k == 0 {
            object.clone()
        } else {
            segs[..k]
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(".")
        };
        Some((object, id, head, &segs[k..]))
    }

    fn ref_fields_hint(&self) -> String {
        let refs: Vec<String> = self
            .object_def()
            .map(|d| {
                d.fields
                    .iter()
                    .filter(|f| matches!(f.ty, FieldType::Ref(_)))
                    .map(|f| format!("`{}`", f.name))
                    .collect()
            })
            .unwrap_or_default();
        if refs.is_empty() {
            "this event's object has no reference fields".into()
        } else {
            format!("references on this event: {}", refs.join(", "))
        }
    }

    fn object_def(&self) -> Option<&'s ObjectDef> {
        self.object.as_deref().and_then(|o| self.env.lib.object(o))
    }

    fn retrieve_target(&mut self, target: &ast::Path) -> Option<(String, TExpr)> {
        let t = self.path(target, false);
        match t.ty.base().clone() {
            Ty::Ref(o) => Some((o, t)),
            Ty::Object(o) => {
                let sp = t.span;
                Some((
                    o.clone(),
                    TExpr {
                        kind: TExprKind::IdOf(Box::new(t)),
                        ty: Ty::Ref(o),
                        span: sp,
                    },
                ))
            }
            Ty::Error => None,
            other => {
                self.error(
                    Diagnostic::error(
                        "E0310",
                        format!(
                            "`retrieve` needs a reference to an object; `{}` is {other}",
                            target.dotted()
                        ),
                    )
                    .with_label(target.span, "not a reference")
                    .with_help(self.ref_fields_hint()),
                );
                None
            }
        }
    }

    // ------------------------------------------------------------- expressions

    /// A condition: must be a bool.
    pub fn condition(&mut self, e: &ast::Expr, what: &str) -> TExpr {
        let t = self.expr(e);
        match t.ty.base() {
            Ty::Bool | Ty::Error | Ty::Json => {
                if t.ty.is_nullable() {
                    self.warn_nullable(&t, &format!("{what} needs true or false"));
                }
            }
            other => {
                let other = other.clone();
                let help = match &other {
                    Ty::Money => "compare it: `amount > 1000 USD`".to_string(),
                    Ty::Ref(_) | Ty::Str => format!("test it: `{} != null`", self_text(e)),
                    _ => "a condition is true or false: compare values with `==`, `<`, `in`, …"
                        .to_string(),
                };
                self.error(
                    Diagnostic::error(
                        "E0205",
                        format!("{what} must be true or false, not {other}"),
                    )
                    .with_label(t.span, format!("this is {other}"))
                    .with_help(help),
                );
            }
        }
        t
    }

    pub fn expr(&mut self, e: &ast::Expr) -> TExpr {
        let sp = e.span;
        let lit = |l: Lit, ty: Ty| TExpr {
            kind: TExprKind::Lit(l),
            ty,
            span: sp,
        };
        match &e.kind {
            ExprKind::Null => lit(Lit::Null, Ty::Null),
            ExprKind::Bool(b) => lit(Lit::Bool(*b), Ty::Bool),
            ExprKind::Number(n) => {
                if n.fract().is_zero() {
                    match i64::try_from(n.trunc()) {
                        Ok(i) => lit(Lit::Int(i), Ty::Int),
                        Err(_) => lit(Lit::Dec(*n), Ty::Decimal),
                    }
                } else {
                    lit(Lit::Dec(*n), Ty::Decimal)
                }
            }
            ExprKind::Currency(code) => match self.currency(code, sp) {
                Some(c) => lit(Lit::Currency(c), Ty::Currency),
                None => self.err_expr(sp),
            },
            ExprKind::Money { amount, currency } => {
                let Some(c) = self.currency(&currency.name, currency.span) else {
                    return self.err_expr(sp);
                };
                match self.money(*amount, c, sp) {
                    Some(m) => lit(Lit::Money(m), Ty::Money),
                    None => self.err_expr(sp),
                }
            }
            ExprKind::Str(parts) => {
                let mut out = Vec::new();
                for p in parts {
                    match p {
                        ast::StrPart::Text(t) => out.push(TPart::Text(t.clone())),
                        ast::StrPart::Expr(x) => {
                            let t = self.expr(x);
                            if matches!(t.ty.base(), Ty::Table) {
                                self.mismatch(&t, "a table cannot be written into text", "");
                            }
                            out.push(TPart::Expr(t))
                        }
                    }
                }
                match out.as_slice() {
                    [] => lit(Lit::Str(String::new()), Ty::Str),
                    [TPart::Text(t)] => lit(Lit::Str(t.clone()), Ty::Str),
                    _ => TExpr {
                        kind: TExprKind::Interp(out),
                        ty: Ty::Str,
                        span: sp,
                    },
                }
            }
            ExprKind::List(items) => {
                let items: Vec<TExpr> = items.iter().map(|i| self.expr(i)).collect();
                let elem = items
                    .iter()
                    .map(|i| i.ty.clone())
                    .find(|t| !t.is_error())
                    .unwrap_or(Ty::Error);
                for i in &items {
                    if !i.ty.is_error() && !elem.is_error() && !same_kind(&i.ty, &elem) {
                        self.error(
                            Diagnostic::error("E0201", format!("a list holds values of one type; this is {}, the first is {elem}", i.ty))
                                .with_label(i.span, format!("this is {}", i.ty))
                                .with_help("make every element the same kind of value"),
                        );
                    }
                }
                TExpr {
                    kind: TExprKind::List(items),
                    ty: Ty::List(Box::new(elem)),
                    span: sp,
                }
            }
            ExprKind::Map(entries) => {
                let rows = entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), self.expr(v)))
                    .collect();
                TExpr {
                    kind: TExprKind::Table(rows),
                    ty: Ty::Table,
                    span: sp,
                }
            }
            ExprKind::Not(inner) => {
                let t = self.condition(inner, "the operand of `not`");
                TExpr {
                    kind: TExprKind::Not(Box::new(t)),
                    ty: Ty::Bool,
                    span: sp,
                }
            }
            ExprKind::Stripe(c) => self.stripe_call(c, sp),
            ExprKind::Retrieve(path) => match self.retrieve_target(path) {
                Some((object, id)) => {
                    self.steps += 1;
                    TExpr {
                        kind: TExprKind::Retrieve {
                            object: object.clone(),
                            id: Box::new(id),
                        },
                        ty: Ty::Object(object),
                        span: sp,
                    }
                }
                None => self.err_expr(sp),
            },
            ExprKind::Path(p) => self.path(p, true),
            ExprKind::Binary {
                op,
                op_span,
                lhs,
                rhs,
            } if op.is_arithmetic() => self.arith(*op, *op_span, lhs, rhs, sp),
            ExprKind::Binary {
                op,
                op_span,
                lhs,
                rhs,
            } => self.binary(*op, *op_span, lhs, rhs, sp),
            ExprKind::Neg(inner) => self.neg(inner, sp),
            ExprKind::Time(t) => lit(Lit::Time(*t), Ty::Timestamp),
            ExprKind::Duration(d) => lit(Lit::Duration(*d), Ty::Duration),
            ExprKind::Call { name, args } => self.call(name, args, sp),
            ExprKind::Quant {
                all,
                var,
                list,
                cond,
            } => self.quant(*all, var, list, cond, sp),
        }
    }

    fn err_expr(&self, span: Span) -> TExpr {
        TExpr {
            kind: TExprKind::Lit(Lit::Null),
            ty: Ty::Error,
            span,
        }
    }

    fn currency(&mut self, code: &str, span: Span) -> Option<Currency> {
        match Currency::parse(code).filter(|c| c.is_known()) {
            Some(c) => Some(c),
            None => {
                let codes = self.env.lib.currency_codes();
                let names: Vec<&str> = codes.iter().map(|c| c.code()).collect();
                let close = did_you_mean(code, names.iter().copied());
                self.error(
                    Diagnostic::error(
                        "E0202",
                        format!("`{code}` is not a currency Stripe supports"),
                    )
                    .with_label(
                        span,
                        phrase(&close).unwrap_or_else(|| "unknown currency".into()),
                    )
                    .with_help(
                        "currencies are written as upper-case ISO 4217 codes: USD, EUR, JPY, …",
                    ),
                );
                None
            }
        }
    }

    fn money(&mut self, amount: Decimal, c: Currency, span: Span) -> Option<Money> {
        match Money::from_major(amount, c) {
            Ok(m) => Some(m),
            Err(MoneyError::TooPrecise { exponent }) => {
                let help = match exponent {
                    0 => format!(
                        "{c} has no minor unit: amounts are whole numbers, e.g. `{} {c}`",
                        amount.trunc()
                    ),
                    n => format!(
                        "{c} has {n} decimals: write e.g. `{} {c}`",
                        amount.round_dp(n)
                    ),
                };
                self.error(
                    Diagnostic::error(
                        "E0203",
                        format!("{amount} {c} is finer than the smallest unit of {c}"),
                    )
                    .with_label(span, format!("{c} amounts have {exponent} decimal places"))
                    .with_help(help),
                );
                None
            }
            Err(MoneyError::Overflow) => {
                self.error(
                    Diagnostic::error("E0004", "this amount is too large")
                        .with_label(span, "out of range")
                        .with_help("Stripe amounts fit in 8 digits of the minor unit"),
                );
                None
            }
        }
    }

    /// Resolve a field path. `read` is false for `update`/`retrieve` targets, where a
    /// reference is what is wanted.
    fn path(&mut self, p: &ast::Path, _read: bool) -> TExpr {
        let sp = p.span;
        let Some(first) = p.segments.first() else {
            return self.err_expr(sp);
        };
        let dotted_prefix = |n: usize| {
            let sub = ast::Path {
                segments: p.segments[..n].to_vec(),
                span: sp,
            };
            sub.dotted()
        };
        // 1. a `let` in scope
        if let Some(local) = self.lookup_local(&first.name) {
            local.used = true;
            let (slot, ty) = (local.slot, local.ty.clone());
            let mut t = TExpr {
                kind: TExprKind::Local(slot),
                ty,
                span: first.span,
            };
            if self.non_null.contains(&first.name) {
                t.ty = t.ty.base().clone();
            }
            return self.walk(
                t,
                Root::Local(slot),
                &p.segments[1..],
                first.name.clone(),
                &dotted_prefix,
            );
        }
        // 2. the event envelope
        if let (Some(kind), "event", false) = (self.no_event, first.name.as_str(), first.quoted) {
            self.error(
                Diagnostic::error("E0319", format!("a {kind} workflow has no event"))
                    .with_label(first.span, "there is no event here")
                    .with_help(if kind == "scheduled" {
                        "a scheduled run starts from its slot, not from an event: `now` is the slot's time; fetch what you need with `stripe.…` calls"
                    } else {
                        "an on-demand run starts from its input: use the inputs declared in `on demand (…)`"
                    }),
            );
            return self.err_expr(sp);
        }
        if first.name == "event" && !first.quoted {
            let rest = &p.segments[1..];
            if rest.len() >= 2 && rest[0].name == "data" && rest[1].name == "object" {
                let t = TExpr {
                    kind: TExprKind::Field(FieldRead {
                        root: Root::Object,
                        path: vec![],
                        conv: Conv::Object,
                        required: true,
                        display: "event.data.object".into(),
                    }),
                    ty: self.object.clone().map_or(Ty::Json, Ty::Object),
                    span: sp,
                };
                return self.walk_fields(
                    t,
                    Root::Object,
                    vec![],
                    &rest[2..],
                    "event.data.object".into(),
                    true,
                );
            }
            let t = TExpr {
                kind: TExprKind::Field(FieldRead {
                    root: Root::Event,
                    path: vec![],
                    conv: Conv::Object,
                    required: true,
                    display: "event".into(),
                }),
                ty: Ty::Object("event".into()),
                span: first.span,
            };
            return self.walk_fields(t, Root::Event, vec![], rest, "event".into(), true);
        }
        // 3. the time the run started (unless the object has a field of that name)
        if first.name == "now"
            && p.segments.len() == 1
            && !first.quoted
            && self.object_def().is_none_or(|d| d.field("now").is_none())
        {
            return TExpr {
                kind: TExprKind::Now,
                ty: Ty::Timestamp,
                span: sp,
            };
        }
        // 4. a field of data.object: an input, in a test of on-demand workflows
        if let Some((_, ty)) = self.input_fields.iter().find(|(n, _)| *n == first.name) {
            let ty = ty.clone();
            let conv = match ty.base() {
                Ty::Ref(_) => Conv::Ref,
                Ty::Str | Ty::Enum(_) => Conv::Str,
                Ty::Int => Conv::Int,
                Ty::Bool => Conv::Bool,
                Ty::Timestamp => Conv::Timestamp,
                Ty::Currency => Conv::Currency,
                _ => Conv::Json,
            };
            let ty = if conv == Conv::Json { Ty::Json } else { ty };
            let t = TExpr {
                kind: TExprKind::Field(FieldRead {
                    root: Root::Object,
                    path: vec![first.name.clone()],
                    conv,
                    required: !ty.is_nullable(),
                    display: first.name.clone(),
                }),
                ty,
                span: first.span,
            };
            return self.walk(
                t,
                Root::Object,
                &p.segments[1..],
                first.name.clone(),
                &dotted_prefix,
            );
        }
        let object_has = |cx: &Self, n: &str| match cx.object_def() {
            Some(d) => d.field(n).is_some(),
            None => cx.object.is_none() && cx.no_event.is_none(),
        };
        if object_has(self, &first.name) {
            let root_ty = self.object.clone().map_or(Ty::Json, Ty::Object);
            let t = object_root(root_ty, first.span);
            return self.walk_fields(t, Root::Object, vec![], &p.segments, String::new(), true);
        }
        // 5. business settings
        if first.name == "dispute_fee" && p.segments.len() == 1 {
            return TExpr {
                kind: TExprKind::Lit(Lit::Money(self.env.business.dispute_fee)),
                ty: Ty::Money,
                span: sp,
            };
        }
        // Unknown.
        let mut names: Vec<String> = self.local_names().into_iter().map(|(n, _)| n).collect();
        if let Some(d) = self.object_def() {
            names.extend(d.fields.iter().map(|f| f.name.clone()));
        }
        names.extend([
            "event".to_string(),
            "dispute_fee".to_string(),
            "now".to_string(),
        ]);
        let close = did_you_mean(&first.name, names.iter().map(String::as_str));
        if let Some(kind) = self.no_event {
            let mut d =
                Diagnostic::error("E0102", format!("`{}` is not a name in scope", first.name))
                    .with_label(
                        first.span,
                        phrase(&close).unwrap_or_else(|| "unknown name".into()),
                    );
            d = d.with_help(format!(
                "a {kind} workflow has no event whose fields could be read; names in scope are its `let` names{}, `now` and `dispute_fee`",
                if kind == "on-demand" { ", its inputs" } else { "" }
            ));
            self.error(d);
            return self.err_expr(sp);
        }
        let what = self.object.clone().unwrap_or_else(|| "the event".into());
        let mut d = Diagnostic::error(
            "E0102",
            format!(
                "`{}` is not a field of {what} or a name in scope",
                first.name
            ),
        )
        .with_label(
            first.span,
            phrase(&close).unwrap_or_else(|| "unknown name".into()),
        );
        if close.is_empty() {
            if let Some(def) = self.object_def() {
                let list: Vec<&str> = def.fields.iter().map(|f| f.name.as_str()).collect();
                d = d.with_help(format!("the fields of {what} are: {}", list.join(", ")));
            }
        } else {
            d = d.with_help(
                "names are case-sensitive; see `flow fields` for the event's fields and types",
            );
        }
        self.error(d);
        self.err_expr(sp)
    }

    /// Continue a path from a local value.
    fn walk(
        &mut self,
        t: TExpr,
        root: Root,
        rest: &[ast::Segment],
        display: String,
        _prefix: &dyn Fn(usize) -> String,
    ) -> TExpr {
        if rest.is_empty() {
            return t;
        }
        let required = !t.ty.is_nullable();
        self.walk_fields(t, root, vec![], rest, display, required)
    }

    /// Walk `.field` segments from a value of object type, building one field read.
    fn walk_fields(
        &mut self,
        start: TExpr,
        root: Root,
        mut path: Vec<String>,
        segs: &[ast::Segment],
        mut display: String,
        mut required: bool,
    ) -> TExpr {
        let mut ty = start.ty.clone();
        let mut span = start.span;
        let mut parent_object: Option<String> = None;
        if segs.is_empty() {
            return start;
        }
        if ty.is_nullable() {
            required = false;
        }
        for (i, seg) in segs.iter().enumerate() {
            span = span.to(seg.span);
            let owner = ty.base().clone();
            if seg.index.is_some() && !matches!(owner, Ty::List(_) | Ty::Json | Ty::Error) {
                let shown = if display.is_empty() {
                    "this".to_string()
                } else {
                    format!("`{display}`")
                };
                self.error(
                    Diagnostic::error("E0105", format!("{shown} is {owner}, not a list"))
                        .with_label(seg.span, "a position in a list")
                        .with_help("`[0]` takes an item of a list; a Stripe list object keeps its items in `.data`: `items.data[0]`"),
                );
                return self.err_expr(span);
            }
            let (next_ty, nullable) = match &owner {
                // Out of range reads as null.
                Ty::List(item) if seg.index.is_some() => ((**item).clone().nullable(), true),
                Ty::Object(o) => match self.env.lib.object(o) {
                    Some(def) => match def.field(&seg.name) {
                        Some(f) => {
                            parent_object = Some(o.clone());
                            (Ty::of_field(o, f), f.may_be_null())
                        }
                        None => {
                            let close =
                                did_you_mean(&seg.name, def.fields.iter().map(|f| f.name.as_str()));
                            let shown = if display.is_empty() {
                                o.clone()
                            } else {
                                format!("`{display}` ({o})")
                            };
                            let mut d = Diagnostic::error(
                                "E0102",
                                format!("{shown} has no field `{}`", seg.name),
                            )
                            .with_label(
                                seg.span,
                                phrase(&close).unwrap_or_else(|| "unknown field".into()),
                            );
                            if close.is_empty() {
                                let list: Vec<&str> =
                                    def.fields.iter().map(|f| f.name.as_str()).collect();
                                d = d.with_help(format!(
                                    "the fields of {o} are: {}",
                                    list.join(", ")
                                ));
                            }
                            self.error(d);
                            return self.err_expr(span);
                        }
                    },
                    None => (Ty::Json, true),
                },
                Ty::Metadata => (Ty::Str.nullable(), true),
                Ty::Json | Ty::Error => (Ty::Json, true),
                Ty::Ref(o) => {
                    if seg.name == "id" {
                        (owner.clone(), false)
                    } else {
                        let head = if display.is_empty() {
                            "x".to_string()
                        } else {
                            display.clone()
                        };
                        let var = short_name(o);
                        self.error(
                            Diagnostic::error("E0104", format!("`{head}` is the ID of a {o}, not the {o} itself"))
                                .with_label(seg.span, format!("`{}` is a field of the {o}, which is not loaded", seg.name))
                                .with_help(format!(
                                    "retrieve it first:\n    let {var} = retrieve {head}\n    … {var}.{} …",
                                    segs[i..].iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(".")
                                )),
                        );
                        return self.err_expr(span);
                    }
                }
                other => {
                    let shown = if display.is_empty() {
                        seg.name.clone()
                    } else {
                        display.clone()
                    };
                    self.error(
                        Diagnostic::error(
                            "E0105",
                            format!("`{shown}` is {other}, which has no fields"),
                        )
                        .with_label(seg.span, "no such field")
                        .with_help("only objects, metadata and JSON have fields"),
                    );
                    return self.err_expr(span);
                }
            };
            if !(owner == Ty::Ref(String::new()) || matches!(owner, Ty::Ref(_)) && seg.name == "id")
            {
                path.push(seg.name.clone());
            }
            if let Some(n) = seg.index {
                display.push_str(&format!("[{n}]"));
            } else if seg.quoted {
                display.push_str(&format!("[{:?}]", seg.name));
            } else {
                if !display.is_empty() {
                    display.push('.');
                }
                display.push_str(&seg.name);
            }
            if nullable {
                required = false;
            }
            ty = if self.non_null.contains(&display) {
                next_ty.base().clone()
            } else {
                next_ty
            };
        }
        let conv = conv_of(
            self.env.lib,
            &ty,
            parent_object.as_deref(),
            path.last().map(String::as_str),
            &path,
        );
        // A narrowed (`!= null`) path is still read leniently: the narrowing is a
        // checker fact, the read stays safe.
        TExpr {
            kind: TExprKind::Field(FieldRead {
                root,
                path,
                conv,
                required: required && !ty.is_nullable(),
                display,
            }),
            ty,
            span,
        }
    }

    fn binary(
        &mut self,
        op: BinOp,
        op_span: Span,
        lhs: &ast::Expr,
        rhs: &ast::Expr,
        sp: Span,
    ) -> TExpr {
        match op {
            BinOp::And | BinOp::Or => {
                let l = self.condition(lhs, &format!("the left side of `{}`", op.symbol()));
                let n = self.non_null.len();
                if op == BinOp::And {
                    self.non_null.extend(non_null_facts(lhs));
                } else {
                    self.non_null.extend(null_facts(lhs));
                }
                let r = self.condition(rhs, &format!("the right side of `{}`", op.symbol()));
                self.non_null.truncate(n);
                let kind = if op == BinOp::And {
                    TExprKind::And(Box::new(l), Box::new(r))
                } else {
                    TExprKind::Or(Box::new(l), Box::new(r))
                };
                TExpr {
                    kind,
                    ty: Ty::Bool,
                    span: sp,
                }
            }
            BinOp::In => {
                let needle = self.expr(lhs);
                let list = match &rhs.kind {
                    ExprKind::List(items) => {
                        let items: Vec<TExpr> = items
                            .iter()
                            .map(|i| {
                                let it = self.expr(i);
                                self.coerce_pair(&needle, it, BinOp::Eq, op_span).1
                            })
                            .collect();
                        TExpr {
                            kind: TExprKind::List(items),
                            ty: Ty::List(Box::new(needle.ty.base().clone())),
                            span: rhs.span,
                        }
                    }
                    _ => {
                        let l = self.expr(rhs);
                        match l.ty.base() {
                            Ty::List(_) | Ty::Json | Ty::Error => {}
                            other => {
                                let other = other.clone();
                                self.error(
                                    Diagnostic::error(
                                        "E0201",
                                        format!("`in` needs a list on its right, not {other}"),
                                    )
                                    .with_label(l.span, format!("this is {other}"))
                                    .with_help(
                                        "write the values as a list: `currency in [USD, EUR]`",
                                    ),
                                );
                            }
                        }
                        l
                    }
                };
                TExpr {
                    kind: TExprKind::In {
                        needle: Box::new(needle),
                        list: Box::new(list),
                    },
                    ty: Ty::Bool,
                    span: sp,
                }
            }
            _ => {
                let cmp = match op {
                    BinOp::Eq => CmpOp::Eq,
                    BinOp::Ne => CmpOp::Ne,
                    BinOp::Lt => CmpOp::Lt,
                    BinOp::Le => CmpOp::Le,
                    BinOp::Gt => CmpOp::Gt,
                    _ => CmpOp::Ge,
                };
                let l = self.expr(lhs);
                let r = self.expr(rhs);
                let (l, r) = if matches!(l.kind, TExprKind::Lit(_))
                    && !matches!(r.kind, TExprKind::Lit(_))
                {
                    let (r2, l2) = self.coerce_pair(&r, l, op, op_span);
                    let _ = r2;
                    (l2, r)
                } else {
                    self.coerce_pair(&l, r, op, op_span)
                };
                if op.is_ordering() {
                    for side in [&l, &r] {
                        if side.ty.is_nullable() && !matches!(side.ty, Ty::Null) {
                            self.warn_nullable(
                                side,
                                &format!("`{}` needs a value on both sides", op.symbol()),
                            );
                        }
                    }
                }
                TExpr {
                    kind: TExprKind::Compare {
                        op: cmp,
                        lhs: Box::new(l),
                        rhs: Box::new(r),
                    },
                    ty: Ty::Bool,
                    span: sp,
                }
            }
        }
    }

    /// Make `other` comparable with `anchor` (converting literals where the language
    /// says so), reporting what cannot be compared. Returns `(anchor, other)`.
    fn coerce_pair(
        &mut self,
        anchor: &TExpr,
        other: TExpr,
        op: BinOp,
        op_span: Span,
    ) -> (TExpr, TExpr) {
        let a = anchor.ty.base().clone();
        let b = other.ty.base().clone();
        let ordering = op.is_ordering();
        let mut other = other;
        let ok = match (&a, &b) {
            (Ty::Error, _) | (_, Ty::Error) | (Ty::Json, _) | (_, Ty::Json) => true,
            (_, Ty::Null) | (Ty::Null, _) => {
                if ordering {
                    self.error(
                        Diagnostic::error(
                            "E0206",
                            format!("`{}` cannot compare with null", op.symbol()),
                        )
                        .with_label(op_span, "null has no order")
                        .with_help("test for null with `== null` or `!= null`"),
                    );
                }
                true
            }
            (Ty::Money, Ty::Money) => true,
            (Ty::Money, Ty::Int | Ty::Decimal) => {
                // A bare number compared with money is in the default currency.
                if let TExprKind::Lit(Lit::Int(_) | Lit::Dec(_)) = &other.kind {
                    let n = match &other.kind {
                        TExprKind::Lit(Lit::Int(i)) => Decimal::from(*i),
                        TExprKind::Lit(Lit::Dec(d)) => *d,
                        _ => Decimal::ZERO,
                    };
                    if let Some(m) = self.money(n, self.env.business.default_currency, other.span) {
                        other = TExpr {
                            kind: TExprKind::Lit(Lit::Money(m)),
                            ty: Ty::Money,
                            span: other.span,
                        };
                    }
                    true
                } else {
                    self.error(
                        Diagnostic::error("E0201", format!("cannot compare money with {b}"))
                            .with_label(other.span, format!("this is {b}, not money"))
                            .with_help("money compares with money: write the amount with its currency, e.g. `1000 USD`"),
                    );
                    true
                }
            }
            (Ty::Money, Ty::Str) | (Ty::Str, Ty::Money) => {
                let text = match &other.kind {
                    TExprKind::Lit(Lit::Str(s)) => Some(s.clone()),
                    _ => None,
                };
                let help = text
                    .as_deref()
                    .and_then(|s| suggest_money(s, self.env.business.default_currency))
                    .map(|m| format!("write the amount as money: `{m}`"))
                    .unwrap_or_else(|| "write the amount as money, e.g. `1000 USD`: a number and an upper-case currency code".into());
                self.error(
                    Diagnostic::error("E0207", "cannot compare money with a string")
                        .with_label(other.span, "this is a string")
                        .with_help(help),
                );
                true
            }
            (Ty::Currency, Ty::Currency) => !ordering || self.no_order(&a, op_span),
            (Ty::Currency, Ty::Str) | (Ty::Str, Ty::Currency) => {
                let lit = match &other.kind {
                    TExprKind::Lit(Lit::Str(s)) => Some(s.to_ascii_uppercase()),
                    _ => None,
                };
                if lit.is_some() || matches!(anchor.kind, TExprKind::Lit(_)) {
                    let code = lit.unwrap_or_else(|| "USD".into());
                    self.error(
                        Diagnostic::error(
                            "E0207",
                            "a currency is compared with a currency code, not a string",
                        )
                        .with_label(other.span, "this is a string")
                        .with_help(format!(
                            "write the code without quotes, in upper case: `{code}`"
                        )),
                    );
                }
                true
            }
            (Ty::Int, Ty::Int) | (Ty::Int | Ty::Decimal, Ty::Decimal) | (Ty::Decimal, Ty::Int) => {
                true
            }
            (Ty::Timestamp, Ty::Timestamp)
            | (Ty::Timestamp, Ty::Int)
            | (Ty::Int, Ty::Timestamp)
            | (Ty::Duration, Ty::Duration) => true,
            (Ty::List(_), Ty::List(_)) => !ordering || self.no_order(&a, op_span),
            (Ty::Str, Ty::Str) => !ordering || self.no_order(&a, op_span),
            (Ty::Bool, Ty::Bool) => !ordering || self.no_order(&a, op_span),
            (Ty::Enum(e), Ty::Str) | (Ty::Str, Ty::Enum(e)) => {
                if let TExprKind::Lit(Lit::Str(s)) = &other.kind {
                    self.enum_value(e, s, other.span);
                } else if let TExprKind::Lit(Lit::Str(s)) = &anchor.kind {
                    self.enum_value(e, s, anchor.span);
                }
                !ordering || self.no_order(&a, op_span)
            }
            (Ty::Enum(_), Ty::Enum(_)) => !ordering || self.no_order(&a, op_span),
            (Ty::Ref(_), Ty::Str) | (Ty::Str, Ty::Ref(_)) => {
                !ordering || self.no_order(&a, op_span)
            }
            (Ty::Ref(x), Ty::Ref(y)) => {
                if x != y {
                    self.error(
                        Diagnostic::warning("W0104", format!("a {x} ID never equals a {y} ID"))
                            .with_label(op_span, "always false")
                            .with_help("compare references to the same kind of object"),
                    );
                }
                !ordering || self.no_order(&a, op_span)
            }
            (Ty::Ref(r), Ty::Object(o)) | (Ty::Object(o), Ty::Ref(r)) if r == o => {
                if matches!(b, Ty::Object(_)) {
                    let sp = other.span;
                    other = TExpr {
                        kind: TExprKind::IdOf(Box::new(other)),
                        ty: Ty::Ref(o.clone()),
                        span: sp,
                    };
                }
                !ordering || self.no_order(&a, op_span)
            }
            _ => false,
        };
        if !ok {
            // no_order already reported; anything else is a plain mismatch
        }
        let compatible = ok
            || matches!(
                (&a, &b),
                (Ty::Currency, Ty::Currency)
                    | (Ty::Str, Ty::Str)
                    | (Ty::Bool, Ty::Bool)
                    | (Ty::Enum(_), _)
                    | (_, Ty::Enum(_))
                    | (Ty::Ref(_), _)
            );
        if !compatible {
            let help = match (&a, &b) {
                (Ty::Int, Ty::Money) | (Ty::Money, Ty::Int) => {
                    "write the amount with its currency, e.g. `1000 USD`".to_string()
                }
                (Ty::Currency, _) | (_, Ty::Currency) => {
                    "compare a currency with a code such as `USD`".to_string()
                }
                _ => format!(
                    "both sides of `{}` must be the same kind of value",
                    op.symbol()
                ),
            };
            self.error(
                Diagnostic::error("E0201", format!("cannot compare {a} with {b}"))
                    .with_label(other.span, format!("this is {b}"))
                    .with_secondary(anchor.span, format!("this is {a}"))
                    .with_help(help),
            );
            other.ty = Ty::Error;
        }
        (anchor.clone(), other)
    }

    fn no_order(&mut self, t: &Ty, op_span: Span) -> bool {
        self.error(
            Diagnostic::error("E0206", format!("{t} values have no order"))
                .with_label(
                    op_span,
                    "`<`, `<=`, `>` and `>=` compare numbers, money and times",
                )
                .with_help("use `==`, `!=` or `in` instead"),
        );
        true
    }

    fn enum_value(&mut self, e: &EnumTy, s: &str, span: Span) {
        if e.values.iter().any(|v| v == s) {
            return;
        }
        let close = did_you_mean(s, e.values.iter().map(String::as_str));
        let label = phrase(&close).unwrap_or_else(|| "not a known value".into());
        let mut help = format!("`{}` is one of {}", e.origin, quote_all(&e.values));
        if let (true, Some((object, _))) =
            (e.values.len() > SHOWN_VALUES, e.origin.rsplit_once('.'))
        {
            help.push_str(&format!("; `flow fields {object}` lists them all"));
        }
        if e.open {
            self.error(
                Diagnostic::warning(
                    "W0101",
                    format!("\"{s}\" is not a value Stripe documents for `{}`", e.origin),
                )
                .with_label(span, label)
                .with_help(help),
            );
        } else {
            self.error(
                Diagnostic::error(
                    "E0204",
                    format!("\"{s}\" is never a value of `{}`", e.origin),
                )
                .with_label(span, label)
                .with_help(help),
            );
        }
    }
}

/// The custom actions a file declares, each checked (E0312): a name of its own, an
/// `http(s)://` address with a host, parameters of known types, each named once.
fn custom_actions(
    decls: &[ast::ActionDecl],
    lib: &Stdlib,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<CustomAction> {
    let mut out: Vec<CustomAction> = Vec::new();
    let mut taken: HashMap<String, Span> = HashMap::new();
    for d in decls {
        let bad = |label: Span, message: String, note: &str, help: &str| {
            Diagnostic::error("E0312", message)
                .with_label(label, note.to_string())
                .with_help(help.to_string())
        };
        if lib.action(&d.name.name).is_some()
            || d.name.name == "update"
            || d.name.name == "retrieve"
        {
            diagnostics.push(bad(
                d.name.span,
                format!("`{}` is a built-in action", d.name.name),
                "this name is taken",
                "give the custom action a name of its own, such as `crm_note`",
            ));
            continue;
        }
        if let Some(first) = taken.get(&d.name.name) {
            diagnostics.push(
                bad(
                    d.name.span,
                    format!("the action `{}` is declared twice", d.name.name),
                    "declared again here",
                    "declare each action once",
                )
                .with_secondary(*first, "first declared here"),
            );
            continue;
        }
        taken.insert(d.name.name.clone(), d.name.span);
        let mut ok = true;
        if !url_has_host(&d.url) {
            diagnostics.push(bad(
                d.url_span,
                format!("`{}` is not an address such as \"https://crm.example.com/notes\"", d.url),
                "expected https://HOST/PATH",
                "a custom action posts to an https:// address (plain http only to hosts allowed under [http] in flow.toml)",
            ));
            ok = false;
        }
        let mut params: Vec<flow_stdlib::ParamDef> = Vec::new();
        for p in &d.params {
            if params.iter().any(|q| q.name == p.name.name) {
                diagnostics.push(bad(
                    p.name.span,
                    format!("the parameter `{}` is declared twice", p.name.name),
                    "declared again here",
                    "declare each parameter once",
                ));
                ok = false;
                continue;
            }
            let text = p.ty.strip_suffix('?').unwrap_or(&p.ty);
            // Types nest a few levels (`list(ref(charge))`); the parser of types
            // recurses, and no input may exhaust the stack.
            let parsed = if text.matches('(').count() > 8 {
                Err("this type is nested too deeply".to_string())
            } else {
                flow_stdlib::schema::parse_type(text)
            };
            match parsed {
                Ok((ty, _)) => params.push(flow_stdlib::ParamDef {
                    name: p.name.name.clone(),
                    ty,
                    optional: p.ty.ends_with('?'),
                    doc: format!("a {text}"),
                }),
                Err(e) => {
                    const TYPES: &[&str] = &[
                        "string",
                        "integer",
                        "decimal",
                        "bool",
                        "timestamp",
                        "currency",
                        "money",
                        "json",
                        "metadata",
                        "table",
                        "addresses",
                    ];
                    let close = did_you_mean(text, TYPES.iter().copied());
                    let note = phrase(&close).unwrap_or_else(|| "not a type".into());
                    diagnostics.push(bad(
                        p.ty_span,
                        format!("`{}`: {e}", p.name.name),
                        &note,
                        "the types are string, integer, decimal, bool, timestamp, currency, money, json, metadata, table, ref(OBJECT), enum(a|b), list(TYPE); a trailing `?` makes a parameter optional",
                    ));
                    ok = false;
                }
            }
        }
        if ok {
            out.push(CustomAction {
                def: flow_stdlib::ActionDef {
                    name: d.name.name.clone(),
                    summary: format!("POST to {}", d.url),
                    params,
                },
                url: d.url.clone(),
            });
        }
    }
    out
}

/// `http(s)://HOST…` with a host and no user or password.
fn url_has_host(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    !authority.is_empty() && !authority.contains('@') && !authority.starts_with(':')
}

/// E0301: `name` is not in the action catalogue. `also` are other words that could
/// have been meant there; `help` says what may stand there, `{actions}` standing for
/// the list of actions.
pub(crate) fn unknown_action(
    lib: &Stdlib,
    name: &ast::Ident,
    also: &[&str],
    help: &str,
) -> Diagnostic {
    let mut names: Vec<&str> = lib.actions.iter().map(|a| a.name.as_str()).collect();
    names.extend(also);
    let close = did_you_mean(&name.name, names.iter().copied());
    let all: Vec<String> = lib
        .actions
        .iter()
        .map(|a| format!("`{}`", a.name))
        .collect();
    Diagnostic::error("E0301", format!("unknown action `{}`", name.name))
        .with_label(
            name.span,
            phrase(&close).unwrap_or_else(|| "not an action".into()),
        )
        .with_help(help.replace("{actions}", &all.join(", ")))
}

fn same_kind(a: &Ty, b: &Ty) -> bool {
    let (a, b) = (a.base(), b.base());
    matches!(
        (a, b),
        (Ty::Int | Ty::Decimal, Ty::Int | Ty::Decimal)
            | (Ty::Str | Ty::Enum(_), Ty::Str | Ty::Enum(_))
            | (Ty::Null, _)
            | (_, Ty::Null)
            | (Ty::Json, _)
            | (_, Ty::Json)
    ) || std::mem::discriminant(a) == std::mem::discriminant(b)
}

fn conv_of(
    lib: &Stdlib,
    ty: &Ty,
    parent: Option<&str>,
    field: Option<&str>,
    path: &[String],
) -> Conv {
    match ty.base() {
        Ty::Str | Ty::Enum(_) => Conv::Str,
        Ty::Int => Conv::Int,
        Ty::Decimal => Conv::Decimal,
        Ty::Bool => Conv::Bool,
        Ty::Timestamp => Conv::Timestamp,
        Ty::Currency => Conv::Currency,
        Ty::Money => {
            let currency_field = parent
                .and_then(|o| lib.object(o))
                .and_then(|d| field.and_then(|f| d.field(f)))
                .and_then(|f| match &f.ty {
                    FieldType::Money { currency_field } => Some(currency_field.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| "currency".into());
            let mut currency_path = path[..path.len().saturating_sub(1)].to_vec();
            currency_path.push(currency_field);
            Conv::Money { currency_path }
        }
        Ty::Ref(_) => Conv::Ref,
        Ty::Metadata => Conv::Metadata,
        Ty::Object(_) => Conv::Object,
        Ty::List(inner) => Conv::List(Box::new(conv_of(lib, inner, None, None, &[]))),
        _ => Conv::Json,
    }
}

/// Paths that a condition proves non-null when it is true: `x != null`, and the
/// parts of an `and`.
fn non_null_facts(e: &ast::Expr) -> Vec<String> {
    non_null_when(e, true)
}

/// Paths that a condition proves non-null when it is false: `x == null`, and the
/// parts of an `or`.
fn null_facts(e: &ast::Expr) -> Vec<String> {
    non_null_when(e, false)
}

/// Paths proven non-null when `e` evaluates to `outcome`.
fn non_null_when(e: &ast::Expr, outcome: bool) -> Vec<String> {
    let (test, joins) = if outcome {
        (BinOp::Ne, BinOp::And)
    } else {
        (BinOp::Eq, BinOp::Or)
    };
    match &e.kind {
        ExprKind::Binary { op, lhs, rhs, .. } if *op == test => null_test(lhs, rhs),
        ExprKind::Binary { op, lhs, rhs, .. } if *op == joins => {
            let mut v = non_null_when(lhs, outcome);
            v.extend(non_null_when(rhs, outcome));
            v
        }
        ExprKind::Not(inner) => non_null_when(inner, !outcome),
        _ => Vec::new(),
    }
}

fn null_test(lhs: &ast::Expr, rhs: &ast::Expr) -> Vec<String> {
    match (&lhs.kind, &rhs.kind) {
        (ExprKind::Path(p), ExprKind::Null) | (ExprKind::Null, ExprKind::Path(p)) => {
            vec![p.dotted()]
        }
        _ => Vec::new(),
    }
}

fn guard_text(t: &TExpr) -> Option<String> {
    match &t.kind {
        TExprKind::Field(f) if !f.display.is_empty() => Some(f.display.clone()),
        _ => None,
    }
}

fn self_text(e: &ast::Expr) -> String {
    match &e.kind {
        ExprKind::Path(p) => p.dotted(),
        _ => "…".into(),
    }
}

fn short_name(object: &str) -> String {
    match object {
        "customer" => "c".into(),
        "charge" => "ch".into(),
        "payment_intent" => "pi".into(),
        other => other
            .rsplit('.')
            .next()
            .unwrap_or(other)
            .chars()
            .take(3)
            .collect(),
    }
}

/// The values of an enum, quoted; a long list (Stripe's error codes run to hundreds)
/// is cut after the first [`SHOWN_VALUES`].
fn quote_all(values: &[String]) -> String {
    let shown = values
        .iter()
        .take(SHOWN_VALUES)
        .map(|v| format!("\"{v}\""))
        .collect::<Vec<_>>()
        .join(", ");
    match values.len().checked_sub(SHOWN_VALUES) {
        Some(more) if more > 0 => format!("{shown} and {more} more"),
        _ => shown,
    }
}

const SHOWN_VALUES: usize = 20;

fn number_text(t: &TExpr) -> Option<String> {
    match &t.kind {
        TExprKind::Lit(Lit::Int(i)) => Some(i.to_string()),
        TExprKind::Lit(Lit::Dec(d)) => Some(d.to_string()),
        _ => None,
    }
}

/// "1000 USD", "$1,000", "1000.00" → a money literal to suggest.
fn suggest_money(s: &str, default: Currency) -> Option<String> {
    let cleaned: String = s
        .chars()
        .filter(|c| !matches!(c, ',' | '$' | '€' | '£' | '¥'))
        .collect();
    let mut words = cleaned.split_whitespace();
    let n = words.next()?;
    let d: Decimal = n.parse().ok()?;
    let c = words
        .next()
        .and_then(Currency::parse)
        .filter(|c| c.is_known())
        .unwrap_or(default);
    Some(format!("{d} {c}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flow_syntax::{parse, SourceFile};

    fn check(text: &str) -> (Checked, Vec<Diagnostic>) {
        let src = SourceFile::new("t.flow", text);
        let p = parse(&src);
        assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
        check_file(&p.file, src, &Env::new(flow_stdlib::builtin()), "t")
    }

    fn codes(text: &str) -> Vec<&'static str> {
        check(text).1.iter().map(|d| d.code).collect()
    }

    /// The checker knows only the environment it is given: here a standard library
    /// of one event and one object, nothing of Stripe's.
    #[test]
    fn checks_against_the_environment_it_is_given() {
        let lib = flow_stdlib::from_files(&[
            ("events.txt", "widget.created widget\n"),
            (
                "schemas/widget.schema",
                "object widget\n  id string\n  object enum(widget)\n  size integer\n  label string?\n",
            ),
            ("currencies.txt", "USD 2\n"),
        ])
        .expect("a small standard library loads");
        let env = Env::new(&lib);
        let run = |text: &str| {
            let src = SourceFile::new("t.flow", text);
            let p = parse(&src);
            assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
            let (_, diags) = check_file(&p.file, src, &env, "t");
            diags
        };
        let ok = run("on widget.created when size > 3 and label != null {\n}\n");
        assert!(ok.is_empty(), "{ok:?}");
        let typo = run("on widget.created when sise > 3 {\n}\n");
        assert_eq!(
            typo.iter().map(|d| d.code).collect::<Vec<_>>(),
            ["E0102"],
            "{typo:?}"
        );
        let label = typo[0]
            .labels
            .iter()
            .map(|l| l.message.as_str())
            .collect::<Vec<_>>();
        assert!(
            label.iter().any(|l| l.contains("size")),
            "did you mean `size`: {label:?}"
        );
        let stripe = run("on payment_intent.succeeded {\n}\n");
        assert!(
            stripe.iter().any(|d| d.code == "E0101"),
            "Stripe's events are not in this environment: {stripe:?}"
        );
    }

    fn when_type(text: &str) -> Ty {
        let (c, d) = check(text);
        assert!(d.iter().all(|d| !d.is_error()), "{d:?}");
        match &c.workflows[0].when.as_ref().unwrap().kind {
            TExprKind::Compare { lhs, .. } => lhs.ty.clone(),
            _ => panic!("a comparison"),
        }
    }

    #[test]
    fn field_types_come_from_the_schema() {
        let t = |cond: &str| {
            when_type(&format!(
                "on payment_intent.succeeded when {cond} {{ retrieve customer }}"
            ))
        };
        assert_eq!(t("amount > 1 USD").to_string(), "money");
        assert_eq!(t("customer == \"cus_1\"").to_string(), "ref<customer>?");
        assert_eq!(t("currency == USD").to_string(), "currency");
        assert_eq!(t("metadata.order_id == \"1\"").to_string(), "string?");
        assert_eq!(t("created > 0").to_string(), "timestamp");
        assert_eq!(t("event.livemode == true").to_string(), "bool");
    }

    #[test]
    fn bare_numbers_compared_with_money_take_the_default_currency() {
        let (c, _) = check("on payment_intent.succeeded when amount > 1000 { retrieve customer }");
        let TExprKind::Compare { rhs, .. } = &c.workflows[0].when.as_ref().unwrap().kind else {
            panic!()
        };
        assert!(
            matches!(&rhs.kind, TExprKind::Lit(Lit::Money(m)) if m.minor == 100_000 && m.currency.code() == "USD")
        );
    }

    #[test]
    fn null_guards_narrow() {
        assert_eq!(
            codes("on charge.succeeded when application_fee_amount > 1 USD { retrieve customer }"),
            ["W0102"]
        );
        assert!(codes("on charge.succeeded when application_fee_amount != null and application_fee_amount > 1 USD { retrieve customer }").is_empty());
        assert!(codes("on charge.succeeded { if application_fee_amount == null { retrieve customer } else if application_fee_amount > 1 USD { retrieve customer } }").is_empty());
        // Outside the guarded block the field is nullable again.
        assert_eq!(
            codes("on charge.succeeded { if application_fee_amount != null { retrieve customer }\n if application_fee_amount > 1 USD { retrieve customer } }"),
            ["W0102"]
        );
    }

    #[test]
    fn objects_pass_their_id_where_a_reference_is_expected() {
        let (c, d) = check(
            "on radar.early_fraud_warning.created { let ch = retrieve charge\n refund charge: ch }",
        );
        assert!(d.is_empty(), "{d:?}");
        let TStmt::Refund { params, .. } = &c.workflows[0].body[1] else {
            panic!()
        };
        assert_eq!(params[0].1.ty.to_string(), "charge");
        assert_eq!(codes("on radar.early_fraud_warning.created { let c = retrieve payment_intent\n refund charge: c }"), ["E0305"]);
    }

    #[test]
    fn lets_are_scoped_to_their_block() {
        assert_eq!(
            codes("on radar.early_fraud_warning.created { if true { let ch = retrieve charge\n retrieve ch }\n retrieve ch }"),
            ["E0102"]
        );
    }

    #[test]
    fn a_long_list_of_values_is_cut_in_the_help() {
        let (_, d) =
            check("on invoice.overdue when last_finalization_error.code == \"some_new_code\" { }");
        assert_eq!(d.iter().map(|d| d.code).collect::<Vec<_>>(), ["W0101"]);
        let help = d[0].help.as_deref().unwrap_or("");
        assert!(
            help.ends_with(" more; `flow fields invoice.last_finalization_error` lists them all"),
            "{help}"
        );
        assert_eq!(help.matches('"').count(), 2 * SHOWN_VALUES, "{help}");
    }

    #[test]
    fn a_loops_body_counts_once_in_the_steps_and_says_so() {
        let body = "email to: \"a@example.com\", body: \"x\"\n".repeat(50);
        let text = format!("on invoice.overdue {{\nfor n in [1, 2, 3] {{\n{body}}}\n}}\n");
        let (_, d) = check(&text);
        let w: Vec<&Diagnostic> = d.iter().filter(|d| d.code == "W0106").collect();
        assert_eq!(w.len(), 1, "{d:?}");
        assert!(
            w[0].message
                .contains("51 steps (a loop's body counted once)"),
            "{}",
            w[0].message
        );
        let short = "email to: \"a@example.com\", body: \"x\"\n".repeat(48);
        let (_, d) = check(&format!(
            "on invoice.overdue {{\nfor n in [1, 2, 3] {{\n{short}}}\n}}\n"
        ));
        assert!(d.iter().all(|d| d.code != "W0106"), "49 steps: {d:?}");
    }

    #[test]
    fn every_event_is_typed() {
        let (c, d) = check(
            "on product.created when active == true { email to: \"a@b.co\", body: \"{name}\" }",
        );
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(c.workflows[0].object.as_deref(), Some("product"));
        assert_eq!(
            codes("on price.updated when nicknmae == null { }"),
            ["E0102"],
            "field names are checked on every event"
        );
    }
}
