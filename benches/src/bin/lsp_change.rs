//! Time what `flow lsp` does for one keystroke in a file of about 500 lines: the
//! editor sends the whole new text (`textDocument/didChange`), the server makes a
//! document of it and checks it (`flow_lsp::analysis::publish`, as the server's
//! loop calls it) and the diagnostics go out as JSON. One character is deleted and
//! typed back in turn, so every other run has a misspelt field to report. Also timed on the same file: formatting and the outline.
//!
//! `lsp_change [LINES] [RUNS]` (500 lines and 200 runs by default) prints the median,
//! the 95th percentile and the slowest, in milliseconds.

use std::hint::black_box;
use std::time::Instant;

use flow_lsp::document::Document;
use flow_lsp::{analysis, formatting, symbols};

/// (median, 95th percentile, max) of times in milliseconds.
fn summary(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.95), at(1.0))
}

fn time(runs: usize, mut f: impl FnMut(usize)) -> (f64, f64, f64) {
    // One run unmeasured, to have the standard library's tables built.
    f(0);
    let mut ms = Vec::with_capacity(runs);
    for i in 0..runs {
        let t = Instant::now();
        f(i + 1);
        ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    summary(ms)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let lines: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(500);
    let runs: usize = args
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200)
        .max(1);
    // Enough generated workflows for the lines asked for.
    let mut count = 1;
    let mut text = flow_benches::many_workflows(count);
    while text.lines().count() < lines {
        count += 1;
        text = flow_benches::many_workflows(count);
    }
    // The keystroke: the last letter of the first `when amount` deleted (a field
    // misspelt, reported with its did-you-mean) and typed back, in turn.
    let at = text
        .find("when amount")
        .expect("a condition in the generated file")
        + "when amoun".len();
    let mut typed = text.clone();
    typed.remove(at);

    let dir = std::env::temp_dir().join(format!("flow-lsp-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    let path = dir.join("many.flow");
    std::fs::write(&path, &text).expect("the file written");
    let uri: lsp_types::Uri = format!("file://{}", path.display())
        .parse()
        .expect("a file URI");

    let texts = [&text, &typed];
    let change = time(runs, |i| {
        let doc = Document::new(uri.clone(), texts[i % 2].clone());
        let params = analysis::publish(&doc, Some(i as i32));
        black_box(serde_json::to_string(&params).expect("diagnostics as JSON"));
    });
    let diagnostics = analysis::diagnostics(&Document::new(uri.clone(), typed.clone())).len();
    assert!(diagnostics > 0, "the misspelt field is reported");
    let doc = Document::new(uri.clone(), text.clone());
    let messy = text.replace("\n    ", "\n  ");
    let messy_doc = Document::new(uri.clone(), messy);
    let format = time(runs, |_| {
        let edits = formatting::formatting(&messy_doc).expect("the generated file formats");
        assert_eq!(edits.len(), 1);
    });
    let outline = time(runs, |_| {
        assert_eq!(black_box(symbols::document_symbols(&doc)).len(), count);
    });
    let _ = std::fs::remove_dir_all(&dir);

    let show =
        |(m, p, x): (f64, f64, f64)| format!("median {m:.2} ms, p95 {p:.2} ms, max {x:.2} ms");
    println!(
        "lsp on {} lines ({count} workflows, {} bytes, {diagnostics} diagnostic(s) while misspelt), {runs} runs: \
         didChange of one character -> diagnostics {}; formatting {}; document symbols {}",
        text.lines().count(),
        text.len(),
        show(change),
        show(format),
        show(outline),
    );
}
