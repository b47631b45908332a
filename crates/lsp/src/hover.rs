//! Hover: what the name under the cursor is. An event type after `on` (what Stripe
//! says it means), `stripe.RESOURCE.METHOD` (the method's summary and parameters), an
//! action (its summary and parameters), a function (its signature), a field path (its
//! type, whether it may be null, whether it can be updated, and what Stripe says it
//! is: the first sentence of its description in `stdlib/schemas/`) or a `let` name
//! (its type).

use lsp_types::{Hover, HoverContents, MarkupContent, MarkupKind};

use flow_check::tree::Func;
use flow_stdlib::api::Catalogue;
use flow_stdlib::Stdlib;
use flow_syntax::Span;

use crate::complete::{action_signature, custom_actions};
use crate::cursor;
use crate::document::Document;
use crate::scope::{self, Scope};

/// The hover at a position of a document.
pub fn hover(doc: &Document, offset: usize) -> Option<Hover> {
    let text = doc.text();
    let offset = scope::floor_boundary(text, offset);
    let prefix = cursor::prefix(text, offset);
    if prefix.in_comment || prefix.string_start.is_some() && !prefix.in_interpolation {
        return None;
    }
    let lib = flow_stdlib::builtin();
    let (start, whole) = cursor::word_around(text, offset);
    let line = cursor::line_before(text, start);
    let (value, span) = if matches!(cursor::last_word(line), "on" | "given") {
        (event(lib, whole)?, Span::new(start, start + whole.len()))
    } else if let Some(after) = whole.strip_prefix("stripe.") {
        let api = lib.api().ok()?;
        let cut = offset.saturating_sub(start + "stripe.".len());
        (
            stripe(api, after, cut)?,
            Span::new(start, start + whole.len()),
        )
    } else {
        let (start, word) = cursor::word_at(text, offset)?;
        let span = Span::new(start, start + word.len());
        let next = text[span.end as usize..].trim_start();
        let value = if next.starts_with('(') && !word.contains('.') {
            function(word)
        } else {
            None
        };
        let value = value
            .or_else(|| action(lib, text, line, word))
            .or_else(|| path(&Scope::at(lib, text, offset), word))?;
        (value, span)
    };
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value,
        }),
        range: Some(doc.range(span)),
    })
}

fn event(lib: &Stdlib, name: &str) -> Option<String> {
    let e = lib.event(name)?;
    let object = e
        .object
        .as_deref()
        .map(|o| format!(" · `data.object` is a `{o}`"))
        .unwrap_or_default();
    Some(format!(
        "**`{}`** (event){object}\n\n{}",
        e.name, e.description
    ))
}

/// `after` is what follows `stripe.`; `cut` how far into it the cursor is.
fn stripe(api: &Catalogue, after: &str, cut: usize) -> Option<String> {
    if let Some((resource, name)) = after.rsplit_once('.') {
        if let Some(m) = api.method(resource, name) {
            if cut > resource.len() {
                let params: Vec<String> = m
                    .params
                    .iter()
                    .map(|p| {
                        let how = if p.in_path {
                            "by position"
                        } else if p.required {
                            "required"
                        } else {
                            "optional"
                        };
                        let ty = flow_check::Ty::of_type(&p.name, &p.ty);
                        format!("- `{}`: `{ty}` ({how})", p.name)
                    })
                    .collect();
                return Some(format!(
                    "**`stripe.{resource}.{}`** · `{} {}`\n\n{}\n\n{}",
                    m.name,
                    m.verb.as_str(),
                    m.path,
                    m.summary,
                    params.join("\n")
                ));
            }
            return resource_text(api, resource);
        }
    }
    resource_text(api, after)
}

fn resource_text(api: &Catalogue, name: &str) -> Option<String> {
    let r = api.resource(name)?;
    let object = r
        .object
        .as_deref()
        .map(|o| format!(" · objects of type `{o}`"))
        .unwrap_or_default();
    let methods: Vec<&str> = r.methods.iter().map(|m| m.name.as_str()).collect();
    Some(format!(
        "**`stripe.{}`** (Stripe API resource){object}\n\nmethods: {}",
        r.name,
        methods.join(", ")
    ))
}

