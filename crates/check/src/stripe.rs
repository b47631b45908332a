//! `stripe.RESOURCE.METHOD(ARGS)`: a method of Stripe's API, checked against the
//! catalogue (`stdlib/api/*.def`): the resource and the method by name, each argument
//! against the method's parameters (names, types, required ones, enums, nested
//! parameter objects and lists), money against the currency the method works in, and
//! the answer typed as the object the method returns.

use std::collections::HashMap;

use flow_program::{ArgKind, StripeArg, StripeSpec};
use flow_stdlib::api::{ApiParam, Catalogue, Method, Returns};
use flow_stdlib::FieldType;
use flow_syntax::ast::{self, ExprKind};
use flow_syntax::{Diagnostic, Span};

use crate::tree::{Lit, TExpr, TExprKind};
use crate::types::{EnumTy, Ty};
use crate::Checker;
use flow_stdlib::suggest::{a, did_you_mean, phrase};

/// The objects whose currency an amount of a call is in, when the call names one: a
/// refund's charge or PaymentIntent, a credit note's invoice, an invoice item's invoice.
const AMOUNT_CONTEXTS: &[&str] = &[
    "charge",
    "payment_intent",
    "invoice",
    "credit_note",
    "subscription",
    "quote",
    "checkout.session",
];

/// The most items a list or a search yields by default: one page at Stripe's largest
/// page size.
pub const DEFAULT_MAX_ITEMS: u32 = 100;

/// Whether an integer parameter is an amount of money in minor units (`amount`,
/// `refund_amount`, `amount_off`) whose currency is that of an object it is about.
fn amount_like(name: &str) -> bool {
    name == "amount" || name.ends_with("_amount") || name.starts_with("amount_")
}

/// The type a method answers with.
pub fn returns_ty(m: &Method) -> Ty {
    match &m.returns {
        Returns::Object(o) => Ty::Object(o.clone()),
        Returns::List(o) => Ty::List(Box::new(Ty::Object(o.clone()))),
        Returns::Json => Ty::Json,
    }
}

/// `stripe.invoices.void_invoice(id)`: how a method is called, for help texts; with
/// no argument it must have, `stripe.invoices.list(NAME: value, …)`.
pub fn call_example(resource: &str, m: &Method) -> String {
    let form = m.call_form(resource);
    match form.strip_suffix("()") {
        Some(head) => format!("{head}(NAME: value, …)"),
        None => form,
    }
}

impl<'s> Checker<'s> {
    /// Check a method call; the expression it becomes (typed as the method's answer),
    /// or an error expression after reporting what is wrong.
    pub(crate) fn stripe_call(&mut self, c: &ast::StripeCall, span: Span) -> TExpr {
        self.check_call(c, span, false)
    }

    /// A call expected by a test: some of the arguments only (none is required).
    pub(crate) fn stripe_expected(
        &mut self,
        c: &ast::StripeCall,
        span: Span,
    ) -> Option<(StripeSpec, Vec<TExpr>)> {
        match self.check_call(c, span, true).kind {
            TExprKind::Stripe { spec, args } => Some((*spec, args)),
            _ => None,
        }
    }

    /// The method a call names (`invoices.void_invoice`) and what it answers, or an
    /// error reported on its name; the arguments are not looked at.
    pub(crate) fn stripe_method(&mut self, c: &ast::StripeCall) -> Option<(String, Returns)> {
        let api = self.env.lib.api().ok()?;
        let Some(resource) = api.resource(&c.resource.name) else {
            self.error(unknown_resource(api, &c.resource));
            return None;
        };
        let Some(method) = resource.method(&c.method.name) else {
            let d = unknown_method(resource, &c.method);
            self.error(d);
            return None;
        };
        Some((
            format!("{}.{}", resource.name, method.name),
            method.returns.clone(),
        ))
    }

