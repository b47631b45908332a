//! The server over real loopback sockets, byte for byte as clients send them.

use super::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Instant;

fn echo_server(limits: Limits) -> Server {
    echo_server_counting(limits, Arc::default())
}

fn echo_server_counting(limits: Limits, stats: Arc<Stats>) -> Server {
    let handler: Handler = blocking(|r: &Request| {
        if r.path == "/slow" {
            std::thread::sleep(Duration::from_millis(400));
        }
        Response::json(
            200,
            &serde_json::json!({
                "method": r.method, "path": r.path,
                "body": String::from_utf8_lossy(&r.body),
                "sig": r.header("stripe-signature"),
            }),
        )
    });
    Server::bind("127.0.0.1:0", limits, handler, stats).unwrap()
}

/// A connection from a given loopback address (127.0.0.0/8 is all loopback).
fn connect_from(from: [u8; 4], to: SocketAddr) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let local = SocketAddr::from((from, 0));
    socket.bind(&local.into()).unwrap();
    socket.connect(&to.into()).unwrap();
    let s: TcpStream = socket.into();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

fn exchange(addr: SocketAddr, raw: &[u8]) -> String {
    let mut s = connect_from([127, 0, 0, 1], addr);
    s.write_all(raw).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn status_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// Whether the server closed the connection (end of stream or reset) within `within`.
fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    s.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 512];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return false
            }
            Err(_) => return true,
        }
    }
}

