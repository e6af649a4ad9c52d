//! The busy rules (issue 13 #3): each switch, its default, travel time at
//! the window's edges, and the stored answers following the rules.

use chrono::{DateTime, Utc};

use super::*;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}
fn win(a: &str, b: &str) -> TimeRange {
    TimeRange {
        start: t(a),
        end: t(b),
    }
}
fn ev(extra: &str) -> Vec<u8> {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:u1\r\nDTSTAMP:20260101T000000Z\r\n{}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        extra.trim().replace('\n', "\r\n")
    )
    .into_bytes()
}
fn settings(rules: BusyRules) -> BusySettings {
    BusySettings {
        owners: vec!["mailto:owner@example.com".into()],
        rules,
        ..BusySettings::utc()
    }
}
fn busy(bytes: &[u8], w: TimeRange, rules: BusyRules) -> Vec<(String, String, BusyKind)> {
    let s = settings(rules);
    merge(busy_for(bytes, w, &s, &s.options(10_000)).unwrap())
        .into_iter()
        .map(|i| {
            (
                i.start.format("%dT%H:%M").to_string(),
                i.end.format("%dT%H:%M").to_string(),
                i.kind,
            )
        })
        .collect()
}
fn b(s: &str, e: &str, k: BusyKind) -> (String, String, BusyKind) {
    (s.into(), e.into(), k)
}

const MARCH: (&str, &str) = ("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z");

#[test]
fn all_day_is_busy_by_default_and_free_unless_opaque_when_switched() {
    let w = win(MARCH.0, MARCH.1);
    let plain = ev("DTSTART;VALUE=DATE:20260305\nDTEND;VALUE=DATE:20260306");
    let opaque = ev("DTSTART;VALUE=DATE:20260305\nDTEND;VALUE=DATE:20260306\nTRANSP:OPAQUE");
    let timed = ev("DTSTART:20260305T100000Z\nDTEND:20260305T110000Z");
    let d = BusyRules::default();
    let free = BusyRules {
        all_day: AllDay::FreeUnlessOpaque,
        ..d
    };
    assert_eq!(
        busy(&plain, w, d),
        [b("05T00:00", "06T00:00", BusyKind::Busy)]
    );
    assert!(busy(&plain, w, free).is_empty());
    assert_eq!(
        busy(&opaque, w, free),
        [b("05T00:00", "06T00:00", BusyKind::Busy)]
    );
    assert_eq!(
        busy(&timed, w, free),
        [b("05T10:00", "05T11:00", BusyKind::Busy)]
    );
}

#[test]
fn tentative_and_unanswered_follow_their_switch() {
    let w = win(MARCH.0, MARCH.1);
    let status = ev("DTSTART:20260305T100000Z\nDTEND:20260305T110000Z\nSTATUS:TENTATIVE");
    let unanswered = ev(
        "DTSTART:20260306T100000Z\nDTEND:20260306T110000Z\nATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:owner@example.com",
    );
    let declined = ev(
        "DTSTART:20260307T100000Z\nDTEND:20260307T110000Z\nATTENDEE;PARTSTAT=DECLINED:mailto:owner@example.com",
    );
    let d = BusyRules::default();
    for (rules, want) in [
        (d, Some(BusyKind::Tentative)),
        (
            BusyRules {
                tentative: Tentative::Busy,
                ..d
            },
            Some(BusyKind::Busy),
        ),
        (
            BusyRules {
                tentative: Tentative::Free,
                ..d
            },
            None,
        ),
    ] {
        for (obj, day) in [(&status, "05"), (&unanswered, "06")] {
            let got = busy(obj, w, rules);
            let want: Vec<_> = want
                .map(|k| b(&format!("{day}T10:00"), &format!("{day}T11:00"), k))
                .into_iter()
                .collect();
            assert_eq!(got, want, "{rules:?}");
        }
        assert!(busy(&declined, w, rules).is_empty(), "declined stays free");
    }
}

