//! The terminal front end: rustyline with completion, history hints, multi-line
//! input while a bracket is open, highlighting, and a history file.

use std::borrow::Cow;
use std::cell::RefCell;
use std::io::Write;
use std::path::PathBuf;
use std::rc::Rc;

use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::config::{CompletionType, Config};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::{Hinter, HistoryHinter};
use rustyline::history::DefaultHistory;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Editor, Helper};

use super::{complete, is_complete, Completion, Session};

const PROMPT: &str = "flow> ";

/// The rustyline helper: every method asks the shared session.
struct FlowHelper {
    session: Rc<RefCell<Session>>,
    files: FilenameCompleter,
    hinter: HistoryHinter,
    color: bool,
}

impl Completer for FlowHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let completion = complete(&self.session.borrow(), line, pos);
        match completion {
            Completion::Items { start, candidates } => Ok((
                start,
                candidates
                    .into_iter()
                    .map(|c| Pair {
                        display: c.display,
                        replacement: c.replacement,
                    })
                    .collect(),
            )),
            Completion::Files { start } => {
                let (s, pairs) = self.files.complete(line, pos, ctx)?;
                Ok((s.max(start), pairs))
            }
        }
    }
}

impl Hinter for FlowHelper {
    type Hint = String;

    fn hint(&self, line: &str, pos: usize, ctx: &Context<'_>) -> Option<String> {
        self.hinter.hint(line, pos, ctx)
    }
}

impl Validator for FlowHelper {
    fn validate(&self, ctx: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        Ok(if is_complete(ctx.input()) {
            ValidationResult::Valid(None)
        } else {
            ValidationResult::Incomplete
        })
    }
}

impl Highlighter for FlowHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if self.color {
            Cow::Owned(highlight(line))
        } else {
            Cow::Borrowed(line)
        }
    }

    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if self.color {
            Cow::Owned(format!("\x1b[2m{hint}\x1b[0m"))
        } else {
            Cow::Borrowed(hint)
        }
    }

    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(
        &'s self,
        prompt: &'p str,
        _default: bool,
    ) -> Cow<'b, str> {
        if self.color {
            Cow::Owned(format!("\x1b[1;34m{prompt}\x1b[0m"))
        } else {
            Cow::Borrowed(prompt)
        }
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _forced: bool) -> bool {
        self.color
    }
}

impl Helper for FlowHelper {}

const KEYWORDS: &[&str] = &[
    "workflow", "on", "when", "if", "else", "let", "update", "retrieve", "and", "or", "not", "in",
    "true", "false", "null",
];

/// Colour the line (same width: only escape codes are added): keywords, strings,
/// numbers and money, currency codes, comments, and a leading `:command`.
pub fn highlight(line: &str) -> String {
    const RESET: &str = "\x1b[0m";
    let mut out = String::with_capacity(line.len() * 2);
    let trimmed = line.trim_start();
    if trimmed.starts_with(':') {
        let lead = line.len() - trimmed.len();
        let end = trimmed
            .find(char::is_whitespace)
            .map_or(line.len(), |i| lead + i);
        out.push_str(&line[..lead]);
        out.push_str("\x1b[1;36m");
        out.push_str(&line[lead..end]);
        out.push_str(RESET);
        out.push_str(&line[end..]);
        return out;
    }
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        if c == '"' {
            let mut j = i + 1;
            let mut escaped = false;
            while j < chars.len() {
                let d = chars[j].1;
                j += 1;
                if escaped {
                    escaped = false;
                } else if d == '\\' {
                    escaped = true;
                } else if d == '"' || d == '\n' {
                    break;
                }
            }
            let end = chars.get(j).map_or(line.len(), |x| x.0);
            out.push_str("\x1b[32m");
            out.push_str(&line[at..end]);
            out.push_str(RESET);
            i = j;
        } else if c == '/' && chars.get(i + 1).is_some_and(|x| x.1 == '/') {
            let mut j = i;
            while j < chars.len() && chars[j].1 != '\n' {
                j += 1;
            }
            let end = chars.get(j).map_or(line.len(), |x| x.0);
            out.push_str("\x1b[2m");
            out.push_str(&line[at..end]);
            out.push_str(RESET);
            i = j;
        } else if c.is_ascii_alphanumeric() || c == '_' {
            let mut j = i;
            while j < chars.len()
                && (chars[j].1.is_ascii_alphanumeric() || chars[j].1 == '_' || chars[j].1 == '.')
            {
                j += 1;
            }
            let end = chars.get(j).map_or(line.len(), |x| x.0);
            let word = &line[at..end];
            // Numbers and currency codes (the parts of money) share a colour.
            let is_number = word.starts_with(|c: char| c.is_ascii_digit());
            let is_currency = word.len() == 3 && word.chars().all(|c| c.is_ascii_uppercase());
            let style = if KEYWORDS.contains(&word) {
                Some("\x1b[35m")
            } else if is_number || is_currency {
                Some("\x1b[36m")
            } else {
                None
            };
            match style {
                Some(s) => {
                    out.push_str(s);
                    out.push_str(word);
                    out.push_str(RESET);
                }
                None => out.push_str(word),
            }
            i = j;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Where history is kept: `$FLOW_HISTORY` (empty: none), else
/// `$XDG_DATA_HOME/flow/history`, else `~/.local/share/flow/history`.
pub fn history_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("FLOW_HISTORY") {
        return (!p.is_empty()).then(|| PathBuf::from(p));
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".local").join("share"))
        })?;
    Some(data.join("flow").join("history"))
}

