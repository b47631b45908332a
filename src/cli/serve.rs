//! The command line of the server: `flow serve`, `flow runs`, `flow activate`,
//! `flow deactivate`, `flow invoke`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;

use flow_diagnostics::Diagnostic;
use flow_serve::bindings::{self, BindingsFactory};
use flow_serve::flows::Versions;
use flow_serve::metrics::Metrics;
use flow_serve::runlog::{self, Filter, Location, RunRow, Store};
use flow_serve::time::{self, rfc3339, rfc3339_ms};
use flow_serve::worker::Runner;
use flow_serve::{print_diagnostic, ServeOptions};

use super::output::{one_line, terminal_safe};
use super::Format;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Flow files, or folders of them (searched recursively).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8787, or `listen` under `[serve]`].
    #[arg(long, value_name = "HOST:PORT")]
    pub listen: Option<String>,
    /// Act through the live Stripe and e-mail bindings instead of recording.
    #[arg(long)]
    pub live: bool,
    /// Threads that execute runs [default: 8, or `workers` under `[serve]`].
    #[arg(long)]
    pub workers: Option<usize>,
    /// The run log: a SQLite file, or a PostgreSQL database (`postgres://…`) shared by
    /// several servers [default: FLOW_DATABASE_URL, or `database_url` under `[serve]`,
    /// or .flow/runs.db in the folder of the flows].
    #[arg(long, value_name = "FILE|URL")]
    pub db: Option<String>,
    /// A folder of Stripe objects that `retrieve` finds by id (recording bindings).
    #[arg(long, value_name = "DIR")]
    pub objects: Option<PathBuf>,
    /// How often to look at the flow files for changes, in milliseconds.
    #[arg(long, value_name = "MS", default_value = "1000")]
    pub poll_ms: u64,
    /// Make each action of the recording bindings take this long (for tests).
    #[arg(long, value_name = "MS", default_value = "0", hide = true)]
    pub simulate_latency_ms: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RunStatus {
    Started,
    /// Stopped at a `wait`, going on when it ends.
    Waiting,
    Succeeded,
    Failed,
    Skipped,
}

impl RunStatus {
    fn as_str(self) -> &'static str {
        match self {
            RunStatus::Started => "started",
            RunStatus::Waiting => "waiting",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Skipped => "skipped",
        }
    }
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RunsArgs {
    #[command(subcommand)]
    pub command: Option<RunsCommand>,
    /// Only runs with this status.
    #[arg(long, value_enum)]
    pub status: Option<RunStatus>,
    /// Only runs of this workflow.
    #[arg(long)]
    pub workflow: Option<String>,
    /// Only runs recorded since: 2024-05-01, 2024-05-01T12:00:00Z, or an age (15m, 2h, 7d).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// At most this many (the newest).
    #[arg(long, default_value = "100")]
    pub limit: usize,
    /// The run log: a file or `postgres://…` [default: FLOW_DATABASE_URL, or
    /// `database_url` under `[serve]`, or .flow/runs.db].
    #[arg(long, value_name = "FILE|URL", global = true)]
    pub db: Option<String>,
    #[arg(long, value_enum, default_value = "text", global = true)]
    pub format: Format,
}

#[derive(Subcommand, Debug)]
pub enum RunsCommand {
    /// Show a run: its event, version, actions (with their idempotency keys) and attempts.
    Show {
        /// The run's number, as `flow runs` lists it.
        run: i64,
    },
    /// Run a failed run again: actions that succeeded are not repeated; the failed one
    /// is carried out again with the same idempotency key.
    Retry {
        /// The run's number, as `flow runs` lists it.
        run: i64,
        /// With no server running: act through the live bindings.
        #[arg(long)]
        live: bool,
        /// With no server running: Stripe objects that `retrieve` finds by id.
        #[arg(long, value_name = "DIR")]
        objects: Option<PathBuf>,
        /// With a server running: seconds to wait for it to finish the run.
        #[arg(long, value_name = "SECONDS", default_value = "30")]
        wait: u64,
    },
}

