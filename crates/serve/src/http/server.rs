//! A small HTTP/1.1 server on the standard library, for a webhook endpoint that faces
//! the internet: a fixed pool of connection threads behind a bounded queue, time
//! limits on every read and write, limits on the size of the head and the body,
//! keep-alive that yields to waiting connections, and a shutdown that lets the
//! requests already received finish.
//!
//! Requests carry their body with `Content-Length` (as Stripe sends them); a chunked
//! request body is refused with 501. `Expect: 100-continue` is answered.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct Limits {
    /// Connection threads.
    pub threads: usize,
    /// Connections accepted and waiting for a thread; beyond this, 503.
    pub queue: usize,
    /// Request line and headers, in bytes.
    pub max_head: usize,
    pub max_headers: usize,
    pub max_body: usize,
    /// Time a kept-alive connection may stay silent.
    pub idle: Duration,
    /// Time to receive a whole request once it has begun, and to send a response.
    pub request_timeout: Duration,
    pub max_requests_per_connection: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            threads: 32,
            queue: 1024,
            max_head: 16 * 1024,
            max_headers: 100,
            max_body: 4 * 1024 * 1024,
            idle: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            max_requests_per_connection: 10_000,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// The path, without the query.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub remote: Option<SocketAddr>,
    keep_alive: bool,
}

impl Request {
    /// The first header of that name (names compare case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
        }
    }

    pub fn json(status: u16, body: &serde_json::Value) -> Response {
        Response::new(status, "application/json", body.to_string())
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.into(), value.into()));
        self
    }
}

pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        417 => "Expectation Failed",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

pub type Handler = Arc<dyn Fn(&Request) -> Response + Send + Sync>;

/// A running server.
pub struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
    threads: Vec<JoinHandle<()>>,
}

struct Shared {
    handler: Handler,
    limits: Limits,
    stop: Arc<AtomicBool>,
    /// Connections accepted and not yet taken by a thread.
    waiting: AtomicUsize,
}

