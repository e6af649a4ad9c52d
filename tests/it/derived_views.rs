//! Issue 9: derived views have one owner. A conflict user's writes (R7)
//! and a shared connection's sync (R8) reach every dependent user's
//! `availability/` and feed by the very next request; a refresh that fails
//! never fails the durable write and catches up later.

use calproxy::admin::{self, ConfigureArgs, FeedCommand, Request, UserArgs};
use calproxy::ids::{TenantId, UserId, UserRef};

use crate::support::client::DavClient;
use crate::support::env::TestEnv;
use crate::support::icloud::{self, admin_ok, configure_req, connect_req, Icloud};
use crate::support::ics;

const SYNC_EMPTY: &str = r#"<?xml version="1.0"?><d:sync-collection xmlns:d="DAV:"><d:sync-token/><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"#;

fn sync_from(token: &str) -> String {
    format!(
        r#"<?xml version="1.0"?><d:sync-collection xmlns:d="DAV:"><d:sync-token>{token}</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"#
    )
}

fn query_day(day: &str) -> String {
    format!(
        r#"<?xml version="1.0"?><c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/></d:prop><c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"><c:time-range start="{day}T000000Z" end="{day}T235959Z"/></c:comp-filter></c:comp-filter></c:filter></c:calendar-query>"#
    )
}

/// The name of the availability block for `[start, end)` (iCalendar UTC).
fn block(start: &str, end: &str) -> String {
    let t = |s: &str| {
        chrono::NaiveDateTime::parse_from_str(s, "%Y%m%dT%H%M%SZ")
            .unwrap()
            .and_utc()
            .timestamp()
    };
    format!("calproxy-busy-{}-{}.ics", t(start), t(end))
}

fn ics_names(hrefs: Vec<String>) -> Vec<String> {
    let mut v: Vec<String> = hrefs
        .into_iter()
        .filter(|h| h.ends_with(".ics"))
        .map(|h| h.rsplit('/').next().unwrap_or_default().to_string())
        .collect();
    v.sort();
    v
}

async fn listing(c: &DavClient, who: &str) -> Vec<String> {
    ics_names(
        c.propfind(&format!("/dav/demo/{who}/availability/"), "1", "")
            .await
            .status(207)
            .hrefs(),
    )
}

/// `(href, status)` rows of a sync-collection answer, and its new token.
async fn sync_rows(c: &DavClient, path: &str, body: &str) -> (Vec<(String, u16)>, String) {
    let ms = c.report(path, "1", body).await.status(207).multistatus();
    let rows = ms
        .responses
        .iter()
        .map(|r| {
            let status = match &r.body {
                calproxy::dav::ResponseBody::Status { status, .. } => *status,
                calproxy::dav::ResponseBody::PropStats(_) => 200,
            };
            (r.href.as_str().to_string(), status)
        })
        .collect();
    (
        rows,
        ms.sync_token.map(|t| t.to_string()).unwrap_or_default(),
    )
}

fn who(t: &str, u: &str) -> UserArgs {
    UserArgs {
        tenant: TenantId::new(t).unwrap(),
        user: UserId::new(u).unwrap(),
    }
}

async fn feed_of(env: &TestEnv, t: &str, u: &str) -> String {
    let r = admin::execute(&env.app, Request::Feed(FeedCommand::Show(who(t, u)))).await;
    assert!(r.ok, "{}", r.output);
    let path = r.output.trim().to_string();
    env.anonymous().get(&path).await.status(200).text()
}

async fn bob_follows_carol(env: &TestEnv) -> (DavClient, DavClient) {
    let bob = icloud::add_user(env, "demo", "bob");
    let carol = icloud::add_user(env, "demo", "carol");
    admin_ok(
        env,
        Request::Configure(ConfigureArgs {
            who: who("demo", "bob"),
            primary: None,
            conflicts: vec![],
            conflict_users: vec![UserId::new("carol").unwrap()],
            privacy: None,
            settings: Default::default(),
        }),
    )
    .await;
    (bob, carol)
}

#[tokio::test]
async fn issue_9_r7_conflict_users_writes_reach_the_dependent_view_at_once() {
    let env = TestEnv::start().await;
    let (bob, carol) = bob_follows_carol(&env).await;
    let avail = "/dav/demo/bob/availability/";
    let trip = "/dav/demo/carol/blocked/trip.ics";
    let (_, tok0) = sync_rows(&bob, avail, SYNC_EMPTY).await;
    assert!(listing(&bob, "bob").await.is_empty());

    // PUT: the next request of bob's sees the block, three ways and in the feed.
    let one = ("20261217T080000Z", "20261217T170000Z");
    carol
        .put(trip, &ics::event("carol-trip", one.0, one.1, "Trip"), &[])
        .await
        .status(201);
    assert_eq!(listing(&bob, "bob").await, vec![block(one.0, one.1)]);
    let q = bob
        .report(avail, "1", &query_day("20261217"))
        .await
        .status(207);
    assert_eq!(ics_names(q.hrefs()), vec![block(one.0, one.1)]);
    let (rows, tok1) = sync_rows(&bob, avail, &sync_from(&tok0)).await;
    assert_eq!(rows, vec![(format!("{avail}{}", block(one.0, one.1)), 200)]);
    let feed = feed_of(&env, "demo", "bob").await;
    assert!(feed.contains(&format!("DTSTART:{}", one.0)), "{feed}");

    // Update: the old block goes, the new one comes.
    let two = ("20261218T100000Z", "20261218T120000Z");
    carol
        .put(trip, &ics::event("carol-trip", two.0, two.1, "Trip"), &[])
        .await
        .status(204);
    assert_eq!(listing(&bob, "bob").await, vec![block(two.0, two.1)]);
    let (mut rows, tok2) = sync_rows(&bob, avail, &sync_from(&tok1)).await;
    rows.sort();
    assert_eq!(
        rows,
        vec![
            (format!("{avail}{}", block(one.0, one.1)), 404),
            (format!("{avail}{}", block(two.0, two.1)), 200),
        ]
    );
    let feed = feed_of(&env, "demo", "bob").await;
    assert!(
        feed.contains(&format!("DTSTART:{}", two.0)) && !feed.contains(one.0),
        "{feed}"
    );

    // DELETE: nothing is left.
    carol.delete(trip, &[]).await.status(204);
    assert!(listing(&bob, "bob").await.is_empty());
    let q = bob
        .report(avail, "1", &query_day("20261218"))
        .await
        .status(207);
    assert!(ics_names(q.hrefs()).is_empty());
    let (rows, _) = sync_rows(&bob, avail, &sync_from(&tok2)).await;
    assert_eq!(rows, vec![(format!("{avail}{}", block(two.0, two.1)), 404)]);
    assert!(!feed_of(&env, "demo", "bob").await.contains("BEGIN:VEVENT"));
}

