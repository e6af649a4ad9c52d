//! Issue 13 item 6, reading calendars the way their exporters meant them:
//! SEQUENCE/DTSTAMP deciding between versions of one instance or one
//! master (RFC 5545 §3.8.7.4), and the edges of `X-WR-TIMEZONE` that the
//! oracle fixtures (`fixtures/ical/025`-`027`, `170`) do not show.

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::*;

fn cal(body: &str) -> Vec<u8> {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n{}\r\nEND:VCALENDAR\r\n",
        body.trim().replace('\n', "\r\n")
    )
    .into_bytes()
}

fn jan() -> TimeRange {
    TimeRange {
        start: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        end: Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap(),
    }
}

fn starts(bytes: &[u8], tz: Tz) -> Vec<String> {
    instances(bytes, jan(), &ExpandOptions::new(tz, 100))
        .unwrap()
        .iter()
        .map(|i| i.start.format("%d %H:%M").to_string())
        .collect()
}

const MASTER: &str = "BEGIN:VEVENT\nUID:s\nDTSTAMP:20260101T000000Z\nSEQUENCE:0\nDTSTART:20260105T090000Z\nDTEND:20260105T100000Z\nRRULE:FREQ=DAILY;COUNT=3\nEND:VEVENT";

fn moved(seq: &str, stamp: &str, hour: u32) -> String {
    format!("BEGIN:VEVENT\nUID:s\nRECURRENCE-ID:20260106T090000Z\nDTSTAMP:{stamp}\n{seq}DTSTART:20260106T{hour:02}0000Z\nDTEND:20260106T{:02}0000Z\nEND:VEVENT", hour + 1)
}

#[test]
fn rfc5545_3_8_7_4_the_override_with_the_highest_sequence_supersedes() {
    let old = moved("SEQUENCE:1\n", "20260102T000000Z", 15);
    let new = moved("SEQUENCE:2\n", "20260101T000000Z", 17);
    // Before: both versions counted (05 09:00, 06 15:00, 06 17:00, 07 09:00).
    for body in [
        format!("{MASTER}\n{old}\n{new}"),
        format!("{MASTER}\n{new}\n{old}"),
    ] {
        assert_eq!(
            starts(&cal(&body), Tz::UTC),
            ["05 09:00", "06 17:00", "07 09:00"]
        );
    }
    // Client PUTs with two overrides for one instance stay refused.
    let body = format!("{MASTER}\n{old}\n{new}");
    assert_eq!(parse_strict(&cal(&body)), Err(Error::DuplicateOverride));
}

#[test]
fn rfc5545_3_8_7_4_equal_sequence_then_the_latest_dtstamp_then_the_first() {
    let early = moved("SEQUENCE:1\n", "20260102T000000Z", 15);
    let late = moved("SEQUENCE:1\n", "20260103T000000Z", 17);
    for body in [
        format!("{MASTER}\n{early}\n{late}"),
        format!("{MASTER}\n{late}\n{early}"),
    ] {
        assert_eq!(
            starts(&cal(&body), Tz::UTC),
            ["05 09:00", "06 17:00", "07 09:00"]
        );
    }
    // A full tie keeps the first in the document; SEQUENCE absent counts as 0.
    let a = moved("", "20260102T000000Z", 15);
    let b = moved("SEQUENCE:0\n", "20260102T000000Z", 17);
    let body = format!("{MASTER}\n{a}\n{b}");
    assert_eq!(
        starts(&cal(&body), Tz::UTC),
        ["05 09:00", "06 15:00", "07 09:00"]
    );
}

#[test]
fn rfc5545_3_8_7_4_duplicate_masters_in_upstream_data_keep_the_most_current() {
    let newer = MASTER
        .replace("SEQUENCE:0", "SEQUENCE:4")
        .replace("COUNT=3", "COUNT=2")
        .replace("T090000Z", "T110000Z")
        .replace("T100000Z", "T120000Z");
    for body in [format!("{MASTER}\n{newer}"), format!("{newer}\n{MASTER}")] {
        // Before: the first master won and the second added a one-off.
        assert_eq!(starts(&cal(&body), Tz::UTC), ["05 11:00", "06 11:00"]);
        let index = parse_lenient(&cal(&body)).unwrap();
        assert_eq!(
            index.last_end,
            Some(
                Utc.with_ymd_and_hms(2026, 1, 6, 12, 0, 0)
                    .unwrap()
                    .timestamp()
            )
        );
        assert_eq!(parse_strict(&cal(&body)), Err(Error::MultipleMasters));
    }
}

