//! Executing runs, off the request path: a queue of run ids, worker threads, and the
//! journal that makes a run safe to carry out again.
//!
//! A run is executed from the start every time, on the version it was recorded with.
//! Each action goes through the [`Journal`]: an action already recorded for this run
//! (by an attempt that crashed, or before a failure that is being retried) is answered
//! from the run log and not carried out again; any other is carried out with the same
//! `ActionContext` (event id, workflow, step) — so the same idempotency key — and its
//! outcome is recorded before the run goes on.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use rusqlite::Connection;
use serde_json::{json, Value as Json};

use super::bindings::{idempotency_key, BindingsFactory, RunBindings};
use super::flows::{self, Versions, Workflow};
use super::log;
use super::metrics::Metrics;
use super::runlog::{self, ActionRow, LogError, Performed, Writer};
use super::time;
use flow_bindings::{Action, ActionContext, ActionError, Bindings};
use flow_vm::{self as vm, Event};

// ------------------------------------------------------------------ the queue

#[derive(Default)]
struct QueueState {
    pending: VecDeque<i64>,
    /// Queued or being executed: a run is never executed by two workers at once.
    known: HashSet<i64>,
    in_flight: usize,
    closed: bool,
}

/// Run ids waiting for a worker.
#[derive(Default)]
pub struct Queue {
    state: Mutex<QueueState>,
    ready: Condvar,
}

impl Queue {
    /// Queue a run unless it is queued or running already.
    pub fn push(&self, run: i64) -> bool {
        let Ok(mut s) = self.state.lock() else {
            return false;
        };
        if s.closed || !s.known.insert(run) {
            return false;
        }
        s.pending.push_back(run);
        self.ready.notify_one();
        true
    }

    /// The next run; `None` once the queue is closed.
    pub fn pop(&self) -> Option<i64> {
        let mut s = self.state.lock().ok()?;
        loop {
            if s.closed {
                return None;
            }
            if let Some(run) = s.pending.pop_front() {
                s.in_flight += 1;
                return Some(run);
            }
            s = self.ready.wait(s).ok()?;
        }
    }

    pub fn done(&self, run: i64) {
        if let Ok(mut s) = self.state.lock() {
            s.known.remove(&run);
            s.in_flight = s.in_flight.saturating_sub(1);
        }
    }

    /// Stop handing out runs. Runs still queued stay recorded as started and are
    /// picked up by the next server.
    pub fn close(&self) {
        if let Ok(mut s) = self.state.lock() {
            s.closed = true;
        }
        self.ready.notify_all();
    }

    /// (queued, in flight)
    pub fn counts(&self) -> (usize, usize) {
        self.state
            .lock()
            .map(|s| (s.pending.len(), s.in_flight))
            .unwrap_or((0, 0))
    }
}

// ------------------------------------------------------------------ the journal

struct Journal<'a> {
    inner: &'a mut dyn RunBindings,
    writer: &'a Writer,
    metrics: &'a Metrics,
    run: i64,
    recorded: &'a BTreeMap<usize, ActionRow>,
}

impl Bindings for Journal<'_> {
    fn perform(&mut self, action: &Action, cx: &ActionContext<'_>) -> Result<Json, ActionError> {
        let json = action.to_json();
        if let Some(r) = self.recorded.get(&cx.step) {
            if r.action != json {
                return Err(ActionError::new(format!(
                    "step {} was recorded as {} but is now {}; not carried out (the run log and the run disagree)",
                    cx.step, r.action, json
                )));
            }
            self.metrics
                .actions_replayed
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return if r.succeeded {
                Ok(r.result.clone())
            } else {
                Err(ActionError::new(r.error.clone().unwrap_or_default()))
            };
        }
        let started_at = time::now_ms();
        let clock = Instant::now();
        let outcome = self.inner.perform(action, cx);
        let took = clock.elapsed();
        self.metrics.observe_action(action.kind(), took);
        let effect = self.inner.take_effect();
        let mut row = ActionRow {
            step: cx.step,
            kind: action.kind().to_string(),
            action: json,
            idempotency_key: idempotency_key(cx),
            succeeded: outcome.is_ok(),
            result: outcome.as_ref().cloned().unwrap_or(Json::Null),
            error: outcome.as_ref().err().map(|e| e.message.clone()),
            started_at,
            finished_at: time::now_ms(),
            duration_us: i64::try_from(took.as_micros()).unwrap_or(i64::MAX),
        };
        let run = self.run;
        // The action's journal entry, and its effect when the run log holds it: one
        // transaction.
        let recorded = self
            .writer
            .write(move |conn| {
                if let Some(e) = effect {
                    let done = runlog::record_performed(
                        conn,
                        &e.key,
                        e.event_id.as_deref(),
                        &e.workflow,
                        e.step,
                        &e.action,
                        row.finished_at,
                    )?;
                    if let Performed::Conflict(first) = done {
                        row.succeeded = false;
                        row.result = Json::Null;
                        row.error = Some(format!(
                            "idempotency key `{}` was first used for another action ({first}); not carried out",
                            e.key
                        ));
                    }
                }
                runlog::record_action(conn, run, &row)?;
                Ok(row)
            })
            .map_err(|e| {
                ActionError::new(format!(
                    "the action's outcome cannot be recorded in the run log ({e}); a retry repeats it with the same idempotency key"
                ))
            })?;
        match recorded.error {
            Some(e) if outcome.is_ok() => Err(ActionError::new(e)),
            _ => outcome,
        }
    }
}

