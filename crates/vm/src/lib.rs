//! Stage 4: run a [`Program`] against one event.
//!
//! A small stack machine. Every side effect goes through [`Bindings`]; every action
//! carried out is kept in the [`RunReport`], also when a later step fails.

#![forbid(unsafe_code)]

mod action;
mod error;
pub mod index;
pub mod input;
mod ops;
mod report;
pub mod slots;
mod stripe;
pub mod value;

use std::cmp::Ordering;
use std::rc::Rc;

use serde_json::{Map, Value as Json};

pub use action::{
    escape_segment, fields_table, idempotency_key, message_text, Action, ActionContext,
    ActionError, Bindings, Email, Returns, StripeCall, Verb,
};
pub use error::{RunCode, RunError};
use flow_program::{CmpOp, Conv, FieldRead, Root};
use flow_program::{Op, Program};
use flow_stdlib::money::{Currency, Money};
use flow_syntax::{SourceFile, Span};
pub use report::{LoopRun, RunReport, Status, WaitRun};
pub use slots::{eval_typed, Slot, SlotFrame};
pub use value::Value;

/// A Stripe event: the envelope, with `data.object` inside.
#[derive(Clone, Debug)]
pub struct Event {
    pub json: Json,
    /// Tests set this for events built from a partial object: reading a key that the
    /// JSON does not have (as opposed to an explicit `null`) is then a run error that
    /// names the field, never a silent null. Metadata keys stay optional.
    pub strict: bool,
    /// What `now` is in this run (Unix seconds); `None`: the time the run starts.
    pub now: Option<i64>,
    /// `None`: waits pass at once, on the run's own clock (`now` moves on to the
    /// end of each wait), as in `flow run` and `flow test`. `Some(t)`: the real
    /// time is `t`; a wait that ends after it stops the run, waiting
    /// ([`Status::Waiting`]), to be carried out again from the start when it wakes.
    pub wake_by: Option<i64>,
}

/// Part of the message of the run error a strict event gives for a missing key:
/// "`customer` is not set in the test's event".
pub const NOT_SET: &str = " is not set in the test's ";

impl Event {
    /// Accept an event envelope, or a bare Stripe object when `event_type` is given.
    pub fn from_json(json: Json, event_type: Option<&str>) -> Result<Event, String> {
        let Json::Object(map) = &json else {
            return Err("an event is a JSON object".into());
        };
        let is_event = map.get("object").and_then(Json::as_str) == Some("event");
        if is_event {
            if map.get("type").and_then(Json::as_str).is_none() {
                return Err("the event has no `type`".into());
            }
            if !map
                .get("data")
                .is_some_and(|d| d.get("object").is_some_and(Json::is_object))
            {
                return Err("the event has no `data.object`".into());
            }
            let mut json = json;
            if let Some(t) = event_type {
                if let Some(obj) = json.as_object_mut() {
                    obj.insert("type".into(), Json::String(t.to_string()));
                }
            }
            return Ok(Event {
                json,
                strict: false,
                now: None,
                wake_by: None,
            });
        }
        match event_type {
            Some(t) => Ok(Event {
                json: serde_json::json!({
                    "id": null,
                    "object": "event",
                    "type": t,
                    "data": { "object": json },
                }),
                strict: false,
                now: None,
                wake_by: None,
            }),
            None => {
                let what = map
                    .get("object")
                    .and_then(Json::as_str)
                    .unwrap_or("JSON object");
                Err(format!(
                    "this is a {what}, not an event (`\"object\": \"event\"`); to run on a bare object, say which event it is with --type EVENT_TYPE"
                ))
            }
        }
    }

    /// The run of a scheduled workflow at its slot (Unix seconds): no event, `now`
    /// is the slot. Its id, `schedule:WORKFLOW:SLOT`, names the slot, so that the
    /// idempotency keys of its actions do too.
    pub fn schedule(workflow: &str, slot: i64, slot_text: &str) -> Event {
        Event {
            json: serde_json::json!({
                "id": format!("schedule:{workflow}:{slot_text}"),
                "object": "event",
                "type": flow_program::SCHEDULE,
                "created": slot,
                "data": { "object": {} },
            }),
            strict: false,
            now: Some(slot),
            wake_by: None,
        }
    }

    /// The run of an on-demand workflow: `input` is the JSON object of its inputs,
    /// checked when the run starts ([`input::decode`]).
    pub fn demand(id: &str, input: Json, created: i64) -> Event {
        Event {
            json: serde_json::json!({
                "id": id,
                "object": "event",
                "type": flow_program::DEMAND,
                "created": created,
                "data": { "object": input },
            }),
            strict: false,
            now: Some(created),
            wake_by: None,
        }
    }

    pub fn id(&self) -> Option<&str> {
        self.json.get("id").and_then(Json::as_str)
    }

    /// When the event happened: its `created` (Unix seconds), else its object's.
    pub fn created(&self) -> Option<i64> {
        self.json
            .get("created")
            .and_then(Json::as_i64)
            .or_else(|| self.object().get("created").and_then(Json::as_i64))
    }

    /// The connected account the event happened in (`account`), if any.
    pub fn account(&self) -> Option<&str> {
        self.json
            .get("account")
            .and_then(Json::as_str)
            .filter(|a| !a.is_empty())
    }

    pub fn event_type(&self) -> &str {
        self.json.get("type").and_then(Json::as_str).unwrap_or("")
    }

    pub fn object(&self) -> &Json {
        self.json
            .get("data")
            .and_then(|d| d.get("object"))
            .unwrap_or(&Json::Null)
    }
}

/// How a program ended.
#[derive(Debug)]
pub enum Outcome {
    Halted(Option<Value>),
    Skipped,
    /// A wait ends after `Event::wake_by`: the run goes on at this time.
    Waiting(i64),
}

