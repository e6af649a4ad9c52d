//! Free slots, pure: hand-checked cases, the query's limits, and a
//! property test against an independent minute-by-minute model.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;
use crate::ical::BusyKind;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}
fn range(a: &str, b: &str) -> TimeRange {
    TimeRange {
        start: t(a),
        end: t(b),
    }
}
fn busy(a: &str, b: &str) -> BusyInterval {
    BusyInterval {
        start: t(a),
        end: t(b),
        kind: BusyKind::Busy,
    }
}
fn hours(spec: &str) -> WorkingHours {
    WorkingHours {
        weekly: WorkingHours::parse_weekly(spec).unwrap(),
        ..Default::default()
    }
}
fn shape(window: TimeRange, d: i64, step: i64, before: i64, after: i64) -> Shape {
    Shape {
        window,
        duration: Duration::minutes(d),
        interval: Duration::minutes(step),
        before: Duration::minutes(before),
        after: Duration::minutes(after),
    }
}
fn starts(v: &[TimeRange]) -> Vec<String> {
    v.iter()
        .map(|r| r.start.format("%d %H:%M").to_string())
        .collect()
}

#[test]
fn a_busy_block_mid_day_with_buffers() {
    // Monday 2026-03-02, 09:00-17:00 UTC; a meeting 12:00-13:00; 30-minute
    // slots every 30 minutes with 10 minutes free before and after each.
    let day = range("2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z");
    let open = hours("Mon-Fri 09:00-17:00").open(chrono_tz::UTC, day);
    let got = free_slots(
        &open,
        &[busy("2026-03-02T12:00:00Z", "2026-03-02T13:00:00Z")],
        &shape(day, 30, 30, 10, 10),
    );
    // 11:30 would end at 12:00 with no time after it; 13:00 would start
    // with no time before it; the grid resumes at 13:30.
    assert_eq!(
        starts(&got),
        [
            "02 09:00", "02 09:30", "02 10:00", "02 10:30", "02 11:00", "02 13:30", "02 14:00",
            "02 14:30", "02 15:00", "02 15:30", "02 16:00", "02 16:30"
        ]
    );
    assert!(got.iter().all(|s| s.end - s.start == Duration::minutes(30)));
    // Without buffers 11:30 and 13:00 are free.
    let plain = free_slots(
        &open,
        &[busy("2026-03-02T12:00:00Z", "2026-03-02T13:00:00Z")],
        &shape(day, 30, 30, 0, 0),
    );
    assert_eq!(plain.len(), 14);
}

#[test]
fn a_gap_off_the_grid_offers_its_own_start() {
    let day = range("2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z");
    let open = hours("Mon 09:00-17:00").open(chrono_tz::UTC, day);
    let got = free_slots(
        &open,
        &[
            busy("2026-03-02T09:00:00Z", "2026-03-02T10:05:00Z"),
            busy("2026-03-02T10:40:00Z", "2026-03-02T17:00:00Z"),
        ],
        &shape(day, 30, 30, 0, 0),
    );
    assert_eq!(starts(&got), ["02 10:05"]);
}

#[test]
fn tentative_time_is_not_bookable() {
    let day = range("2026-03-02T09:00:00Z", "2026-03-02T11:00:00Z");
    let open = vec![day];
    let mut b = busy("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z");
    b.kind = BusyKind::Tentative;
    assert_eq!(
        starts(&free_slots(&open, &[b], &shape(day, 60, 60, 0, 0))),
        ["02 10:00"]
    );
}

