//! `cargo bench --bench availability`: free-busy over one year for one user
//! with 20 calendars / 20,000 events (20 % recurring), in-process and over
//! HTTP, against a one-year `calendar-query` time-range REPORT on
//! calproxy, Radicale and Xandikos for the same data.
//!
//! Loading: calproxy through `Store::put_object` in process; Radicale and
//! Xandikos by writing their storage directly (Radicale: one `.ics` per
//! item plus `.Radicale.props`; Xandikos: MKCALENDAR over HTTP, then the
//! files `git add`ed and committed in each collection's repository), since
//! 20,000 PUTs take minutes on both. All servers listen on 127.0.0.1 only;
//! every loop is bounded. Needs `target/venv` (`.ci/setup-peers`).
//! `BENCH_PEER_RUNS` (default 3) sets the repetitions against the peers.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use chrono::{DateTime, Datelike, Duration as Days, NaiveTime, Utc};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use calproxy::config::Config;
use calproxy::ical::{self, TimeRange};
use calproxy::ids::{CalendarId, ObjectName, TenantId, UserId};
use calproxy::secret::Secret;
use calproxy::state::App;
use calproxy::store::{
    CollectionKey, CollectionKind, CollectionRecord, ObjectRecord, Origin, Store, WriteCondition,
};

const CALENDARS: usize = 20;
const PER_CALENDAR: usize = 1000;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn ical_utc(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// One generated event: (calendar index, uid, iCalendar text).
struct Gen {
    cal: usize,
    uid: String,
    text: String,
    recurring: bool,
}

fn generate(base: DateTime<Utc>) -> Vec<Gen> {
    let mut rng = StdRng::seed_from_u64(20_000);
    let mut out = Vec::with_capacity(CALENDARS * PER_CALENDAR);
    for cal in 0..CALENDARS {
        for i in 0..PER_CALENDAR {
            let uid = format!("bench-{cal:02}-{i:04}@example.com");
            let recurring = rng.gen_range(0..100) < 20;
            let mut lines = vec![
                "BEGIN:VEVENT".to_string(),
                format!("UID:{uid}"),
                "DTSTAMP:20260101T000000Z".to_string(),
                format!("SUMMARY:Event {cal}-{i}"),
            ];
            let minutes = [30, 45, 60, 90, 120][rng.gen_range(0..5)];
            let mut overrides = Vec::new();
            if recurring {
                let start_day = rng.gen_range(-200..200);
                let start = base
                    + Days::days(start_day)
                    + Days::hours(rng.gen_range(7..19))
                    + Days::minutes(15 * rng.gen_range(0..4));
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
                    1 => format!(
                        ";UNTIL={}",
                        ical_utc(start + Days::days(rng.gen_range(30..500)))
                    ),
                    _ => String::new(),
                };
                lines.push(format!("DTSTART:{}", ical_utc(start)));
                lines.push(format!(
                    "DTEND:{}",
                    ical_utc(start + Days::minutes(minutes))
                ));
                lines.push(format!("RRULE:{rule}{bound}"));
                if step > 0 {
                    for _ in 0..rng.gen_range(0..3) {
                        let k = rng.gen_range(1..20);
                        lines.push(format!("EXDATE:{}", ical_utc(start + Days::days(step * k))));
                    }
                    if rng.gen_range(0..3) == 0 {
                        let k = rng.gen_range(20..30);
                        let rid = start + Days::days(step * k);
                        overrides.push(vec![
                            "BEGIN:VEVENT".to_string(),
                            format!("UID:{uid}"),
                            "DTSTAMP:20260101T000000Z".to_string(),
                            format!("RECURRENCE-ID:{}", ical_utc(rid)),
                            format!("DTSTART:{}", ical_utc(rid + Days::hours(2))),
                            format!(
                                "DTEND:{}",
                                ical_utc(rid + Days::hours(2) + Days::minutes(minutes))
                            ),
                            "SUMMARY:moved".to_string(),
                            "END:VEVENT".to_string(),
                        ]);
                    }
                }
            } else {
                let day = base + Days::days(rng.gen_range(-30..395));
                if rng.gen_range(0..20) == 0 {
                    let d = day.date_naive();
                    lines.push(format!("DTSTART;VALUE=DATE:{}", d.format("%Y%m%d")));
                    lines.push(format!(
                        "DTEND;VALUE=DATE:{}",
                        (d + Days::days(1)).format("%Y%m%d")
                    ));
                    lines.push("TRANSP:TRANSPARENT".to_string());
                } else {
                    let start = day
                        + Days::hours(rng.gen_range(7..19))
                        + Days::minutes(15 * rng.gen_range(0..4));
                    lines.push(format!("DTSTART:{}", ical_utc(start)));
                    lines.push(format!(
                        "DTEND:{}",
                        ical_utc(start + Days::minutes(minutes))
                    ));
                    match rng.gen_range(0..20) {
                        0 => lines.push("TRANSP:TRANSPARENT".to_string()),
                        1 => lines.push("STATUS:CANCELLED".to_string()),
                        2 => lines.push("STATUS:TENTATIVE".to_string()),
                        _ => {}
                    }
                }
            }
            lines.push("END:VEVENT".to_string());
            let mut all = vec![
                "BEGIN:VCALENDAR".to_string(),
                "VERSION:2.0".to_string(),
                "PRODID:-//calproxy//bench//EN".to_string(),
            ];
            all.extend(lines);
            for o in overrides {
                all.extend(o);
            }
            all.push("END:VCALENDAR".to_string());
            out.push(Gen {
                cal,
                uid,
                text: all.join("\r\n") + "\r\n",
                recurring,
            });
        }
    }
    out
}

