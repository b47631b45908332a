//! Side by side, on the same data: condition evaluation with flow (its typed slots,
//! and its VM alone), CEL (the `cel` crate), Rhai, a hand-written closure over the
//! `serde_json::Value` and one over a typed struct of the fields (the floor); and
//! check + compile of a file of 10,000 workflows. `cargo bench -p flow-benches` (scripts/bench.sh runs it all
//! and prints one table).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::Value as Json;

use flow::bindings::Recording;
use flow::compile::Program;
use flow::program::TypedCond;
use flow::settings::Settings;
use flow::syntax::SourceFile;
use flow::vm::{self, Event, SlotFrame, Value};
use flow_benches::{Condition, Rng, TypedEvent, CONDITIONS};

/// Compile a condition on `payment_intent.succeeded` into a program that leaves
/// its value.
fn flow_program(text: &str) -> Program {
    let expr = flow::syntax::parse_expr(text).expect("the condition parses");
    let mut checker = flow::check::Checker::new(flow::check::Env::new(flow::stdlib::builtin()));
    checker.set_object(Some("payment_intent".into()));
    let typed = checker.condition(&expr, "the condition");
    assert!(
        checker.diagnostics.iter().all(|d| !d.is_error()),
        "{text}: {:?}",
        checker.diagnostics
    );
    flow::compile::compile_expr(&typed, checker.locals_count())
}

fn flow_eval(p: &Program, event: &Event, bindings: &mut Recording) -> bool {
    let mut locals = Vec::new();
    matches!(
        vm::eval(p, None, event, &mut locals, bindings).0,
        Ok(Some(Value::Bool(true)))
    )
}

/// The condition from slots decoded beforehand, as `vm::eval` answers it; the VM
/// when the slots hold something the typed form leaves to it.
fn flow_slots(cond: &TypedCond, frame: &SlotFrame<'_>) -> bool {
    vm::eval_typed(cond, frame) == Some(true)
}

struct Engines {
    flow: Program,
    /// The same program without its typed form: the VM's instructions alone.
    flow_vm: Program,
    cel: cel::Program,
    rhai: rhai::AST,
}

fn engines(c: &Condition, rhai_engine: &rhai::Engine) -> Engines {
    let flow = flow_program(c.flow);
    let mut flow_vm = flow.clone();
    flow_vm.typed = None;
    Engines {
        flow,
        flow_vm,
        cel: cel::Program::compile(c.cel).expect("the CEL condition parses"),
        rhai: rhai_engine
            .compile_expression(c.rhai)
            .expect("the Rhai condition parses"),
    }
}

