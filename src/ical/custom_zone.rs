//! Zones a document defines itself: a VTIMEZONE that names no known zone
//! becomes UTC transitions computed from its STANDARD and DAYLIGHT
//! observances (DTSTART, TZOFFSETFROM/TO, RRULE, RDATE) for 1970..=2100,
//! the observance rules of one document sharing one budget ([`ZoneWork`]),
//! since every parse computes them.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};

use super::budget::{ExpandBudget, Meter};
use super::lines::Component;
use super::rule::{expand_rule, Rule, RuleBounds, MAX_PERIOD_DATES};
use super::tz::{add, parse_naive};

/// A zone known only from a VTIMEZONE: sorted (UTC instant, offset after) pairs.
#[derive(Debug)]
pub(crate) struct CustomZone {
    transitions: Vec<(i64, i32)>,
    initial: i32,
}

impl CustomZone {
    pub(crate) fn offset_at(&self, utc: i64) -> i32 {
        let idx = self.transitions.partition_point(|(t, _)| *t <= utc);
        if idx == 0 {
            self.initial
        } else {
            self.transitions[idx - 1].1
        }
    }
    /// Smallest and largest offset in force at any instant of `[from, to]`.
    pub(crate) fn offset_range(&self, from: i64, to: i64) -> (i32, i32) {
        let first = self.offset_at(from);
        self.transitions
            .iter()
            .filter(|(t, _)| *t > from && *t <= to)
            .fold((first, first), |(lo, hi), (_, o)| (lo.min(*o), hi.max(*o)))
    }
    pub(crate) fn local_to_utc(&self, local: NaiveDateTime) -> i64 {
        let l = local.and_utc().timestamp();
        let mut offs: Vec<i32> = self.transitions.iter().map(|t| t.1).collect();
        offs.push(self.initial);
        offs.sort_unstable();
        offs.dedup();
        // Largest offset first gives the earliest instant for ambiguous times.
        for off in offs.iter().rev() {
            let u = l - i64::from(*off);
            if self.offset_at(u) == *off {
                return u;
            }
        }
        // In a gap: use the offset in force before it.
        l - i64::from(self.offset_at(l - 86_400))
    }
}

fn parse_offset(s: &str) -> Option<i32> {
    let s = s.trim();
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => (1, s),
    };
    if rest.len() < 4 || !rest.is_ascii() {
        return None;
    }
    let h: i32 = rest[0..2].parse().ok()?;
    let m: i32 = rest[2..4].parse().ok()?;
    let sec: i32 = if rest.len() >= 6 {
        rest[4..6].parse().ok()?
    } else {
        0
    };
    Some(sign * (h * 3600 + m * 60 + sec))
}

/// What the VTIMEZONE observance rules of one document may cost together:
/// dates generated, and rules expanded (a rule that matches nothing costs
/// the `rrule` crate up to 100,000 empty loops without a date). Real data
/// stays far below both: Thunderbird's longest zones have 28 rules of at
/// most 400 dates each (1970..=2100). Every parse computes the zones, so
/// before these bounds a 7 KB object whose 50 observances each walked
/// 135,000 dates from 1600 cost 2.3 s of CPU per parse. Past them, later
/// rules add no transitions (their DTSTART and RDATEs still do).
const ZONE_DATES: u64 = 50_000;
const ZONE_RULES: usize = 64;

/// The budget of one document's zone rules (see [`ZONE_DATES`]).
pub(crate) struct ZoneWork {
    dates: ExpandBudget,
    rules_left: usize,
}

impl ZoneWork {
    /// A fresh budget for one document.
    pub(crate) fn new() -> Self {
        Self {
            dates: ExpandBudget::new(ZONE_DATES),
            rules_left: ZONE_RULES,
        }
    }
}

