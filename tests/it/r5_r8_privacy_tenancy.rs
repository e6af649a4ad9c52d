//! R5 (no contacts, privacy levels), R7 (conflict users), R8 (one
//! connection, several tenants: fetched once, each sees its own choices).

use calproxy::admin::Request;
use calproxy::ids::{CalendarId, ConnectionId, TenantId, UserId};
use calproxy::store::Privacy;

use crate::support::icloud::{self, admin_ok, configure_req, connect_req, Icloud};
use crate::support::ics;

const MEETING: &str = "/dav/demo/ann/primary/A4C2E6F8-1B3D-4F5A-8C7E-9D0B1A2C3E4F.ics";

fn privacy(level: Privacy) -> Request {
    Request::Configure(calproxy::admin::ConfigureArgs {
        who: calproxy::admin::UserArgs {
            tenant: TenantId::new("demo").unwrap(),
            user: UserId::new("ann").unwrap(),
        },
        primary: Some("home".into()),
        conflicts: vec!["work".into()],
        conflict_users: vec![],
        privacy: Some(level),
        settings: Default::default(),
    })
}

#[tokio::test]
async fn r5_inbound_events_lose_attendees_organizer_alarms() {
    let ic = Icloud::start(true).await;
    let t = ic.ann.get(MEETING).await.status(200).text();
    for gone in ["ATTENDEE", "ORGANIZER", "BEGIN:VALARM", "ATTACH"] {
        assert!(!t.contains(gone), "{gone} survived:\n{t}");
    }
    // Default privacy "summary": the title stays, description and location do not.
    assert!(t.contains("SUMMARY:Parents evening"), "{t}");
    assert!(
        !t.contains("\nDESCRIPTION") && !t.contains("\nLOCATION"),
        "{t}"
    );
    // The raw iCloud bytes are kept for debugging, never served.
    let raw = ic
        .env
        .app
        .store
        .remote_objects(
            &ConnectionId::new("icloud").unwrap(),
            &CalendarId::new("home").unwrap(),
        )
        .unwrap();
    assert!(raw
        .iter()
        .any(|(_, o)| String::from_utf8_lossy(&o.data).contains("ATTENDEE")));
}

#[tokio::test]
async fn r5_privacy_levels_full_and_busy() {
    let ic = Icloud::start(true).await;
    admin_ok(&ic.env, privacy(Privacy::Busy)).await;
    let t = ic.ann.get(MEETING).await.status(200).text();
    assert!(
        t.contains("SUMMARY:Busy") && !t.contains("Parents evening"),
        "{t}"
    );
    admin_ok(&ic.env, privacy(Privacy::Full)).await;
    let t = ic.ann.get(MEETING).await.status(200).text();
    assert!(
        t.contains("Parents evening") && t.contains("LOCATION:Grundschule"),
        "{t}"
    );
    assert!(!t.contains("ATTENDEE"), "R5 holds at every level:\n{t}");
}

#[tokio::test]
async fn r8_one_connection_two_tenants_synced_once_each_sees_its_own() {
    let ic = Icloud::start(true).await;
    let bob = icloud::add_user(&ic.env, "acme", "bob");
    admin_ok(
        &ic.env,
        connect_req(&ic.sim, "acme", "bob", icloud::PASSWORD),
    )
    .await;
    admin_ok(&ic.env, configure_req("acme", "bob", None, &["Family"])).await;
    // One connection record, attached to both tenants.
    let conns = ic.env.app.store.connections().unwrap();
    assert_eq!(conns.len(), 1, "{conns:?}");
    assert_eq!(conns[0].1.tenants.len(), 2);
    ic.sim.upsert_event(
        "home",
        "r8.ics",
        &ics::event("r8", "20261216T100000Z", "20261216T110000Z", "R8"),
    );
    ic.sim.clear_requests();
    ic.sync().await;
    let home_listings = ic
        .sim
        .requests()
        .iter()
        .filter(|r| {
            r.method == "PROPFIND"
                && r.depth.as_deref() == Some("1")
                && r.path.ends_with("/calendars/")
        })
        .count();
    assert_eq!(
        home_listings,
        1,
        "the shared connection is fetched once: {:#?}",
        ic.sim.requests()
    );
    // bob sees Family, not ann's calendars; ann does not see Family.
    let hrefs = bob
        .propfind("/dav/acme/bob/", "1", "")
        .await
        .status(207)
        .hrefs();
    assert!(hrefs.iter().any(|h| h.contains("6E1B2C3D")), "{hrefs:?}");
    assert!(!hrefs.iter().any(|h| h.ends_with("/work/")), "{hrefs:?}");
    assert!(ic.names("primary").await.contains(&"r8.ics".to_string()));
    let bob_primary = bob
        .propfind("/dav/acme/bob/primary/", "1", "")
        .await
        .status(207)
        .hrefs();
    assert!(
        !bob_primary.iter().any(|h| h.ends_with(".ics")),
        "{bob_primary:?}"
    );
    let ann_home = ic
        .ann
        .propfind("/dav/demo/ann/", "1", "")
        .await
        .status(207)
        .hrefs();
    assert!(
        !ann_home.iter().any(|h| h.contains("6E1B2C3D")),
        "{ann_home:?}"
    );
    bob.propfind("/dav/demo/ann/primary/", "0", "")
        .await
        .status(404);
}