/// The interactive loop. Ctrl-C clears the line; Ctrl-D (or `:quit`) leaves.
pub fn run(session: Session, loaded: &str, color: bool) -> i32 {
    let config = Config::builder()
        .completion_type(CompletionType::List)
        .auto_add_history(false)
        .history_ignore_dups(true)
        .map(|b| b.build());
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error[E0955]: cannot set up line editing: {e}");
            return 2;
        }
    };
    let mut editor: Editor<FlowHelper, DefaultHistory> = match Editor::with_config(config) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error[E0955]: cannot set up line editing: {e}");
            return 2;
        }
    };
    let session = Rc::new(RefCell::new(session));
    editor.set_helper(Some(FlowHelper {
        session: session.clone(),
        files: FilenameCompleter::new(),
        hinter: HistoryHinter::new(),
        color,
    }));
    let history = history_path();
    if let Some(p) = &history {
        if p.exists() {
            if let Err(e) = editor.load_history(p) {
                eprintln!("warning: cannot read the history in {}: {e}", p.display());
            }
        }
    }
    let mut history_ok = true;
    let mut stdout = std::io::stdout();
    let _ = write!(stdout, "{}{loaded}", session.borrow().banner());
    let _ = stdout.flush();
    loop {
        match editor.readline(PROMPT) {
            Ok(line) => {
                if line.trim().is_empty() {
                    continue;
                }
                let _ = editor.add_history_entry(line.as_str());
                if let (Some(p), true) = (&history, history_ok) {
                    if let Err(e) = save_history(&mut editor, p) {
                        eprintln!("warning: history is not saved to {}: {e}", p.display());
                        history_ok = false;
                    }
                }
                let reply = session.borrow_mut().eval(&line);
                let _ = stdout.write_all(reply.text.as_bytes());
                let _ = stdout.flush();
                if reply.quit {
                    break;
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("error[E0955]: cannot read the line: {e}");
                return 2;
            }
        }
    }
    0
}

fn save_history(
    editor: &mut Editor<FlowHelper, DefaultHistory>,
    path: &std::path::Path,
) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    editor.append_history(path).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(s: &str) -> String {
        let mut out = String::new();
        let mut in_esc = false;
        for c in s.chars() {
            if in_esc {
                if c == 'm' {
                    in_esc = false;
                }
            } else if c == '\x1b' {
                in_esc = true;
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn highlighting_keeps_the_text() {
        for line in [
            "amount > 1000 USD and currency == USD",
            "email to: \"a@b.co\", body: \"hi {amount}\" // note",
            ":fields shipping.address",
            "status == \"unterminated",
            "é \"ü\" 12.5 EUR",
        ] {
            let h = highlight(line);
            assert_eq!(strip(&h), line);
        }
        assert!(highlight("if x").contains("\x1b[35mif\x1b[0m"));
    }
}
