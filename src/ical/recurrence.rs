//! Recurrence expansion inside a window: RRULE (see `rule`, expanded in
//! local wall time so DST keeps the wall clock), RDATE (DATE, DATE-TIME,
//! PERIOD), EXDATE (DATE and DATE-TIME, lists, many lines) and
//! RECURRENCE-ID overrides, plus DTEND / DURATION / default durations.
//!
//! Rules are expanded only near the window: the wall-time bounds handed to
//! `rule` are the window edges widened by the instance length and by how
//! far the zone's offset moves near each edge (nothing for UTC, an hour
//! around a DST change), so a rule never walks a fixed multi-day margin.
//! Every expansion is capped (`max_instances` inside the window and
//! [`RAW_CAP`](super::rule::RAW_CAP) generated dates per rule) and charged
//! to the request's budget, so FREQ=SECONDLY cannot hang.
//! RANGE=THISANDFUTURE on RECURRENCE-ID is treated as a single override.

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;

use super::budget::{Exceeded, ExpandBudget, Meter};
use super::lines::{Component, Prop};
use super::offsets::offset_range;
use super::rule::{expand_rule, rules_of, RuleBounds};
use super::series::{current_overrides, Group};
use super::tz::{
    add, add_utc, local_date, parse_duration, parse_time, parse_time_str, to_local, to_utc,
    TimeVal, Zone, Zones,
};
use super::TimeRange;

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

pub(crate) fn span(
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

/// Bounds of an expansion request.
pub(crate) struct Limits<'b> {
    pub window: TimeRange,
    pub tz: Tz,
    pub max: usize,
    /// The request's budget, charged for every generated date.
    pub budget: Option<&'b ExpandBudget>,
}

/// Wall-time bounds `[from, stop]` holding the local start of every
/// instance that meets the window: an instance starting before `from`
/// ends before the window, one starting after `stop` starts after it.
///
/// Between wall time and UTC only the zone's offset differs, so the
/// window edges in wall time are widened by the instance length plus how
/// much the offset in force near each edge (a few days either side, which
/// bounds every offset a nearby wall time can map through, gaps included)
/// differs from the offset at the edge.
pub(crate) fn wall_bounds(
    zone: &Zone,
    tz: Tz,
    w: TimeRange,
    spec: EndSpec,
) -> (NaiveDateTime, NaiveDateTime) {
    const DAY: i64 = 86_400;
    let wall = spec.wall.max(Duration::zero());
    let exact = spec.exact.max(Duration::zero());
    let edge = |t: DateTime<Utc>| to_local(t, zone, tz);
    let offset = |t: DateTime<Utc>| (edge(t) - t.naive_utc()).num_seconds();
    let (s, e) = (w.start.timestamp(), w.end.timestamp());
    let back = s.saturating_sub(exact.num_seconds());
    let (lowest, _) = offset_range(
        zone,
        tz,
        back.saturating_sub(4 * DAY),
        back.saturating_add(2 * DAY),
    );
    let before = (offset(w.start) - i64::from(lowest)).max(0);
    let (_, highest) = offset_range(
        zone,
        tz,
        e.saturating_sub(2 * DAY),
        e.saturating_add(4 * DAY),
    );
    let after = (i64::from(highest) - offset(w.end)).max(0);
    let from = add(
        add(edge(w.start), -wall - exact),
        Duration::seconds(-before),
    );
    (from, add(edge(w.end), Duration::seconds(after)))
}

/// EXDATE values of a master: instants, and dates (which exclude every
/// instance starting on that day in the series' zone).
pub(crate) struct Exclusions {
    utc: HashSet<DateTime<Utc>>,
    dates: HashSet<NaiveDate>,
}

impl Exclusions {
    pub(crate) fn of(m: &Component, zones: &Zones, tz: Tz) -> Self {
        let mut ex = Exclusions {
            utc: HashSet::new(),
            dates: HashSet::new(),
        };
        for p in m.props("EXDATE") {
            for v in values(p) {
                match parse_time_str(v, p, zones) {
                    Some(TimeVal::Date(d)) => {
                        ex.dates.insert(d);
                    }
                    Some(t) => {
                        ex.utc.insert(t.to_utc(tz));
                    }
                    None => {}
                }
            }
        }
        ex
    }

    /// Whether an instance starting at `s` is excluded.
    pub(crate) fn excludes(&self, s: DateTime<Utc>, zone: &Zone, tz: Tz) -> bool {
        self.utc.contains(&s)
            || (!self.dates.is_empty() && self.dates.contains(&local_date(s, zone, tz)))
    }
}

/// The comma-separated values of a property, trimmed, empty ones skipped.
fn values(p: &Prop) -> impl Iterator<Item = &str> {
    p.value.split(',').map(str::trim).filter(|v| !v.is_empty())
}