#[test]
fn apple_travel_time_is_busy_before_and_after_unless_switched_off() {
    let w = win(MARCH.0, MARCH.1);
    let obj = ev("DTSTART:20260305T100000Z\nDTEND:20260305T110000Z\nX-APPLE-TRAVEL-DURATION;VALUE=DURATION:PT30M\nX-APPLE-TRAVEL-RETURN-DURATION;VALUE=DURATION:PT15M\nSTATUS:TENTATIVE");
    let d = BusyRules::default();
    assert_eq!(
        busy(&obj, w, d),
        [b("05T09:30", "05T11:15", BusyKind::Tentative)],
        "travel time has the event's kind"
    );
    let off = BusyRules { travel: false, ..d };
    assert_eq!(
        busy(&obj, w, off),
        [b("05T10:00", "05T11:00", BusyKind::Tentative)]
    );
    // A FREE event's travel time is free too; an all-day event has none.
    let free = ev("DTSTART:20260305T100000Z\nDTEND:20260305T110000Z\nTRANSP:TRANSPARENT\nX-APPLE-TRAVEL-DURATION:PT30M");
    assert!(busy(&free, w, d).is_empty());
    let all_day = ev("DTSTART;VALUE=DATE:20260305\nX-APPLE-TRAVEL-DURATION:PT30M");
    assert_eq!(
        busy(&all_day, w, d),
        [b("05T00:00", "06T00:00", BusyKind::Busy)]
    );
    // Implausible or broken values are ignored.
    let huge = ev("DTSTART:20260305T100000Z\nDTEND:20260305T110000Z\nX-APPLE-TRAVEL-DURATION:P3D");
    assert_eq!(
        busy(&huge, w, d),
        [b("05T10:00", "05T11:00", BusyKind::Busy)]
    );
}

#[test]
fn travel_time_reaching_into_the_window_counts() {
    // The event starts after the window ends; its travel starts inside.
    let obj = ev("DTSTART:20260305T100000Z\nDTEND:20260305T110000Z\nX-APPLE-TRAVEL-DURATION:PT1H");
    let w = win("2026-03-05T00:00:00Z", "2026-03-05T09:30:00Z");
    assert_eq!(
        busy(&obj, w, BusyRules::default()),
        [b("05T09:00", "05T09:30", BusyKind::Busy)]
    );
    // And the stored answers see it too.
    let d = derive(&obj, &settings(BusyRules::default()), w);
    assert_eq!(d.busy.len(), 1);
    assert_eq!(d.busy[0].start, t("2026-03-05T09:00:00Z").timestamp());
}

#[test]
fn stored_answers_carry_the_rules_in_their_fingerprint() {
    let obj = ev("DTSTART;VALUE=DATE:20260305");
    let w = win(MARCH.0, MARCH.1);
    let d = settings(BusyRules::default());
    let free = settings(BusyRules {
        all_day: AllDay::FreeUnlessOpaque,
        ..BusyRules::default()
    });
    // The default rules add nothing to the formula (the reader's version,
    // the zone, then each address); answers of version 1, whose formula
    // had no version, are outdated.
    use sha2::{Digest, Sha256};
    let formula = |version: Option<u8>| {
        let mut h = Sha256::new();
        if let Some(v) = version {
            h.update([b'v', v]);
        }
        h.update("UTC");
        h.update([0]);
        h.update("mailto:owner@example.com");
        let f = h.finalize();
        u64::from_be_bytes(f[..8].try_into().unwrap())
    };
    assert_eq!(d.fingerprint(), formula(Some(crate::ical::DERIVE_VERSION)));
    assert_ne!(d.fingerprint(), formula(None));
    assert_ne!(d.fingerprint(), free.fingerprint());
    assert_eq!(derive(&obj, &d, w).busy.len(), 1);
    let f = derive(&obj, &free, w);
    assert!(f.busy.is_empty());
    assert_eq!(f.settings, free.fingerprint());
}

#[test]
fn widen_adds_buffers_and_joins_what_they_close() {
    let i = |s: &str, e: &str, kind| BusyInterval {
        start: t(s),
        end: t(e),
        kind,
    };
    let got = widen(
        &[
            i(
                "2026-03-05T10:00:00Z",
                "2026-03-05T11:00:00Z",
                BusyKind::Busy,
            ),
            i(
                "2026-03-05T11:20:00Z",
                "2026-03-05T12:00:00Z",
                BusyKind::Tentative,
            ),
        ],
        chrono::Duration::minutes(10),
        chrono::Duration::minutes(15),
    );
    assert_eq!(
        got,
        [
            i(
                "2026-03-05T09:50:00Z",
                "2026-03-05T11:15:00Z",
                BusyKind::Busy
            ),
            i(
                "2026-03-05T11:15:00Z",
                "2026-03-05T12:15:00Z",
                BusyKind::Tentative
            ),
        ]
    );
}