    fn check_call(&mut self, c: &ast::StripeCall, span: Span, partial: bool) -> TExpr {
        let lib = self.env.lib;
        let api = match lib.api() {
            Ok(api) => api,
            Err(e) => {
                self.error(
                    Diagnostic::error("E0301", "Stripe's API catalogue could not be read")
                        .with_label(c.resource.span, "no catalogue to check this against")
                        .with_help(e.to_string()),
                );
                return self.skip_args(c, span);
            }
        };
        let Some(resource) = api.resource(&c.resource.name) else {
            self.error(unknown_resource(api, &c.resource));
            return self.skip_args(c, span);
        };
        let Some(method) = resource.method(&c.method.name) else {
            let d = unknown_method(resource, &c.method);
            self.error(d);
            return self.skip_args(c, span);
        };
        if self.in_when && !partial && method.verb != flow_stdlib::api::Verb::Get {
            self.error(
                Diagnostic::error(
                    "E0314",
                    format!(
                        "`stripe.{}.{}` changes something in Stripe; a `when` condition only decides whether the workflow runs",
                        resource.name, method.name
                    ),
                )
                .with_label(c.method.span, format!("a {} request", method.verb.as_str()))
                .with_help("call it in the workflow's body, where it runs once as a step of its own"),
            );
        }
        let full = format!("{}.{}", resource.name, method.name);
        let path_params: Vec<&ApiParam> = method.path_params().collect();
        let mut given: HashMap<String, Span> = HashMap::new();
        let mut args: Vec<(StripeArg, TExpr)> = Vec::new();
        let mut meant: Vec<&str> = Vec::new();
        let mut ok = true;
        let mut positional = 0usize;
        let mut named_seen = false;
        for a in &c.args {
            let (name, name_span) = match &a.name {
                None => {
                    let Some(p) = path_params.get(positional).copied().filter(|_| !named_seen)
                    else {
                        let d = positional_error(&resource.name, method, named_seen, &a.value);
                        self.error(d);
                        self.expr(&a.value);
                        ok = false;
                        continue;
                    };
                    positional += 1;
                    (p.name.clone(), a.value.span)
                }
                Some(n) => {
                    named_seen = true;
                    (n.name.clone(), n.span)
                }
            };
            if let Some(first) = given.get(&name) {
                self.error(
                    Diagnostic::error("E0304", format!("`{name}` is given twice"))
                        .with_label(name_span, "given again here")
                        .with_secondary(*first, "first given here")
                        .with_help("give each parameter once"),
                );
                self.expr(&a.value);
                ok = false;
                continue;
            }
            given.insert(name.clone(), name_span);
            if name == "stripe_account" {
                let t = self.account_value(&a.value);
                args.push((
                    StripeArg {
                        name,
                        kind: ArgKind::Account,
                        span: a.value.span,
                    },
                    t,
                ));
                continue;
            }
            let Some(p) = method.param(&name) else {
                let names = method.params.iter().map(|p| p.name.as_str());
                let close = did_you_mean(&name, names);
                meant.extend(close.iter().copied());
                self.error(unknown_param(
                    &resource.name,
                    method,
                    &name,
                    name_span,
                    &close,
                ));
                self.expr(&a.value);
                ok = false;
                continue;
            };
            if p.in_path {
                let object = path_object(resource.object.as_deref(), p, lib);
                let t = self.path_value(&full, p, object.as_deref(), &a.value);
                args.push((
                    StripeArg {
                        name,
                        kind: ArgKind::Path,
                        span: a.value.span,
                    },
                    t,
                ));
                continue;
            }
            let t = self.api_value(api, &full, p, &a.value);
            let kind = match (&p.ty, t.ty.base()) {
                (FieldType::Money { .. }, _) => ArgKind::Money,
                (FieldType::Integer, Ty::Money) if amount_like(&p.name) => ArgKind::Amount {
                    context: u32::MAX,
                    object: String::new(),
                },
                _ => ArgKind::Param,
            };
            args.push((
                StripeArg {
                    name,
                    kind,
                    span: a.value.span,
                },
                t,
            ));
        }
        for p in method.params.iter().filter(|p| p.required && !partial) {
            if given.contains_key(&p.name) {
                continue;
            }
            if meant.contains(&p.name.as_str()) {
                ok = false;
                continue;
            }
            let example = call_example(&resource.name, method);
            let d = if p.in_path {
                Diagnostic::error(
                    "E0303",
                    format!("`stripe.{full}` needs `{}`, the ID in its path", p.name),
                )
                .with_label(c.method.span, format!("`{}` is missing", p.name))
                .with_help(format!("give it first, by position: `{example}`"))
            } else {
                Diagnostic::error("E0303", format!("`stripe.{full}` needs `{}`", p.name))
                    .with_label(c.method.span, format!("`{}` is missing", p.name))
                    .with_help(format!(
                        "add `{}: …` ({}); the call is `{example}`",
                        p.name,
                        Ty::of_type(&p.name, &p.ty)
                    ))
            };
            self.error(d);
            ok = false;
        }
        if !ok {
            return self.err_at(span);
        }
        self.money_rules(method, resource.object.as_deref(), &mut args);
        let ty = returns_ty(method);
        let max_items = matches!(method.returns, Returns::List(_)).then_some(DEFAULT_MAX_ITEMS);
        let (spec_args, values): (Vec<StripeArg>, Vec<TExpr>) = args.into_iter().unzip();
        TExpr {
            kind: TExprKind::Stripe {
                spec: Box::new(StripeSpec {
                    method: full,
                    verb: method.verb.as_str().to_string(),
                    path: method.path.clone(),
                    args: spec_args,
                    returns: method.returns.to_string(),
                    max_items,
                }),
                args: values,
            },
            ty,
            span,
        }
    }

