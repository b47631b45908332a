//! Batch mode: run a file's workflows over a stream of events, one JSON event per
//! line (`flow run FILE --events EVENTS.jsonl`).
//!
//! - One report per triggered workflow, in input order; a line that is not JSON or
//!   not an event gives an error record naming its line number, and the stream goes
//!   on.
//! - Memory stays flat: lines are read in chunks of bounded size, and only a bounded
//!   number of chunks is in flight at once.
//! - Each event is decoded once, only as far as the programs read it ([`Decoder`]):
//!   all the workflows it triggers share that decode.
//! - Workflows whose `when` starts with a comparison of a field with a constant are
//!   answered together: per event, each distinct comparison is asked once (a binary
//!   search over the constants of `<`, `>` …), and a workflow whose comparison is
//!   false is skipped without running (`index`).
//! - With more than one job, each worker thread reads a chunk, runs it while it is
//!   still in that core's cache, and writes the reports that are next in input
//!   order: no thread is woken to hand a chunk on.

#![forbid(unsafe_code)]

mod decode;
mod kept;
mod scan;
mod slots;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read, Write};
use std::sync::{Condvar, Mutex};

pub use decode::Decoder;
use flow_bindings::Recording;
use flow_program::Program;
use flow_syntax::SourceFile;
use flow_vm::index::{Answer, Index};
use flow_vm::{self as vm, RunReport, Status, Value};
use serde_json::Value as Json;
use slots::{Got, KeptFields, Planned, Slots};

/// How reports are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// One JSON object per line: a run report (as `flow run --format json`), or
    /// `{"line": N, "error": "…"}` for a line that is not an event.
    Json,
    /// Reports as `flow run` prints them; errors as `line N: error: …`.
    Text,
}

/// Whether the reports of skipped runs (a `when` that was false) are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Skipped {
    /// Every run has its report (the default).
    #[default]
    Include,
    /// Skipped runs are counted in the [`Summary`] but get no report.
    Omit,
}

/// What a stream came to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Lines that held an event.
    pub events: u64,
    pub succeeded: u64,
    pub skipped: u64,
    pub failed: u64,
    /// Lines that were not valid JSON or not an event.
    pub bad_lines: u64,
}

impl Summary {
    fn add(&mut self, o: &Summary) {
        self.events += o.events;
        self.succeeded += o.succeeded;
        self.skipped += o.skipped;
        self.failed += o.failed;
        self.bad_lines += o.bad_lines;
    }

    pub fn runs(&self) -> u64 {
        self.succeeded + self.skipped + self.failed
    }
}

/// The compiled workflows of one file, ready to run over many events.
pub struct Batch<'a> {
    source: &'a SourceFile,
    by_trigger: HashMap<&'a str, Triggered<'a>>,
    decoder: Decoder,
    bindings: Recording,
    output: Output,
    skipped: Skipped,
    /// Whether [`Index`] answers leading comparisons (off: every workflow runs in
    /// the VM; the reports are the same).
    use_index: bool,
    /// The fields the typed `when`s read, filled from each line's bytes.
    slots: Slots,
    /// The decoder's kept members, as fields of `slots`.
    kept: KeptFields,
    /// Whether runs are decided from slots before the event is decoded (off: every
    /// line is decoded; the reports are the same).
    use_slots: bool,
    /// Whether a worker stops trying the slots for a while when they decide too
    /// few lines (see [`SLOT_WINDOW`]); off in tests, to try them on every line.
    slots_pause: bool,
}

/// Slots are worth trying when they decide at least half the lines: a line they do
/// not decide costs their conditions before it is decoded, and a second scan when
/// the slot scan declines it or a member comes twice in it. Each worker counts over
/// this many lines, and below half, decodes the next [`SLOT_PAUSE`] lines without
/// trying them.
const SLOT_WINDOW: u32 = 256;
const SLOT_PAUSE: u32 = 16 * 1024;

