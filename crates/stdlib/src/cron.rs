//! Cron schedules: five fields read in an IANA time zone.
//!
//! A schedule is `minute hour day-of-month month day-of-week` (or one of `@hourly`,
//! `@daily`, `@midnight`, `@weekly`, `@monthly`, `@yearly`, `@annually`), read in the
//! time zone it names ("America/New_York", "UTC").
//!
//! - A slot is a local wall-clock time that matches the fields, in the schedule's zone.
//! - A local time that occurs twice (clocks go back) fires once, at its first
//!   occurrence (the earlier offset).
//! - A local time that does not exist (clocks go forward) fires at the instant the
//!   clocks change: 02:30 on the spring-forward day in America/New_York fires at
//!   03:00 EDT (07:00 UTC). Several such times in one gap fire once.
//! - Every slot fires at most once, and slots are strictly increasing.
//!
//! The fields: minute 0–59, hour 0–23, day of month 1–31, month 1–12 or JAN–DEC,
//! day of week 0–7 (0 and 7 are Sunday) or SUN–SAT; names in any case. A field is
//! `*`, a value, a range `a-b`, a list `a,b-c`, or a step `*/n`, `a-b/n`, `a/n` (from
//! `a` to the end of the field). When both day fields are restricted, a day matches if
//! either does; when one of them starts with `*`, both must match (as in Vixie cron),
//! so a `*` leaves the other to decide.

use std::ops::Range;

use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp};

use crate::suggest::levenshtein;

/// A problem in a cron expression or time zone: `span` is a byte range inside the
/// text given (the cron text, or the zone name), for a diagnostic label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CronError {
    pub message: String,
    pub help: String,
    pub span: Range<usize>,
}

/// Which of the two texts given to [`Schedule::parse`] is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZoneOrCron {
    Cron(CronError),
    Zone(CronError),
}

/// A parsed schedule: the fields as sets of values, and its time zone.
#[derive(Clone, Debug)]
pub struct Schedule {
    cron: String,
    zone: String,
    tz: TimeZone,
    /// One bit a value: minutes 0–59, hours 0–23, days 1–31, months 1–12, weekdays
    /// 0–6 (Sunday 0).
    sets: [u64; 5],
    /// Whether the day-of-month and day-of-week fields start with `*`.
    days_star: bool,
    weekdays_star: bool,
}

/// How far [`Schedule::next_after`] and [`Schedule::previous`] look, in years.
const HORIZON_YEARS: i32 = 30;
/// The most slots [`Schedule::slots`] returns.
const MAX_SLOTS: usize = 100_000;

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const MONTH_WORDS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const WEEKDAY_WORDS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const MACROS: [(&str, &str); 7] = [
    ("@hourly", "0 * * * *"),
    ("@daily", "0 0 * * *"),
    ("@midnight", "0 0 * * *"),
    ("@weekly", "0 0 * * 0"),
    ("@monthly", "0 0 1 * *"),
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
];
const FIELDS_HELP: &str =
    "write `minute hour day-of-month month day-of-week`, e.g. `0 9 * * 1` for 09:00 every Monday";

/// The five fields, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Minute,
    Hour,
    Day,
    Month,
    Weekday,
}

const FIELDS: [Field; 5] = [
    Field::Minute,
    Field::Hour,
    Field::Day,
    Field::Month,
    Field::Weekday,
];

impl Field {
    /// The smallest and largest values written (7 is Sunday again in day of week).
    fn bounds(self) -> (u32, u32) {
        match self {
            Field::Minute => (0, 59),
            Field::Hour => (0, 23),
            Field::Day => (1, 31),
            Field::Month => (1, 12),
            Field::Weekday => (0, 7),
        }
    }

    /// The values `*` stands for (day of week: 0–6, Sunday once).
    fn star(self) -> (u32, u32) {
        match self {
            Field::Weekday => (0, 6),
            f => f.bounds(),
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Field::Minute => "a minute",
            Field::Hour => "an hour",
            Field::Day => "a day of the month",
            Field::Month => "a month",
            Field::Weekday => "a day of the week",
        }
    }

    fn names(self) -> &'static [&'static str] {
        match self {
            Field::Month => &MONTHS,
            Field::Weekday => &WEEKDAYS,
            _ => &[],
        }
    }

    /// The name's value: months count from 1, weekdays from 0.
    fn name_value(self, index: usize) -> u32 {
        match self {
            Field::Month => index as u32 + 1,
            _ => index as u32,
        }
    }
}

fn cron_error(
    message: impl Into<String>,
    help: impl Into<String>,
    span: Range<usize>,
) -> CronError {
    CronError {
        message: message.into(),
        help: help.into(),
        span,
    }
}

impl Schedule {
    /// Parse `cron` (five fields, or @hourly @daily @midnight @weekly @monthly @yearly
    /// @annually) in `zone` (an IANA name such as "America/New_York", or "UTC").
    /// Errors in the cron text have spans in `cron`; an unknown zone is `Err` with span
    /// `0..zone.len()` and a did-you-mean in `help` when a close zone name exists.
    pub fn parse(cron: &str, zone: &str) -> Result<Schedule, ZoneOrCron> {
        let fields = parse_cron(cron).map_err(ZoneOrCron::Cron)?;
        let tz = TimeZone::get(zone).map_err(|_| ZoneOrCron::Zone(unknown_zone(zone)))?;
        Ok(Schedule {
            cron: cron.to_string(),
            zone: zone.to_string(),
            tz,
            sets: fields.sets,
            days_star: fields.days_star,
            weekdays_star: fields.weekdays_star,
        })
    }

    /// The text as written.
    pub fn cron(&self) -> &str {
        &self.cron
    }

    /// The zone name as written.
    pub fn zone(&self) -> &str {
        &self.zone
    }

    /// The first slot strictly after `t` (Unix seconds), or `None` if there is none
    /// within 30 years.
    pub fn next_after(&self, t: i64) -> Option<i64> {
        let local = self.tz.to_datetime(Timestamp::from_second(t).ok()?);
        let mut c = Civil::from(local);
        let limit = c.y + HORIZON_YEARS;
        // A local time at or before `t`'s own maps to an instant at or before `t`.
        c.mi += 1;
        loop {
            let l = self.next_local(c, limit)?;
            let at = self.instant(l)?;
            if at > t {
                return Some(at);
            }
            // Only in a fold (the second pass of the local times) or a gap.
            c = l;
            c.mi += 1;
        }
    }

    /// The slots in the half-open range `[from, to)`, in order; at most 100,000.
    pub fn slots(&self, from: i64, to: i64) -> Vec<i64> {
        let mut out = Vec::new();
        let Some(mut t) = from.checked_sub(1) else {
            return out;
        };
        while out.len() < MAX_SLOTS {
            match self.next_after(t) {
                Some(s) if s < to => {
                    out.push(s);
                    t = s;
                }
                _ => break,
            }
        }
        out
    }

