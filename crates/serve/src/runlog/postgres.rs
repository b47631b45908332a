//! The run log in PostgreSQL, shared by any number of servers (`--db postgres://…`).
//!
//! Its tables are those of the SQLite run log, in a schema of their own (`flow`),
//! brought up to date by numbered migrations under an advisory lock (so two servers
//! starting together migrate once). What sharing adds:
//!
//! - **An event is recorded once.** Its id is the key of `events`: a redelivery that
//!   reaches another server finds it there (waiting for the first server's
//!   transaction if it is still open) and is answered as a duplicate.
//! - **A run has one holder at a time.** A run is recorded with a lease held by the
//!   server that recorded it; a worker takes a run only if its lease is this
//!   server's, nobody's, or ran out; the server renews its leases while it lives. A
//!   run whose lease ran out (its server was killed) is taken over by another server,
//!   which claims it with `FOR UPDATE SKIP LOCKED`, and resumes it from its journal:
//!   the actions already journaled are not carried out again, and one that was
//!   carried out but not journaled is carried out again with the same idempotency
//!   key. A run's end is written only by its holder. Times of leases are the
//!   database's clock, so the servers' clocks do not need to agree.
//! - **Wake-ups.** A run given back (a stopping server's queued runs, `flow runs
//!   retry`) is announced with `NOTIFY flow_runs`; servers `LISTEN` and take it at
//!   once, and look anyway every few seconds.
//! - **Stripe's rate limit** is counted in the database: a Stripe request of any
//!   server waits for a turn in the current second of the database's clock
//!   ([`Log::take_turn`]), so the servers together stay under it.
//! - **Activation and schedules** live in the database: a deactivated workflow starts
//!   no run on any server from the next event, and a schedule slot's event id
//!   (`schedule:NAME:SLOT`) makes it fire once whichever servers try it.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;
use postgres::{Client, GenericClient, Statement};
use serde_json::{json, Value as Json};

use super::{
    apply_performed, ActionRow, AttemptRow, Claimed, Filter, Health, LogError, NewEvent, Performed,
    PerformedRow, Pool, Recorded, Result, RunJob, RunRow, SkippedRun, Takeable, VersionRow,
};

/// The migrations, in order: the database's `flow.schema_version` says how many ran.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE FUNCTION now_ms() RETURNS BIGINT LANGUAGE sql VOLATILE
    AS $$ SELECT (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT $$;
CREATE TABLE events (
    id               TEXT PRIMARY KEY,
    type             TEXT NOT NULL,
    payload          BYTEA NOT NULL,
    signed_at        BIGINT,
    received_at      BIGINT NOT NULL,
    deliveries       BIGINT NOT NULL DEFAULT 1,
    last_delivery_at BIGINT NOT NULL
);
CREATE TABLE versions (
    hash      TEXT PRIMARY KEY,
    workflow  TEXT NOT NULL,
    trigger   TEXT NOT NULL,
    path      TEXT NOT NULL,
    source    TEXT NOT NULL,
    settings  TEXT NOT NULL,
    loaded_at BIGINT NOT NULL
);
CREATE TABLE runs (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id    TEXT NOT NULL REFERENCES events(id),
    workflow    TEXT NOT NULL,
    version     TEXT NOT NULL REFERENCES versions(hash),
    status      TEXT NOT NULL CHECK (status IN ('started', 'succeeded', 'failed', 'skipped')),
    error       TEXT,
    attempts    BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    started_at  BIGINT,
    finished_at BIGINT,
    wake_at     BIGINT,
    lease_owner TEXT,                  -- the server that holds the run
    lease_until BIGINT,                -- until when (the database's clock, Unix ms)
    UNIQUE (event_id, workflow)
);
CREATE INDEX runs_unfinished ON runs (id) WHERE status = 'started';
CREATE INDEX runs_by_status ON runs (status);
CREATE TABLE actions (
    run_id          BIGINT NOT NULL REFERENCES runs(id),
    step            BIGINT NOT NULL,
    kind            TEXT NOT NULL,
    action          TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('succeeded', 'failed')),
    result          TEXT,
    error           TEXT,
    started_at      BIGINT NOT NULL,
    finished_at     BIGINT NOT NULL,
    duration_us     BIGINT NOT NULL,
    PRIMARY KEY (run_id, step)
);
CREATE TABLE attempts (
    run_id      BIGINT NOT NULL REFERENCES runs(id),
    attempt     BIGINT NOT NULL,
    status      TEXT NOT NULL,
    error       TEXT,
    started_at  BIGINT,
    finished_at BIGINT NOT NULL,
    PRIMARY KEY (run_id, attempt)
);
CREATE TABLE workflow_state (
    workflow   TEXT PRIMARY KEY,
    active     BOOLEAN NOT NULL,
    changed_at BIGINT NOT NULL
);
CREATE TABLE performed (
    idempotency_key TEXT PRIMARY KEY,
    event_id        TEXT,
    workflow        TEXT NOT NULL,
    step            BIGINT NOT NULL,
    action          TEXT NOT NULL,
    calls           BIGINT NOT NULL,
    first_at        BIGINT NOT NULL,
    last_at         BIGINT NOT NULL
);
CREATE TABLE schedule_state (
    workflow   TEXT PRIMARY KEY,
    last_slot  BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
"#,
    r#"
-- Stripe requests given a turn, per account (a fingerprint of the key) and second
-- of the database's clock: the rate limit shared by the servers.
CREATE TABLE rate_windows (
    account TEXT NOT NULL,
    second  BIGINT NOT NULL,
    turns   BIGINT NOT NULL,
    PRIMARY KEY (account, second)
);
"#,
];

/// The key of the advisory lock held while migrating.
const MIGRATION_LOCK: i64 = 0x666c_6f77_5f6d_6967; // "flow_mig"

/// The channel of the wake-ups.
const CHANNEL: &str = "flow_runs";

/// Most connections a server opens for its statements (besides the one that listens
/// for wake-ups); a statement waits for one to be free.
pub const CONNECTIONS: usize = 16;

/// Most runs taken over in one look.
const TAKE_AT_ONCE: i64 = 256;

impl From<postgres::Error> for LogError {
    fn from(e: postgres::Error) -> LogError {
        // The server or the connection failed, rather than the request: a closed
        // connection, an I/O error, or a class of SQLSTATE that says so (08
        // connection, 53 resources such as a full disk, 57 operator intervention,
        // 58 system error).
        let storage = e.is_closed()
            || match e.code() {
                None => true,
                Some(code) => {
                    let c = code.code();
                    ["08", "53", "57", "58"].iter().any(|p| c.starts_with(p))
                }
            };
        let message = match (e.as_db_error(), std::error::Error::source(&e)) {
            (Some(db), _) => format!("PostgreSQL: {}", db.message()),
            (None, Some(cause)) => format!("PostgreSQL: {e}: {cause}"),
            (None, None) => format!("PostgreSQL: {e}"),
        };
        LogError { message, storage }
    }
}

/// A database URL for logs: its password left out.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (auth, host) = match rest.rsplit_once('@') {
        Some((a, h)) => (Some(a), h),
        None => (None, rest),
    };
    let auth = auth.map(|a| match a.split_once(':') {
        Some((user, _)) => format!("{user}:***@"),
        None => format!("{a}@"),
    });
    // A password in the query (`?password=…`) is left out too.
    let host = match host.split_once('?') {
        Some((h, q)) => {
            let q: Vec<String> = q
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_string(),
                })
                .collect();
            format!("{h}?{}", q.join("&"))
        }
        None => host.to_string(),
    };
    format!("{scheme}://{}{host}", auth.unwrap_or_default())
}

