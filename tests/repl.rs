//! `flow repl`, driven through a pipe (values, types, errors, commands) and through
//! a pseudo-terminal (completion, multi-line blocks, Ctrl-C, Ctrl-D, history).

use std::io::Write;
use std::process::{Command, Output, Stdio};

const EVENT: &str = "examples/events/payment_2500_usd.json";
const CUSTOMER: &str = "cus_RvA9bC8dE7fG6h";

fn flow() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_flow"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("FLOW_HISTORY", "")
        .env_remove("NO_COLOR");
    c
}

/// Run `flow repl ARGS` with `input` on standard input.
fn repl(args: &[&str], input: &str) -> Output {
    let mut child = flow()
        .arg("repl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("flow starts");
    // flow may exit before reading (bad options): a closed pipe is not a test failure.
    let _ = child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes());
    child.wait_with_output().expect("flow ends")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

// ------------------------------------------------------------------ through a pipe

#[test]
fn a_condition_through_a_pipe_prints_its_value_and_type() {
    let o = repl(&["--event", EVENT], "amount > 1000 USD\n");
    assert_eq!(stdout(&o), "true : bool\n");
    assert_eq!(stderr(&o), "");
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn values_are_printed_with_their_types() {
    let input = "amount\namount > 1000 USD and currency == USD\ncustomer\ndescription\nstatus\n\
                 statement_descriptor\nmetadata.order_id\ncreated\namount > 3000 USD\n";
    let o = repl(&["--event", EVENT], input);
    assert_eq!(
        stdout(&o),
        format!(
            "2500.00 USD : money\n\
             true : bool\n\
             \"{CUSTOMER}\" : ref<customer>?\n\
             \"Order #10423\" : string?\n\
             \"succeeded\" : enum payment_intent.status\n\
             null : string?\n\
             \"10423\" : string?\n\
             2025-11-26T10:42:00Z (1764153720) : timestamp\n\
             false : bool\n"
        )
    );
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn money_is_exact_in_every_currency() {
    let o = repl(
        &["--event", "examples/events/payment_1235_kwd.json"],
        "amount\namount > 1.234 KWD\namount == 1.235 KWD\n",
    );
    assert_eq!(stdout(&o), "1.235 KWD : money\ntrue : bool\ntrue : bool\n");
    let o = repl(
        &["--event", "examples/events/payment_2500_eur.json"],
        "amount > 1000 USD\n",
    );
    // Never converted: money in another currency is never greater.
    assert_eq!(stdout(&o), "false : bool\n");
}

#[test]
fn errors_render_as_diagnostics_and_the_session_goes_on() {
    let o = repl(
        &["--event", EVENT],
        "amout > 1000 USD\namount > \"1000\"\namount >\ncurrency == USD\n",
    );
    let out = stdout(&o);
    assert!(!out.contains('\x1b'), "no colours through a pipe: {out}");
    assert!(
        out.contains("error[E0102]: `amout` is not a field of payment_intent"),
        "{out}"
    );
    assert!(out.contains("<repl>:1:1"), "{out}");
    assert!(out.contains("did you mean `amount`?"), "{out}");
    assert!(
        out.contains("error[E0207]: cannot compare money with a string"),
        "{out}"
    );
    assert!(
        out.contains("help: write the amount as money: `1000 USD`"),
        "{out}"
    );
    assert!(out.contains("error[E0001]"), "{out}");
    assert!(out.contains("found the end of the input"), "{out}");
    assert!(
        out.ends_with("true : bool\n"),
        "the line after the errors runs: {out}"
    );
    assert_eq!(o.status.code(), Some(1), "a script with errors fails");
}

#[test]
fn the_same_diagnostics_as_flow_check() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("w.flow");
    std::fs::write(
        &file,
        "on payment_intent.succeeded when amount > \"1000\" {\n  update customer.metadata.x = \"1\"\n}\n",
    )
    .unwrap();
    let check = flow().arg("check").arg(&file).output().unwrap();
    let check_err = stderr(&check);
    let o = repl(&["--event", EVENT], "amount > \"1000\"\n");
    let out = stdout(&o);
    for part in [
        "error[E0207]: cannot compare money with a string",
        "this is a string",
        "help: write the amount as money: `1000 USD`",
    ] {
        assert!(
            check_err.contains(part),
            "flow check says {part}: {check_err}"
        );
        assert!(out.contains(part), "the REPL says {part}: {out}");
    }
}

#[test]
fn lets_actions_and_a_multi_line_block() {
    let input = "let big = amount > 2000 USD\n\
                 if big {\n\
                 \x20 update customer.metadata.Tier = \"VIP\"\n\
                 }\n\
                 email to: \"ops@example.com\", subject: \"Big\", body: \"{amount} from {customer}\"\n\
                 if not big { update customer.metadata.Tier = \"Regular\" }\n\
                 let m = metadata\n\
                 m.channel == \"web\" and big\n";
    let o = repl(&["--event", EVENT], input);
    assert_eq!(
        stdout(&o),
        format!(
            "big = true : bool\n\
             would update customer {CUSTOMER} {{\"metadata\":{{\"Tier\":\"VIP\"}}}}\n\
             would email to ops@example.com\n\
             \x20 subject: Big\n\
             \x20 | 2500.00 USD from {CUSTOMER}\n\
             no actions\n\
             m = {{\"order_id\":\"10423\",\"channel\":\"web\"}} : metadata\n\
             true : bool\n"
        )
    );
}

#[test]
fn a_failed_let_defines_nothing() {
    let o = repl(&["--event", EVENT], "let x = amout\nx\n:lets\n");
    let out = stdout(&o);
    assert_eq!(out.matches("error[E0102]").count(), 2, "{out}");
    assert!(
        out.contains("`x` is not a field of payment_intent or a name in scope"),
        "{out}"
    );
    assert!(
        out.ends_with("no names defined yet: `let NAME = EXPR`\n"),
        "{out}"
    );
}

#[test]
fn with_only_a_type_lines_are_checked_and_typed() {
    let o = repl(
        &["--type", "payment_intent.succeeded"],
        "amount > 1000 USD\nlet c = customer\nc\n1000 USD > 999.99 USD\nstatus == \"succeded\"\n\
         update customer.metadata.Tier = \"VIP\"\n",
    );
    let out = stdout(&o);
    assert!(
        out.starts_with(
            "amount > 1000 USD : bool\nc : ref<customer>?\nc : ref<customer>?\ntrue : bool\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("error[E0204]: \"succeded\" is never a value of `payment_intent.status`"),
        "{out}"
    );
    assert!(out.contains("did you mean `succeeded`?"), "{out}");
    assert!(
        out.ends_with("checked: update (no event to run it on; load one with :event FILE)\n"),
        "{out}"
    );
}

#[test]
fn commands_switch_context_and_describe() {
    let input = ":t amount > 1000 USD\n\
                 :fields\n\
                 :fields status\n\
                 :fields metadata\n\
                 :type charge.refunded\n\
                 amount_refunded\n\
                 :type charg.refunded\n\
                 :event examples/events/payment_500_usd.json\n\
                 amount\n\
                 :settings\n\
                 :bytecode amount > 1000 USD\n\
                 :nope\n\
                 :help\n";
    let o = repl(&["--event", EVENT], input);
    let out = stdout(&o);
    assert!(
        out.starts_with("amount > 1000 USD : bool\npayment_intent\n"),
        "{out}"
    );
    assert!(
        out.contains("\n  amount                             money  (updatable)\n"),
        "{out}"
    );
    assert!(
        out.contains("status : enum payment_intent.status\n  \"canceled\"\n"),
        "{out}"
    );
    assert!(
        out.contains("metadata : metadata\n  order_id                           \"10423\"\n"),
        "{out}"
    );
    assert!(
        out.contains("note: the event's object is payment_intent, not charge"),
        "{out}"
    );
    assert!(
        out.contains("type charge.refunded · data.object is charge · no event: types only\n"),
        "{out}"
    );
    assert!(out.contains("amount_refunded : money\n"), "{out}");
    assert!(
        out.contains("error[E0101]: unknown event type `charg.refunded`"),
        "{out}"
    );
    assert!(out.contains("did you mean `charge.refunded`?"), "{out}");
    assert!(out.contains("event evt_payment500usd0000000 · payment_intent.succeeded · data.object is payment_intent\n500.00 USD : money\n"), "{out}");
    assert!(
        out.contains("default_currency = USD\ndispute_fee = 15.00 USD\n"),
        "{out}"
    );
    assert!(out.contains("load       @0  amount"), "{out}");
    assert!(out.contains("compare    >"), "{out}");
    assert!(
        out.contains("error[E0950]: unknown command `:nope`"),
        "{out}"
    );
    for c in [
        ":event FILE",
        ":type EVENT_TYPE",
        ":fields [PATH]",
        ":t EXPR",
        ":load FILE.flow",
        ":run",
        ":bytecode EXPR",
        ":settings",
        ":quit",
    ] {
        assert!(out.contains(c), "help lists {c}: {out}");
    }
}

#[test]
fn load_and_run_report_as_flow_run_does() {
    let file = "stdlib/templates/tag_valuable_customers.flow";
    let run = flow()
        .args(["run", file, "--event", EVENT])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0));
    let o = repl(&["--event", EVENT, file], ":run\n");
    let out = stdout(&o);
    assert!(
        out.starts_with("loaded 1 workflow from stdlib/templates/tag_valuable_customers.flow: \"Tag valuable customers\" on payment_intent.succeeded\n"),
        "{out}"
    );
    assert!(out.ends_with(&stdout(&run)), "{out}\n---\n{}", stdout(&run));
    // On a small payment the `when` condition is false.
    let o = repl(
        &[],
        &format!(":load {file}\n:event examples/events/payment_500_usd.json\n:run\n"),
    );
    assert!(
        stdout(&o).contains("skipped · Tag valuable customers"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn a_workflow_typed_at_the_prompt_runs() {
    let input = "on payment_intent.succeeded when amount > 2000 USD {\n\
                 \x20 update customer.metadata.Big = \"yes\"\n\
                 }\n\
                 :run\n\
                 :quit\n\
                 amount\n";
    let o = repl(&["--event", EVENT], input);
    assert_eq!(
        stdout(&o),
        format!(
            "defined \"repl_1\" on payment_intent.succeeded (:run runs it on the current event)\n\
             succeeded · repl_1 on payment_intent.succeeded (evt_payment2500usd000000)\n\
             \x20 update customer {CUSTOMER} {{\"metadata\":{{\"Big\":\"yes\"}}}}\n"
        ),
        "nothing after :quit is read"
    );
}

#[test]
fn retrieve_reads_objects_and_lets_hold_them() {
    let input = "let ch = retrieve charge\nch.outcome.risk_level\nch.amount\n\
                 refund charge: ch, reason: \"fraudulent\"\n";
    let o = repl(
        &[
            "--event",
            "examples/events/fraud_warning_large_charge.json",
            "--objects",
            "examples/objects",
        ],
        input,
    );
    assert_eq!(
        stdout(&o),
        "ch = {\"id\": \"ch_3QwLargeChargeB2\", …} : charge\n\
         \"elevated\" : enum charge.outcome.risk_level?\n\
         480.00 USD : money\n\
         would refund {\"charge\":\"ch_3QwLargeChargeB2\",\"reason\":\"fraudulent\"}\n"
    );
}

#[test]
fn run_time_failures_point_into_the_line() {
    let o = repl(&["--event", EVENT], "retrieve latest_charge\n");
    let out = stdout(&o);
    assert!(out.contains("error[E0954]: evaluation failed: retrieve charge `ch_3QvWm1LkdIwHu7ix1HiJkLmN`: no such object"), "{out}");
    assert!(
        out.contains("help: retrieved objects come from `--objects DIR`"),
        "{out}"
    );
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn bad_start_options_are_reported() {
    let o = repl(&["--type", "payment_intent.succeded"], "amount\n");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("error[E0101]: unknown event type `payment_intent.succeded`"));
    assert_eq!(stdout(&o), "");
    let o = repl(&["--event", "no/such/event.json"], "amount\n");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("error[E0901]: cannot read no/such/event.json"));
}

#[test]
fn odd_input_does_not_end_the_session() {
    let mut input = b"\xff\xfe amount\n".to_vec();
    input.extend_from_slice(b"if amount > 1 USD {\n");
    let o = repl(&["--event", EVENT], &String::from_utf8_lossy(&input));
    let out = stdout(&o);
    assert!(out.contains("error[E0001]"), "{out}");
    assert_eq!(o.status.code(), Some(1));
    // Raw bytes that are not UTF-8.
    let mut child = flow()
        .args(["repl", "--event", EVENT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"\xff\nstatus\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(
        stdout(&o).ends_with("\"succeeded\" : enum payment_intent.status\n"),
        "{}",
        stdout(&o)
    );
}

// ------------------------------------------------------------------ through a terminal

mod terminal {
    use super::*;
    use rexpect::session::{spawn_with_options, Options, PtySession};

    fn start(history: &std::path::Path, args: &[&str]) -> PtySession {
        let mut c = flow();
        c.arg("repl")
            .args(args)
            .env("FLOW_HISTORY", history)
            .env("TERM", "xterm")
            .env("NO_COLOR", "1");
        let options = Options::new()
            .timeout_ms(Some(30_000))
            .strip_ansi_escape_codes(true);
        spawn_with_options(c, options).expect("flow repl starts in a terminal")
    }

    fn keys(p: &mut PtySession, s: &str) {
        p.send(s).expect("keys are sent");
        p.flush().expect("keys are flushed");
    }

    #[test]
    fn tab_completes_and_blocks_span_lines() {
        let dir = tempfile::tempdir().unwrap();
        let history = dir.path().join("sub").join("history");
        let mut p = start(&history, &["--event", EVENT]);
        p.exp_string("Tab completes").unwrap();
        p.exp_string("flow> ").unwrap();

        // A field name after a Tab.
        keys(&mut p, "amount_rec\t");
        p.exp_string("amount_received").unwrap();
        keys(&mut p, "\r");
        p.exp_string("2500.00 USD : money").unwrap();

        // After a dot, through a `let`, with the keys of this event's metadata.
        keys(&mut p, "let m = metadata\r");
        p.exp_string("m = ").unwrap();
        keys(&mut p, "m.cha\t\r");
        p.exp_string("\"web\" : string?").unwrap();

        // Enum values inside quotes after `==`.
        keys(&mut p, "status == \"succ\t\r");
        p.exp_string("true : bool").unwrap();

        // A block continues while `{` is open.
        keys(&mut p, "if amount > 1000 USD {\r");
        keys(&mut p, "  update customer.metadata.Tier = \"VIP\"\r");
        keys(&mut p, "}\r");
        p.exp_string(&format!(
            "would update customer {CUSTOMER} {{\"metadata\":{{\"Tier\":\"VIP\"}}}}"
        ))
        .unwrap();

        // Ctrl-C clears the line (and, as in a shell, what was typed ahead); the
        // next line is read afresh.
        p.exp_string("flow> ").unwrap();
        keys(&mut p, "amount");
        p.send_control('c').unwrap();
        p.exp_string("\r\n\rflow> ").unwrap();
        keys(&mut p, "currency\r");
        p.exp_string("USD : currency").unwrap();

        // Ctrl-D leaves.
        p.exp_string("flow> ").unwrap();
        p.send_control('d').unwrap();
        p.exp_eof().unwrap();

        let saved = std::fs::read_to_string(&history).expect("history is saved");
        let lines: Vec<&str> = saved.lines().collect();
        assert!(lines.contains(&"amount_received"), "{saved}");
        assert!(lines.contains(&"m.channel"), "{saved}");
        assert!(lines.contains(&"status == \"succeeded\""), "{saved}");
        assert!(saved.contains("if amount > 1000 USD {"), "{saved}");
        assert!(lines.contains(&"currency"), "{saved}");
        assert!(
            !lines.contains(&"amount"),
            "an interrupted line is not kept: {saved}"
        );
        assert!(!lines.contains(&"amountcurrency"), "{saved}");
    }

    #[test]
    fn history_is_there_next_time_and_errors_do_not_end_it() {
        let dir = tempfile::tempdir().unwrap();
        let history = dir.path().join("history");
        std::fs::write(&history, "#V2\namount > 1000 USD\n").unwrap();
        let mut p = start(&history, &["--type", "payment_intent.succeeded"]);
        p.exp_string("flow> ").unwrap();
        // Up arrow recalls the saved line.
        keys(&mut p, "\x1b[A\r");
        p.exp_string("amount > 1000 USD : bool").unwrap();
        keys(&mut p, "amout\r");
        p.exp_string("error[E0102]").unwrap();
        p.exp_string("did you mean `amount`?").unwrap();
        keys(&mut p, ":ty\tpayment_intent.payment_fai\t\r");
        p.exp_string("type payment_intent.payment_failed").unwrap();
        keys(&mut p, ":quit\r");
        p.exp_eof().unwrap();
    }
}

/// A loop runs in the REPL against the event, item by item.
#[test]
fn a_loop_runs_against_the_event() {
    let out = repl(
        &["--event", EVENT],
        "for n in [1, 2] { email to: \"a@example.com\", body: \"n={n} {amount}\" }\n",
    );
    let text = stdout(&out);
    assert!(
        text.contains("| n=1 2500.00 USD") && text.contains("| n=2 2500.00 USD"),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = text.find("n=1").unwrap_or(usize::MAX);
    let second = text.find("n=2").unwrap_or(0);
    assert!(first < second, "in order: {text}");
}
