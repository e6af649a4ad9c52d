//! Issue 13 #3: every busy switch against the independent oracle (python
//! `recurring-ical-events` through `fixtures/ical/oracle.py`, which
//! implements the switches on its own). Random events (all-day with and
//! without TRANSP, tentative and unanswered invitations, Apple travel
//! time, some near the window's edges, some recurring) go into users'
//! `blocked/` collections; each switch setting is stored as the users'
//! settings, their stored time answers are made again the way the views'
//! worker does it, and `Views::busy_for_user` (stored answers, the cache,
//! the buffers) must equal the oracle's busy time for every event.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Duration as D, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::process::Command;

use calproxy::config::AvailabilityWindow;
use calproxy::ical::{self, AllDay, BusyKind, BusyRules, Tentative, TimeRange};
use calproxy::ids::{CalendarId, CollectionKey, ETag, ObjectName, TenantId, UserId, UserRef};
use calproxy::store::{Buffers, ObjectRecord, Origin, Store, UserSettings, WriteCondition};
use calproxy::views::Views;

use crate::support::peers;

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// One random event around `w` (some reaching into it only by travel time).
fn random_event(rng: &mut StdRng, n: usize, w: TimeRange) -> String {
    let span = (w.end - w.start).num_minutes();
    let start = if rng.gen_bool(0.25) {
        // Near an edge: in or out of the window by up to three hours.
        let edge = if rng.gen_bool(0.5) { w.start } else { w.end };
        edge + D::minutes(5 * rng.gen_range(-36..36))
    } else {
        w.start - D::hours(6) + D::minutes(5 * rng.gen_range(0..(span + 12 * 60) / 5))
    };
    let mut lines = vec![
        "BEGIN:VEVENT".to_string(),
        format!("UID:sw-{n}@example.com"),
        "DTSTAMP:20260101T000000Z".to_string(),
    ];
    let all_day = rng.gen_bool(0.3);
    if all_day {
        let d = start.date_naive();
        lines.push(format!("DTSTART;VALUE=DATE:{}", d.format("%Y%m%d")));
        if rng.gen_bool(0.5) {
            let e = d + D::days(rng.gen_range(1..3));
            lines.push(format!("DTEND;VALUE=DATE:{}", e.format("%Y%m%d")));
        }
    } else {
        let end = start + D::minutes(15 * rng.gen_range(1..12));
        if rng.gen_bool(0.5) {
            lines.push(format!("DTSTART:{}", stamp(start)));
            lines.push(format!("DTEND:{}", stamp(end)));
        } else {
            // Floating: the user's zone (UTC here, as the oracle reads it).
            lines.push(format!("DTSTART:{}", start.format("%Y%m%dT%H%M%S")));
            lines.push(format!("DURATION:PT{}M", (end - start).num_minutes()));
        }
    }
    match rng.gen_range(0..6) {
        0 => lines.push("TRANSP:OPAQUE".into()),
        1 => lines.push("TRANSP:TRANSPARENT".into()),
        _ => {}
    }
    match rng.gen_range(0..8) {
        0 | 1 => lines.push("STATUS:TENTATIVE".into()),
        2 => lines.push("STATUS:CANCELLED".into()),
        3 => lines.push("STATUS:CONFIRMED".into()),
        _ => {}
    }
    let partstat = [
        "",
        ";PARTSTAT=ACCEPTED",
        ";PARTSTAT=TENTATIVE",
        ";PARTSTAT=NEEDS-ACTION",
        ";PARTSTAT=DECLINED",
    ];
    if rng.gen_bool(0.5) {
        lines.push("ORGANIZER:mailto:boss@example.com".into());
        lines.push(format!(
            "ATTENDEE{}:mailto:owner@example.com",
            partstat[rng.gen_range(0..partstat.len())]
        ));
    }
    let param = if rng.gen_bool(0.7) {
        ";VALUE=DURATION"
    } else {
        ""
    };
    match rng.gen_range(0..5) {
        0 | 1 => lines.push(format!(
            "X-APPLE-TRAVEL-DURATION{param}:PT{}M",
            5 * rng.gen_range(1..25)
        )),
        2 => {
            lines.push(format!("X-APPLE-TRAVEL-DURATION{param}:PT1H"));
            lines.push(format!(
                "X-APPLE-TRAVEL-RETURN-DURATION{param}:PT{}M",
                5 * rng.gen_range(1..25)
            ));
        }
        3 => lines.push("X-APPLE-TRAVEL-DURATION:P2D".into()),
        _ => {}
    }
    if rng.gen_bool(0.25) {
        let freq = ["DAILY", "WEEKLY"][rng.gen_range(0..2)];
        lines.push(format!("RRULE:FREQ={freq};COUNT={}", rng.gen_range(2..6)));
    }
    lines.push("SUMMARY:switch".into());
    lines.push("END:VEVENT".into());
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calproxy//switches//EN\r\n{}\r\nEND:VCALENDAR\r\n",
        lines.join("\r\n")
    )
}