    /// Whether `t` is exactly a slot.
    pub fn is_slot(&self, t: i64) -> bool {
        self.previous(t) == Some(t)
    }

    /// The last slot at or before `t`, or `None` if there is none within 30 years.
    pub fn previous(&self, t: i64) -> Option<i64> {
        let ts = Timestamp::from_second(t).ok()?;
        let mut local = self.tz.to_datetime(ts);
        // In the second pass of a fold, the fold's local times fired on their first
        // pass, before `t`: start the search from the fold's end.
        if let AmbiguousOffset::Fold { before, after } =
            self.tz.to_ambiguous_timestamp(local).offset()
        {
            let width = (before.seconds() - after.seconds()).abs();
            if let Ok(later) = local.checked_add(SignedDuration::from_secs(i64::from(width))) {
                local = later;
            }
        }
        let mut c = Civil::from(local);
        let limit = c.y - HORIZON_YEARS;
        loop {
            let l = self.previous_local(c, limit)?;
            let at = self.instant(l)?;
            if at <= t {
                return Some(at);
            }
            c = l;
            c.mi -= 1;
        }
    }

    /// The schedule in plain words, e.g. "at 09:00 on day 1 of every month,
    /// America/New_York".
    pub fn describe(&self) -> String {
        format!(
            "{} {}, {}",
            self.describe_time(),
            self.describe_days(),
            self.zone
        )
    }

    /// RFC 3339 text of `t` in the schedule's zone, with its offset:
    /// "2026-03-08T03:00:00-04:00" (the Unix seconds as written if out of range).
    pub fn format_local(&self, t: i64) -> String {
        match Timestamp::from_second(t) {
            Ok(ts) => ts
                .to_zoned(self.tz.clone())
                .strftime("%Y-%m-%dT%H:%M:%S%:z")
                .to_string(),
            Err(_) => t.to_string(),
        }
    }

    fn has(&self, field: Field, value: i32) -> bool {
        (0..64).contains(&value) && self.sets[field as usize] & (1 << value) != 0
    }

    fn day_matches(&self, y: i32, mo: i32, d: i32) -> bool {
        let dom = self.has(Field::Day, d);
        let dow = self.has(Field::Weekday, weekday(y, mo, d));
        if self.days_star || self.weekdays_star {
            dom && dow
        } else {
            dom || dow
        }
    }

    /// The first local time at or after `c` that matches the fields, skipping whole
    /// months, days and hours that do not; `None` past the year `limit`. `c` may be
    /// one past the end of its minute, hour or day.
    fn next_local(&self, mut c: Civil, limit: i32) -> Option<Civil> {
        let [minutes, hours, _, months, _] = self.sets;
        loop {
            if c.y > limit {
                return None;
            }
            if !self.has(Field::Month, c.mo) {
                c = match next_bit(months, c.mo + 1, 12) {
                    Some(mo) => Civil::start_of(c.y, mo),
                    None => Civil::start_of(c.y + 1, next_bit(months, 1, 12)?),
                };
                continue;
            }
            if c.d > days_in_month(c.y, c.mo) {
                c = Civil::start_of(c.y, c.mo + 1);
                continue;
            }
            if !self.day_matches(c.y, c.mo, c.d) {
                c = c.next_day();
                continue;
            }
            match next_bit(hours, c.h, 23) {
                None => {
                    c = c.next_day();
                    continue;
                }
                Some(h) if h != c.h => {
                    c.h = h;
                    c.mi = 0;
                }
                Some(_) => {}
            }
            match next_bit(minutes, c.mi, 59) {
                None => {
                    c.h += 1;
                    c.mi = 0;
                }
                Some(mi) => {
                    c.mi = mi;
                    return Some(c);
                }
            }
        }
    }

    /// The last local time at or before `c` that matches the fields; `None` before
    /// the year `limit`. `c` may be one before the start of its minute, hour or day.
    fn previous_local(&self, mut c: Civil, limit: i32) -> Option<Civil> {
        let [minutes, hours, _, months, _] = self.sets;
        loop {
            if c.y < limit {
                return None;
            }
            if c.d < 1 {
                c = Civil::end_of_month_before(c.y, c.mo);
                continue;
            }
            if !self.has(Field::Month, c.mo) {
                c = match previous_bit(months, c.mo - 1, 1) {
                    Some(mo) => Civil::end_of(c.y, mo),
                    None => Civil::end_of(c.y - 1, previous_bit(months, 12, 1)?),
                };
                continue;
            }
            c.d = c.d.min(days_in_month(c.y, c.mo));
            if !self.day_matches(c.y, c.mo, c.d) {
                c = c.previous_day();
                continue;
            }
            match previous_bit(hours, c.h, 0) {
                None => {
                    c = c.previous_day();
                    continue;
                }
                Some(h) if h != c.h => {
                    c.h = h;
                    c.mi = 59;
                }
                Some(_) => {}
            }
            match previous_bit(minutes, c.mi, 0) {
                None => {
                    c.h -= 1;
                    c.mi = 59;
                }
                Some(mi) => {
                    c.mi = mi;
                    return Some(c);
                }
            }
        }
    }

    /// The instant a matching local time fires at (see the module's rule).
    fn instant(&self, c: Civil) -> Option<i64> {
        let dt = DateTime::new(
            i16::try_from(c.y).ok()?,
            i8::try_from(c.mo).ok()?,
            i8::try_from(c.d).ok()?,
            i8::try_from(c.h).ok()?,
            i8::try_from(c.mi).ok()?,
            0,
            0,
        )
        .ok()?;
        let local = c.seconds();
        match self.tz.to_ambiguous_timestamp(dt).offset() {
            AmbiguousOffset::Unambiguous { offset } => Some(local - i64::from(offset.seconds())),
            // Twice: the first pass, whose offset is the larger.
            AmbiguousOffset::Fold { before, after } => {
                Some(local - i64::from(before.seconds().max(after.seconds())))
            }
            // Never: the instant the clocks change, the first transition after this
            // time read with the larger offset (which falls before the change).
            AmbiguousOffset::Gap { before, after } => {
                let early = local - i64::from(before.seconds().max(after.seconds()));
                let late = local - i64::from(before.seconds().min(after.seconds()));
                let change = self
                    .tz
                    .following(Timestamp::from_second(early).ok()?)
                    .next()
                    .map(|tr| tr.timestamp().as_second());
                Some(change.filter(|&c| c <= late).unwrap_or(late))
            }
        }
    }

