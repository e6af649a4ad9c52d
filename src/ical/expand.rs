//! Recurrence expansion inside a window: RRULE (through the `rrule` crate,
//! expanded in local wall time so DST keeps the wall clock), RDATE (DATE,
//! DATE-TIME, PERIOD), EXDATE (DATE and DATE-TIME, lists, many lines) and
//! RECURRENCE-ID overrides, plus DTEND / DURATION / default durations.
//!
//! Rules are normalised before `rrule` sees them: UNTIL is removed and
//! applied here (converted to the series' wall time), unknown parts are
//! dropped, and for series without COUNT the start is moved forward by
//! whole periods to just before the window so old series stay cheap.
//! Every expansion is capped (`max_instances` inside the window and
//! [`RAW_CAP`] generated dates overall), so FREQ=SECONDLY cannot hang.
//! RANGE=THISANDFUTURE on RECURRENCE-ID is treated as a single override.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::str::FromStr;

use chrono::{
    DateTime, Datelike, Duration, Months, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc,
};
use chrono_tz::Tz;

use super::lines::Component;
use super::tz::{
    add, add_utc, local_date, parse_duration, parse_naive, parse_time, parse_time_str, to_local,
    to_utc, TimeVal, Zone, Zones,
};
use super::TimeRange;

/// Most dates pulled from one rule, whatever the window.
pub(crate) const RAW_CAP: usize = 200_000;

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

/// Expands one rule in wall time: dates in `[from, stop]`, at most `max`
/// of them for which `counts` holds (the caller's look-behind margin before
/// its window does not use up the cap: with a cap of 1, as the time-range
/// test uses, the margin must not hide the first instance inside the
/// window). The series start itself is not added (callers add DTSTART).
pub(crate) fn expand_rule(
    start: NaiveDateTime,
    rule: &Rule,
    until: Option<NaiveDateTime>,
    from: NaiveDateTime,
    stop: NaiveDateTime,
    max: usize,
    counts: impl Fn(NaiveDateTime) -> bool,
) -> (Vec<NaiveDateTime>, bool) {
    let (base, parts) = shift(start, rule, from);
    let mut text: Vec<String> = parts.iter().map(|(k, v)| format!("{k}={v}")).collect();
    if let Some(c) = rule.count {
        text.push(format!("COUNT={}", c.min(u64::from(u32::MAX))));
    }
    let Ok(unvalidated) = rrule::RRule::<rrule::Unvalidated>::from_str(&text.join(";")) else {
        return (Vec::new(), false);
    };
    let Ok(set) = unvalidated.build(rrule::Tz::UTC.from_utc_datetime(&base)) else {
        return (Vec::new(), false);
    };
    let set = set.limit();
    let mut out = Vec::new();
    let mut counted = 0usize;
    for (i, d) in (&set).into_iter().enumerate() {
        if i >= RAW_CAP {
            return (out, true);
        }
        let n = d.naive_utc();
        if n > stop || until.is_some_and(|u| n > u) {
            break;
        }
        if n >= from && n >= start {
            if counts(n) {
                if counted >= max {
                    return (out, true);
                }
                counted += 1;
            }
            out.push(n);
        }
    }
    (out, false)
}

/// Expands a rule string with no window (used for VTIMEZONE observances).
pub(crate) fn expand_naive(
    start: NaiveDateTime,
    rule: &str,
    from: NaiveDateTime,
    stop: NaiveDateTime,
    max: usize,
) -> Vec<NaiveDateTime> {
    let Some(rule) = Rule::parse(rule) else {
        return Vec::new();
    };
    let until = rule.until.map(|(n, _, date)| {
        if date {
            add(n, Duration::seconds(86_399))
        } else {
            n
        }
    });
    expand_rule(start, &rule, until, from, stop, max, |_| true).0
}

/// How an instance's end follows from its start.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct EndSpec {
    /// Added in wall time (DTEND in the same zone, DATE ends, DURATION days).
    pub wall: Duration,
    /// Added as elapsed time (DURATION hours/minutes/seconds, DTEND in another zone).
    pub exact: Duration,
}

fn same_zone(a: &Zone, b: &Zone) -> bool {
    match (a, b) {
        (Zone::Utc, Zone::Utc) | (Zone::Floating, Zone::Floating) => true,
        (Zone::Iana(x), Zone::Iana(y)) => x == y,
        (Zone::Custom(x), Zone::Custom(y)) => std::sync::Arc::ptr_eq(x, y),
        _ => false,
    }
}

/// The start of a component: DTSTART, or DUE for a VTODO without one.
pub(crate) fn comp_start(c: &Component, zones: &Zones) -> Option<TimeVal> {
    c.prop("DTSTART")
        .and_then(|p| parse_time(p, zones))
        .or_else(|| {
            if c.name == "VTODO" {
                c.prop("DUE").and_then(|p| parse_time(p, zones))
            } else {
                None
            }
        })
}

