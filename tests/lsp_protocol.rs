//! `flow lsp` spoken to over its standard input and output with `lsp-server`'s
//! message types: the handshake, diagnostics on open and change, completion, hover,
//! the quick fix for a did-you-mean, go to definition, formatting, document symbols
//! and a clean shutdown.

use std::io::{BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use lsp_server::{Message, Notification, Request, RequestId};
use serde_json::{json, Value as Json};

const TEMPLATE: &str = "stdlib/templates/tag_valuable_customers.flow";

struct Client {
    child: Child,
    stdin: ChildStdin,
    incoming: Receiver<Message>,
    next_id: i32,
}

impl Client {
    fn start() -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_flow"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("flow lsp starts");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, incoming) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Ok(Some(m)) = Message::read(&mut reader) {
                if tx.send(m).is_err() {
                    break;
                }
            }
        });
        Client {
            child,
            stdin,
            incoming,
            next_id: 1,
        }
    }

    fn send(&mut self, m: Message) {
        m.write(&mut self.stdin).expect("the server reads");
        self.stdin.flush().expect("flushed");
    }

    fn notify(&mut self, method: &str, params: Json) {
        self.send(Notification::new(method.into(), params).into());
    }

    /// Send a request and wait for its answer (other messages in between are dropped).
    fn request(&mut self, method: &str, params: Json) -> Json {
        let id = self.next_id;
        self.next_id += 1;
        self.send(Request::new(RequestId::from(id), method.into(), params).into());
        loop {
            match self.receive() {
                Message::Response(r) if r.id == RequestId::from(id) => {
                    assert!(r.error.is_none(), "{method} failed: {:?}", r.error);
                    return r.result.unwrap_or(Json::Null);
                }
                _ => continue,
            }
        }
    }

    /// Send a request; its answer and the notifications that came before it.
    fn request_noting(&mut self, method: &str, params: Json) -> (Json, Vec<Notification>) {
        let id = self.next_id;
        self.next_id += 1;
        self.send(Request::new(RequestId::from(id), method.into(), params).into());
        let mut notes = Vec::new();
        loop {
            match self.receive() {
                Message::Response(r) if r.id == RequestId::from(id) => {
                    assert!(r.error.is_none(), "{method} failed: {:?}", r.error);
                    return (r.result.unwrap_or(Json::Null), notes);
                }
                Message::Notification(n) => notes.push(n),
                _ => continue,
            }
        }
    }

    fn receive(&self) -> Message {
        self.incoming
            .recv_timeout(Duration::from_secs(30))
            .expect("the server answers within 30 s")
    }

    /// The next diagnostics published.
    fn diagnostics(&self) -> Json {
        loop {
            if let Message::Notification(n) = self.receive() {
                if n.method == "textDocument/publishDiagnostics" {
                    return n.params;
                }
            }
        }
    }
}

