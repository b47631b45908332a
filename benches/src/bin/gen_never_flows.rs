//! Write a flow file of workflows on `payment_intent.succeeded` whose `when` is
//! never true on the generated events (`gen_events`), each with its own constants:
//! `gen_never_flows COUNT OUT.flow`. The cost of many workflows that are all skipped.

use std::fmt::Write;

fn main() {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(1_000);
    let path = args.next().unwrap_or_else(|| "never.flow".into());
    let mut s = String::with_capacity(count * 200);
    for i in 0..count {
        // Generated amounts are at most 10,000.00: no event passes the first test.
        let _ = write!(
            s,
            "workflow \"Never {i}\"\non payment_intent.succeeded\nwhen amount > {} USD and currency == EUR {{\n    email to: \"ops@example.com\", body: \"Never ({i}).\"\n}}\n\n",
            99_999_999 + i
        );
    }
    if let Err(e) = std::fs::write(&path, s) {
        eprintln!("cannot write {path}: {e}");
        std::process::exit(2);
    }
}
