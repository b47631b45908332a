//! `flow serve`: run the active workflows on Stripe's webhooks — verified, recorded
//! before they are acknowledged, run exactly once, with a run history.
//!
//! ```text
//! POST /webhook ─ signature ─ run log: event + runs (one transaction) ─ 200
//! POST /invoke/NAME ─ token, input ─┤                                  ─ 202
//! scheduler: each slot once ────────┤
//!                                    │
//!                      queue of run ids ─ workers ─ VM ─ journal ─ bindings
//!                          ▲                  │
//!                          └── at wake_at ────┘ (a run stopped at a `wait`)
//! ```
//!
//! - [`signature`]: `Stripe-Signature` verification.
//! - [`runlog`]: the SQLite run log and its single writer thread (group commit).
//! - [`flows`]: loading, checking, versioning and reloading the flow files.
//! - [`worker`]: the queue, the workers and the journal that makes runs resumable;
//!   runs stopped at a `wait` sleep in the queue until their time.
//! - [`schedule`]: the scheduler, which fires the slots of scheduled workflows.
//! - [`http`]: the endpoints. [`metrics`], [`log`]: operations.
//! - [`bindings`]: the bindings factory (recording by default; `--live`).
//!
//! The commands (`flow serve`, `flow runs`, `flow activate`, `flow deactivate`,
//! `flow invoke`) are the command line's; this crate is what they call ([`client`] is
//! `flow invoke`'s side of `/invoke`).

#![forbid(unsafe_code)]

pub mod bindings;
pub mod client;
pub mod config;
pub mod flows;
pub mod http;
pub mod log;
pub mod metrics;
pub mod runlog;
pub mod schedule;
pub mod signature;
pub mod time;
pub mod worker;

use std::fs::File;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde_json::json;

use flow_diagnostics::{self as diagnostics, Diagnostic};
use flows::{Registry, Versions};
use metrics::Metrics;
use runlog::{Location, Store};
use worker::{Queue, Runner};

/// Default number of workers.
pub const DEFAULT_WORKERS: usize = 8;
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";
/// The longest wait for the look that confirms a changed flow file is saved whole.
const SETTLE: Duration = Duration::from_millis(250);

#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub paths: Vec<PathBuf>,
    pub listen: Option<String>,
    pub live: bool,
    pub workers: Option<usize>,
    /// The run log: a SQLite file or `postgres://…` (else `FLOW_DATABASE_URL`, else
    /// `database_url` under `[serve]`, else `.flow/runs.db` beside the flows).
    pub db: Option<String>,
    pub objects: Option<PathBuf>,
    /// How often the flow files are looked at for changes.
    pub poll: Duration,
    /// Simulated time per action of the recording bindings.
    pub latency: Duration,
}

/// Print a diagnostic that is not about a flow file.
pub fn print_diagnostic(d: &Diagnostic) {
    eprint!("{}", diagnostics::render_plain(d));
}

