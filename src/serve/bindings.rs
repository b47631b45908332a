//! Which bindings a server's runs act through, made fresh for each run by a factory.
//!
//! By default the recording bindings: nothing leaves the machine; every action a run
//! asks for is recorded in the run log's `performed` table, keyed by its idempotency
//! key the way Stripe keys requests (a second request with a key already seen is not
//! carried out again). `--live` plugs in the live Stripe and e-mail bindings.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value as Json;

use super::runlog::{self, Performed, Writer};
use super::time;
use crate::bindings::{Action, ActionContext, ActionError, Bindings, Recording};
use crate::diagnostics::Diagnostic;

/// Makes the bindings for one run. Shared by the worker threads.
pub trait BindingsFactory: Send + Sync {
    fn make(&self) -> Result<Box<dyn Bindings>, String>;
    /// `recording` or `live`, for logs.
    fn mode(&self) -> &'static str;
}

/// The idempotency key of an action: the same for the same event, workflow and step,
/// so a run carried out again after a crash or a retry repeats its keys.
pub fn idempotency_key(cx: &ActionContext<'_>) -> String {
    let key = format!(
        "flow:{}:{}:{}",
        cx.event_id.unwrap_or("-"),
        cx.workflow,
        cx.step
    );
    if key.len() <= 255 {
        return key;
    }
    // Stripe takes keys of up to 255 characters.
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(key.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("flow:{hex}")
}

/// The recording bindings of a server.
pub struct RecordingFactory {
    writer: Writer,
    /// Stripe objects that `retrieve` answers with (read for each run, so objects
    /// added to the folder are seen without a restart).
    objects: Option<PathBuf>,
    /// Time each action takes, to simulate a slow service (tests, load tests).
    latency: Duration,
}

impl RecordingFactory {
    pub fn new(writer: Writer, objects: Option<PathBuf>, latency: Duration) -> RecordingFactory {
        RecordingFactory {
            writer,
            objects,
            latency,
        }
    }
}

impl BindingsFactory for RecordingFactory {
    fn make(&self) -> Result<Box<dyn Bindings>, String> {
        let mut recording = Recording::new();
        if let Some(dir) = &self.objects {
            recording.load_dir(dir)?;
        }
        Ok(Box::new(LoggedRecording {
            recording,
            writer: self.writer.clone(),
            latency: self.latency,
        }))
    }

    fn mode(&self) -> &'static str {
        "recording"
    }
}

struct LoggedRecording {
    recording: Recording,
    writer: Writer,
    latency: Duration,
}

impl Bindings for LoggedRecording {
    fn perform(&mut self, action: &Action, cx: &ActionContext<'_>) -> Result<Json, ActionError> {
        if !self.latency.is_zero() {
            std::thread::sleep(self.latency);
        }
        if matches!(action, Action::Retrieve { .. }) {
            // Reading changes nothing: answered, not recorded.
            return self.recording.perform(action, cx);
        }
        let key = idempotency_key(cx);
        let event_id = cx.event_id.map(str::to_string);
        let workflow = cx.workflow.to_string();
        let step = cx.step;
        let json = action.to_json();
        let k = key.clone();
        let outcome = self
            .writer
            .write(move |conn| {
                runlog::record_performed(
                    conn,
                    &k,
                    event_id.as_deref(),
                    &workflow,
                    step,
                    &json,
                    time::now_ms(),
                )
            })
            .map_err(|e| ActionError::new(format!("cannot record the action: {e}")))?;
        match outcome {
            Performed::New | Performed::Repeat => Ok(Json::Null),
            Performed::Conflict(first) => Err(ActionError::new(format!(
                "idempotency key `{key}` was first used for another action ({first}); not carried out"
            ))),
        }
    }
}

/// The live Stripe and e-mail bindings.
///
/// INTEGRATION POINT: this is the one place where `flow serve --live` (and
/// `flow runs retry --live`) get their bindings. Once the live bindings
/// (`bindings::stripe`, configured by `[stripe]` and `[email]` in `flow.toml`) are
/// part of this build, return a factory whose `make` builds them here; each run gets
/// its own instance, and every action reaches it with the run's `ActionContext`
/// (event id, workflow, step), from which it derives the `Idempotency-Key` header.
pub fn live_factory(
    _settings: Option<&std::path::Path>,
) -> Result<Box<dyn BindingsFactory>, Diagnostic> {
    Err(
        Diagnostic::error("E0926", "`--live` is not available in this build of flow")
            .with_help("the live Stripe and e-mail bindings are not included yet; without `--live`, runs use the recording bindings (nothing leaves this machine)"),
    )
}
