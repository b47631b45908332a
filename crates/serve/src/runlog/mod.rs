//! The run log: every event received (its raw payload), every version of every
//! workflow loaded (its source, so a run can finish on its version after a restart),
//! every run (workflow, version, status, error, times), every action a run carried out
//! (with the answer, so a resumed run does not carry it out again), which workflows are
//! deactivated, the last slot of each schedule, and — for the recording bindings — what
//! they were asked to carry out.
//!
//! Two stores hold it, behind one [`Store`]:
//! - [`sqlite`]: an embedded SQLite database (`.flow/runs.db` beside the flows), one
//!   server per file, written by one thread that commits the jobs queued meanwhile
//!   together. The default.
//! - [`postgres`]: a PostgreSQL database (`--db postgres://…`) shared by any number of
//!   servers. An event is recorded once whichever server it reaches; a run belongs to
//!   the server that holds its lease, which it renews while it lives; the runs of a
//!   server that stopped renewing are taken over by the others once the lease has run
//!   out.

pub mod postgres;
pub mod sqlite;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{json, Value as Json};

/// Where a run log is: a SQLite file, or a PostgreSQL database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    File(PathBuf),
    Postgres(String),
}

impl Location {
    /// `postgres://…` or `postgresql://…` is a PostgreSQL database; anything else is
    /// a file.
    pub fn parse(text: &str) -> Location {
        let t = text.trim();
        if t.starts_with("postgres://") || t.starts_with("postgresql://") {
            Location::Postgres(t.to_string())
        } else {
            Location::File(PathBuf::from(text))
        }
    }

    /// The default: `.flow/runs.db` in `dir`.
    pub fn default_in(dir: &Path) -> Location {
        Location::File(sqlite::default_path(dir))
    }

    /// For logs and messages: a database URL without its password.
    pub fn describe(&self) -> String {
        match self {
            Location::File(p) => p.display().to_string(),
            Location::Postgres(url) => postgres::redact(url),
        }
    }
}

pub type Result<T> = std::result::Result<T, LogError>;

#[derive(Clone, Debug, PartialEq)]
pub struct LogError {
    pub message: String,
    /// The storage failed (a full disk, an I/O error, a read-only or vanished file),
    /// rather than the request: the same write may succeed later.
    pub storage: bool,
}

impl LogError {
    pub fn new(message: impl Into<String>) -> LogError {
        LogError {
            message: message.into(),
            storage: false,
        }
    }
}

impl std::fmt::Display for LogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Whether the run log can be written, as its writer last found it.
#[derive(Debug, Default)]
pub struct Health {
    fault: Mutex<Option<String>>,
}

impl Health {
    /// Why the run log cannot be written now; `None` while it can.
    pub fn fault(&self) -> Option<String> {
        self.fault.lock().map(|f| f.clone()).unwrap_or(None)
    }

    /// Record a failure; `true` when the run log was writable until now.
    pub(crate) fn fail(&self, reason: &str) -> bool {
        match self.fault.lock() {
            Ok(mut f) => f.replace(reason.to_string()).is_none(),
            Err(_) => false,
        }
    }

    /// Record a write that succeeded; `true` when the run log was not writable.
    pub(crate) fn recover(&self) -> bool {
        match self.fault.lock() {
            Ok(mut f) => f.take().is_some(),
            Err(_) => false,
        }
    }
}

/// A workflow version an event starts a run of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub workflow: String,
    pub version: String,
    /// Its `when` is already known to be false for this event: the run is recorded
    /// as skipped (one attempt, started and finished now), never carried out.
    pub skipped: bool,
}

/// A run recorded skipped with its event.
#[derive(Clone, Debug, PartialEq)]
pub struct SkippedRun {
    pub run: i64,
    pub workflow: String,
    pub version: String,
}

/// What recording an event did.
#[derive(Clone, Debug, PartialEq)]
pub enum Recorded {
    /// First delivery: the runs it started, to be carried out, and those recorded
    /// as skipped.
    New {
        runs: Vec<i64>,
        skipped: Vec<SkippedRun>,
        /// The runs of `runs` recorded as taken by this server, their first attempt
        /// begun as the event was recorded ([`NewEvent::take`]): what executing each
        /// needs, so that a worker starts it without reading the run log. Empty when
        /// the runs are to be claimed ([`Store::claim`]).
        taken: Vec<RunJob>,
    },
    /// The event id is already in the log; nothing was started.
    Duplicate,
}

/// A version of a workflow, as stored.
#[derive(Clone, Debug)]
pub struct VersionRow {
    pub hash: String,
    pub workflow: String,
    pub trigger: String,
    pub path: String,
    pub source: String,
    pub settings: String,
}

