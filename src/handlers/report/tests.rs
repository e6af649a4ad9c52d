//! The indexed calendar-query (`select`: time index, stored names and
//! trees, stored time answers) against the full scan (`filter::matches` on
//! every object's bytes), over random events and random windows.

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::query::select;
use crate::dav::report::{CompFilter, MatchType, PropFilter, TextMatch, TimeRangeFilter};
use crate::handlers::filter;
use crate::ical::{self, ExpandOptions};
use crate::ids::{CalendarId, CollectionKey, ETag, ObjectName, TenantId, UserId};
use crate::secret::Secret;
use crate::store::{ObjectRecord, Origin, Store, WriteCondition};

fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

fn local(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%S").to_string()
}

/// A zone only a VTIMEZONE defines (UTC+5:30 without DST, then +6 in summer).
const CUSTOM_TZ: &str = "BEGIN:VTIMEZONE\r\nTZID:Custom/Zone\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:+0600\r\nTZOFFSETTO:+0530\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:19700301T000000\r\nTZOFFSETFROM:+0530\r\nTZOFFSETTO:+0600\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n";

/// One random object: one-off or recurring (COUNT, UNTIL or endless;
/// EXDATEs; an override), timed in UTC, floating, in an IANA zone or a
/// VTIMEZONE-only zone, or all-day; sometimes a VTODO.
fn event(rng: &mut StdRng, i: usize, base: DateTime<Utc>) -> String {
    let uid = format!("p-{i}");
    let start = base + Duration::hours(rng.gen_range(-24 * 400..24 * 400));
    let len = Duration::minutes([0, 15, 30, 60, 180, 60 * 26][rng.gen_range(0..6)]);
    let style = rng.gen_range(0..5);
    let mut zones = String::new();
    let (dtstart, dtend) = match style {
        0 => (
            format!("DTSTART:{}", utc(start)),
            format!("DTEND:{}", utc(start + len)),
        ),
        1 => (
            format!("DTSTART:{}", local(start)),
            format!("DTEND:{}", local(start + len)),
        ),
        2 => (
            format!("DTSTART;TZID=Europe/Berlin:{}", local(start)),
            format!("DTEND;TZID=Europe/Berlin:{}", local(start + len)),
        ),
        3 => {
            zones.push_str(CUSTOM_TZ);
            (
                format!("DTSTART;TZID=Custom/Zone:{}", local(start)),
                format!("DTEND;TZID=Custom/Zone:{}", local(start + len)),
            )
        }
        _ => (
            format!("DTSTART;VALUE=DATE:{}", start.format("%Y%m%d")),
            format!(
                "DTEND;VALUE=DATE:{}",
                (start + Duration::days(rng.gen_range(1..4))).format("%Y%m%d")
            ),
        ),
    };
    let comp = if rng.gen_range(0..12) == 0 {
        "VTODO"
    } else {
        "VEVENT"
    };
    let mut lines = vec![
        format!("BEGIN:{comp}"),
        format!("UID:{uid}"),
        "DTSTAMP:20260101T000000Z".to_string(),
        dtstart.clone(),
        format!(
            "SUMMARY:{}",
            ["Standup", "Lunch", "Review"][rng.gen_range(0..3)]
        ),
    ];
    if comp == "VEVENT" {
        lines.push(dtend);
    }
    let mut extra = Vec::new();
    if rng.gen_range(0..3) == 0 {
        let (freq, step) = [("DAILY", 1), ("WEEKLY", 7), ("MONTHLY", 30)][rng.gen_range(0..3)];
        let bound = match rng.gen_range(0..3) {
            0 => format!(";COUNT={}", rng.gen_range(2..40)),
            1 => format!(
                ";UNTIL={}",
                utc(start + Duration::days(rng.gen_range(10..300)))
            ),
            _ => String::new(),
        };
        lines.push(format!("RRULE:FREQ={freq}{bound}"));
        let value = |t: DateTime<Utc>| match style {
            0 => utc(t),
            4 => t.format("%Y%m%d").to_string(),
            _ => local(t),
        };
        let prefix = match style {
            2 => ";TZID=Europe/Berlin",
            3 => ";TZID=Custom/Zone",
            4 => ";VALUE=DATE",
            _ => "",
        };
        if rng.gen_bool(0.5) {
            let k = rng.gen_range(1..6) * step;
            lines.push(format!(
                "EXDATE{prefix}:{}",
                value(start + Duration::days(k))
            ));
        }
        if rng.gen_bool(0.3) && comp == "VEVENT" {
            let rid = start + Duration::days(2 * step);
            let moved = rid + Duration::hours(rng.gen_range(-30..30));
            extra = vec![
                "BEGIN:VEVENT".to_string(),
                format!("UID:{uid}"),
                "DTSTAMP:20260101T000000Z".to_string(),
                format!("RECURRENCE-ID{prefix}:{}", value(rid)),
                format!("DTSTART{prefix}:{}", value(moved)),
                format!("DTEND{prefix}:{}", value(moved + Duration::hours(1))),
                "SUMMARY:Moved".to_string(),
                "END:VEVENT".to_string(),
            ];
        }
    }
    lines.push(format!("END:{comp}"));
    lines.extend(extra);
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n{zones}{}\r\nEND:VCALENDAR\r\n",
        lines.join("\r\n")
    )
}

