//! The Stripe bindings: actions carried out through Stripe's HTTP API.
//!
//! - `retrieve` → `GET /v1/<objects>/<id>`
//! - `update`   → `POST /v1/<objects>/<id>` with form-encoded nested parameters
//!   (`metadata[Tier]=VIP`)
//! - `refund`   → `POST /v1/refunds`
//!
//! Every request carries `Stripe-Version`; every POST carries an `Idempotency-Key`
//! derived from (event id, workflow, step), so a replayed event sends the same keys
//! and Stripe answers with what it did the first time instead of doing it twice.
//! Connection errors, timeouts, 409, 429 and 5xx are tried again with exponential
//! backoff and jitter, honouring `Stripe-Should-Retry` and `Retry-After`, within a
//! bounded total time. Any other answer ends the action with Stripe's error type,
//! code and message.
//!
//! The API key is held in [`ApiKey`], which never shows it: not in `Debug`, not in
//! errors, not in the `--verbose` log; an answer that quotes it is redacted.

use std::fmt;
use std::time::Duration;

use serde_json::Value as Json;

use super::{Action, ActionContext, ActionError, Bindings};
use crate::retry::{self, retry_after, transport_error, Attempt, RetryPolicy};
use crate::settings::StripeSettings;

/// The environment variable the API key is read from (the only place it comes from).
pub const API_KEY_VAR: &str = "STRIPE_API_KEY";

/// A Stripe secret key. It is sent in the `Authorization` header and shown nowhere.
#[derive(Clone)]
pub struct ApiKey(String);

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(redacted)")
    }
}

impl ApiKey {
    /// Read the key from `STRIPE_API_KEY`.
    pub fn from_env() -> Result<ApiKey, String> {
        match std::env::var(API_KEY_VAR) {
            Ok(k) => ApiKey::new(k),
            Err(std::env::VarError::NotPresent) => Err(format!("{API_KEY_VAR} is not set")),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(format!("{API_KEY_VAR} is not valid text"))
            }
        }
    }

    /// Check a key's shape (its text never appears in the error).
    pub fn new(key: impl Into<String>) -> Result<ApiKey, String> {
        let key = key.into();
        let key = key.trim().to_string();
        if key.is_empty() {
            return Err(format!("{API_KEY_VAR} is empty"));
        }
        if !key.chars().all(|c| c.is_ascii_graphic()) {
            return Err(format!(
                "{API_KEY_VAR} has characters a Stripe key cannot have (spaces, quotes or non-ASCII)"
            ));
        }
        Ok(ApiKey(key))
    }

    /// A live-mode key moves real money.
    pub fn is_live_mode(&self) -> bool {
        self.0.starts_with("sk_live_") || self.0.starts_with("rk_live_")
    }

    /// A JSON answer with the key masked in every string, keys of objects included.
    pub fn redact_json(&self, value: Json) -> Json {
        crate::redact_json(value, &|t| self.redact(t))
    }

    /// `text` with every occurrence of the key (and of its secret part) masked.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.replace(&self.0, "[redacted key]");
        // Also the key's secret part, if an answer quotes it without its prefix.
        if let Some(tail) = self.0.rsplit('_').next().filter(|t| t.len() >= 12) {
            out = out.replace(tail, "[redacted]");
        }
        out
    }

    fn authorization(&self) -> String {
        format!("Bearer {}", self.0)
    }

    /// Names the key's account without showing the key: the first 16 hex digits of
    /// its SHA-256 (what a shared rate limit is counted under).
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(self.0.as_bytes());
        let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        format!("key_{hex}")
    }

    /// Stripe's limit for the key's mode, in requests a second.
    pub fn default_rate_limit(&self) -> u32 {
        if self.is_live_mode() {
            crate::rate::LIVE_PER_SECOND
        } else {
            crate::rate::TEST_PER_SECOND
        }
    }
}

