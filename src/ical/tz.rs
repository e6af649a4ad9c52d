//! Time values and zones: DATE / DATE-TIME / PERIOD / DURATION parsing,
//! TZID resolution (IANA names, prefixed names such as
//! `/freeassociation.sourceforge.net/Europe/Berlin`, Windows names (CLDR),
//! VTIMEZONE blocks via X-LIC-LOCATION or their own STANDARD/DAYLIGHT
//! rules), floating and all-day handling, and local <-> UTC conversion.
//!
//! Local times in a DST gap use the offset before the gap (RFC 5545
//! §3.3.5); ambiguous times take the first occurrence. An unknown TZID
//! with no usable VTIMEZONE falls back to UTC.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    TimeZone, Utc,
};
use chrono_tz::Tz;

pub(crate) use super::custom_zone::CustomZone;
use super::custom_zone::{custom_zone, ZoneWork};
use super::lines::{unescape, Component, Prop};
use super::windows::{described_zone, windows_zone};

/// Where a local time is anchored.
#[derive(Debug, Clone)]
pub(crate) enum Zone {
    Utc,
    /// Floating time or all-day date: interpreted in the caller's default zone.
    Floating,
    Iana(Tz),
    Custom(Arc<CustomZone>),
}

/// The TZID -> Zone table of one calendar object.
#[derive(Debug, Default)]
pub(crate) struct Zones {
    map: HashMap<String, Zone>,
}

/// Resolves a zone name without any VTIMEZONE: IANA, prefixed IANA, Windows.
pub(crate) fn iana(name: &str) -> Option<Tz> {
    let name = name.trim().trim_matches('"');
    if let Ok(tz) = Tz::from_str(name) {
        return Some(tz);
    }
    if let Some(tz) = windows_zone(name).or_else(|| described_zone(name)) {
        return Some(tz);
    }
    // "/freeassociation.sourceforge.net/Tzfile/Europe/Berlin", "/mozilla.org/20050126_1/Europe/Berlin"
    let mut rest = name;
    while let Some(pos) = rest.find('/') {
        rest = &rest[pos + 1..];
        if let Ok(tz) = Tz::from_str(rest) {
            return Some(tz);
        }
    }
    None
}

impl Zones {
    /// Builds the table from the VTIMEZONE children of the given calendars.
    pub(crate) fn from_calendars(cals: &[&Component]) -> Self {
        let mut map = HashMap::new();
        let mut work = ZoneWork::new();
        for cal in cals {
            for vtz in cal.children.iter().filter(|c| c.name == "VTIMEZONE") {
                // TEXT: the parameter names it unescaped.
                let Some(id) = vtz.value("TZID").map(unescape) else {
                    continue;
                };
                let zone = iana(&id)
                    .or_else(|| vtz.value("X-LIC-LOCATION").and_then(iana))
                    .map(Zone::Iana)
                    .or_else(|| custom_zone(vtz, &mut work).map(|c| Zone::Custom(Arc::new(c))));
                if let Some(z) = zone {
                    map.insert(id.to_string(), z);
                }
            }
        }
        Self { map }
    }

    /// Resolves a TZID parameter; unknown zones fall back to UTC.
    pub(crate) fn resolve(&self, tzid: &str) -> Zone {
        let tzid = tzid.trim().trim_matches('"');
        if let Some(z) = iana(tzid) {
            return Zone::Iana(z);
        }
        self.map.get(tzid).cloned().unwrap_or(Zone::Utc)
    }
}

/// Saturating `n + d` (chrono's operators panic on overflow).
pub(crate) fn add(n: NaiveDateTime, d: Duration) -> NaiveDateTime {
    n.checked_add_signed(d).unwrap_or(if d < Duration::zero() {
        NaiveDateTime::MIN
    } else {
        NaiveDateTime::MAX
    })
}

