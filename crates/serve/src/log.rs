//! Structured logs: one JSON object per line on stderr, with `ts`, `level` and `msg`
//! first. Secrets are never logged.
//!
//! While a [`Buffered`] guard lives (the server holds one), lines are not written by
//! the thread that logs them, which may be answering a request: they are appended
//! to a buffer that a thread of its own writes to stderr, many lines at a time, at
//! most [`DELAY`] after the first of them; dropping the guard writes what is left.
//! Without a guard, each line is written at once.

use std::io::Write;
use std::sync::{Condvar, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{Map, Value as Json};

use super::time;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// Write one log line. `fields` is a JSON object (anything else is put under `data`).
pub fn log(level: Level, msg: &str, fields: Json) {
    let mut line = Map::new();
    line.insert("ts".into(), Json::String(time::rfc3339_ms(time::now_ms())));
    line.insert("level".into(), Json::String(level.as_str().into()));
    line.insert("msg".into(), Json::String(msg.into()));
    match fields {
        Json::Object(m) => line.extend(m),
        Json::Null => {}
        other => {
            line.insert("data".into(), other);
        }
    }
    let mut text = Json::Object(line).to_string();
    text.push('\n');
    if let Some(buffer) = BUFFER.get() {
        if let Ok(mut pending) = buffer.pending.lock() {
            if pending.on {
                pending.text.extend_from_slice(text.as_bytes());
                if pending.idle {
                    pending.idle = false;
                    buffer.wake.notify_one();
                }
                return;
            }
        }
    }
    write_out(text.as_bytes());
}

fn write_out(bytes: &[u8]) {
    let stderr = std::io::stderr();
    let mut out = stderr.lock();
    let _ = out.write_all(bytes);
}

/// The longest a buffered line waits before it is written.
pub const DELAY: Duration = Duration::from_millis(2);

/// Lines waiting for the log's thread.
struct Buffer {
    pending: Mutex<Pending>,
    wake: Condvar,
}

#[derive(Default)]
struct Pending {
    /// Lines are buffered (a guard lives).
    on: bool,
    /// The log's thread waits for a line (rather than writing, or collecting).
    idle: bool,
    text: Vec<u8>,
}

static BUFFER: OnceLock<Buffer> = OnceLock::new();

/// While it lives, log lines are written by a thread of their own ([module
/// docs](self)). One at a time: a second guard made while one lives buffers nothing
/// of its own.
pub struct Buffered {
    thread: Option<JoinHandle<()>>,
}

impl Buffered {
    pub fn start() -> Buffered {
        let buffer = BUFFER.get_or_init(|| Buffer {
            pending: Mutex::new(Pending::default()),
            wake: Condvar::new(),
        });
        match buffer.pending.lock() {
            Ok(mut p) if !p.on => {
                p.on = true;
                p.idle = false;
            }
            _ => return Buffered { thread: None },
        }
        let thread = std::thread::Builder::new()
            .name("log".into())
            .spawn(move || write_loop(buffer));
        match thread {
            Ok(t) => Buffered { thread: Some(t) },
            Err(_) => {
                // No thread: lines are written at once, as without a guard.
                if let Ok(mut p) = buffer.pending.lock() {
                    p.on = false;
                }
                Buffered { thread: None }
            }
        }
    }
}

impl Drop for Buffered {
    fn drop(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        if let Some(buffer) = BUFFER.get() {
            if let Ok(mut p) = buffer.pending.lock() {
                p.on = false;
            }
            buffer.wake.notify_one();
        }
        let _ = thread.join();
    }
}

/// The log's thread: wait for a line, let more gather for [`DELAY`], write them all;
/// once buffering is off, write what is left and end.
fn write_loop(buffer: &Buffer) {
    let mut spare = Vec::new();
    loop {
        let Ok(mut p) = buffer.pending.lock() else {
            return;
        };
        while p.on && p.text.is_empty() {
            p.idle = true;
            p = match buffer.wake.wait(p) {
                Ok(p) => p,
                Err(_) => return,
            };
        }
        p.idle = false;
        let on = p.on;
        drop(p);
        if on {
            std::thread::sleep(DELAY);
        }
        let Ok(mut p) = buffer.pending.lock() else {
            return;
        };
        std::mem::swap(&mut p.text, &mut spare);
        let on = p.on;
        drop(p);
        write_out(&spare);
        spare.clear();
        if !on {
            // Lines logged after the guard went are written at once by whoever logs them.
            return;
        }
    }
}

pub fn info(msg: &str, fields: Json) {
    log(Level::Info, msg, fields)
}

pub fn warn(msg: &str, fields: Json) {
    log(Level::Warn, msg, fields)
}

pub fn error(msg: &str, fields: Json) {
    log(Level::Error, msg, fields)
}
