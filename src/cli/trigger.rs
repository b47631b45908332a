//! The triggers that are not events, from the command line: `flow run --at TIME`
//! (the slot of scheduled workflows), `flow run --input FILE` (an on-demand workflow
//! with its input), and `flow schedule` (the coming slots).

use std::path::Path;

use serde_json::{json, Value as Json};
use sha2::{Digest, Sha256};

use flow_diagnostics::Diagnostic;
use flow_program::{Program, DEMAND, SCHEDULE};
use flow_project::Build;
use flow_stdlib::cron::Schedule;
use flow_vm::value::format_timestamp;
use flow_vm::Event;

use super::output::{build_runnable, print_plain, Stdout};
use super::Format;

/// A workflow's schedule, parsed (it was checked when the file was built).
fn schedule_of(p: &Program) -> Option<Schedule> {
    p.schedule.as_ref()?.schedule()
}

/// The programs of one trigger kind, narrowed to `--workflow NAME`; a clear error
/// when there are none.
fn of_kind<'b>(
    build: &'b Build,
    file: &Path,
    kind: &str,
    workflow: Option<&str>,
) -> Result<Vec<&'b Program>, i32> {
    let all: Vec<&Program> = build
        .compiled
        .programs
        .iter()
        .filter(|p| p.trigger == kind)
        .collect();
    let what = if kind == SCHEDULE {
        "scheduled (`on schedule \"…\"`)"
    } else {
        "on-demand (`on demand (…)`)"
    };
    if all.is_empty() {
        print_plain(
            &Diagnostic::error(
                "E0913",
                format!("{} has no {what} workflow", file.display()),
            )
            .with_help(if kind == SCHEDULE {
                "`--at` runs scheduled workflows; run workflows on events with --event FILE"
            } else {
                "`--input` runs on-demand workflows; run workflows on events with --event FILE"
            }),
            None,
        );
        return Err(2);
    }
    let Some(name) = workflow else {
        return Ok(all);
    };
    let chosen: Vec<&Program> = all.iter().copied().filter(|p| p.name == name).collect();
    if chosen.is_empty() {
        let names: Vec<&str> = all.iter().map(|p| p.name.as_str()).collect();
        let close = flow_check::did_you_mean(name, names.iter().copied());
        let mut help = format!(
            "the {what} workflows of {}: \"{}\"",
            file.display(),
            names.join("\", \"")
        );
        if let Some(p) = flow_check::phrase(&close) {
            help = format!("{p} {help}");
        }
        print_plain(
            &Diagnostic::error("E0913", format!("no {what} workflow is named \"{name}\""))
                .with_help(help),
            None,
        );
        return Err(2);
    }
    Ok(chosen)
}

/// `flow run FILE --at TIME`: each scheduled workflow with a slot at TIME, on that
/// slot. TIME that is no workflow's slot is refused, with the slots around it.
pub fn schedule_runs<'b>(
    build: &'b Build,
    file: &Path,
    at: i64,
    workflow: Option<&str>,
) -> Result<Vec<(&'b Program, Event)>, i32> {
    let programs = of_kind(build, file, SCHEDULE, workflow)?;
    let mut runs = Vec::new();
    let mut around = Vec::new();
    for p in programs {
        let Some(s) = schedule_of(p) else { continue };
        if s.is_slot(at) {
            runs.push((p, Event::schedule(&p.name, at, &format_timestamp(at))));
        } else {
            let prev = s.previous(at).map_or("none".into(), format_timestamp);
            let next = s.next_after(at).map_or("none".into(), format_timestamp);
            around.push(format!(
                "\"{}\" ({} in {}): the slot before is {prev}, the one after {next}",
                p.name,
                s.cron(),
                s.zone()
            ));
        }
    }
    if runs.is_empty() {
        print_plain(
            &Diagnostic::error(
                "E0911",
                format!(
                    "{} is not a slot of a scheduled workflow",
                    format_timestamp(at)
                ),
            )
            .with_help(format!(
                "give the time of a slot (`flow schedule {}` lists them): {}",
                file.display(),
                around.join("; ")
            )),
            None,
        );
        return Err(2);
    }
    Ok(runs)
}

