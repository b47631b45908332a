//! The live bindings of `slack` and `http` (and of custom actions, which are `http`
//! requests): messages through Slack's Web API, JSON requests to other systems.
//!
//! - `slack` → `POST {api_base}/chat.postMessage` with the bot token from
//!   `SLACK_BOT_TOKEN`. All the text sent is escaped for Slack's mrkdwn (`&`, `<`,
//!   `>`), so no text (an event's field included) can mention `@channel` or a user,
//!   or make a link.
//! - `http` → the request, with its JSON body signed as Stripe signs webhooks
//!   (`Flow-Signature: t=…,v1=hex(HMAC-SHA256(secret, "t.body"))`, the secret from
//!   `FLOW_HTTP_SECRET`) and the action's `Idempotency-Key`. Only `https://` to
//!   public addresses: every address the host resolves to is checked before anything
//!   is sent, and again by the resolver the connection uses; loopback, private,
//!   link-local and other non-public addresses are refused unless allowed under
//!   `[http] allow`. Redirects are not followed; answers are limited in time and
//!   size.
//!
//! Both retry as the Stripe binding does ([`crate::retry`]). Tokens and secrets are
//! held in [`Secret`], which never shows them; answers and errors that quote them
//! are redacted.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;

use serde_json::{json, Value as Json};
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

use crate::retry::{self, retry_after, transport_error, Attempt, RetryPolicy};
use crate::settings::{HttpSettings, SlackSettings, HTTP_SECRET_VAR, SLACK_TOKEN_VAR};
use crate::signature;
use crate::{Action, ActionContext, ActionError, Bindings};
use flow_vm::idempotency_key;

/// The header that carries an `http` request's signature.
pub const SIGNATURE_HEADER: &str = "Flow-Signature";

/// A token or secret from the environment. Shown nowhere: not in `Debug`, not in
/// errors, not in logs; text that quotes it is redacted.
#[derive(Clone)]
pub struct Secret {
    var: &'static str,
    value: String,
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({}, redacted)", self.var)
    }
}

impl Secret {
    /// The secret in `var`; `Ok(None)` when it is not set or empty.
    pub fn from_env(var: &'static str) -> Result<Option<Secret>, String> {
        match std::env::var(var) {
            Ok(v) if v.trim().is_empty() => Ok(None),
            Ok(v) => Secret::new(var, v).map(Some),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(format!("{var} is not valid text")),
        }
    }

    /// Check a secret's shape (its text never appears in the error).
    pub fn new(var: &'static str, value: impl Into<String>) -> Result<Secret, String> {
        let value = value.into().trim().to_string();
        if value.is_empty() {
            return Err(format!("{var} is empty"));
        }
        if !value.chars().all(|c| c.is_ascii_graphic()) {
            return Err(format!(
                "{var} has characters a token cannot have (spaces, control characters or non-ASCII)"
            ));
        }
        Ok(Secret { var, value })
    }

    /// `text` with every occurrence of the secret masked.
    pub fn redact(&self, text: &str) -> String {
        text.replace(&self.value, "[redacted]")
    }

    /// A JSON answer with the secret masked in every string, keys of objects included.
    pub fn redact_json(&self, value: Json) -> Json {
        crate::redact_json(value, &|t| self.redact(t))
    }
}

