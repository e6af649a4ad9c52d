//! VTIMEZONE components generated from the time-zone database
//! (chrono-tz), for objects that name a zone by TZID without defining it
//! (RFC 5545 §3.2.19 requires the definition; ical.js and others read such
//! times as floating).
//!
//! The generated zone covers the years asked for: every transition in
//! them (and ten years beyond) is found in the database. A kind of
//! transition (same offsets and name) that recurs every year by one
//! yearly rule up to the end of that scan is written as DTSTART plus an
//! open `RRULE:FREQ=YEARLY;BYMONTH=…;BYDAY=…` (the zone's current rules,
//! which clients extend past the covered years); every other transition
//! is listed explicitly as RDATE. An observance never has both (python
//! `icalendar` reads only the RRULE when it has both). Correctness first:
//! a zone with irregular rules gets RDATEs only.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Weekday};
use chrono_tz::Tz;

use super::lines::escape;
use super::offsets::{offset_at, transitions, Transition};
use super::write::fold_line;

/// Years scanned past the last one asked for, to tell whether a yearly
/// rule is still the zone's current rule.
const LOOKAHEAD: i32 = 10;
/// Earliest year a generated zone starts at (the database holds local mean
/// time before the 1890s; nothing in a calendar needs it).
const MIN_YEAR: i32 = 1850;
/// Most years one generated zone covers.
const MAX_YEARS: i32 = 300;

/// A yearly rule shared by consecutive transitions of one kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Yearly {
    /// The n-th (1..=4) weekday of the month.
    Nth(u32, Weekday),
    /// The last weekday of the month.
    Last(Weekday),
    /// The first weekday on or after a day of the month (tzdb `Fri>=23`).
    OnOrAfter(u32, Weekday),
}

/// Rules a transition in wall time `t` satisfies, most specific first.
fn rules_of(t: NaiveDateTime) -> Vec<Yearly> {
    let (day, wd) = (t.day(), t.weekday());
    let mut out = Vec::new();
    let next_month = NaiveDate::from_ymd_opt(t.year(), t.month(), 1)
        .and_then(|d| d.checked_add_months(chrono::Months::new(1)));
    let days_in_month = next_month
        .and_then(|n| n.pred_opt())
        .map_or(31, |d| d.day());
    if day + 7 > days_in_month {
        out.push(Yearly::Last(wd));
    }
    if day <= 28 {
        out.push(Yearly::Nth((day - 1) / 7 + 1, wd));
    }
    // Every on-or-after day D with D <= day <= D + 6.
    for d in day.saturating_sub(6).max(1)..=day {
        out.push(Yearly::OnOrAfter(d, wd));
    }
    out
}

/// One transition seen as the start of an observance, in the wall time
/// before it (RFC 5545: DTSTART of an observance is local to TZOFFSETFROM).
#[derive(Clone, Debug)]
struct Onset {
    local: NaiveDateTime,
    from: i32,
    to: i32,
    daylight: bool,
    name: String,
}

impl Onset {
    fn of(t: &Transition) -> Option<Onset> {
        let local = DateTime::from_timestamp(t.at + i64::from(t.before.total), 0)?.naive_utc();
        Some(Onset {
            local,
            from: t.before.total,
            to: t.after.total,
            daylight: t.after.dst,
            name: t.after.name.clone(),
        })
    }
}

/// An observance: one kind of onset, either by rule or listed.
struct Observance {
    first: Onset,
    rule: Option<Yearly>,
    rdates: Vec<NaiveDateTime>,
}

/// Splits onsets of one kind into runs of consecutive years that share a
/// yearly rule (same month and time of day); returns (run, its rule).
fn runs(onsets: &[Onset]) -> Vec<(Vec<Onset>, Option<Yearly>)> {
    let mut out: Vec<(Vec<Onset>, Vec<Yearly>)> = Vec::new();
    for o in onsets {
        let cands = rules_of(o.local);
        if let Some((run, common)) = out.last_mut() {
            let prev = run.last().map(|p| p.local);
            let same_shape = prev.is_some_and(|p| {
                p.year() + 1 == o.local.year()
                    && p.month() == o.local.month()
                    && p.time() == o.local.time()
            });
            let kept: Vec<Yearly> = common
                .iter()
                .copied()
                .filter(|r| cands.contains(r))
                .collect();
            if same_shape && !kept.is_empty() {
                run.push(o.clone());
                *common = kept;
                continue;
            }
        }
        out.push((vec![o.clone()], cands));
    }
    out.into_iter()
        .map(|(run, common)| {
            let rule = if run.len() > 1 {
                common.first().copied()
            } else {
                None
            };
            (run, rule)
        })
        .collect()
}