#[tokio::test]
async fn r7_another_user_of_the_tenant_as_conflict_source() {
    let ic = Icloud::start(true).await;
    let carl = icloud::add_user(&ic.env, "demo", "carl");
    carl.put(
        "/dav/demo/carl/blocked/trip.ics",
        &ics::event("carl-trip", "20261217T080000Z", "20261217T170000Z", "Trip"),
        &[],
    )
    .await
    .status(201);
    admin_ok(
        &ic.env,
        Request::Configure(calproxy::admin::ConfigureArgs {
            who: calproxy::admin::UserArgs {
                tenant: TenantId::new("demo").unwrap(),
                user: UserId::new("ann").unwrap(),
            },
            primary: Some("home".into()),
            conflicts: vec!["work".into()],
            conflict_users: vec![UserId::new("carl").unwrap()],
            privacy: None,
            settings: Default::default(),
        }),
    )
    .await;
    let fb = r#"<?xml version="1.0"?><c:free-busy-query xmlns:c="urn:ietf:params:xml:ns:caldav"><c:time-range start="20261217T000000Z" end="20261218T000000Z"/></c:free-busy-query>"#;
    let t = ic
        .ann
        .report("/dav/demo/ann/availability/", "1", fb)
        .await
        .status(200)
        .text();
    assert!(t.contains("20261217T080000Z/20261217T170000Z"), "{t}");
    // Not another tenant's user.
    icloud::add_user(&ic.env, "acme", "dave");
    let r = icloud::admin(
        &ic.env,
        Request::Configure(calproxy::admin::ConfigureArgs {
            who: calproxy::admin::UserArgs {
                tenant: TenantId::new("demo").unwrap(),
                user: UserId::new("ann").unwrap(),
            },
            primary: None,
            conflicts: vec![],
            conflict_users: vec![UserId::new("dave").unwrap()],
            privacy: None,
            settings: Default::default(),
        }),
    )
    .await;
    assert!(!r.ok, "{}", r.output);
}

#[tokio::test]
async fn r7_dropping_a_conflict_calendar_removes_its_copy_and_busy_time() {
    let ic = Icloud::start(true).await;
    let fb = r#"<?xml version="1.0"?><c:free-busy-query xmlns:c="urn:ietf:params:xml:ns:caldav"><c:time-range start="20261201T000000Z" end="20261202T000000Z"/></c:free-busy-query>"#;
    let before = ic
        .ann
        .report("/dav/demo/ann/availability/", "1", fb)
        .await
        .status(200)
        .text();
    assert!(
        before.contains("20261201T200000Z/20261201T210000Z"),
        "Work's weekly review: {before}"
    );
    let out = admin_ok(&ic.env, configure_req("demo", "ann", Some("home"), &[])).await;
    assert!(out.contains("removed conflict calendar"), "{out}");
    ic.ann
        .propfind("/dav/demo/ann/work/", "0", "")
        .await
        .status(404);
    let after = ic
        .ann
        .report("/dav/demo/ann/availability/", "1", fb)
        .await
        .status(200)
        .text();
    assert!(!after.contains("20261201T200000Z"), "{after}");
    // A later sync does not bring it back.
    ic.sync().await;
    ic.ann
        .propfind("/dav/demo/ann/work/", "0", "")
        .await
        .status(404);
}
