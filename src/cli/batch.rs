//! `flow run FILE --events EVENTS.jsonl`: open the stream, run it, sum it up.

use std::fs::File;
use std::io;
use std::path::Path;

use flow_batch::{default_jobs, Batch, Output, Skipped, Summary};
use flow_bindings::Recording;
use flow_diagnostics::Diagnostic;
use flow_program::Program;
use flow_syntax::SourceFile;

use super::output::print_plain;
use super::Format;

/// `--skipped`: whether the reports of skipped runs are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum SkippedReports {
    /// A report for every run, skipped or not.
    #[default]
    Include,
    /// No report for a skipped run; the summary on stderr still counts it.
    Omit,
}

impl From<SkippedReports> for Skipped {
    fn from(s: SkippedReports) -> Skipped {
        match s {
            SkippedReports::Include => Skipped::Include,
            SkippedReports::Omit => Skipped::Omit,
        }
    }
}

/// How a stream of events is run.
pub struct Stream<'a> {
    pub event_type: Option<&'a str>,
    pub format: Format,
    /// Worker threads (default: one per core).
    pub jobs: Option<usize>,
    /// What `now` is in every run.
    pub now: Option<i64>,
    /// `--skipped omit`: no reports for skipped runs (the summary still counts them).
    pub skipped: Skipped,
}

/// Run the programs over the events of `path` (`-`: standard input); returns the
/// exit code: 0, or 1 when a run failed or a line was not an event.
pub fn run(
    programs: &[Program],
    source: &SourceFile,
    path: &Path,
    bindings: Recording,
    opts: &Stream<'_>,
) -> i32 {
    let output = match opts.format {
        Format::Json => Output::Json,
        Format::Text => Output::Text,
    };
    let batch = Batch::new(programs, source, opts.event_type, bindings, output)
        .with_now(opts.now)
        .with_skipped(opts.skipped);
    let jobs = opts.jobs.unwrap_or_else(default_jobs).max(1);
    let mut out = io::stdout();
    let result = if path == Path::new("-") {
        batch.run(io::stdin(), &mut out, jobs)
    } else {
        match File::open(path) {
            Ok(f) => batch.run(f, &mut out, jobs),
            Err(e) => {
                print_plain(
                    &Diagnostic::error("E0901", format!("cannot read {}: {e}", path.display()))
                        .with_help("--events takes a file of Stripe events, one JSON event per line, or `-` for standard input"),
                    None,
                );
                return 2;
            }
        }
    };
    match result {
        Ok(summary) => {
            eprintln!("{}", describe(&summary));
            if summary.failed > 0 || summary.bad_lines > 0 {
                1
            } else {
                0
            }
        }
        // The reader of the reports went away (`| head`): nothing more to say.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            print_plain(
                &Diagnostic::error("E0907", format!("batch run stopped: {e}"))
                    .with_help("the events could not be read or the reports could not be written"),
                None,
            );
            2
        }
    }
}

/// `3 events: 3 runs (1 succeeded, 2 skipped, 0 failed), 1 bad line`.
pub fn describe(s: &Summary) -> String {
    let plural = |n: u64, word: &str| {
        if n == 1 {
            format!("{n} {word}")
        } else {
            format!("{n} {word}s")
        }
    };
    format!(
        "{}: {} ({} succeeded, {} skipped, {} failed), {}",
        plural(s.events, "event"),
        plural(s.runs(), "run"),
        s.succeeded,
        s.skipped,
        s.failed,
        plural(s.bad_lines, "bad line")
    )
}