/// The observances of `tz` over `[first_year, last_year]`.
///
/// The first one starts at 00:00 on 1 January of `first_year` with the
/// offset then in force (TZOFFSETFROM = TZOFFSETTO): RFC 5545 leaves
/// times before the earliest onset undefined, and readers differ (python
/// `icalendar` uses the first TZOFFSETTO, libical the first TZOFFSETFROM).
fn observances(tz: Tz, first_year: i32, last_year: i32) -> Vec<Observance> {
    let jan1 = |y: i32| NaiveDate::from_ymd_opt(y, 1, 1).map(|d| d.and_time(NaiveTime::MIN));
    let (Some(start), Some(to)) = (jan1(first_year), jan1(last_year + 1 + LOOKAHEAD)) else {
        return Vec::new();
    };
    let end_year = last_year + LOOKAHEAD;
    let initial = offset_at(tz, start.and_utc().timestamp());
    let from = start.and_utc().timestamp() - i64::from(initial.total);
    let mut onsets = vec![Onset {
        local: start,
        from: initial.total,
        to: initial.total,
        daylight: initial.dst,
        name: initial.name,
    }];
    onsets.extend(
        transitions(tz, from, to.and_utc().timestamp())
            .iter()
            .filter_map(Onset::of),
    );
    // Kinds of onset (observances are sorted by start at the end).
    let mut kinds: BTreeMap<(i32, i32, bool, String), Vec<Onset>> = BTreeMap::new();
    for o in &onsets {
        kinds
            .entry((o.from, o.to, o.daylight, o.name.clone()))
            .or_default()
            .push(o.clone());
    }
    let mut out = Vec::new();
    for list in kinds.values() {
        let mut listed: Vec<Onset> = Vec::new();
        for (run, rule) in runs(list) {
            let current = run.last().is_some_and(|o| o.local.year() >= end_year);
            match (rule, run.first()) {
                (Some(rule), Some(first)) if current => out.push(Observance {
                    first: first.clone(),
                    rule: Some(rule),
                    rdates: Vec::new(),
                }),
                _ => listed.extend(run),
            }
        }
        if let Some((first, rest)) = listed.split_first() {
            out.push(Observance {
                first: first.clone(),
                rule: None,
                rdates: rest.iter().map(|o| o.local).collect(),
            });
        }
    }
    out.sort_by_key(|o| o.first.local);
    out
}

fn offset_text(secs: i32) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.unsigned_abs();
    let (h, m, s) = (a / 3600, a / 60 % 60, a % 60);
    if s == 0 {
        format!("{sign}{h:02}{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}{s:02}")
    }
}

fn local_text(t: NaiveDateTime) -> String {
    t.format("%Y%m%dT%H%M%S").to_string()
}

fn weekday_text(wd: Weekday) -> &'static str {
    match wd {
        Weekday::Mon => "MO",
        Weekday::Tue => "TU",
        Weekday::Wed => "WE",
        Weekday::Thu => "TH",
        Weekday::Fri => "FR",
        Weekday::Sat => "SA",
        Weekday::Sun => "SU",
    }
}

fn rrule_text(first: NaiveDateTime, rule: Yearly) -> String {
    let mut r = format!("FREQ=YEARLY;BYMONTH={}", first.month());
    match rule {
        Yearly::Nth(n, wd) => {
            let _ = write!(r, ";BYDAY={n}{}", weekday_text(wd));
        }
        Yearly::Last(wd) => {
            let _ = write!(r, ";BYDAY=-1{}", weekday_text(wd));
        }
        Yearly::OnOrAfter(d, wd) => {
            let days: Vec<String> = (d..d + 7).map(|x| x.to_string()).collect();
            let _ = write!(
                r,
                ";BYMONTHDAY={};BYDAY={}",
                days.join(","),
                weekday_text(wd)
            );
        }
    }
    r
}

