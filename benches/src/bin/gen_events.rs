//! Write realistic `payment_intent.succeeded` events, one JSON event per line:
//! `gen_events COUNT OUT.jsonl` (the same file every time: the generator is seeded).

use std::io::{BufWriter, Write};

fn main() {
    let mut args = std::env::args().skip(1);
    let count: u64 = args
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let path = args.next().unwrap_or_else(|| "events.jsonl".into());
    let file = match std::fs::File::create(&path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("cannot write {path}: {e}");
            std::process::exit(2);
        }
    };
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut rng = flow_benches::Rng(0x9e37_79b9_7f4a_7c15);
    let mut bytes = 0u64;
    for n in 0..count {
        let line = flow_benches::payment_event(&mut rng, n).to_string();
        bytes += line.len() as u64 + 1;
        if writeln!(out, "{line}").is_err() {
            eprintln!("cannot write {path}");
            std::process::exit(2);
        }
    }
    if out.flush().is_err() {
        eprintln!("cannot write {path}");
        std::process::exit(2);
    }
    eprintln!(
        "{count} events, {bytes} bytes ({} bytes per event) in {path}",
        bytes / count.max(1)
    );
}
