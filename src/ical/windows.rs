//! Windows zone names (as Outlook and Exchange write them in TZID, e.g.
//! "W. Europe Standard Time") resolved to IANA zones through CLDR's
//! `windowsZones.xml` mapping, world-wide default territory ("001"), as
//! packaged by the `windows-timezones` crate (CLDR 46.1), with CLDR's old
//! zone ids replaced by their current tzdb names. A few spellings seen in
//! the wild that CLDR does not list are kept as aliases.
//!
//! Outlook also writes a zone's display name as its TZID: "(UTC+01:00)
//! Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna", older versions
//! "(GMT+01.00) Amsterdam / Berlin / Bern / Rome / Stockholm / Vienna".
//! [`described_zone`] finds the Windows zone with that offset whose
//! description names the same places.

use std::str::FromStr;
use std::sync::OnceLock;

use chrono_tz::Tz;
use windows_timezones::WindowsTimezone;

/// Names CLDR does not list, or that appear in another case; compared
/// case-insensitively.
const ALIASES: &[(&str, Tz)] = &[
    ("Coordinated Universal Time", Tz::UTC),
    ("W. Europe Standard Time", Tz::Europe__Berlin),
    ("Eastern Standard Time", Tz::America__New_York),
    ("Pacific Standard Time", Tz::America__Los_Angeles),
    ("Central Standard Time", Tz::America__Chicago),
    ("Mountain Standard Time", Tz::America__Denver),
    ("GMT Standard Time", Tz::Europe__London),
    ("Romance Standard Time", Tz::Europe__Paris),
    ("Central Europe Standard Time", Tz::Europe__Budapest),
    ("Central European Standard Time", Tz::Europe__Warsaw),
    ("Tokyo Standard Time", Tz::Asia__Tokyo),
    ("China Standard Time", Tz::Asia__Shanghai),
    ("India Standard Time", Tz::Asia__Kolkata),
    ("AUS Eastern Standard Time", Tz::Australia__Sydney),
];

/// CLDR still names some zones by their old IANA ids, which tzdb keeps
/// only as links (its `backward` file): the current names, for
/// X-LIC-LOCATION and for anyone reading the generated VTIMEZONE.
const CURRENT_NAMES: &[(Tz, Tz)] = &[
    (
        Tz::America__Buenos_Aires,
        Tz::America__Argentina__Buenos_Aires,
    ),
    (Tz::America__Godthab, Tz::America__Nuuk),
    (
        Tz::America__Indianapolis,
        Tz::America__Indiana__Indianapolis,
    ),
    (Tz::Asia__Calcutta, Tz::Asia__Kolkata),
    (Tz::Asia__Katmandu, Tz::Asia__Kathmandu),
    (Tz::Asia__Rangoon, Tz::Asia__Yangon),
    (Tz::Europe__Kiev, Tz::Europe__Kyiv),
];

/// The IANA zone CLDR gives for a Windows zone name, if it is one.
pub(crate) fn windows_zone(name: &str) -> Option<Tz> {
    if let Ok(w) = WindowsTimezone::from_str(name) {
        return Some(iana_of(w));
    }
    ALIASES
        .iter()
        .find(|(w, _)| w.eq_ignore_ascii_case(name))
        .map(|(_, tz)| *tz)
}

/// A Windows zone's IANA zone, by its current tzdb name.
fn iana_of(w: WindowsTimezone) -> Tz {
    let tz = Tz::from(w);
    CURRENT_NAMES
        .iter()
        .find(|(old, _)| *old == tz)
        .map_or(tz, |(_, new)| *new)
}

/// Every Windows zone, once each (the crate lists them only through their
/// IANA links).
fn all_windows_zones() -> Vec<WindowsTimezone> {
    let mut seen: Vec<WindowsTimezone> = Vec::new();
    for tz in chrono_tz::TZ_VARIANTS {
        if let Ok(w) = WindowsTimezone::try_from(tz) {
            if !seen.contains(&w) {
                seen.push(w);
            }
        }
    }
    seen
}

/// A display name taken apart: its UTC offset in minutes and its places,
/// lower-cased (`"(UTC-05:00) Bogota, Lima"` → `(-300, ["bogota", "lima"])`).
fn display_parts(name: &str) -> Option<(i32, Vec<String>)> {
    let rest = name.trim().strip_prefix('(')?;
    let (offset, places) = rest.split_once(')')?;
    let offset = offset
        .strip_prefix("UTC")
        .or_else(|| offset.strip_prefix("GMT"))?
        .trim();
    let minutes = if offset.is_empty() {
        0
    } else {
        let (sign, hm) = match offset.as_bytes().first()? {
            b'+' => (1, &offset[1..]),
            b'-' => (-1, &offset[1..]),
            _ => return None,
        };
        let (h, m) = hm.split_once([':', '.']).unwrap_or((hm, "0"));
        let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
        if h > 14 || m > 59 {
            return None;
        }
        sign * (h * 60 + m)
    };
    let places: Vec<String> = places
        .split([',', '/', ';'])
        .map(|p| p.trim().to_lowercase())
        .filter(|p| !p.is_empty())
        .collect();
    (!places.is_empty()).then_some((minutes, places))
}