/// A connection and the statements prepared on it.
pub(crate) struct Conn {
    client: Client,
    statements: HashMap<&'static str, Statement>,
}

/// Statements run on a connection or in a transaction, each prepared once per
/// connection.
struct Q<'a, C: GenericClient> {
    c: &'a mut C,
    statements: &'a mut HashMap<&'static str, Statement>,
}

impl<C: GenericClient> Q<'_, C> {
    fn statement(&mut self, sql: &'static str) -> Result<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.c.prepare(sql)?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }

    fn exec(&mut self, sql: &'static str, p: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        let s = self.statement(sql)?;
        Ok(self.c.execute(&s, p)?)
    }

    fn rows(&mut self, sql: &'static str, p: &[&(dyn ToSql + Sync)]) -> Result<Vec<postgres::Row>> {
        let s = self.statement(sql)?;
        Ok(self.c.query(&s, p)?)
    }

    fn opt(
        &mut self,
        sql: &'static str,
        p: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<postgres::Row>> {
        let s = self.statement(sql)?;
        Ok(self.c.query_opt(&s, p)?)
    }
}

struct Inner {
    config: postgres::Config,
    url: String,
    /// This server, as the holder of leases.
    owner: String,
    lease: Duration,
    pool: Pool<Conn>,
    health: Arc<Health>,
    /// The connection that listens for wake-ups.
    listener: Mutex<Option<Client>>,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
}

/// A PostgreSQL run log, open in a process. Clones share the connections.
#[derive(Clone)]
pub struct Log {
    inner: Arc<Inner>,
}

/// A URL's TLS options that the driver does not read, taken out of it: `sslrootcert`
/// (a PEM file of the certificates to trust, e.g. a managed database's CA, instead of
/// the public roots), and libpq's `sslmode=verify-ca` and `verify-full`, read as
/// `require`: with `require`, a server's certificate is verified here, name included
/// (stricter than libpq's `require`).
fn split_tls(url: &str) -> (String, Option<std::path::PathBuf>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_string(), None);
    };
    let mut root = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "sslrootcert" => {
                let path = percent_encoding::percent_decode_str(value).decode_utf8_lossy();
                root = Some(std::path::PathBuf::from(path.into_owned()));
            }
            "sslmode" if value == "verify-ca" || value == "verify-full" => {
                kept.push("sslmode=require".to_string());
            }
            _ => kept.push(pair.to_string()),
        }
    }
    if kept.is_empty() {
        (base.to_string(), root)
    } else {
        (format!("{base}?{}", kept.join("&")), root)
    }
}

