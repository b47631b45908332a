//! The workspace's shape, from Cargo's own view of it: the crates follow the
//! pipeline, each depending only on crates below it, and the front end (syntax and
//! checker) builds without the network, database and mail stacks, so an editor, a
//! formatter or a WASM build can embed it.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value as Json;

/// The crates from the bottom up. A crate may depend on those before it only.
const LAYERS: &[&str] = &[
    "flow-syntax",
    "flow-format",
    "flow-diagnostics",
    "flow-stdlib",
    "flow-program",
    "flow-check",
    "flow-compile",
    "flow-vm",
    "flow-bindings",
    "flow-project",
    "flow-testing",
    "flow-batch",
    "flow-repl",
    "flow-lsp",
    "flow-serve",
    "flow",
];

/// The platform cargo builds for here (`host:` of `cargo -vV`): the resolve is
/// filtered to it, so no other platform's packages need to be at hand.
fn host() -> String {
    let out = Command::new(env!("CARGO"))
        .arg("-vV")
        .output()
        .expect("cargo -vV runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("cargo -vV names the host")
        .to_string()
}

fn metadata() -> Json {
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--filter-platform",
        ])
        .arg(host())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

/// Package name by id, and each package's normal (non-dev, non-build) dependencies
/// as resolved for this workspace.
fn graph(meta: &Json) -> (BTreeMap<String, String>, BTreeMap<String, Vec<String>>) {
    let names: BTreeMap<String, String> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_string(),
                p["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut deps = BTreeMap::new();
    for node in meta["resolve"]["nodes"].as_array().unwrap() {
        let id = node["id"].as_str().unwrap().to_string();
        let normal: Vec<String> = node["deps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| {
                d["dep_kinds"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|k| k["kind"].is_null())
            })
            .map(|d| d["pkg"].as_str().unwrap().to_string())
            .collect();
        deps.insert(id, normal);
    }
    (names, deps)
}

fn closure(
    name: &str,
    names: &BTreeMap<String, String>,
    deps: &BTreeMap<String, Vec<String>>,
) -> BTreeSet<String> {
    let start = names
        .iter()
        .find(|(_, n)| n.as_str() == name)
        .map(|(id, _)| id.clone())
        .unwrap_or_else(|| panic!("{name} is a package of the workspace"));
    let mut seen = BTreeSet::new();
    let mut todo = vec![start];
    while let Some(id) = todo.pop() {
        if seen.insert(id.clone()) {
            todo.extend(deps.get(&id).cloned().unwrap_or_default());
        }
    }
    seen.iter().map(|id| names[id].clone()).collect()
}

#[test]
fn the_front_end_builds_without_network_database_or_mail() {
    let meta = metadata();
    let (names, deps) = graph(&meta);
    for front in ["flow-syntax", "flow-format", "flow-check"] {
        let all = closure(front, &names, &deps);
        for heavy in [
            "rusqlite",
            "ureq",
            "lettre",
            "rustls",
            "tokio",
            "hyper",
            "rustyline",
        ] {
            assert!(
                !all.contains(heavy),
                "{front} depends on {heavy} (through: {all:?})"
            );
        }
    }
}

#[test]
fn each_crate_depends_only_on_crates_below_it() {
    let meta = metadata();
    let (names, deps) = graph(&meta);
    let members: BTreeSet<String> = meta["workspace_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| names[id.as_str().unwrap()].clone())
        .filter(|n| n != "flow-benches")
        .collect();
    let listed: BTreeSet<String> = LAYERS.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        members, listed,
        "every member crate has its place in LAYERS"
    );
    for (id, ds) in &deps {
        let name = &names[id];
        let Some(level) = LAYERS.iter().position(|l| l == name) else {
            continue;
        };
        for d in ds {
            let dep = &names[d];
            if let Some(below) = LAYERS.iter().position(|l| l == dep) {
                assert!(
                    below < level,
                    "{name} depends on {dep}, which is not below it"
                );
            }
        }
    }
}
