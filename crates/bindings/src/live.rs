//! The bindings of `flow run --live` and `flow serve --live`: Stripe actions
//! through Stripe's API, e-mail through SMTP or an outbox folder, Slack messages and
//! `http` requests through [`Outbound`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value as Json;

use flow_syntax::Diagnostic;

use crate::email::Mailer;
use crate::outbound::Outbound;
use crate::rate::{LocalGate, RateGate};
use crate::settings::{EmailSettings, HttpSettings, SlackSettings, StripeSettings};
use crate::stripe::{ApiKey, Stripe, StripeConfig, API_KEY_VAR};
use crate::{Action, ActionContext, ActionError, Bindings};

/// Routes each action to the service that carries it out. A part left out (no key,
/// no mail settings) fails the actions that need it, with what to set.
#[derive(Default)]
pub struct Live {
    pub stripe: Option<Stripe>,
    pub mail: Option<Mailer>,
    /// Slack and `http` (custom actions too).
    pub outbound: Option<Outbound>,
}

impl Bindings for Live {
    fn perform(&mut self, action: &Action, cx: &ActionContext<'_>) -> Result<Json, ActionError> {
        match action {
            Action::Email(_) => match &mut self.mail {
                Some(m) => m.perform(action, cx),
                None => Err(ActionError::new(
                    "email: no way to send it: set `smtp` or `outbox` under [email] in flow.toml, or give --outbox DIR",
                )),
            },
            Action::Slack { .. } | Action::Http { .. } => match &mut self.outbound {
                Some(o) => o.perform(action, cx),
                None => Err(ActionError::new(format!(
                    "{}: these bindings were made without Slack and http settings (this is a bug)",
                    action.kind()
                ))),
            },
            _ => match &mut self.stripe {
                Some(s) => s.perform(action, cx),
                None => Err(ActionError::new(format!(
                    "{}: no Stripe API key: set {}",
                    action.kind(),
                    API_KEY_VAR
                ))),
            },
        }
    }
}

/// What a set of workflows will ask of the live bindings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    /// Stripe's API: the key must be there.
    pub stripe: bool,
    /// E-mail: a mail server or an outbox must be set. Without it, mail settings are
    /// still used when they are there; e-mail actions fail with what to set.
    pub mail: bool,
}

/// How e-mail leaves: an outbox folder, or a mail server.
/// (No `Debug`: it holds the SMTP password.)
#[derive(Clone)]
enum MailSetup {
    Outbox {
        dir: PathBuf,
        from: String,
    },
    Smtp {
        url: String,
        from: String,
        credentials: Option<(String, String)>,
    },
}

/// The live bindings' configuration, checked before anything runs so that a run
/// never stops half-way for a missing setting. `flow run --live` and
/// `flow serve --live` both build their bindings through [`LiveSetup::new`]; each
/// run gets a fresh [`Live`] from [`LiveSetup::connect`].
#[derive(Clone)]
pub struct LiveSetup {
    stripe: Option<(StripeConfig, ApiKey)>,
    /// Where Stripe requests wait for their turn, and how many a second.
    gate: (Arc<dyn RateGate>, u32),
    mail: Option<MailSetup>,
    slack: SlackSettings,
    http: HttpSettings,
    verbose: bool,
}

/// The sender used for an outbox when `[email] from` is not set.
const OUTBOX_FROM: &str = "flow@localhost";

/// The longest an SMTP exchange may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