/// The workflows of one event type, in file order, and their shared pre-filter.
struct Triggered<'a> {
    programs: Vec<&'a Program>,
    /// Each program's skipped report as JSON, around its event id.
    skipped_json: Vec<Option<SkippedJson>>,
    index: Index,
    /// Each program's typed `when`, over the slots filled from the line.
    whens: Vec<Option<Planned>>,
    /// The typed form of each probe of `index`, by group.
    probes: Vec<Vec<Option<Planned>>>,
    /// Whether every run could be decided from slots alone, and with the index.
    decidable_alone: bool,
    decidable_with_index: bool,
    /// Whether every workflow has a leading comparison in `index`.
    all_led: bool,
}

impl Triggered<'_> {
    /// Whether every run could be decided from slots (and the index, when used).
    fn decidable(&self, use_index: bool) -> bool {
        if use_index {
            self.decidable_with_index
        } else {
            self.decidable_alone
        }
    }
}

/// A workflow's skipped report as one JSON line, made once from its serialization:
/// only the event's id differs from one event to the next.
struct SkippedJson {
    /// Up to the event id (`{"workflow":"…","event":`).
    before: Vec<u8>,
    /// After it, the newline included.
    after: Vec<u8>,
}

impl SkippedJson {
    fn new(p: &Program) -> Option<SkippedJson> {
        let mut line = Vec::new();
        write_report_line(&mut line, &skipped_report(p, None));
        // The serialization of a report without an event id: the one `null` that
        // follows `"event":`, which comes before any text taken from the source.
        let at = b"\"event\":null";
        let start = line.windows(at.len()).position(|w| w == at)? + at.len() - 4;
        Some(SkippedJson {
            before: line[..start].to_vec(),
            after: line[start + 4..].to_vec(),
        })
    }

    fn write(&self, event: Option<&str>, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.before);
        match event {
            // An ID with nothing to escape (as `serde_json` escapes: quotes,
            // backslashes and control characters), as it is.
            Some(id) if !id.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) => {
                out.push(b'"');
                out.extend_from_slice(id.as_bytes());
                out.push(b'"');
            }
            // Writing JSON into a Vec cannot fail.
            _ => {
                let _ = serde_json::to_writer(&mut *out, &event);
            }
        }
        out.extend_from_slice(&self.after);
    }
}

