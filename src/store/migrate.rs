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
//! | 2 → 3 | objects split into metadata, bytes, parsed tree, time answers and the time index (the read path, issue 10) |

use serde::Deserialize;

use super::codec::{self, VERSION};
use super::records::{ObjectRecord, Origin};
use super::{keys, Error, OutboxEntry, RemoteCalendarRecord, Result, Store};
use crate::ical::ObjectIndex;
use crate::ids::{CTag, ConnectionId, ContentHash, ETag, Href, SyncToken};

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

/// Brings `store` to [`VERSION`].
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
        let n = v2_to_v3(store)?;
        layout = 3;
        tracing::info!(objects = n, "store layout migrated from 2 to 3 (read path)");
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

fn body_of<'a>(tree: &'static str, v: &'a [u8], from: u8) -> Result<Option<&'a [u8]>> {
    match v.split_first() {
        Some((&b, body)) if b == from => Ok(Some(body)),
        Some((&b, _)) if b > from => Ok(None), // already migrated
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

/// Layout 2 kept each object whole in `objects`; layout 3 writes its rows
/// for the read path (parsed and expanded once, here).
fn v2_to_v3(store: &Store) -> Result<u64> {
    bump(&store.db, SAME_SHAPE_2_3, 2)?;
    let mut n = 0;
    for kv in store.objects.iter() {
        let (k, v) = kv?;
        let Some(body) = body_of("objects", &v, 2)? else {
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
        cals.insert(k, codec::encode(&rec)?)?;
    }
    let outbox = db.open_tree("outbox")?;
    let index = db.open_tree("outbox_objects")?;
    for kv in outbox.iter() {
        let (k, v) = kv?;
        let id = <[u8; 8]>::try_from(k.as_ref())
            .map(u64::from_be_bytes)
            .map_err(|_| Error::BadKey { tree: "outbox" })?;
        let e: OutboxEntry = codec::decode("outbox", &v)?;
        index.insert(keys::outbox_object_entry(&e.connection, &e.href, id), &[])?;
    }
    Ok(())
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
        // Layout 3: the read path's rows were written by the migration.
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