/// What a worker needs to execute a run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunJob {
    pub id: i64,
    pub event_id: String,
    pub workflow: String,
    pub version: String,
    pub payload: Vec<u8>,
    /// When the run was recorded (Unix milliseconds): the start of its clock.
    pub created_at: i64,
    /// Actions recorded for this run before, by step.
    pub recorded: BTreeMap<usize, ActionRow>,
}

/// One action of a run, as journaled.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionRow {
    pub step: usize,
    pub kind: String,
    pub action: Json,
    pub idempotency_key: String,
    pub succeeded: bool,
    pub result: Json,
    pub error: Option<String>,
    pub started_at: i64,
    pub finished_at: i64,
    pub duration_us: i64,
}

/// How a request with an idempotency key was answered.
#[derive(Clone, Debug, PartialEq)]
pub enum Performed {
    /// First request with this key: carried out.
    New,
    /// The key was seen before with the same action: not carried out again.
    Repeat,
    /// The key was seen before with another action.
    Conflict(Json),
}

#[derive(Clone, Debug)]
pub struct RunRow {
    pub id: i64,
    pub event_id: String,
    pub event_type: String,
    pub workflow: String,
    pub version: String,
    pub status: String,
    pub error: Option<String>,
    pub attempts: i64,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    /// While the run waits (status `waiting`): when it goes on, Unix milliseconds.
    pub wake_at: Option<i64>,
}

impl RunRow {
    /// What started the run: `event`, `schedule` or `demand` (from its event's type).
    pub fn trigger(&self) -> &'static str {
        match self.event_type.as_str() {
            flow_program::SCHEDULE => "schedule",
            flow_program::DEMAND => "demand",
            _ => "event",
        }
    }

    /// The slot of a scheduled run, as its event id names it (RFC 3339, UTC).
    pub fn slot(&self) -> Option<&str> {
        if self.trigger() != "schedule" {
            return None;
        }
        let rest = self.event_id.strip_prefix("schedule:")?;
        rest.strip_prefix(self.workflow.as_str())?.strip_prefix(':')
    }

    pub fn to_json(&self) -> Json {
        use crate::time::rfc3339_ms;
        json!({
            "run": self.id,
            "event": self.event_id,
            "event_type": self.event_type,
            "trigger": self.trigger(),
            "slot": self.slot(),
            "workflow": self.workflow,
            "version": self.version,
            "status": self.status,
            "error": self.error,
            "attempts": self.attempts,
            "created_at": rfc3339_ms(self.created_at),
            "started_at": self.started_at.map(rfc3339_ms),
            "finished_at": self.finished_at.map(rfc3339_ms),
            "wakes_at": self.wake_at.map(rfc3339_ms),
        })
    }
}

#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub status: Option<String>,
    pub workflow: Option<String>,
    pub since_ms: Option<i64>,
    /// The newest this many (all when `None`).
    pub limit: Option<usize>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AttemptRow {
    pub attempt: i64,
    pub status: String,
    pub error: Option<String>,
    pub started_at: Option<i64>,
    pub finished_at: i64,
}

/// A row of the `performed` table: an action the recording bindings carried out,
/// keyed like a Stripe request (see [`Performed`]).
#[derive(Clone, Debug)]
pub struct PerformedRow {
    pub key: String,
    pub event_id: Option<String>,
    pub workflow: String,
    pub step: usize,
    pub action: Json,
}

/// An action's journal row once its effect is known: a key first used for another
/// action makes it a failure, not carried out.
fn apply_performed(row: &mut ActionRow, key: &str, done: Performed) {
    if let Performed::Conflict(first) = done {
        row.succeeded = false;
        row.result = Json::Null;
        row.error = Some(format!(
            "idempotency key `{key}` was first used for another action ({first}); not carried out"
        ));
    }
}

/// Only a failed run is retried; `status` is the run's, `None` when there is none.
pub(crate) fn retryable(run: i64, status: Option<&str>) -> Result<()> {
    match status {
        None => Err(LogError::new(format!("there is no run {run}"))),
        Some("failed") => Ok(()),
        Some("started") => Err(LogError::new(format!(
            "run {run} has not finished yet: it is waiting for a worker or running"
        ))),
        Some(other) => Err(LogError::new(format!(
            "run {run} {other}; only a failed run is retried"
        ))),
    }
}

