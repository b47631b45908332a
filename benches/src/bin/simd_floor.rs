//! The floor of decoding: read the events file line by line, as `flow run --events`
//! does, and find in each line only the fields the Tag valuable customers template
//! reads (`id`, `object`, `type`, `data.object.amount`, `data.object.currency`,
//! `data.object.customer`) with a SIMD JSON scanner (sonic-rs `get_many`), without
//! building a tree; then test its condition (`amount > 100000` and `currency ==
//! "usd"`) so that nothing is optimized away (`simd_floor EVENTS.jsonl`).
//!
//! sonic-rs picks its SIMD instructions when it is compiled (target features): in
//! the project's ordinary build (no `-C target-cpu`), that is SSE2 on x86-64, which
//! every x86-64 processor has.

use std::io::{BufRead, BufReader};

use sonic_rs::{JsonValueTrait, PointerTree};

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
    let mut tree = PointerTree::new();
    for p in [
        &["id"][..],
        &["object"],
        &["type"],
        &["data", "object", "amount"],
        &["data", "object", "currency"],
        &["data", "object", "customer"],
    ] {
        tree.add_path(p.iter().copied());
    }
    let mut input = BufReader::with_capacity(1 << 20, file);
    let mut line = Vec::new();
    let (mut events, mut selected, mut bad) = (0u64, 0u64, 0u64);
    loop {
        line.clear();
        match input.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                eprintln!("cannot read {path}: {e}");
                std::process::exit(2);
            }
        }
        let Ok(text) = std::str::from_utf8(&line) else {
            bad += 1;
            continue;
        };
        match sonic_rs::get_many(text, &tree) {
            Ok(found) => {
                events += 1;
                let field = |i: usize| found.get(i).and_then(Option::as_ref);
                let amount = field(3).and_then(|v| v.as_i64()).unwrap_or(0);
                let usd = field(4).and_then(|v| v.as_str()) == Some("usd");
                selected += u64::from(amount > 100_000 && usd);
            }
            Err(_) => bad += 1,
        }
    }
    eprintln!("{events} events, {selected} selected, {bad} bad lines");
}
