//! A minimal reference webhook receiver, the yardstick of `flow serve` under load:
//! axum on a tokio runtime of two worker threads (as `flow serve`'s HTTP runtime),
//! the same `Stripe-Signature` check (`flow_serve::signature::verify`, tolerance
//! 300 s), the event's `id` and `type` read from the JSON body, and the event kept in
//! SQLite with the run log's settings (WAL, `synchronous=FULL`, foreign keys, a 4 MiB
//! journal size limit, a 10 s busy timeout) by one writer thread that commits the
//! events queued meanwhile in one transaction; the 200 is sent only after the commit.
//! No workflow is run.
//!
//! ```sh
//! STRIPE_WEBHOOK_SECRET=whsec_… ref_receiver --listen 127.0.0.1:0 --db /tmp/ref.db
//! ```
//!
//! Prints `{"msg":"listening","addr":"127.0.0.1:PORT"}` on stdout once it listens;
//! runs until it is killed.

use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use rusqlite::{params, Connection};
use serde_json::{json, Value as Json};
use tokio::sync::oneshot;

/// Most events committed in one transaction, as the run log.
const BATCH: usize = 512;

struct Job {
    id: String,
    event_type: String,
    payload: Bytes,
    signed_at: i64,
    received_at: i64,
    reply: oneshot::Sender<Result<bool, String>>,
}

#[derive(Clone)]
struct App {
    secrets: flow_serve::signature::Secrets,
    jobs: mpsc::Sender<Job>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn open(path: &str) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get::<_, String>(0))?;
    conn.execute_batch(
        "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA journal_size_limit=4194304;
         CREATE TABLE IF NOT EXISTS events (
             id               TEXT PRIMARY KEY,
             type             TEXT NOT NULL,
             payload          BLOB NOT NULL,
             signed_at        INTEGER,
             received_at      INTEGER NOT NULL,
             deliveries       INTEGER NOT NULL DEFAULT 1,
             last_delivery_at INTEGER NOT NULL
         );",
    )?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// One transaction for the jobs: whether each event was new.
fn commit(conn: &Connection, jobs: &[Job]) -> rusqlite::Result<Vec<bool>> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let mut new = Vec::with_capacity(jobs.len());
    let done = (|| {
        let mut insert = conn.prepare_cached(
            "INSERT OR IGNORE INTO events (id, type, payload, signed_at, received_at, last_delivery_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        )?;
        let mut again = conn.prepare_cached(
            "UPDATE events SET deliveries = deliveries + 1, last_delivery_at = ?2 WHERE id = ?1",
        )?;
        for j in jobs {
            let n = insert.execute(params![
                j.id,
                j.event_type,
                &j.payload[..],
                j.signed_at,
                j.received_at
            ])?;
            if n == 0 {
                again.execute(params![j.id, j.received_at])?;
            }
            new.push(n > 0);
        }
        conn.execute_batch("COMMIT")
    })();
    match done {
        Ok(()) => Ok(new),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

fn writer(conn: Connection, rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < BATCH {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        match commit(&conn, &jobs) {
            Ok(new) => {
                for (j, n) in jobs.into_iter().zip(new) {
                    let _ = j.reply.send(Ok(n));
                }
            }
            Err(e) => {
                for j in jobs {
                    let _ = j.reply.send(Err(e.to_string()));
                }
            }
        }
    }
}

fn answer(
    status: StatusCode,
    body: Json,
) -> (StatusCode, [(&'static str, &'static str); 1], String) {
    (
        status,
        [("Content-Type", "application/json")],
        body.to_string(),
    )
}

async fn webhook(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, [(&'static str, &'static str); 1], String) {
    let now = now_ms();
    let sig = headers
        .get("Stripe-Signature")
        .and_then(|v| v.to_str().ok());
    let signed_at = match flow_serve::signature::verify(
        &body,
        sig,
        &app.secrets,
        flow_serve::signature::DEFAULT_TOLERANCE,
        now,
    ) {
        Ok(t) => t,
        Err(e) => return answer(StatusCode::BAD_REQUEST, json!({"error": e.to_string()})),
    };
    let event: Json = match serde_json::from_slice(&body) {
        Ok(j) => j,
        Err(e) => {
            let msg = format!("the body is not JSON: {e}");
            return answer(StatusCode::BAD_REQUEST, json!({ "error": msg }));
        }
    };
    let (Some(id), Some(event_type)) = (event["id"].as_str(), event["type"].as_str()) else {
        let msg = "not a Stripe event: no `id` or `type`";
        return answer(StatusCode::BAD_REQUEST, json!({ "error": msg }));
    };
    let (reply, replied) = oneshot::channel();
    let job = Job {
        id: id.to_string(),
        event_type: event_type.to_string(),
        payload: body.clone(),
        signed_at,
        received_at: now,
        reply,
    };
    if app.jobs.send(job).is_err() {
        let msg = "the writer has stopped";
        return answer(StatusCode::INTERNAL_SERVER_ERROR, json!({ "error": msg }));
    }
    match replied.await {
        Ok(Ok(new)) => answer(StatusCode::OK, json!({"received": true, "duplicate": !new})),
        Ok(Err(e)) => answer(StatusCode::INTERNAL_SERVER_ERROR, json!({ "error": e })),
        Err(_) => answer(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": "the writer has stopped"}),
        ),
    }
}

fn fail(message: &str) -> ! {
    eprintln!("ref_receiver: {message}");
    std::process::exit(2);
}

fn main() {
    let mut listen = "127.0.0.1:0".to_string();
    let mut db = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match (flag.as_str(), args.next()) {
            ("--listen", Some(v)) => listen = v,
            ("--db", Some(v)) => db = Some(v),
            _ => fail("usage: ref_receiver --listen 127.0.0.1:PORT --db FILE"),
        }
    }
    let db = db.unwrap_or_else(|| fail("--db FILE is required"));
    let secrets = flow_serve::signature::Secrets::parse(
        &std::env::var("STRIPE_WEBHOOK_SECRET").unwrap_or_default(),
    );
    if secrets.is_empty() {
        fail("STRIPE_WEBHOOK_SECRET is not set");
    }
    let conn = open(&db).unwrap_or_else(|e| fail(&format!("cannot open {db}: {e}")));
    let (jobs, rx) = mpsc::channel();
    std::thread::spawn(move || writer(conn, rx));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(&format!("cannot start a runtime: {e}")));
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&listen)
            .await
            .unwrap_or_else(|e| fail(&format!("cannot listen on {listen}: {e}")));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| fail(&format!("no local address: {e}")));
        println!("{}", json!({"msg": "listening", "addr": addr.to_string()}));
        let app = Router::new()
            .route("/webhook", post(webhook))
            .with_state(App { secrets, jobs });
        let served = axum::serve(listener, app);
        if let Err(e) = served.await {
            fail(&format!("serve: {e}"));
        }
    });
}
