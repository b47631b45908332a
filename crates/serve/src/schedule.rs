//! The scheduler: fires each slot of each loaded, active scheduled workflow once.
//!
//! A slot is fired by recording its synthetic event (`schedule:WORKFLOW:SLOT`, the
//! slot in RFC 3339 UTC) with one run of that workflow, and the slot as the
//! workflow's last one fired, in one transaction. The event id is the events table's
//! key: a slot fired a second time records nothing.
//!
//! A workflow seen for the first time starts from now: no slot of the past is run.
//! When the server starts, the slots a workflow missed while it was stopped are run
//! by the catch-up policy (`schedule_catch_up` under `[serve]`): by default those of
//! the last 24 hours, once each, in order; older ones are skipped, and the log says
//! how many and which.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde_json::json;

use flow_stdlib::cron::Schedule;
use flow_vm::Event;

use super::config::CatchUp;
use super::flows::{Registry, Workflow};
use super::log;
use super::runlog::{self, Candidate, NewEvent, Recorded, Store};
use super::time;
use super::worker::Queue;

/// How often the scheduler looks at the clock.
pub const TICK: Duration = Duration::from_millis(200);

/// [`Schedule::slots`] returns at most this many.
const MAX_SLOTS: usize = 100_000;

/// What to do with the slots of a schedule after its last slot fired.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Slots to fire now, in order (Unix seconds).
    pub fire: Vec<i64>,
    /// Slots skipped by the catch-up policy: how many (at least, when `capped`),
    /// the first and the last.
    pub skipped: usize,
    pub capped: bool,
    pub skipped_first: Option<i64>,
    pub skipped_last: Option<i64>,
}

/// The slots in `(last, now]`. `catch_up` is the policy when the server has just
/// started (the slots were missed while it was stopped); `None` while it runs, when
/// every slot due is fired.
pub fn plan(schedule: &Schedule, last: i64, now: i64, catch_up: Option<CatchUp>) -> Plan {
    let from = last.saturating_add(1);
    let to = now.saturating_add(1);
    if from >= to {
        return Plan::default();
    }
    // Slots before `cut` are skipped.
    let cut = match catch_up {
        None => from,
        // The slot of this very second is not missed.
        Some(CatchUp::None) => now,
        Some(CatchUp::Within(window)) => now.saturating_sub(window),
    }
    .clamp(from, to);
    let mut p = Plan {
        fire: schedule.slots(cut, to),
        ..Plan::default()
    };
    if cut > from {
        let skipped = schedule.slots(from, cut);
        p.skipped = skipped.len();
        p.capped = skipped.len() >= MAX_SLOTS;
        p.skipped_first = skipped.first().copied();
        p.skipped_last = schedule.previous(cut - 1).filter(|_| p.skipped > 0);
    }
    p
}

/// The scheduler thread's state.
pub struct Scheduler {
    pub store: Store,
    pub registry: Arc<RwLock<Arc<Registry>>>,
    pub queue: Arc<Queue>,
    pub catch_up: CatchUp,
    /// Workflows looked at since this server started (the first look catches up).
    seen: HashSet<String>,
    /// The last slot fired, by workflow.
    last: HashMap<String, i64>,
    /// Schedules parsed, by version; `None`: it does not parse (logged once).
    parsed: HashMap<String, Option<Schedule>>,
}

impl Scheduler {
    pub fn new(
        store: Store,
        registry: Arc<RwLock<Arc<Registry>>>,
        queue: Arc<Queue>,
        catch_up: CatchUp,
    ) -> Scheduler {
        Scheduler {
            store,
            registry,
            queue,
            catch_up,
            seen: HashSet::new(),
            last: HashMap::new(),
            parsed: HashMap::new(),
        }
    }

    /// Look at the clock every [`TICK`] until `stop`.
    pub fn run(mut self, stop: &AtomicBool) {
        while !stop.load(Relaxed) {
            self.tick();
            std::thread::sleep(TICK);
        }
    }

