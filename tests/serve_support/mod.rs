//! Helpers for the `flow serve` tests: start the real binary, post signed events over
//! loopback, read its structured logs and its run log.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const SECRET: &str = "whsec_flow_serve_tests";

pub fn flow_bin() -> &'static str {
    env!("CARGO_BIN_EXE_flow")
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn sign(body: &str) -> String {
    flow::serve::signature::header(SECRET, now(), body.as_bytes())
}

/// A `payment_intent.succeeded` event. `customer` may be null (a guest payment).
pub fn payment_event(id: &str, amount: i64, currency: &str, customer: Option<&str>) -> String {
    json!({
        "id": id,
        "object": "event",
        "api_version": "2024-06-20",
        "created": 1_717_000_000,
        "type": "payment_intent.succeeded",
        "livemode": false,
        "pending_webhooks": 1,
        "request": {"id": null, "idempotency_key": null},
        "data": {"object": {
            "id": format!("pi_{id}"),
            "object": "payment_intent",
            "amount": amount,
            "amount_received": amount,
            "currency": currency,
            "customer": customer,
            "status": "succeeded",
            "livemode": false,
            "created": 1_717_000_000,
            "metadata": {},
        }},
    })
    .to_string()
}

/// A running `flow serve`.
pub struct Server {
    pub child: Child,
    pub addr: String,
    pub dir: PathBuf,
    logs: Arc<Mutex<Vec<String>>>,
}

/// `flow serve DIR --listen 127.0.0.1:0 ARGS…` with the test secret, waiting for it to listen.
pub fn start(dir: &Path, args: &[&str]) -> Server {
    start_with(dir, args, &[("STRIPE_WEBHOOK_SECRET", SECRET)])
}

pub fn start_with(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
    let mut cmd = Command::new(flow_bin());
    cmd.current_dir(dir)
        .arg("serve")
        .arg(".")
        .args(["--listen", "127.0.0.1:0"])
        .args(if args.contains(&"--poll-ms") {
            &[][..]
        } else {
            &["--poll-ms", "200"][..]
        })
        .args(args)
        .env_remove("STRIPE_WEBHOOK_SECRET")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("flow serve starts");
    let stderr = child.stderr.take().expect("stderr");
    let logs = Arc::new(Mutex::new(Vec::new()));
    let sink = logs.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            sink.lock().unwrap().push(line);
        }
    });
    let mut server = Server {
        child,
        addr: String::new(),
        dir: dir.to_path_buf(),
        logs,
    };
    let listening = server
        .wait_log(Duration::from_secs(20), |l| l["msg"] == "listening")
        .unwrap_or_else(|| panic!("flow serve did not start:\n{}", server.log_text()));
    server.addr = listening["addr"].as_str().unwrap().to_string();
    server
}

