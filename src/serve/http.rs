//! The HTTP side: `POST /webhook`, `GET /healthz`, `GET /metrics`.
//!
//! A webhook is verified first (nothing is read further, and nothing is recorded,
//! unless its signature is valid), then recorded with the runs it starts in one
//! transaction; the 2xx is sent only once that is on disk. The runs are queued for
//! the workers; the request does not wait for them.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, RwLock};

use serde_json::{json, Value as Json};
use tiny_http::{Header, Method, Request, Response};

use super::flows::Registry;
use super::log;
use super::metrics::{Gauges, Metrics};
use super::runlog::{self, Recorded, Writer};
use super::signature::{self, Secrets};
use super::time;
use super::worker::Queue;
use crate::vm::Event;

/// The largest body accepted. Stripe's event payloads are far smaller.
pub const MAX_BODY: usize = 4 * 1024 * 1024;

pub struct App {
    pub secrets: Secrets,
    pub tolerance: u64,
    pub writer: Writer,
    pub queue: Arc<Queue>,
    pub registry: Arc<RwLock<Arc<Registry>>>,
    pub metrics: Arc<Metrics>,
    pub stopping: AtomicBool,
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes())
        .unwrap_or_else(|_| unreachable!("static header"))
}

fn reply_json(req: Request, status: u16, body: Json) {
    let r = Response::from_string(body.to_string())
        .with_status_code(status)
        .with_header(header("Content-Type", "application/json"));
    let _ = req.respond(r);
}

fn reply_text(req: Request, status: u16, content_type: &str, body: String) {
    let r = Response::from_string(body)
        .with_status_code(status)
        .with_header(header("Content-Type", content_type));
    let _ = req.respond(r);
}

pub fn handle(app: &App, req: Request) {
    let path = req.url().split('?').next().unwrap_or("").to_string();
    let method = req.method().clone();
    match (path.as_str(), &method) {
        ("/webhook", Method::Post) => webhook(app, req),
        ("/healthz", Method::Get) => healthz(app, req),
        ("/metrics", Method::Get) => {
            let (queued, in_flight) = app.queue.counts();
            let loaded = app.registry.read().map(|r| r.len()).unwrap_or(0);
            let text = app.metrics.render(&Gauges {
                runs_queued: queued,
                runs_in_flight: in_flight,
                workflows_loaded: loaded,
            });
            reply_text(req, 200, "text/plain; version=0.0.4", text);
        }
        ("/webhook", _) | ("/healthz", _) | ("/metrics", _) => {
            let allow = if path == "/webhook" { "POST" } else { "GET" };
            let r = Response::from_string(json!({"error": format!("use {allow}")}).to_string())
                .with_status_code(405)
                .with_header(header("Allow", allow))
                .with_header(header("Content-Type", "application/json"));
            let _ = req.respond(r);
        }
        _ => reply_json(req, 404, json!({"error": "not found"})),
    }
}

fn healthz(app: &App, req: Request) {
    let (queued, in_flight) = app.queue.counts();
    let loaded = app.registry.read().map(|r| r.len()).unwrap_or(0);
    let stopping = app.stopping.load(Relaxed);
    reply_json(
        req,
        if stopping { 503 } else { 200 },
        json!({
            "status": if stopping { "stopping" } else { "ok" },
            "workflows": loaded,
            "runs_queued": queued,
            "runs_in_flight": in_flight,
        }),
    );
}

fn reject(app: &App, req: Request, status: u16, reason: &str, message: String) {
    let counter = if reason == "signature" {
        &app.metrics.rejected_signature
    } else {
        &app.metrics.rejected_malformed
    };
    counter.fetch_add(1, Relaxed);
    let remote = req.remote_addr().map(|a| a.to_string());
    log::warn(
        "webhook rejected",
        json!({"status": status, "reason": reason, "detail": message, "remote": remote}),
    );
    reply_json(req, status, json!({"error": message}));
}

fn webhook(app: &App, mut req: Request) {
    if req.body_length().is_some_and(|n| n > MAX_BODY) {
        return reject(
            app,
            req,
            413,
            "malformed",
            format!("the body is larger than {MAX_BODY} bytes"),
        );
    }
    let mut body = Vec::new();
    let read = req
        .as_reader()
        .take(MAX_BODY as u64 + 1)
        .read_to_end(&mut body);
    if let Err(e) = read {
        return reject(
            app,
            req,
            400,
            "malformed",
            format!("cannot read the body: {e}"),
        );
    }
    if body.len() > MAX_BODY {
        return reject(
            app,
            req,
            413,
            "malformed",
            format!("the body is larger than {MAX_BODY} bytes"),
        );
    }
    let sig = req
        .headers()
        .iter()
        .find(|h| h.field.equiv("Stripe-Signature"))
        .map(|h| h.value.as_str().to_string());
    let now = time::now_ms();
    let signed_at = match signature::verify(&body, sig.as_deref(), &app.secrets, app.tolerance, now)
    {
        Ok(t) => t,
        Err(e) => return reject(app, req, 400, "signature", e.to_string()),
    };
    let json: Json = match serde_json::from_slice(&body) {
        Ok(j) => j,
        Err(e) => {
            return reject(
                app,
                req,
                400,
                "malformed",
                format!("the body is not JSON: {e}"),
            )
        }
    };
    let event = match Event::from_json(json, None) {
        Ok(e) => e,
        Err(e) => {
            return reject(
                app,
                req,
                400,
                "malformed",
                format!("not a Stripe event: {e}"),
            )
        }
    };
    let Some(id) = event.id().filter(|s| !s.is_empty()).map(str::to_string) else {
        return reject(
            app,
            req,
            400,
            "malformed",
            "not a Stripe event: it has no `id`".into(),
        );
    };
    let event_type = event.event_type().to_string();
    let candidates = app
        .registry
        .read()
        .map(|r| r.candidates(&event_type))
        .unwrap_or_default();
    let (eid, etype) = (id.clone(), event_type.clone());
    let recorded = app.writer.write(move |conn| {
        runlog::record_event(conn, &eid, &etype, &body, Some(signed_at), now, &candidates)
    });
    match recorded {
        Ok(Recorded::Duplicate) => {
            app.metrics.events_duplicate.fetch_add(1, Relaxed);
            log::info(
                "event redelivered",
                json!({"event": id, "type": event_type, "detail": "already recorded; not run again"}),
            );
            reply_json(
                req,
                200,
                json!({"received": true, "duplicate": true, "runs": 0}),
            );
        }
        Ok(Recorded::New(runs)) => {
            app.metrics.events_received.fetch_add(1, Relaxed);
            for r in &runs {
                app.queue.push(*r);
            }
            log::info(
                "event received",
                json!({"event": id, "type": event_type, "runs": runs}),
            );
            reply_json(
                req,
                200,
                json!({"received": true, "duplicate": false, "runs": runs.len()}),
            );
        }
        Err(e) => {
            log::error(
                "event not recorded",
                json!({"event": id, "error": e.to_string(), "detail": "answered 500; Stripe delivers it again"}),
            );
            reply_json(
                req,
                500,
                json!({"error": "the event could not be recorded; deliver it again"}),
            );
        }
    }
}
