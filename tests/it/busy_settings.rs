//! Issue 13 #2, #3 end to end: the busy switches, buffers and working
//! hours as `availability/`, free-busy-query, why-busy and the feed show
//! them; whose settings apply to a conflict user's time (R7); and
//! `configure` with settings only leaving the calendar choice alone.

use calproxy::admin::{ConfigureArgs, FeedCommand, OutsideHours, Request, UserArgs};
use calproxy::ical::Tentative;
use calproxy::ids::{TenantId, UserId};

use crate::slots::settings;
use crate::support::client::DavClient;
use crate::support::env::TestEnv;
use crate::support::icloud::{self, admin_ok, Icloud};
use crate::support::ics;

fn fb_query(start: &str, end: &str) -> String {
    format!(
        r#"<?xml version="1.0"?><c:free-busy-query xmlns:c="urn:ietf:params:xml:ns:caldav"><c:time-range start="{start}" end="{end}"/></c:free-busy-query>"#
    )
}

/// The FREEBUSY lines of a free-busy-query on `path` for 2027-03-02.
async fn freebusy(c: &DavClient, path: &str) -> Vec<String> {
    c.report(path, "1", &fb_query("20270302T000000Z", "20270303T000000Z"))
        .await
        .status(200)
        .text()
        .lines()
        .filter(|l| l.starts_with("FREEBUSY"))
        .map(str::to_string)
        .collect()
}

fn tentative_event(uid: &str, start: &str, end: &str) -> String {
    ics::event(uid, start, end, "Maybe")
        .replace("SUMMARY:Maybe", "SUMMARY:Maybe\r\nSTATUS:TENTATIVE")
}

#[tokio::test]
async fn issue_13_tentative_switch_busy_tentative_busy_free() {
    let env = TestEnv::start().await;
    let c = icloud::add_user(&env, "demo", "ann");
    c.put(
        "/dav/demo/ann/blocked/t.ics",
        &tentative_event("t-1", "20270302T100000Z", "20270302T110000Z"),
        &[],
    )
    .await
    .status(201);
    let fb = "/dav/demo/ann/availability/";
    assert_eq!(
        freebusy(&c, fb).await,
        ["FREEBUSY;FBTYPE=BUSY-TENTATIVE:20270302T100000Z/20270302T110000Z"],
        "the default"
    );
    admin_ok(
        &env,
        settings("ann", |s| s.tentative = Some(Tentative::Busy)),
    )
    .await;
    assert_eq!(
        freebusy(&c, fb).await,
        ["FREEBUSY;FBTYPE=BUSY:20270302T100000Z/20270302T110000Z"]
    );
    admin_ok(
        &env,
        settings("ann", |s| s.tentative = Some(Tentative::Free)),
    )
    .await;
    assert!(freebusy(&c, fb).await.is_empty());
    // availability/ follows (its view stamp holds the rules).
    let names = c
        .propfind("/dav/demo/ann/availability/", "1", "")
        .await
        .status(207)
        .hrefs();
    assert!(
        !names.iter().any(|h| h.contains("calproxy-busy-1803981600")),
        "{names:?}"
    );
}

#[tokio::test]
async fn issue_13_buffers_widen_every_block_of_the_users_availability() {
    let env = TestEnv::start().await;
    let c = icloud::add_user(&env, "demo", "ann");
    c.put(
        "/dav/demo/ann/blocked/m.ics",
        &ics::event("m-1", "20270302T100000Z", "20270302T110000Z", "Meeting"),
        &[],
    )
    .await
    .status(201);
    // Default: no buffers.
    assert_eq!(
        freebusy(&c, "/dav/demo/ann/availability/").await,
        ["FREEBUSY;FBTYPE=BUSY:20270302T100000Z/20270302T110000Z"]
    );
    admin_ok(
        &env,
        settings("ann", |s| {
            s.buffer_before = Some("PT10M".into());
            s.buffer_after = Some("PT15M".into());
        }),
    )
    .await;
    assert_eq!(
        freebusy(&c, "/dav/demo/ann/availability/").await,
        ["FREEBUSY;FBTYPE=BUSY:20270302T095000Z/20270302T111500Z"]
    );
    // One calendar's free-busy is that calendar's busy time, unbuffered.
    assert_eq!(
        freebusy(&c, "/dav/demo/ann/blocked/").await,
        ["FREEBUSY;FBTYPE=BUSY:20270302T100000Z/20270302T110000Z"]
    );
    // availability/ and why-busy show the buffered block and its source.
    let a = c
        .get("/dav/demo/ann/availability/calproxy-busy-1803981000-1803986100.ics")
        .await
        .status(200)
        .text();
    assert!(a.contains("DTSTART:20270302T095000Z"), "{a}");
    // The block starts inside the asked range only through its buffer.
    let why = c
        .get("/api/demo/ann/busy?start=2027-03-02T09:55:00Z&end=2027-03-02T09:59:00Z")
        .await
        .status(200);
    let why: serde_json::Value = serde_json::from_slice(&why.body).unwrap();
    assert_eq!(why[0]["start"], "2027-03-02T09:55:00Z", "{why}");
    assert_eq!(why[0]["sources"][0]["object"], "m.ics", "{why}");
}

