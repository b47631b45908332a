//! How the live bindings reach Stripe and send e-mail (the `[stripe]` and `[email]`
//! sections of `flow.toml`, read by `flow-project`). The API key is not a setting: it is read from
//! `STRIPE_API_KEY` only.

use std::path::PathBuf;
use std::time::Duration;

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
    /// Requests a second, at most (`None`: Stripe's limit for the key's mode).
    pub rate_limit: Option<u32>,
}

impl Default for StripeSettings {
    fn default() -> StripeSettings {
        StripeSettings {
            api_base: DEFAULT_API_BASE.to_string(),
            api_version: DEFAULT_API_VERSION.to_string(),
            timeout: Duration::from_secs(30),
            max_network_retries: 3,
            max_retry_time: Duration::from_secs(60),
            rate_limit: None,
        }
    }
}

/// Where Slack's Web API answers.
pub const DEFAULT_SLACK_API_BASE: &str = "https://slack.com/api";
/// The environment variable the Slack bot token is read from (`xoxb-…`).
pub const SLACK_TOKEN_VAR: &str = "SLACK_BOT_TOKEN";
/// The environment variable the secret that signs `http` requests is read from.
pub const HTTP_SECRET_VAR: &str = "FLOW_HTTP_SECRET";

/// How a live run reaches Slack (`[slack]`). The token is not a setting: it is read
/// from `SLACK_BOT_TOKEN` only.
#[derive(Clone, Debug, PartialEq)]
pub struct SlackSettings {
    /// `https://slack.com/api`; `http://` only for a server on this machine.
    pub api_base: String,
}

impl Default for SlackSettings {
    fn default() -> SlackSettings {
        SlackSettings {
            api_base: DEFAULT_SLACK_API_BASE.to_string(),
        }
    }
}

/// How a live run sends `http` requests and custom actions, and Slack messages
/// (`[http]`). The signing secret is read from `FLOW_HTTP_SECRET` only.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpSettings {
    /// Hosts and addresses that may be reached although they are not public
    /// (loopback, private, link-local), also over plain `http://`: `"127.0.0.1"`,
    /// `"::1"`, `"hooks.internal"`.
    pub allow: Vec<String>,
    /// The longest one request may take.
    pub timeout: Duration,
    /// The largest answer read, in bytes; a larger one fails the action.
    pub max_answer_bytes: u64,
    /// How many times a failed request is tried again.
    pub max_network_retries: u32,
    /// The longest a request may take with all its retries.
    pub max_retry_time: Duration,
}

impl Default for HttpSettings {
    fn default() -> HttpSettings {
        HttpSettings {
            allow: Vec::new(),
            timeout: Duration::from_secs(10),
            max_answer_bytes: 1 << 20,
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
    use super::*;

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
