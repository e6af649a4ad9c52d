//! Issue 10 (reads are lookups) and issue 12 #3 (bounded expansion), end
//! to end: time answers are made once per write and survive a restart (no
//! read and no restart expands anything: `calproxy_object_expansions_total`
//! on `/metrics` says so), one user's expensive requests wait behind their
//! own and not behind other users', and a request over the expansion
//! budget gets a clear 403 while everything else goes on.

use std::time::{Duration, Instant};

use crate::support::client::DavClient;
use crate::support::env::TestEnv;
use crate::support::icloud::admin_ok;
use crate::support::{icloud, ics, process};

/// A strong enough password for set-up.
const PASSWORD: &str = "read-path-pw";

/// The expansions counter once the views have caught up with the writes
/// (`availability/`'s blocks are stored objects too): unchanged over four
/// samples 300 ms apart (one quiet interval was too short on a loaded
/// machine: the views' worker can pause longer between two refreshes).
async fn settled(base: &str) -> u64 {
    let mut last = expansions(base).await;
    let mut quiet = 0;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = expansions(base).await;
        if now == last {
            quiet += 1;
            if quiet == 4 {
                return now;
            }
        } else {
            quiet = 0;
        }
        last = now;
    }
    panic!("the views never settled");
}

async fn expansions(base: &str) -> u64 {
    let a = DavClient::new(base.to_string(), None).get("/metrics").await;
    a.text()
        .lines()
        .find_map(|l| l.strip_prefix("calproxy_object_expansions_total "))
        .and_then(|v| v.trim().parse().ok())
        .expect("the expansions counter on /metrics")
}

/// A recurring event with extra lines (RRULE, EXDATE, …) in UTC.
fn series(uid: &str, start: &str, end: &str, extra: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n\
         DTSTAMP:20260101T000000Z\r\nDTSTART:{start}\r\nDTEND:{end}\r\nSUMMARY:{uid}\r\n{extra}\
         END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

/// The objects of the restart test: one-offs, series with EXDATE and
/// UNTIL, an all-day event, a floating one.
fn objects() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for i in 0..12 {
        let d = 10 + i;
        out.push((
            format!("one{i}.ics"),
            ics::event(
                &format!("one{i}"),
                &format!("202612{d:02}T090000Z"),
                &format!("202612{d:02}T100000Z"),
                "x",
            ),
        ));
    }
    out.push((
        "weekly.ics".into(),
        series(
            "weekly",
            "20261102T130000Z",
            "20261102T140000Z",
            "RRULE:FREQ=WEEKLY;BYDAY=MO,WE\r\nEXDATE:20261209T130000Z\r\n",
        ),
    ));
    out.push((
        "daily.ics".into(),
        series(
            "daily",
            "20261201T070000Z",
            "20261201T073000Z",
            "RRULE:FREQ=DAILY;UNTIL=20270115T070000Z\r\n",
        ),
    ));
    out.push((
        "allday.ics".into(),
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:allday\r\n\
         DTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:20261224\r\nDTEND;VALUE=DATE:20261227\r\n\
         SUMMARY:holiday\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
            .into(),
    ));
    out.push((
        "floating.ics".into(),
        series("floating", "20261218T150000", "20261218T160000", ""),
    ));
    out
}

const QUERY: &str = r#"<?xml version="1.0"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/><C:calendar-data/></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
    <C:time-range start="20261215T000000Z" end="20270101T000000Z"/>
  </C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>"#;

const FREE_BUSY: &str = r#"<?xml version="1.0"?>
<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">
  <C:time-range start="20261201T000000Z" end="20270201T000000Z"/>
</C:free-busy-query>"#;

const SYNC: &str = r#"<?xml version="1.0"?>
<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level>
  <D:prop><D:getetag/></D:prop></D:sync-collection>"#;

