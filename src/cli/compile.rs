//! `flow compile`: print a file's bytecode.

use std::path::Path;

use flow_diagnostics::{self as diagnostics, Diagnostic};

use super::output::{build_file, print_plain, stderr_color, Stdout};

pub fn compile(file: &Path, emit: &str) -> i32 {
    if emit != "bytecode" {
        print_plain(
            &Diagnostic::error("E0903", format!("unknown `--emit {emit}`"))
                .with_help("the only choice is `--emit bytecode`"),
            None,
        );
        return 2;
    }
    let (source, build) = match build_file(file) {
        Ok(b) => (b.source, b.build),
        Err(code) => return code,
    };
    if build.has_errors() {
        let color = stderr_color();
        for d in &build.diagnostics {
            eprint!("{}", diagnostics::render(d, &source, color));
        }
        return 1;
    }
    let mut out = Stdout::lock();
    for p in &build.compiled.programs {
        if !out.line(&flow_program::disassemble(p, Some(&source))) {
            break;
        }
    }
    0
}