impl Server {
    pub fn logs(&self) -> Vec<Value> {
        self.logs
            .lock()
            .unwrap()
            .iter()
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("a log line is not one JSON object ({e}): {l}"))
            })
            .collect()
    }

    pub fn log_text(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    /// The first log line (from the start) that matches, waiting for it.
    pub fn wait_log(&self, timeout: Duration, f: impl Fn(&Value) -> bool) -> Option<Value> {
        let until = Instant::now() + timeout;
        loop {
            let found = self
                .logs
                .lock()
                .unwrap()
                .iter()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .find(|v| f(v));
            if found.is_some() {
                return found;
            }
            if Instant::now() > until {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn count_logs(&self, f: impl Fn(&Value) -> bool) -> usize {
        self.logs().iter().filter(|v| f(v)).count()
    }

    pub fn post(&self, body: &str, signature: Option<&str>) -> (u16, Value) {
        post(&self.addr, body, signature)
    }

    /// Post an event signed with the test secret.
    pub fn deliver(&self, body: &str) -> (u16, Value) {
        self.post(body, Some(&sign(body)))
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        let (status, body) = request(&self.addr, "GET", path, &[], b"");
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs")
            .success();
        assert!(ok, "kill -{sig} failed");
    }

    /// `kill -9`: no chance to clean up.
    pub fn kill9(mut self) {
        self.child.kill().expect("kill -9");
        let _ = self.child.wait();
    }

    /// SIGTERM, and the exit code once it has stopped.
    pub fn stop(mut self) -> i32 {
        self.signal("TERM");
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s.code().unwrap_or(-1);
            }
            if Instant::now() > until {
                let _ = self.child.kill();
                panic!("flow serve did not stop on SIGTERM:\n{}", self.log_text());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Wait until no run is waiting or running (per the run log).
    pub fn wait_idle(&self, timeout: Duration) {
        let until = Instant::now() + timeout;
        loop {
            let started: i64 = db(&self.dir)
                .query_row(
                    "SELECT count(*) FROM runs WHERE status = 'started'",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            if started == 0 {
                return;
            }
            if Instant::now() > until {
                panic!("{started} runs still started:\n{}", self.log_text());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request on its own connection.
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> (u16, Vec<u8>) {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&raw[..end]);
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status code");
    (status, raw[end + 4..].to_vec())
}

pub fn post(addr: &str, body: &str, signature: Option<&str>) -> (u16, Value) {
    let mut headers = vec![("Content-Type", "application/json; charset=utf-8")];
    if let Some(sig) = signature {
        headers.push(("Stripe-Signature", sig));
    }
    let (status, body) = request(addr, "POST", "/webhook", &headers, body.as_bytes());
    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
    (status, json)
}

/// A keep-alive HTTP/1.1 client for many requests (the load test). It opens a new
/// connection when the server closes one (`Connection: close`), as clients do.
pub struct Client {
    stream: Option<BufReader<TcpStream>>,
    addr: String,
    pub connections: usize,
}

impl Client {
    pub fn connect(addr: &str) -> Client {
        Client {
            stream: None,
            addr: addr.to_string(),
            connections: 0,
        }
    }

    fn stream(&mut self) -> &mut BufReader<TcpStream> {
        if self.stream.is_none() {
            let s = TcpStream::connect(&self.addr).expect("connect");
            s.set_nodelay(true).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
            self.stream = Some(BufReader::new(s));
            self.connections += 1;
        }
        self.stream.as_mut().unwrap()
    }

    pub fn post_webhook(&mut self, body: &str, signature: &str) -> (u16, Value) {
        let head = format!(
            "POST /webhook HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nStripe-Signature: {signature}\r\nContent-Length: {}\r\n\r\n",
            self.addr,
            body.len()
        );
        let stream = self.stream();
        let s = stream.get_mut();
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(body.as_bytes()).unwrap();
        let mut status_line = String::new();
        stream.read_line(&mut status_line).unwrap();
        let status: u16 = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let mut length = 0usize;
        let mut close = false;
        loop {
            let mut line = String::new();
            stream.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap();
                }
                if k.eq_ignore_ascii_case("connection") && v.trim().eq_ignore_ascii_case("close") {
                    close = true;
                }
            }
        }
        let mut body = vec![0; length];
        stream.read_exact(&mut body).unwrap();
        if close {
            self.stream = None;
        }
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }
}

/// The run log of flows served from `dir`.
pub fn db(dir: &Path) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(dir.join(".flow/runs.db")).expect("the run log exists");
    c.busy_timeout(Duration::from_secs(10)).unwrap();
    c
}

/// The actions the recording bindings carried out, in order: (key, action, calls).
pub fn performed(dir: &Path) -> Vec<(String, Value, i64)> {
    let c = db(dir);
    let mut st = c
        .prepare("SELECT idempotency_key, action, calls FROM performed ORDER BY first_at, step")
        .unwrap();
    st.query_map([], |r| {
        let a: String = r.get(1)?;
        Ok((r.get(0)?, serde_json::from_str(&a).unwrap(), r.get(2)?))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

pub fn count(dir: &Path, sql: &str) -> i64 {
    db(dir).query_row(sql, [], |r| r.get(0)).unwrap()
}

/// `flow ARGS…` in `dir`.
pub fn flow_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(flow_bin())
        .current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("STRIPE_WEBHOOK_SECRET")
        .output()
        .expect("flow runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The template "Tag valuable customers": e-mails above 1000 USD, tags VIP above 2000 USD.
pub const TAG: &str = include_str!("../../stdlib/templates/tag_valuable_customers.flow");

/// A fresh folder holding `files`.
pub fn flows_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

/// Post without panicking when the server is gone: the status, or `None`.
pub fn try_post(addr: &str, body: &str, signature: &str) -> Option<u16> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let head = format!(
        "POST /webhook HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nStripe-Signature: {signature}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(body.as_bytes()).ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw);
    text.split_whitespace().nth(1)?.parse().ok()
}