#[derive(Args, Debug)]
pub struct ActivationArgs {
    /// The workflow's name (`workflow "…"`, or the file's stem).
    pub name: String,
    /// The run log: a file or `postgres://…` [default: FLOW_DATABASE_URL, or
    /// `database_url` under `[serve]`, or .flow/runs.db].
    #[arg(long, value_name = "FILE|URL")]
    pub db: Option<String>,
}

pub fn serve(a: ServeArgs) -> i32 {
    if a.workers == Some(0) {
        print_diagnostic(
            &Diagnostic::error("E0920", "--workers must be at least 1")
                .with_help("the default is 8"),
        );
        return 2;
    }
    flow_serve::serve(ServeOptions {
        paths: a.paths,
        listen: a.listen,
        live: a.live,
        workers: a.workers,
        db: a.db,
        objects: a.objects,
        poll: Duration::from_millis(a.poll_ms.max(50)),
        latency: Duration::from_millis(a.simulate_latency_ms),
    })
}

/// Where the run log is: `--db`, else `FLOW_DATABASE_URL`, else `database_url` in
/// the `flow.toml` of the working directory, else `.flow/runs.db`.
fn location(db: Option<String>) -> Result<Location, i32> {
    let settings = flow_project::settings::load_for(None).map_err(|e| {
        print_diagnostic(
            &Diagnostic::error("E0920", format!("invalid settings: {e}"))
                .with_help("see `[serve]` in flow.toml; `--db` names the run log"),
        );
        2
    })?;
    Ok(flow_serve::config::run_log(
        db.as_deref(),
        std::env::var(flow_serve::config::DATABASE_ENV).ok(),
        &settings,
        Path::new("."),
    ))
}

fn open_log(at: &Location) -> Result<Store, i32> {
    if let Location::File(db) = at {
        if !db.is_file() {
            print_diagnostic(
                &Diagnostic::error("E0925", format!("no run log at {}", db.display())).with_help(
                    "`flow serve` keeps it in .flow/runs.db beside the flows: run this in that folder, or give --db FILE",
                ),
            );
            return Err(2);
        }
    }
    Store::open_existing(at)
        .map(|(store, _)| store)
        .map_err(|e| {
            print_diagnostic(
                &Diagnostic::error(
                    "E0925",
                    format!("cannot read the run log {}: {e}", at.describe()),
                )
                .with_help("check the file or database given with --db"),
            );
            2
        })
}

fn read_error(e: &runlog::LogError) -> i32 {
    print_diagnostic(
        &Diagnostic::error("E0925", format!("cannot read the run log: {e}"))
            .with_help("check the file or database given with --db"),
    );
    2
}

pub fn runs(a: RunsArgs) -> i32 {
    let db = match location(a.db) {
        Ok(l) => l,
        Err(code) => return code,
    };
    match a.command {
        None => list(
            &db,
            a.status,
            a.workflow,
            a.since.as_deref(),
            a.limit,
            a.format,
        ),
        Some(RunsCommand::Show { run }) => show(&db, run, a.format),
        Some(RunsCommand::Retry {
            run,
            live,
            objects,
            wait,
        }) => retry(&db, run, live, objects, Duration::from_secs(wait), a.format),
    }
}

fn list(
    db: &Location,
    status: Option<RunStatus>,
    workflow: Option<String>,
    since: Option<&str>,
    limit: usize,
    format: Format,
) -> i32 {
    let since_ms = match since.map(|s| time::parse_since(s, time::now_ms())) {
        None => None,
        Some(Ok(t)) => Some(t),
        Some(Err(e)) => {
            print_diagnostic(
                &Diagnostic::error("E0928", format!("--since: {e}"))
                    .with_help("times are UTC unless they say otherwise"),
            );
            return 2;
        }
    };
    let store = match open_log(db) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let filter = Filter {
        status: status.map(|s| s.as_str().to_string()),
        workflow,
        since_ms,
        limit: Some(limit),
    };
    let rows = match store.list_runs(&filter) {
        Ok(r) => r,
        Err(e) => return read_error(&e),
    };
    if format == Format::Json {
        for r in &rows {
            println!("{}", r.to_json());
        }
        return 0;
    }
    if rows.is_empty() {
        eprintln!("no runs");
        return 0;
    }
    print!("{}", terminal_safe(&table(&rows)));
    0
}