#[tokio::test]
async fn issue_9_r8_a_shared_connections_sync_updates_both_tenants_views() {
    let ic = Icloud::start(true).await;
    let bob = icloud::add_user(&ic.env, "acme", "bob");
    admin_ok(
        &ic.env,
        connect_req(&ic.sim, "acme", "bob", icloud::PASSWORD),
    )
    .await;
    admin_ok(&ic.env, configure_req("acme", "bob", None, &["work"])).await;
    ic.sync().await;
    let (s, e) = ("20261222T130000Z", "20261222T150000Z");
    let b = block(s, e);
    assert!(!ics_names(
        ic.ann
            .propfind("/dav/demo/ann/availability/", "1", "")
            .await
            .hrefs()
    )
    .contains(&b));

    ic.sim.upsert_event(
        "work",
        "offsite.ics",
        &ics::event("offsite-r8", s, e, "Offsite"),
    );
    ic.sync().await;
    let ann = ics_names(
        ic.ann
            .propfind("/dav/demo/ann/availability/", "1", "")
            .await
            .status(207)
            .hrefs(),
    );
    let bobs = ics_names(
        bob.propfind("/dav/acme/bob/availability/", "1", "")
            .await
            .status(207)
            .hrefs(),
    );
    assert!(ann.contains(&b), "ann: {ann:?}");
    assert!(bobs.contains(&b), "bob: {bobs:?}");
    // And without any request: the views' worker brought both up to date.
    let stamp = |t: &str, u: &str| {
        ic.env
            .app
            .store
            .view_stamp(&UserRef::new(
                &TenantId::new(t).unwrap(),
                &UserId::new(u).unwrap(),
            ))
            .unwrap()
    };
    assert!(stamp("demo", "ann").is_some() && stamp("acme", "bob").is_some());
}

#[tokio::test]
async fn issue_9_a_failed_refresh_never_fails_the_write_and_catches_up() {
    let env = TestEnv::start().await;
    let (bob, carol) = bob_follows_carol(&env).await;
    let (s, e) = ("20261219T080000Z", "20261219T090000Z");
    env.app.views.inject_failures(u32::MAX);
    carol
        .put(
            "/dav/demo/carol/blocked/dentist.ics",
            &ics::event("carol-dentist", s, e, "Dentist"),
            &[],
        )
        .await
        .status(201);
    // Durable and readable; bob's view is stale, and says so.
    carol
        .get("/dav/demo/carol/blocked/dentist.ics")
        .await
        .status(200);
    assert!(listing(&bob, "bob").await.is_empty());
    let status = admin_ok(&env, Request::Status).await;
    assert!(status.contains("waiting for a retry"), "{status}");
    let metrics = env.anonymous().get("/metrics").await.status(200).text();
    let stale: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("calproxy_views_stale "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    assert!(stale >= 1, "bob's (and carol's) views wait: {metrics}");
    assert!(
        metrics.contains("calproxy_view_refreshes_total{outcome=\"failed\"}"),
        "{metrics}"
    );

    // The worker's retry catches up with no further request or change.
    env.app.views.inject_failures(0);
    let mut caught_up = false;
    for _ in 0..100 {
        if env.app.views.status().stale.is_empty() {
            caught_up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(caught_up, "{:?}", env.app.views.status());
    assert_eq!(listing(&bob, "bob").await, vec![block(s, e)]);
    let status = admin_ok(&env, Request::Status).await;
    assert!(status.contains("views: all current"), "{status}");

    // A failure again; this time the next change brings the view up to date.
    let failures = env.app.views.status().failures;
    env.app.views.inject_failures(1);
    carol
        .delete("/dav/demo/carol/blocked/dentist.ics", &[])
        .await
        .status(204);
    for _ in 0..100 {
        if env.app.views.status().failures > failures {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        env.app.views.status().failures > failures,
        "the injected failure happened"
    );
    carol
        .put(
            "/dav/demo/carol/blocked/gym.ics",
            &ics::event("carol-gym", "20261220T070000Z", "20261220T080000Z", "Gym"),
            &[],
        )
        .await
        .status(201);
    assert_eq!(
        listing(&bob, "bob").await,
        vec![block("20261220T070000Z", "20261220T080000Z")]
    );
}
