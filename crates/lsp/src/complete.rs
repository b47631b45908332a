//! Completion: what may be written at the cursor, decided from the text before it.
//!
//! | where | what |
//! |---|---|
//! | after `on ` (or `given `) | event types, with what they mean |
//! | after a path and `.` | the fields of its type (a reference's object's too) |
//! | in a string compared with an enum field | the enum's values |
//! | in a string given to an enum parameter (`reason: "`) | the parameter's values |
//! | in `stripe.` | resources, then their methods |
//! | in `stripe.R.M(` … | the method's named parameters |
//! | after an action's name or `,` | the action's parameters |
//! | at the start of a statement | actions and statement keywords |
//! | elsewhere in a block or condition | fields, `let` names, functions, keywords |

use lsp_types::{
    CompletionItem, CompletionItemKind, CompletionTextEdit, Documentation, MarkupContent,
    MarkupKind, Range, TextEdit,
};

use flow_check::tree::Func;
use flow_check::{describe_field_type, Ty};
use flow_stdlib::api::Method;
use flow_stdlib::{ActionDef, Stdlib};

use crate::cursor::{self, Prefix};
use crate::document::Document;
use crate::scope::{self, Scope};

/// Words that start a statement, besides the actions.
const STATEMENT_WORDS: &[&str] = &["let", "if", "else", "update", "retrieve", "stripe"];
/// Words that may stand in an expression, besides names and functions.
const EXPRESSION_WORDS: &[&str] = &[
    "and", "or", "not", "in", "null", "true", "false", "any", "all", "retrieve", "stripe",
];
/// Words at the top level of a file.
const TOP_WORDS: &[&str] = &["workflow", "on", "when", "test", "action"];

/// What the cursor is in.
#[derive(Debug, PartialEq)]
enum Context<'t> {
    Event,
    Member {
        base: &'t str,
    },
    EnumValue {
        path: &'t str,
    },
    ActionParamValue {
        action: &'t str,
        param: &'t str,
    },
    MethodParamValue {
        resource: &'t str,
        method: &'t str,
        param: &'t str,
    },
    Stripe {
        after: &'t str,
    },
    StripeParam {
        resource: &'t str,
        method: &'t str,
    },
    ActionParam {
        action: &'t str,
    },
    Statement,
    Expression,
    TopLevel,
    Nothing,
}

/// The completion items at a position of a document.
pub fn complete(doc: &Document, offset: usize) -> Vec<CompletionItem> {
    let text = doc.text();
    let offset = scope::floor_boundary(text, offset);
    let lib = flow_stdlib::builtin();
    let (start, word) = cursor::word_before(text, offset);
    let prefix = cursor::prefix(text, offset);
    let context = context(text, start, word, &prefix);
    let scope = Scope::at(lib, text, offset);
    let replace = doc.range(flow_syntax::Span::new(start, offset));
    match context {
        Context::Event => events(lib, replace),
        Context::Member { base } => members(&scope, base),
        Context::EnumValue { path } => enum_values(&scope, path),
        Context::ActionParamValue { action, param } => find_action(lib, text, action)
            .and_then(|a| a.param(param).map(|p| values_of(&p.ty)))
            .unwrap_or_default(),
        Context::MethodParamValue {
            resource,
            method,
            param,
        } => lib
            .api()
            .ok()
            .and_then(|api| api.method(resource, method)?.param(param))
            .map(|p| values_of(&p.ty))
            .unwrap_or_default(),
        Context::Stripe { after } => {
            let after_start = doc.range(flow_syntax::Span::new(start + "stripe.".len(), offset));
            stripe(lib, after, after_start)
        }
        Context::StripeParam { resource, method } => lib
            .api()
            .ok()
            .and_then(|api| api.method(resource, method))
            .map(method_params)
            .unwrap_or_default(),
        Context::ActionParam { action } => find_action(lib, text, action)
            .map(|a| action_params(&a))
            .unwrap_or_default(),
        Context::Statement => statement(lib, text),
        Context::Expression => expression(&scope),
        Context::TopLevel => keywords(TOP_WORDS),
        Context::Nothing => Vec::new(),
    }
}

