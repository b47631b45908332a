//! The `flow` command line.

mod authoring;
mod batch;
mod catalog;
mod check;
mod compile;
mod fmt;
mod output;
mod preview;
mod run;
#[cfg(feature = "serve")]
mod serve;
mod trigger;

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "flow",
    version,
    about = "A typed language for automating work on Stripe events"
)]
pub struct Cli {
    /// Colour in diagnostics and reports: `auto` on a terminal (never under
    /// NO_COLOR; CLICOLOR_FORCE=1 forces it), `always` or `never`.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "auto",
        value_name = "WHEN"
    )]
    pub color: ColorWhen,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

/// The shells `flow completions` writes for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
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
        #[arg(long, required_unless_present_any = ["events", "at", "input"])]
        event: Option<PathBuf>,
        /// Run the scheduled workflows (`on schedule`) at the slot at TIME
        /// (`2027-01-01T14:00:00Z`; see `flow schedule`).
        #[arg(long, value_name = "TIME", value_parser = parse_now, conflicts_with_all = ["event", "events", "input", "now"])]
        at: Option<i64>,
        /// Run the on-demand workflow (`on demand (…)`) with this input: a JSON object
        /// of its inputs, checked first (every problem listed, nothing run).
        #[arg(long, value_name = "INPUT.json", conflicts_with_all = ["event", "events", "at"])]
        input: Option<PathBuf>,
        /// Only the workflow of this name.
        #[arg(long, value_name = "NAME")]
        workflow: Option<String>,
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
        /// With a stream of events: `include` writes a report for every run (the
        /// default); `omit` leaves out the reports of skipped runs (a `when` that
        /// was false), which the summary on stderr still counts.
        #[arg(long, value_enum, value_name = "WHICH", default_value = "include", conflicts_with_all = ["event", "at", "input"])]
        skipped: batch::SkippedReports,
        /// Carry the actions out: Stripe's API (key from STRIPE_API_KEY), e-mail (SMTP or
        /// an outbox, from flow.toml), Slack (SLACK_BOT_TOKEN) and signed http requests
        /// (FLOW_HTTP_SECRET). Without it nothing leaves the machine.
        #[arg(long)]
        live: bool,
        /// With --live: write e-mails as .eml files into this folder instead of sending them.
        #[arg(long, value_name = "DIR", requires = "live")]
        outbox: Option<PathBuf>,
        /// With --live: print each request (Stripe, Slack, http) and each e-mail to stderr.
        #[arg(long, short)]
        verbose: bool,
        /// What `now` is in the runs: `2024-01-31`, `2024-01-31T09:00:00Z` or Unix
        /// seconds (default: the time each run starts).
        #[arg(long, value_name = "TIME", value_parser = parse_now)]
        now: Option<i64>,
    },
    /// List the coming slots of a file's scheduled workflows (`on schedule`), in
    /// their time zone and in UTC.
    Schedule {
        file: PathBuf,
        /// From this time (default: now).
        #[arg(long, value_name = "TIME", value_parser = parse_now)]
        from: Option<i64>,
        /// Up to this time (default: the next 10 slots of each workflow).
        #[arg(long, value_name = "TIME", value_parser = parse_now)]
        to: Option<i64>,
        /// Only the workflow of this name.
        #[arg(long, value_name = "NAME")]
        workflow: Option<String>,
        /// `json`: an array of `{"workflow", "cron", "timezone", "description",
        /// "slots": [{"local", "utc", "unix"}]}`.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Rewrite flow files in the canonical layout (folders: every .flow file under
    /// them); `-` formats standard input to standard output.
    Fmt {
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Write nothing: list the files that are not formatted, with an excerpt of
        /// the change; exit 1 if there are any.
        #[arg(long)]
        check: bool,
    },
    /// Compile a file and print its bytecode.
    Compile {
        file: PathBuf,
        /// What to print; `bytecode` is a readable disassembly.
        #[arg(long, default_value = "bytecode")]
        emit: String,
    },
    /// Explain a code that `flow check` or a run report gives (`E0102`, `R0302`, …):
    /// what it means and what to do, as the error index says.
    Explain {
        #[arg(value_name = "CODE")]
        code: String,
        /// `json`: `{"code", "severity", "summary", "explanation", "example", "index"}`.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// List the Stripe event types a workflow can be triggered by, with their object type
    /// and what they mean.
    Events {
        /// Only those containing this text.
        filter: Option<String>,
        /// `json`: an array of `{"name", "object", "description"}` (`object` null for
        /// dynamic JSON).
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Show the fields of an event's object (or of a path inside it), with their types;
    /// an object type (`customer`) is taken in place of an event type.
    Fields {
        #[arg(value_name = "EVENT_TYPE|OBJECT")]
        event_type: String,
        path: Option<String>,
        /// `json`: `{"object", "fields": [{"name", "type", "nullable", "absent",
        /// "updatable"}]}`, `type` as `flow fields` writes it.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// List what a workflow can do: the built-in actions and Stripe's API methods
    /// (`stripe.RESOURCE.METHOD(…)`), or one of them in full with its parameters.
    ///
    /// With TEXT, those whose name contains it; one match is shown in full: how it is
    /// called, its request, what it returns and its parameters.
    Actions {
        /// A name or part of one, in any case: `void_invoice`, `credit_note`, `email`. A
        /// whole name (`invoices.void_invoice`, `stripe.invoices.void_invoice`) shows
        /// that method; a resource (`invoices`, `checkout.sessions`) lists its methods.
        text: Option<String>,
        /// `text` for people, `json` for editors: an array of `{"name":
        /// "stripe.invoices.void_invoice", "kind": "stripe"|"action", "http": "POST
        /// /v1/invoices/{id}/void" (null for an action), "summary", "returns": "invoice",
        /// "list<invoice>" or "json" (null for an action), "params": [{"name", "type",
        /// "required", "in_path", "nullable", "values" and "open" (enums), "fields" (a
        /// nested object's parameters, one level), "doc" (actions)}]}`.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Try expressions, conditions and actions interactively against an event.
    #[cfg(feature = "repl")]
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
        /// What `now` is in the runs: `2024-01-31`, `2024-01-31T09:00:00Z` or Unix
        /// seconds (default: the time each run starts).
        #[arg(long, value_name = "TIME", value_parser = parse_now)]
        now: Option<i64>,
    },
    /// Serve the Language Server Protocol on standard input and output, for editors:
    /// diagnostics, hover, completion, go to definition, quick fixes, formatting and
    /// the outline (document symbols).
    #[cfg(feature = "lsp")]
    Lsp,
    /// List the templates: ready-made workflows to start from.
    Templates {
        /// `json`: an array of `{"name", "summary"}`.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Print a completion script for a shell: `flow completions bash > /etc/bash_completion.d/flow`,
    /// `flow completions zsh > "${fpath[1]}/_flow"`, `flow completions fish > ~/.config/fish/completions/flow.fish`.
    Completions {
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Print the manual page (roff), made from these very commands and options:
    /// `flow man > flow.1 && man ./flow.1`.
    Man,
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
        /// What `now` is in the runs: `2024-01-31`, `2024-01-31T09:00:00Z` or Unix
        /// seconds (default: the time each run starts).
        #[arg(long, value_name = "TIME", value_parser = parse_now)]
        now: Option<i64>,
    },
    /// Run the tests (`test "…" { given …  expect … }`) of flow files; folders are searched recursively.
    Test {
        /// Files or folders (default: the current folder).
        paths: Vec<PathBuf>,
        /// What `now` is in the runs: `2024-01-31`, `2024-01-31T09:00:00Z` or Unix
        /// seconds (default: the time each run starts; in tests, each test's event's `created`, so that they are reproducible).
        #[arg(long, value_name = "TIME", value_parser = parse_now)]
        now: Option<i64>,
        /// Run only the tests whose name contains TEXT (case-sensitive); the summary
        /// says how many were filtered out. A filter that matches no test is an error.
        #[arg(long, value_name = "TEXT")]
        filter: Option<String>,
        /// How results are written.
        ///
        /// text: a line per test, each failure, and `N passed, M failed`.
        ///
        /// json: one JSON object a line per test, `{"file": …, "name": …, "status":
        /// "passed"|"failed", "failures": [{"code": "E08xx", "message": …, "line": N,
        /// "column": N}]}` (line and column are null when a failure has no place in
        /// the file), then `{"summary": {"passed": N, "failed": N, "filtered_out": N}}`.
        ///
        /// junit: a JUnit XML report: `<testsuites>` with a `<testsuite>` per file and a
        /// `<testcase>` per test, with a `<failure>` for each failure.
        #[arg(long, value_enum, default_value = "text", verbatim_doc_comment)]
        format: authoring::TestFormat,
        /// Report which outcomes (true, false) of each `when` and `if` condition the
        /// tests took, per workflow of the files tested: after the summary (text), as a
        /// `{"coverage": …}` line (json), or on stderr (junit).
        #[arg(long)]
        coverage: bool,
        /// With --coverage: fail (exit 1) when the outcomes taken are below N percent.
        #[arg(long, value_name = "N", requires = "coverage", value_parser = clap::value_parser!(u32).range(0..=100))]
        threshold: Option<u32>,
    },
    /// Run the active workflows on Stripe's webhooks (POST /webhook), with a run log.
    #[cfg(feature = "serve")]
    Serve(serve::ServeArgs),
    /// List the runs in the run log, or show or retry one.
    #[cfg(feature = "serve")]
    Runs(serve::RunsArgs),
    /// Let a workflow run on new events again (in the run log; no restart needed).
    #[cfg(feature = "serve")]
    Activate(serve::ActivationArgs),
    /// Stop a workflow from running on new events (in the run log; no restart needed).
    #[cfg(feature = "serve")]
    Deactivate(serve::ActivationArgs),
    /// Start a run of an on-demand workflow on a running server (POST /invoke/NAME).
    #[cfg(feature = "serve")]
    Invoke(serve::InvokeArgs),
}

/// `--now`: a date, a date and time, or Unix seconds.
fn parse_now(text: &str) -> Result<i64, String> {
    flow_syntax::parse_time_text(text)
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
    flow_diagnostics::set_color(match cli.color {
        ColorWhen::Auto => flow_diagnostics::ColorChoice::Auto,
        ColorWhen::Always => flow_diagnostics::ColorChoice::Always,
        ColorWhen::Never => flow_diagnostics::ColorChoice::Never,
    });
    let code = dispatch(cli.command);
    if code == 0 && output::write_failed() {
        1
    } else {
        code
    }
}

pub fn dispatch(command: Command) -> i32 {
    match command {
        Command::Check {
            files,
            format,
            deny,
        } => check::check(&files, format, deny.as_deref()),
        Command::Run {
            file,
            event,
            events,
            event_type,
            objects,
            format,
            jobs,
            skipped,
            live,
            outbox,
            verbose,
            now,
            at,
            input,
            workflow,
        } => {
            let input = match (&events, &event, at, &input) {
                (_, _, Some(t), _) => run::Input::At(t),
                (_, _, None, Some(path)) => run::Input::Demand(path),
                (Some(path), ..) => run::Input::Stream(path, jobs, skipped.into()),
                (None, Some(path), ..) => run::Input::One(path),
                (None, None, ..) => run::Input::Stream(Path::new("-"), jobs, skipped.into()),
            };
            let format = format.unwrap_or(match input {
                run::Input::Stream(..) => Format::Json,
                _ => Format::Text,
            });
            run::run(
                &file,
                input,
                run::Options {
                    event_type: event_type.as_deref(),
                    objects: objects.as_deref(),
                    format,
                    live: live.then_some(run::LiveOptions { outbox, verbose }),
                    now,
                    workflow: workflow.as_deref(),
                },
            )
        }
        Command::Schedule {
            file,
            from,
            to,
            workflow,
            format,
        } => trigger::schedule(&file, from, to, workflow.as_deref(), format),
        Command::Fmt { paths, check } => fmt::fmt(&paths, check),
        Command::Compile { file, emit } => compile::compile(&file, &emit),
        Command::Explain { code, format } => catalog::explain(&code, format),
        Command::Events { filter, format } => catalog::events(filter.as_deref(), format),
        Command::Fields {
            event_type,
            path,
            format,
        } => catalog::fields(&event_type, path.as_deref(), format),
        Command::Actions { text, format } => catalog::actions(text.as_deref(), format),
        #[cfg(feature = "repl")]
        Command::Repl {
            file,
            event,
            event_type,
            objects,
            now,
        } => flow_repl::main(flow_repl::Options {
            file,
            event,
            event_type,
            objects,
            now,
        }),
        #[cfg(feature = "lsp")]
        Command::Lsp => match flow_lsp::run_stdio() {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("error: {e}");
                1
            }
        },
        Command::Templates { format } => authoring::templates(format),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let shell = match shell {
                Shell::Bash => clap_complete::Shell::Bash,
                Shell::Zsh => clap_complete::Shell::Zsh,
                Shell::Fish => clap_complete::Shell::Fish,
            };
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "flow", &mut out);
            output::print_bytes(&out)
        }
        Command::Man => {
            use clap::CommandFactory;
            let mut out = Vec::new();
            match clap_mangen::Man::new(Cli::command()).render(&mut out) {
                Ok(()) => output::print_bytes(&out),
                Err(e) => {
                    eprintln!("error: cannot write the manual page: {e}");
                    2
                }
            }
        }
        Command::New {
            template,
            file,
            force,
        } => authoring::new(&template, file.as_deref(), force),
        Command::Preview {
            file,
            event,
            event_type,
            objects,
            format,
            now,
        } => authoring::preview(
            &file,
            &event,
            event_type.as_deref(),
            objects.as_deref(),
            format,
            now,
        ),
        Command::Test {
            paths,
            now,
            filter,
            format,
            coverage,
            threshold,
        } => authoring::test(
            &paths,
            now,
            filter,
            format,
            coverage.then_some(threshold.unwrap_or(0)),
        ),
        #[cfg(feature = "serve")]
        Command::Serve(a) => serve::serve(a),
        #[cfg(feature = "serve")]
        Command::Runs(a) => serve::runs(a),
        #[cfg(feature = "serve")]
        Command::Activate(a) => serve::activate(a, true),
        #[cfg(feature = "serve")]
        Command::Deactivate(a) => serve::activate(a, false),
        #[cfg(feature = "serve")]
        Command::Invoke(a) => serve::invoke(a),
    }
}
