//! The `[stripe]` and `[email]` sections of `flow.toml`: how `flow run --live`
//! reaches Stripe and sends e-mail. The API key is not a setting: it is read from
//! `STRIPE_API_KEY` only.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// Where Stripe's API answers.
pub const DEFAULT_API_BASE: &str = "https://api.stripe.com";
/// The `Stripe-Version` sent with every request: the API version the schemas under
/// `stdlib/schemas` describe.
pub const DEFAULT_API_VERSION: &str = "2026-07-29.dahlia";

#[derive(Clone, Debug, PartialEq)]
pub struct StripeSettings {
    /// `https://api.stripe.com`; `http://` only for a server on this machine.
    pub api_base: String,
    pub api_version: String,
    /// The longest one request may take.
    pub timeout: Duration,
    /// How many times a failed request is tried again.
    pub max_network_retries: u32,
    /// The longest a request may take with all its retries and the waits between them.
    pub max_retry_time: Duration,
}

impl Default for StripeSettings {
    fn default() -> StripeSettings {
        StripeSettings {
            api_base: DEFAULT_API_BASE.to_string(),
            api_version: DEFAULT_API_VERSION.to_string(),
            timeout: Duration::from_secs(30),
            max_network_retries: 3,
            max_retry_time: Duration::from_secs(60),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct EmailSettings {
    /// The sender, `flow@example.com` or `Flow <flow@example.com>`.
    pub from: Option<String>,
    /// `smtp://host:port`.
    pub smtp: Option<String>,
    /// A folder to write each e-mail to as an `.eml` file instead of sending it.
    pub outbox: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct StripeSection {
    api_base: Option<String>,
    api_version: Option<String>,
    timeout: Option<f64>,
    max_network_retries: Option<i64>,
    max_retry_time: Option<f64>,
    /// Accepted only to refuse it with a clear message (its value is never shown).
    api_key: Option<toml::Value>,
    secret_key: Option<toml::Value>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct EmailSection {
    from: Option<String>,
    smtp: Option<String>,
    outbox: Option<PathBuf>,
}

impl StripeSection {
    pub(super) fn into_settings(self) -> Result<StripeSettings, String> {
        if self.api_key.is_some() || self.secret_key.is_some() {
            return Err(
                "[stripe]: the API key is never read from flow.toml (a file that gets committed); remove it and set STRIPE_API_KEY in the environment"
                    .into(),
            );
        }
        let mut s = StripeSettings::default();
        if let Some(base) = self.api_base {
            s.api_base = check_api_base(&base).map_err(|e| format!("[stripe] api_base: {e}"))?;
        }
        if let Some(v) = self.api_version {
            let ok = !v.is_empty()
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_');
            if !ok {
                return Err(format!(
                    "[stripe] api_version: `{v}` is not an API version such as \"{DEFAULT_API_VERSION}\""
                ));
            }
            s.api_version = v;
        }
        if let Some(t) = self.timeout {
            s.timeout = seconds(t).map_err(|e| format!("[stripe] timeout: {e}"))?;
        }
        if let Some(t) = self.max_retry_time {
            s.max_retry_time = seconds(t).map_err(|e| format!("[stripe] max_retry_time: {e}"))?;
        }
        if let Some(n) = self.max_network_retries {
            s.max_network_retries =
                u32::try_from(n).ok().filter(|n| *n <= 20).ok_or_else(|| {
                    format!("[stripe] max_network_retries: {n} is not a count from 0 to 20")
                })?;
        }
        Ok(s)
    }
}

impl EmailSection {
    pub(super) fn into_settings(self) -> Result<EmailSettings, String> {
        if let Some(from) = &self.from {
            if !from.contains('@') {
                return Err(format!(
                    "[email] from: `{from}` is not an e-mail address such as \"flow@example.com\""
                ));
            }
        }
        if let Some(smtp) = &self.smtp {
            parse_smtp_url(smtp).map_err(|e| format!("[email] smtp: {e}"))?;
        }
        Ok(EmailSettings {
            from: self.from,
            smtp: self.smtp,
            outbox: self.outbox,
        })
    }
}

fn seconds(t: f64) -> Result<Duration, String> {
    if !(t > 0.0 && t <= 3600.0) {
        return Err(format!("{t} is not a number of seconds from 0 to 3600"));
    }
    Duration::try_from_secs_f64(t).map_err(|e| e.to_string())
}

/// The host of an `http(s)://host[:port][/path]` URL, and whether it is https.
fn split_url(url: &str) -> Option<(bool, &str)> {
    let (https, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else {
        (false, url.strip_prefix("http://")?)
    };
    let authority = rest.split('/').next().unwrap_or("");
    if authority.contains('@') {
        return None;
    }
    let host = if let Some(r) = authority.strip_prefix('[') {
        r.split(']').next().unwrap_or("")
    } else {
        authority.split(':').next().unwrap_or("")
    };
    (!host.is_empty()).then_some((https, host))
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|a| a.is_loopback())
}

/// `https://…`, or `http://…` on this machine (the key must not cross a network in
/// the clear). Returned without a trailing `/`.
pub fn check_api_base(base: &str) -> Result<String, String> {
    let Some((https, host)) = split_url(base) else {
        return Err(format!(
            "`{base}` is not a URL such as \"{DEFAULT_API_BASE}\" (no user or password in it)"
        ));
    };
    if !https && !is_loopback(host) {
        return Err(format!(
            "`{base}` is plain http to another machine: the API key would cross the network in the clear; use https"
        ));
    }
    Ok(base.trim_end_matches('/').to_string())
}

/// `smtp://host[:port]` → (host, port); port 25 when not given.
pub fn parse_smtp_url(url: &str) -> Result<(String, u16), String> {
    let usage = "give a URL such as \"smtp://localhost:25\" (a user and password come from SMTP_USERNAME and SMTP_PASSWORD)";
    let Some(rest) = url.strip_prefix("smtp://") else {
        return Err(format!("`{url}` is not an smtp:// URL: {usage}"));
    };
    let authority = rest.trim_end_matches('/');
    if authority.is_empty() || authority.contains('@') || authority.contains('/') {
        return Err(format!("`{url}`: {usage}"));
    }
    let (host, port) = if let Some(r) = authority.strip_prefix('[') {
        let (h, after) = r
            .split_once(']')
            .ok_or_else(|| format!("`{url}`: {usage}"))?;
        (h, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        None => 25,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| format!("`{url}`: `{p}` is not a port"))?,
    };
    if host.is_empty() {
        return Err(format!("`{url}`: {usage}"));
    }
    Ok((host.to_string(), port))
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;

    #[test]
    fn defaults() {
        let s = parse("").unwrap();
        assert_eq!(s.stripe.api_base, "https://api.stripe.com");
        assert_eq!(s.stripe.api_version, DEFAULT_API_VERSION);
        assert_eq!(s.email, EmailSettings::default());
    }

    #[test]
    fn reads_stripe_and_email() {
        let s = parse(
            "[stripe]\napi_base = \"http://127.0.0.1:8420/\"\napi_version = \"2024-06-20\"\ntimeout = 0.5\nmax_network_retries = 1\nmax_retry_time = 2\n\
             [email]\nfrom = \"flow@example.com\"\nsmtp = \"smtp://127.0.0.1:2525\"\noutbox = \"out\"\n",
        )
        .unwrap();
        assert_eq!(s.stripe.api_base, "http://127.0.0.1:8420");
        assert_eq!(s.stripe.api_version, "2024-06-20");
        assert_eq!(s.stripe.timeout, Duration::from_millis(500));
        assert_eq!(s.stripe.max_network_retries, 1);
        assert_eq!(s.stripe.max_retry_time, Duration::from_secs(2));
        assert_eq!(s.email.from.as_deref(), Some("flow@example.com"));
        assert_eq!(s.email.smtp.as_deref(), Some("smtp://127.0.0.1:2525"));
        assert_eq!(s.email.outbox, Some(PathBuf::from("out")));
    }

    #[test]
    fn refuses_a_key_in_the_file_without_showing_it() {
        let e = parse("[stripe]\napi_key = \"sk_test_secret123\"\n").unwrap_err();
        assert!(e.contains("STRIPE_API_KEY"), "{e}");
        assert!(!e.contains("secret123"), "{e}");
    }

    #[test]
    fn refuses_plain_http_to_another_machine() {
        assert!(parse("[stripe]\napi_base = \"http://api.stripe.com\"\n").is_err());
        assert!(parse("[stripe]\napi_base = \"http://localhost:12111\"\n").is_ok());
        assert!(parse("[stripe]\napi_base = \"http://[::1]:12111\"\n").is_ok());
        assert!(parse("[stripe]\napi_base = \"https://u:p@api.stripe.com\"\n").is_err());
        assert!(parse("[stripe]\napi_base = \"api.stripe.com\"\n").is_err());
    }

    #[test]
    fn refuses_bad_values() {
        assert!(parse("[stripe]\ntimeout = 0\n").is_err());
        assert!(parse("[stripe]\nmax_network_retries = -1\n").is_err());
        assert!(parse("[stripe]\napi_version = \"2024 06\"\n").is_err());
        assert!(parse("[stripe]\napi_bass = \"x\"\n").is_err());
        assert!(parse("[email]\nfrom = \"nobody\"\n").is_err());
        assert!(parse("[email]\nsmtp = \"localhost:25\"\n").is_err());
        assert!(parse("[email]\nsmtp = \"smtp://user:pw@localhost\"\n").is_err());
    }

    #[test]
    fn smtp_urls() {
        assert_eq!(
            parse_smtp_url("smtp://mail.example.com").unwrap(),
            ("mail.example.com".into(), 25)
        );
        assert_eq!(
            parse_smtp_url("smtp://127.0.0.1:2525/").unwrap(),
            ("127.0.0.1".into(), 2525)
        );
        assert_eq!(
            parse_smtp_url("smtp://[::1]:587").unwrap(),
            ("::1".into(), 587)
        );
        assert!(parse_smtp_url("smtp://host:0").is_err());
    }
}
