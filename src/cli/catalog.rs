//! `flow events`, `flow fields` and `flow actions`: what the standard library knows
//! about Stripe.

use flow_check::{describe_field_type, Ty};
use flow_diagnostics::Diagnostic;
use flow_stdlib::api::{ApiParam, Catalogue, Method, Resource, Returns};
use flow_stdlib::{ActionDef, FieldType, ParamDef};
use serde_json::{json, Value as Json};

use super::output::{print_plain, terminal_safe, Stdout};
use super::Format;

/// `flow explain CODE`: what a diagnostic or run-time code means, from the registry
/// the error index is made of.
pub fn explain(code: &str, format: Format) -> i32 {
    let wanted = code.trim().to_ascii_uppercase();
    let Some(c) = flow_diagnostics::codes::lookup(&wanted) else {
        let names = flow_diagnostics::codes::ALL.iter().map(|c| c.code);
        let close = flow_check::did_you_mean(&wanted, names);
        let rule = "are E (errors), W (warnings), N (notes) and R (run-time errors) with four digits, as `flow check` and run reports print them; docs/diagnostics.md lists them all";
        let help = match flow_check::phrase(&close) {
            Some(p) => format!("{p} Codes {rule}"),
            None => format!("codes {rule}"),
        };
        print_plain(
            &Diagnostic::error("E0914", format!("`{code}` is not a code flow reports"))
                .with_help(help),
            None,
        );
        return 2;
    };
    let severity = match c.severity {
        flow_diagnostics::Severity::Error if c.is_run_time() => "run-time error",
        flow_diagnostics::Severity::Error => "error",
        flow_diagnostics::Severity::Warning => "warning",
        flow_diagnostics::Severity::Note => "note",
    };
    let link = flow_diagnostics::lsp::code_link(c.code);
    let mut out = Stdout::lock();
    if format == Format::Json {
        out.line(
            &json!({
                "code": c.code, "severity": severity, "summary": c.summary,
                "explanation": c.explanation, "example": c.example, "index": link,
            })
            .to_string(),
        );
        return 0;
    }
    out.write(&format!("{} ({severity})\n\n", c.code));
    out.write(&format!("{}\n", wrap(c.explanation, 88)));
    if let Some(e) = c.example {
        out.write(&format!("\nWhat a failed run says:\n    {e}\n"));
    }
    out.write(&format!(
        "\nThe error index shows a case and what flow prints for it: {link}\n"
    ));
    0
}

/// Text folded at spaces to lines of at most `width` characters (a longer word
/// stays whole).
fn wrap(text: &str, width: usize) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines.join("\n")
}

pub fn events(filter: Option<&str>, format: Format) -> i32 {
    let mut out = Stdout::lock();
    let lib = flow_stdlib::builtin();
    let chosen = lib
        .events
        .iter()
        .filter(|e| filter.is_none_or(|f| e.name.contains(f)));
    if format == Format::Json {
        let list: Vec<Json> = chosen
            .map(|e| {
                let object = e.object.as_deref().filter(|o| lib.object(o).is_some());
                json!({ "name": e.name, "object": object, "description": e.description })
            })
            .collect();
        out.line(&Json::Array(list).to_string());
        return 0;
    }
    for e in &flow_stdlib::builtin().events {
        if filter.is_none_or(|f| e.name.contains(f)) {
            let obj = match &e.object {
                Some(o) if flow_stdlib::builtin().object(o).is_some() => o.clone(),
                Some(o) => format!("{o} (dynamic)"),
                None => "dynamic".to_string(),
            };
            let line = format!("{:<52} {obj:<38} {}", e.name, e.description);
            if !out.line(line.trim_end()) {
                break;
            }
        }
    }
    0
}

