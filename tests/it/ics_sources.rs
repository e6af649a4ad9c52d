//! Issue 13 #4: ICS feeds as read-only sources (`calproxy connect --ics URL
//! --name NAME`): added, polled with validators (304 counted in traffic and
//! /metrics), chosen as a conflict calendar, their busy time in
//! availability, a broken or oversized feed refused with the last good
//! copy kept, REFRESH-INTERVAL honoured by the background engine, and the
//! simulated iCloud's subscribed calendar added through its URL; the
//! console's "+ Add ICS feed" form, which never shows the URL again.

use std::time::Duration;

use calproxy::admin::{self, ConnectArgs, ConnectOptions, Request, UserArgs, WirePassword};
use calproxy::ids::{ConnectionId, TenantId, UserId};

use crate::support::console::Browser;
use crate::support::env::TestEnv;
use crate::support::feed_server::{feed, FeedServer};
use crate::support::icloud::{add_user, admin, admin_ok, configure_req, Icloud};

/// A path that looks like a secret feed address (Google's "private-…").
const SECRET_PATH: &str = "/calendar/ical/private-5f1e2d3c4b5a69788796a5b4c3d2e1f0/basic.ics";

fn connect_ics(url: &str, name: Option<&str>) -> Request {
    Request::Connect(ConnectArgs {
        who: UserArgs {
            tenant: TenantId::new("demo").unwrap(),
            user: UserId::new("ann").unwrap(),
        },
        apple_id: String::new(),
        upstream: admin::ICLOUD.into(),
        id: None,
        options: ConnectOptions {
            ics: Some(url.into()),
            name: name.map(str::to_string),
            region: None,
        },
        password: WirePassword::default(),
    })
}

/// The connection `id` as the store holds it.
fn stored(env: &TestEnv, id: &str) -> Option<calproxy::store::ConnectionRecord> {
    env.app
        .store
        .connection(&ConnectionId::new(id).unwrap())
        .unwrap()
}

fn sync_one(id: &str) -> Request {
    Request::Sync(admin::SyncArgs {
        connection: Some(ConnectionId::new(id).unwrap()),
        ..Default::default()
    })
}

const MARCH: &str = "start=2027-03-10T00:00:00Z&end=2027-03-12T00:00:00Z";

fn holidays(start: &str, end: &str) -> String {
    feed(
        "Holidays",
        "REFRESH-INTERVAL;VALUE=DURATION:PT6H\r\n",
        &[
            ("h1@feed.test", start, end),
            ("h2@feed.test", "20270705T000000Z", "20270706T000000Z"),
        ],
    )
}

/// calproxy with ann, and a feed server serving a two-event feed.
async fn setup() -> (TestEnv, crate::support::client::DavClient, FeedServer) {
    let env = TestEnv::start().await;
    let ann = add_user(&env, "demo", "ann");
    let server = FeedServer::start().await;
    server.serve_ics(
        SECRET_PATH,
        &holidays("20270310T100000Z", "20270310T110000Z"),
    );
    (env, ann, server)
}

