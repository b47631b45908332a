//! Which bindings a server's runs act through, made fresh for each run by a factory.
//!
//! By default the recording bindings: nothing leaves the machine. What a run asks them
//! to carry out is their only effect: a row in the run log's `performed` table, keyed
//! by the action's idempotency key as Stripe keys requests. That row is written in the
//! same transaction as the journal entry of the action (see [`RunBindings`]), so an
//! action of the recording bindings is carried out exactly once, crash or not.
//!
//! `--live` plugs in the live Stripe and e-mail bindings ([`live_factory`]). Their
//! effects are remote: an action whose answer was not yet journaled when the process
//! died is sent again after the restart, with the same idempotency key, and Stripe
//! carries it out once.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value as Json;

use flow_bindings::{Action, ActionContext, ActionError, Bindings, Recording};
#[cfg(feature = "live")]
use flow_diagnostics::Diagnostic;

/// An effect to record with the journal entry of the action that made it, in one
/// transaction: a row of the run log's `performed` table.
pub use super::runlog::PerformedRow as Effect;

/// The bindings of one run, as the journal sees them.
pub trait RunBindings: Bindings {
    /// The effect of the last action, when it is a record the run log keeps (the
    /// recording bindings); `None` for bindings whose effects are elsewhere.
    fn take_effect(&mut self) -> Option<Effect> {
        None
    }
}

/// Bindings whose effects are outside the run log (the live Stripe and e-mail
/// bindings): the journal records their answers only.
pub struct Remote(pub Box<dyn Bindings>);

impl Bindings for Remote {
    fn perform(&mut self, action: &Action, cx: &ActionContext<'_>) -> Result<Json, ActionError> {
        self.0.perform(action, cx)
    }
}

impl RunBindings for Remote {}

/// Makes the bindings for one run. Shared by the worker threads.
pub trait BindingsFactory: Send + Sync {
    fn make(&self) -> Result<Box<dyn RunBindings>, String>;
    /// `recording` or `live`, for logs.
    fn mode(&self) -> &'static str;
    /// The same bindings, whose Stripe requests take their turn at `gate` (shared by
    /// the servers of a run log) rather than at one of this process. The recording
    /// bindings send nothing: they are unchanged.
    fn share_rate_limit(
        self: Box<Self>,
        gate: std::sync::Arc<dyn flow_bindings::rate::RateGate>,
    ) -> Box<dyn BindingsFactory>;
    /// Stripe requests a second, when the bindings send any.
    fn rate_limit(&self) -> Option<u32> {
        None
    }
}

/// The idempotency key of an action: the same for the same event, workflow and step,
/// so a run carried out again after a crash or a retry repeats its keys. It is the
/// key the live Stripe binding sends (`Idempotency-Key`), so the journal and Stripe
/// name an action alike.
pub fn idempotency_key(cx: &ActionContext<'_>) -> String {
    flow_vm::idempotency_key(cx).unwrap_or_else(|| format!("flow:-:{}:{}", cx.workflow, cx.step))
}

/// The recording bindings of a server.
pub struct RecordingFactory {
    /// Stripe objects that `retrieve` answers with (read for each run, so objects
    /// added to the folder are seen without a restart).
    objects: Option<PathBuf>,
    /// Time each action takes, to simulate a slow service (tests, load tests).
    latency: Duration,
}

impl RecordingFactory {
    pub fn new(objects: Option<PathBuf>, latency: Duration) -> RecordingFactory {
        RecordingFactory { objects, latency }
    }
}

impl BindingsFactory for RecordingFactory {
    fn make(&self) -> Result<Box<dyn RunBindings>, String> {
        let mut recording = Recording::new();
        if let Some(dir) = &self.objects {
            recording.load_dir(dir)?;
        }
        Ok(Box::new(LoggedRecording {
            recording,
            latency: self.latency,
            effect: None,
        }))
    }

    fn mode(&self) -> &'static str {
        "recording"
    }

    fn share_rate_limit(
        self: Box<Self>,
        _gate: std::sync::Arc<dyn flow_bindings::rate::RateGate>,
    ) -> Box<dyn BindingsFactory> {
        self
    }
}

struct LoggedRecording {
    recording: Recording,
    latency: Duration,
    effect: Option<Effect>,
}

impl Bindings for LoggedRecording {
    fn perform(&mut self, action: &Action, cx: &ActionContext<'_>) -> Result<Json, ActionError> {
        if !self.latency.is_zero() {
            std::thread::sleep(self.latency);
        }
        let read = match action {
            Action::Retrieve { .. } => true,
            Action::Stripe(call) => call.verb_and_path().0 == "GET",
            _ => false,
        };
        if read {
            // Reading changes nothing: answered, not recorded.
            return self.recording.perform(action, cx);
        }
        // What the recording bindings answer (a created object, an updated one), so
        // that the steps after it run; the effect is recorded with the journal entry.
        let answer = self.recording.perform(action, cx)?;
        self.effect = Some(Effect {
            key: idempotency_key(cx),
            event_id: cx.event_id.map(str::to_string),
            workflow: cx.workflow.to_string(),
            step: cx.step,
            action: action.to_json(),
        });
        Ok(answer)
    }
}

impl RunBindings for LoggedRecording {
    fn take_effect(&mut self) -> Option<Effect> {
        self.effect.take()
    }
}

/// The live Stripe, e-mail, Slack and `http` bindings, configured by `[stripe]`,
/// `[email]`, `[slack]` and `[http]` in `flow.toml` (at `settings`, else beside the flows or in the working directory), the
/// key from `STRIPE_API_KEY`. Everything they need is checked here, before the server
/// accepts an event. Each run gets its own instance, wrapped in [`Remote`]; every
/// action reaches it with the run's `ActionContext`, from which it derives the same
/// `Idempotency-Key` as [`idempotency_key`].
#[cfg(feature = "live")]
pub fn live_factory(
    settings: &flow_project::settings::Settings,
) -> Result<Box<dyn BindingsFactory>, Diagnostic> {
    use flow_bindings::live::{LiveSetup, Needs};
    // The server runs whatever workflows are loaded later: Stripe is always set up;
    // e-mail when it is configured (otherwise e-mail actions fail with what to set).
    let needs = Needs {
        stripe: true,
        mail: false,
    };
    let setup = LiveSetup::new(&settings.stripe, &settings.email, None, needs)?
        .outbound(&settings.slack, &settings.http);
    Ok(Box::new(LiveFactory(setup)))
}

#[cfg(feature = "live")]
struct LiveFactory(flow_bindings::live::LiveSetup);

#[cfg(feature = "live")]
impl BindingsFactory for LiveFactory {
    fn make(&self) -> Result<Box<dyn RunBindings>, String> {
        let live = self.0.connect().map_err(|d| d.message)?;
        Ok(Box::new(Remote(Box::new(live))))
    }

    fn mode(&self) -> &'static str {
        "live"
    }

    fn share_rate_limit(
        self: Box<Self>,
        gate: std::sync::Arc<dyn flow_bindings::rate::RateGate>,
    ) -> Box<dyn BindingsFactory> {
        Box::new(LiveFactory(self.0.rate_gate(gate)))
    }

    fn rate_limit(&self) -> Option<u32> {
        Some(self.0.rate_limit())
    }
}