fn render(iv: &[ical::BusyInterval]) -> serde_json::Value {
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

/// One switch setting: its name, the oracle's flags, calproxy's settings.
struct Case {
    name: &'static str,
    flags: Vec<&'static str>,
    settings: UserSettings,
}

fn cases() -> Vec<Case> {
    let rules = |f: fn(&mut BusyRules)| {
        let mut r = BusyRules::default();
        f(&mut r);
        UserSettings {
            rules: r,
            ..Default::default()
        }
    };
    vec![
        Case {
            name: "defaults",
            flags: vec![],
            settings: UserSettings::default(),
        },
        Case {
            name: "all-day free unless opaque",
            flags: vec!["--all-day", "free-unless-opaque"],
            settings: rules(|r| r.all_day = AllDay::FreeUnlessOpaque),
        },
        Case {
            name: "tentative busy",
            flags: vec!["--tentative", "busy"],
            settings: rules(|r| r.tentative = Tentative::Busy),
        },
        Case {
            name: "tentative free",
            flags: vec!["--tentative", "free"],
            settings: rules(|r| r.tentative = Tentative::Free),
        },
        Case {
            name: "travel time off",
            flags: vec!["--travel", "off"],
            settings: rules(|r| r.travel = false),
        },
        Case {
            name: "buffers 10 min before, 25 min after",
            flags: vec!["--buffer-before", "600", "--buffer-after", "1500"],
            settings: UserSettings {
                buffers: Buffers {
                    before: 600,
                    after: 1500,
                },
                ..Default::default()
            },
        },
    ]
}

#[tokio::test]
async fn issue_13_every_busy_switch_matches_the_oracle() {
    let python = peers::venv_tool("python");
    let seed: u64 = std::env::var("CALPROXY_PROP_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5_3173);
    let n_events = 120;
    let mut rng = StdRng::seed_from_u64(seed);
    // Inside the window the store keeps time answers for, so they are read.
    let day0 = (Utc::now() + D::days(1))
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    let window = TimeRange {
        start: day0,
        end: day0 + D::days(60),
    };
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for n in 0..n_events {
        let text = random_event(&mut rng, n, window);
        let name = format!("{n:03}.ics");
        std::fs::write(dir.path().join(&name), &text).unwrap();
        files.push((name, text));
    }
    let store = Store::temporary().unwrap();
    let views = Views::new(&store, AvailabilityWindow::default(), &Arc::default());
    let tenant = TenantId::new("oracle").unwrap();
    let mut users = Vec::new();
    for (n, (name, text)) in files.iter().enumerate() {
        let who = UserRef::new(&tenant, &UserId::new(format!("u{n}")).unwrap());
        calproxy::accounts::add_user(
            &store,
            &who.tenant,
            &who.user,
            &calproxy::secret::Secret::new("pw-long-enough".into()),
        )
        .unwrap();
        let mut rec = store.user(&who.tenant, &who.user).unwrap().unwrap();
        rec.addresses = vec!["mailto:owner@example.com".into()];
        store.put_user(&who.tenant, &who.user, &rec).unwrap();
        let key = CollectionKey::of(&who, &CalendarId::new("blocked").unwrap());
        let data = text.clone().into_bytes();
        let obj = ObjectRecord {
            index: ical::parse_strict(&data).unwrap_or_else(|e| panic!("{name}: {e}\n{text}")),
            etag: ETag::of_content(&data),
            data,
            origin: Origin::Local,
            modified: 0,
        };
        store
            .put_object(
                &key,
                &ObjectName::new(name.as_str()).unwrap(),
                &obj,
                &WriteCondition::default(),
            )
            .unwrap();
        users.push((who, key));
    }
    let start = window.start.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let end = window.end.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let mut report = Vec::new();
    for case in cases() {
        let mut cmd = Command::new(&python);
        cmd.arg(peers::repo().join("fixtures/ical/oracle.py"))
            .arg("--dir")
            .arg(dir.path())
            .args(["--start", &start, "--end", &end])
            .args(&case.flags);
        let out = peers::run(cmd, Duration::from_secs(180)).await;
        assert!(out.status.success(), "oracle failed\n{}", peers::show(&out));
        let oracle: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&out.stdout).expect("oracle json");
        // The settings as `configure` stores them; the answers made again
        // as the views' worker does on the change.
        let mut rederived = 0;
        for (who, key) in &users {
            store
                .put_user_settings(&who.tenant, &who.user, &case.settings)
                .unwrap();
            rederived += store.rederive(key).unwrap();
        }
        let expanded = views.cache().stats().expanded;
        let mut mismatches = Vec::new();
        let mut intervals = 0;
        for ((name, text), (who, _)) in files.iter().zip(&users) {
            let got = views.busy_for_user(who, window, None).unwrap();
            intervals += got.len();
            let got = render(&got);
            let want = oracle.get(name).expect("oracle answered every file");
            if &got != want {
                mismatches.push(format!("{name}\n{text}\ncalproxy {got}\noracle   {want}"));
            }
        }
        assert!(
            mismatches.is_empty(),
            "{}: seed {seed:#x}: {} of {n_events} differ from the oracle; first:\n{}",
            case.name,
            mismatches.len(),
            mismatches
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n\n")
        );
        assert_eq!(
            views.cache().stats().expanded,
            expanded,
            "{}: busy time must come from the stored answers",
            case.name
        );
        report.push(format!(
            "{}: {intervals} intervals, {rederived} re-derived",
            case.name
        ));
    }
    eprintln!(
        "switches vs oracle (seed {seed:#x}, {n_events} events): {}",
        report.join("; ")
    );
}
