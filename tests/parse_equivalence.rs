//! The hand-written parser against pest, the reference: for every input, either the
//! hand-written parser accepts, pest accepts too and both build the same tree (same
//! nodes, same spans), or it declines; and `parse` always gives what the pest path
//! gives, tree and diagnostics. Inputs: every `.flow` file of the repository, the
//! sources of the golden files, the code blocks of the documentation, and thousands
//! of token-level mutations of them (deterministic: a failure names its input).

mod common;

use common::Rng;

use std::path::Path;

use flow::syntax::parser::parse_with_pest;
use flow::syntax::SourceFile;

fn flow_files(dir: &Path, out: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if p.is_dir() {
            if !name.starts_with('.') && name != "target" && name != "node_modules" {
                flow_files(&p, out);
            }
        } else if name.ends_with(".flow") {
            if let Ok(text) = std::fs::read_to_string(&p) {
                out.push((p.display().to_string(), text));
            }
        } else if name.ends_with(".golden") {
            if let Ok(text) = std::fs::read_to_string(&p) {
                let source = text.split("\n----- ").next().unwrap_or("").to_string();
                out.push((p.display().to_string(), source));
            }
        } else if name.ends_with(".md") {
            if let Ok(text) = std::fs::read_to_string(&p) {
                for (i, block) in code_blocks(&text).into_iter().enumerate() {
                    out.push((format!("{} block {i}", p.display()), block));
                }
            }
        }
    }
}

/// The fenced code blocks of a Markdown text (any language: what is not flow is
/// compared all the same).
fn code_blocks(md: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in md.lines() {
        if line.trim_start().starts_with("```") {
            match current.take() {
                Some(block) => out.push(block),
                None => current = Some(String::new()),
            }
        } else if let Some(block) = current.as_mut() {
            block.push_str(line);
            block.push('\n');
        }
    }
    out
}

fn corpus() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let root = common::root();
    for dir in [
        "examples", "stdlib", "tests", "docs", "editors", "benches", "fuzz",
    ] {
        flow_files(&root.join(dir), &mut out);
    }
    if let Ok(readme) = std::fs::read_to_string(root.join("README.md")) {
        for (i, block) in code_blocks(&readme).into_iter().enumerate() {
            out.push((format!("README.md block {i}"), block));
        }
    }
    out
}

#[test]
fn every_file_of_the_repository_parses_alike() {
    let corpus = corpus();
    assert!(corpus.len() > 100, "found {} inputs", corpus.len());
    let mut missed = Vec::new();
    for (name, text) in &corpus {
        let accepted = common::parses_alike(text);
        // The programs people start from must take the fast path.
        let realistic = name.contains("/examples/") || name.contains("/stdlib/templates/");
        if realistic
            && !accepted
            && parse_with_pest(&SourceFile::new("t", text.as_str()))
                .diagnostics
                .is_empty()
        {
            missed.push(name.clone());
        }
    }
    assert!(missed.is_empty(), "declined valid programs: {missed:?}");
}

/// Split a text into tokens: words and numbers, strings, runs of spaces, single
/// characters otherwise. Joined, the tokens give the text back.
fn tokens(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        let c = b[i];
        if c.is_ascii_alphanumeric() || c == b'_' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'.') {
                i += 1;
            }
        } else if c == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' && b[i] != b'\n' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(b.len());
        } else if c == b' ' || c == b'\t' {
            while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
                i += 1;
            }
        } else {
            i += 1;
            while i < b.len() && !text.is_char_boundary(i) {
                i += 1;
            }
        }
        while i < b.len() && !text.is_char_boundary(i) {
            i += 1;
        }
        out.push(&text[start..i]);
    }
    out
}

const EXTRA: &[&str] = &[
    "<",
    ">",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ";",
    ",",
    ":",
    "=",
    "==",
    "<=",
    "-",
    "not",
    "and",
    "or",
    "in",
    "if",
    "else",
    "let",
    "wait",
    "until",
    "for",
    "limit",
    "break",
    "update",
    "retrieve",
    "stripe.invoices.list",
    "any(",
    "USD",
    "7 days",
    "2024-01-01",
    "1_000",
    "\"a{b}\"",
    "\"\\{\"",
    "// c\n",
    "\n",
    " ",
    "test",
    "given",
    "expect",
    "answer",
    "with",
    "no",
    "actions",
    "schedule",
    "demand",
    "action",
    "url",
    "x",
    "0",
    "-1",
    "null",
];

fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut toks: Vec<&str> = tokens(text);
    for _ in 0..=rng.below(3) {
        let n = toks.len();
        let at = rng.below(n + 1);
        match rng.below(5) {
            0 if n > 0 => {
                toks.remove(at.min(n - 1));
            }
            1 if n > 1 => {
                let a = rng.below(n - 1);
                toks.swap(a, a + 1);
            }
            2 if n > 0 => {
                let t = toks[rng.below(n)];
                toks.insert(at, t);
            }
            _ => toks.insert(at, EXTRA[rng.below(EXTRA.len())]),
        }
    }
    toks.concat()
}

