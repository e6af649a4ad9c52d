//! The upstream client and sync engine against real, standards-following
//! CalDAV servers (Radicale, Xandikos) started on 127.0.0.1: connect,
//! configure, initial sync, incremental sync (add, change, delete).

use calproxy::admin::{self, Request, WirePassword};
use calproxy::ids::{TenantId, UserId};
use calproxy::secret::Secret;

use crate::support::client::DavClient;
use crate::support::env::TestEnv;
use crate::support::{ics, peers};

const MKCAL: &str = r#"<?xml version="1.0" encoding="utf-8"?><c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop><d:displayname>NAME</d:displayname></d:prop></d:set></c:mkcalendar>"#;

async fn admin_ok(env: &TestEnv, req: Request) -> String {
    let r = admin::execute(&env.app, req).await;
    assert!(r.ok, "admin command failed:\n{}", r.output);
    r.output
}

/// Adds user `ann` (password `pw`) to the demo tenant and returns her client.
fn ann(env: &TestEnv) -> DavClient {
    calproxy::accounts::add_user(
        &env.app.store,
        &TenantId::new("demo").unwrap(),
        &UserId::new("ann").unwrap(),
        &Secret::new("pw".into()),
    )
    .unwrap();
    DavClient::new(env.base(), Some(("ann@demo", "pw")))
}

fn names(a: &crate::support::client::Answer) -> Vec<String> {
    let mut v: Vec<String> = a
        .hrefs()
        .into_iter()
        .filter(|h| h.ends_with(".ics"))
        .map(|h| h.rsplit('/').next().unwrap().to_string())
        .collect();
    v.sort();
    v
}

/// The shared scenario: `home` becomes ann's primary, `work` a conflict calendar.
async fn scenario(upstream_url: &str, user: &str, home: &str, work: &str) -> TestEnv {
    let up = DavClient::new(upstream_url.to_string(), Some((user, "pw")));
    for (path, name) in [(home, "Home"), (work, "Work")] {
        let a = up
            .request(
                "MKCALENDAR",
                path,
                &[("content-type", "application/xml")],
                MKCAL.replace("NAME", name),
            )
            .await;
        assert!(
            a.status.is_success() || a.status.as_u16() == 405,
            "mkcalendar {path}: {a:?}"
        );
    }
    up.put(
        &format!("{home}h1.ics"),
        &ics::event("h1", "20261201T090000Z", "20261201T100000Z", "Home one"),
        &[],
    )
    .await;
    up.put(
        &format!("{work}w1.ics"),
        &ics::event("w1", "20261202T090000Z", "20261202T100000Z", "Work one"),
        &[],
    )
    .await;
    up.put(
        &format!("{work}w2.ics"),
        &ics::event("w2", "20261203T090000Z", "20261203T100000Z", "Work two"),
        &[],
    )
    .await;

    let env = TestEnv::start().await;
    let c = ann(&env);
    let out = admin_ok(
        &env,
        Request::Connect(calproxy::admin::ConnectArgs {
            who: calproxy::admin::UserArgs {
                tenant: TenantId::new("demo").unwrap(),
                user: UserId::new("ann").unwrap(),
            },
            apple_id: user.into(),
            options: Default::default(),
            password: WirePassword::new(&Secret::new("pw".into())),
            upstream: upstream_url.into(),
            id: None,
        }),
    )
    .await;
    assert!(out.contains("Home") && out.contains("Work"), "{out}");
    let home_id = home
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let work_id = work
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    admin_ok(
        &env,
        Request::Configure(calproxy::admin::ConfigureArgs {
            who: calproxy::admin::UserArgs {
                tenant: TenantId::new("demo").unwrap(),
                user: UserId::new("ann").unwrap(),
            },
            primary: Some(home_id),
            conflicts: vec![work_id.clone()],
            conflict_users: vec![],
            privacy: None,
            settings: Default::default(),
        }),
    )
    .await;
    let out = admin_ok(&env, Request::Sync(Default::default())).await;
    assert!(out.contains("3 fetched"), "{out}");

    let prim = c
        .propfind("/dav/demo/ann/primary/", "1", "")
        .await
        .status(207);
    assert_eq!(names(&prim), vec!["h1.ics"]);
    let wpath = format!("/dav/demo/ann/{work_id}/");
    assert_eq!(
        names(&c.propfind(&wpath, "1", "").await.status(207)),
        vec!["w1.ics", "w2.ics"]
    );

    // Incremental: add, change, delete upstream.
    up.put(
        &format!("{work}w3.ics"),
        &ics::event("w3", "20261204T090000Z", "20261204T100000Z", "Work three"),
        &[],
    )
    .await;
    up.put(
        &format!("{work}w1.ics"),
        &ics::event(
            "w1",
            "20261202T090000Z",
            "20261202T110000Z",
            "Work one (longer)",
        ),
        &[],
    )
    .await;
    up.delete(&format!("{work}w2.ics"), &[]).await;
    let out = admin_ok(&env, Request::Sync(Default::default())).await;
    assert!(
        out.contains("2 fetched") && out.contains("1 removed"),
        "{out}"
    );
    assert_eq!(
        names(&c.propfind(&wpath, "1", "").await.status(207)),
        vec!["w1.ics", "w3.ics"]
    );
    let w1 = c.get(&format!("{wpath}w1.ics")).await.status(200).text();
    assert!(w1.contains("(longer)"), "{w1}");
    // R2: the copies are read-only.
    c.delete(&format!("{wpath}w1.ics"), &[]).await.status(403);
    // R9: the conflict calendar blocks availability.
    let fb = r#"<?xml version="1.0"?><c:free-busy-query xmlns:c="urn:ietf:params:xml:ns:caldav"><c:time-range start="20261201T000000Z" end="20261205T000000Z"/></c:free-busy-query>"#;
    let t = c
        .report("/dav/demo/ann/availability/", "1", fb)
        .await
        .status(200)
        .text();
    assert!(t.contains("20261204T090000Z/20261204T100000Z"), "{t}");
    assert!(t.contains("20261201T090000Z/20261201T100000Z"), "{t}");

    // An idle sync fetches nothing.
    let out = admin_ok(&env, Request::Sync(Default::default())).await;
    assert!(out.contains("0 calendars synced"), "{out}");
    env
}

