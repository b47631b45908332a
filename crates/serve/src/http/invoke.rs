//! `POST /invoke/NAME`: start a run of an on-demand workflow.

use std::sync::atomic::Ordering::Relaxed;

use serde_json::{json, Value as Json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{App, Request, Response};
use crate::config::INVOKE_TOKEN_ENV;
use crate::log;
use crate::runlog::{Candidate, NewEvent, Recorded};
use crate::time;
use flow_stdlib::suggest::did_you_mean;
use flow_vm::{input, Event};

pub fn invoke(app: &App, req: &Request) -> Response {
    let Some(token) = app.invoke_token.as_deref() else {
        return Response::json(
            404,
            &json!({
                "error": "invocation is off",
                "help": format!("start flow serve with {INVOKE_TOKEN_ENV} set to a secret token, then call POST /invoke/NAME with `Authorization: Bearer TOKEN`"),
            }),
        );
    };
    if !authorized(req.header("Authorization"), token) {
        log::warn(
            "invocation refused",
            json!({"status": 401, "path": req.path, "remote": req.remote.map(|a| a.to_string())}),
        );
        return Response::json(
            401,
            &json!({"error": "a valid `Authorization: Bearer TOKEN` header is needed",
                    "help": format!("the token is the server's {INVOKE_TOKEN_ENV}")}),
        )
        .with_header("WWW-Authenticate", "Bearer");
    }
    let raw = req.path.strip_prefix("/invoke/").unwrap_or_default();
    let Some(name) = percent_decode(raw) else {
        return Response::json(
            400,
            &json!({"error": "the workflow's name in the path is not valid percent-encoded UTF-8"}),
        );
    };
    let (workflow, names) = match app.registry.read() {
        Ok(r) => (
            r.workflows().find(|w| w.name == name).cloned(),
            r.workflows()
                .map(|w| (w.name.clone(), w.trigger == flow_program::DEMAND))
                .collect::<Vec<_>>(),
        ),
        Err(_) => (None, Vec::new()),
    };
    let Some(workflow) = workflow else {
        let on_demand = names.iter().filter(|(_, d)| *d).map(|(n, _)| n.as_str());
        let mut body = json!({"error": format!("no workflow named `{name}` is loaded")});
        if let Some(close) = closest(&name, on_demand.clone()) {
            body["help"] = json!(format!("did you mean `{close}`?"));
        } else {
            let all: Vec<&str> = on_demand.collect();
            body["help"] = json!(if all.is_empty() {
                "no on-demand workflow (`on demand (…)`) is loaded".to_string()
            } else {
                format!("the on-demand workflows: {}", all.join(", "))
            });
        }
        return Response::json(404, &body);
    };
    if workflow.trigger != flow_program::DEMAND {
        return Response::json(
            409,
            &json!({
                "error": format!("`{name}` is not an on-demand workflow: it runs on {}", workflow.program.trigger_kind()),
                "help": "only a workflow written `on demand (…)` can be invoked",
            }),
        );
    }
    let input: Json = if req.body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        match serde_json::from_slice(&req.body) {
            Ok(j) => j,
            Err(e) => {
                return unprocessable(
                    &name,
                    vec![
                        json!({"name": "input", "message": format!("the body is not JSON: {e}"),
                                "help": "send the inputs as one JSON object"}),
                    ],
                )
            }
        }
    };
    if let Err(problems) = input::decode(&workflow.program.inputs, &input) {
        let problems = problems
            .iter()
            .map(|p| json!({"name": p.name, "message": p.message, "help": p.help}))
            .collect();
        return unprocessable(&name, problems);
    }
    let now = time::clock_ms();
    let id = match req.header("Idempotency-Key").map(str::trim) {
        Some(key) if !key.is_empty() => {
            let mut h = Sha256::new();
            h.update(name.as_bytes());
            h.update([0]);
            h.update(key.as_bytes());
            format!("demand:{}", hex(&h.finalize()[..16]))
        }
        _ => format!("demand:{}", random_hex()),
    };
    let event = Event::demand(&id, input, now.div_euclid(1000));
    let payload = event.json.to_string().into_bytes();
    let candidate = Candidate {
        workflow: workflow.name.clone(),
        version: workflow.version.clone(),
        skipped: false,
    };
    let given = event.object().clone();
    let recorded = (|| {
        let r = app.store.record_event(NewEvent {
            take: false,
            id: id.clone(),
            event_type: flow_program::DEMAND.to_string(),
            payload,
            signed_at: None,
            now,
            candidates: vec![candidate],
        })?;
        // A key sent again must come with the same input. What was recorded for it
        // does not change, so it is read after the event's transaction.
        let same = matches!(r, Recorded::New { .. })
            || app
                .store
                .event_payload(&id)?
                .and_then(|p| serde_json::from_slice::<Json>(&p).ok())
                .is_some_and(|j| j.pointer("/data/object") == Some(&given));
        let run = match &r {
            Recorded::New { runs, .. } => runs.first().copied(),
            Recorded::Duplicate => app.store.run_of(&id, &workflow.name)?,
        };
        Ok::<_, crate::runlog::LogError>((r, run, same))
    })();
    let recorded = match recorded {
        Ok((_, _, false)) => {
            return Response::json(
                409,
                &json!({"error": "this Idempotency-Key was first sent with another input",
                        "help": "send a new key for a new invocation; the same key with the same input is answered with the first run"}),
            )
        }
        Ok((r, run, true)) => Ok((r, run)),
        Err(e) => Err(e),
    };
    match recorded {
        Ok((recorded, Some(run))) => {
            let duplicate = recorded == Recorded::Duplicate;
            if !duplicate {
                app.metrics.events_received.fetch_add(1, Relaxed);
                app.queue.push(run);
            }
            log::info(
                "workflow invoked",
                json!({"workflow": name, "event": id, "run": run, "duplicate": duplicate}),
            );
            Response::json(
                202,
                &json!({"run": run, "event": id, "workflow": name, "duplicate": duplicate}),
            )
        }
        Ok((_, None)) => Response::json(
            409,
            &json!({"error": format!("`{name}` is deactivated"),
                    "help": format!("`flow activate \"{name}\"` switches it on")}),
        ),
        Err(e) => {
            log::error(
                "invocation not recorded",
                json!({"workflow": name, "error": e.to_string()}),
            );
            Response::json(
                500,
                &json!({"error": "the invocation could not be recorded; try again (with the same Idempotency-Key)"}),
            )
        }
    }
}