/// `flow run FILE --input FILE`: the on-demand workflow, its input checked first —
/// every problem listed at once, and nothing run when there is one.
pub fn demand_runs<'b>(
    build: &'b Build,
    file: &Path,
    input_path: &Path,
    workflow: Option<&str>,
    now: Option<i64>,
) -> Result<Vec<(&'b Program, Event)>, i32> {
    let programs = of_kind(build, file, DEMAND, workflow)?;
    if programs.len() > 1 {
        let names: Vec<&str> = programs.iter().map(|p| p.name.as_str()).collect();
        print_plain(
            &Diagnostic::error(
                "E0913",
                format!("{} has {} on-demand workflows", file.display(), names.len()),
            )
            .with_help(format!(
                "say which one with --workflow NAME: \"{}\"",
                names.join("\", \"")
            )),
            None,
        );
        return Err(2);
    }
    let input = match flow_project::read_json(input_path) {
        Ok(j) => j,
        Err((d, s)) => {
            print_plain(&d, s.as_ref());
            return Err(2);
        }
    };
    let now = now.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    });
    let mut runs = Vec::new();
    for p in programs {
        if let Err(problems) = flow_vm::input::decode(&p.inputs, &input) {
            let list: Vec<String> = problems.iter().map(|q| format!("  - {q}")).collect();
            print_plain(
                &Diagnostic::error(
                    "E0912",
                    format!(
                        "{}: the input of \"{}\" has {} problem{}; nothing was run",
                        input_path.display(),
                        p.name,
                        problems.len(),
                        if problems.len() == 1 { "" } else { "s" }
                    ),
                )
                .with_help(format!(
                    "fix each of these, then run again:\n{}\n        the inputs: {}",
                    list.iter()
                        .map(|l| format!("      {l}"))
                        .collect::<Vec<_>>()
                        .join("\n"),
                    p.inputs
                        .iter()
                        .map(|i| format!(
                            "{}: {}{}",
                            i.name,
                            i.ty,
                            if i.optional { "?" } else { "" }
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
                None,
            );
            return Err(2);
        }
        runs.push((
            p,
            Event::demand(&demand_id(&p.name, &input, now), input.clone(), now),
        ));
    }
    Ok(runs)
}

/// The id of an on-demand run from the command line: the same workflow, input and
/// time give the same id (and so the same idempotency keys).
fn demand_id(workflow: &str, input: &Json, now: i64) -> String {
    let mut h = Sha256::new();
    for part in [workflow, &input.to_string(), &now.to_string()] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    let hex: String = h
        .finalize()
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("demand:{hex}")
}

/// The most slots `flow schedule` lists for one workflow.
const MAX_LISTED: usize = 1_000;
/// Without `--to`: this many slots per workflow.
const DEFAULT_COUNT: usize = 10;

/// `flow schedule FILE [--from T] [--to T]`: the slots of each scheduled workflow,
/// in its zone and in UTC.
pub fn schedule(
    file: &Path,
    from: Option<i64>,
    to: Option<i64>,
    workflow: Option<&str>,
    format: Format,
) -> i32 {
    let loaded = match build_runnable(file, "no schedule") {
        Ok(b) => b,
        Err(code) => return code,
    };
    let programs = match of_kind(&loaded.build, file, SCHEDULE, workflow) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let from = from.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    });
    if to.is_some_and(|t| t <= from) {
        print_plain(
            &Diagnostic::error("E0911", "--to is not after --from")
                .with_help("give a range such as --from 2027-01-01 --to 2027-02-01"),
            None,
        );
        return 2;
    }
    let mut out = Stdout::lock();
    let mut listed = Vec::new();
    for p in programs {
        let Some(s) = schedule_of(p) else { continue };
        let slots: Vec<i64> = match to {
            Some(to) => s.slots(from, to).into_iter().take(MAX_LISTED).collect(),
            None => {
                let mut v = Vec::new();
                let mut t = from - 1;
                while v.len() < DEFAULT_COUNT {
                    match s.next_after(t) {
                        Some(n) => {
                            v.push(n);
                            t = n;
                        }
                        None => break,
                    }
                }
                v
            }
        };
        match format {
            Format::Json => listed.push(json!({
                "workflow": p.name,
                "cron": s.cron(),
                "timezone": s.zone(),
                "description": s.describe(),
                "slots": slots.iter().map(|t| json!({
                    "local": s.format_local(*t),
                    "utc": format_timestamp(*t),
                    "unix": t,
                })).collect::<Vec<_>>(),
            })),
            Format::Text => {
                out.write(&format!("{}: \"{}\", {}\n", p.name, s.cron(), s.describe()));
                if slots.is_empty() {
                    out.write("  no slot in this range\n");
                }
                for t in &slots {
                    out.write(&format!(
                        "  {}  ({})\n",
                        s.format_local(*t),
                        format_timestamp(*t)
                    ));
                }
            }
        }
    }
    if let Format::Json = format {
        out.line(&Json::Array(listed).to_string());
    }
    0
}
