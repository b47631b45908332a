//! The baseline: parse every line of a file into a `serde_json::Value` and do
//! nothing else (`parse_baseline EVENTS.jsonl`). Reads the way `flow run --events`
//! does (1 MiB buffer, one line at a time).

use std::io::{BufRead, BufReader};

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "events.jsonl".into());
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("cannot read {path}: {e}");
            std::process::exit(2);
        }
    };
    let mut input = BufReader::with_capacity(1 << 20, file);
    let mut line = String::new();
    let (mut objects, mut bad) = (0u64, 0u64);
    loop {
        line.clear();
        match input.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                eprintln!("cannot read {path}: {e}");
                std::process::exit(2);
            }
        }
        match serde_json::from_str::<serde_json::Value>(&line) {
            Ok(v) => objects += u64::from(v.is_object()),
            Err(_) => bad += 1,
        }
    }
    eprintln!("{objects} objects, {bad} bad lines");
}