    fn describe_time(&self) -> String {
        let [minutes, hours, ..] = self.sets;
        let mins = bits(minutes);
        let hrs = bits(hours);
        if mins.len() * hrs.len() <= 4 {
            let times: Vec<String> = hrs
                .iter()
                .flat_map(|h| mins.iter().map(move |m| format!("{h:02}:{m:02}")))
                .collect();
            return format!("at {}", join_words(&times));
        }
        let minute = match step_of(minutes, Field::Minute) {
            Some(1) => "every minute".to_string(),
            Some(n) => format!("every {n} minutes"),
            None if mins.len() == 1 => format!("at minute {}", mins[0]),
            None => format!("at minutes {}", list_words(&mins, |v| v.to_string())),
        };
        let hour = match step_of(hours, Field::Hour) {
            Some(1) if mins.len() == 1 => " of every hour".to_string(),
            Some(1) => String::new(),
            Some(n) => format!(" of every {} hour", ordinal(n)),
            None if hrs.len() == 1 => format!(" in hour {}", hrs[0]),
            None => format!(" in hours {}", list_words(&hrs, |v| v.to_string())),
        };
        minute + &hour
    }

    fn describe_days(&self) -> String {
        let [_, _, days, months, weekdays] = self.sets;
        let month_list = list_words(&bits(months), |m| {
            MONTH_WORDS
                .get(m as usize - 1)
                .copied()
                .unwrap_or("?")
                .to_string()
        });
        let every_month = step_of(months, Field::Month) == Some(1);
        let day_list = bits(days);
        let dom = format!(
            "on {} {} of {}",
            if day_list.len() == 1 { "day" } else { "days" },
            list_words(&day_list, |d| d.to_string()),
            if every_month {
                "every month".to_string()
            } else {
                month_list.clone()
            }
        );
        let dow = format!(
            "on {}",
            list_words(&bits(weekdays), |d| {
                WEEKDAY_WORDS
                    .get(d as usize)
                    .copied()
                    .unwrap_or("?")
                    .to_string()
            })
        );
        let in_months = if every_month {
            String::new()
        } else {
            format!(" in {month_list}")
        };
        let all_days = step_of(days, Field::Day) == Some(1);
        let all_weekdays = step_of(weekdays, Field::Weekday) == Some(1);
        match (all_days, all_weekdays) {
            (true, true) => format!("every day{in_months}"),
            (true, false) => format!("{dow}{in_months}"),
            (false, true) => dom,
            (false, false) if self.days_star || self.weekdays_star => {
                format!("{dom}, if it is {}", &dow[3..])
            }
            (false, false) => format!("{dom}, and {dow}{in_months}"),
        }
    }
}

/// The parsed fields, before the time zone is looked up.
struct Fields {
    sets: [u64; 5],
    days_star: bool,
    weekdays_star: bool,
}

fn parse_cron(cron: &str) -> Result<Fields, CronError> {
    let words = split_words(cron);
    let Some((first, first_span)) = words.first().map(|(w, s)| (*w, s.clone())) else {
        return Err(cron_error(
            "the schedule is empty",
            FIELDS_HELP,
            0..cron.len(),
        ));
    };
    if first.starts_with('@') {
        return parse_macro(first, &first_span, &words);
    }
    let whole = first_span.start..words.last().map_or(cron.len(), |w| w.1.end);
    if words.len() != 5 {
        let message = format!(
            "a schedule has five fields: minute hour day-of-month month day-of-week; this has {}",
            words.len()
        );
        return Err(match words.len() {
            6 if looks_like_year(words[5].0) => cron_error(
                message,
                "there is no year field: remove the last one",
                words[5].1.clone(),
            ),
            6 => cron_error(
                message,
                "schedules run on whole minutes and have no seconds field: \
                 if the first field is seconds, remove it",
                first_span,
            ),
            7 => cron_error(
                message,
                "schedules run on whole minutes and have no seconds or year field: \
                 remove the first and the last",
                whole,
            ),
            _ => cron_error(message, FIELDS_HELP, whole),
        });
    }
    let mut sets = [0u64; 5];
    for (i, (&field, (text, span))) in FIELDS.iter().zip(&words).enumerate() {
        sets[i] = parse_field(text, span.start, field)?;
    }
    let fields = Fields {
        sets,
        days_star: words[2].0.starts_with('*'),
        weekdays_star: words[4].0.starts_with('*'),
    };
    if fields.weekdays_star {
        never_fires(&fields, words[2].1.clone())?;
    }
    Ok(fields)
}

/// The words of `text` with their byte ranges.
fn split_words(text: &str) -> Vec<(&str, Range<usize>)> {
    let mut words = Vec::new();
    let mut start = None;
    for (i, ch) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        match (start, ch.is_whitespace()) {
            (None, false) => start = Some(i),
            (Some(s), true) => {
                words.push((&text[s..i], s..i));
                start = None;
            }
            _ => {}
        }
    }
    words
}

fn looks_like_year(word: &str) -> bool {
    word.split(['-', ',', '/'])
        .all(|p| p.len() == 4 && p.bytes().all(|b| b.is_ascii_digit()))
}

fn parse_macro(
    word: &str,
    span: &Range<usize>,
    words: &[(&str, Range<usize>)],
) -> Result<Fields, CronError> {
    let known = MACROS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(word));
    let Some((_, fields)) = known else {
        let names: Vec<&str> = MACROS.iter().map(|m| m.0).collect();
        let help = match closest(&word.to_ascii_lowercase(), &names, 3) {
            Some(name) => format!("did you mean `{name}`?"),
            None if word.eq_ignore_ascii_case("@reboot") => {
                "a flow has no boot to run at; use a time, e.g. `@daily`".to_string()
            }
            None => format!("the names are {}", join_words(&names)),
        };
        return Err(cron_error(
            format!("`{word}` is not a schedule name"),
            help,
            span.clone(),
        ));
    };
    if let Some((_, extra)) = words.get(1) {
        let end = words.last().map_or(extra.end, |w| w.1.end);
        return Err(cron_error(
            format!("`{word}` is a whole schedule: nothing follows it"),
            format!("`{word}` means `{fields}`; remove the rest"),
            extra.start..end,
        ));
    }
    parse_cron(fields)
}

/// One field: its values as bits. `at` is the field's byte offset in the schedule.
fn parse_field(text: &str, at: usize, field: Field) -> Result<u64, CronError> {
    let mut set = 0u64;
    let mut start = 0;
    for item in text.split(',') {
        let span = at + start..at + start + item.len();
        if item.is_empty() {
            // Label the comma next to the missing part.
            let comma = if start < text.len() {
                at + start
            } else {
                at + start - 1
            };
            return Err(cron_error(
                format!(
                    "a list in the {} field has an empty part",
                    field_word(field)
                ),
                "separate values with single commas and no spaces, e.g. `1,15`",
                comma..comma + 1,
            ));
        }
        set |= parse_item(item, span.start, field)?;
        start += item.len() + 1;
    }
    Ok(set)
}

fn field_word(field: Field) -> &'static str {
    match field {
        Field::Minute => "minute",
        Field::Hour => "hour",
        Field::Day => "day-of-month",
        Field::Month => "month",
        Field::Weekday => "day-of-week",
    }
}