/// An on-demand run's inputs, decoded from its event's object into their locals.
fn fill_inputs(p: &Program, event: &Event, locals: &mut [Value]) -> Result<(), RunError> {
    if p.trigger != flow_program::DEMAND {
        return Ok(());
    }
    match input::decode(&p.inputs, event.object()) {
        Ok(values) => {
            for (slot, v) in values {
                if let Some(l) = locals.get_mut(slot as usize) {
                    *l = v;
                }
            }
            Ok(())
        }
        Err(problems) => Err(RunError {
            code: RunCode::Input,
            message: format!(
                "the input does not match the workflow's inputs: {}",
                problems
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            span: None,
        }),
    }
}

/// Run one workflow on one event and report what happened.
pub fn run(
    p: &Program,
    source: &SourceFile,
    event: &Event,
    bindings: &mut dyn Bindings,
) -> RunReport {
    run_in(
        Machine::new(p, Some(source), event, bindings),
        p,
        source,
        event,
        None,
    )
    .0
}

/// [`run`] with the slots of the program's typed `when` already decoded (by
/// [`SlotFrame::decode`] or another decoder, for `p.typed`'s layout): the `when` is
/// answered from them where it can be, and the report is the same as [`run`]'s.
pub fn run_with_slots(
    p: &Program,
    source: &SourceFile,
    event: &Event,
    frame: &SlotFrame<'_>,
    bindings: &mut dyn Bindings,
) -> RunReport {
    run_in(
        Machine::new(p, Some(source), event, bindings),
        p,
        source,
        event,
        Some(frame),
    )
    .0
}

/// The program's `when` answered from the typed slots given: `Some(false)` skips the run,
/// `Some(true)` goes on at the body; `None` runs the instructions. Strict (test)
/// events always run the instructions, which name a missing field.
#[inline]
fn typed_when(p: &Program, event: &Event, frame: Option<&SlotFrame<'_>>) -> Option<(bool, usize)> {
    let cond = p.typed.as_ref()?;
    let then = cond.then? as usize;
    if event.strict {
        return None;
    }
    // Decoding the slots from the event's JSON costs the same lookups as the
    // instructions' own in-place reads, and more: a run given only the JSON runs the
    // instructions. Slots pay when a decoder fills them without building the JSON.
    let frame = frame.filter(|f| f.len() == cond.layout.len())?;
    Some((eval_typed(cond, frame)?, then))
}

/// [`run`], counting how many times each instruction was reached (for coverage:
/// see [`flow_program::BranchPoint`]); the counts are indexed like `p.code`.
pub fn run_counted(
    p: &Program,
    source: &SourceFile,
    event: &Event,
    bindings: &mut dyn Bindings,
) -> (RunReport, Vec<u32>) {
    let mut machine = Machine::new(p, Some(source), event, bindings);
    machine.visits = Some(vec![0; p.code.len()]);
    run_in(machine, p, source, event, None)
}

fn run_in<'a>(
    mut machine: Machine<'a>,
    p: &Program,
    source: &SourceFile,
    event: &Event,
    frame: Option<&SlotFrame<'_>>,
) -> (RunReport, Vec<u32>) {
    let mut locals = vec![Value::Null; p.locals as usize];
    let result = match fill_inputs(p, event, &mut locals) {
        // Coverage counts the condition's instructions: it runs them.
        Ok(()) if machine.visits.is_none() => match typed_when(p, event, frame) {
            Some((false, _)) => Ok(Outcome::Skipped),
            Some((true, then)) => machine.exec(&mut locals, then),
            None => machine.exec(&mut locals, 0),
        },
        Ok(()) => machine.exec(&mut locals, 0),
        Err(e) => Err(e),
    };
    let visits = machine.visits.take().unwrap_or_default();
    let actions = machine.actions;
    let loops = machine
        .loop_runs
        .into_iter()
        .map(|(sp, limit, iterations, truncated)| {
            let (line, col) = source.line_col(sp.start);
            LoopRun {
                at: format!("{}:{line}:{col}", source.name),
                limit,
                iterations,
                truncated,
            }
        })
        .collect();
    let waits = machine
        .waits
        .into_iter()
        .map(|(sp, until)| {
            let (line, col) = source.line_col(sp.start);
            WaitRun {
                at: format!("{}:{line}:{col}", source.name),
                until: value::format_timestamp(until),
            }
        })
        .collect();
    let mut wakes_at = None;
    let (status, error) = match result {
        Ok(Outcome::Halted(_)) => (Status::Succeeded, None),
        Ok(Outcome::Skipped) => (Status::Skipped, None),
        Ok(Outcome::Waiting(t)) => {
            wakes_at = Some(t);
            (Status::Waiting, None)
        }
        Err(e) => (Status::Failed, Some((e.code, e.render(source)))),
    };
    let (code, error) = error.unzip();
    let slot = (p.trigger == flow_program::SCHEDULE)
        .then(|| event.now.map(value::format_timestamp))
        .flatten();
    let report = RunReport {
        workflow: p.name.clone(),
        event: event.id().map(str::to_string),
        event_type: event.event_type().to_string(),
        trigger: p.trigger_kind(),
        slot,
        status,
        code,
        error,
        wakes_at,
        actions,
        loops,
        waits,
    };
    (report, visits)
}

/// Run a program that leaves a value (the REPL): the value, and the actions taken.
pub fn eval(
    p: &Program,
    source: Option<&SourceFile>,
    event: &Event,
    locals: &mut Vec<Value>,
    bindings: &mut dyn Bindings,
) -> (Result<Option<Value>, RunError>, Vec<Action>) {
    if locals.len() < p.locals as usize {
        locals.resize(p.locals as usize, Value::Null);
    }
    let mut machine = Machine::new(p, source, event, bindings);
    let r = machine.exec(locals, 0).map(|o| match o {
        Outcome::Halted(v) => v,
        Outcome::Skipped | Outcome::Waiting(_) => None,
    });
    (r, machine.actions)
}

struct Machine<'a> {
    p: &'a Program,
    source: Option<&'a SourceFile>,
    event: &'a Event,
    bindings: &'a mut dyn Bindings,
    /// Conditions and most bodies fit in the inline part: a run allocates no stack.
    stack: smallvec::SmallVec<[Value; 8]>,
    actions: Vec<Action>,
    /// The event's `data.object`, found once per run.
    object: std::cell::OnceCell<&'a Json>,
    /// `now`, fixed at its first use in the run, and moved on by each wait.
    now: std::cell::Cell<Option<i64>>,
    /// The waits passed: where, and the time each ended.
    waits: Vec<(Span, i64)>,
    /// For coverage: how many times each instruction was reached.
    visits: Option<Vec<u32>>,
    /// The `for` loops the run is in, innermost last.
    loops: Vec<ActiveLoop>,
    /// Each loop of the source that ran: where, its limit, how many times its body
    /// ran, whether a list was cut.
    loop_runs: Vec<(Span, u32, u64, bool)>,
    /// The position after the instruction being carried out: names an action's place
    /// in the program for the keys of actions in loops.
    at: usize,
}

/// A `for` loop being run: the local holding its list, and the key of its item.
struct ActiveLoop {
    slot: u16,
    /// The item's `id` (or its text, or `#position`): what the idempotency keys of
    /// the actions in the loop are made of, so that they follow the item, not its
    /// position.
    item: String,
    /// Its entry in `Machine::loop_runs`.
    run: usize,
}

fn list_len(v: &Value) -> usize {
    match v {
        Value::List(items) => items.len(),
        _ => 0,
    }
}

/// The key of a loop's item: an object's `id`, a string itself, else its position.
fn item_key(v: &Value, at: usize) -> String {
    match v {
        Value::Object(o) => match o.get("id").and_then(Json::as_str) {
            Some(id) => id.to_string(),
            None => format!("#{at}"),
        },
        Value::Str(s) => s.to_string(),
        _ => format!("#{at}"),
    }
}