fn cal_name(i: usize) -> String {
    format!("cal{i:02}")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

type Http = Client<HttpConnector, Full<Bytes>>;

fn http() -> Http {
    let mut c = HttpConnector::new();
    c.set_nodelay(true);
    Client::builder(TokioExecutor::new()).build(c)
}

async fn request(
    client: &Http,
    method: &str,
    url: &str,
    auth: Option<&str>,
    depth: Option<&str>,
    body: String,
) -> (u16, Bytes) {
    let mut b = hyper::Request::builder()
        .method(hyper::Method::from_bytes(method.as_bytes()).unwrap())
        .uri(url)
        .header("content-type", "application/xml; charset=utf-8");
    if let Some(a) = auth {
        b = b.header(
            "authorization",
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(a)
            ),
        );
    }
    if let Some(d) = depth {
        b = b.header("depth", d);
    }
    let req = b.body(Full::new(Bytes::from(body))).unwrap();
    let resp = tokio::time::timeout(Duration::from_secs(600), client.request(req))
        .await
        .expect("request timed out")
        .expect("request failed");
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, body)
}

fn query_body(w: TimeRange) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="{}" end="{}"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"#,
        ical_utc(w.start),
        ical_utc(w.end)
    )
}

fn count_hrefs(body: &[u8]) -> usize {
    let s = String::from_utf8_lossy(body);
    s.matches("href>").count() / 2
}

/// One run of a one-year calendar-query over all 20 calendars: (ms, matches).
async fn query_all(
    client: &Http,
    base: &str,
    paths: &[String],
    auth: Option<&str>,
    w: TimeRange,
) -> (f64, usize) {
    let t = Instant::now();
    let mut n = 0;
    for p in paths {
        let (st, body) = request(
            client,
            "REPORT",
            &format!("{base}{p}"),
            auth,
            Some("1"),
            query_body(w),
        )
        .await;
        assert_eq!(st, 207, "{p}: {}", String::from_utf8_lossy(&body));
        n += count_hrefs(&body);
    }
    (ms(t.elapsed()), n)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_port(port: u16) {
    for _ in 0..400 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no server on {port}");
}

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn venv(tool: &str) -> PathBuf {
    let p = repo().join("target/venv/bin").join(tool);
    assert!(p.exists(), "{} missing: run .ci/setup-peers", p.display());
    p
}

fn load_radicale(dir: &Path, data: &[Gen]) {
    for c in 0..CALENDARS {
        let d = dir.join("collection-root/bench").join(cal_name(c));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join(".Radicale.props"),
            r#"{"C:supported-calendar-component-set": "VEVENT", "tag": "VCALENDAR"}"#,
        )
        .unwrap();
    }
    for g in data {
        let d = dir.join("collection-root/bench").join(cal_name(g.cal));
        std::fs::write(d.join(format!("{}.ics", g.uid)), &g.text).unwrap();
    }
}