/// `*`, `a`, `a-b`, each with an optional `/step`.
fn parse_item(item: &str, at: usize, field: Field) -> Result<u64, CronError> {
    let (base, step) = match item.split_once('/') {
        Some((base, step)) => (base, Some(step)),
        None => (item, None),
    };
    let (lo, hi) = if base == "*" {
        field.star()
    } else if base.is_empty() {
        return Err(cron_error(
            "a step needs something to step through",
            "write `*/n` or `a-b/n`, e.g. `*/15`",
            at..at + item.len(),
        ));
    } else if let Some((a, b)) = base.split_once('-') {
        let a_at = at;
        let b_at = at + a.len() + 1;
        if a.is_empty() || b.is_empty() {
            return Err(cron_error(
                format!("`{base}` is missing an end of its range"),
                "a range is two values, e.g. `1-5`",
                at..at + base.len(),
            ));
        }
        let lo = parse_value(a, a_at, field)?;
        let hi = parse_value(b, b_at, field)?;
        if lo > hi {
            let help = if field == Field::Weekday && hi == 0 {
                format!("Sunday is also 7: write `{a}-7`")
            } else {
                let (min, max) = field.bounds();
                format!(
                    "a range goes from low to high: write `{b}-{a}`, or for one that wraps \
                     around, two ranges: `{a}-{max},{min}-{b}`"
                )
            };
            return Err(cron_error(
                format!("`{base}` is a reversed range"),
                help,
                at..at + base.len(),
            ));
        }
        (lo, hi)
    } else {
        let v = parse_value(base, at, field)?;
        match step {
            Some(_) => (v, field.bounds().1),
            None => (v, v),
        }
    };
    let step = match step {
        None => 1,
        Some(s) => {
            let s_at = at + base.len() + 1;
            let span = s_at..s_at + s.len();
            let n = match s.parse::<u32>() {
                Ok(n) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => n,
                _ => {
                    return Err(cron_error(
                        if s.is_empty() {
                            "a step needs a number after `/`".to_string()
                        } else {
                            format!("`{s}` is not a step")
                        },
                        "a step is a whole number, e.g. `*/15` for every 15th",
                        if s.is_empty() {
                            at..at + item.len()
                        } else {
                            span
                        },
                    ))
                }
            };
            let (min, max) = field.bounds();
            if n == 0 {
                return Err(cron_error(
                    "a step of 0 never moves on",
                    "a step is 1 or more, e.g. `*/15`",
                    span,
                ));
            }
            if n > max - min {
                return Err(cron_error(
                    format!(
                        "a step of {n} is wider than the {} field ({min}–{max})",
                        field_word(field)
                    ),
                    format!(
                        "it would match only the first value: write that value instead of `{item}`"
                    ),
                    span,
                ));
            }
            n
        }
    };
    let mut set = 0u64;
    let mut v = lo;
    while v <= hi {
        // Day of week 7 is Sunday, 0.
        let bit = if field == Field::Weekday && v == 7 {
            0
        } else {
            v
        };
        set |= 1 << bit;
        v += step;
    }
    Ok(set)
}

/// A number or name in a field, in range.
fn parse_value(text: &str, at: usize, field: Field) -> Result<u32, CronError> {
    let span = at..at + text.len();
    let (min, max) = field.bounds();
    if text.bytes().all(|b| b.is_ascii_digit()) {
        let n = text.parse::<u32>().unwrap_or(u32::MAX);
        if n < min || n > max {
            let shown = text.trim_start_matches('0');
            let shown = if shown.is_empty() { "0" } else { shown };
            let help = match field {
                Field::Weekday => {
                    "days of the week are 0–7 (0 and 7 are Sunday) or SUN–SAT".to_string()
                }
                Field::Month => "months are 1–12 or JAN–DEC".to_string(),
                Field::Day if n == 0 => "days of the month count from 1".to_string(),
                _ => format!("write a value from {min} to {max}"),
            };
            return Err(cron_error(
                format!("{shown} is not {} ({min}–{max})", field.noun()),
                help,
                span,
            ));
        }
        return Ok(n);
    }
    if text.bytes().all(|b| b.is_ascii_alphabetic()) {
        let upper = text.to_ascii_uppercase();
        if let Some(i) = field.names().iter().position(|n| *n == upper) {
            return Ok(field.name_value(i));
        }
        return Err(unknown_name(text, span, field));
    }
    let (message, help) = match text {
        "?" => (
            "`?` is not used here".to_string(),
            "write `*` for any value".to_string(),
        ),
        _ if text.contains(['L', 'W', '#']) => (
            format!("`{text}` is not supported"),
            "only `*`, numbers, names, `a-b`, lists `a,b` and steps `/n` are; \
             for the last day of a month, run on day 1 of the next"
                .to_string(),
        ),
        _ => (
            format!("`{text}` is not {}", field.noun()),
            format!("write a number from {min} to {max}{}", names_hint(field)),
        ),
    };
    Err(cron_error(message, help, span))
}

fn names_hint(field: Field) -> &'static str {
    match field {
        Field::Month => " or a name JAN–DEC",
        Field::Weekday => " or a name SUN–SAT",
        _ => "",
    }
}

fn unknown_name(text: &str, span: Range<usize>, field: Field) -> CronError {
    let upper = text.to_ascii_uppercase();
    let (min, max) = field.bounds();
    let other = match field {
        Field::Month => Some((Field::Weekday, "a day of the week, not a month")),
        Field::Weekday => Some((Field::Month, "a month, not a day of the week")),
        _ => None,
    };
    if let Some((other, what)) = other {
        if other.names().contains(&upper.as_str()) {
            return cron_error(
                format!("{text} is {what}"),
                format!(
                    "the {} field is {min}–{max}{}",
                    field_word(field),
                    names_hint(field)
                ),
                span,
            );
        }
    }
    if field.names().is_empty() {
        let named = MONTHS.contains(&upper.as_str()) || WEEKDAYS.contains(&upper.as_str());
        return cron_error(
            format!("`{text}` is not {}", field.noun()),
            if named {
                format!(
                    "names are for months and days of the week; write a number from {min} to {max}"
                )
            } else {
                format!("write a number from {min} to {max}")
            },
            span,
        );
    }
    // "January", "Tues": the name is the first three letters.
    let prefix = field
        .names()
        .iter()
        .find(|n| upper.len() > 3 && upper.starts_with(**n));
    let suggestion = prefix
        .copied()
        .or_else(|| closest(&upper, field.names(), 1));
    let help = match suggestion {
        Some(name) => format!("did you mean `{name}`?"),
        None => format!("the names are {}", field.names().join(", ")),
    };
    cron_error(format!("`{text}` is not {}", field.noun()), help, span)
}

