//! R4/R9 availability: the property test against the independent oracle
//! (python `recurring-ical-events`), the three ways availability is
//! published (availability/, free-busy-query, the webcal feed with its
//! token CLI), "why busy", the busy-interval cache, and real peers (python
//! caldav free-busy, vdirsyncer, python icalendar).

use std::fmt::Write as _;
use std::time::Duration;

use chrono::{DateTime, Duration as D, NaiveDate, NaiveDateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::process::Command;

use calproxy::ical::{self, BusyKind, ExpandOptions, TimeRange};

use crate::support::env::TestEnv;
use crate::support::{ics, peers};

// ---- property test: random RRULEs vs the oracle ----------------------------

const ZONES: &[&str] = &[
    "UTC",
    "floating",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
];
const DAYS: &[&str] = &["MO", "TU", "WE", "TH", "FR", "SA", "SU"];

fn fmt_local(t: NaiveDateTime) -> String {
    t.format("%Y%m%dT%H%M%S").to_string()
}

/// The value with its parameters for a zone ("floating": none, "UTC": Z).
fn prop(name: &str, zone: &str, t: NaiveDateTime, all_day: bool) -> String {
    if all_day {
        return format!("{name};VALUE=DATE:{}", t.format("%Y%m%d"));
    }
    match zone {
        "UTC" => format!("{name}:{}Z", fmt_local(t)),
        "floating" => format!("{name}:{}", fmt_local(t)),
        z => format!("{name};TZID={z}:{}", fmt_local(t)),
    }
}

/// One random recurring event (master plus up to two overrides).
fn random_event(rng: &mut StdRng, n: usize) -> String {
    let zone = ZONES[rng.gen_range(0..ZONES.len())];
    let all_day = rng.gen_range(0..8) == 0;
    let day = NaiveDate::from_ymd_opt(2025, 6, 1).unwrap() + D::days(rng.gen_range(0..560));
    // 06:00-21:45: never inside a DST gap or fold.
    let start = day
        .and_hms_opt(rng.gen_range(6..22), 15 * rng.gen_range(0..4), 0)
        .unwrap();
    let start = if all_day {
        day.and_hms_opt(0, 0, 0).unwrap()
    } else {
        start
    };
    let uid = format!("prop-{n}@example.com");
    let mut master = vec![
        "BEGIN:VEVENT".to_string(),
        format!("UID:{uid}"),
        "DTSTAMP:20250101T000000Z".to_string(),
        prop("DTSTART", zone, start, all_day),
    ];
    let minutes = [15, 30, 45, 60, 90, 120, 180][rng.gen_range(0..7)];
    match (all_day, rng.gen_range(0..3)) {
        (true, 0) => {}
        (true, _) => master.push(prop(
            "DTEND",
            zone,
            start + D::days(rng.gen_range(1..3)),
            true,
        )),
        (false, 0) => master.push(format!("DURATION:PT{minutes}M")),
        (false, _) => master.push(prop("DTEND", zone, start + D::minutes(minutes), false)),
    }
    let (freq, step_days) = match rng.gen_range(0..4) {
        0 => ("DAILY", 1),
        1 => ("WEEKLY", 7),
        2 => ("MONTHLY", 0),
        _ => ("YEARLY", 0),
    };
    let interval: i64 = rng.gen_range(1..4);
    let mut rule = format!("FREQ={freq}");
    if interval > 1 {
        let _ = write!(rule, ";INTERVAL={interval}");
    }
    let mut simple = true;
    match freq {
        "WEEKLY" if rng.gen_bool(0.5) => {
            let mut days: Vec<&str> = (0..rng.gen_range(1..4))
                .map(|_| DAYS[rng.gen_range(0..7)])
                .collect();
            days.sort();
            days.dedup();
            let _ = write!(rule, ";BYDAY={}", days.join(","));
            simple = false;
        }
        "MONTHLY" => match rng.gen_range(0..3) {
            0 => {
                let d = [1, 5, 15, 28, 29, 30, 31, -1][rng.gen_range(0..8)];
                let _ = write!(rule, ";BYMONTHDAY={d}");
            }
            1 => {
                let ord = [1, 2, -1][rng.gen_range(0..3)];
                let _ = write!(rule, ";BYDAY={ord}{}", DAYS[rng.gen_range(0..7)]);
            }
            _ => {}
        },
        _ => {}
    }
    match rng.gen_range(0..3) {
        0 => {
            let _ = write!(rule, ";COUNT={}", rng.gen_range(1..40));
        }
        1 => {
            let until = start + D::days(rng.gen_range(20..500));
            let u = if all_day {
                until.format("%Y%m%d").to_string()
            } else if zone == "floating" {
                fmt_local(until)
            } else {
                // UTC form, as RFC 5545 requires with a zoned DTSTART.
                format!("{}Z", fmt_local(until))
            };
            let _ = write!(rule, ";UNTIL={u}");
        }
        _ => {}
    }
    master.push(format!("RRULE:{rule}"));
    // Instances we can name exactly: DAILY and WEEKLY without BYDAY.
    let nth = |k: i64| start + D::days(step_days * interval * k);
    if step_days > 0 && simple {
        for _ in 0..rng.gen_range(0..3) {
            master.push(prop("EXDATE", zone, nth(rng.gen_range(1..12)), all_day));
        }
    }
    match rng.gen_range(0..6) {
        0 => master.push("STATUS:TENTATIVE".into()),
        1 => master.push("TRANSP:TRANSPARENT".into()),
        _ => {}
    }
    master.push("SUMMARY:prop".into());
    master.push("END:VEVENT".into());
    let mut comps = master;
    if step_days > 0 && simple && !all_day {
        for k in [13, 17] {
            if rng.gen_bool(0.4) {
                let rid = nth(k);
                let moved = rid + D::hours(rng.gen_range(-3..4));
                comps.push("BEGIN:VEVENT".into());
                comps.push(format!("UID:{uid}"));
                comps.push("DTSTAMP:20250101T000000Z".into());
                comps.push(prop("RECURRENCE-ID", zone, rid, false));
                comps.push(prop("DTSTART", zone, moved, false));
                comps.push(prop("DTEND", zone, moved + D::minutes(minutes), false));
                match rng.gen_range(0..4) {
                    0 => comps.push("STATUS:CANCELLED".into()),
                    1 => comps.push("TRANSP:TRANSPARENT".into()),
                    _ => {}
                }
                comps.push("SUMMARY:moved".into());
                comps.push("END:VEVENT".into());
            }
        }
    }
    let mut text =
        String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calproxy//prop//EN\r\n");
    for c in comps {
        text.push_str(&c);
        text.push_str("\r\n");
    }
    text.push_str("END:VCALENDAR\r\n");
    text
}

fn render(iv: &[ical::BusyInterval]) -> Vec<serde_json::Value> {
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
async fn r9_property_random_rrules_match_the_oracle() {
    let python = peers::venv_tool("python");
    let seed: u64 = std::env::var("CALPROXY_PROP_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0xCA1_9905);
    let cases: usize = std::env::var("CALPROXY_PROP_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for n in 0..cases {
        let text = random_event(&mut rng, n);
        let name = format!("{n:03}.ics");
        std::fs::write(dir.path().join(&name), &text).unwrap();
        files.push((name, text));
    }
    let window = TimeRange {
        start: "2026-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap(),
        end: "2027-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap(),
    };
    let mut cmd = Command::new(python);
    cmd.arg(peers::repo().join("fixtures/ical/oracle.py"))
        .arg("--dir")
        .arg(dir.path())
        .args([
            "--start",
            "2026-01-01T00:00:00Z",
            "--end",
            "2027-01-01T00:00:00Z",
        ]);
    let out = peers::run(cmd, Duration::from_secs(180)).await;
    assert!(out.status.success(), "oracle failed\n{}", peers::show(&out));
    let oracle: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&out.stdout).expect("oracle json");
    let opts = ExpandOptions {
        default_tz: chrono_tz::UTC,
        max_instances: 10_000,
        budget: None,
    };
    let owners = ["mailto:owner@example.com".to_string()];
    let mut mismatches = Vec::new();
    let mut instances = 0;
    for (name, text) in &files {
        let want = oracle.get(name).expect("oracle answered every file");
        let got = ical::merge(
            ical::busy_intervals(text.as_bytes(), window, &owners, &opts).expect("parses"),
        );
        instances += got.len();
        let got = serde_json::Value::Array(render(&got));
        if &got != want {
            mismatches.push(format!("{name}\n{text}\ncalproxy {got}\noracle   {want}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "seed {seed:#x}: {} of {cases} differ from the oracle; first:\n{}",
        mismatches.len(),
        mismatches
            .iter()
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
    eprintln!("property test: seed {seed:#x}, {cases} events, {instances} merged busy intervals, 0 mismatches");
    assert!(
        instances > cases,
        "too few busy intervals ({instances}) to mean anything"
    );
}

// ---- published three ways --------------------------------------------------

use calproxy::admin::{self, Request};
use calproxy::ids::{TenantId, UserId};

fn demo() -> (TenantId, UserId) {
    (TenantId::new("demo").unwrap(), UserId::new("demo").unwrap())
}

async fn feed_path(env: &TestEnv, rotate: bool) -> String {
    let (tenant, user) = demo();
    let who = calproxy::admin::UserArgs { tenant, user };
    let req = if rotate {
        Request::Feed(calproxy::admin::FeedCommand::Rotate(who))
    } else {
        Request::Feed(calproxy::admin::FeedCommand::Show(who))
    };
    let r = admin::execute(&env.app, req).await;
    assert!(r.ok, "{}", r.output);
    let p = r.output.trim().to_string();
    assert!(
        p.starts_with("/feeds/") && p.ends_with("/availability.ics"),
        "{p}"
    );
    p
}

#[tokio::test]
async fn r9_feed_content_type_etag_304_and_token_rotation() {
    let env = TestEnv::start().await;
    let path = feed_path(&env, false).await;
    assert_eq!(feed_path(&env, false).await, path, "show keeps the token");
    let anon = env.anonymous();
    let a = anon.get(&path).await.status(200);
    assert!(
        a.header("content-type")
            .unwrap()
            .starts_with("text/calendar"),
        "{:?}",
        a.headers
    );
    let body = a.text();
    assert!(
        body.contains("BEGIN:VCALENDAR") && body.contains("SUMMARY:Busy"),
        "{body}"
    );
    let etag = a.header("etag").expect("feed etag");
    anon.request("GET", &path, &[("if-none-match", &etag)], "")
        .await
        .status(304);
    // A new busy block changes the feed and its ETag.
    env.client()
        .put(
            "/dav/demo/demo/blocked/feed.ics",
            &ics::event(
                "feed-1",
                "20261215T100000Z",
                "20261215T110000Z",
                "Secret meeting",
            ),
            &[],
        )
        .await
        .status(201);
    let a = anon
        .request("GET", &path, &[("if-none-match", &etag)], "")
        .await
        .status(200);
    let t = a.text();
    assert!(t.contains("DTSTART:20261215T100000Z"), "{t}");
    assert!(
        !t.contains("Secret meeting"),
        "the feed shows Busy only (R5)"
    );
    // Rotation: the old URL is gone, the new one works.
    let new = feed_path(&env, true).await;
    assert_ne!(new, path);
    anon.get(&path).await.status(404);
    anon.get(&new).await.status(200);
}

const BIN: &str = env!("CARGO_BIN_EXE_calproxy");

async fn cli(args: &[&str], stdin: &str) -> (bool, String) {
    use tokio::io::AsyncWriteExt;
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut sin = child.stdin.take().unwrap();
    sin.write_all(stdin.as_bytes()).await.unwrap();
    drop(sin);
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("cli timed out")
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test]
async fn cli_feed_show_rotate_and_busy_without_a_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let (ok, out) = cli(
        &[
            "user", "add", "--tenant", "t", "--user", "a", "--data", data,
        ],
        "pw-long-1\n",
    )
    .await;
    assert!(ok, "{out}");
    let show = [
        "feed", "show", "--tenant", "t", "--user", "a", "--data", data,
    ];
    let (ok, first) = cli(&show, "").await;
    assert!(
        ok && first.starts_with("/feeds/") && first.trim().ends_with("/availability.ics"),
        "{first}"
    );
    let (ok, again) = cli(&show, "").await;
    assert!(ok && again == first, "{first} vs {again}");
    let (ok, rotated) = cli(
        &[
            "feed", "rotate", "--tenant", "t", "--user", "a", "--data", data,
        ],
        "",
    )
    .await;
    assert!(
        ok && rotated != first && rotated.starts_with("/feeds/"),
        "{rotated}"
    );
    let (ok, now) = cli(&show, "").await;
    assert!(ok && now == rotated, "{now}");
    let (ok, out) = cli(
        &[
            "feed", "show", "--tenant", "t", "--user", "nobody", "--data", data,
        ],
        "",
    )
    .await;
    assert!(!ok && out.contains("no user"), "{out}");
    let busy = [
        "busy",
        "--tenant",
        "t",
        "--user",
        "a",
        "--from",
        "2026-01-01T00:00:00Z",
        "--to",
        "2026-02-01T00:00:00Z",
        "--data",
        data,
    ];
    let (ok, out) = cli(&busy, "").await;
    assert!(ok && out.contains("free: no busy time"), "{out}");
}

const DAY: (&str, &str) = ("20261130T000000Z", "20261201T000000Z");

#[tokio::test]
async fn why_busy_names_every_source_of_a_merged_interval() {
    let env = TestEnv::start().await;
    let c = env.client();
    // Overlaps Monday's stand-up (08:30Z-08:45Z, primary) and extends it.
    c.put(
        "/dav/demo/demo/blocked/prep.ics",
        &ics::event("prep-1", "20261130T080000Z", "20261130T084000Z", "Prep"),
        &[],
    )
    .await
    .status(201);
    let path = format!("/api/demo/demo/busy?start={}&end={}", DAY.0, DAY.1);
    let a = c.get(&path).await.status(200);
    assert_eq!(
        a.header("content-type").as_deref(),
        Some("application/json")
    );
    let v: serde_json::Value = serde_json::from_slice(&a.body).unwrap();
    let block = v
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["start"] == "2026-11-30T08:00:00Z")
        .unwrap_or_else(|| panic!("no 08:00 block in {v}"));
    assert_eq!(block["end"], "2026-11-30T08:45:00Z", "{block}");
    assert_eq!(block["kind"], "busy");
    let cals: Vec<&str> = block["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["calendar"].as_str().unwrap())
        .collect();
    assert!(
        cals.contains(&"blocked") && cals.contains(&"primary"),
        "{block}"
    );
    let prep = block["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["calendar"] == "blocked")
        .unwrap();
    assert_eq!(prep["object"], "prep.ics");
    assert_eq!(prep["summary"], "Prep");
    // RFC 3339 works too; the same answer from the admin request (CLI).
    let rfc = c
        .get("/api/demo/demo/busy?start=2026-11-30T00:00:00Z&end=2026-12-01T00:00:00Z")
        .await
        .status(200);
    assert_eq!(rfc.body, a.body);
    let (t, u) = demo();
    let r = admin::execute(
        &env.app,
        Request::Busy(calproxy::admin::BusyArgs {
            who: calproxy::admin::UserArgs { tenant: t, user: u },
            from: "2026-11-30T00:00:00Z".parse().unwrap(),
            to: "2026-12-01T00:00:00Z".parse().unwrap(),
            json: false,
        }),
    )
    .await;
    assert!(
        r.ok && r.output.contains("blocked/prep.ics  \"Prep\""),
        "{}",
        r.output
    );
    // Own user only; credentials required; a range is required.
    env.anonymous().get(&path).await.status(401);
    c.get(&format!(
        "/api/demo/other/busy?start={}&end={}",
        DAY.0, DAY.1
    ))
    .await
    .status(404);
    c.get("/api/demo/demo/busy?start=yesterday")
        .await
        .status(400);
}

fn fb_query(start: &str, end: &str) -> String {
    format!(
        r#"<?xml version="1.0"?><c:free-busy-query xmlns:c="urn:ietf:params:xml:ns:caldav"><c:time-range start="{start}" end="{end}"/></c:free-busy-query>"#
    )
}

#[tokio::test]
async fn r4_tentative_is_busy_tentative_in_vfreebusy_and_busy_in_availability() {
    let env = TestEnv::start().await;
    let c = env.client();
    let tentative = ics::event("tent-1", "20261216T100000Z", "20261216T110000Z", "Maybe")
        .replace("SUMMARY:Maybe", "SUMMARY:Maybe\r\nSTATUS:TENTATIVE");
    c.put("/dav/demo/demo/blocked/t.ics", &tentative, &[])
        .await
        .status(201);
    let free = ics::event("free-1", "20261216T140000Z", "20261216T150000Z", "Free")
        .replace("SUMMARY:Free", "SUMMARY:Free\r\nTRANSP:TRANSPARENT");
    c.put("/dav/demo/demo/blocked/f.ics", &free, &[])
        .await
        .status(201);
    let fb = c
        .report(
            "/dav/demo/demo/availability/",
            "1",
            &fb_query("20261216T000000Z", "20261217T000000Z"),
        )
        .await
        .status(200)
        .text();
    assert!(
        fb.contains("FREEBUSY;FBTYPE=BUSY-TENTATIVE:20261216T100000Z/20261216T110000Z"),
        "{fb}"
    );
    assert!(
        !fb.contains("20261216T140000Z"),
        "FREE leaves time open: {fb}"
    );
    // availability/: one plain "Busy" block, no STATUS:TENTATIVE; the FREE event is absent.
    let a = c
        .get("/dav/demo/demo/availability/calproxy-busy-1797415200-1797418800.ics")
        .await
        .status(200)
        .text();
    assert!(
        a.contains("SUMMARY:Busy") && !a.contains("TENTATIVE"),
        "{a}"
    );
    let names = c
        .propfind("/dav/demo/demo/availability/", "1", "")
        .await
        .status(207)
        .hrefs();
    assert!(!names.iter().any(|h| h.contains("1797429600")), "{names:?}");
    // The FREE event is still shown in its own collection.
    c.get("/dav/demo/demo/blocked/f.ics").await.status(200);
}

#[tokio::test]
async fn r9_cache_updates_incrementally_and_sees_store_writes() {
    let env = TestEnv::start().await;
    let c = env.client();
    let q = fb_query("20261217T000000Z", "20261218T000000Z");
    let before = c
        .report("/dav/demo/demo/availability/", "1", &q)
        .await
        .status(200)
        .text();
    assert!(!before.contains("20261217T090000Z"), "{before}");
    let s0 = env.app.views.cache().stats();
    c.put(
        "/dav/demo/demo/blocked/c.ics",
        &ics::event("cache-1", "20261217T090000Z", "20261217T100000Z", "C"),
        &[],
    )
    .await
    .status(201);
    let after = c
        .report("/dav/demo/demo/availability/", "1", &q)
        .await
        .status(200)
        .text();
    assert!(
        after.contains("FBTYPE=BUSY:20261217T090000Z/20261217T100000Z"),
        "{after}"
    );
    let s1 = env.app.views.cache().stats();
    assert_eq!(
        s1.rebuilds, s0.rebuilds,
        "a write must not rebuild: {s0:?} -> {s1:?}"
    );
    assert!(
        s1.incremental > s0.incremental && s1.expanded - s0.expanded <= 2,
        "{s0:?} -> {s1:?}"
    );
    // A second identical query does no work at all.
    c.report("/dav/demo/demo/availability/", "1", &q)
        .await
        .status(200);
    assert!(env.app.views.cache().stats().user_hits > s1.user_hits);
    // A write straight into the store (as the sync engine does) is seen too.
    c.delete("/dav/demo/demo/blocked/c.ics", &[])
        .await
        .status(204);
    let gone = c
        .report("/dav/demo/demo/availability/", "1", &q)
        .await
        .status(200)
        .text();
    assert!(!gone.contains("20261217T090000Z"), "{gone}");
}

// ---- real peers ------------------------------------------------------------

#[tokio::test]
async fn python_caldav_free_busy_and_icalendar_feed() {
    let python = peers::venv_tool("python");
    let env = TestEnv::start().await;
    let feed = feed_path(&env, false).await;
    let mut cmd = Command::new(python);
    cmd.arg(peers::repo().join("tests/peers/availability_peers.py"))
        .arg(format!("{}/", env.base()))
        .args(["demo", "demo"])
        .arg(format!("{}{feed}", env.base()))
        .args(["2026-11-23T00:00:00Z", "2026-12-21T00:00:00Z"]);
    let out = peers::run(cmd, Duration::from_secs(120)).await;
    assert!(out.status.success(), "{}", peers::show(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("ALL OK"),
        "{}",
        peers::show(&out)
    );
}

#[tokio::test]
async fn vdirsyncer_syncs_availability_into_a_folder() {
    let bin = peers::venv_tool("vdirsyncer");
    let env = TestEnv::start().await;
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("local");
    // The local collection exists, so `discover` asks nothing.
    std::fs::create_dir_all(local.join("availability")).unwrap();
    let config = dir.path().join("config");
    std::fs::write(
        &config,
        format!(
            "[general]\nstatus_path = \"{status}\"\n\n[pair avail]\na = \"local\"\nb = \"proxy\"\ncollections = [\"availability\"]\nconflict_resolution = \"b wins\"\n\n[storage local]\ntype = \"filesystem\"\npath = \"{local}\"\nfileext = \".ics\"\n\n[storage proxy]\ntype = \"caldav\"\nurl = \"{base}/dav/\"\nusername = \"demo\"\npassword = \"demo\"\nread_only = true\n",
            status = dir.path().join("status").display(),
            local = local.display(),
            base = env.base(),
        ),
    )
    .unwrap();
    for args in [&["discover", "--no-list"][..], &["sync"][..]] {
        let mut cmd = Command::new(&bin);
        cmd.env("VDIRSYNCER_CONFIG", &config)
            .args(args)
            .stdin(std::process::Stdio::null());
        let out = peers::run(cmd, Duration::from_secs(120)).await;
        assert!(
            out.status.success(),
            "vdirsyncer {args:?}\n{}",
            peers::show(&out)
        );
    }
    let synced: Vec<String> = std::fs::read_dir(local.join("availability"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    let served = env
        .client()
        .propfind("/dav/demo/demo/availability/", "1", "")
        .await
        .status(207)
        .hrefs()
        .iter()
        .filter(|h| h.ends_with(".ics"))
        .count();
    assert!(served > 0);
    assert_eq!(synced.len(), served, "every availability object synced");
    assert!(synced.iter().all(|s| s.contains("SUMMARY:Busy")));
}
