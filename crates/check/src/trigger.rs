//! The triggers that are not events: `on schedule "CRON" timezone "ZONE"` (E0317)
//! and `on demand (INPUTS)` (E0318), and the `wait` statement (E0320).

use flow_program::{InputSpec, InputType, Lit, ScheduleSpec};
use flow_stdlib::cron::{Schedule, ZoneOrCron};
use flow_syntax::ast;
use flow_syntax::{Diagnostic, Span};

use crate::tree::{TExprKind, TStmt};
use crate::types::{EnumTy, Ty};
use crate::Checker;
use flow_stdlib::suggest::{did_you_mean, phrase};

/// The types an input may have, for help texts.
const INPUT_TYPES: &str = "bool, integer, decimal, string, timestamp, duration, currency, money, metadata, json, ref<OBJECT>, list<TYPE>, enum(a|b)";

/// The type of an input's value in the language, from its spec (for the tests of
/// on-demand workflows).
pub(crate) fn input_ty(t: &InputType, optional: bool) -> Ty {
    let ty = match t {
        InputType::Bool => Ty::Bool,
        InputType::Integer => Ty::Int,
        InputType::Decimal => Ty::Decimal,
        InputType::String => Ty::Str,
        InputType::Timestamp => Ty::Timestamp,
        InputType::Duration => Ty::Duration,
        InputType::Currency => Ty::Currency,
        InputType::Money => Ty::Money,
        InputType::Ref(o) => Ty::Ref(o.clone()),
        InputType::List(i) => Ty::List(Box::new(input_ty(i, false))),
        InputType::Metadata => Ty::Metadata,
        InputType::Enum(_) | InputType::Json => Ty::Json,
    };
    if optional {
        ty.nullable()
    } else {
        ty
    }
}

/// The inputs of the on-demand workflows of the file a test file tests, typed (those
/// whose type is wrong are that file's to report).
pub(crate) fn subject_inputs(decls: &[ast::InputDecl], env: &crate::Env<'_>) -> Vec<(String, Ty)> {
    let cx = Checker::new(*env);
    decls
        .iter()
        .filter_map(|d| {
            let (text, optional) = match d.ty.strip_suffix('?') {
                Some(t) => (t, true),
                None => (d.ty.as_str(), false),
            };
            let (_, ty) = cx.input_type(text).ok()?;
            let optional = optional || d.default.is_some();
            Some((
                d.name.name.clone(),
                if optional { ty.nullable() } else { ty },
            ))
        })
        .collect()
}

