//! Stripe's webhook signature scheme, used both ways: `flow serve` verifies the
//! `Stripe-Signature` of the events it receives, and the live `http` binding signs
//! the requests it sends the same way (`Flow-Signature`), so that a receiver can
//! verify them with any Stripe library's code.
//!
//! The signed text is `"{t}.{raw body}"`, the key the secret's UTF-8 bytes as they
//! are, the digest HMAC-SHA256 in lowercase hex; the header is `t=…,v1=…`.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The only live signature scheme.
pub const SCHEME: &str = "v1";

/// The lowercase hex HMAC-SHA256 of `"{timestamp}.{body}"` under `secret`.
pub fn compute(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut hex = String::with_capacity(64);
    for b in digest.iter() {
        hex.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        hex.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    hex
}

/// A signature header value for `body`: `t={timestamp},v1={hex}`.
pub fn header(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!(
        "t={timestamp},{SCHEME}={}",
        compute(secret, timestamp, body)
    )
}
