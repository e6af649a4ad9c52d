//! `X-WR-TIMEZONE`: read a calendar the way its exporter (Google, Apple)
//! meant it. In a VCALENDAR with `X-WR-TIMEZONE:<zone>`, the floating and
//! UTC DATE-TIMEs of its VEVENTs are wall-clock times in that zone (UTC
//! ones converted to the zone's wall clock at that instant), so a series
//! written in UTC repeats at the same local time across DST changes.
//!
//! This follows the `x-wr-timezone` python package (2.0.1) exactly, which
//! `recurring-ical-events` applies before expanding: only VEVENTs directly
//! in the calendar; only DTSTART, DTEND, RDATE, RECURRENCE-ID and EXDATE;
//! DATE values (all-day) and PERIOD values unchanged; values with a TZID
//! unchanged unless that zone is UTC; RRULE (its UNTIL) untouched. A zone
//! name that does not resolve leaves the calendar as it is (the package
//! would fail). The tree is rewritten after parsing; stored bytes never
//! change.

use chrono_tz::Tz;

use super::lines::{Component, Param, Prop};
use super::tz::{iana, parse_naive};

/// The properties the package rewrites.
const PROPS: &[&str] = &["DTSTART", "DTEND", "RDATE", "RECURRENCE-ID", "EXDATE"];

/// Zones whose name is "UTC" (the package tests `tzname() == "UTC"`).
const UTC_ZONES: &[Tz] = &[
    Tz::UTC,
    Tz::Etc__UTC,
    Tz::Etc__UCT,
    Tz::Etc__Universal,
    Tz::Etc__Zulu,
    Tz::UCT,
    Tz::Universal,
    Tz::Zulu,
];

/// Applies the calendar's `X-WR-TIMEZONE`, if any, to its VEVENTs.
pub(crate) fn apply(cal: &mut Component) {
    let Some(name) = cal
        .value("X-WR-TIMEZONE")
        .map(|v| v.trim_matches('"').to_string())
    else {
        return;
    };
    let Some(tz) = iana(&name) else {
        return;
    };
    for event in cal.children.iter_mut().filter(|c| c.name == "VEVENT") {
        for p in event
            .props
            .iter_mut()
            .filter(|p| PROPS.contains(&p.name.as_str()))
        {
            rewrite(p, &name, tz);
        }
    }
}

/// Rewrites one property's floating and UTC DATE-TIMEs as wall times in `tz`.
fn rewrite(p: &mut Prop, name: &str, tz: Tz) {
    if p.param("VALUE")
        .is_some_and(|v| v.eq_ignore_ascii_case("DATE") || v.eq_ignore_ascii_case("PERIOD"))
        || p.value.contains('/')
    {
        return;
    }
    let in_utc_zone = match p.param("TZID") {
        None => false,
        Some(id) => match iana(id) {
            Some(z) if UTC_ZONES.contains(&z) => true,
            _ => return,
        },
    };
    let mut changed = false;
    let values: Vec<String> = p
        .value
        .split(',')
        .map(|v| {
            let v = v.trim();
            match parse_naive(v) {
                // DATE: unchanged.
                Some(_) if v.len() == 8 => v.to_string(),
                Some((n, utc)) if utc || in_utc_zone => {
                    changed = true;
                    n.and_utc()
                        .with_timezone(&tz)
                        .naive_local()
                        .format("%Y%m%dT%H%M%S")
                        .to_string()
                }
                Some(_) => {
                    changed = true;
                    v.to_string()
                }
                None => v.to_string(),
            }
        })
        .collect();
    if !changed {
        return;
    }
    p.value = values.join(",");
    p.params.retain(|q| !q.name.eq_ignore_ascii_case("TZID"));
    p.params.push(Param {
        name: "TZID".into(),
        values: vec![name.to_string()],
    });
}