impl<'a> Batch<'a> {
    /// `event_type`: lines may be bare objects of this event type (as `--type`).
    /// `bindings` answers `retrieve`; each worker gets its own copy.
    pub fn new(
        programs: &'a [Program],
        source: &'a SourceFile,
        event_type: Option<&str>,
        bindings: Recording,
        output: Output,
    ) -> Batch<'a> {
        let mut grouped: HashMap<&str, Vec<&Program>> = HashMap::new();
        for p in programs {
            grouped.entry(p.trigger.as_str()).or_default().push(p);
        }
        let mut slots = Slots::new();
        let by_trigger = grouped
            .into_iter()
            .map(|(t, programs)| {
                let index = Index::new(&programs);
                let skipped_json = programs.iter().map(|p| SkippedJson::new(p)).collect();
                let whens: Vec<Option<Planned>> = programs
                    .iter()
                    .map(|p| slots.plan(p.skipping_when()?.clone()))
                    .collect();
                let probes = index
                    .probes()
                    .map(|g| g.iter().map(|p| slots.plan(slots::probe_of(p)?)).collect())
                    .collect();
                let decidable_alone = whens.iter().all(Option::is_some);
                let all_led = (0..programs.len()).all(|i| index.has_leading(i));
                let decidable_with_index = whens
                    .iter()
                    .enumerate()
                    .all(|(i, w)| w.is_some() || index.has_leading(i));
                (
                    t,
                    Triggered {
                        programs,
                        skipped_json,
                        index,
                        whens,
                        probes,
                        decidable_alone,
                        decidable_with_index,
                        all_led,
                    },
                )
            })
            .collect();
        let decoder = Decoder::new(programs, event_type);
        // After every slot: these fields only say where a kept value starts.
        let kept = slots.keep(&decoder.top);
        Batch {
            source,
            by_trigger,
            decoder,
            kept,
            bindings,
            output,
            skipped: Skipped::Include,
            use_index: true,
            slots,
            use_slots: true,
            slots_pause: true,
        }
    }

    /// Whether runs are decided from typed slots read straight from each line, so
    /// that a line whose runs are all skipped is never decoded (the default), or
    /// every line is decoded; the reports are the same.
    pub fn with_slots(mut self, on: bool) -> Batch<'a> {
        self.use_slots = on;
        self
    }

    /// Whether some event type's runs could all be decided from slots.
    fn slots_pay(&self) -> bool {
        self.use_slots
            && self
                .by_trigger
                .values()
                .any(|t| t.decidable(self.use_index))
    }

    /// Whether leading comparisons are answered once per event for all workflows
    /// (the default) or by each workflow's own run; the reports are the same.
    pub fn with_index(mut self, on: bool) -> Batch<'a> {
        self.use_index = on;
        self
    }

    /// Whether the reports of skipped runs are written (default: they are).
    pub fn with_skipped(mut self, skipped: Skipped) -> Batch<'a> {
        self.skipped = skipped;
        self
    }

    /// What `now` is in every run (`None`: the time each run starts).
    pub fn with_now(mut self, now: Option<i64>) -> Batch<'a> {
        self.decoder.now = now;
        self
    }

    /// Run every line of `input`, writing reports to `out`, with `jobs` worker
    /// threads (1: all on this thread). `input` is read in large reads of its own:
    /// it needs no buffer in front of it.
    pub fn run<R, W>(&self, input: R, out: &mut W, jobs: usize) -> io::Result<Summary>
    where
        R: Read + Send,
        W: Write + Send,
    {
        if jobs <= 1 {
            self.run_here(input, out)
        } else {
            self.run_parallel(input, out, jobs)
        }
    }

    fn run_here<R: Read, W: Write>(&self, mut input: R, out: &mut W) -> io::Result<Summary> {
        let mut worker = Worker::new(self);
        let mut lines = Lines::default();
        let mut buf = Vec::with_capacity(OUT_CHUNK);
        let mut spare = Vec::new();
        while let Some(chunk) = lines.next(&mut input, spare)? {
            chunk.each(|line, number| worker.line(line, number, &mut buf));
            // A chunk ends when full, or when the next line is not there yet: its
            // reports are written then.
            out.write_all(&buf)?;
            out.flush()?;
            buf.clear();
            spare = chunk.data;
        }
        Ok(worker.summary)
    }

    /// Each worker reads a chunk itself (the input is shared under a lock), runs it
    /// while the chunk is still in its own core's cache, and writes whatever reports
    /// are next in input order. No thread only hands chunks on, and a chunk is read,
    /// run and written without waking another thread.
    fn run_parallel<R, W>(&self, input: R, out: &mut W, jobs: usize) -> io::Result<Summary>
    where
        R: Read + Send,
        W: Write + Send,
    {
        let reading = Mutex::new(Reading {
            input,
            lines: Lines::default(),
            error: None,
            done: false,
        });
        let writing = Mutex::new(Writing {
            out,
            waiting: BTreeMap::new(),
            next: 0,
            summary: Summary::default(),
            spare: Vec::new(),
            error: None,
        });
        // Memory stays flat: a worker waits before reading while this many chunks'
        // reports wait for an earlier chunk.
        let ahead = jobs * 2;
        let room = Condvar::new();
        std::thread::scope(|s| {
            for _ in 0..jobs {
                s.spawn(|| self.work(&reading, &writing, &room, ahead));
            }
        });
        let panicked = || io::Error::other("a worker thread panicked");
        let writing = writing.into_inner().map_err(|_| panicked())?;
        let reading = reading.into_inner().map_err(|_| panicked())?;
        if let Some(e) = writing.error {
            return Err(e);
        }
        if let Some(e) = reading.error {
            return Err(e);
        }
        Ok(writing.summary)
    }

    /// One worker of [`Batch::run_parallel`]: read a chunk, run it, write what is
    /// ready, until the input ends or writing fails.
    fn work<R: Read, W: Write>(
        &self,
        reading: &Mutex<Reading<R>>,
        writing: &Mutex<Writing<'_, W>>,
        room: &Condvar,
        ahead: usize,
    ) {
        let mut worker = Worker::new(self);
        let mut data = Vec::new();
        let mut buf = Vec::new();
        loop {
            {
                let Ok(mut w) = writing.lock() else { return };
                while w.waiting.len() >= ahead && w.error.is_none() {
                    let Ok(next) = room.wait(w) else { return };
                    w = next;
                }
                if w.error.is_some() {
                    return;
                }
            }
            let chunk = {
                let Ok(mut guard) = reading.lock() else {
                    return;
                };
                let r = &mut *guard;
                if r.done {
                    return;
                }
                match r.lines.next(&mut r.input, data) {
                    Ok(Some(chunk)) => chunk,
                    Ok(None) => {
                        r.done = true;
                        return;
                    }
                    Err(e) => {
                        r.error = Some(e);
                        r.done = true;
                        return;
                    }
                }
            };
            worker.summary = Summary::default();
            buf.clear();
            chunk.each(|line, number| worker.line(line, number, &mut buf));
            data = chunk.data;
            let Ok(mut w) = writing.lock() else { return };
            w.waiting.insert(chunk.seq, (buf, worker.summary));
            w.write_ready();
            buf = w.spare.pop().unwrap_or_default();
            drop(w);
            room.notify_all();
        }
    }
}

