//! The `flow` command line.

mod commands;

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
    /// Parse and type-check flow files; report every problem found.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// `text` for people, `json` for editors and CI (LSP PublishDiagnosticsParams).
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Treat warnings as errors (`--deny warnings`).
        #[arg(long, value_name = "warnings")]
        deny: Option<String>,
    },
    /// Run the workflows of a file on one event; print a report per workflow.
    Run {
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