/// A schedule whose days of the month no chosen month has (`0 0 30 2 *`).
fn never_fires(fields: &Fields, span: Range<usize>) -> Result<(), CronError> {
    let [_, _, days, months, _] = fields.sets;
    let month_list = bits(months);
    // February has a 29th in leap years.
    let longest = |m: u32| {
        if m == 2 {
            29
        } else {
            days_in_month(2001, m as i32) as u32
        }
    };
    let fires = month_list
        .iter()
        .any(|&m| bits(days).iter().any(|&d| d <= longest(m)));
    if fires {
        return Ok(());
    }
    let first = bits(days).first().copied().unwrap_or(31);
    let names: Vec<String> = month_list
        .iter()
        .map(|&m| {
            MONTH_WORDS
                .get(m as usize - 1)
                .copied()
                .unwrap_or("?")
                .to_string()
        })
        .collect();
    let verb = if names.len() == 1 { "has" } else { "have" };
    Err(cron_error(
        format!("{} never {verb} a {}", join_words(&names), ordinal(first)),
        "this schedule would never run: choose a day every chosen month has",
        span,
    ))
}

/// An unknown time zone, with the closest known name if there is one.
fn unknown_zone(zone: &str) -> CronError {
    let help = match suggest_zone(zone) {
        Some(name) => format!("did you mean `{name}`?"),
        None => "use an IANA time zone name, such as `America/New_York`, `Europe/Paris` or `UTC`"
            .to_string(),
    };
    cron_error(format!("unknown time zone `{zone}`"), help, 0..zone.len())
}

fn suggest_zone(zone: &str) -> Option<String> {
    let squash = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_alphanumeric() || *c == '/' || *c == '+')
            .flat_map(char::to_lowercase)
            .collect()
    };
    let want = squash(zone);
    if want.is_empty() {
        return None;
    }
    let want_last = want.rsplit('/').next().unwrap_or("");
    let mut best: Option<(usize, String)> = None;
    for name in jiff::tz::db().available() {
        let name = name.as_str();
        let have = squash(name);
        let score = if have == want {
            0
        } else if !want_last.is_empty() && have.rsplit('/').next() == Some(want_last) {
            1
        } else {
            let d = levenshtein(&have, &want);
            if d > (want.len() / 5).max(1) {
                continue;
            }
            d + 1
        };
        if best.as_ref().is_none_or(|(b, _)| score < *b) {
            best = Some((score, name.to_string()));
        }
    }
    best.map(|(_, name)| name)
}

/// The name within `max` edits of `word`, if one is closest.
fn closest<'a>(word: &str, names: &[&'a str], max: usize) -> Option<&'a str> {
    names
        .iter()
        .map(|n| {
            (
                levenshtein(&n.to_ascii_lowercase(), &word.to_ascii_lowercase()),
                *n,
            )
        })
        .filter(|(d, _)| *d <= max)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

/// A local date and time to the minute; fields may be one past (or before) their
/// range while searching.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Civil {
    y: i32,
    mo: i32,
    d: i32,
    h: i32,
    mi: i32,
}

impl From<DateTime> for Civil {
    fn from(dt: DateTime) -> Civil {
        Civil {
            y: i32::from(dt.year()),
            mo: i32::from(dt.month()),
            d: i32::from(dt.day()),
            h: i32::from(dt.hour()),
            mi: i32::from(dt.minute()),
        }
    }
}

impl Civil {
    fn start_of(y: i32, mo: i32) -> Civil {
        Civil {
            y,
            mo,
            d: 1,
            h: 0,
            mi: 0,
        }
    }

    fn end_of(y: i32, mo: i32) -> Civil {
        Civil {
            y,
            mo,
            d: days_in_month(y, mo),
            h: 23,
            mi: 59,
        }
    }

    fn end_of_month_before(y: i32, mo: i32) -> Civil {
        if mo <= 1 {
            Civil::end_of(y - 1, 12)
        } else {
            Civil::end_of(y, mo - 1)
        }
    }

    fn next_day(self) -> Civil {
        Civil {
            d: self.d + 1,
            h: 0,
            mi: 0,
            ..self
        }
    }

    fn previous_day(self) -> Civil {
        Civil {
            d: self.d - 1,
            h: 23,
            mi: 59,
            ..self
        }
    }

