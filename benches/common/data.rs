//! The generated calendars every server is loaded with: deterministic
//! (seeded) iCalendar objects placed around a base date (today, midnight
//! UTC), so that a one-month window after it holds a realistic share.
//!
//! Mix per object: 20 % recurring (weekly, daily, monthly; COUNT, UNTIL or
//! endless; EXDATEs; a third with a moved override), 30 % with a TZID and
//! its VTIMEZONE (per data set), 5 % of single events all-day and FREE, a few FREE,
//! CANCELLED or TENTATIVE timed events. Owns no I/O.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::tz::{Zone, ZONES};

/// Bump when the generated data changes shape (it keys cached data sets).
pub const GENERATOR_VERSION: u32 = 1;

/// A named, seeded data set of one collection.
#[derive(Clone, Copy, Debug)]
pub struct Dataset {
    /// Short name used in paths, cache keys and reports.
    pub name: &'static str,
    /// Number of objects.
    pub events: usize,
    /// RNG seed.
    pub seed: u64,
    /// Percentage of timed objects with a TZID (and its VTIMEZONE).
    pub zoned_percent: u32,
}

/// 200 objects: the small collection of the PUT-latency scenario.
pub const SMALL: Dataset = Dataset {
    name: "200",
    events: 200,
    seed: 200,
    zoned_percent: 30,
};
/// The 10,000-object calendar of most scenarios.
pub const TEN_K: Dataset = Dataset {
    name: "10k",
    events: 10_000,
    seed: 10_000,
    zoned_percent: 30,
};
/// The 100,000-object calendar (opt-in: `BENCH_LARGE=1`).
pub const LARGE: Dataset = Dataset {
    name: "100k",
    events: 100_000,
    seed: 100_000,
    zoned_percent: 30,
};

/// One calendar object resource.
#[derive(Clone, Debug)]
pub struct Event {
    /// The resource name inside its collection (`{uid}.ics`).
    pub name: String,
    /// The iCalendar text (CRLF line endings).
    pub text: String,
}

/// Today at midnight UTC: every generated time is an offset from it.
pub fn base_date() -> NaiveDate {
    Utc::now().date_naive()
}

/// The objects of `ds`, named `{prefix}-{i}.ics`.
pub fn generate(ds: Dataset, prefix: &str, base: NaiveDate) -> Vec<Event> {
    let mut rng = StdRng::seed_from_u64(ds.seed);
    (0..ds.events)
        .map(|i| {
            let uid = format!("{prefix}-{i:06}");
            Event {
                name: format!("{uid}.ics"),
                text: event_text(&mut rng, &uid, base, ds.zoned_percent),
            }
        })
        .collect()
}

fn stamp(t: NaiveDateTime) -> String {
    t.format("%Y%m%dT%H%M%S").to_string()
}

/// `NAME:...Z` for UTC, `NAME;TZID=zone:...` for a zoned local time.
fn time_prop(name: &str, t: NaiveDateTime, zone: Option<&Zone>) -> String {
    match zone {
        Some(z) => format!("{name};TZID={}:{}", z.tzid, stamp(t)),
        None => format!("{name}:{}Z", stamp(t)),
    }
}

/// The text of one object with the given UID; `zoned_percent` of them
/// get a TZID.
pub fn event_text(rng: &mut StdRng, uid: &str, base: NaiveDate, zoned_percent: u32) -> String {
    let midnight = base.and_time(NaiveTime::MIN);
    let mut zone =
        (rng.gen_range(0..100) < zoned_percent).then(|| &ZONES[rng.gen_range(0..ZONES.len())]);
    let recurring = rng.gen_range(0..100) < 20;
    let minutes = [30, 45, 60, 90, 120][rng.gen_range(0..5)];
    let mut main = vec![
        "BEGIN:VEVENT".to_string(),
        format!("UID:{uid}"),
        "DTSTAMP:20260101T000000Z".to_string(),
        format!("SUMMARY:Event {uid}"),
    ];
    let mut extra: Vec<String> = Vec::new();
    if recurring {
        let start = midnight
            + Duration::days(rng.gen_range(-200..200))
            + Duration::hours(rng.gen_range(7..19))
            + Duration::minutes(15 * rng.gen_range(0..4));
        let (rule, step) = match rng.gen_range(0..10) {
            0..=5 => {
                let interval = rng.gen_range(1..3);
                (format!("FREQ=WEEKLY;INTERVAL={interval}"), 7 * interval)
            }
            6..=7 => ("FREQ=DAILY".to_string(), 1),
            _ => (format!("FREQ=MONTHLY;BYMONTHDAY={}", start.day()), 0),
        };
        let bound = match rng.gen_range(0..3) {
            0 => format!(";COUNT={}", rng.gen_range(5..80)),
            // UNTIL is UTC whenever DTSTART has a TZID (RFC 5545 §3.3.10).
            1 => format!(
                ";UNTIL={}Z",
                stamp(start + Duration::days(rng.gen_range(30..500)))
            ),
            _ => String::new(),
        };
        main.push(time_prop("DTSTART", start, zone));
        main.push(time_prop("DTEND", start + Duration::minutes(minutes), zone));
        main.push(format!("RRULE:{rule}{bound}"));
        if step > 0 {
            for _ in 0..rng.gen_range(0..3) {
                let k = rng.gen_range(1..20);
                main.push(time_prop("EXDATE", start + Duration::days(step * k), zone));
            }
            if rng.gen_range(0..3) == 0 {
                let rid = start + Duration::days(step * rng.gen_range(20..30));
                let moved = rid + Duration::hours(2);
                extra.extend([
                    "BEGIN:VEVENT".to_string(),
                    format!("UID:{uid}"),
                    "DTSTAMP:20260101T000000Z".to_string(),
                    time_prop("RECURRENCE-ID", rid, zone),
                    time_prop("DTSTART", moved, zone),
                    time_prop("DTEND", moved + Duration::minutes(minutes), zone),
                    "SUMMARY:moved".to_string(),
                    "END:VEVENT".to_string(),
                ]);
            }
        }
    } else {
        let day = midnight + Duration::days(rng.gen_range(-30..395));
        if rng.gen_range(0..20) == 0 {
            zone = None;
            let d = day.date();
            main.push(format!("DTSTART;VALUE=DATE:{}", d.format("%Y%m%d")));
            main.push(format!(
                "DTEND;VALUE=DATE:{}",
                (d + Duration::days(1)).format("%Y%m%d")
            ));
            main.push("TRANSP:TRANSPARENT".to_string());
        } else {
            let start = day
                + Duration::hours(rng.gen_range(7..19))
                + Duration::minutes(15 * rng.gen_range(0..4));
            main.push(time_prop("DTSTART", start, zone));
            main.push(time_prop("DTEND", start + Duration::minutes(minutes), zone));
            match rng.gen_range(0..20) {
                0 => main.push("TRANSP:TRANSPARENT".to_string()),
                1 => main.push("STATUS:CANCELLED".to_string()),
                2 => main.push("STATUS:TENTATIVE".to_string()),
                _ => {}
            }
        }
    }
    main.push("END:VEVENT".to_string());
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".to_string(),
        "PRODID:-//calproxy//bench//EN".to_string(),
    ];
    if let Some(z) = zone {
        lines.extend(z.vtimezone.iter().map(|l| l.to_string()));
    }
    lines.extend(main);
    lines.extend(extra);
    lines.push("END:VCALENDAR".to_string());
    lines.join("\r\n") + "\r\n"
}