impl Server {
    pub fn bind(addr: &str, limits: Limits, handler: Handler) -> io::Result<Server> {
        let listener = TcpListener::bind(addr)?;
        let local = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Shared {
            handler,
            limits: limits.clone(),
            stop: stop.clone(),
            waiting: AtomicUsize::new(0),
        });
        let (tx, rx) = mpsc::sync_channel::<TcpStream>(limits.queue.max(1));
        let rx = Arc::new(Mutex::new(rx));
        let mut threads = Vec::new();
        for i in 0..limits.threads.max(1) {
            let (rx, shared) = (rx.clone(), shared.clone());
            threads.push(
                std::thread::Builder::new()
                    .name(format!("http-{i}"))
                    .spawn(move || connection_thread(&rx, &shared))?,
            );
        }
        let accept = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("http-accept".into())
                .spawn(move || accept_loop(listener, tx, &shared))?
        };
        Ok(Server {
            addr: local,
            stop,
            accept: Some(accept),
            threads,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop accepting; let each connection finish the request it has received; wait.
    pub fn shutdown(mut self) {
        self.stop.store(true, SeqCst);
        // Wake the accept loop with a connection of our own.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(a) = self.accept.take() {
            let _ = a.join();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn accept_loop(listener: TcpListener, tx: SyncSender<TcpStream>, shared: &Shared) {
    for conn in listener.incoming() {
        if shared.stop.load(SeqCst) {
            break;
        }
        let Ok(stream) = conn else {
            // Out of descriptors, or a connection reset before it was accepted.
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        shared.waiting.fetch_add(1, SeqCst);
        match tx.try_send(stream) {
            Ok(()) => {}
            Err(TrySendError::Full(mut s)) | Err(TrySendError::Disconnected(mut s)) => {
                shared.waiting.fetch_sub(1, SeqCst);
                let _ = s.set_write_timeout(Some(Duration::from_secs(1)));
                let r = Response::json(
                    503,
                    &serde_json::json!({"error": "too many connections; try again"}),
                );
                let _ = write_response(&mut s, &r, false);
                let _ = s.shutdown(Shutdown::Both);
            }
        }
    }
    // Dropping `tx` lets the threads end once the queue is empty.
}

fn connection_thread(rx: &Mutex<Receiver<TcpStream>>, shared: &Shared) {
    loop {
        let next = match rx.lock() {
            Ok(r) => r.recv(),
            Err(_) => return,
        };
        let Ok(stream) = next else { return };
        shared.waiting.fetch_sub(1, SeqCst);
        serve_connection(stream, shared);
    }
}

enum Wait {
    Ready,
    Done,
}

/// Wait for the first byte of the next request, watching the idle time and shutdown.
/// A connection that has been served already gives way to connections waiting for a
/// thread.
fn wait_for_request(reader: &mut BufReader<TcpStream>, shared: &Shared, served: usize) -> Wait {
    if !reader.buffer().is_empty() {
        return Wait::Ready;
    }
    let started = Instant::now();
    let slice = Duration::from_millis(200);
    if reader.get_ref().set_read_timeout(Some(slice)).is_err() {
        return Wait::Done;
    }
    loop {
        match reader.fill_buf() {
            Ok([]) => return Wait::Done,
            Ok(_) => return Wait::Ready,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                if shared.stop.load(SeqCst)
                    || started.elapsed() >= shared.limits.idle
                    || (served > 0 && shared.waiting.load(SeqCst) > 0)
                {
                    return Wait::Done;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Wait::Done,
        }
    }
}

fn serve_connection(stream: TcpStream, shared: &Shared) {
    let limits = &shared.limits;
    let _ = stream.set_nodelay(true);
    let _ = stream.set_write_timeout(Some(limits.request_timeout));
    let remote = stream.peer_addr().ok();
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::with_capacity(8 * 1024, read_half);
    let mut writer = stream;
    for served in 0..limits.max_requests_per_connection.max(1) {
        if let Wait::Done = wait_for_request(&mut reader, shared, served) {
            break;
        }
        if reader
            .get_ref()
            .set_read_timeout(Some(limits.request_timeout))
            .is_err()
        {
            break;
        }
        let request = match read_request(&mut reader, &mut writer, limits, remote) {
            Ok(r) => r,
            Err(ReadError::Io) => break,
            Err(ReadError::Reply(status, message)) => {
                let r = Response::json(status, &serde_json::json!({ "error": message }));
                let _ = write_response(&mut writer, &r, false);
                break;
            }
        };
        // Keep the connection only while nobody waits for a thread.
        let keep = request.keep_alive
            && served + 1 < limits.max_requests_per_connection
            && !shared.stop.load(SeqCst)
            && shared.waiting.load(SeqCst) == 0;
        let response = (shared.handler)(&request);
        if write_response(&mut writer, &response, keep).is_err() || !keep {
            break;
        }
    }
    let _ = writer.shutdown(Shutdown::Both);
}

#[derive(Debug)]
enum ReadError {
    /// The connection failed or timed out: close it.
    Io,
    /// Answer this status, then close.
    Reply(u16, String),
}

fn bad(status: u16, message: impl Into<String>) -> ReadError {
    ReadError::Reply(status, message.into())
}

/// Read one line of the head (without its line ending), counting against the limit.
fn head_line(reader: &mut impl BufRead, budget: &mut usize) -> Result<String, ReadError> {
    let mut line = Vec::new();
    let limit = u64::try_from(*budget).unwrap_or(u64::MAX) + 1;
    let n = reader
        .by_ref()
        .take(limit)
        .read_until(b'\n', &mut line)
        .map_err(|_| ReadError::Io)?;
    if n == 0 {
        return Err(ReadError::Io);
    }
    if n > *budget {
        return Err(bad(431, "the request head is too large"));
    }
    *budget -= n;
    if line.last() != Some(&b'\n') {
        return Err(ReadError::Io);
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    String::from_utf8(line).map_err(|_| bad(400, "the request head is not text"))
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn read_request(
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
    limits: &Limits,
    remote: Option<SocketAddr>,
) -> Result<Request, ReadError> {
    let mut budget = limits.max_head;
    let mut line = head_line(reader, &mut budget)?;
    // A robust server ignores empty lines before a request line.
    while line.is_empty() {
        line = head_line(reader, &mut budget)?;
    }
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad(400, "malformed request line"));
    };
    if !is_token(method) || target.is_empty() {
        return Err(bad(400, "malformed request line"));
    }
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        _ => return Err(bad(505, "only HTTP/1.0 and HTTP/1.1 are spoken here")),
    };
    let mut headers = Vec::new();
    loop {
        let line = head_line(reader, &mut budget)?;
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            return Err(bad(400, "folded header lines are not accepted"));
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(bad(400, "malformed header line"));
        };
        if !is_token(name) {
            return Err(bad(400, "malformed header name"));
        }
        if headers.len() >= limits.max_headers {
            return Err(bad(431, "too many headers"));
        }
        headers.push((
            name.to_string(),
            value.trim_matches([' ', '\t']).to_string(),
        ));
    }
    let get = |n: &'static str| {
        headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(n))
    };
    if get("Transfer-Encoding").next().is_some() {
        return Err(bad(
            501,
            "chunked request bodies are not accepted; send Content-Length",
        ));
    }
    let mut length: Option<usize> = None;
    for (_, v) in get("Content-Length") {
        let n = if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
            v.parse::<usize>().ok()
        } else {
            None
        };
        match (n, length) {
            (None, _) => return Err(bad(400, "invalid Content-Length")),
            (Some(n), Some(l)) if n != l => return Err(bad(400, "conflicting Content-Length")),
            (Some(n), _) => length = Some(n),
        }
    }
    let length = length.unwrap_or(0);
    if length > limits.max_body {
        return Err(bad(
            413,
            format!("the body is larger than {} bytes", limits.max_body),
        ));
    }
    if let Some((_, expect)) = get("Expect").next() {
        if !expect.eq_ignore_ascii_case("100-continue") {
            return Err(bad(417, "unsupported Expect"));
        }
        if length > 0 && reader.buffer().is_empty() {
            writer
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .map_err(|_| ReadError::Io)?;
        }
    }
    let mut body = Vec::with_capacity(length);
    reader
        .by_ref()
        .take(length as u64)
        .read_to_end(&mut body)
        .map_err(|_| ReadError::Io)?;
    if body.len() != length {
        return Err(ReadError::Io);
    }
    let connection = get("Connection")
        .map(|(_, v)| v.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(",");
    let keep_alive = if http10 {
        connection.contains("keep-alive")
    } else {
        !connection.contains("close")
    };
    let path = target.split('?').next().unwrap_or(target).to_string();
    Ok(Request {
        method: method.to_string(),
        path,
        headers,
        body,
        remote,
        keep_alive,
    })
}

fn write_response(w: &mut TcpStream, r: &Response, keep_alive: bool) -> io::Result<()> {
    let mut out = format!("HTTP/1.1 {} {}\r\n", r.status, reason(r.status));
    for (k, v) in &r.headers {
        // Values are ours; never let one carry a line break.
        if !k.contains(['\r', '\n']) && !v.contains(['\r', '\n']) {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: {}\r\n\r\n",
        r.body.len(),
        if keep_alive { "keep-alive" } else { "close" }
    ));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&r.body);
    w.write_all(&bytes)?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn echo_server(limits: Limits) -> Server {
        let handler: Handler = Arc::new(|r: &Request| {
            Response::json(
                200,
                &serde_json::json!({
                    "method": r.method, "path": r.path,
                    "body": String::from_utf8_lossy(&r.body),
                    "sig": r.header("stripe-signature"),
                }),
            )
        });
        Server::bind("127.0.0.1:0", limits, handler).unwrap()
    }

    fn exchange(addr: SocketAddr, raw: &[u8]) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(raw).unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn serves_pipelined_requests_and_closes_when_asked() {
        let server = echo_server(Limits::default());
        let out = exchange(
            server.local_addr(),
            b"POST /webhook?x=1 HTTP/1.1\r\nHost: a\r\nStripe-Signature: t=1,v1=ab\r\nContent-Length: 5\r\n\r\nhelloGET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n",
        );
        assert_eq!(out.matches("HTTP/1.1 200 OK").count(), 2, "{out}");
        assert!(out.contains(r#""body":"hello""#), "{out}");
        assert!(out.contains(r#""path":"/webhook""#), "{out}");
        assert!(out.contains(r#""sig":"t=1,v1=ab""#), "{out}");
        assert!(out.contains("Connection: keep-alive"), "{out}");
        assert!(out.ends_with(r#""sig":null}"#), "{out}");
        server.shutdown();
    }

    #[test]
    fn refuses_what_it_does_not_accept() {
        let limits = Limits {
            max_body: 10,
            max_head: 200,
            ..Limits::default()
        };
        let server = echo_server(limits);
        let a = server.local_addr();
        let status = |raw: &[u8]| exchange(a, raw).lines().next().unwrap_or("").to_string();
        assert_eq!(
            status(b"POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n01234567890"),
            "HTTP/1.1 413 Content Too Large"
        );
        assert_eq!(
            status(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
            "HTTP/1.1 501 Not Implemented"
        );
        assert_eq!(
            status(b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
            "HTTP/1.1 400 Bad Request"
        );
        assert_eq!(
            status(b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"),
            "HTTP/1.1 400 Bad Request"
        );
        assert_eq!(
            status(b"GET / HTTP/2\r\n\r\n"),
            "HTTP/1.1 505 HTTP Version Not Supported"
        );
        assert_eq!(status(b"GARBAGE\r\n\r\n"), "HTTP/1.1 400 Bad Request");
        let long = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(300));
        assert_eq!(
            status(long.as_bytes()),
            "HTTP/1.1 431 Request Header Fields Too Large"
        );
        server.shutdown();
    }

    #[test]
    fn answers_expect_continue_and_http10() {
        let server = echo_server(Limits::default());
        let mut s = TcpStream::connect(server.local_addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(b"POST /w HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut buf = [0u8; 25];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"HTTP/1.1 100 Continue\r\n\r\n");
        s.write_all(b"ok").unwrap();
        let mut rest = String::new();
        s.read_to_string(&mut rest).unwrap();
        assert!(rest.starts_with("HTTP/1.1 200 OK"), "{rest}");
        // HTTP/1.0 closes unless asked to keep the connection.
        let out = exchange(server.local_addr(), b"GET /x HTTP/1.0\r\n\r\n");
        assert!(out.contains("Connection: close"), "{out}");
        server.shutdown();
    }

    #[test]
    fn a_silent_connection_is_dropped_and_others_are_served_meanwhile() {
        let limits = Limits {
            threads: 1,
            idle: Duration::from_millis(300),
            ..Limits::default()
        };
        let server = echo_server(limits);
        let a = server.local_addr();
        // Takes the only thread and says nothing.
        let mut idle = TcpStream::connect(a).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let started = Instant::now();
        let out = exchange(a, b"GET /x HTTP/1.1\r\nConnection: close\r\n\r\n");
        assert!(out.starts_with("HTTP/1.1 200 OK"), "{out}");
        assert!(started.elapsed() < Duration::from_secs(3));
        idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = Vec::new();
        assert_eq!(
            idle.read_to_end(&mut buf).unwrap(),
            0,
            "closed without a word"
        );
        server.shutdown();
    }
}