fn git(dir: &Path, args: &[&str]) {
    let st = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=bench", "-c", "user.email=bench@localhost"])
        .args(args)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "git {args:?} failed in {}", dir.display());
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` (CI) runs
    // this binary without it: only check that it builds and starts.
    if !std::env::args().any(|a| a == "--bench") {
        println!("availability benchmark: run it with `cargo bench --bench availability`");
        return;
    }
    let now = Utc::now();
    let base = now.date_naive().and_time(NaiveTime::MIN).and_utc();
    let year = TimeRange {
        start: now,
        end: now + Days::days(365),
    };
    let t0 = Instant::now();
    let data = generate(base);
    let recurring = data.iter().filter(|g| g.recurring).count();
    println!(
        "generated {} events in {CALENDARS} calendars ({recurring} recurring) in {:.0} ms",
        data.len(),
        ms(t0.elapsed())
    );

    // ---- calproxy: load through the store --------------------------------
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let (t, u) = (
        TenantId::new("bench").unwrap(),
        UserId::new("bench").unwrap(),
    );
    calproxy::accounts::add_user(&store, &t, &u, &Secret::new("bench".to_string())).unwrap();
    let who = calproxy::ids::UserRef::new(&t, &u);
    let port = free_port();
    let app = App::new(
        store,
        Config::new(
            format!("127.0.0.1:{port}").parse().unwrap(),
            dir.path().to_path_buf(),
        ),
    );
    let keys: Vec<CollectionKey> = (0..CALENDARS)
        .map(|c| CollectionKey::new(&t, &u, &CalendarId::new(cal_name(c)).unwrap()))
        .collect();
    for (c, k) in keys.iter().enumerate() {
        app.store
            .ensure_collection(
                k,
                &CollectionRecord::new(CollectionKind::Blocked, cal_name(c)),
            )
            .unwrap();
    }
    let t0 = Instant::now();
    for g in &data {
        let bytes = g.text.as_bytes().to_vec();
        let rec = ObjectRecord {
            index: ical::parse_lenient(&bytes).unwrap(),
            etag: calproxy::ids::ETag::of_content(&bytes),
            data: bytes,
            origin: Origin::Local,
            modified: 0,
        };
        let name = ObjectName::new(format!("{}.ics", g.uid)).unwrap();
        app.store
            .put_object(&keys[g.cal], &name, &rec, &WriteCondition::default())
            .unwrap();
    }
    println!(
        "calproxy: loaded through Store::put_object in {:.1} s",
        t0.elapsed().as_secs_f64()
    );

    // In process: the first call fills the cache (full expansion).
    let mut cold = Vec::new();
    for _ in 0..3 {
        app.views.cache().clear();
        let t0 = Instant::now();
        let v = app.views.busy_for_user(&who, year, None).unwrap();
        cold.push(ms(t0.elapsed()));
        assert!(!v.is_empty());
    }
    let blocks = app.views.busy_for_user(&who, year, None).unwrap().len();
    let mut warm = Vec::new();
    for _ in 0..50 {
        let t0 = Instant::now();
        let v = app.views.busy_for_user(&who, year, None).unwrap();
        warm.push(ms(t0.elapsed()));
        assert_eq!(v.len(), blocks);
    }
    // One changed object, then free-busy (incremental cache update).
    let mut incr = Vec::new();
    for i in 0..10 {
        let g = &data[i * 997 % data.len()];
        let bytes = g
            .text
            .replace("SUMMARY:Event", "SUMMARY:Changed event")
            .into_bytes();
        let rec = ObjectRecord {
            index: ical::parse_lenient(&bytes).unwrap(),
            etag: calproxy::ids::ETag::of_content(&bytes),
            data: bytes,
            origin: Origin::Local,
            modified: i as i64,
        };
        let name = ObjectName::new(format!("{}.ics", g.uid)).unwrap();
        app.store
            .put_object(&keys[g.cal], &name, &rec, &WriteCondition::default())
            .unwrap();
        let t0 = Instant::now();
        app.views.busy_for_user(&who, year, None).unwrap();
        incr.push(ms(t0.elapsed()));
    }
    // availability/ refresh after a write (what every PUT pays).
    let t0 = Instant::now();
    app.views.ensure_fresh(&who).unwrap();
    let refresh_first = ms(t0.elapsed());
    let mut refresh = Vec::new();
    for _ in 0..10 {
        let t0 = Instant::now();
        app.views.ensure_fresh(&who).unwrap();
        refresh.push(ms(t0.elapsed()));
    }

    // Over HTTP.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn(calproxy::server::run(
        listener,
        app.clone(),
        None,
        stop.clone(),
    ));
    let client = http();
    let cp = format!("http://127.0.0.1:{port}");
    let fb = format!(
        r#"<?xml version="1.0"?><C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:time-range start="{}" end="{}"/></C:free-busy-query>"#,
        ical_utc(year.start),
        ical_utc(year.end)
    );
    let mut http_fb = Vec::new();
    for _ in 0..30 {
        let t0 = Instant::now();
        let (st, body) = request(
            &client,
            "REPORT",
            &format!("{cp}/dav/bench/bench/availability/"),
            Some("bench:bench"),
            Some("1"),
            fb.clone(),
        )
        .await;
        http_fb.push(ms(t0.elapsed()));
        assert_eq!(st, 200, "{}", String::from_utf8_lossy(&body));
    }
    let cp_paths: Vec<String> = (0..CALENDARS)
        .map(|c| format!("/dav/bench/bench/{}/", cal_name(c)))
        .collect();
    let runs: usize = std::env::var("BENCH_PEER_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let mut cp_q = Vec::new();
    let mut cp_n = 0;
    for _ in 0..runs {
        let (m, n) = query_all(&client, &cp, &cp_paths, Some("bench:bench"), year).await;
        cp_q.push(m);
        cp_n = n;
    }

    println!(
        "calproxy: free-busy in process cold {:.1} ms, cached {:.3} ms; HTTP {:.2} ms; calendar-query x20 {:.0} ms",
        median(cold.clone()),
        median(warm.clone()),
        median(http_fb.clone()),
        median(cp_q.clone())
    );

    // ---- free slots (issue 13): 62 days, 30-minute slots, working hours --
    let hours = ical::WorkingHours {
        weekly: ical::WorkingHours::parse_weekly("Mon-Fri 09:00-17:00").unwrap(),
        ..Default::default()
    };
    app.store
        .put_user_settings(
            &t,
            &u,
            &calproxy::store::UserSettings {
                hours: Some(hours),
                ..Default::default()
            },
        )
        .unwrap();
    let slot_window = TimeRange {
        start: now,
        end: now + Days::days(62),
    };
    let q = calproxy::views::slots::SlotQuery::new(
        slot_window,
        &calproxy::views::slots::SlotParams {
            duration: Some("PT30M"),
            ..Default::default()
        },
    )
    .unwrap();
    let fresh = calproxy::views::sources::Freshness::of(&app.config);
    let mut slots_in = Vec::new();
    let mut n_slots = 0;
    for _ in 0..30 {
        let t0 = Instant::now();
        let s = app.views.slots(&who, &q, fresh, None).unwrap();
        slots_in.push(ms(t0.elapsed()));
        n_slots = s.slots.len();
    }
    let mut slots_http = Vec::new();
    let slots_url = format!(
        "{cp}/api/bench/bench/slots?start={}&end={}&duration=PT30M",
        ical_utc(slot_window.start),
        ical_utc(slot_window.end)
    );
    for _ in 0..30 {
        let t0 = Instant::now();
        let (st, body) = request(
            &client,
            "GET",
            &slots_url,
            Some("bench:bench"),
            None,
            String::new(),
        )
        .await;
        slots_http.push(ms(t0.elapsed()));
        assert_eq!(st, 200, "{}", String::from_utf8_lossy(&body));
    }
    println!(
        "calproxy: free slots, 62 days, {n_slots} slots: in process {:.2} ms, HTTP {:.2} ms",
        median(slots_in.clone()),
        median(slots_http.clone())
    );

    // ---- Radicale ----------------------------------------------------------
    let rdir = tempfile::tempdir().unwrap();
    let t0 = Instant::now();
    load_radicale(&rdir.path().join("collections"), &data);
    let rport = free_port();
    let rconf = rdir.path().join("config");
    std::fs::write(
        &rconf,
        format!(
            "[server]\nhosts = 127.0.0.1:{rport}\n[auth]\ntype = none\n[storage]\nfilesystem_folder = {}\n[logging]\nlevel = warning\n",
            rdir.path().join("collections").display()
        ),
    )
    .unwrap();
    let _radicale = Kill(
        Command::new(venv("radicale"))
            .arg("--config")
            .arg(&rconf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_port(rport).await;
    println!(
        "radicale: storage files written in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    let rbase = format!("http://127.0.0.1:{rport}");
    let rpaths: Vec<String> = (0..CALENDARS)
        .map(|c| format!("/bench/{}/", cal_name(c)))
        .collect();
    let (first, rn) = query_all(&client, &rbase, &rpaths, Some("bench:x"), year).await;
    println!("radicale: first query (builds its cache) {first:.0} ms");
    if rn != cp_n {
        // Name the objects the two servers disagree on (calendar 0).
        let names = |b: &[u8]| -> std::collections::BTreeSet<String> {
            String::from_utf8_lossy(b)
                .split("href>")
                .filter(|x| x.ends_with(".ics</") || x.ends_with(".ics</D:") || x.contains(".ics<"))
                .map(|x| {
                    x.split('<')
                        .next()
                        .unwrap_or("")
                        .rsplit('/')
                        .next()
                        .unwrap_or("")
                        .replace("%40", "@")
                })
                .collect()
        };
        let (_, a) = request(
            &client,
            "REPORT",
            &format!("{cp}{}", cp_paths[0]),
            Some("bench:bench"),
            Some("1"),
            query_body(year),
        )
        .await;
        let (_, b) = request(
            &client,
            "REPORT",
            &format!("{rbase}{}", rpaths[0]),
            Some("bench:x"),
            Some("1"),
            query_body(year),
        )
        .await;
        let (a, b) = (names(&a), names(&b));
        for n in b.symmetric_difference(&a).take(4) {
            let text = data
                .iter()
                .find(|g| n.starts_with(&g.uid))
                .map(|g| g.text.as_str())
                .unwrap_or("?");
            println!(
                "DIFF {n} calproxy={} radicale={}\n{text}",
                a.contains(n),
                b.contains(n)
            );
        }
    }
    let mut rq = Vec::new();
    for _ in 0..runs {
        rq.push(
            query_all(&client, &rbase, &rpaths, Some("bench:x"), year)
                .await
                .0,
        );
    }

    // ---- Xandikos ----------------------------------------------------------
    let xdir = tempfile::tempdir().unwrap();
    let xport = free_port();
    let _xandikos = Kill(
        Command::new(venv("xandikos"))
            .args([
                "--defaults",
                "-l",
                "127.0.0.1",
                "-p",
                &xport.to_string(),
                "-d",
            ])
            .arg(xdir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_port(xport).await;
    let xbase = format!("http://127.0.0.1:{xport}");
    let t0 = Instant::now();
    for c in 0..CALENDARS {
        let (st, body) = request(
            &client,
            "MKCALENDAR",
            &format!("{xbase}/user/calendars/{}/", cal_name(c)),
            None,
            None,
            format!(r#"<?xml version="1.0" encoding="utf-8"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><D:displayname>{}</D:displayname></D:prop></D:set></C:mkcalendar>"#, cal_name(c)),
        )
        .await;
        assert!(
            st == 201,
            "MKCALENDAR {st}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    for g in &data {
        let d = xdir.path().join("user/calendars").join(cal_name(g.cal));
        std::fs::write(d.join(format!("{}.ics", g.uid)), &g.text).unwrap();
    }
    for c in 0..CALENDARS {
        let d = xdir.path().join("user/calendars").join(cal_name(c));
        git(&d, &["add", "-A"]);
        git(&d, &["commit", "-q", "-m", "bench load"]);
    }
    println!(
        "xandikos: MKCALENDAR + files + git commit in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    let xpaths: Vec<String> = (0..CALENDARS)
        .map(|c| format!("/user/calendars/{}/", cal_name(c)))
        .collect();
    let (first, xn) = query_all(&client, &xbase, &xpaths, None, year).await;
    println!("xandikos: first query {first:.0} ms");
    let mut xq = Vec::new();
    for _ in 0..runs {
        xq.push(query_all(&client, &xbase, &xpaths, None, year).await.0);
    }
    stop.cancel();

    // ---- table -------------------------------------------------------------
    let fbw = median(warm.clone());
    let rows = [
        (
            "calproxy free-busy, in process, cold (fills cache)",
            median(cold),
            None,
        ),
        ("calproxy free-busy, in process, cached", fbw, None),
        (
            "calproxy free slots, 62 days, PT30M, in process (cached)",
            median(slots_in),
            Some(n_slots),
        ),
        (
            "calproxy free slots, 62 days, PT30M, HTTP",
            median(slots_http),
            Some(n_slots),
        ),
        (
            "calproxy free-busy, in process, after 1 write",
            median(incr),
            None,
        ),
        (
            "calproxy free-busy REPORT on availability/ (HTTP)",
            median(http_fb.clone()),
            None,
        ),
        ("calproxy availability/ refresh, first", refresh_first, None),
        (
            "calproxy availability/ refresh, no change",
            median(refresh),
            None,
        ),
        (
            "calproxy calendar-query x20 (HTTP)",
            median(cp_q.clone()),
            Some(cp_n),
        ),
        (
            "Radicale calendar-query x20 (HTTP)",
            median(rq.clone()),
            Some(rn),
        ),
        (
            "Xandikos calendar-query x20 (HTTP)",
            median(xq.clone()),
            Some(xn),
        ),
    ];
    println!("\none user, {CALENDARS} calendars, {} events, one-year window; {blocks} merged busy blocks", data.len());
    println!("{:<55} {:>12} {:>9}", "measurement", "median ms", "matches");
    for (name, v, n) in rows {
        println!(
            "{name:<55} {v:>12.2} {:>9}",
            n.map(|n| n.to_string()).unwrap_or_default()
        );
    }
    let c = median(http_fb);
    println!(
        "\nratio calproxy free-busy (HTTP) : Radicale calendar-query : Xandikos calendar-query = 1 : {:.0} : {:.0}",
        median(rq.clone()) / c,
        median(xq.clone()) / c
    );
    println!(
        "ratio calendar-query calproxy : Radicale : Xandikos = 1 : {:.1} : {:.1}",
        median(rq) / median(cp_q.clone()),
        median(xq) / median(cp_q)
    );
    println!("target: free-busy for one year <= 20 ms; measured {fbw:.2} ms in process, {c:.2} ms over HTTP");
}
