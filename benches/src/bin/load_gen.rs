//! A load generator for webhook receivers: N keep-alive HTTP/1.1 connections, each
//! posting signed `payment_intent.succeeded` webhooks one after the other (the next
//! once the last is answered), for a duration or a count; prints one JSON line.
//!
//! ```sh
//! load_gen --addr 127.0.0.1:8080 [--addr 127.0.0.1:8081 …] --connections 32 --seconds 5
//!          [--count N] [--path /webhook] [--secret whsec_…] [--warmup-ms 500]
//! ```
//!
//! With several `--addr`, the connections are spread over them in turn (connection
//! `i` to address `i mod n`), as a round-robin load balancer would.
//!
//! The secret is `--secret`, else `STRIPE_WEBHOOK_SECRET`. Each event has an id of
//! its own (a per-run prefix, the connection and a sequence number), and is signed
//! just before it is sent, as Stripe does. Only loopback addresses are accepted.
//! Requests sent during the warm-up are answered but not counted. Output:
//! `{"connections":…,"requests":…,"errors":…,"seconds":…,"rps":…,"p50_ms":…,
//! "p99_ms":…,"max_ms":…}`; the exit status is 1 when any request failed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use serde_json::json;

struct Options {
    addrs: Vec<SocketAddr>,
    path: String,
    connections: usize,
    seconds: f64,
    count: Option<u64>,
    secret: String,
    warmup: Duration,
}

fn usage(message: &str) -> ! {
    eprintln!("load_gen: {message}");
    eprintln!(
        "usage: load_gen --addr 127.0.0.1:PORT [--addr …] [--connections N] [--seconds S] [--count N] \
         [--path /webhook] [--secret SECRET] [--warmup-ms MS]"
    );
    std::process::exit(2);
}

fn options() -> Options {
    let mut addrs = Vec::new();
    let mut path = "/webhook".to_string();
    let mut connections = 32usize;
    let mut seconds = 5.0f64;
    let mut count = None;
    let mut secret = std::env::var("STRIPE_WEBHOOK_SECRET").ok();
    let mut warmup = Duration::from_millis(500);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{flag} needs a value")))
        };
        match flag.as_str() {
            "--addr" => {
                let v = value();
                addrs.push(
                    v.parse::<SocketAddr>()
                        .unwrap_or_else(|_| usage(&format!("not an address: {v}"))),
                )
            }
            "--path" => path = value(),
            "--connections" => {
                connections = value()
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .unwrap_or_else(|| usage("--connections takes a positive number"))
            }
            "--seconds" => {
                seconds = value()
                    .parse()
                    .ok()
                    .filter(|s: &f64| *s > 0.0 && s.is_finite())
                    .unwrap_or_else(|| usage("--seconds takes a positive number"))
            }
            "--count" => {
                count = Some(
                    value()
                        .parse()
                        .ok()
                        .filter(|n| *n > 0)
                        .unwrap_or_else(|| usage("--count takes a positive number")),
                )
            }
            "--secret" => secret = Some(value()),
            "--warmup-ms" => {
                warmup = Duration::from_millis(
                    value()
                        .parse()
                        .unwrap_or_else(|_| usage("--warmup-ms takes a number")),
                )
            }
            other => usage(&format!("unknown argument {other}")),
        }
    }
    if addrs.is_empty() {
        usage("--addr is required");
    }
    if addrs.iter().any(|a| !a.ip().is_loopback()) {
        usage("only loopback addresses are load-tested");
    }
    let secret = secret
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| usage("no secret: --secret or STRIPE_WEBHOOK_SECRET"));
    Options {
        addrs,
        path,
        connections,
        seconds,
        count,
        secret,
        warmup,
    }
}

/// What one connection saw.
#[derive(Default)]
struct Tally {
    /// Latencies of the counted requests, in microseconds.
    latencies: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
}

fn unix_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The body of event number `seq` of connection `conn`.
fn event(run: u64, conn: usize, seq: u64, rng: &mut flow_benches::Rng) -> Vec<u8> {
    let mut e = flow_benches::payment_event(rng, seq);
    e["id"] = json!(format!("evt_load_{run:x}_{conn}_{seq}"));
    e["created"] = json!(unix_seconds());
    e.to_string().into_bytes()
}

struct Plan {
    opts: Options,
    run: u64,
    start: Instant,
    /// Requests are counted from here on.
    counted_from: Instant,
    /// No request is sent from here on.
    until: Instant,
    /// Requests left to send, when a count was given.
    left: Option<std::sync::atomic::AtomicU64>,
}

impl Plan {
    fn take(&self) -> bool {
        if Instant::now() >= self.until {
            return false;
        }
        match &self.left {
            None => true,
            Some(left) => left
                .fetch_update(
                    std::sync::atomic::Ordering::Relaxed,
                    std::sync::atomic::Ordering::Relaxed,
                    |n| n.checked_sub(1),
                )
                .is_ok(),
        }
    }
}

