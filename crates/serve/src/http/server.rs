//! The HTTP/1.1 server under `flow serve`: hyper 1 on a small tokio runtime of its
//! own, for an endpoint that faces the internet.
//!
//! - **Deadlines.** A request's head must arrive within [`Limits::header_timeout`],
//!   counted from when the connection is opened or has answered its last request (so
//!   an idle keep-alive connection is closed then too); its body within
//!   [`Limits::body_timeout`] after the head (408 otherwise). A write that makes no
//!   progress for [`Limits::write_timeout`] closes the connection. A client that
//!   trickles bytes or sends nothing holds a connection for a bounded time and no
//!   thread at all.
//! - **Connection limits**, in total and per peer address: a connection over either
//!   is closed at once, unread. Behind a proxy every connection has the proxy's
//!   address, so the per-peer limit must then be raised (`[serve]
//!   max_connections_per_peer`).
//! - **The protocol** is hyper's: chunked request bodies, `Expect: 100-continue`,
//!   pipelining, HTTP/1.0 keep-alive, `HEAD` without a body, a `Date` on every
//!   response, and a 400 for a malformed head (a header value with a control
//!   character such as a bare CR, a NUL or ESC included). On top of it: exactly one
//!   `Host` in an HTTP/1.1 request, and a limit on the body (413).
//! - **The handler** is called on the threads that drive sockets, and says how its
//!   answer comes ([`Reply`]): at once (short work that never waits), later (a
//!   future, e.g. the run log's commit, awaited without holding a thread), or from
//!   code that blocks, which runs on tokio's blocking threads.
//! - **Shutdown** stops accepting, closes idle connections, and lets the requests
//!   already being handled finish (for at most [`Limits::shutdown_grace`]).

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONNECTION, CONTENT_LENGTH, HOST};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::Version;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::watch;

#[derive(Clone, Debug)]
pub struct Limits {
    /// Connections open at once; beyond this a new one is closed unread.
    pub max_connections: usize,
    /// Connections open at once from one peer address.
    pub max_connections_per_peer: usize,
    /// Request line and headers, in bytes (at least 8 KiB).
    pub max_head: usize,
    pub max_headers: usize,
    pub max_body: usize,
    /// Time for a request's head to arrive, from when the connection is idle.
    pub header_timeout: Duration,
    /// Time for a request's body to arrive, once its head has.
    pub body_timeout: Duration,
    /// Time a write may make no progress before the connection is closed.
    pub write_timeout: Duration,
    /// Threads that run the handler.
    pub handler_threads: usize,
    /// Time the requests in flight get to finish at shutdown.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 1024,
            max_connections_per_peer: 128,
            max_head: 16 * 1024,
            max_headers: 100,
            max_body: 4 * 1024 * 1024,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            handler_threads: 64,
            shutdown_grace: Duration::from_secs(30),
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

/// How the handler's answer to a request comes.
pub enum Reply {
    /// The answer, made at once: short work that never waits.
    Now(Response),
    /// An answer that comes later, awaited without holding a thread: it must not
    /// block.
    Later(Pin<Box<dyn Future<Output = Response> + Send>>),
    /// Code that may block (waits for a lock, a file, another thread): it runs on
    /// one of the runtime's blocking threads ([`Limits::handler_threads`]).
    Blocking(Box<dyn FnOnce() -> Response + Send>),
}

impl Reply {
    /// `make` run on a blocking thread.
    pub fn blocking(make: impl FnOnce() -> Response + Send + 'static) -> Reply {
        Reply::Blocking(Box::new(make))
    }

