//! `Stripe-Signature` verification, against test vectors computed independently (HMAC-SHA256
//! in Python and with `openssl dgst -sha256 -hmac`) and the cases Stripe's libraries reject.

use flow::serve::signature::{self, Secrets, SignatureError, DEFAULT_TOLERANCE};

const SECRET: &str = "whsec_test_secret";
const T: i64 = 1_492_774_577;
const BODY1: &str = r#"{"id":"evt_test_webhook","object":"event"}"#;
const SIG1: &str = "88a022085c6bdb887b02cb26ff76dd681234d9675c0f22844059f55552a8883a";
const BODY2: &str = r#"{"id":"evt_test","object":"event","api_version":"2026-07-29.dahlia","created":1234567890,"data":{"object":{"actionable":true,"charge":"ch_1234","created":1234567890,"fraud_type":"misc","id":"issfr_1Pgc79B7WZ01zgkWxwDzEIPX","livemode":false,"object":"radar.early_fraud_warning"}},"livemode":false,"pending_webhooks":1,"request":{"id":null,"idempotency_key":null},"type":"radar.early_fraud_warning.created"}"#;
const SIG2: &str = "5c291c1ce4df729dbbce6eddcdd9aaeffdc568840262ae6b01f4629a2023d4f7";

fn secrets() -> Secrets {
    Secrets::parse(SECRET)
}

/// Verify at `T + age` seconds with the default tolerance.
fn verify_at(body: &str, header: &str, age: i64) -> Result<i64, SignatureError> {
    signature::verify(
        body.as_bytes(),
        Some(header),
        &secrets(),
        DEFAULT_TOLERANCE,
        (T + age) * 1000,
    )
}

#[test]
fn test_vectors_compute() {
    assert_eq!(signature::compute(SECRET, T, BODY1.as_bytes()), SIG1);
    assert_eq!(signature::compute(SECRET, T, BODY2.as_bytes()), SIG2);
    assert_eq!(
        signature::header(SECRET, T, BODY1.as_bytes()),
        format!("t={T},v1={SIG1}")
    );
}

#[test]
fn test_vectors_verify() {
    assert_eq!(verify_at(BODY1, &format!("t={T},v1={SIG1}"), 0), Ok(T));
    assert_eq!(verify_at(BODY2, &format!("t={T},v1={SIG2}"), 10), Ok(T));
    // Stripe's documented header shape, with a test-mode v0 beside the v1.
    let with_v0 = format!(
        "t={T},v1={SIG1},v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39"
    );
    assert_eq!(verify_at(BODY1, &with_v0, 0), Ok(T));
}

#[test]
fn one_changed_byte_fails() {
    let tampered = BODY1.replace("evt_test_webhook", "evt_test_webhooK");
    assert_eq!(
        verify_at(&tampered, &format!("t={T},v1={SIG1}"), 0),
        Err(SignatureError::NoMatch)
    );
    // Whitespace counts: the raw body is signed, not its JSON value.
    let spaced = BODY1.replace(",", ", ");
    assert_eq!(
        verify_at(&spaced, &format!("t={T},v1={SIG1}"), 0),
        Err(SignatureError::NoMatch)
    );
    // So does the timestamp.
    assert_eq!(
        verify_at(BODY1, &format!("t={},v1={SIG1}", T + 1), 0),
        Err(SignatureError::NoMatch)
    );
}

#[test]
fn only_v0_fails() {
    // The v0 "signature" below is the right v1 digest: a downgrade must still fail.
    assert_eq!(
        verify_at(BODY1, &format!("t={T},v0={SIG1}"), 0),
        Err(SignatureError::NoV1)
    );
    assert_eq!(
        verify_at(BODY1, &format!("t={T},v2={SIG1}"), 0),
        Err(SignatureError::NoV1)
    );
    assert_eq!(
        SignatureError::NoV1.to_string(),
        "No signatures found with expected scheme v1"
    );
}