#[test]
fn rfc5545_3_8_7_4_an_older_override_of_an_instance_the_master_deleted_is_gone() {
    // The master (SEQUENCE 2) deleted the 6th with EXDATE after the
    // override (SEQUENCE 1) moved it: the override is an older state.
    let master = MASTER
        .replace("SEQUENCE:0", "SEQUENCE:2")
        .replace("END:VEVENT", "EXDATE:20260106T090000Z\nEND:VEVENT");
    let body = format!(
        "{master}\n{}",
        moved("SEQUENCE:1\n", "20260102T000000Z", 15)
    );
    assert_eq!(starts(&cal(&body), Tz::UTC), ["05 09:00", "07 09:00"]);
    // A newer override of a deleted instance still counts.
    let body = format!(
        "{master}\n{}",
        moved("SEQUENCE:3\n", "20260102T000000Z", 15)
    );
    assert_eq!(
        starts(&cal(&body), Tz::UTC),
        ["05 09:00", "06 15:00", "07 09:00"]
    );
}

fn xwr(zone: &str, body: &str) -> Vec<u8> {
    cal(&format!("X-WR-TIMEZONE:{zone}\n{}", body.trim()))
}

#[test]
fn x_wr_timezone_floating_times_use_the_calendar_zone_not_the_readers() {
    let b = xwr(
        "America/New_York",
        "BEGIN:VEVENT\nUID:f\nDTSTAMP:20260101T000000Z\nDTSTART:20260105T090000\nDTEND:20260105T100000\nEND:VEVENT",
    );
    // 09:00 in New York whatever the reader's zone; before: 08:00Z in Berlin.
    assert_eq!(starts(&b, Tz::Europe__Berlin), ["05 14:00"]);
    assert_eq!(starts(&b, Tz::UTC), ["05 14:00"]);
    // The index treats the times as zoned (no floating slack).
    let index = parse_lenient(&b).unwrap();
    let at = |h| {
        Utc.with_ymd_and_hms(2026, 1, 5, h, 0, 0)
            .unwrap()
            .timestamp()
    };
    assert_eq!(
        (index.first_start, index.last_end),
        (Some(at(14)), Some(at(15)))
    );
}

#[test]
fn x_wr_timezone_leaves_tzid_values_dates_todos_and_unknown_zones_alone() {
    let body = "BEGIN:VEVENT\nUID:z\nDTSTAMP:20260101T000000Z\nDTSTART;TZID=Europe/Berlin:20260105T090000\nEND:VEVENT\nBEGIN:VEVENT\nUID:d\nDTSTAMP:20260101T000000Z\nDTSTART;VALUE=DATE:20260107\nEND:VEVENT\nBEGIN:VEVENT\nUID:u\nDTSTAMP:20260101T000000Z\nDTSTART;TZID=UTC:20260109T090000\nEND:VEVENT";
    let b = xwr("Asia/Tokyo", body);
    // Berlin stays Berlin, the date stays a date in the reader's zone, and
    // a value in a zone named UTC becomes Tokyo wall time (same instant).
    assert_eq!(starts(&b, Tz::UTC), ["05 08:00", "07 00:00", "09 09:00"]);
    let todo = "BEGIN:VTODO\nUID:t\nDTSTAMP:20260101T000000Z\nDTSTART:20260105T090000\nEND:VTODO";
    assert_eq!(starts(&xwr("Asia/Tokyo", todo), Tz::UTC), ["05 09:00"]);
    let floating =
        "BEGIN:VEVENT\nUID:f\nDTSTAMP:20260101T000000Z\nDTSTART:20260105T090000\nEND:VEVENT";
    assert_eq!(
        starts(&xwr("Mars/Olympus_Mons", floating), Tz::UTC),
        ["05 09:00"]
    );
}

#[test]
fn x_wr_timezone_utc_series_repeats_in_the_calendar_zones_wall_clock() {
    // 08:00Z = 09:00 Berlin in winter; the series keeps 09:00 Berlin, so
    // after the March change it is 07:00Z (before: 08:00Z all year).
    let b = xwr(
        "Europe/Berlin",
        "BEGIN:VEVENT\nUID:w\nDTSTAMP:20260101T000000Z\nDTSTART:20260323T080000Z\nRRULE:FREQ=WEEKLY;COUNT=2\nEXDATE:20260406T070000Z\nEND:VEVENT",
    );
    let w = TimeRange {
        start: Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap(),
        end: Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap(),
    };
    let got: Vec<DateTime<Utc>> = instances(&b, w, &ExpandOptions::new(Tz::UTC, 10))
        .unwrap()
        .iter()
        .map(|i| i.start)
        .collect();
    assert_eq!(
        got,
        [
            Utc.with_ymd_and_hms(2026, 3, 23, 8, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 3, 30, 7, 0, 0).unwrap()
        ]
    );
}
