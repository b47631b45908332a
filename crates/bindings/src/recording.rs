//! The recording bindings: nothing leaves the machine, and every Stripe call is
//! answered from a store of objects, the same way each time, so that the steps after
//! a call run as they would against Stripe.
//!
//! The store holds the objects given with `--objects` ([`Recording::load_dir`],
//! [`Recording::add`]) and the event's own object (`ActionContext::trigger`). What a
//! call creates, changes or deletes is kept for the rest of that run (one event and
//! one workflow): a later call of the same run sees it, another run starts again from
//! the objects given, so the answers never depend on the order runs are made in.
//!
//! How a call of a Stripe method (`Action::Stripe`) is answered, by its verb, its path
//! (read with the API catalogue's template) and what it returns:
//!
//! - **Read of one object** (`GET` ending with an id, `charges.retrieve`): the object
//!   with that id. An unknown id, or an object of another type than the method
//!   returns, is refused. A read of an object without an id in the path (`balance`)
//!   answers the newest object of that type.
//! - **List** (`GET` returning a list): the objects of the listed type, filtered by
//!   each parameter that names a top-level field of that type (`customer`, `status`,
//!   `invoice`, …): kept when the field equals the parameter, a field holding an
//!   expanded object compared by its `id`. Not filters: `limit`, `starting_after`,
//!   `ending_before`, `expand`, `created`, `page`, `query`, any parameter whose value
//!   is not a string, number or boolean (ranges such as `created[gte]`), `status:
//!   "all"`, and any parameter naming no field of the type. A nested list
//!   (`GET /v1/customers/cus_1/balance_transactions`) keeps the objects whose parent
//!   field (`customer`) is that id, or that have no such field. Newest first (`created`
//!   descending, then `id` descending), `limit` items (10 unless given, 1 to 100) after
//!   `starting_after` (or before `ending_before`), with `has_more`.
//! - **Search** (method `search`): a subset of Stripe's query language, clauses
//!   `field:"value"`, `field:'value'` and `metadata["key"]:"value"` joined by `AND`;
//!   anything else (`OR`, `-`, `~`, `>`, `<`, unquoted values) is refused. Pages are
//!   cut like lists; `page` is the offset of the next page, as text.
//! - **Create** (`POST` without an id, or under a parent: `customers/{id}/tax_ids`): a
//!   new object `{"id", "object", "created": now, "livemode": false}` with the
//!   parameters in it (and the parent's id, under its type, for a nested one). The id
//!   is Stripe's prefix for the type (`cn_` for a credit note, the type's name when
//!   there is none) and a hash of the event id, the workflow and the step (the action's
//!   idempotency key), or of the call when the event has no id: the same run makes the
//!   same ids. An `id` parameter (coupons, products) is the id.
//! - **Change** (`POST` on an object: `customers.update`, `invoices.void_invoice`): the
//!   object with the parameters deep-merged into it; in `metadata`, a key set to null or
//!   `""` is removed. An unknown object is answered as `{"id", "object"}` with the
//!   parameters, not refused. Recording bindings apply the parameters only: they do not
//!   make the changes Stripe would (a voided invoice keeps its `status`).
//! - **Delete** (a `DELETE` answering a `deleted_…` type): `{"id", "object", "deleted":
//!   true}`, and the object leaves the store. A `DELETE` answering the object itself
//!   (`subscriptions.cancel`) is a change.
//! - A method that returns JSON (no object type) is answered `{}` for a `POST` or a
//!   `DELETE`; reading one is refused.
//!
//! `retrieve` is answered from the same store. Updates, refunds, e-mails, Slack
//! messages and `http` requests are recorded and answered with null.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value as Json};
use sha2::{Digest, Sha256};

use flow_vm::{idempotency_key, Action, ActionContext, ActionError, Bindings, StripeCall};

/// The default bindings: nothing leaves the machine. Stripe calls and retrieves are
/// answered from objects given with `--objects`, the event's object and what earlier
/// calls of the run made.
#[derive(Clone, Default)]
pub struct Recording {
    /// The objects given, by id.
    objects: HashMap<String, Json>,
    /// What calls of the current run made, changed (`Some`) or deleted (`None`).
    changed: HashMap<String, Option<Json>>,
    /// The run `changed` belongs to: event id and workflow.
    run: Option<(Option<String>, String)>,
    /// What a method answers whatever it is asked (`answer stripe.… with …` in a
    /// test): an object, or the items of a list or a search.
    answers: HashMap<String, Json>,
}

impl Recording {
    pub fn new() -> Recording {
        Recording::default()
    }

    pub fn with_object(mut self, object: Json) -> Recording {
        self.add(object);
        self
    }

    pub fn add(&mut self, object: Json) {
        if let Some(id) = object.get("id").and_then(Json::as_str) {
            self.objects.insert(id.to_string(), object);
        }
    }

    /// Answer every call of `method` (`credit_notes.create`) with `answer`: an object,
    /// or an array of the items of a list or a search (one page, complete). An object
    /// answered is found by the run's later reads.
    pub fn answer(&mut self, method: &str, answer: Json) {
        self.answers.insert(method.to_string(), answer);
    }

    /// Load every `.json` file of a folder (any names), or one file: objects are found
    /// by `id`. A file may hold one object or an array of them.
    pub fn load_dir(&mut self, dir: &Path) -> Result<usize, String> {
        let objects = load_objects(dir)?;
        let n = objects.len();
        for o in objects {
            self.add(o);
        }
        Ok(n)
    }
}

