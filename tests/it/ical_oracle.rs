//! The `ical` layer against the independent oracle (python
//! `recurring-ical-events` with `icalendar`, through
//! `fixtures/ical/oracle.py`): VTIMEZONEs generated from the time-zone
//! database (issue 12 item 12) read by python give the same instants as
//! chrono-tz and as calproxy.

use std::time::Duration;

use chrono::{DateTime, Duration as D, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use tokio::process::Command;

use calproxy::ical::{self, BusyInterval, BusyKind, ExpandOptions, TimeRange};

use crate::support::peers;

/// Local wall times chrono-tz maps to one instant: around every offset
/// change of `tz` in 2024-2027 (two days either side, five times a day)
/// and every Wednesday at 09:00.
fn probe_times(tz: Tz) -> Vec<NaiveDateTime> {
    let mut out = Vec::new();
    let noon = |d: NaiveDate| {
        let t = tz
            .from_local_datetime(&d.and_hms_opt(12, 0, 0).unwrap())
            .unwrap();
        t.naive_local() - t.naive_utc()
    };
    let mut day = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    while day < NaiveDate::from_ymd_opt(2028, 1, 1).unwrap() {
        let next = day.succ_opt().unwrap();
        if noon(day) != noon(next) {
            for k in -2..=2 {
                for h in [0, 1, 4, 9, 23] {
                    out.push((day + D::days(k)).and_hms_opt(h, 30, 0).unwrap());
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

fn render(iv: &[BusyInterval]) -> serde_json::Value {
    iv.iter()
        .map(|i| {
            serde_json::json!({
                "start": i.start.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                "end": i.end.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                "kind": match i.kind { BusyKind::Busy => "busy", BusyKind::Tentative => "tentative" },
            })
        })
        .collect()
}

#[tokio::test]
async fn issue_12_generated_vtimezones_match_chrono_tz_and_the_oracle() {
    let python = peers::venv_tool("python");
    let dir = tempfile::tempdir().unwrap();
    let window = TimeRange {
        start: "2024-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap(),
        end: "2028-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap(),
    };
    let zones = [
        Tz::Europe__Berlin,
        Tz::America__New_York,
        Tz::Australia__Sydney,
        Tz::Asia__Kolkata,
    ];
    let mut files = Vec::new();
    for (n, tz) in zones.into_iter().enumerate() {
        // A TZID no database knows, without X-LIC-LOCATION: python and
        // calproxy can only use the generated STANDARD/DAYLIGHT rules.
        let name = format!("Generated-{n}");
        let vtz: String = ical::vtimezone(&name, tz, 2024, 2027)
            .lines()
            .filter(|l| !l.starts_with("X-LIC-LOCATION"))
            .map(|l| format!("{l}\r\n"))
            .collect();
        let times = probe_times(tz);
        let mut text = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n");
        text.push_str(&vtz);
        for (i, l) in times.iter().enumerate() {
            let end = *l + D::minutes(20);
            text.push_str(&format!(
                "BEGIN:VEVENT\r\nUID:{i}\r\nDTSTAMP:20240101T000000Z\r\nDTSTART;TZID={name}:{}\r\nDTEND;TZID={name}:{}\r\nEND:VEVENT\r\n",
                l.format("%Y%m%dT%H%M%S"),
                end.format("%Y%m%dT%H%M%S")
            ));
        }
        text.push_str("END:VCALENDAR\r\n");
        let file = format!("{n}-{}.ics", tz.name().replace('/', "_"));
        std::fs::write(dir.path().join(&file), &text).unwrap();
        // chrono-tz's own instants for the same wall times.
        let want: Vec<BusyInterval> = times
            .iter()
            .map(|l| {
                let s = tz.from_local_datetime(l).unwrap().with_timezone(&Utc);
                let e = tz
                    .from_local_datetime(&(*l + D::minutes(20)))
                    .earliest()
                    .unwrap()
                    .with_timezone(&Utc);
                BusyInterval {
                    start: s,
                    end: e.max(s),
                    kind: BusyKind::Busy,
                }
            })
            .collect();
        files.push((file, text, tz, ical::merge(want)));
    }
    let mut cmd = Command::new(python);
    cmd.arg(peers::repo().join("fixtures/ical/oracle.py"))
        .arg("--dir")
        .arg(dir.path())
        .args([
            "--start",
            "2024-01-01T00:00:00Z",
            "--end",
            "2028-01-01T00:00:00Z",
        ]);
    let out = peers::run(cmd, Duration::from_secs(180)).await;
    assert!(out.status.success(), "oracle failed\n{}", peers::show(&out));
    let oracle: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&out.stdout).expect("oracle json");
    let opts = ExpandOptions::new(chrono_tz::UTC, 10_000);
    for (file, text, tz, want) in &files {
        let got = ical::merge(ical::busy_intervals(text.as_bytes(), window, &[], &opts).unwrap());
        assert!(want.len() > 200, "{tz}: {}", want.len());
        assert_eq!(render(&got), render(want), "{tz}: calproxy vs chrono-tz");
        let py = oracle.get(file).cloned().unwrap_or_default();
        let want = render(want);
        if py != want {
            let (p, w) = (
                py.as_array().cloned().unwrap_or_default(),
                want.as_array().cloned().unwrap_or_default(),
            );
            let first = p.iter().zip(&w).position(|(a, b)| a != b);
            panic!(
                "{tz}: python icalendar/recurring-ical-events vs chrono-tz: {} vs {} intervals, first difference at {first:?}: {:?} vs {:?}\n{}",
                p.len(),
                w.len(),
                first.and_then(|i| p.get(i)),
                first.and_then(|i| w.get(i)),
                text.lines()
                    .take_while(|l| !l.starts_with("BEGIN:VEVENT"))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
}