/// An event to record.
#[derive(Clone, Debug)]
pub struct NewEvent {
    pub id: String,
    pub event_type: String,
    pub payload: Vec<u8>,
    /// The signature's timestamp (Unix seconds), for webhooks.
    pub signed_at: Option<i64>,
    /// When it was received (the server's clock, Unix milliseconds).
    pub now: i64,
    pub candidates: Vec<Candidate>,
    /// Record the runs it starts as taken by this server (attempt 1, begun now), and
    /// hand them back in [`Recorded::New::taken`] to be executed from memory. Only a
    /// SQLite run log does: it has one server, whose queue the runs go to. In a
    /// shared PostgreSQL run log, a run is taken with a lease when it is claimed.
    pub take: bool,
}

/// A run taken by a worker.
#[derive(Clone, Debug)]
pub struct Claimed {
    /// This attempt's number (1 the first time).
    pub attempt: i64,
    pub job: RunJob,
    /// Attempts that ended before (finished, failed, or stopped at a `wait`); fewer
    /// than `attempt - 1` when an attempt was cut off (a crash, a kill).
    pub ended_attempts: usize,
}

/// The runs a server may take up: found unfinished, or whose `wait` ends.
#[derive(Clone, Debug, Default)]
pub struct Takeable {
    /// To run now, oldest first.
    pub ready: Vec<i64>,
    /// To run at their time (Unix milliseconds, the server's clock).
    pub waiting: Vec<(i64, i64)>,
}

/// How long a run's lease lasts in a shared (PostgreSQL) run log, unless `[serve]
/// lease` says otherwise.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

/// A run log, open.
#[derive(Clone)]
pub enum Store {
    Sqlite(sqlite::Log),
    Postgres(postgres::Log),
}

/// Call the same method on either store.
macro_rules! either {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            Store::Sqlite($s) => $e,
            Store::Postgres($s) => $e,
        }
    };
}

impl Store {
    /// Open a run log for a server: creating it (and its schema) when needed. The
    /// handle is the SQLite writer's thread, to join once every clone of the store
    /// is dropped.
    pub fn open_server(at: &Location, lease: Duration) -> Result<(Store, Option<JoinHandle<()>>)> {
        match at {
            Location::File(path) => {
                let (log, thread) = sqlite::Log::open(path, true)?;
                Ok((Store::Sqlite(log), Some(thread)))
            }
            Location::Postgres(url) => {
                Ok((Store::Postgres(postgres::Log::open(url, lease)?), None))
            }
        }
    }

    /// Open an existing run log, for the commands that read it or change it.
    pub fn open_existing(at: &Location) -> Result<(Store, Option<JoinHandle<()>>)> {
        match at {
            Location::File(path) => {
                let (log, thread) = sqlite::Log::open(path, false)?;
                Ok((Store::Sqlite(log), Some(thread)))
            }
            Location::Postgres(url) => Ok((
                Store::Postgres(postgres::Log::open(url, DEFAULT_LEASE)?),
                None,
            )),
        }
    }

    /// Whether the run log is shared by several servers.
    pub fn shared(&self) -> bool {
        matches!(self, Store::Postgres(_))
    }

    pub fn health(&self) -> Arc<Health> {
        either!(self, s => s.health())
    }

    /// Record an event and a run for each active candidate, in one transaction.
    pub fn record_event(&self, e: NewEvent) -> Result<Recorded> {
        either!(self, s => s.record_event(e))
    }

    /// [`Store::record_event`], for async code. With SQLite no thread waits for the
    /// commit (the writer thread answers the future); PostgreSQL's client is
    /// blocking, so its statement runs on one of the runtime's blocking threads.
    pub async fn record_event_async(&self, e: NewEvent) -> Result<Recorded> {
        match self {
            Store::Sqlite(s) => s.record_event_async(e).await,
            Store::Postgres(s) => s.record_event_async(e).await,
        }
    }

    /// Record a schedule slot's event and its run, and the slot as the schedule's
    /// last, in one transaction.
    pub fn record_slot(
        &self,
        e: NewEvent,
        workflow: &str,
        slot: i64,
        now: i64,
    ) -> Result<Recorded> {
        either!(self, s => s.record_slot(e, workflow, slot, now))
    }

    pub fn event_payload(&self, id: &str) -> Result<Option<Vec<u8>>> {
        either!(self, s => s.event_payload(id))
    }

    /// The run an event started for a workflow.
    pub fn run_of(&self, event_id: &str, workflow: &str) -> Result<Option<i64>> {
        either!(self, s => s.run_of(event_id, workflow))
    }

    pub fn save_versions(&self, rows: Vec<VersionRow>, now: i64) -> Result<()> {
        either!(self, s => s.save_versions(rows, now))
    }

    pub fn version(&self, hash: &str) -> Result<Option<VersionRow>> {
        either!(self, s => s.version(hash))
    }

