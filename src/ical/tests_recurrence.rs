//! Issue 12 item 3, bounded recurrence work: the cost of pathological
//! series counted in generated dates through the budget (never wall-clock),
//! the budget error, the index bound of huge COUNT series, and a property
//! test that the arithmetic jump of plain fixed-period rules gives the
//! same instances as plain iteration from DTSTART.

use std::sync::Arc;

use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

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

fn cal(body: &str) -> Vec<u8> {
    format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n{body}END:VCALENDAR\r\n")
        .into_bytes()
}

/// The reproduction of issue 12 item 3: 41 one-second SECONDLY series
/// starting in 1970 (one object each, as each was PUT on its own).
fn secondly_objects() -> Vec<Vec<u8>> {
    (0..41)
        .map(|n| {
            cal(&format!(
                "BEGIN:VEVENT\r\nUID:s{n}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:19700101T0000{:02}Z\r\nDURATION:PT1S\r\nRRULE:FREQ=SECONDLY\r\nEND:VEVENT\r\n",
                n % 60
            ))
        })
        .collect()
}

/// Options charging a budget that never runs out, to count dates.
fn counting() -> (ExpandOptions, Arc<ExpandBudget>) {
    let budget = Arc::new(ExpandBudget::new(u64::MAX));
    let opts = ExpandOptions::new(Tz::UTC, 10_000).with_budget(budget.clone());
    (opts, budget)
}

#[test]
fn issue_12_secondly_series_from_1970_jump_to_a_2035_window() {
    // Before the jump: 7,494,964 generated dates (182,804 per object: the
    // 2-day look-behind margin alone is 172,800 seconds).
    let (opts, budget) = counting();
    let w = win("2035-01-01T00:00:00Z", "2036-01-01T00:00:00Z");
    let mut intervals = 0;
    for o in secondly_objects() {
        intervals += busy_intervals(&o, w, &[], &opts).unwrap().len();
    }
    // Each object still yields its 10,000 instances (the per-object cap);
    // the work is those plus a handful of dates around them.
    assert_eq!(intervals, 41 * 10_000);
    assert!(
        budget.used() <= 41 * 10_003,
        "generated {} dates",
        budget.used()
    );
    // So the whole reproduction fits in one request's default budget.
    assert!(budget.used() < DEFAULT_REQUEST_BUDGET);
}

#[test]
fn issue_12_one_day_time_range_test_in_2040_costs_a_few_dates() {
    // Before: 7,085,005 generated dates for this calendar-query.
    let (opts, budget) = counting();
    let w = win("2040-06-01T00:00:00Z", "2040-06-02T00:00:00Z");
    for o in secondly_objects() {
        assert!(overlaps(&o, w, &opts).unwrap());
    }
    assert!(budget.used() <= 41 * 4, "generated {} dates", budget.used());
}

#[test]
fn issue_12_huge_count_jumps_and_is_indexed_by_arithmetic() {
    // COUNT = u32::MAX seconds from 1970 runs to 2106. Before, expansion
    // walked from DTSTART, hit the 200,000-date cap and found nothing in
    // 2035; the index walked 200,001 dates and gave up (unbounded).
    let b = cal("BEGIN:VEVENT\r\nUID:c\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:19700101T000000Z\r\nDURATION:PT1S\r\nRRULE:FREQ=SECONDLY;COUNT=4294967295\r\nEND:VEVENT\r\n");
    let (opts, budget) = counting();
    let w = win("2035-01-01T00:00:00Z", "2035-01-01T00:00:10Z");
    let got = instances(&b, w, &opts).unwrap();
    assert_eq!(got.len(), 10);
    assert_eq!(got[0].start, w.start);
    assert!(budget.used() <= 12, "generated {} dates", budget.used());
    let index = parse_lenient(&b).unwrap();
    assert_eq!(index.last_end, Some(4_294_967_295));
}

#[test]
fn issue_12_budget_exceeded_is_its_own_error() {
    let opts = ExpandOptions::new(Tz::UTC, 10_000).with_budget(Arc::new(ExpandBudget::new(50_000)));
    let w = win("2035-01-01T00:00:00Z", "2036-01-01T00:00:00Z");
    let err = secondly_objects()
        .iter()
        .map(|o| busy_intervals(o, w, &[], &opts))
        .find_map(|r| r.err())
        .expect("the shared budget runs out on the fifth object");
    assert_eq!(err, Error::BudgetExceeded { limit: 50_000 });
    assert_eq!(err.kind(), ErrorKind::BudgetExceeded);
    // The same budget refuses every later object of the request at once.
    assert!(busy_intervals(&secondly_objects()[0], w, &[], &opts).is_err());
}

