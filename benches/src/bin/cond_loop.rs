//! Evaluate one condition many times, for counting instructions and cycles with
//! `perf stat`: `cond_loop NAME flow|closure N`.

use std::hint::black_box;

use flow::bindings::Recording;
use flow::vm::{self, Event, Value};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = || -> ! {
        eprintln!("usage: cond_loop int_eq|string_eq|range|in_set|and3|money_gt flow|closure N");
        std::process::exit(2)
    };
    let (Some(name), Some(engine)) = (args.get(1), args.get(2)) else {
        usage()
    };
    let n: u64 = args
        .get(3)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let Some(c) = flow_benches::CONDITIONS.iter().find(|c| c.name == name) else {
        usage()
    };
    let json = flow_benches::payment_event(&mut flow_benches::Rng(0x9e37_79b9_7f4a_7c15), 0);
    let event = Event::from_json(json.clone(), None).expect("an event");
    let expr = flow::syntax::parse_expr(c.flow).expect("parses");
    let mut checker = flow::check::Checker::new(flow::check::Env::new(flow::stdlib::builtin()));
    checker.set_object(Some("payment_intent".into()));
    let typed = checker.condition(&expr, "the condition");
    let p = flow::compile::compile_expr(&typed, 0);
    let mut bindings = Recording::new();
    let mut t = 0u64;
    for _ in 0..n {
        let b = if engine == "flow" {
            let mut locals = Vec::new();
            matches!(
                vm::eval(
                    black_box(&p),
                    None,
                    black_box(&event),
                    &mut locals,
                    &mut bindings
                )
                .0,
                Ok(Some(Value::Bool(true)))
            )
        } else {
            (c.closure)(black_box(&json))
        };
        t += u64::from(b);
    }
    println!("{t}");
}
