//! `flow events` and `flow fields`: what the standard library knows about Stripe.

use flow_check::describe_field_type;
use flow_diagnostics::Diagnostic;
use flow_stdlib::FieldType;

use super::output::{print_plain, Stdout};

pub fn events(filter: Option<&str>) -> i32 {
    let mut out = Stdout::lock();
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
pub fn fields(event_type: &str, path: Option<&str>) -> i32 {
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