impl Checker<'_> {
    /// Check a schedule: the cron text and the zone, each error on its span.
    pub(crate) fn schedule(
        &mut self,
        cron: &(String, Span),
        timezone: Option<&(String, Span)>,
    ) -> Option<ScheduleSpec> {
        let zone = timezone.map_or("UTC", |z| z.0.as_str());
        match Schedule::parse(&cron.0, zone) {
            Ok(_) => Some(ScheduleSpec {
                cron: cron.0.clone(),
                timezone: zone.to_string(),
            }),
            Err(e) => {
                let (inside, what, err) = match &e {
                    ZoneOrCron::Cron(err) => (cron.1, "schedule", err),
                    ZoneOrCron::Zone(err) => (timezone.map_or(cron.1, |z| z.1), "time zone", err),
                };
                // The span inside the string literal: past its opening quote.
                let start = inside.start as usize + 1;
                let end = (start + err.span.end).min((inside.end as usize).saturating_sub(1));
                let label = Span::new(start + err.span.start, end.max(start + err.span.start));
                self.error(
                    Diagnostic::error("E0317", format!("this {what} is wrong: {}", err.message))
                        .with_label(label, err.message.clone())
                        .with_help(err.help.clone()),
                );
                None
            }
        }
    }

    /// Declare the inputs of an on-demand workflow as names in scope, in order, each
    /// with its type; their specs for the program.
    pub(crate) fn inputs(&mut self, decls: &[ast::InputDecl]) -> Vec<InputSpec> {
        let mut out: Vec<InputSpec> = Vec::new();
        let mut seen: Vec<(&str, Span)> = Vec::new();
        for d in decls {
            if let Some((_, first)) = seen.iter().find(|(n, _)| *n == d.name.name) {
                self.error(
                    Diagnostic::error(
                        "E0318",
                        format!("the input `{}` is declared twice", d.name.name),
                    )
                    .with_label(d.name.span, "declared again here")
                    .with_secondary(*first, "first declared here")
                    .with_help("give each input a name of its own"),
                );
                continue;
            }
            seen.push((&d.name.name, d.name.span));
            let (text, optional) = match d.ty.strip_suffix('?') {
                Some(t) => (t, true),
                None => (d.ty.as_str(), false),
            };
            let (input, ty) = match self.input_type(text) {
                Ok(t) => t,
                Err((message, help)) => {
                    self.error(
                        Diagnostic::error("E0318", message.clone())
                            .with_label(d.ty_span, message)
                            .with_help(help),
                    );
                    (InputType::Json, Ty::Error)
                }
            };
            let default = d.default.as_ref().and_then(|e| self.input_default(e, &ty));
            let ty = if optional && default.is_none() {
                ty.nullable()
            } else {
                ty
            };
            let slot = self.declare(&d.name.name, ty, d.name.span);
            if let Some(l) = self.lookup_local(&d.name.name) {
                // Declared by the user: an input never read is worth a warning.
                l.used = false;
            }
            out.push(InputSpec {
                name: d.name.name.clone(),
                ty: input,
                optional: optional || default.is_some(),
                default,
                slot,
            });
        }
        out
    }

    /// A default must be a literal of the input's type.
    fn input_default(&mut self, e: &ast::Expr, ty: &Ty) -> Option<Lit> {
        let t = self.expr(e);
        if t.ty.is_error() {
            return None;
        }
        let TExprKind::Lit(l) = &t.kind else {
            self.error(
                Diagnostic::error("E0318", "an input's default is a literal value")
                    .with_label(t.span, "not a literal")
                    .with_help("write the value itself, such as `\"none\"`, `0 USD` or `7 days`; compute anything else in the body"),
            );
            return None;
        };
        if matches!(l, Lit::Null) || !self.assignable(&t.ty, ty) {
            self.error(
                Diagnostic::error("E0318", format!("this default is {}, not {ty}", t.ty))
                    .with_label(t.span, format!("this is {}", t.ty))
                    .with_help(format!(
                        "give a {ty} as the default, or make the input optional with `{ty}?` and no default"
                    )),
            );
            return None;
        }
        Some(l.clone())
    }

    /// The type written after an input's name.
    fn input_type(&self, text: &str) -> Result<(InputType, Ty), (String, String)> {
        let simple = match text {
            "bool" => Some((InputType::Bool, Ty::Bool)),
            "integer" => Some((InputType::Integer, Ty::Int)),
            "decimal" => Some((InputType::Decimal, Ty::Decimal)),
            "string" => Some((InputType::String, Ty::Str)),
            "timestamp" => Some((InputType::Timestamp, Ty::Timestamp)),
            "duration" => Some((InputType::Duration, Ty::Duration)),
            "currency" => Some((InputType::Currency, Ty::Currency)),
            "money" => Some((InputType::Money, Ty::Money)),
            "metadata" => Some((InputType::Metadata, Ty::Metadata)),
            "json" => Some((InputType::Json, Ty::Json)),
            _ => None,
        };
        if let Some(s) = simple {
            return Ok(s);
        }
        if let Some(inner) = text.strip_prefix("ref<").and_then(|t| t.strip_suffix('>')) {
            if !self.env.lib.has_object(inner) {
                let close = did_you_mean(inner, self.env.lib.object_names());
                return Err((
                    format!("`{inner}` is not a Stripe object type"),
                    phrase(&close).map_or_else(
                        || "see `flow fields` for the object types".to_string(),
                        |p| format!("{p} See `flow fields` for the object types"),
                    ),
                ));
            }
            return Ok((
                InputType::Ref(inner.to_string()),
                Ty::Ref(inner.to_string()),
            ));
        }
        if let Some(inner) = text.strip_prefix("list<").and_then(|t| t.strip_suffix('>')) {
            let (i, t) = self.input_type(inner)?;
            return Ok((InputType::List(Box::new(i)), Ty::List(Box::new(t))));
        }
        if let Some(inner) = text.strip_prefix("enum(").and_then(|t| t.strip_suffix(')')) {
            let values: Vec<String> = inner.split('|').map(str::to_string).collect();
            if values.iter().any(String::is_empty) {
                return Err((
                    "an enum lists its values: `enum(low|high)`".into(),
                    "separate the values with `|`, with no empty one".into(),
                ));
            }
            let ty = Ty::Enum(std::rc::Rc::new(EnumTy {
                origin: "input".into(),
                values: values.clone(),
                open: false,
            }));
            return Ok((InputType::Enum(values), ty));
        }
        for (round, angle) in [("ref(", "ref<"), ("list(", "list<")] {
            if let Some(inner) = text.strip_prefix(round).and_then(|t| t.strip_suffix(')')) {
                return Err((
                    format!("`{text}` is written `{angle}{inner}>` here"),
                    format!("an input's type is one of {INPUT_TYPES}"),
                ));
            }
        }
        if self.env.lib.has_object(text) {
            return Err((
                format!("an input cannot be a whole {text}"),
                format!("take its ID, `ref<{text}>`, and retrieve it in the body if you need its fields (`let c = stripe.{text}s.retrieve(id)`)"),
            ));
        }
        let names = [
            "bool",
            "integer",
            "decimal",
            "string",
            "timestamp",
            "duration",
            "currency",
            "money",
            "metadata",
            "json",
        ];
        let close = did_you_mean(text, names.iter().copied());
        Err((
            format!("`{text}` is not a type"),
            match phrase(&close) {
                Some(p) => format!("{p} An input's type is one of {INPUT_TYPES}"),
                None => format!("an input's type is one of {INPUT_TYPES}"),
            },
        ))
    }

    /// `wait DURATION` or `wait until TIMESTAMP`.
    pub(crate) fn wait(&mut self, until: bool, value: &ast::Expr, span: Span) -> Option<TStmt> {
        let t = self.expr(value);
        let want = if until { Ty::Timestamp } else { Ty::Duration };
        if t.ty.is_error() {
            return None;
        }
        let nullable = t.ty.is_nullable() && !matches!(t.ty, Ty::Json);
        if *t.ty.base() != want && !matches!(t.ty.base(), Ty::Json) || nullable {
            let (message, help) = if until {
                (
                    format!("`wait until` needs a timestamp, not {}", t.ty),
                    "write a time: `wait until inv.due_date`, `wait until 2027-01-01T09:00:00Z`; to wait a length of time, `wait 3 days`",
                )
            } else {
                (
                    format!("`wait` needs a length of time, not {}", t.ty),
                    "write a duration such as `wait 3 days` or `wait 2 hours`; to wait for a time, `wait until TIME`",
                )
            };
            let d = if nullable && *t.ty.base() == want {
                Diagnostic::error(
                    "E0320",
                    format!("the time to wait for may be null (this is {})", t.ty),
                )
                .with_label(t.span, "may be null")
                .with_help("wait only when it is set: `if x != null { wait until x }`")
            } else {
                Diagnostic::error("E0320", message)
                    .with_label(t.span, format!("this is {}", t.ty))
                    .with_help(help)
            };
            self.error(d);
            return None;
        }
        Some(TStmt::Wait {
            until,
            value: t,
            span,
        })
    }
}