#[test]
fn dst_change_inside_the_window_keeps_wall_clock_slots() {
    // Europe/Berlin springs forward on 2026-03-29: 09:00 local is 08:00Z
    // on Saturday and 07:00Z on Sunday.
    let w = range("2026-03-28T00:00:00Z", "2026-03-30T00:00:00Z");
    let open = hours("Sat-Sun 09:00-11:00").open(chrono_tz::Europe::Berlin, w);
    assert_eq!(
        starts(&free_slots(&open, &[], &shape(w, 60, 60, 0, 0))),
        ["28 08:00", "28 09:00", "29 07:00", "29 08:00"]
    );
    // America/New_York falls back on 2026-11-01: 09:00 local is 13:00Z on
    // Saturday and 14:00Z on Sunday.
    let w = range("2026-10-31T00:00:00Z", "2026-11-02T06:00:00Z");
    let open = hours("Sat-Sun 09:00-10:00").open(chrono_tz::America::New_York, w);
    assert_eq!(
        starts(&free_slots(&open, &[], &shape(w, 30, 30, 0, 0))),
        ["31 13:00", "31 13:30", "01 14:00", "01 14:30"]
    );
}

#[test]
fn limits_are_checked_and_named() {
    let w = range("2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z");
    let p = |d: &'static str| SlotParams {
        duration: Some(d),
        ..Default::default()
    };
    let q = SlotQuery::new(w, &p("PT30M")).unwrap();
    assert_eq!(
        q.interval,
        Duration::minutes(30),
        "interval defaults to the duration"
    );
    for (params, window, want) in [
        (p("PT4M"), w, "between 5 minutes and 24 hours"),
        (p("PT24H1M"), w, "between 5 minutes and 24 hours"),
        (p("30 minutes"), w, "ISO 8601 duration"),
        (SlotParams::default(), w, "duration must be"),
        (
            p("PT30M"),
            range("2026-03-01T00:00:00Z", "2026-05-02T00:00:01Z"),
            "at most 62 days",
        ),
        (
            SlotParams {
                interval: Some("PT1M"),
                ..p("PT30M")
            },
            w,
            "interval must be between",
        ),
        (
            SlotParams {
                buffer_before: Some("-PT5M"),
                ..p("PT30M")
            },
            w,
            "buffer_before must be between 0 and 24 hours",
        ),
        (
            SlotParams {
                tz: Some("Mars/Olympus"),
                ..p("PT30M")
            },
            w,
            "IANA time zone",
        ),
        (
            p("PT30M"),
            range("2026-03-03T00:00:00Z", "2026-03-02T00:00:00Z"),
            "end after start",
        ),
    ] {
        let e = SlotQuery::new(window, &params).unwrap_err().to_string();
        assert!(e.contains(want), "{e}");
    }
    // Exactly at the limits is fine.
    SlotQuery::new(
        range("2026-03-01T00:00:00Z", "2026-05-02T00:00:00Z"),
        &p("PT5M"),
    )
    .unwrap();
    SlotQuery::new(w, &p("PT24H")).unwrap();
}

// ---- property test -----------------------------------------------------------

const ZONES: [Tz; 5] = [
    chrono_tz::UTC,
    chrono_tz::Europe::Berlin,
    chrono_tz::America::New_York,
    chrono_tz::Australia::Sydney,
    chrono_tz::Asia::Kolkata,
];

fn random_hours(rng: &mut StdRng) -> WorkingHours {
    let mut h = WorkingHours::default();
    for day in h.weekly.iter_mut() {
        for _ in 0..rng.gen_range(0..3) {
            let start = 15 * rng.gen_range(0..90u16);
            let end = (start + 15 * rng.gen_range(1..40u16)).min(24 * 60);
            day.push(Period { start, end });
        }
    }
    // Through the text form, which normalises the periods.
    let text = h.weekly_text();
    h.weekly = if text == "none" {
        Default::default()
    } else {
        WorkingHours::parse_weekly(&text).unwrap()
    };
    for _ in 0..rng.gen_range(0..3) {
        let d =
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + Duration::days(rng.gen_range(0..365));
        let p = if rng.gen_bool(0.5) {
            Vec::new()
        } else {
            vec![Period {
                start: 600,
                end: 720,
            }]
        };
        h.exceptions.insert(d, p);
    }
    h
}