    pub fn schedule_state(&self, workflow: &str) -> Result<Option<i64>> {
        either!(self, s => s.schedule_state(workflow))
    }

    pub fn set_schedule_state(&self, workflow: &str, last_slot: i64, now: i64) -> Result<()> {
        either!(self, s => s.set_schedule_state(workflow, last_slot, now))
    }

    /// Take a run for a worker, with what executing it needs; `None` when it is not
    /// waiting to run (finished meanwhile, or held by another server).
    pub fn claim(&self, run: i64, now: i64) -> Result<Option<Claimed>> {
        either!(self, s => s.claim(run, now))
    }

    /// Journal an action's outcome (and, for the recording bindings, its effect) in
    /// one transaction; the row as recorded.
    pub fn journal(
        &self,
        run: i64,
        effect: Option<PerformedRow>,
        row: ActionRow,
    ) -> Result<ActionRow> {
        either!(self, s => s.journal(run, effect, row))
    }

    /// A run stopped at a `wait`. `false`: the run was no longer this server's.
    /// `started`: when the attempt began executing, for a run taken with its event
    /// ([`NewEvent::take`]), whose start is written with its end.
    pub fn set_waiting(
        &self,
        run: i64,
        wake_at: i64,
        now: i64,
        started: Option<i64>,
    ) -> Result<bool> {
        either!(self, s => s.set_waiting(run, wake_at, now, started))
    }

    /// Runs recorded taken with their event ([`NewEvent::take`]) that this server
    /// stops without having started: their first attempt is recorded as not begun,
    /// so that the next server carries them out as attempt 1.
    pub fn untake(&self, runs: &[i64]) -> Result<()> {
        match self {
            Store::Sqlite(s) => s.untake(runs),
            // Never recorded taken there.
            Store::Postgres(_) => Ok(()),
        }
    }

    /// Record how a run ended. `false`: the run was no longer this server's (its
    /// lease ran out and another server took it); nothing was written. `started` as
    /// for [`Store::set_waiting`].
    pub fn finish_run(
        &self,
        run: i64,
        status: &str,
        error: Option<&str>,
        now: i64,
        started: Option<i64>,
    ) -> Result<bool> {
        either!(self, s => s.finish_run(run, status, error, now, started))
    }

    /// The runs this server may take up now. `start`: the server is starting (the
    /// waiting runs are listed too).
    pub fn takeable(&self, start: bool) -> Result<Takeable> {
        either!(self, s => s.takeable(start))
    }

    /// Keep this server's runs its own (a shared run log's leases); a no-op for SQLite.
    pub fn renew(&self) -> Result<()> {
        either!(self, s => s.renew())
    }

    /// The server stops: its runs not started are given back at once, for the
    /// other servers to take.
    pub fn release(&self) -> Result<()> {
        either!(self, s => s.release())
    }

    /// Wait until another process may have left runs to take (a shared run log's
    /// notifications), at most `timeout`. `true` when told so.
    pub fn wait_for_runs(&self, timeout: Duration) -> bool {
        either!(self, s => s.wait_for_runs(timeout))
    }

    // ---------------------------------------------------------------- the commands

    pub fn list_runs(&self, f: &Filter) -> Result<Vec<RunRow>> {
        either!(self, s => s.list_runs(f))
    }

    pub fn run(&self, id: i64) -> Result<Option<RunRow>> {
        either!(self, s => s.run(id))
    }

    pub fn actions(&self, run: i64) -> Result<Vec<ActionRow>> {
        either!(self, s => s.actions(run))
    }

    pub fn attempts(&self, run: i64) -> Result<Vec<AttemptRow>> {
        either!(self, s => s.attempts(run))
    }

    pub fn known_workflows(&self) -> Result<Vec<String>> {
        either!(self, s => s.known_workflows())
    }

    pub fn set_active(&self, workflow: &str, active: bool, now: i64) -> Result<()> {
        either!(self, s => s.set_active(workflow, active, now))
    }

    pub fn inactive(&self) -> Result<HashSet<String>> {
        either!(self, s => s.inactive())
    }

    /// Put a failed run back to be run again (see [`sqlite::retry_run`]); a shared run
    /// log tells the servers at once.
    pub fn retry_run(&self, run: i64) -> Result<()> {
        either!(self, s => s.retry_run(run))
    }
}

/// The rate limit of Stripe requests, counted in a shared run log: every server's
/// requests take their turn there.
pub struct SharedGate(pub postgres::Log);