    /// The future's answer, awaited.
    pub fn later(answer: impl Future<Output = Response> + Send + 'static) -> Reply {
        Reply::Later(Box::pin(answer))
    }
}

/// Called for each request, on a thread that drives sockets: whatever may block goes
/// into [`Reply::Blocking`].
pub type Handler = Arc<dyn Fn(Request) -> Reply + Send + Sync>;

/// A handler of plain synchronous code, each request on a blocking thread.
pub fn blocking(handle: impl Fn(&Request) -> Response + Send + Sync + 'static) -> Handler {
    let handle = Arc::new(handle);
    Arc::new(move |request: Request| {
        let handle = handle.clone();
        Reply::blocking(move || handle(&request))
    })
}

/// Counts of what the server turned away, for the metrics.
#[derive(Debug, Default)]
pub struct Stats {
    /// Connections closed unread: over the total or the per-peer limit.
    pub connections_refused: AtomicU64,
    /// Requests answered 408: the body did not arrive in time.
    pub requests_timed_out: AtomicU64,
}

impl Stats {
    /// The counters in Prometheus' text format.
    pub fn render(&self) -> String {
        format!(
            "# HELP flow_http_connections_refused_total Connections closed unread: over the limit of open connections, in total or from one address.\n\
             # TYPE flow_http_connections_refused_total counter\n\
             flow_http_connections_refused_total {}\n\
             # HELP flow_http_requests_timed_out_total Requests answered 408: the body did not arrive in time.\n\
             # TYPE flow_http_requests_timed_out_total counter\n\
             flow_http_requests_timed_out_total {}\n",
            self.connections_refused.load(Relaxed),
            self.requests_timed_out.load(Relaxed)
        )
    }
}

/// A running server.
pub struct Server {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    handler: Handler,
    limits: Limits,
    open: Mutex<Open>,
    stats: Arc<Stats>,
}

#[derive(Default)]
struct Open {
    total: usize,
    per_peer: HashMap<IpAddr, usize>,
}

/// A connection counted against the limits while it lives.
struct Admitted {
    shared: Arc<Shared>,
    peer: IpAddr,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        if let Ok(mut open) = self.shared.open.lock() {
            open.total = open.total.saturating_sub(1);
            if let Some(n) = open.per_peer.get_mut(&self.peer) {
                *n -= 1;
                if *n == 0 {
                    open.per_peer.remove(&self.peer);
                }
            }
        }
    }
}

impl Shared {
    fn admit(self: &Arc<Self>, peer: IpAddr) -> Option<Admitted> {
        let mut open = self.open.lock().ok()?;
        let from_peer = open.per_peer.get(&peer).copied().unwrap_or(0);
        if open.total >= self.limits.max_connections
            || from_peer >= self.limits.max_connections_per_peer
        {
            return None;
        }
        open.total += 1;
        *open.per_peer.entry(peer).or_insert(0) += 1;
        Some(Admitted {
            shared: self.clone(),
            peer,
        })
    }
}

impl Server {
    /// Listen on `addr`; `stats` counts what is turned away.
    pub fn bind(
        addr: &str,
        limits: Limits,
        handler: Handler,
        stats: Arc<Stats>,
    ) -> io::Result<Server> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let local = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .max_blocking_threads(limits.handler_threads.max(1))
            .thread_name("http")
            .enable_all()
            .build()?;
        let listener = {
            let _entered = runtime.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let shared = Arc::new(Shared {
            handler,
            limits,
            open: Mutex::new(Open::default()),
            stats: stats.clone(),
        });
        let (stop, stopped) = watch::channel(false);
        let thread = std::thread::Builder::new()
            .name("http-accept".into())
            .spawn(move || {
                runtime.block_on(accept_loop(listener, shared, stopped));
                runtime.shutdown_timeout(Duration::from_secs(1));
            })?;
        Ok(Server {
            addr: local,
            stop,
            thread: Some(thread),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop accepting; let each connection finish the request it is handling; wait.
    pub fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    mut stopped: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    let mut refused_logged = std::time::Instant::now() - Duration::from_secs(60);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stopped.changed() => break,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(_) => {
                // Out of descriptors, or a connection reset before it was accepted.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let Some(admitted) = shared.admit(peer.ip()) else {
            let n = shared.stats.connections_refused.fetch_add(1, Relaxed) + 1;
            if refused_logged.elapsed() >= Duration::from_secs(10) {
                refused_logged = std::time::Instant::now();
                crate::log::warn(
                    "connection refused",
                    serde_json::json!({
                        "peer": peer.ip().to_string(),
                        "refused_so_far": n,
                        "detail": "over the limit of open connections (in total or from this address); closed unread",
                    }),
                );
            }
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let io = TokioIo::new(WriteDeadline::new(stream, shared.limits.write_timeout));
        let service = {
            let shared = shared.clone();
            service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(respond(&shared, peer, req).await) }
            })
        };
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(shared.limits.header_timeout)
            .max_buf_size(shared.limits.max_head.max(8192))
            .max_headers(shared.limits.max_headers)
            .serve_connection(io, service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
            drop(admitted);
        });
    }
    drop(listener);
    let grace = shared.limits.shutdown_grace;
    let _ = tokio::time::timeout(grace, graceful.shutdown()).await;
}