/// A VTIMEZONE (folded CRLF lines) named `tzid` with the rules of `tz`,
/// covering at least the years `first_year..=last_year` (clamped to
/// 1850 and at most 300 years); `X-LIC-LOCATION` names the IANA zone.
pub fn vtimezone(tzid: &str, tz: Tz, first_year: i32, last_year: i32) -> String {
    let first = first_year.clamp(MIN_YEAR, 9000);
    let last = last_year.clamp(first, first + MAX_YEARS);
    let mut lines = vec![
        "BEGIN:VTIMEZONE".to_string(),
        format!("TZID:{}", escape(tzid)),
        format!("X-LIC-LOCATION:{}", tz.name()),
    ];
    for o in observances(tz, first, last) {
        let kind = if o.first.daylight {
            "DAYLIGHT"
        } else {
            "STANDARD"
        };
        lines.push(format!("BEGIN:{kind}"));
        lines.push(format!("DTSTART:{}", local_text(o.first.local)));
        lines.push(format!("TZOFFSETFROM:{}", offset_text(o.first.from)));
        lines.push(format!("TZOFFSETTO:{}", offset_text(o.first.to)));
        lines.push(format!("TZNAME:{}", escape(&o.first.name)));
        if let Some(rule) = o.rule {
            lines.push(format!("RRULE:{}", rrule_text(o.first.local, rule)));
        }
        // One date per RDATE line keeps every line short.
        for d in &o.rdates {
            lines.push(format!("RDATE:{}", local_text(*d)));
        }
        lines.push(format!("END:{kind}"));
    }
    lines.push("END:VTIMEZONE".to_string());
    lines.iter().map(|l| fold_line(l)).collect()
}

/// Like [`vtimezone`], resolving `tzid` first (IANA, prefixed IANA or
/// Windows name); None when the name is unknown.
pub fn vtimezone_for(tzid: &str, first_year: i32, last_year: i32) -> Option<String> {
    let tz = super::tz::iana(tzid)?;
    Some(vtimezone(tzid, tz, first_year, last_year))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn berlin_since_2026_is_its_start_and_two_open_yearly_rules() {
        let v = vtimezone("Europe/Berlin", Tz::Europe__Berlin, 2026, 2027);
        let want = "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nX-LIC-LOCATION:Europe/Berlin\r\n\
            BEGIN:STANDARD\r\nDTSTART:20260101T000000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\nEND:STANDARD\r\n\
            BEGIN:DAYLIGHT\r\nDTSTART:20260329T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\n\
            BEGIN:STANDARD\r\nDTSTART:20261025T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\n\
            END:VTIMEZONE\r\n";
        assert_eq!(v, want);
    }

    #[test]
    fn new_york_before_2007_lists_the_old_rules_then_the_current_ones() {
        let v = vtimezone("America/New_York", Tz::America__New_York, 2005, 2008);
        // 2005-2006: first Sunday in April / last Sunday in October, listed.
        assert!(
            v.contains("DTSTART:20050101T000000\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0500\r\n"),
            "{v}"
        );
        assert!(v.contains("DTSTART:20050403T020000\r\n"), "{v}");
        assert!(v.contains("RDATE:20060402T020000\r\n"), "{v}");
        assert!(v.contains("DTSTART:20051030T020000\r\n"), "{v}");
        // 2007 on: second Sunday in March / first Sunday in November.
        assert!(v.contains("DTSTART:20070311T020000\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nTZNAME:EDT\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\r\n"), "{v}");
        assert!(
            v.contains("RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\r\n"),
            "{v}"
        );
    }

    #[test]
    fn kolkata_without_dst_is_one_standard_observance() {
        let v = vtimezone("India Standard Time", Tz::Asia__Kolkata, 2020, 2030);
        assert_eq!(v.matches("BEGIN:STANDARD").count(), 1, "{v}");
        assert!(!v.contains("DAYLIGHT") && !v.contains("RRULE"), "{v}");
        assert!(v.contains("TZID:India Standard Time\r\nX-LIC-LOCATION:Asia/Kolkata\r\n"));
        assert!(
            v.contains("TZOFFSETFROM:+0530\r\nTZOFFSETTO:+0530\r\n"),
            "{v}"
        );
    }

    #[test]
    fn unknown_names_give_no_vtimezone() {
        assert!(vtimezone_for("Western/Central Europe", 2026, 2026).is_none());
        assert!(vtimezone_for("Pacific Standard Time", 2026, 2026)
            .is_some_and(|v| v.contains("X-LIC-LOCATION:America/Los_Angeles")));
    }
}
