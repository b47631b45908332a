//! `stripe.RESOURCE.METHOD(…)` at run time: the request built from the argument
//! values (path filled in and escaped, money in minor units in the currency it must
//! be in), carried out through the bindings, lists and searches followed page by
//! page, and the answer made a value.

use std::rc::Rc;

use flow_program::{ArgKind, StripeSpec};
use flow_stdlib::money::Currency;
use flow_syntax::Span;
use serde_json::{Map, Value as Json};

use crate::action::{escape_segment, Action, Returns, StripeCall};
use crate::error::{RunCode, RunError};
use crate::{Machine, Value};

/// Stripe's largest page.
const PAGE: u32 = 100;

impl Machine<'_> {
    /// Call the method `spec` with `values` (one per argument, in order); its answer.
    pub(crate) fn stripe(
        &mut self,
        spec: &StripeSpec,
        values: Vec<Value>,
        span: Span,
    ) -> Result<Value, RunError> {
        let mut path = spec.path.clone();
        let mut id = None;
        let mut account = self.event.account().map(str::to_string);
        let mut params = Map::new();
        let mut fill_currency: Option<Currency> = None;
        for (arg, value) in spec.args.iter().zip(&values) {
            match &arg.kind {
                ArgKind::Path => {
                    let text =
                        self.id_text(value, arg.span, &format!("call stripe.{}", spec.method))?;
                    if id.is_none() {
                        id = Some(text.clone());
                    }
                    path = path.replace(&format!("{{{}}}", arg.name), &escape_segment(&text));
                }
                ArgKind::Account => {
                    account = match value {
                        Value::Null => None,
                        other => Some(other.to_text()),
                    }
                }
                ArgKind::Param => {
                    params.insert(arg.name.clone(), value.to_stripe());
                }
                ArgKind::Money => {
                    if let Value::Money(m) = value {
                        let given = spec
                            .args
                            .iter()
                            .zip(&values)
                            .find(|(a, _)| a.name == "currency")
                            .map(|(_, v)| v);
                        match given.and_then(currency_of_value) {
                            Some(c) if c != m.currency => {
                                return Err(RunError::at(
                                    RunCode::Currency,
                                    span,
                                    format!(
                                        "`{}` is {m}, but `currency` is {}: stripe.{} was not called; amounts are never converted",
                                        arg.name,
                                        c.code(),
                                        spec.method
                                    ),
                                ))
                            }
                            Some(_) => {}
                            None if given.is_none() => fill_currency = Some(m.currency),
                            None => {}
                        }
                    }
                    params.insert(arg.name.clone(), value.to_stripe());
                }
                ArgKind::Amount { context, object } => {
                    if let Value::Money(m) = value {
                        let about = values.get(*context as usize).unwrap_or(&Value::Null);
                        let at = spec.args.get(*context as usize).map_or(span, |a| a.span);
                        let c = self.currency_of(about, object, at)?;
                        if c != m.currency {
                            let who = match about {
                                Value::Object(o) => {
                                    o.get("id").and_then(Json::as_str).unwrap_or("").to_string()
                                }
                                other => other.to_text(),
                            };
                            return Err(RunError::at(
                                RunCode::Currency,
                                span,
                                format!(
                                    "`{}` is {m}, but the {object} {who} is in {}: stripe.{} was not called; amounts are never converted",
                                    arg.name,
                                    c.code(),
                                    spec.method
                                ),
                            ));
                        }
                    }
                    params.insert(arg.name.clone(), value.to_stripe());
                }
            }
        }
        if let Some(c) = fill_currency {
            params.insert("currency".into(), Json::String(c.api_code()));
        }
        let returns = Returns::parse(&spec.returns);
        let http = format!("{} {path}", spec.verb);
        let Some(max) = spec
            .max_items
            .filter(|_| matches!(returns, Returns::List(_)))
        else {
            let call = StripeCall {
                method: spec.method.clone(),
                http,
                id,
                account,
                params: Json::Object(params),
                returns: returns.clone(),
            };
            let answer = self.perform(Action::Stripe(call), span)?;
            return match returns {
                Returns::Object(o) if !answer.is_object() => Err(RunError::at(
                    RunCode::BadAnswer,
                    span,
                    format!(
                        "stripe.{}: the answer is not {} object",
                        spec.method,
                        if o.starts_with(['a', 'e', 'i', 'o', 'u']) {
                            format!("an {o}")
                        } else {
                            format!("a {o}")
                        }
                    ),
                )),
                Returns::Object(_) => Ok(Value::Object(Rc::new(answer))),
                _ => Ok(Value::from_json(&answer)),
            };
        };
        // A list or a search: pages until the list ends or `max` items are in; a
        // `limit` given is the most items wanted.
        let wanted = match params.get("limit").and_then(Json::as_u64) {
            Some(l) => (l as u32).min(max),
            None => max,
        };
        let search = spec.method.ends_with(".search") || spec.path.ends_with("/search");
        let mut items: Vec<Value> = Vec::new();
        loop {
            let mut page = params.clone();
            let left = wanted.saturating_sub(items.len() as u32).max(1);
            page.insert("limit".into(), Json::from(left.min(PAGE)));
            let call = StripeCall {
                method: spec.method.clone(),
                http: http.clone(),
                id: id.clone(),
                account: account.clone(),
                params: Json::Object(page),
                returns: returns.clone(),
            };
            let answer = self.perform(Action::Stripe(call), span)?;
            let Some(data) = answer.get("data").and_then(Json::as_array) else {
                return Err(RunError::at(
                    RunCode::BadAnswer,
                    span,
                    format!(
                        "stripe.{}: the answer is not a list (no `data`)",
                        spec.method
                    ),
                ));
            };
            for item in data {
                if items.len() as u32 >= wanted {
                    break;
                }
                items.push(Value::Object(Rc::new(item.clone())));
            }
            let more = answer.get("has_more").and_then(Json::as_bool) == Some(true);
            if !more || items.len() as u32 >= wanted || data.is_empty() {
                break;
            }
            if search {
                match answer.get("next_page").and_then(Json::as_str) {
                    Some(next) => {
                        params.insert("page".into(), Json::String(next.to_string()));
                    }
                    None => break,
                }
            } else {
                match data.last().and_then(|o| o.get("id")).and_then(Json::as_str) {
                    Some(last) => {
                        params.insert("starting_after".into(), Json::String(last.to_string()));
                    }
                    None => break,
                }
            }
        }
        Ok(Value::List(items.into()))
    }

    /// The currency of the object `about` names (the object, or its ID), which the
    /// money of a call must be in: read from the object, from the event's own object
    /// when it is that one, or else retrieved.
    fn currency_of(
        &mut self,
        about: &Value,
        object: &str,
        span: Span,
    ) -> Result<Currency, RunError> {
        let from = |o: &Json| {
            o.get("currency")
                .and_then(Json::as_str)
                .and_then(Currency::parse)
        };
        let id = match about {
            Value::Object(o) => {
                if let Some(c) = from(o) {
                    return Ok(c);
                }
                o.get("id").and_then(Json::as_str).unwrap_or("").to_string()
            }
            other => self.id_text(other, span, &format!("find the currency of the {object}"))?,
        };
        let own = self.object();
        if own.get("id").and_then(Json::as_str) == Some(id.as_str()) {
            if let Some(c) = from(own) {
                return Ok(c);
            }
        }
        let got = self.perform(
            Action::Retrieve {
                object: object.to_string(),
                id: id.clone(),
                account: self.event.account().map(str::to_string),
            },
            span,
        )?;
        from(&got).ok_or_else(|| {
            RunError::at(
                RunCode::BadAnswer,
                span,
                format!(
                    "the {object} {id} has no currency: the amount's currency cannot be checked"
                ),
            )
        })
    }
}

fn currency_of_value(v: &Value) -> Option<Currency> {
    match v {
        Value::Currency(c) => Some(*c),
        Value::Str(s) => Currency::parse(s),
        _ => None,
    }
}
