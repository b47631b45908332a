//! The `flow` command line.

mod authoring;
pub(crate) mod commands;
mod live;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "flow",
    version,
    about = "A typed language for automating work on Stripe events"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Subcommand)]
pub enum Command {
    /// Parse and type-check flow files (folders: every .flow file under them).
    Check {
        #[arg(required = true, value_name = "PATH")]
        files: Vec<PathBuf>,
        /// `text` for people, `json` for editors and CI (LSP PublishDiagnosticsParams).
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Treat warnings as errors (`--deny warnings`).
        #[arg(long, value_name = "warnings")]
        deny: Option<String>,
    },
    /// Run the workflows of a file on one event (or a stream of them); print a report
    /// per workflow triggered.
    Run {
        file: PathBuf,
        /// A Stripe event (JSON), or a bare object with --type.
        #[arg(long, required_unless_present = "events")]
        event: Option<PathBuf>,
        /// A stream of events, one JSON event per line (`-`: standard input); one
        /// report line per workflow triggered, in input order.
        #[arg(long, conflicts_with_all = ["event", "live"], value_name = "EVENTS.jsonl")]
        events: Option<PathBuf>,
        /// The event type, when --event is a bare Stripe object.
        #[arg(long = "type", value_name = "EVENT_TYPE")]
        event_type: Option<String>,
        /// A folder of Stripe objects (JSON) that `retrieve` finds by id.
        #[arg(long, conflicts_with = "live")]
        objects: Option<PathBuf>,
        /// `text` (the default for --event) or `json` (the default for --events).
        #[arg(long, value_enum)]
        format: Option<Format>,
        /// Worker threads for --events (default: one per core).
        #[arg(long, value_name = "N", requires = "events")]
        jobs: Option<usize>,
        /// Carry the actions out: Stripe's API (key from STRIPE_API_KEY) and e-mail
        /// (SMTP or an outbox, from flow.toml). Without it nothing leaves the machine.
        #[arg(long)]
        live: bool,
        /// With --live: write e-mails as .eml files into this folder instead of sending them.
        #[arg(long, value_name = "DIR", requires = "live")]
        outbox: Option<PathBuf>,
        /// With --live: print each request to Stripe and each e-mail to stderr.
        #[arg(long, short)]
        verbose: bool,
    },
    /// Compile a file and print its bytecode.
    Compile {
        file: PathBuf,
        /// What to print; `bytecode` is a readable disassembly.
        #[arg(long, default_value = "bytecode")]
        emit: String,
    },
    /// List the Stripe event types a workflow can be triggered by.
    Events {
        /// Only those containing this text.
        filter: Option<String>,
    },
    /// Show the fields of an event's object (or of a path inside it), with their types.
    Fields {
        event_type: String,
        path: Option<String>,
    },
    /// Try expressions, conditions and actions interactively against an event.
    Repl {
        /// A flow file whose workflows `:run` runs.
        file: Option<PathBuf>,
        /// A Stripe event (JSON) to evaluate against, or a bare object with --type.
        #[arg(long)]
        event: Option<PathBuf>,
        /// The event type: alone, lines are checked and typed without an event.
        #[arg(long = "type", value_name = "EVENT_TYPE")]
        event_type: Option<String>,
        /// A folder of Stripe objects (JSON) that `retrieve` finds by id.
        #[arg(long)]
        objects: Option<PathBuf>,
    },
    /// List the templates: ready-made workflows to start from.
    Templates,
    /// Write a template out as a new flow to edit, with its tests beside it.
    New {
        /// The template's name (see `flow templates`).
        #[arg(long)]
        template: String,
        /// Where to write it (default: NAME.flow); its tests go to the same name with `.test.flow`.
        file: Option<PathBuf>,
        /// Overwrite existing files.
        #[arg(long)]
        force: bool,
    },
    /// Show each e-mail a run would send, as its reader would see it.
    Preview {
        file: PathBuf,
        /// A Stripe event (JSON), or a bare object with --type.
        #[arg(long)]
        event: PathBuf,
        /// The event type, when --event is a bare Stripe object.
        #[arg(long = "type", value_name = "EVENT_TYPE")]
        event_type: Option<String>,
        /// A folder of Stripe objects (JSON) that `retrieve` finds by id.
        #[arg(long)]
        objects: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Run the tests (`test "…" { given …  expect … }`) of flow files; folders are searched recursively.
    Test {
        /// Files or folders (default: the current folder).
        paths: Vec<PathBuf>,
    },
    /// Run the active workflows on Stripe's webhooks (POST /webhook), with a run log.
    Serve(crate::serve::cli::ServeArgs),
    /// List the runs in the run log, or show or retry one.
    Runs(crate::serve::cli::RunsArgs),
    /// Let a workflow run on new events again (in the run log; no restart needed).
    Activate(crate::serve::cli::ActivationArgs),
    /// Stop a workflow from running on new events (in the run log; no restart needed).
    Deactivate(crate::serve::cli::ActivationArgs),
}

/// Run the command line; returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    commands::dispatch(cli.command)
}