/// Text for Slack's mrkdwn, shown as written: `&`, `<` and `>` escaped as Slack
/// asks, so that `<!channel>`, `<@U123>` or `<https://…|here>` stay plain text.
pub fn mrkdwn_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Block Kit blocks with the text of every text object (`"text": "…"`) escaped.
fn escape_blocks(blocks: &Json) -> Json {
    match blocks {
        Json::Object(m) => Json::Object(
            m.iter()
                .map(|(k, v)| {
                    let v = match v {
                        Json::String(s) if k == "text" => Json::String(mrkdwn_escape(s)),
                        other => escape_blocks(other),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Json::Array(items) => Json::Array(items.iter().map(escape_blocks).collect()),
        other => other.clone(),
    }
}

/// Why an address is not public, or `None` for a public one: loopback, private
/// (10/8, 172.16/12, 192.168/16, fc00::/7), link-local (169.254/16 — the cloud
/// metadata service 169.254.169.254 among them —, fe80::/10), and the unspecified,
/// shared (100.64/10), multicast, broadcast and reserved ranges. IPv4 addresses
/// inside IPv6 (`::ffff:a.b.c.d`, `64:ff9b::a.b.c.d`) are judged as IPv4.
pub fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return non_public_v4(v4);
            }
            let seg = v6.segments();
            if seg[0] == 0x64 && seg[1] == 0xff9b && seg[2..6] == [0, 0, 0, 0] {
                let v4 = Ipv4Addr::new(
                    (seg[6] >> 8) as u8,
                    seg[6] as u8,
                    (seg[7] >> 8) as u8,
                    seg[7] as u8,
                );
                return non_public_v4(v4);
            }
            if v6.is_loopback() {
                Some("loopback")
            } else if v6.is_unspecified() {
                Some("unspecified")
            } else if seg[0] & 0xfe00 == 0xfc00 {
                Some("private")
            } else if seg[0] & 0xffc0 == 0xfe80 {
                Some("link-local")
            } else if v6.is_multicast() {
                Some("multicast")
            } else if seg[0] == 0 && seg[1..6] == [0, 0, 0, 0, 0] {
                // ::a.b.c.d, the deprecated IPv4-compatible form.
                Some("reserved")
            } else {
                None
            }
        }
    }
}

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    if ip == Ipv4Addr::new(169, 254, 169, 254) {
        Some("cloud metadata")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if o[0] == 0 {
        Some("unspecified")
    } else if o[0] == 100 && (64..128).contains(&o[1]) {
        Some("shared (carrier-grade NAT)")
    } else if ip.is_multicast() || o[0] >= 240 {
        Some("multicast or reserved")
    } else {
        None
    }
}

/// The hosts and addresses of `[http] allow`.
#[derive(Clone, Debug, Default)]
pub struct Allow {
    hosts: Vec<String>,
    addrs: Vec<IpAddr>,
}

impl Allow {
    pub fn new(entries: &[String]) -> Allow {
        let mut allow = Allow::default();
        for e in entries {
            let e = e.trim().trim_start_matches('[').trim_end_matches(']');
            match e.parse::<IpAddr>() {
                Ok(ip) => allow.addrs.push(ip),
                Err(_) => allow.hosts.push(e.to_ascii_lowercase()),
            }
        }
        allow
    }

    fn host(&self, host: &str) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
            || host.parse::<IpAddr>().is_ok_and(|ip| self.addr(ip))
    }

    fn addr(&self, ip: IpAddr) -> bool {
        let canon = |ip: IpAddr| match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.addrs.iter().any(|a| canon(*a) == canon(ip))
    }

    /// Whether `ip`, an address of `host`, may be reached.
    fn permits(&self, host: &str, ip: IpAddr) -> bool {
        non_public(ip).is_none() || self.host(host) || self.addr(ip)
    }
}

/// Why the address `ip` of `host` is refused, if it is.
fn refusal(allow: &Allow, host: &str, ip: IpAddr) -> Option<String> {
    if allow.permits(host, ip) {
        return None;
    }
    let kind = non_public(ip).unwrap_or("non-public");
    Some(format!(
        "refused: `{host}` is {ip}, a {kind} address; only public addresses are reached unless allowed under [http] allow in flow.toml"
    ))
}

