//! Stripe's rate limit, kept on our side: at most so many requests a second per
//! account (by default 100 in live mode and 25 in test mode, Stripe's documented
//! limits; `rate_limit` under `[stripe]`), so that the requests of every run — and,
//! behind a shared gate, of every server — stay under it together. A request waits
//! for its turn before each attempt; a `429` that comes anyway is backed off as any
//! other retry ([`crate::retry`]).

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Stripe's limit in live mode: requests a second.
pub const LIVE_PER_SECOND: u32 = 100;
/// Stripe's limit in test mode.
pub const TEST_PER_SECOND: u32 = 25;

/// Where the requests to Stripe take their turn.
pub trait RateGate: Send + Sync {
    /// Block until one more request of `account` (a fingerprint of the key, never
    /// the key) may be sent this second, `per_second` being the limit. `Err`: the
    /// gate cannot be asked now (the request is tried again later, as after a
    /// network error).
    fn wait_turn(&self, account: &str, per_second: u32) -> Result<(), String>;
}

/// A gate in one process: fixed one-second windows of the system clock.
#[derive(Debug, Default)]
pub struct LocalGate {
    /// Per account: the window (Unix seconds) and the turns given in it.
    windows: Mutex<Vec<(String, i64, u32)>>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl LocalGate {
    /// A turn in the current window, or how long to wait for the next one.
    fn try_turn(&self, account: &str, per_second: u32, now_ms: i64) -> Result<(), Duration> {
        let second = now_ms.div_euclid(1000);
        let Ok(mut windows) = self.windows.lock() else {
            return Ok(());
        };
        let slot = match windows.iter_mut().position(|(a, _, _)| a == account) {
            Some(i) => &mut windows[i],
            None => {
                windows.push((account.to_string(), second, 0));
                let last = windows.len() - 1;
                &mut windows[last]
            }
        };
        if slot.1 != second {
            *slot = (account.to_string(), second, 0);
        }
        if slot.2 < per_second.max(1) {
            slot.2 += 1;
            return Ok(());
        }
        let wait = (second + 1) * 1000 - now_ms;
        Err(Duration::from_millis(
            u64::try_from(wait.max(1)).unwrap_or(1),
        ))
    }
}

impl RateGate for LocalGate {
    fn wait_turn(&self, account: &str, per_second: u32) -> Result<(), String> {
        loop {
            match self.try_turn(account, per_second, now_ms()) {
                Ok(()) => return Ok(()),
                Err(wait) => std::thread::sleep(wait),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_gives_its_turns_then_says_how_long_to_wait() {
        let gate = LocalGate::default();
        let t = 1_000_000_250;
        for _ in 0..3 {
            assert_eq!(gate.try_turn("a", 3, t), Ok(()));
        }
        assert_eq!(
            gate.try_turn("a", 3, t + 100),
            Err(Duration::from_millis(650))
        );
        // Another account has its own turns.
        assert_eq!(gate.try_turn("b", 3, t + 100), Ok(()));
        // The next second starts afresh.
        assert_eq!(gate.try_turn("a", 3, t + 750), Ok(()));
    }

    #[test]
    fn waiting_spreads_requests_over_seconds() {
        let gate = LocalGate::default();
        let start = std::time::Instant::now();
        // 12 turns at 5 a second need at least two more windows after the first.
        for _ in 0..12 {
            gate.wait_turn("acct", 5).unwrap();
        }
        assert!(
            start.elapsed() >= Duration::from_millis(1000),
            "{:?}",
            start.elapsed()
        );
    }
}
