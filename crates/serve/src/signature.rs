//! Verifying the `Stripe-Signature` header of a webhook request.
//!
//! Stripe signs `"{t}.{raw body}"` with HMAC-SHA256, keyed by the endpoint's signing
//! secret (`whsec_…`, used as UTF-8 bytes, as is), and sends the timestamp and the
//! lowercase hex digests as `t=…,v1=…[,v1=…][,v0=…]`. Only `v1` is a live scheme;
//! every other scheme is ignored (so a downgrade to `v0` is impossible). Any `v1` may
//! match: while a secret is rolled, Stripe signs with each active secret. The time
//! check rejects a timestamp older than the tolerance (300 s by default; 0 turns it
//! off); like Stripe's libraries, it does not reject a timestamp in the future.
//! Digests are compared in constant time.

use subtle::ConstantTimeEq;

/// The signing itself is shared with the live `http` binding, which signs the
/// requests it sends the same way.
pub use flow_bindings::signature::{compute, header, SCHEME};

/// Stripe's libraries' default tolerance, in seconds.
pub const DEFAULT_TOLERANCE: u64 = 300;

/// Why a request is not authentic. The messages are Stripe's libraries' own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignatureError {
    /// No `Stripe-Signature` header, or an empty one.
    Missing,
    /// No `t`, or a `t` that is not a number.
    Malformed,
    /// No signature with the `v1` scheme (e.g. only `v0`).
    NoV1,
    /// No `v1` signature matches the body.
    NoMatch,
    /// The signature is older than the tolerance.
    TooOld { timestamp: i64, tolerance: u64 },
}

impl std::fmt::Display for SignatureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignatureError::Missing => write!(f, "No Stripe-Signature header value was provided"),
            SignatureError::Malformed => {
                write!(f, "Unable to extract timestamp and signatures from header")
            }
            SignatureError::NoV1 => write!(f, "No signatures found with expected scheme {SCHEME}"),
            SignatureError::NoMatch => write!(
                f,
                "No signatures found matching the expected signature for payload"
            ),
            SignatureError::TooOld {
                timestamp,
                tolerance,
            } => write!(
                f,
                "Timestamp outside the tolerance zone ({timestamp}; tolerance {tolerance} s)"
            ),
        }
    }
}

impl std::error::Error for SignatureError {}

impl SignatureError {
    /// A short label for metrics and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            SignatureError::Missing => "missing",
            SignatureError::Malformed => "malformed",
            SignatureError::NoV1 => "no_v1",
            SignatureError::NoMatch => "mismatch",
            SignatureError::TooOld { .. } => "too_old",
        }
    }
}

/// The endpoint secrets a server accepts (usually one; two while rolling a secret on
/// the server's side). Debug never shows them.
#[derive(Clone, Default)]
pub struct Secrets(Vec<String>);

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets({} hidden)", self.0.len())
    }
}

impl Secrets {
    /// One secret, or several separated by commas or whitespace. Empty entries are dropped.
    pub fn parse(text: &str) -> Secrets {
        Secrets(
            text.split(|c: char| c == ',' || c.is_whitespace())
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

/// The parsed header: the first `t`, and every `v1` value.
fn parse(header: &str) -> Result<(i64, Vec<&str>), SignatureError> {
    let mut timestamp = None;
    let mut v1 = Vec::new();
    for item in header.split(',') {
        let Some((key, value)) = item.split_once('=') else {
            // An item without `=` is ignored, unless it is a bare `t` or `v1`.
            if item == "t" || item == SCHEME {
                return Err(SignatureError::Malformed);
            }
            continue;
        };
        if key == "t" && timestamp.is_none() {
            timestamp = Some(value);
        } else if key == SCHEME {
            v1.push(value);
        }
    }
    let t = timestamp.ok_or(SignatureError::Malformed)?;
    if t.is_empty() || t.len() > 18 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SignatureError::Malformed);
    }
    let t: i64 = t.parse().map_err(|_| SignatureError::Malformed)?;
    Ok((t, v1))
}

/// Check a request. `now_ms` is the current time in Unix milliseconds; a `tolerance`
/// of 0 skips the time check. Returns the signature's timestamp.
pub fn verify(
    body: &[u8],
    header: Option<&str>,
    secrets: &Secrets,
    tolerance: u64,
    now_ms: i64,
) -> Result<i64, SignatureError> {
    let header = header
        .filter(|h| !h.is_empty())
        .ok_or(SignatureError::Missing)?;
    let (timestamp, signatures) = parse(header)?;
    if signatures.is_empty() {
        return Err(SignatureError::NoV1);
    }
    let mut matched = subtle::Choice::from(0u8);
    for secret in &secrets.0 {
        let expected = compute(secret, timestamp, body);
        for s in &signatures {
            // `ct_eq` on slices returns early only on a length mismatch; the length of
            // a hex SHA-256 digest is public.
            matched |= expected.as_bytes().ct_eq(s.as_bytes());
        }
    }
    if !bool::from(matched) {
        return Err(SignatureError::NoMatch);
    }
    if tolerance > 0 {
        let oldest = i128::from(now_ms) - i128::from(tolerance) * 1000;
        if i128::from(timestamp) * 1000 < oldest {
            return Err(SignatureError::TooOld {
                timestamp,
                tolerance,
            });
        }
    }
    Ok(timestamp)
}
