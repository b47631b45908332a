//! `flow run`: run a file's workflows on one event (recording by default, or live),
//! or on a stream of events (batch mode, in `batch`).

use std::path::Path;

use flow_bindings::Bindings;
use flow_diagnostics::Diagnostic;
use flow_vm::{self as vm, Event, Status};

use super::output::{
    build_runnable, known_event_type, print_plain, terminal_safe, triggered, Stdout,
};
use super::{trigger, Format};

/// Where `flow run` takes its events from.
pub enum Input<'a> {
    One(&'a Path),
    /// A file of JSON lines (`-`: standard input), with a number of worker threads
    /// and whether skipped runs are reported (`--skipped`).
    Stream(&'a Path, Option<usize>, flow_batch::Skipped),
    /// `--at TIME`: the scheduled workflows that have a slot then.
    At(i64),
    /// `--input FILE`: an on-demand workflow, with this input.
    Demand(&'a Path),
}

/// How `flow run` runs, beside where its events come from.
pub struct Options<'a> {
    /// `--type`: the event type of a bare object.
    pub event_type: Option<&'a str>,
    /// `--objects DIR`.
    pub objects: Option<&'a Path>,
    pub format: Format,
    /// `--live` and its options.
    pub live: Option<LiveOptions>,
    /// `--now TIME`.
    pub now: Option<i64>,
    /// `--workflow NAME`: only that workflow.
    pub workflow: Option<&'a str>,
}

pub fn run(file: &Path, input: Input<'_>, opts: Options<'_>) -> i32 {
    let Options {
        event_type,
        objects,
        format,
        live,
        now,
        workflow,
    } = opts;
    let loaded = match build_runnable(file, "not run") {
        Ok(b) => b,
        Err(code) => return code,
    };
    let (source, settings, build) = (&loaded.source, &loaded.settings, &loaded.build);
    if let Err(code) = known_event_type(event_type) {
        return code;
    }
    let event_path = match input {
        Input::One(path) => path,
        Input::At(at) => {
            let runs = match trigger::schedule_runs(build, file, at, workflow) {
                Ok(r) => r,
                Err(code) => return code,
            };
            return run_each(settings, source, &runs, objects, format, live);
        }
        Input::Demand(path) => {
            let runs = match trigger::demand_runs(build, file, path, workflow, now) {
                Ok(r) => r,
                Err(code) => return code,
            };
            return run_each(settings, source, &runs, objects, format, live);
        }
        Input::Stream(path, jobs, skipped) => {
            // `--live` does not go with `--events` (clap says so).
            let recording = match flow_project::recording(objects) {
                Ok(r) => r,
                Err(d) => {
                    print_plain(&d, None);
                    return 2;
                }
            };
            let programs = &build.compiled.programs;
            let stream = super::batch::Stream {
                event_type,
                format,
                jobs,
                now,
                skipped,
            };
            return super::batch::run(programs, source, path, recording, &stream);
        }
    };
    let json = match flow_project::read_json(event_path) {
        Ok(j) => j,
        Err((d, s)) => {
            print_plain(&d, s.as_ref());
            return 2;
        }
    };
    let event = match Event::from_json(json, event_type) {
        Ok(mut e) => {
            e.now = now;
            e
        }
        Err(msg) => {
            print_plain(
                &Diagnostic::error("E0905", format!("{}: {msg}", event_path.display()))
                    .with_help("give a Stripe event (`\"object\": \"event\"`, `type`, `data.object`), or a bare object with --type EVENT_TYPE"),
                None,
            );
            return 2;
        }
    };
    let matching = triggered(build, file, &event);
    let matching: Vec<&flow_program::Program> = match workflow {
        Some(name) => matching.into_iter().filter(|p| p.name == name).collect(),
        None => matching,
    };
    let runs: Vec<(&flow_program::Program, Event)> =
        matching.into_iter().map(|p| (p, event.clone())).collect();
    run_each(settings, source, &runs, objects, format, live)
}

/// Run each workflow on its event, through one set of bindings; the reports on
/// standard output. Exit 1 when a run failed.
fn run_each(
    settings: &flow_project::settings::Settings,
    source: &std::sync::Arc<flow_syntax::SourceFile>,
    runs: &[(&flow_program::Program, Event)],
    objects: Option<&Path>,
    format: Format,
    live: Option<LiveOptions>,
) -> i32 {
    let Some((_, first)) = runs.first() else {
        return 0;
    };
    let matching: Vec<&flow_program::Program> = runs.iter().map(|(p, _)| *p).collect();
    let mut bindings: Box<dyn Bindings> = match live {
        Some(opts) => match live_bindings(settings, &matching, first, &opts) {
            Ok(b) => Box::new(b),
            Err(d) => {
                print_plain(&d, None);
                return 2;
            }
        },
        None => {
            let recording = match flow_project::recording(objects) {
                Ok(r) => r,
                Err(d) => {
                    print_plain(&d, None);
                    return 2;
                }
            };
            Box::new(recording)
        }
    };
    let mut failed = false;
    let mut out = Stdout::lock();
    // Every triggered workflow runs, also when the reader of the output has gone.
    for (p, event) in runs {
        let report = vm::run(p, source, event, bindings.as_mut());
        failed |= report.status == Status::Failed;
        match format {
            Format::Json => out.line(&report.to_json().to_string()),
            Format::Text => out.write(&terminal_safe(&report.to_text())),
        };
    }
    if failed {
        1
    } else {
        0
    }
}

/// `--outbox` and `--verbose`, for `--live`.
#[cfg_attr(not(feature = "live"), allow(dead_code))]
pub struct LiveOptions {
    /// `--outbox DIR`: write e-mails here instead of sending them.
    pub outbox: Option<std::path::PathBuf>,
    /// `--verbose`: log each request and e-mail to stderr.
    pub verbose: bool,
}

/// The live bindings for the workflows an event triggers, with everything they will
/// need checked first, so that a run does not stop half-way for a missing setting.
#[cfg(feature = "live")]
fn live_bindings(
    settings: &flow_project::settings::Settings,
    programs: &[&flow_program::Program],
    event: &Event,
    opts: &LiveOptions,
) -> Result<flow_bindings::live::Live, Diagnostic> {
    use flow_bindings::live::{LiveSetup, Needs};
    use flow_program::Op;
    let uses = |f: fn(&Op) -> bool| programs.iter().any(|p| p.code.iter().any(f));
    let needs = Needs {
        stripe: uses(|op| {
            matches!(
                op,
                Op::Retrieve(..) | Op::Update(_) | Op::Refund(_) | Op::Stripe(_)
            )
        }),
        mail: uses(|op| matches!(op, Op::Email)),
    };
    if needs.stripe && event.id().is_none_or(str::is_empty) {
        return Err(Diagnostic::error(
            "E0960",
            "a live run needs an event with an `id`",
        )
        .with_help(
            "every change sent to Stripe carries an idempotency key made from the event's id, so that running the same event again never does anything twice; give the event as Stripe sent it (not a bare object with --type)",
        ));
    }
    let setup = LiveSetup::new(
        &settings.stripe,
        &settings.email,
        opts.outbox.as_deref(),
        needs,
    )?
    .outbound(&settings.slack, &settings.http)
    .verbose(opts.verbose);
    if setup.is_live_mode() {
        eprintln!(
            "note: {} is a live-mode key: this run acts on real payments",
            flow_bindings::stripe::API_KEY_VAR
        );
    }
    setup.connect()
}

#[cfg(not(feature = "live"))]
fn live_bindings(
    _settings: &flow_project::settings::Settings,
    _programs: &[&flow_program::Program],
    _event: &Event,
    _opts: &LiveOptions,
) -> Result<flow_bindings::Recording, Diagnostic> {
    Err(
        Diagnostic::error("E0964", "this flow was built without live bindings")
            .with_help("build flow with its default features (`live`) to run with --live"),
    )
}