#[test]
fn old_timestamps_fail_with_the_default_tolerance() {
    let h = format!("t={T},v1={SIG1}");
    assert_eq!(verify_at(BODY1, &h, 300), Ok(T));
    assert_eq!(
        verify_at(BODY1, &h, 301),
        Err(SignatureError::TooOld {
            timestamp: T,
            tolerance: 300
        })
    );
    assert!(verify_at(BODY1, &h, 86_400).is_err());
    // Like Stripe's libraries, a timestamp ahead of the clock is not refused.
    assert_eq!(verify_at(BODY1, &h, -3_600), Ok(T));
    // A configured tolerance, and 0 for none.
    let at = |tolerance, age: i64| {
        signature::verify(
            BODY1.as_bytes(),
            Some(&h),
            &secrets(),
            tolerance,
            (T + age) * 1000,
        )
    };
    assert!(at(60, 61).is_err());
    assert_eq!(at(60, 60), Ok(T));
    assert_eq!(at(0, 10 * 365 * 86_400), Ok(T));
}

#[test]
fn any_v1_may_match() {
    let wrong = "0".repeat(64);
    assert_eq!(
        verify_at(BODY1, &format!("t={T},v1={wrong},v1={SIG1}"), 0),
        Ok(T)
    );
    assert_eq!(
        verify_at(BODY1, &format!("t={T},v1={SIG1},v1={wrong}"), 0),
        Ok(T)
    );
    assert_eq!(
        verify_at(BODY1, &format!("t={T},v1={wrong},v1={wrong}"), 0),
        Err(SignatureError::NoMatch)
    );
}

#[test]
fn any_configured_secret_may_match() {
    let both = Secrets::parse("whsec_new_one, whsec_test_secret");
    assert_eq!(both.len(), 2);
    let h = format!("t={T},v1={SIG1}");
    assert_eq!(
        signature::verify(BODY1.as_bytes(), Some(&h), &both, 300, T * 1000),
        Ok(T)
    );
    let other = Secrets::parse("whsec_other");
    assert_eq!(
        signature::verify(BODY1.as_bytes(), Some(&h), &other, 300, T * 1000),
        Err(SignatureError::NoMatch)
    );
    assert!(!format!("{both:?}").contains("whsec"), "secrets never show");
}

#[test]
fn the_key_is_the_whole_secret_string() {
    // Not base64-decoded, not without its prefix.
    let stripped = Secrets::parse("test_secret");
    let h = format!("t={T},v1={SIG1}");
    assert_eq!(
        signature::verify(BODY1.as_bytes(), Some(&h), &stripped, 300, T * 1000),
        Err(SignatureError::NoMatch)
    );
}

#[test]
fn malformed_and_missing_headers_fail() {
    let s = secrets();
    let v = |h: Option<&str>| signature::verify(BODY1.as_bytes(), h, &s, 300, T * 1000);
    assert_eq!(v(None), Err(SignatureError::Missing));
    assert_eq!(v(Some("")), Err(SignatureError::Missing));
    assert_eq!(v(Some("garbage")), Err(SignatureError::Malformed));
    assert_eq!(
        v(Some(&format!("v1={SIG1}"))),
        Err(SignatureError::Malformed)
    );
    assert_eq!(
        v(Some(&format!("t=now,v1={SIG1}"))),
        Err(SignatureError::Malformed)
    );
    assert_eq!(
        v(Some(&format!("t,v1={SIG1}"))),
        Err(SignatureError::Malformed)
    );
    assert_eq!(v(Some(&format!("t={T}"))), Err(SignatureError::NoV1));
    assert_eq!(v(Some(&format!("t={T},v1="))), Err(SignatureError::NoMatch));
    // Digests are compared as Stripe sends them: lowercase hex.
    assert_eq!(
        v(Some(&format!("t={T},v1={}", SIG1.to_uppercase()))),
        Err(SignatureError::NoMatch)
    );
    // A truncated digest does not match.
    assert_eq!(
        v(Some(&format!("t={T},v1={}", &SIG1[..63]))),
        Err(SignatureError::NoMatch)
    );
    // Items without `=` are ignored, as Stripe's libraries ignore them.
    assert_eq!(v(Some(&format!("t={T},junk,v1={SIG1}"))), Ok(T));
}
