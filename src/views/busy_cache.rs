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
//! applied twice, never lost. Nothing here knows key layouts: it uses
//! `Store`'s typed API only. Owned by `views`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::ical::{self, BusyInterval, TimeRange};
use crate::ids::{ObjectName, SyncToken, UserRef};
use crate::store::{self, CollectionKey, CollectionRecord, Store};

/// Expansion settings an entry was computed with (the owner's).
pub type Settings = ical::BusySettings;

/// One collection's cached busy time.
pub(crate) struct CollectionEntry {
    token: SyncToken,
    settings: Settings,
    window: TimeRange,
    /// Each object's intervals (clipped to the window, merged per object).
    pub objects: HashMap<ObjectName, Vec<BusyInterval>>,
    /// The union over the objects.
    pub merged: Arc<Vec<BusyInterval>>,
}

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
}

#[derive(Default)]
struct Inner {
    collections: HashMap<CollectionKey, CollectionEntry>,
    users: HashMap<UserRef, UserEntry>,
    stats: CacheStats,
}

/// In-memory busy-interval cache, shared by all requests (in `App`).
#[derive(Default)]
pub struct BusyCache {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for BusyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BusyCache")
    }
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
    let w = (window.start.timestamp(), window.end.timestamp());
    if let Some(d) = store.derived(key, name)? {
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

fn merged_of(objects: &HashMap<ObjectName, Vec<BusyInterval>>) -> Vec<BusyInterval> {
    ical::merge(objects.values().flatten().copied().collect())
}

impl BusyCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves a consistent map (entries are
        // replaced whole), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counters so far.
    pub fn stats(&self) -> CacheStats {
        self.lock().stats
    }

    /// Drops every entry (tests, benchmarks).
    pub fn clear(&self) {
        let mut g = self.lock();
        g.collections.clear();
        g.users.clear();
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
        let mut g = self.lock();
        Self::refresh_collection(&mut g, store, key, rec, settings, window)?;
        Ok(g.collections
            .get(key)
            .map(|e| e.merged.clone())
            .unwrap_or_default())
    }

    /// Runs `f` over an up-to-date entry of a collection.
    pub(crate) fn with_collection<T>(
        &self,
        store: &Store,
        key: &CollectionKey,
        rec: &CollectionRecord,
        settings: &Settings,
        window: TimeRange,
        f: impl FnOnce(&CollectionEntry) -> T,
    ) -> store::Result<Option<T>> {
        let mut g = self.lock();
        Self::refresh_collection(&mut g, store, key, rec, settings, window)?;
        Ok(g.collections.get(key).map(f))
    }

    fn refresh_collection(
        g: &mut Inner,
        store: &Store,
        key: &CollectionKey,
        rec: &CollectionRecord,
        settings: &Settings,
        window: TimeRange,
    ) -> store::Result<()> {
        let token = Store::sync_token(rec);
        let Inner {
            collections, stats, ..
        } = g;
        if let Some(e) = collections.get_mut(key) {
            if e.token == token && e.settings == *settings && e.window == window {
                return Ok(());
            }
            if e.settings == *settings && e.window == window {
                if let Ok(delta) = store.changes_since(key, Some(&e.token)) {
                    for name in delta.deleted {
                        e.objects.remove(&name);
                    }
                    for name in delta.changed {
                        match stored_busy(store, key, &name, window, settings, stats)? {
                            Some(v) => {
                                e.objects.insert(name, v);
                            }
                            None => {
                                e.objects.remove(&name);
                            }
                        }
                    }
                    // The delta's token may be newer than `rec`: keep the
                    // newer one (what the objects now reflect).
                    e.token = delta.token.unwrap_or(token);
                    e.merged = Arc::new(merged_of(&e.objects));
                    stats.incremental += 1;
                    return Ok(());
                }
            }
        }
        // Full rebuild from the stored time answers (one scan, nothing
        // expanded unless an answer is stale). Token first (module docs).
        let mut objects = HashMap::new();
        let w = (window.start.timestamp(), window.end.timestamp());
        let fp = settings.fingerprint();
        for (name, d) in store.derived_all(key)? {
            let v = if d.window == w && d.settings == fp {
                d.busy_in(window)
            } else {
                match stored_busy(store, key, &name, window, settings, stats)? {
                    Some(v) => v,
                    None => continue,
                }
            };
            objects.insert(name, v);
        }
        stats.rebuilds += 1;
        let merged = Arc::new(merged_of(&objects));
        collections.insert(
            key.clone(),
            CollectionEntry {
                token,
                settings: settings.clone(),
                window,
                objects,
                merged,
            },
        );
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
        let mut g = self.lock();
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
        let ukey = who.clone();
        let settings_same = sources.iter().all(|s| {
            g.collections
                .get(&s.key)
                .is_some_and(|e| e.settings == s.settings && e.window == window)
        });
        if let Some(u) = g.users.get(&ukey) {
            if settings_same && u.states == states && u.window == window {
                let m = u.merged.clone();
                g.stats.user_hits += 1;
                return Ok(m);
            }
        }
        let mut all = Vec::new();
        for s in sources {
            Self::refresh_collection(&mut g, store, &s.key, &s.record, &s.settings, window)?;
            if let Some(e) = g.collections.get(&s.key) {
                all.extend(e.merged.iter().copied());
            }
        }
        let merged = Arc::new(ical::merge(all));
        g.users.insert(
            ukey,
            UserEntry {
                states,
                window,
                merged: merged.clone(),
            },
        );
        Ok(merged)
    }
}