    /// Check the arguments of a call that cannot be checked further, so that their
    /// own mistakes are still reported.
    fn skip_args(&mut self, c: &ast::StripeCall, span: Span) -> TExpr {
        for a in &c.args {
            self.expr(&a.value);
        }
        self.err_at(span)
    }

    fn err_at(&self, span: Span) -> TExpr {
        TExpr {
            kind: TExprKind::Lit(Lit::Null),
            ty: Ty::Error,
            span,
        }
    }

    /// `stripe_account: "acct_…"` or `stripe_account: null` (the platform).
    fn account_value(&mut self, e: &ast::Expr) -> TExpr {
        let t = self.expr(e);
        match (&t.kind, t.ty.base()) {
            (TExprKind::Lit(Lit::Str(s)), _) if !s.starts_with("acct_") => {
                self.error(
                    Diagnostic::error("E0305", format!("`{s}` is not a connected account's ID"))
                        .with_label(t.span, "expected `acct_…`")
                        .with_help("give a connected account's ID (`acct_…`), or `null` to act on the platform's own account"),
                );
            }
            (_, Ty::Str | Ty::Null | Ty::Json | Ty::Error) => {}
            (_, other) => {
                let other = other.clone();
                self.error(
                    Diagnostic::error(
                        "E0305",
                        format!("`stripe_account` takes a connected account's ID, not {other}"),
                    )
                    .with_label(t.span, format!("this is {other}"))
                    .with_help("give `\"acct_…\"`, `event.account`, or `null` for the platform's own account"),
                );
            }
        }
        t
    }

    /// An ID in the path: a string, or an object (or a reference to one) of the type
    /// the path is about, which passes its ID.
    fn path_value(
        &mut self,
        method: &str,
        p: &ApiParam,
        object: Option<&str>,
        e: &ast::Expr,
    ) -> TExpr {
        let t = self.expr(e);
        let wrong = |have: &str| {
            let want = object.map_or("an ID".to_string(), |o| format!("{} or its ID", a(o)));
            Diagnostic::error(
                "E0305",
                format!(
                    "`{}` of `stripe.{method}` takes {want}; this is {have}",
                    p.name
                ),
            )
            .with_label(t.span, format!("expected {want}"))
            .with_help("pass the object, a reference field to one, or its ID as a string")
        };
        match t.ty.base().clone() {
            Ty::Object(o) | Ty::Ref(o) if object.is_some_and(|want| want != o) => {
                let d = wrong(&a(&o));
                self.error(d);
            }
            Ty::Object(_) | Ty::Ref(_) | Ty::Str | Ty::Json | Ty::Error => {
                self.warn_nullable(&t, &format!("`stripe.{method}` needs the ID in its path"));
            }
            Ty::Null => {
                let d = wrong("null");
                self.error(d);
            }
            other => {
                let d = wrong(&other.to_string());
                self.error(d);
            }
        }
        self.id_of(t)
    }

    /// An object passes its ID.
    fn id_of(&self, t: TExpr) -> TExpr {
        match t.ty.base().clone() {
            Ty::Object(o) => {
                let sp = t.span;
                let ty = if t.ty.is_nullable() {
                    Ty::Ref(o).nullable()
                } else {
                    Ty::Ref(o)
                };
                TExpr {
                    kind: TExprKind::IdOf(Box::new(t)),
                    ty,
                    span: sp,
                }
            }
            _ => t,
        }
    }

