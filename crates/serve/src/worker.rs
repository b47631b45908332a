//! Executing runs, off the request path: a queue of run ids, worker threads, and the
//! journal that makes a run safe to carry out again.
//!
//! A run is executed from the start every time, on the version it was recorded with.
//! Each action goes through the [`Journal`]: an action already recorded for this run
//! (by an attempt that crashed, or before a failure that is being retried) is answered
//! from the run log and not carried out again; any other is carried out with the same
//! `ActionContext` (event id, workflow, step) — so the same idempotency key — and its
//! outcome is recorded before the run goes on.
//!
//! When an outcome cannot be recorded (the run log's disk is full), the run stops
//! there and stays waiting, not failed: it is carried out again once the run log can
//! be written, and what the journal holds is not carried out again.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};

use super::bindings::{idempotency_key, BindingsFactory, RunBindings};
use super::flows::{self, Versions, Workflow};
use super::log;
use super::metrics::Metrics;
use super::runlog::{self, ActionRow, LogError, Store};
use super::time;
use flow_bindings::{Action, ActionContext, ActionError, Bindings};
use flow_vm::{self as vm, Event};

// ------------------------------------------------------------------ the queue

#[derive(Default)]
struct QueueState {
    pending: VecDeque<i64>,
    /// Runs recorded taken by this server as their event was recorded, with what
    /// executing them needs: started without claiming them from the run log.
    taken: HashMap<i64, runlog::RunJob>,
    /// Queued or being executed: a run is never executed by two workers at once.
    known: HashSet<i64>,
    in_flight: usize,
    closed: bool,
    /// Runs that could not finish, and when they may be tried again.
    waiting: BTreeMap<i64, Instant>,
    /// How many times in a row each run could not finish.
    tries: HashMap<i64, u32>,
    /// Runs stopped at a `wait`, and when they go on (the server's clock, Unix
    /// milliseconds).
    sleeping: BTreeMap<i64, i64>,
}

/// The wait before a run that could not finish is tried again: doubles from
/// `BACKOFF_FIRST` with each try, up to `BACKOFF_MAX`.
const BACKOFF_FIRST: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

