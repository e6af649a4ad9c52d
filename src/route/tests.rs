//! Route unit tests: every route round-trips through its href, the console
//! shares `/` with the DAV root, bad paths have no route.

use super::*;
use crate::ids::ConnectionId;

fn key(c: &str) -> CollectionKey {
    CollectionKey::new(
        &TenantId::new("t").unwrap(),
        &UserId::new("u").unwrap(),
        &CalendarId::new(c).unwrap(),
    )
}

fn all() -> Vec<Route> {
    let u = UserRef::new(&TenantId::new("t").unwrap(), &UserId::new("u").unwrap());
    vec![
        Route::WellKnown,
        Route::Root,
        Route::Home(u.clone()),
        Route::Collection(key("primary")),
        Route::Object {
            collection: key("primary"),
            name: ObjectName::new("a b@c%d?.ics").unwrap(),
        },
        Route::Below {
            collection: key("primary"),
            path: vec![ObjectName::new("sub").unwrap()],
            slash: true,
        },
        Route::Below {
            collection: key("primary"),
            path: vec![
                ObjectName::new("a b").unwrap(),
                ObjectName::new("c.ics").unwrap(),
            ],
            slash: false,
        },
        Route::Feed(FeedToken::new("abc123").unwrap()),
        Route::DebugHar,
        Route::BusyApi(u.clone()),
        Route::SlotsApi(u),
        Route::Health,
        Route::Metrics,
        Route::Console(Page::Home),
        Route::Console(Page::SignIn),
        Route::Console(Page::SignOut),
        Route::Console(Page::Connections),
        Route::Console(Page::AddConnection),
        Route::Console(Page::AddFeed),
        Route::Console(Page::Progress),
        Route::Console(Page::Connection {
            id: ConnectionId::new("icloud").unwrap(),
            action: ConnectionAction::Sync,
        }),
        Route::Console(Page::Connection {
            id: ConnectionId::new("ann-2").unwrap(),
            action: ConnectionAction::Password,
        }),
        Route::Console(Page::Connection {
            id: ConnectionId::new("x").unwrap(),
            action: ConnectionAction::Remove,
        }),
        Route::Console(Page::Calendars),
        Route::Console(Page::Availability),
        Route::Console(Page::Feed),
        Route::Console(Page::Traffic),
        Route::Console(Page::TrafficRows),
        Route::Console(Page::TrafficEntry(42)),
        Route::Console(Page::TrafficHar),
        Route::Console(Page::Status),
        Route::Console(Page::Asset(Asset::Css)),
        Route::Console(Page::Asset(Asset::Js)),
    ]
}

#[test]
fn every_route_round_trips_through_its_href() {
    for r in all() {
        let h = r.href();
        assert_eq!(Route::parse(h.as_str()), Some(r.clone()), "{h}");
    }
}

#[test]
fn console_home_is_slash_and_dav_methods_there_are_the_root() {
    assert_eq!(page(&Page::Home).as_str(), "/");
    for m in ["GET", "HEAD", "POST"] {
        let m = http::Method::from_bytes(m.as_bytes()).unwrap();
        assert_eq!(
            Route::parse_request("/", &m),
            Some(Route::Console(Page::Home))
        );
    }
    for m in ["PROPFIND", "OPTIONS", "REPORT", "PUT"] {
        let m = http::Method::from_bytes(m.as_bytes()).unwrap();
        assert_eq!(Route::parse_request("/", &m), Some(Route::Root), "{m}");
    }
    // Only `/` is shared: other console pages stay console pages.
    assert_eq!(
        Route::parse_request("/status", &http::Method::from_bytes(b"PROPFIND").unwrap()),
        Some(Route::Console(Page::Status))
    );
    assert_eq!(Route::Console(Page::Home).access(), Access::Session);
}

#[test]
fn layout_paths() {
    assert_eq!(Route::parse("/"), Some(Route::Console(Page::Home)));
    assert_eq!(Route::parse("/dav"), Some(Route::Root));
    assert_eq!(root().as_str(), "/dav/");
    assert_eq!(collection(&key("primary")).as_str(), "/dav/t/u/primary/");
    assert!(matches!(
        Route::parse("/dav/t/u/primary"),
        Some(Route::Collection(_))
    ));
    let n = ObjectName::new("a b@c.ics").unwrap();
    assert_eq!(
        object(&key("primary"), &n).as_str(),
        "/dav/t/u/primary/a%20b@c.ics"
    );
    // Below a calendar: a would-be collection, or anything deeper.
    for (p, depth, slash) in [
        ("/dav/t/u/primary/a.ics/", 1, true),
        ("/dav/t/u/primary/a/b", 2, false),
        ("/dav/t/u/nosuch/a/b/", 2, true),
    ] {
        match Route::parse(p) {
            Some(Route::Below { path, slash: s, .. }) => {
                assert_eq!((path.len(), s), (depth, slash), "{p}")
            }
            other => panic!("{p}: {other:?}"),
        }
    }
}

#[test]
fn bad_paths_have_no_route() {
    for p in [
        "",
        "//",
        "/dav/demo/demo/primary/a/../b",
        "/dav/../x/",
        "/dav/a%2Fb/u/",
        "/dav/t/u/c/%FF.ics",
        "/api/t/u/busy/",
        "/api/t/u/slots/",
        "/nope",
        "/status/",
        "/traffic/x1",
        "/connections/icloud/explode",
        "/assets/evil.js",
    ] {
        assert_eq!(Route::parse(p), None, "{p}");
    }
}

#[test]
fn client_hrefs_resolve_to_objects_of_one_collection() {
    let n = ObjectName::new("a b@c.ics").unwrap();
    let h = object(&key("primary"), &n);
    assert_eq!(object_in(&key("primary"), &h), Some(n.clone()));
    let abs = Href::new(format!("http://localhost:5233{h}"));
    assert_eq!(object_in(&key("primary"), &abs), Some(n.clone()));
    // Another encoding of the same name.
    let other = Href::new("/dav/t/u/primary/a%20b%40c.ics");
    assert_eq!(object_in(&key("primary"), &other), Some(n));
    for foreign in [
        "/dav/t/u/blocked/x.ics",
        "/dav/t/u/primary/",
        "/dav/t/u/primary/a/b",
    ] {
        assert_eq!(object_in(&key("primary"), &Href::new(foreign)), None);
    }
}
