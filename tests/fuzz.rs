//! No input makes the front end or the VM panic: seeded random mutations of real flow
//! files go through parse → check → compile → run, and through the formatter (which
//! must then leave its own output as it is). Deterministic (fixed seed), so a
//! failure names the input and reproduces. A coverage-guided target is in fuzz/.

mod common;

use common::Rng;

use std::panic::{catch_unwind, AssertUnwindSafe};

use flow::bindings::Recording;
use flow::settings::Settings;
use flow::syntax::SourceFile;
use flow::vm::Event;

const TOKENS: &[&str] = &[
    "{",
    "}",
    "<",
    ">",
    "(",
    ")",
    "[",
    "]",
    "\"",
    ";",
    ",",
    ":",
    "=",
    "==",
    "!=",
    "<=",
    ">=",
    ".",
    "\n",
    " ",
    "when",
    "on",
    "if",
    "else",
    "let",
    "update",
    "retrieve",
    "for",
    "in",
    "break",
    "limit",
    "stripe.invoices.list(",
    "stripe.customers.update(",
    "and",
    "or",
    "not",
    "in",
    "null",
    "true",
    "workflow",
    "email",
    "refund",
    "amount",
    "currency",
    "customer",
    "charge",
    "metadata",
    "event",
    "1000",
    "-1",
    "0.001",
    "99999999999999999999999999999",
    "USD",
    "JPY",
    "KWD",
    "XXX",
    "{amount}",
    "\\",
    "é",
    "ß",
    "😀",
    "\u{0}",
    "\t",
    "//",
    "ch.amount",
    "metadata[\"a b\"]",
    "dispute_fee",
    "+",
    "-",
    "*",
    "/",
    "amount / 0",
    "any(x in items.data: x.price == null)",
    "all(",
    "[0]",
    "[99999999999999999999]",
    "2024-01-01",
    "2024-02-30T25:00:00Z",
    "7 days",
    "now",
    "matches(description, \"(\")",
    "lower(",
    "format_time(created, \"%Y\", \"UTC\")",
    "9223372036854775807",
];

fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut s: Vec<char> = text.chars().collect();
    for _ in 0..=rng.below(4) {
        let at = rng.below(s.len() + 1);
        match rng.below(4) {
            0 => {
                let tok: Vec<char> = TOKENS[rng.below(TOKENS.len())].chars().collect();
                s.splice(at..at, tok);
            }
            1 if !s.is_empty() => {
                let end = (at + rng.below(12)).min(s.len());
                s.drain(at.min(end)..end);
            }
            2 if !s.is_empty() => {
                let a = rng.below(s.len());
                let b = (a + rng.below(20)).min(s.len());
                let piece: Vec<char> = s[a..b].to_vec();
                s.splice(at..at, piece);
            }
            _ => {
                if at < s.len() {
                    s[at] = TOKENS[rng.below(TOKENS.len())]
                        .chars()
                        .next()
                        .unwrap_or(' ');
                }
            }
        }
    }
    s.into_iter().collect()
}

fn seeds() -> Vec<String> {
    let root = common::root();
    let mut out = Vec::new();
    for dir in ["stdlib/templates", "examples", "tests/diagnostics"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap().flatten() {
            if e.path().extension().is_some_and(|x| x == "flow") {
                out.push(std::fs::read_to_string(e.path()).unwrap());
            }
        }
    }
    out
}

