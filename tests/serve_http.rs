//! `flow serve`'s HTTP side under the clients an exposed endpoint meets: hundreds of
//! slow or silent connections, a proxy that streams bodies chunked, HEAD requests.

mod serve_support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serve_support::*;

/// A connection from a given loopback address (all of 127.0.0.0/8 is loopback), so
/// that the slow clients do not share the webhook sender's per-address limit.
fn connect_from(from: [u8; 4], to: SocketAddr) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.bind(&SocketAddr::from((from, 0)).into()).unwrap();
    socket.connect(&to.into()).unwrap();
    socket.into()
}

fn metric(addr: &str, name: &str) -> Option<u64> {
    let (_, text) = request(addr, "GET", "/metrics", &[], b"");
    String::from_utf8_lossy(&text)
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} "))?.parse().ok())
}

#[test]
fn signed_webhooks_are_answered_within_a_second_while_200_clients_trickle_or_say_nothing() {
    let dir = flows_dir(&[("tag.flow", TAG)]);
    let server = start(dir.path(), &[]);
    let addr: SocketAddr = server.addr.parse().unwrap();

    // 200 connections from four other addresses: half send nothing, half trickle a
    // request head one byte at a time and never finish it.
    let mut silent = Vec::new();
    let mut trickling = Vec::new();
    for i in 0..200u8 {
        let s = connect_from([127, 0, 0, 2 + i % 4], addr);
        if i % 2 == 0 {
            silent.push(s);
        } else {
            trickling.push(s);
        }
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let trickler = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let head =
                b"POST /webhook HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
            let mut at = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && at < head.len() {
                for s in &mut trickling {
                    let _ = s.write_all(&head[at..at + 1]);
                }
                at += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            trickling
        })
    };
    std::thread::sleep(Duration::from_millis(300));

    let mut slowest = Duration::ZERO;
    for i in 0..20 {
        let body = payment_event(&format!("evt_slow_{i}"), 250_000, "usd", Some("cus_1"));
        let started = Instant::now();
        let (status, answer) = server.deliver(&body);
        let took = started.elapsed();
        slowest = slowest.max(took);
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["duplicate"], false, "{answer}");
        assert!(
            took < Duration::from_secs(1),
            "webhook {i} took {took:?} with 200 slow clients connected"
        );
    }
    // The slow clients were all let in (none over a limit), so they really were there.
    assert_eq!(
        metric(&server.addr, "flow_http_connections_refused_total"),
        Some(0)
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let trickling = trickler.join().unwrap();
    assert_eq!(silent.len() + trickling.len(), 200);
    drop(silent);
    drop(trickling);
    eprintln!("slowest of 20 webhooks beside 200 slow clients: {slowest:?}");
    let succeeded = || {
        count(
            dir.path(),
            "SELECT count(*) FROM runs WHERE status = 'succeeded'",
        )
    };
    let until = Instant::now() + Duration::from_secs(20);
    while succeeded() < 20 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(succeeded(), 20, "{}", server.log_text());
    server.stop();
}

#[test]
fn a_webhook_streamed_chunked_by_a_proxy_is_recorded_and_head_has_no_body() {
    let dir = flows_dir(&[("tag.flow", TAG)]);
    let server = start(dir.path(), &[]);
    let body = payment_event("evt_chunked", 250_000, "usd", Some("cus_1"));
    let signature = sign(&body);
    let (first, rest) = body.split_at(body.len() / 2);
    let mut s = TcpStream::connect(&server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut raw = format!(
        "POST /webhook HTTP/1.1\r\nHost: {}\r\nStripe-Signature: {signature}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        server.addr
    );
    for part in [first, rest] {
        raw.push_str(&format!("{:x}\r\n{part}\r\n", part.len()));
    }
    raw.push_str("0\r\n\r\n");
    s.write_all(raw.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(out.contains(r#""duplicate":false"#), "{out}");
    assert_eq!(
        count(
            dir.path(),
            "SELECT count(*) FROM events WHERE id = 'evt_chunked'"
        ),
        1
    );

    // HEAD: the GET endpoints answer it without a body; the webhook says what it takes.
    let head = |path: &str| {
        let mut s = TcpStream::connect(&server.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            s,
            "HEAD {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            server.addr
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    };
    let health = head("/healthz");
    assert!(health.starts_with("HTTP/1.1 200 OK\r\n"), "{health}");
    assert!(health.ends_with("\r\n\r\n"), "no body: {health:?}");
    assert!(
        health.to_ascii_lowercase().contains("\r\ndate: "),
        "{health}"
    );
    let webhook = head("/webhook");
    assert!(
        webhook.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"),
        "{webhook}"
    );
    assert!(
        webhook.to_ascii_lowercase().contains("\r\nallow: post\r\n"),
        "{webhook}"
    );
    assert!(webhook.ends_with("\r\n\r\n"), "no body: {webhook:?}");
    server.stop();
}