    /// A parameter's value, checked against its catalogue type (nested parameter
    /// objects and lists included).
    fn api_value(&mut self, api: &Catalogue, owner: &str, p: &ApiParam, e: &ast::Expr) -> TExpr {
        if matches!(e.kind, ExprKind::Null) {
            let t = self.expr(e);
            if !p.nullable {
                self.error(
                    Diagnostic::error(
                        "E0305",
                        format!("`{}` of `stripe.{owner}` cannot be null", p.name),
                    )
                    .with_label(t.span, "null is not accepted here")
                    .with_help("leave the parameter out to keep the value Stripe has"),
                );
            }
            return t;
        }
        let action = format!("stripe.{owner}");
        match &p.ty {
            FieldType::Object(block) => self.object_value(api, owner, &p.name, block, e),
            FieldType::List(inner) => {
                if let ExprKind::List(items) = &e.kind {
                    let item_param = ApiParam {
                        name: format!("{}[]", p.name),
                        ty: (**inner).clone(),
                        nullable: false,
                        required: true,
                        in_path: false,
                    };
                    let checked: Vec<TExpr> = items
                        .iter()
                        .map(|i| self.api_value(api, owner, &item_param, i))
                        .collect();
                    let item_ty = checked.first().map(|t| t.ty.clone()).unwrap_or(Ty::Json);
                    return TExpr {
                        kind: TExprKind::List(checked),
                        ty: Ty::List(Box::new(item_ty)),
                        span: e.span,
                    };
                }
                let t = self.expr(e);
                if !matches!(t.ty.base(), Ty::List(_) | Ty::Json | Ty::Error) {
                    self.mismatch(
                        &t,
                        &format!("`{}` of `{action}` takes a list", p.name),
                        &format!("write the items in brackets: `{}: [ … ]`", p.name),
                    );
                }
                t
            }
            FieldType::Enum { values, open } => {
                let t = self.expr(e);
                match (&t.kind, t.ty.base()) {
                    (TExprKind::Lit(Lit::Str(s)), _) => {
                        if !values.contains(s) {
                            let en = EnumTy {
                                origin: format!("{owner}.{}", p.name),
                                values: values.clone(),
                                open: *open,
                            };
                            self.enum_value(&en, s, t.span);
                        }
                    }
                    (_, Ty::Str | Ty::Enum(_) | Ty::Error | Ty::Json) => {}
                    (_, other) => {
                        let other = other.clone();
                        self.mismatch(
                            &t,
                            &format!(
                                "`{}` of `{action}` is one of its values, not {other}",
                                p.name
                            ),
                            "write one of the values as a string",
                        )
                    }
                }
                t
            }
            FieldType::String => {
                let t = self.expr(e);
                // Many of Stripe's string parameters are IDs: an object passes its own.
                if !matches!(
                    t.ty.base(),
                    Ty::Str | Ty::Enum(_) | Ty::Object(_) | Ty::Ref(_) | Ty::Json | Ty::Error
                ) {
                    self.mismatch(
                        &t,
                        &format!("`{}` of `{action}` takes a string, not {}", p.name, t.ty),
                        "write it in quotes, or interpolate a value: `\"{…}\"`",
                    );
                }
                self.id_of(t)
            }
            FieldType::Integer if amount_like(&p.name) => {
                let t = self.expr(e);
                if !matches!(t.ty.base(), Ty::Int | Ty::Money | Ty::Json | Ty::Error) {
                    self.mismatch(
                        &t,
                        &format!("`{}` of `{action}` takes an amount, not {}", p.name, t.ty),
                        "write money such as `5.00 USD`, or a whole number of minor units",
                    );
                }
                t
            }
            FieldType::Timestamp => {
                let t = self.expr(e);
                if !matches!(t.ty.base(), Ty::Timestamp | Ty::Int | Ty::Json | Ty::Error) {
                    self.mismatch(
                        &t,
                        &format!("`{}` of `{action}` takes a time, not {}", p.name, t.ty),
                        "write a time such as `2026-01-31`, `now + 7 days` or a timestamp field",
                    );
                }
                t
            }
            FieldType::Decimal => {
                let t = self.expr(e);
                if !matches!(t.ty.base(), Ty::Decimal | Ty::Int | Ty::Json | Ty::Error) {
                    self.mismatch(
                        &t,
                        &format!("`{}` of `{action}` takes a number, not {}", p.name, t.ty),
                        "",
                    );
                }
                t
            }
            FieldType::Currency => {
                let t = self.expr(e);
                match (&t.kind, t.ty.base()) {
                    (TExprKind::Lit(Lit::Str(s)), _) => {
                        if flow_stdlib::money::Currency::parse(s).is_none() {
                            self.error(
                                Diagnostic::error(
                                    "E0202",
                                    format!("`{s}` is not a currency Stripe supports"),
                                )
                                .with_label(t.span, "not a currency code")
                                .with_help("write a currency code such as `USD` or `EUR`"),
                            );
                        }
                    }
                    (_, Ty::Currency | Ty::Str | Ty::Json | Ty::Error) => {}
                    _ => self.mismatch(
                        &t,
                        &format!("`{}` of `{action}` takes a currency, not {}", p.name, t.ty),
                        "write a currency code such as `USD`",
                    ),
                }
                t
            }
            other => self.param_value(&action, &p.name, other, e),
        }
    }

