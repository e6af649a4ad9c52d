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
//! | 4 → 5 | connections gain what they read (`SourceKind`: CalDAV or an ICS feed) and when their next full reconciliation is due (issue 13) |
//!
//! A step writes the values it rewrites at its own target layout
//! (`codec::encode_as`), so the next step still sees them as its input.
//! From 4 → 5 on, a step bumps every tree except those listed in
//! [`RAW_TREES`] (their values are not `codec` values), so a tree added
//! since (every new tree stores `codec` values) is carried along without
//! being named here.

use serde::Deserialize;

use super::codec::{self, VERSION};
use super::records::{ObjectRecord, Origin, Privacy, UserRecord};
use super::{
    keys, seal_token, ConnectionRecord, ConnectionState, Error, OutboxEntry, RemoteCalendarRecord,
    Result, SourceKind, Store,
};
use crate::ical::ObjectIndex;
use crate::ids::{CTag, ConnectionId, ContentHash, ETag, FeedToken, Href, SyncToken, TenantId};

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

/// Trees whose values are not `codec` values (raw bytes, names, empty
/// markers, JSON): never bumped. `meta` holds the layout byte and one
/// `codec` value, `derive_window`, which [`v4_to_v5`] bumps by name.
const RAW_TREES: &[&str] = &[
    "__sled__default",
    "meta",
    "bodies",
    "times",
    "uids",
    "feeds",
    "outbox_objects",
    "traffic",
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
    if layout == 4 {
        let n = v4_to_v5(db)?;
        layout = 5;
        tracing::info!(
            connections = n,
            "store layout migrated from 4 to 5 (ICS sources, full reconciliation)"
        );
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

/// `ConnectionRecord` of layouts 1–4.
#[derive(Deserialize)]
struct ConnectionRecordV4 {
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

/// Layout 4 knew CalDAV connections only; layout 5 records what a
/// connection reads and when its next full reconciliation is due (the
/// next sync schedules one). Every other tree keeps its shape.
fn v4_to_v5(db: &sled::Db) -> Result<u64> {
    let connections = db.open_tree("connections")?;
    let mut n = 0;
    for kv in connections.iter() {
        let (k, v) = kv?;
        let Some(body) = body_of("connections", &v, 4)? else {
            continue;
        };
        let old: ConnectionRecordV4 = codec::decode_body("connections", body)?;
        let rec = ConnectionRecord {
            apple_id: old.apple_id,
            sealed_password: old.sealed_password,
            upstream: old.upstream,
            home_url: old.home_url,
            tenants: old.tenants,
            state: old.state,
            last_sync: old.last_sync,
            last_error: old.last_error,
            throttled_until: old.throttled_until,
            source: SourceKind::CalDav,
            next_full_sync: None,
        };
        connections.insert(k, codec::encode_as(5, &rec)?)?;
        n += 1;
    }
    let mut same: Vec<String> = Vec::new();
    for name in db.tree_names() {
        let name = String::from_utf8_lossy(&name).into_owned();
        if name != "connections" && !RAW_TREES.contains(&name.as_str()) {
            same.push(name);
        }
    }
    let same: Vec<&str> = same.iter().map(String::as_str).collect();
    bump(db, &same, 4)?;
    let meta = db.open_tree("meta")?;
    if let Some(v) = meta.get(super::index::WINDOW_KEY)? {
        if v.first() == Some(&4) {
            let mut nv = v.to_vec();
            nv[0] = 5;
            meta.insert(super::index::WINDOW_KEY, nv)?;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests;
