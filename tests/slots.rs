//! Conditions answered from typed slots (`Program::typed`) give exactly what the
//! ordinary instructions give: the same value or the same error, and the same run
//! report, on every example and template and on generated events with fields of
//! every shape (missing, null, of the wrong type, in other currencies, expanded
//! objects, lists on the way). The reference is the same program with its typed
//! form taken away.

mod common;

use serde_json::{json, Map, Value as Json};

use flow::bindings::Recording;
use flow::compile::Program;
use flow::program::{Key, Node, SlotKind, SlotSpec};
use flow::settings::Settings;
use flow::syntax::SourceFile;
use flow::vm::{self, Event, Slot, SlotFrame};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }
}

/// The program without its typed form: the ordinary instructions only.
fn untyped(p: &Program) -> Program {
    let mut p = p.clone();
    p.typed = None;
    p
}

fn keys_of(n: &Node, out: &mut Vec<(u16, Key)>) {
    match n {
        Node::Test { slot, key, .. } => out.push((*slot, key.clone())),
        Node::AnyOf { slot, keys, .. } => out.extend(keys.iter().map(|k| (*slot, k.clone()))),
        Node::Truth { .. } => {}
        Node::Not(inner) => keys_of(inner, out),
        Node::All(parts) | Node::Any(parts) => parts.iter().for_each(|p| keys_of(p, out)),
    }
}

/// Values worth trying for a slot: around its constants, of the right type and of
/// others. `None`: the key is left out.
fn candidates(spec: &SlotSpec, keys: &[Key]) -> Vec<Option<Json>> {
    let mut v: Vec<Option<Json>> = vec![None, Some(Json::Null), Some(json!([1]))];
    for k in keys {
        match k {
            Key::Int(i) => {
                v.extend([i.saturating_sub(1), *i, i.saturating_add(1)].map(|x| Some(json!(x))))
            }
            Key::Money(m) => v.extend(
                [
                    m.minor.saturating_sub(1),
                    m.minor,
                    m.minor.saturating_add(1),
                ]
                .map(|x| Some(json!(x))),
            ),
            Key::Str(s) => v.push(Some(json!(&**s))),
            Key::Currency(c) => v.push(Some(json!(c.code().to_lowercase()))),
            Key::Bool(_) | Key::Null => {}
        }
    }
    match spec.kind {
        SlotKind::Int | SlotKind::Money => v.extend(
            [
                json!(0),
                json!(-5),
                json!(1.5),
                json!("12"),
                json!(u64::MAX),
                json!(true),
            ]
            .map(Some),
        ),
        SlotKind::Str => {
            v.extend([json!(""), json!("other"), json!(3), json!({"id": "x"})].map(Some))
        }
        SlotKind::Ref => {
            let id = keys
                .iter()
                .find_map(|k| match k {
                    Key::Str(s) => Some(s.to_string()),
                    _ => None,
                })
                .unwrap_or_else(|| "cus_A1".into());
            v.extend(
                [
                    json!("cus_B2"),
                    json!({"id": id, "object": "customer", "email": "a@example.com"}),
                    json!({"id": "cus_C3", "object": "customer"}),
                    json!({"object": "customer"}),
                    json!({"id": 7}),
                    json!(7),
                ]
                .map(Some),
            )
        }
        SlotKind::Bool => v.extend([json!(true), json!(false), json!("false"), json!(0)].map(Some)),
        SlotKind::Currency => v.extend(
            [
                json!("usd"),
                json!("eur"),
                json!("jpy"),
                json!("USD"),
                json!("us"),
                json!(3),
            ]
            .map(Some),
        ),
    }
    v
}

fn currencies(keys: &[Key]) -> Vec<Option<Json>> {
    let mut v: Vec<Option<Json>> = [
        json!("usd"),
        json!("eur"),
        json!("jpy"),
        json!("xx"),
        json!(3),
        Json::Null,
    ]
    .into_iter()
    .map(Some)
    .collect();
    v.push(None);
    for k in keys {
        if let Key::Money(m) = k {
            v.push(Some(json!(m.currency.code().to_lowercase())));
            v.push(Some(json!(m.currency.code().to_lowercase())));
        }
    }
    v
}

/// Put `value` at `path` under `root`, making objects on the way; now and then an
/// object on the way is something else (null, a string, a list).
fn set(root: &mut Json, path: &[String], value: Option<Json>, rng: &mut Rng) {
    let mut cur = root;
    for (i, key) in path.iter().enumerate() {
        let Json::Object(map) = cur else { return };
        if i + 1 == path.len() {
            match value {
                Some(v) => {
                    map.insert(key.clone(), v);
                }
                None => {
                    map.remove(key);
                }
            }
            return;
        }
        if !map.contains_key(key) {
            let step = match rng.below(12) {
                0 => Json::Null,
                1 => json!("text"),
                2 => json!([{}]),
                _ => Json::Object(Map::new()),
            };
            map.insert(key.clone(), step);
        }
        cur = match map.get_mut(key) {
            Some(c) => c,
            None => return,
        };
    }
}