impl<'a> Machine<'a> {
    fn new(
        p: &'a Program,
        source: Option<&'a SourceFile>,
        event: &'a Event,
        bindings: &'a mut dyn Bindings,
    ) -> Machine<'a> {
        Machine {
            p,
            source,
            event,
            bindings,
            stack: smallvec::SmallVec::new(),
            actions: Vec::new(),
            object: std::cell::OnceCell::new(),
            now: std::cell::Cell::new(None),
            waits: Vec::new(),
            visits: None,
            loops: Vec::new(),
            loop_runs: Vec::new(),
            at: 0,
        }
    }

    /// `now`: the event's given time, else the time the run started (read once).
    fn now(&self) -> i64 {
        if let Some(t) = self.now.get() {
            return t;
        }
        let t = self.event.now.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0)
        });
        self.now.set(Some(t));
        t
    }

    /// `wait D` / `wait until T`: the time the run goes on at, and `now` moved on
    /// to it; `Some(t)` when that is after `Event::wake_by` and the run stops.
    fn wait(&mut self, op: Op, v: Value, span: Span) -> Result<Option<i64>, RunError> {
        let now = self.now();
        let until = match (op, v) {
            (Op::Wait, Value::Duration(d)) => now.checked_add(d.max(0)).ok_or_else(|| {
                RunError::at(
                    RunCode::Arithmetic,
                    span,
                    "the wait ends too far in the future",
                )
            })?,
            (Op::WaitUntil, Value::Time(t)) => t.max(now),
            (_, Value::Null) => {
                return Err(RunError::at(
                    RunCode::Null,
                    span,
                    "the time to wait for is null",
                ))
            }
            (_, other) => {
                return Err(RunError::at(
                    RunCode::WrongType,
                    span,
                    format!(
                        "`wait` needs {}, not `{}`",
                        if op == Op::Wait {
                            "a duration"
                        } else {
                            "a timestamp"
                        },
                        other.to_text()
                    ),
                ))
            }
        };
        if self.event.wake_by.is_some_and(|real| until > real) {
            return Ok(Some(until));
        }
        self.now.set(Some(until));
        self.waits.push((span, until));
        Ok(None)
    }

    fn object(&self) -> &'a Json {
        let event = self.event;
        self.object.get_or_init(|| event.object())
    }

    fn pop(&mut self) -> Value {
        self.stack.pop().unwrap_or(Value::Null)
    }

    #[inline(always)]
    fn exec(&mut self, locals: &mut [Value], start: usize) -> Result<Outcome, RunError> {
        // Two copies of the loop: the one for coverage counts instructions, the other
        // has no trace of it.
        if self.visits.is_some() {
            self.exec_loop::<true>(locals, start)
        } else {
            self.exec_loop::<false>(locals, start)
        }
    }

    /// Run from instruction `start` (0, or the body of a `when` answered from slots).
    #[inline(always)]
    fn exec_loop<const COUNT: bool>(
        &mut self,
        locals: &mut [Value],
        start: usize,
    ) -> Result<Outcome, RunError> {
        let code = &self.p.code;
        let mut pc = start;
        while let Some(&op) = code.get(pc) {
            if COUNT {
                if let Some(count) = self.visits.as_mut().and_then(|v| v.get_mut(pc)) {
                    *count += 1;
                }
            }
            let span = self.p.spans.get(pc).copied().unwrap_or_default();
            pc += 1;
            match op {
                Op::Const(k) => {
                    let v = self
                        .p
                        .consts
                        .get(k as usize)
                        .map(Value::from_lit)
                        .unwrap_or(Value::Null);
                    self.stack.push(v);
                }
                Op::Load(k) => {
                    let r = &self.p.reads[k as usize];
                    // A field compared with a constant: answered from the field in
                    // place, without making a value of either side (no copy).
                    if let (Some(&Op::Const(c)), Some(&Op::Compare(op, _))) =
                        (code.get(pc), code.get(pc + 1))
                    {
                        if let Some(b) = self.compare_in_place(r, op, c) {
                            match after_bool(code, pc + 2, b) {
                                After::Goto(next) => pc = next,
                                After::Halt => return Ok(Outcome::Halted(Some(Value::Bool(b)))),
                                After::Push(next) => {
                                    self.stack.push(Value::Bool(b));
                                    pc = next;
                                }
                            }
                            continue;
                        }
                    }
                    // `field in [a, b, c]` likewise.
                    if let Some((b, skip)) = self.in_in_place(r, &code[pc..]) {
                        match after_bool(code, pc + skip, b) {
                            After::Goto(next) => pc = next,
                            After::Halt => return Ok(Outcome::Halted(Some(Value::Bool(b)))),
                            After::Push(next) => {
                                self.stack.push(Value::Bool(b));
                                pc = next;
                            }
                        }
                        continue;
                    }
                    let v = read_in(r, self.event, self.object(), locals, span)?;
                    self.stack.push(v);
                }
                Op::LoadLocal(s) => {
                    let v = locals.get(s as usize).cloned().unwrap_or(Value::Null);
                    self.stack.push(v);
                }
                Op::StoreLocal(s) => {
                    let v = self.pop();
                    if let Some(slot) = locals.get_mut(s as usize) {
                        *slot = v;
                    }
                }
                Op::Pop => {
                    self.pop();
                }
                Op::Not => {
                    let v = self.pop();
                    let b = truth(&v, span, "`not`")?;
                    self.stack.push(Value::Bool(!b));
                }
                Op::Compare(op, k) => {
                    let r = self.pop();
                    let l = self.pop();
                    let operands = self.p.operands.get(k as usize).copied();
                    let b =
                        compare(op, &l, &r, span, operands).map_err(|e| self.name_operand(e))?;
                    self.stack.push(Value::Bool(b));
                }
                Op::In => {
                    let list = self.pop();
                    let needle = self.pop();
                    let b = match &list {
                        Value::List(items) => items.iter().any(|i| equal(&needle, i)),
                        Value::Null => false,
                        other => {
                            return Err(RunError::at(
                                RunCode::WrongType,
                                span,
                                format!("`in` needs a list, found {}", other.to_text()),
                            ))
                        }
                    };
                    self.stack.push(Value::Bool(b));
                }
                Op::MakeList(n)
                    if code.get(pc) == Some(&Op::In) && self.stack.len() > n as usize =>
                {
                    // `x in [a, b, c]`: look through the items where they are, without
                    // making a list of them.
                    let at = self.stack.len() - n as usize;
                    let needle = &self.stack[at - 1];
                    let b = self.stack[at..].iter().any(|i| equal(needle, i));
                    self.stack.truncate(at - 1);
                    self.stack.push(Value::Bool(b));
                    pc += 1;
                }
                Op::MakeList(n) => {
                    let at = self.stack.len().saturating_sub(n as usize);
                    let items: Rc<[Value]> = self.stack.drain(at..).collect();
                    self.stack.push(Value::List(items));
                }
                Op::IterStart(slot) => {
                    let list = match self.pop() {
                        Value::Null => Value::List(Rc::from([])),
                        l @ Value::List(_) => l,
                        other => {
                            return Err(RunError::at(
                                RunCode::WrongType,
                                span,
                                format!("this is {}, not a list", other.to_text()),
                            ))
                        }
                    };
                    if let Some(s) = locals.get_mut(slot as usize) {
                        *s = list;
                    }
                    if let Some(s) = locals.get_mut(slot as usize + 1) {
                        *s = Value::Int(0);
                    }
                }
                Op::Next(list, var, exit) => {
                    let at = match locals.get(list as usize + 1) {
                        Some(Value::Int(i)) => *i as usize,
                        _ => usize::MAX,
                    };
                    let item = match locals.get(list as usize) {
                        Some(Value::List(items)) => items.get(at).cloned(),
                        _ => None,
                    };
                    match item {
                        Some(v) => {
                            if let Some(l) = self.loops.last_mut().filter(|l| l.slot == list) {
                                l.item = item_key(&v, at);
                                if let Some(r) = self.loop_runs.get_mut(l.run) {
                                    r.2 += 1;
                                }
                            }
                            if let Some(s) = locals.get_mut(var as usize) {
                                *s = v;
                            }
                            if let Some(s) = locals.get_mut(list as usize + 1) {
                                *s = Value::Int(at as i64 + 1);
                            }
                        }
                        None => pc = exit as usize,
                    }
                }
                Op::Loop(slot, limit) => {
                    let whole = self.pop();
                    let truncated_len = list_len(&whole);
                    let list = match whole {
                        Value::Null => Value::List(Rc::from([])),
                        Value::List(items) if items.len() > limit as usize => {
                            Value::List(items[..limit as usize].into())
                        }
                        l @ Value::List(_) => l,
                        other => {
                            return Err(RunError::at(
                                RunCode::WrongType,
                                span,
                                format!("`for` needs a list; this is {}", other.to_text()),
                            ))
                        }
                    };
                    let cut = list_len(&list) < truncated_len;
                    if let Some(s) = locals.get_mut(slot as usize) {
                        *s = list;
                    }
                    if let Some(s) = locals.get_mut(slot as usize + 1) {
                        *s = Value::Int(0);
                    }
                    let run = self.loop_ran(span, limit, cut);
                    self.loops.push(ActiveLoop {
                        slot,
                        item: String::new(),
                        run,
                    });
                }
                Op::EndLoop => {
                    self.loops.pop();
                }
                Op::MakeTable(_)
                | Op::Concat(_)
                | Op::Retrieve(..)
                | Op::Update(_)
                | Op::Email
                | Op::Refund(_)
                | Op::Call(_)
                | Op::Stripe(_)
                | Op::Arith(..)
                | Op::Neg
                | Op::CallFn(..)
                | Op::Match(_)
                | Op::Now => {
                    self.at = pc;
                    self.cold(op, span)?
                }
                Op::IdOf => {
                    let v = self.pop();
                    self.stack.push(id_of(&v));
                }
                Op::JumpIfFalse(t) => {
                    let v = self.pop();
                    if !truth(&v, span, "the condition")? {
                        pc = t as usize;
                    }
                }
                Op::Jump(t) => pc = t as usize,
                Op::Wait | Op::WaitUntil => {
                    let v = self.pop();
                    if let Some(until) = self.wait(op, v, span)? {
                        return Ok(Outcome::Waiting(until));
                    }
                }
                Op::Skip => return Ok(Outcome::Skipped),
                Op::Halt => return Ok(Outcome::Halted(self.stack.pop())),
            }
        }
        Ok(Outcome::Halted(self.stack.pop()))
    }

    /// A field of the event as `read` would make it, when that cannot fail and
    /// needs no copy. `None`: let `read` do it (and report any error).
    #[inline(always)]
    fn peek(&self, r: &FieldRead) -> Option<Peeked<'a>> {
        if self.event.strict {
            // A missing key is an error there: `read` says which.
            return None;
        }
        let root = match r.root {
            Root::Object => self.object(),
            Root::Event => &self.event.json,
            Root::Local(_) => return None,
        };
        let mut cur = root;
        for key in &r.path {
            // A position in a list is left to `read` (see `step`): the shortcut stays
            // the plain key lookup it was.
            if cur.is_array() {
                return None;
            }
            match cur.get(key) {
                Some(v) if !v.is_null() => cur = v,
                _ if r.required => return None,
                _ => return Some(Peeked::Null),
            }
        }
        Some(match (&r.conv, cur) {
            (Conv::Str | Conv::Ref, Json::String(s)) => Peeked::Str(s),
            (Conv::Int | Conv::Timestamp, j) => Peeked::Int(j.as_i64()?),
            (Conv::Bool, Json::Bool(b)) => Peeked::Bool(*b),
            (Conv::Currency, Json::String(s)) => Peeked::Currency(Currency::parse(s)?),
            (Conv::Money { currency_path }, j) => {
                let minor = j.as_i64()?;
                let mut at = root;
                for k in currency_path {
                    at = at.get(k)?;
                }
                Peeked::Money(minor, Currency::parse(at.as_str()?)?)
            }
            _ => return None,
        })
    }

    /// The result of `Load`, `Const(c)`, `Compare(op, _)` when it can be had without
    /// making values. `None`: run the instructions.
    #[inline(always)]
    fn compare_in_place(&self, r: &FieldRead, op: CmpOp, c: u32) -> Option<bool> {
        let lit = self.p.consts.get(c as usize)?;
        compare_peeked(op, &self.peek(r)?, lit)
    }

    /// `Load`, `Const`…, `MakeList(n)`, `In` with `n` constants: the membership,
    /// when it can be had without making values.
    fn in_in_place(&self, r: &FieldRead, code: &[Op]) -> Option<(bool, usize)> {
        let n = code
            .iter()
            .take_while(|op| matches!(op, Op::Const(_)))
            .count();
        if code.get(n) != Some(&Op::MakeList(n as u32)) || code.get(n + 1) != Some(&Op::In) {
            return None;
        }
        let v = self.peek(r)?;
        let mut found = false;
        for op in &code[..n] {
            let Op::Const(c) = op else { return None };
            found |= compare_peeked(CmpOp::Eq, &v, self.p.consts.get(*c as usize)?)?;
        }
        Some((found, n + 2))
    }

    /// The instructions that build text and tables, compute (arithmetic, functions,
    /// `now`) or act through the bindings: kept out of the loop of `exec`, which stays
    /// small for the comparisons of conditions.
    #[inline(never)]
    fn cold(&mut self, op: Op, span: Span) -> Result<(), RunError> {
        match op {
            Op::Arith(a, round, k) => {
                let r = self.pop();
                let l = self.pop();
                let operands = self.p.operands.get(k as usize).copied();
                let v = ops::arith(a, round, &l, &r, span, operands)
                    .map_err(|e| self.name_operand(e))?;
                self.stack.push(v);
            }
            Op::Neg => {
                let v = self.pop();
                let v = ops::neg(&v, span)?;
                self.stack.push(v);
            }
            Op::CallFn(f, n) => {
                let at = self.stack.len().saturating_sub(n as usize);
                let v = ops::call(f, &self.stack[at..], span)?;
                self.stack.truncate(at);
                self.stack.push(v);
            }
            Op::Match(k) => {
                let v = self.pop();
                let b = match (&v, self.p.patterns.get(k as usize)) {
                    (Value::Null, _) | (_, None) => false,
                    (Value::Str(s), Some(p)) => p.regex.is_match(s),
                    (other, Some(p)) => p.regex.is_match(&other.to_text()),
                };
                self.stack.push(Value::Bool(b));
            }
            Op::Now => {
                let now = self.now();
                self.stack.push(Value::Time(now));
            }
            Op::MakeTable(k) => {
                let labels = &self.p.tables[k as usize];
                let at = self.stack.len().saturating_sub(labels.len());
                let rows: Rc<[(String, Value)]> =
                    labels.iter().cloned().zip(self.stack.drain(at..)).collect();
                self.stack.push(Value::Table(rows));
            }
            Op::Concat(n) => {
                let at = self.stack.len().saturating_sub(n as usize);
                let mut s = String::new();
                for v in self.stack.drain(at..) {
                    s.push_str(&v.to_text());
                }
                self.stack.push(Value::Str(s.into()));
            }
            Op::Retrieve(n, k) => {
                let object = &self.p.objects[n as usize];
                let id = self.pop();
                let target = self.p.operands.get(k as usize).map(|o| o.0);
                let id = self.id_text(
                    &id,
                    target.unwrap_or(span),
                    &format!("retrieve the {object}"),
                )?;
                let action = Action::Retrieve {
                    object: object.clone(),
                    id,
                    account: self.event.account().map(str::to_string),
                };
                let got = self.perform(action, span)?;
                if !got.is_object() {
                    return Err(RunError::at(
                        RunCode::BadAnswer,
                        span,
                        format!("retrieve {object}: the answer is not an object"),
                    ));
                }
                self.stack.push(Value::Object(Rc::new(got)));
            }
            Op::Update(n) => {
                let spec = &self.p.updates[n as usize];
                let value = self.pop();
                let id = self.pop();
                let id = self.id_text(&id, spec.target, &format!("update the {}", spec.object))?;
                let mut params = value.to_param();
                if spec.param_path.first().map(String::as_str) == Some("metadata")
                    && value.is_null()
                {
                    // Stripe unsets a metadata key given an empty string.
                    params = Json::String(String::new());
                } else if matches!(value, Value::Str(_))
                    || spec.param_path.first().map(String::as_str) == Some("metadata")
                {
                    params = Json::String(value.to_text());
                }
                for key in spec.param_path.iter().rev() {
                    let mut m = Map::new();
                    m.insert(key.clone(), params);
                    params = Json::Object(m);
                }
                let action = Action::Update {
                    object: spec.object.clone(),
                    id,
                    account: self.event.account().map(str::to_string),
                    params,
                };
                self.perform(action, span)?;
            }
            Op::Email => {
                let append = self.pop();
                let body = self.pop();
                let subject = self.pop();
                let to = self.pop();
                let email = build_email(to, subject, body, append, span)?;
                self.perform(Action::Email(email), span)?;
            }
            Op::Refund(n) => {
                let names = &self.p.refunds[n as usize];
                let at = self.stack.len().saturating_sub(names.len());
                let values: Vec<Value> = self.stack.drain(at..).collect();
                let params = build_refund(names, &values, self.event.object(), span)?;
                let account = self.event.account().map(str::to_string);
                self.perform(Action::Refund { account, params }, span)?;
            }
            Op::Stripe(n) => {
                let p = self.p;
                let Some(spec) = p.stripe.get(n as usize) else {
                    return Ok(());
                };
                let at = self.stack.len().saturating_sub(spec.args.len());
                let values: Vec<Value> = self.stack.drain(at..).collect();
                let answer = self.stripe(spec, values, span)?;
                self.stack.push(answer);
            }
            Op::Call(n) => {
                let Some(spec) = self.p.calls.get(n as usize) else {
                    return Ok(());
                };
                let at = self.stack.len().saturating_sub(spec.params.len());
                let values: Vec<Value> = self.stack.drain(at..).collect();
                let action = build_call(spec, &values, span)?;
                let answer = self.perform(action, span)?;
                self.stack.push(Value::from_json(&answer));
            }
            _ => {}
        }
        Ok(())
    }

    /// Count a loop of the source as run (entered once more); its index.
    fn loop_ran(&mut self, span: Span, limit: u32, truncated: bool) -> usize {
        match self.loop_runs.iter().position(|r| r.0 == span) {
            Some(i) => {
                self.loop_runs[i].3 |= truncated;
                i
            }
            None => {
                self.loop_runs.push((span, limit, 0, truncated));
                self.loop_runs.len() - 1
            }
        }
    }

    /// Where an action is in the program and in the loops around it
    /// (`412:in_1/il_2`), or `None` outside loops.
    fn action_place(&self) -> Option<String> {
        if self.loops.is_empty() {
            return None;
        }
        let items: Vec<&str> = self.loops.iter().map(|l| l.item.as_str()).collect();
        Some(format!("{}:{}", self.at, items.join("/")))
    }

    fn id_text(&self, id: &Value, span: Span, what: &str) -> Result<String, RunError> {
        match id_of(id) {
            // `.` and `..` would be path segments of their own in a request (a
            // normalising proxy turns `POST /v1/customers/.` into a create).
            Value::Str(s) if !s.is_empty() && &*s != "." && &*s != ".." => Ok(s.to_string()),
            Value::Null => {
                let text = self.source.map(|s| s.slice(span)).filter(|t| !t.is_empty());
                let message = match text {
                    Some(t) => format!("cannot {what}: `{t}` is null"),
                    None => format!("cannot {what}: the reference is null"),
                };
                Err(RunError::at(RunCode::Null, span, message))
            }
            other => Err(RunError::at(
                RunCode::WrongType,
                span,
                format!("cannot {what}: `{}` is not an ID", other.to_text()),
            )),
        }
    }

    /// Say which operand was null, in the user's words.
    fn name_operand(&self, mut e: RunError) -> RunError {
        if let (Some(src), Some(sp)) = (self.source, e.span) {
            let text = src.slice(sp);
            if !text.is_empty() && e.message.ends_with("this is null") {
                e.message = e
                    .message
                    .replace("this is null", &format!("`{text}` is null"));
            }
        }
        e
    }

    fn perform(&mut self, action: Action, span: Span) -> Result<Json, RunError> {
        let max = self.p.max_actions;
        if self.actions.len() >= max as usize {
            return Err(RunError::at(
                RunCode::TooManyActions,
                span,
                format!(
                    "this run has carried out {max} actions, its limit (`max_actions` under [run] in flow.toml); nothing more was done"
                ),
            ));
        }
        let place = self.action_place();
        let cx = ActionContext {
            event_id: self.event.id(),
            workflow: &self.p.name,
            step: self.actions.len(),
            trigger: Some(self.object()).filter(|o| !o.is_null()),
            now: self.now(),
            item: place.as_deref(),
        };
        match self.bindings.perform(&action, &cx) {
            Ok(answer) => {
                self.actions.push(action);
                Ok(answer)
            }
            Err(e) => Err(RunError::at(RunCode::ActionFailed, span, e.message)),
        }
    }
}