/// libpq's `sslmode=prefer` (the default): encrypted when the server offers TLS, its
/// certificate not checked (as libpq does: a server with its own certificate, such as
/// the one Debian's PostgreSQL makes, is reached without configuration). Any other
/// mode that uses TLS verifies the certificate and its name.
#[derive(Debug)]
struct Unverified(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> std::result::Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Whether a URL's `sslmode` asks for a verified certificate (anything but `prefer`,
/// the default, and `disable`, which uses no TLS).
fn verifies(config: &postgres::Config) -> bool {
    matches!(config.get_ssl_mode(), postgres::config::SslMode::Require)
}

fn tls(
    root: Option<&std::path::Path>,
    verify: bool,
) -> Result<tokio_postgres_rustls::MakeRustlsConnect> {
    let mut roots = rustls::RootCertStore::empty();
    match root {
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Some(path) => {
            use rustls::pki_types::{pem::PemObject, CertificateDer};
            let shown = path.display();
            let pem = std::fs::read(path)
                .map_err(|e| LogError::new(format!("sslrootcert {shown}: {e}")))?;
            let mut n = 0;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| {
                    LogError::new(format!("sslrootcert {shown}: not a PEM certificate: {e}"))
                })?;
                roots.add(cert).map_err(|e| {
                    LogError::new(format!(
                        "sslrootcert {shown}: a certificate is not usable: {e}"
                    ))
                })?;
                n += 1;
            }
            if n == 0 {
                return Err(LogError::new(format!(
                    "sslrootcert {shown}: no certificate in it (PEM, `-----BEGIN CERTIFICATE-----`)"
                )));
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| LogError::new(format!("cannot set up TLS for PostgreSQL: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    if !verify && root.is_none() {
        config
            .dangerous()
            .set_certificate_verifier(Arc::new(Unverified(provider)));
    }
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// Who this server is, for its leases: unique among the servers of a database.
fn owner_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "host".to_string());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{host}:{}:{nanos:08x}", std::process::id())
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Log {
    /// Connect, and bring the schema up to date.
    pub fn open(url: &str, lease: Duration) -> Result<Log> {
        let (driver_url, root) = split_tls(url);
        let mut config: postgres::Config = driver_url.parse().map_err(|e| {
            let cause = std::error::Error::source(&e)
                .map(|c| format!(": {c}"))
                .unwrap_or_default();
            LogError::new(format!("not a PostgreSQL URL: {e}{cause}"))
        })?;
        let tls = tls(root.as_deref(), verifies(&config))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("flow serve");
        }
        let log = Log {
            inner: Arc::new(Inner {
                config,
                url: redact(url),
                owner: owner_id(),
                lease: lease.max(Duration::from_secs(1)),
                pool: Pool::new(CONNECTIONS),
                health: Arc::default(),
                listener: Mutex::new(None),
                tls,
            }),
        };
        let mut conn = log.connect()?;
        migrate(&mut conn.client)?;
        log.inner.pool.put(conn);
        Ok(log)
    }

    fn client(&self) -> Result<Client> {
        let mut client = self
            .inner
            .config
            .connect(self.inner.tls.clone())
            .map_err(|e| {
                let mut err = LogError::from(e);
                err.message = format!("cannot connect: {}", err.message);
                err.storage = true;
                err
            })?;
        client.batch_execute("SET search_path TO flow")?;
        Ok(client)
    }

    fn connect(&self) -> Result<Conn> {
        Ok(Conn {
            client: self.client()?,
            statements: HashMap::new(),
        })
    }

    /// The run log's health follows what the last statement met.
    fn note<R>(&self, r: Result<R>) -> Result<R> {
        let health = &self.inner.health;
        match &r {
            Err(e) if e.storage => {
                if health.fail(&e.message) {
                    crate::log::error(
                        "run log not writable",
                        json!({"error": e.message, "run_log": self.inner.url,
                               "detail": "events are answered 500 and runs wait until the database answers again; /healthz answers 503"}),
                    );
                }
            }
            _ => {
                if health.recover() {
                    crate::log::info("run log writable again", json!({"run_log": self.inner.url}));
                }
            }
        }
        r
    }

    /// Run `f` in a transaction of its own.
    fn tx<R>(
        &self,
        f: impl FnOnce(&mut Q<'_, postgres::Transaction<'_>>) -> Result<R>,
    ) -> Result<R> {
        let r = self.inner.pool.with(
            || self.connect(),
            |c| !c.client.is_closed(),
            |conn| {
                let mut t = conn.client.transaction()?;
                let r = f(&mut Q {
                    c: &mut t,
                    statements: &mut conn.statements,
                })?;
                t.commit()?;
                Ok(r)
            },
        );
        self.note(r)
    }

    /// Run `f` on a connection outside an explicit transaction: reads, and writes of
    /// one statement (each statement is a transaction of its own).
    fn direct<R>(&self, f: impl FnOnce(&mut Q<'_, Client>) -> Result<R>) -> Result<R> {
        let r = self.inner.pool.with(
            || self.connect(),
            |c| !c.client.is_closed(),
            |conn| {
                f(&mut Q {
                    c: &mut conn.client,
                    statements: &mut conn.statements,
                })
            },
        );
        self.note(r)
    }

    pub fn health(&self) -> Arc<Health> {
        self.inner.health.clone()
    }

    pub fn record_event(&self, e: NewEvent) -> Result<Recorded> {
        let (owner, lease) = (self.inner.owner.as_str(), ms(self.inner.lease));
        self.direct(|q| record_event(q, &e, owner, lease))
    }

    /// On a blocking thread of the runtime: the client blocks.
    pub fn record_event_async(
        &self,
        e: NewEvent,
    ) -> impl std::future::Future<Output = Result<Recorded>> + Send {
        let log = self.clone();
        async move {
            tokio::task::spawn_blocking(move || log.record_event(e))
                .await
                .map_err(|e| LogError::new(format!("the run log's task failed: {e}")))?
        }
    }

    pub fn record_slot(
        &self,
        e: NewEvent,
        workflow: &str,
        slot: i64,
        now: i64,
    ) -> Result<Recorded> {
        let (owner, lease) = (self.inner.owner.as_str(), ms(self.inner.lease));
        self.tx(|q| {
            let recorded = record_event(q, &e, owner, lease)?;
            set_schedule_state(q, workflow, slot, now)?;
            Ok(recorded)
        })
    }

    pub fn event_payload(&self, id: &str) -> Result<Option<Vec<u8>>> {
        self.direct(|q| {
            Ok(q.opt("SELECT payload FROM events WHERE id = $1", &[&id])?
                .map(|r| r.get(0)))
        })
    }

    pub fn run_of(&self, event_id: &str, workflow: &str) -> Result<Option<i64>> {
        self.direct(|q| {
            Ok(q.opt(
                "SELECT id FROM runs WHERE event_id = $1 AND workflow = $2",
                &[&event_id, &workflow],
            )?
            .map(|r| r.get(0)))
        })
    }

    pub fn save_versions(&self, rows: Vec<VersionRow>, now: i64) -> Result<()> {
        self.tx(|q| {
            for v in &rows {
                q.exec(
                    "INSERT INTO versions (hash, workflow, trigger, path, source, settings, loaded_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (hash) DO NOTHING",
                    &[&v.hash, &v.workflow, &v.trigger, &v.path, &v.source, &v.settings, &now],
                )?;
            }
            Ok(())
        })
    }

    pub fn version(&self, hash: &str) -> Result<Option<VersionRow>> {
        self.direct(|q| {
            Ok(q
                .opt(
                    "SELECT hash, workflow, trigger, path, source, settings FROM versions WHERE hash = $1",
                    &[&hash],
                )?
                .map(|r| VersionRow {
                    hash: r.get(0),
                    workflow: r.get(1),
                    trigger: r.get(2),
                    path: r.get(3),
                    source: r.get(4),
                    settings: r.get(5),
                }))
        })
    }

    pub fn schedule_state(&self, workflow: &str) -> Result<Option<i64>> {
        self.direct(|q| {
            Ok(q.opt(
                "SELECT last_slot FROM schedule_state WHERE workflow = $1",
                &[&workflow],
            )?
            .map(|r| r.get(0)))
        })
    }

    pub fn set_schedule_state(&self, workflow: &str, last_slot: i64, now: i64) -> Result<()> {
        self.direct(|q| set_schedule_state(q, workflow, last_slot, now))
    }

    /// Taken when the run is waiting to run and its lease is this server's, nobody's
    /// or ran out; the lease is renewed. The claim reads the run's event and how many
    /// attempts ended before in the same statement, then its journal.
    pub fn claim(&self, run: i64, now: i64) -> Result<Option<Claimed>> {
        let (owner, lease) = (self.inner.owner.as_str(), ms(self.inner.lease));
        self.direct(|q| {
            let Some(r) = q.opt(
                "WITH c AS (
                     UPDATE runs SET attempts = attempts + 1, started_at = $2, wake_at = NULL,
                            lease_owner = $3, lease_until = now_ms() + $4
                     WHERE id = $1 AND status = 'started'
                       AND (lease_owner IS NULL OR lease_owner = $3 OR lease_until < now_ms())
                     RETURNING id, attempts, event_id, workflow, version, created_at)
                 SELECT c.attempts, c.event_id, c.workflow, c.version, e.payload, c.created_at,
                        (SELECT count(*) FROM attempts t WHERE t.run_id = c.id)
                 FROM c JOIN events e ON e.id = c.event_id",
                &[&run, &now, &owner, &lease],
            )?
            else {
                return Ok(None);
            };
            let recorded = actions(q, run)?.into_iter().map(|a| (a.step, a)).collect();
            Ok(Some(Claimed {
                attempt: r.get(0),
                job: RunJob {
                    id: run,
                    event_id: r.get(1),
                    workflow: r.get(2),
                    version: r.get(3),
                    payload: r.get(4),
                    created_at: r.get(5),
                    recorded,
                },
                ended_attempts: usize::try_from(r.get::<_, i64>(6)).unwrap_or(0),
            }))
        })
    }

    pub fn journal(
        &self,
        run: i64,
        effect: Option<PerformedRow>,
        row: ActionRow,
    ) -> Result<ActionRow> {
        match effect {
            // The effect and the journal entry together: a transaction.
            Some(e) => self.tx(|q| {
                let mut row = row;
                let done = record_performed(q, &e, row.finished_at)?;
                apply_performed(&mut row, &e.key, done);
                journal_action(q, run, row)
            }),
            // The journal entry alone: one statement.
            None => self.direct(|q| journal_action(q, run, row)),
        }
    }

    /// The run waits, held by nobody: whichever server's clock reaches `wake_at`
    /// first takes it. (Runs are never recorded taken here: `claim` wrote when the
    /// attempt began.)
    pub fn set_waiting(
        &self,
        run: i64,
        wake_at: i64,
        now: i64,
        _started: Option<i64>,
    ) -> Result<bool> {
        let owner = self.inner.owner.as_str();
        self.direct(|q| {
            Ok(!q
                .rows(
                    "WITH r AS (
                         UPDATE runs SET wake_at = $2, lease_owner = NULL, lease_until = NULL
                         WHERE id = $1 AND lease_owner = $3 AND status = 'started'
                         RETURNING id, attempts, started_at)
                     INSERT INTO attempts (run_id, attempt, status, error, started_at, finished_at)
                     SELECT id, attempts, 'waiting', NULL, started_at, $4 FROM r
                     ON CONFLICT (run_id, attempt) DO UPDATE SET
                         status = EXCLUDED.status, error = EXCLUDED.error,
                         started_at = EXCLUDED.started_at, finished_at = EXCLUDED.finished_at
                     RETURNING run_id",
                    &[&run, &wake_at, &owner, &now],
                )?
                .is_empty())
        })
    }

    /// The run's status and its attempt's, in one statement; nothing when the run
    /// is no longer this server's.
    pub fn finish_run(
        &self,
        run: i64,
        status: &str,
        error: Option<&str>,
        now: i64,
        _started: Option<i64>,
    ) -> Result<bool> {
        let owner = self.inner.owner.as_str();
        self.direct(|q| {
            Ok(!q
                .rows(
                    "WITH r AS (
                         UPDATE runs SET status = $2, error = $3, finished_at = $4,
                                lease_owner = NULL, lease_until = NULL
                         WHERE id = $1 AND lease_owner = $5 AND status = 'started'
                         RETURNING id, attempts, started_at)
                     INSERT INTO attempts (run_id, attempt, status, error, started_at, finished_at)
                     SELECT id, attempts, $2, $3, started_at, $4 FROM r
                     ON CONFLICT (run_id, attempt) DO UPDATE SET
                         status = EXCLUDED.status, error = EXCLUDED.error,
                         started_at = EXCLUDED.started_at, finished_at = EXCLUDED.finished_at
                     RETURNING run_id",
                    &[&run, &status, &error, &now, &owner],
                )?
                .is_empty())
        })
    }
}

