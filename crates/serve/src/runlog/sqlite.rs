//! The run log in an embedded SQLite database (`.flow/runs.db` beside the flows),
//! for one server at a time.
//!
//! All writes of a server go through one [`Writer`] thread, which commits the jobs
//! waiting for it together (one `fsync` for many), in WAL mode with
//! `synchronous=FULL`: a job's result is returned only once it is on disk.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use rusqlite::Connection;
use rusqlite::{params, OptionalExtension};
use serde_json::{json, Value as Json};

use super::{
    apply_performed, ActionRow, AttemptRow, Candidate, Claimed, Filter, Health, LogError, NewEvent,
    Performed, PerformedRow, Pool, Recorded, Result, RunJob, RunRow, SkippedRun, Takeable,
    VersionRow,
};

/// 2: `runs.wake_at` (runs waiting for a `wait` to end) and `schedule_state`.
/// 3: runs keyed by when they were created. 4: only the runs still to carry out
/// are indexed. 5: `runs.id` without `AUTOINCREMENT`.
const SCHEMA_VERSION: i64 = 5;

/// How long a connection waits for another one's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS events (
    id               TEXT PRIMARY KEY,
    type             TEXT NOT NULL,
    payload          BLOB NOT NULL,    -- the raw request body, as signed
    signed_at        INTEGER,          -- the signature's timestamp (Unix seconds)
    received_at      INTEGER NOT NULL, -- Unix milliseconds
    deliveries       INTEGER NOT NULL DEFAULT 1,
    last_delivery_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS versions (
    hash      TEXT PRIMARY KEY,        -- hash of the checked, compiled program
    workflow  TEXT NOT NULL,
    trigger   TEXT NOT NULL,
    path      TEXT NOT NULL,
    source    TEXT NOT NULL,           -- the whole file, to build this version again
    settings  TEXT NOT NULL,           -- the [business] settings it was checked with
    loaded_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    -- A new run takes the highest id plus one: runs are never deleted, so no id is
    -- given twice. (`AUTOINCREMENT` would keep the highest id given in a table of
    -- its own, written in every transaction that records a run.)
    id          INTEGER PRIMARY KEY,
    event_id    TEXT NOT NULL REFERENCES events(id),
    workflow    TEXT NOT NULL,
    version     TEXT NOT NULL REFERENCES versions(hash),
    status      TEXT NOT NULL CHECK (status IN ('started', 'succeeded', 'failed', 'skipped')),
    error       TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    started_at  INTEGER,
    finished_at INTEGER,
    wake_at     INTEGER,               -- set while the run waits (`wait`): when it goes on
    -- An event's runs are written in the event's transaction, created when the event
    -- was received: one per workflow. Led by the time, this key grows at its end;
    -- led by the event id, it would land on a random page at every event.
    UNIQUE (created_at, event_id, workflow)
);
-- Only the runs still to carry out: a run skipped when its event was received never
-- enters it, and a finished run leaves it.
CREATE INDEX IF NOT EXISTS runs_open ON runs(wake_at) WHERE status = 'started';
CREATE TABLE IF NOT EXISTS actions (
    run_id          INTEGER NOT NULL REFERENCES runs(id),
    step            INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    action          TEXT NOT NULL,     -- JSON, as in the run report
    idempotency_key TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('succeeded', 'failed')),
    result          TEXT,              -- JSON answer of the bindings
    error           TEXT,
    started_at      INTEGER NOT NULL,
    finished_at     INTEGER NOT NULL,
    duration_us     INTEGER NOT NULL,
    PRIMARY KEY (run_id, step)
);
CREATE TABLE IF NOT EXISTS attempts (
    run_id      INTEGER NOT NULL REFERENCES runs(id),
    attempt     INTEGER NOT NULL,
    status      TEXT NOT NULL,
    error       TEXT,
    started_at  INTEGER,
    finished_at INTEGER NOT NULL,
    PRIMARY KEY (run_id, attempt)
);
CREATE TABLE IF NOT EXISTS workflow_state (
    workflow   TEXT PRIMARY KEY,
    active     INTEGER NOT NULL,
    changed_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS performed (
    idempotency_key TEXT PRIMARY KEY,
    event_id        TEXT,
    workflow        TEXT NOT NULL,
    step            INTEGER NOT NULL,
    action          TEXT NOT NULL,
    calls           INTEGER NOT NULL,  -- requests with this key; carried out once
    first_at        INTEGER NOT NULL,
    last_at         INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS schedule_state (
    workflow   TEXT PRIMARY KEY,
    last_slot  INTEGER NOT NULL,       -- Unix seconds: the last slot fired, or when first seen
    updated_at INTEGER NOT NULL
);
"#;

impl From<rusqlite::Error> for LogError {
    fn from(e: rusqlite::Error) -> LogError {
        use rusqlite::ErrorCode as C;
        let storage = matches!(
            e.sqlite_error_code(),
            Some(
                C::DiskFull
                    | C::SystemIoFailure
                    | C::ReadOnly
                    | C::CannotOpen
                    | C::DatabaseCorrupt
                    | C::NotADatabase
                    | C::PermissionDenied
            )
        );
        LogError {
            message: e.to_string(),
            storage,
        }
    }
}

/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 64;

/// The run log's file for flows in `dir`.
pub fn default_path(dir: &Path) -> PathBuf {
    dir.join(".flow").join("runs.db")
}

/// Open (creating it and its folder when `create`) a run log.
pub fn open(path: &Path, create: bool) -> Result<Connection> {
    if !create && !path.is_file() {
        return Err(LogError::new(format!("no run log at {}", path.display())));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| LogError::new(format!("cannot create {}: {e}", dir.display())))?;
    }
    let conn = Connection::open(path)
        .map_err(|e| LogError::new(format!("cannot open {}: {e}", path.display())))?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(LogError::new(format!(
            "{}: cannot use write-ahead logging (journal mode {mode})",
            path.display()
        )));
    }
    // The write-ahead log is cut back to 4 MiB whenever a checkpoint lets it start
    // over, so that the space a burst took is given back.
    conn.execute_batch(
        "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA journal_size_limit=4194304;",
    )?;
    // Room for every statement of the event, run and action paths (about 30), so that
    // none is evicted and parsed again while the server runs.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(LogError::new(format!(
            "{} was written by a newer flow (run log version {version})",
            path.display()
        )));
    }
    if version < SCHEMA_VERSION {
        migrate(&conn)?;
    }
    Ok(conn)
}

/// Bring a run log to [`SCHEMA_VERSION`] in one transaction: the tables that are
/// missing are created, and a `runs` table of an older version is written again
/// with its rows and ids, and its indexes made anew (version 1 had no `wake_at`: a
/// waiting run keeps the status `started`, so the status check stays as it was;
/// versions 1 and 2 keyed runs by event id and workflow; version 3 indexed every run
/// by its status; up to version 4, ids were `AUTOINCREMENT`).
fn migrate(conn: &Connection) -> Result<()> {
    let old_runs: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'runs'",
        [],
        |r| r.get(0),
    )?;
    // Foreign keys are checked once the rows are back, not while `runs` is replaced
    // (the pragma is ignored inside a transaction).
    conn.execute_batch("PRAGMA foreign_keys=OFF")?;
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let done = (|| -> Result<()> {
        if old_runs {
            let wake_at = if has_column(conn, "runs", "wake_at")? {
                "wake_at"
            } else {
                "NULL"
            };
            // SQLite's way of changing a table's keys: a new table, the rows copied,
            // the old one dropped and the new one renamed (renaming the old one would
            // take the other tables' references to it along).
            let runs = SCHEMA
                .split_once("CREATE TABLE IF NOT EXISTS runs (")
                .and_then(|(_, rest)| rest.split_once(");"))
                .map(|(columns, _)| columns)
                .ok_or_else(|| LogError::new("the schema has no runs table"))?;
            conn.execute_batch(&format!(
                "CREATE TABLE runs_new ({runs});
                 INSERT INTO runs_new (id, event_id, workflow, version, status, error, attempts,
                                       created_at, started_at, finished_at, wake_at)
                 SELECT id, event_id, workflow, version, status, error, attempts,
                        created_at, started_at, finished_at, {wake_at} FROM runs;
                 DROP TABLE runs;
                 ALTER TABLE runs_new RENAME TO runs;"
            ))?;
            conn.execute_batch(SCHEMA)?;
            if let Some(table) = broken_table(conn)? {
                return Err(LogError::new(format!(
                    "the run log's rows do not hold together (table {table}); it was left as it was"
                )));
            }
        } else {
            conn.execute_batch(SCHEMA)?;
        }
        conn.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))?;
        Ok(())
    })();
    let ended = match done {
        Ok(()) => conn.execute_batch("COMMIT").map_err(LogError::from),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    };
    conn.execute_batch("PRAGMA foreign_keys=ON")?;
    ended
}