fn conditions(cr: &mut Criterion) {
    let json = flow_benches::timed_event();
    // Each engine gets the event decoded once, into its own representation.
    let event = Event::from_json(json.clone(), None).expect("an event");
    let typed = TypedEvent::decode(&json).expect("the typed fields decode");
    let mut cel_cx = cel::Context::default();
    cel_cx
        .add_variable("event", &json)
        .expect("CEL takes the event");
    let rhai_engine = rhai::Engine::new();
    let mut scope = rhai::Scope::new();
    scope.push_constant(
        "event",
        rhai::serde::to_dynamic(&json).expect("Rhai takes the event"),
    );
    let mut bindings = Recording::new();

    // All agree on a spread of events before anything is timed.
    let mut agree_rng = Rng(7);
    let samples: Vec<Json> = (0..200)
        .map(|n| flow_benches::payment_event(&mut agree_rng, n))
        .collect();
    for c in &CONDITIONS {
        let e = engines(c, &rhai_engine);
        let mut outcomes = [0usize; 3];
        for j in &samples {
            let want = (c.closure)(j);
            outcomes[usize::from(want)] += 1;
            let ev = Event::from_json(j.clone(), None).expect("an event");
            let t = TypedEvent::decode(j).expect("the typed fields decode");
            assert_eq!((c.typed)(&t), want, "typed closure: {}", c.name);
            assert_eq!(
                flow_eval(&e.flow, &ev, &mut bindings),
                want,
                "flow: {}",
                c.name
            );
            assert_eq!(
                flow_eval(&e.flow_vm, &ev, &mut bindings),
                want,
                "flow VM: {}",
                c.name
            );
            // From the slots alone; money in another currency than the constant's
            // is left to the VM (checked above, through `vm::eval`).
            let cond = e.flow.typed.as_ref().expect("a typed condition");
            match vm::eval_typed(cond, &SlotFrame::decode(&cond.layout, &ev)) {
                Some(b) => assert_eq!(b, want, "flow slots: {}", c.name),
                None => outcomes[2] += 1,
            }
            let mut cx = cel::Context::default();
            cx.add_variable("event", j).expect("CEL takes the event");
            assert_eq!(
                e.cel.execute(&cx).expect("CEL runs"),
                cel::Value::Bool(want),
                "CEL: {}",
                c.name
            );
            let mut sc = rhai::Scope::new();
            sc.push_constant("event", rhai::serde::to_dynamic(j).expect("Rhai takes it"));
            assert_eq!(
                rhai_engine
                    .eval_ast_with_scope::<bool>(&mut sc, &e.rhai)
                    .expect("Rhai runs"),
                want,
                "Rhai: {}",
                c.name
            );
        }
        eprintln!(
            "{}: {} true, {} false of {} events ({} left by the slots to the VM); flow, CEL, Rhai and both closures agree",
            c.name,
            outcomes[1],
            outcomes[0],
            samples.len(),
            outcomes[2]
        );
    }

    for c in &CONDITIONS {
        let e = engines(c, &rhai_engine);
        let mut g = cr.benchmark_group(format!("cond_{}", c.name));
        g.warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2));
        let cond = e.flow.typed.as_ref().expect("a typed condition");
        // Decoded once, as every other engine gets the event.
        let frame = SlotFrame::decode(&cond.layout, &event);
        // What is timed is an answer from the slots, never a hand-over to the VM.
        assert_eq!(
            vm::eval_typed(cond, &frame),
            Some((c.closure)(&json)),
            "{}: the timed event is not answered from the slots",
            c.name
        );
        g.bench_function("flow", |b| {
            b.iter(|| flow_slots(black_box(cond), black_box(&frame)))
        });
        g.bench_function("flow_decode", |b| {
            b.iter(|| {
                let cond = black_box(cond);
                flow_slots(cond, &SlotFrame::decode(&cond.layout, black_box(&event)))
            })
        });
        g.bench_function("flow_vm", |b| {
            b.iter(|| flow_eval(black_box(&e.flow_vm), black_box(&event), &mut bindings))
        });
        g.bench_function("cel", |b| b.iter(|| e.cel.execute(black_box(&cel_cx))));
        g.bench_function("rhai", |b| {
            b.iter(|| {
                rhai_engine
                    .eval_ast_with_scope::<bool>(&mut scope, black_box(&e.rhai))
                    .unwrap_or(false)
            })
        });
        g.bench_function("closure", |b| b.iter(|| (c.closure)(black_box(&json))));
        g.bench_function("typed", |b| b.iter(|| (c.typed)(black_box(&typed))));
        g.finish();
    }
}

fn check_compile(cr: &mut Criterion) {
    let source = SourceFile::new("many.flow", flow_benches::many_workflows(10_000));
    let settings = Settings::default();
    let build = flow::build(&source, &settings, "many");
    assert!(
        build.diagnostics.is_empty(),
        "{:?}",
        build.diagnostics.first()
    );
    assert_eq!(build.compiled.programs.len(), 10_000);
    let mut g = cr.benchmark_group("check_compile");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5));
    g.bench_function("10000_workflows", |b| {
        b.iter(|| flow::build(black_box(&source), &settings, "many"))
    });
    g.finish();
}

criterion_group!(benches, conditions, check_compile);
criterion_main!(benches);
