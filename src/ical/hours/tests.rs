//! Working hours: the text form both ways and the expansion across DST.

use chrono::{DateTime, Utc};

use super::*;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn w(a: &str, b: &str) -> TimeRange {
    TimeRange {
        start: t(a),
        end: t(b),
    }
}

fn hours(spec: &str) -> WorkingHours {
    WorkingHours {
        weekly: WorkingHours::parse_weekly(spec).unwrap(),
        ..Default::default()
    }
}

fn fmt(v: &[TimeRange]) -> Vec<String> {
    v.iter()
        .map(|r| {
            format!(
                "{}/{}",
                r.start.format("%m-%dT%H:%MZ"),
                r.end.format("%m-%dT%H:%MZ")
            )
        })
        .collect()
}

#[test]
fn weekly_text_round_trips_and_joins_days() {
    let h = hours("mon-fri 9:00-12:00, 13:00-17:00; Sat 10:00-12:00;sunday 11:00-11:30");
    assert_eq!(
        h.weekly_text(),
        "Mon-Fri 09:00-12:00,13:00-17:00; Sat 10:00-12:00; Sun 11:00-11:30"
    );
    assert_eq!(hours(&h.weekly_text()), h);
    // Overlapping and adjacent periods are one; wrapping day ranges work.
    let h = hours("Fri-Mon 08:00-10:00,09:00-12:00,12:00-13:00");
    assert_eq!(h.weekly_text(), "Mon 08:00-13:00; Fri-Sun 08:00-13:00");
    assert_eq!(hours("Mon 22:00-24:00").weekly_text(), "Mon 22:00-24:00");
    assert_eq!(WorkingHours::default().weekly_text(), "none");
}

#[test]
fn bad_text_is_refused_with_what_was_wrong() {
    for (spec, want) in [
        ("Mon-Fri", "is not \"DAYS"),
        ("Mo-Fr 09:00-17:00", "\"Mo\" is not a day"),
        ("Mon 17:00-09:00", "ending after it starts"),
        ("Mon 09:00-24:30", "is not a period"),
        ("Mon 9-17", "is not a period"),
    ] {
        let e = WorkingHours::parse_weekly(spec).unwrap_err().to_string();
        assert!(e.contains(want), "{spec}: {e}");
    }
    let e = WorkingHours::parse_exception("2026-12-31..2026-12-01 off").unwrap_err();
    assert!(matches!(e, HoursError::Range { .. }), "{e}");
    assert!(WorkingHours::parse_exception("tomorrow off").is_err());
}

#[test]
fn exceptions_replace_the_days_hours() {
    let mut h = hours("Mon-Fri 09:00-17:00");
    let (dates, off) = WorkingHours::parse_exception("2026-12-24..2026-12-25 off").unwrap();
    assert_eq!(dates.len(), 2);
    for d in dates {
        h.exceptions.insert(d, off.clone());
    }
    let (dates, extra) = WorkingHours::parse_exception("2026-12-26 10:00-12:00").unwrap();
    h.exceptions.insert(dates[0], extra);
    // Thu 24 and Fri 25 off, Sat 26 open 10-12 (UTC user).
    let open = h.open(
        chrono_tz::UTC,
        w("2026-12-23T00:00:00Z", "2026-12-28T00:00:00Z"),
    );
    assert_eq!(
        fmt(&open),
        ["12-23T09:00Z/12-23T17:00Z", "12-26T10:00Z/12-26T12:00Z"]
    );
    assert_eq!(
        h.exception_lines(),
        ["2026-12-24 off", "2026-12-25 off", "2026-12-26 10:00-12:00"]
    );
}

#[test]
fn berlin_hours_keep_wall_clock_across_the_spring_change() {
    // DST starts in Europe/Berlin on Sunday 2026-03-29 (02:00 -> 03:00).
    let h = hours("Mon-Sun 09:00-17:00");
    let open = h.open(
        chrono_tz::Europe::Berlin,
        w("2026-03-28T00:00:00Z", "2026-03-31T00:00:00Z"),
    );
    assert_eq!(
        fmt(&open),
        [
            "03-28T08:00Z/03-28T16:00Z",
            "03-29T07:00Z/03-29T15:00Z",
            "03-30T07:00Z/03-30T15:00Z"
        ]
    );
}

#[test]
fn new_york_hours_keep_wall_clock_across_the_autumn_change() {
    // DST ends in America/New_York on Sunday 2026-11-01 (02:00 -> 01:00).
    let h = hours("Sat-Mon 09:00-17:00");
    let open = h.open(
        chrono_tz::America::New_York,
        w("2026-10-31T00:00:00Z", "2026-11-03T00:00:00Z"),
    );
    assert_eq!(
        fmt(&open),
        [
            "10-31T13:00Z/10-31T21:00Z",
            "11-01T14:00Z/11-01T22:00Z",
            "11-02T14:00Z/11-02T22:00Z"
        ]
    );
}

#[test]
fn a_period_inside_the_dst_gap_and_midnight_joins() {
    // 02:00-03:00 does not exist on 2026-03-29 in Berlin: it starts and
    // ends at the same instant and is dropped.
    let h = hours("Sun 02:00-03:00");
    let open = h.open(
        chrono_tz::Europe::Berlin,
        w("2026-03-29T00:00:00Z", "2026-03-30T00:00:00Z"),
    );
    assert!(open.is_empty(), "{:?}", fmt(&open));
    // Mon 22:00-24:00 and Tue 00:00-02:00 are one open period.
    let h = hours("Mon 22:00-24:00; Tue 00:00-02:00");
    let open = h.open(
        chrono_tz::UTC,
        w("2026-03-02T00:00:00Z", "2026-03-04T00:00:00Z"),
    );
    assert_eq!(fmt(&open), ["03-02T22:00Z/03-03T02:00Z"]);
}

#[test]
fn closed_is_the_rest_of_the_window() {
    let h = hours("Mon-Fri 09:00-17:00");
    let closed = h.closed(
        chrono_tz::UTC,
        w("2026-03-06T12:00:00Z", "2026-03-09T10:00:00Z"),
    );
    assert_eq!(
        fmt(&closed),
        ["03-06T17:00Z/03-09T09:00Z"],
        "Friday afternoon to Monday morning"
    );
}