fn id_of(v: &Value) -> Value {
    match v {
        Value::Object(o) => match o.get("id").and_then(Json::as_str) {
            Some(id) => Value::Str(id.into()),
            None => Value::Null,
        },
        other => other.clone(),
    }
}

fn truth(v: &Value, span: Span, what: &str) -> Result<bool, RunError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::Null => Err(RunError::at(
            RunCode::Null,
            span,
            format!("{what} is null, not true or false"),
        )),
        other => Err(RunError::at(
            RunCode::WrongType,
            span,
            format!("{what} is {}, not true or false", other.to_text()),
        )),
    }
}

/// `==` semantics: null is a value; money of different currencies is never equal.
pub fn equal(l: &Value, r: &Value) -> bool {
    match (l, r) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::Money(a), Value::Money(b)) => a == b,
        (Value::Str(a), Value::Str(b)) => a == b,
        (Value::Currency(a), Value::Currency(b)) => a == b,
        (Value::Currency(c), Value::Str(s)) | (Value::Str(s), Value::Currency(c)) => {
            Currency::parse(s) == Some(*c)
        }
        (Value::Object(_), _) | (_, Value::Object(_)) => {
            id_of(l) == id_of(r) && !id_of(l).is_null()
        }
        _ => order(l, r) == Some(Ordering::Equal),
    }
}

