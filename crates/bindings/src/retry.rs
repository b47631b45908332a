//! Retries for the live bindings' HTTP requests (Stripe, Slack, `http`): one rule
//! for all of them. A request is tried again after a connection error, a timeout or
//! an answer the caller says is worth another attempt (5xx, 429), with exponential
//! backoff and jitter, honouring `Retry-After`, within a bounded number of retries
//! and a bounded total time.

use std::time::{Duration, Instant};

/// How requests are retried.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// The longest one attempt may take.
    pub timeout: Duration,
    pub max_network_retries: u32,
    /// The longest a request may take with all its retries and the waits between them.
    pub max_retry_time: Duration,
    /// The wait before the first retry; it doubles each time, up to `max_backoff`,
    /// and a random part of it (up to half) is taken off.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl RetryPolicy {
    pub fn new(timeout: Duration, max_network_retries: u32, max_retry_time: Duration) -> Self {
        RetryPolicy {
            timeout,
            max_network_retries,
            max_retry_time,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
        }
    }

    /// Exponential backoff with jitter: the n-th retry waits up to
    /// `initial_backoff × 2^(n-1)` (capped), at least half of it.
    pub fn backoff(&self, retry: u32) -> Duration {
        let exp = self
            .initial_backoff
            .saturating_mul(1u32 << (retry.saturating_sub(1)).min(16));
        let capped = exp.min(self.max_backoff);
        capped.mul_f64(0.5 + fastrand::f64() * 0.5)
    }

    /// Make attempts until one is done or refused, or the retries or the time run
    /// out. `attempt` is given the time it may take. `what` names the request in
    /// messages (`POST /v1/refunds`), `note` is added to it in the log (the
    /// idempotency key), `who` is the service in a message about its `Retry-After`.
    /// The error is the message to show.
    pub fn run<T>(
        &self,
        what: &str,
        note: &str,
        who: &str,
        log: &dyn Fn(&str),
        mut attempt: impl FnMut(Duration) -> Attempt<T>,
    ) -> Result<T, String> {
        let start = Instant::now();
        let deadline = start + self.max_retry_time;
        let mut n = 0u32;
        loop {
            n += 1;
            let remaining = deadline.saturating_duration_since(Instant::now());
            let timeout = self.timeout.min(remaining);
            let (why, after) = match attempt(timeout) {
                Attempt::Done(status, value) => {
                    log(&format!("{what}{note} → {status}"));
                    return Ok(value);
                }
                Attempt::Refused(msg) => {
                    log(&format!("{what}{note} → {msg}"));
                    return Err(format!("{what}: {msg}"));
                }
                Attempt::Retry { why, after } => (why, after),
            };
            let elapsed = start.elapsed();
            let tries = if n == 1 {
                "1 attempt".to_string()
            } else {
                format!("{n} attempts")
            };
            let give_up = |reason: String| {
                format!(
                    "{what}: gave up after {tries} in {:.1} s ({reason}); last: {why}",
                    elapsed.as_secs_f64()
                )
            };
            if n > self.max_network_retries {
                log(&format!("{what}{note} → {why}; no retries left"));
                return Err(give_up(format!(
                    "max_network_retries = {}",
                    self.max_network_retries
                )));
            }
            let backoff = self.backoff(n);
            let wait = after.map_or(backoff, |a| a.max(backoff));
            let remaining = deadline.saturating_duration_since(Instant::now());
            // Not worth an attempt that would have next to no time to be answered.
            let least = self.timeout.min(Duration::from_millis(100));
            if wait + least >= remaining {
                log(&format!("{what}{note} → {why}; out of time"));
                let reason = match after {
                    Some(a) if a >= remaining => format!(
                        "{who} asked to wait {:.1} s, beyond max_retry_time = {:.1} s",
                        a.as_secs_f64(),
                        self.max_retry_time.as_secs_f64()
                    ),
                    _ => format!(
                        "max_retry_time = {:.1} s",
                        self.max_retry_time.as_secs_f64()
                    ),
                };
                return Err(give_up(reason));
            }
            log(&format!(
                "{what}{note} → {why}; retrying in {:.2} s",
                wait.as_secs_f64()
            ));
            std::thread::sleep(wait);
        }
    }
}

/// What one attempt came to.
pub enum Attempt<T> {
    /// Answered: the status (for the log) and what the caller makes of the answer.
    Done(u16, T),
    /// A final answer: not to be tried again.
    Refused(String),
    /// Worth trying again (after at least `after`, when the server said so).
    Retry {
        why: String,
        after: Option<Duration>,
    },
}

/// A request that could not be sent or answered: connection errors and timeouts are
/// worth another attempt, anything else is final.
pub fn transport_error<T>(e: ureq::Error, timeout: Duration) -> Attempt<T> {
    match e {
        ureq::Error::Timeout(_) => Attempt::Retry {
            why: format!("no answer within {:.2} s", timeout.as_secs_f64()),
            after: None,
        },
        ureq::Error::Io(io) => Attempt::Retry {
            why: format!("connection error: {io}"),
            after: None,
        },
        ureq::Error::ConnectionFailed | ureq::Error::HostNotFound | ureq::Error::Protocol(_) => {
            Attempt::Retry {
                why: format!("connection error: {e}"),
                after: None,
            }
        }
        other => Attempt::Refused(format!("the request could not be sent: {other}")),
    }
}

/// `Retry-After` in seconds, as a duration.
pub fn retry_after(value: Option<&str>) -> Option<Duration> {
    value
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// A header of an answer as text, if it is there and is text.
pub fn header(headers: &ureq::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let p = RetryPolicy::new(Duration::from_secs(30), 3, Duration::from_secs(60));
        for _ in 0..50 {
            let b1 = p.backoff(1);
            assert!(b1 >= Duration::from_millis(250) && b1 <= Duration::from_millis(500));
            let b3 = p.backoff(3);
            assert!(b3 >= Duration::from_secs(1) && b3 <= Duration::from_secs(2));
            let b10 = p.backoff(10);
            assert!(b10 >= Duration::from_secs(4) && b10 <= Duration::from_secs(8));
        }
    }

    #[test]
    fn retries_are_bounded_and_final_answers_are_not_retried() {
        let mut p = RetryPolicy::new(Duration::from_secs(1), 2, Duration::from_secs(10));
        p.initial_backoff = Duration::from_millis(1);
        p.max_backoff = Duration::from_millis(2);
        let mut calls = 0;
        let r: Result<(), String> = p.run("POST /x", "", "the server", &|_| {}, |_| {
            calls += 1;
            Attempt::Retry {
                why: "503".into(),
                after: None,
            }
        });
        assert_eq!(calls, 3);
        assert!(r.unwrap_err().contains("gave up after 3 attempts"));
        let mut calls = 0;
        let r: Result<(), String> = p.run("POST /x", "", "the server", &|_| {}, |_| {
            calls += 1;
            Attempt::Refused("400".into())
        });
        assert_eq!((calls, r.unwrap_err()), (1, "POST /x: 400".to_string()));
    }
}
