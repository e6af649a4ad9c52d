//! The busy-interval cache (R9 performance).
//!
//! The store keeps each object's busy intervals for the *cached window*
//! (computed once when the object is written; see `ical::derive`). The
//! cache keeps, per collection, those intervals and their merge, and per
//! user the merge over every source collection: filling it after a restart
//! is one scan of stored answers per collection, not an expansion.
//!
//! It validates itself instead of being told about writes: an entry
//! records the collection's sync token (every `put_object` /
//! `delete_object` advances it), the expansion settings (user time zone and
//! owner addresses) and the window. A stale entry is brought up to date with
//! the store's change log (`changes_since`): only changed objects are
//! expanded again. Unknown or expired tokens, a moved window (weekly, see
//! `views::cache_window`) or other settings rebuild the collection. The
//! token is read *before* the objects, so a concurrent write is at worst
//! applied twice, never lost. No lock is held across a store read or an
//! expansion (see [`BusyCache`]). Nothing here knows key layouts: it uses
//! `Store`'s typed API only. Owned by `views`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use crate::ical::{self, BusyInterval, StoredBusy, TimeRange};
use crate::ids::{ObjectName, SyncToken, UserRef};
use crate::store::{self, CollectionKey, CollectionRecord, Store};

use super::intervals::{Intervals, Packed, Packing};

mod delta;

/// Expansion settings an entry was computed with (the owner's).
pub type Settings = ical::BusySettings;

/// One collection's cached busy time.
pub(crate) struct CollectionEntry {
    token: SyncToken,
    settings: Settings,
    window: TimeRange,
    /// Each object's intervals (clipped to the window, merged per object,
    /// packed for the window); `None` for an entry taken from the
    /// collection's stored snapshot (filled when something needs it).
    objects: Option<HashMap<ObjectName, Box<[Packed]>>>,
    /// The same intervals sorted by start (kept with `objects`).
    starts: Intervals,
    /// The union over the objects.
    pub merged: Arc<Vec<BusyInterval>>,
}

impl CollectionEntry {
    fn current(&self, token: &SyncToken, settings: &Settings, window: TimeRange) -> bool {
        self.token == *token && self.settings == *settings && self.window == window
    }

    /// The objects' intervals (an entry from a snapshot has none).
    pub fn objects(&self) -> impl Iterator<Item = (&ObjectName, Vec<BusyInterval>)> {
        let p = self.starts.packing();
        self.objects
            .iter()
            .flatten()
            .map(move |(n, v)| (n, v.iter().map(|&i| p.unpack(i)).collect()))
    }
}

/// A collection's slot: its entry once filled. Locked only to read or
/// install in-memory state, never across a store read or an expansion.
type Slot = Arc<Mutex<Option<CollectionEntry>>>;

struct UserEntry {
    /// Each source with its token and the fingerprint of the settings its
    /// entry was merged under (another user's refresh may replace the
    /// collection entries with other settings in between).
    states: Vec<(CollectionKey, SyncToken, u64)>,
    window: TimeRange,
    merged: Arc<Vec<BusyInterval>>,
}

/// Cache counters (tests and the benchmark read them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Objects expanded (first fill and incremental updates).
    pub expanded: u64,
    /// Collections rebuilt from scratch.
    pub rebuilds: u64,
    /// Collections brought up to date from the change log.
    pub incremental: u64,
    /// User merges answered without any work.
    pub user_hits: u64,
    /// Collections filled from their stored snapshot (a cold cache).
    pub snapshots: u64,
}

#[derive(Default)]
struct Inner {
    collections: HashMap<CollectionKey, Slot>,
    users: HashMap<UserRef, UserEntry>,
    stats: CacheStats,
    /// Collections whose entry changed since its snapshot was kept.
    dirty: HashSet<CollectionKey>,
}