fn backoff(tries: u32) -> Duration {
    let factor = 1u32 << tries.saturating_sub(1).min(16);
    BACKOFF_FIRST.saturating_mul(factor).min(BACKOFF_MAX)
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
        self.enqueue(run, None)
    }

    /// Queue a run recorded taken by this server ([`runlog::Recorded::New::taken`]):
    /// a worker starts it from `job`, without claiming it. If the queue closes first,
    /// [`Queue::close`] hands the run back, to be given back as not begun.
    pub fn push_taken(&self, job: runlog::RunJob) -> bool {
        self.enqueue(job.id, Some(job))
    }

    fn enqueue(&self, run: i64, job: Option<runlog::RunJob>) -> bool {
        let Ok(mut s) = self.state.lock() else {
            return false;
        };
        if s.closed || !s.known.insert(run) {
            return false;
        }
        if let Some(job) = job {
            s.taken.insert(run, job);
        }
        s.pending.push_back(run);
        self.ready.notify_one();
        true
    }

    /// The next run, and what executing it needs when it was queued taken; `None`
    /// once the queue is closed.
    pub fn pop(&self) -> Option<(i64, Option<runlog::RunJob>)> {
        let mut s = self.state.lock().ok()?;
        loop {
            if s.closed {
                return None;
            }
            if let Some(run) = s.pending.pop_front() {
                s.in_flight += 1;
                let job = s.taken.remove(&run);
                return Some((run, job));
            }
            s = self.ready.wait(s).ok()?;
        }
    }

    pub fn done(&self, run: i64) {
        if let Ok(mut s) = self.state.lock() {
            s.known.remove(&run);
            s.tries.remove(&run);
            s.in_flight = s.in_flight.saturating_sub(1);
        }
    }

    /// A run taken by a worker could not finish (the run log could not be written):
    /// it waits, with a backoff, until [`Queue::release`] hands it out again.
    pub fn defer(&self, run: i64) {
        if let Ok(mut s) = self.state.lock() {
            s.in_flight = s.in_flight.saturating_sub(1);
            let tries = s.tries.entry(run).or_insert(0);
            *tries += 1;
            let until = Instant::now() + backoff(*tries);
            s.waiting.insert(run, until);
        }
    }

    /// Queue again the waiting runs whose backoff is over. The server calls it only
    /// while the run log can be written. Returns how many.
    pub fn release(&self) -> usize {
        let Ok(mut s) = self.state.lock() else {
            return 0;
        };
        let now = Instant::now();
        let due: Vec<i64> = s
            .waiting
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(run, _)| *run)
            .collect();
        for run in &due {
            s.waiting.remove(run);
            s.pending.push_back(*run);
        }
        if !due.is_empty() {
            self.ready.notify_all();
        }
        due.len()
    }

    /// A run taken by a worker stopped at a `wait`: it is queued again by
    /// [`Queue::wake`] once the clock reaches `at` (Unix milliseconds).
    pub fn sleep(&self, run: i64, at: i64) {
        if let Ok(mut s) = self.state.lock() {
            s.in_flight = s.in_flight.saturating_sub(1);
            s.tries.remove(&run);
            s.sleeping.insert(run, at);
        }
    }

    /// A run the run log holds as waiting (found at start): queued at `at`, not now.
    pub fn sleep_until(&self, run: i64, at: i64) -> bool {
        let Ok(mut s) = self.state.lock() else {
            return false;
        };
        if s.closed || !s.known.insert(run) {
            return false;
        }
        s.sleeping.insert(run, at);
        true
    }

    /// Queue the waiting runs whose time has come (`now`: the server's clock, Unix
    /// milliseconds). Returns how many.
    pub fn wake(&self, now: i64) -> usize {
        let Ok(mut s) = self.state.lock() else {
            return 0;
        };
        let due: Vec<i64> = s
            .sleeping
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(run, _)| *run)
            .collect();
        for run in &due {
            s.sleeping.remove(run);
            s.pending.push_back(*run);
        }
        if !due.is_empty() {
            self.ready.notify_all();
        }
        due.len()
    }

    /// Runs waiting for a `wait` to end.
    pub fn sleeping(&self) -> usize {
        self.state.lock().map(|s| s.sleeping.len()).unwrap_or(0)
    }

    /// Stop handing out runs. Runs still queued stay recorded as started and are
    /// picked up by the next server. Returns the runs queued taken
    /// ([`Queue::push_taken`]) that no worker started: their first attempt never
    /// began ([`Store::untake`](runlog::Store::untake)).
    pub fn close(&self) -> Vec<i64> {
        let mut untaken = Vec::new();
        if let Ok(mut s) = self.state.lock() {
            s.closed = true;
            untaken = s.taken.drain().map(|(run, _)| run).collect();
            untaken.sort_unstable();
        }
        self.ready.notify_all();
        untaken
    }

    /// (queued, in flight); queued counts the runs waiting to be tried again.
    pub fn counts(&self) -> (usize, usize) {
        self.state
            .lock()
            .map(|s| (s.pending.len() + s.waiting.len(), s.in_flight))
            .unwrap_or((0, 0))
    }
}

// ------------------------------------------------------------------ the journal

struct Journal<'a> {
    inner: &'a mut dyn RunBindings,
    store: &'a Store,
    metrics: &'a Metrics,
    run: i64,
    recorded: &'a BTreeMap<usize, ActionRow>,
    /// The run log could not record an outcome: the run stops and waits.
    fault: Option<LogError>,
}