fn context<'t>(text: &'t str, start: usize, word: &'t str, prefix: &Prefix) -> Context<'t> {
    if prefix.in_comment {
        return Context::Nothing;
    }
    if let Some(quote) = prefix.string_start {
        if !prefix.in_interpolation {
            return argument_context(text, quote, prefix)
                .unwrap_or_else(|| enum_context(text, quote));
        }
    }
    let line = cursor::line_before(text, start);
    if matches!(cursor::last_word(line), "on" | "given") && line.trim_end() != line {
        return Context::Event;
    }
    if let Some(call) = stripe_call(text, start, prefix) {
        return call;
    }
    if let Some(after) = word.strip_prefix("stripe.") {
        return Context::Stripe { after };
    }
    if let Some((base, _)) = word.rsplit_once('.') {
        return Context::Member { base };
    }
    if prefix.depth == 0 {
        return if line.trim().is_empty() {
            Context::TopLevel
        } else {
            Context::Expression
        };
    }
    statement_context(text, start, line)
}

/// In a string: an enum value when the string is compared with a path
/// (`status == "`, `status != "`, `status in ["a", "`).
fn enum_context(text: &str, quote: usize) -> Context<'_> {
    let mut before = text[..quote].trim_end();
    if let Some(rest) = before.strip_suffix(['[', ',']) {
        // Back to the `[` of the list, then `in`.
        let open = rest.rfind('[').map_or(rest.len(), |i| i);
        let list_start = if before.ends_with('[') {
            rest.len()
        } else {
            open
        };
        before = text[..list_start].trim_end();
        match before.strip_suffix("in") {
            Some(b) => before = b.trim_end(),
            None => return Context::Nothing,
        }
    } else if let Some(b) = before.strip_suffix("==").or(before.strip_suffix("!=")) {
        before = b.trim_end();
    } else {
        return Context::Nothing;
    }
    let (_, path) = cursor::word_before(before, before.len());
    if path.is_empty() {
        Context::Nothing
    } else {
        Context::EnumValue { path }
    }
}

/// In a string given to a parameter (`reason: "`): of an action, or of a Stripe
/// method when in its parentheses.
fn argument_context<'t>(text: &'t str, quote: usize, prefix: &Prefix) -> Option<Context<'t>> {
    let param = cursor::last_word(text[..quote].trim_end().strip_suffix(':')?);
    if param.is_empty() {
        return None;
    }
    if let Some(call) = prefix
        .open
        .last()
        .and_then(|&open| stripe_callee(text, open))
    {
        let (resource, method) = call;
        return Some(Context::MethodParamValue {
            resource,
            method,
            param,
        });
    }
    let line = cursor::line_before(text, quote);
    let (action, _, _) = statement_start(text, quote, line);
    let action = action.filter(|a| could_be_action(a))?;
    Some(Context::ActionParamValue { action, param })
}

/// `stripe.R.M` before the `(` at `open`: the resource and the method.
fn stripe_callee(text: &str, open: usize) -> Option<(&str, &str)> {
    if text.get(open..open + 1) != Some("(") {
        return None;
    }
    let (_, callee) = cursor::word_before(text, open);
    callee.strip_prefix("stripe.")?.rsplit_once('.')
}

/// In the parentheses of `stripe.R.M(`, where a parameter's name may go.
fn stripe_call<'t>(text: &'t str, start: usize, prefix: &Prefix) -> Option<Context<'t>> {
    let (resource, method) = stripe_callee(text, *prefix.open.last()?)?;
    let before_word = text[..start].trim_end();
    (before_word.ends_with('(') || before_word.ends_with(','))
        .then_some(Context::StripeParam { resource, method })
}

/// At a statement's start, or among an action's arguments, or in an expression.
fn statement_context<'t>(text: &'t str, start: usize, line: &'t str) -> Context<'t> {
    let (first, before, continued) = statement_start(text, start, line);
    // Right after the action's name, or after a `,` between its arguments.
    let arg_position =
        |action: &str| before == action || before.ends_with(',') || before.is_empty() && continued;
    match first {
        Some(action) if arg_position(action) && could_be_action(action) => {
            Context::ActionParam { action }
        }
        Some(_) if continued => Context::Expression,
        _ if before.is_empty() || before.ends_with(['{', ';']) => Context::Statement,
        _ => Context::Expression,
    }
}

/// The statement that `start` is in: its first word (of this line, or of the line it
/// continues; after `let NAME =`, the word after `=`), what of the line precedes
/// `start` (after `let NAME =`, from the `=` on), and whether the line continues
/// another that ends with `,`.
fn statement_start<'t>(
    text: &'t str,
    start: usize,
    line: &'t str,
) -> (Option<&'t str>, &'t str, bool) {
    let before = line.trim();
    let continued = cursor::previous_line(text, start).is_some_and(|l| l.ends_with(','));
    let first = if continued {
        statement_head(text, start)
    } else {
        before.split_whitespace().next()
    };
    match (first, before.split_once('=')) {
        (Some("let"), Some((_, rest))) if !rest.trim().is_empty() => {
            let rest = rest.trim();
            (rest.split_whitespace().next(), rest, continued)
        }
        _ => (first, before, continued),
    }
}

