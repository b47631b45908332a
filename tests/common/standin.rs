//! A scripted HTTP server on loopback, served from inside a test, standing in for an
//! API that `flow run --live` calls (Stripe, Slack, a webhook receiver): it answers
//! from a script and records every request it sees.
//!
//! A test includes it with `#[path = "common/standin.rs"] mod standin;` and scripts
//! it with one list of replies per route, `(verb, path, replies)`:
//!
//! ```ignore
//! let stripe = StandIn::start(Script {
//!     routes: vec![("POST", "/v1/refunds", vec![failed, refunded])],
//!     otherwise: Reply::Answer(404, vec![], "{}".into()),
//!     match_query: false,
//! });
//! // … run flow against stripe.url("") …
//! assert_eq!(stripe.seen().len(), 2);
//! ```
//!
//! The replies of a route are given in order, one per request, and the last one
//! repeats. The verb `"*"` takes any verb. A request no route takes gets
//! `otherwise`. A reply can also hold the connection open without answering
//! ([`Reply::Hang`]) or be made from the request ([`Reply::Made`]).
//!
//! [`StandIn::seen`] gives every request received so far, in order: verb, target,
//! headers (names lowercased), body and when it came. The server stops when the
//! `StandIn` is dropped.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value as Json;

/// What the stand-in does with one request.
#[derive(Clone)]
pub enum Reply {
    /// Status, headers, body. Sent with `Content-Type: application/json` unless the
    /// headers name another `Content-Type`.
    Answer(u16, Vec<(&'static str, String)>, String),
    /// Never answer: the connection stays open until the stand-in stops.
    Hang,
    /// The reply made from the request (e.g. one quoting a header back).
    Made(fn(&Seen) -> Reply),
}

/// One request the stand-in received.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    /// The request target as sent: the path, still escaped, and the query.
    pub target: String,
    /// Header names lowercased.
    pub headers: HashMap<String, String>,
    pub body: String,
    pub at: Instant,
}

impl Seen {
    /// The value of header `name`, in any case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// The target's path, the query left out.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    pub fn json(&self) -> Json {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

/// How the stand-in answers.
pub struct Script<'a> {
    /// `(verb, path, replies)`: the replies in order, the last one repeating. The
    /// verb `"*"` takes any verb.
    pub routes: Vec<(&'a str, &'a str, Vec<Reply>)>,
    /// The reply to a request no route takes.
    pub otherwise: Reply,
    /// Whether a route's path is matched against the whole target, query included,
    /// rather than against the target's path.
    pub match_query: bool,
}

pub struct StandIn {
    pub port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl StandIn {
    /// Bind 127.0.0.1 on a free port and serve `script` from a thread.
    pub fn start(script: Script) -> StandIn {
        let server = tiny_http::Server::http("127.0.0.1:0").expect("bind the stand-in");
        let port = server.server_addr().to_ip().expect("an IP address").port();
        let mut routes: HashMap<String, (Vec<Reply>, usize)> = script
            .routes
            .into_iter()
            .map(|(verb, path, replies)| (format!("{verb} {path}"), (replies, 0)))
            .collect();
        let (otherwise, match_query) = (script.otherwise, script.match_query);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen2, stop2) = (seen.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            while !stop2.load(Ordering::SeqCst) {
                let Ok(Some(mut req)) = server.recv_timeout(Duration::from_millis(20)) else {
                    continue;
                };
                let mut body = String::new();
                let _ = req.as_reader().read_to_string(&mut body);
                let headers = req
                    .headers()
                    .iter()
                    .map(|h| {
                        (
                            h.field.as_str().as_str().to_ascii_lowercase(),
                            h.value.as_str().to_string(),
                        )
                    })
                    .collect();
                let seen = Seen {
                    method: req.method().to_string(),
                    target: req.url().to_string(),
                    headers,
                    body,
                    at: Instant::now(),
                };
                let path = if match_query {
                    seen.target.as_str()
                } else {
                    seen.path()
                };
                let key = [format!("{} {path}", seen.method), format!("* {path}")]
                    .into_iter()
                    .find(|key| routes.contains_key(key));
                let mut reply = match key.map(|key| routes.get_mut(&key).expect("a route")) {
                    Some((replies, n)) => {
                        let r = replies[(*n).min(replies.len() - 1)].clone();
                        *n += 1;
                        r
                    }
                    None => otherwise.clone(),
                };
                seen2
                    .lock()
                    .expect("the log of requests")
                    .push(seen.clone());
                while let Reply::Made(make) = reply {
                    reply = make(&seen);
                }
                match reply {
                    Reply::Answer(status, headers, body) => {
                        let mut resp = tiny_http::Response::from_string(body)
                            .with_status_code(status)
                            .with_header(
                                tiny_http::Header::from_bytes("Content-Type", "application/json")
                                    .expect("a header"),
                            );
                        for (k, v) in headers {
                            resp = resp.with_header(
                                tiny_http::Header::from_bytes(k, v).expect("a header"),
                            );
                        }
                        let _ = req.respond(resp);
                    }
                    Reply::Hang => held.push(req),
                    Reply::Made(_) => unreachable!("made above"),
                }
            }
        });
        StandIn {
            port,
            seen,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Every request received so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("the log of requests").clone()
    }

    /// The only request received.
    pub fn one(&self) -> Seen {
        let seen = self.seen();
        assert_eq!(
            seen.len(),
            1,
            "expected exactly one request, got {:#?}",
            seen.iter()
                .map(|s| format!("{} {}", s.method, s.target))
                .collect::<Vec<_>>()
        );
        seen.into_iter().next().expect("one request")
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