/// `flow fields TYPE [PATH]`: TYPE is an event type (the fields of its object) or an
/// object type (`customer`, `charge.outcome`).
pub fn fields(event_type: &str, path: Option<&str>, format: Format) -> i32 {
    let lib = flow_stdlib::builtin();
    let object = match lib.event(event_type) {
        Some(ev) => ev.object.clone().filter(|o| lib.object(o).is_some()),
        None if lib.object(event_type).is_some() => Some(event_type.to_string()),
        None => {
            let close =
                flow_check::did_you_mean(event_type, lib.events.iter().map(|e| e.name.as_str()));
            let mut d = Diagnostic::error("E0101", format!("unknown event type `{event_type}`"));
            d = d.with_help(
                flow_check::phrase(&close)
                    .unwrap_or_else(|| "see `flow events`; an object type is taken too".into()),
            );
            print_plain(&d, None);
            return 2;
        }
    };
    let Some(mut object) = object else {
        Stdout::lock().line(&format!(
            "{event_type}: data.object is dynamic JSON (no schema)"
        ));
        return 0;
    };
    if let Some(p) = path {
        for seg in p.split('.') {
            let def = lib.object(&object);
            match def.and_then(|d| d.field(seg)).map(|f| &f.ty) {
                Some(FieldType::Object(o)) => object = o.clone(),
                Some(FieldType::Ref(o)) if lib.object(o).is_some() => object = o.clone(),
                _ => {
                    print_plain(
                        &Diagnostic::error(
                            "E0102",
                            format!("`{p}` is not an object field of {object}"),
                        )
                        .with_help(format!("run `flow fields {event_type}` to see the fields")),
                        None,
                    );
                    return 2;
                }
            }
        }
    }
    if let (Some(def), Format::Json) = (lib.object(&object), format) {
        let fields: Vec<Json> = def
            .fields
            .iter()
            .map(|f| {
                json!({
                    "name": f.name,
                    "type": describe_field_type(&object, f),
                    "nullable": f.nullable,
                    "absent": f.absent,
                    "updatable": f.updatable,
                    "description": f.description,
                })
            })
            .collect();
        Stdout::lock().line(&json!({ "object": object, "fields": fields }).to_string());
        return 0;
    }
    if let Some(def) = lib.object(&object) {
        let mut out = Stdout::lock();
        out.line(&object);
        for f in &def.fields {
            if !out.line(&format!(
                "  {:<34} {}",
                f.name,
                describe_field_type(&object, f)
            )) {
                break;
            }
        }
    }
    0
}

/// One thing a workflow can call: a built-in action, or a method of Stripe's API.
#[derive(Clone, Copy)]
enum Entry<'a> {
    Action(&'a ActionDef),
    Method(&'a Resource, &'a Method),
}

impl Entry<'_> {
    /// `email`, `stripe.invoices.void_invoice`.
    fn name(&self) -> String {
        match self {
            Entry::Action(a) => a.name.clone(),
            Entry::Method(r, m) => format!("stripe.{}.{}", r.name, m.name),
        }
    }

    fn summary(&self) -> &str {
        match self {
            Entry::Action(a) => &a.summary,
            Entry::Method(_, m) => &m.summary,
        }
    }
}