/// A word that may name an action: a plain name that is not a statement keyword.
fn could_be_action(word: &str) -> bool {
    word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !matches!(
            word,
            "let" | "if" | "else" | "update" | "retrieve" | "when" | "stripe"
        )
}

/// The first word of the statement that the lines ending in `,` before `offset`
/// continue.
fn statement_head(text: &str, offset: usize) -> Option<&str> {
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let mut lines = text[..line_start]
        .lines()
        .rev()
        .map(|l| cursor::strip_comment(l).trim())
        .filter(|l| !l.is_empty())
        .peekable();
    let mut head = None;
    while let Some(line) = lines.next() {
        head = line.split_whitespace().next();
        if !lines.peek().is_some_and(|prev| prev.ends_with(',')) {
            break;
        }
    }
    head
}

fn markdown(text: String) -> Option<Documentation> {
    (!text.is_empty()).then_some(Documentation::MarkupContent(MarkupContent {
        kind: MarkupKind::Markdown,
        value: text,
    }))
}

fn item(label: &str, kind: CompletionItemKind, detail: Option<String>) -> CompletionItem {
    CompletionItem {
        label: label.to_string(),
        kind: Some(kind),
        detail,
        ..CompletionItem::default()
    }
}

/// An item replacing `range` (a dotted word the client may not see as one word).
fn replacing(mut it: CompletionItem, range: Range) -> CompletionItem {
    it.filter_text = Some(it.label.clone());
    it.text_edit = Some(CompletionTextEdit::Edit(TextEdit::new(
        range,
        it.label.clone(),
    )));
    it
}

fn keywords(words: &[&str]) -> Vec<CompletionItem> {
    words
        .iter()
        .map(|w| item(w, CompletionItemKind::KEYWORD, None))
        .collect()
}

fn events(lib: &Stdlib, range: Range) -> Vec<CompletionItem> {
    lib.events
        .iter()
        .map(|e| {
            let mut it = item(&e.name, CompletionItemKind::EVENT, e.object.clone());
            it.documentation = markdown(e.description.clone());
            replacing(it, range)
        })
        .collect()
}

fn field_item(owner: &str, f: &flow_stdlib::FieldDef) -> CompletionItem {
    let mut it = item(
        &f.name,
        CompletionItemKind::FIELD,
        Some(describe_field_type(owner, f)),
    );
    if let Some(d) = &f.description {
        it.documentation = markdown(d.clone());
    }
    it
}

fn members(scope: &Scope<'_>, base: &str) -> Vec<CompletionItem> {
    let segments = cursor::segments(base);
    let Some(resolved) = scope.resolve(&segments) else {
        return Vec::new();
    };
    scope::fields_of(scope.lib, &resolved.ty)
        .into_iter()
        .map(|(owner, f)| field_item(&owner, f))
        .collect()
}

fn enum_values(scope: &Scope<'_>, path: &str) -> Vec<CompletionItem> {
    let segments = cursor::segments(path);
    let Some(resolved) = scope.resolve(&segments) else {
        return Vec::new();
    };
    let Ty::Enum(e) = resolved.ty.base() else {
        return Vec::new();
    };
    e.values
        .iter()
        .map(|v| item(v, CompletionItemKind::ENUM_MEMBER, Some(e.origin.clone())))
        .collect()
}

fn stripe(lib: &Stdlib, after: &str, range: Range) -> Vec<CompletionItem> {
    let Ok(api) = lib.api() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some((resource, _)) = after.rsplit_once('.') {
        if let Some(r) = api.resource(resource) {
            out.extend(r.methods.iter().map(|m| {
                let mut it = item(
                    &m.name,
                    CompletionItemKind::METHOD,
                    Some(format!("{} {}", m.verb.as_str(), m.path)),
                );
                it.documentation = markdown(m.summary.clone());
                it
            }));
        }
    }
    out.extend(
        api.resources
            .iter()
            .filter(|r| r.name.starts_with(after) || !after.contains('.'))
            .map(|r| {
                let it = item(&r.name, CompletionItemKind::MODULE, r.object.clone());
                replacing(it, range)
            }),
    );
    out
}

/// The values of an enum-typed parameter.
fn values_of(ty: &flow_stdlib::FieldType) -> Vec<CompletionItem> {
    match ty {
        flow_stdlib::FieldType::Enum { values, .. } => values
            .iter()
            .map(|v| item(v, CompletionItemKind::ENUM_MEMBER, None))
            .collect(),
        _ => Vec::new(),
    }
}