impl flow_bindings::rate::RateGate for SharedGate {
    fn wait_turn(&self, account: &str, per_second: u32) -> std::result::Result<(), String> {
        loop {
            match self.0.take_turn(account, per_second) {
                Ok(None) => return Ok(()),
                Ok(Some(wait)) => std::thread::sleep(wait),
                Err(e) => return Err(e.to_string()),
            }
        }
    }
}

impl Store {
    /// Where the Stripe requests of this store's servers take their turn, when it is
    /// shared; `None`: each process keeps its own count.
    pub fn rate_gate(&self) -> Option<Arc<dyn flow_bindings::rate::RateGate>> {
        match self {
            Store::Sqlite(_) => None,
            Store::Postgres(log) => Some(Arc::new(SharedGate(log.clone()))),
        }
    }
}

/// The readers of a SQLite run log and the clients of a PostgreSQL one, kept for the
/// next call; at most `max` open at once (a caller waits for one to be free).
pub(crate) struct Pool<C> {
    state: Mutex<PoolState<C>>,
    freed: std::sync::Condvar,
    max: usize,
}

struct PoolState<C> {
    idle: Vec<C>,
    open: usize,
}

impl<C> Pool<C> {
    pub(crate) fn new(max: usize) -> Pool<C> {
        Pool {
            state: Mutex::new(PoolState {
                idle: Vec::new(),
                open: 0,
            }),
            freed: std::sync::Condvar::new(),
            max: max.max(1),
        }
    }

    /// Keep a connection opened elsewhere for the next call.
    pub(crate) fn put(&self, conn: C) {
        if let Ok(mut s) = self.state.lock() {
            s.open += 1;
            s.idle.push(conn);
        }
        self.freed.notify_one();
    }

    /// Run `f` with an idle connection, or a new one from `open` while fewer than
    /// `max` are open; the connection is kept afterwards unless `f` left it broken
    /// (`keep`).
    pub(crate) fn with<R>(
        &self,
        open: impl FnOnce() -> Result<C>,
        keep: impl FnOnce(&C) -> bool,
        f: impl FnOnce(&mut C) -> Result<R>,
    ) -> Result<R> {
        let poisoned =
            || LogError::new("the run log's connections are unusable (a thread panicked)");
        let idle = {
            let mut s = self.state.lock().map_err(|_| poisoned())?;
            loop {
                if let Some(c) = s.idle.pop() {
                    break Some(c);
                }
                if s.open < self.max {
                    s.open += 1;
                    break None;
                }
                s = self.freed.wait(s).map_err(|_| poisoned())?;
            }
        };
        let mut conn = match idle {
            Some(c) => c,
            None => match open() {
                Ok(c) => c,
                Err(e) => {
                    self.closed();
                    return Err(e);
                }
            },
        };
        let r = f(&mut conn);
        if keep(&conn) {
            if let Ok(mut s) = self.state.lock() {
                s.idle.push(conn);
            }
            self.freed.notify_one();
        } else {
            drop(conn);
            self.closed();
        }
        r
    }

    fn closed(&self) {
        if let Ok(mut s) = self.state.lock() {
            s.open = s.open.saturating_sub(1);
        }
        self.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_opens_at_most_its_size_and_reopens_what_broke() {
        let pool = Arc::new(Pool::<u32>::new(2));
        let opened = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let open = |opened: &std::sync::atomic::AtomicU32| {
            Ok(opened.fetch_add(1, std::sync::atomic::Ordering::SeqCst))
        };
        let barrier = Arc::new(std::sync::Barrier::new(4));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (pool, opened, barrier) = (pool.clone(), opened.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    for _ in 0..50 {
                        pool.with(
                            || open(&opened),
                            |_| true,
                            |_| {
                                std::thread::sleep(Duration::from_micros(200));
                                Ok(())
                            },
                        )
                        .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(opened.load(std::sync::atomic::Ordering::SeqCst) <= 2);
        // A connection found broken is not kept: the next call opens another.
        let before = opened.load(std::sync::atomic::Ordering::SeqCst);
        for _ in 0..2 {
            pool.with(|| open(&opened), |_| false, |_| Ok(())).unwrap();
        }
        pool.with(|| open(&opened), |_| true, |_| Ok(())).unwrap();
        assert!(opened.load(std::sync::atomic::Ordering::SeqCst) > before);
        // A failed open frees its place (else the next call would wait forever).
        let one = Arc::new(Pool::<u32>::new(1));
        let failed: Result<()> = one.with(|| Err(LogError::new("down")), |_| true, |_| Ok(()));
        assert!(failed.is_err());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(one.with(|| Ok(7), |_| true, |c| Ok(*c)));
        });
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok(Ok(7)));
    }
}
