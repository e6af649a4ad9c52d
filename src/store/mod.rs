//! STORE: sled trees behind a typed API.
//!
//! The only code that knows key layouts (`keys`) and value encodings
//! (`codec`, migrated by `migrate`). Callers see tenants, users,
//! collections, calendar objects and per-collection change logs (ctag and
//! RFC 6578 sync tokens), connections and links, the outbox and recorded
//! traffic. Writes that touch several trees run in one sled transaction;
//! `flush` makes them durable before a client is told 2xx (R10). Every
//! committed change is announced on the change feed (`changes`), which the
//! derived views consume.
//!
//! | tree | key | value |
//! | --- | --- | --- |
//! | `tenants` | tenant | [`TenantRecord`] |
//! | `users` | tenant ∅ user | [`UserRecord`] |
//! | `user_settings` | tenant ∅ user | [`UserSettings`]: busy rules, buffers, working hours, feed opt-in (absent: the defaults) |
//! | `collections` | tenant ∅ user ∅ calendar | [`CollectionRecord`] |
//! | `objects` | collection ∅ name | [`ObjectMeta`] |
//! | `bodies` | collection ∅ name | the object's bytes, as stored and served |
//! | `parsed` | collection ∅ name | its parsed component tree (`ical::ParsedTree`) |
//! | `derived` | collection ∅ name | its time answers (`ical::Derived`) for the derive window |
//! | `busy` | collection | [`BusySnapshot`]: its merged busy time as last computed (a hint for a cold cache) |
//! | `times` | collection ∅ week (BE u32) ∅ name | (empty): the time index (see `rows`) |
//! | `uids` | collection ∅ uid | object name |
//! | `changes` | collection ∅ seq (BE) | [`ChangeRecord`] |
//! | `feeds` | SHA-256 of a feed token | tenant ∅ user (the token itself is sealed in the [`UserRecord`]) |
//! | `connections` | connection | [`ConnectionRecord`] |
//! | `remote_cals` | connection ∅ calendar | [`RemoteCalendarRecord`] |
//! | `remote_objs` | connection ∅ calendar ∅ href | [`RemoteObject`] |
//! | `held` | connection ∅ calendar | [`HeldDeletions`]: deletions a sync held back (safe sync) |
//! | `links` | tenant ∅ user | [`UserLinks`] |
//! | `outbox` | queue id (BE) | [`OutboxEntry`] |
//! | `outbox_objects` | connection ∅ href ∅ queue id (BE) | (empty): pending entries per upstream object |
//! | `views` | tenant ∅ user | [`ViewStamp`] |
//! | `traffic` | id (BE) ‖ start ms (BE) | redacted exchange (JSON, owned by `traffic`) |
//! | `admins` | admin name | argon2 PHC string |
//! | `sessions` | SHA-256 of a console session id | [`SessionRecord`] |
//! | `signin_failures` | `login:`name or `peer:`address | [`FailureRecord`] |
//! | `meta` | `layout`, `derive_window`, `derive_window_pending`, `derive_version` | layout version (see `migrate`); the window time answers cover; a window move not finished yet; the reader version the objects were prepared by (see `prepare`) |

mod accounts;
mod busy;
mod changes;
mod codec;
mod connections;
mod error;
mod held;
mod index;
mod keys;
mod migrate;
mod object_tx;
mod objects;
mod outbox;
mod prepare;
mod private;
mod records;
mod rows;
mod sealed;
mod sessions;
mod settings;
mod traffic;

use accounts::seal_token;
pub use busy::BusySnapshot;
pub use changes::Change;
pub use connections::{
    ConnectionRecord, ConnectionState, FeedPoll, FeedSource, LinkedUser, RemoteCalendarRecord,
    RemoteKind, RemoteObject, RemoteRef, SourceKind, UserLinks,
};
pub use error::{Error, Result};
pub use held::{HeldDeletions, HoldReason};
pub use index::{Body, WindowMove};
pub use object_tx::{MoveTarget, Moved};
pub use objects::Deleted;
pub use outbox::{OutboxEntry, OutboxOp, Queued};
pub use records::{
    ChangeRecord, CollectionKind, CollectionRecord, DeadProperty, ObjectMeta, ObjectRecord, Origin,
    Privacy, SealedToken, SourceVersion, TenantRecord, UserRecord, ViewStamp,
};
pub use sealed::Sealer;
pub use sessions::{FailureRecord, SessionOwner, SessionRecord};
pub use settings::{Buffers, UserSettings, MAX_BUFFER_SECS};
pub use traffic::{StoredExchange, TrafficSize};

