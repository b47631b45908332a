//! Evaluate one condition many times, for counting instructions and cycles with
//! `perf stat`: `cond_loop NAME ENGINE N`. ENGINE is `flow` (`vm::eval`), `vm`
//! (`vm::eval` of the program without its typed form), `slots` (the typed condition
//! over slots decoded once), `decode` (decoding the slots from the event, then the
//! typed condition), `typed` (the closure over a typed struct) or `closure` (the
//! closure over the `serde_json::Value`).

use std::hint::black_box;

use flow::bindings::Recording;
use flow::vm::{self, Event, SlotFrame, Value};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = || -> ! {
        eprintln!(
            "usage: cond_loop int_eq|string_eq|range|in_set|and3|money_gt flow|vm|slots|decode|typed|closure N"
        );
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
    let json = flow_benches::timed_event();
    let event = Event::from_json(json.clone(), None).expect("an event");
    let typed = flow_benches::TypedEvent::decode(&json).expect("the typed fields decode");
    let expr = flow::syntax::parse_expr(c.flow).expect("parses");
    let mut checker = flow::check::Checker::new(flow::check::Env::new(flow::stdlib::builtin()));
    checker.set_object(Some("payment_intent".into()));
    let typed_expr = checker.condition(&expr, "the condition");
    let p = flow::compile::compile_expr(&typed_expr, 0);
    let mut plain = p.clone();
    plain.typed = None;
    let Some(cond) = p.typed.as_ref() else {
        eprintln!("{name}: no typed form");
        std::process::exit(1)
    };
    let frame = SlotFrame::decode(&cond.layout, &event);
    let mut bindings = Recording::new();
    let mut vm_eval = |p: &flow::compile::Program| {
        let mut locals = Vec::new();
        matches!(
            vm::eval(
                black_box(p),
                None,
                black_box(&event),
                &mut locals,
                &mut bindings
            )
            .0,
            Ok(Some(Value::Bool(true)))
        )
    };
    let t = match engine.as_str() {
        "flow" => repeat(n, || vm_eval(&p)),
        "vm" => repeat(n, || vm_eval(&plain)),
        "slots" => repeat(n, || {
            vm::eval_typed(black_box(cond), black_box(&frame)) == Some(true)
        }),
        "decode" => repeat(n, || {
            let cond = black_box(cond);
            vm::eval_typed(cond, &SlotFrame::decode(&cond.layout, black_box(&event))) == Some(true)
        }),
        "typed" => repeat(n, || (c.typed)(black_box(&typed))),
        "closure" => repeat(n, || (c.closure)(black_box(&json))),
        _ => usage(),
    };
    println!("{t}");
}

/// How many of `n` calls of `f` were true.
fn repeat(n: u64, mut f: impl FnMut() -> bool) -> u64 {
    let mut t = 0u64;
    for _ in 0..n {
        t += u64::from(f());
    }
    t
}
