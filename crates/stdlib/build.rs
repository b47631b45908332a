//! Embeds every file under the repository's `stdlib/` folder (schemas, events,
//! actions, currencies, templates) into this crate, so that `flow` needs no files
//! beside it at run time.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, root: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, root, out);
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push(rel.to_path_buf());
        }
    }
}

fn main() {
    let manifest =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest.join("../../stdlib");
    println!("cargo:rerun-if-changed=../../stdlib");
    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    let mut code = String::from("/// Every file under `stdlib/`, by its path relative to that folder.\npub static FILES: &[(&str, &str)] = &[\n");
    for rel in &files {
        let rel_str = rel.to_string_lossy().replace('\\', "/");
        println!("cargo:rerun-if-changed=../../stdlib/{rel_str}");
        let _ = writeln!(
            code,
            "    ({rel_str:?}, include_str!({:?})),",
            root.join(rel).to_string_lossy()
        );
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("stdlib_files.rs");
    std::fs::write(out, code).expect("write stdlib_files.rs");
}