/// `n` events for the fields the program's typed condition reads.
fn events_for(p: &Program, n: usize, rng: &mut Rng) -> Vec<Event> {
    let Some(cond) = &p.typed else {
        return Vec::new();
    };
    let mut keys = Vec::new();
    keys_of(cond.root(), &mut keys);
    let trigger = if p.trigger.contains('.') {
        p.trigger.clone()
    } else {
        "payment_intent.succeeded".to_string()
    };
    (0..n)
        .map(|i| {
            let mut ev = json!({"id": format!("evt_{i}"), "object": "event", "type": trigger,
                                "created": 1_764_000_000, "livemode": false,
                                "data": {"object": {"id": "obj_1"}}});
            for (s, spec) in cond.layout.slots.iter().enumerate() {
                let mine: Vec<Key> = keys
                    .iter()
                    .filter(|(k, _)| *k as usize == s)
                    .map(|(_, k)| k.clone())
                    .collect();
                let value = rng.pick(&candidates(spec, &mine));
                let root = match spec.root {
                    flow::program::Root::Event => &mut ev,
                    _ => &mut ev["data"]["object"],
                };
                set(root, &spec.path, value, rng);
                if spec.kind == SlotKind::Money {
                    let c = rng.pick(&currencies(&mine));
                    let root = match spec.root {
                        flow::program::Root::Event => &mut ev,
                        _ => &mut ev["data"]["object"],
                    };
                    set(root, &spec.currency_path, c, rng);
                }
            }
            Event {
                json: ev,
                // Now and then a test's event, where a missing field is an error.
                strict: rng.below(8) == 0,
                now: Some(1_764_500_000),
                wake_by: None,
            }
        })
        .collect()
}

/// Every workflow of a file run both ways on generated events gives the same
/// report; returns (programs with a typed `when`, runs answered from slots).
fn same_runs(path: &std::path::Path, rng: &mut Rng) -> (usize, usize) {
    let text = std::fs::read_to_string(path).unwrap();
    let source = SourceFile::new(path.display().to_string(), text);
    let b = flow::build(&source, &Settings::default(), "slots");
    assert!(!b.has_errors(), "{}: {:?}", path.display(), b.diagnostics);
    let (mut typed, mut answered) = (0, 0);
    for p in &b.compiled.programs {
        let Some(cond) = &p.typed else { continue };
        typed += 1;
        let plain = untyped(p);
        for e in events_for(p, 400, rng) {
            let decoded = SlotFrame::decode(&cond.layout, &e);
            let a = vm::run_with_slots(p, &source, &e, &decoded, &mut Recording::new()).to_json();
            let b = vm::run(&plain, &source, &e, &mut Recording::new()).to_json();
            assert_eq!(a, b, "{}: {} on {}", path.display(), p.name, e.json);
            assert_eq!(vm::run(p, &source, &e, &mut Recording::new()).to_json(), b);
            // The same through a frame filled pair by pair, as another decoder would.
            let pairs: Vec<(usize, Slot)> = (0..decoded.len())
                .filter_map(|i| decoded.get(i).map(|s| (i, s)))
                .collect();
            let frame = SlotFrame::from_pairs(&cond.layout, pairs);
            assert_eq!(frame, decoded);
            let c = vm::run_with_slots(p, &source, &e, &frame, &mut Recording::new()).to_json();
            assert_eq!(c, b, "{}: {} on {}", path.display(), p.name, e.json);
            answered += usize::from(!e.strict && vm::eval_typed(cond, &frame).is_some());
        }
    }
    (typed, answered)
}

#[test]
fn examples_and_templates_run_the_same_from_slots() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut rng = Rng(0x5107_5107_dead_beef);
    let (mut files, mut typed, mut answered) = (0, 0, 0);
    for dir in ["examples", "stdlib/templates"] {
        let mut paths: Vec<_> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.extension().is_some_and(|x| x == "flow")
                    && !p.to_string_lossy().ends_with(".test.flow")
            })
            .collect();
        paths.sort();
        for path in paths {
            let (t, a) = same_runs(&path, &mut rng);
            files += 1;
            typed += t;
            answered += a;
        }
    }
    assert!(files >= 15, "{files} files");
    // Most `when`s of the examples are typed, and most generated runs of those are
    // answered from slots (the rest fall back and must still agree).
    assert!(typed >= 5, "{typed} typed conditions");
    assert!(answered > typed * 40, "{answered} runs answered from slots");
}

