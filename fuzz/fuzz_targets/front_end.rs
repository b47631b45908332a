//! Coverage-guided fuzzing of the whole front end and the VM: any bytes go through
//! parse → check → compile, and programs that check clean run on a sample event.
//! No input may panic. The hand-written parser is held to pest on every input:
//! where it accepts, pest accepts and builds the same tree.
#![no_main]
#![forbid(unsafe_code)]

use flow::bindings::Recording;
use flow::settings::Settings;
use flow::syntax::SourceFile;
use flow::vm::Event;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let source = SourceFile::new("fuzz.flow", text);
    if let Some(file) = flow::syntax::parser::parse_fast(text) {
        assert!(flow::syntax::parser::pest_accepts(text), "accepted what pest rejects");
        let reference = flow::syntax::parser::parse_with_pest(&source);
        assert_eq!(format!("{file:?}"), format!("{:?}", reference.file));
    }
    let build = flow::build(&source, &Settings::default(), "fuzz");
    for d in &build.diagnostics {
        let _ = flow::diagnostics::render(d, &source, false);
    }
    if build.has_errors() {
        return;
    }
    let event = Event::from_json(
        serde_json::json!({
            "id": "evt_1", "object": "event", "type": "payment_intent.succeeded",
            "data": {"object": {"id": "pi_1", "object": "payment_intent", "amount": 250000,
                "currency": "usd", "customer": null, "metadata": {"order_id": "7"}}}
        }),
        None,
    );
    if let Ok(event) = event {
        for p in &build.compiled.programs {
            let _ = flow::vm::run(p, &source, &event, &mut Recording::new());
        }
    }
});