#[test]
fn token_mutations_parse_alike() {
    let corpus = corpus();
    let seeds: Vec<&String> = corpus
        .iter()
        .filter(|(_, t)| t.contains("on ") || t.contains("test "))
        .map(|(_, t)| t)
        .collect();
    assert!(!seeds.is_empty());
    let mut rng = Rng(0xF1A5_7EED);
    let (mut accepted, mut declined) = (0, 0);
    for i in 0..6000 {
        let text = mutate(&mut rng, seeds[i % seeds.len()]);
        if common::parses_alike(&text) {
            accepted += 1;
        } else {
            declined += 1;
        }
    }
    eprintln!("{accepted} accepted, {declined} declined");
    // Both outcomes must be exercised for the comparison to mean something.
    assert!(
        accepted > 500 && declined > 500,
        "{accepted} accepted, {declined} declined"
    );
}

#[test]
fn edge_cases_parse_alike() {
    let cases = [
        "",
        "   \n// only a comment\n",
        ";;",
        "on charge.succeeded { }",
        "on charge.succeeded when amount > 1000 USD < email to: \"a@b.co\", body: \"n\"; if amount > 2 USD < update customer.metadata.T = \"V\" > >",
        "on charge.succeeded when amount < dispute_fee { retrieve customer }",
        "on charge.succeeded { update x = a > b }",
        "on charge.succeeded < update x = a > b >",
        "on charge.succeeded { wait until }",
        "on charge.succeeded { wait until created + 3 days }",
        "on charge.succeeded { wait until\n}",
        "on charge.succeeded { for x in xs limit -5 { break } }",
        "on charge.succeeded { let r = http method: \"POST\", url: \"u\", }",
        "on charge.succeeded { email to: a, // trailing\n }",
        "on charge.succeeded { email to: \"a {b\n} c\" // d\n }",
        "on charge.succeeded { email to: \"a {b} c\" // d\n }",
        "on charge.succeeded { email to: x (y) }",
        "on charge.succeeded { email to: any(x in xs: x > 1), b: any (x) }",
        "on charge.succeeded { email to: 2024-01-01T09:00:00+02:00, b: 2024-01-01, c: 2024-01-01-5 }",
        "on charge.succeeded { email to: 2024-02-30 }",
        "on charge.succeeded { email to: 99999999999999999999999999999 }",
        "on charge.succeeded { email to: 1.5 weeks, b: 1.5 seconds }",
        "on charge.succeeded { email to: USD, b: USDX, c: USD.x, d: 10USD }",
        "on charge.succeeded { email to: a[0][\"b c\"].d, b: a[99999999999999999999999] }",
        "on charge.succeeded { email to: not a == b and - c * - d or e in [1, 2,] }",
        "on charge.succeeded { stripe.invoices.void_invoice(inv, status: \"open\",) }",
        "on charge.succeeded { stripe.invoices.void_invoice // c\n (inv) }",
        "on schedule \"0 9 * * *\" timezone \"Europe/Paris\" { retrieve customer }",
        "on schedule { retrieve customer }",
        "on demand (customer: ref<customer>, n: list<ref<charge>>?, e: enum(a|b) = \"a\",) { }",
        "on demand { }",
        "workflow \"a {b}\" on x { }",
        "action crm url: \"https://c.example\" { customer: ref(customer), text: string?; }",
        "test \"t\" { given x.y { a: 1 } with [ { id: \"c\" } ]\n answer stripe.a.b with { id: \"1\" }\n expect no actions\n expect actions [ email to: \"x\", update a.b == 1; stripe.a.b(c) ]\n expect failed \"m\"\n expect no\n}",
        "test \"t\" { given \"e.json\" with \"objects\"; expect succeeded; expect actions }",
        "on charge.succeeded { retrieve customer retrieve customer }",
        "on charge.succeeded { if a { } else if b { } else { } }",
        "on charge.succeeded { email to: \"\\q\" }",
        "on charge.succeeded { email to: \"é😀\u{0}\" }",
        "\u{feff}on charge.succeeded { }",
        "on charge.succeeded\u{a0}{ }",
    ];
    for c in cases {
        common::parses_alike(c);
    }
}

#[test]
fn deep_nesting_parses_alike() {
    for depth in [10, 60, 61, 62, 63, 64, 65, 66, 100, 130, 300] {
        let cases = [
            format!(
                "on charge.succeeded when {}amount > 1 USD{} {{ retrieve customer }}",
                "(".repeat(depth),
                ")".repeat(depth)
            ),
            format!(
                "on charge.succeeded {{ {}retrieve customer{} }}",
                "if true { ".repeat(depth),
                " }".repeat(depth)
            ),
            format!(
                "on charge.succeeded {{ let x = {}1{} }}",
                "[".repeat(depth),
                "]".repeat(depth)
            ),
            format!(
                "on charge.succeeded {{ if a {{ }}{} }}",
                " else if a { }".repeat(depth)
            ),
            format!(
                "on charge.succeeded when {}true {{ retrieve customer }}",
                "not ".repeat(depth * 2)
            ),
            format!(
                "on charge.succeeded when {} {{ retrieve customer }}",
                vec!["amount > 1 USD"; depth].join(" and ")
            ),
        ];
        for text in cases {
            // The default 2 MiB stack of a spawned thread: recursion shows here first.
            let t = text.clone();
            let ok = std::thread::Builder::new()
                .stack_size(2 << 20)
                .spawn(move || {
                    common::parses_alike(&t);
                })
                .map(|h| h.join().is_ok())
                .unwrap_or(false);
            assert!(ok, "failed at depth {depth}: {}…", &text[..60]);
        }
    }
}