/// What `flow actions TEXT` picked.
enum Selection<'a> {
    /// One action or method, shown in full.
    One(Entry<'a>),
    /// Several (the matches, or the methods of a resource), one line each.
    Many(Vec<Entry<'a>>),
    None,
}

/// A row of a parameter table.
struct Row {
    name: String,
    ty: String,
    need: &'static str,
    note: String,
}

/// Every call to a Stripe method takes this besides the method's own parameters.
const STRIPE_ACCOUNT_NOTE: [&str; 2] = [
    "every call also takes `stripe_account`: a connected account's id (`acct_…`), or `null`",
    "for the platform's own account; by default a call acts on the event's `account`",
];

/// `flow actions [TEXT]`: the built-in actions and the methods of Stripe's API; with
/// TEXT, those whose name contains it, or one of them in full with its parameters.
pub fn actions(text: Option<&str>, format: Format) -> i32 {
    let lib = flow_stdlib::builtin();
    let api = match lib.api() {
        Ok(api) => api,
        Err(e) => {
            let d = Diagnostic::error("E0301", "Stripe's API catalogue could not be read")
                .with_help(e.to_string());
            print_plain(&d, None);
            return 2;
        }
    };
    let all = every_entry(lib, api);
    let Some(text) = text else {
        return match format {
            Format::Json => print_json(&all, api),
            Format::Text => print_overview(lib, api),
        };
    };
    match (select(all, api, text.trim()), format) {
        (Selection::None, _) => no_match(text, lib, api),
        (Selection::One(e), Format::Json) => print_json(&[e], api),
        (Selection::Many(es), Format::Json) => print_json(&es, api),
        (Selection::One(e), Format::Text) => print_full(e, api),
        (Selection::Many(es), Format::Text) => print_list(&es),
    }
}

fn every_entry<'a>(lib: &'a flow_stdlib::Stdlib, api: &'a Catalogue) -> Vec<Entry<'a>> {
    let actions = lib.actions.iter().map(Entry::Action);
    let methods = api
        .resources
        .iter()
        .flat_map(|r| r.methods.iter().map(move |m| Entry::Method(r, m)));
    actions.chain(methods).collect()
}

/// A method or action named exactly, then a resource named exactly, then whatever
/// contains the text (case-insensitive).
fn select<'a>(all: Vec<Entry<'a>>, api: &'a Catalogue, text: &str) -> Selection<'a> {
    let lower = text.to_lowercase();
    let bare = lower.strip_prefix("stripe.").unwrap_or(&lower);
    let exact = |e: &Entry| {
        let name = e.name().to_lowercase();
        name == lower || name.strip_prefix("stripe.") == Some(bare)
    };
    if let Some(e) = all.iter().find(|e| exact(e)) {
        return Selection::One(*e);
    }
    if let Some(r) = api.resources.iter().find(|r| r.name.to_lowercase() == bare) {
        return Selection::Many(r.methods.iter().map(|m| Entry::Method(r, m)).collect());
    }
    let mut matches: Vec<Entry> = all
        .into_iter()
        .filter(|e| e.name().to_lowercase().contains(&lower))
        .collect();
    match matches.len() {
        0 => Selection::None,
        1 => Selection::One(matches.remove(0)),
        _ => Selection::Many(matches),
    }
}

/// The list without TEXT: the actions, then each resource with its methods' names.
fn print_overview(lib: &flow_stdlib::Stdlib, api: &Catalogue) -> i32 {
    let mut out = Stdout::lock();
    let statements = [
        (
            "update REF.path = value",
            "Change fields of a Stripe object (a statement)",
        ),
        (
            "retrieve REF",
            "Fetch the object a reference points to (a statement)",
        ),
    ];
    let actions = lib
        .actions
        .iter()
        .map(|a| (a.name.as_str(), a.summary.as_str()));
    for (name, summary) in actions.chain(statements) {
        if !out.line(&format!("{name:<24} {summary}")) {
            return 0;
        }
    }
    out.line("");
    let width = api
        .resources
        .iter()
        .map(|r| r.name.len() + "stripe.".len())
        .max()
        .unwrap_or(0)
        .min(36);
    for r in &api.resources {
        let methods: Vec<&str> = r.methods.iter().map(|m| m.name.as_str()).collect();
        let resource = format!("stripe.{}", r.name);
        if !out.line(&format!("{resource:<width$}  {}", methods.join(" "))) {
            return 0;
        }
    }
    out.line("");
    out.line("`flow actions TEXT` lists those whose name contains TEXT; `flow actions invoices.void_invoice` shows one with its parameters");
    0
}

/// Several entries, one line each with its summary.
fn print_list(entries: &[Entry]) -> i32 {
    let names: Vec<String> = entries.iter().map(Entry::name).collect();
    let width = names.iter().map(String::len).max().unwrap_or(0).min(52);
    let mut out = Stdout::lock();
    for (name, e) in names.iter().zip(entries) {
        let line = format!("{name:<width$}  {}", e.summary());
        if !out.line(line.trim_end()) {
            return 0;
        }
    }
    out.line("");
    out.line("`flow actions NAME` shows one with its parameters");
    0
}

/// One action or method: how it is called, what it does, its parameters.
fn print_full(entry: Entry, api: &Catalogue) -> i32 {
    let mut out = Stdout::lock();
    let rows = match entry {
        Entry::Action(a) => {
            out.line(&action_call(a));
            out.line(&format!("  {}", a.summary));
            action_rows(a)
        }
        Entry::Method(r, m) => {
            out.line(&method_call(r, m));
            out.line(&format!("  {} {}", m.verb.as_str(), m.path));
            if !m.summary.is_empty() {
                out.line(&format!("  {}", m.summary));
            }
            out.line(&format!("  returns: {}", returns_phrase(&m.returns)));
            method_rows(api, m)
        }
    };
    out.line("");
    if rows.is_empty() {
        out.line("  no parameters");
    }
    let name_w = rows.iter().map(|r| r.name.len()).max().unwrap_or(0);
    let ty_w = rows.iter().map(|r| r.ty.len()).max().unwrap_or(0).min(24);
    for r in &rows {
        let line = format!(
            "  {:<name_w$}  {:<ty_w$}  {:<8}  {}",
            r.name, r.ty, r.need, r.note
        );
        if !out.line(line.trim_end()) {
            return 0;
        }
    }
    if matches!(entry, Entry::Method(..)) {
        out.line("");
        for line in STRIPE_ACCOUNT_NOTE {
            out.line(&format!("  {line}"));
        }
    }
    0
}

/// `stripe.invoices.void_invoice(id)`: the path ids by position, then the required
/// parameters by name.
fn method_call(r: &Resource, m: &Method) -> String {
    m.call_form(&r.name)
}

/// `email to: …, body: …`: an action is a statement, its required parameters named
/// (`refund …` when none is required on its own).
fn action_call(a: &ActionDef) -> String {
    let mut args: Vec<String> = a
        .params
        .iter()
        .filter(|p| !p.optional)
        .map(|p| format!("{}: …", p.name))
        .collect();
    if args.is_empty() {
        args.push("…".into());
    }
    format!("{} {}", a.name, args.join(", "))
}

fn returns_phrase(r: &Returns) -> String {
    match r {
        Returns::Object(_) | Returns::Json => returns_type(r),
        Returns::List(_) => format!("{} (the items, fetched page by page)", returns_type(r)),
    }
}

/// The type of a method's answer as a workflow sees it: `invoice`, `list<invoice>`,
/// `json`.
fn returns_type(r: &Returns) -> String {
    match r {
        Returns::Object(o) => o.clone(),
        Returns::List(o) => format!("list<{o}>"),
        Returns::Json => "json".into(),
    }
}

/// A parameter's type as a workflow writes its value: `string`, `ref<invoice>`,
/// `list<object>`, `enum`, `open enum` (Stripe may take values it does not list);
/// `?` when `null` is taken (to unset it).
fn type_text(ty: &FieldType, nullable: bool) -> String {
    let base = match ty {
        FieldType::Enum { open: true, .. } => "open enum".to_string(),
        FieldType::Enum { open: false, .. } => "enum".to_string(),
        FieldType::Object(_) => "object".to_string(),
        FieldType::List(inner) => format!("list<{}>", type_text(inner, false)),
        other => Ty::of_type("", other).to_string(),
    };
    if nullable {
        format!("{base}?")
    } else {
        base
    }
}

/// The values of an enum parameter (or of the items of a list of them), and whether
/// the enum is open.
fn enum_of(ty: &FieldType) -> Option<(&[String], bool)> {
    match ty {
        FieldType::Enum { values, open } => Some((values, *open)),
        FieldType::List(inner) => enum_of(inner),
        _ => None,
    }
}

/// The nested parameter block of an `object(NAME)` parameter (or of the items of a
/// list of them), with the prefix its fields are shown under: `shipping_cost.`,
/// `lines[].`.
fn nested(ty: &FieldType, prefix: String) -> Option<(String, &str)> {
    match ty {
        FieldType::Object(block) => Some((format!("{prefix}."), block)),
        FieldType::List(inner) => nested(inner, format!("{prefix}[]")),
        _ => None,
    }
}

fn need(p: &ApiParam) -> &'static str {
    if p.in_path {
        "path"
    } else if p.required {
        "required"
    } else {
        "optional"
    }
}

