//! What every command shares: `--color`, `NO_COLOR` and `CLICOLOR_FORCE`; shell
//! completions and the manual page made from the command definitions; JSON output of
//! the catalogue commands.

use std::process::Command;

fn flow() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_flow"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE");
    c
}

/// `flow check` of a file with an error, its stderr (a pipe, never a terminal).
fn check_stderr(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut c = flow();
    c.arg("check")
        .args(args)
        .arg("tests/diagnostics/E0313_positional_argument.flow");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("flow runs");
    assert_eq!(out.status.code(), Some(1));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn coloured(s: &str) -> bool {
    s.contains("\u{1b}[")
}

#[test]
fn colour_follows_the_flag_then_no_color_then_clicolor_force() {
    assert!(
        !coloured(&check_stderr(&[], &[])),
        "a pipe is not a terminal"
    );
    assert!(coloured(&check_stderr(&["--color", "always"], &[])));
    assert!(coloured(&check_stderr(
        &["--color=always"],
        &[("NO_COLOR", "1")]
    )));
    assert!(!coloured(&check_stderr(
        &["--color", "never"],
        &[("CLICOLOR_FORCE", "1")]
    )));
    assert!(coloured(&check_stderr(&[], &[("CLICOLOR_FORCE", "1")])));
    assert!(!coloured(&check_stderr(&[], &[("CLICOLOR_FORCE", "0")])));
    assert!(!coloured(&check_stderr(
        &[],
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]
    )));
    let bad = flow()
        .args(["--color", "sometimes", "events"])
        .output()
        .expect("flow runs");
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn completions_and_the_manual_page_come_from_the_commands() {
    for (shell, marker) in [
        ("bash", "_flow()"),
        ("zsh", "#compdef flow"),
        ("fish", "complete -c flow"),
    ] {
        let out = flow()
            .args(["completions", shell])
            .output()
            .expect("flow runs");
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(marker), "{shell}: {text}");
        for sub in ["check", "run", "actions", "fmt", "completions"] {
            assert!(text.contains(sub), "{shell} completes `{sub}`");
        }
    }
    let man = flow().arg("man").output().expect("flow runs");
    assert_eq!(man.status.code(), Some(0));
    let text = String::from_utf8_lossy(&man.stdout);
    assert!(text.contains(".TH flow 1"), "{text}");
    assert!(
        text.contains("completions") && text.contains("\\-\\-color"),
        "{text}"
    );
}

#[test]
fn the_catalogue_commands_speak_json() {
    let json = |args: &[&str]| -> serde_json::Value {
        let out = flow().args(args).output().expect("flow runs");
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    };
    let events = json(&["events", "invoice.overdue", "--format", "json"]);
    assert_eq!(events[0]["name"], "invoice.overdue");
    assert_eq!(events[0]["object"], "invoice");
    assert!(events[0]["description"]
        .as_str()
        .is_some_and(|d| !d.is_empty()));
    let all = json(&["events", "--format", "json"]);
    assert_eq!(all.as_array().map(Vec::len), Some(265));
    let fields = json(&["fields", "payment_intent.succeeded", "--format", "json"]);
    assert_eq!(fields["object"], "payment_intent");
    let amount = fields["fields"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["name"] == "amount"))
        .expect("amount");
    assert_eq!(amount["nullable"], false);
    assert!(
        amount["type"].as_str().is_some_and(|t| t.contains("money")),
        "{amount}"
    );
    assert_eq!(
        amount["description"],
        "Amount intended to be collected by this PaymentIntent."
    );
    let templates = json(&["templates", "--format", "json"]);
    assert!(templates
        .as_array()
        .is_some_and(|t| t.iter().any(|t| t["name"] == "tag_valuable_customers")));
}