/// The input of [`Batch::run_parallel`], read by one worker at a time.
struct Reading<R> {
    input: R,
    lines: Lines,
    error: Option<io::Error>,
    /// The input ended, or reading it failed.
    done: bool,
}

/// The output of [`Batch::run_parallel`]: chunks' reports wait here until every
/// earlier chunk's are written.
struct Writing<'w, W> {
    out: &'w mut W,
    /// Reports and summary of each chunk run and not yet written, by chunk number.
    waiting: BTreeMap<u64, (Vec<u8>, Summary)>,
    /// The chunk to write next.
    next: u64,
    summary: Summary,
    /// Buffers written, to run the next chunks into.
    spare: Vec<Vec<u8>>,
    error: Option<io::Error>,
}

impl<W: Write> Writing<'_, W> {
    /// Write every chunk that is next in order; after a failure, nothing more.
    fn write_ready(&mut self) {
        let mut wrote = false;
        while self.error.is_none() {
            let Some((mut buf, summary)) = self.waiting.remove(&self.next) else {
                break;
            };
            if let Err(e) = self.out.write_all(&buf) {
                self.error = Some(e);
                break;
            }
            self.summary.add(&summary);
            self.next += 1;
            wrote = true;
            buf.clear();
            self.spare.push(buf);
        }
        if wrote && self.error.is_none() {
            if let Err(e) = self.out.flush() {
                self.error = Some(e);
            }
        }
    }
}

/// Output is written in blocks of about this size.
const OUT_CHUNK: usize = 64 * 1024;
/// Input is read, and run by one worker at a time, in chunks of about this size
/// (on 2 jobs, 1 MiB measured about 3% faster than 256 KiB and than 2 MiB, and
/// within the noise of 512 KiB).
const IN_CHUNK: usize = 1024 * 1024;

/// Whole lines of the input, read straight into the chunk's buffer.
struct Chunk {
    seq: u64,
    first_line: u64,
    /// The lines, up to the last of `ends`; what follows is not part of the chunk.
    data: Vec<u8>,
    /// The end of each line in `data` (its newline included; the last line of the
    /// input may have none).
    ends: Vec<usize>,
}

impl Chunk {
    /// Each line with its number.
    fn each(&self, mut f: impl FnMut(&[u8], u64)) {
        let mut start = 0;
        for (i, &end) in self.ends.iter().enumerate() {
            f(
                self.data.get(start..end).unwrap_or_default(),
                self.first_line + i as u64,
            );
            start = end;
        }
    }
}

/// Cuts the input into chunks of whole lines: large reads into the chunk's own
/// buffer, with no copy of each line, the start of a line cut by a read carried to
/// the next chunk.
#[derive(Default)]
struct Lines {
    seq: u64,
    next_line: u64,
    /// The start of a line that the last read cut.
    carry: Vec<u8>,
    ended: bool,
}