#[tokio::test]
async fn issue_13_ics_source_is_added_polled_chosen_and_blocks_time() {
    let (env, ann, server) = setup().await;
    let out = admin_ok(
        &env,
        connect_ics(&server.url(SECRET_PATH), Some("US holidays")),
    )
    .await;
    assert!(
        out.contains("added ICS source us-holidays") && out.contains("2 events"),
        "{out}"
    );
    assert!(out.contains("every 6 h"), "REFRESH-INTERVAL read: {out}");
    assert!(out.contains("ics feed"), "listed as a feed calendar: {out}");
    // The feed is fetched without credentials.
    assert!(server.log().iter().all(|h| !h.authorization));
    // A feed cannot be the primary calendar; it can be a conflict calendar.
    let r = admin(&env, configure_req("demo", "ann", Some("US holidays"), &[])).await;
    assert!(!r.ok && r.output.contains("read-only"), "{}", r.output);
    admin_ok(&env, configure_req("demo", "ann", None, &["US holidays"])).await;
    let names = ann
        .propfind("/dav/demo/ann/us-holidays/", "1", "")
        .await
        .status(207)
        .hrefs();
    assert_eq!(
        names.iter().filter(|h| h.ends_with(".ics")).count(),
        2,
        "{names:?}"
    );
    // It is a read-only collection (R2).
    let href = names.iter().find(|h| h.ends_with(".ics")).unwrap().clone();
    ann.put(
        &href,
        &crate::support::ics::event("x", "20270101T100000Z", "20270101T110000Z", "x"),
        &[],
    )
    .await
    .status(403);
    // Its busy time is in the user's availability.
    let busy = ann
        .get(&format!("/api/demo/ann/busy?{MARCH}"))
        .await
        .status(200)
        .text();
    assert!(
        busy.contains("2027-03-10T10:00:00Z") && busy.contains("us-holidays"),
        "{busy}"
    );

    // An unchanged feed answers 304 to the validators it gave.
    let out = admin_ok(&env, sync_one("us-holidays")).await;
    assert!(out.contains("304"), "{out}");
    let hits = server.hits(SECRET_PATH);
    let last = hits.last().unwrap();
    assert_eq!(last.status, 304);
    assert!(last.if_none_match.is_some());
    // Counted in /metrics under the connection's label and recorded as traffic.
    let label = env.app.metrics.connection_label("us-holidays");
    let metrics = env.anonymous().get("/metrics").await.status(200).text();
    assert!(
        metrics.contains(&format!(
            "calproxy_upstream_requests_total{{connection=\"{label}\",status=\"304\"}} 1"
        )),
        "{metrics}"
    );
    let traffic = admin_ok(
        &env,
        Request::Traffic(admin::TrafficCommand::List(calproxy::traffic::Filter {
            connection: Some("us-holidays".into()),
            ..Default::default()
        })),
    )
    .await;
    assert!(
        traffic.contains("304") && traffic.contains("200"),
        "{traffic}"
    );
    // The recorded exchanges show no Authorization header: none was sent.
    let har = admin_ok(
        &env,
        Request::Traffic(admin::TrafficCommand::Export(calproxy::traffic::Filter {
            connection: Some("us-holidays".into()),
            ..Default::default()
        })),
    )
    .await;
    assert!(
        har.contains("If-None-Match") || har.contains("if-none-match"),
        "{har}"
    );
    assert!(!har.to_ascii_lowercase().contains("authorization"), "{har}");
    // The feed's secret path is in no status, traffic or error.
    let status = admin_ok(&env, Request::Status).await;
    for text in [&status, &traffic, &out, &har] {
        assert!(!text.contains("private-5f1e"), "secret path shown:\n{text}");
    }
    assert!(status.contains("ICS feed US holidays"), "{status}");

    // A changed feed is fetched again and the busy time follows it.
    server.serve_ics(
        SECRET_PATH,
        &holidays("20270311T140000Z", "20270311T150000Z"),
    );
    let out = admin_ok(&env, sync_one("us-holidays")).await;
    assert!(out.contains("1 fetched"), "{out}");
    let busy = ann
        .get(&format!("/api/demo/ann/busy?{MARCH}"))
        .await
        .status(200)
        .text();
    assert!(
        busy.contains("2027-03-11T14:00:00Z") && !busy.contains("2027-03-10T10:00:00Z"),
        "{busy}"
    );
}