    /// `{ name: value, … }` for a nested parameter object: each key checked against
    /// the `params` block of the catalogue.
    fn object_value(
        &mut self,
        api: &Catalogue,
        owner: &str,
        param: &str,
        block: &str,
        e: &ast::Expr,
    ) -> TExpr {
        let Some(fields) = api.param_type(block) else {
            return self.expr(e);
        };
        let ExprKind::Map(entries) = &e.kind else {
            let t = self.expr(e);
            if !matches!(t.ty.base(), Ty::Table | Ty::Json | Ty::Error) {
                let names: Vec<String> = fields.iter().map(|f| f.name.clone()).collect();
                self.mismatch(
                    &t,
                    &format!("`{param}` of `stripe.{owner}` takes an object"),
                    &format!("write `{param}: {{ … }}` with some of {}", names.join(", ")),
                );
            }
            return t;
        };
        let mut rows = Vec::new();
        let mut seen: HashMap<&str, Span> = HashMap::new();
        let inner_owner = format!("{owner}.{param}");
        for (k, v) in entries {
            if let Some(first) = seen.get(k.name.as_str()) {
                self.error(
                    Diagnostic::error("E0304", format!("`{}` is given twice", k.name))
                        .with_label(k.span, "given again here")
                        .with_secondary(*first, "first given here")
                        .with_help("give each parameter once"),
                );
                continue;
            }
            seen.insert(&k.name, k.span);
            let Some(f) = fields.iter().find(|f| f.name == k.name) else {
                let close = did_you_mean(&k.name, fields.iter().map(|f| f.name.as_str()));
                let all: Vec<String> = fields.iter().map(|f| format!("`{}`", f.name)).collect();
                self.error(
                    Diagnostic::error(
                        "E0302",
                        format!("`{param}` of `stripe.{owner}` has no field `{}`", k.name),
                    )
                    .with_label(
                        k.span,
                        phrase(&close).unwrap_or_else(|| "unknown field".into()),
                    )
                    .with_help(format!("`{param}` takes {}", all.join(", "))),
                );
                self.expr(v);
                continue;
            };
            let t = self.api_value(api, &inner_owner, f, v);
            rows.push((f.name.clone(), t));
        }
        for f in fields.iter().filter(|f| f.required) {
            if !seen.contains_key(f.name.as_str()) {
                self.error(
                    Diagnostic::error(
                        "E0303",
                        format!("`{param}` of `stripe.{owner}` needs `{}`", f.name),
                    )
                    .with_label(e.span, format!("`{}` is missing", f.name))
                    .with_help(format!(
                        "add `{}: …` ({})",
                        f.name,
                        Ty::of_type(&f.name, &f.ty)
                    )),
                );
            }
        }
        // Money in a nested object whose sibling `currency` is written as a literal:
        // the two agree.
        if let Some(c) = rows
            .iter()
            .find_map(|(k, t)| (k == "currency").then(|| literal_currency(t)).flatten())
        {
            for (k, t) in &rows {
                if let (Some(FieldType::Money { .. }), Some(m)) = (
                    fields.iter().find(|f| &f.name == k).map(|f| &f.ty),
                    literal_money_currency(t),
                ) {
                    if m != c {
                        self.error(currency_clash(k, t.span, &m, &c));
                    }
                }
            }
        }
        TExpr {
            kind: TExprKind::Table(rows),
            ty: Ty::Table,
            span: e.span,
        }
    }

