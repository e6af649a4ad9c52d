//! Issue 12 item 12: VTIMEZONEs generated from the time-zone database,
//! read back by our own VTIMEZONE reader; `repair` of objects that use a
//! TZID without defining it (byte-identical when nothing is missing);
//! Windows zone names and Outlook display names in expansion.

use std::borrow::Cow;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::*;

const STANDUP: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calproxy//demo//EN\r\nBEGIN:VEVENT\r\nUID:demo-team-standup@calproxy\r\nDTSTAMP:20261101T090000Z\r\nDTSTART;TZID=Europe/Berlin:20261102T093000\r\nDTEND;TZID=Europe/Berlin:20261102T094500\r\nRRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR\r\nSUMMARY:Team stand-up\r\nTRANSP:OPAQUE\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

fn year_2026() -> TimeRange {
    let at = |y| Utc.with_ymd_and_hms(y, 1, 1, 0, 0, 0).unwrap();
    TimeRange {
        start: at(2026),
        end: at(2027),
    }
}

fn starts(bytes: &[u8], w: TimeRange) -> Vec<DateTime<Utc>> {
    instances(bytes, w, &ExpandOptions::new(Tz::UTC, 10_000))
        .unwrap()
        .iter()
        .map(|i| i.start)
        .collect()
}

#[test]
fn issue_12_repair_adds_the_missing_vtimezone_before_the_event() {
    let r = repair(STANDUP.as_bytes()).unwrap();
    assert_eq!(r.added, vec!["Europe/Berlin".to_string()]);
    assert!(r.unresolved.is_empty());
    let text = std::str::from_utf8(&r.bytes).unwrap();
    let vtz = text
        .find("BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n")
        .unwrap();
    assert!(vtz < text.find("BEGIN:VEVENT").unwrap(), "{text}");
    // Every original line is kept, in order, byte for byte.
    assert_eq!(
        text.replace(&text[vtz..text.find("END:VTIMEZONE\r\n").unwrap() + 15], ""),
        STANDUP
    );
    assert!(text.contains("RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n"));
    // Still strictly valid, and the same instants.
    parse_strict(&r.bytes).unwrap();
    let w = year_2026();
    assert_eq!(starts(&r.bytes, w), starts(STANDUP.as_bytes(), w));
    assert_eq!(
        starts(&r.bytes, w)[0],
        Utc.with_ymd_and_hms(2026, 11, 2, 8, 30, 0).unwrap()
    );
    // Repairing again changes nothing.
    let again = repair(&r.bytes).unwrap();
    assert!(matches!(again.bytes, Cow::Borrowed(_)) && again.added.is_empty());
}

