//! Layout migrations, run by `Store::open` before anything else reads.
//!
//! The `meta` tree holds the layout version of the whole store. A store
//! without it is either new (written at the current version) or from
//! before the version was recorded (layout 1, recognised by the version
//! byte of its values). Each step rewrites every value of the trees whose
//! shape changed, decoding with the old shape kept here, and bumps the
//! version byte of the others; it is idempotent, so a crash half-way just
//! runs it again.
//!
//! | layout | change |
//! | --- | --- |
//! | 1 → 2 | `Origin::System` gains `delivered`; remote calendars gain `listed_at`; the outbox gets its per-object index |
//! | 2 → 3 | feed tokens leave the clear (issue 12 #4): `UserRecord::feed_token` is sealed with its digest, and `feeds` is keyed by the digest |
//! | 3 → 4 | objects split into metadata, bytes, parsed tree, time answers and the time index (the read path, issue 10) |
//!
//! A step writes the values it rewrites at its own target layout
//! (`codec::encode_as`), so the next step still sees them as its input.

use serde::Deserialize;

use super::codec::{self, VERSION};
use super::records::{ObjectRecord, Origin, Privacy, UserRecord};
use super::{keys, seal_token, Error, OutboxEntry, RemoteCalendarRecord, Result, Store};
use crate::ical::ObjectIndex;
use crate::ids::{CTag, ConnectionId, ContentHash, ETag, FeedToken, Href, SyncToken};

const LAYOUT_KEY: &[u8] = b"layout";

/// Trees whose values are `codec` values of an unchanged shape in 1 → 2.
const SAME_SHAPE_1_2: &[&str] = &[
    "tenants",
    "users",
    "collections",
    "changes",
    "connections",
    "remote_objs",
    "links",
    "outbox",
    "admins",
];

/// Trees whose values are `codec` values of an unchanged shape in 2 → 3.
const SAME_SHAPE_2_3: &[&str] = &[
    "tenants",
    "collections",
    "objects",
    "changes",
    "connections",
    "remote_cals",
    "remote_objs",
    "links",
    "outbox",
    "views",
    "admins",
];

/// Trees whose values are `codec` values of an unchanged shape in 3 → 4.
const SAME_SHAPE_3_4: &[&str] = &[
    "tenants",
    "users",
    "collections",
    "changes",
    "connections",
    "remote_cals",
    "remote_objs",
    "links",
    "outbox",
    "admins",
    "views",
];

/// Brings `store` to [`VERSION`] (its sealer seals what leaves the clear).
pub(super) fn run(store: &Store) -> Result<()> {
    let db = &store.db;
    let meta = db.open_tree("meta")?;
    let mut layout = match meta.get(LAYOUT_KEY)? {
        Some(v) => v.first().copied().unwrap_or(0),
        None => detect(db)?,
    };
    if layout > VERSION {
        return Err(Error::UnknownVersion {
            tree: "meta",
            found: layout,
        });
    }
    if layout == 1 {
        v1_to_v2(db)?;
        layout = 2;
        tracing::info!("store layout migrated from 1 to 2");
    }
    if layout == 2 {
        v2_to_v3(db, &store.sealer)?;
        layout = 3;
        tracing::info!("store layout migrated from 2 to 3");
    }
    if layout == 3 {
        let n = v3_to_v4(store)?;
        layout = 4;
        tracing::info!(objects = n, "store layout migrated from 3 to 4 (read path)");
    }
    meta.insert(LAYOUT_KEY, &[layout])?;
    db.flush()?;
    Ok(())
}

/// The layout of a store without a `meta` record: 1 when any value carries
/// version byte 1, else (a new store) the current one.
fn detect(db: &sled::Db) -> Result<u8> {
    for name in ["tenants", "users", "collections", "objects", "connections"] {
        if let Some((_, v)) = db.open_tree(name)?.first()? {
            return Ok(v.first().copied().unwrap_or(VERSION));
        }
    }
    Ok(VERSION)
}

#[derive(Deserialize)]
enum OriginV1 {
    Local,
    System {
        connection: ConnectionId,
        href: Href,
        etag: Option<ETag>,
        pushed: Option<String>,
    },
    Upstream {
        connection: ConnectionId,
        href: Href,
        etag: ETag,
    },
}

#[derive(Deserialize)]
struct ObjectRecordV1 {
    data: Vec<u8>,
    etag: ETag,
    index: ObjectIndex,
    origin: OriginV1,
    modified: i64,
}

#[derive(Deserialize)]
struct RemoteCalendarRecordV1 {
    href: Href,
    displayname: String,
    color: Option<String>,
    kind: super::RemoteKind,
    shared: bool,
    read_only: bool,
    synced_ctag: Option<String>,
    sync_token: Option<String>,
}

/// The body of a value still at layout `from`; `None` for one a step
/// already rewrote (a later layout this build knows).
fn body_of<'a>(tree: &'static str, v: &'a [u8], from: u8) -> Result<Option<&'a [u8]>> {
    match v.split_first() {
        Some((&b, body)) if b == from => Ok(Some(body)),
        Some((&b, _)) if b > from && b <= VERSION => Ok(None), // already migrated
        Some((&found, _)) => Err(Error::UnknownVersion { tree, found }),
        None => Err(Error::UnknownVersion { tree, found: 0 }),
    }
}

