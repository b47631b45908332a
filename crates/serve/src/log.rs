//! Structured logs: one JSON object per line on stderr, with `ts`, `level` and `msg`
//! first. Secrets are never logged.

use std::io::Write;

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
    let stderr = std::io::stderr();
    let mut out = stderr.lock();
    let _ = out.write_all(text.as_bytes());
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