fn uri_of(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// The line and UTF-16 column just after the first `needle` of `text`.
fn after(text: &str, needle: &str) -> Json {
    let at = text.find(needle).expect("needle in text") + needle.len();
    let line = text[..at].matches('\n').count();
    let col = text[..at]
        .rsplit('\n')
        .next()
        .unwrap_or("")
        .encode_utf16()
        .count();
    json!({ "line": line, "character": col })
}

#[test]
fn diagnostics_completion_hover_quick_fix_and_shutdown() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("tag.flow");
    let clean = std::fs::read_to_string(TEMPLATE).expect("the template");
    let typo = clean.replacen("when amount >", "when amout >", 1);
    std::fs::write(&path, &typo).expect("written");
    let uri = uri_of(&path);

    let mut c = Client::start();
    let init = c.request(
        "initialize",
        json!({ "processId": null, "rootUri": null, "capabilities": {} }),
    );
    let caps = &init["capabilities"];
    assert_eq!(
        caps["textDocumentSync"]["change"], 2,
        "incremental sync: {caps}"
    );
    assert!(caps["completionProvider"].is_object(), "{caps}");
    assert_eq!(caps["hoverProvider"], true);
    assert_eq!(init["serverInfo"]["name"], "flow");
    c.notify("initialized", json!({}));

    c.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": uri, "languageId": "flow", "version": 1, "text": typo } }),
    );
    let published = c.diagnostics();
    assert_eq!(published["uri"], uri.as_str());
    let ds = published["diagnostics"].as_array().expect("a list");
    let d = ds
        .iter()
        .find(|d| d["code"] == "E0102")
        .unwrap_or_else(|| panic!("an E0102 in {published}"));
    assert_eq!(d["severity"], 1);
    assert_eq!(d["source"], "flow");
    let message = d["message"].as_str().unwrap_or("");
    assert!(
        message.starts_with("`amout` is not a field of payment_intent"),
        "{message}"
    );
    assert!(message.contains("did you mean `amount`?"), "{message}");
    assert_eq!(d["codeDescription"]["href"], "docs/diagnostics.md#e0102");
    assert_eq!(d["data"]["suggestions"], json!(["amount"]));
    assert_eq!(d["range"]["start"], after(&typo, "when "));
    assert_eq!(d["range"]["end"], after(&typo, "when amout"));

    // Completion after `customer != null and `, half typed: the fields of a
    // PaymentIntent, the functions, the words of a condition.
    let half = typo.replacen(
        "update customer",
        "if customer != null and \n        update customer",
        1,
    );
    c.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": uri, "version": 2 },
            "contentChanges": [{ "text": half }],
        }),
    );
    let published = c.diagnostics();
    assert_eq!(published["diagnostics"][0]["code"], "E0001", "{published}");
    let items = c.request(
        "textDocument/completion",
        json!({ "textDocument": { "uri": uri }, "position": after(&half, "customer != null and ") }),
    );
    let labels: Vec<&str> = items
        .as_array()
        .expect("a list of items")
        .iter()
        .filter_map(|i| i["label"].as_str())
        .collect();
    for want in ["amount", "currency", "metadata", "contains", "not", "event"] {
        assert!(labels.contains(&want), "{want} in {labels:?}");
    }

    // Completion of event types after `on `.
    let items = c.request(
        "textDocument/completion",
        json!({ "textDocument": { "uri": uri }, "position": after(&typo, "on payment_") }),
    );
    let events = items.as_array().expect("a list of items");
    let succeeded = events
        .iter()
        .find(|i| i["label"] == "payment_intent.succeeded")
        .expect("payment_intent.succeeded offered");
    assert_eq!(succeeded["textEdit"]["newText"], "payment_intent.succeeded");

    // Hover on `amount` (in the `append` table).
    let hover = c.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": uri }, "position": after(&typo, "\"Amount\": am") }),
    );
    let value = hover["contents"]["value"].as_str().unwrap_or("");
    assert!(
        value.contains("`money`") && value.contains("payment_intent"),
        "{hover}"
    );
    assert!(
        value.contains("Amount intended to be collected by this PaymentIntent."),
        "Stripe's description of the field: {hover}"
    );

    // Hover on the event type after `on`: what Stripe says it means.
    let hover = c.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": uri }, "position": after(&typo, "on payment_intent.succ") }),
    );
    let value = hover["contents"]["value"].as_str().unwrap_or("");
    assert!(
        value.contains("Occurs when a PaymentIntent has successfully completed payment."),
        "{hover}"
    );

    // The quick fix puts the suggestion in place of the typo.
    let actions = c.request(
        "textDocument/codeAction",
        json!({
            "textDocument": { "uri": uri },
            "range": d["range"],
            "context": { "diagnostics": [d] },
        }),
    );
    let fix = &actions[0];
    assert_eq!(fix["kind"], "quickfix");
    assert_eq!(fix["title"], "Replace with `amount`");
    let edit = &fix["edit"]["changes"][uri.as_str()][0];
    assert_eq!(edit["newText"], "amount");
    assert_eq!(edit["range"], d["range"]);

    // Fixed, in two changes applied in order: the whole text back, then the typo's
    // range replaced (incremental sync). Nothing to say.
    let fixed = typo.replacen("amout", "amount", 1);
    c.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": uri, "version": 3 },
            "contentChanges": [
                { "text": typo },
                { "range": { "start": after(&typo, "when "), "end": after(&typo, "when amout") },
                  "text": "amount" },
            ],
        }),
    );
    let published = c.diagnostics();
    assert_eq!(published["diagnostics"], json!([]), "{fixed}");
    // The server's text is the fixed one: formatting it changes nothing but layout.
    let edits = c.request(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": uri }, "options": { "tabSize": 4, "insertSpaces": true } }),
    );
    let formatted = edits
        .as_array()
        .and_then(|e| e.first())
        .and_then(|e| e["newText"].as_str())
        .map_or_else(|| fixed.clone(), str::to_string);
    assert!(formatted.contains("when amount > "), "{formatted}");

    // An unknown method is an error answer, not a crash.
    c.send(Request::new(RequestId::from(99), "flow/nothing".into(), json!({})).into());
    loop {
        if let Message::Response(r) = c.receive() {
            assert_eq!(r.id, RequestId::from(99));
            assert!(r.error.is_some());
            break;
        }
    }

    assert_eq!(c.request("shutdown", Json::Null), Json::Null);
    c.notify("exit", Json::Null);
    let status = c.child.wait().expect("flow lsp ends");
    assert!(status.success(), "{status}");
}

