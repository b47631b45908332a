//! Golden disassembly: each `tests/golden/NAME.golden` holds a small flow source, a
//! separator line, and the exact listing `flow compile --emit bytecode` prints for it
//! (`flow::program::disassemble`). There is one file per instruction family and per
//! fast path of the VM (comparisons and membership answered in place, a list that is
//! never made, the jumps of `and`, `or`, `if` and `when`), and together they use
//! every instruction the compiler emits.
//!
//! `FLOW_BLESS=1 cargo test --test golden` rewrites the listings from the sources;
//! review the diff.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use flow::program::Op;
use flow::settings::Settings;
use flow::syntax::SourceFile;

/// Between the source and its listing.
const SEPARATOR: &str = "----- disassembly";

fn golden_files() -> Vec<PathBuf> {
    let dir = common::root().join("tests/golden");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/golden exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "golden"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no .golden files under {}",
        dir.display()
    );
    files
}

/// A golden file: its name, the source, and the text the file should hold.
struct Golden {
    path: PathBuf,
    name: String,
    source: String,
    ops: Vec<Op>,
    /// The source, the separator and the listing as the compiler makes it now.
    text: String,
}

fn golden(path: PathBuf) -> Golden {
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let file = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut source = String::new();
    let mut found = false;
    for line in file.split_inclusive('\n') {
        if line.trim_end() == SEPARATOR {
            found = true;
            break;
        }
        source.push_str(line);
    }
    // A new file may hold only its source: blessing adds the listing.
    assert!(
        found || common::bless(),
        "{name}.golden has no `{SEPARATOR}` line"
    );
    let src = SourceFile::new(format!("{name}.flow"), source.clone());
    let build = flow::build(&src, &Settings::default(), &name);
    let rendered: String = build
        .diagnostics
        .iter()
        .map(|d| flow::diagnostics::render(d, &src, false))
        .collect();
    assert!(
        build.diagnostics.is_empty(),
        "{name}.golden: the source should check cleanly:\n{rendered}"
    );
    let listings: Vec<String> = build
        .compiled
        .programs
        .iter()
        .map(|p| flow::program::disassemble(p, Some(&src)))
        .collect();
    assert!(!listings.is_empty(), "{name}.golden has no workflow");
    let ops = build
        .compiled
        .programs
        .iter()
        .flat_map(|p| p.code.iter().copied())
        .collect();
    let text = format!("{source}{SEPARATOR}\n{}", listings.join("\n"));
    Golden {
        path,
        name,
        source,
        ops,
        text,
    }
}

#[test]
fn listings_match_the_golden_files() {
    let mut stale = Vec::new();
    for g in golden_files().into_iter().map(golden) {
        if let Err(diff) = common::expect_file(&g.path, &g.text) {
            stale.push(diff);
        }
    }
    assert!(stale.is_empty(), "{}", stale.join("\n"));
}

/// The instruction family of an op. Adding an instruction fails to compile here until
/// it has a name; give it a golden file as well.
fn family(op: &Op) -> &'static str {
    match op {
        Op::Const(_) => "const",
        Op::Load(_) => "load",
        Op::LoadLocal(_) => "load.local",
        Op::StoreLocal(_) => "store.local",
        Op::Pop => "pop",
        Op::Not => "not",
        Op::Compare(..) => "compare",
        Op::In => "in",
        Op::MakeList(_) => "list",
        Op::Concat(_) => "concat",
        Op::IdOf => "id.of",
        Op::JumpIfFalse(_) => "jump.false",
        Op::Jump(_) => "jump",
        Op::Retrieve(..) => "retrieve",
        Op::Update(_) => "update",
        Op::MakeTable(_) => "table",
        Op::Email => "email",
        Op::Refund(_) => "refund",
        Op::Call(_) => "call",
        Op::Stripe(_) => "stripe",
        Op::Skip => "skip",
        Op::Halt => "halt",
        Op::Arith(..) => "arith",
        Op::Neg => "neg",
        Op::CallFn(..) => "call.fn",
        Op::Match(_) => "match",
        Op::Now => "now",
        Op::IterStart(_) => "iter.start",
        Op::Next(..) => "next",
        Op::Loop(..) => "loop",
        Op::EndLoop => "end.loop",
        Op::Wait => "wait",
        Op::WaitUntil => "wait.until",
    }
}