// ---- property: arithmetic jump == plain iteration ---------------------------

const ZONES: &[&str] = &[
    "UTC",
    "floating",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
];

/// Local wall time -> UTC with the RFC 5545 rules calproxy uses: a time in
/// a gap takes the offset before the gap, an ambiguous one the earlier
/// instant. Written here again so the reference does not share code.
fn reference_utc(local: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(d) => d.with_timezone(&Utc),
        LocalResult::Ambiguous(a, b) => a.min(b).with_timezone(&Utc),
        LocalResult::None => {
            let before = tz.from_utc_datetime(&(local - Duration::days(1)));
            let off = before.naive_local() - before.naive_utc();
            (local - off).and_utc()
        }
    }
}

struct Case {
    zone: &'static str,
    text: String,
    window: TimeRange,
    expected: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    last_end: Option<i64>,
}

fn fmt(t: NaiveDateTime) -> String {
    t.format("%Y%m%dT%H%M%S").to_string()
}

/// A random plain fixed-period series, a random window near it (often
/// across a DST change) and the instances found by walking every date
/// from DTSTART.
fn random_case(rng: &mut StdRng, default_tz: Tz) -> Case {
    let zone = ZONES[rng.gen_range(0..ZONES.len())];
    let tz: Tz = match zone {
        "UTC" => Tz::UTC,
        "floating" => default_tz,
        z => z.parse().unwrap(),
    };
    let (freq, unit) = [
        ("SECONDLY", 1),
        ("MINUTELY", 60),
        ("HOURLY", 3600),
        ("DAILY", 86_400),
        ("WEEKLY", 604_800),
    ][rng.gen_range(0..5)];
    let interval: i64 = [1, 1, 2, 3, 7, 13][rng.gen_range(0..6)];
    let period = unit * interval;
    // Windows near a DST change of 2026 or anywhere in the year.
    let anchors = [
        "2026-03-08T07:00:00Z",
        "2026-03-29T01:00:00Z",
        "2026-04-04T16:00:00Z",
        "2026-10-04T16:00:00Z",
        "2026-10-25T01:00:00Z",
        "2026-11-01T06:00:00Z",
        "2026-07-15T12:00:00Z",
    ];
    let anchor = t(anchors[rng.gen_range(0..anchors.len())]);
    let w_start = anchor + Duration::minutes(rng.gen_range(-600..600));
    let w_len = Duration::seconds(rng.gen_range(1..(period * 300).min(4 * 86_400)));
    let window = TimeRange {
        start: w_start,
        end: w_start + w_len,
    };
    // DTSTART up to 20,000 periods (and 95 years) before the window, moved in wall time
    // by up to 3 hours on a quarter-hour grid (so some starts fall into
    // DST gaps and folds).
    let back = rng.gen_range(0..(3_000_000_000 / period).min(20_000)) * period;
    let local = (w_start - Duration::seconds(back))
        .with_timezone(&tz)
        .naive_local();
    let start = local + Duration::minutes(15 * rng.gen_range(0..12))
        - Duration::seconds(local.and_utc().timestamp().rem_euclid(900));
    let (dt_param, dt_value) = match zone {
        "UTC" => (String::new(), format!("{}Z", fmt(start))),
        "floating" => (String::new(), fmt(start)),
        z => (format!(";TZID={z}"), fmt(start)),
    };
    // Instance length: in wall time through DTEND, or exact through DURATION.
    let (wall, exact, end_line) = match rng.gen_range(0..4) {
        0 => (0, 0, String::new()),
        1 => {
            let s = rng.gen_range(1..3 * period.min(86_400));
            (0, s, format!("DURATION:PT{s}S\r\n"))
        }
        _ => {
            let s = rng.gen_range(1..2 * period.min(2 * 86_400));
            let end = start + Duration::seconds(s);
            let v = if zone == "UTC" {
                format!("{}Z", fmt(end))
            } else {
                fmt(end)
            };
            (s, 0, format!("DTEND{dt_param}:{v}\r\n"))
        }
    };
    let mut rule = format!("FREQ={freq}");
    if interval > 1 || rng.gen_bool(0.2) {
        rule.push_str(&format!(";INTERVAL={interval}"));
    }
    let mut count = None;
    let mut until = None;
    match rng.gen_range(0..4) {
        0 => {
            let c = rng.gen_range(1..25_000);
            count = Some(c);
            rule.push_str(&format!(";COUNT={c}"));
        }
        1 => {
            let u = w_start
                + Duration::seconds(rng.gen_range(-3 * period..(w_len.num_seconds() + 3 * period)));
            let local = u.with_timezone(&tz).naive_local();
            until = Some(local);
            let text = if zone == "floating" {
                fmt(local)
            } else {
                format!("{}Z", fmt(u.naive_utc()))
            };
            rule.push_str(&format!(";UNTIL={text}"));
        }
        _ => {}
    }
    // EXDATEs on dates of the series near the window.
    let near = (w_start.with_timezone(&tz).naive_local() - start).num_seconds() / period;
    let ex: Vec<NaiveDateTime> = (0..rng.gen_range(0..4))
        .map(|_| start + Duration::seconds((near + rng.gen_range(-3..30)).max(0) * period))
        .collect();
    let ex_lines: String = ex
        .iter()
        .map(|e| match zone {
            "UTC" => format!("EXDATE:{}Z\r\n", fmt(*e)),
            _ => format!("EXDATE{dt_param}:{}\r\n", fmt(*e)),
        })
        .collect();
    let text = String::from_utf8(cal(&format!(
        "BEGIN:VEVENT\r\nUID:p\r\nDTSTAMP:20260101T000000Z\r\nDTSTART{dt_param}:{dt_value}\r\n{end_line}RRULE:{rule}\r\n{ex_lines}END:VEVENT\r\n"
    )))
    .unwrap();
    // The reference: every date from DTSTART on, no jump, no margin.
    let to_utc = |l: NaiveDateTime| {
        if zone == "UTC" {
            l.and_utc()
        } else {
            reference_utc(l, tz)
        }
    };
    let ex_utc: Vec<DateTime<Utc>> = ex.iter().map(|e| to_utc(*e)).collect();
    // Instances of date k, None past COUNT/UNTIL; excluded ones as Some(None).
    let nth = |k: i64| {
        let l = start + Duration::seconds(k * period);
        if count.is_some_and(|c| k >= c) || until.is_some_and(|u| l > u) {
            return None;
        }
        let s = to_utc(l);
        let e = (to_utc(l + Duration::seconds(wall)) + Duration::seconds(exact)).max(s);
        Some((!ex_utc.contains(&s)).then_some((s, e)))
    };
    let mut expected = Vec::new();
    let mut k = 0;
    // Past the window end by more than any DST gap, no date comes back.
    while let Some(i) = nth(k) {
        k += 1;
        let Some((s, e)) = i else { continue };
        if s > window.end + Duration::hours(3) {
            break;
        }
        let meets = if e > s {
            s < window.end && e > window.start
        } else {
            s < window.end && s >= window.start
        };
        if meets {
            expected.push((s, e));
        }
    }
    // Instances are a set: wall times in a DST gap can map onto the same
    // instants as the hour after it.
    expected.sort();
    expected.dedup();
    // The last end of a bounded series, when short enough to walk.
    let mut last_end = None;
    if count.is_some() || until.is_some() {
        k = 0;
        while let Some(i) = nth(k) {
            k += 1;
            if k > 60_000 {
                last_end = None;
                break;
            }
            if let Some((_, e)) = i {
                last_end = last_end.max(Some(e.timestamp()));
            }
        }
    }
    Case {
        zone,
        text,
        window,
        expected,
        last_end,
    }
}