fn table(rows: &[RunRow]) -> String {
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.id.to_string(),
                rfc3339(r.created_at),
                r.status.clone(),
                r.trigger().to_string(),
                one_line(&r.workflow),
                one_line(&r.event_id),
            ]
        })
        .collect();
    let head = ["RUN", "TIME", "STATUS", "TRIGGER", "WORKFLOW", "EVENT"];
    let mut width = head.map(|h| h.chars().count());
    for c in &cells {
        for (w, cell) in width.iter_mut().zip(c) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |c: [&str; 6], error: Option<&str>| {
        let mut s = String::new();
        for (i, (cell, w)) in c.iter().zip(width).enumerate() {
            if i == 5 {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<w$}  "));
            }
        }
        if let Some(e) = error {
            let short: String = e.chars().take(100).collect();
            s.push_str(&format!(
                "  {short}{}",
                if e.chars().count() > 100 { "…" } else { "" }
            ));
        }
        s.push('\n');
        s
    };
    let mut out = line(head, None);
    for (c, r) in cells.iter().zip(rows) {
        let wakes = r.wake_at.map(|t| format!("wakes at {}", rfc3339(t)));
        out.push_str(&line(
            [&c[0], &c[1], &c[2], &c[3], &c[4], &c[5]],
            r.error.as_deref().or(wakes.as_deref()),
        ));
    }
    out
}

fn show(db: &Location, run: i64, format: Format) -> i32 {
    let store = match open_log(db) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let read = (|| -> runlog::Result<_> {
        let Some(row) = store.run(run)? else {
            return Ok(None);
        };
        let actions = store.actions(run)?;
        let attempts = store.attempts(run)?;
        let payload = store.event_payload(&row.event_id)?.unwrap_or_default();
        Ok(Some((row, actions, attempts, payload)))
    })();
    let (row, actions, attempts, payload) = match read {
        Ok(Some(x)) => x,
        Ok(None) => {
            print_diagnostic(
                &Diagnostic::error("E0925", format!("there is no run {run}"))
                    .with_help("`flow runs` lists the runs"),
            );
            return 2;
        }
        Err(e) => return read_error(&e),
    };
    if format == Format::Json {
        let event: serde_json::Value = serde_json::from_slice(&payload).unwrap_or_default();
        println!(
            "{}",
            json!({
                "run": row.to_json(),
                "actions": actions.iter().map(|a| json!({
                    "step": a.step, "kind": a.kind, "idempotency_key": a.idempotency_key,
                    "status": if a.succeeded { "succeeded" } else { "failed" },
                    "action": a.action, "result": a.result, "error": a.error,
                    "started_at": rfc3339_ms(a.started_at), "duration_ms": a.duration_us / 1000,
                })).collect::<Vec<_>>(),
                "attempts": attempts.iter().map(|t| json!({
                    "attempt": t.attempt, "status": t.status, "error": t.error,
                    "started_at": t.started_at.map(rfc3339_ms), "finished_at": rfc3339_ms(t.finished_at),
                })).collect::<Vec<_>>(),
                "event_payload": event,
            })
        );
        return 0;
    }
    let mut o = format!(
        "run {} · {} · {} (version {})\n",
        row.id, row.status, row.workflow, row.version
    );
    o.push_str(&format!(
        "  event     {} ({})\n",
        row.event_id, row.event_type
    ));
    o.push_str(&format!("  trigger   {}\n", row.trigger()));
    if let Some(slot) = row.slot() {
        o.push_str(&format!("  slot      {slot}\n"));
    }
    if let Some(t) = row.wake_at {
        o.push_str(&format!("  wakes at  {}\n", rfc3339_ms(t)));
    }
    o.push_str(&format!("  recorded  {}\n", rfc3339_ms(row.created_at)));
    if let Some(t) = row.started_at {
        o.push_str(&format!("  started   {}\n", rfc3339_ms(t)));
    }
    if let Some(t) = row.finished_at {
        o.push_str(&format!("  finished  {}\n", rfc3339_ms(t)));
    }
    o.push_str(&format!("  attempts  {}\n", row.attempts));
    if let Some(e) = &row.error {
        o.push_str(&format!("  error     {e}\n"));
    }
    if actions.is_empty() {
        o.push_str("  no actions\n");
    } else {
        o.push_str("  actions\n");
    }
    for a in &actions {
        o.push_str(&format!(
            "    {}  {:<8} {:<9}  {} ms  key {}\n      {}\n",
            a.step,
            a.kind,
            if a.succeeded { "succeeded" } else { "failed" },
            a.duration_us / 1000,
            a.idempotency_key,
            a.action
        ));
        if let Some(e) = &a.error {
            o.push_str(&format!("      error: {e}\n"));
        }
    }
    if attempts.len() > 1 || row.attempts > attempts.len() as i64 {
        o.push_str("  history\n");
        for t in &attempts {
            o.push_str(&format!(
                "    attempt {}  {:<9}  {}{}\n",
                t.attempt,
                t.status,
                rfc3339(t.finished_at),
                t.error
                    .as_deref()
                    .map(|e| format!("  {e}"))
                    .unwrap_or_default()
            ));
        }
    }
    print!("{}", terminal_safe(&o));
    0
}