/// DTEND/DUE, DURATION, or the RFC 5545 defaults (DATE: one day, DATE-TIME: zero).
pub(crate) fn end_spec(c: &Component, start: &TimeVal, zones: &Zones, tz: Tz) -> EndSpec {
    let end_name = if c.name == "VTODO" { "DUE" } else { "DTEND" };
    if c.prop("DTSTART").is_some() {
        if let Some(end) = c.prop(end_name).and_then(|p| parse_time(p, zones)) {
            return match (start, &end) {
                (TimeVal::DateTime(_, a), TimeVal::DateTime(_, b)) if !same_zone(a, b) => EndSpec {
                    wall: Duration::zero(),
                    exact: end.to_utc(tz) - start.to_utc(tz),
                },
                _ => EndSpec {
                    wall: end.naive() - start.naive(),
                    exact: Duration::zero(),
                },
            };
        }
        if let Some(d) = c.value("DURATION").and_then(parse_duration) {
            return EndSpec {
                wall: Duration::days(d.days),
                exact: Duration::seconds(d.secs),
            };
        }
    }
    if start.is_date() && c.name != "VTODO" {
        EndSpec {
            wall: Duration::days(1),
            exact: Duration::zero(),
        }
    } else {
        EndSpec::default()
    }
}

fn span(
    local: NaiveDateTime,
    zone: &Zone,
    spec: EndSpec,
    tz: Tz,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let s = to_utc(local, zone, tz);
    let e = add_utc(to_utc(add(local, spec.wall), zone, tz), spec.exact);
    (s, e.max(s))
}

/// Whether [start,end) meets the window (zero-length instances per RFC 4791 §9.9).
pub(crate) fn meets(start: DateTime<Utc>, end: DateTime<Utc>, w: TimeRange) -> bool {
    if end > start {
        start < w.end && end > w.start
    } else {
        start < w.end && start >= w.start
    }
}

/// One expanded occurrence and the component whose properties apply.
#[derive(Debug, Clone)]
pub(crate) struct Occ<'a> {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub all_day: bool,
    pub comp: &'a Component,
    pub rid: Option<DateTime<Utc>>,
}

/// A master and its overrides (same UID).
pub(crate) struct Group<'a> {
    pub master: Option<&'a Component>,
    pub overrides: Vec<&'a Component>,
}

/// Groups VEVENT/VTODO/VJOURNAL components by UID, in document order.
pub(crate) fn groups<'a>(items: &[&'a Component]) -> Vec<Group<'a>> {
    let mut order: Vec<Group<'a>> = Vec::new();
    let mut by_uid: HashMap<(&str, &str), usize> = HashMap::new();
    for c in items {
        let uid = c.value("UID").unwrap_or("");
        let idx = if uid.is_empty() {
            None
        } else {
            by_uid.get(&(uid, c.name.as_str())).copied()
        };
        let idx = idx.unwrap_or_else(|| {
            order.push(Group {
                master: None,
                overrides: Vec::new(),
            });
            if !uid.is_empty() {
                by_uid.insert((uid, c.name.as_str()), order.len() - 1);
            }
            order.len() - 1
        });
        let Some(g) = order.get_mut(idx) else {
            continue;
        };
        if c.prop("RECURRENCE-ID").is_some() || g.master.is_some() {
            g.overrides.push(c);
        } else {
            g.master = Some(c);
        }
    }
    order
}

/// Bounds of an expansion request.
pub(crate) struct Limits {
    pub window: TimeRange,
    pub tz: Tz,
    pub max: usize,
}

