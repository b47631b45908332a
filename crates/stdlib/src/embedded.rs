//! The files of `stdlib/`, embedded at build time by `build.rs`.

include!(concat!(env!("OUT_DIR"), "/stdlib_files.rs"));

/// A file embedded from `stdlib/`, by relative path.
pub fn file(path: &str) -> Option<&'static str> {
    FILES.iter().find(|(p, _)| *p == path).map(|(_, t)| *t)
}