/// The scheme, host and port of an `http(s)://` URL, checked: no user or password,
/// `https` unless the host is allowed.
fn destination(url: &str, allow: &Allow) -> Result<(String, u16), String> {
    let uri: ureq::http::Uri = url
        .parse()
        .map_err(|_| format!("`{}` is not a URL", url.escape_debug()))?;
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(format!("`{}` is not an https:// URL", url.escape_debug())),
    };
    let authority = uri
        .authority()
        .ok_or_else(|| format!("`{}` has no host", url.escape_debug()))?;
    if authority.as_str().contains('@') {
        return Err("a URL with a user or password is refused".into());
    }
    let host = authority.host().to_string();
    if !https && !allow.host(&host) {
        return Err(format!(
            "`{}` is plain http: only https:// is used, unless the host is allowed under [http] allow in flow.toml",
            url.escape_debug()
        ));
    }
    let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
    Ok((host, port))
}

/// Resolve the URL's host and check every address it has; nothing is sent when
/// any of them is refused.
fn check_destination(url: &str, allow: &Allow) -> Result<(), String> {
    let (host, port) = destination(url, allow)?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = (bare, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve `{bare}`: {e}"))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("`{bare}` has no address"));
    }
    for a in addrs {
        if let Some(why) = refusal(allow, bare, a.ip()) {
            return Err(why);
        }
    }
    Ok(())
}

/// The resolver of the connections: the system's, with every address checked again
/// (a name that resolved to a public address a moment ago may not now).
struct Guarded {
    allow: Arc<Allow>,
    inner: DefaultResolver,
}

impl fmt::Debug for Guarded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guarded")
            .field("allow", &self.allow)
            .finish()
    }
}

impl Resolver for Guarded {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let addrs = self.inner.resolve(uri, config, timeout)?;
        let host = uri.host().unwrap_or("");
        let host = host.trim_start_matches('[').trim_end_matches(']');
        for a in addrs.iter() {
            if let Some(why) = refusal(&self.allow, host, a.ip()) {
                return Err(ureq::Error::BadUri(why));
            }
        }
        Ok(addrs)
    }
}

/// One request to send.
struct Request<'a> {
    /// `slack` or `http`, for messages.
    kind: &'a str,
    method: &'a str,
    url: &'a str,
    headers: &'a [(String, String)],
    body: &'a [u8],
    /// The secret to sign the body with.
    sign: Option<&'a Secret>,
    /// Added to the request in the log (its idempotency key).
    note: &'a str,
}

/// The Slack and `http` bindings.
pub struct Outbound {
    slack_base: String,
    token: Option<Secret>,
    secret: Option<Secret>,
    /// Why a token or secret could not be read, by variable, told when it is needed.
    env_errors: Vec<(&'static str, String)>,
    allow: Arc<Allow>,
    policy: RetryPolicy,
    max_answer_bytes: u64,
    /// For `http`: every address checked when connecting.
    agent: ureq::Agent,
    /// For Slack's Web API, at the address of `[slack] api_base`.
    slack_agent: ureq::Agent,
    verbose: bool,
}

impl fmt::Debug for Outbound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outbound")
            .field("slack_base", &self.slack_base)
            .field("token", &self.token)
            .field("secret", &self.secret)
            .finish()
    }
}

impl Outbound {
    /// The bindings for these settings, the token and secret from the environment
    /// (`SLACK_BOT_TOKEN`, `FLOW_HTTP_SECRET`). A missing one fails only the actions
    /// that need it, with what to set.
    pub fn from_env(slack: &SlackSettings, http: &HttpSettings) -> Outbound {
        let mut env_errors = Vec::new();
        let mut read = |var| match Secret::from_env(var) {
            Ok(s) => s,
            Err(e) => {
                env_errors.push((var, e));
                None
            }
        };
        let token = read(SLACK_TOKEN_VAR);
        let secret = read(HTTP_SECRET_VAR);
        let mut out = Outbound::new(slack, http, token, secret);
        out.env_errors = env_errors;
        out
    }