    /// Settle how each amount is tied to a currency: a `money` parameter to the
    /// `currency` beside it (both literals: they must agree now), an amount in minor
    /// units to the object it is about (checked when the call runs).
    fn money_rules(
        &mut self,
        method: &Method,
        resource_object: Option<&str>,
        args: &mut [(StripeArg, TExpr)],
    ) {
        let given_currency = args
            .iter()
            .find(|(a, _)| a.name == "currency")
            .and_then(|(_, t)| literal_currency(t));
        // The argument that names the payment or document an amount is part of: its
        // currency is the amount's (a refund's charge, a credit note's invoice).
        let context = args.iter().enumerate().find_map(|(i, (a, t))| {
            let object = match (&a.kind, t.ty.base()) {
                (ArgKind::Path | ArgKind::Param, Ty::Ref(o) | Ty::Object(o)) => Some(o.clone()),
                (ArgKind::Path, _) if a.name == "id" => resource_object.map(str::to_string),
                (ArgKind::Param, _) => match method.param(&a.name).map(|p| &p.ty) {
                    Some(FieldType::Ref(o)) => Some(o.clone()),
                    _ => None,
                },
                _ => None,
            }?;
            AMOUNT_CONTEXTS
                .contains(&object.as_str())
                .then_some((i as u32, object))
        });
        for (a, t) in args.iter_mut() {
            match &mut a.kind {
                ArgKind::Money => {
                    if let (Some(c), Some(m)) = (&given_currency, literal_money_currency(t)) {
                        if &m != c {
                            let d = currency_clash(&a.name, t.span, &m, c);
                            self.error(d);
                        }
                    }
                    // Part of a payment or a document: in its currency.
                    if let Some((i, o)) = &context {
                        a.kind = ArgKind::Amount {
                            context: *i,
                            object: o.clone(),
                        };
                    }
                }
                ArgKind::Amount {
                    context: at,
                    object,
                } => match &context {
                    Some((i, o)) => {
                        *at = *i;
                        *object = o.clone();
                    }
                    None => {
                        self.error(
                            Diagnostic::error(
                                "E0315",
                                format!("flow cannot tell which currency `{}` of `stripe.{}` is in", a.name, method.name),
                            )
                            .with_label(t.span, "money, but the call names no object whose currency it must be in")
                            .with_help("give the object the amount is about (such as `invoice: id`), or write a whole number of minor units"),
                        );
                    }
                },
                _ => {}
            }
        }
    }
}

/// The object type an ID in a path names: the resource's own for `id`, else the
/// object type the placeholder is named after (`{customer}`), if there is one.
fn path_object(
    resource_object: Option<&str>,
    p: &ApiParam,
    lib: &flow_stdlib::Stdlib,
) -> Option<String> {
    if p.name == "id" {
        return resource_object.map(str::to_string);
    }
    lib.object(&p.name)
        .filter(|d| d.field("id").is_some())
        .map(|d| d.name.clone())
}

fn literal_currency(t: &TExpr) -> Option<String> {
    match &t.kind {
        TExprKind::Lit(Lit::Currency(c)) => Some(c.code().to_string()),
        TExprKind::Lit(Lit::Str(s)) => {
            flow_stdlib::money::Currency::parse(s).map(|c| c.code().to_string())
        }
        _ => None,
    }
}

fn literal_money_currency(t: &TExpr) -> Option<String> {
    match &t.kind {
        TExprKind::Lit(Lit::Money(m)) => Some(m.currency.code().to_string()),
        _ => None,
    }
}

fn currency_clash(param: &str, span: Span, money: &str, currency: &str) -> Diagnostic {
    Diagnostic::error(
        "E0315",
        format!("`{param}` is in {money}, but the call's `currency` is {currency}"),
    )
    .with_label(span, format!("{money}, not {currency}"))
    .with_help(format!(
        "write the amount in {currency}, or leave `currency` out: it is taken from the money"
    ))
}

fn unknown_method(resource: &flow_stdlib::api::Resource, name: &ast::Ident) -> Diagnostic {
    let names = resource.methods.iter().map(|m| m.name.as_str());
    let close = did_you_mean(&name.name, names);
    let all: Vec<String> = resource
        .methods
        .iter()
        .map(|m| format!("`{}`", m.name))
        .collect();
    Diagnostic::error(
        "E0301",
        format!("`stripe.{}` has no method `{}`", resource.name, name.name),
    )
    .with_label(
        name.span,
        phrase(&close).unwrap_or_else(|| "not a method of this resource".into()),
    )
    .with_help(format!(
        "the methods of `stripe.{}` are {}; `flow actions {}` shows their parameters",
        resource.name,
        all.join(", "),
        resource.name
    ))
}