/// The first table with a row whose foreign key points at no row, if any.
fn broken_table(conn: &Connection) -> Result<Option<String>> {
    Ok(conn
        .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
        .optional()?)
}

fn has_column(conn: &Connection, table: &str, column: &str) -> Result<bool> {
    let mut st = conn.prepare(&format!("PRAGMA table_info({table})"))?;
    let names = st.query_map([], |r| r.get::<_, String>(1))?;
    for n in names {
        if n? == column {
            return Ok(true);
        }
    }
    Ok(false)
}

// ------------------------------------------------------------------ the writer

type Done = Box<dyn FnOnce(Option<&LogError>) + Send>;
/// A job runs in the open transaction (`None`: none could be opened) and tells how
/// its part went: what to do once the transaction ends, and the storage failure it
/// met, if any.
type Job = Box<dyn FnOnce(Option<&Connection>) -> (Done, Option<LogError>) + Send>;

/// The one writer of a run log in a process: jobs run on its thread, each in a
/// savepoint, and the jobs that queued up meanwhile are committed together.
///
/// When a write fails for want of storage (a full disk, an I/O error), the writer
/// marks the run log not writable ([`Health`]), checkpoints the write-ahead log into
/// the database and truncates it (so that what the log held is given back), and tries
/// a small write of its own every [`PROBE_EVERY`] until one succeeds: then the run
/// log is writable again. Jobs are still tried meanwhile; they fail or succeed as the
/// storage allows.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Job>,
    health: Arc<Health>,
}

/// Most jobs committed in one transaction.
const BATCH: usize = 512;
/// How often a run log that cannot be written is tried again.
pub const PROBE_EVERY: Duration = Duration::from_millis(250);

impl Writer {
    /// Start the writer thread on `conn`. The thread ends when every `Writer` clone
    /// has been dropped.
    pub fn start(conn: Connection) -> Result<(Writer, JoinHandle<()>)> {
        let (tx, rx) = mpsc::channel::<Job>();
        let health = Arc::new(Health::default());
        let state = health.clone();
        let handle = std::thread::Builder::new()
            .name("runlog-writer".into())
            .spawn(move || writer_loop(&conn, &rx, &state))
            .map_err(|e| LogError::new(format!("cannot start the run log's writer: {e}")))?;
        Ok((Writer { tx, health }, handle))
    }

    /// Whether the run log can be written, as this writer last found it.
    pub fn health(&self) -> Arc<Health> {
        self.health.clone()
    }

    /// Run `f` in the writer's transaction; returns once it is committed. Blocks the
    /// calling thread: from async code, use [`Writer::write_async`].
    pub fn write<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R> + Send + 'static,
    {
        let (rtx, rrx) = mpsc::sync_channel::<Result<R>>(1);
        self.queue(f, move |r| {
            let _ = rtx.send(r);
        })?;
        rrx.recv()
            .map_err(|_| LogError::new("the run log writer has stopped"))?
    }

    /// Run `f` in the writer's transaction; the future is ready once it is committed.
    /// The job is queued at once (before the future is first polled); no thread waits
    /// for it.
    pub fn write_async<R, F>(&self, f: F) -> impl std::future::Future<Output = Result<R>> + Send
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R> + Send + 'static,
    {
        let (rtx, rrx) = tokio::sync::oneshot::channel::<Result<R>>();
        let queued = self.queue(f, move |r| {
            let _ = rtx.send(r);
        });
        async move {
            queued?;
            rrx.await
                .map_err(|_| LogError::new("the run log writer has stopped"))?
        }
    }

    /// Queue `f` for the writer's next transaction; `reply` is given its result once
    /// the transaction has ended (on the writer's thread: it must not block).
    fn queue<R, F>(&self, f: F, reply: impl FnOnce(Result<R>) + Send + 'static) -> Result<()>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R> + Send + 'static,
    {
        let job: Job = Box::new(move |conn| {
            let outcome = conn.map(|conn| in_savepoint(conn, f));
            let fault = match &outcome {
                Some(Err(e)) if e.storage => Some(e.clone()),
                _ => None,
            };
            let done: Done = Box::new(move |commit_error| {
                let r = match (outcome, commit_error) {
                    (Some(Err(own)), _) => Err(own),
                    (_, Some(e)) => Err(e.clone()),
                    (None, None) => Err(LogError::new("the run log is not writable")),
                    (Some(r), None) => r,
                };
                reply(r);
            });
            (done, fault)
        });
        self.tx
            .send(job)
            .map_err(|_| LogError::new("the run log writer has stopped"))
    }
}

fn writer_loop(conn: &Connection, rx: &mpsc::Receiver<Job>, health: &Health) {
    let mut limit = test_hook::PageLimit::from_env();
    let mut last_try = Instant::now();
    loop {
        let faulty = health.fault().is_some();
        let first = if faulty {
            match rx.recv_timeout(PROBE_EVERY) {
                Ok(j) => Some(j),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        } else {
            match rx.recv() {
                Ok(j) => Some(j),
                Err(_) => break,
            }
        };
        limit.apply(conn);
        if faulty && last_try.elapsed() >= PROBE_EVERY {
            last_try = Instant::now();
            // Space the write-ahead log holds is given back first.
            checkpoint(conn);
            if probe(conn).is_ok() && health.recover() {
                crate::log::info("run log writable again", json!({}));
            }
        }
        let Some(first) = first else { continue };
        let mut jobs = vec![first];
        while jobs.len() < BATCH {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let (dones, err, fault) = commit_batch(conn, jobs);
        // The run log's state is known before anyone hears of the failure.
        if let Some(e) = fault.as_ref().or(err.as_ref()) {
            last_try = Instant::now();
            if health.fail(&e.message) {
                crate::log::error(
                    "run log not writable",
                    json!({"error": e.message,
                           "detail": "events are answered 500 and runs wait until it can be written again; /healthz answers 503"}),
                );
            }
        }
        for done in dones {
            done(err.as_ref());
        }
    }
}

/// Run the jobs in one transaction: what to tell each job, the error that undid the
/// whole transaction, and the first storage failure of a job.
fn commit_batch(
    conn: &Connection,
    jobs: Vec<Job>,
) -> (Vec<Done>, Option<LogError>, Option<LogError>) {
    if let Err(e) = exec(conn, "BEGIN IMMEDIATE", []) {
        let mut err = LogError::from(e);
        err.message = format!("cannot write to the run log: {}", err.message);
        // Not beginning a transaction is a failure of the run log, whatever its code.
        err.storage = true;
        let dones = jobs.into_iter().map(|job| job(None).0).collect();
        return (dones, Some(err), None);
    }
    let mut fault = None;
    let mut dones = Vec::with_capacity(jobs.len());
    for job in jobs {
        // A job runs only in the batch's transaction: once SQLite has rolled it back,
        // the jobs left are not run (a savepoint would open a transaction of its own).
        let open = (!conn.is_autocommit()).then_some(conn);
        let (done, f) = job(open);
        dones.push(done);
        fault = fault.or(f);
    }
    if conn.is_autocommit() {
        // SQLite rolled the whole transaction back on a job's failure (it may, on a
        // full disk or an I/O error): every job of the batch is undone.
        let err = fault.clone().unwrap_or_else(|| LogError {
            message: "the run log's transaction was rolled back".into(),
            storage: true,
        });
        return (dones, Some(err), fault);
    }
    let err = match exec(conn, "COMMIT", []) {
        Ok(_) => None,
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            let mut err = LogError::from(e);
            err.message = format!("cannot commit to the run log: {}", err.message);
            err.storage = true;
            Some(err)
        }
    };
    (dones, err, fault)
}

/// A write that needs room in the database and in its write-ahead log, and leaves
/// nothing behind: a table of a few pages, created and dropped in one transaction.
fn probe(conn: &Connection) -> rusqlite::Result<()> {
    let tried = conn.execute_batch(
        "BEGIN IMMEDIATE;
         CREATE TABLE flow_probe (x BLOB);
         INSERT INTO flow_probe VALUES (zeroblob(16384));
         DROP TABLE flow_probe;
         COMMIT;",
    );
    if tried.is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    tried
}

/// Copy the write-ahead log into the database and truncate it, giving its space back.
/// Readers in the middle of a read make it give up (after a short wait): it is tried
/// again at the next look.
fn checkpoint(conn: &Connection) {
    let _ = conn.busy_timeout(Duration::from_millis(200));
    let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
        r.get::<_, i64>(0)
    });
    let _ = conn.busy_timeout(BUSY_TIMEOUT);
}