fn method_params(m: &Method) -> Vec<CompletionItem> {
    m.params
        .iter()
        .filter(|p| !p.in_path)
        .map(|p| {
            let ty = Ty::of_type(&p.name, &p.ty);
            let mut it = item(
                &p.name,
                CompletionItemKind::PROPERTY,
                Some(format!(
                    "{ty}{}",
                    if p.required { "" } else { " (optional)" }
                )),
            );
            it.insert_text = Some(format!("{}: ", p.name));
            it
        })
        .collect()
}

/// An action by name: built in, or declared in this document.
fn find_action(lib: &Stdlib, text: &str, name: &str) -> Option<ActionDef> {
    lib.action(name)
        .cloned()
        .or_else(|| custom_actions(text).into_iter().find(|a| a.name == name))
}

/// The actions the document declares (`action NAME url: "…" { … }`), as far as it
/// parses.
pub fn custom_actions(text: &str) -> Vec<ActionDef> {
    let source = flow_syntax::SourceFile::new("document", text);
    flow_syntax::parse(&source)
        .file
        .actions
        .iter()
        .map(|a| ActionDef {
            name: a.name.name.clone(),
            summary: format!("posts to {}", a.url),
            params: a
                .params
                .iter()
                .filter_map(|p| {
                    let (ty, nullable) = flow_stdlib::schema::parse_type(&p.ty).ok()?;
                    Some(flow_stdlib::ParamDef {
                        name: p.name.name.clone(),
                        ty,
                        optional: nullable,
                        doc: String::new(),
                    })
                })
                .collect(),
        })
        .collect()
}

fn action_params(a: &ActionDef) -> Vec<CompletionItem> {
    a.params
        .iter()
        .map(|p| {
            let ty = Ty::of_type(&p.name, &p.ty);
            let mut it = item(
                &p.name,
                CompletionItemKind::PROPERTY,
                Some(format!(
                    "{ty}{}",
                    if p.optional { " (optional)" } else { "" }
                )),
            );
            it.documentation = markdown(p.doc.clone());
            it.insert_text = Some(format!("{}: ", p.name));
            it
        })
        .collect()
}

fn statement(lib: &Stdlib, text: &str) -> Vec<CompletionItem> {
    let mut out = keywords(STATEMENT_WORDS);
    let actions = lib.actions.iter().cloned().chain(custom_actions(text));
    out.extend(actions.map(|a| {
        let mut it = item(
            &a.name,
            CompletionItemKind::FUNCTION,
            Some(a.summary.clone()),
        );
        it.documentation = markdown(action_signature(&a));
        it
    }));
    out
}

/// `email to: addresses, subject: string (optional), …`
pub fn action_signature(a: &ActionDef) -> String {
    let params: Vec<String> = a
        .params
        .iter()
        .map(|p| {
            format!(
                "{}: {}{}",
                p.name,
                Ty::of_type(&p.name, &p.ty),
                if p.optional { "?" } else { "" }
            )
        })
        .collect();
    format!("`{} {}`", a.name, params.join(", "))
}