    pub fn new(
        slack: &SlackSettings,
        http: &HttpSettings,
        token: Option<Secret>,
        secret: Option<Secret>,
    ) -> Outbound {
        let allow = Arc::new(Allow::new(&http.allow));
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // Redirects are not followed: the answer is the redirect itself.
            .max_redirects(0)
            .max_redirects_will_error(false)
            // The addresses checked are the destination's, never a proxy's.
            .proxy(None)
            .user_agent(format!("flow/{}", env!("CARGO_PKG_VERSION")))
            .build();
        let slack_agent = ureq::Agent::new_with_config(config.clone());
        let agent = ureq::Agent::with_parts(
            config,
            DefaultConnector::new(),
            Guarded {
                allow: allow.clone(),
                inner: DefaultResolver::default(),
            },
        );
        Outbound {
            slack_base: slack.api_base.trim_end_matches('/').to_string(),
            token,
            secret,
            env_errors: Vec::new(),
            allow,
            policy: RetryPolicy::new(http.timeout, http.max_network_retries, http.max_retry_time),
            max_answer_bytes: http.max_answer_bytes,
            agent,
            slack_agent,
            verbose: false,
        }
    }

    /// Log each request and retry to stderr (never a token or secret).
    pub fn verbose(mut self, on: bool) -> Outbound {
        self.verbose = on;
        self
    }

    fn redact(&self, text: &str) -> String {
        let mut t = text.to_string();
        for s in [&self.token, &self.secret].into_iter().flatten() {
            t = s.redact(&t);
        }
        t
    }

    fn redact_json(&self, mut j: Json) -> Json {
        for s in [&self.token, &self.secret].into_iter().flatten() {
            j = s.redact_json(j);
        }
        j
    }

    fn log(&self, kind: &str, line: &str) {
        if self.verbose {
            eprintln!("{kind}: {}", self.redact(line));
        }
    }

    fn missing(&self, what: &str, var: &str, why: &str) -> ActionError {
        match self.env_errors.iter().find(|(v, _)| *v == var) {
            Some((_, e)) => ActionError::new(format!("{what}: {e}")),
            None => ActionError::new(format!("{what}: {var} is not set: {why}")),
        }
    }

