//! The `.flow` files of a project. One rule for every command (`flow check .`,
//! `flow test .`, `flow serve .` see the same files): a file named on the command
//! line is taken as it is; a folder is searched below it for `.flow` files,
//! skipping hidden folders and files, `target/` folders, and whatever `.gitignore`,
//! `.ignore` and `.flowignore` files exclude (`.flowignore`, in the same syntax, is
//! read by flow alone: fixtures that are wrong on purpose, files kept in a layout of
//! their own). The result is sorted and without duplicates.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The file of patterns (as in `.gitignore`) that a folder walk of flow leaves out.
pub const FLOWIGNORE: &str = ".flowignore";

/// The `.flow` files of `paths`. A path that does not exist is an error naming it.
pub fn flow_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = BTreeSet::new();
    for p in paths {
        if p.is_dir() {
            walk_dir(p, &mut out)?;
        } else if p.exists() {
            out.insert(p.clone());
        } else {
            return Err(format!("{}: no such file or folder", p.display()));
        }
    }
    Ok(out.into_iter().collect())
}

/// Like [`flow_files`], but a path that does not exist is kept as it is, for the
/// command to report when it reads it (so that one bad path does not hide the rest).
pub fn flow_files_lenient(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        match flow_files(std::slice::from_ref(p)) {
            Ok(files) => out.extend(files),
            Err(_) => out.push(p.clone()),
        }
    }
    out
}

fn walk_dir(dir: &Path, out: &mut BTreeSet<PathBuf>) -> Result<(), String> {
    let walker = ignore::WalkBuilder::new(dir)
        .hidden(true)
        .parents(true)
        .git_ignore(true)
        .git_exclude(false)
        .git_global(false)
        .require_git(false)
        .ignore(true)
        .add_custom_ignore_filename(FLOWIGNORE)
        .filter_entry(|e| {
            !(e.depth() > 0
                && e.file_type().is_some_and(|t| t.is_dir())
                && e.file_name() == "target")
        })
        .build();
    for entry in walker {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let path = entry.path();
        if entry.file_type().is_some_and(|t| t.is_file())
            && path.extension().is_some_and(|e| e == "flow")
        {
            // `./a.flow` → `a.flow`, as a person would write it.
            let path = path.strip_prefix(".").unwrap_or(path);
            out.insert(path.to_path_buf());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(p: &Path) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, "").unwrap();
    }

    #[test]
    fn one_rule_for_folders() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for f in [
            "a.flow",
            "sub/b.flow",
            "sub/notes.txt",
            ".hidden/c.flow",
            "target/d.flow",
            "sub/target/e.flow",
            "ignored/f.flow",
            "sub/g.flow.bak",
            ".h.flow",
        ] {
            touch(&d.join(f));
        }
        std::fs::write(d.join(".gitignore"), "ignored/\n").unwrap();
        let files = flow_files(&[d.to_path_buf()]).unwrap();
        let rel: Vec<String> = files
            .iter()
            .map(|p| p.strip_prefix(d).unwrap().display().to_string())
            .collect();
        assert_eq!(rel, ["a.flow", "sub/b.flow"]);
        // `.flowignore` leaves out more, for flow alone; a file named is still taken.
        std::fs::write(d.join(".flowignore"), "sub/b.flow\n").unwrap();
        let files = flow_files(&[d.to_path_buf()]).unwrap();
        assert_eq!(files, [d.join("a.flow")]);
        let named = flow_files(&[d.join("sub/b.flow")]).unwrap();
        assert_eq!(named, [d.join("sub/b.flow")]);
    }

    #[test]
    fn files_are_taken_as_named_and_missing_ones_named() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("x.txt");
        touch(&f);
        assert_eq!(
            flow_files(std::slice::from_ref(&f)).unwrap(),
            vec![f.clone()]
        );
        let missing = dir.path().join("nope.flow");
        let e = flow_files(std::slice::from_ref(&missing)).unwrap_err();
        assert!(e.contains("nope.flow") && e.contains("no such file"), "{e}");
        assert_eq!(
            flow_files_lenient(std::slice::from_ref(&missing)),
            vec![missing]
        );
    }
}