#[test]
fn go_to_definition_of_a_let() {
    let text = "on charge.succeeded {\n    let big = amount > 100 USD\n    if big {\n        email to: \"a@example.com\", body: \"big\"\n    }\n}\n";
    let mut c = Client::start();
    c.request("initialize", json!({ "capabilities": {} }));
    c.notify("initialized", json!({}));
    let uri = "file:///nowhere/big.flow";
    c.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": uri, "languageId": "flow", "version": 1, "text": text } }),
    );
    let _ = c.diagnostics();
    let loc = c.request(
        "textDocument/definition",
        json!({ "textDocument": { "uri": uri }, "position": after(text, "if b") }),
    );
    assert_eq!(loc["uri"], uri);
    assert_eq!(loc["range"]["start"], json!({ "line": 1, "character": 8 }));
    c.request("shutdown", Json::Null);
    c.notify("exit", Json::Null);
    let status = c.child.wait().expect("flow lsp ends");
    assert!(status.success(), "{status}");
}

/// Open or change a document and wait for its diagnostics.
fn show(c: &mut Client, uri: &str, version: i32, text: &str) -> Json {
    if version == 1 {
        c.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "flow", "version": 1, "text": text } }),
        );
    } else {
        c.notify(
            "textDocument/didChange",
            json!({
                "textDocument": { "uri": uri, "version": version },
                "contentChanges": [{ "text": text }],
            }),
        );
    }
    c.diagnostics()
}

fn start_and_initialize() -> (Client, Json) {
    let mut c = Client::start();
    let init = c.request("initialize", json!({ "capabilities": {} }));
    c.notify("initialized", json!({}));
    (c, init)
}

fn stop(mut c: Client) {
    c.request("shutdown", Json::Null);
    c.notify("exit", Json::Null);
    let status = c.child.wait().expect("flow lsp ends");
    assert!(status.success(), "{status}");
}