/// Every read the restart test compares, as (what, status, body).
async fn reads(c: &DavClient) -> Vec<(String, u16, String)> {
    let col = "/dav/t1/ann/blocked/";
    let mut out = Vec::new();
    // A free-busy answer's DTSTAMP is the time it was computed.
    let mut keep = |what: &str, a: crate::support::client::Answer| {
        let text: String = a
            .text()
            .split("\r\n")
            .filter(|l| !l.starts_with("DTSTAMP:") || what != "free-busy")
            .collect::<Vec<_>>()
            .join("\r\n");
        out.push((what.to_string(), a.status.as_u16(), text));
    };
    keep("query", c.report(col, "1", QUERY).await);
    keep("free-busy", c.report(col, "1", FREE_BUSY).await);
    keep("sync", c.report(col, "1", SYNC).await);
    keep("listing", c.propfind(col, "1", "").await);
    keep("get", c.get(&format!("{col}weekly.ics")).await);
    keep(
        "busy api",
        c.get("/api/t1/ann/busy?start=2026-12-01T00:00:00Z&end=2027-02-01T00:00:00Z")
            .await,
    );
    for (what, status, body) in &out {
        assert!(*status < 300, "{what}: {status}\n{body}");
    }
    out
}

#[tokio::test]
async fn issue_10_time_answers_are_made_once_per_write_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    process::cli_ok(
        &[
            "user", "add", "--tenant", "t1", "--user", "ann", "--data", data,
        ],
        &format!("{PASSWORD}\n"),
    )
    .await;
    let (serve, base) = process::serve(data, &[]).await;
    let c = DavClient::new(base.clone(), Some(("ann@t1", PASSWORD)));
    let start = expansions(&base).await;
    let objects = objects();
    for (name, body) in &objects {
        c.put(&format!("/dav/t1/ann/blocked/{name}"), body, &[])
            .await
            .status(201);
    }
    // Each write expands its object once; `availability/` adds its own
    // blocks (stored objects too) as the views follow.
    let written = settled(&base).await;
    assert!(written - start >= objects.len() as u64);
    let before = reads(&c).await;
    assert!(before[0].2.contains("weekly"), "{}", before[0].2);
    // Reading twice expands nothing.
    let again = reads(&c).await;
    assert_eq!(expansions(&base).await, written, "reads expanded objects");
    assert_eq!(before, again);
    process::kill(serve).await;

    let (serve, base) = process::serve(data, &[]).await;
    let c = DavClient::new(base.clone(), Some(("ann@t1", PASSWORD)));
    let after = reads(&c).await;
    assert_eq!(
        settled(&base).await,
        0,
        "a restart and the first reads after it expanded objects"
    );
    for ((what, s0, b0), (_, s1, b1)) in before.iter().zip(&after) {
        assert_eq!((s0, b0), (s1, b1), "{what} differs after the restart");
    }
    process::kill(serve).await;
}

/// `n` small series repeating every second since 1970 (issue 12 #3's
/// pathological input) in `user`'s `blocked/`.
async fn secondly(c: &DavClient, tenant: &str, user: &str, n: usize) {
    for i in 0..n {
        c.put(
            &format!("/dav/{tenant}/{user}/blocked/s{i}.ics"),
            &series(
                &format!("s{i}"),
                "19700101T000000Z",
                "19700101T000001Z",
                "RRULE:FREQ=SECONDLY\r\n",
            ),
            &[],
        )
        .await
        .status(201);
    }
}

/// Busy time three days long in 2035, far outside the stored window: each
/// series expands live (up to its instance limit).
const FAR: &str = "/api/t1/ann/busy?start=2035-01-01T00:00:00Z&end=2035-01-04T00:00:00Z";