/// An action's journal entry (written again when the step was journaled before).
fn journal_action<C: GenericClient>(
    q: &mut Q<'_, C>,
    run: i64,
    row: ActionRow,
) -> Result<ActionRow> {
    let (step, action, result) = (
        i64::try_from(row.step).unwrap_or(i64::MAX),
        row.action.to_string(),
        row.result.to_string(),
    );
    let status = if row.succeeded { "succeeded" } else { "failed" };
    q.exec(
        "INSERT INTO actions (run_id, step, kind, action, idempotency_key, status, result,
                                      error, started_at, finished_at, duration_us)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                 ON CONFLICT (run_id, step) DO UPDATE SET
                     kind = EXCLUDED.kind, action = EXCLUDED.action,
                     idempotency_key = EXCLUDED.idempotency_key, status = EXCLUDED.status,
                     result = EXCLUDED.result, error = EXCLUDED.error,
                     started_at = EXCLUDED.started_at, finished_at = EXCLUDED.finished_at,
                     duration_us = EXCLUDED.duration_us",
        &[
            &run,
            &step,
            &row.kind,
            &action,
            &row.idempotency_key,
            &status,
            &result,
            &row.error,
            &row.started_at,
            &row.finished_at,
            &row.duration_us,
        ],
    )?;
    Ok(row)
}