fn values_text(ty: &FieldType) -> String {
    enum_of(ty).map_or_else(String::new, |(values, _)| values.join(" | "))
}

fn api_row(name: String, p: &ApiParam) -> Row {
    Row {
        name,
        ty: type_text(&p.ty, p.nullable),
        need: need(p),
        note: values_text(&p.ty),
    }
}

/// A method's parameters, each nested block expanded one level under its parameter.
fn method_rows(api: &Catalogue, m: &Method) -> Vec<Row> {
    let mut rows = Vec::new();
    for p in &m.params {
        rows.push(api_row(p.name.clone(), p));
        if let Some((prefix, block)) = nested(&p.ty, p.name.clone()) {
            for f in api.param_type(block).unwrap_or_default() {
                rows.push(api_row(format!("  {prefix}{}", f.name), f));
            }
        }
    }
    rows
}

fn action_rows(a: &ActionDef) -> Vec<Row> {
    a.params
        .iter()
        .map(|p| {
            let note: Vec<String> = [values_text(&p.ty), p.doc.clone()]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect();
            Row {
                name: p.name.clone(),
                ty: type_text(&p.ty, false),
                need: if p.optional { "optional" } else { "required" },
                note: note.join("; "),
            }
        })
        .collect()
}

/// `--format json`: the entries, in full, as an array.
fn print_json(entries: &[Entry], api: &Catalogue) -> i32 {
    let all: Vec<Json> = entries.iter().map(|e| entry_json(*e, api)).collect();
    let text = serde_json::to_string_pretty(&all).unwrap_or_default();
    Stdout::lock().line(&text);
    0
}