/// A hook for tests, in debug builds only: a full disk, simulated with SQLite's
/// `max_page_count`, which holds for the connection that sets it (so the server's
/// writer has to set it itself).
///
/// `FLOW_SERVE_TEST_MAX_PAGES` names a file; before each transaction, the writer sets
/// the number the file holds as the database's `max_page_count` (SQLite keeps it at
/// least the pages in use, so `1` means "no room left"). A missing or empty file
/// means no limit. Release builds do not read the variable.
mod test_hook {
    use super::Connection;
    use std::path::PathBuf;

    /// SQLite's largest `max_page_count`.
    const NO_LIMIT: u64 = 4_294_967_294;

    pub struct PageLimit {
        file: Option<PathBuf>,
        applied: Option<u64>,
    }

    impl PageLimit {
        pub fn from_env() -> PageLimit {
            let file = if cfg!(debug_assertions) {
                std::env::var_os("FLOW_SERVE_TEST_MAX_PAGES").map(PathBuf::from)
            } else {
                None
            };
            PageLimit {
                file,
                applied: None,
            }
        }

        pub fn apply(&mut self, conn: &Connection) {
            let Some(file) = &self.file else { return };
            let pages = std::fs::read_to_string(file)
                .ok()
                .and_then(|t| t.trim().parse().ok())
                .unwrap_or(NO_LIMIT);
            if self.applied != Some(pages) {
                let set = conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| {
                    r.get::<_, i64>(0)
                });
                if set.is_ok() {
                    self.applied = Some(pages);
                }
            }
        }
    }
}

/// Run one statement of the per-event, per-run and per-action paths from the
/// connection's cache of prepared statements: SQL is parsed once per connection, not
/// once per call.
fn exec<P: rusqlite::Params>(conn: &Connection, sql: &str, p: P) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(p)
}

/// [`exec`] for a statement that reads one row.
fn row<T, P, F>(conn: &Connection, sql: &str, p: P, f: F) -> rusqlite::Result<T>
where
    P: rusqlite::Params,
    F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
{
    conn.prepare_cached(sql)?.query_row(p, f)
}

fn in_savepoint<R>(conn: &Connection, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
    exec(conn, "SAVEPOINT job", [])?;
    match f(conn) {
        Ok(v) => {
            exec(conn, "RELEASE job", [])?;
            Ok(v)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK TO job; RELEASE job");
            Err(e)
        }
    }
}

// ------------------------------------------------------------------ events and runs

/// Record an event and start a run for each candidate workflow that is active, in one
/// transaction (a candidate already known to be skipped is recorded finished). With
/// `take`, the runs started are recorded taken: their first attempt begins now.
#[allow(clippy::too_many_arguments)]
pub fn record_event(
    conn: &Connection,
    id: &str,
    event_type: &str,
    payload: &[u8],
    signed_at: Option<i64>,
    now: i64,
    candidates: &[Candidate],
    take: bool,
) -> Result<Recorded> {
    let inserted = exec(
        conn,
        "INSERT OR IGNORE INTO events (id, type, payload, signed_at, received_at, last_delivery_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![id, event_type, payload, signed_at, now],
    )?;
    if inserted == 0 {
        exec(
            conn,
            "UPDATE events SET deliveries = deliveries + 1, last_delivery_at = ?2 WHERE id = ?1",
            params![id, now],
        )?;
        return Ok(Recorded::Duplicate);
    }
    let (mut runs, mut skipped, mut taken) = (Vec::new(), Vec::new(), Vec::new());
    for c in candidates {
        if !is_active(conn, &c.workflow)? {
            continue;
        }
        if c.skipped {
            // As a worker would leave it: claimed once, finished skipped. Its one
            // attempt is not written: it is the run's own times (see `attempts`).
            exec(
                conn,
                "INSERT INTO runs (event_id, workflow, version, status, attempts, created_at, started_at, finished_at)
                 VALUES (?1, ?2, ?3, 'skipped', 1, ?4, ?4, ?4)",
                params![id, c.workflow, c.version, now],
            )?;
            let run = conn.last_insert_rowid();
            skipped.push(SkippedRun {
                run,
                workflow: c.workflow.clone(),
                version: c.version.clone(),
            });
            continue;
        }
        // Taken: its first attempt is begun (and counted) now.
        exec(
            conn,
            "INSERT INTO runs (event_id, workflow, version, status, attempts, created_at)
             VALUES (?1, ?2, ?3, 'started', ?5, ?4)",
            params![id, c.workflow, c.version, now, i64::from(take)],
        )?;
        let run = conn.last_insert_rowid();
        runs.push(run);
        if take {
            taken.push(RunJob {
                id: run,
                event_id: id.to_string(),
                workflow: c.workflow.clone(),
                version: c.version.clone(),
                payload: payload.to_vec(),
                created_at: now,
                recorded: Default::default(),
            });
        }
    }
    Ok(Recorded::New {
        runs,
        skipped,
        taken,
    })
}

/// A workflow is active unless it was deactivated.
pub fn is_active(conn: &Connection, workflow: &str) -> Result<bool> {
    let active: Option<bool> = row(
        conn,
        "SELECT active FROM workflow_state WHERE workflow = ?1",
        [workflow],
        |r| r.get(0),
    )
    .optional()?;
    Ok(active.unwrap_or(true))
}

pub fn set_active(conn: &Connection, workflow: &str, active: bool, now: i64) -> Result<()> {
    exec(
        conn,
        "INSERT INTO workflow_state (workflow, active, changed_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (workflow) DO UPDATE SET active = ?2, changed_at = ?3",
        params![workflow, active, now],
    )?;
    Ok(())
}

pub fn save_version(conn: &Connection, v: &VersionRow, now: i64) -> Result<()> {
    exec(
        conn,
        "INSERT OR IGNORE INTO versions (hash, workflow, trigger, path, source, settings, loaded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![v.hash, v.workflow, v.trigger, v.path, v.source, v.settings, now],
    )?;
    Ok(())
}

pub fn version(conn: &Connection, hash: &str) -> Result<Option<VersionRow>> {
    Ok(row(
        conn,
        "SELECT hash, workflow, trigger, path, source, settings FROM versions WHERE hash = ?1",
        [hash],
        |r| {
            Ok(VersionRow {
                hash: r.get(0)?,
                workflow: r.get(1)?,
                trigger: r.get(2)?,
                path: r.get(3)?,
                source: r.get(4)?,
                settings: r.get(5)?,
            })
        },
    )
    .optional()?)
}