#[tokio::test]
async fn issue_12_3_a_users_expensive_requests_wait_behind_their_own_not_behind_others() {
    let env = TestEnv::start_with(|c| c.limits.blocking_jobs = 8).await;
    assert_eq!(env.app.jobs.share(), 2);
    let ann = icloud::add_user(&env, "t1", "ann");
    let bob = icloud::add_user(&env, "t2", "bob");
    secondly(&ann, "t1", "ann", 20).await;
    let t = Instant::now();
    ann.get(FAR).await.status(200);
    let one = t.elapsed();
    // Eight at once: two run (ann's share), six wait behind them.
    let mut heavy = Vec::new();
    for _ in 0..8 {
        let c = ann.clone();
        heavy.push(tokio::spawn(async move {
            c.get(FAR).await.status(200);
            Instant::now()
        }));
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    let t = Instant::now();
    bob.propfind("/dav/t2/bob/", "1", "").await.status(207);
    bob.get("/api/t2/bob/busy?start=2026-12-01T00:00:00Z&end=2026-12-08T00:00:00Z")
        .await
        .status(200);
    env.anonymous().get("/healthz").await.status(200);
    let bob_done = Instant::now();
    let bob_took = t.elapsed();
    // Ann's own one-object requests (the light lane) do not wait behind
    // her expensive ones either.
    ann.get("/dav/t1/ann/blocked/s0.ics").await.status(200);
    ann.put(
        "/dav/t1/ann/blocked/quick.ics",
        &ics::event("quick", "20270102T090000Z", "20270102T100000Z", "quick"),
        &[],
    )
    .await
    .status(201);
    ann.propfind("/dav/t1/ann/blocked/s1.ics", "0", "")
        .await
        .status(207);
    let ann_light_done = Instant::now();
    let mut finished: Vec<Instant> = Vec::new();
    for h in heavy {
        finished.push(h.await.unwrap());
    }
    let before_bob = finished.iter().filter(|f| **f <= bob_done).count();
    let before_ann_light = finished.iter().filter(|f| **f <= ann_light_done).count();
    println!(
        "one expensive request alone {:.0} ms; 8 at once: {before_bob} finished before bob's 3 \
         requests, which took {:.1} ms ({:.2} of one expensive request)",
        one.as_secs_f64() * 1e3,
        bob_took.as_secs_f64() * 1e3,
        bob_took.as_secs_f64() / one.as_secs_f64()
    );
    // Ann's eight run two at a time: bob and /healthz never queue behind them.
    assert_eq!(
        before_bob, 0,
        "{before_bob} of ann's requests finished before bob's: bob waited behind ann"
    );
    assert_eq!(
        before_ann_light, 0,
        "{before_ann_light} of ann's expensive requests finished before her GET, PUT and \
         PROPFIND Depth 0: one-object requests waited behind them"
    );
}

#[tokio::test]
async fn issue_12_3_over_the_expansion_budget_is_a_clear_403_and_nothing_else_is_refused() {
    let env = TestEnv::start_with(|c| c.limits.expansion_budget = 20_000).await;
    let ann = icloud::add_user(&env, "t1", "ann");
    let bob = icloud::add_user(&env, "t2", "bob");
    secondly(&ann, "t1", "ann", 5).await;
    bob.put(
        "/dav/t2/bob/blocked/b.ics",
        &ics::event("b", "20261210T090000Z", "20261210T100000Z", "b"),
        &[],
    )
    .await
    .status(201);
    // The JSON API names the limit.
    let a = ann.get(FAR).await;
    assert_eq!(a.status.as_u16(), 403, "{}", a.text());
    assert!(a.text().contains("20000"), "{}", a.text());
    assert!(
        a.header("content-type").is_some_and(|t| t.contains("json")),
        "{:?}",
        a.header("content-type")
    );
    // CalDAV: free-busy and calendar-query with expand over the budget.
    let fb = r#"<?xml version="1.0"?>
<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">
  <C:time-range start="20350101T000000Z" end="20350104T000000Z"/>
</C:free-busy-query>"#;
    ann.report("/dav/t1/ann/blocked/", "1", fb)
        .await
        .status(403)
        .dav_error("number-of-matches-within-limits");
    let expand = r#"<?xml version="1.0"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><C:calendar-data><C:expand start="20350101T000000Z" end="20350104T000000Z"/></C:calendar-data></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
    <C:time-range start="20350101T000000Z" end="20350104T000000Z"/>
  </C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>"#;
    ann.report("/dav/t1/ann/blocked/", "1", expand)
        .await
        .status(403)
        .dav_error("number-of-matches-within-limits");
    // Everything else goes on: ann's cheap reads, bob, /healthz.
    ann.propfind("/dav/t1/ann/blocked/", "1", "")
        .await
        .status(207);
    ann.get("/api/t1/ann/busy?start=2026-12-01T00:00:00Z&end=2026-12-02T00:00:00Z")
        .await
        .status(200);
    bob.report("/dav/t2/bob/blocked/", "1", QUERY)
        .await
        .status(207);
    env.anonymous().get("/healthz").await.status(200);
}

/// Each collection's merged busy time is kept as a snapshot: a cold cache
/// (a restart) answers free-busy from one row per collection, and a
/// snapshot older than its collection is never used.
#[tokio::test]
async fn issue_10_a_cold_cache_answers_free_busy_from_busy_snapshots() {
    let env = TestEnv::start().await;
    let c = env.client();
    for (i, (name, body)) in objects().into_iter().enumerate() {
        let col = if i % 2 == 0 { "blocked" } else { "primary" };
        c.put(&format!("/dav/demo/demo/{col}/{name}"), &body, &[])
            .await
            .status(201);
    }
    // free-busy-query on availability/: the merged busy time, no sources.
    let av = "/dav/demo/demo/availability/";
    let fb = |c: DavClient| async move {
        let t = c.report(av, "1", FREE_BUSY).await.status(200).text();
        t.split("\r\n")
            .filter(|l| !l.starts_with("DTSTAMP:"))
            .collect::<Vec<_>>()
            .join("\r\n")
    };
    let warm = fb(c.clone()).await;
    let cache = env.app.views.cache();
    // A restart: a graceful stop keeps the snapshots that changes since
    // the last one left behind (the worker keeps them a few seconds after
    // a burst of writes, not on every write).
    cache.persist_snapshots(&env.app.store);
    cache.clear();
    let s0 = cache.stats();
    let cold = fb(c.clone()).await;
    let s1 = cache.stats();
    assert_eq!(warm, cold);
    assert!(
        s1.snapshots > s0.snapshots,
        "a cold cache read no snapshot: {s0:?} -> {s1:?}"
    );
    assert_eq!(
        (s1.rebuilds, s1.expanded),
        (s0.rebuilds, s0.expanded),
        "a cold cache with current snapshots rebuilt or expanded"
    );
    // A write: the answer has it, whether the views caught up first (a
    // new snapshot) or the cache rebuilt past the stale one (the unit test
    // `views::tests::a_cold_cache_uses_a_current_busy_snapshot…` pins that).
    c.put(
        "/dav/demo/demo/blocked/late.ics",
        &ics::event("late", "20270120T090000Z", "20270120T100000Z", "late"),
        &[],
    )
    .await
    .status(201);
    cache.clear();
    let after = fb(c.clone()).await;
    assert!(
        after.contains("20270120T090000Z/20270120T100000Z"),
        "{after}"
    );
}

/// `(cached, rendered)` of a counter with a `source` label on /metrics.
async fn cached_rendered(env: &TestEnv, metric: &str) -> (u64, u64) {
    let text = env.anonymous().get("/metrics").await.status(200).text();
    let count = |source: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{metric}{{source=\"{source}\"}} ")))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or_else(|| panic!("{metric} on /metrics"))
    };
    (count("cached"), count("rendered"))
}