impl Log {
    /// Take over the runs nobody holds, or whose lease ran out, that are due: not
    /// waiting, or waiting until a time the server's clock has reached.
    pub fn takeable(&self, _start: bool) -> Result<Takeable> {
        let (owner, lease) = (self.inner.owner.as_str(), ms(self.inner.lease));
        let clock = crate::time::clock_ms();
        let mut ready: Vec<i64> = self.direct(|q| {
            Ok(q.rows(
                "UPDATE runs SET lease_owner = $1, lease_until = now_ms() + $2
                     WHERE id IN (
                         SELECT id FROM runs
                         WHERE status = 'started'
                           AND (lease_owner IS NULL OR lease_until < now_ms())
                           AND (wake_at IS NULL OR wake_at <= $3)
                         ORDER BY id LIMIT $4
                         FOR UPDATE SKIP LOCKED)
                     RETURNING id",
                &[&owner, &lease, &clock, &TAKE_AT_ONCE],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect())
        })?;
        ready.sort_unstable();
        Ok(Takeable {
            ready,
            waiting: Vec::new(),
        })
    }

    /// Extend the leases of this server's runs.
    pub fn renew(&self) -> Result<()> {
        let (owner, lease) = (self.inner.owner.as_str(), ms(self.inner.lease));
        self.direct(|q| {
            q.exec(
                "UPDATE runs SET lease_until = now_ms() + $2
                 WHERE status = 'started' AND lease_owner = $1",
                &[&owner, &lease],
            )?;
            Ok(())
        })
    }

    /// Give back this server's runs and tell the others.
    pub fn release(&self) -> Result<()> {
        let owner = self.inner.owner.as_str();
        self.tx(|q| {
            let n = q.exec(
                "UPDATE runs SET lease_owner = NULL, lease_until = NULL
                 WHERE status = 'started' AND lease_owner = $1",
                &[&owner],
            )?;
            if n > 0 {
                q.exec("SELECT pg_notify($1, 'released')", &[&CHANNEL])?;
            }
            Ok(())
        })
    }

    /// Wait for a wake-up on the listening connection, at most `timeout`.
    pub fn wait_for_runs(&self, timeout: Duration) -> bool {
        let Ok(mut slot) = self.inner.listener.lock() else {
            std::thread::sleep(timeout);
            return false;
        };
        if slot.as_ref().is_none_or(|c| c.is_closed()) {
            *slot = self
                .client()
                .and_then(|mut c| {
                    c.batch_execute(&format!("LISTEN {CHANNEL}"))?;
                    Ok(c)
                })
                .ok();
        }
        let Some(client) = slot.as_mut() else {
            std::thread::sleep(timeout);
            return false;
        };
        let mut n = client.notifications();
        let told = matches!(n.timeout_iter(timeout).next(), Ok(Some(_)));
        // The wake-ups queued meanwhile are taken with it.
        while told && matches!(n.iter().next(), Ok(Some(_))) {}
        told
    }

    /// One more Stripe request of `account` this second (of the database's clock),
    /// if fewer than `per_second` were given one: `None`. Otherwise how long until
    /// the next second. Windows older than a minute are removed as new ones start.
    pub fn take_turn(&self, account: &str, per_second: u32) -> Result<Option<Duration>> {
        let limit = i64::from(per_second.max(1));
        self.tx(|q| {
            let row = q
                .opt(
                    "WITH t AS (SELECT now_ms() AS now),
                     given AS (
                         INSERT INTO rate_windows (account, second, turns)
                         SELECT $1, now / 1000, 1 FROM t
                         ON CONFLICT (account, second) DO UPDATE
                             SET turns = rate_windows.turns + 1
                             WHERE rate_windows.turns < $2
                         RETURNING turns)
                     SELECT (SELECT now FROM t), (SELECT turns FROM given)",
                    &[&account, &limit],
                )?
                .ok_or_else(|| LogError::new("the rate limit's window was not read"))?;
            let (now, turns): (i64, Option<i64>) = (row.get(0), row.get(1));
            match turns {
                Some(1) => {
                    q.exec(
                        "DELETE FROM rate_windows WHERE account = $1 AND second < $2",
                        &[&account, &(now / 1000 - 60)],
                    )?;
                    Ok(None)
                }
                Some(_) => Ok(None),
                None => {
                    let wait = (now / 1000 + 1) * 1000 - now;
                    Ok(Some(Duration::from_millis(
                        u64::try_from(wait.max(1)).unwrap_or(1),
                    )))
                }
            }
        })
    }

    pub fn list_runs(&self, f: &Filter) -> Result<Vec<RunRow>> {
        let limit = f.limit.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
        self.direct(|q| {
            let rows = q.rows(
                "SELECT r.id, r.event_id, e.type, r.workflow, r.version,
                        CASE WHEN r.status = 'started' AND r.wake_at IS NOT NULL THEN 'waiting' ELSE r.status END,
                        r.error, r.attempts, r.created_at, r.started_at, r.finished_at, r.wake_at
                 FROM runs r JOIN events e ON e.id = r.event_id
                 WHERE ($1::TEXT IS NULL OR CASE WHEN r.status = 'started' AND r.wake_at IS NOT NULL THEN 'waiting' ELSE r.status END = $1)
                   AND ($2::TEXT IS NULL OR r.workflow = $2)
                   AND ($3::BIGINT IS NULL OR r.created_at >= $3)
                 ORDER BY r.id DESC LIMIT $4",
                &[&f.status, &f.workflow, &f.since_ms, &limit],
            )?;
            let mut out: Vec<RunRow> = rows.iter().map(run_row).collect();
            out.reverse();
            Ok(out)
        })
    }

    pub fn run(&self, id: i64) -> Result<Option<RunRow>> {
        self.direct(|q| {
            Ok(q
                .opt(
                    "SELECT r.id, r.event_id, e.type, r.workflow, r.version,
                            CASE WHEN r.status = 'started' AND r.wake_at IS NOT NULL THEN 'waiting' ELSE r.status END,
                            r.error, r.attempts, r.created_at, r.started_at, r.finished_at, r.wake_at
                     FROM runs r JOIN events e ON e.id = r.event_id WHERE r.id = $1",
                    &[&id],
                )?
                .as_ref()
                .map(run_row))
        })
    }

    pub fn actions(&self, run: i64) -> Result<Vec<ActionRow>> {
        self.direct(|q| actions(q, run))
    }

    pub fn attempts(&self, run: i64) -> Result<Vec<AttemptRow>> {
        self.direct(|q| {
            Ok(q.rows(
                "SELECT attempt, status, error, started_at, finished_at FROM attempts
                     WHERE run_id = $1 ORDER BY attempt",
                &[&run],
            )?
            .iter()
            .map(|r| AttemptRow {
                attempt: r.get(0),
                status: r.get(1),
                error: r.get(2),
                started_at: r.get(3),
                finished_at: r.get(4),
            })
            .collect())
        })
    }

    pub fn known_workflows(&self) -> Result<Vec<String>> {
        self.direct(|q| {
            Ok(q.rows(
                "SELECT DISTINCT workflow FROM versions ORDER BY workflow",
                &[],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect())
        })
    }

    pub fn set_active(&self, workflow: &str, active: bool, now: i64) -> Result<()> {
        self.direct(|q| {
            q.exec(
                "INSERT INTO workflow_state (workflow, active, changed_at) VALUES ($1, $2, $3)
                 ON CONFLICT (workflow) DO UPDATE SET active = $2, changed_at = $3",
                &[&workflow, &active, &now],
            )?;
            Ok(())
        })
    }

    pub fn inactive(&self) -> Result<HashSet<String>> {
        self.direct(|q| {
            Ok(
                q.rows("SELECT workflow FROM workflow_state WHERE NOT active", &[])?
                    .iter()
                    .map(|r| r.get(0))
                    .collect(),
            )
        })
    }

    /// As SQLite's `retry_run`; the run is held by nobody, and the servers are told.
    pub fn retry_run(&self, run: i64) -> Result<()> {
        self.tx(|q| {
            let status: Option<String> = q
                .opt("SELECT status FROM runs WHERE id = $1 FOR UPDATE", &[&run])?
                .map(|r| r.get(0));
            super::retryable(run, status.as_deref())?;
            q.exec(
                "DELETE FROM actions WHERE run_id = $1 AND status = 'failed'",
                &[&run],
            )?;
            q.exec(
                "UPDATE runs SET status = 'started', error = NULL, finished_at = NULL,
                        lease_owner = NULL, lease_until = NULL
                 WHERE id = $1",
                &[&run],
            )?;
            q.exec("SELECT pg_notify($1, 'retry')", &[&CHANNEL])?;
            Ok(())
        })
    }
}

/// Bring the schema up to date: each migration not yet run, in one transaction, under
/// an advisory lock.
fn migrate(client: &mut Client) -> Result<()> {
    let known = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    let mut t = client.transaction()?;
    t.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    t.batch_execute(
        "CREATE SCHEMA IF NOT EXISTS flow;
         CREATE TABLE IF NOT EXISTS flow.schema_version (version BIGINT NOT NULL);",
    )?;
    let version: i64 = t
        .query_opt("SELECT version FROM flow.schema_version", &[])?
        .map(|r| r.get(0))
        .unwrap_or(0);
    if version > known {
        return Err(LogError::new(format!(
            "the database was written by a newer flow (run log version {version}; this flow knows {known})"
        )));
    }
    for m in MIGRATIONS
        .iter()
        .skip(usize::try_from(version).unwrap_or(0))
    {
        t.batch_execute(m)?;
    }
    if version < known {
        t.execute("DELETE FROM flow.schema_version", &[])?;
        t.execute(
            "INSERT INTO flow.schema_version (version) VALUES ($1)",
            &[&known],
        )?;
    }
    t.commit()?;
    Ok(())
}

/// The event, and a run for each active candidate (a skipped one finished, with its
/// attempt), in one statement; a second one counts a redelivery.
fn record_event<C: GenericClient>(
    q: &mut Q<'_, C>,
    e: &NewEvent,
    owner: &str,
    lease: i64,
) -> Result<Recorded> {
    let workflows: Vec<&str> = e.candidates.iter().map(|c| c.workflow.as_str()).collect();
    let versions: Vec<&str> = e.candidates.iter().map(|c| c.version.as_str()).collect();
    let skipped: Vec<bool> = e.candidates.iter().map(|c| c.skipped).collect();
    let row = q
        .opt(
            "WITH e AS (
                 INSERT INTO events (id, type, payload, signed_at, received_at, last_delivery_at)
                 VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (id) DO NOTHING
                 RETURNING id),
             c AS (
                 SELECT c.workflow, c.version, c.skipped, c.n
                 FROM unnest($6::TEXT[], $7::TEXT[], $8::BOOLEAN[])
                      WITH ORDINALITY AS c(workflow, version, skipped, n)
                 WHERE EXISTS (SELECT 1 FROM e)
                   AND NOT EXISTS (SELECT 1 FROM workflow_state w
                                   WHERE w.workflow = c.workflow AND NOT w.active)),
             r AS (
                 INSERT INTO runs (event_id, workflow, version, status, attempts, created_at,
                                   started_at, finished_at, lease_owner, lease_until)
                 SELECT $1, workflow, version,
                        CASE WHEN skipped THEN 'skipped' ELSE 'started' END,
                        CASE WHEN skipped THEN 1 ELSE 0 END,
                        $5,
                        CASE WHEN skipped THEN $5::BIGINT END,
                        CASE WHEN skipped THEN $5::BIGINT END,
                        CASE WHEN skipped THEN NULL ELSE $9 END,
                        CASE WHEN skipped THEN NULL ELSE now_ms() + $10 END
                 FROM c ORDER BY n
                 RETURNING id, workflow, version, status),
             a AS (
                 INSERT INTO attempts (run_id, attempt, status, error, started_at, finished_at)
                 SELECT id, 1, 'skipped', NULL, $5, $5 FROM r WHERE status = 'skipped')
             SELECT (SELECT count(*) FROM e),
                    coalesce(array_agg(id ORDER BY id), '{}'),
                    coalesce(array_agg(workflow ORDER BY id), '{}'),
                    coalesce(array_agg(version ORDER BY id), '{}'),
                    coalesce(array_agg(status = 'skipped' ORDER BY id), '{}')
             FROM r",
            &[
                &e.id,
                &e.event_type,
                &e.payload,
                &e.signed_at,
                &e.now,
                &workflows,
                &versions,
                &skipped,
                &owner,
                &lease,
            ],
        )?
        .ok_or_else(|| LogError::new("the event's runs were not read back"))?;
    let new: i64 = row.get(0);
    if new == 0 {
        q.exec(
            "UPDATE events SET deliveries = deliveries + 1, last_delivery_at = $2 WHERE id = $1",
            &[&e.id, &e.now],
        )?;
        return Ok(Recorded::Duplicate);
    }
    let (ids, names, versions, skipped): (Vec<i64>, Vec<String>, Vec<String>, Vec<bool>) =
        (row.get(1), row.get(2), row.get(3), row.get(4));
    let (mut runs, mut skipped_runs) = (Vec::new(), Vec::new());
    for (((run, workflow), version), skip) in ids.into_iter().zip(names).zip(versions).zip(skipped)
    {
        if skip {
            skipped_runs.push(SkippedRun {
                run,
                workflow,
                version,
            });
        } else {
            runs.push(run);
        }
    }
    Ok(Recorded::New {
        runs,
        skipped: skipped_runs,
        taken: Vec::new(),
    })
}

fn set_schedule_state<C: GenericClient>(
    q: &mut Q<'_, C>,
    workflow: &str,
    last_slot: i64,
    now: i64,
) -> Result<()> {
    q.exec(
        "INSERT INTO schedule_state (workflow, last_slot, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (workflow) DO UPDATE
             SET last_slot = GREATEST(schedule_state.last_slot, $2), updated_at = $3",
        &[&workflow, &last_slot, &now],
    )?;
    Ok(())
}

/// One statement: the first request with a key inserts it; any other counts a call
/// and reads the action it was first used for.
fn record_performed<C: GenericClient>(
    q: &mut Q<'_, C>,
    e: &PerformedRow,
    now: i64,
) -> Result<Performed> {
    let step = i64::try_from(e.step).unwrap_or(i64::MAX);
    let action = e.action.to_string();
    let row = q
        .opt(
            "INSERT INTO performed (idempotency_key, event_id, workflow, step, action, calls, first_at, last_at)
             VALUES ($1, $2, $3, $4, $5, 1, $6, $6)
             ON CONFLICT (idempotency_key) DO UPDATE
                 SET calls = performed.calls + 1, last_at = EXCLUDED.last_at
             RETURNING action, calls",
            &[&e.key, &e.event_id, &e.workflow, &step, &action, &now],
        )?
        .ok_or_else(|| LogError::new("the performed action was not recorded"))?;
    let (first, calls): (String, i64) = (row.get(0), row.get(1));
    if calls <= 1 {
        return Ok(Performed::New);
    }
    let first: Json = serde_json::from_str(&first).unwrap_or(Json::Null);
    if first == e.action {
        Ok(Performed::Repeat)
    } else {
        Ok(Performed::Conflict(first))
    }
}

fn actions<C: GenericClient>(q: &mut Q<'_, C>, run: i64) -> Result<Vec<ActionRow>> {
    Ok(q.rows(
        "SELECT step, kind, action, idempotency_key, status, result, error,
                    started_at, finished_at, duration_us
             FROM actions WHERE run_id = $1 ORDER BY step",
        &[&run],
    )?
    .iter()
    .map(|r| {
        let action: String = r.get(2);
        let result: Option<String> = r.get(5);
        ActionRow {
            step: usize::try_from(r.get::<_, i64>(0)).unwrap_or(0),
            kind: r.get(1),
            action: serde_json::from_str(&action).unwrap_or(Json::Null),
            idempotency_key: r.get(3),
            succeeded: r.get::<_, String>(4) == "succeeded",
            result: result
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or(Json::Null),
            error: r.get(6),
            started_at: r.get(7),
            finished_at: r.get(8),
            duration_us: r.get(9),
        }
    })
    .collect())
}

fn run_row(r: &postgres::Row) -> RunRow {
    RunRow {
        id: r.get(0),
        event_id: r.get(1),
        event_type: r.get(2),
        workflow: r.get(3),
        version: r.get(4),
        status: r.get(5),
        error: r.get(6),
        attempts: r.get(7),
        created_at: r.get(8),
        started_at: r.get(9),
        finished_at: r.get(10),
        wake_at: r.get(11),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_options_the_driver_does_not_read_are_taken_out() {
        assert_eq!(
            split_tls(
                "postgres://db/flow?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=x"
            ),
            (
                "postgres://db/flow?sslmode=require&application_name=x".to_string(),
                Some(std::path::PathBuf::from("/etc/ca.pem"))
            )
        );
        assert_eq!(
            split_tls("postgres://db/flow?sslrootcert=/ca.pem"),
            (
                "postgres://db/flow".to_string(),
                Some(std::path::PathBuf::from("/ca.pem"))
            )
        );
        assert_eq!(
            split_tls("postgres://db/flow"),
            ("postgres://db/flow".to_string(), None)
        );
        assert!(tls(Some(std::path::Path::new("/no/such/ca.pem")), true).is_err());
    }

    #[test]
    fn a_url_the_driver_refuses_says_why() {
        let e = Log::open(
            "postgres://flow@127.0.0.1:1/x?sslcert=/a.pem",
            Duration::from_secs(30),
        )
        .err()
        .expect("refused");
        assert_eq!(
            e.message,
            "not a PostgreSQL URL: invalid connection string: unknown option `sslcert`"
        );
    }

    #[test]
    fn passwords_are_left_out_of_urls() {
        assert_eq!(
            redact("postgres://flow:s3cret@db.example:5432/runs"),
            "postgres://flow:***@db.example:5432/runs"
        );
        assert_eq!(
            redact("postgresql://flow@127.0.0.1/runs?sslmode=require&password=s3cret"),
            "postgresql://flow@127.0.0.1/runs?sslmode=require&password=***"
        );
        assert_eq!(
            redact("postgres://127.0.0.1/runs"),
            "postgres://127.0.0.1/runs"
        );
    }
}
