//! Working hours (issue 13 #2): weekly periods of wall-clock time in the
//! user's zone, with date exceptions (days off, one-off other hours) —
//! what RFC 7953 writes as AVAILABLE components — their text form, and
//! their expansion to UTC intervals, correct across DST changes (a
//! 09:00–17:00 day is 8 hours of wall-clock time on either side of one).
//!
//! Text form, as `calproxy configure --hours` takes it:
//! `Mon-Fri 09:00-12:00,13:00-17:00; Sat 10:00-12:00` — rules separated
//! by `;`, each days (`Mon`, `Mon-Fri`, `Fri-Mon`, `Mon,Wed`) then periods
//! (`HH:MM-HH:MM`, end after start, `24:00` for midnight). Exceptions:
//! `2026-12-24 off`, `2026-12-27 10:00-14:00`, `2026-12-28..2026-12-31 off`;
//! an exception replaces that date's weekly hours.
//!
//! Working hours are not busy time: they are an input of the slots
//! computation, and (when the user opts in) of the feed.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use super::tz::{to_utc, Zone};
use super::TimeRange;

/// Minutes in a day.
const DAY: u16 = 24 * 60;

/// Longest date range one exception may name.
pub const MAX_EXCEPTION_DAYS: i64 = 366;

const NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// A period of one day, minutes after local midnight, `[start, end)`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Period {
    /// Start, minutes after midnight (< 1440).
    pub start: u16,
    /// End, minutes after midnight (≤ 1440, after `start`).
    pub end: u16,
}

/// A user's working hours.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct WorkingHours {
    /// The periods of each weekday, Monday first, sorted and merged.
    pub weekly: [Vec<Period>; 7],
    /// Dates whose periods replace the weekly ones (empty: a day off).
    pub exceptions: BTreeMap<NaiveDate, Vec<Period>>,
}

/// Why a working-hours text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    /// A rule is not "days periods".
    #[error("{rule:?} is not \"DAYS HH:MM-HH:MM[,HH:MM-HH:MM…]\" (e.g. \"Mon-Fri 09:00-17:00\")")]
    Rule {
        /// The rule as written.
        rule: String,
    },
    /// A day name is not Mon, Tue, Wed, Thu, Fri, Sat or Sun.
    #[error("{day:?} is not a day (Mon, Tue, Wed, Thu, Fri, Sat, Sun)")]
    Day {
        /// The word as written.
        day: String,
    },
    /// A period is not HH:MM-HH:MM with its end after its start.
    #[error("{period:?} is not a period HH:MM-HH:MM ending after it starts (24:00 for midnight)")]
    Period {
        /// The period as written.
        period: String,
    },
    /// An exception is not "DATE[..DATE] off|periods".
    #[error(
        "{exception:?} is not \"YYYY-MM-DD[..YYYY-MM-DD] off\" or \"YYYY-MM-DD HH:MM-HH:MM[,…]\""
    )]
    Exception {
        /// The exception as written.
        exception: String,
    },
    /// An exception's date range is reversed or too long.
    #[error("an exception may cover 1 to {max} days, not {days}")]
    Range {
        /// Days named.
        days: i64,
        /// [`MAX_EXCEPTION_DAYS`].
        max: i64,
    },
}

fn day_of(word: &str) -> Result<usize, HoursError> {
    const FULL: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    let w = word.trim().to_ascii_lowercase();
    NAMES
        .iter()
        .position(|n| n.eq_ignore_ascii_case(&w))
        .or_else(|| FULL.iter().position(|f| *f == w))
        .ok_or_else(|| HoursError::Day { day: word.into() })
}

fn days_of(spec: &str) -> Result<Vec<usize>, HoursError> {
    let mut out = Vec::new();
    for part in spec.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (day_of(a)?, day_of(b)?);
                let mut d = a;
                loop {
                    out.push(d);
                    if d == b {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            None => out.push(day_of(part)?),
        }
    }
    Ok(out)
}

