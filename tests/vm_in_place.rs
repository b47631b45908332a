//! The VM compares a field with a constant in place, without making values, and
//! looks for `x in [a, b]` without making a list. These tests check that it gives
//! the same answers as the general instructions, over events with fields of every
//! shape: each condition is also written with its operands the other way round
//! (`1000 USD < amount`), which the in-place comparison does not handle.

mod common;

use serde_json::{json, Map, Value as Json};

use flow::bindings::Recording;
use flow::compile::Program;
use flow::vm::{self, Event, Value};

fn program(text: &str) -> Program {
    common::condition_program(text)
}

fn eval(p: &Program, e: &Event) -> Result<Option<bool>, String> {
    let (r, _) = vm::eval(p, None, e, &mut Vec::new(), &mut Recording::new());
    match r {
        Ok(Some(Value::Bool(b))) => Ok(Some(b)),
        Ok(other) => panic!("not a bool: {other:?}"),
        Err(e) => Err(e.message),
    }
}

/// (field op constant, the same with the operands swapped)
const PAIRS: &[(&str, &str)] = &[
    ("amount > 1000 USD", "1000 USD < amount"),
    ("amount >= 1000 USD", "1000 USD <= amount"),
    ("amount < 1000 USD", "1000 USD > amount"),
    ("amount == 1000 USD", "1000 USD == amount"),
    ("amount != 1000 USD", "1000 USD != amount"),
    ("amount > 5000 JPY", "5000 JPY < amount"),
    ("status == \"succeeded\"", "\"succeeded\" == status"),
    ("status != \"succeeded\"", "\"succeeded\" != status"),
    ("description == null", "null == description"),
    ("customer != null", "null != customer"),
    ("customer == \"cus_A1\"", "\"cus_A1\" == customer"),
    ("event.pending_webhooks == 1", "1 == event.pending_webhooks"),
    ("event.pending_webhooks >= 2", "2 <= event.pending_webhooks"),
    ("created >= 1764000000", "1764000000 <= created"),
    ("created < 1765000000", "1765000000 > created"),
    ("canceled_at == null", "null == canceled_at"),
    ("canceled_at > 1", "1 < canceled_at"),
    ("livemode == false", "false == livemode"),
    ("livemode != true", "true != livemode"),
    ("currency == USD", "USD == currency"),
    ("currency != EUR", "EUR != currency"),
    ("receipt_email == null", "null == receipt_email"),
    // Membership, and conditions joined by `and` / `or`: the reference has every
    // constant on the left, where nothing is done in place.
    (
        "currency in [USD, EUR, GBP]",
        "USD == currency or EUR == currency or GBP == currency",
    ),
    (
        "status in [\"succeeded\", \"processing\"]",
        "\"succeeded\" == status or \"processing\" == status",
    ),
    (
        "customer in [\"cus_A1\", null]",
        "\"cus_A1\" == customer or null == customer",
    ),
    (
        "amount in [1000 USD, 5000 JPY]",
        "1000 USD == amount or 5000 JPY == amount",
    ),
    (
        "amount > 1000 USD and status == \"succeeded\" and customer != null",
        "1000 USD < amount and \"succeeded\" == status and null != customer",
    ),
    (
        "created >= 1764000000 and created < 1765000000",
        "1764000000 <= created and 1765000000 > created",
    ),
    (
        "livemode == true or currency != USD",
        "true == livemode or USD != currency",
    ),
    (
        "not (status == \"succeeded\")",
        "not (\"succeeded\" == status)",
    ),
];

struct Rng(u64);

impl Rng {
    fn pick(&mut self, items: &[Option<Json>]) -> Option<Json> {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        items[(self.0 % items.len() as u64) as usize].clone()
    }
}

fn events(n: usize) -> Vec<Event> {
    let mut rng = Rng(0xfeed_beef_1234_5678);
    let mut out = Vec::new();
    let choices: &[(&str, &[Option<Json>])] = &[
        (
            "amount",
            &[
                Some(json!(100000)),
                Some(json!(100001)),
                Some(json!(99999)),
                Some(json!(5000)),
                Some(json!(-1)),
                Some(json!(1.5)),
                Some(json!("100001")),
                Some(Json::Null),
                None,
            ],
        ),
        (
            "currency",
            &[
                Some(json!("usd")),
                Some(json!("USD")),
                Some(json!("eur")),
                Some(json!("jpy")),
                Some(json!("gbp")),
                Some(json!("us")),
                Some(json!(3)),
                Some(Json::Null),
                None,
            ],
        ),
        (
            "status",
            &[
                Some(json!("succeeded")),
                Some(json!("processing")),
                Some(json!("")),
                Some(json!(1)),
                Some(Json::Null),
                None,
            ],
        ),
        (
            "description",
            &[
                Some(json!("Order #4")),
                Some(json!("Order #5")),
                Some(json!("Order #6")),
                Some(json!(5)),
                Some(Json::Null),
                None,
            ],
        ),
        (
            "customer",
            &[
                Some(json!("cus_A1")),
                Some(json!("cus_B2")),
                Some(json!({"id": "cus_A1", "object": "customer"})),
                Some(json!({"object": "customer"})),
                Some(json!(7)),
                Some(Json::Null),
                None,
            ],
        ),
        (
            "created",
            &[
                Some(json!(1764000000)),
                Some(json!(1763999999)),
                Some(json!(1765000000)),
                Some(json!("soon")),
                Some(Json::Null),
                None,
            ],
        ),
        (
            "canceled_at",
            &[
                Some(json!(5)),
                Some(json!(0)),
                Some(json!(true)),
                Some(Json::Null),
                None,
            ],
        ),
        (
            "livemode",
            &[
                Some(json!(true)),
                Some(json!(false)),
                Some(json!("false")),
                Some(Json::Null),
                None,
            ],
        ),
        (
            "receipt_email",
            &[
                Some(json!("a@example.com")),
                Some(json!([])),
                Some(Json::Null),
                None,
            ],
        ),
    ];
    for _ in 0..n {
        let mut obj = Map::new();
        obj.insert("object".into(), json!("payment_intent"));
        for (key, values) in choices {
            if let Some(v) = rng.pick(values) {
                obj.insert(key.to_string(), v);
            }
        }
        let mut ev = json!({"id": "evt_1", "object": "event", "type": "payment_intent.succeeded",
                            "data": {"object": Json::Object(obj)}});
        if let Some(v) = rng.pick(&[
            Some(json!(1)),
            Some(json!(2)),
            Some(json!("1")),
            Some(Json::Null),
            None,
        ]) {
            ev["pending_webhooks"] = v;
        }
        out.push(Event::from_json(ev, None).unwrap());
    }
    out
}