fn order(l: &Value, r: &Value) -> Option<Ordering> {
    use rust_decimal::Decimal;
    match (l, r) {
        (Value::Int(a), Value::Int(b)) => Some(a.cmp(b)),
        (Value::Dec(a), Value::Dec(b)) => Some(a.cmp(b)),
        (Value::Int(a), Value::Dec(b)) => Some(Decimal::from(*a).cmp(b)),
        (Value::Dec(a), Value::Int(b)) => Some(a.cmp(&Decimal::from(*b))),
        (Value::Time(a), Value::Time(b) | Value::Int(b)) | (Value::Int(a), Value::Time(b)) => {
            Some(a.cmp(b))
        }
        (Value::Money(a), Value::Money(b)) => a.partial_cmp_same(b),
        (Value::Duration(a), Value::Duration(b)) => Some(a.cmp(b)),
        (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
        (Value::List(a), Value::List(b)) => (a.len() == b.len()
            && a.iter().zip(b.iter()).all(|(x, y)| equal(x, y)))
        .then_some(Ordering::Equal),
        (Value::Str(a), Value::Str(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

fn compare(
    op: CmpOp,
    l: &Value,
    r: &Value,
    span: Span,
    operands: Option<(Span, Span)>,
) -> Result<bool, RunError> {
    match op {
        CmpOp::Eq => return Ok(equal(l, r)),
        CmpOp::Ne => return Ok(!equal(l, r)),
        _ => {}
    }
    ops::both_present(op.symbol(), l, r, span, operands)?;
    // Money in different currencies is never converted: the comparison is false.
    if let (Value::Money(a), Value::Money(b)) = (l, r) {
        if a.currency != b.currency {
            return Ok(false);
        }
    }
    let Some(ord) = order(l, r) else {
        return Err(RunError::at(
            RunCode::WrongType,
            span,
            format!("cannot order {} and {}", l.to_text(), r.to_text()),
        ));
    };
    Ok(match op {
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Le => ord != Ordering::Greater,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Ge => ord != Ordering::Less,
        CmpOp::Eq | CmpOp::Ne => unreachable!("handled above"),
    })
}

/// What follows a bool computed in place at `next`.
enum After {
    /// A jump tested it: go on here.
    Goto(usize),
    /// The program ends with it as its value.
    Halt,
    /// Push it and go on here.
    Push(usize),
}

/// Where a bool computed in place goes: a `JumpIfFalse` (the `and`, `or`, `if` or
/// `when` it is part of) takes it at once, a `Halt` returns it, and otherwise it is
/// pushed. A `Jump` on the way (the end of an `and`) is followed first.
#[inline(always)]
fn after_bool(code: &[Op], mut next: usize, b: bool) -> After {
    if let Some(&Op::Jump(t)) = code.get(next) {
        next = t as usize;
    }
    match code.get(next) {
        Some(&Op::JumpIfFalse(t)) => After::Goto(if b { next + 1 } else { t as usize }),
        Some(&Op::Halt) => After::Halt,
        _ => After::Push(next),
    }
}

/// A field's value seen in place (see `Machine::peek`).
enum Peeked<'a> {
    Null,
    Str(&'a str),
    /// An integer or a timestamp.
    Int(i64),
    Bool(bool),
    Currency(Currency),
    Money(i64, Currency),
}

/// `compare(op, value, constant)` for a peeked value, where it cannot fail.
#[inline(always)]
fn compare_peeked(op: CmpOp, v: &Peeked<'_>, lit: &flow_program::Lit) -> Option<bool> {
    use flow_program::Lit;
    let ord = match (v, lit) {
        // Null is a value for `==` and `!=` only.
        (Peeked::Null, _) | (_, Lit::Null) => {
            let eq = matches!(v, Peeked::Null) == matches!(lit, Lit::Null);
            return match op {
                CmpOp::Eq => Some(eq),
                CmpOp::Ne => Some(!eq),
                _ => None,
            };
        }
        (Peeked::Str(a), Lit::Str(b)) => (*a).cmp(b.as_str()),
        (Peeked::Int(a), Lit::Int(b)) => a.cmp(b),
        (Peeked::Bool(a), Lit::Bool(b)) => a.cmp(b),
        (Peeked::Currency(a), Lit::Currency(b)) => {
            return match op {
                CmpOp::Eq => Some(a == b),
                CmpOp::Ne => Some(a != b),
                _ => None,
            };
        }
        (Peeked::Money(minor, currency), Lit::Money(b)) => {
            if *currency != b.currency {
                // Never converted: different currencies are unequal and unordered.
                return Some(op == CmpOp::Ne);
            }
            minor.cmp(&b.minor)
        }
        _ => return None,
    };
    Some(match op {
        CmpOp::Eq => ord == Ordering::Equal,
        CmpOp::Ne => ord != Ordering::Equal,
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Le => ord != Ordering::Greater,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Ge => ord != Ordering::Less,
    })
}

/// `read_in` with the event's own `data.object`.
#[cfg(test)]
fn read(r: &FieldRead, event: &Event, locals: &[Value], span: Span) -> Result<Value, RunError> {
    read_in(r, event, event.object(), locals, span)
}

/// Read a field path, converting by its schema type; `object` is the event's
/// `data.object`.
fn read_in(
    r: &FieldRead,
    event: &Event,
    object: &Json,
    locals: &[Value],
    span: Span,
) -> Result<Value, RunError> {
    let root: &Json = match r.root {
        Root::Object => object,
        Root::Event => &event.json,
        Root::Local(s) => match locals.get(s as usize) {
            Some(Value::Object(o)) => o,
            // A position in a list named by `let` (`xs[0]`, `xs[0].price`).
            Some(Value::List(items))
                if r.path.first().is_some_and(|k| k.parse::<usize>().is_ok()) =>
            {
                let at = r.path[0].parse::<usize>().unwrap_or(usize::MAX);
                let item = items.get(at).cloned().unwrap_or(Value::Null);
                return match item {
                    item if r.path.len() == 1 => Ok(item),
                    Value::Object(o) => {
                        let rest = FieldRead {
                            root: Root::Object,
                            path: r.path[1..].to_vec(),
                            ..r.clone()
                        };
                        read_in(&rest, event, &o, locals, span)
                    }
                    Value::Null => Ok(Value::Null),
                    other => Err(RunError::at(
                        RunCode::WrongType,
                        span,
                        format!("`{}`: {} has no fields", r.display, other.to_text()),
                    )),
                };
            }
            Some(Value::Null) | None => {
                if r.required {
                    return Err(RunError::at(
                        RunCode::Null,
                        span,
                        format!("cannot read `{}`: the object is null", r.display),
                    ));
                }
                return Ok(Value::Null);
            }
            Some(other) => {
                return Err(RunError::at(
                    RunCode::WrongType,
                    span,
                    format!("`{}`: {} has no fields", r.display, other.to_text()),
                ))
            }
        },
    };
    let mut cur = root;
    for (i, key) in r.path.iter().enumerate() {
        match step(cur, key) {
            Some(v) if !v.is_null() => cur = v,
            None if event.strict && cur.is_object() && !is_metadata(&r.path[..i]) => {
                return Err(not_set(r, &r.path[..=i], root, span));
            }
            _ => {
                if r.required {
                    return Err(RunError::at(
                        RunCode::Missing,
                        span,
                        format!(
                            "the event has no `{}`, which its schema says is always present",
                            r.display
                        ),
                    ));
                }
                return Ok(Value::Null);
            }
        }
    }
    if let (true, Conv::Money { currency_path }) = (event.strict, &r.conv) {
        let mut c = root;
        for (i, key) in currency_path.iter().enumerate() {
            match step(c, key) {
                Some(v) => c = v,
                None if c.is_object() => return Err(not_set(r, &currency_path[..=i], root, span)),
                None => break,
            }
        }
    }
    convert(cur, &r.conv, root, r, span)
}

/// One step of a path: a key of an object, or a position in an array (`items.data[0]`
/// is the path `items`, `data`, `0`); out of range is absent.
#[inline(always)]
fn step<'j>(cur: &'j Json, key: &str) -> Option<&'j Json> {
    match cur {
        Json::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => cur.get(key),
    }
}

/// Whether the keys lead into a metadata map, whose keys are the business's own.
fn is_metadata(keys: &[String]) -> bool {
    keys.last().is_some_and(|k| k == "metadata")
}

fn not_set(r: &FieldRead, keys: &[String], root: &Json, span: Span) -> RunError {
    let what = match r.root {
        Root::Object => "event".to_string(),
        Root::Event => {
            return RunError::at(
                RunCode::NotSet,
                span,
                format!("`event.{}`{NOT_SET}event", keys.join(".")),
            )
        }
        Root::Local(_) => {
            let kind = root
                .get("object")
                .and_then(Json::as_str)
                .unwrap_or("object");
            match root.get("id").and_then(Json::as_str) {
                Some(id) => format!("{kind} {id}"),
                None => kind.to_string(),
            }
        }
    };
    RunError::at(
        RunCode::NotSet,
        span,
        format!("`{}`{NOT_SET}{what}", keys.join(".")),
    )
}

fn convert(
    j: &Json,
    conv: &Conv,
    root: &Json,
    r: &FieldRead,
    span: Span,
) -> Result<Value, RunError> {
    let bad = |want: &str| {
        RunError::at(
            RunCode::WrongType,
            span,
            format!(
                "`{}` should be {want}, but the event has {}",
                r.display,
                short_json(j)
            ),
        )
    };
    Ok(match conv {
        Conv::Str => match j {
            Json::String(s) => Value::Str(s.as_str().into()),
            _ => return Err(bad("a string")),
        },
        Conv::Int => j
            .as_i64()
            .map(Value::Int)
            .ok_or_else(|| bad("an integer"))?,
        Conv::Timestamp => j
            .as_i64()
            .map(Value::Time)
            .ok_or_else(|| bad("a Unix timestamp"))?,
        Conv::Decimal => match j {
            Json::String(s) => s.parse().map(Value::Dec).map_err(|_| bad("a decimal"))?,
            Json::Number(n) => n
                .to_string()
                .parse()
                .map(Value::Dec)
                .map_err(|_| bad("a decimal"))?,
            _ => return Err(bad("a decimal")),
        },
        Conv::Bool => j
            .as_bool()
            .map(Value::Bool)
            .ok_or_else(|| bad("true or false"))?,
        Conv::Currency => j
            .as_str()
            .and_then(Currency::parse)
            .map(Value::Currency)
            .ok_or_else(|| bad("a currency code"))?,
        Conv::Money { currency_path } => {
            let minor = j.as_i64().ok_or_else(|| bad("an integer amount"))?;
            let mut cur = root;
            for k in currency_path {
                cur = step(cur, k).unwrap_or(&Json::Null);
            }
            let currency = cur.as_str().and_then(Currency::parse).ok_or_else(|| {
                RunError::at(
                    RunCode::WrongType,
                    span,
                    format!(
                        "`{}` has no currency: `{}` is {}",
                        r.display,
                        currency_path.join("."),
                        short_json(cur)
                    ),
                )
            })?;
            Value::Money(Money::new(minor, currency))
        }
        Conv::Ref => match j {
            Json::String(s) => Value::Str(s.as_str().into()),
            Json::Object(o) => match o.get("id").and_then(Json::as_str) {
                Some(id) => Value::Str(id.into()),
                None => return Err(bad("an ID or an object with an `id`")),
            },
            _ => return Err(bad("an ID")),
        },
        Conv::Metadata | Conv::Object => match j {
            Json::Object(_) => Value::Object(Rc::new(j.clone())),
            _ => return Err(bad("an object")),
        },
        Conv::Json => Value::from_json(j),
        Conv::List(inner) => match j {
            Json::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    out.push(convert(i, inner, root, r, span)?);
                }
                Value::List(out.into())
            }
            _ => return Err(bad("a list")),
        },
    })
}

fn short_json(j: &Json) -> String {
    let s = j.to_string();
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s
    }
}