/// Take the lock that keeps a second server off a run log; `Ok(None)` when another
/// process holds it.
///
/// The lock is an exclusive `flock` on the database file itself, so every path to it
/// (a hard link, a symbolic link, another spelling of the path) meets the same lock:
/// it belongs to the file, not to a name. SQLite locks with `fcntl` record locks,
/// which on Linux do not interact with `flock`: readers such as `flow runs` and
/// SQLite's own locking are unaffected. The file is created (empty, which SQLite
/// takes as a new database) when it does not exist yet.
///
/// Hold the returned file while the process lives (the system releases the lock when
/// the process dies, also on `kill -9`), and drop it only after every connection to
/// the run log is closed: closing a descriptor of a file releases the `fcntl` locks
/// the process holds on it, SQLite's included.
pub fn try_lock(db: &Path) -> Result<Option<File>, String> {
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let file = File::options()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(db)
        .map_err(|e| format!("cannot open {}: {e}", db.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(format!("cannot lock {}: {e}", db.display())),
    }
}

/// Save the versions of a load, then make it the registry in use.
fn apply(
    what: &str,
    loaded: flows::Loaded,
    store: &Store,
    versions: &Versions,
    registry: &RwLock<Arc<Registry>>,
    metrics: &Metrics,
) {
    for r in &loaded.refused {
        metrics.reloads_refused.fetch_add(1, Relaxed);
        log::error(
            "file refused; its previous version stays active",
            r.to_json(),
        );
    }
    for (path, warnings) in &loaded.warnings {
        log::warn(
            "warnings",
            json!({"file": path.display().to_string(), "diagnostics": warnings}),
        );
    }
    if !loaded.changed {
        return;
    }
    if loaded.new.is_empty() && loaded.removed.is_empty() {
        // Only refused files (whose content is remembered so that they are not
        // built again until they change), or a change that compiles the same.
        if let Ok(mut r) = registry.write() {
            *r = Arc::new(loaded.registry);
        }
        return;
    }
    let rows: Vec<_> = loaded.new.iter().map(|w| w.version_row()).collect();
    let now = time::now_ms();
    if let Err(e) = store.save_versions(rows, now) {
        log::error(
            "reload not applied",
            json!({"error": e.to_string(), "detail": "the new versions could not be recorded; the previous ones stay active"}),
        );
        return;
    }
    for w in &loaded.new {
        versions.insert(w.clone());
    }
    let new: Vec<_> = loaded
        .new
        .iter()
        .map(|w| json!({"workflow": w.name, "version": w.version, "on": w.trigger, "file": w.path.display().to_string()}))
        .collect();
    let registry_now = Arc::new(loaded.registry);
    let all: Vec<_> = registry_now
        .workflows()
        .map(|w| json!({"workflow": w.name, "version": w.version}))
        .collect();
    if let Ok(mut r) = registry.write() {
        *r = registry_now;
    }
    metrics.reloads.fetch_add(1, Relaxed);
    log::info(
        what,
        json!({"new_versions": new, "removed": loaded.removed, "workflows": all}),
    );
}

/// `flow serve`. Returns the exit code.
pub fn serve(opts: ServeOptions) -> i32 {
    let color = diagnostics::use_color(std::io::stderr().is_terminal());
    let base = config::base_dir(&opts.paths);
    let settings = match flow_project::settings::load_for(Some(&base)) {
        Ok(s) => s,
        Err(e) => {
            print_diagnostic(
                &Diagnostic::error("E0920", format!("invalid settings: {e}"))
                    .with_help("`[serve]` takes `listen`, `workers`, `tolerance` (seconds), `webhook_secret`, `max_connections`, `max_connections_per_peer` and `schedule_catch_up`"),
            );
            return 2;
        }
    };
    let cfg = config::from_settings(&settings, std::env::var(config::SECRET_ENV).ok());
    let catch_up = match config::catch_up(&settings) {
        Ok(c) => c,
        Err(e) => {
            print_diagnostic(
                &Diagnostic::error("E0929", format!("[serve] schedule_catch_up: {e}"))
                    .with_help("write a duration such as \"24h\" (the default), \"90m\" or \"7d\": the schedule slots missed within it while the server was stopped run when it starts; \"none\" skips them all"),
            );
            return 2;
        }
    };
    if let Some(text) = std::env::var_os(time::CLOCK_ENV) {
        match time::parse_instant(&text.to_string_lossy()) {
            Ok(ms) => time::start_clock_at(ms),
            Err(e) => {
                print_diagnostic(
                    &Diagnostic::error("E0929", format!("{}: {e}", time::CLOCK_ENV)).with_help(
                        "a testing aid: an RFC 3339 time such as 2026-03-08T06:59:58Z, at which the server's clock starts; unset it to use the real time",
                    ),
                );
                return 2;
            }
        }
    }
    let invoke_token = std::env::var(config::INVOKE_TOKEN_ENV)
        .ok()
        .filter(|t| !t.trim().is_empty());
    if cfg.secrets.is_empty() {
        print_diagnostic(
            &Diagnostic::error("E0921", "no webhook signing secret")
                .with_help(format!(
                    "set {} to the endpoint's signing secret (`whsec_…`, in the Dashboard under Developers › Webhooks), or `webhook_secret` under `[serve]` in flow.toml; it is never given as a flag",
                    config::SECRET_ENV
                )),
        );
        return 2;
    }

    let live: Option<Box<dyn bindings::BindingsFactory>> = if opts.live {
        #[cfg(feature = "live")]
        match bindings::live_factory(&settings) {
            Ok(f) => Some(f),
            Err(d) => {
                print_diagnostic(&d);
                return 2;
            }
        }
        #[cfg(not(feature = "live"))]
        {
            print_diagnostic(
                &Diagnostic::error("E0964", "this flow was built without live bindings").with_help(
                    "build flow with its default features (`live`) to serve with --live",
                ),
            );
            return 2;
        }
    } else {
        None
    };

    // The flows, checked before anything else.
    let files = match flows::discover(&opts.paths) {
        Ok(f) => f,
        Err(e) => {
            print_diagnostic(
                &Diagnostic::error("E0922", e)
                    .with_help("give .flow files or folders that hold them"),
            );
            return 2;
        }
    };
    if files.is_empty() {
        print_diagnostic(
            &Diagnostic::error("E0922", "no .flow files to serve")
                .with_help("give .flow files or folders that hold them"),
        );
        return 2;
    }
    let loaded = flows::reload(&opts.paths, &Registry::default(), true, color);
    if !loaded.refused.is_empty() {
        for r in &loaded.refused {
            eprint!("{}", r.rendered);
        }
        let names: Vec<String> = loaded
            .refused
            .iter()
            .map(|r| r.path.display().to_string())
            .collect();
        print_diagnostic(
            &Diagnostic::error("E0922", format!("not started: {} refused", names.join(", ")))
                .with_help("fix the errors above (`flow check FILE`); a server runs only files that pass the checks"),
        );
        return 2;
    }

    // The run log: a file for this server only, or a database shared with others.
    let lease = match config::lease(&settings) {
        Ok(l) => l,
        Err(e) => {
            print_diagnostic(
                &Diagnostic::error("E0929", format!("[serve] lease: {e}"))
                    .with_help("write a duration such as \"30s\" (the default) or \"2m\": how long a server's hold on a run of a shared run log lasts without being renewed"),
            );
            return 2;
        }
    };
    let location = config::run_log(
        opts.db.as_deref(),
        std::env::var(config::DATABASE_ENV).ok(),
        &settings,
        &base,
    );
    let _lock = match &location {
        Location::File(db) => match try_lock(db) {
            Ok(Some(l)) => Some(l),
            Ok(None) => {
                print_diagnostic(
                    &Diagnostic::error(
                        "E0923",
                        format!("another flow serve is using the run log {}", db.display()),
                    )
                    .with_help("stop it first, or give this server its own run log with --db; servers that share a run log use PostgreSQL (--db postgres://…)"),
                );
                return 2;
            }
            Err(e) => {
                print_diagnostic(
                    &Diagnostic::error("E0923", e).with_help("check the folder's permissions"),
                );
                return 2;
            }
        },
        Location::Postgres(_) => None,
    };
    let (store, writer_thread) = match Store::open_server(&location, lease) {
        Ok(pair) => pair,
        Err(e) => {
            let help = match &location {
                Location::File(_) => "check the path and its permissions; `--db FILE` chooses another file",
                Location::Postgres(_) => "check that the database is up and the URL (host, port, user, database, password); `sslmode=require` in the URL requires TLS, `sslrootcert=FILE` names the CA to trust (else the public roots), `sslmode=disable` turns TLS off",
            };
            print_diagnostic(
                &Diagnostic::error(
                    "E0923",
                    format!("cannot open the run log {}: {e}", location.describe()),
                )
                .with_help(help),
            );
            return 2;
        }
    };

    let metrics = Arc::new(Metrics::with_run_log(store.health()));
    let versions = Arc::new(Versions::default());
    let registry = Arc::new(RwLock::new(Arc::new(Registry::default())));
    apply("loaded", loaded, &store, &versions, &registry, &metrics);

    let factory: Arc<dyn bindings::BindingsFactory> = match live {
        // In a shared run log, Stripe's rate limit is counted there, for all servers.
        Some(f) => match store.rate_gate() {
            Some(gate) => Arc::from(f.share_rate_limit(gate)),
            None => Arc::from(f),
        },
        None => Arc::new(bindings::RecordingFactory::new(
            opts.objects.clone(),
            opts.latency,
        )),
    };

    let queue = Arc::new(Queue::default());
    let app = Arc::new(http::App {
        secrets: cfg.secrets.clone(),
        tolerance: cfg.tolerance,
        store: store.clone(),
        queue: queue.clone(),
        registry: registry.clone(),
        metrics: metrics.clone(),
        http: Arc::default(),
        stopping: AtomicBool::new(false),
        invoke_token: invoke_token.clone(),
    });
    let listen = opts
        .listen
        .clone()
        .or(cfg.listen.clone())
        .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
    let handler: http::server::Handler = {
        let app = app.clone();
        Arc::new(move |req: http::Request| http::handle(&app, req))
    };
    let defaults = http::server::Limits::default();
    let limits = http::server::Limits {
        max_body: http::MAX_BODY,
        max_connections: cfg.max_connections.unwrap_or(defaults.max_connections),
        max_connections_per_peer: cfg
            .max_connections_per_peer
            .unwrap_or(defaults.max_connections_per_peer),
        ..defaults
    };
    let server = match http::server::Server::bind(&listen, limits, handler, app.http.clone()) {
        Ok(s) => s,
        Err(e) => {
            print_diagnostic(
                &Diagnostic::error("E0924", format!("cannot listen on {listen}: {e}")).with_help(
                    "choose another address with --listen HOST:PORT (port 0 picks a free one)",
                ),
            );
            return 2;
        }
    };
    let addr = server.local_addr().to_string();

    let stop = Arc::new(AtomicBool::new(false));
    let hup = Arc::new(AtomicBool::new(false));
    for (sig, flag) in [
        (signal_hook::consts::SIGTERM, &stop),
        (signal_hook::consts::SIGINT, &stop),
        (signal_hook::consts::SIGHUP, &hup),
    ] {
        if let Err(e) = signal_hook::flag::register(sig, Arc::clone(flag)) {
            log::warn(
                "cannot watch a signal",
                json!({"signal": sig, "error": e.to_string()}),
            );
        }
    }

    // Runs recorded by an earlier server and not finished: first in the queue. Runs
    // stopped at a `wait` go on at their time. (In a shared run log: the runs nobody
    // holds, or whose lease ran out.)
    let takeable = store.takeable(true).unwrap_or_default();
    for r in &takeable.ready {
        queue.push(*r);
    }
    for (r, at) in &takeable.waiting {
        queue.sleep_until(*r, *at);
    }
    let runner = Arc::new(Runner {
        store: store.clone(),
        versions: versions.clone(),
        metrics: metrics.clone(),
        factory: factory.clone(),
    });
    let workers = opts
        .workers
        .or(cfg.workers)
        .unwrap_or(DEFAULT_WORKERS)
        .max(1);
    let worker_threads = match worker::start(workers, runner, queue.clone()) {
        Ok(h) => h,
        Err(e) => {
            server.shutdown();
            print_diagnostic(
                &Diagnostic::error("E0923", e.to_string()).with_help("check the run log"),
            );
            return 2;
        }
    };

    let scheduler_stop = Arc::new(AtomicBool::new(false));
    let scheduler =
        schedule::Scheduler::new(store.clone(), registry.clone(), queue.clone(), catch_up);
    let scheduler_thread = match std::thread::Builder::new().name("scheduler".into()).spawn({
        let stop = scheduler_stop.clone();
        move || scheduler.run(&stop)
    }) {
        Ok(h) => h,
        Err(e) => {
            server.shutdown();
            queue.close();
            print_diagnostic(
                &Diagnostic::error("E0923", format!("cannot start the scheduler: {e}"))
                    .with_help("the system is out of threads or memory"),
            );
            return 2;
        }
    };
    // In a shared run log: this server's leases are renewed, and the runs other
    // servers gave back or left are taken up.
    let taker_thread = if store.shared() {
        let (store, taken, stop) = (store.clone(), queue.clone(), scheduler_stop.clone());
        let renew_every = lease / 3;
        match std::thread::Builder::new()
            .name("lease-keeper".into())
            .spawn(move || keep_leases(&store, &taken, &stop, renew_every))
        {
            Ok(h) => Some(h),
            Err(e) => {
                server.shutdown();
                queue.close();
                print_diagnostic(
                    &Diagnostic::error("E0923", format!("cannot start the lease keeper: {e}"))
                        .with_help("the system is out of threads or memory"),
                );
                return 2;
            }
        }
    } else {
        None
    };

    let loaded_now: Vec<_> = registry
        .read()
        .map(|r| {
            r.workflows()
                .map(|w| json!({"workflow": w.name, "version": w.version, "on": w.trigger}))
                .collect()
        })
        .unwrap_or_default();
    log::info(
        "listening",
        json!({
            "addr": addr,
            "webhook": format!("http://{addr}/webhook"),
            "workflows": loaded_now,
            "bindings": factory.mode(),
            "stripe_requests_per_second": factory.rate_limit(),
            "run_log": location.describe(),
            "shared": store.shared(),
            "workers": workers,
            "tolerance": cfg.tolerance,
            "secret_from": cfg.secret_source,
            "resuming": takeable.ready.len(),
            "waiting": takeable.waiting.len(),
            "invoke": invoke_token.as_ref().map(|_| format!("http://{addr}/invoke/NAME")),
            "schedule_catch_up": catch_up.describe(),
            "clock": time::rfc3339_ms(time::clock_ms()),
        }),
    );
    // From here on, log lines (one per event received) are written by a thread of
    // their own, off the path of the requests; what is left is written at the end.
    let _log = log::Buffered::start();

    // The control loop: signals, reloads, runs put back by `flow runs retry`, runs
    // that wait for the run log to be writable again.
    let mut last_poll = Instant::now();
    let mut next_look = opts.poll;
    while !stop.load(Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
        if metrics.run_log_degraded().is_none() {
            queue.release();
        }
        // Runs whose `wait` has ended.
        queue.wake(time::clock_ms());
        let forced = hup.swap(false, Relaxed);
        if forced || last_poll.elapsed() >= next_look {
            last_poll = Instant::now();
            let current = registry.read().map(|r| r.clone()).unwrap_or_default();
            if forced {
                log::info("reload requested", json!({"signal": "SIGHUP"}));
            }
            let loaded = flows::reload(&opts.paths, &current, forced, false);
            // A changed file is loaded once a look finds it unchanged: look again soon.
            next_look = if loaded.settling {
                opts.poll.min(SETTLE)
            } else {
                opts.poll
            };
            apply("reloaded", loaded, &store, &versions, &registry, &metrics);
            // Runs put back by `flow runs retry` (a shared run log's are taken up by
            // the lease keeper).
            if !store.shared() {
                match store.takeable(false) {
                    Ok(t) => {
                        for r in t.ready {
                            queue.push(r);
                        }
                    }
                    Err(e) => {
                        log::error("cannot read the run log", json!({"error": e.to_string()}))
                    }
                }
            }
        }
    }

    // Graceful shutdown: no new requests, finish the runs in flight.
    let (queued, in_flight) = queue.counts();
    log::info(
        "stopping",
        json!({"runs_in_flight": in_flight, "runs_queued": queued,
               "detail": "finishing the runs in flight; queued runs stay recorded and run on the next start"}),
    );
    app.stopping.store(true, Relaxed);
    scheduler_stop.store(true, Relaxed);
    let _ = scheduler_thread.join();
    if let Some(h) = taker_thread {
        let _ = h.join();
    }
    server.shutdown();
    let untaken = queue.close();
    for h in worker_threads {
        let _ = h.join();
    }
    // Runs taken with their events and never started: still to run, from their first
    // attempt, on the next start.
    if let Err(e) = store.untake(&untaken) {
        log::warn(
            "runs not given back",
            json!({"runs": untaken, "error": e.to_string(),
                   "detail": "they run on the next start, counted as a second attempt"}),
        );
    }
    // In a shared run log, the runs still queued here are given back at once.
    if let Err(e) = store.release() {
        log::warn(
            "runs not given back",
            json!({"error": e.to_string(), "detail": "the other servers take them once their lease runs out"}),
        );
    }
    drop(app);
    drop(factory);
    drop(store);
    if let Some(h) = writer_thread {
        let _ = h.join();
    }
    log::info("stopped", json!({}));
    0
}

/// The lease keeper of a server on a shared run log: renews this server's leases every
/// `renew_every`, and queues the runs it can take (given back, left by a server whose
/// lease ran out, or whose `wait` ended) as soon as it is told of them, or at the
/// latest at the next renewal.
fn keep_leases(store: &Store, queue: &Queue, stop: &AtomicBool, renew_every: Duration) {
    let mut last_renewal = Instant::now();
    let look = renew_every.min(Duration::from_secs(2));
    // Why this look: at start, after a wake-up (`NOTIFY`), or on time.
    let mut after = "start";
    while !stop.load(Relaxed) {
        if last_renewal.elapsed() >= renew_every {
            last_renewal = Instant::now();
            if let Err(e) = store.renew() {
                log::error(
                    "leases not renewed",
                    json!({"error": e.to_string(), "detail": "tried again in a moment; if they run out, other servers take the runs over"}),
                );
            }
        }
        match store.takeable(false) {
            Ok(t) => {
                let taken: Vec<i64> = t.ready.into_iter().filter(|r| queue.push(*r)).collect();
                if !taken.is_empty() {
                    log::info("runs taken up", json!({"runs": taken, "after": after}));
                }
            }
            Err(e) => log::error("cannot read the run log", json!({"error": e.to_string()})),
        }
        after = if store.wait_for_runs(look) {
            "a wake-up"
        } else {
            "a look"
        };
    }
}