/// The collection a key belongs to (defined in `ids`, used everywhere).
pub use crate::ids::CollectionKey;

use std::path::Path;
use std::sync::Arc;

use sled::transaction::{ConflictableTransactionError, TransactionError};

use crate::config::StoreOptions;
use crate::ids::{CTag, ETag, ObjectName, SyncToken, TenantId, UserId, UserRef};

/// How many change-log entries a collection keeps; older sync tokens are refused.
pub const CHANGE_LOG_LIMIT: u64 = 10_000;

const SYNC_TOKEN_PREFIX: &str = "urn:x-calproxy:sync:";

/// Conditions a write must meet (from `If-Match` / `If-None-Match`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriteCondition {
    /// The object must exist with this ETag.
    pub if_match: Option<ETag>,
    /// The object must not exist.
    pub if_none_match_any: bool,
}

/// What a successful `put_object` did.
#[derive(Debug, Clone, PartialEq)]
pub struct PutOutcome {
    /// True when the object did not exist before.
    pub created: bool,
    /// The new ETag.
    pub etag: ETag,
    /// The outbox id, when an entry was queued with the write.
    pub queued: Option<u64>,
}

/// Members changed since a sync token (RFC 6578).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Delta {
    /// Objects added or changed, each once.
    pub changed: Vec<ObjectName>,
    /// Objects removed, each once.
    pub deleted: Vec<ObjectName>,
    /// The token that describes the state after this delta.
    pub token: Option<SyncToken>,
    /// The collection's change sequence at that state.
    pub seq: u64,
}

/// The embedded store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    tenants: sled::Tree,
    users: sled::Tree,
    user_settings: sled::Tree,
    collections: sled::Tree,
    objects: sled::Tree,
    bodies: sled::Tree,
    parsed: sled::Tree,
    derived: sled::Tree,
    busy: sled::Tree,
    times: sled::Tree,
    meta: sled::Tree,
    uids: sled::Tree,
    changes: sled::Tree,
    feeds: sled::Tree,
    connections: sled::Tree,
    remote_cals: sled::Tree,
    remote_objs: sled::Tree,
    held: sled::Tree,
    links: sled::Tree,
    outbox: sled::Tree,
    outbox_objects: sled::Tree,
    views: sled::Tree,
    traffic: sled::Tree,
    admins: sled::Tree,
    traffic_totals: Arc<traffic::TrafficTotals>,
    feed: Arc<changes::ChangeFeed>,
    window_config: Arc<crate::config::AvailabilityWindow>,
    derivations: Arc<std::sync::atomic::AtomicU64>,
    sealer: Sealer,
}

type TxResult<T> = std::result::Result<T, ConflictableTransactionError<Error>>;

fn abort<T>(e: Error) -> TxResult<T> {
    Err(ConflictableTransactionError::Abort(e))
}

fn tx_err(e: TransactionError<Error>) -> Error {
    match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => Error::Sled(e),
    }
}

impl Store {
    /// Opens (or creates) the store in `dir` with default options. sled
    /// allows one process per directory.
    pub fn open(dir: &Path) -> Result<Self> {
        Self::open_with(dir, &StoreOptions::default())
    }

    /// Opens (or creates) the store in `dir`. The directory and its files
    /// are made private first (`private`; a warning names what was open to
    /// other users).
    pub fn open_with(dir: &Path, opts: &StoreOptions) -> Result<Self> {
        let data_dir = |source| Error::DataDir { source };
        let opened = private::secure(dir).map_err(data_dir)?;
        private::warn_if_opened(dir, &opened);
        let sealer = Sealer::load_or_create(dir)?;
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(opts.cache_bytes)
            .open()?;
        // The files sled has just created, with whatever umask the process has.
        private::secure(dir).map_err(data_dir)?;
        let store = Self::from_db(db, sealer, opts)?;
        migrate::run(&store)?;
        Ok(store)
    }