fn plain(status: u16, message: &str) -> hyper::Response<Full<Bytes>> {
    to_hyper(Response::json(
        status,
        &serde_json::json!({ "error": message }),
    ))
}

/// An answer after which the connection cannot be trusted to be in step: close it.
fn closing(status: u16, message: &str) -> hyper::Response<Full<Bytes>> {
    let mut r = plain(status, message);
    r.headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    r
}

async fn respond(
    shared: &Arc<Shared>,
    peer: SocketAddr,
    req: hyper::Request<Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let limits = &shared.limits;
    if req.version() == Version::HTTP_11 && req.headers().get_all(HOST).iter().count() != 1 {
        return closing(400, "an HTTP/1.1 request needs exactly one Host header");
    }
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_body as u64) {
        let message = format!("the body is larger than {} bytes", limits.max_body);
        return closing(413, &message);
    }
    let (parts, body) = req.into_parts();
    let collected = tokio::time::timeout(
        limits.body_timeout,
        Limited::new(body, limits.max_body).collect(),
    )
    .await;
    let body = match collected {
        Ok(Ok(c)) => c.to_bytes().to_vec(),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
            let message = format!("the body is larger than {} bytes", limits.max_body);
            return closing(413, &message);
        }
        Ok(Err(_)) => return closing(400, "the body could not be read"),
        Err(_) => {
            shared.stats.requests_timed_out.fetch_add(1, Relaxed);
            let message = format!(
                "the body did not arrive within {} s",
                limits.body_timeout.as_secs()
            );
            return closing(408, &message);
        }
    };
    let request = Request {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body,
        remote: Some(peer),
    };
    // A handler that panics gets the connection closed with a 500, whichever way
    // its answer comes.
    let failed = || closing(500, "the request could not be handled");
    let handler = &shared.handler;
    let reply = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(request))) {
        Ok(reply) => reply,
        Err(_) => return failed(),
    };
    let answer = match reply {
        Reply::Now(r) => r,
        Reply::Later(answer) => match (CatchUnwind { inner: answer }).await {
            Some(r) => r,
            None => return failed(),
        },
        Reply::Blocking(make) => match tokio::task::spawn_blocking(make).await {
            Ok(r) => r,
            Err(_) => return failed(),
        },
    };
    to_hyper(answer)
}

/// A future whose panic is its output `None`.
struct CatchUnwind {
    inner: Pin<Box<dyn Future<Output = Response> + Send>>,
}

impl Future for CatchUnwind {
    type Output = Option<Response>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Response>> {
        let inner = &mut self.inner;
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inner.as_mut().poll(cx))) {
            Ok(Poll::Ready(r)) => Poll::Ready(Some(r)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(None),
        }
    }
}

fn to_hyper(answer: Response) -> hyper::Response<Full<Bytes>> {
    let mut r = hyper::Response::new(Full::new(Bytes::from(answer.body)));
    *r.status_mut() = hyper::StatusCode::from_u16(answer.status)
        .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    for (k, v) in &answer.headers {
        if let (Ok(name), Ok(value)) = (
            hyper::header::HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            r.headers_mut().append(name, value);
        }
    }
    r
}

/// A socket whose writes fail once they have made no progress for a while, so that a
/// client that stops reading cannot hold its connection open for ever.
struct WriteDeadline<T> {
    inner: T,
    timeout: Duration,
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<T> WriteDeadline<T> {
    fn new(inner: T, timeout: Duration) -> WriteDeadline<T> {
        WriteDeadline {
            inner,
            timeout,
            stalled: None,
        }
    }

    /// After a write returned `Pending`: fail once the deadline has passed.
    fn check(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        let timeout = self.timeout;
        let sleep = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(io::Error::new(
                io::ErrorKind::TimedOut,
                "the peer stopped reading",
            )),
            Poll::Pending => Poll::Pending,
        }
    }

    fn progress<R>(&mut self, r: Poll<io::Result<R>>, cx: &mut Context<'_>) -> Poll<io::Result<R>> {
        match r {
            Poll::Pending => match self.check(cx) {
                Poll::Ready(e) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            },
            ready => {
                self.stalled = None;
                ready
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for WriteDeadline<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WriteDeadline<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.progress(r, cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.progress(r, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.inner).poll_flush(cx);
        self.progress(r, cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.progress(r, cx)
    }
}

#[cfg(test)]
mod tests;
