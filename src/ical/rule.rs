//! One RRULE: parsing (UNTIL and COUNT kept apart, unknown parts
//! dropped) and expansion in wall time through the `rrule` crate, with
//! the start moved forward by whole periods for series without COUNT so
//! old series stay cheap. Plain fixed-period rules (SECONDLY to WEEKLY
//! without BY-parts) are computed by arithmetic instead, so neither an old
//! DTSTART nor a huge COUNT costs anything before the window. Every
//! expansion is capped by [`RAW_CAP`] and charged to the request's budget.

use std::str::FromStr;

use chrono::{Datelike, Duration, Months, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

use super::budget::{Exceeded, Meter};
use super::lines::Component;
use super::tz::{add, parse_naive, to_local, Zone};
use super::walk::{dry_after, remember_dry, DryKey, Steps};

/// Most dates pulled from one rule, whatever the window.
pub(crate) const RAW_CAP: usize = 200_000;

/// Most distinct RRULEs of one component that count (RFC 5545: "SHOULD
/// NOT occur more than once"; real data repeats one at most). Every rule
/// costs up to [`RAW_CAP`] dates and up to 100,000 empty loops of the
/// `rrule` crate, so without a cap the work of one small object grew with
/// its number of RRULE lines (found by the `recurrence` fuzz target: 128
/// lines, 3 s of CPU outside any budget). Strict parsing refuses more.
pub(crate) const MAX_RULES: usize = 4;

/// Most dates one period of a rule may hold ([`Rule::period_dates`]).
/// The `rrule` crate builds a whole period before it yields its first
/// date, so a 450-byte YEARLY rule listing every hour, minute and second
/// of every day (31.6 million dates a year) once took 7.3 s and 1.5 GB
/// per expansion, whatever the caps. Real rules stay far below: YEARLY on
/// weekdays at 9 times of day holds 2,349. Such rules are ignored, and
/// strict parsing refuses them.
pub(crate) const MAX_PERIOD_DATES: u64 = 100_000;

/// The RRULEs of a component that count: the first [`MAX_RULES`]
/// distinct values (repeats of one value are one rule), those that parse
/// and hold at most [`MAX_PERIOD_DATES`] dates a period.
pub(crate) fn rules_of(c: &Component) -> Vec<Rule> {
    let mut seen: Vec<&str> = Vec::new();
    for p in c.props("RRULE") {
        let v = p.value.trim();
        if !seen.contains(&v) {
            if seen.len() == MAX_RULES {
                break;
            }
            seen.push(v);
        }
    }
    seen.into_iter()
        .filter_map(Rule::parse)
        .filter(|r| r.period_dates() <= MAX_PERIOD_DATES)
        .collect()
}

/// Whether a component has an RRULE whose one period can hold more than
/// [`MAX_PERIOD_DATES`] dates (strict parsing refuses it).
pub(crate) fn too_dense_rule(c: &Component) -> bool {
    c.props("RRULE")
        .filter_map(|p| Rule::parse(&p.value))
        .any(|r| r.period_dates() > MAX_PERIOD_DATES)
}

/// Whether a component has more than [`MAX_RULES`] distinct RRULE values
/// (strict parsing refuses it).
pub(crate) fn too_many_rules(c: &Component) -> bool {
    let mut seen: Vec<&str> = Vec::new();
    for p in c.props("RRULE") {
        let v = p.value.trim();
        if !seen.contains(&v) {
            if seen.len() == MAX_RULES {
                return true;
            }
            seen.push(v);
        }
    }
    false
}

/// A parsed RRULE, UNTIL kept apart.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    parts: Vec<(String, String)>,
    pub until: Option<(NaiveDateTime, bool, bool)>,
    pub count: Option<u64>,
}

const KNOWN: &[&str] = &[
    "FREQ",
    "INTERVAL",
    "COUNT",
    "WKST",
    "BYSECOND",
    "BYMINUTE",
    "BYHOUR",
    "BYDAY",
    "BYMONTHDAY",
    "BYYEARDAY",
    "BYWEEKNO",
    "BYMONTH",
    "BYSETPOS",
];