    /// A throw-away in-memory store (tests, benchmarks).
    pub fn temporary() -> Result<Self> {
        let opts = StoreOptions::default();
        let store = Self::from_db(
            sled::Config::new()
                .temporary(true)
                .cache_capacity(opts.cache_bytes)
                .open()?,
            Sealer::ephemeral(),
            &opts,
        )?;
        migrate::run(&store)?;
        Ok(store)
    }

    fn from_db(db: sled::Db, sealer: Sealer, opts: &StoreOptions) -> Result<Self> {
        Ok(Self {
            tenants: db.open_tree("tenants")?,
            users: db.open_tree("users")?,
            user_settings: db.open_tree("user_settings")?,
            collections: db.open_tree("collections")?,
            objects: db.open_tree("objects")?,
            bodies: db.open_tree("bodies")?,
            parsed: db.open_tree("parsed")?,
            derived: db.open_tree("derived")?,
            busy: db.open_tree("busy")?,
            times: db.open_tree("times")?,
            meta: db.open_tree("meta")?,
            uids: db.open_tree("uids")?,
            changes: db.open_tree("changes")?,
            feeds: db.open_tree("feeds")?,
            connections: db.open_tree("connections")?,
            remote_cals: db.open_tree("remote_cals")?,
            remote_objs: db.open_tree("remote_objs")?,
            held: db.open_tree("held")?,
            links: db.open_tree("links")?,
            outbox: db.open_tree("outbox")?,
            outbox_objects: db.open_tree("outbox_objects")?,
            views: db.open_tree("views")?,
            traffic_totals: traffic::TrafficTotals::scan(&db.open_tree("traffic")?),
            traffic: db.open_tree("traffic")?,
            admins: db.open_tree("admins")?,
            feed: Arc::default(),
            window_config: Arc::new(opts.window.clone()),
            derivations: Arc::default(),
            sealer,
            db,
        })
    }

    /// A number larger than every earlier one (persisted across restarts):
    /// orders events such as "listing taken" and "delivery recorded".
    pub fn sequence(&self) -> Result<u64> {
        Ok(self.db.generate_id()?)
    }

    /// Announces a committed change on the change feed.
    pub(crate) fn changed(&self, change: Change) {
        self.feed.push(change);
    }

    /// Takes every change announced since the last call (the derived views
    /// are the one consumer).
    pub fn take_changes(&self) -> Vec<Change> {
        self.feed.take()
    }

    /// Waits until a change is announced (returns at once if one is pending).
    pub async fn wait_for_changes(&self) {
        self.feed.wait().await
    }

    /// What a user's derived views were last computed from.
    pub fn view_stamp(&self, who: &UserRef) -> Result<Option<ViewStamp>> {
        self.views
            .get(keys::user(&who.tenant, &who.user))?
            .map(|v| codec::decode("views", &v))
            .transpose()
    }

    /// Records what a user's derived views were computed from.
    pub fn put_view_stamp(&self, who: &UserRef, stamp: &ViewStamp) -> Result<()> {
        self.views
            .insert(keys::user(&who.tenant, &who.user), codec::encode(stamp)?)?;
        Ok(())
    }

    /// Makes every write so far durable (fsync). Call before answering 2xx.
    ///
    /// Runs sled's blocking `flush` on tokio's blocking pool, never sled's
    /// `flush_async`: that one runs the flush on sled's own I/O pool, where
    /// a flush waits for log buffers that the same pool must write. Seven
    /// concurrent flushes (sled keeps seven idle threads and adds one only
    /// past seven queued jobs) then held every thread while the write
    /// waited in the queue behind them, and a transaction waiting for the
    /// flushes' read locks stopped every other read: the whole server hung
    /// under 2,000 requests/s with ~200 PUTs/s (seen in the load bench;
    /// `tests::flushes_under_concurrent_writes_finish`).
    pub async fn flush(&self) -> Result<()> {
        let db = self.db.clone();
        match tokio::task::spawn_blocking(move || db.flush()).await {
            Ok(flushed) => {
                flushed?;
                Ok(())
            }
            Err(e) => Err(Error::Sled(sled::Error::ReportableBug(format!(
                "the flush did not finish: {e}"
            )))),
        }
    }