#[test]
fn mutated_programs_never_panic() {
    let seeds = seeds();
    let events: Vec<Event> = [
        "payment_2500_usd",
        "payment_2500_usd_guest",
        "fraud_warning_small_charge",
        "invoice_overdue_small",
        "dispute_created_usd",
    ]
    .iter()
    .map(|n| {
        let text =
            std::fs::read_to_string(common::root().join(format!("examples/events/{n}.json")))
                .unwrap();
        Event::from_json(serde_json::from_str(&text).unwrap(), None).unwrap()
    })
    .collect();
    let settings = Settings::default();
    let mut rng = Rng(0x5EED_F10E);
    let mut ran = 0;
    for i in 0..4000 {
        let seed = &seeds[i % seeds.len()];
        let text = mutate(&mut rng, seed);
        let result = catch_unwind(AssertUnwindSafe(|| {
            let source = SourceFile::new("fuzz.flow", text.clone());
            let build = flow::build(&source, &settings, "fuzz");
            let mut runs = 0;
            if !build.has_errors() {
                for p in &build.compiled.programs {
                    for e in &events {
                        if p.trigger == e.event_type() {
                            let mut b = Recording::new();
                            let _ = flow::vm::run(p, &source, e, &mut b);
                            runs += 1;
                        }
                    }
                }
            }
            for d in &build.diagnostics {
                let _ = flow::diagnostics::render(d, &source, false);
            }
            // The formatter: no panic, and what it writes it leaves as it is.
            if let Ok(formatted) = flow::format::format(&text) {
                let again = flow::format::format(&formatted).ok();
                assert!(again.as_ref() == Some(&formatted), "not idempotent");
            }
            runs
        }));
        match result {
            Ok(n) => ran += n,
            Err(_) => panic!("panicked on input #{i}:\n{text}"),
        }
    }
    assert!(
        ran > 100,
        "enough mutants were valid programs and ran: {ran}"
    );
}

#[test]
fn mutated_programs_parse_alike_with_both_parsers() {
    let seeds = seeds();
    let mut rng = Rng(0x0DD_5EED);
    let mut accepted = 0;
    for i in 0..4000 {
        let text = mutate(&mut rng, &seeds[i % seeds.len()]);
        if common::parses_alike(&text) {
            accepted += 1;
        }
    }
    assert!(
        accepted > 100,
        "the hand-written parser accepted {accepted}"
    );
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut rng = Rng(42);
    for _ in 0..2000 {
        let len = rng.below(80);
        let text: String = (0..len)
            .map(|_| {
                let t = TOKENS[rng.below(TOKENS.len())];
                if rng.below(3) == 0 {
                    t.to_string()
                } else {
                    ((rng.below(95) as u8) + 32).to_string()
                }
            })
            .collect();
        let source = SourceFile::new("bytes.flow", text.clone());
        let r = catch_unwind(AssertUnwindSafe(|| {
            flow::build(&source, &Settings::default(), "b")
                .diagnostics
                .len()
        }));
        assert!(r.is_ok(), "panicked on: {text:?}");
        let r = catch_unwind(AssertUnwindSafe(|| flow::syntax::parse_expr(&text).is_ok()));
        assert!(r.is_ok(), "parse_expr panicked on: {text:?}");
        common::parses_alike(&text);
    }
}

#[test]
fn pathological_nesting_is_an_error_not_a_crash() {
    let cases = [
        format!(
            "on charge.succeeded when {}true {{ retrieve customer }}",
            "not ".repeat(20_000)
        ),
        format!(
            "on charge.succeeded when {} {{ retrieve customer }}",
            vec!["amount > 1 USD"; 20_000].join(" and ")
        ),
        format!(
            "on charge.succeeded {{ {}retrieve customer{} }}",
            "if true { ".repeat(300),
            " }".repeat(300)
        ),
        format!(
            "on charge.succeeded when {}amount > 1 USD{} {{ retrieve customer }}",
            "(".repeat(5_000),
            ")".repeat(5_000)
        ),
        format!(
            "on charge.succeeded {{ email to: \"a@b.co\", body: \"{}\" }}",
            "{\"".repeat(3_000)
        ),
        format!(
            "on charge.succeeded {{ let x = {}1{} }}",
            "[".repeat(10_000),
            "]".repeat(10_000)
        ),
        format!(
            "action a url: \"https://a.example\" {{ p: list{}string{} }}\non charge.succeeded {{ a p: 1 }}",
            "(".repeat(10_000),
            ")".repeat(10_000)
        ),
        format!(
            "action a url: \"https://a.example\" {{ p: {}string{} }}\non charge.succeeded {{ a p: 1 }}",
            "list(".repeat(50_000),
            ")".repeat(50_000)
        ),
    ];
    for text in cases {
        // Run on a thread with the default 2 MiB stack: deeper than the main thread's
        // margin, so a recursion problem shows here first.
        let t = text.clone();
        let result = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                let source = SourceFile::new("deep.flow", t);
                flow::build(&source, &Settings::default(), "deep")
                    .diagnostics
                    .len()
            })
            .unwrap()
            .join();
        let n = result.unwrap_or_else(|_| panic!("crashed on {}…", &text[..60]));
        assert!(n > 0, "reported: {}…", &text[..60]);
    }
}