    fn schedule_of(&mut self, w: &Workflow) -> Option<Schedule> {
        let spec = w.program.schedule.as_ref()?;
        self.parsed
            .entry(w.version.clone())
            .or_insert_with(|| match spec.schedule() {
                Some(s) => Some(s),
                None => {
                    log::error(
                        "schedule not understood; the workflow is not fired",
                        json!({"workflow": w.name, "version": w.version,
                               "cron": spec.cron, "timezone": spec.timezone}),
                    );
                    None
                }
            })
            .clone()
    }

    /// Fire what is due.
    pub fn tick(&mut self) {
        // While the run log cannot be written, slots wait (they are fired, late,
        // once it can).
        if self.store.health().fault().is_some() {
            return;
        }
        let scheduled: Vec<Arc<Workflow>> = match self.registry.read() {
            Ok(r) => r
                .workflows()
                .filter(|w| w.trigger == flow_program::SCHEDULE)
                .cloned()
                .collect(),
            Err(_) => return,
        };
        for w in scheduled {
            let Some(schedule) = self.schedule_of(&w) else {
                continue;
            };
            let now = time::clock_ms().div_euclid(1000);
            if let Err(e) = self.look(&w, &schedule, now) {
                log::error(
                    "schedule not fired",
                    json!({"workflow": w.name, "error": e.to_string(),
                           "detail": "tried again in a moment"}),
                );
            }
        }
    }

    fn look(&mut self, w: &Workflow, schedule: &Schedule, now: i64) -> runlog::Result<()> {
        let first_look = !self.seen.contains(&w.name);
        let last = match self.last.get(&w.name) {
            Some(t) => Some(*t),
            None => self.store.schedule_state(&w.name)?,
        };
        let Some(last) = last else {
            // Seen for the first time: it starts from now.
            self.store
                .set_schedule_state(&w.name, now, time::now_ms())?;
            self.last.insert(w.name.clone(), now);
            self.seen.insert(w.name.clone());
            log::info(
                "schedule started",
                json!({"workflow": w.name, "schedule": schedule.describe(),
                       "next": schedule.next_after(now).map(|t| schedule.format_local(t))}),
            );
            return Ok(());
        };
        self.last.insert(w.name.clone(), last);
        let catching_up = first_look.then_some(self.catch_up);
        let p = plan(schedule, last, now, catching_up);
        if let (Some(first), Some(skipped_last)) = (p.skipped_first, p.skipped_last) {
            self.store
                .set_schedule_state(&w.name, skipped_last, time::now_ms())?;
            self.last.insert(w.name.clone(), skipped_last);
            log::warn(
                "schedule slots skipped",
                json!({"workflow": w.name, "skipped": p.skipped, "at_least": p.capped,
                       "from": time::rfc3339(first.saturating_mul(1000)),
                       "to": time::rfc3339(skipped_last.saturating_mul(1000)),
                       "policy": self.catch_up.describe(),
                       "detail": "missed while the server was stopped, older than the catch-up policy allows (`schedule_catch_up` under [serve])"}),
            );
        }
        if first_look {
            let missed: Vec<_> = p.fire.iter().filter(|t| **t < now).collect();
            if let (Some(first), Some(last)) = (missed.first(), missed.last()) {
                log::info(
                    "schedule catching up",
                    json!({"workflow": w.name, "slots": missed.len(),
                           "from": time::rfc3339(first.saturating_mul(1000)),
                           "to": time::rfc3339(last.saturating_mul(1000)),
                           "policy": self.catch_up.describe()}),
                );
            }
        }
        self.seen.insert(w.name.clone());
        for slot in p.fire {
            self.fire(w, schedule, slot, first_look && slot < now)?;
            self.last.insert(w.name.clone(), slot);
        }
        Ok(())
    }