impl Lines {
    /// The next chunk, read into `data` (a buffer to reuse, whose bytes were all
    /// written once already, so that it is not cleared again); `None` at the end.
    fn next<R: Read>(&mut self, input: &mut R, mut data: Vec<u8>) -> io::Result<Option<Chunk>> {
        if self.ended && self.carry.is_empty() {
            return Ok(None);
        }
        let mut filled = self.carry.len();
        if data.len() < IN_CHUNK.max(filled + IN_CHUNK / 4) {
            data.resize(IN_CHUNK.max(filled + IN_CHUNK / 4), 0);
        }
        if let Some(start) = data.get_mut(..filled) {
            start.copy_from_slice(&self.carry);
        }
        self.carry.clear();
        // The part of `data` searched for newlines so far.
        let mut searched = 0;
        let mut ends = Vec::new();
        while !self.ended {
            // Room to read into, more for a line longer than a chunk.
            if data.len() < filled + IN_CHUNK / 4 {
                data.resize(filled + IN_CHUNK / 4, 0);
            }
            let room = data.get_mut(filled..).unwrap_or_default();
            let want = room.len();
            let n = match input.read(room) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                self.ended = true;
                break;
            }
            filled += n;
            let new = data.get(searched..filled).unwrap_or_default();
            ends.extend(memchr::memchr_iter(b'\n', new).map(|at| searched + at + 1));
            searched = filled;
            // A chunk ends when full, or when a read came back short (a pipe fed
            // slowly: the next line is not there yet), once it has a whole line.
            if !ends.is_empty() && (filled >= IN_CHUNK || n < want) {
                break;
            }
        }
        let whole = ends.last().copied().unwrap_or(0);
        if self.ended {
            // The last line, without its newline.
            if filled > whole {
                ends.push(filled);
            }
        } else {
            self.carry
                .extend_from_slice(data.get(whole..filled).unwrap_or_default());
        }
        if ends.is_empty() {
            return Ok(None);
        }
        let chunk = Chunk {
            seq: self.seq,
            first_line: self.next_line + 1,
            data,
            ends,
        };
        self.seq += 1;
        self.next_line += chunk.ends.len() as u64;
        Ok(Some(chunk))
    }
}

/// What the slots made of a line.
enum Slotted {
    /// Every run is decided, its reports written.
    Done,
    /// The line is to be decoded; its kept part, when the scan could make it.
    Decode(Option<Json>),
}

impl Slotted {
    fn done(&self) -> bool {
        matches!(self, Slotted::Done)
    }
}

/// Runs lines on one thread, with its own bindings.
struct Worker<'b, 'a> {
    batch: &'b Batch<'a>,
    bindings: Recording,
    summary: Summary,
    /// Scratch space of the pre-filter.
    answers: Vec<Answer>,
    locals: Vec<Value>,
    /// Whether lines go through the slots first.
    slots: bool,
    /// Scratch space of the slots: what the scan found, the slots' values, the
    /// index's answers from them, and which runs they decided are skipped.
    got: Vec<Got<'static>>,
    starts: Vec<usize>,
    values: Vec<vm::Slot<'static>>,
    slot_answers: Vec<Answer>,
    off: Vec<bool>,
    /// Lines tried and decided from slots in this window; lines left to decode
    /// without trying them.
    tried: u32,
    decided: u32,
    paused: u32,
}

impl<'b, 'a> Worker<'b, 'a> {
    fn new(batch: &'b Batch<'a>) -> Worker<'b, 'a> {
        Worker {
            batch,
            bindings: batch.bindings.clone(),
            summary: Summary::default(),
            answers: Vec::new(),
            locals: Vec::new(),
            slots: batch.slots_pay(),
            got: Vec::new(),
            starts: Vec::new(),
            values: Vec::new(),
            slot_answers: Vec::new(),
            off: Vec::new(),
            tried: 0,
            decided: 0,
            paused: 0,
        }
    }