async fn connection(plan: Arc<Plan>, conn: usize) -> Tally {
    let mut tally = Tally::default();
    let fail = |tally: &mut Tally, e: String| {
        tally.errors += 1;
        tally.first_error.get_or_insert(e);
    };
    let addr = plan.opts.addrs[conn % plan.opts.addrs.len()];
    let stream = match tokio::net::TcpStream::connect(addr).await {
        Ok(s) => s,
        Err(e) => {
            fail(&mut tally, format!("connect: {e}"));
            return tally;
        }
    };
    let _ = stream.set_nodelay(true);
    let (mut sender, driver) = match http1::handshake(TokioIo::new(stream)).await {
        Ok(pair) => pair,
        Err(e) => {
            fail(&mut tally, format!("handshake: {e}"));
            return tally;
        }
    };
    tokio::spawn(driver);
    let host = addr.to_string();
    let mut rng = flow_benches::Rng(0x9e37_79b9_7f4a_7c15 ^ ((conn as u64 + 1) << 20));
    let mut seq = 0u64;
    while plan.take() {
        let body = event(plan.run, conn, seq, &mut rng);
        seq += 1;
        let signature = flow_serve::signature::header(&plan.opts.secret, unix_seconds(), &body);
        let request = hyper::Request::post(plan.opts.path.as_str())
            .header("Host", host.as_str())
            .header("Content-Type", "application/json")
            .header("Stripe-Signature", signature)
            .body(Full::new(Bytes::from(body)));
        let request = match request {
            Ok(r) => r,
            Err(e) => {
                fail(&mut tally, format!("request: {e}"));
                break;
            }
        };
        if sender.ready().await.is_err() {
            fail(&mut tally, "the connection was closed".into());
            break;
        }
        let sent = Instant::now();
        let answer = match sender.send_request(request).await {
            Ok(r) => r,
            Err(e) => {
                fail(&mut tally, format!("send: {e}"));
                break;
            }
        };
        let status = answer.status();
        let collected = answer.into_body().collect().await;
        let took = sent.elapsed();
        if collected.is_err() {
            fail(&mut tally, "the answer's body was cut".into());
            break;
        }
        if !status.is_success() {
            fail(&mut tally, format!("answered {status}"));
        }
        if sent >= plan.counted_from {
            tally
                .latencies
                .push(took.as_micros().min(u32::MAX as u128) as u32);
        }
    }
    tally
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    f64::from(sorted[rank.clamp(1, sorted.len()) - 1]) / 1000.0
}

fn main() {
    let opts = options();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("load_gen: cannot start a runtime: {e}");
            std::process::exit(2);
        }
    };
    let run = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
        ^ u64::from(std::process::id());
    let start = Instant::now();
    let warmup = if opts.count.is_some() {
        Duration::ZERO
    } else {
        opts.warmup
    };
    let seconds = if opts.count.is_some() {
        3600.0
    } else {
        opts.seconds
    };
    let connections = opts.connections;
    let plan = Arc::new(Plan {
        left: opts.count.map(std::sync::atomic::AtomicU64::new),
        counted_from: start + warmup,
        until: start + warmup + Duration::from_secs_f64(seconds),
        run,
        start,
        opts,
    });
    let tallies: Vec<Tally> = runtime.block_on(async {
        let tasks: Vec<_> = (0..connections)
            .map(|c| tokio::spawn(connection(plan.clone(), c)))
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            match t.await {
                Ok(t) => out.push(t),
                Err(e) => out.push(Tally {
                    errors: 1,
                    first_error: Some(format!("a connection failed: {e}")),
                    ..Tally::default()
                }),
            }
        }
        out
    });
    let elapsed = plan.start.elapsed().saturating_sub(warmup).as_secs_f64();
    let mut latencies: Vec<u32> = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    for t in tallies {
        latencies.extend(t.latencies);
        errors += t.errors;
        first_error = first_error.or(t.first_error);
    }
    latencies.sort_unstable();
    let requests = latencies.len();
    let rps = if elapsed > 0.0 {
        requests as f64 / elapsed
    } else {
        0.0
    };
    let mut line = json!({
        "connections": connections,
        "requests": requests,
        "errors": errors,
        "seconds": (elapsed * 1000.0).round() / 1000.0,
        "rps": rps.round(),
        "p50_ms": percentile(&latencies, 0.50),
        "p99_ms": percentile(&latencies, 0.99),
        "max_ms": percentile(&latencies, 1.0),
    });
    if let Some(e) = first_error {
        line["first_error"] = json!(e);
    }
    println!("{line}");
    if errors > 0 {
        std::process::exit(1);
    }
}
