//! The client side of `POST /invoke/NAME`, for `flow invoke`.

use std::time::Duration;

use serde_json::Value as Json;

/// How long `flow invoke` waits for the server.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// Why an invocation got no answer.
#[derive(Debug)]
pub struct Unreachable(pub String);

/// Post `input` (a JSON object's text) to `{base}/invoke/{name}` with the bearer
/// token: the status and the JSON answer (`null` when it is not JSON).
pub fn invoke(
    base: &str,
    name: &str,
    token: &str,
    input: Vec<u8>,
    idempotency_key: Option<&str>,
) -> Result<(u16, Json), Unreachable> {
    let url = format!(
        "{}/invoke/{}",
        base.trim_end_matches('/'),
        percent_encode(name)
    );
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(TIMEOUT))
        .proxy(None)
        .user_agent(format!("flow/{}", env!("CARGO_PKG_VERSION")))
        .build();
    let agent = ureq::Agent::new_with_config(config);
    let mut req = agent
        .post(&url)
        .header("Authorization", &format!("Bearer {token}"))
        .header("Content-Type", "application/json");
    if let Some(key) = idempotency_key {
        req = req.header("Idempotency-Key", key);
    }
    let mut response = req
        .send(&input[..])
        .map_err(|e| Unreachable(format!("{url}: {e}")))?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(1024 * 1024)
        .read_to_vec()
        .map_err(|e| Unreachable(format!("{url}: the answer ({status}) cannot be read: {e}")))?;
    Ok((status, serde_json::from_slice(&body).unwrap_or(Json::Null)))
}

/// A workflow's name as one path segment.
pub fn percent_encode(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_one_segment() {
        assert_eq!(
            super::percent_encode("Goodwill gesture/é"),
            "Goodwill%20gesture%2F%C3%A9"
        );
    }
}