impl Rule {
    pub(crate) fn parse(s: &str) -> Option<Rule> {
        // RFC 5545 §3.3.10: ASCII only. The `rrule` crate slices BYDAY
        // values by byte assuming ASCII and panicked on `BYDAY=-1éU`
        // (found by the `ical` fuzz target).
        if !s.is_ascii() {
            return None;
        }
        let mut parts = Vec::new();
        let (mut until, mut count) = (None, None);
        for kv in s.trim().split(';').filter(|p| !p.trim().is_empty()) {
            let (k, v) = kv.split_once('=')?;
            let k = k.trim().to_ascii_uppercase();
            let v = v.trim().to_ascii_uppercase();
            match k.as_str() {
                "UNTIL" => {
                    let (n, utc) = parse_naive(&v)?;
                    until = Some((n, utc, v.len() == 8));
                }
                "COUNT" => count = Some(v.parse().ok()?),
                _ if KNOWN.contains(&k.as_str()) => parts.push((k, v)),
                _ => {}
            }
        }
        parts.iter().find(|(k, _)| k == "FREQ")?;
        // The `rrule` crate's INTERVAL is a u16, and 0 yields nothing
        // after DTSTART (but the crate took it, and the cost of a walk
        // that ran dry was charged for it).
        if let Some((_, v)) = parts.iter().find(|(k, _)| k == "INTERVAL") {
            v.parse::<u16>().ok().filter(|i| *i > 0)?;
        }
        Some(Rule {
            parts,
            until,
            count,
        })
    }
    fn get(&self, k: &str) -> Option<&str> {
        self.parts
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
    /// The period in seconds of wall time of a plain fixed-period rule:
    /// FREQ=SECONDLY…WEEKLY with no BY-part (WKST then changes nothing),
    /// so that the k-th date is DTSTART + k·period. None for other rules.
    pub(crate) fn fixed_period(&self) -> Option<i64> {
        let unit: i64 = match self.get("FREQ")? {
            "SECONDLY" => 1,
            "MINUTELY" => 60,
            "HOURLY" => 3600,
            "DAILY" => 86_400,
            "WEEKLY" => 7 * 86_400,
            _ => return None,
        };
        if self.parts.iter().any(|(k, _)| k.starts_with("BY")) {
            return None;
        }
        // The `rrule` crate's INTERVAL is a u16.
        let interval = match self.get("INTERVAL") {
            None => 1,
            Some(v) => v.parse::<u16>().ok().filter(|i| *i > 0)?,
        };
        Some(unit * i64::from(interval))
    }
    /// The `rrule` crate's set for these parts (plus COUNT) from `base`;
    /// None when the crate refuses the rule, which then expands to nothing.
    fn build(&self, base: NaiveDateTime, parts: &[(String, String)]) -> Option<rrule::RRuleSet> {
        let mut text: Vec<String> = parts.iter().map(|(k, v)| format!("{k}={v}")).collect();
        if let Some(c) = self.count {
            text.push(format!("COUNT={}", c.min(u64::from(u32::MAX))));
        }
        let unvalidated = rrule::RRule::<rrule::Unvalidated>::from_str(&text.join(";")).ok()?;
        unvalidated
            .build(rrule::Tz::UTC.from_utc_datetime(&base))
            .ok()
    }
    /// Whether the rule expands at all from this DTSTART (see [`Rule::build`]).
    pub(crate) fn accepted(&self, start: NaiveDateTime) -> bool {
        self.build(start, &self.parts).is_some()
    }
    /// Most dates one period can hold (an upper bound): the days of the
    /// period times the times of day the BY-parts list.
    pub(crate) fn period_dates(&self) -> u64 {
        let n = |k: &str| self.get(k).map_or(1, |v| v.split(',').count() as u64);
        let (days, times) = match self.get("FREQ").unwrap_or("") {
            "YEARLY" => (366, n("BYHOUR") * n("BYMINUTE") * n("BYSECOND")),
            "MONTHLY" => (31, n("BYHOUR") * n("BYMINUTE") * n("BYSECOND")),
            "WEEKLY" => (7, n("BYHOUR") * n("BYMINUTE") * n("BYSECOND")),
            "DAILY" => (1, n("BYHOUR") * n("BYMINUTE") * n("BYSECOND")),
            "HOURLY" => (1, n("BYMINUTE") * n("BYSECOND")),
            "MINUTELY" => (1, n("BYSECOND")),
            _ => (1, 1),
        };
        days * times
    }
    /// The memo key of this rule for a series starting at `start`.
    fn dry_key(&self, start: NaiveDateTime) -> DryKey {
        let mut text: Vec<String> = self.parts.iter().map(|(k, v)| format!("{k}={v}")).collect();
        if let Some(c) = self.count {
            text.push(format!("COUNT={c}"));
        }
        (text.join(";"), start)
    }
    pub(crate) fn bounded(&self) -> bool {
        self.count.is_some() || self.until.is_some()
    }
    /// UNTIL as a wall time of the series' zone (DATE UNTIL covers its day).
    pub(crate) fn until_local(&self, zone: &Zone, tz: Tz) -> Option<NaiveDateTime> {
        let (n, utc, date) = self.until?;
        Some(if date {
            add(n, Duration::seconds(86_399))
        } else if utc {
            to_local(n.and_utc(), zone, tz)
        } else {
            n
        })
    }
}

/// Moves DTSTART forward by whole periods to just before `from` (no COUNT only),
/// making implicit BY-parts explicit so the pattern stays the same.
fn shift(
    start: NaiveDateTime,
    rule: &Rule,
    from: NaiveDateTime,
) -> (NaiveDateTime, Vec<(String, String)>) {
    let mut parts = rule.parts.clone();
    if rule.count.is_some() || from <= start {
        return (start, parts);
    }
    let interval: i64 = rule
        .get("INTERVAL")
        .and_then(|v| v.parse().ok())
        .filter(|v| *v > 0)
        .unwrap_or(1);
    let has = |k: &str| rule.get(k).is_some();
    let fixed = |unit: i64| {
        let n = (from - start).num_seconds() / unit / interval;
        add(
            start,
            Duration::seconds(
                n.saturating_sub(1)
                    .max(0)
                    .saturating_mul(interval)
                    .saturating_mul(unit),
            ),
        )
    };
    let months_between =
        (from.year() - start.year()) * 12 + from.month() as i32 - start.month() as i32;
    match rule.get("FREQ").unwrap_or("") {
        "SECONDLY" => (fixed(1), parts),
        "MINUTELY" => (fixed(60), parts),
        "HOURLY" => (fixed(3600), parts),
        "DAILY" => (fixed(86_400), parts),
        "WEEKLY" => (fixed(7 * 86_400), parts),
        "MONTHLY" => {
            let k = (i64::from(months_between) / interval - 1).max(0) * interval;
            if k == 0 {
                return (start, parts);
            }
            if !has("BYDAY") && !has("BYMONTHDAY") && !has("BYYEARDAY") {
                parts.push(("BYMONTHDAY".into(), start.day().to_string()));
            }
            let first = start.date().with_day(1).unwrap_or(start.date());
            match first.checked_add_months(Months::new(u32::try_from(k).unwrap_or(0))) {
                Some(d) => (d.and_time(start.time()), parts),
                None => (start, rule.parts.clone()),
            }
        }
        "YEARLY" => {
            let k = (i64::from(from.year() - start.year()) / interval - 1).max(0) * interval;
            if k == 0 {
                return (start, parts);
            }
            if !has("BYDAY") && !has("BYMONTHDAY") && !has("BYYEARDAY") && !has("BYWEEKNO") {
                parts.push(("BYMONTHDAY".into(), start.day().to_string()));
                if !has("BYMONTH") {
                    parts.push(("BYMONTH".into(), start.month().to_string()));
                }
            } else if has("BYMONTHDAY") && !has("BYMONTH") && !has("BYDAY") {
                // Yearly BYMONTHDAY without BYMONTH implies DTSTART's month.
                parts.push(("BYMONTH".into(), start.month().to_string()));
            }
            let year = i32::try_from(i64::from(start.year()) + k).unwrap_or(start.year());
            match NaiveDate::from_ymd_opt(year, 1, 1) {
                Some(d) => (d.and_time(start.time()), parts),
                None => (start, rule.parts.clone()),
            }
        }
        _ => (start, parts),
    }
}

/// Where an expansion of one rule looks, in the series' wall time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RuleBounds {
    /// First date of interest (inclusive).
    pub from: NaiveDateTime,
    /// Last date of interest (inclusive).
    pub stop: NaiveDateTime,
    /// UNTIL in wall time, if any.
    pub until: Option<NaiveDateTime>,
    /// Most dates for which the caller's `counts` holds.
    pub max: usize,
}