impl Bindings for Journal<'_> {
    fn perform(&mut self, action: &Action, cx: &ActionContext<'_>) -> Result<Json, ActionError> {
        if let Some(e) = &self.fault {
            // Nothing more is carried out once an outcome could not be recorded.
            return Err(unrecorded(e));
        }
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
        let row = ActionRow {
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
        // The action's journal entry, and its effect when the run log holds it: one
        // transaction.
        let recorded = match self.store.journal(self.run, effect, row) {
            Ok(row) => row,
            Err(e) => {
                let err = unrecorded(&e);
                self.fault = Some(e);
                return Err(err);
            }
        };
        match recorded.error {
            Some(e) if outcome.is_ok() => Err(ActionError::new(e)),
            _ => outcome,
        }
    }
}

fn unrecorded(e: &LogError) -> ActionError {
    ActionError::new(format!(
        "the action's outcome cannot be recorded in the run log ({e}); the run waits and is carried out again, with the same idempotency keys, once the run log can be written"
    ))
}

// ------------------------------------------------------------------ executing a run

/// Why a run stopped before its end.
enum Stop {
    /// It failed: recorded as failed.
    Failed(String),
    /// The run log could not record an outcome: the run stays waiting.
    Unrecorded(LogError),
}

impl From<String> for Stop {
    fn from(message: String) -> Stop {
        Stop::Failed(message)
    }
}

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
    /// The previous attempt was interrupted (a crash or a kill, or a run log that
    /// could not be written).
    pub resumed: bool,
    /// Status `waiting`: the run stopped at a `wait` and goes on at this time (the
    /// server's clock, Unix milliseconds).
    pub wake_at: Option<i64>,
}

impl Finished {
    pub fn to_json(&self) -> Json {
        let mut j = json!({
            "run": self.run, "event": self.event_id, "workflow": self.workflow,
            "version": self.version, "status": self.status, "error": self.error,
            "attempt": self.attempt, "resumed": self.resumed,
        });
        if let Some(at) = self.wake_at {
            j["wakes_at"] = json!(time::rfc3339_ms(at));
        }
        j
    }
}

/// How executing a run ended.
enum Ended {
    /// With this status (`succeeded`, `failed`, `skipped`) and error.
    Finished(&'static str, Option<String>),
    /// At a `wait` that ends at this time (Unix milliseconds).
    Waiting(i64),
}

/// What executing runs needs; shared by the workers.
pub struct Runner {
    pub store: Store,
    pub versions: Arc<Versions>,
    pub metrics: Arc<Metrics>,
    pub factory: Arc<dyn BindingsFactory>,
}

impl Runner {
    /// The workflow at a version: loaded, or built again from the run log.
    fn workflow(&self, hash: &str) -> Result<Arc<Workflow>, String> {
        if let Some(w) = self.versions.get(hash) {
            return Ok(w);
        }
        let row = self
            .store
            .version(hash)
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

    /// Execute a run; `None` when it was not waiting to run. An error leaves the run
    /// waiting (recorded as started), to be carried out again. `taken`: the run was
    /// recorded taken by this server with its event (its first attempt), and this is
    /// what executing it needs; otherwise it is claimed from the run log.
    pub fn execute(
        &self,
        run: i64,
        taken: Option<runlog::RunJob>,
    ) -> Result<Option<Finished>, LogError> {
        // A run taken with its event: when it began executing is written with its end.
        let started = taken.as_ref().map(|_| time::now_ms());
        let claimed = match taken {
            Some(job) => runlog::Claimed {
                attempt: 1,
                job,
                ended_attempts: 0,
            },
            None => match self.store.claim(run, time::now_ms())? {
                Some(claimed) => claimed,
                None => return Ok(None),
            },
        };
        let (attempt, job, finished_attempts) =
            (claimed.attempt, claimed.job, claimed.ended_attempts);
        let resumed = usize::try_from(attempt).unwrap_or(0) > finished_attempts + 1;
        if resumed {
            self.metrics
                .runs_resumed
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let (status, error) = match self.run_once(&job) {
            Ok(Ended::Finished(status, error)) => (status, error),
            Ok(Ended::Waiting(at)) => {
                if !self.store.set_waiting(run, at, time::now_ms(), started)? {
                    return Ok(Some(taken_over(job, attempt, resumed)));
                }
                return Ok(Some(Finished {
                    run,
                    event_id: job.event_id,
                    workflow: job.workflow,
                    version: job.version,
                    status: "waiting",
                    error: None,
                    attempt,
                    resumed,
                    wake_at: Some(at),
                }));
            }
            Err(Stop::Failed(message)) => ("failed", Some(message)),
            Err(Stop::Unrecorded(e)) => return Err(e),
        };
        if !self
            .store
            .finish_run(run, status, error.as_deref(), time::now_ms(), started)?
        {
            return Ok(Some(taken_over(job, attempt, resumed)));
        }
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
            wake_at: None,
        }))
    }