/// `(cached, rendered)` from `calproxy_report_answers_total`.
async fn answers(env: &TestEnv) -> (u64, u64) {
    cached_rendered(env, "calproxy_report_answers_total").await
}

fn query_body(expand: bool) -> String {
    let data = if expand {
        r#"<C:calendar-data><C:expand start="20270301T000000Z" end="20270401T000000Z"/></C:calendar-data>"#
    } else {
        "<C:calendar-data/>"
    };
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/>{data}</D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20270301T000000Z" end="20270401T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"#
    )
}

/// A floating (zone-less) event at 09:00 local on 2027-03-10.
const FLOATING: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:float\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20270310T090000\r\nDTEND:20270310T100000\r\nSUMMARY:float\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

#[tokio::test]
async fn issue_10_a_repeated_report_is_a_lookup_and_never_outlives_what_it_was_made_from() {
    let env = TestEnv::start().await;
    let ann = icloud::add_user(&env, "demo", "ann");
    let col = "/dav/demo/ann/blocked/";
    for (name, start, end) in [
        ("a", "20270302T090000Z", "20270302T100000Z"),
        ("b", "20270305T090000Z", "20270305T100000Z"),
    ] {
        ann.put(
            &format!("{col}{name}.ics"),
            &ics::event(name, start, end, name),
            &[],
        )
        .await
        .status(201);
    }
    let q = query_body(false);
    let first = ann.report(col, "1", &q).await.status(207).text();
    let (c0, r0) = answers(&env).await;
    let again = ann.report(col, "1", &q).await.status(207).text();
    assert_eq!(first, again);
    assert_eq!(
        answers(&env).await,
        (c0 + 1, r0),
        "the repeat is served as kept"
    );
    // A write makes a new answer at once.
    ann.put(
        &format!("{col}c.ics"),
        &ics::event("c", "20270307T090000Z", "20270307T100000Z", "c"),
        &[],
    )
    .await
    .status(201);
    let after_put = ann.report(col, "1", &q).await.status(207).text();
    assert!(
        after_put.contains("UID:c") && after_put.contains("UID:a"),
        "{after_put}"
    );
    ann.delete(&format!("{col}a.ics"), &[]).await.status(204);
    let after_delete = ann.report(col, "1", &q).await.status(207).text();
    assert!(!after_delete.contains("UID:a") && after_delete.contains("UID:c"));
    // multiget and sync-collection too, and a different request is its own answer.
    let mg = format!(
        r#"<?xml version="1.0"?><C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop><D:href>{col}b.ics</D:href><D:href>{col}a.ics</D:href></C:calendar-multiget>"#
    );
    let m1 = ann.report(col, "1", &mg).await.status(207).text();
    let (c1, _) = answers(&env).await;
    assert_eq!(ann.report(col, "1", &mg).await.status(207).text(), m1);
    assert_eq!(answers(&env).await.0, c1 + 1);
    assert!(m1.contains("404"), "a.ics is gone: {m1}");
    // The owner's zone decides floating times: a new zone is a new answer.
    ann.put(&format!("{col}float.ics"), FLOATING, &[])
        .await
        .status(201);
    let x = query_body(true);
    let utc = ann.report(col, "1", &x).await.status(207).text();
    assert!(utc.contains("DTSTART:20270310T090000Z"), "{utc}");
    admin_ok(
        &env,
        crate::slots::settings("ann", |s| s.timezone = Some("Europe/Berlin".into())),
    )
    .await;
    let berlin = ann.report(col, "1", &x).await.status(207).text();
    assert!(berlin.contains("DTSTART:20270310T080000Z"), "{berlin}");
}