/// How requests are sent and retried.
#[derive(Clone, Debug, PartialEq)]
pub struct StripeConfig {
    pub api_base: String,
    pub api_version: String,
    /// The longest one request may take.
    pub timeout: Duration,
    pub max_network_retries: u32,
    /// The longest a request may take with all its retries and the waits between them.
    pub max_retry_time: Duration,
    /// The wait before the first retry; it doubles each time, up to `max_backoff`,
    /// and a random part of it (up to half) is taken off.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl From<&StripeSettings> for StripeConfig {
    fn from(s: &StripeSettings) -> StripeConfig {
        StripeConfig {
            api_base: s.api_base.trim_end_matches('/').to_string(),
            api_version: s.api_version.clone(),
            timeout: s.timeout,
            max_network_retries: s.max_network_retries,
            max_retry_time: s.max_retry_time,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
        }
    }
}

impl StripeConfig {
    /// The retry rules of these settings.
    pub fn policy(&self) -> RetryPolicy {
        RetryPolicy {
            timeout: self.timeout,
            max_network_retries: self.max_network_retries,
            max_retry_time: self.max_retry_time,
            initial_backoff: self.initial_backoff,
            max_backoff: self.max_backoff,
        }
    }
}

impl Default for StripeConfig {
    fn default() -> StripeConfig {
        StripeConfig::from(&StripeSettings::default())
    }
}

pub use flow_vm::idempotency_key;

/// Whether a schema describes an API resource (it has an `id` and says what it is in
/// `object`), rather than a part of one such as `address` or `event.request`.
fn is_resource(def: &flow_stdlib::ObjectDef) -> bool {
    let names_itself = matches!(
        def.field("object").map(|f| &f.ty),
        Some(flow_stdlib::FieldType::Enum { values, .. }) if values.contains(&def.name)
    );
    def.field("id").is_some() && names_itself
}

/// The API path of an object type the schemas know, from the API catalogue: the
/// path its resource retrieves one object at, less the id (`charge` → `/v1/charges`,
/// `checkout.session` → `/v1/checkout/sessions`). Parts of objects (such as
/// `address`) and objects not retrieved by their id alone have no endpoint.
pub fn resource_path(object: &str) -> Result<String, String> {
    let lib = flow_stdlib::builtin();
    let api = lib.api().map_err(str::to_string)?;
    let path = lib.object(object).filter(|d| is_resource(d)).and_then(|_| {
        api.resources.iter().find_map(|r| {
            let m = r.method("retrieve")?;
            let base = m.path.strip_suffix("/{id}")?;
            (r.object.as_deref() == Some(object)
                && m.verb == flow_stdlib::api::Verb::Get
                && m.path_params().count() == 1)
                .then(|| base.to_string())
        })
    });
    path.ok_or_else(|| format!("Stripe's API has no endpoint for `{object}` objects"))
}

/// An object id as one path segment, percent-encoded. An id that is empty, `.` or
/// `..` is refused before any request: it would name another path than the object.
fn path_id(id: &str) -> Result<String, ActionError> {
    if id.is_empty() || id == "." || id == ".." {
        return Err(ActionError::new(format!(
            "`{id}` is not an object id: nothing was sent to Stripe"
        )));
    }
    Ok(flow_vm::escape_segment(id))
}

/// Flatten parameters the way Stripe reads a form: `metadata[Tier]=VIP`,
/// `items[0][price]=…`; `null` is sent as an empty string (which unsets a field).
pub fn form_pairs(params: &Json) -> Vec<(String, String)> {
    fn walk(prefix: &str, v: &Json, out: &mut Vec<(String, String)>) {
        match v {
            Json::Object(m) => {
                for (k, v) in m {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}[{k}]")
                    };
                    walk(&key, v, out);
                }
            }
            Json::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(&format!("{prefix}[{i}]"), v, out);
                }
            }
            Json::Null => out.push((prefix.to_string(), String::new())),
            Json::Bool(b) => out.push((prefix.to_string(), b.to_string())),
            Json::Number(n) => out.push((prefix.to_string(), n.to_string())),
            Json::String(s) => out.push((prefix.to_string(), s.clone())),
        }
    }
    let mut out = Vec::new();
    walk("", params, &mut out);
    out
}