    fn run_once(&self, job: &runlog::RunJob) -> Result<Ended, Stop> {
        let workflow = self.workflow(&job.version)?;
        let json: Json = serde_json::from_slice(&job.payload)
            .map_err(|e| format!("the stored event is not JSON: {e}"))?;
        let mut event = Event::from_json(json, None)?;
        // The run's clock starts at the same time on every execution, so that its
        // waits end at the same times: a slot, an invocation, or when the run was
        // recorded.
        let start = match event.event_type() {
            flow_program::SCHEDULE | flow_program::DEMAND => event.created(),
            _ => None,
        };
        event.now = Some(start.unwrap_or(job.created_at.div_euclid(1000)));
        event.wake_by = Some(time::clock_ms().div_euclid(1000));
        let mut bindings = self
            .factory
            .make()
            .map_err(|e| format!("cannot set up the {} bindings: {e}", self.factory.mode()))?;
        let mut journal = Journal {
            inner: bindings.as_mut(),
            store: &self.store,
            metrics: &self.metrics,
            run: job.id,
            recorded: &job.recorded,
            fault: None,
        };
        let report = vm::run(&workflow.program, &workflow.source, &event, &mut journal);
        if let Some(e) = journal.fault {
            return Err(Stop::Unrecorded(e));
        }
        if let (vm::Status::Waiting, Some(at)) = (report.status, report.wakes_at) {
            return Ok(Ended::Waiting(at.saturating_mul(1000)));
        }
        Ok(Ended::Finished(report.status.as_str(), report.error))
    }
}

/// A run whose lease ran out while it was executed here, and which another server
/// took over (a shared run log): its end is that server's to write.
fn taken_over(job: runlog::RunJob, attempt: i64, resumed: bool) -> Finished {
    Finished {
        run: job.id,
        event_id: job.event_id,
        workflow: job.workflow,
        version: job.version,
        status: "taken over",
        error: Some("the run's lease ran out while it was executed here; another server took it over, and its end is that server's to record".into()),
        attempt,
        resumed,
        wake_at: None,
    }
}

