//! Windows zone names (as Outlook and Exchange write them in TZID, e.g.
//! "W. Europe Standard Time") resolved to IANA zones through CLDR's
//! `windowsZones.xml` mapping, world-wide default territory ("001"), as
//! packaged by the `windows-timezones` crate (CLDR 46.1), with CLDR's old
//! zone ids replaced by their current tzdb names. A few spellings seen in
//! the wild that CLDR does not list are kept as aliases.

use std::str::FromStr;

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
        let tz = Tz::from(w);
        return Some(
            CURRENT_NAMES
                .iter()
                .find(|(old, _)| *old == tz)
                .map_or(tz, |(_, new)| *new),
        );
    }
    ALIASES
        .iter()
        .find(|(w, _)| w.eq_ignore_ascii_case(name))
        .map(|(_, tz)| *tz)
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
}