#[tokio::test]
async fn issue_13_conflict_users_time_follows_their_rules_and_the_viewers_buffers() {
    let env = TestEnv::start().await;
    let bob = icloud::add_user(&env, "demo", "bob");
    let carol = icloud::add_user(&env, "demo", "carol");
    admin_ok(
        &env,
        Request::Configure(ConfigureArgs {
            who: UserArgs {
                tenant: TenantId::new("demo").unwrap(),
                user: UserId::new("bob").unwrap(),
            },
            primary: None,
            conflicts: vec![],
            conflict_users: vec![UserId::new("carol").unwrap()],
            privacy: None,
            settings: Default::default(),
        }),
    )
    .await;
    carol
        .put(
            "/dav/demo/carol/blocked/m.ics",
            &ics::event("c-1", "20270302T100000Z", "20270302T110000Z", "Carol"),
            &[],
        )
        .await
        .status(201);
    carol
        .put(
            "/dav/demo/carol/blocked/t.ics",
            &tentative_event("c-2", "20270302T140000Z", "20270302T150000Z"),
            &[],
        )
        .await
        .status(201);
    // Carol's rules shape her time everywhere; bob's buffers wrap it in his.
    admin_ok(
        &env,
        settings("carol", |s| s.tentative = Some(Tentative::Free)),
    )
    .await;
    admin_ok(
        &env,
        settings("bob", |s| s.buffer_after = Some("PT30M".into())),
    )
    .await;
    assert_eq!(
        freebusy(&bob, "/dav/demo/bob/availability/").await,
        ["FREEBUSY;FBTYPE=BUSY:20270302T100000Z/20270302T113000Z"]
    );
    assert_eq!(
        freebusy(&carol, "/dav/demo/carol/availability/").await,
        ["FREEBUSY;FBTYPE=BUSY:20270302T100000Z/20270302T110000Z"]
    );
}

#[tokio::test]
async fn issue_13_feed_shows_outside_working_hours_as_busy_only_when_asked() {
    let env = TestEnv::start().await;
    let c = icloud::add_user(&env, "demo", "ann");
    admin_ok(
        &env,
        settings("ann", |s| s.hours = Some("Mon-Fri 09:00-17:00".into())),
    )
    .await;
    let who = UserArgs {
        tenant: TenantId::new("demo").unwrap(),
        user: UserId::new("ann").unwrap(),
    };
    let path = admin_ok(&env, Request::Feed(FeedCommand::Show(who)))
        .await
        .trim()
        .to_string();
    let anon = env.anonymous();
    let night = "DTSTART:20270302T170000Z\r\nDTEND:20270303T090000Z";
    let feed = anon.get(&path).await.status(200).text();
    assert!(
        !feed.contains(night),
        "working hours alone are not busy time"
    );
    let etag = anon.get(&path).await.header("etag").unwrap();
    admin_ok(
        &env,
        settings("ann", |s| s.feed_outside_hours = Some(OutsideHours::Busy)),
    )
    .await;
    let a = anon
        .request("GET", &path, &[("if-none-match", &etag)], "")
        .await
        .status(200);
    let feed = a.text();
    assert!(feed.contains(night), "{feed}");
    assert!(
        feed.contains("DTSTART:20270305T170000Z\r\nDTEND:20270308T090000Z"),
        "the weekend"
    );
    // availability/ and free-busy stay pure busy time.
    assert!(freebusy(&c, "/dav/demo/ann/availability/").await.is_empty());
    let names = c
        .propfind("/dav/demo/ann/availability/", "1", "")
        .await
        .status(207)
        .hrefs();
    assert!(!names.iter().any(|h| h.ends_with(".ics")), "{names:?}");
}

#[tokio::test]
async fn issue_13_configure_with_settings_only_keeps_the_calendar_choice() {
    let ic = Icloud::start(true).await;
    let before = ic
        .env
        .app
        .store
        .links(
            &TenantId::new("demo").unwrap(),
            &UserId::new("ann").unwrap(),
        )
        .unwrap();
    assert!(before.primary.is_some() && !before.conflicts.is_empty());
    let out = admin_ok(
        &ic.env,
        settings("ann", |s| s.hours = Some("Mon-Fri 08:00-16:00".into())),
    )
    .await;
    assert!(out.contains("working hours Mon-Fri 08:00-16:00"), "{out}");
    let after = ic
        .env
        .app
        .store
        .links(
            &TenantId::new("demo").unwrap(),
            &UserId::new("ann").unwrap(),
        )
        .unwrap();
    assert_eq!(before, after);
    assert!(!ic.names("work").await.is_empty());
    // A bad value changes nothing at all.
    let r = icloud::admin(
        &ic.env,
        settings("ann", |s| {
            s.hours = Some("Mon-Fri 07:00-15:00".into());
            s.buffer_before = Some("PT25H".into());
        }),
    )
    .await;
    assert!(
        !r.ok && r.output.contains("--buffer-before"),
        "{}",
        r.output
    );
    let s = ic
        .env
        .app
        .store
        .user_settings(
            &TenantId::new("demo").unwrap(),
            &UserId::new("ann").unwrap(),
        )
        .unwrap();
    assert_eq!(s.hours.unwrap().weekly_text(), "Mon-Fri 08:00-16:00");
}
