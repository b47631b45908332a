//! Decoding only what is read must never change a report: these tests run every
//! workflow on events decoded both ways, and the batch runner against `vm::run`.

use std::sync::Arc;

use serde_json::{json, Map, Value as Json};

use super::*;
use flow_project::settings::Settings;
use flow_vm::Event;

const TEMPLATES: [(&str, &str); 4] = [
    (
        "tag_valuable_customers.flow",
        include_str!("../../../stdlib/templates/tag_valuable_customers.flow"),
    ),
    (
        "personalize_orders.flow",
        include_str!("../../../stdlib/templates/personalize_orders.flow"),
    ),
    (
        "take_action_on_fraud_warnings.flow",
        include_str!("../../../stdlib/templates/take_action_on_fraud_warnings.flow"),
    ),
    (
        "reads_many_fields.flow",
        include_str!("../../../tests/data/reads_many_fields.flow"),
    ),
];

fn build(name: &str, text: &str) -> (Arc<SourceFile>, Vec<Program>) {
    let source = SourceFile::new(name, text);
    let b = flow_project::build(&source, &Settings::default(), "test");
    assert!(!b.has_errors(), "{name}: {:?}", b.diagnostics);
    (source, b.compiled.programs)
}

fn objects() -> Recording {
    let mut r = Recording::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/objects");
    r.load_dir(&dir).expect("examples/objects loads");
    r
}

fn example_events() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/events");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let j: Json = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
            j.to_string()
        })
        .collect()
}

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[(self.next() % items.len() as u64) as usize].clone()
    }
}

/// Set `key` to one of `choices`; `None` removes it.
fn vary(obj: &mut Map<String, Json>, rng: &mut Rng, key: &str, choices: &[Option<Json>]) {
    match rng.pick(choices) {
        Some(v) => {
            obj.insert(key.to_string(), v);
        }
        None => {
            obj.shift_remove(key);
        }
    }
}

/// Events with missing fields, nulls, wrong types, other currencies, expanded
/// objects, other event types, and members in any order.
fn generated_events(n: usize, seed: u64) -> Vec<String> {
    let mut rng = Rng(seed);
    let base: Json = serde_json::from_str(include_str!(
        "../../../examples/events/payment_2500_usd.json"
    ))
    .unwrap();
    let mut out = Vec::new();
    for i in 0..n {
        let mut ev = base.as_object().unwrap().clone();
        let mut obj = ev["data"]["object"].as_object().unwrap().clone();
        ev.insert("id".into(), json!(format!("evt_gen{i}")));
        vary(
            &mut obj,
            &mut rng,
            "amount",
            &[
                Some(json!(250000)),
                Some(json!(100000)),
                Some(json!(100001)),
                Some(json!(500)),
                Some(json!(0)),
                Some(json!(-5)),
                Some(json!(99999999999i64)),
                Some(json!(1500.5)),
                Some(json!("250000")),
                Some(Json::Null),
                None,
            ],
        );
        vary(
            &mut obj,
            &mut rng,
            "currency",
            &[
                Some(json!("usd")),
                Some(json!("usd")),
                Some(json!("USD")),
                Some(json!("eur")),
                Some(json!("jpy")),
                Some(json!("kwd")),
                Some(json!("us")),
                Some(json!(840)),
                Some(Json::Null),
                None,
            ],
        );
        vary(
            &mut obj,
            &mut rng,
            "customer",
            &[
                Some(json!("cus_A1")),
                Some(json!("cus_B2")),
                Some(
                    json!({"id": "cus_C3", "object": "customer", "email": "c@example.com",
                            "metadata": {"Tier": "Gold"}, "address": {"city": "Lyon"}}),
                ),
                Some(json!({"object": "customer"})),
                Some(json!(42)),
                Some(json!("")),
                Some(Json::Null),
                None,
            ],
        );
        vary(
            &mut obj,
            &mut rng,
            "metadata",
            &[
                Some(json!({"order_id": "10423", "channel": "web"})),
                Some(json!({"order_id": 7})),
                Some(json!({})),
                Some(json!("x")),
                Some(Json::Null),
                None,
            ],
        );
        vary(
            &mut obj,
            &mut rng,
            "shipping",
            &[
                Some(json!({"name": "J", "address": {"city": "Paris", "line1": "1 rue"}})),
                Some(json!({"address": null})),
                Some(json!({"address": {"city": null}})),
                Some(json!([{"address": {"city": "x"}}])),
                Some(json!("nowhere")),
                Some(Json::Null),
                None,
            ],
        );
        vary(
            &mut obj,
            &mut rng,
            "payment_method_types",
            &[
                Some(json!(["card"])),
                Some(json!(["card", "link"])),
                Some(json!([])),
                Some(json!(["card", 3])),
                Some(json!("card")),
                Some(Json::Null),
                None,
            ],
        );
        vary(
            &mut obj,
            &mut rng,
            "receipt_email",
            &[
                Some(json!("jenny.rosen@example.com")),
                Some(json!("not an address")),
                Some(Json::Null),
                None,
            ],
        );
        vary(
            &mut obj,
            &mut rng,
            "status",
            &[
                Some(json!("succeeded")),
                Some(json!("processing")),
                Some(json!(1)),
                None,
            ],
        );
        vary(
            &mut obj,
            &mut rng,
            "created",
            &[Some(json!(1764153720)), Some(json!("yesterday")), None],
        );
        vary(
            &mut obj,
            &mut rng,
            "latest_charge",
            &[
                Some(json!("ch_1")),
                Some(json!({"id": "ch_2", "object": "charge", "amount": 5})),
                Some(Json::Null),
            ],
        );
        vary(
            &mut ev,
            &mut rng,
            "livemode",
            &[
                Some(json!(false)),
                Some(json!(true)),
                Some(json!("no")),
                None,
            ],
        );
        vary(
            &mut ev,
            &mut rng,
            "request",
            &[
                Some(json!({"id": "req_1", "idempotency_key": null})),
                Some(json!({"id": null})),
                Some(Json::Null),
                None,
            ],
        );
        vary(
            &mut ev,
            &mut rng,
            "type",
            &[
                Some(json!("payment_intent.succeeded")),
                Some(json!("payment_intent.succeeded")),
                Some(json!("payment_intent.succeeded")),
                Some(json!("charge.refunded")),
                Some(json!("radar.early_fraud_warning.created")),
                Some(json!("customer.created")),
                Some(json!(7)),
                None,
            ],
        );
        if ev.get("type") == Some(&json!("charge.refunded")) {
            obj.insert("object".into(), json!("charge"));
            vary(
                &mut obj,
                &mut rng,
                "amount_refunded",
                &[Some(json!(0)), Some(json!(1200)), Some(Json::Null), None],
            );
        }
        if ev.get("type") == Some(&json!("radar.early_fraud_warning.created")) {
            vary(
                &mut obj,
                &mut rng,
                "charge",
                &[
                    Some(json!("ch_3QwLargeChargeB2")),
                    Some(json!("ch_3QwSmallChargeA1")),
                    Some(json!("ch_missing")),
                    Some(Json::Null),
                ],
            );
        }
        // Unread members of every shape, to be skipped.
        obj.insert(
            "unread".into(),
            json!({"deep": [{"a": [1, 2.5e10, -0.0, "\u{e9}\"\\"]}, null, true]}),
        );
        let mut data = Map::new();
        data.insert("object".into(), Json::Object(obj));
        if rng.next().is_multiple_of(7) {
            data.insert("object".into(), json!("not an object"));
        }
        ev.insert("data".into(), Json::Object(data));
        // Members in another order: `type` after `data`, `id` last.
        if rng.next().is_multiple_of(3) {
            let mut reordered = Map::new();
            for key in ["data", "type", "object", "request", "id"] {
                if let Some(v) = ev.shift_remove(key) {
                    reordered.insert(key.into(), v);
                }
            }
            reordered.append(&mut ev);
            ev = reordered;
        }
        if rng.next().is_multiple_of(11) {
            ev.insert("object".into(), json!("payment_intent"));
        }
        out.push(Json::Object(ev).to_string());
    }
    out
}

fn full(line: &str, event_type: Option<&str>) -> Result<Event, String> {
    let json: Json = serde_json::from_str(line).map_err(|e| format!("not valid JSON: {e}"))?;
    Event::from_json(json, event_type)
}