#[tokio::test]
async fn issue_13_a_broken_feed_gives_a_clear_error_and_keeps_the_last_good_copy() {
    let (env, ann, server) = setup().await;
    admin_ok(
        &env,
        connect_ics(&server.url(SECRET_PATH), Some("US holidays")),
    )
    .await;
    admin_ok(&env, configure_req("demo", "ann", None, &["US holidays"])).await;
    // The feed now answers a sign-in page instead of iCalendar.
    server.serve(
        SECRET_PATH,
        b"<!DOCTYPE html><html><body>Please sign in</body></html>",
        "text/html; charset=utf-8",
    );
    let r = admin(&env, sync_one("us-holidays")).await;
    assert!(!r.ok, "{}", r.output);
    assert!(
        r.output
            .contains("not iCalendar: it is an HTML page (text/html; charset=utf-8)")
            && r.output.contains("last good copy is kept"),
        "{}",
        r.output
    );
    let status = admin_ok(&env, Request::Status).await;
    assert!(status.contains("not iCalendar"), "{status}");
    // Nothing was removed: the copies and the busy time stay.
    let busy = ann
        .get(&format!("/api/demo/ann/busy?{MARCH}"))
        .await
        .status(200)
        .text();
    assert!(busy.contains("2027-03-10T10:00:00Z"), "{busy}");
    let hrefs = ann
        .propfind("/dav/demo/ann/us-holidays/", "1", "")
        .await
        .status(207)
        .hrefs();
    assert_eq!(hrefs.iter().filter(|h| h.ends_with(".ics")).count(), 2);

    // A feed that is not iCalendar is never added.
    server.serve("/other.ics", b"{\"error\": \"gone\"}", "application/json");
    let r = admin(&env, connect_ics(&server.url("/other.ics"), Some("Other"))).await;
    assert!(
        !r.ok && r.output.contains("cannot add the ICS feed") && r.output.contains("JSON"),
        "{}",
        r.output
    );
    let cals = admin_ok(&env, Request::Calendars(Default::default())).await;
    assert!(!cals.contains("Other"), "{cals}");
    // Removing the source removes its collection; the feed is untouched.
    let out = admin_ok(
        &env,
        Request::Disconnect(admin::DisconnectArgs {
            connection: ConnectionId::new("us-holidays").unwrap(),
            tenant: None,
        }),
    )
    .await;
    assert!(
        out.contains("1 conflict calendars") && out.contains("the feed itself is untouched"),
        "{out}"
    );
    ann.propfind("/dav/demo/ann/us-holidays/", "1", "")
        .await
        .status(404);
}

#[tokio::test]
async fn issue_13_a_feed_over_the_size_limit_is_refused_and_the_copy_kept() {
    let env = TestEnv::start_with(|c| c.feeds.max_bytes = 4096).await;
    let ann = add_user(&env, "demo", "ann");
    let server = FeedServer::start().await;
    server.serve_ics("/f.ics", &holidays("20270310T100000Z", "20270310T110000Z"));
    admin_ok(&env, connect_ics(&server.url("/f.ics"), Some("Feed"))).await;
    admin_ok(&env, configure_req("demo", "ann", None, &["Feed"])).await;
    let mut big = holidays("20270310T100000Z", "20270310T110000Z");
    big.insert_str(
        big.len() - "END:VCALENDAR\r\n".len(),
        &format!("X-PADDING:{}\r\n", "x".repeat(8000)),
    );
    server.serve_ics("/f.ics", &big);
    let r = admin(&env, sync_one("feed")).await;
    assert!(
        !r.ok && r.output.contains("larger than 4096 bytes"),
        "{}",
        r.output
    );
    let busy = ann
        .get(&format!("/api/demo/ann/busy?{MARCH}"))
        .await
        .status(200)
        .text();
    assert!(busy.contains("2027-03-10T10:00:00Z"), "{busy}");
}

