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
    let fingerprint = store.busy_settings(&key.owner()).fingerprint();
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
        let mut indexed: Vec<String> = select(&store, &key, &f, &opts, fingerprint)
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

/// A write that lands after a calendar-query read its collection: the
/// query is patched up to the newest state, answers what a fresh listing
/// of that state answers, keeps that state as its base, and its answer is
/// not kept under the key of the older state it read.
#[test]
fn a_patch_that_overtakes_its_request_answers_the_newest_state_and_is_not_kept() {
    use crate::answers::KeyBuilder;
    use crate::dav::Report;
    use crate::handlers::Ctx;
    use crate::ids::UserRef;

    let app = crate::state::App::new(
        Store::temporary().unwrap(),
        crate::config::Config::new("127.0.0.1:0".parse().unwrap(), std::env::temp_dir()),
    );
    let store = &app.store;
    let (t, u) = (TenantId::new("p").unwrap(), UserId::new("u").unwrap());
    crate::accounts::add_user(store, &t, &u, &Secret::new("long-enough-pw".into())).unwrap();
    let key = CollectionKey::new(&t, &u, &CalendarId::new("blocked").unwrap());
    let principal = UserRef::new(&t, &u);
    let ctx = Ctx {
        app: &app,
        principal: &principal,
    };
    let day = store.derive_window().unwrap().start + Duration::days(40);
    let put = |name: &str, at: DateTime<Utc>| {
        let data = format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:{name}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{}\r\nDTEND:{}\r\nSUMMARY:{name}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            utc(at),
            utc(at + Duration::hours(1))
        )
        .into_bytes();
        let rec = ObjectRecord {
            etag: ETag::of_content(&data),
            index: ical::parse_lenient(&data).unwrap(),
            origin: Origin::Local,
            modified: 0,
            data,
        };
        let name = ObjectName::new(format!("{name}.ics")).unwrap();
        store
            .put_object(&key, &name, &rec, &WriteCondition::default())
            .unwrap();
    };
    put("a", day);
    put("b", day + Duration::hours(2));
    let xml = format!(
        r#"<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="{}" end="{}"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"#,
        utc(day - Duration::days(1)),
        utc(day + Duration::days(2))
    );
    let Ok(Report::CalendarQuery(q)) = crate::dav::parse_report(xml.as_bytes()) else {
        panic!("a calendar-query");
    };
    let opts = ExpandOptions::new(chrono_tz::UTC, crate::views::MAX_INSTANCES);
    let fingerprint = store.busy_settings(&key.owner()).fingerprint();
    let identity = KeyBuilder::new("the query").finish();

    let read = store.collection(&key).unwrap().unwrap();
    let (first, keep) =
        super::query::query(&ctx, &key, &read, &q, &opts, fingerprint, identity).unwrap();
    assert!(keep, "listed at the state it read");
    assert_eq!(app.bases.get(&identity).unwrap().seq, read.seq);

    // Two writes land after the request read the collection: a new match,
    // and `a` moved out of the window.
    put("c", day + Duration::hours(4));
    put("a", day + Duration::days(100));
    let now = store.collection(&key).unwrap().unwrap();
    assert!(now.seq > read.seq);
    let (late, keep) =
        super::query::query(&ctx, &key, &read, &q, &opts, fingerprint, identity).unwrap();
    assert!(!keep, "made from a newer state than the key names");
    assert_eq!(app.bases.patched(), 1);
    assert_eq!(app.bases.get(&identity).unwrap().seq, now.seq);

    // A fresh listing of the newest state (no base under another identity).
    let other = KeyBuilder::new("a fresh listing").finish();
    let (fresh, keep) =
        super::query::query(&ctx, &key, &now, &q, &opts, fingerprint, other).unwrap();
    assert!(keep);
    assert_eq!(app.bases.patched(), 1, "listed afresh, not patched");
    assert_eq!(late.body, fresh.body);
    let text = String::from_utf8_lossy(&late.body);
    assert!(
        text.contains("/b.ics") && text.contains("/c.ics") && !text.contains("/a.ics"),
        "{text}"
    );
    assert_ne!(first.body, late.body);
}