fn condition(text: &str) -> Program {
    common::condition_program(text)
}

fn eval(p: &Program, e: &Event) -> String {
    let (r, actions) = vm::eval(p, None, e, &mut Vec::new(), &mut Recording::new());
    assert!(actions.is_empty());
    format!("{r:?}")
}

/// The condition from its slots where they answer (not for a test's strict event),
/// else from the instructions.
fn eval_slots(p: &Program, e: &Event) -> String {
    if let Some(cond) = p.typed.as_ref().filter(|_| !e.strict) {
        if let Some(b) = vm::eval_typed(cond, &SlotFrame::decode(&cond.layout, e)) {
            let r: Result<Option<flow::vm::Value>, flow::vm::RunError> =
                Ok(Some(flow::vm::Value::Bool(b)));
            return format!("{r:?}");
        }
    }
    eval(p, e)
}

/// Conditions on their own (as the benchmarks and the REPL evaluate them): the
/// same value or the same error, both ways.
#[test]
fn conditions_answer_from_slots_as_the_instructions_do() {
    const CONDITIONS: &[&str] = &[
        "event.pending_webhooks == 1",
        "status == \"succeeded\"",
        "created >= 1764000000 and created < 1765000000",
        "currency in [USD, EUR, GBP]",
        "status == \"succeeded\" and livemode == false and customer != null",
        "amount > 1000 USD",
        "1000 USD < amount",
        "amount >= 5000 JPY or amount == 10 USD",
        "amount in [1000 USD, 5000 JPY]",
        "not (status != \"processing\")",
        "livemode",
        "not livemode and customer == \"cus_A1\"",
        "customer in [\"cus_A1\", null]",
        "description == null or description != \"Order #4\"",
        "metadata.channel == \"web\"",
        "canceled_at == null",
        "canceled_at > 1764000000",
        "receipt_email != null",
        "currency != EUR and (livemode == true or amount <= 100 USD)",
        "event.livemode == false and event.created > 1764000000",
    ];
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    for text in CONDITIONS {
        let p = condition(text);
        let cond = p
            .typed
            .as_ref()
            .unwrap_or_else(|| panic!("{text}: no typed form"));
        let plain = untyped(&p);
        let (mut answered, mut fell_back) = (0, 0);
        for e in events_for(&p, 3000, &mut rng) {
            assert_eq!(eval_slots(&p, &e), eval(&plain, &e), "{text} on {}", e.json);
            if e.strict {
                continue;
            }
            match vm::eval_typed(cond, &SlotFrame::decode(&cond.layout, &e)) {
                Some(_) => answered += 1,
                None => fell_back += 1,
            }
        }
        assert!(
            answered > 0 && fell_back > 0,
            "{text}: {answered} answered, {fell_back} not"
        );
    }
}

/// What the typed form does not handle is left to the instructions.
#[test]
fn other_conditions_have_no_typed_form() {
    for text in [
        "amount > amount_received",
        "amount * 2 > 1000 USD",
        "contains(description, \"x\")",
        "created > now - 1 day",
        "status == description",
    ] {
        assert!(condition(text).typed.is_none(), "{text}");
    }
    assert!(condition("currency == USD").typed.is_some());
}

/// A condition answered from slots is true, false, or left to the instructions for
/// each kind of surprise a field can hold.
#[test]
fn slots_leave_surprises_to_the_instructions() {
    let p = condition("amount > 1000 USD");
    let cond = p.typed.as_ref().unwrap();
    let answer = |object: Json| {
        let e = Event::from_json(
            json!({"id": "evt_1", "object": "event", "type": "payment_intent.succeeded",
                   "data": {"object": object}}),
            None,
        )
        .unwrap();
        let frame = SlotFrame::decode(&cond.layout, &e);
        vm::eval_typed(cond, &frame)
    };
    assert_eq!(
        answer(json!({"amount": 100001, "currency": "usd"})),
        Some(true)
    );
    assert_eq!(
        answer(json!({"amount": 100000, "currency": "usd"})),
        Some(false)
    );
    // Another currency, a wrong type, a missing required field: not answered here.
    assert_eq!(answer(json!({"amount": 100001, "currency": "eur"})), None);
    assert_eq!(answer(json!({"amount": "100001", "currency": "usd"})), None);
    assert_eq!(answer(json!({"currency": "usd"})), None);
    assert_eq!(answer(json!({"amount": 100001})), None);
}