fn expression(scope: &Scope<'_>) -> Vec<CompletionItem> {
    let mut out: Vec<CompletionItem> = scope
        .object_fields()
        .into_iter()
        .map(|(owner, f)| field_item(&owner, f))
        .collect();
    out.extend(scope.lets.iter().map(|l| {
        item(
            &l.name,
            CompletionItemKind::VARIABLE,
            Some(l.ty.to_string()),
        )
    }));
    out.extend(Func::ALL.iter().map(|f| {
        item(
            f.name(),
            CompletionItemKind::FUNCTION,
            Some(f.signature().to_string()),
        )
    }));
    out.push(item(
        "event",
        CompletionItemKind::VARIABLE,
        Some("event".into()),
    ));
    out.push(item(
        "now",
        CompletionItemKind::VARIABLE,
        Some("timestamp".into()),
    ));
    out.push(item(
        "dispute_fee",
        CompletionItemKind::CONSTANT,
        Some("money (flow.toml)".into()),
    ));
    out.extend(keywords(EXPRESSION_WORDS));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels_at(text: &str) -> Vec<String> {
        let uri = "file:///nowhere/x.flow".parse().expect("a URI");
        let doc = Document::new(uri, text.to_string());
        complete(&doc, text.len())
            .into_iter()
            .map(|i| i.label)
            .collect()
    }

    fn has(labels: &[String], want: &[&str]) -> bool {
        want.iter().all(|w| labels.iter().any(|l| l == w))
    }

    #[test]
    fn events_after_on() {
        let l = labels_at("on payment_int");
        assert!(has(&l, &["payment_intent.succeeded", "charge.refunded"]));
    }

    #[test]
    fn fields_after_a_dot_through_references_and_lets() {
        let l = labels_at("on payment_intent.succeeded {\n  if latest_charge.");
        assert!(has(&l, &["outcome", "amount_refunded"]), "{l:?}");
        let l = labels_at("on charge.succeeded {\n  let c = retrieve customer\n  if c.");
        assert!(has(&l, &["email", "balance"]), "{l:?}");
        let l = labels_at("on charge.succeeded when outcome.");
        assert!(has(&l, &["risk_level", "type"]), "{l:?}");
        let l = labels_at("on charge.succeeded when event.");
        assert!(has(&l, &["created", "livemode", "data"]), "{l:?}");
        let l = labels_at("on invoice.paid when any(line in lines.data: line.");
        assert!(has(&l, &["amount", "description"]), "{l:?}");
    }

    #[test]
    fn a_field_item_carries_stripes_description() {
        let text = "on charge.succeeded when outcome.";
        let uri = "file:///nowhere/x.flow".parse().expect("a URI");
        let doc = Document::new(uri, text.to_string());
        let items = complete(&doc, text.len());
        let risk = items
            .iter()
            .find(|i| i.label == "risk_level")
            .expect("risk_level offered");
        let Some(Documentation::MarkupContent(m)) = &risk.documentation else {
            panic!("risk_level is documented: {risk:?}");
        };
        assert!(
            m.value.starts_with("Stripe Radar's evaluation"),
            "{}",
            m.value
        );
    }

    #[test]
    fn enum_values_in_a_compared_string() {
        let l = labels_at("on payment_intent.succeeded when status == \"req");
        assert!(has(&l, &["requires_action", "succeeded"]), "{l:?}");
        let l = labels_at("on payment_intent.succeeded when status in [\"canceled\", \"");
        assert!(has(&l, &["processing"]), "{l:?}");
        assert!(labels_at("on charge.succeeded { email body: \"").is_empty());
    }

    #[test]
    fn statements_actions_and_their_parameters() {
        let l = labels_at("on charge.succeeded {\n  ");
        assert!(
            has(&l, &["email", "refund", "let", "update", "stripe"]),
            "{l:?}"
        );
        let l = labels_at("on charge.succeeded {\n  email ");
        assert!(has(&l, &["to", "body", "append"]), "{l:?}");
        let l = labels_at("on charge.succeeded {\n  email to: \"a@b.c\",\n        ");
        assert!(has(&l, &["subject", "body"]), "{l:?}");
        let l = labels_at("on charge.succeeded {\n  let r = http ");
        assert!(has(&l, &["method", "url"]), "{l:?}");
        let l = labels_at("on charge.succeeded {\n  let r = http method: \"");
        assert!(has(&l, &["GET", "POST"]), "{l:?}");
        let l = labels_at("on charge.succeeded {\n  refund charge: id,\n    reason: \"fr");
        assert!(has(&l, &["fraudulent", "duplicate"]), "{l:?}");
        let l = labels_at("on charge.succeeded {\n  let r = ");
        assert!(has(&l, &["amount", "retrieve"]), "{l:?}");
    }

    #[test]
    fn stripe_resources_methods_and_parameters() {
        let l = labels_at("on invoice.paid {\n  stripe.inv");
        assert!(has(&l, &["invoices", "invoice_items"]), "{l:?}");
        let l = labels_at("on invoice.paid {\n  stripe.invoices.");
        assert!(has(&l, &["void_invoice", "retrieve"]), "{l:?}");
        let l = labels_at("on invoice.paid {\n  stripe.customers.update(customer, ");
        assert!(has(&l, &["email", "metadata"]), "{l:?}");
        let l = labels_at("on invoice.paid {\n  stripe.customers.update(customer, tax_exempt: \"");
        assert!(has(&l, &["exempt", "reverse"]), "{l:?}");
    }

    #[test]
    fn expressions_offer_fields_lets_and_functions() {
        let l = labels_at("on payment_intent.succeeded when customer != null and ");
        assert!(
            has(&l, &["amount", "currency", "contains", "event", "not"]),
            "{l:?}"
        );
        assert!(labels_at("// on ").is_empty());
        assert!(has(&labels_at(""), &["workflow", "on"]));
    }
}