fn minutes(s: &str) -> Option<u16> {
    let (h, m) = s.trim().split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
}

/// Parses `HH:MM-HH:MM[,HH:MM-HH:MM…]`.
fn periods_of(spec: &str) -> Result<Vec<Period>, HoursError> {
    let mut out = Vec::new();
    for p in spec.split(',').map(str::trim) {
        let bad = || HoursError::Period { period: p.into() };
        let (a, b) = p.split_once('-').ok_or_else(bad)?;
        let (start, end) = (minutes(a).ok_or_else(bad)?, minutes(b).ok_or_else(bad)?);
        if end <= start {
            return Err(bad());
        }
        out.push(Period { start, end });
    }
    Ok(normalise(out))
}

/// Sorted, overlapping and adjacent periods joined.
fn normalise(mut v: Vec<Period>) -> Vec<Period> {
    v.sort();
    let mut out: Vec<Period> = Vec::new();
    for p in v {
        match out.last_mut() {
            Some(last) if p.start <= last.end => last.end = last.end.max(p.end),
            _ => out.push(p),
        }
    }
    out
}

fn fmt_min(m: u16) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

fn fmt_periods(ps: &[Period]) -> String {
    if ps.is_empty() {
        return "off".into();
    }
    ps.iter()
        .map(|p| format!("{}-{}", fmt_min(p.start), fmt_min(p.end)))
        .collect::<Vec<_>>()
        .join(",")
}

impl WorkingHours {
    /// Parses the weekly rules (`Mon-Fri 09:00-17:00; Sat 10:00-12:00`);
    /// rules for the same day add up.
    pub fn parse_weekly(spec: &str) -> Result<[Vec<Period>; 7], HoursError> {
        let mut weekly: [Vec<Period>; 7] = Default::default();
        for rule in spec
            .split([';', '\n'])
            .map(str::trim)
            .filter(|r| !r.is_empty())
        {
            let (days, periods) = rule
                .split_once(char::is_whitespace)
                .ok_or_else(|| HoursError::Rule { rule: rule.into() })?;
            let days = days_of(days)?;
            let periods = periods_of(periods)?;
            for d in days {
                weekly[d].extend(periods.iter().copied());
                weekly[d] = normalise(std::mem::take(&mut weekly[d]));
            }
        }
        Ok(weekly)
    }