#[test]
fn serves_pipelined_requests_with_a_date_and_closes_when_asked() {
    let server = echo_server(Limits::default());
    let out = exchange(
        server.local_addr(),
        b"POST /webhook?x=1 HTTP/1.1\r\nHost: a\r\nStripe-Signature: t=1,v1=ab\r\nContent-Length: 5\r\n\r\nhelloGET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(out.matches("HTTP/1.1 200 OK").count(), 2, "{out}");
    assert!(out.contains(r#""body":"hello""#), "{out}");
    assert!(out.contains(r#""path":"/webhook""#), "{out}");
    assert!(out.contains(r#""sig":"t=1,v1=ab""#), "{out}");
    assert_eq!(
        out.matches("\r\ndate: ").count(),
        2,
        "a Date on each: {out}"
    );
    assert!(out.ends_with(r#""sig":null}"#), "{out}");
    server.shutdown();
}

#[test]
fn accepts_a_chunked_body() {
    let server = echo_server(Limits::default());
    let out = exchange(
        server.local_addr(),
        b"POST /webhook HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n",
    );
    assert_eq!(status_line(&out), "HTTP/1.1 200 OK", "{out}");
    assert!(out.contains(r#""body":"hello""#), "{out}");
    server.shutdown();
}

#[test]
fn refuses_what_it_does_not_accept() {
    let limits = Limits {
        max_body: 10,
        max_head: 8192,
        ..Limits::default()
    };
    let server = echo_server(limits);
    let a = server.local_addr();
    let status = |raw: &[u8]| status_line(&exchange(a, raw)).to_string();
    let too_large = "HTTP/1.1 413 Payload Too Large";
    assert_eq!(
        status(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n01234567890"),
        too_large
    );
    // A chunked body is limited as it arrives.
    assert_eq!(
        status(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n6\r\nworld!\r\n0\r\n\r\n"),
        too_large
    );
    let bad = "HTTP/1.1 400 Bad Request";
    assert_eq!(
        status(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
        bad
    );
    assert_eq!(
        status(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n"),
        bad
    );
    assert_eq!(status(b"GARBAGE\r\n\r\n"), bad);
    let long = format!(
        "GET / HTTP/1.1\r\nHost: a\r\nX: {}\r\n\r\n",
        "a".repeat(9000)
    );
    assert_eq!(
        status(long.as_bytes()),
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
    server.shutdown();
}

#[test]
fn an_http11_request_has_exactly_one_host() {
    let server = echo_server(Limits::default());
    let a = server.local_addr();
    let status = |raw: &[u8]| status_line(&exchange(a, raw)).to_string();
    assert_eq!(
        status(b"GET /x HTTP/1.1\r\nConnection: close\r\n\r\n"),
        "HTTP/1.1 400 Bad Request"
    );
    assert_eq!(
        status(b"GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n"),
        "HTTP/1.1 400 Bad Request"
    );
    assert_eq!(
        status(b"GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"),
        "HTTP/1.1 200 OK"
    );
    // HTTP/1.0 has no Host requirement, and closes unless asked to keep alive.
    let out = exchange(a, b"GET /x HTTP/1.0\r\n\r\n");
    assert!(out.starts_with("HTTP/1.0 200 OK"), "{out}");
    server.shutdown();
}

#[test]
fn header_values_with_control_characters_are_refused() {
    let server = echo_server(Limits::default());
    let a = server.local_addr();
    for value in [&b"a\rb"[..], b"a\0b", b"a\x1b[2Jb", b"a\x7fb"] {
        let mut raw = b"GET /x HTTP/1.1\r\nHost: a\r\nX-Note: ".to_vec();
        raw.extend_from_slice(value);
        raw.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
        let out = exchange(a, &raw);
        assert_eq!(
            status_line(&out),
            "HTTP/1.1 400 Bad Request",
            "{value:?}: {out}"
        );
    }
    server.shutdown();
}

#[test]
fn head_is_answered_without_a_body() {
    let server = echo_server(Limits::default());
    let out = exchange(
        server.local_addr(),
        b"HEAD /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status_line(&out), "HTTP/1.1 200 OK", "{out}");
    assert!(out.ends_with("\r\n\r\n"), "no body after the head: {out:?}");
    server.shutdown();
}

#[test]
fn answers_expect_continue() {
    let server = echo_server(Limits::default());
    let mut s = connect_from([127, 0, 0, 1], server.local_addr());
    s.write_all(b"POST /w HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 25];
    s.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"HTTP/1.1 100 Continue\r\n\r\n");
    s.write_all(b"ok").unwrap();
    let mut rest = String::new();
    s.read_to_string(&mut rest).unwrap();
    assert!(rest.starts_with("HTTP/1.1 200 OK"), "{rest}");
    server.shutdown();
}

#[test]
fn a_trickled_or_silent_head_is_cut_off_at_the_deadline() {
    let limits = Limits {
        header_timeout: Duration::from_millis(600),
        ..Limits::default()
    };
    let server = echo_server(limits);
    let a = server.local_addr();
    let mut silent = connect_from([127, 0, 0, 1], a);
    let mut trickle = connect_from([127, 0, 0, 1], a);
    let started = Instant::now();
    let writer = {
        let mut t = trickle.try_clone().unwrap();
        std::thread::spawn(move || {
            // One byte every 100 ms: each read succeeds, the head never completes.
            for b in b"POST /webhook HTTP/1.1\r\nHost: a\r\nX: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
                if t.write_all(&[*b]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    assert!(closed_within(&mut trickle, Duration::from_secs(3)));
    assert!(closed_within(&mut silent, Duration::from_secs(3)));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "closed at the deadline, not when the client gave up: {:?}",
        started.elapsed()
    );
    // A kept-alive connection that goes quiet after a request is closed as well.
    let mut kept = connect_from([127, 0, 0, 1], a);
    kept.write_all(b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 64];
    let n = kept.read(&mut buf).unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200 OK"));
    assert!(closed_within(&mut kept, Duration::from_secs(3)));
    let _ = writer.join();
    server.shutdown();
}

#[test]
fn a_body_that_does_not_arrive_in_time_gets_408() {
    let limits = Limits {
        body_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let stats = Arc::new(Stats::default());
    let server = echo_server_counting(limits, stats.clone());
    let mut s = connect_from([127, 0, 0, 1], server.local_addr());
    s.write_all(b"POST /webhook HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhalf")
        .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    assert_eq!(status_line(&out), "HTTP/1.1 408 Request Timeout", "{out}");
    assert_eq!(stats.requests_timed_out.load(Relaxed), 1);
    server.shutdown();
}

#[test]
fn connections_over_the_limits_are_closed_and_others_are_served() {
    let limits = Limits {
        max_connections: 6,
        max_connections_per_peer: 3,
        ..Limits::default()
    };
    let stats = Arc::new(Stats::default());
    let server = echo_server_counting(limits, stats.clone());
    let a = server.local_addr();
    // Three from one address fill its share; they say nothing.
    let held: Vec<TcpStream> = (0..3).map(|_| connect_from([127, 0, 0, 2], a)).collect();
    std::thread::sleep(Duration::from_millis(100));
    let mut fourth = connect_from([127, 0, 0, 2], a);
    assert!(
        closed_within(&mut fourth, Duration::from_secs(2)),
        "over the per-peer limit"
    );
    // Another address is still served.
    let out = exchange(
        a,
        b"GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status_line(&out), "HTTP/1.1 200 OK", "{out}");
    // Its connection is let go once the server has closed it.
    std::thread::sleep(Duration::from_millis(300));
    // Three more from two other addresses reach the total.
    let more: Vec<TcpStream> = [[127, 0, 0, 3], [127, 0, 0, 3], [127, 0, 0, 4]]
        .into_iter()
        .map(|from| connect_from(from, a))
        .collect();
    std::thread::sleep(Duration::from_millis(100));
    let mut over = connect_from([127, 0, 0, 5], a);
    assert!(
        closed_within(&mut over, Duration::from_secs(2)),
        "over the total"
    );
    assert_eq!(stats.connections_refused.load(Relaxed), 2);
    assert!(stats
        .render()
        .contains("\nflow_http_connections_refused_total 2\n"));
    // Once they go, there is room again.
    drop(held);
    drop(more);
    std::thread::sleep(Duration::from_millis(200));
    let out = exchange(
        a,
        b"GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status_line(&out), "HTTP/1.1 200 OK", "{out}");
    server.shutdown();
}

#[test]
fn shutdown_lets_the_request_in_flight_finish() {
    let server = echo_server(Limits::default());
    let a = server.local_addr();
    let mut s = connect_from([127, 0, 0, 1], a);
    s.write_all(b"GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let stopping = std::thread::spawn(move || server.shutdown());
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    assert_eq!(status_line(&out), "HTTP/1.1 200 OK", "{out}");
    stopping.join().unwrap();
    assert!(
        TcpStream::connect_timeout(&a, Duration::from_secs(1)).is_err(),
        "no longer accepting"
    );
}