fn entry_json(entry: Entry, api: &Catalogue) -> Json {
    match entry {
        Entry::Action(a) => json!({
            "name": a.name,
            "kind": "action",
            "http": null,
            "summary": a.summary,
            "returns": null,
            "params": a.params.iter().map(action_param_json).collect::<Vec<_>>(),
        }),
        Entry::Method(_, m) => json!({
            "name": entry.name(),
            "kind": "stripe",
            "http": format!("{} {}", m.verb.as_str(), m.path),
            "summary": m.summary,
            "returns": returns_type(&m.returns),
            "params": m.params.iter().map(|p| api_param_json(api, p, true)).collect::<Vec<_>>(),
        }),
    }
}

/// A parameter as JSON; `expand`: with the fields of its nested block, if it has one.
fn api_param_json(api: &Catalogue, p: &ApiParam, expand: bool) -> Json {
    let mut o = json!({
        "name": p.name,
        "type": type_text(&p.ty, p.nullable),
        "required": p.required,
        "in_path": p.in_path,
        "nullable": p.nullable,
    });
    add_enum_json(&mut o, &p.ty);
    if let Some((_, block)) = nested(&p.ty, String::new()).filter(|_| expand) {
        let fields = api.param_type(block).unwrap_or_default();
        o["fields"] = fields
            .iter()
            .map(|f| api_param_json(api, f, false))
            .collect();
    }
    o
}

fn action_param_json(p: &ParamDef) -> Json {
    let mut o = json!({
        "name": p.name,
        "type": type_text(&p.ty, false),
        "required": !p.optional,
        "in_path": false,
        "nullable": false,
    });
    add_enum_json(&mut o, &p.ty);
    if !p.doc.is_empty() {
        o["doc"] = json!(p.doc);
    }
    o
}

fn add_enum_json(o: &mut Json, ty: &FieldType) {
    if let Some((values, open)) = enum_of(ty) {
        o["values"] = json!(values);
        o["open"] = json!(open);
    }
}

/// Nothing matched: the closest names of actions, resources and methods.
fn no_match(text: &str, lib: &flow_stdlib::Stdlib, api: &Catalogue) -> i32 {
    let lower = text.to_lowercase();
    let bare = lower.strip_prefix("stripe.").unwrap_or(&lower);
    let mut names: Vec<String> = lib.actions.iter().map(|a| a.name.clone()).collect();
    for r in &api.resources {
        names.push(r.name.clone());
        names.extend(r.methods.iter().map(|m| format!("{}.{}", r.name, m.name)));
        names.extend(r.methods.iter().map(|m| m.name.clone()));
    }
    names.sort();
    names.dedup();
    let close = flow_check::did_you_mean(bare, names.iter().map(String::as_str));
    let hint = "`flow actions` lists every action and Stripe method";
    let help = match flow_check::phrase(&close) {
        Some(p) => format!("{p} {hint}"),
        None => hint.to_string(),
    };
    let d = Diagnostic::error(
        "E0301",
        format!(
            "no action or Stripe method has `{}` in its name",
            terminal_safe(text)
        ),
    )
    .with_help(help);
    print_plain(&d, None);
    2
}