impl LiveSetup {
    /// Check the settings against what is needed. The key comes from
    /// `STRIPE_API_KEY`, SMTP credentials from `SMTP_USERNAME` and `SMTP_PASSWORD`;
    /// `outbox` (`--outbox DIR`) wins over `[email]`.
    pub fn new(
        stripe: &StripeSettings,
        email: &EmailSettings,
        outbox: Option<&Path>,
        needs: Needs,
    ) -> Result<LiveSetup, Diagnostic> {
        let mut per_second = stripe.rate_limit.unwrap_or(crate::rate::TEST_PER_SECOND);
        let stripe = if needs.stripe {
            let key = ApiKey::from_env().map_err(|e| {
                Diagnostic::error("E0961", format!("cannot run live: {e}")).with_help(format!(
                    "export {API_KEY_VAR} with a secret key from the Stripe Dashboard (a test-mode key, sk_test_…, to try a flow out); the key is read from the environment only"
                ))
            })?;
            per_second = stripe.rate_limit.unwrap_or(key.default_rate_limit());
            Some((StripeConfig::from(stripe), key))
        } else {
            None
        };
        let mail = if let Some(dir) = outbox.or(email.outbox.as_deref()) {
            Some(MailSetup::Outbox {
                dir: dir.to_path_buf(),
                from: email.from.clone().unwrap_or_else(|| OUTBOX_FROM.into()),
            })
        } else if let Some(url) = &email.smtp {
            let Some(from) = &email.from else {
                return Err(
                    Diagnostic::error("E0962", "cannot send e-mail: no sender address")
                        .with_help("set `from = \"flow@example.com\"` under [email] in flow.toml"),
                );
            };
            let credentials = match (
                std::env::var("SMTP_USERNAME"),
                std::env::var("SMTP_PASSWORD"),
            ) {
                (Ok(u), Ok(p)) if !u.is_empty() => Some((u, p)),
                _ => None,
            };
            Some(MailSetup::Smtp {
                url: url.clone(),
                from: from.clone(),
                credentials,
            })
        } else if needs.mail {
            return Err(Diagnostic::error(
                "E0962",
                "cannot send e-mail: no mail server and no outbox",
            )
            .with_help(
                "set `smtp = \"smtp://host:port\"` (and `from`) under [email] in flow.toml, or give --outbox DIR to write the e-mails as .eml files",
            ));
        } else {
            None
        };
        Ok(LiveSetup {
            stripe,
            gate: (Arc::new(LocalGate::default()), per_second),
            mail,
            slack: SlackSettings::default(),
            http: HttpSettings::default(),
            verbose: false,
        })
    }

    /// How Slack is reached (`[slack]`) and `http` requests are sent (`[http]`); the
    /// defaults otherwise. The token and the signing secret are read from
    /// `SLACK_BOT_TOKEN` and `FLOW_HTTP_SECRET` for each run; an action that needs a
    /// missing one fails with what to set.
    pub fn outbound(self, slack: &SlackSettings, http: &HttpSettings) -> LiveSetup {
        LiveSetup {
            slack: slack.clone(),
            http: http.clone(),
            ..self
        }
    }

    /// Stripe requests take their turn at `gate` (shared by several servers) rather
    /// than at a gate of this process.
    pub fn rate_gate(self, gate: Arc<dyn RateGate>) -> LiveSetup {
        LiveSetup {
            gate: (gate, self.gate.1),
            ..self
        }
    }

    /// Requests a second to Stripe: `rate_limit` under `[stripe]`, else Stripe's
    /// limit for the key's mode.
    pub fn rate_limit(&self) -> u32 {
        self.gate.1
    }

    /// Print each request to Stripe and each e-mail to stderr.
    pub fn verbose(self, on: bool) -> LiveSetup {
        LiveSetup {
            verbose: on,
            ..self
        }
    }

    /// Whether the key acts on real payments (a live-mode key).
    pub fn is_live_mode(&self) -> bool {
        self.stripe.as_ref().is_some_and(|(_, k)| k.is_live_mode())
    }

    /// Fresh bindings for one run (E0963 when the mail setup cannot be made).
    pub fn connect(&self) -> Result<Live, Diagnostic> {
        let stripe = self.stripe.as_ref().map(|(config, key)| {
            Stripe::new(config.clone(), key.clone())
                .verbose(self.verbose)
                .gate(self.gate.0.clone(), self.gate.1)
        });
        let mail = match &self.mail {
            None => None,
            Some(MailSetup::Outbox { dir, from }) => Some(Mailer::outbox(dir, from)),
            Some(MailSetup::Smtp {
                url,
                from,
                credentials,
            }) => Some(Mailer::smtp(url, from, credentials.clone(), SMTP_TIMEOUT)),
        }
        .transpose()
        .map_err(|e| {
            Diagnostic::error("E0963", format!("cannot send e-mail: {e}"))
                .with_help("see [email] in flow.toml")
        })?
        .map(|m| m.verbose(self.verbose));
        let outbound = Some(Outbound::from_env(&self.slack, &self.http).verbose(self.verbose));
        Ok(Live {
            stripe,
            mail,
            outbound,
        })
    }
}