/// Stripe objects from a `.json` file or a folder of them (each file one object or
/// an array of objects), each with a string `id`.
pub fn load_objects(path: &Path) -> Result<Vec<Json>, String> {
    let files = if path.is_dir() {
        let entries =
            std::fs::read_dir(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut paths: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("json"))
            .collect();
        paths.sort();
        paths
    } else {
        vec![path.to_path_buf()]
    };
    let mut out = Vec::new();
    for p in files {
        let text =
            std::fs::read_to_string(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        let value: Json = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not valid JSON: {e}", p.display()))?;
        let items = match value {
            Json::Array(items) => items,
            other => vec![other],
        };
        for item in items {
            if item.get("id").and_then(Json::as_str).is_none() {
                return Err(format!(
                    "{}: a Stripe object needs a string `id`",
                    p.display()
                ));
            }
            out.push(item);
        }
    }
    Ok(out)
}

impl Bindings for Recording {
    fn perform(&mut self, action: &Action, cx: &ActionContext<'_>) -> Result<Json, ActionError> {
        match action {
            Action::Retrieve { object, id, .. } => {
                self.begin(cx);
                self.read(&format!("retrieve {object}"), id, object, cx)
            }
            Action::Stripe(call) => {
                self.begin(cx);
                match self.answers.get(&call.method).cloned() {
                    Some(Json::Array(items)) => Ok(serde_json::json!({
                        "object": "list",
                        "data": items,
                        "has_more": false,
                        "url": call.verb_and_path().1,
                    })),
                    Some(answer) => {
                        self.put(&answer);
                        Ok(answer)
                    }
                    None => self.call(call, cx),
                }
            }
            _ => Ok(Json::Null),
        }
    }
}

// The store.
impl Recording {
    /// Forget what another run made.
    fn begin(&mut self, cx: &ActionContext<'_>) {
        let run = (cx.event_id.map(str::to_string), cx.workflow.to_string());
        if self.run.as_ref() != Some(&run) {
            self.changed.clear();
            self.run = Some(run);
        }
    }

    /// The object with this id: made by the run, given, or the event's own.
    fn lookup(&self, id: &str, cx: &ActionContext<'_>) -> Option<Json> {
        if let Some(made) = self.changed.get(id) {
            return made.clone();
        }
        if let Some(given) = self.objects.get(id) {
            return Some(given.clone());
        }
        cx.trigger.filter(|t| id_of(t) == Some(id)).cloned()
    }

    /// Every object of a type the run can see, in no particular order.
    fn of_type(&self, ty: &str, cx: &ActionContext<'_>) -> Vec<Json> {
        let mut ids: Vec<&str> = self.objects.keys().map(String::as_str).collect();
        ids.extend(self.changed.keys().map(String::as_str));
        if let Some(id) = cx.trigger.and_then(id_of) {
            ids.push(id);
        }
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter()
            .filter_map(|id| self.lookup(id, cx))
            .filter(|o| type_of(o) == Some(ty))
            .collect()
    }

    fn put(&mut self, object: &Json) {
        if let Some(id) = id_of(object) {
            self.changed.insert(id.to_string(), Some(object.clone()));
        }
    }
}

/// What a Stripe call does to the store.
#[derive(Debug, PartialEq)]
enum Kind {
    Read(Option<String>),
    List {
        parent: Option<(String, String)>,
    },
    Search,
    Create {
        parent: Option<(String, String)>,
    },
    Change(String),
    Delete(Option<String>),
    /// A `POST` or `DELETE` answering JSON: `{}`.
    Empty,
    /// A `GET` answering JSON: refused.
    Unreadable,
}

// Answering a Stripe call.
impl Recording {
    fn call(&mut self, call: &StripeCall, cx: &ActionContext<'_>) -> Result<Json, ActionError> {
        let what = format!("stripe.{}", call.method);
        let ty = call.object().unwrap_or("").to_string();
        match kind(call) {
            Kind::Read(Some(id)) => self.read(&what, &id, &ty, cx),
            Kind::Read(None) => self.newest(&what, &ty, cx),
            Kind::List { parent } => self.list(call, &ty, parent, cx),
            Kind::Search => self.search(call, &ty, cx),
            Kind::Create { parent } => Ok(self.create(call, &ty, parent, cx)),
            Kind::Change(id) => self.change(&what, call, &id, &ty, cx),
            Kind::Delete(id) => Ok(self.delete(id, &ty, cx)),
            Kind::Empty => Ok(json!({})),
            Kind::Unreadable => Err(ActionError::new(format!(
                "{what}: the recording bindings cannot answer {} (it answers no Stripe object)",
                call.http
            ))),
        }
    }

    /// The object with this id, which must be of type `ty`.
    fn read(
        &self,
        what: &str,
        id: &str,
        ty: &str,
        cx: &ActionContext<'_>,
    ) -> Result<Json, ActionError> {
        let Some(found) = self.lookup(id, cx) else {
            return Err(ActionError::new(format!(
                "{what} `{id}`: no such object (give it in a file under --objects)"
            )));
        };
        of_type(what, id, found, ty)
    }

    /// A read without an id (`balance`): the newest object of the type.
    fn newest(&self, what: &str, ty: &str, cx: &ActionContext<'_>) -> Result<Json, ActionError> {
        let mut all = self.of_type(ty, cx);
        newest_first(&mut all);
        all.into_iter().next().ok_or_else(|| {
            ActionError::new(format!(
                "{what}: no {ty} object (give one in a file under --objects)"
            ))
        })
    }

    fn list(
        &self,
        call: &StripeCall,
        ty: &str,
        parent: Option<(String, String)>,
        cx: &ActionContext<'_>,
    ) -> Result<Json, ActionError> {
        let what = format!("stripe.{}", call.method);
        let params = params_of(call);
        let mut items: Vec<Json> = self
            .of_type(ty, cx)
            .into_iter()
            .filter(|o| matches_filters(o, &params, ty))
            .filter(|o| parent.as_ref().is_none_or(|(f, id)| under(o, f, id)))
            .collect();
        newest_first(&mut items);
        let (data, has_more) = list_page(&what, items, &params)?;
        Ok(json!({
            "object": "list",
            "data": data,
            "has_more": has_more,
            "url": call.verb_and_path().1,
        }))
    }

    fn search(
        &self,
        call: &StripeCall,
        ty: &str,
        cx: &ActionContext<'_>,
    ) -> Result<Json, ActionError> {
        let what = format!("stripe.{}", call.method);
        let params = params_of(call);
        let text = params.get("query").and_then(Json::as_str).unwrap_or("");
        let clauses = parse_query(text).map_err(|e| ActionError::new(format!("{what}: {e}")))?;
        let mut items: Vec<Json> = self
            .of_type(ty, cx)
            .into_iter()
            .filter(|o| clauses.iter().all(|c| c.holds(o)))
            .collect();
        newest_first(&mut items);
        let limit = limit_of(&what, &params)?;
        let start = match params.get("page") {
            None | Some(Json::Null) => 0,
            Some(p) => p
                .as_str()
                .and_then(|p| p.parse::<usize>().ok())
                .ok_or_else(|| {
                    ActionError::new(format!("{what}: `page` {p} is not a page it was given"))
                })?,
        };
        let end = start.saturating_add(limit).min(items.len());
        let has_more = end < items.len();
        let data: Vec<Json> = items
            .into_iter()
            .skip(start)
            .take(end.saturating_sub(start))
            .collect();
        Ok(json!({
            "object": "search_result",
            "data": data,
            "has_more": has_more,
            "next_page": has_more.then(|| end.to_string()),
            "url": call.verb_and_path().1,
        }))
    }

    fn create(
        &mut self,
        call: &StripeCall,
        ty: &str,
        parent: Option<(String, String)>,
        cx: &ActionContext<'_>,
    ) -> Json {
        let mut object = Map::new();
        object.insert("created".into(), json!(cx.now));
        object.insert("livemode".into(), json!(false));
        if let Some((field, id)) = parent {
            object.insert(field, json!(id));
        }
        merge(&mut object, &params_of(call));
        let id = match object.get("id").and_then(Json::as_str) {
            Some(given) => given.to_string(),
            None => self.new_id(call, ty, cx),
        };
        object.insert("id".into(), json!(id));
        object.insert("object".into(), json!(ty));
        let object = Json::Object(object);
        self.put(&object);
        object
    }

    /// A fresh id for an object of type `ty`: the same for the same run and step.
    fn new_id(&self, call: &StripeCall, ty: &str, cx: &ActionContext<'_>) -> String {
        let hash = idempotency_key(cx)
            .map(|k| k.trim_start_matches("flow_").to_string())
            .unwrap_or_else(|| call_digest(call, cx));
        let base = format!("{}_{}", id_prefix(ty), &hash[..hash.len().min(24)]);
        // A run made of steps that restart (a REPL session) could meet its own id.
        let mut id = base.clone();
        let mut n = 2;
        while self.lookup(&id, cx).is_some() {
            id = format!("{base}_{n}");
            n += 1;
        }
        id
    }

    fn change(
        &mut self,
        what: &str,
        call: &StripeCall,
        id: &str,
        ty: &str,
        cx: &ActionContext<'_>,
    ) -> Result<Json, ActionError> {
        let current = match self.lookup(id, cx) {
            Some(found) => of_type(what, id, found, ty)?,
            None => json!({"id": id, "object": ty}),
        };
        let Json::Object(mut object) = current else {
            return Err(ActionError::new(format!(
                "{what} `{id}`: the object with that id is not a JSON object"
            )));
        };
        merge(&mut object, &params_of(call));
        object.insert("id".into(), json!(id));
        let object = Json::Object(object);
        self.put(&object);
        Ok(object)
    }

    /// Remove the object; answer `{"id", "object", "deleted": true}`, or `{}` for a
    /// method that answers JSON.
    fn delete(&mut self, id: Option<String>, ty: &str, cx: &ActionContext<'_>) -> Json {
        let answers_json = ty.is_empty();
        let ty = ty.strip_prefix("deleted_").unwrap_or(ty);
        let Some(id) = id else {
            return if answers_json {
                json!({})
            } else {
                json!({"object": ty, "deleted": true})
            };
        };
        let ty = self
            .lookup(&id, cx)
            .and_then(|o| type_of(&o).map(str::to_string))
            .unwrap_or_else(|| ty.to_string());
        self.changed.insert(id.clone(), None);
        if answers_json {
            return json!({});
        }
        json!({"id": id, "object": ty, "deleted": true})
    }
}

/// `found`, if it is of type `ty` (or says no type).
fn of_type(what: &str, id: &str, found: Json, ty: &str) -> Result<Json, ActionError> {
    match type_of(&found) {
        Some(kind) if kind != ty => Err(ActionError::new(format!(
            "{what} `{id}`: the object with that id is a {kind}, not a {ty}"
        ))),
        _ => Ok(found),
    }
}

// What a call does, from its path template in the API catalogue.

/// The path template of a method (`/v1/invoices/{id}/void`) and its resource's own
/// object type (`invoice`), from the catalogue.
fn template(method: &str) -> Option<(String, Option<String>)> {
    let (resource, name) = method.rsplit_once('.')?;
    let api = flow_stdlib::builtin().api().ok()?;
    let r = api.resource(resource)?;
    let m = r.method(name)?;
    Some((m.path.clone(), r.object.clone()))
}

/// The values of a path's placeholders (percent-decoded), in order, and whether the
/// path ends with one; without a template, the call's `id`.
fn path_ids(call: &StripeCall, template: Option<&str>) -> (Vec<String>, bool) {
    let path = call.verb_and_path().1;
    let filled: Vec<&str> = path.split('/').collect();
    if let Some(t) = template {
        let parts: Vec<&str> = t.split('/').collect();
        if parts.len() == filled.len() {
            let ids = parts
                .iter()
                .zip(&filled)
                .filter(|(p, _)| p.starts_with('{'))
                .map(|(_, f)| decode_segment(f))
                .collect();
            let ends = parts.last().is_some_and(|p| p.starts_with('{'));
            return (ids, ends);
        }
    }
    let ids: Vec<String> = call.id.iter().cloned().collect();
    let ends = call
        .id
        .as_deref()
        .is_some_and(|id| filled.last() == Some(&flow_vm::escape_segment(id).as_str()));
    (ids, ends)
}

fn kind(call: &StripeCall) -> Kind {
    let (verb, _) = call.verb_and_path();
    let template = template(&call.method);
    let own = template.as_ref().and_then(|(_, o)| o.clone());
    let (ids, ends_with_id) = path_ids(call, template.as_ref().map(|(t, _)| t.as_str()));
    let last = ids.last().cloned();
    // An object the call acts on: the path ends with its id, or with a verb after it
    // (`/void`) when the call answers with the resource's own type.
    let on_object =
        ends_with_id || (last.is_some() && own.is_some() && call.object() == own.as_deref());
    let parent = match (&own, &last) {
        (Some(o), Some(id)) if !on_object => Some((o.clone(), id.clone())),
        _ => None,
    };
    match (verb, &call.returns) {
        ("GET", flow_vm::Returns::List(_)) if call.method.ends_with(".search") => Kind::Search,
        ("GET", flow_vm::Returns::List(_)) => Kind::List { parent },
        ("GET", flow_vm::Returns::Json) => Kind::Unreadable,
        ("GET", _) => Kind::Read(last.filter(|_| on_object)),
        ("DELETE", r) if deletes(r) => Kind::Delete(last.filter(|_| ends_with_id)),
        (_, flow_vm::Returns::Json) => Kind::Empty,
        (_, _) => match last {
            Some(id) if on_object => Kind::Change(id),
            _ => Kind::Create { parent },
        },
    }
}

/// Whether a `DELETE` answering this deletes its object (`customers.delete` answers a
/// `deleted_customer`); one answering the object itself (`subscriptions.cancel`)
/// changes it.
fn deletes(returns: &flow_vm::Returns) -> bool {
    match returns {
        flow_vm::Returns::Object(t) => t.starts_with("deleted_"),
        _ => true,
    }
}

/// Undo [`flow_vm::escape_segment`].
fn decode_segment(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

// Objects.

fn id_of(o: &Json) -> Option<&str> {
    o.get("id").and_then(Json::as_str)
}

fn type_of(o: &Json) -> Option<&str> {
    o.get("object").and_then(Json::as_str)
}

fn params_of(call: &StripeCall) -> Map<String, Json> {
    call.params.as_object().cloned().unwrap_or_default()
}

/// Newest first: `created` descending, then `id` descending.
fn newest_first(items: &mut [Json]) {
    let created = |o: &Json| o.get("created").and_then(Json::as_i64).unwrap_or(0);
    items.sort_by(|a, b| {
        created(b)
            .cmp(&created(a))
            .then_with(|| id_of(b).cmp(&id_of(a)))
    });
}

/// Parameters of a list that are never filters.
const NOT_FILTERS: &[&str] = &[
    "limit",
    "starting_after",
    "ending_before",
    "expand",
    "created",
    "page",
    "query",
];

/// Whether `o` passes every parameter of a list that is a filter.
fn matches_filters(o: &Json, params: &Map<String, Json>, ty: &str) -> bool {
    let def = flow_stdlib::builtin().object(ty);
    params.iter().all(|(name, want)| {
        let scalar = matches!(want, Json::String(_) | Json::Number(_) | Json::Bool(_));
        let names_field = match def {
            Some(d) => d.field(name).is_some(),
            None => o.get(name).is_some(),
        };
        let filter = scalar
            && names_field
            && !NOT_FILTERS.contains(&name.as_str())
            && !(name == "status" && want == "all");
        !filter || field_equals(o.get(name), want)
    })
}

/// A field's value equals `want`; an expanded object is compared by its `id`.
fn field_equals(field: Option<&Json>, want: &Json) -> bool {
    match field {
        Some(Json::Object(m)) => m.get("id") == Some(want),
        Some(v) => v == want,
        None => false,
    }
}

/// Whether `o` belongs under the parent `id` (its field `field` is that id), or says
/// no parent.
fn under(o: &Json, field: &str, id: &str) -> bool {
    match o.get(field) {
        None | Some(Json::Null) => true,
        v => field_equals(v, &json!(id)),
    }
}

/// `limit`: 10 unless given, 1 to 100.
fn limit_of(what: &str, params: &Map<String, Json>) -> Result<usize, ActionError> {
    match params.get("limit") {
        None | Some(Json::Null) => Ok(10),
        Some(l) => match l.as_u64() {
            Some(n @ 1..=100) => Ok(n as usize),
            _ => Err(ActionError::new(format!(
                "{what}: `limit` must be a number from 1 to 100, not {l}"
            ))),
        },
    }
}

/// One page of a list, newest first: `limit` items after `starting_after` or before
/// `ending_before`, and whether there are more that way.
fn list_page(
    what: &str,
    items: Vec<Json>,
    params: &Map<String, Json>,
) -> Result<(Vec<Json>, bool), ActionError> {
    let limit = limit_of(what, params)?;
    let position = |key: &str| -> Result<Option<usize>, ActionError> {
        let Some(cursor) = params.get(key).filter(|c| !c.is_null()) else {
            return Ok(None);
        };
        let at = items
            .iter()
            .position(|o| cursor.as_str().is_some_and(|c| id_of(o) == Some(c)));
        at.map(Some)
            .ok_or_else(|| ActionError::new(format!("{what}: `{key}` {cursor} is not in the list")))
    };
    let (start, end, has_more) = match (position("starting_after")?, position("ending_before")?) {
        (Some(after), _) => {
            let start = after + 1;
            let end = start.saturating_add(limit).min(items.len());
            (start, end, end < items.len())
        }
        (None, Some(before)) => (before.saturating_sub(limit), before, before > limit),
        (None, None) => {
            let end = limit.min(items.len());
            (0, end, end < items.len())
        }
    };
    let page = items.into_iter().skip(start).take(end - start).collect();
    Ok((page, has_more))
}

/// Merge parameters into an object: nested objects key by key; in a `metadata`, a key
/// set to null or `""` is removed (and `metadata` itself set to null or `""` empties it).
/// `expand` says how to answer, not what to change: it is left out.
fn merge(object: &mut Map<String, Json>, params: &Map<String, Json>) {
    for (key, value) in params {
        if key == "expand" {
            continue;
        }
        let is_metadata = key == "metadata";
        match (object.get_mut(key), value) {
            (_, Json::Null) | (_, Json::String(_)) if is_metadata && is_unset(value) => {
                object.insert(key.clone(), json!({}));
            }
            (Some(Json::Object(inner)), Json::Object(more)) => {
                merge(inner, more);
                if is_metadata {
                    inner.retain(|_, v| !is_unset(v));
                }
            }
            (_, Json::Object(more)) => {
                let mut inner = Map::new();
                merge(&mut inner, more);
                if is_metadata {
                    inner.retain(|_, v| !is_unset(v));
                }
                object.insert(key.clone(), Json::Object(inner));
            }
            _ => {
                object.insert(key.clone(), value.clone());
            }
        }
    }
}

/// Null or `""`: how a metadata key is removed.
fn is_unset(v: &Json) -> bool {
    v.is_null() || v.as_str() == Some("")
}

/// Stripe's id prefix of an object type; the type's own name (dots made `_`) for types
/// without a well-known one.
fn id_prefix(ty: &str) -> String {
    let known = match ty {
        "account" => "acct",
        "application_fee" => "fee",
        "balance_transaction" => "txn",
        "bank_account" => "ba",
        "billing_portal.session" => "bps",
        "card" => "card",
        "charge" => "ch",
        "checkout.session" => "cs",
        "credit_note" => "cn",
        "customer" => "cus",
        "customer_balance_transaction" => "cbtxn",
        "dispute" => "dp",
        "fee_refund" => "fr",
        "file" => "file",
        "file_link" => "link",
        "invoice" => "in",
        "invoiceitem" => "ii",
        "payment_intent" => "pi",
        "payment_link" => "plink",
        "payment_method" => "pm",
        "payout" => "po",
        "person" => "person",
        "price" => "price",
        "product" => "prod",
        "promotion_code" => "promo",
        "quote" => "qt",
        "refund" => "re",
        "review" => "prv",
        "setup_intent" => "seti",
        "shipping_rate" => "shr",
        "source" => "src",
        "subscription" => "sub",
        "subscription_item" => "si",
        "subscription_schedule" => "sub_sched",
        "tax_id" => "txi",
        "tax_rate" => "txr",
        "test_helpers.test_clock" => "clock",
        "topup" => "tu",
        "transfer" => "tr",
        "transfer_reversal" => "trr",
        "webhook_endpoint" => "we",
        _ => "",
    };
    if known.is_empty() {
        ty.replace('.', "_")
    } else {
        known.to_string()
    }
}

/// A hash of a call, for ids made in a run of an event without an id.
fn call_digest(call: &StripeCall, cx: &ActionContext<'_>) -> String {
    let mut h = Sha256::new();
    let step = cx.step.to_string();
    let account = call.account.as_deref().unwrap_or("");
    let params = call.params.to_string();
    for part in [
        cx.workflow,
        &step,
        &call.method,
        &call.http,
        account,
        &params,
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

// The search query language, as far as the recording bindings understand it.

/// One clause of a search query: a field (or a metadata key) equals a text.
#[derive(Debug, PartialEq)]
struct Clause {
    field: String,
    metadata_key: Option<String>,
    value: String,
}

impl Clause {
    fn holds(&self, o: &Json) -> bool {
        let got = match &self.metadata_key {
            Some(key) => o.get("metadata").and_then(|m| m.get(key)),
            None => o.get(&self.field),
        };
        match got {
            Some(Json::String(s)) => *s == self.value,
            Some(Json::Object(m)) => m.get("id").and_then(Json::as_str) == Some(&self.value),
            Some(Json::Number(n)) => n.to_string() == self.value,
            Some(Json::Bool(b)) => b.to_string() == self.value,
            _ => false,
        }
    }
}

const QUERY_HELP: &str =
    "the recording bindings understand only `field:\"value\"` clauses joined by AND";

/// `status:"open" AND metadata["order"]:'42'`: its clauses.
fn parse_query(text: &str) -> Result<Vec<Clause>, String> {
    let refuse = |why: &str| format!("cannot read the query `{text}`: {why}; {QUERY_HELP}");
    let mut rest = text.trim_start();
    let mut clauses = Vec::new();
    loop {
        let (clause, after) = parse_clause(rest).map_err(|why| refuse(&why))?;
        clauses.push(clause);
        rest = after.trim_start();
        if rest.is_empty() {
            return Ok(clauses);
        }
        rest = match rest.strip_prefix("AND") {
            Some(r) if r.starts_with(char::is_whitespace) => r.trim_start(),
            _ => return Err(refuse(&format!("`{}` is not AND", first_word(rest)))),
        };
    }
}

fn first_word(s: &str) -> &str {
    s.split_whitespace().next().unwrap_or(s)
}

/// One clause at the start of `s`, and what follows it.
fn parse_clause(s: &str) -> Result<(Clause, &str), String> {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .unwrap_or(s.len());
    let (field, mut rest) = s.split_at(end);
    if field.is_empty() {
        return Err(format!("a clause cannot start with `{}`", first_word(s)));
    }
    let mut metadata_key = None;
    if let Some(r) = rest.strip_prefix('[') {
        if field != "metadata" {
            return Err(format!("only metadata takes a key, not `{field}`"));
        }
        let (key, r) = quoted(r)?;
        rest = r
            .strip_prefix(']')
            .ok_or_else(|| format!("`metadata[\"{key}\"` has no `]`"))?;
        metadata_key = Some(key);
    }
    let rest = rest
        .strip_prefix(':')
        .ok_or_else(|| format!("`{field}` is not followed by `:`"))?;
    let (value, rest) = quoted(rest)?;
    let clause = Clause {
        field: field.to_string(),
        metadata_key,
        value,
    };
    Ok((clause, rest))
}

/// A text in `"…"` or `'…'` at the start of `s` (a backslash escapes the next
/// character), and what follows it.
fn quoted(s: &str) -> Result<(String, &str), String> {
    let mut chars = s.char_indices();
    let quote = match chars.next() {
        Some((_, q @ ('"' | '\''))) => q,
        _ => return Err(format!("`{}` is not a quoted value", first_word(s))),
    };
    let mut out = String::new();
    let mut escaped = false;
    for (i, c) in chars {
        match c {
            _ if escaped => {
                out.push(c);
                escaped = false;
            }
            '\\' => escaped = true,
            _ if c == quote => return Ok((out, &s[i + c.len_utf8()..])),
            _ => out.push(c),
        }
    }
    Err(format!("the quote in `{s}` is not closed"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flow_vm::Returns;

    fn cx<'a>(event: Option<&'a str>, step: usize, trigger: Option<&'a Json>) -> ActionContext<'a> {
        ActionContext {
            event_id: event,
            workflow: "wf",
            step,
            trigger,
            now: 1_700_000_000,
            item: None,
        }
    }

    fn call(method: &str, http: &str, returns: Returns, params: Json) -> Action {
        let path = http.split_once(' ').map_or(http, |(_, p)| p);
        let id = path.split('/').nth(3).map(decode_segment);
        Action::Stripe(StripeCall {
            method: method.into(),
            http: http.into(),
            id,
            account: None,
            params,
            returns,
        })
    }

    fn list(params: Json) -> Action {
        call(
            "invoices.list",
            "GET /v1/invoices",
            Returns::List("invoice".into()),
            params,
        )
    }

    fn search(query: &str, page: Option<&str>) -> Action {
        let mut params = json!({"query": query, "limit": 2});
        if let Some(p) = page {
            params["page"] = json!(p);
        }
        call(
            "invoices.search",
            "GET /v1/invoices/search",
            Returns::List("invoice".into()),
            params,
        )
    }

    fn invoice(id: &str, customer: Json, status: &str, created: i64) -> Json {
        json!({"id": id, "object": "invoice", "customer": customer, "status": status,
               "created": created, "metadata": {"order": id}})
    }

    /// Five open invoices of cus_A (two created at the same second), one paid, one of
    /// another customer.
    fn invoices() -> Recording {
        Recording::new()
            .with_object(invoice("in_1", json!("cus_A"), "open", 100))
            .with_object(invoice("in_2", json!("cus_A"), "open", 300))
            .with_object(invoice(
                "in_3",
                json!({"id": "cus_A", "object": "customer"}),
                "open",
                300,
            ))
            .with_object(invoice("in_4", json!("cus_A"), "open", 200))
            .with_object(invoice("in_5", json!("cus_A"), "open", 50))
            .with_object(invoice("in_6", json!("cus_A"), "paid", 400))
            .with_object(invoice("in_7", json!("cus_B"), "open", 500))
    }

    fn ids(answer: &Json) -> Vec<&str> {
        answer["data"]
            .as_array()
            .map(|d| d.iter().filter_map(id_of).collect())
            .unwrap_or_default()
    }

    fn ok(r: &mut Recording, action: &Action, cx: &ActionContext<'_>) -> Json {
        r.perform(action, cx)
            .unwrap_or_else(|e| panic!("{action:?}: {}", e.message))
    }

    fn refused(r: &mut Recording, action: &Action, cx: &ActionContext<'_>) -> String {
        match r.perform(action, cx) {
            Ok(answer) => panic!("{action:?} answered {answer}"),
            Err(e) => e.message,
        }
    }

    #[test]
    fn a_list_is_filtered_newest_first_and_paged_by_starting_after() {
        let mut r = invoices();
        let c = cx(Some("evt_1"), 0, None);
        let filters = json!({"customer": "cus_A", "status": "open", "limit": 2});
        let first = ok(&mut r, &list(filters.clone()), &c);
        assert_eq!(ids(&first), ["in_3", "in_2"], "ties by id, descending");
        assert_eq!(first["has_more"], true);
        assert_eq!(first["object"], "list");
        assert_eq!(first["url"], "/v1/invoices");
        let mut next = filters.clone();
        next["starting_after"] = json!("in_2");
        let second = ok(&mut r, &list(next.clone()), &c);
        assert_eq!(ids(&second), ["in_4", "in_1"]);
        assert_eq!(second["has_more"], true);
        next["starting_after"] = json!("in_1");
        let third = ok(&mut r, &list(next), &c);
        assert_eq!(ids(&third), ["in_5"]);
        assert_eq!(third["has_more"], false);
    }

    #[test]
    fn a_list_pages_back_with_ending_before_and_defaults_to_ten() {
        let mut r = invoices();
        let c = cx(Some("evt_1"), 0, None);
        let back = ok(
            &mut r,
            &list(json!({"ending_before": "in_4", "limit": 2})),
            &c,
        );
        assert_eq!(ids(&back), ["in_3", "in_2"]);
        assert_eq!(back["has_more"], true);
        let all = ok(&mut r, &list(json!({})), &c);
        assert_eq!(ids(&all).len(), 7);
        assert_eq!(ids(&all)[0], "in_7");
        let e = refused(&mut r, &list(json!({"limit": 101})), &c);
        assert!(e.contains("`limit` must be a number from 1 to 100"), "{e}");
        let e = refused(&mut r, &list(json!({"starting_after": "in_99"})), &c);
        assert!(e.contains("not in the list"), "{e}");
    }

    #[test]
    fn options_ranges_and_params_naming_no_field_are_not_filters() {
        let mut r = invoices();
        let c = cx(Some("evt_1"), 0, None);
        let params = json!({
            "customer": "cus_B",
            "expand": ["data.customer"],
            "created": {"gte": 1000},
            "no_such_field": "x",
            "limit": 100,
        });
        assert_eq!(ids(&ok(&mut r, &list(params), &c)), ["in_7"]);
    }

    #[test]
    fn a_list_includes_the_event_object_of_its_type() {
        let mut r = invoices();
        let trigger = invoice("in_9", json!("cus_B"), "open", 1);
        let c = cx(Some("evt_1"), 0, Some(&trigger));
        let answer = ok(&mut r, &list(json!({"customer": "cus_B"})), &c);
        assert_eq!(ids(&answer), ["in_7", "in_9"]);
    }

    #[test]
    fn a_search_keeps_the_objects_every_clause_holds_for_page_by_page() {
        let mut r = invoices();
        let c = cx(Some("evt_1"), 0, None);
        let q = "status:\"open\" AND customer:'cus_A'";
        let first = ok(&mut r, &search(q, None), &c);
        assert_eq!(first["object"], "search_result");
        assert_eq!(ids(&first), ["in_3", "in_2"]);
        assert_eq!(first["next_page"], "2");
        let second = ok(&mut r, &search(q, Some("2")), &c);
        assert_eq!(ids(&second), ["in_4", "in_1"]);
        let third = ok(&mut r, &search(q, Some("4")), &c);
        assert_eq!(ids(&third), ["in_5"]);
        assert_eq!(third["has_more"], false);
        assert_eq!(third["next_page"], Json::Null);
        let by_key = ok(&mut r, &search("metadata[\"order\"]:\"in_6\"", None), &c);
        assert_eq!(ids(&by_key), ["in_6"]);
    }

    #[test]
    fn a_search_query_beyond_equality_and_and_is_refused() {
        let mut r = invoices();
        let c = cx(Some("evt_1"), 0, None);
        for q in [
            "status:\"open\" OR status:\"paid\"",
            "-status:\"open\"",
            "email~\"example\"",
            "amount>100",
            "status:\"open",
            "status:open",
            "status:\"open\" and customer:\"cus_A\"",
            "",
        ] {
            let e = refused(&mut r, &search(q, None), &c);
            assert!(
                e.contains("understand only `field:\"value\"` clauses joined by AND"),
                "{q}: {e}"
            );
            assert!(e.starts_with("stripe.invoices.search: "), "{e}");
        }
    }

    fn credit_note() -> Action {
        call(
            "credit_notes.create",
            "POST /v1/credit_notes",
            Returns::Object("credit_note".into()),
            json!({"invoice": "in_1", "amount": 500, "metadata": {"why": "late", "gone": ""}}),
        )
    }

    #[test]
    fn a_create_makes_the_same_id_for_the_same_event_workflow_and_step() {
        let made = |event, step| {
            let c = cx(event, step, None);
            ok(&mut Recording::new(), &credit_note(), &c)
        };
        let a = made(Some("evt_1"), 0);
        assert_eq!(a, made(Some("evt_1"), 0));
        assert_ne!(a["id"], made(Some("evt_1"), 1)["id"]);
        assert_ne!(a["id"], made(Some("evt_2"), 0)["id"]);
        assert_eq!(made(None, 0)["id"], made(None, 0)["id"]);
        assert_ne!(made(None, 0)["id"], made(None, 1)["id"]);
        let id = a["id"].as_str().unwrap_or("");
        assert!(id.starts_with("cn_") && id.len() == 27, "{id}");
        assert_eq!(a["object"], "credit_note");
        assert_eq!(a["created"], 1_700_000_000);
        assert_eq!(a["livemode"], false);
        assert_eq!(a["amount"], 500);
        assert_eq!(a["metadata"], json!({"why": "late"}));
    }

    #[test]
    fn what_a_run_creates_is_found_by_its_later_calls_only() {
        let mut r = Recording::new();
        let first = cx(Some("evt_1"), 0, None);
        let made = ok(&mut r, &credit_note(), &first);
        let id = made["id"].as_str().unwrap_or("").to_string();
        let retrieve = Action::Retrieve {
            object: "credit_note".into(),
            id: id.clone(),
            account: None,
        };
        assert_eq!(ok(&mut r, &retrieve, &cx(Some("evt_1"), 1, None)), made);
        let listed = call(
            "credit_notes.list",
            "GET /v1/credit_notes",
            Returns::List("credit_note".into()),
            json!({"invoice": "in_1"}),
        );
        let answer = ok(&mut r, &listed, &cx(Some("evt_1"), 2, None));
        assert_eq!(ids(&answer), [id.as_str()]);
        let other_run = cx(Some("evt_2"), 0, None);
        let e = refused(&mut r, &retrieve, &other_run);
        assert!(e.contains("no such object"), "{e}");
    }

    #[test]
    fn a_create_under_a_parent_names_it_and_its_list_finds_it() {
        let mut r = Recording::new();
        let c = cx(Some("evt_1"), 0, None);
        let create = call(
            "customers.create_balance_transaction",
            "POST /v1/customers/cus_A/balance_transactions",
            Returns::Object("customer_balance_transaction".into()),
            json!({"amount": -500, "currency": "usd"}),
        );
        let made = ok(&mut r, &create, &c);
        assert_eq!(made["customer"], "cus_A");
        assert!(made["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("cbtxn_")));
        let list = |customer: &str| {
            call(
                "customers.list_balance_transactions",
                &format!("GET /v1/customers/{customer}/balance_transactions"),
                Returns::List("customer_balance_transaction".into()),
                json!({"limit": 10}),
            )
        };
        assert_eq!(ids(&ok(&mut r, &list("cus_A"), &c)).len(), 1);
        assert_eq!(ids(&ok(&mut r, &list("cus_B"), &c)).len(), 0);
    }

    #[test]
    fn a_change_merges_the_params_and_removes_metadata_keys_set_empty() {
        let customer = json!({"id": "cus_A", "object": "customer", "email": "a@example.com",
            "address": {"city": "Paris", "country": "FR"},
            "metadata": {"tier": "gold", "old": "1", "older": "2"}});
        let mut r = Recording::new().with_object(customer);
        let c = cx(Some("evt_1"), 0, None);
        let update = call(
            "customers.update",
            "POST /v1/customers/cus_A",
            Returns::Object("customer".into()),
            json!({"address": {"city": "Lyon"}, "expand": ["tax"],
                   "metadata": {"tier": "vip", "old": null, "older": ""}}),
        );
        let changed = ok(&mut r, &update, &c);
        assert_eq!(changed["address"], json!({"city": "Lyon", "country": "FR"}));
        assert_eq!(changed["metadata"], json!({"tier": "vip"}));
        assert_eq!(changed["email"], "a@example.com");
        assert!(changed.get("expand").is_none());
        let retrieve = Action::Retrieve {
            object: "customer".into(),
            id: "cus_A".into(),
            account: None,
        };
        assert_eq!(ok(&mut r, &retrieve, &c), changed);
    }

    #[test]
    fn an_action_on_an_unknown_object_answers_its_params_and_invents_no_state() {
        let mut r = Recording::new();
        let c = cx(Some("evt_1"), 0, None);
        let void = call(
            "invoices.void_invoice",
            "POST /v1/invoices/in_404/void",
            Returns::Object("invoice".into()),
            json!({}),
        );
        assert_eq!(
            ok(&mut r, &void, &c),
            json!({"id": "in_404", "object": "invoice"})
        );
        let trigger = invoice("in_1", json!("cus_A"), "open", 1);
        let c = cx(Some("evt_1"), 1, Some(&trigger));
        let void = call(
            "invoices.void_invoice",
            "POST /v1/invoices/in_1/void",
            Returns::Object("invoice".into()),
            json!({}),
        );
        assert_eq!(ok(&mut r, &void, &c)["status"], "open");
    }

    #[test]
    fn a_delete_answers_deleted_and_removes_the_object() {
        let mut r = Recording::new().with_object(json!({"id": "cus_A", "object": "customer"}));
        let c = cx(Some("evt_1"), 0, None);
        let delete = call(
            "customers.delete",
            "DELETE /v1/customers/cus_A",
            Returns::Object("deleted_customer".into()),
            json!({}),
        );
        assert_eq!(
            ok(&mut r, &delete, &c),
            json!({"id": "cus_A", "object": "customer", "deleted": true})
        );
        let retrieve = call(
            "customers.retrieve",
            "GET /v1/customers/cus_A",
            Returns::Object("customer".into()),
            json!({}),
        );
        let e = refused(&mut r, &retrieve, &c);
        assert!(e.contains("no such object"), "{e}");
    }

    #[test]
    fn a_delete_answering_the_object_is_a_change() {
        let sub = json!({"id": "sub_1", "object": "subscription", "status": "active"});
        let mut r = Recording::new().with_object(sub);
        let c = cx(Some("evt_1"), 0, None);
        let cancel = call(
            "subscriptions.cancel",
            "DELETE /v1/subscriptions/sub_1",
            Returns::Object("subscription".into()),
            json!({"invoice_now": true}),
        );
        let answer = ok(&mut r, &cancel, &c);
        assert_eq!(
            answer,
            json!({"id": "sub_1", "object": "subscription", "status": "active", "invoice_now": true})
        );
        assert!(answer.get("deleted").is_none());
    }

    #[test]
    fn a_read_finds_given_and_event_objects_and_refuses_others() {
        let mut r = Recording::new().with_object(json!({"id": "ch_1", "object": "charge"}));
        let trigger = json!({"id": "cus_T", "object": "customer"});
        let c = cx(Some("evt_1"), 0, Some(&trigger));
        let get = |method: &str, path: &str, ty: &str| {
            call(
                method,
                &format!("GET {path}"),
                Returns::Object(ty.into()),
                json!({}),
            )
        };
        let charge = get("charges.retrieve", "/v1/charges/ch_1", "charge");
        assert_eq!(ok(&mut r, &charge, &c)["id"], "ch_1");
        let own = get("customers.retrieve", "/v1/customers/cus_T", "customer");
        assert_eq!(ok(&mut r, &own, &c), trigger);
        let wrong = get("customers.retrieve", "/v1/customers/ch_1", "customer");
        assert_eq!(
            refused(&mut r, &wrong, &c),
            "stripe.customers.retrieve `ch_1`: the object with that id is a charge, not a customer"
        );
        let unknown = get("charges.retrieve", "/v1/charges/ch_404", "charge");
        assert_eq!(
            refused(&mut r, &unknown, &c),
            "stripe.charges.retrieve `ch_404`: no such object (give it in a file under --objects)"
        );
    }

    #[test]
    fn methods_answering_json_answer_empty_and_are_not_read() {
        let mut r = Recording::new();
        let c = cx(Some("evt_1"), 0, None);
        let pdf = call(
            "quotes.pdf",
            "GET /v1/quotes/qt_1/pdf",
            Returns::Json,
            json!({}),
        );
        let e = refused(&mut r, &pdf, &c);
        assert!(e.contains("cannot answer GET /v1/quotes/qt_1/pdf"), "{e}");
        let post = call(
            "things.do",
            "POST /v1/things",
            Returns::Json,
            json!({"a": 1}),
        );
        assert_eq!(ok(&mut r, &post, &c), json!({}));
    }

    #[test]
    fn other_actions_answer_null() {
        let mut r = Recording::new();
        let c = cx(Some("evt_1"), 0, None);
        let update = Action::Update {
            object: "customer".into(),
            id: "cus_A".into(),
            account: None,
            params: json!({"metadata": {"a": "b"}}),
        };
        assert_eq!(ok(&mut r, &update, &c), Json::Null);
    }
}