#[tokio::test]
async fn issue_13_feeds_are_polled_as_often_as_their_refresh_interval_asks() {
    let env = TestEnv::start().await;
    add_user(&env, "demo", "ann");
    let server = FeedServer::start().await;
    let every_second = feed(
        "Fast",
        "REFRESH-INTERVAL;VALUE=DURATION:PT1S\r\n",
        &[("f@t", "20270310T100000Z", "20270310T110000Z")],
    );
    let hourly = feed(
        "Slow",
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n",
        &[("s@t", "20270310T100000Z", "20270310T110000Z")],
    );
    server.serve_ics("/fast.ics", &every_second);
    server.serve_ics("/slow.ics", &hourly);
    admin_ok(&env, connect_ics(&server.url("/fast.ics"), Some("Fast"))).await;
    admin_ok(&env, connect_ics(&server.url("/slow.ics"), Some("Slow"))).await;
    let stop = tokio_util::sync::CancellationToken::new();
    let engine = env.app.engine.clone();
    let cfg = calproxy::sync::EngineConfig {
        interval: Duration::from_millis(100),
        jitter: Duration::ZERO,
        auth_retry: Duration::ZERO,
    };
    tokio::spawn(engine.run(cfg, stop.clone()));
    // The engine ticks every 100 ms; the fast feed is polled about once a
    // second (the clock behind REFRESH-INTERVAL has whole seconds).
    let waited = tokio::time::timeout(Duration::from_secs(30), async {
        while server.hits("/fast.ics").len() < 4 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    stop.cancel();
    assert!(
        waited.is_ok(),
        "the fast feed was not polled: {:?}",
        server.log()
    );
    // Meanwhile the hourly feed was fetched once, when it was added.
    assert_eq!(server.hits("/slow.ics").len(), 1, "{:?}", server.log());
    // Polls of an unchanged feed are 304s.
    assert!(server.hits("/fast.ics")[1..]
        .iter()
        .all(|h| h.status == 304));
}

#[tokio::test]
async fn issue_13_icloud_subscribed_calendar_is_refused_and_added_as_ics_source() {
    let ic = Icloud::start(true).await;
    let subscribed = "9F8E7D6C-5B4A-4392-8170-6F5E4D3C2B1A";
    let url = ic.sim.subscription_url(subscribed).unwrap();
    assert!(url.starts_with("webcal://127.0.0.1:"), "{url}");
    // R6: still refused as an iCloud calendar, with the way to add it instead.
    let r = admin(
        &ic.env,
        configure_req("demo", "ann", Some("home"), &["work", "US Holidays"]),
    )
    .await;
    assert!(!r.ok, "{}", r.output);
    assert!(
        r.output.contains("subscribed (webcal) calendar")
            && r.output.contains(&format!("--ics '{url}'"))
            && r.output.contains("--name \"US Holidays\""),
        "{}",
        r.output
    );
    // `calendars` shows the URL too.
    let cals = admin_ok(&ic.env, Request::Calendars(Default::default())).await;
    assert!(cals.contains(&url), "{cals}");
    // Added as an ICS source, as the advice says (same name).
    let out = admin_ok(&ic.env, connect_ics(&url, Some("US Holidays"))).await;
    assert!(out.contains("7 events"), "{out}");
    // The name is now shared by the refused calendar and the feed: the
    // usable one is meant.
    admin_ok(
        &ic.env,
        configure_req("demo", "ann", Some("home"), &["work", "US Holidays"]),
    )
    .await;
    // Independence Day (yearly, all day, in the user's zone) is busy.
    let busy = ic
        .ann
        .get("/api/demo/ann/busy?start=2027-07-03T00:00:00Z&end=2027-07-06T00:00:00Z")
        .await
        .status(200)
        .text();
    assert!(busy.contains("us-holidays"), "{busy}");
    // The published feed was fetched without credentials, then polled with
    // its validators: 304.
    ic.sim.clear_requests();
    let out = admin_ok(&ic.env, sync_one("us-holidays")).await;
    assert!(out.contains("304"), "{out}");
    let seen = ic.sim.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].path.starts_with("/published/2/") && seen[0].status == 304);
    // The owner replaces the calendar: the next poll fetches the new event,
    // and safe sync holds the seven deletions (a feed is a full listing).
    let path = url.split_once("127.0.0.1:").unwrap().1;
    let path = &path[path.find('/').unwrap()..];
    ic.sim.publish(
        path,
        &feed(
            "US Holidays",
            "",
            &[("only@t", "20270310T100000Z", "20270310T110000Z")],
        ),
    );
    let out = admin_ok(&ic.env, sync_one("us-holidays")).await;
    assert!(
        out.contains("1 fetched") && out.contains("held: 7 deletions need confirmation"),
        "{out}"
    );
}