    /// One request with retries; `answer` makes the result of a 2xx answer.
    fn send(
        &self,
        r: Request<'_>,
        answer: impl Fn(u16, Json) -> Attempt<Json>,
    ) -> Result<Json, ActionError> {
        let Request {
            kind,
            method,
            url,
            headers,
            body,
            sign,
            note,
        } = r;
        let what = format!("{method} {url}");
        let log = |line: &str| self.log(kind, line);
        let result = self.policy.run(&what, note, "the server", &log, |timeout| {
            let mut req = ureq::http::Request::builder().method(method).uri(url);
            for (k, v) in headers {
                req = req.header(k.as_str(), v.as_str());
            }
            if let Some(secret) = sign {
                let t = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64);
                req = req.header(SIGNATURE_HEADER, signature::header(&secret.value, t, body));
            }
            let req = match req.body(body.to_vec()) {
                Ok(r) => r,
                Err(e) => return Attempt::Refused(format!("the request cannot be made: {e}")),
            };
            let agent = if kind == "slack" {
                &self.slack_agent
            } else {
                &self.agent
            };
            let req = agent
                .configure_request(req)
                .timeout_global(Some(timeout))
                .build();
            let mut response = match agent.run(req) {
                Ok(r) => r,
                Err(e) => return transport_error(e, timeout),
            };
            let status = response.status().as_u16();
            let header = |name: &str| retry::header(response.headers(), name);
            let after = retry_after(header("Retry-After").as_deref());
            let location = header("Location");
            let bytes = match response
                .body_mut()
                .with_config()
                .limit(self.max_answer_bytes)
                .read_to_vec()
            {
                Ok(b) => b,
                Err(ureq::Error::BodyExceedsLimit(n)) => {
                    return Attempt::Refused(format!(
                        "the answer ({status}) is larger than {n} bytes (max_answer_bytes)"
                    ))
                }
                Err(e) => {
                    return match transport_error(e, timeout) {
                        Attempt::Retry { why, after } => Attempt::Retry {
                            why: format!("{status}, then {why}"),
                            after,
                        },
                        other => other,
                    }
                }
            };
            let text = String::from_utf8_lossy(&bytes);
            let excerpt: String = text.trim().chars().take(200).collect();
            if (200..300).contains(&status) {
                let json = if text.trim().is_empty() {
                    Json::Null
                } else {
                    serde_json::from_slice(&bytes)
                        .unwrap_or_else(|_| Json::String(text.to_string()))
                };
                return answer(status, json);
            }
            if (300..400).contains(&status) {
                return Attempt::Refused(format!(
                    "answered {status}, a redirect{}: redirects are not followed",
                    location.map(|l| format!(" to {l}")).unwrap_or_default()
                ));
            }
            let msg = if excerpt.is_empty() {
                format!("answered {status}")
            } else {
                format!("answered {status}: {excerpt}")
            };
            if status == 429 || (500..600).contains(&status) {
                Attempt::Retry { why: msg, after }
            } else {
                Attempt::Refused(msg)
            }
        });
        match result {
            Ok(j) => Ok(self.redact_json(j)),
            Err(e) => Err(ActionError::new(format!("{kind}: {}", self.redact(&e)))),
        }
    }

    fn slack(&self, channel: &str, text: &str, blocks: Option<&Json>) -> Result<Json, ActionError> {
        let Some(token) = &self.token else {
            return Err(self.missing(
                "slack",
                SLACK_TOKEN_VAR,
                "export a Slack bot token (xoxb-…) with the chat:write scope",
            ));
        };
        let mut body = json!({ "channel": channel, "text": mrkdwn_escape(text) });
        if let Some(b) = blocks {
            body["blocks"] = escape_blocks(b);
        }
        let bytes = body.to_string().into_bytes();
        let headers = vec![
            (
                "Authorization".to_string(),
                format!("Bearer {}", token.value),
            ),
            (
                "Content-Type".to_string(),
                "application/json; charset=utf-8".to_string(),
            ),
        ];
        let url = format!("{}/chat.postMessage", self.slack_base);
        let request = Request {
            kind: "slack",
            method: "POST",
            url: &url,
            headers: &headers,
            body: &bytes,
            sign: None,
            note: "",
        };
        self.send(request, |status, j| {
            if j.get("ok") == Some(&Json::Bool(true)) {
                Attempt::Done(status, j)
            } else {
                let error = j
                    .get("error")
                    .and_then(Json::as_str)
                    .unwrap_or("no `ok` in the answer");
                Attempt::Refused(format!("Slack answered: {error}"))
            }
        })
    }

    fn http(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: Option<&Json>,
        cx: &ActionContext<'_>,
    ) -> Result<Json, ActionError> {
        let Some(secret) = &self.secret else {
            return Err(self.missing(
                "http",
                HTTP_SECRET_VAR,
                "export the secret the receiver verifies the Flow-Signature header with",
            ));
        };
        const RESERVED: &[&str] = &[
            "content-type",
            "content-length",
            "host",
            "transfer-encoding",
            "connection",
            "idempotency-key",
            "flow-signature",
        ];
        for (k, v) in headers {
            let name_ok = !k.is_empty()
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !name_ok || RESERVED.contains(&k.to_ascii_lowercase().as_str()) {
                return Err(ActionError::new(format!(
                    "http: `{}` cannot be given as a header; nothing was sent",
                    k.escape_debug()
                )));
            }
            if v.chars().any(|c| c.is_control() && c != '\t') {
                return Err(ActionError::new(format!(
                    "http: the value of `{k}` has control characters; nothing was sent"
                )));
            }
        }
        check_destination(url, &self.allow)
            .map_err(|e| ActionError::new(format!("http: {method} {url}: {e}")))?;
        let bytes = match body {
            Some(j) => j.to_string().into_bytes(),
            None => Vec::new(),
        };
        let mut all = headers.to_vec();
        if body.is_some() {
            all.push(("Content-Type".into(), "application/json".into()));
        }
        let key = idempotency_key(cx);
        if let Some(k) = &key {
            all.push(("Idempotency-Key".into(), k.clone()));
        }
        let note = key
            .map(|k| format!(" (Idempotency-Key: {k})"))
            .unwrap_or_default();
        let request = Request {
            kind: "http",
            method,
            url,
            headers: &all,
            body: &bytes,
            sign: Some(secret),
            note: &note,
        };
        self.send(request, |status, j| {
            Attempt::Done(status, json!({ "status": status, "body": j }))
        })
    }
}