fn build_email(
    to: Value,
    subject: Value,
    body: Value,
    append: Value,
    span: Span,
) -> Result<Email, RunError> {
    let to: Vec<String> = match to {
        Value::List(items) => items
            .iter()
            .map(Value::to_text)
            .filter(|s| !s.is_empty())
            .collect(),
        Value::Null => Vec::new(),
        other => vec![other.to_text()],
    };
    if to.is_empty() {
        return Err(RunError::at(
            RunCode::Recipient,
            span,
            "email has no recipient: `to` is null or empty",
        ));
    }
    if let Some(bad) = to.iter().find(|a| !flow_stdlib::is_email_address(a)) {
        return Err(RunError::at(
            RunCode::Recipient,
            span,
            format!("email: `{bad}` is not an e-mail address"),
        ));
    }
    let subject = match subject {
        Value::Null => None,
        s => Some(s.to_text()),
    };
    let append = match append {
        Value::Table(rows) => rows.iter().map(|(k, v)| (k.clone(), v.to_text())).collect(),
        _ => Vec::new(),
    };
    Ok(Email {
        to,
        subject,
        body: body.to_text(),
        append,
    })
}

/// The action of a `slack`, `http` or custom action call, from its parameters.
fn build_call(
    spec: &flow_program::CallSpec,
    values: &[Value],
    span: Span,
) -> Result<Action, RunError> {
    let get = |name: &str| {
        spec.params
            .iter()
            .position(|p| p == name)
            .and_then(|i| values.get(i))
            .unwrap_or(&Value::Null)
    };
    let what = &spec.action;
    let text = |name: &str| -> Result<String, RunError> {
        let t = get(name).to_text();
        if t.is_empty() {
            return Err(RunError::at(
                RunCode::Null,
                span,
                format!("{what}: `{name}` is null or empty"),
            ));
        }
        Ok(t)
    };
    let optional_json = |name: &str| match get(name) {
        Value::Null => None,
        v => Some(v.to_json()),
    };
    let checked_url = |url: String| -> Result<String, RunError> {
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"));
        match rest {
            Some(r) if !r.is_empty() && !r.starts_with(['/', ':', '?', '#']) => Ok(url),
            _ => Err(RunError::at(
                RunCode::WrongType,
                span,
                format!(
                    "{what}: `{}` is not an https:// address",
                    url.escape_debug()
                ),
            )),
        }
    };
    Ok(match (spec.action.as_str(), &spec.endpoint) {
        ("slack", None) => Action::Slack {
            channel: text("channel")?,
            text: get("text").to_text(),
            blocks: optional_json("blocks"),
        },
        ("http", None) => Action::Http {
            name: None,
            method: {
                let m = text("method")?.to_ascii_uppercase();
                if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&m.as_str()) {
                    return Err(RunError::at(
                        RunCode::WrongType,
                        span,
                        format!(
                            "http: `{}` is not a method: GET, POST, PUT, PATCH or DELETE",
                            m.escape_debug()
                        ),
                    ));
                }
                m
            },
            url: checked_url(text("url")?)?,
            headers: match get("headers") {
                Value::Table(rows) => rows.iter().map(|(k, v)| (k.clone(), v.to_text())).collect(),
                _ => Vec::new(),
            },
            body: optional_json("json"),
        },
        (name, endpoint) => Action::Http {
            name: Some(name.to_string()),
            method: "POST".into(),
            url: checked_url(endpoint.clone().unwrap_or_default())?,
            headers: Vec::new(),
            body: Some(Json::Object(
                spec.params
                    .iter()
                    .zip(values)
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            )),
        },
    })
}