/// Dates of a rule.
pub(crate) struct Dates {
    /// The dates found, ascending.
    pub dates: Vec<NaiveDateTime>,
    /// Whether a cap stopped the expansion.
    pub truncated: bool,
}

/// Expands one rule in wall time: dates in `[from, stop]`, at most `max`
/// of them for which `counts` holds (the caller's look-behind margin before
/// its window does not use up the cap: with a cap of 1, as the time-range
/// test uses, the margin must not hide the first instance inside the
/// window). The series start itself is not added (callers add DTSTART).
///
/// A plain fixed-period rule ([`Rule::fixed_period`]) is computed by
/// arithmetic, starting at the first date of interest whatever COUNT says;
/// other rules go through the `rrule` crate. Every date generated is
/// charged to `meter`.
pub(crate) fn expand_rule(
    start: NaiveDateTime,
    rule: &Rule,
    b: RuleBounds,
    counts: impl Fn(NaiveDateTime) -> bool,
    meter: &mut Meter<'_>,
) -> Result<Dates, Exceeded> {
    let (base, parts) = shift(start, rule, b.from);
    // Both paths accept exactly the rules the `rrule` crate accepts.
    let Some(set) = rule.build(base, &parts) else {
        return Ok(Dates {
            dates: Vec::new(),
            truncated: false,
        });
    };
    if let Some(period) = rule.fixed_period() {
        return expand_fixed(start, period, rule.count, b, counts, meter);
    }
    let nothing = Dates {
        dates: Vec::new(),
        truncated: false,
    };
    let setpos = rule.get("BYSETPOS").is_some();
    let Some(steps) = Steps::of(rule.get("FREQ").unwrap_or(""), rule.get("INTERVAL"), setpos)
    else {
        return Ok(nothing);
    };
    // The crate's empty steps are charged too (see `walk`); a rule known
    // to have no date after some day is not asked for one.
    let key = rule.dry_key(start);
    let dry = dry_after(&key);
    if dry.is_some_and(|d| base > d) {
        return Ok(nothing);
    }
    let set = set.limit();
    let mut dates = (&set).into_iter();
    let mut out = Vec::new();
    let mut counted = 0usize;
    let (mut at, mut yielded) = (base, 0u64);
    loop {
        if yielded >= RAW_CAP as u64 {
            return Ok(Dates {
                dates: out,
                truncated: true,
            });
        }
        if yielded > 0 && dry.is_some_and(|d| at >= d) {
            break;
        }
        let Some(d) = dates.next() else {
            // COUNT used up, or the crate gave up after its empty steps.
            if rule
                .count
                .is_none_or(|c| yielded < c.min(u64::from(u32::MAX)))
            {
                let last = if yielded > 0 {
                    Some(at)
                } else {
                    base.checked_sub_signed(Duration::seconds(1))
                };
                if let Some(last) = last {
                    remember_dry(key, last);
                }
                meter.add(steps.dry(at))?;
            }
            break;
        };
        let n = d.naive_utc();
        meter.charge(1 + steps.between(at, n))?;
        (at, yielded) = (n, yielded + 1);
        if n > b.stop || b.until.is_some_and(|u| n > u) {
            break;
        }
        if n >= b.from && n >= start {
            if counts(n) {
                if counted >= b.max {
                    return Ok(Dates {
                        dates: out,
                        truncated: true,
                    });
                }
                counted += 1;
            }
            out.push(n);
        }
    }
    Ok(Dates {
        dates: out,
        truncated: false,
    })
}