/// A UTC `[start, end)` pair.
type UtcSpan = (DateTime<Utc>, DateTime<Utc>);

/// Spans of the master's RDATE values (DATE, DATE-TIME and PERIOD).
fn rdate_spans(
    m: &Component,
    zones: &Zones,
    spec: EndSpec,
    tz: Tz,
    meter: &mut Meter<'_>,
) -> Result<Vec<UtcSpan>, Exceeded> {
    let mut spans = Vec::new();
    for p in m.props("RDATE") {
        for v in values(p) {
            meter.tick()?;
            if let Some((a, b)) = v.split_once('/') {
                let Some(s) = parse_time_str(a, p, zones) else {
                    continue;
                };
                let s_utc = s.to_utc(tz);
                let e_utc = match parse_time_str(b, p, zones) {
                    Some(e) => e.to_utc(tz),
                    None => match parse_duration(b) {
                        Some(d) => {
                            let spec = EndSpec {
                                wall: Duration::days(d.days),
                                exact: Duration::seconds(d.secs),
                            };
                            span(s.naive(), &s.zone(), spec, tz).1
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
    Ok(spans)
}

/// Every occurrence of a group that meets the window; the bool says
/// "truncated". Fails only when the request's budget runs out.
pub(crate) fn expand_group<'a>(
    g: &Group<'a>,
    zones: &Zones,
    lim: &Limits<'_>,
) -> Result<(Vec<Occ<'a>>, bool), Exceeded> {
    let (w, tz) = (lim.window, lim.tz);
    let mut meter = Meter::new(lim.budget);
    let overrides = current_overrides(g.master, &g.overrides, zones, tz);
    meter.add(u64::try_from(overrides.len()).unwrap_or(u64::MAX))?;
    let rids: HashSet<DateTime<Utc>> = overrides.iter().filter_map(|o| o.rid).collect();
    let mut out = Vec::new();
    let mut truncated = false;
    let mut master_spec = None;
    if let Some((m, start)) = g.master.and_then(|m| comp_start(m, zones).map(|s| (m, s))) {
        let spec = end_spec(m, &start, zones, tz);
        master_spec = Some(spec);
        let zone = start.zone();
        let base = start.naive();
        let (from, stop) = wall_bounds(&zone, tz, w, spec);
        let ex = Exclusions::of(m, zones, tz);
        let mut locals: BTreeSet<NaiveDateTime> = BTreeSet::new();
        locals.insert(base);
        for rule in rules_of(m) {
            let bounds = RuleBounds {
                from,
                stop,
                until: rule.until_local(&zone, tz),
                max: lim.max.saturating_add(1),
            };
            // Only instances that reach into the window and survive use up
            // the cap: a date an EXDATE or an override removes does not (a
            // DATE EXDATE removes a whole day of an hourly rule, and with the
            // cap spent on that day the window seemed empty; found by the
            // `recurrence` fuzz target).
            let counts = |n| {
                let (s, e) = span(n, &zone, spec, tz);
                (e > w.start || s >= w.start) && !rids.contains(&s) && !ex.excludes(s, &zone, tz)
            };
            let d = expand_rule(base, &rule, bounds, counts, &mut meter)?;
            truncated |= d.truncated;
            locals.extend(d.dates);
        }
        let mut spans: Vec<UtcSpan> = locals.iter().map(|l| span(*l, &zone, spec, tz)).collect();
        spans.extend(rdate_spans(m, zones, spec, tz, &mut meter)?);
        spans.sort();
        spans.dedup();
        for (s, e) in spans {
            if rids.contains(&s) || ex.excludes(s, &zone, tz) || !meets(s, e, w) {
                continue;
            }
            if out.len() >= lim.max {
                truncated = true;
                break;
            }
            out.push(Occ {
                start: s,
                end: e,
                all_day: start.is_date(),
                comp: m,
                rid: None,
            });
        }
    }
    for o in &overrides {
        let Some(start) = comp_start(o.comp, zones).or_else(|| o.rid_value.clone()) else {
            continue;
        };
        let c = o.comp;
        let has_end =
            c.prop("DTEND").is_some() || c.prop("DURATION").is_some() || c.prop("DUE").is_some();
        let spec = match (has_end && c.prop("DTSTART").is_some(), master_spec) {
            (false, Some(ms)) => ms,
            _ => end_spec(c, &start, zones, tz),
        };
        let (s, e) = span(start.naive(), &start.zone(), spec, tz);
        if !meets(s, e, w) {
            continue;
        }
        if out.len() >= lim.max {
            truncated = true;
        } else {
            out.push(Occ {
                start: s,
                end: e,
                all_day: start.is_date(),
                comp: c,
                rid: o.rid,
            });
        }
    }
    out.sort_by_key(|o| (o.start, o.end));
    meter.flush()?;
    Ok((out, truncated))
}