#[test]
fn issue_12_property_arithmetic_jump_matches_plain_iteration() {
    let seed: u64 = std::env::var("CALPROXY_JUMP_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x12_0003);
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut instances_seen, mut indexed) = (0, 0);
    for n in 0..600 {
        let default_tz = if n % 2 == 0 {
            Tz::UTC
        } else {
            Tz::Europe__Berlin
        };
        let case = random_case(&mut rng, default_tz);
        let opts = ExpandOptions::new(default_tz, 1_000_000);
        let got: Vec<(DateTime<Utc>, DateTime<Utc>)> =
            instances(case.text.as_bytes(), case.window, &opts)
                .unwrap()
                .iter()
                .map(|i| (i.start, i.end))
                .collect();
        assert_eq!(
            got, case.expected,
            "seed {seed:#x} case {n}: window {:?}\n{}",
            case.window, case.text
        );
        instances_seen += got.len();
        // The index bound is the last end, plus 14 h for floating values
        // (indexed as UTC, whatever the zone) and up to a DST change near the end.
        let Some(want) = case.last_end else { continue };
        let got = parse_lenient(case.text.as_bytes()).unwrap().last_end;
        let slack = match case.zone {
            "UTC" => 0,
            "floating" => 28 * 3600,
            _ => 3600,
        };
        assert!(
            got.is_some_and(|g| g >= want && g <= want + slack),
            "seed {seed:#x} case {n}: last_end {got:?} vs walked {want}\n{}",
            case.text
        );
        indexed += 1;
    }
    assert!(instances_seen > 10_000, "only {instances_seen} instances");
    assert!(indexed > 50, "only {indexed} index bounds compared");
}