fn assert_same_reports(lines: &[String], event_type: Option<&str>) {
    let mut compared = 0;
    for (name, text) in TEMPLATES {
        let (source, programs) = build(name, text);
        let decoder = Decoder::new(&programs, event_type);
        for line in lines {
            let whole = full(line, event_type);
            let pruned = decoder.decode(line);
            let (whole, pruned) = match (whole, pruned) {
                (Ok(w), Ok(p)) => (w, p),
                (Err(_), Err(_)) => continue,
                (w, p) => panic!("{name}: decoded differently: {w:?} / {p:?}\n{line}"),
            };
            assert_eq!(whole.event_type(), pruned.event_type());
            assert_eq!(whole.id(), pruned.id());
            for p in programs.iter().filter(|p| p.trigger == whole.event_type()) {
                let a = vm::run(p, &source, &whole, &mut objects()).to_json();
                let b = vm::run(p, &source, &pruned, &mut objects()).to_json();
                assert_eq!(a, b, "{name}: {}\n{line}", p.name);
                compared += 1;
            }
        }
    }
    assert!(compared > lines.len(), "only {compared} runs compared");
}

#[test]
fn example_events_give_the_same_reports() {
    assert_same_reports(&example_events(), None);
}

#[test]
fn generated_events_give_the_same_reports() {
    assert_same_reports(&generated_events(600, 0x5eed_1234_abcd_0001), None);
}

#[test]
fn bare_objects_give_the_same_reports() {
    let objects: Vec<String> = generated_events(200, 77)
        .iter()
        .filter_map(|l| {
            let j: Json = serde_json::from_str(l).ok()?;
            Some(j.get("data")?.get("object")?.to_string())
        })
        .collect();
    assert_same_reports(&objects, Some("payment_intent.succeeded"));
    // Whole events are still accepted with a type given, which then wins.
    assert_same_reports(&example_events(), Some("payment_intent.succeeded"));
}

/// What batch mode must print: each line decoded whole and run with `vm::run`.
fn expected_output(source: &SourceFile, programs: &[Program], lines: &[String]) -> String {
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match full(line, None) {
            Err(e) => {
                out.push_str(&json!({"line": i + 1, "error": e}).to_string());
                out.push('\n');
            }
            Ok(ev) => {
                for p in programs.iter().filter(|p| p.trigger == ev.event_type()) {
                    out.push_str(
                        &vm::run(p, source, &ev, &mut objects())
                            .to_json()
                            .to_string(),
                    );
                    out.push('\n');
                }
            }
        }
    }
    out
}

#[test]
fn batch_output_is_vm_run_per_line_in_order() {
    let mut lines = generated_events(400, 99);
    lines.insert(3, "{not json".into());
    lines.insert(10, String::new());
    lines.insert(20, "[1, 2]".into());
    lines.insert(
        30,
        r#"{"object": "event", "type": "payment_intent.succeeded"}"#.into(),
    );
    lines.push("   ".into());
    let input = lines.join("\n") + "\n";
    for (name, text) in TEMPLATES {
        let (source, programs) = build(name, text);
        let want = expected_output(&source, &programs, &lines);
        // A bad line's error names its line; the valid JSON cases differ from
        // `vm::run` only in wording, so compare the line numbers and kinds.
        let batch = Batch::new(&programs, &source, None, objects(), Output::Json);
        for jobs in [1, 2, 3] {
            let mut out = Vec::new();
            let summary = batch
                .run(io::BufReader::new(input.as_bytes()), &mut out, jobs)
                .unwrap();
            let got = String::from_utf8(out).unwrap();
            let got_lines: Vec<&str> = got.lines().collect();
            let want_lines: Vec<&str> = want.lines().collect();
            assert_eq!(got_lines.len(), want_lines.len(), "{name}, {jobs} jobs");
            for (g, w) in got_lines.iter().zip(&want_lines) {
                let g: Json = serde_json::from_str(g).unwrap();
                let w: Json = serde_json::from_str(w).unwrap();
                if w.get("line").is_some() {
                    assert_eq!(g["line"], w["line"], "{name}, {jobs} jobs");
                    assert!(g["error"].is_string());
                } else {
                    assert_eq!(g, w, "{name}, {jobs} jobs");
                }
            }
            assert_eq!(summary.runs() + summary.bad_lines, want_lines.len() as u64);
            assert!(summary.bad_lines >= 3, "{summary:?}");
        }
    }
}

#[test]
fn report_lines_are_byte_for_byte_to_json() {
    let (source, programs) = build("t.flow", TEMPLATES[3].1);
    let decoder = Decoder::new(&programs, None);
    let mut checked = 0;
    for line in generated_events(300, 5) {
        let Ok(ev) = decoder.decode(&line) else {
            continue;
        };
        for p in programs.iter().filter(|p| p.trigger == ev.event_type()) {
            let report = vm::run(p, &source, &ev, &mut objects());
            let mut out = Vec::new();
            write_report_line(&mut out, &report);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                format!("{}\n", report.to_json())
            );
            checked += 1;
        }
    }
    assert!(checked > 100);
}

#[test]
fn lines_cut_anywhere_by_reads_give_the_same_reports() {
    // Reads that end anywhere (in a line, in a character, on a newline), a line
    // longer than a chunk, and a last line without its newline.
    struct Pieces<'a> {
        rest: &'a [u8],
        rng: Rng,
    }
    impl io::Read for Pieces<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = (self.rng.next() as usize % 9000 + 1)
                .min(buf.len())
                .min(self.rest.len());
            let (head, tail) = self.rest.split_at(n);
            buf[..n].copy_from_slice(head);
            self.rest = tail;
            Ok(n)
        }
    }
    let mut lines = generated_events(300, 17);
    let mut long: Json = serde_json::from_str(&lines[5]).unwrap();
    long["id"] = Json::String("evt_long".into());
    long["data"]["object"]["description"] = Json::String("é".repeat(super::IN_CHUNK));
    lines.insert(7, long.to_string());
    lines.insert(9, "\u{a0}not json".into());
    assert!(lines[7].len() > 2 * super::IN_CHUNK);
    let input = lines.join("\n");
    for (name, text) in TEMPLATES {
        let (source, programs) = build(name, text);
        let batch = Batch::new(&programs, &source, None, objects(), Output::Json);
        let (whole, summary) = run_batch(
            Batch::new(&programs, &source, None, objects(), Output::Json),
            &lines,
            1,
        );
        assert!(summary.runs() > 0, "{name}");
        assert!(summary.bad_lines >= 1, "{name}");
        // The long line is an event like the others, not an error.
        assert!(!whole.contains(r#"{"line":8,"#), "{name}");
        for jobs in [1, 2, 3] {
            for seed in [1, 2] {
                let mut out = Vec::new();
                let pieces = Pieces {
                    rest: input.as_bytes(),
                    rng: Rng(seed),
                };
                let got = batch
                    .run(io::BufReader::with_capacity(4096, pieces), &mut out, jobs)
                    .unwrap();
                assert_eq!(
                    String::from_utf8(out).unwrap(),
                    whole,
                    "{name}, {jobs} jobs, seed {seed}"
                );
                assert_eq!(got.runs(), summary.runs());
                assert_eq!(got.bad_lines, summary.bad_lines, "{name}");
            }
        }
    }
}

#[test]
fn a_slow_stream_is_answered_line_by_line() {
    use std::sync::Mutex;
    // A reader that hands out one line per read, as a pipe fed slowly does: each
    // line's report must be written before the next line is read.
    type Shared = Arc<Mutex<Vec<u8>>>;
    struct OneLineAtATime {
        lines: Vec<Vec<u8>>,
        next: usize,
        out: Shared,
        written_before: Arc<Mutex<Vec<usize>>>,
    }
    impl io::Read for OneLineAtATime {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let Some(line) = self.lines.get(self.next) else {
                return Ok(0);
            };
            let reports = self
                .out
                .lock()
                .unwrap()
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            self.written_before.lock().unwrap().push(reports);
            self.next += 1;
            buf[..line.len()].copy_from_slice(line);
            Ok(line.len())
        }
    }
    struct Sink(Shared);
    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let (source, programs) = build("t.flow", TEMPLATES[0].1);
    let batch = Batch::new(&programs, &source, None, Recording::new(), Output::Json);
    let lines: Vec<Vec<u8>> = example_events()
        .iter()
        .filter(|l| l.contains("\"payment_intent.succeeded\""))
        .map(|l| format!("{l}\n").into_bytes())
        .collect();
    let n = lines.len();
    let out: Shared = Arc::default();
    let written_before = Arc::default();
    let reader = io::BufReader::with_capacity(
        1 << 16,
        OneLineAtATime {
            lines,
            next: 0,
            out: out.clone(),
            written_before: Arc::clone(&written_before),
        },
    );
    batch.run(reader, &mut Sink(out), 1).unwrap();
    let written_before = written_before.lock().unwrap();
    assert_eq!(written_before.len(), n);
    assert!(n >= 5);
    for (i, w) in written_before.iter().enumerate() {
        assert_eq!(
            *w,
            i,
            "line {} was read before line {i} was answered",
            i + 1
        );
    }
}