fn range(start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>) -> TimeRangeFilter {
    TimeRangeFilter { start, end }
}

fn comp(name: &str, time_range: Option<TimeRangeFilter>) -> CompFilter {
    CompFilter {
        name: name.into(),
        time_range,
        ..CompFilter::default()
    }
}

fn vcalendar(children: Vec<CompFilter>) -> CompFilter {
    CompFilter {
        name: "VCALENDAR".into(),
        comp_filters: children,
        ..CompFilter::default()
    }
}

#[test]
fn indexed_calendar_query_returns_what_a_full_scan_returns() {
    let store = Store::temporary().unwrap();
    let (t, u) = (TenantId::new("p").unwrap(), UserId::new("u").unwrap());
    crate::accounts::add_user(&store, &t, &u, &Secret::new("long-enough-pw".into())).unwrap();
    let mut rec = store.user(&t, &u).unwrap().unwrap();
    rec.timezone = "America/New_York".into();
    store.put_user(&t, &u, &rec).unwrap();
    let key = CollectionKey::new(&t, &u, &CalendarId::new("blocked").unwrap());
    let base = store.derive_window().unwrap().start + Duration::days(120);
    let mut rng = StdRng::seed_from_u64(10_001);
    let mut bodies = Vec::new();
    for i in 0..300 {
        let data = event(&mut rng, i, base).into_bytes();
        let index = ical::parse_lenient(&data).unwrap();
        let name = ObjectName::new(format!("p-{i}.ics")).unwrap();
        let rec = ObjectRecord {
            etag: ETag::of_content(&data),
            index,
            origin: Origin::Local,
            modified: 0,
            data: data.clone(),
        };
        store
            .put_object(&key, &name, &rec, &WriteCondition::default())
            .unwrap();
        bodies.push((name, data));
    }
    let opts = ExpandOptions::new(chrono_tz::America::New_York, crate::views::MAX_INSTANCES);
    let kept = store.derive_window().unwrap();
    let mut checked = 0;
    for round in 0..400 {
        let len = Duration::hours([1, 6, 24, 24 * 7, 24 * 31, 24 * 200][rng.gen_range(0..6)]);
        // Mostly inside the kept window; sometimes across or beyond it.
        let start = if round % 7 == 0 {
            kept.end - Duration::days(rng.gen_range(-400..40))
        } else {
            kept.start + Duration::hours(rng.gen_range(0..24 * 400))
        };
        let start = Utc
            .timestamp_opt(start.timestamp() - start.timestamp() % 900, 0)
            .unwrap();
        let tr = match round % 11 {
            0 => range(Some(start), None),
            1 => range(None, Some(start + len)),
            _ => range(Some(start), Some(start + len)),
        };
        let f = match round % 5 {
            0 => CompFilter {
                time_range: Some(tr),
                ..vcalendar(vec![comp("VEVENT", None)])
            },
            1 => vcalendar(vec![comp("VTODO", Some(tr))]),
            2 => vcalendar(vec![CompFilter {
                prop_filters: vec![PropFilter {
                    name: "SUMMARY".into(),
                    text_match: Some(TextMatch {
                        text: "view".into(),
                        collation: "i;ascii-casemap".into(),
                        negate: false,
                        match_type: MatchType::Contains,
                    }),
                    ..PropFilter::default()
                }],
                ..comp("VEVENT", Some(tr))
            }]),
            _ => vcalendar(vec![comp("VEVENT", Some(tr))]),
        };
        let mut indexed: Vec<String> = select(&store, &key, &f, &opts)
            .unwrap()
            .into_iter()
            .map(|(n, _)| n.to_string())
            .collect();
        indexed.sort();
        let mut scan: Vec<String> = bodies
            .iter()
            .filter(|(_, data)| filter::matches(data, &f, &opts))
            .map(|(n, _)| n.to_string())
            .collect();
        scan.sort();
        if indexed != scan {
            let differ = indexed
                .iter()
                .filter(|n| !scan.contains(n))
                .chain(scan.iter().filter(|n| !indexed.contains(n)));
            for n in differ {
                let name = ObjectName::new(n.clone()).unwrap();
                let body = store.object_body(&key, &name).unwrap().unwrap();
                eprintln!("{n}:\n{}", String::from_utf8_lossy(&body));
            }
        }
        assert_eq!(indexed, scan, "round {round}: {f:?}");
        checked += scan.len();
    }
    assert!(checked > 1_000, "the windows matched something ({checked})");
}
