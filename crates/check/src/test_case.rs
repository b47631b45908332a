//! Checking `test` items: the given event against its object's schema, the given
//! objects against theirs, and each `expect` against the action catalogue, with
//! values typed as in a workflow.
//!
//! A test is checked on its own: it needs the event type and the catalogue, not the
//! workflows it will run (those may live in another file, `NAME.flow` beside
//! `NAME.test.flow`).

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value as Json};

use super::tree::{Lit, TExpr, TExprKind, TStmt};
use super::{did_you_mean, phrase, Checker, Env, Ty};
use flow_stdlib::money::Currency;
use flow_stdlib::{FieldDef, FieldType};
use flow_syntax::ast::{self, ExprKind, StrPart};
use flow_syntax::Diagnostic;
use flow_syntax::{SourceFile, Span};

/// The id of the event envelope built around a partial object.
pub const TEST_EVENT_ID: &str = "evt_test";

/// A checked test.
#[derive(Clone, Debug)]
pub struct TTest {
    pub name: String,
    pub name_span: Span,
    pub span: Span,
    /// `None` when the `given` is missing or has errors (the test cannot run).
    pub given: Option<TGiven>,
    /// `answer stripe.RESOURCE.METHOD with …`: the method (`credit_notes.create`) and
    /// what it answers (an object, or an array of the items of a list or a search).
    pub answers: Vec<(String, Json)>,
    pub expects: Vec<TExpect>,
}

/// The event a test runs the workflows on.
#[derive(Clone, Debug)]
pub struct TGiven {
    pub event_type: String,
    /// A whole Stripe event (the envelope, with `data.object` inside).
    pub event: Json,
    /// Built from a partial object: a key the object does not set must not be read.
    pub strict: bool,
    /// The objects `retrieve` finds, by `id`.
    pub objects: Vec<Json>,
    /// The partial object, or the event file's name.
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpectedStatus {
    Succeeded,
    Failed,
    Skipped,
}

impl ExpectedStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ExpectedStatus::Succeeded => "succeeded",
            ExpectedStatus::Failed => "failed",
            ExpectedStatus::Skipped => "skipped",
        }
    }
}