    /// Run one line (its newline included or not) and append its records to `out`.
    fn line(&mut self, raw: &[u8], number: u64, out: &mut Vec<u8>) {
        let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        let mut off = std::mem::take(&mut self.off);
        off.clear();
        // The slots are filled from the line's bytes: a line they decide is UTF-8
        // (the scan checks it as it goes). So is a line decoded from its bytes.
        let mut json = None;
        if self.slots && self.paused == 0 {
            let slotted = self.by_slots(raw, &mut off, out);
            let done = slotted.done();
            if let Slotted::Decode(kept) = slotted {
                json = kept;
            }
            if self.batch.slots_pause {
                self.tried += 1;
                self.decided += u32::from(done);
                if self.tried == SLOT_WINDOW {
                    if self.decided * 2 < SLOT_WINDOW {
                        self.paused = SLOT_PAUSE;
                    }
                    self.tried = 0;
                    self.decided = 0;
                }
            }
            if done {
                self.off = off;
                return;
            }
        } else if self.paused > 0 {
            self.paused -= 1;
        }
        self.decoded(raw, json, number, &off, out);
        self.off = off;
    }

    /// Decide the line's runs from slots filled from its bytes: `Done` when that
    /// is all there is to do (no run, or every run skipped, its reports written).
    /// Otherwise `off` says which runs are known to be skipped, and the line is
    /// decoded: from what the scan recorded when it can be.
    fn by_slots(&mut self, text: &[u8], off: &mut Vec<bool>, out: &mut Vec<u8>) -> Slotted {
        let mut got: Vec<Got<'_>> = slots::recycle(std::mem::take(&mut self.got));
        got.resize(self.batch.slots.fields(), Got::Absent);
        let mut starts = std::mem::take(&mut self.starts);
        starts.resize(self.batch.slots.fields(), 0);
        let slotted = match scan::fill(&self.batch.slots.tree, text, &mut got, &mut starts) {
            None => Slotted::Decode(None),
            Some(filled) => match self.decide(&got, off, out) {
                true => Slotted::Done,
                false if filled.repeated => Slotted::Decode(None),
                false => {
                    Slotted::Decode(scan::kept_from_fill(&self.batch.kept, text, &got, &starts))
                }
            },
        };
        self.got = slots::recycle(got);
        self.starts = starts;
        slotted
    }