/// Found by the `recurrence` fuzz target: the instance cap was spent on
/// dates before EXDATEs removed theirs, so a DATE EXDATE on the window's
/// first day of an hourly series left the capped expansion empty (the
/// time-range test, which draws one instance, said the window was empty).
#[test]
fn issue_12_the_cap_counts_only_instances_that_exdates_and_overrides_leave() {
    let b = cal("BEGIN:VEVENT\r\nUID:h\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20270301T000000Z\r\nDURATION:PT30M\r\nRRULE:FREQ=HOURLY\r\nEXDATE;VALUE=DATE:20270301\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:h\r\nDTSTAMP:20260101T000000Z\r\nRECURRENCE-ID:20270302T000000Z\r\nDTSTART:20270310T000000Z\r\nDURATION:PT30M\r\nEND:VEVENT\r\n");
    let w = win("2027-03-01T00:00:00Z", "2027-03-03T00:00:00Z");
    let starts: Vec<DateTime<Utc>> = instances(&b, w, &ExpandOptions::new(Tz::UTC, 3))
        .unwrap()
        .iter()
        .map(|i| i.start)
        .collect();
    let want: Vec<DateTime<Utc>> = (1..=3)
        .map(|h| t("2027-03-02T00:00:00Z") + Duration::hours(h))
        .collect();
    assert_eq!(starts, want);
    assert!(overlaps(&b, w, &ExpandOptions::new(Tz::UTC, 500)).unwrap());
}

/// Found by the `recurrence` fuzz target: when expansion stopped at its
/// per-rule cap of generated dates with nothing left after the EXDATEs,
/// the stored answers said the object meets nothing in the window, though
/// later days hold instances. They must defer to expansion instead.
#[test]
fn issue_12_stored_answers_never_claim_a_window_that_expansion_cut_short() {
    // Three excluded days of a SECONDLY rule: 259,200 dates, more than
    // RAW_CAP, before the fourth day's instances.
    let b = cal("BEGIN:VEVENT\r\nUID:s\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20270301T000000Z\r\nRRULE:FREQ=SECONDLY\r\nEXDATE;VALUE=DATE:20270301,20270302,20270303\r\nEND:VEVENT\r\n");
    let w = win("2027-03-01T00:00:00Z", "2027-03-05T00:00:00Z");
    let d = derive(&b, &BusySettings::utc(), w);
    let day4 = win("2027-03-04T00:00:00Z", "2027-03-05T00:00:00Z");
    assert_ne!(d.overlaps(day4), Some(false), "{:?}", d.occupancy);
}

/// Found by the `ical` fuzz target: the `rrule` crate slices a BYDAY value
/// two bytes from its end assuming ASCII, so a non-ASCII character there
/// (`BYDAY=-1éU`) panicked inside it. Rule text is ASCII by its grammar;
/// other text is not a rule.
#[test]
fn issue_12_a_non_ascii_rrule_is_no_rule_and_no_panic() {
    for rule in [
        "FREQ=WEEKLY;BYDAY=-1\u{e9}U",
        "FREQ=MONTHLY;BYDAY=T\u{fffd}",
        "FREQ=YEARLY;BYDAY=\u{fffd}U;COUNT=3",
    ] {
        let b = cal(&format!(
            "BEGIN:VEVENT\r\nUID:u\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20270301T090000Z\r\nRRULE:{rule}\r\nEND:VEVENT\r\n"
        ));
        let w = win("2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z");
        let (opts, _) = counting();
        // The series is its DTSTART alone.
        assert_eq!(instances(&b, w, &opts).unwrap().len(), 1, "{rule}");
        assert!(parse_lenient(&b).is_ok(), "{rule}");
    }
}
