//! The HTTP side: `POST /webhook`, `POST /invoke/NAME`, `GET /healthz`,
//! `GET /metrics`.
//!
//! A webhook is verified first (nothing is parsed, and nothing is recorded, unless its
//! signature is valid), then recorded with the runs it starts in one transaction; the
//! 2xx is sent only once that is on disk. The runs are queued for the workers; the
//! request does not wait for them.
//!
//! An invocation of an on-demand workflow is authorized by its bearer token
//! (`FLOW_INVOKE_TOKEN`), its input checked against the workflow's inputs (every
//! problem at once, `422`), then recorded as an event (`demand:…`) with its run, and
//! answered `202` once that is on disk.

mod invoke;

pub mod server;

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, RwLock};

use serde_json::{json, Value as Json};

use super::flows::Registry;
use super::log;
use super::metrics::{Gauges, Metrics};
use super::runlog::{self, NewEvent, Recorded, Store};
use super::signature::{self, Secrets};
use super::time;
use super::worker::Queue;
use flow_vm::Event;
pub use server::{Reply, Request, Response};

/// The largest body accepted. Stripe's event payloads are far smaller.
pub const MAX_BODY: usize = 4 * 1024 * 1024;

pub struct App {
    pub secrets: Secrets,
    pub tolerance: u64,
    pub store: Store,
    pub queue: Arc<Queue>,
    pub registry: Arc<RwLock<Arc<Registry>>>,
    pub metrics: Arc<Metrics>,
    /// What the HTTP server turned away.
    pub http: Arc<server::Stats>,
    pub stopping: AtomicBool,
    /// The token of `POST /invoke/NAME`; `None`: invocation is off.
    pub invoke_token: Option<String>,
}

/// The answer to a request. A webhook is checked at once and its answer awaits the
/// run log's commit without holding a thread; an invocation, which may wait for the
/// registry's and the run log's locks, runs on a blocking thread; the rest is
/// answered at once.
pub fn handle(app: &Arc<App>, req: Request) -> Reply {
    // HEAD is GET without the body, which the server leaves out.
    match (req.path.as_str(), req.method.as_str()) {
        ("/webhook", "POST") => webhook(app, req),
        (path, "POST") if path.starts_with("/invoke/") => {
            let app = app.clone();
            Reply::blocking(move || invoke::invoke(&app, &req))
        }
        _ => Reply::Now(answer(app, &req)),
    }
}

/// The answers made at once.
fn answer(app: &App, req: &Request) -> Response {
    match (req.path.as_str(), req.method.as_str()) {
        (path, _) if path.starts_with("/invoke/") => {
            Response::json(405, &json!({"error": "use POST"})).with_header("Allow", "POST")
        }
        ("/healthz", "GET" | "HEAD") => healthz(app),
        ("/metrics", "GET" | "HEAD") => {
            let (queued, in_flight) = app.queue.counts();
            let loaded = app.registry.read().map(|r| r.len()).unwrap_or(0);
            let mut text = app.metrics.render(&Gauges {
                runs_queued: queued,
                runs_in_flight: in_flight,
                runs_waiting: app.queue.sleeping(),
                workflows_loaded: loaded,
            });
            text.push_str(&app.http.render());
            Response::new(200, "text/plain; version=0.0.4", text)
        }
        ("/webhook", _) | ("/healthz", _) | ("/metrics", _) => {
            let allow = if req.path == "/webhook" {
                "POST"
            } else {
                "GET, HEAD"
            };
            Response::json(405, &json!({"error": format!("use {allow}")}))
                .with_header("Allow", allow)
        }
        _ => Response::json(404, &json!({"error": "not found"})),
    }
}

fn healthz(app: &App) -> Response {
    let (queued, in_flight) = app.queue.counts();
    let loaded = app.registry.read().map(|r| r.len()).unwrap_or(0);
    let stopping = app.stopping.load(Relaxed);
    let degraded = app.metrics.run_log_degraded();
    let status = match (stopping, &degraded) {
        (true, _) => "stopping",
        (false, Some(_)) => "degraded",
        (false, None) => "ok",
    };
    let mut body = json!({
        "status": status,
        "workflows": loaded,
        "runs_queued": queued,
        "runs_in_flight": in_flight,
        "runs_waiting": app.queue.sleeping(),
    });
    if let Some(reason) = degraded {
        body["reason"] = json!(format!(
            "the run log cannot be written ({reason}): events are answered 500 and runs wait until it can"
        ));
    }
    Response::json(if status == "ok" { 200 } else { 503 }, &body)
}

fn reject(app: &App, req: &Request, status: u16, reason: &str, message: String) -> Response {
    let counter = if reason == "signature" {
        &app.metrics.rejected_signature
    } else {
        &app.metrics.rejected_malformed
    };
    counter.fetch_add(1, Relaxed);
    log::warn(
        "webhook rejected",
        json!({"status": status, "reason": reason, "detail": message,
               "remote": req.remote.map(|a| a.to_string())}),
    );
    Response::json(status, &json!({ "error": message }))
}

