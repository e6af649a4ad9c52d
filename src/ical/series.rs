//! A series: the components of one UID (a master and its overrides), which
//! of them are current (RFC 5545 §3.8.7.4: SEQUENCE, then DTSTAMP), and the latest end of a bounded series for the
//! index the store keeps (computed by arithmetic for plain fixed-period
//! rules, walked for other bounded rules, unbounded otherwise).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use chrono_tz::Tz;

use super::budget::ExpandBudget;
use super::lines::Component;
use super::offsets::offset_range;
use super::recurrence::{comp_start, end_spec, expand_group, span, Exclusions, Limits};
use super::rule::{fixed_date, fixed_range, rules_of, Rule, RAW_CAP};
use super::tz::{parse_naive, parse_time, TimeVal, Zones};
use super::TimeRange;

/// A master and its overrides (same UID).
pub(crate) struct Group<'a> {
    pub master: Option<&'a Component>,
    pub overrides: Vec<&'a Component>,
}

/// How current a version of a component is (RFC 5545 §3.8.7.4): the
/// higher SEQUENCE (absent = 0), then the later DTSTAMP.
fn version(c: &Component) -> (i64, Option<NaiveDateTime>) {
    let seq = c
        .value("SEQUENCE")
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(0);
    let stamp = c.value("DTSTAMP").and_then(parse_naive).map(|(n, _)| n);
    (seq, stamp)
}

/// Whether `candidate` supersedes `current`: strictly more current (on a
/// tie the one first in the document stays).
fn supersedes(candidate: &Component, current: &Component) -> bool {
    version(candidate) > version(current)
}

/// Groups VEVENT/VTODO/VJOURNAL components by UID, in document order.
///
/// Upstream data may hold several masters for one UID (a client that
/// appended a new version instead of replacing the old one): the most
/// current one (see [`version`]) is the master and the others are
/// dropped. Client PUTs never get here with two: `parse_strict` refuses
/// them (`Error::MultipleMasters`).
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
        if c.prop("RECURRENCE-ID").is_some() {
            g.overrides.push(c);
        } else if g.master.is_none_or(|m| supersedes(c, m)) {
            g.master = Some(c);
        }
    }
    order
}

/// An override that counts, with its RECURRENCE-ID as written and in UTC.
pub(crate) struct Override<'a> {
    pub comp: &'a Component,
    pub rid_value: Option<TimeVal>,
    pub rid: Option<DateTime<Utc>>,
}

/// The overrides of a series that count, in document order: of several
/// for one RECURRENCE-ID (the same instant) only the most current one
/// (RFC 5545 §3.8.7.4: higher SEQUENCE, then later DTSTAMP; on a tie the
/// first), and none whose instance a more current master deletes with
/// EXDATE (the override is an older state of the series). Strict parsing
/// refuses duplicate overrides in client PUTs (`Error::DuplicateOverride`);
/// upstream data keeps them.
pub(crate) fn current_overrides<'a>(
    master: Option<&Component>,
    overrides: &[&'a Component],
    zones: &Zones,
    tz: Tz,
) -> Vec<Override<'a>> {
    let deleted = master.and_then(|m| {
        let zone = comp_start(m, zones)?.zone();
        let ex = Exclusions::of(m, zones, tz);
        Some(move |o: &Override<'_>| {
            supersedes(m, o.comp) && o.rid.is_some_and(|r| ex.excludes(r, &zone, tz))
        })
    });
    let mut out: Vec<Override<'a>> = Vec::new();
    let mut by_rid: HashMap<DateTime<Utc>, usize> = HashMap::new();
    for c in overrides {
        let rid_value = c.prop("RECURRENCE-ID").and_then(|p| parse_time(p, zones));
        let rid = rid_value.as_ref().map(|r| r.to_utc(tz));
        let o = Override {
            comp: c,
            rid_value,
            rid,
        };
        match rid.and_then(|r| by_rid.get(&r).copied()) {
            Some(i) => {
                if let Some(x) = out.get_mut(i).filter(|x| supersedes(c, x.comp)) {
                    *x = o;
                }
            }
            None => {
                if let Some(r) = rid {
                    by_rid.insert(r, out.len());
                }
                out.push(o);
            }
        }
    }
    if let Some(deleted) = deleted {
        out.retain(|o| !deleted(o));
    }
    out
}

/// Candidates walked back from the last date of a rule when EXDATEs or
/// overrides remove the last ones; past that the bound stays at the last
/// date (an index bound may be late, never early).
const TAIL_WALK: i64 = 1000;