/// The names of every workflow ever loaded.
pub fn known_workflows(conn: &Connection) -> Result<Vec<String>> {
    let mut st = conn.prepare_cached("SELECT DISTINCT workflow FROM versions ORDER BY workflow")?;
    let rows = st.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// Runs recorded but not finished, and not waiting for a `wait` to end; oldest first.
pub fn unfinished_runs(conn: &Connection) -> Result<Vec<i64>> {
    let mut st = conn.prepare_cached(
        "SELECT id FROM runs WHERE status = 'started' AND wake_at IS NULL ORDER BY id",
    )?;
    let rows = st.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// Runs waiting for a `wait` to end: (run, when it goes on, Unix milliseconds), by
/// wake-up time.
pub fn waiting_runs(conn: &Connection) -> Result<Vec<(i64, i64)>> {
    let mut st = conn.prepare_cached(
        "SELECT id, wake_at FROM runs WHERE status = 'started' AND wake_at IS NOT NULL
         ORDER BY wake_at, id",
    )?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// A run recorded taken with its event, and not started: its first attempt had not
/// begun after all.
pub fn untake(conn: &Connection, run: i64) -> Result<()> {
    exec(
        conn,
        "UPDATE runs SET attempts = 0
         WHERE id = ?1 AND status = 'started' AND attempts = 1 AND started_at IS NULL",
        [run],
    )?;
    Ok(())
}

/// A run stopped at a `wait`: it stays `started`, with the time it goes on; the
/// attempt is recorded as `waiting`. `started`: when an attempt recorded taken with
/// its event began executing.
pub fn set_waiting(
    conn: &Connection,
    run: i64,
    wake_at: i64,
    now: i64,
    started: Option<i64>,
) -> Result<()> {
    exec(
        conn,
        "UPDATE runs SET wake_at = ?2, started_at = coalesce(started_at, ?3) WHERE id = ?1",
        params![run, wake_at, started],
    )?;
    exec(
        conn,
        "INSERT OR REPLACE INTO attempts (run_id, attempt, status, error, started_at, finished_at)
         SELECT id, attempts, 'waiting', NULL, started_at, ?2 FROM runs WHERE id = ?1",
        params![run, now],
    )?;
    Ok(())
}

/// The last slot fired of a scheduled workflow (or when it was first seen), Unix
/// seconds.
pub fn schedule_state(conn: &Connection, workflow: &str) -> Result<Option<i64>> {
    Ok(row(
        conn,
        "SELECT last_slot FROM schedule_state WHERE workflow = ?1",
        [workflow],
        |r| r.get(0),
    )
    .optional()?)
}

pub fn set_schedule_state(
    conn: &Connection,
    workflow: &str,
    last_slot: i64,
    now: i64,
) -> Result<()> {
    exec(
        conn,
        "INSERT INTO schedule_state (workflow, last_slot, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (workflow) DO UPDATE SET last_slot = max(last_slot, ?2), updated_at = ?3",
        params![workflow, last_slot, now],
    )?;
    Ok(())
}

/// The payload of an event, as recorded.
pub fn event_payload(conn: &Connection, id: &str) -> Result<Option<Vec<u8>>> {
    Ok(row(
        conn,
        "SELECT payload FROM events WHERE id = ?1",
        [id],
        |r| r.get(0),
    )
    .optional()?)
}

/// The run an event started for a workflow.
pub fn run_of(conn: &Connection, event_id: &str, workflow: &str) -> Result<Option<i64>> {
    Ok(row(
        conn,
        "SELECT r.id FROM events e
         JOIN runs r ON r.created_at = e.received_at AND r.event_id = e.id
         WHERE e.id = ?1 AND r.workflow = ?2",
        params![event_id, workflow],
        |r| r.get(0),
    )
    .optional()?)
}

/// Mark a run as taken by a worker. `None` when it is not waiting to run (finished
/// meanwhile); otherwise the attempt number (1 the first time).
pub fn claim_run(conn: &Connection, run: i64, now: i64) -> Result<Option<i64>> {
    let n = exec(
        conn,
        "UPDATE runs SET attempts = attempts + 1, started_at = ?2, wake_at = NULL
         WHERE id = ?1 AND status = 'started'",
        params![run, now],
    )?;
    if n == 0 {
        return Ok(None);
    }
    Ok(Some(row(
        conn,
        "SELECT attempts FROM runs WHERE id = ?1",
        [run],
        |r| r.get(0),
    )?))
}

// The reads of every run compare with `+?1` rather than `?1`: the same plan (the same
// index), but SQLite then does not compile the statement again each time a new value
// is bound, as it does for `col = ?1` with an `ORDER BY`, or in this join (a parse per
// query per run, a tenth of the server's time under load).
const RUN_JOB_SQL: &str = "SELECT r.event_id, r.workflow, r.version, e.payload, r.created_at
     FROM runs r JOIN events e ON e.id = r.event_id WHERE r.id = +?1";
const ACTIONS_SQL: &str = "SELECT step, kind, action, idempotency_key, status, result, error,
            started_at, finished_at, duration_us
     FROM actions WHERE run_id = +?1 ORDER BY step";
/// A run's attempts. A run that ended at its first attempt has no row of it: the
/// attempt is the run's own status, error and times (not written for a run skipped
/// when its event was received since version 4 of the run log, nor for any other
/// since; an older run has its row).
const ATTEMPTS_SQL: &str = "SELECT attempt, status, error, started_at, finished_at FROM attempts
     WHERE run_id = +?1
     UNION ALL
     SELECT 1, status, error, started_at, finished_at FROM runs
     WHERE id = +?1 AND status != 'started' AND attempts = 1
       AND NOT EXISTS (SELECT 1 FROM attempts WHERE run_id = +?1)
     ORDER BY 1";

pub fn run_job(conn: &Connection, run: i64) -> Result<RunJob> {
    let (event_id, workflow, version, payload, created_at) = row(conn, RUN_JOB_SQL, [run], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Vec<u8>>(3)?,
            r.get::<_, i64>(4)?,
        ))
    })?;
    let recorded = actions(conn, run)?
        .into_iter()
        .map(|a| (a.step, a))
        .collect();
    Ok(RunJob {
        id: run,
        event_id,
        workflow,
        version,
        payload,
        created_at,
        recorded,
    })
}

pub fn record_action(conn: &Connection, run: i64, a: &ActionRow) -> Result<()> {
    exec(
        conn,
        "INSERT OR REPLACE INTO actions
           (run_id, step, kind, action, idempotency_key, status, result, error,
            started_at, finished_at, duration_us)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            run,
            a.step as i64,
            a.kind,
            a.action.to_string(),
            a.idempotency_key,
            if a.succeeded { "succeeded" } else { "failed" },
            a.result.to_string(),
            a.error,
            a.started_at,
            a.finished_at,
            a.duration_us
        ],
    )?;
    Ok(())
}