/// Computes transitions from STANDARD/DAYLIGHT observances (DTSTART,
/// TZOFFSETFROM/TO, RRULE, RDATE), for 1970..=2100, charging the rules to
/// the document's `work`.
pub(crate) fn custom_zone(vtz: &Component, work: &mut ZoneWork) -> Option<CustomZone> {
    let mut transitions = Vec::new();
    let mut initial: Option<(i64, i32)> = None;
    let limit = NaiveDate::from_ymd_opt(2100, 12, 31)?.and_time(NaiveTime::MIN);
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?.and_time(NaiveTime::MIN);
    for obs in vtz
        .children
        .iter()
        .filter(|c| c.name == "STANDARD" || c.name == "DAYLIGHT")
    {
        let Some(to) = obs.value("TZOFFSETTO").and_then(parse_offset) else {
            continue;
        };
        let from = obs
            .value("TZOFFSETFROM")
            .and_then(parse_offset)
            .unwrap_or(to);
        let Some(start) = obs
            .value("DTSTART")
            .and_then(|v| parse_naive(v).map(|(n, _)| n))
        else {
            continue;
        };
        let mut locals = vec![start];
        for r in obs.props("RRULE") {
            if work.rules_left == 0 || work.dates.is_exceeded() {
                break;
            }
            work.rules_left -= 1;
            let mut meter = Meter::new(Some(&work.dates));
            locals.extend(expand_naive(start, &r.value, epoch, limit, 400, &mut meter));
        }
        for r in obs.props("RDATE") {
            locals.extend(
                r.value
                    .split(',')
                    .filter_map(|v| parse_naive(v).map(|(n, _)| n)),
            );
        }
        for l in locals {
            let t = l.and_utc().timestamp() - i64::from(from);
            transitions.push((t, to));
            if initial.is_none_or(|(it, _)| t < it) {
                initial = Some((t, from));
            }
        }
    }
    let (_, initial) = initial?;
    transitions.sort_unstable();
    transitions.dedup_by_key(|t| t.0);
    Some(CustomZone {
        transitions,
        initial,
    })
}

/// Expands a rule string with no window (used for VTIMEZONE observances),
/// charging `meter` (a zone's work is bounded per document, see `tz`).
fn expand_naive(
    start: NaiveDateTime,
    rule: &str,
    from: NaiveDateTime,
    stop: NaiveDateTime,
    max: usize,
    meter: &mut Meter<'_>,
) -> Vec<NaiveDateTime> {
    let Some(rule) = Rule::parse(rule).filter(|r| r.period_dates() <= MAX_PERIOD_DATES) else {
        return Vec::new();
    };
    let until = rule.until.map(|(n, _, date)| {
        if date {
            add(n, Duration::seconds(86_399))
        } else {
            n
        }
    });
    let b = RuleBounds {
        from,
        stop,
        until,
        max,
    };
    expand_rule(start, &rule, b, |_| true, meter)
        .map(|d| d.dates)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ical::lines::parse_document;

    /// Found by the `recurrence` fuzz target: every parse computes the
    /// document's zones, and each observance rule walked its dates from its
    /// own DTSTART (135,000 dates from 1600 for a daily rule with COUNT) at
    /// no charge, so 50 such observances cost 2.3 s per parse. The rules of
    /// one document now share [`ZONE_DATES`] (and at most [`ZONE_RULES`]).
    #[test]
    fn issue_12_a_documents_zone_rules_share_one_budget() {
        let mut text = String::from("BEGIN:VCALENDAR\r\nBEGIN:VTIMEZONE\r\nTZID:Own\r\n");
        for _ in 0..50 {
            text.push_str(
                "BEGIN:STANDARD\r\nDTSTART:16000101T000000\r\nTZOFFSETFROM:+0100\r\n\
                 TZOFFSETTO:+0100\r\nRRULE:FREQ=DAILY;COUNT=1000000;BYHOUR=0\r\nEND:STANDARD\r\n",
            );
        }
        text.push_str("END:VTIMEZONE\r\nEND:VCALENDAR\r\n");
        let cal = parse_document(text.as_bytes(), false).unwrap();
        let vtz = cal[0]
            .children
            .iter()
            .find(|c| c.name == "VTIMEZONE")
            .unwrap();
        let mut work = ZoneWork::new();
        let zone = custom_zone(vtz, &mut work).unwrap();
        // The first rule spends the budget before 1970: no rule adds its
        // 400 transitions (before: 50 × 400 after 6.75 million dates).
        assert!(zone.transitions.len() < 400, "{}", zone.transitions.len());
        assert!(work.dates.is_exceeded());
        assert!(work.dates.used() < 2 * ZONE_DATES, "{}", work.dates.used());
    }

    #[test]
    fn ordinary_observances_give_their_transitions() {
        let text = "BEGIN:VCALENDAR\r\nBEGIN:VTIMEZONE\r\nTZID:Own\r\n\
            BEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n\
            RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\n\
            BEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n\
            RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\nEND:VCALENDAR\r\n";
        let cal = parse_document(text.as_bytes(), false).unwrap();
        let vtz = cal[0]
            .children
            .iter()
            .find(|c| c.name == "VTIMEZONE")
            .unwrap();
        let zone = custom_zone(vtz, &mut ZoneWork::new()).unwrap();
        // Two a year, 1970 to 2100.
        assert_eq!(zone.transitions.len(), 2 * 131);
    }
}