#[test]
fn a_line_that_is_not_utf8_is_an_error_record_and_blank_lines_are_skipped() {
    let (source, programs) = build("t.flow", TEMPLATES[0].1);
    let batch = Batch::new(&programs, &source, None, Recording::new(), Output::Json);
    let good = example_events()
        .into_iter()
        .find(|l| l.contains("evt_payment2500usd000000"))
        .unwrap();
    let mut input = Vec::new();
    input.extend_from_slice(b"\n  \r\n");
    input.extend_from_slice(b"{\"id\": \"\xff\"}\n");
    input.extend_from_slice(good.as_bytes());
    input.extend_from_slice(b"\r\n");
    let mut out = Vec::new();
    let summary = batch
        .run(io::BufReader::new(&input[..]), &mut out, 1)
        .unwrap();
    let lines: Vec<Json> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["line"], 3);
    assert!(lines[0]["error"].as_str().unwrap().contains("UTF-8"));
    assert_eq!(lines[1]["status"], "succeeded");
    assert_eq!(summary.bad_lines, 1);
    assert_eq!(summary.events, 1);
}

#[test]
fn a_position_in_a_list_decodes_as_the_whole_event_does() {
    let text = r#"on invoice.paid when lines.data[1].amount > 10 USD { email to: "a@example.com", body: "{lines.data[1].description}: {lines.data[1].amount}" }"#;
    let (source, programs) = build("positions", text);
    let decoder = Decoder::new(&programs, None);
    let line = json!({
        "id": "evt_1", "object": "event", "type": "invoice.paid",
        "data": {"object": {"id": "in_1", "object": "invoice", "currency": "usd",
            "lines": {"object": "list", "data": [
                {"id": "il_0", "amount": 100, "currency": "usd", "description": "Basic"},
                {"id": "il_1", "amount": 1200, "currency": "usd", "description": "Pro"}
            ]}}}
    })
    .to_string();
    let whole = full(&line, None).unwrap();
    let pruned = decoder.decode(&line).unwrap();
    let a = vm::run(&programs[0], &source, &whole, &mut objects()).to_json();
    let b = vm::run(&programs[0], &source, &pruned, &mut objects()).to_json();
    assert_eq!(a, b);
    assert_eq!(a["actions"][0]["body"], "Pro: 12.00 USD", "{a}");
}

/// Workflows of every shape of leading comparison (and some that are not one):
/// several operators, constants and kinds on the same fields, in any order.
fn generated_workflows(n: usize, seed: u64) -> String {
    let mut rng = Rng(seed);
    let firsts = [
        "amount > {N} USD",
        "amount >= {N} USD",
        "amount < {N} USD",
        "amount <= {N} USD",
        "amount == {N} USD",
        "amount != {N} USD",
        "amount > {N} EUR",
        "amount < 1000 JPY",
        "amount >= 5 JPY",
        "currency == USD",
        "currency != EUR",
        "status == \"succeeded\"",
        "status != \"processing\"",
        "customer == null",
        "customer != null",
        "created > 2025-11-26",
        "created <= 2025-11-26T10:42:00Z",
        "amount_received > {N} USD",
        // Not a leading comparison: always run.
        "amount > {N} USD or currency == EUR",
        "not (amount > {N} USD)",
        "currency in [USD, EUR]",
    ];
    let seconds = [
        "",
        " and currency == USD",
        " and customer != null",
        " and amount < {N} USD and status == \"succeeded\"",
        " and (currency == EUR or amount > {N} USD)",
    ];
    let amounts = [
        "0",
        "1",
        "5",
        "5.00",
        "15",
        "1000",
        "1000.01",
        "2500",
        "999999999",
    ];
    let mut s = String::new();
    for i in 0..n {
        let mut when = rng.pick(&firsts).to_string();
        when.push_str(rng.pick(&seconds));
        while when.contains("{N}") {
            when = when.replacen("{N}", rng.pick(&amounts), 1);
        }
        let body = if rng.next().is_multiple_of(3) {
            "    if amount > 20 USD {\n        update customer.metadata.Tier = \"VIP\"\n    }\n"
                .to_string()
        } else {
            format!("    email to: \"ops@example.com\", body: \"{{amount}} ({i})\"\n")
        };
        if rng.next().is_multiple_of(10) {
            s.push_str(&format!(
                "workflow \"W{i}\"\non payment_intent.succeeded {{\n{body}}}\n\n"
            ));
        } else {
            s.push_str(&format!(
                "workflow \"W{i}\"\non payment_intent.succeeded\nwhen {when} {{\n{body}}}\n\n"
            ));
        }
    }
    s.push_str("workflow \"Refunds\"\non charge.refunded\nwhen amount_refunded > 0 USD {\n    email to: \"ops@example.com\", body: \"r\"\n}\n");
    s
}

#[test]
fn the_shared_pre_filter_changes_no_report() {
    let text = generated_workflows(300, 7);
    let (source, programs) = build("many.flow", &text);
    let mut lines = generated_events(300, 41);
    lines.insert(5, "{not json".into());
    let input = lines.join("\n") + "\n";
    for output in [Output::Json, Output::Text] {
        for skipped in [Skipped::Include, Skipped::Omit] {
            for jobs in [1, 2] {
                let run = |index: bool| {
                    let batch = Batch::new(&programs, &source, None, objects(), output)
                        .with_now(Some(1_764_153_720))
                        .with_skipped(skipped)
                        .with_index(index);
                    let mut out = Vec::new();
                    let summary = batch
                        .run(io::BufReader::new(input.as_bytes()), &mut out, jobs)
                        .unwrap();
                    (String::from_utf8(out).unwrap(), summary)
                };
                let (with, s_with) = run(true);
                let (without, s_without) = run(false);
                assert_eq!(s_with, s_without, "{output:?} {skipped:?} {jobs}");
                assert!(
                    with == without,
                    "{output:?} {skipped:?} {jobs}: reports differ"
                );
                assert!(s_with.skipped > 0 && s_with.succeeded > 0 && s_with.failed > 0);
            }
        }
    }
}

#[test]
fn the_pre_filter_answers_most_workflows_and_only_where_vm_skips() {
    let text = generated_workflows(300, 7);
    let (source, programs) = build("many.flow", &text);
    let pis: Vec<&Program> = programs
        .iter()
        .filter(|p| p.trigger == "payment_intent.succeeded")
        .collect();
    let index = Index::new(&pis);
    let decoder = Decoder::new(programs.iter(), None);
    let (mut answered, mut skips) = (0, 0);
    let (mut locals, mut answers) = (Vec::new(), Vec::new());
    for line in generated_events(300, 43) {
        let Ok(event) = decoder.decode(&line) else {
            continue;
        };
        if event.event_type() != "payment_intent.succeeded" {
            continue;
        }
        index.answer(&event, &mut locals, &mut answers);
        for (i, p) in pis.iter().enumerate() {
            if index.skips(i, &answers) {
                skips += 1;
                let report = vm::run(p, &source, &event, &mut objects());
                assert_eq!(report.status, Status::Skipped, "{}: {line}", p.name);
                assert!(report.actions.is_empty());
            }
            answered += 1;
        }
    }
    assert!(answered > 10_000, "{answered}");
    // A fifth of the runs never reach the VM here (many of these events have fields
    // of the wrong type, where a group's probe fails and its workflows all run).
    assert!(skips * 10 > answered, "{skips} of {answered}");
}