fn retry(
    db: &Location,
    run: i64,
    live: bool,
    objects: Option<PathBuf>,
    wait: Duration,
    format: Format,
) -> i32 {
    // The run log must exist before the lock is taken (taking it creates the file).
    if let Err(code) = open_log(db) {
        return code;
    }
    // A file is a server's alone while it runs: without one, the run is carried out
    // here; a shared database's runs are carried out by its servers.
    let lock = match db {
        Location::File(path) => match flow_serve::try_lock(path) {
            Ok(l) => l,
            Err(e) => {
                print_diagnostic(
                    &Diagnostic::error("E0923", e).with_help("check the folder's permissions"),
                );
                return 2;
            }
        },
        Location::Postgres(_) => None,
    };
    let factory: Option<Arc<dyn BindingsFactory>> = match (&lock, live) {
        (Some(_), true) => match flow_project::settings::load_for(None)
            .map_err(|e| {
                Diagnostic::error("E0902", format!("invalid settings: {e}"))
                    .with_help("see `[stripe]` and `[email]` in flow.toml")
            })
            .and_then(|settings| live_factory(&settings))
        {
            Ok(f) => Some(Arc::from(f)),
            Err(d) => {
                print_diagnostic(&d);
                return 2;
            }
        },
        _ => None,
    };
    // Opened after the lock, so closed before it on every return: closing the lock's
    // descriptor would release the locks SQLite holds on the same file.
    let store = match open_log(db) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if let Err(e) = store.retry_run(run) {
        print_diagnostic(
            &Diagnostic::error("E0925", format!("cannot retry: {e}"))
                .with_help("`flow runs --status failed` lists the runs that can be retried"),
        );
        return 2;
    }
    let finished = if lock.is_none() {
        // A server owns the run log (or the servers of a shared one): it picks the run
        // up on its next look.
        eprintln!("run {run} queued again; the running server carries it out");
        let start = Instant::now();
        loop {
            match store.run(run) {
                Ok(Some(r)) if r.status != "started" => break r,
                Ok(_) if start.elapsed() < wait => std::thread::sleep(Duration::from_millis(100)),
                Ok(_) => {
                    eprintln!("run {run} has not finished yet; see `flow runs show {run}`");
                    return 0;
                }
                Err(e) => return read_error(&e),
            }
        }
    } else {
        // No server: carry it out here, holding the lock meanwhile.
        let factory = factory
            .unwrap_or_else(|| Arc::new(bindings::RecordingFactory::new(objects, Duration::ZERO)));
        let runner = Runner {
            store: store.clone(),
            versions: Arc::new(Versions::default()),
            metrics: Arc::new(Metrics::default()),
            factory,
        };
        let outcome = runner.execute(run, None);
        drop(runner);
        match outcome {
            Ok(_) => match store.run(run) {
                Ok(Some(r)) => r,
                _ => return 2,
            },
            Err(e) => {
                print_diagnostic(
                    &Diagnostic::error("E0925", format!("the run could not be carried out: {e}"))
                        .with_help(
                            "it stays recorded as started; a server picks it up when it starts",
                        ),
                );
                return 2;
            }
        }
    };
    drop(store);
    drop(lock);
    if format == Format::Json {
        println!("{}", finished.to_json());
    } else {
        println!(
            "run {} {} · {} on {} (attempt {}){}",
            finished.id,
            finished.status,
            finished.workflow,
            finished.event_id,
            finished.attempts,
            finished
                .error
                .as_deref()
                .map(|e| format!("\n  error: {e}"))
                .unwrap_or_default()
        );
    }
    if finished.status == "failed" {
        1
    } else {
        0
    }
}

