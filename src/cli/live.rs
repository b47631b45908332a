//! `flow run --live`: set up the bindings that carry actions out, checking first
//! that everything they will need is there, so a run does not stop half-way for a
//! missing setting.

use std::path::PathBuf;
use std::time::Duration;

use crate::bindings::email::Mailer;
use crate::bindings::live::Live;
use crate::bindings::stripe::{ApiKey, Stripe, StripeConfig, API_KEY_VAR};
use crate::compile::{Op, Program};
use crate::diagnostics::Diagnostic;
use crate::settings::Settings;
use crate::vm::Event;

pub struct LiveOptions {
    /// `--outbox DIR`: write e-mails here instead of sending them.
    pub outbox: Option<PathBuf>,
    /// `--verbose`: log each request and e-mail to stderr.
    pub verbose: bool,
}

/// The sender used for an outbox when `[email] from` is not set.
const OUTBOX_FROM: &str = "flow@localhost";

pub fn bindings(
    settings: &Settings,
    programs: &[&Program],
    event: &Event,
    opts: &LiveOptions,
) -> Result<Live, Diagnostic> {
    let uses = |f: fn(&Op) -> bool| programs.iter().any(|p| p.code.iter().any(f));
    let needs_stripe = uses(|op| matches!(op, Op::Retrieve(..) | Op::Update(_) | Op::Refund(_)));
    let needs_mail = uses(|op| matches!(op, Op::Email));
    let mut live = Live::default();
    if programs.is_empty() {
        return Ok(live);
    }
    if needs_stripe {
        if event.id().is_none_or(str::is_empty) {
            return Err(Diagnostic::error(
                "E0960",
                "a live run needs an event with an `id`",
            )
            .with_help(
                "every change sent to Stripe carries an idempotency key made from the event's id, so that running the same event again never does anything twice; give the event as Stripe sent it (not a bare object with --type)",
            ));
        }
        let key = ApiKey::from_env().map_err(|e| {
            Diagnostic::error("E0961", format!("cannot run live: {e}")).with_help(format!(
                "export {API_KEY_VAR} with a secret key from the Stripe Dashboard (a test-mode key, sk_test_…, to try a flow out); the key is read from the environment only"
            ))
        })?;
        if key.is_live_mode() {
            eprintln!("note: {API_KEY_VAR} is a live-mode key: this run acts on real payments");
        }
        let config = StripeConfig::from(&settings.stripe);
        live.stripe = Some(Stripe::new(config, key).verbose(opts.verbose));
    }
    if needs_mail {
        let email = &settings.email;
        let mailer = if let Some(dir) = opts.outbox.as_ref().or(email.outbox.as_ref()) {
            let from = email.from.as_deref().unwrap_or(OUTBOX_FROM);
            Mailer::outbox(dir, from)
        } else if let Some(url) = &email.smtp {
            let Some(from) = &email.from else {
                return Err(Diagnostic::error(
                    "E0962",
                    "cannot send e-mail: no sender address",
                )
                .with_help("set `from = \"flow@example.com\"` under [email] in flow.toml"));
            };
            let credentials = match (
                std::env::var("SMTP_USERNAME"),
                std::env::var("SMTP_PASSWORD"),
            ) {
                (Ok(u), Ok(p)) if !u.is_empty() => Some((u, p)),
                _ => None,
            };
            Mailer::smtp(url, from, credentials, Duration::from_secs(30))
        } else {
            return Err(Diagnostic::error(
                "E0962",
                "cannot send e-mail: no mail server and no outbox",
            )
            .with_help(
                "set `smtp = \"smtp://host:port\"` (and `from`) under [email] in flow.toml, or give --outbox DIR to write the e-mails as .eml files",
            ));
        }
        .map_err(|e| {
            Diagnostic::error("E0963", format!("cannot send e-mail: {e}"))
                .with_help("see [email] in flow.toml")
        })?;
        live.mail = Some(mailer.verbose(opts.verbose));
    }
    Ok(live)
}