fn unknown_resource(api: &Catalogue, name: &ast::Ident) -> Diagnostic {
    let names = api.resources.iter().map(|r| r.name.as_str());
    let mut close = did_you_mean(&name.name, names);
    // `stripe.invoice.…`: the object type, where the resource is its plural.
    if let Some(r) = api
        .resources
        .iter()
        .find(|r| r.object.as_deref() == Some(name.name.as_str()))
    {
        close.retain(|c| *c != r.name);
        close.insert(0, r.name.as_str());
    }
    Diagnostic::error(
        "E0301",
        format!("Stripe's API has no resource `{}`", name.name),
    )
    .with_label(
        name.span,
        phrase(&close).unwrap_or_else(|| "not a resource of Stripe's API".into()),
    )
    .with_help(
        "resources are named as in Stripe's Python library, in the plural: `stripe.invoices`, `stripe.checkout.sessions`; `flow actions` lists them",
    )
}

fn unknown_param(resource: &str, m: &Method, name: &str, span: Span, close: &[&str]) -> Diagnostic {
    let all: Vec<String> = m
        .params
        .iter()
        .map(|p| format!("`{}`", p.name))
        .chain(std::iter::once("`stripe_account`".to_string()))
        .collect();
    Diagnostic::error(
        "E0302",
        format!("`stripe.{resource}.{}` has no parameter `{name}`", m.name),
    )
    .with_label(
        span,
        phrase(close).unwrap_or_else(|| "unknown parameter".into()),
    )
    .with_help(format!("it takes {}", all.join(", ")))
}

fn positional_error(
    resource: &str,
    m: &Method,
    after_named: bool,
    value: &ast::Expr,
) -> Diagnostic {
    let n = m.path_params().count();
    // `list(customer)`: the value's own name is most likely the parameter meant.
    let named = match &value.kind {
        ExprKind::Path(p) => p
            .segments
            .last()
            .filter(|s| m.param(&s.name).is_some_and(|p| !p.in_path))
            .map(|s| format!("{}: {}", s.name, p.dotted())),
        _ => None,
    };
    let example = match &named {
        Some(n) => format!("write `{n}`"),
        None => format!("`{}`", call_example(resource, m)),
    };
    let message = if after_named {
        "an argument by position after one by name".to_string()
    } else if n == 0 {
        format!("`stripe.{resource}.{}` takes no ID by position", m.name)
    } else {
        format!(
            "`stripe.{resource}.{}` takes {n} ID{} by position",
            m.name,
            if n == 1 { "" } else { "s" }
        )
    };
    Diagnostic::error("E0313", message)
        .with_label(value.span, "name this argument: `name: value`")
        .with_help(format!(
            "the IDs in the method's path come first, by position; every other parameter by name: {example}"
        ))
}

#[cfg(test)]
mod tests {
    use crate::{check_file, Env};
    use flow_syntax::{parse, SourceFile};