pub fn activate(a: ActivationArgs, active: bool) -> i32 {
    let db = match location(a.db) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let store = match open_log(&db) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let known = store.known_workflows().unwrap_or_default();
    if !known.contains(&a.name) {
        let close = crate::check::did_you_mean(&a.name, known.iter().map(String::as_str));
        let help = crate::check::phrase(&close).unwrap_or_else(|| {
            if known.is_empty() {
                "no workflow has been served with this run log yet".to_string()
            } else {
                format!(
                    "the workflows served with this run log: {}",
                    known
                        .iter()
                        .map(|k| format!("\"{k}\""))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        });
        print_diagnostic(
            &Diagnostic::error("E0927", format!("no workflow named \"{}\"", a.name))
                .with_help(help),
        );
        return 2;
    }
    if let Err(e) = store.set_active(&a.name, active, time::now_ms()) {
        print_diagnostic(
            &Diagnostic::error("E0925", format!("cannot write the run log: {e}"))
                .with_help("check the file or database given with --db"),
        );
        return 2;
    }
    println!(
        "\"{}\" is {}; a running server applies it from the next event",
        a.name,
        if active { "active" } else { "inactive" }
    );
    0
}

#[cfg(feature = "live")]
fn live_factory(
    settings: &flow_project::settings::Settings,
) -> Result<Box<dyn BindingsFactory>, Diagnostic> {
    bindings::live_factory(settings)
}

#[cfg(not(feature = "live"))]
fn live_factory(
    _settings: &flow_project::settings::Settings,
) -> Result<Box<dyn BindingsFactory>, Diagnostic> {
    Err(
        Diagnostic::error("E0964", "this flow was built without live bindings")
            .with_help("build flow with its default features (`live`) to retry with --live"),
    )
}

#[derive(Args, Debug)]
pub struct InvokeArgs {
    /// The on-demand workflow's name (`workflow "…"`).
    pub name: String,
    /// A JSON file holding the workflow's inputs, as one object (`-`: standard input).
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// The server's address [default: http://127.0.0.1:8787, serve's default].
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Sent as `Idempotency-Key`: the same key starts one run, however often it is sent.
    #[arg(long, value_name = "KEY")]
    pub idempotency_key: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

/// `flow invoke NAME --input FILE`: start a run of an on-demand workflow on a running
/// server, authorized by `FLOW_INVOKE_TOKEN`.
pub fn invoke(a: InvokeArgs) -> i32 {
    let env = flow_serve::config::INVOKE_TOKEN_ENV;
    let Some(token) = std::env::var(env).ok().filter(|t| !t.trim().is_empty()) else {
        print_diagnostic(
            &Diagnostic::error("E0930", format!("{env} is not set")).with_help(format!(
                "set {env} to the token the server was started with (its {env})"
            )),
        );
        return 2;
    };
    let input = match &a.input {
        None => b"{}".to_vec(),
        Some(p) => {
            let read = if p.as_os_str() == "-" {
                let mut buf = Vec::new();
                std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).map(|_| buf)
            } else {
                std::fs::read(p)
            };
            match read {
                Ok(bytes) => bytes,
                Err(e) => {
                    print_diagnostic(
                        &Diagnostic::error("E0931", format!("cannot read {}: {e}", p.display()))
                            .with_help("give a JSON file holding the inputs as one object, e.g. {\"customer\": \"cus_123\", \"credit\": \"10.00 USD\"}"),
                    );
                    return 2;
                }
            }
        }
    };
    if let Err(e) = serde_json::from_slice::<serde_json::Value>(&input) {
        let shown = a
            .input
            .as_ref()
            .map_or("the input".to_string(), |p| p.display().to_string());
        print_diagnostic(
            &Diagnostic::error("E0931", format!("{shown} is not JSON: {e}"))
                .with_help("the inputs are one JSON object, e.g. {\"customer\": \"cus_123\", \"credit\": \"10.00 USD\"}"),
        );
        return 2;
    }
    let url = a
        .url
        .clone()
        .unwrap_or_else(|| format!("http://{}", flow_serve::DEFAULT_LISTEN));
    let answer =
        flow_serve::client::invoke(&url, &a.name, &token, input, a.idempotency_key.as_deref());
    let (status, body) = match answer {
        Ok(x) => x,
        Err(e) => {
            print_diagnostic(
                &Diagnostic::error("E0932", format!("cannot reach the server: {}", e.0)).with_help(
                    "start it with `flow serve` (with FLOW_INVOKE_TOKEN set), or give its address with --url",
                ),
            );
            return 2;
        }
    };
    let text = |k: &str| {
        body.get(k)
            .and_then(serde_json::Value::as_str)
            .unwrap_or("")
    };
    if status == 202 {
        if a.format == Format::Json {
            println!("{body}");
        } else {
            println!("{}", body.get("run").cloned().unwrap_or_default());
            eprintln!(
                "run {} of {} started (event {})",
                body.get("run").cloned().unwrap_or_default(),
                terminal_safe(text("workflow")),
                terminal_safe(text("event"))
            );
        }
        return 0;
    }
    if a.format == Format::Json {
        println!("{body}");
    }
    let reason = if text("error").is_empty() {
        "no reason given"
    } else {
        text("error")
    };
    let problems = body
        .get("problems")
        .and_then(serde_json::Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut d = Diagnostic::error(
        "E0933",
        format!(
            "the server refused the invocation ({status}): {}",
            terminal_safe(reason)
        ),
    );
    if !text("help").is_empty() {
        d = d.with_help(terminal_safe(text("help")).into_owned());
    } else if !problems.is_empty() {
        d = d.with_help(format!(
            "fix the {} problem(s) below in the input",
            problems.len()
        ));
    } else if status == 401 {
        d = d.with_help(format!(
            "{env} must be the token the server was started with"
        ));
    }
    print_diagnostic(&d);
    for p in &problems {
        let get = |k: &str| p.get(k).and_then(serde_json::Value::as_str).unwrap_or("");
        let mut line = format!("  - `{}`: {}", get("name"), get("message"));
        if !get("help").is_empty() {
            line.push_str(&format!(" ({})", get("help")));
        }
        eprintln!("{}", terminal_safe(&line));
    }
    1
}