#[derive(Clone, Debug)]
pub struct TExpect {
    pub kind: TExpectKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum TExpectKind {
    /// `expect failed "…"`: the message must be part of the run's error.
    Status {
        status: ExpectedStatus,
        message: Option<String>,
    },
    /// `expect no email`; `None` is `expect no actions` (no email, update or refund).
    No { kind: Option<&'static str> },
    /// At least one action matches.
    Action(TExpectedAction),
    /// Exactly these actions, in this order (retrieves are not counted).
    Actions(Vec<TExpectedAction>),
}

#[derive(Clone, Debug)]
pub enum TExpectedAction {
    /// An action of the catalogue (`email`, `refund`) with some of its arguments.
    Call {
        action: String,
        args: Vec<(String, TExpr)>,
        span: Span,
    },
    /// `update REF.path == value`.
    Update {
        object: String,
        id: Box<TExpr>,
        /// `["metadata", "Tier"]`
        param_path: Vec<String>,
        value: Box<TExpr>,
        span: Span,
    },
    /// `stripe.invoices.void_invoice(id)`: a call of this method with these arguments
    /// (named as Stripe names them; `spec.args` says which are IDs in the path).
    Stripe {
        spec: Box<flow_program::StripeSpec>,
        args: Vec<TExpr>,
        span: Span,
    },
}

impl TExpectedAction {
    pub fn span(&self) -> Span {
        match self {
            TExpectedAction::Call { span, .. }
            | TExpectedAction::Update { span, .. }
            | TExpectedAction::Stripe { span, .. } => *span,
        }
    }
}

/// The words `expect no …` accepts, and the action kind each stands for.
const NO_KINDS: &[(&str, Option<&str>)] = &[
    ("email", Some("email")),
    ("update", Some("update")),
    ("refund", Some("refund")),
    ("retrieve", Some("retrieve")),
    ("slack", Some("slack")),
    ("http", Some("http")),
    ("stripe", Some("stripe")),
    ("actions", None),
];

/// Check every test of a file; diagnostics are appended to `diagnostics`.
pub fn check_tests(
    tests: &[ast::Test],
    source: &Arc<SourceFile>,
    env: &Env<'_>,
    custom: &std::rc::Rc<[super::CustomAction]>,
    inputs: &[(String, Ty)],
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<TTest> {
    let mut seen: HashMap<&str, Span> = HashMap::new();
    let mut out = Vec::new();
    for t in tests {
        if let Some(first) = seen.get(t.name.as_str()) {
            diagnostics.push(
                Diagnostic::warning("W0701", format!("two tests are named \"{}\"", t.name))
                    .with_label(t.name_span, "this name is taken")
                    .with_secondary(*first, "first used here")
                    .with_help("give each test its own name: failures are reported by name"),
            );
        } else {
            seen.insert(&t.name, t.name_span);
        }
        let mut cx = Checker::new(*env);
        cx.custom = custom.clone();
        let mut tc = TestChecker {
            cx,
            env: *env,
            source: source.clone(),
            diagnostics: Vec::new(),
            inputs: inputs.to_vec(),
        };
        out.push(tc.test(t));
        diagnostics.append(&mut tc.diagnostics);
        diagnostics.append(&mut tc.cx.diagnostics);
    }
    out
}

struct TestChecker<'s> {
    cx: Checker<'s>,
    env: Env<'s>,
    /// The test file: paths in it are relative to it (read through `env.loader`).
    source: Arc<SourceFile>,
    diagnostics: Vec<Diagnostic>,
    /// The inputs of the file's on-demand workflows.
    inputs: Vec<(String, Ty)>,
}

impl TestChecker<'_> {
    fn error(&mut self, d: Diagnostic) {
        self.diagnostics.push(d);
    }

    fn test(&mut self, t: &ast::Test) -> TTest {
        let given = match t.givens.as_slice() {
            [] => {
                self.error(
                    Diagnostic::error("E0701", "this test has no `given`")
                        .with_label(t.name_span, "which event should the workflows run on?")
                        .with_help("add `given EVENT_TYPE { field: value, … }` or `given \"events/event.json\"`"),
                );
                None
            }
            [g, rest @ ..] => {
                for extra in rest {
                    self.error(
                        Diagnostic::error("E0702", "a test has one `given`")
                            .with_label(extra.span, "a second event")
                            .with_secondary(g.span, "the test's event")
                            .with_help("write a test per event"),
                    );
                }
                self.given(g)
            }
        };
        if t.expects.is_empty() {
            self.error(
                Diagnostic::error("E0703", "this test expects nothing")
                    .with_label(t.name_span, "a test without `expect` cannot fail")
                    .with_help("add e.g. `expect succeeded`, `expect email to: \"…\"` or `expect no actions`"),
            );
        }
        let mut expects = Vec::new();
        // Without a valid event, the fields the expectations name cannot be checked.
        if given.is_some() {
            for e in &t.expects {
                if let Some(te) = self.expect(e) {
                    expects.push(te);
                }
            }
        }
        let mut answers = Vec::new();
        for a in &t.answers {
            if let Some(answer) = self.answer(a) {
                answers.push(answer);
            }
        }
        let ok =
            given.is_some() && expects.len() == t.expects.len() && answers.len() == t.answers.len();
        TTest {
            name: t.name.clone(),
            name_span: t.name_span,
            span: t.span,
            given: if ok { given } else { None },
            answers,
            expects,
        }
    }

    // ------------------------------------------------------------- answers

    /// `answer stripe.RESOURCE.METHOD with …`: the method must exist; an object is
    /// checked as the type the method returns (its `object` filled in), a list's
    /// items likewise, and only a list or a search answers a list.
    fn answer(&mut self, a: &ast::Answer) -> Option<(String, Json)> {
        let call = ast::StripeCall {
            resource: a.resource.clone(),
            method: a.method.clone(),
            args: Vec::new(),
        };
        let (method, returns) = self.cx.stripe_method(&call)?;
        let object = match &returns {
            flow_stdlib::api::Returns::Object(o) | flow_stdlib::api::Returns::List(o) => {
                Some(o.as_str())
            }
            flow_stdlib::api::Returns::Json => None,
        };
        let typed = |me: &mut Self, e: &ast::Expr| -> Option<Json> {
            let mut j = match object {
                Some(o) => me.object_json(Some(o), e, None)?,
                None => me.any_json(e, "the answer")?,
            };
            if let (Some(o), Some(m)) = (object, j.as_object_mut()) {
                m.entry("object")
                    .or_insert_with(|| Json::String(o.to_string()));
            }
            Some(j)
        };
        let value = match (&returns, &a.value.kind) {
            (flow_stdlib::api::Returns::List(_), ExprKind::List(items)) => {
                let mut out = Vec::new();
                for i in items {
                    out.push(typed(self, i)?);
                }
                Json::Array(out)
            }
            (flow_stdlib::api::Returns::List(o), _) => {
                self.error(
                    Diagnostic::error("E0705", format!("`stripe.{method}` answers a list"))
                        .with_label(a.value.span, "expected `[ { … }, … ]`")
                        .with_help(format!(
                            "write the {o} objects it answers: `with [ {{ id: \"…\" }} ]`"
                        )),
                );
                return None;
            }
            (_, ExprKind::List(_)) => {
                self.error(
                    Diagnostic::error(
                        "E0705",
                        format!("`stripe.{method}` answers one object, not a list"),
                    )
                    .with_label(a.value.span, "a list")
                    .with_help("write the object it answers: `with { id: \"…\", … }`"),
                );
                return None;
            }
            _ => typed(self, &a.value)?,
        };
        Some((method, value))
    }

    // ------------------------------------------------------------- given

    fn given(&mut self, g: &ast::Given) -> Option<TGiven> {
        let lib = self.env.lib;
        let (event_type, event, strict, span) = match &g.event {
            ast::GivenEvent::Partial { event_type, object }
                if event_type.name == flow_program::SCHEDULE
                    || event_type.name == flow_program::DEMAND =>
            {
                let event = if event_type.name == flow_program::SCHEDULE {
                    self.schedule_given(object)?
                } else {
                    let input = self.demand_given(object)?;
                    self.cx.set_input_fields(self.inputs.clone());
                    input
                };
                let objects = self.given_objects(g)?;
                self.cx.set_object(None);
                return Some(TGiven {
                    event_type: event_type.name.clone(),
                    event,
                    strict: false,
                    objects,
                    span: object.span,
                });
            }
            ast::GivenEvent::Partial { event_type, object } => {
                let Some(def) = lib.event(&event_type.name) else {
                    let close =
                        did_you_mean(&event_type.name, lib.events.iter().map(|e| e.name.as_str()));
                    self.error(
                        Diagnostic::error(
                            "E0101",
                            format!("unknown event type `{}`", event_type.name),
                        )
                        .with_label(
                            event_type.span,
                            phrase(&close).unwrap_or_else(|| "not a Stripe event type".into()),
                        )
                        .with_help("see `flow events` for the list of Stripe event types"),
                    );
                    return None;
                };
                let object_type = def.object.clone().filter(|o| lib.object(o).is_some());
                let data = self.object_json(object_type.as_deref(), object, None)?;
                let event = serde_json::json!({
                    "id": TEST_EVENT_ID,
                    "object": "event",
                    "type": event_type.name,
                    "data": { "object": data },
                });
                (event_type.name.clone(), event, true, object.span)
            }
            ast::GivenEvent::File { path, span } => {
                let event = self.event_file(path, *span)?;
                let t = event
                    .get("type")
                    .and_then(Json::as_str)
                    .unwrap_or("")
                    .to_string();
                if lib.event(&t).is_none() {
                    self.error(
                        Diagnostic::error("E0101", format!("{path}: unknown event type `{t}`"))
                            .with_label(*span, "this event's type is not a Stripe event type")
                            .with_help("see `flow events` for the list of Stripe event types"),
                    );
                    return None;
                }
                (t, event, false, *span)
            }
        };
        let objects = self.given_objects(g)?;
        let object_type = lib
            .event(&event_type)
            .and_then(|e| e.object.clone())
            .filter(|o| lib.object(o).is_some());
        self.cx.set_object(object_type);
        Some(TGiven {
            event_type,
            event,
            strict,
            objects,
            span,
        })
    }

    /// `with [ … ]` or `with "folder"`: the objects the bindings know.
    fn given_objects(&mut self, g: &ast::Given) -> Option<Vec<Json>> {
        Some(match &g.with {
            None => Vec::new(),
            Some(ast::GivenObjects::Inline(list)) => self.inline_objects(list)?,
            Some(ast::GivenObjects::Path { path, span }) => {
                match self.env.loader.objects(&self.source, path) {
                    Ok(v) => v,
                    Err(e) => {
                        self.error(
                            Diagnostic::error("E0704", e)
                                .with_label(*span, "objects for `retrieve`")
                                .with_help("give a folder of Stripe objects as .json files (or one file), relative to this test file"),
                        );
                        return None;
                    }
                }
            }
        })
    }

    /// `given schedule { at: 2027-01-01T14:00:00Z }`: the slot the scheduled
    /// workflows run at (a run of those that have a slot then).
    fn schedule_given(&mut self, object: &ast::Expr) -> Option<Json> {
        let bad = |tc: &mut Self, span: Span| {
            tc.error(
                Diagnostic::error("E0706", "a schedule's test gives the slot: `given schedule { at: TIME }`")
                    .with_label(span, "expected `{ at: 2027-01-01T14:00:00Z }`")
                    .with_help("`at` is the time of a slot of the scheduled workflows (`flow schedule FILE` lists them)"),
            );
            None
        };
        let ExprKind::Map(entries) = &object.kind else {
            return bad(self, object.span);
        };
        let [(key, value)] = entries.as_slice() else {
            return bad(self, object.span);
        };
        if key.name != "at" {
            return bad(self, key.span);
        }
        let TExprKind::Lit(Lit::Time(at)) = self.cx.expr(value).kind else {
            return bad(self, value.span);
        };
        Some(serde_json::json!({
            "id": format!("schedule:{}", TEST_EVENT_ID),
            "object": "event",
            "type": flow_program::SCHEDULE,
            "created": at,
            "data": { "object": {} },
        }))
    }

    /// `given demand { customer: "cus_1", credit: 25 USD, … }`: the input of the
    /// on-demand workflows, as `flow invoke` would send it (checked when the test runs).
    fn demand_given(&mut self, object: &ast::Expr) -> Option<Json> {
        let ExprKind::Map(entries) = &object.kind else {
            self.error(
                Diagnostic::error("E0706", "an on-demand test gives the input: `given demand { name: value, … }`")
                    .with_label(object.span, "not an object")
                    .with_help("write each input the workflow declares, e.g. `{ customer: \"cus_1\", credit: 25 USD }`"),
            );
            return None;
        };
        let mut input = Map::new();
        for (key, value) in entries {
            let json = match &value.kind {
                ExprKind::Money { .. } => match self.cx.expr(value).kind {
                    TExprKind::Lit(Lit::Money(m)) => {
                        serde_json::json!({"amount": m.minor, "currency": m.currency.api_code()})
                    }
                    _ => return None,
                },
                _ => match self.cx.expr(value).kind {
                    TExprKind::Lit(Lit::Time(t) | Lit::Duration(t)) => Json::from(t),
                    _ => self.any_json(value, &key.name)?,
                },
            };
            input.insert(key.name.clone(), json);
        }
        Some(serde_json::json!({
            "id": format!("demand:{}", TEST_EVENT_ID),
            "object": "event",
            "type": flow_program::DEMAND,
            "data": { "object": input },
        }))
    }

    fn event_file(&mut self, path: &str, span: Span) -> Option<Json> {
        let problem = match self.env.loader.read(&self.source, path) {
            Err(e) => e,
            Ok((full, text)) => match serde_json::from_str::<Json>(&text) {
                Err(e) => format!("{full} is not valid JSON: {e}"),
                Ok(json) => {
                    let is_event = json.get("object").and_then(Json::as_str) == Some("event")
                        && json.get("type").and_then(Json::as_str).is_some()
                        && json
                            .get("data")
                            .and_then(|d| d.get("object"))
                            .is_some_and(Json::is_object);
                    if is_event {
                        return Some(json);
                    }
                    format!(
                        "{full} is not a Stripe event (`\"object\": \"event\"`, `type`, `data.object`)"
                    )
                }
            },
        };
        self.error(
            Diagnostic::error("E0704", problem)
                .with_label(span, "the test's event")
                .with_help("the path is relative to this test file; or give the event inline: `given EVENT_TYPE { field: value, … }`"),
        );
        None
    }

    fn inline_objects(&mut self, list: &ast::Expr) -> Option<Vec<Json>> {
        let ExprKind::List(items) = &list.kind else {
            self.error(
                Diagnostic::error("E0705", "`with` takes a list of objects or a path")
                    .with_label(list.span, "expected `[ { id: …, object: …, … } ]`")
                    .with_help("write `with [ { id: \"ch_1\", object: \"charge\", amount: 1000, currency: \"usd\" } ]` or `with \"objects\"`"),
            );
            return None;
        };
        let lib = self.env.lib;
        let mut out = Vec::new();
        let mut ok = true;
        for item in items {
            let ExprKind::Map(entries) = &item.kind else {
                self.error(
                    Diagnostic::error("E0705", "each object for `retrieve` is written `{ … }`")
                        .with_label(item.span, "not an object")
                        .with_help("write `{ id: \"ch_1\", object: \"charge\", … }`"),
                );
                ok = false;
                continue;
            };
            let text_of = |key: &str| {
                entries
                    .iter()
                    .find(|(k, _)| k.name == key)
                    .and_then(|(_, v)| match &v.kind {
                        ExprKind::Str(parts) => match parts.as_slice() {
                            [StrPart::Text(t)] => Some(t.clone()),
                            _ => None,
                        },
                        _ => None,
                    })
            };
            let (Some(kind), Some(_id)) = (text_of("object"), text_of("id")) else {
                self.error(
                    Diagnostic::error(
                        "E0705",
                        "an object for `retrieve` needs its `id` and its `object` type",
                    )
                    .with_label(
                        item.span,
                        "`retrieve` finds objects by `id`, and checks their type",
                    )
                    .with_help("write e.g. `{ id: \"ch_1\", object: \"charge\", … }`"),
                );
                ok = false;
                continue;
            };
            let known = lib.object(&kind).is_some()
                || lib
                    .events
                    .iter()
                    .any(|e| e.object.as_deref() == Some(kind.as_str()));
            if !known {
                let mut names: Vec<&str> = lib.object_names().collect();
                names.sort();
                let close = did_you_mean(&kind, names.iter().copied());
                let at = entries
                    .iter()
                    .find(|(k, _)| k.name == "object")
                    .map_or(item.span, |(_, v)| v.span);
                self.error(
                    Diagnostic::error("E0705", format!("`{kind}` is not a Stripe object type"))
                        .with_label(at, phrase(&close).unwrap_or_else(|| "unknown object type".into()))
                        .with_help("the object types with a schema: charge, customer, dispute, invoice, payment_intent, payout, refund, subscription, …"),
                );
                ok = false;
                continue;
            }
            let modelled = lib.object(&kind).is_some().then_some(kind.as_str());
            match self.object_json(modelled, item, None) {
                Some(j) => out.push(j),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    // ------------------------------------------------------------- values

    /// A `{ field: value, … }` as JSON, each field checked against `owner`'s schema
    /// (`None`: any field). Money written with its currency (`2500.00 USD`) becomes
    /// minor units and sets the currency field.
    fn object_json(
        &mut self,
        owner: Option<&str>,
        e: &ast::Expr,
        path: Option<&str>,
    ) -> Option<Json> {
        let ExprKind::Map(entries) = &e.kind else {
            let what = owner.map_or("an object".to_string(), |o| format!("a {o}"));
            self.error(
                Diagnostic::error("E0706", format!("expected {what}: {{ field: value, … }}"))
                    .with_label(e.span, "not an object")
                    .with_help("write the fields the workflow reads, e.g. `{ amount: 250000, currency: \"usd\" }`"),
            );
            return None;
        };
        let def = owner.and_then(|o| self.env.lib.object(o));
        let mut map = Map::new();
        let mut seen: HashMap<&str, Span> = HashMap::new();
        let mut implied: Vec<(String, Currency, Span, String)> = Vec::new();
        let mut ok = true;
        for (key, value) in entries {
            let shown = match path {
                Some(p) => format!("{p}.{}", key.name),
                None => key.name.clone(),
            };
            if let Some(first) = seen.get(key.name.as_str()) {
                self.error(
                    Diagnostic::error("E0304", format!("`{shown}` is given twice"))
                        .with_label(key.span, "given again here")
                        .with_secondary(*first, "first given here")
                        .with_help("give each field once"),
                );
                ok = false;
                continue;
            }
            seen.insert(&key.name, key.span);
            let field = match (def, owner) {
                (Some(d), Some(o)) => match d.field(&key.name) {
                    Some(f) => Some((o, f)),
                    None => {
                        let close =
                            did_you_mean(&key.name, d.fields.iter().map(|f| f.name.as_str()));
                        let mut diag =
                            Diagnostic::error("E0102", format!("{o} has no field `{}`", key.name))
                                .with_label(
                                    key.span,
                                    phrase(&close).unwrap_or_else(|| "unknown field".into()),
                                );
                        diag = diag.with_help(if close.is_empty() {
                            let list: Vec<&str> = d.fields.iter().map(|f| f.name.as_str()).collect();
                            format!("the fields of {o} are: {}", list.join(", "))
                        } else {
                            "names are case-sensitive; see `flow fields EVENT_TYPE` for the fields and their types".into()
                        });
                        self.error(diag);
                        ok = false;
                        continue;
                    }
                },
                _ => None,
            };
            let json = match field {
                Some((o, f)) => self.field_json(o, f, value, &shown, &mut implied),
                None => self.any_json(value, &shown),
            };
            match json {
                Some(j) => {
                    map.insert(key.name.clone(), j);
                }
                None => ok = false,
            }
        }
        for (currency_field, currency, span, amount_field) in implied {
            match map.get(&currency_field) {
                None => {
                    map.insert(currency_field, Json::String(currency.api_code()));
                }
                Some(Json::String(c)) if Currency::parse(c) == Some(currency) => {}
                Some(other) => {
                    let other = other.to_string();
                    self.error(
                        Diagnostic::error(
                            "E0707",
                            format!("`{amount_field}` is in {currency}, but `{currency_field}` is {other}"),
                        )
                        .with_label(span, format!("an amount in {currency}"))
                        .with_help(format!("amounts are never converted: make `{currency_field}` \"{}\" or write the amount in its currency", currency.api_code())),
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(Json::Object(map))
    }

    /// A value for a field of a schema.
    fn field_json(
        &mut self,
        owner: &str,
        f: &FieldDef,
        e: &ast::Expr,
        shown: &str,
        implied: &mut Vec<(String, Currency, Span, String)>,
    ) -> Option<Json> {
        if let ExprKind::Null = e.kind {
            if !f.may_be_null() {
                self.error(
                    Diagnostic::error("E0708", format!("`{shown}` of a {owner} is never null"))
                        .with_label(e.span, "Stripe always sends a value here")
                        .with_help(format!("give `{shown}` a value ({})", want_words(&f.ty))),
                );
                return None;
            }
            return Some(Json::Null);
        }
        if let (FieldType::Money { currency_field }, ExprKind::Money { .. }) = (&f.ty, &e.kind) {
            let t = self.cx.expr(e);
            return match t.kind {
                TExprKind::Lit(Lit::Money(m)) => {
                    implied.push((
                        currency_field.clone(),
                        m.currency,
                        e.span,
                        shown.to_string(),
                    ));
                    Some(Json::from(m.minor))
                }
                _ => None, // the checker has said what is wrong with the amount
            };
        }
        self.typed_json(owner, &f.ty, e, shown)
    }

    fn typed_json(
        &mut self,
        owner: &str,
        ty: &FieldType,
        e: &ast::Expr,
        shown: &str,
    ) -> Option<Json> {
        if !self.is_value(e) {
            return None;
        }
        let mismatch = |tc: &mut Self| {
            tc.error(
                Diagnostic::error(
                    "E0706",
                    format!(
                        "`{shown}` of a {owner} is {}, not {}",
                        want_words(ty),
                        written_words(e)
                    ),
                )
                .with_label(e.span, format!("this is {}", written_words(e)))
                .with_help(format!("see `flow fields` for the type of `{shown}`")),
            );
            None
        };
        match (ty, &e.kind) {
            (FieldType::Json | FieldType::Addresses | FieldType::Table, _) => {
                self.any_json(e, shown)
            }
            (_, ExprKind::Null) => Some(Json::Null),
            (FieldType::String, ExprKind::Str(_)) => text(e).map(Json::String),
            (
                FieldType::Integer | FieldType::Timestamp | FieldType::Money { .. },
                ExprKind::Number(n),
            ) => match (n.fract().is_zero(), i64::try_from(n.trunc())) {
                (true, Ok(i)) => Some(Json::from(i)),
                _ => mismatch(self),
            },
            (FieldType::Decimal, ExprKind::Number(n)) => Some(Json::String(n.to_string())),
            (FieldType::Decimal, ExprKind::Str(_)) => {
                let t = text(e)?;
                match t.parse::<rust_decimal::Decimal>() {
                    Ok(_) => Some(Json::String(t)),
                    Err(_) => mismatch(self),
                }
            }
            (FieldType::Bool, ExprKind::Bool(b)) => Some(Json::Bool(*b)),
            (FieldType::Currency, ExprKind::Currency(_)) => match self.cx.expr(e).kind {
                TExprKind::Lit(Lit::Currency(c)) => Some(Json::String(c.api_code())),
                _ => None,
            },
            (FieldType::Currency, ExprKind::Str(_)) => {
                let t = text(e)?;
                match Currency::parse(&t).filter(Currency::is_known) {
                    Some(c) => Some(Json::String(c.api_code())),
                    None => {
                        self.error(
                            Diagnostic::error("E0202", format!("\"{t}\" is not a currency Stripe supports"))
                                .with_label(e.span, "unknown currency")
                                .with_help("Stripe sends currencies as lower-case ISO 4217 codes: \"usd\", \"eur\", \"jpy\", …"),
                        );
                        None
                    }
                }
            }
            (FieldType::Enum { values, open }, ExprKind::Str(_)) => {
                let t = text(e)?;
                if !*open && !values.contains(&t) {
                    let close = did_you_mean(&t, values.iter().map(String::as_str));
                    self.error(
                        Diagnostic::error(
                            "E0204",
                            format!("\"{t}\" is not a valid `{shown}` of a {owner}"),
                        )
                        .with_label(
                            e.span,
                            phrase(&close)
                                .unwrap_or_else(|| "not one of the allowed values".into()),
                        )
                        .with_help(format!("`{shown}` is {}", want_words(ty))),
                    );
                    return None;
                }
                Some(Json::String(t))
            }
            (FieldType::Metadata, ExprKind::Map(entries)) => {
                let mut map = Map::new();
                let mut ok = true;
                for (k, v) in entries {
                    match &v.kind {
                        ExprKind::Str(_) => match text(v) {
                            Some(t) => {
                                map.insert(k.name.clone(), Json::String(t));
                            }
                            None => {
                                self.is_value(v);
                                ok = false;
                            }
                        },
                        _ => {
                            self.error(
                                Diagnostic::error(
                                    "E0706",
                                    format!(
                                        "metadata values are strings; `{shown}.{}` is {}",
                                        k.name,
                                        written_words(v)
                                    ),
                                )
                                .with_label(v.span, "not a string")
                                .with_help(
                                    "Stripe stores metadata as text: write the value in quotes",
                                ),
                            );
                            ok = false;
                        }
                    }
                }
                ok.then_some(Json::Object(map))
            }
            (FieldType::Ref(_), ExprKind::Str(_)) => text(e).map(Json::String),
            (FieldType::Ref(o), ExprKind::Map(_)) => {
                let modelled = self.env.lib.object(o).is_some().then_some(o.as_str());
                self.object_json(modelled, e, Some(shown))
            }
            (FieldType::Object(o), ExprKind::Map(_)) => {
                let modelled = self.env.lib.object(o).is_some().then_some(o.as_str());
                self.object_json(modelled, e, Some(shown))
            }
            (FieldType::List(inner), ExprKind::List(items)) => {
                let mut out = Vec::new();
                for i in items {
                    out.push(self.typed_json(owner, inner, i, shown)?);
                }
                Some(Json::Array(out))
            }
            _ => mismatch(self),
        }
    }

    /// Any JSON value (a field without a schema).
    fn any_json(&mut self, e: &ast::Expr, shown: &str) -> Option<Json> {
        if !self.is_value(e) {
            return None;
        }
        match &e.kind {
            ExprKind::Null => Some(Json::Null),
            ExprKind::Bool(b) => Some(Json::Bool(*b)),
            ExprKind::Number(n) => serde_json::from_str::<Json>(&n.to_string()).ok(),
            ExprKind::Str(_) => text(e).map(Json::String),
            ExprKind::Currency(_) => match self.cx.expr(e).kind {
                TExprKind::Lit(Lit::Currency(c)) => Some(Json::String(c.api_code())),
                _ => None,
            },
            ExprKind::Money { .. } => {
                self.error(
                    Diagnostic::error("E0706", format!("`{shown}` has no schema: write the amount in minor units and its currency beside it"))
                        .with_label(e.span, "money, in a field that is not an amount")
                        .with_help("e.g. `amount: 250000, currency: \"usd\"`"),
                );
                None
            }
            ExprKind::List(items) => {
                let mut out = Vec::new();
                for i in items {
                    out.push(self.any_json(i, shown)?);
                }
                Some(Json::Array(out))
            }
            ExprKind::Map(_) => self.object_json(None, e, Some(shown)),
            _ => None,
        }
    }

    /// A given object holds values: no names, operators or interpolation.
    fn is_value(&mut self, e: &ast::Expr) -> bool {
        let bad = match &e.kind {
            ExprKind::Path(_)
            | ExprKind::Not(_)
            | ExprKind::Binary { .. }
            | ExprKind::Retrieve(_) => true,
            ExprKind::Str(parts) => parts.iter().any(|p| matches!(p, StrPart::Expr(_))),
            _ => false,
        };
        if bad {
            self.error(
                Diagnostic::error("E0709", "a given object holds values, not expressions")
                    .with_label(e.span, "not a plain value")
                    .with_help("write the value itself: a string (no `{…}`), a number, true or false, null, money such as `25.00 USD`, a list or `{ … }`"),
            );
        }
        !bad
    }

    // ------------------------------------------------------------- expectations

    fn expect(&mut self, e: &ast::Expect) -> Option<TExpect> {
        let kind = match &e.kind {
            ast::ExpectKind::Status { status, message } => {
                let status = match status.name.as_str() {
                    "succeeded" => ExpectedStatus::Succeeded,
                    "failed" => ExpectedStatus::Failed,
                    _ => ExpectedStatus::Skipped,
                };
                if let (Some((_, span)), false) = (message, status == ExpectedStatus::Failed) {
                    self.error(
                        Diagnostic::error("E0710", "only `expect failed` takes a message")
                            .with_label(*span, "a run that did not fail has no error")
                            .with_help("write `expect failed \"part of the error\"`, or remove the message"),
                    );
                    return None;
                }
                TExpectKind::Status {
                    status,
                    message: message.as_ref().map(|m| m.0.clone()),
                }
            }
            ast::ExpectKind::No { what } => match NO_KINDS.iter().find(|(w, _)| *w == what.name) {
                Some((_, kind)) => TExpectKind::No { kind: *kind },
                None => {
                    let close = did_you_mean(&what.name, NO_KINDS.iter().map(|(w, _)| *w));
                    self.error(
                            Diagnostic::error("E0710", format!("`expect no {}` is not an expectation", what.name))
                                .with_label(what.span, phrase(&close).unwrap_or_else(|| "not an action".into()))
                                .with_help("write `expect no email`, `no update`, `no refund`, `no retrieve`, `no slack`, `no http` or `no actions`"),
                        );
                    return None;
                }
            },
            ast::ExpectKind::Action(a) => TExpectKind::Action(self.expected_action(a)?),
            ast::ExpectKind::Actions(list) => {
                let mut out = Vec::new();
                let mut ok = true;
                for a in list {
                    match self.expected_action(a) {
                        Some(t) => out.push(t),
                        None => ok = false,
                    }
                }
                if !ok {
                    return None;
                }
                TExpectKind::Actions(out)
            }
        };
        Some(TExpect { kind, span: e.span })
    }

    fn expected_action(&mut self, a: &ast::ExpectedAction) -> Option<TExpectedAction> {
        match a {
            ast::ExpectedAction::Stripe { call, span } => {
                let (spec, args) = self.cx.stripe_expected(call, *span)?;
                Some(TExpectedAction::Stripe {
                    spec: Box::new(spec),
                    args,
                    span: *span,
                })
            }
            ast::ExpectedAction::Update {
                target,
                value,
                span,
            } => {
                let stmt = ast::Stmt {
                    kind: ast::StmtKind::Update {
                        target: target.clone(),
                        value: value.clone(),
                    },
                    span: *span,
                };
                match self.cx.stmt(&stmt)? {
                    TStmt::Update {
                        object,
                        id,
                        param_path,
                        value,
                        ..
                    } => Some(TExpectedAction::Update {
                        object,
                        id: Box::new(id),
                        param_path,
                        value: Box::new(value),
                        span: *span,
                    }),
                    _ => None,
                }
            }
            ast::ExpectedAction::Call { name, args, span } => {
                let lib = self.env.lib;
                let custom = self.cx.custom.clone();
                let Some(def) = super::find_action(lib, &custom, &name.name) else {
                    self.error(super::unknown_action(
                        lib,
                        name,
                        &["update"],
                        "expect one of the actions {actions}, `update REF.path == value`, a status (`succeeded`, `failed`, `skipped`), `no ACTION` or `actions [ … ]`",
                    ));
                    return None;
                };
                let mut seen: HashMap<&str, Span> = HashMap::new();
                let mut out = Vec::new();
                let mut ok = true;
                for arg in args {
                    if let Some(first) = seen.get(arg.name.name.as_str()) {
                        self.error(
                            Diagnostic::error(
                                "E0304",
                                format!("`{}` is given twice", arg.name.name),
                            )
                            .with_label(arg.name.span, "given again here")
                            .with_secondary(*first, "first given here")
                            .with_help("give each parameter once"),
                        );
                        ok = false;
                        continue;
                    }
                    seen.insert(&arg.name.name, arg.name.span);
                    let Some(p) = def.param(&arg.name.name) else {
                        let close = did_you_mean(
                            &arg.name.name,
                            def.params.iter().map(|p| p.name.as_str()),
                        );
                        let all: Vec<String> =
                            def.params.iter().map(|p| format!("`{}`", p.name)).collect();
                        self.error(
                            Diagnostic::error(
                                "E0302",
                                format!("`{}` has no parameter `{}`", def.name, arg.name.name),
                            )
                            .with_label(
                                arg.name.span,
                                phrase(&close).unwrap_or_else(|| "unknown parameter".into()),
                            )
                            .with_help(format!(
                                "`{}` takes {}",
                                def.name,
                                all.join(", ")
                            )),
                        );
                        ok = false;
                        continue;
                    };
                    let before = self.cx.diagnostics.iter().filter(|d| d.is_error()).count();
                    let value = self.cx.param_value(&def.name, &p.name, &p.ty, &arg.value);
                    if self.cx.diagnostics.iter().filter(|d| d.is_error()).count() > before {
                        ok = false;
                    }
                    out.push((p.name.clone(), value));
                }
                ok.then(|| TExpectedAction::Call {
                    action: def.name.clone(),
                    args: out,
                    span: *span,
                })
            }
        }
    }
}

/// The text of a string literal without interpolation.
fn text(e: &ast::Expr) -> Option<String> {
    match &e.kind {
        ExprKind::Str(parts) => {
            let mut s = String::new();
            for p in parts {
                match p {
                    StrPart::Text(t) => s.push_str(t),
                    StrPart::Expr(_) => return None,
                }
            }
            Some(s)
        }
        _ => None,
    }
}

/// What a field of this type holds, in words.
fn want_words(ty: &FieldType) -> String {
    match ty {
        FieldType::String => "a string".into(),
        FieldType::Integer => "an integer".into(),
        FieldType::Decimal => "a decimal number".into(),
        FieldType::Bool => "true or false".into(),
        FieldType::Timestamp => "a Unix timestamp (seconds)".into(),
        FieldType::Currency => "a currency code such as \"usd\"".into(),
        FieldType::Metadata => "metadata: { key: \"value\", … }".into(),
        FieldType::Json | FieldType::Addresses | FieldType::Table => "any JSON value".into(),
        FieldType::Money { .. } => {
            "an amount: minor units (`250000`) or money (`2500.00 USD`)".into()
        }
        FieldType::Ref(o) => format!("the ID of a {o} (a string)"),
        FieldType::Enum { values, open } => {
            let shown: Vec<String> = values.iter().take(8).map(|v| format!("\"{v}\"")).collect();
            let more = if values.len() > 8 { ", …" } else { "" };
            let open = if *open { " (or a newer value)" } else { "" };
            format!("one of {}{more}{open}", shown.join(", "))
        }
        FieldType::List(inner) => format!("a list of {}", plural(&want_words(inner))),
        FieldType::Object(o) => format!("a {o}: {{ field: value, … }}"),
    }
}

fn plural(words: &str) -> String {
    words
        .strip_prefix("a ")
        .or_else(|| words.strip_prefix("an "))
        .map_or_else(|| words.to_string(), |w| format!("{w}s"))
}

/// What was written, in words.
fn written_words(e: &ast::Expr) -> &'static str {
    match &e.kind {
        ExprKind::Null => "null",
        ExprKind::Bool(_) => "true or false",
        ExprKind::Number(n) if n.fract().is_zero() => "an integer",
        ExprKind::Number(_) => "a decimal number",
        ExprKind::Str(_) => "a string",
        ExprKind::Currency(_) => "a currency",
        ExprKind::Money { .. } => "money",
        ExprKind::List(_) => "a list",
        ExprKind::Map(_) => "an object",
        _ => "an expression",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> (Vec<TTest>, Vec<Diagnostic>) {
        let source = SourceFile::new("t.test.flow", text);
        let parsed = flow_syntax::parse(&source);
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        let mut diags = Vec::new();
        let tests = check_tests(
            &parsed.file.tests,
            &source,
            &Env::new(flow_stdlib::builtin()),
            &std::rc::Rc::from(Vec::new()),
            &[],
            &mut diags,
        );
        (tests, diags)
    }

    #[test]
    fn partial_objects_become_strict_events() {
        let (tests, diags) = check(
            r#"test "vip" {
                given payment_intent.succeeded { amount: 2500.00 USD, customer: "cus_1", metadata: { order_id: "7" } }
                expect update customer.metadata.Tier == "VIP"
            }"#,
        );
        assert!(diags.is_empty(), "{diags:?}");
        let g = tests[0].given.as_ref().expect("a given");
        assert!(g.strict);
        assert_eq!(g.event["type"], "payment_intent.succeeded");
        let obj = &g.event["data"]["object"];
        assert_eq!(obj["amount"], 250000);
        assert_eq!(obj["currency"], "usd");
        assert_eq!(obj["metadata"]["order_id"], "7");
        match &tests[0].expects[0].kind {
            TExpectKind::Action(TExpectedAction::Update {
                object, param_path, ..
            }) => {
                assert_eq!(object, "customer");
                assert_eq!(param_path, &["metadata", "Tier"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn fields_and_parameters_are_checked_with_suggestions() {
        let (tests, diags) = check(
            r#"test "typos" {
                given payment_intent.succeeded { amout: 100, currency: "usd", status: "succeded" }
                expect email too: "a@example.com"
            }"#,
        );
        assert!(tests[0].given.is_none());
        let text: Vec<String> = diags
            .iter()
            .map(|d| format!("{} {:?}", d.message, d.labels.first().map(|l| &l.message)))
            .collect();
        assert!(
            text.iter()
                .any(|t| t.contains("no field `amout`") && t.contains("did you mean `amount`?")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t.contains("\"succeded\" is not a valid `status`")
                    && t.contains("`succeeded`")),
            "{text:?}"
        );
    }

    #[test]
    fn expected_actions_are_checked_against_the_catalogue() {
        let (_, diags) = check(
            r#"test "actions" {
                given payment_intent.succeeded { amount: 100, currency: "usd" }
                expect emial to: "a@example.com"
                expect email too: "a@example.com"
                expect refund amount: 10
                expect update customer.metadata.Tier == 3
                expect no updates
            }"#,
        );
        let msgs: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
        assert!(msgs.contains(&"unknown action `emial`"), "{msgs:?}");
        assert!(msgs.contains(&"`email` has no parameter `too`"), "{msgs:?}");
        assert!(msgs.iter().any(|m| m.contains("takes money")), "{msgs:?}");
        assert!(
            msgs.iter()
                .any(|m| m.contains("metadata value must be a string")),
            "{msgs:?}"
        );
        assert!(
            msgs.contains(&"`expect no updates` is not an expectation"),
            "{msgs:?}"
        );
    }

    #[test]
    fn amounts_and_currencies_must_agree() {
        let (_, diags) = check(
            r#"test "eur" {
                given payment_intent.succeeded { amount: 25.00 USD, currency: "eur", customer: null }
                expect skipped
            }"#,
        );
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert_eq!(diags[0].code, "E0707");
        let (_, diags) = check(
            r#"test "null" {
                given payment_intent.succeeded { amount: null }
                expect skipped
            }"#,
        );
        assert_eq!(diags[0].code, "E0708");
    }

    #[test]
    fn a_test_needs_a_given_and_an_expect() {
        let (_, diags) = check("test \"empty\" { }");
        let codes: Vec<&str> = diags.iter().map(|d| d.code).collect();
        assert_eq!(codes, ["E0701", "E0703"]);
    }

    #[test]
    fn inline_objects_need_id_and_type() {
        let (tests, diags) = check(
            r#"test "fraud" {
                given radar.early_fraud_warning.created { charge: "ch_1" }
                    with [ { id: "ch_1", object: "charge", amount: 1000, currency: "usd" } ]
                expect succeeded
            }"#,
        );
        assert!(diags.is_empty(), "{diags:?}");
        let g = tests[0].given.as_ref().expect("a given");
        assert_eq!(g.objects[0]["amount"], 1000);
        let (_, diags) = check(
            r#"test "fraud" {
                given radar.early_fraud_warning.created { charge: "ch_1" }
                    with [ { id: "ch_1", object: "chrage" } ]
                expect succeeded
            }"#,
        );
        assert!(
            diags[0]
                .message
                .contains("`chrage` is not a Stripe object type"),
            "{diags:?}"
        );
    }
}