/// `(cached, rendered)` from `calproxy_object_responses_total`.
async fn object_responses(env: &TestEnv) -> (u64, u64) {
    cached_rendered(env, "calproxy_object_responses_total").await
}

fn window_query(start: &str, end: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/><D:current-user-privilege-set/><X:nope xmlns:X="urn:x-test"/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="{start}" end="{end}"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"#
    )
}

/// An answer that is not kept (a new window, a collection changed since)
/// is assembled from each object's rendered response, kept under the
/// object's version: the same bytes a server keeping nothing renders, and
/// a changed object is never answered with its old response.
#[tokio::test]
async fn issue_10_a_new_window_reuses_each_objects_response_and_answers_the_same_bytes() {
    let kept = TestEnv::start().await;
    let none = TestEnv::start_with(|c| {
        c.limits.response_cache_bytes = 0;
        c.limits.answer_cache_bytes = 0;
    })
    .await;
    let col = "/dav/demo/ann/blocked/";
    let mut clients = Vec::new();
    for env in [&kept, &none] {
        let ann = icloud::add_user(env, "demo", "ann");
        for day in 1..=20 {
            let name = format!("d{day:02}");
            let start = format!("202703{day:02}T090000Z");
            let end = format!("202703{day:02}T100000Z");
            ann.put(
                &format!("{col}{name}.ics"),
                &ics::event(&name, &start, &end, &name),
                &[],
            )
            .await
            .status(201);
        }
        clients.push(ann);
    }
    let (k, n) = (&clients[0], &clients[1]);
    let first = window_query("20270301T000000Z", "20270315T000000Z");
    let second = window_query("20270305T000000Z", "20270321T000000Z");
    k.report(col, "1", &first).await.status(207);
    let (c0, r0) = object_responses(&kept).await;
    let a = k.report(col, "1", &second).await.status(207).text();
    let (c1, r1) = object_responses(&kept).await;
    assert_eq!(
        (c1 - c0, r1 - r0),
        (10, 6),
        "5–14 March were listed before, 15–20 are new"
    );
    let b = n.report(col, "1", &second).await.status(207).text();
    assert_eq!(a, b, "reused responses make the same answer");
    assert!(
        a.contains("urn:x-test") && a.contains("HTTP/1.1 404"),
        "{a}"
    );
    // A changed object: its new response, never the kept one.
    for c in [k, n] {
        c.put(
            &format!("{col}d07.ics"),
            &ics::event("d07", "20270307T090000Z", "20270307T100000Z", "moved on"),
            &[],
        )
        .await
        .status(204);
    }
    let a = k.report(col, "1", &second).await.status(207).text();
    assert!(a.contains("SUMMARY:moved on"), "{a}");
    assert_eq!(a, n.report(col, "1", &second).await.status(207).text());
}