/// A webhook: verified and parsed at once (a 4xx then), its answer once the event
/// and its runs are on disk.
fn webhook(app: &Arc<App>, req: Request) -> Reply {
    match check(app, &req) {
        Ok(checked) => Reply::later(record(app.clone(), checked, req.body)),
        Err(rejected) => Reply::Now(rejected),
    }
}

/// A webhook that passed the checks.
struct Checked {
    id: String,
    event_type: String,
    signed_at: i64,
    candidates: Vec<runlog::Candidate>,
}

fn check(app: &App, req: &Request) -> Result<Checked, Response> {
    let body = &req.body;
    if body.len() > MAX_BODY {
        let msg = format!("the body is larger than {MAX_BODY} bytes");
        return Err(reject(app, req, 413, "malformed", msg));
    }
    let now = time::now_ms();
    let sig = req.header("Stripe-Signature");
    let signed_at = match signature::verify(body, sig, &app.secrets, app.tolerance, now) {
        Ok(t) => t,
        Err(e) => return Err(reject(app, req, 400, "signature", e.to_string())),
    };
    // One look at the workflows for decoding the body and deciding its runs: a
    // reload in between could ask for a field the decoder left out.
    let registry = app.registry.read();
    let decoded = match &registry {
        Ok(r) => r.decode(body),
        Err(_) => serde_json::from_slice(body),
    };
    let json: Json = match decoded {
        Ok(j) => j,
        Err(e) => {
            let msg = format!("the body is not JSON: {e}");
            return Err(reject(app, req, 400, "malformed", msg));
        }
    };
    let event = match Event::from_json(json, None) {
        Ok(e) => e,
        Err(e) => {
            let msg = format!("not a Stripe event: {e}");
            return Err(reject(app, req, 400, "malformed", msg));
        }
    };
    let Some(id) = event.id().filter(|s| !s.is_empty()).map(str::to_string) else {
        let msg = "not a Stripe event: it has no `id`".to_string();
        return Err(reject(app, req, 400, "malformed", msg));
    };
    let event_type = event.event_type().to_string();
    // Scheduled and on-demand workflows are started by the server, never by a webhook.
    let candidates = if matches!(
        event_type.as_str(),
        flow_program::SCHEDULE | flow_program::DEMAND
    ) {
        Vec::new()
    } else {
        registry
            .as_ref()
            .map(|r| r.candidates(&event))
            .unwrap_or_default()
    };
    drop(registry);
    Ok(Checked {
        id,
        event_type,
        signed_at,
        candidates,
    })
}

/// Record the event and its runs; the answer once that is on disk.
async fn record(app: Arc<App>, checked: Checked, payload: Vec<u8>) -> Response {
    let Checked {
        id,
        event_type,
        signed_at,
        candidates,
    } = checked;
    let recorded = app
        .store
        .record_event_async(NewEvent {
            id: id.clone(),
            event_type: event_type.clone(),
            payload,
            signed_at: Some(signed_at),
            now: time::clock_ms(),
            candidates,
            // Its runs go to this server's queue at once: a SQLite run log records
            // them taken, and the workers start them from memory.
            take: true,
        })
        .await;
    match recorded {
        Ok(Recorded::Duplicate) => {
            app.metrics.events_duplicate.fetch_add(1, Relaxed);
            log::info(
                "event redelivered",
                json!({"event": id, "type": event_type, "detail": "already recorded; not run again"}),
            );
            Response::json(
                200,
                &json!({"received": true, "duplicate": true, "runs": 0}),
            )
        }
        Ok(Recorded::New {
            runs,
            skipped,
            taken,
        }) => {
            app.metrics.events_received.fetch_add(1, Relaxed);
            if taken.is_empty() {
                for r in &runs {
                    app.queue.push(*r);
                }
            }
            for job in taken {
                app.queue.push_taken(job);
            }
            let mut all: Vec<i64> = runs
                .iter()
                .copied()
                .chain(skipped.iter().map(|s| s.run))
                .collect();
            all.sort_unstable();
            log::info(
                "event received",
                json!({"event": id, "type": event_type, "runs": all}),
            );
            for s in &skipped {
                app.metrics.count_run("skipped");
                log::info(
                    "run finished",
                    json!({"run": s.run, "event": id, "workflow": s.workflow, "version": s.version,
                           "status": "skipped", "error": null, "attempt": 1, "resumed": false,
                           "detail": "its `when` is false for this event: decided as the event was recorded"}),
                );
            }
            Response::json(
                200,
                &json!({"received": true, "duplicate": false, "runs": all.len()}),
            )
        }
        Err(e) => {
            log::error(
                "event not recorded",
                json!({"event": id, "error": e.to_string(), "detail": "answered 500; Stripe delivers it again"}),
            );
            Response::json(
                500,
                &json!({"error": "the event could not be recorded; deliver it again"}),
            )
        }
    }
}