/// Every occurrence of a group that meets the window; the bool says "truncated".
pub(crate) fn expand_group<'a>(g: &Group<'a>, zones: &Zones, lim: &Limits) -> (Vec<Occ<'a>>, bool) {
    let (w, tz) = (lim.window, lim.tz);
    let mut out = Vec::new();
    let mut truncated = false;
    let mut rids: HashSet<DateTime<Utc>> = HashSet::new();
    let mut master_spec = None;
    for o in &g.overrides {
        if let Some(r) = o.prop("RECURRENCE-ID").and_then(|p| parse_time(p, zones)) {
            rids.insert(r.to_utc(tz));
        }
    }
    if let Some(m) = g.master {
        if let Some(start) = comp_start(m, zones) {
            let spec = end_spec(m, &start, zones, tz);
            master_spec = Some(spec);
            let zone = start.zone();
            let base = start.naive();
            let all_day = start.is_date();
            let len = spec.wall + spec.exact;
            let from = add(
                to_local(w.start, &zone, tz),
                -len.max(Duration::zero()) - Duration::days(2),
            );
            let stop = add(to_local(w.end, &zone, tz), Duration::days(2));
            let mut locals: BTreeSet<NaiveDateTime> = BTreeSet::new();
            locals.insert(base);
            for r in m.props("RRULE") {
                let Some(rule) = Rule::parse(&r.value) else {
                    continue;
                };
                let until = rule.until_local(&zone, tz);
                let (v, t) = expand_rule(
                    base,
                    &rule,
                    until,
                    from,
                    stop,
                    lim.max.saturating_add(1),
                    // Only instances that reach into the window use up the cap.
                    |n| {
                        let (s, e) = span(n, &zone, spec, tz);
                        e > w.start || s >= w.start
                    },
                );
                truncated |= t;
                locals.extend(v);
            }
            let mut spans: Vec<(DateTime<Utc>, DateTime<Utc>)> =
                locals.iter().map(|l| span(*l, &zone, spec, tz)).collect();
            for p in m.props("RDATE") {
                for v in p.value.split(',').map(str::trim).filter(|v| !v.is_empty()) {
                    if let Some((a, b)) = v.split_once('/') {
                        let Some(s) = parse_time_str(a, p, zones) else {
                            continue;
                        };
                        let s_utc = s.to_utc(tz);
                        let e_utc = match parse_time_str(b, p, zones) {
                            Some(e) => e.to_utc(tz),
                            None => match parse_duration(b) {
                                Some(d) => {
                                    span(
                                        s.naive(),
                                        &s.zone(),
                                        EndSpec {
                                            wall: Duration::days(d.days),
                                            exact: Duration::seconds(d.secs),
                                        },
                                        tz,
                                    )
                                    .1
                                }
                                None => continue,
                            },
                        };
                        spans.push((s_utc, e_utc.max(s_utc)));
                    } else if let Some(s) = parse_time_str(v, p, zones) {
                        spans.push(span(s.naive(), &s.zone(), spec, tz));
                    }
                }
            }
            let mut ex_utc: HashSet<DateTime<Utc>> = HashSet::new();
            let mut ex_dates: HashSet<NaiveDate> = HashSet::new();
            for p in m.props("EXDATE") {
                for v in p.value.split(',').map(str::trim).filter(|v| !v.is_empty()) {
                    match parse_time_str(v, p, zones) {
                        Some(TimeVal::Date(d)) => {
                            ex_dates.insert(d);
                        }
                        Some(t) => {
                            ex_utc.insert(t.to_utc(tz));
                        }
                        None => {}
                    }
                }
            }
            spans.sort();
            spans.dedup();
            for (s, e) in spans {
                if ex_utc.contains(&s) || rids.contains(&s) {
                    continue;
                }
                if !ex_dates.is_empty() && ex_dates.contains(&local_date(s, &zone, tz)) {
                    continue;
                }
                if meets(s, e, w) {
                    if out.len() >= lim.max {
                        truncated = true;
                        break;
                    }
                    out.push(Occ {
                        start: s,
                        end: e,
                        all_day,
                        comp: m,
                        rid: None,
                    });
                }
            }
        }
    }
    for o in &g.overrides {
        let rid = o.prop("RECURRENCE-ID").and_then(|p| parse_time(p, zones));
        let Some(start) = comp_start(o, zones).or_else(|| rid.clone()) else {
            continue;
        };
        let has_end =
            o.prop("DTEND").is_some() || o.prop("DURATION").is_some() || o.prop("DUE").is_some();
        let spec = match (has_end && o.prop("DTSTART").is_some(), master_spec) {
            (false, Some(ms)) => ms,
            _ => end_spec(o, &start, zones, tz),
        };
        let (s, e) = span(start.naive(), &start.zone(), spec, tz);
        if meets(s, e, w) && out.len() < lim.max {
            out.push(Occ {
                start: s,
                end: e,
                all_day: start.is_date(),
                comp: o,
                rid: rid.map(|r| r.to_utc(tz)),
            });
        }
    }
    out.sort_by_key(|o| (o.start, o.end));
    (out, truncated)
}

/// Latest instance end of a bounded series, or None when unbounded or too long to walk.
pub(crate) fn last_end(g: &Group<'_>, zones: &Zones, tz: Tz) -> Option<i64> {
    let m = g.master;
    if m.is_some_and(|m| {
        m.props("RRULE")
            .any(|r| Rule::parse(&r.value).is_some_and(|r| !r.bounded()))
    }) {
        return None;
    }
    let far = TimeRange {
        start: NaiveDate::from_ymd_opt(1000, 1, 1)?
            .and_time(NaiveTime::MIN)
            .and_utc(),
        end: NaiveDate::from_ymd_opt(9000, 1, 1)?
            .and_time(NaiveTime::MIN)
            .and_utc(),
    };
    let (occs, truncated) = expand_group(
        g,
        zones,
        &Limits {
            window: far,
            tz,
            max: RAW_CAP,
        },
    );
    if truncated {
        return None;
    }
    occs.iter().map(|o| o.end.timestamp()).max()
}
