//! What both parsers share: the limits on nesting, and the meaning of the text of a
//! string, an escape and a time literal.

use super::ast::StrPart;
use super::{Diagnostic, Span};

/// How deeply blocks and expressions may nest, and how many operators one
/// expression may chain: later stages walk the tree recursively, and no input may
/// exhaust the stack.
pub(crate) const MAX_NESTING: usize = 128;
pub(crate) const MAX_CHAIN: usize = 256;

pub(crate) fn unescape(s: &str) -> char {
    match s.as_bytes().get(1) {
        Some(b'n') => '\n',
        Some(b't') => '\t',
        Some(b'r') => '\r',
        Some(&b) => b as char,
        None => '\\',
    }
}

/// A date (`2024-01-01`, midnight UTC) or a date and time with `Z` or an offset, as
/// Unix seconds.
pub(crate) fn parse_time(text: &str, sp: Span) -> Result<i64, Diagnostic> {
    let bad = |why: &str| {
        Diagnostic::error("E0004", format!("`{text}` is not a valid time: {why}"))
            .with_label(sp, "not a valid time")
            .with_help("write a date as `2024-01-31`, or a time as `2024-01-31T09:00:00Z` (or with an offset, `+02:00`)")
    };
    let num = |s: &str| s.parse::<i64>().map_err(|_| bad("not a number"));
    let (date, time) = match text.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    let mut d = date.split('-');
    let (y, m, day) = match (d.next(), d.next(), d.next()) {
        (Some(y), Some(m), Some(dd)) => (num(y)?, num(m)?, num(dd)?),
        _ => return Err(bad("expected YEAR-MONTH-DAY")),
    };
    if !(1..=12).contains(&m) {
        return Err(bad("there is no such month"));
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if day < 1 || day > days_in[(m - 1) as usize] {
        return Err(bad("there is no such day in that month"));
    }
    // Days from 1970-01-01 (Howard Hinnant's days_from_civil).
    let yy = if m <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let mut secs = days * 86_400;
    if let Some(t) = time {
        let (clock, offset) = if let Some(c) = t.strip_suffix('Z') {
            (c, 0)
        } else {
            let at = t.rfind(['+', '-']).ok_or_else(|| bad("no zone"))?;
            let (c, z) = t.split_at(at);
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let (zh, zm) = z[1..]
                .split_once(':')
                .ok_or_else(|| bad("the offset is `+HH:MM`"))?;
            let (zh, zm) = (num(zh)?, num(zm)?);
            if zh > 23 || zm > 59 {
                return Err(bad("there is no such offset"));
            }
            (c, sign * (zh * 3600 + zm * 60))
        };
        let mut parts = clock.split(':');
        let h = num(parts.next().unwrap_or(""))?;
        let mi = num(parts.next().unwrap_or(""))?;
        let s = match parts.next() {
            Some(s) => num(s)?,
            None => 0,
        };
        if h > 23 || mi > 59 || s > 59 {
            return Err(bad("there is no such time of day"));
        }
        secs += h * 3600 + mi * 60 + s - offset;
    }
    Ok(secs)
}

pub(crate) fn push_text(parts: &mut Vec<StrPart>, s: &str) {
    if let Some(StrPart::Text(t)) = parts.last_mut() {
        t.push_str(s);
    } else {
        parts.push(StrPart::Text(s.to_string()));
    }
}