    fn codes(body: &str) -> Vec<&'static str> {
        let text = format!("on invoice.overdue {{\n{body}\n}}\n");
        let src = SourceFile::new("t.flow", &text);
        let p = parse(&src);
        assert!(p.diagnostics.is_empty(), "{body}: {:?}", p.diagnostics);
        let (_, d) = check_file(&p.file, src, &Env::new(flow_stdlib::builtin()), "t");
        d.iter().map(|d| d.code).collect()
    }

    fn ty_of(body: &str, name: &str) -> String {
        let text = format!("on invoice.overdue {{\n{body}\n}}\n");
        let src = SourceFile::new("t.flow", &text);
        let p = parse(&src);
        let env = Env::new(flow_stdlib::builtin());
        let mut c = crate::Checker::new(env);
        c.set_object(Some("invoice".into()));
        for s in &p.file.workflows[0].body.stmts {
            c.stmt(s);
        }
        let names = c.local_names();
        let found = names.iter().find(|(n, _)| n == name);
        found.map(|(_, t)| t.to_string()).unwrap_or_default()
    }

    #[test]
    fn a_call_that_fits_the_catalogue_checks() {
        for ok in [
            "stripe.invoices.void_invoice(id)",
            "stripe.invoices.void_invoice(id: id)",
            "stripe.invoices.void_invoice(\"in_123\")",
            "let cn = stripe.credit_notes.create(invoice: id, amount: 5 USD, reason: \"order_change\")",
            "stripe.customers.update(\"cus_1\", metadata: {\"Tier\": \"VIP\"})",
            "stripe.subscriptions.cancel(\"sub_1\", prorate: true)",
            "let open = stripe.invoices.list(customer: \"cus_1\", status: \"open\")",
            "stripe.invoice_items.create(customer: \"cus_1\", amount: 5 USD)",
            "stripe.checkout.sessions.expire(\"cs_1\")",
            "stripe.credit_notes.create(invoice: id, lines: [{type: \"custom_line_item\", unit_amount: 500, quantity: 1, description: \"Goodwill\"}])",
            "stripe.customers.update(\"cus_1\", metadata: {\"Tier\": \"VIP\"}, stripe_account: null)",
            "stripe.customers.update(\"cus_1\", business_name: null)",
        ] {
            let got = codes(ok);
            assert!(
                got.iter().all(|c| c.starts_with('W')),
                "{ok}: {got:?}"
            );
        }
    }

    #[test]
    fn answers_are_typed_as_the_method_returns() {
        assert_eq!(
            ty_of("let cn = stripe.credit_notes.create(invoice: id)", "cn"),
            "credit_note"
        );
        assert_eq!(
            ty_of("let open = stripe.invoices.list(status: \"open\")", "open"),
            "list<invoice>"
        );
        assert_eq!(
            ty_of("let c = stripe.customers.retrieve(\"cus_1\")", "c"),
            "customer"
        );
    }

    #[test]
    fn mistakes_have_their_codes() {
        let cases: &[(&str, &[&str])] = &[
            ("stripe.invoice.void_invoice(id)", &["E0301"]),
            ("stripe.invoices.void(id)", &["E0301"]),
            ("stripe.invoices.list(custmer: \"cus_1\")", &["E0302"]),
            ("stripe.invoices.void_invoice()", &["E0303"]),
            ("stripe.credit_notes.create(amount: 5 USD)", &["E0303"]),
            ("stripe.invoices.void_invoice(id, id: id)", &["E0304"]),
            ("stripe.invoices.void_invoice(customer)", &["E0305"]),
            ("stripe.subscriptions.cancel(\"sub_1\", prorate: \"yes\")", &["E0305"]),
            ("stripe.invoices.list(status: 3)", &["E0305"]),
            ("stripe.invoices.list(\"cus_1\")", &["E0313"]),
            ("stripe.invoices.list(status: \"opn\")", &["E0204"]),
            ("stripe.credit_notes.create(invoice: id, reason: \"goodwill\")", &["W0101"]),
            ("stripe.credit_notes.create(invoice: id, lines: [{typ: \"custom_line_item\"}])", &["E0302", "E0303"]),
            ("stripe.invoice_items.create(customer: \"cus_1\", amount: 5 EUR, currency: \"usd\")", &["E0315"]),
            ("stripe.invoice_items.create(customer: \"cus_1\", amount: 500)", &["E0305"]),
            ("stripe.customers.update(\"cus_1\", stripe_account: \"cus_9\")", &["E0305"]),
            ("stripe.customers.update(\"cus_1\", description: null)", &["E0305"]),
            ("stripe.invoices.void_invoice(id, stripe_account: 3)", &["E0305"]),
        ];
        for (body, want) in cases {
            assert_eq!(&codes(body), want, "{body}");
        }
    }

    #[test]
    fn a_method_that_changes_something_is_refused_in_when() {
        let text = "on invoice.overdue when stripe.invoices.void_invoice(id) != null {\n}\n";
        let src = SourceFile::new("t.flow", text);
        let p = parse(&src);
        let (_, d) = check_file(&p.file, src, &Env::new(flow_stdlib::builtin()), "t");
        assert!(d.iter().any(|d| d.code == "E0314"), "{d:?}");
        let read = "on invoice.overdue when stripe.customers.retrieve(\"cus_1\") != null {\n}\n";
        let src = SourceFile::new("t.flow", read);
        let p = parse(&src);
        let (_, d) = check_file(&p.file, src, &Env::new(flow_stdlib::builtin()), "t");
        assert!(!d.iter().any(|d| d.code == "E0314"), "{d:?}");
    }
}