#[test]
fn issue_12_repair_leaves_complete_objects_byte_identical() {
    let dirs = [concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/ical")];
    let mut checked = 0;
    for dir in dirs {
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            if path.extension().is_none_or(|x| x != "ics") {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            let Ok(r) = repair(&bytes) else { continue };
            if r.added.is_empty() {
                assert!(
                    matches!(r.bytes, Cow::Borrowed(b) if std::ptr::eq(b, bytes.as_slice())),
                    "{} changed",
                    path.display()
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 120, "only {checked} files");
}

#[test]
fn issue_12_every_sim_fixture_carries_its_vtimezones() {
    // Real iCloud always sends the VTIMEZONE of a TZID (ICLOUD.md §6.5).
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sim");
    let mut seen = 0;
    for dir in std::fs::read_dir(&root).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            let r = repair(&bytes).unwrap();
            assert!(
                r.added.is_empty() && r.unresolved.is_empty(),
                "{}: {r:?}",
                path.display()
            );
            assert!(matches!(r.bytes, Cow::Borrowed(_)));
            seen += 1;
        }
    }
    assert!(seen >= 10, "only {seen} sim fixtures");
}

#[test]
fn issue_12_windows_tzid_gets_a_vtimezone_under_its_own_name() {
    let b = STANDUP.replace("TZID=Europe/Berlin", "TZID=\"W. Europe Standard Time\"");
    let r = repair(b.as_bytes()).unwrap();
    assert_eq!(r.added, vec!["W. Europe Standard Time".to_string()]);
    let text = std::str::from_utf8(&r.bytes).unwrap();
    assert!(text.contains("TZID:W. Europe Standard Time\r\nX-LIC-LOCATION:Europe/Berlin\r\n"));
    let w = year_2026();
    assert_eq!(starts(&r.bytes, w), starts(STANDUP.as_bytes(), w));
}

/// Outlook's display-name TZIDs (quoted: they hold commas and a colon)
/// resolve like the zone they describe, with or without a VTIMEZONE; the
/// generated one carries the name as TEXT, commas escaped.
#[test]
fn outlook_display_name_tzid_expands_like_its_zone_and_gets_a_vtimezone() {
    let name = "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna";
    let b = STANDUP.replace("TZID=Europe/Berlin", &format!("TZID=\"{name}\""));
    let w = year_2026();
    assert_eq!(starts(b.as_bytes(), w), starts(STANDUP.as_bytes(), w));
    let r = repair(b.as_bytes()).unwrap();
    assert_eq!(r.added, vec![name.to_string()]);
    assert!(r.unresolved.is_empty());
    let text = std::str::from_utf8(&r.bytes).unwrap();
    assert!(
        text.contains("TZID:(UTC+01:00) Amsterdam\\, Berlin\\, Bern\\, Rome\\, Stockholm\\, Vienna\r\nX-LIC-LOCATION:Europe/Berlin\r\n"),
        "{text}"
    );
    assert_eq!(starts(&r.bytes, w), starts(STANDUP.as_bytes(), w));
    // Repair finds its own VTIMEZONE on the next pass.
    assert!(matches!(repair(&r.bytes).unwrap().bytes, Cow::Borrowed(_)));
}

#[test]
fn issue_12_unknown_tzid_is_reported_and_refused_for_clients() {
    let b = STANDUP.replace("TZID=Europe/Berlin", "TZID=Western/Central Europe");
    let r = repair(b.as_bytes()).unwrap();
    assert!(r.added.is_empty());
    assert_eq!(r.unresolved, vec!["Western/Central Europe".to_string()]);
    assert!(matches!(r.bytes, Cow::Borrowed(_)));
    let err = repair_strict(b.as_bytes()).unwrap_err();
    assert_eq!(
        err,
        Error::UnknownTimezone {
            tzid: "Western/Central Europe".into()
        }
    );
    assert_eq!(err.kind(), ErrorKind::InvalidData);
    assert!(repair_strict(STANDUP.as_bytes()).is_ok());
}

#[test]
fn issue_12_repair_keeps_lf_endings_a_bom_and_defined_custom_zones() {
    let lf = format!("\u{feff}{}", STANDUP.replace("\r\n", "\n"));
    let r = repair(lf.as_bytes()).unwrap();
    let text = std::str::from_utf8(&r.bytes).unwrap();
    assert!(
        text.starts_with('\u{feff}') && !text.contains('\r'),
        "{text:?}"
    );
    assert!(text.contains("\nBEGIN:VTIMEZONE\nTZID:Europe/Berlin\n"));
    // A custom zone the object defines itself needs nothing.
    let custom = "BEGIN:VCALENDAR\r\nBEGIN:VTIMEZONE\r\nTZID:Office\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART;TZID=Office:20260101T090000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let r = repair(custom.as_bytes()).unwrap();
    assert!(r.added.is_empty() && r.unresolved.is_empty());
    assert!(repair(b"\xff\xfe").is_err());
}

/// Local wall times that chrono-tz maps to one instant, around every
/// offset change of `tz` in 2024-2027 and weekly across the years.
fn probe_times(tz: Tz) -> Vec<NaiveDateTime> {
    let mut out = Vec::new();
    let mut day = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    let noon = |d: NaiveDate| {
        let t = tz
            .from_local_datetime(&d.and_hms_opt(12, 0, 0).unwrap())
            .unwrap();
        t.naive_local() - t.naive_utc()
    };
    while day.format("%Y").to_string() != "2028" {
        let next = day.succ_opt().unwrap();
        if noon(day) != noon(next) {
            for k in -2..=2 {
                for h in [0, 1, 4, 9, 23] {
                    out.push((day + Duration::days(k)).and_hms_opt(h, 30, 0).unwrap());
                }
            }
        }
        if day.format("%u").to_string() == "3" {
            out.push(day.and_hms_opt(9, 0, 0).unwrap());
        }
        day = next;
    }
    out.retain(|l| tz.from_local_datetime(l).single().is_some());
    out
}

#[test]
fn issue_12_generated_vtimezone_read_back_gives_chrono_tz_instants() {
    for (n, tz) in [
        Tz::Europe__Berlin,
        Tz::America__New_York,
        Tz::Australia__Sydney,
        Tz::Asia__Kolkata,
    ]
    .into_iter()
    .enumerate()
    {
        // A name nothing resolves, without X-LIC-LOCATION: only the
        // generated STANDARD/DAYLIGHT rules can place these times.
        let name = format!("Generated-{n}");
        let vtz: String = vtimezone(&name, tz, 2024, 2027)
            .lines()
            .filter(|l| !l.starts_with("X-LIC-LOCATION"))
            .map(|l| format!("{l}\r\n"))
            .collect();
        let mut body = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n");
        body.push_str(&vtz);
        let times = probe_times(tz);
        assert!(times.len() > 200, "{tz}: {}", times.len());
        for (i, l) in times.iter().enumerate() {
            body.push_str(&format!(
                "BEGIN:VEVENT\r\nUID:{i}\r\nDTSTAMP:20240101T000000Z\r\nDTSTART;TZID={name}:{}\r\nEND:VEVENT\r\n",
                l.format("%Y%m%dT%H%M%S")
            ));
        }
        body.push_str("END:VCALENDAR\r\n");
        let w = TimeRange {
            start: Utc.with_ymd_and_hms(2023, 12, 1, 0, 0, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2028, 2, 1, 0, 0, 0).unwrap(),
        };
        let mut got = starts(body.as_bytes(), w);
        let mut want: Vec<DateTime<Utc>> = times
            .iter()
            .map(|l| tz.from_local_datetime(l).unwrap().with_timezone(&Utc))
            .collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{tz}");
    }
}

/// Found by the `ical` fuzz target: a generated VTIMEZONE writes its TZID
/// as TEXT (a backslash escaped) while repair compared the raw value with
/// the TZID parameter, so it missed its own VTIMEZONE: every repair added
/// another, and strict clients found none matching. A TZID with control
/// characters (no parameter value may hold them) gets no VTIMEZONE.
#[test]
fn issue_12_repair_finds_the_vtimezone_it_generated() {
    let with = |tzid: &str| {
        STANDUP
            .replace("TZID=Europe/Berlin:", &format!("TZID=\"{tzid}\":"))
            .into_bytes()
    };
    let b = with("/freeassociation.s\\urceforge.net/Europe/Berlin");
    let once = repair(&b).unwrap();
    assert_eq!(once.added.len(), 1, "{:?}", once.added);
    let text = std::str::from_utf8(&once.bytes).unwrap();
    assert!(
        text.contains("TZID:/freeassociation.s\\\\urceforge.net/Europe/Berlin\r\n"),
        "{text}"
    );
    let twice = repair(&once.bytes).unwrap();
    assert!(twice.added.is_empty(), "{:?}", twice.added);
    assert_eq!(twice.bytes, once.bytes);
    assert!(parse_strict(&once.bytes).is_ok());
    // A custom zone whose TZID needs escaping is found by its parameter.
    let custom = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VTIMEZONE\r\nTZID:Office\\, Berlin\r\n\
        BEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:+0500\r\nTZOFFSETTO:+0500\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n\
        BEGIN:VEVENT\r\nUID:c\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;TZID=\"Office, Berlin\":20260105T100000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    assert!(repair_strict(custom.as_bytes()).is_ok());
    assert_eq!(
        starts(custom.as_bytes(), year_2026()),
        vec![Utc.with_ymd_and_hms(2026, 1, 5, 5, 0, 0).unwrap()]
    );
    // Control characters: unresolved, so a client's PUT is refused.
    let b = with("/mozilla.org/2007\r0129_1/America/New_York");
    let r = repair(&b).unwrap();
    assert!(r.added.is_empty() && r.unresolved.len() == 1, "{r:?}");
}