pub fn actions(conn: &Connection, run: i64) -> Result<Vec<ActionRow>> {
    let mut st = conn.prepare_cached(ACTIONS_SQL)?;
    let rows = st.query_map([run], |r| {
        let action: String = r.get(2)?;
        let result: Option<String> = r.get(5)?;
        Ok(ActionRow {
            step: usize::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
            kind: r.get(1)?,
            action: serde_json::from_str(&action).unwrap_or(Json::Null),
            idempotency_key: r.get(3)?,
            succeeded: r.get::<_, String>(4)? == "succeeded",
            result: result
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or(Json::Null),
            error: r.get(6)?,
            started_at: r.get(7)?,
            finished_at: r.get(8)?,
            duration_us: r.get(9)?,
        })
    })?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// Record how a run ended, and its attempt in its history unless it is the first:
/// that one is the run's own status and times (see `ATTEMPTS_SQL`). `started`: when
/// an attempt recorded taken with its event began executing.
pub fn finish_run(
    conn: &Connection,
    run: i64,
    status: &str,
    error: Option<&str>,
    now: i64,
    started: Option<i64>,
) -> Result<()> {
    exec(
        conn,
        "UPDATE runs SET status = ?2, error = ?3, finished_at = ?4,
                         started_at = coalesce(started_at, ?5)
         WHERE id = ?1",
        params![run, status, error, now, started],
    )?;
    exec(
        conn,
        "INSERT OR REPLACE INTO attempts (run_id, attempt, status, error, started_at, finished_at)
         SELECT id, attempts, ?2, ?3, started_at, ?4 FROM runs WHERE id = ?1 AND attempts > 1",
        params![run, status, error, now],
    )?;
    Ok(())
}

/// Put a failed run back to be run again: the actions that succeeded stay recorded
/// (they are not carried out again); the failed one is carried out again, with the
/// same idempotency key.
pub fn retry_run(conn: &Connection, run: i64) -> Result<()> {
    let status: Option<String> = row(conn, "SELECT status FROM runs WHERE id = ?1", [run], |r| {
        r.get(0)
    })
    .optional()?;
    super::retryable(run, status.as_deref())?;
    // A first attempt is written before the run's status and times are cleared.
    exec(
        conn,
        "INSERT INTO attempts (run_id, attempt, status, error, started_at, finished_at)
         SELECT id, 1, status, error, started_at, finished_at FROM runs
         WHERE id = ?1 AND attempts = 1 AND NOT EXISTS (SELECT 1 FROM attempts WHERE run_id = ?1)",
        [run],
    )?;
    exec(
        conn,
        "DELETE FROM actions WHERE run_id = ?1 AND status = 'failed'",
        [run],
    )?;
    exec(
        conn,
        "UPDATE runs SET status = 'started', error = NULL, finished_at = NULL WHERE id = ?1",
        [run],
    )?;
    Ok(())
}

// ------------------------------------------------------------------ the recording bindings' world

/// Record an action the recording bindings were asked to carry out, keyed like a
/// Stripe request: a second request with the same key is not carried out again.
pub fn record_performed(
    conn: &Connection,
    key: &str,
    event_id: Option<&str>,
    workflow: &str,
    step: usize,
    action: &Json,
    now: i64,
) -> Result<Performed> {
    let before: Option<String> = row(
        conn,
        "SELECT action FROM performed WHERE idempotency_key = ?1",
        [key],
        |r| r.get(0),
    )
    .optional()?;
    match before {
        None => {
            exec(
                conn,
                "INSERT INTO performed (idempotency_key, event_id, workflow, step, action, calls, first_at, last_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?6)",
                params![key, event_id, workflow, step as i64, action.to_string(), now],
            )?;
            Ok(Performed::New)
        }
        Some(text) => {
            exec(
                conn,
                "UPDATE performed SET calls = calls + 1, last_at = ?2 WHERE idempotency_key = ?1",
                params![key, now],
            )?;
            let first: Json = serde_json::from_str(&text).unwrap_or(Json::Null);
            if &first == action {
                Ok(Performed::Repeat)
            } else {
                Ok(Performed::Conflict(first))
            }
        }
    }
}

// ------------------------------------------------------------------ reading, for `flow runs`

/// The status shown: a run that waits for a `wait` to end is `waiting`.
const STATUS_SHOWN: &str =
    "CASE WHEN r.status = 'started' AND r.wake_at IS NOT NULL THEN 'waiting' ELSE r.status END";

fn run_columns() -> String {
    format!(
        "r.id, r.event_id, e.type, r.workflow, r.version, {STATUS_SHOWN}, r.error,
         r.attempts, r.created_at, r.started_at, r.finished_at, r.wake_at"
    )
}

fn run_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunRow> {
    Ok(RunRow {
        id: r.get(0)?,
        event_id: r.get(1)?,
        event_type: r.get(2)?,
        workflow: r.get(3)?,
        version: r.get(4)?,
        status: r.get(5)?,
        error: r.get(6)?,
        attempts: r.get(7)?,
        created_at: r.get(8)?,
        started_at: r.get(9)?,
        finished_at: r.get(10)?,
        wake_at: r.get(11)?,
    })
}

/// Runs matching the filter, oldest first.
pub fn list_runs(conn: &Connection, f: &Filter) -> Result<Vec<RunRow>> {
    let limit = f.limit.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
    let sql = format!(
        "SELECT {} FROM runs r JOIN events e ON e.id = r.event_id
         WHERE (?1 IS NULL OR {STATUS_SHOWN} = ?1) AND (?2 IS NULL OR r.workflow = ?2)
           AND (?3 IS NULL OR r.created_at >= ?3)
         ORDER BY r.id DESC LIMIT ?4",
        run_columns()
    );
    let mut st = conn.prepare(&sql)?;
    let rows = st.query_map(params![f.status, f.workflow, f.since_ms, limit], run_row)?;
    let mut out: Vec<RunRow> = rows.collect::<std::result::Result<_, _>>()?;
    out.reverse();
    Ok(out)
}

pub fn run(conn: &Connection, id: i64) -> Result<Option<RunRow>> {
    let sql = format!(
        "SELECT {} FROM runs r JOIN events e ON e.id = r.event_id WHERE r.id = ?1",
        run_columns()
    );
    Ok(conn.query_row(&sql, [id], run_row).optional()?)
}

pub fn attempts(conn: &Connection, run: i64) -> Result<Vec<AttemptRow>> {
    let mut st = conn.prepare_cached(ATTEMPTS_SQL)?;
    let rows = st.query_map([run], |r| {
        Ok(AttemptRow {
            attempt: r.get(0)?,
            status: r.get(1)?,
            error: r.get(2)?,
            started_at: r.get(3)?,
            finished_at: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// Workflows deactivated now.
pub fn inactive(conn: &Connection) -> Result<HashSet<String>> {
    let mut st = conn.prepare_cached("SELECT workflow FROM workflow_state WHERE active = 0")?;
    let rows = st.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

// ------------------------------------------------------------------ the store

/// A SQLite run log open in a process: its one writer, and readers kept for reuse.
#[derive(Clone)]
pub struct Log {
    path: PathBuf,
    writer: Writer,
    readers: Arc<Pool<Connection>>,
}

impl Log {
    /// Open (creating it when `create`) and start its writer thread.
    pub fn open(path: &Path, create: bool) -> Result<(Log, JoinHandle<()>)> {
        let (writer, thread) = Writer::start(open(path, create)?)?;
        let log = Log {
            path: path.to_path_buf(),
            writer,
            readers: Arc::new(Pool::new(usize::MAX)),
        };
        Ok((log, thread))
    }

    fn read<R>(&self, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        self.readers
            .with(|| open(&self.path, false), |_| true, |c| f(c))
    }

    pub fn health(&self) -> Arc<Health> {
        self.writer.health()
    }

    pub fn record_event(&self, e: NewEvent) -> Result<Recorded> {
        self.writer.write(move |c| record_new(c, &e))
    }

    pub fn record_event_async(
        &self,
        e: NewEvent,
    ) -> impl std::future::Future<Output = Result<Recorded>> + Send {
        self.writer.write_async(move |c| record_new(c, &e))
    }

    pub fn record_slot(
        &self,
        e: NewEvent,
        workflow: &str,
        slot: i64,
        now: i64,
    ) -> Result<Recorded> {
        let name = workflow.to_string();
        self.writer.write(move |c| {
            let recorded = record_new(c, &e)?;
            set_schedule_state(c, &name, slot, now)?;
            Ok(recorded)
        })
    }

    pub fn event_payload(&self, id: &str) -> Result<Option<Vec<u8>>> {
        self.read(|c| event_payload(c, id))
    }

    pub fn run_of(&self, event_id: &str, workflow: &str) -> Result<Option<i64>> {
        self.read(|c| run_of(c, event_id, workflow))
    }

    pub fn save_versions(&self, rows: Vec<VersionRow>, now: i64) -> Result<()> {
        self.writer.write(move |c| {
            for r in &rows {
                save_version(c, r, now)?;
            }
            Ok(())
        })
    }

    pub fn version(&self, hash: &str) -> Result<Option<VersionRow>> {
        self.read(|c| version(c, hash))
    }

    pub fn schedule_state(&self, workflow: &str) -> Result<Option<i64>> {
        self.read(|c| schedule_state(c, workflow))
    }

    pub fn set_schedule_state(&self, workflow: &str, last_slot: i64, now: i64) -> Result<()> {
        let name = workflow.to_string();
        self.writer
            .write(move |c| set_schedule_state(c, &name, last_slot, now))
    }

    pub fn claim(&self, run: i64, now: i64) -> Result<Option<Claimed>> {
        let Some(attempt) = self.writer.write(move |c| claim_run(c, run, now))? else {
            return Ok(None);
        };
        self.read(|c| {
            Ok(Some(Claimed {
                attempt,
                job: run_job(c, run)?,
                ended_attempts: attempts(c, run)?.len(),
            }))
        })
    }

    pub fn journal(
        &self,
        run: i64,
        effect: Option<PerformedRow>,
        mut row: ActionRow,
    ) -> Result<ActionRow> {
        self.writer.write(move |c| {
            if let Some(e) = effect {
                let done = record_performed(
                    c,
                    &e.key,
                    e.event_id.as_deref(),
                    &e.workflow,
                    e.step,
                    &e.action,
                    row.finished_at,
                )?;
                apply_performed(&mut row, &e.key, done);
            }
            record_action(c, run, &row)?;
            Ok(row)
        })
    }

    pub fn untake(&self, runs: &[i64]) -> Result<()> {
        if runs.is_empty() {
            return Ok(());
        }
        let runs = runs.to_vec();
        self.writer.write(move |c| {
            for run in runs {
                untake(c, run)?;
            }
            Ok(())
        })
    }

    pub fn set_waiting(
        &self,
        run: i64,
        wake_at: i64,
        now: i64,
        started: Option<i64>,
    ) -> Result<bool> {
        self.writer
            .write(move |c| set_waiting(c, run, wake_at, now, started))
            .map(|()| true)
    }

    pub fn finish_run(
        &self,
        run: i64,
        status: &str,
        error: Option<&str>,
        now: i64,
        started: Option<i64>,
    ) -> Result<bool> {
        let (status, error) = (status.to_string(), error.map(str::to_string));
        self.writer
            .write(move |c| finish_run(c, run, &status, error.as_deref(), now, started))
            .map(|()| true)
    }

    /// One server per file: every unfinished run is this server's.
    pub fn takeable(&self, start: bool) -> Result<Takeable> {
        self.read(|c| {
            Ok(Takeable {
                ready: unfinished_runs(c)?,
                waiting: if start { waiting_runs(c)? } else { Vec::new() },
            })
        })
    }

    pub fn renew(&self) -> Result<()> {
        Ok(())
    }

    pub fn release(&self) -> Result<()> {
        Ok(())
    }

    /// Nobody else writes this run log while a server holds it.
    pub fn wait_for_runs(&self, timeout: Duration) -> bool {
        std::thread::sleep(timeout);
        false
    }

    pub fn list_runs(&self, f: &Filter) -> Result<Vec<RunRow>> {
        self.read(|c| list_runs(c, f))
    }

    pub fn run(&self, id: i64) -> Result<Option<RunRow>> {
        self.read(|c| run(c, id))
    }

    pub fn actions(&self, run: i64) -> Result<Vec<ActionRow>> {
        self.read(|c| actions(c, run))
    }

    pub fn attempts(&self, run: i64) -> Result<Vec<AttemptRow>> {
        self.read(|c| attempts(c, run))
    }

    pub fn known_workflows(&self) -> Result<Vec<String>> {
        self.read(known_workflows)
    }

    pub fn set_active(&self, workflow: &str, active: bool, now: i64) -> Result<()> {
        let name = workflow.to_string();
        self.writer
            .write(move |c| set_active(c, &name, active, now))
    }

    pub fn inactive(&self) -> Result<HashSet<String>> {
        self.read(inactive)
    }

    pub fn retry_run(&self, run: i64) -> Result<()> {
        self.writer.write(move |c| retry_run(c, run))
    }
}

fn record_new(c: &Connection, e: &NewEvent) -> Result<Recorded> {
    record_event(
        c,
        &e.id,
        &e.event_type,
        &e.payload,
        e.signed_at,
        e.now,
        &e.candidates,
        e.take,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reads_of_a_run_are_compiled_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runs.db");
        let _writer = open(&path, true).unwrap();
        let reader = open(&path, false).unwrap();
        for run in 1..=3 {
            assert!(run_job(&reader, run).is_err(), "no run {run} yet");
            assert!(actions(&reader, run).unwrap().is_empty());
            assert!(attempts(&reader, run).unwrap().is_empty());
        }
        for sql in [RUN_JOB_SQL, ACTIONS_SQL, ATTEMPTS_SQL] {
            let st = reader.prepare_cached(sql).unwrap();
            assert_eq!(st.get_status(rusqlite::StatementStatus::Run), 3, "{sql}");
            assert_eq!(
                st.get_status(rusqlite::StatementStatus::RePrepare),
                0,
                "compiled again on a new value: {sql}"
            );
        }
    }

    /// The `runs` table as version 1 of the run log wrote it.
    const RUNS_V1: &str = "CREATE TABLE runs (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id    TEXT NOT NULL REFERENCES events(id),
        workflow    TEXT NOT NULL,
        version     TEXT NOT NULL REFERENCES versions(hash),
        status      TEXT NOT NULL CHECK (status IN ('started', 'succeeded', 'failed', 'skipped')),
        error       TEXT,
        attempts    INTEGER NOT NULL DEFAULT 0,
        created_at  INTEGER NOT NULL,
        started_at  INTEGER,
        finished_at INTEGER,
        UNIQUE (event_id, workflow)
    );
    CREATE INDEX runs_by_status ON runs(status);
    CREATE INDEX runs_by_created ON runs(created_at);";

    /// A run log of an older `version` whose runs table was `runs` (its indexes
    /// included), the other tables as now (up to `until`, the first table that
    /// version did not have, when given).
    fn old_schema(path: &Path, runs: &str, version: i64, until: Option<&str>) -> Connection {
        let c = Connection::open(path).unwrap();
        let (before, rest) = SCHEMA
            .split_once("CREATE TABLE IF NOT EXISTS runs (")
            .unwrap();
        let (_, after) = rest.split_once(");").unwrap();
        let after = after.replace(
            "CREATE INDEX IF NOT EXISTS runs_open ON runs(wake_at) WHERE status = 'started';",
            "",
        );
        let after = until
            .and_then(|u| after.split_once(u))
            .map_or(&*after, |(a, _)| a);
        c.execute_batch(&format!(
            "PRAGMA foreign_keys=ON; {before}{runs}{after} PRAGMA user_version = {version};"
        ))
        .unwrap();
        c
    }

    fn old_log(path: &Path) {
        let c = old_schema(
            path,
            RUNS_V1,
            1,
            Some("CREATE TABLE IF NOT EXISTS schedule_state"),
        );
        c.execute_batch(
            "INSERT INTO events (id, type, payload, received_at, last_delivery_at)
               VALUES ('evt_1', 'invoice.finalized', x'7b7d', 1, 1);
             INSERT INTO versions (hash, workflow, trigger, path, source, settings, loaded_at)
               VALUES ('v1', 'Nudge', 'invoice.finalized', 'n.flow', '', '', 1);
             INSERT INTO runs (event_id, workflow, version, status, created_at)
               VALUES ('evt_1', 'Nudge', 'v1', 'started', 1000);",
        )
        .unwrap();
    }

    #[test]
    fn an_old_run_log_opens_and_gets_its_new_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runs.db");
        old_log(&path);
        let c = open(&path, false).unwrap();
        assert!(has_column(&c, "runs", "wake_at").unwrap());
        let v: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        // The run of the old log is there, unfinished, not waiting.
        assert_eq!(unfinished_runs(&c).unwrap(), vec![1]);
        assert!(waiting_runs(&c).unwrap().is_empty());
        // It can wait, be listed as waiting, and be claimed when it wakes.
        assert_eq!(claim_run(&c, 1, 2_000).unwrap(), Some(1));
        set_waiting(&c, 1, 9_000, 2_500, None).unwrap();
        assert!(unfinished_runs(&c).unwrap().is_empty());
        assert_eq!(waiting_runs(&c).unwrap(), vec![(1, 9_000)]);
        let waiting = Filter {
            status: Some("waiting".into()),
            ..Filter::default()
        };
        let rows = list_runs(&c, &waiting).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].status, "waiting");
        assert_eq!(rows[0].wake_at, Some(9_000));
        assert_eq!(rows[0].trigger(), "event");
        let started = Filter {
            status: Some("started".into()),
            ..Filter::default()
        };
        assert!(list_runs(&c, &started).unwrap().is_empty());
        assert_eq!(claim_run(&c, 1, 9_100).unwrap(), Some(2));
        assert_eq!(unfinished_runs(&c).unwrap(), vec![1]);
        // The status check still holds.
        assert!(c
            .execute("UPDATE runs SET status = 'waiting' WHERE id = 1", [])
            .is_err());
        // The schedule table is new.
        set_schedule_state(&c, "Monthly", 100, 1).unwrap();
        set_schedule_state(&c, "Monthly", 50, 2).unwrap();
        assert_eq!(schedule_state(&c, "Monthly").unwrap(), Some(100));
        drop(c);
        // Opened again: nothing to do.
        let c = open(&path, false).unwrap();
        assert_eq!(waiting_runs(&c).unwrap(), Vec::<(i64, i64)>::new());
    }

    /// The `runs` table as version 2 of the run log wrote it: version 1's, with
    /// `wake_at`, still keyed by event id and workflow.
    fn runs_v2() -> String {
        RUNS_V1.replace(
            "finished_at INTEGER,",
            "finished_at INTEGER,\n        wake_at     INTEGER,",
        )
    }

    #[test]
    fn a_version_2_run_log_keeps_its_runs_ids_and_journal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runs.db");
        let c = old_schema(&path, &runs_v2(), 2, None);
        c.execute_batch(
            "INSERT INTO events (id, type, payload, received_at, last_delivery_at)
               VALUES ('evt_1', 'invoice.finalized', x'7b7d', 1000, 1000),
                      ('evt_2', 'invoice.finalized', x'7b7d', 2000, 2000);
             INSERT INTO versions (hash, workflow, trigger, path, source, settings, loaded_at)
               VALUES ('v1', 'Nudge', 'invoice.finalized', 'n.flow', '', '', 1);
             INSERT INTO runs (event_id, workflow, version, status, attempts, created_at)
               VALUES ('evt_1', 'Nudge', 'v1', 'succeeded', 1, 1000),
                      ('evt_2', 'Nudge', 'v1', 'started', 0, 2000);
             INSERT INTO actions (run_id, step, kind, action, idempotency_key, status,
                                  started_at, finished_at, duration_us)
               VALUES (1, 0, 'email', '{}', 'k1', 'succeeded', 1000, 1000, 1);
             INSERT INTO attempts (run_id, attempt, status, finished_at)
               VALUES (1, 1, 'succeeded', 1001);",
        )
        .unwrap();
        drop(c);

        let c = open(&path, false).unwrap();
        let v: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        // The runs are there with their ids, and their actions and attempts still
        // belong to them.
        assert_eq!(unfinished_runs(&c).unwrap(), vec![2]);
        assert_eq!(actions(&c, 1).unwrap().len(), 1);
        assert_eq!(attempts(&c, 1).unwrap().len(), 1);
        assert_eq!(broken_table(&c).unwrap(), None);
        // The tables that refer to runs refer to the new one.
        assert_eq!(
            count(
                &c,
                "SELECT count(*) FROM sqlite_master WHERE sql LIKE '%runs_new%'"
            ),
            0
        );
        assert_eq!(run_of(&c, "evt_2", "Nudge").unwrap(), Some(2));
        assert_eq!(run_of(&c, "evt_2", "Other").unwrap(), None);
        // The key is led by the time; the index on the time alone is gone.
        assert_eq!(
            indexes(&c, "runs"),
            ["runs_open", "sqlite_autoindex_runs_1"]
        );
        let key: Vec<String> = c
            .prepare("SELECT name FROM pragma_index_info('sqlite_autoindex_runs_1') ORDER BY seqno")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(key, ["created_at", "event_id", "workflow"]);
        // New runs go on after the highest id.
        assert_eq!(next_run(&c, "evt_3"), 3);
    }

    /// The run log at `path`, opened: brought to this version, with its indexes of runs.
    fn migrated(path: &Path) -> Connection {
        let c = open(path, true).unwrap();
        let v: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        assert_eq!(
            indexes(&c, "runs"),
            ["runs_open", "sqlite_autoindex_runs_1"]
        );
        c
    }

    /// Record `event` with a run of `Nudge` (version `v1`): the run's id.
    fn next_run(c: &Connection, event: &str) -> i64 {
        let r = record_event(
            c,
            event,
            "invoice.finalized",
            b"{}",
            None,
            3000,
            &[candidate("Nudge", false)],
            false,
        )
        .unwrap();
        let Recorded::New { runs, .. } = r else {
            panic!("not recorded: {r:?}")
        };
        assert_eq!(run_of(c, event, "Nudge").unwrap(), Some(runs[0]));
        runs[0]
    }

    #[test]
    fn a_version_4_run_log_loses_autoincrement_and_keeps_its_runs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runs.db");
        let v4 = SCHEMA.replace(
            "    id          INTEGER PRIMARY KEY,",
            "    id          INTEGER PRIMARY KEY AUTOINCREMENT,",
        );
        assert_ne!(v4, SCHEMA);
        let c = Connection::open(&path).unwrap();
        c.execute_batch(&format!(
            "{v4}
             INSERT INTO events (id, type, payload, received_at, last_delivery_at)
               VALUES ('evt_1', 'invoice.finalized', x'7b7d', 1000, 1000),
                      ('evt_2', 'invoice.finalized', x'7b7d', 2000, 2000);
             INSERT INTO versions (hash, workflow, trigger, path, source, settings, loaded_at)
               VALUES ('v1', 'Nudge', 'invoice.finalized', 'n.flow', '', '', 1);
             INSERT INTO runs (id, event_id, workflow, version, status, attempts, created_at,
                               started_at, finished_at)
               VALUES (4, 'evt_1', 'Nudge', 'v1', 'succeeded', 2, 1000, 1500, 1600);
             INSERT INTO attempts (run_id, attempt, status, error, started_at, finished_at)
               VALUES (4, 1, 'failed', 'declined', 1000, 1100),
                      (4, 2, 'succeeded', NULL, 1500, 1600);
             INSERT INTO actions (run_id, step, kind, action, idempotency_key, status,
                                  started_at, finished_at, duration_us)
               VALUES (4, 0, 'email', '{{}}', 'k1', 'succeeded', 1500, 1500, 1);
             INSERT INTO runs (event_id, workflow, version, status, created_at, wake_at)
               VALUES ('evt_2', 'Nudge', 'v1', 'started', 2000, 9000);
             PRAGMA user_version = 4;"
        ))
        .unwrap();
        drop(c);
        let c = migrated(&path);
        let sql: String = c
            .query_row(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'runs'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(!sql.contains("PRIMARY KEY AUTOINCREMENT"), "{sql}");
        // Every run, with its id, attempts, journal and wait.
        let shown = attempts(&c, 4).unwrap();
        assert_eq!(
            shown.iter().map(|a| &*a.status).collect::<Vec<_>>(),
            ["failed", "succeeded"]
        );
        assert_eq!(actions(&c, 4).unwrap().len(), 1);
        assert_eq!(run_of(&c, "evt_1", "Nudge").unwrap(), Some(4));
        assert_eq!(waiting_runs(&c).unwrap(), vec![(5, 9000)]);
        assert_eq!(broken_table(&c).unwrap(), None);
        assert_eq!(next_run(&c, "evt_3"), 6);
        // No sequence is kept for runs any more.
        assert_eq!(
            count(
                &c,
                "SELECT count(*) FROM sqlite_sequence WHERE name = 'runs'"
            ),
            0
        );
        drop(c);
        // Opened again: nothing to do, and the ids go on.
        let c = open(&path, false).unwrap();
        assert_eq!(next_run(&c, "evt_4"), 7);
    }

    /// The one number `sql` gives.
    fn count(c: &Connection, sql: &str) -> i64 {
        c.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    /// The names of a table's indexes.
    fn indexes(c: &Connection, table: &str) -> Vec<String> {
        c.prepare("SELECT name FROM pragma_index_list(?1) ORDER BY name")
            .unwrap()
            .query_map([table], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }

    fn candidate(workflow: &str, skipped: bool) -> Candidate {
        Candidate {
            workflow: workflow.into(),
            version: "v1".into(),
            skipped,
        }
    }

    /// A new run log in `dir` with one version, `v1` of `Nudge`.
    fn log_with_nudge(dir: &tempfile::TempDir) -> Connection {
        let c = open(&dir.path().join("runs.db"), true).unwrap();
        c.execute_batch(
            "INSERT INTO versions (hash, workflow, trigger, path, source, settings, loaded_at)
               VALUES ('v1', 'Nudge', 'invoice.finalized', 'n.flow', '', '', 1);",
        )
        .unwrap();
        c
    }

    #[test]
    fn runs_recorded_taken_begin_their_first_attempt_with_the_event() {
        let dir = tempfile::tempdir().unwrap();
        let c = log_with_nudge(&dir);
        let candidates = [candidate("Nudge", false), candidate("Quiet", true)];
        let payload = br#"{"id":"evt_1","type":"invoice.finalized"}"#;
        let r = record_event(
            &c,
            "evt_1",
            "invoice.finalized",
            payload,
            None,
            7_000,
            &candidates,
            true,
        )
        .unwrap();
        let Recorded::New {
            runs,
            skipped,
            taken,
        } = r
        else {
            panic!("not recorded: {r:?}")
        };
        assert_eq!((runs.len(), skipped.len()), (1, 1));
        // What a worker needs, as it would have read it from the run log.
        assert_eq!(taken, vec![run_job(&c, runs[0]).unwrap()]);
        assert_eq!(taken[0].payload, payload.to_vec());
        assert!(taken[0].recorded.is_empty());
        // Its first attempt is recorded begun (when it began executing is written
        // with its end); the run is still to finish, so a server started after a
        // crash takes it up as its second attempt.
        let started = |c: &Connection| -> (i64, Option<i64>) {
            c.query_row(
                "SELECT attempts, started_at FROM runs WHERE id = ?1",
                [runs[0]],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
        };
        assert_eq!(started(&c), (1, None));
        assert_eq!(unfinished_runs(&c).unwrap(), runs);
        c.execute_batch("SAVEPOINT restart").unwrap();
        assert_eq!(claim_run(&c, runs[0], 8_000).unwrap(), Some(2));
        assert_eq!(started(&c), (2, Some(8_000)));
        c.execute_batch("ROLLBACK TO restart; RELEASE restart")
            .unwrap();
        // A server stopped before it started the run gives the attempt back.
        c.execute_batch("SAVEPOINT stop").unwrap();
        untake(&c, runs[0]).unwrap();
        assert_eq!(started(&c), (0, None));
        assert_eq!(claim_run(&c, runs[0], 8_000).unwrap(), Some(1));
        c.execute_batch("ROLLBACK TO stop; RELEASE stop").unwrap();
        // Executed from memory: its start is written with its end. It failed at its
        // first attempt: the attempt is the run's own status, not a row of its own.
        finish_run(&c, runs[0], "failed", Some("declined"), 7_900, Some(7_400)).unwrap();
        assert_eq!(started(&c), (1, Some(7_400)));
        let stored = |c: &Connection| count(c, "SELECT count(*) FROM attempts");
        assert_eq!(stored(&c), 0);
        let first = AttemptRow {
            attempt: 1,
            status: "failed".into(),
            error: Some("declined".into()),
            started_at: Some(7_400),
            finished_at: 7_900,
        };
        assert_eq!(attempts(&c, runs[0]).unwrap(), vec![first.clone()]);
        // Retried: the first attempt stays in its history, written now; the second
        // gets a row of its own.
        retry_run(&c, runs[0]).unwrap();
        assert_eq!(stored(&c), 1);
        assert_eq!(attempts(&c, runs[0]).unwrap(), vec![first.clone()]);
        assert_eq!(claim_run(&c, runs[0], 10_000).unwrap(), Some(2));
        finish_run(&c, runs[0], "succeeded", None, 10_500, None).unwrap();
        let shown = attempts(&c, runs[0]).unwrap();
        assert_eq!(shown.len(), 2);
        assert_eq!(shown[0], first);
        assert_eq!(
            (&*shown[1].status, shown[1].started_at, shown[1].finished_at),
            ("succeeded", Some(10_000), 10_500)
        );
        // A redelivery takes nothing.
        let again = record_event(
            &c,
            "evt_1",
            "invoice.finalized",
            payload,
            None,
            9_000,
            &candidates,
            true,
        )
        .unwrap();
        assert_eq!(again, Recorded::Duplicate);
    }

    #[test]
    fn a_run_skipped_on_receipt_shows_one_attempt_without_writing_it() {
        let dir = tempfile::tempdir().unwrap();
        let c = log_with_nudge(&dir);
        let candidates = [candidate("Nudge", true), candidate("Other", false)];
        let r = record_event(
            &c,
            "evt_1",
            "invoice.finalized",
            b"{}",
            None,
            5_000,
            &candidates,
            false,
        )
        .unwrap();
        let Recorded::New { runs, skipped, .. } = r else {
            panic!("not recorded: {r:?}")
        };
        assert_eq!((runs.len(), skipped.len()), (1, 1));
        assert_eq!(count(&c, "SELECT count(*) FROM attempts"), 0);
        let shown = attempts(&c, skipped[0].run).unwrap();
        assert_eq!(shown.len(), 1);
        assert_eq!(
            (
                shown[0].attempt,
                &*shown[0].status,
                shown[0].error.as_deref()
            ),
            (1, "skipped", None)
        );
        assert_eq!(
            (shown[0].started_at, shown[0].finished_at),
            (Some(5_000), 5_000)
        );
        // Neither run skipped on receipt nor runs not yet started show made-up attempts.
        assert!(attempts(&c, runs[0]).unwrap().is_empty());
        // Only the run to carry out is in the index of open runs.
        assert_eq!(unfinished_runs(&c).unwrap(), runs);
        assert_eq!(
            count(
                &c,
                "SELECT count(*) FROM runs INDEXED BY runs_open WHERE status = 'started'"
            ),
            1
        );
        // A run that a worker found skipped keeps the attempt it wrote, once.
        claim_run(&c, runs[0], 6_000).unwrap();
        finish_run(&c, runs[0], "skipped", None, 6_500, None).unwrap();
        let shown = attempts(&c, runs[0]).unwrap();
        assert_eq!(shown.len(), 1, "{shown:?}");
        assert_eq!(shown[0].finished_at, 6_500);
    }

    #[test]
    fn a_version_3_run_log_gets_the_index_of_open_runs_and_keeps_its_attempts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runs.db");
        let v3 = SCHEMA.replace(
            "CREATE INDEX IF NOT EXISTS runs_open ON runs(wake_at) WHERE status = 'started';",
            "CREATE INDEX IF NOT EXISTS runs_by_status ON runs(status);",
        );
        let c = Connection::open(&path).unwrap();
        c.execute_batch(&format!(
            "{v3}
             INSERT INTO events (id, type, payload, received_at, last_delivery_at)
               VALUES ('evt_1', 'invoice.finalized', x'7b7d', 1, 1);
             INSERT INTO versions (hash, workflow, trigger, path, source, settings, loaded_at)
               VALUES ('v1', 'Nudge', 'invoice.finalized', 'n.flow', '', '', 1);
             INSERT INTO runs (event_id, workflow, version, status, attempts, created_at,
                               started_at, finished_at)
               VALUES ('evt_1', 'Nudge', 'v1', 'skipped', 1, 1000, 1000, 1000);
             INSERT INTO attempts (run_id, attempt, status, error, started_at, finished_at)
               VALUES (1, 1, 'skipped', NULL, 1000, 1000);
             INSERT INTO runs (event_id, workflow, version, status, created_at)
               VALUES ('evt_1', 'Other', 'v1', 'started', 1000);
             PRAGMA user_version = 3;"
        ))
        .unwrap();
        drop(c);
        let c = migrated(&path);
        // The attempt written by version 3 is shown once, not twice.
        let shown = attempts(&c, 1).unwrap();
        assert_eq!(shown.len(), 1, "{shown:?}");
        assert_eq!(unfinished_runs(&c).unwrap(), vec![2]);
    }

    #[test]
    fn a_newer_run_log_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runs.db");
        let c = Connection::open(&path).unwrap();
        c.execute_batch("PRAGMA user_version = 99").unwrap();
        drop(c);
        let e = open(&path, false).unwrap_err();
        assert!(e.message.contains("newer flow"), "{e}");
    }

    #[test]
    fn scheduled_runs_show_their_slot() {
        let row = RunRow {
            id: 1,
            event_id: "schedule:Monthly close:2026-03-01T14:00:00Z".into(),
            event_type: "schedule".into(),
            workflow: "Monthly close".into(),
            version: "v".into(),
            status: "succeeded".into(),
            error: None,
            attempts: 1,
            created_at: 0,
            started_at: None,
            finished_at: None,
            wake_at: None,
        };
        assert_eq!(row.trigger(), "schedule");
        assert_eq!(row.slot(), Some("2026-03-01T14:00:00Z"));
        assert_eq!(row.to_json()["slot"], "2026-03-01T14:00:00Z");
    }
}