/// Lines of every edge the decoder must decode exactly as the serde path does:
/// duplicate keys at every level, escapes in keys and strings, numbers at and past
/// the edges of their ranges, nesting around `serde_json`'s limit, whitespace,
/// and broken syntax of every kind, in kept and in skipped places.
fn edge_lines() -> Vec<String> {
    let base = r#"{"id":"evt_1","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1","object":"payment_intent","amount":250000,"currency":"usd","customer":"cus_1","metadata":{"order_id":"7"},"X":0}}}"#;
    let mut lines: Vec<String> = [
        "",
        "   ",
        "{}",
        "[]",
        "[1, 2]",
        "1",
        "\"event\"",
        "null",
        "{",
        "}",
        "{\"id\"}",
        "{\"id\":}",
        "{\"id\" 1}",
        "{,}",
        // Duplicate keys: the last wins, at the top, in `data` and in the object.
        r#"{"type":"charge.refunded","id":"a","object":"event","type":"payment_intent.succeeded","data":{"object":{"amount":1}},"id":"b"}"#,
        r#"{"object":"event","type":"payment_intent.succeeded","data":{"object":{"amount":300000,"currency":"usd"}},"data":{"object":{"amount":5,"currency":"eur"}}}"#,
        r#"{"object":"event","type":"payment_intent.succeeded","data":{"object":{"amount":300000,"currency":"usd"}},"data":"gone"}"#,
        r#"{"object":"event","type":"payment_intent.succeeded","data":{"object":{"amount":300000,"amount":7,"currency":"usd","currency":"eur","currency":"usd"}}}"#,
        r#"{"object":"event","type":"payment_intent.succeeded","data":{"object":{"customer":{"id":"cus_1","metadata":{"Tier":"a"},"metadata":{"Tier":"b"}},"amount":300000,"currency":"usd"}}}"#,
        r#"{"object":"event","object":"not","type":"payment_intent.succeeded","data":{"object":{}}}"#,
        // Escapes in keys and in strings, kept or not.
        r#"{"\u006fbject":"event","typ\u0065":"payment_intent.succeeded","data":{"obj\u0065ct":{"amo\u0075nt":300000,"currency":"\u0075sd"}}}"#,
        r#"{"object":"event","type":"payment_intent.succeeded","data":{"object":{"amount":300000,"currency":"usd","description":"a \"quoted\" \\ \/ \b\f\n\r\t \u00e9 \ud83d\ude00"}}}"#,
        r#"{"object":"event","type":"payment_intent.succeeded","data":{"object":{"amount":300000,"currency":"usd","customer":"c\"u\\s"}}}"#,
        r#"{"object":"event","type":"payment_intent.succeeded","data":{"object":{"amount":300000,"currency":"usd","x":"\ud800"}}}"#,
        r#"{"object":"event","type":"payment_intent.succeeded","data":{"object":{"amount":300000,"currency":"usd","x":"\udc00x"}}}"#,
        r#"{"object":"event","type":"payment_intent.succeeded","data":{"object":{"amount":300000,"currency":"\ud800\u0041"}}}"#,
        r#"{"object":"event","type":"payment_intent.succeeded","data":{"object":{"amount":300000,"currency":"usd","x":"\x"}}}"#,
        r#"{"object":"event","type":"payment_intent.succeeded","data":{"object":{"amount":300000,"currency":"usd","x":"\u12"}}}"#,
        r#"{"object":"event","type":"payment_intent.succeeded","data":{"object":{"amount":300000,"currency":"usd","x\u0000":"\u0000"}}}"#,
        "{\"object\":\"event\",\"type\":\"payment_intent.succeeded\",\"data\":{\"object\":{\"amount\":300000,\"currency\":\"usd\",\"x\":\"tab\there\"}}}",
        "{\"object\":\"event\",\"type\":\"payment_intent.succeeded\",\"data\":{\"object\":{\"amount\":300000,\"currency\":\"us\u{1}d\"}}}",
        "{\"object\":\"event\",\"type\":\"payment_intent.succeeded\",\"data\":{\"object\":{\"amount\":300000,\"currency\":\"usd\",\"x\":\"caf\u{e9} \u{1f600} \u{7f}\"}}}",
        // Whitespace everywhere JSON allows it.
        " \t{ \"object\" : \"event\" ,\r\n\"type\"\t:\"payment_intent.succeeded\" , \"data\" : { \"object\" : { \"amount\" : 300000 , \"currency\" : \"usd\" , \"x\" : [ 1 , { } , [ ] ] } } } \t ",
        // Trailing text, trailing commas, truncated values.
        &format!("{base} x"),
        &format!("{base}{{}}"),
        &base[..base.len() - 1],
        r#"{"object":"event","type":"payment_intent.succeeded","data":{"object":{"amount":300000,"currency":"usd",}}}"#,
        r#"{"object":"event","type":"payment_intent.succeeded","data":{"object":{"amount":300000,"currency":"usd","x":[1,]}}}"#,
        r#"{"object":"event","type":"payment_intent.succeeded","data":{"object":{"amount":300000,"currency":"usd","x":tru}}}"#,
        r#"{"object":"event","type":"payment_intent.succeeded","data":{"object":{"amount":nul,"currency":"usd"}}}"#,
        r#"{"object":"event","type":"payment_intent.succeeded","data":{"object":{"amount":300000,"currency":"usd","x":{"a" 1}}}}"#,
        r#"{"object":"event","type":"payment_intent.succeeded","data":{"object":{"amount":300000,"currency":"usd","x":{1:2}}}}"#,
        r#"{"object":"event","type":"payment_intent.succeeded","data":{"object":{"amount":300000,"currency":"usd","x":[1 2]}}}"#,
        r#"{"object":"event","type":"payment_intent.succeeded","data":{"object":{"amount":300000,"currency":"usd","x":[}]}}}"#,
        r#"{"object":"event","type":"payment_intent.succeeded","data":{"object":{"amount":300000,"currency":"usd","x":"unterminated}}}"#,
        // Intermediate values that are not objects.
        r#"{"object":"event","type":"payment_intent.succeeded","data":[{"object":{"amount":1}}]}"#,
        r#"{"object":"event","type":"payment_intent.succeeded","data":{"object":[1,2]}}"#,
        r#"{"object":"event","type":"payment_intent.succeeded","data":{"object":null}}"#,
        r#"{"object":"event","type":7,"data":{"object":{}}}"#,
        r#"{"object":"event","data":{"object":{}}}"#,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // Numbers: at and past the edges of i64, u64 and f64, and malformed.
    for n in [
        "0",
        "-0",
        "-0.0",
        "0.0",
        "0e5",
        "-0e-5",
        "1E2",
        "1e+2",
        "250000",
        "-250000",
        "100000.5",
        "999999999999999999",
        "-999999999999999999",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "18446744073709551615",
        "18446744073709551616",
        "123456789012345678901234567890",
        "1e308",
        "1.7976931348623157e308",
        "1.7976931348623159e308",
        "1e309",
        "1e400",
        "-1e400",
        "1e-400",
        "2.5e-324",
        "01",
        "-01",
        "1.",
        ".5",
        "-",
        "+1",
        "1e",
        "1e+",
        "0x10",
        "NaN",
        "Infinity",
        "1.5.2",
    ] {
        for (kept, skipped) in [(n, "1"), ("1", n)] {
            lines.push(format!(
                r#"{{"object":"event","type":"payment_intent.succeeded","data":{{"object":{{"amount":{kept},"currency":"usd","x":[{skipped}],"y":{{"z":{skipped}}}}}}}}}"#
            ));
        }
    }
    let long_digits = "7".repeat(400);
    for n in [
        long_digits.clone(),
        format!("0.{long_digits}"),
        format!("{long_digits}.5"),
        format!("1{}", "0".repeat(299)),
        format!("1{}", "0".repeat(309)),
    ] {
        for (kept, skipped) in [(n.as_str(), "1"), ("1", n.as_str())] {
            lines.push(format!(
                r#"{{"object":"event","type":"payment_intent.succeeded","data":{{"object":{{"amount":{kept},"currency":"usd","x":{skipped}}}}}}}"#
            ));
        }
    }
    // Nesting around `serde_json`'s limit (128), in a skipped and in a kept member.
    for depth in [
        1, 90, 97, 98, 99, 100, 101, 120, 125, 126, 127, 128, 129, 200,
    ] {
        for open in ["[", "{\"a\":"] {
            let close = if open == "[" { "]" } else { "}" };
            let deep = format!("{}1{}", open.repeat(depth), close.repeat(depth));
            for key in ["x", "customer", "metadata"] {
                lines.push(format!(
                    r#"{{"object":"event","type":"payment_intent.succeeded","data":{{"object":{{"amount":300000,"currency":"usd","{key}":{deep}}}}}}}"#
                ));
            }
        }
    }
    lines
}

/// Random small edits of a line: a byte dropped, doubled, or replaced by one that
/// matters to JSON's syntax.
fn mutations(line: &str, rng: &mut Rng, n: usize) -> Vec<String> {
    const BYTES: &[u8] = b"\"\\{}[],:0-9e.+ tfnu\x01";
    let mut out = Vec::new();
    for _ in 0..n {
        let mut b = line.as_bytes().to_vec();
        if b.is_empty() {
            break;
        }
        let at = (rng.next() % b.len() as u64) as usize;
        match rng.next() % 3 {
            0 => {
                b.remove(at);
            }
            1 => b.insert(at, b[at]),
            _ => b[at] = BYTES[(rng.next() % BYTES.len() as u64) as usize],
        }
        if let Ok(s) = String::from_utf8(b) {
            out.push(s);
        }
    }
    out
}

/// The lazy scan and the serde path give the same value, or both refuse the line
/// (then the error, which the serde path words, is the same too).
fn assert_scan_is_serde(decoder: &Decoder, line: &str) -> bool {
    let fast = crate::scan::scan(&decoder.top, line.as_bytes());
    let serde = decoder.decode_json_serde(line);
    match (&fast, &serde) {
        (Some(f), Ok(s)) => assert_eq!(f, s, "{line}"),
        (Some(f), Err(e)) => panic!("the scan took a line serde refuses ({e}): {f}\n{line}"),
        (None, _) => {}
    }
    let via = decoder.decode_json(line).map_err(|e| e.to_string());
    assert_eq!(via, serde.map_err(|e| e.to_string()), "{line}");
    fast.is_some()
}

#[test]
fn the_scan_decodes_every_edge_as_the_serde_path() {
    let (mut scanned, mut valid) = (0, 0);
    for (name, text) in TEMPLATES {
        let (_, programs) = build(name, text);
        for event_type in [None, Some("payment_intent.succeeded")] {
            let decoder = Decoder::new(&programs, event_type);
            for line in edge_lines() {
                scanned += usize::from(assert_scan_is_serde(&decoder, &line));
                valid += usize::from(decoder.decode_json_serde(&line).is_ok());
            }
        }
    }
    // The scan answers most valid lines itself (those with escapes or deep nesting
    // go to the serde path).
    assert!(scanned * 10 > valid * 7, "{scanned} of {valid}");
}

#[test]
fn the_scan_decodes_mutated_lines_as_the_serde_path() {
    let mut rng = Rng(0xdec0_de00_5ca1_0001);
    let mut lines = generated_events(60, 0xface);
    lines.extend(edge_lines());
    let mut all = Vec::new();
    for line in &lines {
        all.push(line.clone());
        all.extend(mutations(line, &mut rng, 12));
    }
    for (name, text) in TEMPLATES {
        let (_, programs) = build(name, text);
        let decoder = Decoder::new(&programs, None);
        for line in &all {
            assert_scan_is_serde(&decoder, line);
        }
    }
}

#[test]
fn the_scan_answers_every_generated_event_itself() {
    for (name, text) in TEMPLATES {
        let (_, programs) = build(name, text);
        let decoder = Decoder::new(&programs, None);
        for line in generated_events(300, 0xabc) {
            assert!(assert_scan_is_serde(&decoder, &line), "{name}: {line}");
        }
    }
}

#[test]
fn edge_lines_give_the_same_reports_as_the_whole_event() {
    assert_same_reports(&edge_lines(), None);
    assert_same_reports(&edge_lines(), Some("payment_intent.succeeded"));
}

#[test]
fn edge_lines_in_batch_mode_are_vm_run_per_line() {
    // A newline ends a line of the stream: lines with one are for the decoder.
    let lines: Vec<String> = edge_lines()
        .into_iter()
        .filter(|l| !l.contains('\n'))
        .collect();
    let input = lines.join("\n") + "\n";
    let (source, programs) = build("t.flow", TEMPLATES[3].1);
    let want = expected_output(&source, &programs, &lines);
    let batch = Batch::new(&programs, &source, None, objects(), Output::Json);
    for jobs in [1, 2] {
        let mut out = Vec::new();
        batch
            .run(io::BufReader::new(input.as_bytes()), &mut out, jobs)
            .unwrap();
        let got = String::from_utf8(out).unwrap();
        assert_eq!(got.lines().count(), want.lines().count());
        for (g, w) in got.lines().zip(want.lines()) {
            let g: Json = serde_json::from_str(g).unwrap();
            let w: Json = serde_json::from_str(w).unwrap();
            if w.get("line").is_some() {
                assert_eq!(g["line"], w["line"]);
            } else {
                assert_eq!(g, w);
            }
        }
    }
}

#[test]
fn skipped_report_lines_are_byte_for_byte_to_json() {
    let text = "workflow \"Odd \\\"name\\\" \\\\ é 😀 \\\"event\\\":null\"\non payment_intent.succeeded\nwhen amount > 1000 USD {\n    email to: \"a@example.com\", body: \"b\"\n}\n";
    let (source, mut programs) = build("odd.flow", text);
    let (_, more) = build("t.flow", TEMPLATES[3].1);
    programs.extend(more);
    let decoder = Decoder::new(&programs, None);
    let mut lines = generated_events(200, 8);
    lines.push(r#"{"id":"evt_\"q\u00e9\\","object":"event","type":"payment_intent.succeeded","data":{"object":{"amount":5,"currency":"usd"}}}"#.into());
    lines.push(r#"{"object":"event","type":"payment_intent.succeeded","data":{"object":{"amount":5,"currency":"usd"}}}"#.into());
    // Control characters (escaped), DEL and characters past ASCII (as they are).
    for id in [r"evt_\u0001\u001f\n", "evt_\u{7f}", "evt_é😀", "", "evt_/"] {
        lines.push(format!(
            r#"{{"id":"{id}","object":"event","type":"payment_intent.succeeded","data":{{"object":{{"amount":5,"currency":"usd"}}}}}}"#
        ));
    }
    let mut checked = 0;
    for line in &lines {
        let Ok(ev) = decoder.decode(line) else {
            continue;
        };
        for p in programs.iter().filter(|p| p.trigger == ev.event_type()) {
            let report = vm::run(p, &source, &ev, &mut objects());
            if report.status != Status::Skipped {
                continue;
            }
            let json = SkippedJson::new(p).expect("a skipped report's template");
            let mut out = Vec::new();
            json.write(ev.id(), &mut out);
            let want = format!("{}\n", report.to_json());
            assert_eq!(String::from_utf8(out).unwrap(), want);
            let mut out = Vec::new();
            write_report_line(&mut out, &skipped_report(p, ev.id()));
            assert_eq!(String::from_utf8(out).unwrap(), want);
            checked += 1;
        }
    }
    assert!(checked > 50, "{checked}");
}

/// Workflows whose `when`s have a typed form over every kind of slot: money, a
/// currency, strings, an ID (a string or an expanded object), a bool, timestamps,
/// null tests, `in`, `not`, `or`.
const SLOT_FLOWS: &str = r#"
workflow "Money"
on payment_intent.succeeded
when amount > 1000 USD {
    email to: "ops@example.com", body: "money"
}

workflow "Customer"
on payment_intent.succeeded
when customer == "cus_1" {
    email to: "ops@example.com", body: "customer"
}

workflow "Live"
on payment_intent.succeeded
when livemode and currency == EUR {
    email to: "ops@example.com", body: "live"
}

workflow "Status"
on payment_intent.succeeded
when status in ["canceled", "requires_action"] or description == null {
    email to: "ops@example.com", body: "status"
}

workflow "Not"
on payment_intent.succeeded
when not (amount_received >= 5 USD) and created > 2025-11-26 {
    email to: "ops@example.com", body: "not"
}

workflow "No customer"
on payment_intent.succeeded
when customer == null {
    email to: "ops@example.com", body: "none"
}

workflow "Refunds"
on charge.refunded
when amount_refunded > 0 USD and currency != JPY {
    email to: "ops@example.com", body: "r"
}
"#;

/// Lines for the slots: each changes one field of an event the money workflows
/// skip, in a way the scan must read exactly as the decoded event does.
fn slot_lines() -> Vec<String> {
    let obj = r#""id":"pi_1","object":"payment_intent","amount":500,"amount_received":500,"currency":"usd","customer":"cus_9","livemode":false,"status":"succeeded","description":"d","created":1764153720,"metadata":{"order_id":"7"}"#;
    let wrap = |o: &str| {
        format!(
            r#"{{"id":"evt_s","object":"event","type":"payment_intent.succeeded","created":1764153720,"data":{{"object":{{{o}}}}}}}"#
        )
    };
    let mut lines = vec![wrap(obj)];
    for (from, to) in [
        (r#""amount":500"#, r#""amount":250000"#),
        (r#""currency":"usd""#, r#""currency":"eur""#),
        (r#""currency":"usd""#, r#""currency":"EUR""#),
        (r#""currency":"usd""#, r#""currency":"xyz""#),
        (r#""currency":"usd""#, r#""currency":7"#),
        (r#""currency":"usd""#, r#""currency":null"#),
        (r#""currency":"usd","#, ""),
        (r#""currency":"usd""#, r#""currency":["usd"]"#),
        (r#""currency":"usd""#, r#""curr\u0065ncy":"eur""#),
        (r#""currency":"usd""#, r#""currency":"\u0065ur""#),
        (r#""amount":500"#, r#""amount":null"#),
        (r#""amount":500,"#, ""),
        (r#""amount":500"#, r#""amount":"500""#),
        (r#""amount":500"#, r#""amount":500.0"#),
        (r#""amount":500"#, r#""amount":5e2"#),
        (r#""amount":500"#, r#""amount":-0"#),
        (r#""amount":500"#, r#""amount":-500"#),
        (r#""amount":500"#, r#""amount":99999999999999999999"#),
        (r#""amount":500"#, r#""amount":9223372036854775807"#),
        (r#""amount":500"#, r#""amount":9223372036854775808"#),
        (r#""amount":500"#, r#""amount":-9223372036854775808"#),
        (r#""amount":500"#, r#""amount":1e400"#),
        (r#""amount":500"#, r#""amount":[500]"#),
        (r#""amount":500"#, r#""amount":{"value":500}"#),
        (r#""amount":500"#, r#""amount":500,"amount":250000"#),
        (r#""amount":500"#, r#""amount":250000,"amount":500"#),
        (r#""amount":500"#, r#""amount":250000,"amount":null"#),
        (r#""amount":500"#, r#""amount":500,"currency":"eur""#),
        (r#""customer":"cus_9""#, r#""customer":"cus_1""#),
        (r#""customer":"cus_9""#, r#""customer":null"#),
        (r#""customer":"cus_9","#, ""),
        (
            r#""customer":"cus_9""#,
            r#""customer":{"id":"cus_1","object":"customer"}"#,
        ),
        (
            r#""customer":"cus_9""#,
            r#""customer":{"id":"cus_9","object":"customer"}"#,
        ),
        (
            r#""customer":"cus_9""#,
            r#""customer":{"object":"customer"}"#,
        ),
        (r#""customer":"cus_9""#, r#""customer":{"id":7}"#),
        (
            r#""customer":"cus_9""#,
            r#""customer":{"id":"cus_1","id":"cus_9"}"#,
        ),
        (
            r#""customer":"cus_9""#,
            r#""customer":{"id":"cus_9","id":"cus_1"}"#,
        ),
        (r#""customer":"cus_9""#, r#""customer":["cus_1"]"#),
        (r#""customer":"cus_9""#, r#""customer":"cus_\u0031""#),
        (r#""customer":"cus_9""#, r#""customer":"c\"us""#),
        (
            r#""customer":"cus_9""#,
            r#""customer":"cus_1","customer":"cus_9""#,
        ),
        (r#""livemode":false"#, r#""livemode":true"#),
        (r#""livemode":false"#, r#""livemode":true,"currency":"eur""#),
        (r#""livemode":false"#, r#""livemode":null"#),
        (r#""livemode":false"#, r#""livemode":"true""#),
        (r#""livemode":false"#, r#""livemode":0"#),
        (r#""status":"succeeded""#, r#""status":"canceled""#),
        (r#""status":"succeeded""#, r#""status":"c\u0061nceled""#),
        (r#""status":"succeeded""#, r#""status":null"#),
        (r#""status":"succeeded""#, r#""status":["canceled"]"#),
        (r#""description":"d""#, r#""description":null"#),
        (r#""description":"d","#, ""),
        (
            r#""description":"d""#,
            r#""description":{"a":[1,{"b":null}]}"#,
        ),
        (r#""amount_received":500"#, r#""amount_received":1"#),
        (
            r#""amount_received":500"#,
            r#""amount_received":1,"created":1000"#,
        ),
        (
            r#""amount_received":500"#,
            r#""amount_received":1,"created":1764153720.5"#,
        ),
        (
            r#""amount_received":500"#,
            r#""amount_received":1,"created":"x""#,
        ),
        (
            r#""metadata":{"order_id":"7"}"#,
            r#""metadata":[[[[{"a":"\ud83d\ude00"}]]]]"#,
        ),
        (r#""metadata":{"order_id":"7"}"#, r#""metadata":"\ud800""#),
        (r#""metadata":{"order_id":"7"}"#, r#""metadata":"\x""#),
        (
            r#""metadata":{"order_id":"7"}"#,
            r#""metadata":{"order_id":"7"},"#,
        ),
        (r#""metadata":{"order_id":"7"}"#, r#""metadata":1e999"#),
    ] {
        assert!(obj.contains(from), "{from}");
        lines.push(wrap(&obj.replacen(from, to, 1)));
    }
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    lines.push(wrap(&format!(r#"{obj},"deep":{deep}"#)));
    let deep = format!("{}1{}", "[".repeat(95), "]".repeat(95));
    lines.push(wrap(&format!(r#"{obj},"deep":{deep}"#)));
    let base = wrap(obj);
    for (from, to) in [
        (
            r#""object":"event""#,
            r#""object":"event","object":"charge""#,
        ),
        (
            r#""object":"event""#,
            r#""object":"charge","object":"event""#,
        ),
        (r#""object":"event""#, r#""object":"ev\u0065nt""#),
        (r#""object":"event""#, r#""object":null"#),
        (r#""type":"payment_intent.succeeded""#, r#""type":7"#),
        (
            r#""type":"payment_intent.succeeded""#,
            r#""type":"charge.refunded""#,
        ),
        (
            r#""type":"payment_intent.succeeded""#,
            r#""type":"customer.created""#,
        ),
        (
            r#""type":"payment_intent.succeeded""#,
            r#""type":"payment_intent.succeeded","type":"charge.refunded""#,
        ),
        (
            r#""type":"payment_intent.succeeded""#,
            r#""type":"payment_intent.succ\u0065eded""#,
        ),
        (r#""id":"evt_s""#, r#""id":null"#),
        (r#""id":"evt_s""#, r#""id":"evt_\"q\u00e9""#),
        (r#""id":"evt_s""#, r#""id":5"#),
        (r#""id":"evt_s","#, ""),
        (r#""data":{"#, r#""data":{"object":[],"#),
        (r#""data":{"#, r#""data":null,"data":{"#),
        (
            r#""created":1764153720,"#,
            r#""data":{"object":{"amount":1}},"#,
        ),
    ] {
        assert!(base.contains(from), "{from}");
        lines.push(base.replacen(from, to, 1));
    }
    // The whole `data` again after it: the last one wins.
    lines.push(base.replacen(
        "}}}",
        r#"}},"data":{"object":{"amount":250000,"currency":"usd"}}}"#,
        1,
    ));
    lines.push(base.replacen("}}}", r#"}},"data":{"object":7}}"#, 1));
    lines.push(base.replacen("}}}", r#"}},"data":[{"object":{}}]}"#, 1));
    lines.push(base.replacen("}}}", "}}} x", 1));
    lines.push(format!(" \t{base}\r"));
    lines.push(base.replace(',', " ,\n\t"));
    lines
}

/// Every corpus of these tests, for the slots.
fn slot_corpus() -> Vec<String> {
    let mut rng = Rng(0x5107_0001);
    let mut lines = example_events();
    lines.extend(generated_events(300, 0x5107));
    lines.extend(edge_lines());
    let slot = slot_lines();
    for l in &slot {
        lines.push(l.clone());
        lines.extend(mutations(l, &mut rng, 4));
    }
    // A newline ends a line of the stream.
    lines.retain(|l| !l.contains('\n'));
    lines
}

fn run_batch(batch: Batch<'_>, lines: &[String], jobs: usize) -> (String, Summary) {
    let input = lines.join("\n") + "\n";
    let mut out = Vec::new();
    let summary = batch
        .run(io::BufReader::new(input.as_bytes()), &mut out, jobs)
        .unwrap();
    (String::from_utf8(out).unwrap(), summary)
}

#[test]
fn slots_change_no_report() {
    let lines = slot_corpus();
    let mut files: Vec<(String, String)> = TEMPLATES
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    files.push(("slots.flow".into(), SLOT_FLOWS.into()));
    files.push(("many.flow".into(), generated_workflows(200, 11)));
    // Every workflow led by a comparison the index answers, mostly false.
    let mut never = String::new();
    for i in 0..40 {
        let when = match i % 4 {
            0 => format!("amount > {} USD and currency == EUR", 1000 + i * 997),
            1 => format!("amount < {} USD", i),
            2 => format!("amount >= {} EUR", 3 + i * 50),
            _ => ["status == \"canceled\"", "status == \"processing\""][i % 8 / 4].to_string(),
        };
        never.push_str(&format!(
            "workflow \"N{i}\"\non payment_intent.succeeded\nwhen {when} {{\n    email to: \"ops@example.com\", body: \"n\"\n}}\n\n"
        ));
    }
    files.push(("never.flow".into(), never));
    let mut compared = 0;
    for (name, text) in &files {
        let (source, programs) = build(name, text);
        for event_type in [None, Some("payment_intent.succeeded")] {
            for output in [Output::Json, Output::Text] {
                for skipped in [Skipped::Include, Skipped::Omit] {
                    for index in [true, false] {
                        for jobs in [1, 2] {
                            let run = |slots: bool| {
                                let mut batch =
                                    Batch::new(&programs, &source, event_type, objects(), output)
                                        .with_now(Some(1_764_153_720))
                                        .with_skipped(skipped)
                                        .with_index(index)
                                        .with_slots(slots);
                                // Tried on every line.
                                batch.slots_pause = false;
                                run_batch(batch, &lines, jobs)
                            };
                            let (on, s_on) = run(true);
                            let (off, s_off) = run(false);
                            let what = format!("{name} {event_type:?} {output:?} {skipped:?} index {index} jobs {jobs}");
                            assert_eq!(s_on, s_off, "{what}");
                            if on != off {
                                for (a, b) in on.lines().zip(off.lines()) {
                                    assert_eq!(a, b, "{what}");
                                }
                                panic!("{what}: reports differ");
                            }
                            assert!(s_on.events > 100 && s_on.bad_lines > 10, "{what}: {s_on:?}");
                            compared += 1;
                        }
                    }
                }
            }
        }
    }
    assert_eq!(compared, files.len() * 2 * 2 * 2 * 2 * 2);
}

#[test]
fn slot_lines_in_batch_mode_are_vm_run_per_line() {
    let lines: Vec<String> = slot_lines()
        .into_iter()
        .filter(|l| !l.contains('\n'))
        .collect();
    let (source, programs) = build("slots.flow", SLOT_FLOWS);
    let want = expected_output(&source, &programs, &lines);
    let batch =
        Batch::new(&programs, &source, None, objects(), Output::Json).with_now(Some(1_764_153_720));
    let (got, summary) = run_batch(batch, &lines, 1);
    assert_eq!(got.lines().count(), want.lines().count());
    for (g, w) in got.lines().zip(want.lines()) {
        let g: Json = serde_json::from_str(g).unwrap();
        let w: Json = serde_json::from_str(w).unwrap();
        if w.get("line").is_some() {
            // (The whole-event decoder here words its errors its own way.)
            assert_eq!(g["line"], w["line"]);
        } else {
            assert_eq!(g, w);
        }
    }
    assert!(
        summary.skipped > 50 && summary.succeeded > 10 && summary.bad_lines >= 5,
        "{summary:?}"
    );
}

/// Bytes past ASCII anywhere in a line, valid UTF-8 or not: the slots decide a line
/// only when it is UTF-8 (a byte sequence that is not is found by the scan itself,
/// with no pass of its own over the line), and the reports, error records among
/// them, are the same with the slots as without.
#[test]
fn bytes_past_ascii_anywhere_give_the_same_reports_with_and_without_slots() {
    let (source, programs) = build("t.flow", TEMPLATES[0].1);
    let inserts: [&[u8]; 7] = [
        b"\xff",
        b"\xc3",
        b"\xed\xa0\x80",
        b"\xc0\xaf",
        b"\xf4\x90\x80\x80",
        "é".as_bytes(),
        "😀".as_bytes(),
    ];
    let mut lines: Vec<Vec<u8>> = Vec::new();
    for base in slot_lines().iter().take(12) {
        let b = base.as_bytes();
        // Every byte position of the first line; some of the others.
        let step = if lines.is_empty() { 1 } else { 7 };
        for at in (0..=b.len()).step_by(step) {
            for ins in inserts {
                let mut l = b[..at].to_vec();
                l.extend_from_slice(ins);
                l.extend_from_slice(&b[at..]);
                lines.push(l);
            }
        }
    }
    // Each line alone: the slots decide it only when it is UTF-8, and decide some
    // lines with a character past ASCII in a string.
    let batch = Batch::new(&programs, &source, None, objects(), Output::Json);
    let mut worker = Worker::new(&batch);
    let (mut decided, mut decided_wide) = (0, 0);
    for l in &lines {
        let (mut out, mut off) = (Vec::new(), Vec::new());
        if worker.by_slots(l, &mut off, &mut out).done() {
            let text = std::str::from_utf8(l);
            assert!(text.is_ok(), "decided a line that is not UTF-8: {l:?}");
            decided += 1;
            decided_wide += usize::from(!l.is_ascii());
        }
    }
    assert!(
        decided_wide > 100,
        "{decided} decided, {decided_wide} past ASCII"
    );
    // Each line decoded from its bytes: as checking it as UTF-8 first, then
    // decoding the text, does.
    let decoder = &batch.decoder;
    let mut scanned_wide = 0;
    for l in &lines {
        let want = match std::str::from_utf8(l) {
            Ok(text) => decoder.decode(text),
            Err(e) => Err(format!(
                "not valid UTF-8 (at byte {} of the line)",
                e.valid_up_to() + 1
            )),
        };
        let got = decoder.decode_line(l);
        assert_eq!(
            got.as_ref().map(|e| format!("{e:?}")),
            want.as_ref().map(|e| format!("{e:?}")),
            "{l:?}"
        );
        if let Some(json) = decoder.scanned(l) {
            assert!(
                std::str::from_utf8(l).is_ok(),
                "scanned a line that is not UTF-8: {l:?}"
            );
            assert_eq!(
                Ok(json),
                decoder
                    .decode_json_serde(std::str::from_utf8(l).unwrap_or_default())
                    .map_err(|e| e.to_string())
            );
            scanned_wide += usize::from(!l.is_ascii());
        }
    }
    assert!(scanned_wide > 100, "{scanned_wide} scanned past ASCII");
    let mut input = lines.join(&b'\n');
    input.push(b'\n');
    let run = |slots: bool| {
        let mut batch = Batch::new(&programs, &source, None, objects(), Output::Json)
            .with_now(Some(1_764_153_720))
            .with_slots(slots);
        batch.slots_pause = false;
        let mut out = Vec::new();
        let summary = batch.run(&input[..], &mut out, 2).unwrap();
        (String::from_utf8(out).unwrap(), summary)
    };
    let (on, s_on) = run(true);
    let (off, s_off) = run(false);
    assert_eq!(s_on, s_off);
    for (a, b) in on.lines().zip(off.lines()) {
        assert_eq!(a, b);
    }
    assert_eq!(on, off);
    // Every line that is not UTF-8 is an error record saying where.
    let bad = lines
        .iter()
        .filter(|l| std::str::from_utf8(l).is_err())
        .count();
    assert!(bad > 1_000, "{bad}");
    assert!(s_on.bad_lines as usize >= bad, "{s_on:?}");
    assert_eq!(on.matches("not valid UTF-8 (at byte ").count(), bad);
}

/// Which lines the slots decide alone (every run skipped, or none triggered), and
/// what they write then.
#[test]
fn lines_whose_runs_are_all_skipped_are_decided_without_decoding() {
    let (source, programs) = build("t.flow", TEMPLATES[0].1);
    let batch = Batch::new(&programs, &source, None, objects(), Output::Json);
    let mut worker = Worker::new(&batch);
    assert!(worker.slots);
    let small = r#"{"id":"evt_a","object":"event","type":"payment_intent.succeeded","data":{"object":{"amount":500,"currency":"usd","customer":"cus_1"}}}"#;
    let cases = [
        (small.to_string(), true),
        // Money in another currency: the index's probe compares it as the VM does
        // (never converted: `>` is false).
        (small.replace("\"usd\"", "\"eur\""), true),
        // Not a currency: the ordinary path decides.
        (small.replace("\"usd\"", "7"), false),
        (small.replace("\"usd\"", "\"us\""), false),
        // Large enough: it runs.
        (small.replace("500", "250000"), false),
        (small.replace("500", "250000,\"amount\":500"), true),
        (small.replace("500", "500,\"amount\":250000"), false),
        (small.replace("500", "500.0"), false),
        (small.replace("500", "null"), false),
        (small.replace("\"usd\"", "\"\\u0075sd\""), true),
        (small.replace("\"usd\"", "[\"usd\"]"), false),
        // No workflow on this type: nothing to run, nothing decoded.
        (
            small.replace("payment_intent.succeeded", "customer.created"),
            true,
        ),
        (small.replace("\"event\"", "\"charge\""), false),
        (small.replace("}}}", "}}"), false),
        (small.replace("\"evt_a\"", "\"evt\\ud800\""), false),
    ];
    for (line, decided) in &cases {
        let mut out = Vec::new();
        let mut off = Vec::new();
        let before = worker.summary;
        assert_eq!(
            worker.by_slots(line.as_bytes(), &mut off, &mut out).done(),
            *decided,
            "{line}"
        );
        if *decided {
            let ev = full(line, None).unwrap();
            let mut want = String::new();
            for p in programs.iter().filter(|p| p.trigger == ev.event_type()) {
                let r = vm::run(p, &source, &ev, &mut objects());
                assert_eq!(r.status, Status::Skipped);
                want.push_str(&format!("{}\n", r.to_json()));
            }
            assert_eq!(String::from_utf8(out).unwrap(), want, "{line}");
            assert_eq!(worker.summary.events, before.events + 1);
        } else {
            assert!(out.is_empty());
            assert_eq!(worker.summary, before);
        }
    }
}

#[test]
fn the_slot_scan_refuses_what_the_scan_refuses() {
    let (source, programs) = build("slots.flow", SLOT_FLOWS);
    let batch = Batch::new(&programs, &source, None, objects(), Output::Json);
    let decoder = Decoder::new(&programs, None);
    let mut filled = 0;
    for line in slot_corpus() {
        let mut got = vec![slots::Got::Absent; batch.slots.fields()];
        let mut starts = vec![0; batch.slots.fields()];
        let ok =
            crate::scan::fill(&batch.slots.tree, line.as_bytes(), &mut got, &mut starts).is_some();
        if ok {
            // Whatever the slot scan takes, the serde path takes too, and the
            // envelope's fields are what the decoded event holds.
            let json = decoder.decode_json_serde(&line).expect("valid JSON");
            let s = |v: Option<&Json>| v.and_then(Json::as_str).map(str::to_string);
            let string = |g: &slots::Got| match g {
                slots::Got::Str(s) => Some(s.to_string()),
                _ => None,
            };
            assert_eq!(string(&got[slots::ID]), s(json.get("id")), "{line}");
            assert_eq!(string(&got[slots::TYPE]), s(json.get("type")), "{line}");
            assert_eq!(string(&got[slots::OBJECT]), s(json.get("object")), "{line}");
            assert_eq!(
                got[slots::DATA_OBJECT] == slots::Got::Object,
                json.get("data")
                    .and_then(|d| d.get("object"))
                    .is_some_and(Json::is_object),
                "{line}"
            );
            filled += 1;
        }
    }
    assert!(filled > 100, "{filled}");
}

/// A worker that finds the slots decide too few lines stops trying them for a
/// while; the reports are the same either way.
#[test]
fn slots_paused_change_no_report() {
    let (source, programs) = build("t.flow", TEMPLATES[0].1);
    let small = r#"{"id":"evt_a","object":"event","type":"payment_intent.succeeded","data":{"object":{"amount":500,"currency":"usd","customer":"cus_1"}}}"#;
    // First lines the slots cannot decide (they run), then lines they can.
    let mut lines = vec![small.replace("500", "250000"); 600];
    lines.extend(vec![small.to_string(); 20_000]);
    lines.extend(vec![small.replace("500", "250000"); 600]);
    lines.extend(generated_events(300, 5));
    let (source, programs) = (source, programs);
    let run = |slots: bool, pause: bool| {
        let mut batch = Batch::new(&programs, &source, None, objects(), Output::Json)
            .with_now(Some(1_764_153_720))
            .with_slots(slots);
        batch.slots_pause = pause;
        run_batch(batch, &lines, 1)
    };
    let (off, s_off) = run(false, true);
    assert_eq!(run(true, true), (off.clone(), s_off));
    assert_eq!(run(true, false), (off, s_off));
    assert_eq!(s_off.events + s_off.bad_lines, lines.len() as u64);
    assert!(
        s_off.succeeded >= 1200 && s_off.skipped >= 20_000,
        "{s_off:?}"
    );
    // The pause is taken, and ends.
    let batch = Batch::new(&programs, &source, None, objects(), Output::Json);
    let mut worker = Worker::new(&batch);
    let mut out = Vec::new();
    for (n, line) in lines.iter().enumerate().take(SLOT_WINDOW as usize) {
        worker.line(line.as_bytes(), n as u64 + 1, &mut out);
    }
    assert_eq!(worker.paused, SLOT_PAUSE);
    for (n, line) in lines.iter().enumerate().take(SLOT_PAUSE as usize + 1) {
        worker.line(line.as_bytes(), n as u64 + 1, &mut out);
    }
    assert_eq!(worker.paused, 0);
    assert!(worker.tried > 0);
}

/// Whole chunks' reports, in input order, are all that is written before a
/// failure; the failure is what the run returns, and no worker is left waiting.
#[test]
fn a_failing_write_or_read_ends_the_run_with_its_error() {
    struct FailAfter {
        out: Vec<u8>,
        left: usize,
    }
    impl Write for FailAfter {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            if b.len() > self.left {
                return Err(io::Error::new(io::ErrorKind::BrokenPipe, "reader gone"));
            }
            self.left -= b.len();
            self.out.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    struct BrokenAfter<'a> {
        rest: &'a [u8],
        left: usize,
    }
    impl io::Read for BrokenAfter<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.left == 0 {
                return Err(io::Error::other("disk gone"));
            }
            // Small reads: each ends a chunk, so there are many of them.
            let n = buf.len().min(self.rest.len()).min(self.left).min(3000);
            let (head, tail) = self.rest.split_at(n);
            buf[..n].copy_from_slice(head);
            self.rest = tail;
            self.left -= n;
            Ok(n)
        }
    }
    let lines = generated_events(2000, 5);
    let input = lines.join("\n") + "\n";
    let (source, programs) = build("t.flow", TEMPLATES[0].1);
    let batch = Batch::new(&programs, &source, None, objects(), Output::Json);
    let (whole, summary) = run_batch(
        Batch::new(&programs, &source, None, objects(), Output::Json),
        &lines,
        1,
    );
    assert!(summary.runs() > 300, "{summary:?}");
    for jobs in [1, 2, 3] {
        for left in [0, 10_000, whole.len() / 2] {
            let mut out = FailAfter {
                out: Vec::new(),
                left,
            };
            let small = io::BufReader::with_capacity(64, input.as_bytes());
            let e = batch.run(small, &mut out, jobs).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::BrokenPipe, "{jobs} jobs");
            let got = String::from_utf8(out.out).unwrap();
            assert!(whole.starts_with(&got), "{jobs} jobs, {left}");
            assert!(got.is_empty() || got.ends_with('\n'));
        }
        for left in [0, 1, input.len() / 3] {
            let mut out = Vec::new();
            let reader = BrokenAfter {
                rest: input.as_bytes(),
                left,
            };
            let e = batch.run(reader, &mut out, jobs).unwrap_err();
            assert_eq!(e.to_string(), "disk gone", "{jobs} jobs");
            let got = String::from_utf8(out).unwrap();
            assert!(whole.starts_with(&got), "{jobs} jobs, {left}");
            if left > 10_000 {
                // What was read before the failure was run and written.
                assert!(got.len() > whole.len() / 10, "{jobs} jobs: {}", got.len());
            }
        }
    }
}

/// Built from the one scan that fills the slots, the kept part of a line is the
/// decoder's own, to the order of its members: for every template and the slot
/// workflows, over the slot corpus and lines whose members come twice or in
/// another order. A line with a member named twice is left to the decoder.
#[test]
fn the_kept_part_from_the_slot_scan_is_the_decoders() {
    let mut lines = slot_corpus();
    let base = slot_lines().remove(0);
    for (from, to) in [
        // Members twice: the last wins, in the first one's place.
        (r#""amount":500"#, r#""amount":1,"amount":500"#),
        (
            r#""currency":"usd""#,
            r#""currency":"eur","customer":"cus_0","currency":"usd""#,
        ),
        (r#""id":"evt_s""#, r#""id":"evt_0","id":"evt_s""#),
        (r#""data":{"#, r#""data":{"object":{"amount":3}},"data":{"#),
        // Another order, and kept members in lists and as other kinds.
        (r#""amount":500,"#, ""),
        (r#""livemode":false"#, r#""livemode":false,"amount":7"#),
        (
            r#""customer":"cus_9""#,
            r#""customer":{"id":"cus_9","metadata":{"Tier":"VIP"}}"#,
        ),
        (r#""customer":"cus_9""#, r#""customer":["cus_9"]"#),
        (
            r#""metadata":{"order_id":"7"}"#,
            r#""metadata":[{"order_id":"7"}]"#,
        ),
        (
            r#""data":{"object":{"#,
            r#""data":{"previous_attributes":{"a":1},"object":{"#,
        ),
    ] {
        assert!(base.contains(from), "{from}");
        lines.push(base.replacen(from, to, 1));
    }
    let mut files: Vec<(&str, &str)> = TEMPLATES.to_vec();
    files.push(("slots.flow", SLOT_FLOWS));
    let (mut built, mut repeated) = (0, 0);
    for (name, text) in files {
        let (source, programs) = build(name, text);
        for event_type in [None, Some("payment_intent.succeeded")] {
            let batch = Batch::new(&programs, &source, event_type, objects(), Output::Json);
            let n = batch.slots.fields();
            for line in &lines {
                let (mut got, mut starts) = (vec![slots::Got::Absent; n], vec![0; n]);
                let Some(filled) =
                    crate::scan::fill(&batch.slots.tree, line.as_bytes(), &mut got, &mut starts)
                else {
                    continue;
                };
                if filled.repeated {
                    repeated += 1;
                    continue;
                }
                let from_fill =
                    crate::scan::kept_from_fill(&batch.kept, line.as_bytes(), &got, &starts);
                let scanned = batch.decoder.scanned(line.as_bytes());
                // Written out, so that the order of members counts too.
                let text = |j: &Option<Json>| j.as_ref().map(Json::to_string);
                assert_eq!(
                    text(&from_fill),
                    text(&scanned),
                    "{name} {event_type:?}\n{line}"
                );
                built += usize::from(from_fill.is_some());
            }
        }
    }
    assert!(built > 1_000, "{built}");
    assert!(repeated >= 10, "{repeated}");
}