/// Saturating `t + d` for UTC instants.
pub(crate) fn add_utc(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t.checked_add_signed(d).unwrap_or(if d < Duration::zero() {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

/// Local wall time -> UTC.
pub(crate) fn to_utc(local: NaiveDateTime, zone: &Zone, default_tz: Tz) -> DateTime<Utc> {
    match zone {
        Zone::Utc => local.and_utc(),
        Zone::Floating => iana_to_utc(local, default_tz),
        Zone::Iana(tz) => iana_to_utc(local, *tz),
        Zone::Custom(c) => {
            DateTime::from_timestamp(c.local_to_utc(local), 0).unwrap_or(local.and_utc())
        }
    }
}

fn iana_to_utc(local: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(d) => d.with_timezone(&Utc),
        LocalResult::Ambiguous(a, b) => a.min(b).with_timezone(&Utc),
        LocalResult::None => {
            let before = tz
                .offset_from_utc_datetime(&add(local, Duration::days(-1)))
                .fix();
            add(
                local,
                Duration::seconds(-i64::from(before.local_minus_utc())),
            )
            .and_utc()
        }
    }
}

/// UTC -> local wall time in a zone.
pub(crate) fn to_local(utc: DateTime<Utc>, zone: &Zone, default_tz: Tz) -> NaiveDateTime {
    let n = utc.naive_utc();
    // Saturating: an open time range reaches the ends of time, where a
    // zone's offset would overflow the calendar (a panic in chrono).
    let offset = |tz: &Tz| {
        use chrono::Offset as _;
        Duration::seconds(i64::from(
            tz.offset_from_utc_datetime(&n).fix().local_minus_utc(),
        ))
    };
    match zone {
        Zone::Utc => n,
        Zone::Floating => add(n, offset(&default_tz)),
        Zone::Iana(tz) => add(n, offset(tz)),
        Zone::Custom(c) => add(
            n,
            Duration::seconds(i64::from(c.offset_at(utc.timestamp()))),
        ),
    }
}

/// A DATE or DATE-TIME value as written.
#[derive(Debug, Clone)]
pub(crate) enum TimeVal {
    Date(NaiveDate),
    DateTime(NaiveDateTime, Zone),
}

impl TimeVal {
    pub(crate) fn naive(&self) -> NaiveDateTime {
        match self {
            TimeVal::Date(d) => d.and_time(NaiveTime::MIN),
            TimeVal::DateTime(n, _) => *n,
        }
    }
    pub(crate) fn zone(&self) -> Zone {
        match self {
            TimeVal::Date(_) => Zone::Floating,
            TimeVal::DateTime(_, z) => z.clone(),
        }
    }
    pub(crate) fn is_date(&self) -> bool {
        matches!(self, TimeVal::Date(_))
    }
    pub(crate) fn to_utc(&self, default_tz: Tz) -> DateTime<Utc> {
        to_utc(self.naive(), &self.zone(), default_tz)
    }
}

/// Parses `YYYYMMDD` or `YYYYMMDDTHHMMSS[Z]`; the bool says "UTC".
pub(crate) fn parse_naive(s: &str) -> Option<(NaiveDateTime, bool)> {
    let s = s.trim();
    if !s.is_ascii() {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|v| v.parse::<u32>().ok());
    let date = NaiveDate::from_ymd_opt(i32::try_from(num(0..4)?).ok()?, num(4..6)?, num(6..8)?)?;
    if s.len() == 8 {
        return Some((date.and_time(NaiveTime::MIN), false));
    }
    if s.as_bytes().get(8) != Some(&b'T') {
        return None;
    }
    // Leap second 60 is clamped to 59.
    let time = NaiveTime::from_hms_opt(num(9..11)?, num(11..13)?, num(13..15)?.min(59))?;
    let utc = match &s[15..] {
        "" => false,
        "Z" | "z" => true,
        _ => return None,
    };
    Some((date.and_time(time), utc))
}

/// Parses one DATE / DATE-TIME string with the property's TZID/VALUE.
pub(crate) fn parse_time_str(s: &str, prop: &Prop, zones: &Zones) -> Option<TimeVal> {
    let (naive, utc) = parse_naive(s)?;
    let date_only = s.trim().len() == 8
        || prop
            .param("VALUE")
            .is_some_and(|v| v.eq_ignore_ascii_case("DATE"));
    if date_only {
        return Some(TimeVal::Date(naive.date()));
    }
    let zone = if utc {
        Zone::Utc
    } else if let Some(id) = prop.param("TZID") {
        zones.resolve(id)
    } else {
        Zone::Floating
    };
    Some(TimeVal::DateTime(naive, zone))
}

/// Parses the (single) value of a DTSTART-like property.
pub(crate) fn parse_time(prop: &Prop, zones: &Zones) -> Option<TimeVal> {
    parse_time_str(&prop.value, prop, zones)
}

/// An RFC 5545 DURATION: nominal days (wall clock) plus exact seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Dur {
    pub days: i64,
    pub secs: i64,
}

/// Parses `[+-]P[nW][nD][T[nH][nM][nS]]`.
pub(crate) fn parse_duration(s: &str) -> Option<Dur> {
    let s = s.trim();
    let (neg, rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let rest = rest.strip_prefix(['P', 'p'])?;
    let (mut days, mut secs, mut in_time, mut n, mut any) = (0i64, 0i64, false, None::<i64>, false);
    for c in rest.chars() {
        match c.to_ascii_uppercase() {
            d @ '0'..='9' => {
                let v = n
                    .unwrap_or(0)
                    .checked_mul(10)?
                    .checked_add(i64::from(d as u8 - b'0'))?;
                if v > 1_000_000 {
                    return None;
                }
                n = Some(v);
            }
            'T' if n.is_none() => in_time = true,
            u => {
                let v = n.take()?;
                any = true;
                match (u, in_time) {
                    ('W', false) => days += v * 7,
                    ('D', false) => days += v,
                    ('H', true) => secs += v * 3600,
                    ('M', true) => secs += v * 60,
                    ('S', true) => secs += v,
                    _ => return None,
                }
            }
        }
    }
    // Bounded to about a century so date arithmetic can never overflow.
    if n.is_some() || !any || days > 40_000 || secs > 40_000 * 86_400 {
        return None;
    }
    Some(if neg {
        Dur {
            days: -days,
            secs: -secs,
        }
    } else {
        Dur { days, secs }
    })
}

/// Day-of-year sanity for callers comparing dates in a zone.
pub(crate) fn local_date(utc: DateTime<Utc>, zone: &Zone, default_tz: Tz) -> NaiveDate {
    let l = to_local(utc, zone, default_tz);
    NaiveDate::from_ymd_opt(l.year(), l.month(), l.day()).unwrap_or(l.date())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freeassociation_prefix_is_stripped() {
        assert_eq!(
            iana("/freeassociation.sourceforge.net/Tzfile/Europe/Berlin"),
            Some(Tz::Europe__Berlin)
        );
        assert_eq!(
            iana("/mozilla.org/20050126_1/America/New_York"),
            Some(Tz::America__New_York)
        );
    }

    #[test]
    fn windows_zone_names_map_to_iana() {
        assert_eq!(iana("W. Europe Standard Time"), Some(Tz::Europe__Berlin));
        assert_eq!(iana("Tokyo Standard Time"), Some(Tz::Asia__Tokyo));
    }

    #[test]
    fn rfc5545_duration_forms_parse() {
        assert_eq!(
            parse_duration("PT1H30M"),
            Some(Dur {
                days: 0,
                secs: 5400
            })
        );
        assert_eq!(parse_duration("P1W"), Some(Dur { days: 7, secs: 0 }));
        assert_eq!(
            parse_duration("-P1DT2H"),
            Some(Dur {
                days: -1,
                secs: -7200
            })
        );
        assert_eq!(parse_duration("P"), None);
        assert_eq!(parse_duration("PT"), None);
    }

    #[test]
    fn dst_gap_uses_offset_before_gap() {
        let l = NaiveDate::from_ymd_opt(2026, 3, 29)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        let u = to_utc(l, &Zone::Iana(Tz::Europe__Berlin), Tz::UTC);
        assert_eq!(u.to_rfc3339(), "2026-03-29T01:30:00+00:00");
    }
}
