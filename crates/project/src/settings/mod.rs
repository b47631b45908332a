//! Settings from `flow.toml`: the business's default currency and dispute fee, and
//! how a live run reaches Stripe and sends e-mail.
//!
//! `flow.toml` is looked for beside the flow file, then in the working directory.
//!
//! ```toml
//! [business]
//! default_currency = "USD"
//! dispute_fee = "15.00 USD"
//!
//! [run]
//! max_actions = 1000                     # the most actions one run carries out
//!
//! [stripe]                               # used by `flow run --live`
//! api_base = "https://api.stripe.com"
//! api_version = "2026-07-29.dahlia"
//! timeout = 30                           # seconds for one request
//! max_network_retries = 3
//! max_retry_time = 60                    # seconds for a request and all its retries
//!
//! [email]
//! from = "flow@example.com"
//! smtp = "smtp://localhost:25"           # STARTTLS when the server offers it
//! outbox = "outbox"                      # or write .eml files here instead
//!
//! [slack]
//! api_base = "https://slack.com/api"
//!
//! [http]                                 # `http`, custom actions (and Slack's limits)
//! allow = ["127.0.0.1"]                  # non-public hosts that may be reached
//! timeout = 10                           # seconds for one request
//! max_answer_bytes = 1048576
//! max_network_retries = 3
//! max_retry_time = 60
//! ```
//!
//! The Stripe API key is never read from this file: only from `STRIPE_API_KEY`;
//! nor are the Slack bot token (`SLACK_BOT_TOKEN`) and the secret that signs `http`
//! requests (`FLOW_HTTP_SECRET`).

pub mod live;

use std::path::{Path, PathBuf};

use rust_decimal::Decimal;
use serde::Deserialize;

pub use flow_bindings::settings::{
    EmailSettings, HttpSettings, SlackSettings, StripeSettings, DEFAULT_API_BASE,
    DEFAULT_API_VERSION,
};
use flow_stdlib::money::{Currency, Money};

#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub default_currency: Currency,
    pub dispute_fee: Money,
    /// The most actions one run carries out (`[run] max_actions`).
    pub max_actions: u32,
    /// How a live run reaches Stripe (`[stripe]`).
    pub stripe: StripeSettings,
    /// How a live run sends e-mail (`[email]`).
    pub email: EmailSettings,
    /// How a live run reaches Slack (`[slack]`).
    pub slack: SlackSettings,
    /// How a live run sends `http` requests (`[http]`).
    pub http: HttpSettings,
    /// `flow serve`'s section (`[serve]`), as written; the server reads it.
    pub serve: ServeSection,
    /// Where the settings came from, if not the defaults.
    pub path: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Settings {
        let usd = Currency::parse("USD").unwrap_or_else(|| unreachable!());
        Settings {
            default_currency: usd,
            dispute_fee: Money::new(1500, usd),
            max_actions: flow_check::DEFAULT_MAX_ACTIONS,
            stripe: StripeSettings::default(),
            email: EmailSettings::default(),
            slack: SlackSettings::default(),
            http: HttpSettings::default(),
            serve: ServeSection::default(),
            path: None,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileFormat {
    #[serde(default)]
    business: Business,
    #[serde(default)]
    run: RunSection,
    #[serde(default)]
    stripe: live::StripeSection,
    #[serde(default)]
    email: live::EmailSection,
    #[serde(default)]
    slack: live::SlackSection,
    #[serde(default)]
    http: live::HttpSection,
    #[serde(default)]
    serve: ServeSection,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Business {
    default_currency: Option<String>,
    dispute_fee: Option<String>,
}

/// `[run]`: limits of one run.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RunSection {
    max_actions: Option<u32>,
}

/// `flow serve`'s `[serve]` section.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeSection {
    /// `127.0.0.1:8787`; `--listen` wins.
    pub listen: Option<String>,
    /// Threads that execute runs.
    pub workers: Option<usize>,
    /// Seconds a signature stays valid; 0: no time check.
    pub tolerance: Option<u64>,
    /// `STRIPE_WEBHOOK_SECRET` wins; better kept out of files.
    pub webhook_secret: Option<String>,
    /// Connections open at once, in total (default 1024).
    pub max_connections: Option<usize>,
    /// Connections open at once from one address (default 128); behind a proxy,
    /// every connection comes from the proxy's address.
    pub max_connections_per_peer: Option<usize>,
    /// How far back the schedule slots missed while the server was stopped are run
    /// once it starts again: a duration (`"24h"`, the default) or `"none"`. Checked
    /// by the server.
    pub schedule_catch_up: Option<String>,
    /// The run log: a SQLite file (default `.flow/runs.db`) or a PostgreSQL database
    /// (`postgres://…`) shared by several servers; `--db` wins. Better given in
    /// `FLOW_DATABASE_URL` when it holds a password.
    pub database_url: Option<String>,
    /// How long a server's hold on a run lasts without being renewed, in a shared run
    /// log (`"30s"`, the default): the runs of a server that stopped are taken over by
    /// the others after it. Checked by the server.
    pub lease: Option<String>,
}

impl Settings {
    /// The settings that change what a program means, for the checker.
    pub fn business(&self) -> flow_check::Business {
        flow_check::Business {
            default_currency: self.default_currency,
            dispute_fee: self.dispute_fee,
            max_actions: self.max_actions,
        }
    }
}

/// The `flow.toml` that applies to a flow file or a folder of them: in that folder
/// (the file's folder), else in the working directory. Every command finds it so.
pub fn find(flow_path: Option<&Path>) -> Option<PathBuf> {
    let beside = flow_path
        .and_then(|f| if f.is_dir() { Some(f) } else { f.parent() })
        .map(|d| {
            if d.as_os_str().is_empty() {
                Path::new(".")
            } else {
                d
            }
        })
        .map(|d| d.join("flow.toml"));
    beside
        .into_iter()
        .chain(std::iter::once(PathBuf::from("flow.toml")))
        .find(|p| p.is_file())
}

/// Load the settings for a flow file (defaults when there is no `flow.toml`).
pub fn load_for(flow_file: Option<&Path>) -> Result<Settings, String> {
    match find(flow_file) {
        Some(p) => load(&p),
        None => Ok(Settings::default()),
    }
}

pub fn load(path: &Path) -> Result<Settings, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut s = parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    // A relative outbox is relative to the flow.toml that names it.
    if let (Some(outbox), Some(dir)) = (&s.email.outbox, path.parent()) {
        if outbox.is_relative() {
            s.email.outbox = Some(dir.join(outbox));
        }
    }
    s.path = Some(path.to_path_buf());
    Ok(s)
}