/// R1 against a real server: a system event created in calproxy's primary
/// is PUT to the upstream calendar, updated, then deleted there.
async fn system_event_round_trip(env: &TestEnv, upstream_url: &str, user: &str, home: &str) {
    let up = DavClient::new(upstream_url.to_string(), Some((user, "pw")));
    let c = DavClient::new(env.base(), Some(("ann@demo", "pw")));
    let path = "/dav/demo/ann/primary/sys.ics";
    c.put(
        path,
        &ics::event(
            "sys-1",
            "20261205T090000Z",
            "20261205T100000Z",
            "System one",
        ),
        &[],
    )
    .await
    .status(201);
    let there = up.get(&format!("{home}sys-1.ics")).await.status(200).text();
    assert!(there.contains("System one"), "{there}");
    c.put(
        path,
        &ics::event(
            "sys-1",
            "20261205T090000Z",
            "20261205T103000Z",
            "System one longer",
        ),
        &[],
    )
    .await
    .status(204);
    let there = up.get(&format!("{home}sys-1.ics")).await.status(200).text();
    assert!(there.contains("longer"), "{there}");
    // A sync leaves it a writable system event (no duplicate, no read-only copy).
    admin_ok(env, Request::Sync(Default::default())).await;
    let names = names(
        &c.propfind("/dav/demo/ann/primary/", "1", "")
            .await
            .status(207),
    );
    assert_eq!(
        names.iter().filter(|n| n.contains("sys")).count(),
        1,
        "{names:?}"
    );
    c.delete(path, &[]).await.status(204);
    env.app.outbox.drain(true).await.unwrap();
    up.get(&format!("{home}sys-1.ics")).await.status(404);
}

#[tokio::test]
async fn radicale_connect_initial_and_incremental_sync() {
    let server = peers::radicale().await;
    let env = scenario(&server.url, "jane", "/jane/home/", "/jane/work/").await;
    system_event_round_trip(&env, &server.url, "jane", "/jane/home/").await;
}

#[tokio::test]
async fn xandikos_connect_initial_and_incremental_sync() {
    let server = peers::xandikos().await;
    let env = scenario(
        &server.url,
        "user",
        "/user/calendars/home/",
        "/user/calendars/work/",
    )
    .await;
    system_event_round_trip(&env, &server.url, "user", "/user/calendars/home/").await;
}