/// Start `n` workers.
pub fn start(
    n: usize,
    runner: Arc<Runner>,
    queue: Arc<Queue>,
) -> Result<Vec<std::thread::JoinHandle<()>>, LogError> {
    let mut handles = Vec::new();
    for i in 0..n {
        let runner = runner.clone();
        let queue = queue.clone();
        let h = std::thread::Builder::new()
            .name(format!("worker-{i}"))
            .spawn(move || {
                while let Some((run, taken)) = queue.pop() {
                    match runner.execute(run, taken) {
                        Ok(Some(f)) if f.wake_at.is_some() => {
                            log::info("run waiting", f.to_json());
                            queue.sleep(run, f.wake_at.unwrap_or_default());
                        }
                        Ok(finished) => {
                            match finished {
                                Some(f) if f.status == "taken over" => {
                                    log::warn("run taken over", f.to_json());
                                }
                                Some(f) => log::info("run finished", f.to_json()),
                                None => {}
                            }
                            queue.done(run);
                        }
                        Err(e) => {
                            log::error(
                                "run not finished",
                                json!({"run": run, "error": e.to_string(),
                                       "detail": "the run stays recorded as started and is tried again once the run log can be written"}),
                            );
                            queue.defer(run);
                        }
                    }
                }
            })
            .map_err(|e| LogError::new(format!("cannot start a worker: {e}")))?;
        handles.push(h);
    }
    Ok(handles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        assert_eq!(backoff(1), Duration::from_millis(250));
        assert_eq!(backoff(2), Duration::from_millis(500));
        assert_eq!(backoff(4), Duration::from_secs(2));
        assert_eq!(backoff(40), BACKOFF_MAX);
    }

    #[test]
    fn a_sleeping_run_is_queued_at_its_time_and_only_once() {
        let q = Queue::default();
        assert!(q.push(3));
        assert_eq!(q.pop().map(|(run, _)| run), Some(3));
        q.sleep(3, 10_000);
        assert_eq!(q.counts(), (0, 0));
        assert_eq!(q.sleeping(), 1);
        // Found started by a look at the run log meanwhile: not queued.
        assert!(!q.push(3));
        assert_eq!(q.wake(9_999), 0);
        assert_eq!(q.wake(10_000), 1);
        assert_eq!(q.sleeping(), 0);
        assert_eq!(q.pop().map(|(run, _)| run), Some(3));
        q.done(3);
        // Found waiting at start.
        assert!(q.sleep_until(4, 5));
        assert!(!q.sleep_until(4, 5));
        assert!(!q.push(4));
        assert_eq!(q.wake(5), 1);
        assert_eq!(q.pop().map(|(run, _)| run), Some(4));
    }

    #[test]
    fn a_run_queued_taken_is_handed_out_with_its_job_once() {
        let q = Queue::default();
        let job = runlog::RunJob {
            id: 5,
            event_id: "evt_5".into(),
            workflow: "Nudge".into(),
            version: "v1".into(),
            payload: b"{}".to_vec(),
            created_at: 1,
            recorded: BTreeMap::new(),
        };
        assert!(q.push_taken(job.clone()));
        // Queued already: neither a look at the run log nor a second hand-over
        // queues it again.
        assert!(!q.push(5));
        assert!(!q.push_taken(job.clone()));
        assert_eq!(q.pop(), Some((5, Some(job.clone()))));
        // Tried again after a failure: claimed from the run log, not from memory.
        q.defer(5);
        let until = Instant::now() + Duration::from_secs(5);
        while q.release() == 0 {
            assert!(Instant::now() < until, "never released");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(q.pop(), Some((5, None)));
        // Closed with taken runs no worker started: they are handed back.
        q.done(5);
        let later = |id| runlog::RunJob { id, ..job.clone() };
        assert!(q.push_taken(later(9)));
        assert!(q.push_taken(later(6)));
        assert!(q.push(8));
        assert_eq!(q.close(), vec![6, 9]);
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn a_deferred_run_waits_for_its_backoff_and_is_queued_once() {
        let q = Queue::default();
        assert!(q.push(7));
        assert_eq!(q.pop().map(|(run, _)| run), Some(7));
        q.defer(7);
        // A look at the run log finds it started: it is not queued a second time.
        assert!(!q.push(7));
        assert_eq!(q.counts(), (1, 0));
        let until = Instant::now() + Duration::from_secs(5);
        while q.release() == 0 {
            assert!(Instant::now() < until, "never released");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(q.pop().map(|(run, _)| run), Some(7));
        q.defer(7);
        assert_eq!(q.release(), 0, "the second wait is longer");
        q.close();
        assert_eq!(q.pop().map(|(run, _)| run), None);
    }
}