/// The free minutes of the window by brute force: inside an open period,
/// and no busy interval within `after` before or `before` after them.
fn free_minutes(open: &[TimeRange], busy: &[BusyInterval], s: &Shape) -> Vec<bool> {
    let n = (s.window.end - s.window.start).num_minutes() as usize;
    (0..n)
        .map(|i| {
            let m = s.window.start + Duration::minutes(i as i64);
            let m1 = m + Duration::minutes(1);
            open.iter().any(|o| o.start <= m && m1 <= o.end)
                && !busy
                    .iter()
                    .any(|b| m < b.end + s.before && b.start - s.after < m1)
        })
        .collect()
}

#[test]
fn property_slots_avoid_buffered_busy_stay_in_hours_and_fill_every_long_gap() {
    let seed = 0x5_1075;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut total = 0;
    for case in 0..250 {
        let zone = ZONES[rng.gen_range(0..ZONES.len())];
        let start = t("2026-01-01T00:00:00Z") + Duration::minutes(rng.gen_range(0..350 * 24 * 60));
        let window = TimeRange {
            start,
            end: start + Duration::minutes(rng.gen_range(60..10 * 24 * 60)),
        };
        let h = random_hours(&mut rng);
        let open = h.open(zone, window);
        let busy: Vec<BusyInterval> = (0..rng.gen_range(0..25))
            .map(|_| {
                let s = window.start - Duration::hours(12)
                    + Duration::minutes(
                        rng.gen_range(0..(window.end - window.start).num_minutes() + 24 * 60),
                    );
                BusyInterval {
                    start: s,
                    end: s + Duration::minutes(rng.gen_range(5..6 * 60)),
                    kind: if rng.gen_bool(0.3) {
                        BusyKind::Tentative
                    } else {
                        BusyKind::Busy
                    },
                }
            })
            .collect();
        let busy = ical::merge(busy);
        let s = shape(
            window,
            5 * rng.gen_range(1..36),
            5 * rng.gen_range(1..24),
            5 * rng.gen_range(0..7),
            5 * rng.gen_range(0..7),
        );
        let got = free_slots(&open, &busy, &s);
        total += got.len();
        let ctx = || format!("case {case} (seed {seed:#x}) zone {zone} hours {h} shape {s:?}");
        for w in got.windows(2) {
            assert!(w[0].start < w[1].start, "sorted, no repeats: {}", ctx());
        }
        for slot in &got {
            assert_eq!(slot.end - slot.start, s.duration, "{}", ctx());
            assert!(
                slot.start >= window.start && slot.end <= window.end,
                "{}",
                ctx()
            );
            assert!(
                open.iter()
                    .any(|o| o.start <= slot.start && slot.end <= o.end),
                "slot {slot:?} outside working hours: {}",
                ctx()
            );
            let padded = (slot.start - s.before, slot.end + s.after);
            assert!(
                !busy.iter().any(|b| padded.0 < b.end && b.start < padded.1),
                "slot {slot:?} meets busy time widened by the buffers: {}",
                ctx()
            );
        }
        // Every run of free minutes as long as the duration holds a slot.
        let free = free_minutes(&open, &busy, &s);
        let d = s.duration.num_minutes() as usize;
        let mut i = 0;
        while i < free.len() {
            if !free[i] {
                i += 1;
                continue;
            }
            let j = (i..free.len()).find(|&k| !free[k]).unwrap_or(free.len());
            if j - i >= d {
                let (gs, ge) = (
                    window.start + Duration::minutes(i as i64),
                    window.start + Duration::minutes(j as i64),
                );
                assert!(
                    got.iter().any(|x| gs <= x.start && x.end <= ge),
                    "free {gs}..{ge} yields no slot: {}",
                    ctx()
                );
            }
            i = j;
        }
    }
    assert!(total > 1000, "too few slots ({total}) to mean anything");
}