// ------------------------------------------------------------------ executing a run

/// How a run ended.
#[derive(Clone, Debug)]
pub struct Finished {
    pub run: i64,
    pub event_id: String,
    pub workflow: String,
    pub version: String,
    pub status: &'static str,
    pub error: Option<String>,
    pub attempt: i64,
    /// The previous attempt was interrupted (a crash or a kill).
    pub resumed: bool,
}

impl Finished {
    pub fn to_json(&self) -> Json {
        json!({
            "run": self.run, "event": self.event_id, "workflow": self.workflow,
            "version": self.version, "status": self.status, "error": self.error,
            "attempt": self.attempt, "resumed": self.resumed,
        })
    }
}

/// What executing runs needs; shared by the workers.
pub struct Runner {
    pub writer: Writer,
    pub versions: Arc<Versions>,
    pub metrics: Arc<Metrics>,
    pub factory: Arc<dyn BindingsFactory>,
}

impl Runner {
    /// The workflow at a version: loaded, or built again from the run log.
    fn workflow(&self, reader: &Connection, hash: &str) -> Result<Arc<Workflow>, String> {
        if let Some(w) = self.versions.get(hash) {
            return Ok(w);
        }
        let row = runlog::version(reader, hash)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("version {hash} is not in the run log"))?;
        let (w, differs) = flows::rebuild(&row)?;
        if let Some(new) = differs {
            log::warn(
                "version built again differs",
                json!({"workflow": row.workflow, "version": hash, "now": new,
                       "detail": "this build of flow compiles the stored source differently; the run uses the stored source"}),
            );
        }
        let w = Arc::new(w);
        self.versions.insert(w.clone());
        Ok(w)
    }

    /// Execute a run; `None` when it was not waiting to run.
    pub fn execute(&self, reader: &Connection, run: i64) -> Result<Option<Finished>, LogError> {
        let now = time::now_ms();
        let Some(attempt) = self.writer.write(move |c| runlog::claim_run(c, run, now))? else {
            return Ok(None);
        };
        let job = runlog::run_job(reader, run)?;
        let finished_attempts = runlog::attempts(reader, run)?.len();
        let resumed = usize::try_from(attempt).unwrap_or(0) > finished_attempts + 1;
        if resumed {
            self.metrics
                .runs_resumed
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let (status, error) = match self.run_once(reader, &job) {
            Ok(r) => r,
            Err(message) => ("failed", Some(message)),
        };
        let err = error.clone();
        let at = time::now_ms();
        self.writer
            .write(move |c| runlog::finish_run(c, run, status, err.as_deref(), at))?;
        self.metrics.count_run(status);
        Ok(Some(Finished {
            run,
            event_id: job.event_id,
            workflow: job.workflow,
            version: job.version,
            status,
            error,
            attempt,
            resumed,
        }))
    }

    fn run_once(
        &self,
        reader: &Connection,
        job: &runlog::RunJob,
    ) -> Result<(&'static str, Option<String>), String> {
        let workflow = self.workflow(reader, &job.version)?;
        let json: Json = serde_json::from_slice(&job.payload)
            .map_err(|e| format!("the stored event is not JSON: {e}"))?;
        let event = Event::from_json(json, None)?;
        let mut bindings = self
            .factory
            .make()
            .map_err(|e| format!("cannot set up the {} bindings: {e}", self.factory.mode()))?;
        let mut journal = Journal {
            inner: bindings.as_mut(),
            writer: &self.writer,
            metrics: &self.metrics,
            run: job.id,
            recorded: &job.recorded,
        };
        let report = vm::run(&workflow.program, &workflow.source, &event, &mut journal);
        Ok((report.status.as_str(), report.error))
    }
}

/// Start `n` workers. Each opens its own connection to read the run log.
pub fn start(
    n: usize,
    runner: Arc<Runner>,
    queue: Arc<Queue>,
    db: &std::path::Path,
) -> Result<Vec<std::thread::JoinHandle<()>>, LogError> {
    let mut handles = Vec::new();
    for i in 0..n {
        let reader = runlog::open(db, false)?;
        let runner = runner.clone();
        let queue = queue.clone();
        let h = std::thread::Builder::new()
            .name(format!("worker-{i}"))
            .spawn(move || {
                while let Some(run) = queue.pop() {
                    match runner.execute(&reader, run) {
                        Ok(Some(f)) => log::info("run finished", f.to_json()),
                        Ok(None) => {}
                        Err(e) => log::error(
                            "run not finished",
                            json!({"run": run, "error": e.to_string(),
                                   "detail": "the run stays recorded as started and is tried again"}),
                        ),
                    }
                    queue.done(run);
                }
            })
            .map_err(|e| LogError(format!("cannot start a worker: {e}")))?;
        handles.push(h);
    }
    Ok(handles)
}
