//! Timestamps for the run log and the logs: Unix milliseconds, shown as RFC 3339 UTC.

use std::sync::atomic::{AtomicI64, Ordering::Relaxed};
use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A testing aid: an RFC 3339 time at which the server's clock starts (it then runs at
/// real speed). The clock decides when schedules fire, when waits end and when runs
/// are recorded; signatures are always checked against the real time.
pub const CLOCK_ENV: &str = "FLOW_SERVE_CLOCK";

/// The server's clock minus the real time, in milliseconds (0 unless
/// [`CLOCK_ENV`] is set).
static CLOCK_OFFSET: AtomicI64 = AtomicI64::new(0);

/// Start the server's clock at `ms` (Unix milliseconds), now.
pub fn start_clock_at(ms: i64) {
    CLOCK_OFFSET.store(ms.saturating_sub(now_ms()), Relaxed);
}

/// The server's clock, in Unix milliseconds: the real time unless [`CLOCK_ENV`] set
/// it elsewhere.
pub fn clock_ms() -> i64 {
    now_ms().saturating_add(CLOCK_OFFSET.load(Relaxed))
}

/// A point in time written `2026-03-08T06:59:58Z` (or with an offset), in Unix
/// milliseconds; an age such as `2h` is not one.
pub fn parse_instant(text: &str) -> Result<i64, String> {
    let t = text.trim();
    if !t.contains('T') && !t.contains(' ') {
        return Err(format!(
            "`{t}` is not a date and time: write 2026-03-08T06:59:58Z"
        ));
    }
    parse_since(t, 0)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `2024-05-01T12:00:00.123Z`.
pub fn rfc3339_ms(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        s / 3600,
        s / 60 % 60,
        s % 60,
        ms.rem_euclid(1000)
    )
}

/// `2024-05-01T12:00:00Z`.
pub fn rfc3339(ms: i64) -> String {
    let mut t = rfc3339_ms(ms);
    t.replace_range(19..23, "");
    t
}

/// A point in time for `--since`: `2024-05-01`, `2024-05-01T12:00:00Z` (or with an
/// offset `+02:00`, or no zone for UTC), or an age: `90s`, `15m`, `2h`, `7d`.
pub fn parse_since(text: &str, now_ms: i64) -> Result<i64, String> {
    let t = text.trim();
    if let Some(unit) = t.chars().last().filter(|c| "smhd".contains(*c)) {
        let n = &t[..t.len() - 1];
        if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) {
            let n: i64 = n.parse().map_err(|_| format!("`{t}` is too large"))?;
            let unit_ms = match unit {
                's' => 1_000,
                'm' => 60_000,
                'h' => 3_600_000,
                _ => 86_400_000,
            };
            return n
                .checked_mul(unit_ms)
                .map(|d| now_ms - d)
                .ok_or_else(|| format!("`{t}` is too large"));
        }
    }
    let bad = || {
        format!("`{t}` is not a time: write 2024-05-01, 2024-05-01T12:00:00Z, or an age such as 15m, 2h, 7d")
    };
    let num = |s: &str| -> Result<i64, String> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse().map_err(|_| bad())
    };
    let (date, rest) = match t.split_once(['T', ' ']) {
        Some((d, r)) => (d, Some(r)),
        None => (t, None),
    };
    let mut parts = date.split('-');
    let (y, m, d) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(y), Some(m), Some(d), None) if y.len() == 4 => (num(y)?, num(m)?, num(d)?),
        _ => return Err(bad()),
    };
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(bad());
    }
    let mut secs = days_from_civil(y, m, d) * 86_400;
    if let Some(rest) = rest {
        let (clock, offset) = if let Some(c) = rest.strip_suffix(['Z', 'z']) {
            (c, 0)
        } else if let Some(i) = rest.rfind(['+', '-']) {
            let (c, o) = rest.split_at(i);
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let (oh, om) = o[1..].split_once(':').ok_or_else(bad)?;
            (c, sign * (num(oh)? * 3600 + num(om)? * 60))
        } else {
            (rest, 0)
        };
        let clock = clock.split('.').next().unwrap_or(clock);
        let mut hms = clock.split(':');
        let h = num(hms.next().ok_or_else(bad)?)?;
        let mi = num(hms.next().ok_or_else(bad)?)?;
        let s = match hms.next() {
            Some(s) => num(s)?,
            None => 0,
        };
        if h > 23 || mi > 59 || s > 60 || hms.next().is_some() {
            return Err(bad());
        }
        secs += h * 3600 + mi * 60 + s - offset;
    }
    Ok(secs * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_492_774_577_000), "2017-04-21T11:36:17Z");
        assert_eq!(
            parse_since("2017-04-21T11:36:17Z", 0),
            Ok(1_492_774_577_000)
        );
        assert_eq!(
            parse_since("2017-04-21T13:36:17+02:00", 0),
            Ok(1_492_774_577_000)
        );
        assert_eq!(parse_since("2017-04-21", 0), Ok(1_492_732_800_000));
        assert_eq!(parse_since("2h", 10_000_000), Ok(10_000_000 - 7_200_000));
        assert!(parse_since("yesterday", 0).is_err());
        assert!(parse_since("2017-13-01", 0).is_err());
        assert_eq!(parse_instant("2026-03-08T06:59:58Z"), Ok(1_772_953_198_000));
        assert!(parse_instant("2h").is_err());
        assert!(parse_instant("2026-03-08").is_err());
        for day in [0, 59, 60, 365, 10_000, 20_000, -1, -400] {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
    }
}
