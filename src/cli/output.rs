//! Output helpers shared by the commands: diagnostics on stderr, colour only on a
//! terminal (and never under `NO_COLOR`), and standard output that ends quietly
//! when the reader goes away (`flow events | head -1`).

use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use flow_diagnostics::{self as diagnostics, Diagnostic, Severity};
use flow_program::Program;
use flow_project::{Build, LoadedFile};
use flow_syntax::SourceFile;
use flow_vm::Event;

pub fn stderr_color() -> bool {
    diagnostics::use_color(std::io::stderr().is_terminal())
}

/// Print a diagnostic that is not about a flow file (a missing file, bad JSON).
pub fn print_plain(d: &Diagnostic, source: Option<&Arc<SourceFile>>) {
    let text = match source {
        Some(s) => diagnostics::render(d, s, stderr_color()),
        None => diagnostics::render_plain(d),
    };
    eprint!("{text}");
}

/// Read and build a flow file (see `flow_project::build_file`); `Err` is the exit
/// code, after printing why.
pub fn build_file(file: &Path) -> Result<LoadedFile, i32> {
    flow_project::build_file(file).map_err(|d| {
        print_plain(&d, None);
        2
    })
}

/// [`build_file`], then its problems on stderr; a file with errors is refused (`what`
/// says what does not happen: "not run", "no preview").
pub fn build_runnable(file: &Path, what: &str) -> Result<LoadedFile, i32> {
    let loaded = build_file(file)?;
    let (source, build) = (&loaded.source, &loaded.build);
    let color = stderr_color();
    for d in build
        .diagnostics
        .iter()
        .filter(|d| d.severity != Severity::Note)
    {
        eprint!("{}", diagnostics::render(d, source, color));
    }
    if build.has_errors() {
        eprintln!(
            "{}: {what}: fix the errors above first (`flow check {}`)",
            file.display(),
            file.display()
        );
        return Err(2);
    }
    Ok(loaded)
}

/// The workflows of a build that the event triggers; when there are none, a note on
/// stderr says which triggers the file has.
pub fn triggered<'b>(build: &'b Build, file: &Path, event: &Event) -> Vec<&'b Program> {
    let programs = &build.compiled.programs;
    let matching: Vec<_> = programs
        .iter()
        .filter(|p| p.trigger == event.event_type())
        .collect();
    if matching.is_empty() {
        let triggers: Vec<&str> = programs.iter().map(|p| p.trigger.as_str()).collect();
        eprintln!(
            "note: no workflow in {} is triggered by {} (its triggers: {})",
            file.display(),
            event.event_type(),
            if triggers.is_empty() {
                "none".to_string()
            } else {
                triggers.join(", ")
            }
        );
    }
    matching
}

/// Set when the output could not be written for another reason than a reader that
/// went away (a full disk): the command then exits 1 whatever it did.
static WRITE_FAILED: AtomicBool = AtomicBool::new(false);

/// Whether some output could not be written (not counting a closed pipe).
pub fn write_failed() -> bool {
    WRITE_FAILED.load(Ordering::Relaxed)
}

/// Standard output, locked, for a command's results. A reader that has gone away
/// (a closed pipe) ends the output quietly: writes return false and later ones
/// are skipped; any other write error is reported once.
pub struct Stdout {
    out: io::StdoutLock<'static>,
    closed: bool,
}

impl Stdout {
    pub fn lock() -> Stdout {
        Stdout {
            out: io::stdout().lock(),
            closed: false,
        }
    }

    /// Write text; false once the reader is gone.
    pub fn write(&mut self, text: &str) -> bool {
        if self.closed {
            return false;
        }
        if let Err(e) = self.out.write_all(text.as_bytes()) {
            self.fail(e);
        }
        !self.closed
    }

    /// Write a line; false once the reader is gone.
    pub fn line(&mut self, text: &str) -> bool {
        self.write(text) && self.write("\n")
    }

    fn fail(&mut self, e: io::Error) {
        self.closed = true;
        if e.kind() != io::ErrorKind::BrokenPipe {
            eprintln!("flow: cannot write the output: {e}");
            WRITE_FAILED.store(true, Ordering::Relaxed);
        }
    }
}

impl Drop for Stdout {
    fn drop(&mut self) {
        if !self.closed {
            if let Err(e) = self.out.flush() {
                self.fail(e);
            }
        }
    }
}

/// `--type T` names a Stripe event type; `Err` is the exit code, after saying so.
pub fn known_event_type(event_type: Option<&str>) -> Result<(), i32> {
    match event_type {
        Some(t) if flow_stdlib::builtin().event(t).is_none() => {
            print_plain(
                &Diagnostic::error("E0101", format!("unknown event type `{t}`"))
                    .with_help("see `flow events` for the list of Stripe event types"),
                None,
            );
            Err(2)
        }
        _ => Ok(()),
    }
}

/// A field shown on one line (a header, a table cell) whatever the data holds: line
/// breaks are shown as `\r` and `\n`.
pub fn one_line(text: &str) -> String {
    text.replace('\r', "\\r").replace('\n', "\\n")
}

/// Text from event data made safe for a terminal: every control character but the
/// line feed and the tab, and the bidirectional-override characters that can make
/// text read otherwise than it is, are shown as `\u{…}` escapes. A description of
/// `ESC]0;…BEL` or `ESC[2J` then prints as those characters, instead of retitling or
/// clearing the reader's terminal.
pub fn terminal_safe(text: &str) -> std::borrow::Cow<'_, str> {
    fn unsafe_char(c: char) -> bool {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    }
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Write generated bytes (a completion script, a manual page) to standard output;
/// the exit code.
pub fn print_bytes(bytes: &[u8]) -> i32 {
    let mut out = Stdout::lock();
    if out.write(&String::from_utf8_lossy(bytes)) {
        0
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::terminal_safe;

    #[test]
    fn control_characters_and_bidi_overrides_are_shown_as_escapes() {
        assert_eq!(terminal_safe("plain\ttext\n"), "plain\ttext\n");
        assert_eq!(
            terminal_safe("\u{1b}]0;t\u{7}\u{1b}[2J\r\u{202e}x\u{7f}"),
            "\\u{1b}]0;t\\u{7}\\u{1b}[2J\\u{d}\\u{202e}x\\u{7f}"
        );
    }
}