#[test]
fn formatting_gives_the_canonical_text_or_nothing() {
    let clean = std::fs::read_to_string(TEMPLATE).expect("the template");
    // Badly laid out: the header on one line, indents halved, spaces around `=`
    // dropped, no final line break.
    let messy = clean
        .replacen(
            "\"\non payment_intent.succeeded\nwhen",
            "\" on payment_intent.succeeded when",
            1,
        )
        .replace("\n    ", "\n  ")
        .replacen(" = ", "=", 1);
    let messy = messy.trim_end().to_string();
    assert_ne!(messy, clean);

    let (mut c, init) = start_and_initialize();
    assert_eq!(init["capabilities"]["documentFormattingProvider"], true);
    let uri = "file:///nowhere/tag_valuable_customers.flow";
    let options = json!({ "tabSize": 2, "insertSpaces": true });

    show(&mut c, uri, 1, &messy);
    let edits = c.request(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": uri }, "options": options }),
    );
    let edits = edits.as_array().expect("a list of edits");
    assert_eq!(edits.len(), 1, "{edits:?}");
    assert_eq!(edits[0]["newText"], clean.as_str());
    assert_eq!(
        edits[0]["range"]["start"],
        json!({ "line": 0, "character": 0 })
    );
    let last = messy.lines().count() - 1;
    let end = messy
        .rsplit('\n')
        .next()
        .unwrap_or("")
        .encode_utf16()
        .count();
    assert_eq!(
        edits[0]["range"]["end"],
        json!({ "line": last, "character": end })
    );

    // Formatted already: no edits.
    show(&mut c, uri, 2, &clean);
    let edits = c.request(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": uri }, "options": options }),
    );
    assert_eq!(edits, json!([]));

    // A syntax error: no edits, and the editor is told why.
    let broken = clean.replacen("when amount > 1000 USD {", "when amount > {", 1);
    show(&mut c, uri, 3, &broken);
    let (edits, notes) = c.request_noting(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": uri }, "options": options }),
    );
    assert_eq!(edits, json!([]));
    let shown = notes
        .iter()
        .find(|n| n.method == "window/showMessage")
        .unwrap_or_else(|| panic!("a message shown: {notes:?}"));
    let message = shown.params["message"].as_str().unwrap_or("");
    assert!(message.contains("syntax errors"), "{message}");

    stop(c);
}

#[test]
fn document_symbols_list_workflows_tests_and_actions() {
    let text = "action crm_note url: \"https://crm.example.com/hooks/note\" {\n    customer: string\n}\n\nworkflow \"Big spenders\"\non payment_intent.succeeded\nwhen amount > 1000 USD {\n    let big = amount > 2000 USD\n    if big {\n        update customer.metadata.Tier = \"VIP\"\n    }\n}\n\ntest \"a big one is tagged\" {\n    given payment_intent.succeeded { amount: 5000 USD, customer: \"cus_1\" }\n    expect succeeded\n}\n";
    let (mut c, init) = start_and_initialize();
    assert_eq!(init["capabilities"]["documentSymbolProvider"], true);
    let uri = "file:///nowhere/big.flow";
    show(&mut c, uri, 1, text);
    let symbols = c.request(
        "textDocument/documentSymbol",
        json!({ "textDocument": { "uri": uri } }),
    );
    let symbols = symbols.as_array().expect("a list of symbols");
    let summary: Vec<(&str, i64)> = symbols
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or(""),
                s["kind"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    // Interface 11, Function 12, Method 6.
    assert_eq!(
        summary,
        [
            ("crm_note", 11),
            ("Big spenders", 12),
            ("a big one is tagged", 6)
        ]
    );
    let w = &symbols[1];
    assert_eq!(w["detail"], "on payment_intent.succeeded");
    assert_eq!(
        w["range"],
        json!({ "start": { "line": 4, "character": 0 }, "end": { "line": 11, "character": 1 } })
    );
    assert_eq!(
        w["selectionRange"],
        json!({ "start": { "line": 4, "character": 9 }, "end": { "line": 4, "character": 23 } })
    );
    assert_eq!(w["children"][0]["name"], "big");
    assert_eq!(w["children"][0]["kind"], 13);
    let t = &symbols[2];
    assert_eq!(
        t["range"],
        json!({ "start": { "line": 13, "character": 0 }, "end": { "line": 16, "character": 1 } })
    );
    assert_eq!(
        t["selectionRange"]["start"],
        json!({ "line": 13, "character": 5 })
    );

    // With a syntax error in the workflow, the rest is still listed.
    let broken = text.replacen("let big = amount", "let = amount", 1);
    show(&mut c, uri, 2, &broken);
    let symbols = c.request(
        "textDocument/documentSymbol",
        json!({ "textDocument": { "uri": uri } }),
    );
    let names: Vec<&str> = symbols
        .as_array()
        .expect("a list of symbols")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert!(names.contains(&"a big one is tagged"), "{names:?}");
    assert!(names.contains(&"crm_note"), "{names:?}");

    stop(c);
}