/// Every name `family` gives.
const FAMILIES: &[&str] = &[
    "wait",
    "wait.until",
    "stripe",
    "loop",
    "end.loop",
    "arith",
    "neg",
    "call.fn",
    "match",
    "now",
    "iter.start",
    "next",
    "const",
    "load",
    "load.local",
    "store.local",
    "pop",
    "not",
    "compare",
    "in",
    "list",
    "concat",
    "id.of",
    "jump.false",
    "jump",
    "retrieve",
    "update",
    "table",
    "email",
    "refund",
    "call",
    "skip",
    "halt",
];

#[test]
fn the_golden_files_use_every_instruction() {
    let used: BTreeSet<&str> = golden_files()
        .into_iter()
        .map(golden)
        .flat_map(|g| g.ops.iter().map(family).collect::<Vec<_>>())
        .collect();
    let all: BTreeSet<&str> = FAMILIES.iter().copied().collect();
    let missing: Vec<&&str> = all.difference(&used).collect();
    assert!(missing.is_empty(), "no golden file uses {missing:?}");
    assert!(
        used.is_subset(&all),
        "FAMILIES lacks {:?}",
        used.difference(&all).collect::<Vec<_>>()
    );
}

/// The shapes the VM's fast paths look for, each in the golden file named for it: a
/// listing that stops showing the shape (say, the compiler starts to order the
/// operands differently) fails here, not only in the golden diff.
#[test]
fn each_fast_path_has_its_shape() {
    let goldens: Vec<Golden> = golden_files().into_iter().map(golden).collect();
    let ops = |name: &str| -> &[Op] {
        &goldens
            .iter()
            .find(|g| g.name == name)
            .unwrap_or_else(|| panic!("no {name}.golden"))
            .ops
    };
    let has = |name: &str, shape: &dyn Fn(&[Op]) -> bool| {
        let code = ops(name);
        assert!(
            (0..code.len()).any(|i| shape(&code[i..])),
            "{name}.golden lacks its shape: {code:?}"
        );
    };
    // `load`, `const`, `compare`, then the `jump.false` of the `when`.
    has("compare_in_place", &|c| {
        matches!(
            c,
            [
                Op::Load(_),
                Op::Const(_),
                Op::Compare(..),
                Op::JumpIfFalse(_),
                ..
            ]
        )
    });
    // The constant first: not in place.
    has("compare_swapped", &|c| {
        matches!(c, [Op::Const(_), Op::Load(_), Op::Compare(..), ..])
    });
    has("compare_fields", &|c| {
        matches!(c, [Op::Load(_), Op::Load(_), Op::Compare(..), ..])
    });
    // `load`, three constants, `list 3`, `in`.
    has("membership_in_place", &|c| {
        matches!(
            c,
            [
                Op::Load(_),
                Op::Const(_),
                Op::Const(_),
                Op::Const(_),
                Op::MakeList(3),
                Op::In,
                ..
            ]
        )
    });
    // A local needle: `list 2` then `in`, with no field to peek at.
    has("membership_without_list", &|c| {
        matches!(
            c,
            [
                Op::LoadLocal(_),
                Op::Const(_),
                Op::Const(_),
                Op::MakeList(2),
                Op::In,
                ..
            ]
        )
    });
    has("membership_of_a_list_field", &|c| {
        matches!(c, [Op::Const(_), Op::Load(_), Op::In, ..])
    });
    // The end of the `and`: a comparison, a `jump` to the `jump.false` of the `or`.
    has("and_or", &|c| {
        matches!(c, [Op::Compare(..), Op::Jump(t), ..]
            if matches!(ops("and_or").get(*t as usize), Some(Op::JumpIfFalse(_))))
    });
    has("not", &|c| matches!(c, [Op::Compare(..), Op::Not, ..]));
    // Every golden `when` ends its listing with `halt`, then `skip`.
    for g in &goldens {
        let when = g
            .source
            .lines()
            .any(|l| !l.trim_start().starts_with("//") && l.contains(" when "));
        let end: Vec<&str> = g.ops.iter().rev().take(2).rev().map(family).collect();
        let expected: &[&str] = if when { &["halt", "skip"] } else { &["halt"] };
        assert!(end.ends_with(expected), "{}: ends with {end:?}", g.name);
    }
}