#[tokio::test]
async fn issue_13_the_console_adds_an_ics_feed_and_never_shows_its_url() {
    let (env, _ann, server) = setup().await;
    server.serve(
        "/page.html",
        b"<html><body>hello</body></html>",
        "text/html",
    );
    let mut b = Browser::signed_in(&env.base(), "ann@demo", "pw").await;
    let list = b.get("/connections").await.text();
    assert!(list.contains(r#"href="/connections/new-feed""#), "{list}");
    let form = b.get("/connections/new-feed").await;
    assert_eq!(form.status.as_u16(), 200);
    assert!(form.text().contains(r#"name="url""#), "{}", form.text());
    // Empty, then not iCalendar: refused with why, nothing added.
    let a = b.submit("/connections/new-feed", &[("url", "")]).await;
    assert!(a.text().contains("Enter the feed"), "{}", a.text());
    let a = b
        .submit(
            "/connections/new-feed",
            &[("url", &server.url("/page.html")), ("name", "Oops")],
        )
        .await;
    let text = a.text();
    assert!(text.contains("HTML page"), "{text}");
    assert!(!text.contains("page.html"), "the URL is not shown: {text}");
    assert!(text.contains(r#"value="Oops""#), "the name is kept: {text}");
    assert!(stored(&env, "oops").is_none());
    // A good feed: added as `connect --ics` adds it, its secret path never
    // on a page.
    let a = b
        .submit(
            "/connections/new-feed",
            &[("url", &server.url(SECRET_PATH)), ("name", "US holidays")],
        )
        .await;
    let text = a.text();
    assert!(
        text.contains("added ICS source us-holidays") && text.contains("2 events"),
        "{text}"
    );
    let list = b.get("/connections").await.text();
    for page in [&text, &list] {
        assert!(!page.contains("private-5f1e"), "{page}");
    }
    assert!(
        list.contains("us-holidays") && list.contains("ICS feed"),
        "{list}"
    );
    assert!(stored(&env, "us-holidays").is_some());
    // Without the session's CSRF token nothing is added.
    let a = b
        .post(
            "/connections/new-feed",
            &[("url", &server.url(SECRET_PATH)), ("name", "Again")],
        )
        .await;
    assert_eq!(a.status.as_u16(), 403);
    assert!(stored(&env, "again").is_none());
}

#[tokio::test]
async fn issue_13_an_admin_adds_a_feed_for_a_chosen_user_and_a_user_only_for_themselves() {
    let (env, _ann, server) = setup().await;
    add_user(&env, "other", "bob");
    admin_ok(
        &env,
        Request::Admin(admin::AdminCommand::Add {
            name: UserId::new("root").unwrap(),
            password: WirePassword::new(&calproxy::secret::Secret::new("root-password".into())),
        }),
    )
    .await;
    let mut root = Browser::signed_in(&env.base(), "root", "root-password").await;
    let list = root.get("/connections").await.text();
    assert!(list.contains(r#"href="/connections/new-feed""#), "{list}");
    let form = root.get("/connections/new-feed").await.text();
    for u in ["ann@demo", "bob@other"] {
        assert!(form.contains(&format!(r#"<option value="{u}""#)), "{form}");
    }
    // No user, or one that does not exist: nothing is added.
    for named in [None, Some("nobody@demo")] {
        let mut fields = vec![("url", server.url(SECRET_PATH)), ("name", "Ghost".into())];
        if let Some(n) = named {
            fields.push(("for", n.into()));
        }
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let a = root.submit("/connections/new-feed", &fields).await;
        assert!(a.text().contains("Choose the user"), "{}", a.text());
    }
    assert!(stored(&env, "ghost").is_none());
    // For bob, of another tenant.
    let url = server.url(SECRET_PATH);
    let a = root
        .submit(
            "/connections/new-feed",
            &[("url", &url), ("name", "Team days"), ("for", "bob@other")],
        )
        .await;
    assert!(
        a.text().contains("added ICS source team-days") && a.text().contains("tenant other"),
        "{}",
        a.text()
    );
    let conn = stored(&env, "team-days").expect("added");
    assert_eq!(conn.tenants, vec![TenantId::new("other").unwrap()]);
    // A tenant user's `for` is ignored: the connection is always theirs.
    let mut ann = Browser::signed_in(&env.base(), "ann@demo", "pw").await;
    let form = ann.get("/connections/new-feed").await.text();
    assert!(!form.contains(r#"name="for""#), "{form}");
    let a = ann
        .submit(
            "/connections/new-feed",
            &[("url", &url), ("name", "Ann days"), ("for", "bob@other")],
        )
        .await;
    assert!(a.text().contains("tenant demo"), "{}", a.text());
    let conn = stored(&env, "ann-days").expect("added");
    assert_eq!(conn.tenants, vec![TenantId::new("demo").unwrap()]);
}