    /// Seconds since 1970-01-01T00:00 of this wall-clock time, read as UTC.
    fn seconds(self) -> i64 {
        days_from_civil(self.y, self.mo, self.d) * 86_400
            + i64::from(self.h) * 3_600
            + i64::from(self.mi) * 60
    }
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, mo: i32) -> i32 {
    match mo {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i32, mo: i32, d: i32) -> i64 {
    let y = i64::from(if mo <= 2 { y - 1 } else { y });
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((mo + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Day of the week, Sunday 0.
fn weekday(y: i32, mo: i32, d: i32) -> i32 {
    // 1970-01-01 was a Thursday.
    (days_from_civil(y, mo, d) + 4).rem_euclid(7) as i32
}

/// The lowest set bit in `from..=max`.
fn next_bit(set: u64, from: i32, max: i32) -> Option<i32> {
    if from > max || !(0..64).contains(&from) || max >= 64 {
        return None;
    }
    let window = (set >> from) << from;
    let window = window & (u64::MAX >> (63 - max));
    (window != 0).then(|| window.trailing_zeros() as i32)
}

/// The highest set bit in `min..=from`.
fn previous_bit(set: u64, from: i32, min: i32) -> Option<i32> {
    if from < min || min < 0 || from >= 64 {
        return None;
    }
    let window = set & (u64::MAX >> (63 - from));
    let window = (window >> min) << min;
    (window != 0).then(|| 63 - window.leading_zeros() as i32)
}

fn bits(set: u64) -> Vec<u32> {
    (0..64).filter(|b| set & (1 << b) != 0).collect()
}

/// `Some(n)` when the field is exactly every n-th value from its start (1: all of them).
fn step_of(set: u64, field: Field) -> Option<u32> {
    let (min, max) = field.star();
    let values = bits(set);
    let second = *values.get(1)?;
    if values.first() != Some(&min) {
        return None;
    }
    let n = second - min;
    let expected: Vec<u32> = (min..=max).step_by(n as usize).collect();
    (values == expected).then_some(n)
}

/// `1, 2, 5 to 9 and 12`: runs of three or more as ranges.
fn list_words(values: &[u32], name: impl Fn(u32) -> String) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < values.len() {
        let mut j = i;
        while j + 1 < values.len() && values[j + 1] == values[j] + 1 {
            j += 1;
        }
        if j >= i + 2 {
            parts.push(format!("{} to {}", name(values[i]), name(values[j])));
        } else {
            parts.extend(values[i..=j].iter().map(|&v| name(v)));
        }
        i = j + 1;
    }
    join_words(&parts)
}

fn join_words<S: AsRef<str>>(parts: &[S]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.as_ref().to_string(),
        [rest @ .., last] => {
            let rest: Vec<&str> = rest.iter().map(AsRef::as_ref).collect();
            format!("{} and {}", rest.join(", "), last.as_ref())
        }
    }
}

fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unix seconds of an RFC 3339 instant.
    fn at(text: &str) -> i64 {
        text.parse::<Timestamp>()
            .expect("a valid instant")
            .as_second()
    }

    fn schedule(cron: &str, zone: &str) -> Schedule {
        Schedule::parse(cron, zone).unwrap_or_else(|e| panic!("`{cron}` in {zone}: {e:?}"))
    }

    /// The next `n` slots after `from`, as UTC text.
    fn next_n(s: &Schedule, from: &str, n: usize) -> Vec<String> {
        let mut t = at(from);
        let mut out = Vec::new();
        for _ in 0..n {
            t = s.next_after(t).expect("a next slot");
            out.push(utc(t));
        }
        out
    }

    fn utc(t: i64) -> String {
        Timestamp::from_second(t).expect("in range").to_string()
    }

    fn cron_err(cron: &str) -> CronError {
        match Schedule::parse(cron, "UTC") {
            Err(ZoneOrCron::Cron(e)) => e,
            other => panic!("`{cron}` should be refused, got {other:?}"),
        }
    }

    #[test]
    fn monthly_at_nine_in_new_york_and_in_utc() {
        let ny = schedule("0 9 1 * *", "America/New_York");
        assert_eq!(
            next_n(&ny, "2026-12-06T00:00:00Z", 3),
            [
                "2027-01-01T14:00:00Z",
                "2027-02-01T14:00:00Z",
                "2027-03-01T14:00:00Z"
            ]
        );
        let utc_schedule = schedule("0 9 1 * *", "UTC");
        assert_eq!(
            next_n(&utc_schedule, "2026-12-06T00:00:00Z", 3),
            [
                "2027-01-01T09:00:00Z",
                "2027-02-01T09:00:00Z",
                "2027-03-01T09:00:00Z"
            ]
        );
        // Summer time: 09:00 EDT is 13:00 UTC.
        assert_eq!(
            next_n(&ny, "2027-06-15T00:00:00Z", 1),
            ["2027-07-01T13:00:00Z"]
        );
    }

    #[test]
    fn a_time_skipped_by_spring_forward_fires_when_the_clocks_change() {
        let s = schedule("30 2 * * *", "America/New_York");
        assert_eq!(
            next_n(&s, "2026-03-07T00:00:00Z", 3),
            [
                "2026-03-07T07:30:00Z",
                "2026-03-08T07:00:00Z",
                "2026-03-09T06:30:00Z"
            ]
        );
        assert_eq!(
            s.format_local(at("2026-03-08T07:00:00Z")),
            "2026-03-08T03:00:00-04:00"
        );
        assert!(s.is_slot(at("2026-03-08T07:00:00Z")));
        assert!(!s.is_slot(at("2026-03-08T07:30:00Z")));

        // Every quarter hour across the change: 01:45 EST, then 03:00 EDT once (02:00,
        // 02:15, 02:30 and 02:45 do not exist and fire together at the change).
        let q = schedule("*/15 * * * *", "America/New_York");
        let slots = q.slots(at("2026-03-08T06:00:00Z"), at("2026-03-08T08:00:00Z"));
        let texts: Vec<String> = slots.iter().map(|&t| utc(t)).collect();
        assert_eq!(
            texts,
            [
                "2026-03-08T06:00:00Z",
                "2026-03-08T06:15:00Z",
                "2026-03-08T06:30:00Z",
                "2026-03-08T06:45:00Z",
                "2026-03-08T07:00:00Z",
                "2026-03-08T07:15:00Z",
                "2026-03-08T07:30:00Z",
                "2026-03-08T07:45:00Z",
            ]
        );
        let locals: Vec<String> = slots.iter().map(|&t| q.format_local(t)).collect();
        assert!(locals.iter().all(|l| !l.contains("T02:")), "{locals:?}");
        assert!(slots.windows(2).all(|w| w[0] < w[1]));

        // Havana moves its clocks at midnight: 00:30 fires at 01:00 CDT.
        let havana = schedule("30 0 * * *", "America/Havana");
        assert_eq!(
            next_n(&havana, "2026-03-08T00:00:00Z", 1),
            ["2026-03-08T05:00:00Z"]
        );
        assert_eq!(
            havana.format_local(at("2026-03-08T05:00:00Z")),
            "2026-03-08T01:00:00-04:00"
        );
    }

    #[test]
    fn a_time_repeated_by_fall_back_fires_once_at_its_first_pass() {
        let s = schedule("30 1 * * *", "America/New_York");
        let day = s.slots(at("2026-11-01T00:00:00Z"), at("2026-11-02T00:00:00Z"));
        assert_eq!(day, [at("2026-11-01T05:30:00Z")]);
        assert_eq!(
            s.next_after(at("2026-11-01T05:30:00Z")),
            Some(at("2026-11-02T06:30:00Z"))
        );
        assert!(!s.is_slot(at("2026-11-01T06:30:00Z")));
        assert_eq!(
            s.previous(at("2026-11-01T06:45:00Z")),
            Some(at("2026-11-01T05:30:00Z"))
        );
        assert_eq!(
            s.format_local(at("2026-11-01T05:30:00Z")),
            "2026-11-01T01:30:00-04:00"
        );

        let hourly = schedule("0 * * * *", "America/New_York");
        let slots = hourly.slots(at("2026-11-01T04:00:00Z"), at("2026-11-02T05:00:00Z"));
        let locals: Vec<String> = slots.iter().map(|&t| hourly.format_local(t)).collect();
        assert_eq!(locals.len(), 24, "{locals:?}");
        assert_eq!(
            locals.iter().filter(|l| l.contains("T01:00")).count(),
            1,
            "{locals:?}"
        );
        assert!(slots.contains(&at("2026-11-01T05:00:00Z")));
        assert!(!slots.contains(&at("2026-11-01T06:00:00Z")));
        assert!(slots.contains(&at("2026-11-01T07:00:00Z")));
    }

    #[test]
    fn day_of_month_and_day_of_week_match_either_when_both_are_restricted() {
        // 2027-01: the 1st is a Friday; Mondays are the 4th, 11th, 18th, 25th.
        let s = schedule("0 0 1,15 * MON", "UTC");
        let days: Vec<String> = s
            .slots(at("2027-01-01T00:00:00Z"), at("2027-02-01T00:00:00Z"))
            .into_iter()
            .map(|t| utc(t)[..10].to_string())
            .collect();
        assert_eq!(
            days,
            [
                "2027-01-01",
                "2027-01-04",
                "2027-01-11",
                "2027-01-15",
                "2027-01-18",
                "2027-01-25"
            ]
        );
        // Only the day of week restricted: Mondays alone.
        let mondays = schedule("0 0 * * 1", "UTC");
        assert_eq!(
            mondays
                .slots(at("2027-01-01T00:00:00Z"), at("2027-02-01T00:00:00Z"))
                .len(),
            4
        );
        // Only the day of month: the 15th alone.
        let mid = schedule("0 0 15 * *", "UTC");
        assert_eq!(
            next_n(&mid, "2027-01-01T00:00:00Z", 2),
            ["2027-01-15T00:00:00Z", "2027-02-15T00:00:00Z"]
        );
    }

    #[test]
    fn names_steps_ranges_and_sunday_as_seven() {
        let a = schedule("0 12 * jan-Mar sun", "UTC");
        let b = schedule("0 12 * 1-3 7", "UTC");
        let c = schedule("0 12 * 1,2,3 0", "UTC");
        let from = at("2026-12-01T00:00:00Z");
        let to = at("2028-01-01T00:00:00Z");
        let first = a.slots(from, to);
        assert_eq!(first.len(), 13, "the Sundays of January to March 2027");
        assert_eq!(first, b.slots(from, to));
        assert_eq!(first, c.slots(from, to));
        assert_eq!(utc(first[0]), "2027-01-03T12:00:00Z");

        let steps = schedule("*/20 9-17/4 * * *", "UTC");
        let times: Vec<String> = steps
            .slots(at("2027-01-01T00:00:00Z"), at("2027-01-02T00:00:00Z"))
            .into_iter()
            .map(|t| utc(t)[11..16].to_string())
            .collect();
        assert_eq!(
            times,
            ["09:00", "09:20", "09:40", "13:00", "13:20", "13:40", "17:00", "17:20", "17:40"]
        );
        let from_ten = schedule("10/25 0 1 1 *", "UTC");
        let minutes: Vec<String> = from_ten
            .slots(at("2027-01-01T00:00:00Z"), at("2027-01-01T01:00:00Z"))
            .into_iter()
            .map(|t| utc(t)[14..16].to_string())
            .collect();
        assert_eq!(minutes, ["10", "35"]);
        // Weekdays 5-7: Friday, Saturday, Sunday.
        let weekend = schedule("0 0 * * 5-7", "UTC");
        assert_eq!(
            weekend
                .slots(at("2027-01-04T00:00:00Z"), at("2027-01-11T00:00:00Z"))
                .len(),
            3
        );
    }

    #[test]
    fn shorthands_are_their_five_fields() {
        let from = at("2026-12-06T10:30:00Z");
        for (name, fields) in MACROS {
            let short = schedule(name, "Europe/Paris");
            let long = schedule(fields, "Europe/Paris");
            assert_eq!(short.next_after(from), long.next_after(from), "{name}");
            assert_eq!(short.cron(), name);
        }
        let daily = schedule("@Daily", "UTC");
        assert_eq!(
            next_n(&daily, "2026-12-06T10:30:00Z", 2),
            ["2026-12-07T00:00:00Z", "2026-12-08T00:00:00Z"]
        );
        assert_eq!(
            next_n(&schedule("@weekly", "UTC"), "2026-12-06T10:30:00Z", 1),
            ["2026-12-13T00:00:00Z"]
        );
    }

    #[test]
    fn a_rare_day_is_found_without_walking_the_minutes() {
        let s = schedule("0 0 29 2 *", "UTC");
        let from = at("2027-01-01T00:00:00Z");
        let started = std::time::Instant::now();
        assert_eq!(s.next_after(from), Some(at("2028-02-29T00:00:00Z")));
        assert_eq!(
            next_n(&s, "2027-01-01T00:00:00Z", 3),
            [
                "2028-02-29T00:00:00Z",
                "2032-02-29T00:00:00Z",
                "2036-02-29T00:00:00Z"
            ]
        );
        assert!(started.elapsed().as_secs() < 2);
        // Friday the 13th, in either-day form: every 13th and every Friday.
        let f13 = schedule("0 0 13 * 5", "UTC");
        assert_eq!(
            next_n(&f13, "2027-01-13T00:00:00Z", 1),
            ["2027-01-15T00:00:00Z"]
        );
        assert_eq!(
            s.previous(at("2027-01-01T00:00:00Z")),
            Some(at("2024-02-29T00:00:00Z"))
        );
        // A 29th of February that is a Sunday (the day-of-week field starts with `*`,
        // so both must match): 28 years apart.
        let sunday = schedule("0 0 29 2 */7", "UTC");
        assert_eq!(
            next_n(&sunday, "2033-01-01T00:00:00Z", 1),
            ["2060-02-29T00:00:00Z"]
        );
        // Nothing before the end of time that can be written: none, and no panic.
        assert_eq!(s.next_after(at("9997-01-01T00:00:00Z")), None);
        assert_eq!(s.next_after(i64::MAX), None);
        assert_eq!(s.previous(i64::MIN), None);
        assert!(s.slots(i64::MIN, i64::MAX).is_empty());
    }

    #[test]
    fn every_error_has_a_message_help_and_exact_span() {
        let e = cron_err("0 9 32 * *");
        assert_eq!(e.message, "32 is not a day of the month (1–31)");
        assert_eq!(e.span, 4..6);

        let e = cron_err("61 * * * *");
        assert_eq!(e.message, "61 is not a minute (0–59)");
        assert_eq!(e.span, 0..2);
        assert_eq!(cron_err("0 24 * * *").span, 2..4);
        assert_eq!(cron_err("0 0 * 13 *").message, "13 is not a month (1–12)");
        assert_eq!(cron_err("0 0 * * 8").span, 8..9);
        assert_eq!(cron_err("0 0 0 * *").help, "days of the month count from 1");

        let e = cron_err("0 9 * * * *");
        assert_eq!(
            e.message,
            "a schedule has five fields: minute hour day-of-month month day-of-week; this has 6"
        );
        assert_eq!(e.span, 0..1, "the seconds field");
        assert!(e.help.contains("seconds"), "{}", e.help);
        let e = cron_err("0 9 * * * 2027");
        assert_eq!(e.span, 10..14, "the year field");
        assert!(e.help.contains("year"));
        let e = cron_err("  0 9 *");
        assert!(e.message.ends_with("this has 3"));
        assert_eq!(e.span, 2..7);
        assert_eq!(cron_err("   ").message, "the schedule is empty");

        let e = cron_err("*/0 * * * *");
        assert_eq!(e.message, "a step of 0 never moves on");
        assert_eq!(e.span, 2..3);
        assert_eq!(cron_err("*/x * * * *").span, 2..3);
        assert_eq!(cron_err("*/ * * * *").span, 0..2);
        assert_eq!(cron_err("*/60 * * * *").span, 2..4);

        let e = cron_err("0 0 * * 5-2");
        assert_eq!(e.message, "`5-2` is a reversed range");
        assert_eq!(e.span, 8..11);
        assert_eq!(
            cron_err("0 0 * * SAT-SUN").help,
            "Sunday is also 7: write `SAT-7`"
        );
        assert_eq!(cron_err("0 0 * * 1-").span, 8..10);

        let e = cron_err("0 0 * Janury *");
        assert_eq!(e.message, "`Janury` is not a month");
        assert_eq!(e.span, 6..12);
        assert_eq!(e.help, "did you mean `JAN`?");
        assert_eq!(cron_err("0 0 * * Tues").help, "did you mean `TUE`?");
        assert_eq!(cron_err("0 0 * * MOM").help, "did you mean `MON`?");
        let e = cron_err("0 0 * MON *");
        assert_eq!(e.message, "MON is a day of the week, not a month");
        assert_eq!(e.span, 6..9);
        assert_eq!(cron_err("0 JAN * * *").span, 2..5);

        let e = cron_err("1,,2 * * * *");
        assert_eq!(e.message, "a list in the minute field has an empty part");
        assert_eq!(e.span, 2..3);
        assert_eq!(cron_err("0 0 * * 1,").span, 9..10);
        assert_eq!(cron_err("0 0 * * ,1").span, 8..9);

        let e = cron_err("0 0 ? * MON");
        assert_eq!(e.message, "`?` is not used here");
        assert_eq!(e.span, 4..5);
        assert_eq!(cron_err("0 0 L * *").span, 4..5);

        let e = cron_err("0 0 30 2 *");
        assert_eq!(e.message, "February never has a 30th");
        assert_eq!(e.span, 4..6);
        let e = cron_err("0 0 31 4,6,9,11 *");
        assert_eq!(
            e.message,
            "April, June, September and November never have a 31st"
        );
        assert_eq!(e.span, 4..6);
        // With a day of week, the OR rule makes it fire on those weekdays.
        assert!(Schedule::parse("0 0 30 2 MON", "UTC").is_ok());
        assert!(Schedule::parse("0 0 29 2 *", "UTC").is_ok());

        let e = cron_err("@hourli");
        assert_eq!(e.help, "did you mean `@hourly`?");
        assert_eq!(e.span, 0..7);
        assert_eq!(cron_err("@daily 5").span, 7..8);
    }

    #[test]
    fn an_unknown_zone_suggests_the_closest_name() {
        let e = match Schedule::parse("0 9 * * *", "America/NewYork") {
            Err(ZoneOrCron::Zone(e)) => e,
            other => panic!("{other:?}"),
        };
        assert_eq!(e.message, "unknown time zone `America/NewYork`");
        assert_eq!(e.span, 0..15);
        assert_eq!(e.help, "did you mean `America/New_York`?");
        let by_city = match Schedule::parse("0 9 * * *", "Paris") {
            Err(ZoneOrCron::Zone(e)) => e.help,
            other => panic!("{other:?}"),
        };
        assert_eq!(by_city, "did you mean `Europe/Paris`?");
        let nothing = match Schedule::parse("0 9 * * *", "Nowhere/Qqqqqq") {
            Err(ZoneOrCron::Zone(e)) => e.help,
            other => panic!("{other:?}"),
        };
        assert!(nothing.starts_with("use an IANA time zone name"));
        // The cron text is read first.
        assert!(matches!(
            Schedule::parse("61 * * * *", "Nowhere"),
            Err(ZoneOrCron::Cron(_))
        ));
        let s = schedule("0 9 * * *", "Europe/Paris");
        assert_eq!(s.zone(), "Europe/Paris");
    }

    #[test]
    fn is_slot_previous_and_format_local() {
        let s = schedule("0 9 * * 1-5", "Europe/Paris");
        // 2027-01-04 is a Monday; 09:00 CET is 08:00 UTC.
        let monday = at("2027-01-04T08:00:00Z");
        assert!(s.is_slot(monday));
        assert!(!s.is_slot(monday + 1));
        assert!(!s.is_slot(at("2027-01-03T08:00:00Z")), "a Sunday");
        assert_eq!(s.previous(monday), Some(monday));
        assert_eq!(s.previous(monday - 1), Some(at("2027-01-01T08:00:00Z")));
        assert_eq!(s.format_local(monday), "2027-01-04T09:00:00+01:00");
        assert_eq!(
            schedule("0 9 * * *", "UTC").format_local(monday),
            "2027-01-04T08:00:00+00:00"
        );
    }

    #[test]
    fn descriptions_in_plain_words() {
        let cases = [
            (
                "0 9 1 * *",
                "America/New_York",
                "at 09:00 on day 1 of every month, America/New_York",
            ),
            ("*/15 * * * *", "UTC", "every 15 minutes every day, UTC"),
            (
                "0 * * * *",
                "UTC",
                "at minute 0 of every hour every day, UTC",
            ),
            (
                "30 8 * * 1-5",
                "Europe/Paris",
                "at 08:30 on Monday to Friday, Europe/Paris",
            ),
            ("0 0 1 1 *", "UTC", "at 00:00 on day 1 of January, UTC"),
            (
                "0 9,17 * * SAT,SUN",
                "UTC",
                "at 09:00 and 17:00 on Sunday and Saturday, UTC",
            ),
            (
                "0 0 13 * 5",
                "UTC",
                "at 00:00 on day 13 of every month, and on Friday, UTC",
            ),
            (
                "0 12 * 6-8 *",
                "UTC",
                "at 12:00 every day in June to August, UTC",
            ),
        ];
        for (cron, zone, words) in cases {
            assert_eq!(schedule(cron, zone).describe(), words, "{cron}");
        }
    }

    #[test]
    fn next_after_each_slot_is_the_next_slot() {
        let cases = [
            ("*/7 * * * *", "America/New_York"),
            ("30 1,2 * * *", "America/New_York"),
            ("15 2 * * 0", "Europe/London"),
            ("0 0 1,15 * FRI", "Australia/Lord_Howe"),
            ("30 0 * * *", "America/Havana"),
            ("*/30 * * * *", "Asia/Kolkata"),
        ];
        for (cron, zone) in cases {
            let s = schedule(cron, zone);
            // A year with both changes of the clocks, in either hemisphere.
            let slots = s.slots(at("2026-01-01T00:00:00Z"), at("2027-01-01T00:00:00Z"));
            assert!(!slots.is_empty(), "{cron} in {zone}");
            for w in slots.windows(2) {
                assert!(w[0] < w[1], "{cron} in {zone}");
                assert_eq!(s.next_after(w[0]), Some(w[1]), "{cron} in {zone}");
                assert_eq!(s.next_after(w[1] - 1), Some(w[1]), "{cron} in {zone}");
                assert_eq!(s.previous(w[1] - 1), Some(w[0]), "{cron} in {zone}");
                assert!(s.is_slot(w[0]), "{cron} in {zone}");
            }
        }
    }

    #[test]
    fn a_year_of_minutes_is_listed_in_order() {
        let s = schedule("* * * * *", "America/New_York");
        let slots = s.slots(at("2026-01-01T00:00:00Z"), at("2027-01-01T00:00:00Z"));
        assert_eq!(slots.len(), MAX_SLOTS, "capped");
        let day = s.slots(at("2026-03-08T00:00:00Z"), at("2026-03-09T00:00:00Z"));
        assert_eq!(day.len(), 24 * 60, "UTC minutes, none lost or doubled");
    }
}