/// Budget units (about one generated date each) the walk of
/// [`last_end`] may spend: it runs on every parse, so past this a series
/// counts as unbounded (the index bound is a shortcut; expansion at read
/// time still answers). A bounded series of more than 50,000 dates that
/// arithmetic cannot jump through (a rule with BY-parts) is rare.
const WALK_BUDGET: u64 = 50_000;

/// The span [`last_end`] walks: to the end of time, so no instance starts
/// after it. Values name four-digit years, but arithmetic carries a
/// fixed-period rule's COUNT far beyond (the walk once ended in 9000, then
/// in 10001, and later instances were left out of the bound; found by the
/// `recurrence` fuzz target).
fn far_window() -> Option<TimeRange> {
    let start = NaiveDate::from_ymd_opt(1000, 1, 1)?
        .and_time(NaiveTime::MIN)
        .and_utc();
    Some(TimeRange {
        start,
        end: DateTime::<Utc>::MAX_UTC,
    })
}

/// Latest instance end of a bounded series (Unix seconds), or None when
/// unbounded or too long to walk.
pub(crate) fn last_end(g: &Group<'_>, zones: &Zones, tz: Tz) -> Option<i64> {
    let rules: Vec<Rule> = g.master.map(rules_of).unwrap_or_default();
    if rules.iter().any(|r| !r.bounded()) {
        return None;
    }
    let far = far_window()?;
    // One walk for all the rules together (each rule had its own once, so
    // the work grew with their number), at most WALK_BUDGET units.
    let walk = ExpandBudget::new(WALK_BUDGET);
    let lim = Limits {
        window: far,
        tz,
        max: RAW_CAP,
        budget: Some(&walk),
    };
    match g.master {
        Some(m) if !rules.is_empty() && rules.iter().all(|r| r.fixed_period().is_some()) => {
            // Everything but the rules by expansion, the rules by arithmetic.
            let mut rest = m.clone();
            rest.props.retain(|p| p.name != "RRULE");
            let others = Group {
                master: Some(&rest),
                overrides: g.overrides.clone(),
            };
            let (occs, truncated) = expand_group(&others, zones, &lim).ok()?;
            if truncated {
                return None;
            }
            let mut last = occs.iter().map(|o| o.end.timestamp()).max();
            for rule in &rules {
                let end = fixed_rule_end(m, rule, g, zones, tz, far)?;
                last = last.max(end);
            }
            last
        }
        _ => {
            let (occs, truncated) = expand_group(g, zones, &lim).ok()?;
            if truncated {
                return None;
            }
            occs.iter().map(|o| o.end.timestamp()).max()
        }
    }
}

/// End of the last instance of a plain fixed-period rule that is not
/// excluded or overridden, plus the offset drift near it (so a wall time
/// just after a DST gap cannot make the bound early). `Some(None)` when
/// the rule has no dates; None when its dates run past the far window.
fn fixed_rule_end(
    m: &Component,
    rule: &Rule,
    g: &Group<'_>,
    zones: &Zones,
    tz: Tz,
    far: TimeRange,
) -> Option<Option<i64>> {
    let Some(start) = comp_start(m, zones) else {
        return Some(None);
    };
    let Some(period) = rule.fixed_period() else {
        return Some(None);
    };
    let base = start.naive();
    if !rule.accepted(base) {
        return Some(None);
    }
    let zone = start.zone();
    let spec = end_spec(m, &start, zones, tz);
    let until = rule.until_local(&zone, tz);
    let Some((first, last)) =
        fixed_range(base, period, rule.count, until, base, NaiveDateTime::MAX)
    else {
        return Some(None);
    };
    if fixed_date(base, period, last) >= far.end.naive_utc() {
        return None;
    }
    let ex = Exclusions::of(m, zones, tz);
    let rids: HashSet<DateTime<Utc>> = current_overrides(g.master, &g.overrides, zones, tz)
        .iter()
        .filter_map(|o| o.rid)
        .collect();
    let lowest = last.saturating_sub(TAIL_WALK).max(first);
    let chosen = (lowest..=last)
        .rev()
        .map(|k| span(fixed_date(base, period, k), &zone, spec, tz))
        .find(|(s, _)| !rids.contains(s) && !ex.excludes(*s, &zone, tz))
        .unwrap_or_else(|| span(fixed_date(base, period, last), &zone, spec, tz));
    let e = chosen.1.timestamp();
    let (lo, hi) = offset_range(
        &zone,
        tz,
        e.saturating_sub(2 * 86_400),
        e.saturating_add(2 * 86_400),
    );
    Some(Some(e.saturating_add(i64::from(hi - lo))))
}