    /// Decide the line's runs from what the scan recorded; `true` when done.
    fn decide(&mut self, got: &[Got<'_>], off: &mut Vec<bool>, out: &mut Vec<u8>) -> bool {
        let batch = self.batch;
        // As `Event::from_json` asks of an event; anything else is decoded.
        if !matches!(got.get(slots::OBJECT), Some(Got::Str(o)) if o == "event")
            || !matches!(got.get(slots::DATA_OBJECT), Some(Got::Object))
        {
            return false;
        }
        let Some(Got::Str(event_type)) = got.get(slots::TYPE) else {
            return false;
        };
        let event_type = batch.decoder.event_type().unwrap_or(event_type);
        let Some(triggered) = batch.by_trigger.get(event_type) else {
            self.summary.events += 1;
            return true;
        };
        let use_index = batch.use_index && !triggered.index.is_empty();
        if !triggered.decidable(use_index) {
            return false;
        }
        let mut values = slots::recycle(std::mem::take(&mut self.values));
        batch.slots.values(got, &mut values);
        if use_index {
            triggered.index.answer_by(&mut self.slot_answers, |g, i| {
                triggered.probes.get(g)?.get(i)?.as_ref()?.probe(&values)
            });
        }
        let mut all = true;
        // Every leading comparison false: every run is skipped, none looked at.
        let every = use_index && triggered.all_led && triggered.index.all_false(&self.slot_answers);
        if !every {
            for (i, when) in triggered.whens.iter().enumerate() {
                let skipped = (use_index && triggered.index.skips(i, &self.slot_answers))
                    || when.as_ref().and_then(|w| w.eval(&values)) == Some(false);
                off.push(skipped);
                if !skipped {
                    // The line is decoded: the rest are left to the index and the VM.
                    all = false;
                    break;
                }
            }
        }
        self.values = slots::recycle(values);
        if !all {
            return false;
        }
        self.summary.events += 1;
        self.summary.skipped += triggered.programs.len() as u64;
        if batch.skipped == Skipped::Omit {
            return true;
        }
        let id = match got.get(slots::ID) {
            Some(Got::Str(id)) => Some(&**id),
            _ => None,
        };
        for (i, p) in triggered.programs.iter().enumerate() {
            {
                match (batch.output, &triggered.skipped_json[i]) {
                    (Output::Json, Some(json)) => json.write(id, out),
                    _ => self.write(&skipped_report(p, id), out),
                }
            }
        }
        true
    }

    /// Run one line the usual way: decode it (or take `json`, its kept part the
    /// scan made), then run each triggered workflow but those `off` says are skipped.
    fn decoded(
        &mut self,
        line: &[u8],
        json: Option<Json>,
        number: u64,
        off: &[bool],
        out: &mut Vec<u8>,
    ) {
        let decoder = &self.batch.decoder;
        let event = match json {
            Some(json) => decoder.event(json),
            None => decoder.decode_line(line),
        };
        let event = match event {
            Ok(e) => e,
            Err(message) => {
                self.summary.bad_lines += 1;
                self.error_record(number, &message, out);
                return;
            }
        };
        self.summary.events += 1;
        let Some(triggered) = self.batch.by_trigger.get(event.event_type()) else {
            return;
        };
        let index = (self.batch.use_index && !triggered.index.is_empty()).then(|| {
            triggered
                .index
                .answer(&event, &mut self.locals, &mut self.answers);
            &triggered.index
        });
        for (i, p) in triggered.programs.iter().enumerate() {
            if off.get(i) == Some(&true) || index.is_some_and(|x| x.skips(i, &self.answers)) {
                // Its `when` is false from the start: the run would do nothing but
                // end skipped.
                self.summary.skipped += 1;
                if self.batch.skipped == Skipped::Include {
                    match (self.batch.output, &triggered.skipped_json[i]) {
                        (Output::Json, Some(json)) => json.write(event.id(), out),
                        _ => self.write(&skipped_report(p, event.id()), out),
                    }
                }
                continue;
            }
            let report = vm::run(p, self.batch.source, &event, &mut self.bindings);
            match report.status {
                // Waits pass at once in a batch: a run never ends waiting there.
                Status::Succeeded | Status::Waiting => self.summary.succeeded += 1,
                Status::Skipped => {
                    self.summary.skipped += 1;
                    if self.batch.skipped == Skipped::Omit {
                        continue;
                    }
                }
                Status::Failed => self.summary.failed += 1,
            }
            self.write(&report, out);
        }
    }

    fn write(&self, report: &RunReport, out: &mut Vec<u8>) {
        match self.batch.output {
            Output::Json => write_report_line(out, report),
            Output::Text => out.extend_from_slice(report.to_text().as_bytes()),
        }
    }

    fn error_record(&self, number: u64, message: &str, out: &mut Vec<u8>) {
        match self.batch.output {
            Output::Json => {
                let record = serde_json::json!({"line": number, "error": message});
                let _ = serde_json::to_writer(&mut *out, &record);
                out.push(b'\n');
            }
            Output::Text => {
                out.extend_from_slice(format!("line {number}: error: {message}\n").as_bytes());
            }
        }
    }
}

/// The report `vm::run` gives a workflow on an event trigger whose `when` is false
/// at once: skipped, nothing done. (The event's type is the workflow's trigger.)
fn skipped_report(p: &Program, event: Option<&str>) -> RunReport {
    RunReport {
        workflow: p.name.clone(),
        event: event.map(str::to_string),
        event_type: p.trigger.clone(),
        trigger: p.trigger_kind(),
        slot: None,
        status: Status::Skipped,
        code: None,
        error: None,
        wakes_at: None,
        actions: Vec::new(),
        loops: Vec::new(),
        waits: Vec::new(),
    }
}

/// A report as one line of JSON: its serialization, as `report.to_json()` prints.
fn write_report_line(out: &mut Vec<u8>, report: &RunReport) {
    // Writing JSON into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, report);
    out.push(b'\n');
}

/// The number of worker threads worth using here.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
}
