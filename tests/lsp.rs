//! `flow lsp` driven by a real editor: Neovim, headless, with the client of
//! `tests/lsp/editor.lua`. It opens a copy of a template with a field misspelt and
//! reports what it received: the diagnostics, a hover, the quick fix (which it
//! applies), the document's symbols, completions, and the buffer after formatting.
//!
//! It needs `nvim`, so it is ignored in a plain `cargo test`; `.ci/run` installs
//! Neovim and runs it with `--ignored`, and there a missing `nvim` fails it.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

const TEMPLATE: &str = "stdlib/templates/tag_valuable_customers.flow";

/// `nvim`, or a failure saying how to get it.
fn nvim() -> &'static str {
    match Command::new("nvim").arg("--version").output() {
        Ok(o) if o.status.success() => "nvim",
        _ => panic!(
            "nvim (Neovim) is not installed{}: install it (Debian: `apt-get install neovim`) \
             or leave this test ignored",
            if std::env::var_os("CI").is_some() {
                ", and CI runs this test"
            } else {
                ""
            }
        ),
    }
}

/// Run the Lua client on `file`; what it wrote.
fn drive(file: &Path, out: &Path) -> Json {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut child = Command::new(nvim())
        .args([
            "--headless",
            "--clean",
            "-c",
            "luafile tests/lsp/editor.lua",
        ])
        .current_dir(root)
        .env("FLOW_BIN", env!("CARGO_BIN_EXE_flow"))
        .env("FLOW_FILE", file)
        .env("FLOW_OUT", out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("nvim starts");
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if child.try_wait().expect("nvim's status").is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("nvim did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let text = std::fs::read_to_string(out).expect("the client wrote its report");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
#[ignore = "needs Neovim (nvim): .ci/run installs it and runs this with --ignored"]
fn neovim_gets_diagnostics_hover_completion_a_quick_fix_symbols_and_formatting() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = dir.path().join("tag_valuable_customers.flow");
    let text = std::fs::read_to_string(TEMPLATE).expect("the template");
    let typo = text.replacen("when amount >", "when amout >", 1);
    assert_ne!(typo, text, "the template has `when amount >`");
    std::fs::write(&file, &typo).expect("written");
    let report = drive(&file, &dir.path().join("report.json"));
    assert!(report["error"].is_null(), "the client failed: {report:#}");

    // The diagnostic, whole: code, severity, message with the suggestion, the link.
    let ds = report["diagnostics"].as_array().expect("diagnostics");
    assert_eq!(ds.len(), 1, "{report:#}");
    let d = &ds[0];
    assert_eq!(d["code"], "E0102");
    assert_eq!(d["severity"], 1);
    let message = d["message"].as_str().unwrap_or("");
    assert!(
        message.contains("`amout` is not a field of payment_intent"),
        "{message}"
    );
    assert!(message.contains("did you mean `amount`?"), "{message}");
    assert_eq!(d["codeDescription"]["href"], "docs/diagnostics.md#e0102");
    // `when amout > 1000 USD` is line 4 (0-based 3), from column 5.
    assert_eq!(d["range"]["start"]["line"], 3);
    assert_eq!(d["range"]["start"]["character"], 5);
    assert_eq!(d["range"]["end"]["character"], 10);
    // And the editor shows it there.
    assert_eq!(report["shown"][0]["lnum"], 3, "{report:#}");
    assert_eq!(report["shown"][0]["col"], 5, "{report:#}");

    // Hover on `amount`: its type, where it comes from, what Stripe says it is.
    let hover = report["hover"].as_str().unwrap_or("");
    assert!(hover.contains("`money`"), "{hover}");
    assert!(hover.contains("payment_intent"), "{hover}");
    assert!(
        hover.contains("Amount intended to be collected by this PaymentIntent."),
        "{hover}"
    );

    // The quick fix replaces the typo, and the editor applied it.
    assert_eq!(report["quickfix"]["title"], "Replace with `amount`");
    assert_eq!(report["quickfix"]["edit"]["newText"], "amount");
    assert_eq!(report["quickfix"]["edit"]["range"], d["range"]);
    assert_eq!(report["fixed_line"], "when amount > 1000 USD {");

    // Completion after `customer != null and `.
    let labels: Vec<&str> = report["completion"]
        .as_array()
        .expect("completion items")
        .iter()
        .filter_map(Json::as_str)
        .collect();
    for want in [
        "amount", "currency", "customer", "metadata", "contains", "not",
    ] {
        assert!(labels.contains(&want), "{want} in {labels:?}");
    }

    // The outline: the one workflow, a Function (12), its trigger as the detail.
    let symbols = report["symbols"].as_array().expect("symbols");
    assert_eq!(symbols.len(), 1, "{report:#}");
    assert_eq!(symbols[0]["name"], "Tag valuable customers");
    assert_eq!(symbols[0]["kind"], 12);
    assert_eq!(symbols[0]["detail"], "on payment_intent.succeeded");

    // The buffer, its indentation halved, formatted back to the template.
    let clean = text.trim_end_matches('\n');
    assert_ne!(report["messy"], clean, "the buffer was laid out badly");
    assert_eq!(report["formatted"], clean, "{report:#}");
}