enum Method {
    /// With its query parameters.
    Get(Vec<(String, String)>),
    /// With its form body.
    Post(Vec<(String, String)>),
    /// With its query parameters.
    Delete(Vec<(String, String)>),
}

impl Method {
    fn name(&self) -> &'static str {
        match self {
            Method::Get(_) => "GET",
            Method::Post(_) => "POST",
            Method::Delete(_) => "DELETE",
        }
    }
}

/// The Stripe bindings.
pub struct Stripe {
    config: StripeConfig,
    key: ApiKey,
    agent: ureq::Agent,
    verbose: bool,
    /// Where each attempt waits for its turn, the limit a second, and the account it
    /// is counted under (the key's fingerprint).
    gate: Option<(std::sync::Arc<dyn crate::rate::RateGate>, u32, String)>,
}

impl fmt::Debug for Stripe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stripe")
            .field("config", &self.config)
            .field("key", &self.key)
            .finish()
    }
}

impl Stripe {
    pub fn new(config: StripeConfig, key: ApiKey) -> Stripe {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // Never follow a redirect: the Authorization header stays with Stripe.
            .max_redirects(0)
            .max_redirects_will_error(false)
            .user_agent(format!("flow/{}", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Stripe {
            config,
            key,
            agent,
            verbose: false,
            gate: None,
        }
    }

    /// Each attempt waits for its turn at `gate`, at most `per_second` a second.
    pub fn gate(
        mut self,
        gate: std::sync::Arc<dyn crate::rate::RateGate>,
        per_second: u32,
    ) -> Stripe {
        self.gate = Some((gate, per_second, self.key.fingerprint()));
        self
    }

    /// Log each request and retry to stderr (never the key).
    pub fn verbose(mut self, on: bool) -> Stripe {
        self.verbose = on;
        self
    }

    fn log(&self, line: &str) {
        if self.verbose {
            eprintln!("stripe: {}", self.key.redact(line));
        }
    }

    /// Send one API request, with retries; the answer's JSON, or an error in
    /// Stripe's words.
    fn request(
        &self,
        method: Method,
        path: &str,
        idempotency_key: Option<&str>,
        account: Option<&str>,
    ) -> Result<Json, ActionError> {
        let account = account.map(stripe_account).transpose()?;
        let what = match account {
            Some(a) => format!("{} {path} (Stripe-Account: {a})", method.name()),
            None => format!("{} {path}", method.name()),
        };
        let key_note = idempotency_key
            .map(|k| format!(" (Idempotency-Key: {k})"))
            .unwrap_or_default();
        let log = |line: &str| self.log(line);
        let answer = self
            .config
            .policy()
            .run(&what, &key_note, "Stripe", &log, |timeout| {
                self.attempt(&method, path, idempotency_key, account, timeout)
            });
        match answer {
            // The answer is kept (in the report, in flow serve's run log): an answer
            // that quotes the key must not carry it there.
            Ok(json) => Ok(self.key.redact_json(json)),
            Err(message) => Err(self.error(message)),
        }
    }

    fn error(&self, message: String) -> ActionError {
        ActionError::new(self.key.redact(&message))
    }

    fn attempt(
        &self,
        method: &Method,
        path: &str,
        idempotency_key: Option<&str>,
        account: Option<&str>,
        timeout: Duration,
    ) -> Attempt<Json> {
        if let Some((gate, per_second, account)) = &self.gate {
            if let Err(e) = gate.wait_turn(account, *per_second) {
                return Attempt::Retry {
                    why: format!("the rate limit could not be checked: {e}"),
                    after: None,
                };
            }
        }
        let url = format!("{}{path}", self.config.api_base);
        let result = match method {
            Method::Get(query) | Method::Delete(query) => {
                let req = match method {
                    Method::Delete(_) => self.agent.delete(&url),
                    _ => self.agent.get(&url),
                };
                let mut req = req
                    .header("Authorization", self.key.authorization())
                    .header("Stripe-Version", &self.config.api_version)
                    .query_pairs(query.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                if let Some(a) = account {
                    req = req.header("Stripe-Account", a);
                }
                req.config().timeout_global(Some(timeout)).build().call()
            }
            Method::Post(form) => {
                let mut req = self
                    .agent
                    .post(&url)
                    .header("Authorization", self.key.authorization())
                    .header("Stripe-Version", &self.config.api_version);
                if let Some(k) = idempotency_key {
                    req = req.header("Idempotency-Key", k);
                }
                if let Some(a) = account {
                    req = req.header("Stripe-Account", a);
                }
                req.config()
                    .timeout_global(Some(timeout))
                    .build()
                    .send_form(form.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            }
        };
        let mut response = match result {
            Ok(r) => r,
            Err(e) => return transport_error(e, timeout),
        };
        let status = response.status().as_u16();
        let header = |name: &str| retry::header(response.headers(), name);
        let should_retry = header("Stripe-Should-Retry").map(|v| v.eq_ignore_ascii_case("true"));
        let retry_after = retry_after(header("Retry-After").as_deref());
        let request_id = header("Request-Id");
        let body = match response.body_mut().read_to_string() {
            Ok(b) => b,
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
        if (200..300).contains(&status) {
            return match serde_json::from_str::<Json>(&body) {
                Ok(json) => Attempt::Done(status, json),
                Err(e) => Attempt::Refused(format!("the answer ({status}) is not JSON: {e}")),
            };
        }
        let msg = describe_error(status, &body, request_id.as_deref());
        let retryable =
            should_retry.unwrap_or(status == 409 || status == 429 || (500..600).contains(&status));
        if retryable {
            Attempt::Retry {
                why: msg,
                after: retry_after,
            }
        } else {
            Attempt::Refused(msg)
        }
    }
}

/// Stripe's error in its own words: `400: invalid_request_error (code
/// resource_missing, param id): No such charge: 'ch_1' [request req_1]`.
fn describe_error(status: u16, body: &str, request_id: Option<&str>) -> String {
    let mut out = format!("Stripe answered {status}");
    let parsed: Option<Json> = serde_json::from_str(body).ok();
    match parsed.as_ref().and_then(|j| j.get("error")) {
        Some(err) => {
            let field = |k: &str| err.get(k).and_then(Json::as_str).filter(|s| !s.is_empty());
            if let Some(t) = field("type") {
                out.push_str(&format!(" {t}"));
            }
            let mut extra = Vec::new();
            if let Some(c) = field("code") {
                extra.push(format!("code {c}"));
            }
            if let Some(c) = field("decline_code") {
                extra.push(format!("decline_code {c}"));
            }
            if let Some(p) = field("param") {
                extra.push(format!("param {p}"));
            }
            if !extra.is_empty() {
                out.push_str(&format!(" ({})", extra.join(", ")));
            }
            if let Some(m) = field("message") {
                out.push_str(&format!(": {m}"));
            }
        }
        None => {
            let text: String = body.trim().chars().take(200).collect();
            if !text.is_empty() {
                out.push_str(&format!(": {text}"));
            }
        }
    }
    if let Some(id) = request_id {
        out.push_str(&format!(" [request {id}]"));
    }
    out
}

/// A connected account's id as the `Stripe-Account` header carries it (`acct_…`):
/// anything else in an event's `account` is refused before a request is made.
fn stripe_account(account: &str) -> Result<&str, ActionError> {
    let ok = account.starts_with("acct_")
        && account.len() > 5
        && account
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        Ok(account)
    } else {
        Err(ActionError::new(format!(
            "`{}` is not a connected account's id (`acct_…`); nothing was sent",
            account.escape_debug()
        )))
    }
}

impl Bindings for Stripe {
    fn perform(&mut self, action: &Action, cx: &ActionContext<'_>) -> Result<Json, ActionError> {
        let post_key = || {
            idempotency_key(cx).ok_or_else(|| {
                ActionError::new(
                    "a live run needs the event's `id`: Stripe requests are made idempotent with it",
                )
            })
        };
        match action {
            Action::Retrieve {
                object,
                id,
                account,
            } => {
                let path = resource_path(object).map_err(ActionError::new)?;
                self.request(
                    Method::Get(Vec::new()),
                    &format!("{path}/{}", path_id(id)?),
                    None,
                    account.as_deref(),
                )
            }
            Action::Update {
                object,
                id,
                account,
                params,
            } => {
                let path = resource_path(object).map_err(ActionError::new)?;
                let key = post_key()?;
                self.request(
                    Method::Post(form_pairs(params)),
                    &format!("{path}/{}", path_id(id)?),
                    Some(&key),
                    account.as_deref(),
                )
            }
            Action::Refund { account, params } => {
                let key = post_key()?;
                self.request(
                    Method::Post(form_pairs(&Json::Object(params.clone()))),
                    "/v1/refunds",
                    Some(&key),
                    account.as_deref(),
                )
            }
            Action::Stripe(call) => {
                let (verb, path) = call.verb_and_path();
                let pairs = form_pairs(&call.params);
                let (method, key) = match verb {
                    // Every POST carries an idempotency key; GET and DELETE are
                    // idempotent as they are.
                    "POST" => (Method::Post(pairs), Some(post_key()?)),
                    "DELETE" => (Method::Delete(pairs), None),
                    _ => (Method::Get(pairs), None),
                };
                self.request(method, path, key.as_deref(), call.account.as_deref())
            }
            Action::Email(_) | Action::Slack { .. } | Action::Http { .. } => {
                Err(ActionError::new(format!(
                    "{} is not sent through Stripe (this is a bug in the bindings)",
                    action.kind()
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dot_segment_and_empty_ids_are_refused() {
        for bad in ["", ".", ".."] {
            let e = path_id(bad).unwrap_err();
            assert!(
                e.message.contains("not an object id"),
                "{bad:?}: {}",
                e.message
            );
        }
        assert_eq!(path_id("cus_1").unwrap(), "cus_1");
        assert_eq!(path_id("a/b").unwrap(), "a%2Fb");
        assert_eq!(path_id("...").unwrap(), "...");
    }

    #[test]
    fn paths_for_every_resource_the_schemas_know() {
        let expected = [
            ("charge", "/v1/charges"),
            ("checkout.session", "/v1/checkout/sessions"),
            ("customer", "/v1/customers"),
            ("dispute", "/v1/disputes"),
            ("event", "/v1/events"),
            ("invoice", "/v1/invoices"),
            ("payment_intent", "/v1/payment_intents"),
            ("payout", "/v1/payouts"),
            (
                "radar.early_fraud_warning",
                "/v1/radar/early_fraud_warnings",
            ),
            ("refund", "/v1/refunds"),
            ("review", "/v1/reviews"),
            ("subscription", "/v1/subscriptions"),
        ];
        for (object, path) in expected {
            assert_eq!(resource_path(object).as_deref(), Ok(path), "{object}");
        }
        // Each path is the catalogue's retrieve path, less the id.
        let lib = flow_stdlib::builtin();
        let mut with_path = 0;
        for def in lib.objects().filter(|d| is_resource(d)) {
            if let Ok(path) = resource_path(&def.name) {
                with_path += 1;
                assert!(path.starts_with("/v1/"), "{}: {path}", def.name);
            }
        }
        assert!(with_path > 80, "{with_path} object types have an endpoint");
        assert!(resource_path("address").is_err());
        assert!(resource_path("event.request").is_err());
        assert_eq!(
            resource_path("balance_transaction").as_deref(),
            Ok("/v1/balance_transactions")
        );
        // A person is retrieved through its account: no path of its own.
        assert!(resource_path("person").is_err());
    }

    #[test]
    fn form_encoding_nests_like_stripe() {
        let pairs = form_pairs(&json!({
            "metadata": {"Tier": "VIP", "gone": null},
            "amount": 1200,
            "items": [{"price": "p_1"}, {"price": "p_2"}],
            "refund_application_fee": true,
        }));
        assert_eq!(
            pairs,
            vec![
                ("metadata[Tier]".into(), "VIP".into()),
                ("metadata[gone]".into(), String::new()),
                ("amount".into(), "1200".into()),
                ("items[0][price]".into(), "p_1".into()),
                ("items[1][price]".into(), "p_2".into()),
                ("refund_application_fee".into(), "true".into()),
            ]
        );
    }

    #[test]
    fn idempotency_keys_are_stable_and_distinct() {
        let cx = |e: Option<&'static str>, w: &'static str, s| ActionContext {
            event_id: e,
            workflow: w,
            step: s,
            trigger: None,
            now: 0,
            item: None,
        };
        let a = idempotency_key(&cx(Some("evt_1"), "Refund", 1)).unwrap();
        assert_eq!(a, idempotency_key(&cx(Some("evt_1"), "Refund", 1)).unwrap());
        assert!(a.starts_with("flow_") && a.len() == 45, "{a}");
        assert_ne!(a, idempotency_key(&cx(Some("evt_2"), "Refund", 1)).unwrap());
        assert_ne!(a, idempotency_key(&cx(Some("evt_1"), "Other", 1)).unwrap());
        assert_ne!(a, idempotency_key(&cx(Some("evt_1"), "Refund", 2)).unwrap());
        // No ambiguity from where one part ends.
        assert_ne!(
            idempotency_key(&cx(Some("evt_1a"), "b", 1)),
            idempotency_key(&cx(Some("evt_1"), "ab", 1))
        );
        assert_eq!(idempotency_key(&cx(None, "Refund", 1)), None);
    }

    #[test]
    fn keys_are_never_shown() {
        let key = ApiKey::new("sk_test_51AbCdEfGhIjKlMnOp").unwrap();
        assert!(!format!("{key:?}").contains("51AbCd"));
        let s = Stripe::new(StripeConfig::default(), key.clone());
        assert!(!format!("{s:?}").contains("51AbCd"));
        let red = key
            .redact("Invalid API Key provided: sk_test_51AbCdEfGhIjKlMnOp, or 51AbCdEfGhIjKlMnOp");
        assert!(!red.contains("51AbCd"), "{red}");
        let answer = key.redact_json(serde_json::json!({
            "description": "Bearer sk_test_51AbCdEfGhIjKlMnOp",
            "nested": [{"51AbCdEfGhIjKlMnOp": "x"}],
            "amount": 1200
        }));
        assert!(!answer.to_string().contains("51AbCd"), "{answer}");
        assert_eq!(answer["amount"], 1200);
        assert!(ApiKey::new("sk_test_1 2").is_err());
        assert!(ApiKey::new("  ").is_err());
        let e = ApiKey::new("sk_test_é").unwrap_err();
        assert!(!e.contains("sk_test"), "{e}");
    }

    #[test]
    fn errors_in_stripes_words() {
        let body = r#"{"error": {"type": "invalid_request_error", "code": "charge_already_refunded",
            "param": "charge", "message": "Charge ch_1 has already been refunded."}}"#;
        assert_eq!(
            describe_error(400, body, Some("req_9")),
            "Stripe answered 400 invalid_request_error (code charge_already_refunded, param charge): Charge ch_1 has already been refunded. [request req_9]"
        );
        assert_eq!(
            describe_error(502, "<html>Bad gateway</html>", None),
            "Stripe answered 502: <html>Bad gateway</html>"
        );
    }

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let s = StripeConfig::default().policy();
        for _ in 0..50 {
            let b1 = s.backoff(1);
            assert!(b1 >= Duration::from_millis(250) && b1 <= Duration::from_millis(500));
            let b3 = s.backoff(3);
            assert!(b3 >= Duration::from_secs(1) && b3 <= Duration::from_secs(2));
            let b10 = s.backoff(10);
            assert!(b10 >= Duration::from_secs(4) && b10 <= Duration::from_secs(8));
        }
    }
}