#[test]
fn in_place_comparisons_answer_as_the_instructions_do() {
    let events = events(3000);
    for (fast, general) in PAIRS {
        let (fp, gp) = (program(fast), program(general));
        let (mut ok, mut err, mut t) = (0, 0, 0);
        for e in &events {
            let a = eval(&fp, e);
            let b = eval(&gp, e);
            match (&a, &b) {
                (Ok(x), Ok(y)) => {
                    assert_eq!(x, y, "{fast} / {general} on {}", e.json);
                    ok += 1;
                    t += usize::from(*x == Some(true));
                }
                (Err(_), Err(_)) => err += 1,
                _ => panic!("{fast}: {a:?}, {general}: {b:?} on {}", e.json),
            }
        }
        // Each condition meets true, false and (for most) failing fields.
        assert!(t > 0 && t < ok, "{fast}: {t} true of {ok}");
        assert!(ok + err == events.len());
    }
}

#[test]
fn a_failing_field_still_fails_with_its_own_message() {
    let e = Event::from_json(
        json!({"id": "evt_1", "object": "event", "type": "payment_intent.succeeded",
               "data": {"object": {"amount": "lots", "currency": "usd", "status": 3}}}),
        None,
    )
    .unwrap();
    let err = eval(&program("amount > 1000 USD"), &e).unwrap_err();
    assert!(
        err.contains("`amount` should be an integer amount"),
        "{err}"
    );
    let err = eval(&program("status == \"succeeded\""), &e).unwrap_err();
    assert!(err.contains("`status` should be a string"), "{err}");
    let e = Event::from_json(
        json!({"id": "evt_1", "object": "event", "type": "payment_intent.succeeded",
               "data": {"object": {"currency": "usd"}}}),
        None,
    )
    .unwrap();
    let err = eval(&program("amount > 1000 USD"), &e).unwrap_err();
    assert!(err.contains("the event has no `amount`"), "{err}");
}

/// Whole workflows: `when` and `if` conditions in place and written the other way
/// round give the same runs.
#[test]
fn workflows_run_the_same_with_conditions_in_place() {
    let fast = r#"
workflow "fast"
on payment_intent.succeeded
when amount > 1000 USD and currency in [USD, EUR] {
    if status == "succeeded" and customer != null {
        update customer.metadata.Tier = "VIP"
    } else if livemode == false {
        email to: "ops@example.com", body: "test mode {amount}"
    }
    if created >= 1764000000 {
        email to: "ops@example.com", body: "recent"
    }
}
"#;
    let general = r#"
workflow "fast"
on payment_intent.succeeded
when 1000 USD < amount and (USD == currency or EUR == currency) {
    if "succeeded" == status and null != customer {
        update customer.metadata.Tier = "VIP"
    } else if false == livemode {
        email to: "ops@example.com", body: "test mode {amount}"
    }
    if 1764000000 <= created {
        email to: "ops@example.com", body: "recent"
    }
}
"#;
    let build = |text: &str| {
        let source = flow::syntax::SourceFile::new("w.flow", text);
        let b = flow::build(&source, &flow::settings::Settings::default(), "w");
        assert!(!b.has_errors(), "{:?}", b.diagnostics);
        (source, b.compiled.programs.into_iter().next().unwrap())
    };
    let (fs, fp) = build(fast);
    let (gs, gp) = build(general);
    let mut statuses = std::collections::HashMap::new();
    for e in events(3000) {
        let a = vm::run(&fp, &fs, &e, &mut Recording::new());
        let b = vm::run(&gp, &gs, &e, &mut Recording::new());
        assert_eq!(a.status, b.status, "{}", e.json);
        assert_eq!(a.actions, b.actions, "{}", e.json);
        *statuses.entry(a.status.as_str()).or_insert(0) += 1;
    }
    assert_eq!(statuses.len(), 3, "{statuses:?}");
}

/// A strict event (a test's partial object) names a missing field instead of
/// reading null, in place or not.
#[test]
fn strict_events_still_name_missing_fields() {
    let mut e = Event::from_json(
        json!({"id": "evt_1", "object": "event", "type": "payment_intent.succeeded",
               "data": {"object": {"amount": 5000, "currency": "usd"}}}),
        None,
    )
    .unwrap();
    e.strict = true;
    for cond in [
        "customer != null",
        "status in [\"succeeded\"]",
        "null != customer",
    ] {
        let err = eval(&program(cond), &e).unwrap_err();
        assert!(err.contains(vm::NOT_SET), "{cond}: {err}");
    }
    assert_eq!(eval(&program("amount > 10 USD"), &e), Ok(Some(true)));
}