/// Index range `first..=last` of the dates `start + k·period` of a plain
/// fixed-period rule that lie in `[from, stop]`, within COUNT and UNTIL;
/// None when there are none.
pub(crate) fn fixed_range(
    start: NaiveDateTime,
    period: i64,
    count: Option<u64>,
    until: Option<NaiveDateTime>,
    from: NaiveDateTime,
    stop: NaiveDateTime,
) -> Option<(i64, i64)> {
    // Seconds from the series start; NaiveDateTime's whole range fits.
    let secs = |t: NaiveDateTime| (t - start).num_seconds();
    if period <= 0 || stop < start {
        return None;
    }
    let first = if from <= start {
        0
    } else {
        secs(from).div_euclid(period) + i64::from(secs(from).rem_euclid(period) != 0)
    };
    let mut last = secs(stop) / period;
    if let Some(u) = until {
        if u < start {
            return None;
        }
        last = last.min(secs(u) / period);
    }
    if let Some(c) = count {
        let c = i64::try_from(c.min(u64::from(u32::MAX))).unwrap_or(i64::from(u32::MAX));
        last = last.min(c - 1);
    }
    (first <= last).then_some((first, last))
}

/// The k-th date of a plain fixed-period rule (k within [`fixed_range`]).
pub(crate) fn fixed_date(start: NaiveDateTime, period: i64, k: i64) -> NaiveDateTime {
    add(start, Duration::seconds(k.saturating_mul(period)))
}

fn expand_fixed(
    start: NaiveDateTime,
    period: i64,
    count: Option<u64>,
    b: RuleBounds,
    counts: impl Fn(NaiveDateTime) -> bool,
    meter: &mut Meter<'_>,
) -> Result<Dates, Exceeded> {
    let mut out = Vec::new();
    let Some((first, last)) = fixed_range(start, period, count, b.until, b.from, b.stop) else {
        return Ok(Dates {
            dates: out,
            truncated: false,
        });
    };
    let mut counted = 0usize;
    for (i, k) in (first..=last).enumerate() {
        if i >= RAW_CAP {
            return Ok(Dates {
                dates: out,
                truncated: true,
            });
        }
        meter.tick()?;
        let n = fixed_date(start, period, k);
        if counts(n) {
            if counted >= b.max {
                return Ok(Dates {
                    dates: out,
                    truncated: true,
                });
            }
            counted += 1;
        }
        out.push(n);
    }
    Ok(Dates {
        dates: out,
        truncated: false,
    })
}