    /// Parses one exception (`2026-12-24 off`, `2026-12-27 10:00-14:00`,
    /// `2026-12-28..2026-12-31 off`) into its dates and periods.
    pub fn parse_exception(spec: &str) -> Result<(Vec<NaiveDate>, Vec<Period>), HoursError> {
        let bad = || HoursError::Exception {
            exception: spec.into(),
        };
        let (dates, rest) = spec
            .trim()
            .split_once(char::is_whitespace)
            .ok_or_else(bad)?;
        let date = |s: &str| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| bad());
        let (from, to) = match dates.split_once("..") {
            Some((a, b)) => (date(a)?, date(b)?),
            None => (date(dates)?, date(dates)?),
        };
        let days = (to - from).num_days() + 1;
        if !(1..=MAX_EXCEPTION_DAYS).contains(&days) {
            return Err(HoursError::Range {
                days,
                max: MAX_EXCEPTION_DAYS,
            });
        }
        let rest = rest.trim();
        let periods = if rest.eq_ignore_ascii_case("off") {
            Vec::new()
        } else {
            periods_of(rest)?
        };
        let dates = (0..days).map(|i| from + Duration::days(i)).collect();
        Ok((dates, periods))
    }

    /// Whether any time is open at all (weekly or by an exception).
    pub fn is_empty(&self) -> bool {
        self.weekly.iter().all(Vec::is_empty) && self.exceptions.values().all(Vec::is_empty)
    }

    /// The weekly rules in their text form, consecutive days with equal
    /// periods joined (`Mon-Fri 09:00-17:00; Sat 10:00-12:00`); `none`
    /// when no day has hours.
    pub fn weekly_text(&self) -> String {
        let mut rules = Vec::new();
        let mut d = 0;
        while d < 7 {
            let mut e = d;
            while e + 1 < 7 && self.weekly[e + 1] == self.weekly[d] {
                e += 1;
            }
            if !self.weekly[d].is_empty() {
                let days = if e == d {
                    NAMES[d].to_string()
                } else {
                    format!("{}-{}", NAMES[d], NAMES[e])
                };
                rules.push(format!("{days} {}", fmt_periods(&self.weekly[d])));
            }
            d = e + 1;
        }
        if rules.is_empty() {
            "none".into()
        } else {
            rules.join("; ")
        }
    }

    /// The exceptions in their text form, one per date.
    pub fn exception_lines(&self) -> Vec<String> {
        self.exceptions_between(NaiveDate::MIN, NaiveDate::MAX)
    }

    /// The exceptions on dates `from..=to`, in their text form.
    pub fn exceptions_between(&self, from: NaiveDate, to: NaiveDate) -> Vec<String> {
        if to < from {
            return Vec::new();
        }
        self.exceptions
            .range(from..=to)
            .map(|(d, ps)| format!("{d} {}", fmt_periods(ps)))
            .collect()
    }

    /// The periods of one local date.
    pub fn periods_on(&self, date: NaiveDate) -> &[Period] {
        self.exceptions
            .get(&date)
            .unwrap_or(&self.weekly[date.weekday().num_days_from_monday() as usize])
    }

    /// The open time meeting `window`, in UTC, each period of each local
    /// date in `tz` mapped by the zone's rules for that date (RFC 5545
    /// §3.3.5: a wall time in a DST gap moves forward by the gap, an
    /// ambiguous one is its first occurrence); periods that join (a day
    /// ending at 24:00 and the next starting at 00:00) are one. Not
    /// clipped: an open period that began before the window keeps its start.
    pub fn open(&self, tz: chrono_tz::Tz, window: TimeRange) -> Vec<TimeRange> {
        let zone = Zone::Iana(tz);
        let local = |t: DateTime<Utc>| t.with_timezone(&tz).date_naive();
        let (first, last) = (
            local(window.start) - Duration::days(1),
            local(window.end) + Duration::days(1),
        );
        let mut out: Vec<TimeRange> = Vec::new();
        let mut date = first;
        while date <= last {
            for p in self.periods_on(date) {
                let at = |m: u16| {
                    let (d, m) = if m >= DAY {
                        (date + Duration::days(1), m - DAY)
                    } else {
                        (date, m)
                    };
                    let t = NaiveTime::from_hms_opt(u32::from(m / 60), u32::from(m % 60), 0)
                        .unwrap_or_default();
                    to_utc(d.and_time(t), &zone, tz)
                };
                let (start, end) = (at(p.start), at(p.end));
                if end <= start {
                    continue; // a period swallowed by a DST gap
                }
                match out.last_mut() {
                    Some(last) if start <= last.end => last.end = last.end.max(end),
                    _ => out.push(TimeRange { start, end }),
                }
            }
            date += Duration::days(1);
        }
        out.retain(|r| r.end > window.start && r.start < window.end);
        out
    }

    /// The time of `window` outside working hours (clipped to it).
    pub fn closed(&self, tz: chrono_tz::Tz, window: TimeRange) -> Vec<TimeRange> {
        let mut out = Vec::new();
        let mut at = window.start;
        for o in self.open(tz, window) {
            if o.start > at {
                out.push(TimeRange {
                    start: at,
                    end: o.start.min(window.end),
                });
            }
            at = at.max(o.end);
        }
        if at < window.end {
            out.push(TimeRange {
                start: at,
                end: window.end,
            });
        }
        out.retain(|r| r.end > r.start);
        out
    }
}

impl std::fmt::Display for WorkingHours {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = self.weekly_text();
        for e in self.exception_lines() {
            let _ = write!(s, "; except {e}");
        }
        f.write_str(&s)
    }
}

#[cfg(test)]
mod tests;
