//! Migration tests: a store of each older layout opens at the current one.

use super::*;
use serde::Serialize;

#[derive(Serialize)]
enum OriginV1Out {
    #[allow(dead_code)]
    Local,
    System {
        connection: ConnectionId,
        href: Href,
        etag: Option<ETag>,
        pushed: Option<String>,
    },
}

#[derive(Serialize)]
struct ObjectV1Out {
    data: Vec<u8>,
    etag: ETag,
    index: ObjectIndex,
    origin: OriginV1Out,
    modified: i64,
}

fn v1(value: &impl Serialize) -> Vec<u8> {
    let mut out = vec![1u8];
    out.extend(postcard::to_stdvec(value).unwrap());
    out
}

#[derive(Serialize)]
struct UserV2Out {
    password_hash: String,
    display_name: String,
    timezone: String,
    privacy: Privacy,
    feed_token: Option<String>,
    addresses: Vec<String>,
}

fn at(version: u8, value: &impl Serialize) -> Vec<u8> {
    let mut out = vec![version];
    out.extend(postcard::to_stdvec(value).unwrap());
    out
}

#[test]
fn a_layout_2_store_gets_its_feed_tokens_out_of_the_clear() {
    let dir = tempfile::tempdir().unwrap();
    let token = "0123456789abcdef0123456789abcdef";
    {
        let db = sled::Config::new().path(dir.path()).open().unwrap();
        db.open_tree("meta")
            .unwrap()
            .insert(LAYOUT_KEY, &[2])
            .unwrap();
        let user = UserV2Out {
            password_hash: "phc".into(),
            display_name: "U".into(),
            timezone: "UTC".into(),
            privacy: Privacy::Busy,
            feed_token: Some(token.into()),
            addresses: vec!["mailto:u@example.org".into()],
        };
        db.open_tree("users")
            .unwrap()
            .insert(b"t\0u", at(2, &user))
            .unwrap();
        db.open_tree("feeds")
            .unwrap()
            .insert(token.as_bytes(), &b"t\0u"[..])
            .unwrap();
        db.open_tree("admins")
            .unwrap()
            .insert(b"root", at(2, &"phc".to_string()))
            .unwrap();
        db.flush().unwrap();
    }
    let store = super::super::Store::open(dir.path()).unwrap();
    let (t, u) = (
        crate::ids::TenantId::new("t").unwrap(),
        crate::ids::UserId::new("u").unwrap(),
    );
    let tok = FeedToken::new(token).unwrap();
    assert_eq!(
        store.feed_owner(&tok).unwrap(),
        Some(crate::ids::UserRef::new(&t, &u))
    );
    let rec = store.user(&t, &u).unwrap().unwrap();
    assert_eq!(rec.privacy, Privacy::Busy);
    assert_eq!(rec.addresses, vec!["mailto:u@example.org".to_string()]);
    let stored = rec.feed_token.unwrap();
    assert_eq!(store.open_feed_token(&stored).unwrap(), tok);
    // Nothing in the trees holds the token in clear any more.
    for tree in ["users", "feeds"] {
        for kv in store.db.open_tree(tree).unwrap().iter() {
            let (k, v) = kv.unwrap();
            for bytes in [k.as_ref(), v.as_ref()] {
                let clear = bytes.windows(token.len()).any(|w| w == token.as_bytes());
                assert!(!clear, "token in clear in {tree}");
            }
        }
    }
    assert_eq!(
        store
            .admin_hash(&crate::ids::UserId::new("root").unwrap())
            .unwrap()
            .as_deref(),
        Some("phc")
    );
    drop(store);
    // Opening again is a no-op.
    let again = super::super::Store::open(dir.path()).unwrap();
    assert_eq!(
        again.feed_owner(&tok).unwrap(),
        Some(crate::ids::UserRef::new(&t, &u))
    );
}

#[derive(Serialize)]
struct ConnectionV4Out {
    apple_id: String,
    sealed_password: Vec<u8>,
    upstream: String,
    home_url: Option<String>,
    tenants: Vec<TenantId>,
    state: ConnectionState,
    last_sync: Option<i64>,
    last_error: Option<String>,
    throttled_until: Option<i64>,
}