/// The parameters of a refund. An amount must be in the currency of the payment it
/// refunds: known from the charge or PaymentIntent given as an object, or, given by
/// id, when it is the event's own object; otherwise the run fails rather than send
/// an amount Stripe would read in another currency.
fn build_refund(
    names: &[String],
    values: &[Value],
    event_object: &Json,
    span: Span,
) -> Result<Map<String, Json>, RunError> {
    let mut params = Map::new();
    let mut payment_currency: Option<Currency> = None;
    // The payment given by an id whose currency is not known here.
    let mut unknown_payment: Option<(String, String)> = None;
    let mut amount: Option<Money> = None;
    for (name, value) in names.iter().zip(values) {
        match value {
            Value::Null => {
                return Err(RunError::at(
                    RunCode::Null,
                    span,
                    format!("refund: `{name}` is null"),
                ));
            }
            Value::Object(o) if name == "charge" || name == "payment_intent" => {
                payment_currency = o
                    .get("currency")
                    .and_then(Json::as_str)
                    .and_then(Currency::parse);
            }
            Value::Str(id) if name == "charge" || name == "payment_intent" => {
                let kind = event_object.get("object").and_then(Json::as_str);
                let own = event_object.get("id").and_then(Json::as_str) == Some(&**id)
                    && kind.is_none_or(|k| k == name);
                match event_object.get("currency").and_then(Json::as_str) {
                    Some(c) if own => payment_currency = Currency::parse(c),
                    _ => unknown_payment = Some((name.clone(), id.to_string())),
                }
            }
            Value::Money(m) => amount = Some(*m),
            _ => {}
        }
        params.insert(name.clone(), value.to_param());
    }
    if let Some(m) = amount {
        match (payment_currency, unknown_payment) {
            (Some(c), _) if c != m.currency => {
                return Err(RunError::at(RunCode::Currency,
                    span,
                    format!("refund: the amount is {m}, but the payment is in {c}; amounts are never converted"),
                ));
            }
            (None, Some((name, id))) => {
                return Err(RunError::at(RunCode::Currency,
                    span,
                    format!("refund: the amount is {m}, but the currency of {name} `{id}` is not known here; retrieve it first (`let p = retrieve …`) and refund `{name}: p`, so that the amount is checked against its currency"),
                ));
            }
            _ => {}
        }
        if m.minor <= 0 {
            return Err(RunError::at(
                RunCode::Amount,
                span,
                format!("refund: the amount must be positive, not {m}"),
            ));
        }
        if m.currency.exponent() == 3 && m.minor % 10 != 0 {
            return Err(RunError::at(RunCode::Amount,
                span,
                format!("refund: Stripe needs {} amounts rounded to 0.010 (the last digit 0); {m} is not", m.currency),
            ));
        }
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(minor: i64) -> Value {
        Value::Money(Money::new(minor, Currency::parse("usd").unwrap()))
    }

    #[test]
    fn money_comparisons_never_convert() {
        let eur = Value::Money(Money::new(100_000, Currency::parse("eur").unwrap()));
        let sp = Span::default();
        assert!(!compare(CmpOp::Gt, &eur, &usd(1), sp, None).unwrap());
        assert!(!compare(CmpOp::Lt, &eur, &usd(1), sp, None).unwrap());
        assert!(!compare(CmpOp::Eq, &eur, &usd(100_000), sp, None).unwrap());
        assert!(compare(CmpOp::Ne, &eur, &usd(100_000), sp, None).unwrap());
        assert!(!compare(CmpOp::Gt, &usd(100_000), &usd(100_000), sp, None).unwrap());
        assert!(compare(CmpOp::Ge, &usd(100_000), &usd(100_000), sp, None).unwrap());
    }

    #[test]
    fn null_is_a_value_for_equality_only() {
        let sp = Span::new(3, 7);
        assert!(compare(CmpOp::Eq, &Value::Null, &Value::Null, sp, None).unwrap());
        assert!(compare(
            CmpOp::Ne,
            &Value::Str("cus_1".into()),
            &Value::Null,
            sp,
            None
        )
        .unwrap());
        let e = compare(
            CmpOp::Gt,
            &Value::Null,
            &usd(1),
            sp,
            Some((Span::new(3, 5), sp)),
        )
        .unwrap_err();
        assert_eq!(e.span, Some(Span::new(3, 5)));
    }

    #[test]
    fn strict_events_name_missing_fields() {
        let json = serde_json::json!({"object": "event", "type": "payment_intent.succeeded",
            "data": {"object": {"customer": null, "metadata": {}, "amount": 100}}});
        let mut e = Event::from_json(json, None).unwrap();
        let read_of = |path: &[&str], conv: Conv| FieldRead {
            root: Root::Object,
            path: path.iter().map(|s| s.to_string()).collect(),
            conv,
            required: false,
            display: path.join("."),
        };
        let sp = Span::new(1, 2);
        assert_eq!(
            read(&read_of(&["status"], Conv::Str), &e, &[], sp),
            Ok(Value::Null)
        );
        e.strict = true;
        let err = read(&read_of(&["status"], Conv::Str), &e, &[], sp).unwrap_err();
        assert_eq!(err.message, "`status` is not set in the test's event");
        assert_eq!(err.span, Some(sp));
        // An explicit null is a value; metadata keys are the business's own.
        assert_eq!(
            read(&read_of(&["customer"], Conv::Ref), &e, &[], sp),
            Ok(Value::Null)
        );
        let tier = read_of(&["metadata", "Tier"], Conv::Str);
        assert_eq!(read(&tier, &e, &[], sp), Ok(Value::Null));
        // Money needs its currency set too.
        let money = Conv::Money {
            currency_path: vec!["currency".into()],
        };
        let err = read(&read_of(&["amount"], money), &e, &[], sp).unwrap_err();
        assert!(
            err.message.starts_with("`currency` is not set"),
            "{}",
            err.message
        );
    }

    #[test]
    fn bare_objects_need_a_type() {
        let obj = serde_json::json!({"id": "pi_1", "object": "payment_intent"});
        assert!(Event::from_json(obj.clone(), None).is_err());
        let e = Event::from_json(obj, Some("payment_intent.succeeded")).unwrap();
        assert_eq!(e.event_type(), "payment_intent.succeeded");
        assert_eq!(e.object()["id"], "pi_1");
    }
}