/// Every Windows zone's description taken apart, with its zone (built
/// once).
fn descriptions() -> &'static [(i32, Vec<String>, Tz)] {
    static TABLE: OnceLock<Vec<(i32, Vec<String>, Tz)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        all_windows_zones()
            .into_iter()
            .filter_map(|w| {
                let (minutes, places) = display_parts(w.description())?;
                Some((minutes, places, iana_of(w)))
            })
            .collect()
    })
}

/// The IANA zone for an Outlook display name used as a TZID: the Windows
/// zone with the same offset and the same places, or else the one with
/// that offset sharing the most places with it (none on a tie, none when
/// no place is shared).
pub(crate) fn described_zone(name: &str) -> Option<Tz> {
    // Any other name fails at its first character, before any allocation.
    let (minutes, places) = display_parts(name)?;
    let same_offset = descriptions().iter().filter(|(m, _, _)| *m == minutes);
    if let Some((_, _, tz)) = same_offset.clone().find(|(_, p, _)| *p == places) {
        return Some(*tz);
    }
    let mut best: Option<(usize, Tz)> = None;
    let mut tied = false;
    for (_, p, tz) in same_offset {
        let shared = places.iter().filter(|x| p.contains(x)).count();
        match best {
            _ if shared == 0 => {}
            Some((n, _)) if shared < n => {}
            Some((n, other)) if shared == n => tied |= other != *tz,
            _ => {
                best = Some((shared, *tz));
                tied = false;
            }
        }
    }
    best.filter(|_| !tied).map(|(_, tz)| tz)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cldr_windows_names_map_to_their_001_zone() {
        let cases = [
            ("W. Europe Standard Time", Tz::Europe__Berlin),
            ("Pacific Standard Time", Tz::America__Los_Angeles),
            ("AUS Eastern Standard Time", Tz::Australia__Sydney),
            ("India Standard Time", Tz::Asia__Kolkata),
            ("E. South America Standard Time", Tz::America__Sao_Paulo),
            ("Russian Standard Time", Tz::Europe__Moscow),
            ("New Zealand Standard Time", Tz::Pacific__Auckland),
            ("UTC", Tz::Etc__UTC),
            ("FLE Standard Time", Tz::Europe__Kyiv),
            ("pacific standard time", Tz::America__Los_Angeles),
        ];
        for (name, tz) in cases {
            assert_eq!(windows_zone(name), Some(tz), "{name}");
        }
        assert_eq!(windows_zone("Europe/Berlin"), None);
        assert_eq!(windows_zone("Western/Central Europe"), None);
    }

    #[test]
    fn outlook_display_names_map_to_their_zone() {
        let cases = [
            (
                "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna",
                Tz::Europe__Berlin,
            ),
            // Outlook 2003/2007: GMT, a dot, slashes.
            (
                "(GMT+01.00) Amsterdam / Berlin / Bern / Rome / Stockholm / Vienna",
                Tz::Europe__Berlin,
            ),
            (
                "(UTC-05:00) Eastern Time (US & Canada)",
                Tz::America__New_York,
            ),
            (
                "(GMT-08:00) Pacific Time (US & Canada)",
                Tz::America__Los_Angeles,
            ),
            (
                "(UTC+05:30) Chennai, Kolkata, Mumbai, New Delhi",
                Tz::Asia__Kolkata,
            ),
            (
                "(UTC+00:00) Dublin, Edinburgh, Lisbon, London",
                Tz::Europe__London,
            ),
            (
                "(UTC+10:00) Canberra, Melbourne, Sydney",
                Tz::Australia__Sydney,
            ),
            ("(UTC) Coordinated Universal Time", Tz::Etc__UTC),
            (
                "(GMT+01:00) Brussels, Copenhagen, Madrid, Paris",
                Tz::Europe__Paris,
            ),
            // A list from an older release: the places it shares decide.
            (
                "(GMT-08:00) Pacific Time (US & Canada); Tijuana",
                Tz::America__Los_Angeles,
            ),
            ("(GMT+01:00) Berlin, Bern", Tz::Europe__Berlin),
            ("(UTC+09:00) Osaka, Sapporo, Tokyo", Tz::Asia__Tokyo),
        ];
        for (name, tz) in cases {
            assert_eq!(described_zone(name), Some(tz), "{name}");
        }
        // The offset must agree; unknown places, other shapes: nothing.
        assert_eq!(described_zone("(UTC+02:00) Berlin"), None);
        assert_eq!(described_zone("(UTC+01:00) Atlantis"), None);
        // As many places of one zone as of another: no guess.
        assert_eq!(described_zone("(UTC+01:00) Berlin, Paris"), None);
        assert_eq!(described_zone("(UTC+99:00) Berlin"), None);
        assert_eq!(described_zone("Europe/Berlin"), None);
        assert_eq!(described_zone("(UTC+01:00"), None);
        assert_eq!(described_zone("(CET) Berlin"), None);
        // Every Windows zone's own description resolves to its zone (the
        // table holds them all: the crate lists 139).
        let zones = all_windows_zones();
        for w in &zones {
            assert_eq!(
                described_zone(w.description()),
                windows_zone(w.name()),
                "{}",
                w.description()
            );
        }
        assert!(!zones.is_empty());
        assert!(descriptions().len() >= 130, "{}", descriptions().len());
    }
}