    /// A key for opaque labels (metrics), stable for this data directory
    /// and derived from its secret key.
    pub fn label_key(&self) -> [u8; 32] {
        self.sealer.derived_key()
    }

    /// Approximate on-disk size in bytes.
    pub fn size_on_disk(&self) -> Result<u64> {
        Ok(self.db.size_on_disk()?)
    }

    // ---- collections -------------------------------------------------------

    /// Creates a collection unless it exists. Returns the stored record.
    pub fn ensure_collection(
        &self,
        key: &CollectionKey,
        rec: &CollectionRecord,
    ) -> Result<CollectionRecord> {
        if let Some(existing) = self.collection(key)? {
            return Ok(existing);
        }
        self.collections
            .insert(keys::collection(key), codec::encode(rec)?)?;
        self.changed(Change::Collection(key.clone()));
        Ok(rec.clone())
    }

    /// Removes a collection with its objects (every row of each), UID
    /// index, time index and change log.
    pub fn delete_collection(&self, key: &CollectionKey) -> Result<()> {
        let prefix = keys::members_of(key);
        for tree in [
            &self.objects,
            &self.bodies,
            &self.parsed,
            &self.derived,
            &self.times,
            &self.uids,
            &self.changes,
        ] {
            for k in tree.scan_prefix(&prefix).keys() {
                tree.remove(k?)?;
            }
        }
        self.busy.remove(keys::collection(key))?;
        self.collections.remove(keys::collection(key))?;
        self.changed(Change::Collection(key.clone()));
        Ok(())
    }

    /// A collection, if it exists.
    pub fn collection(&self, key: &CollectionKey) -> Result<Option<CollectionRecord>> {
        self.collections
            .get(keys::collection(key))?
            .map(|v| codec::decode("collections", &v))
            .transpose()
    }

    /// Every collection of a user, in name order.
    pub fn collections(
        &self,
        t: &TenantId,
        u: &UserId,
    ) -> Result<Vec<(CollectionKey, CollectionRecord)>> {
        let prefix = keys::collections_of(t, u);
        let mut out = Vec::new();
        for kv in self.collections.scan_prefix(&prefix) {
            let (k, v) = kv?;
            let Some(cal) =
                keys::suffix(&k, &prefix).and_then(|s| crate::ids::CalendarId::new(s).ok())
            else {
                return Err(Error::BadKey {
                    tree: "collections",
                });
            };
            out.push((
                CollectionKey::new(t, u, &cal),
                codec::decode("collections", &v)?,
            ));
        }
        Ok(out)
    }

    /// Changes a collection's properties (display name, colour, dead props).
    /// Property changes do not touch the member change log.
    pub fn update_collection(
        &self,
        key: &CollectionKey,
        f: impl Fn(&mut CollectionRecord),
    ) -> Result<CollectionRecord> {
        let k = keys::collection(key);
        let mut out = None;
        self.collections.fetch_and_update(&k, |old| {
            let old = old?;
            let mut rec: CollectionRecord = codec::decode("collections", old).ok()?;
            f(&mut rec);
            let bytes = codec::encode(&rec).ok()?;
            out = Some(rec);
            Some(bytes)
        })?;
        out.ok_or(Error::NoCollection)
    }

    /// The collection's current ctag.
    pub fn ctag(rec: &CollectionRecord) -> CTag {
        CTag::new(format!("{}-{}", rec.incarnation, rec.seq))
    }

    /// The collection's current sync token.
    pub fn sync_token(rec: &CollectionRecord) -> SyncToken {
        SyncToken::new(format!(
            "{SYNC_TOKEN_PREFIX}{}-{}",
            rec.incarnation, rec.seq
        ))
    }
}

#[cfg(test)]
mod tests;