/// Rewrites the version byte `from` to `from + 1` in trees of the same shape.
fn bump(db: &sled::Db, trees: &[&str], from: u8) -> Result<()> {
    for name in trees {
        let tree = db.open_tree(name)?;
        for kv in tree.iter() {
            let (k, v) = kv?;
            if v.first() == Some(&from) {
                let mut nv = v.to_vec();
                nv[0] = from + 1;
                tree.insert(k, nv)?;
            }
        }
    }
    Ok(())
}

fn v1_to_v2(db: &sled::Db) -> Result<()> {
    bump(db, SAME_SHAPE_1_2, 1)?;
    let objects = db.open_tree("objects")?;
    for kv in objects.iter() {
        let (k, v) = kv?;
        let Some(body) = body_of("objects", &v, 1)? else {
            continue;
        };
        let old: ObjectRecordV1 = codec::decode_body("objects", body)?;
        let origin = match old.origin {
            OriginV1::Local => Origin::Local,
            OriginV1::System {
                connection,
                href,
                etag,
                pushed,
            } => Origin::System {
                // Delivered before any listing taken from now on.
                delivered: etag.as_ref().map(|_| 0),
                connection,
                href,
                etag,
                pushed: pushed.map(ContentHash::new),
            },
            OriginV1::Upstream {
                connection,
                href,
                etag,
            } => Origin::Upstream {
                connection,
                href,
                etag,
            },
        };
        let rec = ObjectRecord {
            data: old.data,
            etag: old.etag,
            index: old.index,
            origin,
            modified: old.modified,
        };
        objects.insert(k, codec::encode_as(2, &rec)?)?;
    }
    let cals = db.open_tree("remote_cals")?;
    for kv in cals.iter() {
        let (k, v) = kv?;
        let Some(body) = body_of("remote_cals", &v, 1)? else {
            continue;
        };
        let old: RemoteCalendarRecordV1 = codec::decode_body("remote_cals", body)?;
        let rec = RemoteCalendarRecord {
            href: old.href,
            displayname: old.displayname,
            color: old.color,
            kind: old.kind,
            shared: old.shared,
            read_only: old.read_only,
            synced_ctag: old.synced_ctag.map(CTag::new),
            sync_token: old.sync_token.map(SyncToken::new),
            listed_at: None,
        };
        cals.insert(k, codec::encode_as(2, &rec)?)?;
    }
    let outbox = db.open_tree("outbox")?;
    let index = db.open_tree("outbox_objects")?;
    for kv in outbox.iter() {
        let (k, v) = kv?;
        let id = <[u8; 8]>::try_from(k.as_ref())
            .map(u64::from_be_bytes)
            .map_err(|_| Error::BadKey { tree: "outbox" })?;
        // Unchanged shape since layout 1; the byte says 2 or later by now.
        let body = v.get(1..).ok_or(Error::UnknownVersion {
            tree: "outbox",
            found: 0,
        })?;
        let e: OutboxEntry = codec::decode_body("outbox", body)?;
        index.insert(keys::outbox_object_entry(&e.connection, &e.href, id), &[])?;
    }
    Ok(())
}

/// `UserRecord` of layout 2: the feed token in clear.
#[derive(Deserialize)]
struct UserRecordV2 {
    password_hash: String,
    display_name: String,
    timezone: String,
    privacy: Privacy,
    feed_token: Option<FeedToken>,
    addresses: Vec<String>,
}

fn v2_to_v3(db: &sled::Db, sealer: &super::Sealer) -> Result<()> {
    bump(db, SAME_SHAPE_2_3, 2)?;
    let users = db.open_tree("users")?;
    let feeds = db.open_tree("feeds")?;
    for kv in users.iter() {
        let (k, v) = kv?;
        let Some(body) = body_of("users", &v, 2)? else {
            continue;
        };
        let old: UserRecordV2 = codec::decode_body("users", body)?;
        let sealed = old
            .feed_token
            .as_ref()
            .map(|t| seal_token(sealer, t))
            .transpose()?;
        if let (Some(t), Some(s)) = (&old.feed_token, &sealed) {
            feeds.insert(&s.digest[..], k.as_ref())?;
            feeds.remove(t.expose().as_bytes())?;
        }
        let rec = UserRecord {
            password_hash: old.password_hash,
            display_name: old.display_name,
            timezone: old.timezone,
            privacy: old.privacy,
            feed_token: sealed,
            addresses: old.addresses,
        };
        users.insert(k, codec::encode_as(3, &rec)?)?;
    }
    // Any token left in clear (a stale index entry) goes: digests are 32 bytes.
    for k in feeds.iter().keys() {
        let k = k?;
        if k.len() != 32 {
            feeds.remove(k)?;
        }
    }
    Ok(())
}

/// Layout 3 kept each object whole in `objects`; layout 4 writes its rows
/// for the read path (parsed and expanded once, here).
fn v3_to_v4(store: &Store) -> Result<u64> {
    bump(&store.db, SAME_SHAPE_3_4, 3)?;
    let mut n = 0;
    for kv in store.objects.iter() {
        let (k, v) = kv?;
        let Some(body) = body_of("objects", &v, 3)? else {
            continue;
        };
        let rec: ObjectRecord = codec::decode_body("objects", body)?;
        let (key, name) = keys::parse_object(&k).ok_or(Error::BadKey { tree: "objects" })?;
        let prepared = store.prepare(&key, &rec)?;
        store.write_rows(&key, &name, &prepared)?;
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
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
}