/// In-memory busy-interval cache, shared by all requests (in `App`).
///
/// Locking: the map lock is held only to find a slot or a user entry, a
/// slot's lock only to read or install in-memory state; store reads and
/// expansion happen with no lock held, so a slow collection delays no
/// other request. Two requests may compute the same update at once; the
/// second to finish finds the entry current and drops its copy.
#[derive(Default)]
pub struct BusyCache {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for BusyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BusyCache")
    }
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding a lock leaves consistent state (entries are
    // replaced or updated whole), so a poisoned lock is still usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Busy intervals of one object's bytes in a window, merged. An expansion
/// over the budget is an error; any other failure is logged and counts as
/// no busy time.
pub(crate) fn object_busy(
    name: &ObjectName,
    data: &[u8],
    window: TimeRange,
    s: &Settings,
    budget: Option<&Arc<ical::ExpandBudget>>,
) -> Result<Vec<BusyInterval>, super::Error> {
    let mut opts = s.options(super::MAX_INSTANCES);
    if let Some(b) = budget {
        opts = opts.with_budget(b.clone());
    }
    match ical::busy_for(data, window, s, &opts) {
        Ok(v) => Ok(ical::merge(v)),
        Err(ical::Error::BudgetExceeded { limit }) => Err(super::Error::Budget { limit }),
        Err(e) => {
            tracing::warn!(object = %name, error = %e, "object skipped in busy time");
            Ok(Vec::new())
        }
    }
}

/// One object's busy time for the cached window: its stored time answers
/// when they were made for this window and these settings (a lookup), else
/// an expansion of its bytes (counted in `stats.expanded`).
fn stored_busy(
    store: &Store,
    key: &CollectionKey,
    name: &ObjectName,
    window: TimeRange,
    settings: &Settings,
    stats: &mut CacheStats,
) -> store::Result<Option<Vec<BusyInterval>>> {
    let derived = store.derived(key, name)?;
    busy_of(store, key, name, derived, window, settings, stats)
}

/// [`stored_busy`] with the object's time answers already read.
fn busy_of(
    store: &Store,
    key: &CollectionKey,
    name: &ObjectName,
    derived: Option<ical::Derived>,
    window: TimeRange,
    settings: &Settings,
    stats: &mut CacheStats,
) -> store::Result<Option<Vec<BusyInterval>>> {
    let w = (window.start.timestamp(), window.end.timestamp());
    if let Some(d) = derived {
        if d.window == w && d.settings == settings.fingerprint() {
            return Ok(Some(d.busy_in(window)));
        }
    }
    let Some(body) = store.object_body(key, name)? else {
        return Ok(None);
    };
    stats.expanded += 1;
    Ok(Some(
        object_busy(name, &body, window, settings, None).unwrap_or_default(),
    ))
}

/// Stores a collection's merged busy time as its snapshot (best effort:
/// a lost snapshot costs one rebuild).
fn keep_snapshot(
    store: &Store,
    key: &CollectionKey,
    token: SyncToken,
    settings: u64,
    window: (i64, i64),
    merged: &[BusyInterval],
) {
    let snap = store::BusySnapshot {
        token,
        settings,
        window,
        merged: merged.iter().map(StoredBusy::of).collect(),
    };
    if let Err(e) = store.put_busy_snapshot(key, &snap) {
        tracing::warn!(error = %e, "busy snapshot not kept");
    }
}

/// A full rebuild's intervals from this many up give their transient
/// memory back to the system at once (`crypto::trim`): glibc keeps what
/// a thread freed in its arena (100,000 events left ~150 MiB behind).
const TRIM_AFTER_INTERVALS: usize = 100_000;

/// Changed objects from which a stale entry is rebuilt rather than
/// updated, when they are also more than a quarter of its objects.
const REBUILD_FROM: usize = 1_000;

impl BusyCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        locked(&self.inner)
    }

    /// Counters so far.
    pub fn stats(&self) -> CacheStats {
        self.lock().stats
    }

    /// Drops every entry (tests, benchmarks). Snapshots not kept yet are
    /// lost (a lost snapshot costs one rebuild).
    pub fn clear(&self) {
        let mut g = self.lock();
        g.collections.clear();
        g.users.clear();
        g.dirty.clear();
    }

    /// Whether some collection's snapshot is older than its entry.
    pub fn has_unkept_snapshots(&self) -> bool {
        !self.lock().dirty.is_empty()
    }

    /// Keeps the snapshot of every collection whose entry changed since
    /// its last one (the views' worker calls this a few seconds after a
    /// burst of writes, and at shutdown). Returns how many were kept.
    pub fn persist_snapshots(&self, store: &Store) -> usize {
        let dirty: Vec<CollectionKey> = self.lock().dirty.drain().collect();
        let mut kept = 0;
        for key in dirty {
            let Some(slot) = self.lock().collections.get(&key).cloned() else {
                continue;
            };
            let entry = locked(&slot).as_ref().map(|e| {
                (
                    e.token.clone(),
                    e.settings.fingerprint(),
                    (e.window.start.timestamp(), e.window.end.timestamp()),
                    e.merged.clone(),
                )
            });
            if let Some((token, fp, w, merged)) = entry {
                keep_snapshot(store, &key, token, fp, w, &merged);
                kept += 1;
            }
        }
        kept
    }

    fn slot(&self, key: &CollectionKey) -> Slot {
        self.lock()
            .collections
            .entry(key.clone())
            .or_default()
            .clone()
    }

    fn count(&self, f: impl FnOnce(&mut CacheStats)) {
        f(&mut self.lock().stats);
    }

    /// The merged busy time of one collection over `window`, up to date.
    pub(crate) fn collection(
        &self,
        store: &Store,
        key: &CollectionKey,
        rec: &CollectionRecord,
        settings: &Settings,
        window: TimeRange,
    ) -> store::Result<Arc<Vec<BusyInterval>>> {
        let slot = self.slot(key);
        self.refresh_collection(&slot, store, key, rec, settings, window, false)?;
        let g = locked(&slot);
        Ok(g.as_ref().map(|e| e.merged.clone()).unwrap_or_default())
    }

    /// Runs `f` over an up-to-date entry of a collection with its objects'
    /// intervals (under its slot's lock: `f` should only read memory).
    pub(crate) fn with_collection<T>(
        &self,
        store: &Store,
        key: &CollectionKey,
        rec: &CollectionRecord,
        settings: &Settings,
        window: TimeRange,
        f: impl FnOnce(&CollectionEntry) -> T,
    ) -> store::Result<Option<T>> {
        let slot = self.slot(key);
        self.refresh_collection(&slot, store, key, rec, settings, window, true)?;
        let g = locked(&slot);
        Ok(g.as_ref().map(f))
    }

    /// Brings a slot up to date: from the change log when it holds an
    /// entry with objects for these settings and window; from the stored
    /// snapshot when it is empty, the snapshot current and no objects are
    /// needed; else rebuilt from the stored answers. The work is done
    /// without a lock and installed after.
    #[allow(clippy::too_many_arguments)]
    fn refresh_collection(
        &self,
        slot: &Slot,
        store: &Store,
        key: &CollectionKey,
        rec: &CollectionRecord,
        settings: &Settings,
        window: TimeRange,
        need_objects: bool,
    ) -> store::Result<()> {
        let token = Store::sync_token(rec);
        let (base, empty) = {
            let g = locked(slot);
            match g.as_ref() {
                Some(e)
                    if e.current(&token, settings, window)
                        && (e.objects.is_some() || !need_objects) =>
                {
                    return Ok(())
                }
                Some(e) if e.settings == *settings && e.window == window => match &e.objects {
                    Some(o) => (Some((e.token.clone(), o.len())), false),
                    None => (None, false),
                },
                other => (None, other.is_none()),
            }
        };
        let w = (window.start.timestamp(), window.end.timestamp());
        let fp = settings.fingerprint();
        if empty && !need_objects {
            if let Some(snap) = store.busy_snapshot(key)? {
                if snap.token == token && snap.settings == fp && snap.window == w {
                    let merged = snap
                        .merged
                        .iter()
                        .filter_map(StoredBusy::interval)
                        .collect();
                    let mut g = locked(slot);
                    if g.is_none() {
                        *g = Some(CollectionEntry {
                            token,
                            settings: settings.clone(),
                            window,
                            objects: None,
                            starts: Intervals::new(Packing::of(window)),
                            merged: Arc::new(merged),
                        });
                    }
                    drop(g);
                    self.count(|s| s.snapshots += 1);
                    return Ok(());
                }
            }
        }
        let mut stats = CacheStats::default();
        let delta = match &base {
            Some((base, objects)) => store
                .changes_since(key, Some(base))
                .ok()
                // A change to a large part of the collection (the first
                // sync after the entry was made) costs less as a rebuild,
                // which packs each object as it reads it.
                .filter(|d| d.changed.len() + d.deleted.len() <= (objects / 4).max(REBUILD_FROM)),
            None => None,
        };
        if let (Some((base, _)), Some(delta)) = (base, delta) {
            let packing = Packing::of(window);
            let mut changed = Vec::with_capacity(delta.changed.len());
            for name in delta.changed {
                let v = stored_busy(store, key, &name, window, settings, &mut stats)?;
                let packed = v.map(|v| packing.pack_all(&v));
                changed.push((name, packed));
            }
            let mut g = locked(slot);
            let mut installed = false;
            if let Some(e) = g.as_mut().filter(|e| e.token == base) {
                // The delta's token may be newer than `rec`: keep the
                // newer one (what the objects now reflect).
                let newest = delta.token.unwrap_or(token);
                installed = e.apply(&delta.deleted, changed, newest);
                if installed {
                    stats.incremental += 1;
                }
            }
            // Else someone else moved the entry meanwhile: theirs stands.
            drop(g);
            if installed {
                // Kept later, off the write's way (`persist_snapshots`):
                // writing the whole merge on every change made each write
                // cost the collection's size in disk writes.
                self.lock().dirty.insert(key.clone());
            }
            self.count(|s| {
                s.expanded += stats.expanded;
                s.incremental += stats.incremental;
            });
            return Ok(());
        }
        // Full rebuild from the stored time answers (one scan, nothing
        // expanded unless an answer is stale). Token first (module docs).
        let packing = Packing::of(window);
        let mut objects = HashMap::new();
        let mut values = Vec::new();
        for item in store.derived_all(key) {
            let (name, d) = item?;
            let Some(v) = busy_of(store, key, &name, Some(d), window, settings, &mut stats)? else {
                continue;
            };
            let packed = packing.pack_all(&v);
            values.extend(packed.iter().copied());
            objects.insert(name, packed);
        }
        let count = values.len();
        let starts = Intervals::from_values(packing, values);
        // Duplicates change no merge: the distinct intervals, by start.
        let merged = Arc::new(ical::merge(starts.all().collect()));
        {
            let mut g = locked(slot);
            let newer = g
                .as_ref()
                .is_some_and(|e| e.current(&token, settings, window) && e.objects.is_some());
            if !newer {
                *g = Some(CollectionEntry {
                    token: token.clone(),
                    settings: settings.clone(),
                    window,
                    starts,
                    objects: Some(objects),
                    merged: merged.clone(),
                });
            }
        }
        keep_snapshot(store, key, token, fp, w, &merged);
        if count >= TRIM_AFTER_INTERVALS {
            crate::crypto::trim();
        }
        self.count(|s| {
            s.expanded += stats.expanded;
            s.rebuilds += 1;
        });
        Ok(())
    }

    /// The user-level merge over `sources`.
    pub(crate) fn user(
        &self,
        store: &Store,
        who: &UserRef,
        sources: &[super::deps::Source],
        window: TimeRange,
    ) -> store::Result<Arc<Vec<BusyInterval>>> {
        let states: Vec<(CollectionKey, SyncToken, u64)> = sources
            .iter()
            .map(|s| {
                (
                    s.key.clone(),
                    Store::sync_token(&s.record),
                    s.settings.fingerprint(),
                )
            })
            .collect();
        let slots: Vec<Slot> = sources.iter().map(|s| self.slot(&s.key)).collect();
        let settings_same = sources.iter().zip(&slots).all(|(s, slot)| {
            locked(slot)
                .as_ref()
                .is_some_and(|e| e.settings == s.settings && e.window == window)
        });
        {
            let mut g = self.lock();
            let hit = g
                .users
                .get(who)
                .filter(|u| settings_same && u.states == states && u.window == window)
                .map(|u| u.merged.clone());
            if let Some(m) = hit {
                g.stats.user_hits += 1;
                return Ok(m);
            }
        }
        let mut all = Vec::new();
        for (s, slot) in sources.iter().zip(&slots) {
            self.refresh_collection(slot, store, &s.key, &s.record, &s.settings, window, false)?;
            if let Some(e) = locked(slot).as_ref() {
                all.extend(e.merged.iter().copied());
            }
        }
        let merged = Arc::new(ical::merge(all));
        self.lock().users.insert(
            who.clone(),
            UserEntry {
                states,
                window,
                merged: merged.clone(),
            },
        );
        Ok(merged)
    }
}