fn unprocessable(name: &str, problems: Vec<Json>) -> Response {
    Response::json(
        422,
        &json!({
            "error": format!("the input does not match the inputs of `{name}`"),
            "problems": problems,
        }),
    )
}

/// `Bearer TOKEN`, compared in constant time.
fn authorized(header: Option<&str>, token: &str) -> bool {
    let Some(h) = header else {
        return false;
    };
    let given = match h.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => return false,
    };
    // Hashing first makes the comparison's length fixed.
    let a = Sha256::digest(given.as_bytes());
    let b = Sha256::digest(token.as_bytes());
    bool::from(a.as_slice().ct_eq(b.as_slice()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// 128 random bits, from the standard library's randomly keyed hasher, the time and
/// a counter.
fn random_hex() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::AtomicU64;
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Relaxed);
    let mut out = String::new();
    for part in 0..2u8 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u8(part);
        h.write_u64(n);
        h.write_i64(time::now_ms());
        h.write_u32(std::process::id());
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hi = (*b.get(i + 1)? as char).to_digit(16)?;
            let lo = (*b.get(i + 2)? as char).to_digit(16)?;
            out.push(u8::try_from(hi * 16 + lo).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok().filter(|n| !n.is_empty())
}

/// The closest name, when it is close enough to be a typo (the rule of every
/// did-you-mean of flow).
fn closest<'a>(word: &str, names: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    did_you_mean(word, names).first().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_names_and_ids() {
        assert!(authorized(Some("Bearer s3cret"), "s3cret"));
        assert!(authorized(Some("bearer  s3cret "), "s3cret"));
        assert!(!authorized(Some("Bearer s3cre"), "s3cret"));
        assert!(!authorized(Some("Basic s3cret"), "s3cret"));
        assert!(!authorized(None, "s3cret"));
        assert_eq!(
            percent_decode("Goodwill%20gesture").as_deref(),
            Some("Goodwill gesture")
        );
        assert_eq!(percent_decode("bad%2"), None);
        assert_eq!(percent_decode("%ff"), None);
        assert_eq!(
            closest("Goodwil gesture", ["Goodwill gesture", "Other"].into_iter()),
            Some("Goodwill gesture")
        );
        assert_eq!(closest("zzz", ["Goodwill gesture"].into_iter()), None);
        assert_ne!(random_hex(), random_hex());
        assert_eq!(random_hex().len(), 32);
    }
}