impl Bindings for Outbound {
    fn perform(&mut self, action: &Action, cx: &ActionContext<'_>) -> Result<Json, ActionError> {
        match action {
            Action::Slack {
                channel,
                text,
                blocks,
            } => self.slack(channel, text, blocks.as_ref()),
            Action::Http {
                method,
                url,
                headers,
                body,
                ..
            } => self.http(method, url, headers, body.as_ref(), cx),
            other => Err(ActionError::new(format!(
                "{} is not carried out by the Slack and http bindings (this is a bug in the bindings)",
                other.kind()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_are_classified() {
        for (a, kind) in [
            ("127.0.0.1", "loopback"),
            ("127.8.9.10", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("169.254.1.1", "link-local"),
            ("169.254.169.254", "cloud metadata"),
            ("0.0.0.0", "unspecified"),
            ("100.64.0.1", "shared (carrier-grade NAT)"),
            ("224.0.0.1", "multicast or reserved"),
            ("255.255.255.255", "multicast or reserved"),
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("fc00::1", "private"),
            ("fd12:3456::1", "private"),
            ("fe80::1", "link-local"),
            ("febf::1", "link-local"),
            ("ff02::1", "multicast"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:169.254.169.254", "cloud metadata"),
            ("64:ff9b::a9fe:a9fe", "cloud metadata"),
            ("::7f00:1", "reserved"),
        ] {
            assert_eq!(non_public(ip(a)), Some(kind), "{a}");
        }
        for a in [
            "8.8.8.8",
            "172.15.255.255",
            "172.32.0.1",
            "192.169.0.1",
            "100.128.0.1",
            "169.253.1.1",
            "2606:4700::1111",
            "fec0::1",
        ] {
            assert_eq!(non_public(ip(a)), None, "{a}");
        }
    }

    #[test]
    fn allowed_hosts_and_addresses_are_reached() {
        let none = Allow::new(&[]);
        assert!(refusal(&none, "127.0.0.1", ip("127.0.0.1")).is_some());
        assert!(refusal(&none, "example.com", ip("93.184.215.14")).is_none());
        let allow = Allow::new(&["127.0.0.1".into(), "Hooks.Internal".into(), "[::1]".into()]);
        assert!(refusal(&allow, "127.0.0.1", ip("127.0.0.1")).is_none());
        assert!(refusal(&allow, "localhost", ip("::ffff:127.0.0.1")).is_none());
        assert!(refusal(&allow, "hooks.internal", ip("10.0.0.7")).is_none());
        assert!(refusal(&allow, "::1", ip("::1")).is_none());
        assert!(refusal(&allow, "other.internal", ip("10.0.0.7")).is_some());
        let why = refusal(&allow, "meta", ip("169.254.169.254")).unwrap();
        assert!(
            why.contains("cloud metadata") && why.contains("[http] allow"),
            "{why}"
        );
    }

    #[test]
    fn urls_are_https_without_credentials() {
        let none = Allow::new(&[]);
        assert!(destination("https://example.com/x", &none).is_ok());
        assert_eq!(
            destination("https://example.com:8443/x", &none).unwrap(),
            ("example.com".to_string(), 8443)
        );
        assert!(destination("http://example.com/x", &none).is_err());
        assert!(destination("https://u:p@example.com/x", &none).is_err());
        assert!(destination("ftp://example.com/x", &none).is_err());
        assert!(destination("https:///x", &none).is_err());
        let allow = Allow::new(&["127.0.0.1".into()]);
        assert!(destination("http://127.0.0.1:8080/x", &allow).is_ok());
        let e = check_destination("https://127.0.0.1/x", &none).unwrap_err();
        assert!(e.contains("loopback"), "{e}");
        let e = check_destination(
            "http://169.254.169.254/latest/meta-data",
            &Allow::new(&["169.254.169.254".into()]),
        );
        assert!(e.is_ok());
        let e = check_destination("https://169.254.169.254/latest/meta-data", &none).unwrap_err();
        assert!(e.contains("cloud metadata"), "{e}");
    }

    #[test]
    fn mrkdwn_control_characters_are_escaped() {
        assert_eq!(
            mrkdwn_escape("<!channel> & <@U123> <https://evil.example|click>"),
            "&lt;!channel&gt; &amp; &lt;@U123&gt; &lt;https://evil.example|click&gt;"
        );
        assert_eq!(mrkdwn_escape("&amp;"), "&amp;amp;");
        assert_eq!(mrkdwn_escape("plain *bold* text"), "plain *bold* text");
        let blocks = json!([{"type": "section", "text": {"type": "mrkdwn", "text": "<!here>"}}]);
        assert_eq!(
            escape_blocks(&blocks),
            json!([{"type": "section", "text": {"type": "mrkdwn", "text": "&lt;!here&gt;"}}])
        );
    }

    #[test]
    fn headers_flow_sets_cannot_be_given_and_nothing_is_sent() {
        let mut o = Outbound::new(
            &SlackSettings::default(),
            &HttpSettings::default(),
            None,
            Some(Secret::new(HTTP_SECRET_VAR, "s3cret-value").unwrap()),
        );
        let cx = ActionContext {
            event_id: Some("evt_1"),
            workflow: "W",
            step: 0,
            trigger: None,
            now: 0,
            item: None,
        };
        for (name, value) in [
            ("Flow-Signature", "t=1,v1=00"),
            ("idempotency-key", "mine"),
            ("Content-Type", "text/plain"),
            ("Host", "elsewhere.example"),
            ("Bad Name", "x"),
            ("X-Team", "risk\r\nX-Injected: 1"),
        ] {
            let action = Action::Http {
                name: None,
                method: "POST".into(),
                // Refused before any address is looked up or connected to.
                url: "https://127.0.0.1/never".into(),
                headers: vec![(name.into(), value.into())],
                body: None,
            };
            let e = o.perform(&action, &cx).unwrap_err();
            assert!(
                e.message.contains("nothing was sent"),
                "{name}: {}",
                e.message
            );
        }
        let slack = Action::Slack {
            channel: "#d".into(),
            text: "x".into(),
            blocks: None,
        };
        let e = o.perform(&slack, &cx).unwrap_err();
        assert!(
            e.message.contains("SLACK_BOT_TOKEN is not set"),
            "{}",
            e.message
        );
    }

    #[test]
    fn secrets_are_never_shown() {
        let s = Secret::new(HTTP_SECRET_VAR, "whsec_abcdef123456").unwrap();
        assert!(!format!("{s:?}").contains("abcdef"));
        assert_eq!(s.redact("key whsec_abcdef123456!"), "key [redacted]!");
        let j = s.redact_json(json!({"echo": ["whsec_abcdef123456"]}));
        assert!(!j.to_string().contains("abcdef"));
        assert!(Secret::new(SLACK_TOKEN_VAR, "xoxb 1").is_err());
        let o = Outbound::new(
            &SlackSettings::default(),
            &HttpSettings::default(),
            Some(Secret::new(SLACK_TOKEN_VAR, "xoxb-secret-token").unwrap()),
            Some(s),
        );
        assert!(!format!("{o:?}").contains("secret-token"));
    }
}