pub fn parse(text: &str) -> Result<Settings, String> {
    let f: FileFormat = toml::from_str(text).map_err(|e| e.message().to_string())?;
    let mut s = Settings::default();
    if let Some(c) = f.business.default_currency {
        s.default_currency = Currency::parse(&c)
            .filter(|c| c.is_known())
            .ok_or_else(|| format!("default_currency: `{c}` is not a currency Stripe supports"))?;
    }
    if let Some(fee) = f.business.dispute_fee {
        s.dispute_fee =
            parse_money(&fee, s.default_currency).map_err(|e| format!("dispute_fee: {e}"))?;
    }
    if let Some(n) = f.run.max_actions {
        if n == 0 {
            return Err("[run] max_actions must be at least 1".into());
        }
        s.max_actions = n;
    }
    s.stripe = f.stripe.into_settings()?;
    s.email = f.email.into_settings()?;
    s.slack = f.slack.into_settings()?;
    s.http = f.http.into_settings()?;
    for (key, value) in [
        ("workers", f.serve.workers),
        ("max_connections", f.serve.max_connections),
        ("max_connections_per_peer", f.serve.max_connections_per_peer),
    ] {
        if value == Some(0) {
            return Err(format!("[serve] {key} must be at least 1"));
        }
    }
    s.serve = f.serve;
    Ok(s)
}

/// `"15.00 USD"`, or a bare `"15"` in the default currency.
pub fn parse_money(text: &str, default: Currency) -> Result<Money, String> {
    let mut words = text.split_whitespace();
    let amount = words
        .next()
        .ok_or("expected an amount such as \"15.00 USD\"")?;
    let currency = match words.next() {
        Some(c) => Currency::parse(c)
            .filter(|c| c.is_known())
            .ok_or_else(|| format!("`{c}` is not a currency Stripe supports"))?,
        None => default,
    };
    let amount = Decimal::from_str_exact(amount)
        .map_err(|_| format!("`{amount}` is not a number that can be held exactly"))?;
    Money::from_major(amount, currency).map_err(|_| {
        format!(
            "{amount} {currency} is finer than the currency's minor unit ({} decimals)",
            currency.exponent()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let s = parse("").unwrap();
        assert_eq!(s.default_currency.code(), "USD");
        assert_eq!(s.dispute_fee.to_string(), "15.00 USD");
    }

    #[test]
    fn reads_business_settings() {
        let s = parse("[business]\ndefault_currency = \"eur\"\ndispute_fee = \"20\"\n").unwrap();
        assert_eq!(s.default_currency.code(), "EUR");
        assert_eq!(s.dispute_fee.to_string(), "20.00 EUR");
        let s = parse("[business]\ndispute_fee = \"2000 JPY\"\n").unwrap();
        assert_eq!(s.dispute_fee.to_string(), "2000 JPY");
    }

    #[test]
    fn rejects_bad_settings() {
        assert!(parse("[business]\ndefault_currency = \"XXX\"\n").is_err());
        assert!(parse("[business]\ndispute_fee = \"10.5 JPY\"\n").is_err());
        assert!(parse("[busines]\n").is_err());
        // 29 significant digits: the decimal type would round it to 10.
        assert!(parse("[business]\ndispute_fee = \"9.9999999999999999999999999999\"\n").is_err());
    }

    #[test]
    fn reads_the_connection_limits() {
        let s = parse("[serve]\nmax_connections = 50\nmax_connections_per_peer = 5\n").unwrap();
        assert_eq!(s.serve.max_connections, Some(50));
        assert_eq!(s.serve.max_connections_per_peer, Some(5));
        let e = parse("[serve]\nmax_connections_per_peer = 0\n").unwrap_err();
        assert_eq!(e, "[serve] max_connections_per_peer must be at least 1");
    }
}