fn function(name: &str) -> Option<String> {
    let f = Func::ALL.iter().find(|f| f.name() == name)?;
    Some(format!(
        "**`{}`** (function)\n\n`{}`",
        f.name(),
        f.signature()
    ))
}

/// An action's name where a statement starts (`email …`, `let r = http …`).
fn action(lib: &Stdlib, text: &str, line: &str, word: &str) -> Option<String> {
    let before = line.trim();
    let at_start = before.is_empty()
        || before.ends_with(['{', ';', '='])
        || matches!(cursor::last_word(before), "expect");
    if !at_start || word.contains('.') {
        return None;
    }
    let a = lib
        .action(word)
        .cloned()
        .or_else(|| custom_actions(text).into_iter().find(|a| a.name == word))?;
    let params: Vec<String> = a
        .params
        .iter()
        .map(|p| {
            let doc = if p.doc.is_empty() {
                String::new()
            } else {
                format!(": {}", p.doc)
            };
            format!(
                "- `{}`{}{doc}",
                p.name,
                if p.optional { " (optional)" } else { "" }
            )
        })
        .collect();
    Some(format!(
        "**`{}`** (action)\n\n{}\n\n{}\n\n{}",
        a.name,
        a.summary,
        action_signature(&a),
        params.join("\n")
    ))
}

fn path(scope: &Scope<'_>, word: &str) -> Option<String> {
    let segments = cursor::segments(word);
    if let [name] = segments.as_slice() {
        if let Some(l) = scope.local(name) {
            return Some(format!("**`{name}`**: `{}` (let)", l.ty));
        }
    }
    let resolved = scope.resolve(&segments)?;
    let Some((owner, f)) = resolved.field else {
        return Some(format!("**`{word}`**: `{}`", resolved.ty));
    };
    let null = if f.nullable {
        "may be null"
    } else if f.absent {
        "may be absent (reads as null)"
    } else {
        "never null"
    };
    let update = if f.updatable {
        " · updatable with `update`"
    } else {
        ""
    };
    let description = f
        .description
        .as_deref()
        .map(|d| format!("\n\n{d}"))
        .unwrap_or_default();
    Some(format!(
        "**`{word}`**: `{}`\n\nfield `{}` of `{owner}` · {null}{update}{description}",
        flow_check::describe_field_type(&owner, f).trim_end_matches("  (updatable)"),
        f.name
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hover_text(text: &str, at: &str) -> Option<String> {
        let uri = "file:///nowhere/x.flow".parse().expect("a URI");
        let doc = Document::new(uri, text.to_string());
        let offset = text.find(at).expect("the marker is in the text") + 1;
        hover(&doc, offset).map(|h| match h.contents {
            HoverContents::Markup(m) => m.value,
            _ => String::new(),
        })
    }

    #[test]
    fn hovers() {
        let t = "on payment_intent.succeeded when amount > 1000 USD {\n  let c = retrieve customer\n  update customer.metadata.Tier = \"VIP\"\n  stripe.invoices.void_invoice(c)\n  email to: \"a@b.c\", body: \"{c.email}\"\n}";
        let h = hover_text(t, "payment_intent.succeeded").expect("event");
        assert!(
            h.contains("Occurs when a PaymentIntent has successfully completed payment"),
            "{h}"
        );
        let h = hover_text(t, "amount").expect("field");
        assert!(h.contains("`money`") && h.contains("never null"), "{h}");
        assert!(
            h.ends_with("\n\nAmount intended to be collected by this PaymentIntent."),
            "the field's description, in a paragraph of its own: {h}"
        );
        let h = hover_text(t, "metadata.Tier").expect("field through a ref");
        assert!(
            h.contains("`customer.metadata`") && h.contains("`metadata`"),
            "{h}"
        );
        let h = hover_text(t, "void_invoice").expect("method");
        assert!(h.contains("POST /v1/invoices/{id}/void"), "{h}");
        let h = hover_text(t, "invoices.").expect("resource");
        assert!(h.contains("void_invoice"), "{h}");
        let h = hover_text(t, "email to").expect("action");
        assert!(h.contains("Send an e-mail"), "{h}");
        let h = hover_text(t, "c.email").expect("let");
        assert!(h.contains("`customer`"), "{h}");
        assert!(hover_text("// amount", "amount").is_none());
    }
}
