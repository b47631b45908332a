//! The `[stripe]`, `[email]`, `[slack]` and `[http]` sections of `flow.toml`, read
//! into the live bindings' settings.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use flow_bindings::settings::{
    check_api_base, parse_smtp_url, EmailSettings, HttpSettings, SlackSettings, StripeSettings,
    DEFAULT_API_VERSION,
};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct StripeSection {
    api_base: Option<String>,
    api_version: Option<String>,
    timeout: Option<f64>,
    max_network_retries: Option<i64>,
    max_retry_time: Option<f64>,
    /// Requests a second to Stripe, shared by the servers of a run log.
    rate_limit: Option<i64>,
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

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct SlackSection {
    api_base: Option<String>,
    /// Accepted only to refuse it with a clear message (its value is never shown).
    token: Option<toml::Value>,
    bot_token: Option<toml::Value>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct HttpSection {
    allow: Option<Vec<String>>,
    timeout: Option<f64>,
    max_answer_bytes: Option<i64>,
    max_network_retries: Option<i64>,
    max_retry_time: Option<f64>,
    /// Accepted only to refuse it with a clear message (its value is never shown).
    secret: Option<toml::Value>,
}

impl SlackSection {
    pub(super) fn into_settings(self) -> Result<SlackSettings, String> {
        if self.token.is_some() || self.bot_token.is_some() {
            return Err(
                "[slack]: the bot token is never read from flow.toml (a file that gets committed); remove it and set SLACK_BOT_TOKEN in the environment"
                    .into(),
            );
        }
        let mut s = SlackSettings::default();
        if let Some(base) = self.api_base {
            s.api_base = check_api_base(&base).map_err(|e| format!("[slack] api_base: {e}"))?;
        }
        Ok(s)
    }
}

impl HttpSection {
    pub(super) fn into_settings(self) -> Result<HttpSettings, String> {
        if self.secret.is_some() {
            return Err(
                "[http]: the signing secret is never read from flow.toml (a file that gets committed); remove it and set FLOW_HTTP_SECRET in the environment"
                    .into(),
            );
        }
        let mut s = HttpSettings::default();
        if let Some(allow) = self.allow {
            for a in &allow {
                let bare = a.trim_start_matches('[').trim_end_matches(']');
                let ok = !bare.is_empty()
                    && (bare.parse::<std::net::IpAddr>().is_ok()
                        || bare
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'));
                if !ok {
                    return Err(format!(
                        "[http] allow: `{a}` is not a host name or an IP address such as \"127.0.0.1\""
                    ));
                }
            }
            s.allow = allow;
        }
        if let Some(t) = self.timeout {
            s.timeout = seconds(t).map_err(|e| format!("[http] timeout: {e}"))?;
        }
        if let Some(t) = self.max_retry_time {
            s.max_retry_time = seconds(t).map_err(|e| format!("[http] max_retry_time: {e}"))?;
        }
        if let Some(n) = self.max_network_retries {
            s.max_network_retries =
                u32::try_from(n).ok().filter(|n| *n <= 20).ok_or_else(|| {
                    format!("[http] max_network_retries: {n} is not a count from 0 to 20")
                })?;
        }
        if let Some(n) = self.max_answer_bytes {
            s.max_answer_bytes = u64::try_from(n)
                .ok()
                .filter(|n| (1..=1 << 30).contains(n))
                .ok_or_else(|| {
                    format!("[http] max_answer_bytes: {n} is not a size from 1 to 1073741824")
                })?;
        }
        Ok(s)
    }
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
        if let Some(n) = self.rate_limit {
            s.rate_limit = Some(
                u32::try_from(n)
                    .ok()
                    .filter(|n| (1..=10_000).contains(n))
                    .ok_or_else(|| {
                        format!("[stripe] rate_limit: {n} is not a number of requests a second from 1 to 10000")
                    })?,
            );
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

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;
    use flow_bindings::settings::DEFAULT_API_VERSION;

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
    fn reads_slack_and_http() {
        let s = parse(
            "[slack]\napi_base = \"http://127.0.0.1:9000/api\"\n[http]\nallow = [\"127.0.0.1\", \"::1\", \"hooks.internal\"]\ntimeout = 2\nmax_answer_bytes = 1000\nmax_network_retries = 1\nmax_retry_time = 5\n",
        )
        .unwrap();
        assert_eq!(s.slack.api_base, "http://127.0.0.1:9000/api");
        assert_eq!(s.http.allow, ["127.0.0.1", "::1", "hooks.internal"]);
        assert_eq!(s.http.timeout, Duration::from_secs(2));
        assert_eq!(s.http.max_answer_bytes, 1000);
        assert_eq!(s.http.max_network_retries, 1);
        assert_eq!(s.http.max_retry_time, Duration::from_secs(5));
        assert_eq!(parse("").unwrap().slack.api_base, "https://slack.com/api");
        assert!(parse("[slack]\napi_base = \"http://slack.com/api\"\n").is_err());
        assert!(parse("[http]\nallow = [\"10.0.0.0/8\"]\n").is_err());
        assert!(parse("[http]\nmax_answer_bytes = 0\n").is_err());
        let e = parse("[slack]\ntoken = \"xoxb-secret\"\n").unwrap_err();
        assert!(
            e.contains("SLACK_BOT_TOKEN") && !e.contains("xoxb-secret"),
            "{e}"
        );
        let e = parse("[http]\nsecret = \"s3cret\"\n").unwrap_err();
        assert!(
            e.contains("FLOW_HTTP_SECRET") && !e.contains("s3cret"),
            "{e}"
        );
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
}