#[test]
fn a_layout_4_store_gets_connection_kinds_and_keeps_every_other_tree() {
    let dir = tempfile::tempdir().unwrap();
    let tenant = TenantId::new("t").unwrap();
    {
        let db = sled::Config::new().path(dir.path()).open().unwrap();
        let meta = db.open_tree("meta").unwrap();
        meta.insert(LAYOUT_KEY, &[4]).unwrap();
        meta.insert(super::super::index::WINDOW_KEY, at(4, &(10i64, 20i64)))
            .unwrap();
        let conn = ConnectionV4Out {
            apple_id: "ann@icloud.com".into(),
            sealed_password: vec![1, 2, 3],
            upstream: "https://caldav.icloud.com".into(),
            home_url: Some("https://p42-caldav.icloud.com/1/calendars/".into()),
            tenants: vec![tenant.clone()],
            state: ConnectionState::AuthFailed { since: 9 },
            last_sync: Some(8),
            last_error: Some("x".into()),
            throttled_until: None,
        };
        db.open_tree("connections")
            .unwrap()
            .insert(b"ann", at(4, &conn))
            .unwrap();
        db.open_tree("admins")
            .unwrap()
            .insert(b"root", at(4, &"phc".to_string()))
            .unwrap();
        // A tree this step does not name (added by another feature).
        db.open_tree("user_settings")
            .unwrap()
            .insert(b"t\0u", at(4, &7u32))
            .unwrap();
        // Raw values that happen to start with byte 4 are left alone.
        db.open_tree("bodies")
            .unwrap()
            .insert(b"k", &[4u8, 9, 9][..])
            .unwrap();
        db.flush().unwrap();
    }
    let store = super::super::Store::open(dir.path()).unwrap();
    let id = ConnectionId::new("ann").unwrap();
    let rec = store.connection(&id).unwrap().unwrap();
    assert_eq!(rec.source, SourceKind::CalDav);
    assert_eq!(rec.next_full_sync, None);
    assert_eq!(rec.apple_id, "ann@icloud.com");
    assert_eq!(rec.tenants, vec![tenant]);
    assert_eq!(rec.state, ConnectionState::AuthFailed { since: 9 });
    assert_eq!(rec.last_sync, Some(8));
    assert_eq!(
        store
            .admin_hash(&crate::ids::UserId::new("root").unwrap())
            .unwrap()
            .as_deref(),
        Some("phc")
    );
    let db = &store.db;
    let other = db.open_tree("user_settings").unwrap().get(b"t\0u").unwrap();
    let other: u32 = codec::decode("user_settings", &other.unwrap()).unwrap();
    assert_eq!(other, 7);
    let raw = db.open_tree("bodies").unwrap().get(b"k").unwrap().unwrap();
    assert_eq!(raw.as_ref(), &[4u8, 9, 9]);
    let w = db
        .open_tree("meta")
        .unwrap()
        .get(super::super::index::WINDOW_KEY)
        .unwrap()
        .unwrap();
    let w: (i64, i64) = codec::decode("meta", &w).unwrap();
    assert_eq!(w, (10, 20));
    drop(store);
    // Opening again is a no-op.
    let again = super::super::Store::open(dir.path()).unwrap();
    assert_eq!(again.connection(&id).unwrap().unwrap().last_sync, Some(8));
}

#[test]
fn a_layout_1_store_is_migrated_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let data = b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:m\r\nDTSTART:20260101T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n".to_vec();
    {
        let db = sled::Config::new().path(dir.path()).open().unwrap();
        let obj = ObjectV1Out {
            index: crate::ical::parse_lenient(&data).unwrap(),
            data: data.clone(),
            etag: ETag::new("e"),
            origin: OriginV1Out::System {
                connection: ConnectionId::new("c").unwrap(),
                href: Href::new("/c/m.ics"),
                etag: Some(ETag::new("up")),
                pushed: Some("h".into()),
            },
            modified: 7,
        };
        db.open_tree("objects")
            .unwrap()
            .insert(b"t\0u\0primary\0m.ics", v1(&obj))
            .unwrap();
        db.open_tree("admins")
            .unwrap()
            .insert(b"root", v1(&"phc".to_string()))
            .unwrap();
        db.flush().unwrap();
    }
    let store = super::super::Store::open(dir.path()).unwrap();
    let k = crate::ids::CollectionKey::new(
        &crate::ids::TenantId::new("t").unwrap(),
        &crate::ids::UserId::new("u").unwrap(),
        &crate::ids::CalendarId::new("primary").unwrap(),
    );
    let got = store
        .object(&k, &crate::ids::ObjectName::new("m.ics").unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(got.modified, 7);
    // Layout 4: the read path's rows were written by the migration.
    let name = crate::ids::ObjectName::new("m.ics").unwrap();
    assert!(store.derived(&k, &name).unwrap().is_some());
    assert!(store.parsed(&k, &name).unwrap().is_some());
    let jan = crate::ical::TimeRange {
        start: "2026-01-01T00:00:00Z".parse().unwrap(),
        end: "2026-01-02T00:00:00Z".parse().unwrap(),
    };
    assert_eq!(store.candidates(&k, jan).unwrap(), vec![name]);
    assert!(matches!(
        got.origin,
        Origin::System { delivered: Some(0), pushed: Some(ref p), .. } if p.as_str() == "h"
    ));
    assert_eq!(
        store
            .admin_hash(&crate::ids::UserId::new("root").unwrap())
            .unwrap()
            .as_deref(),
        Some("phc")
    );
}