    /// Fire one slot; `late`: caught up after the server was stopped.
    fn fire(&self, w: &Workflow, schedule: &Schedule, slot: i64, late: bool) -> runlog::Result<()> {
        let text = time::rfc3339(slot.saturating_mul(1000));
        let event = Event::schedule(&w.name, slot, &text);
        let id = event.id().unwrap_or_default().to_string();
        let payload = event.json.to_string().into_bytes();
        let candidate = Candidate {
            workflow: w.name.clone(),
            version: w.version.clone(),
            skipped: false,
        };
        let recorded = self.store.record_slot(
            NewEvent {
                take: false,
                id: id.clone(),
                event_type: flow_program::SCHEDULE.to_string(),
                payload,
                signed_at: None,
                now: time::clock_ms(),
                candidates: vec![candidate],
            },
            &w.name,
            slot,
            time::now_ms(),
        )?;
        match recorded {
            Recorded::New { runs, .. } => {
                for r in &runs {
                    self.queue.push(*r);
                }
                let mut fields = json!({"workflow": w.name, "slot": text,
                    "local": schedule.format_local(slot), "event": id, "runs": runs, "late": late});
                if runs.is_empty() {
                    fields["detail"] = json!("the workflow is deactivated: no run");
                }
                log::info("schedule fired", fields);
            }
            Recorded::Duplicate => log::info(
                "schedule slot already fired",
                json!({"workflow": w.name, "slot": text, "event": id}),
            ),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> i64 {
        time::parse_instant(text).unwrap() / 1000
    }

    #[test]
    fn while_running_every_due_slot_fires() {
        let s = Schedule::parse("* * * * *", "UTC").unwrap();
        let p = plan(
            &s,
            at("2026-01-01T10:00:30Z"),
            at("2026-01-01T10:02:00Z"),
            None,
        );
        assert_eq!(
            p.fire,
            vec![at("2026-01-01T10:01:00Z"), at("2026-01-01T10:02:00Z")]
        );
        assert_eq!(p.skipped, 0);
        let p = plan(
            &s,
            at("2026-01-01T10:02:00Z"),
            at("2026-01-01T10:02:59Z"),
            None,
        );
        assert!(p.fire.is_empty());
    }

    #[test]
    fn catching_up_runs_the_window_and_skips_the_rest() {
        let s = Schedule::parse("0 * * * *", "UTC").unwrap();
        // Stopped for three days: the slots of the last 24 hours run.
        let last = at("2026-01-01T10:00:00Z");
        let now = at("2026-01-04T10:30:00Z");
        let p = plan(&s, last, now, Some(CatchUp::Within(86_400)));
        assert_eq!(p.fire.len(), 24);
        assert_eq!(p.fire.first(), Some(&at("2026-01-03T11:00:00Z")));
        assert_eq!(p.fire.last(), Some(&at("2026-01-04T10:00:00Z")));
        assert!(p.fire.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(p.skipped, 48);
        assert!(!p.capped);
        assert_eq!(p.skipped_first, Some(at("2026-01-01T11:00:00Z")));
        assert_eq!(p.skipped_last, Some(at("2026-01-03T10:00:00Z")));
        // None: everything missed is skipped.
        let p = plan(&s, last, now, Some(CatchUp::None));
        assert!(p.fire.is_empty());
        assert_eq!(p.skipped, 72);
        assert_eq!(p.skipped_last, Some(at("2026-01-04T10:00:00Z")));
        // A slot of this very second is not missed.
        let p = plan(&s, last, at("2026-01-04T10:00:00Z"), Some(CatchUp::None));
        assert_eq!(p.fire, vec![at("2026-01-04T10:00:00Z")]);
        // A window wider than the downtime: everything runs.
        let p = plan(&s, last, now, Some(CatchUp::Within(7 * 86_400)));
        assert_eq!(p.fire.len(), 72);
        assert_eq!(p.skipped, 0);
        assert_eq!(p.skipped_last, None);
    }

    #[test]
    fn nothing_due_is_nothing() {
        let s = Schedule::parse("* * * * *", "UTC").unwrap();
        let t = at("2026-01-01T10:00:00Z");
        assert_eq!(plan(&s, t, t, Some(CatchUp::Within(60))), Plan::default());
        assert_eq!(plan(&s, t, t - 100, None), Plan::default());
    }
}
