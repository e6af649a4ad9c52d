//! DERIVED VIEWS: the one owner of everything computed from stored objects
//! (R4, R9): the busy-interval cache, each user's materialised
//! `availability/` collection, and the availability feed with its ETag.
//!
//! Nobody else refreshes anything. Writes only touch the store; the store
//! announces every committed change on its change feed; [`Views::run`]
//! maps each change to the users whose views depend on it (`deps`, where
//! the dependencies are written down) and brings those views up to date.
//! Every view records what it was derived from (a [`ViewStamp`]: each
//! source collection's version, the settings, the window), so a read can
//! check in a few lookups that it is current and catch up at once if not
//! ([`Views::ensure_fresh`]): a read right after a write sees it, whatever
//! the worker is doing. A refresh that fails never fails the write that
//! caused it (that write is already durable); it is retried with backoff
//! and shows in `status` and `/metrics`.
//!
//! Uses `store`, `ical` and `config`; used by `handlers`, `admin`, `cli`.

mod busy_cache;
mod collection;
pub mod deps;
pub mod explain;
mod feed;
mod intervals;
pub mod slots;
pub mod sources;
mod worker;

pub use busy_cache::{BusyCache, CacheStats, Settings};
pub use deps::AVAILABILITY;
pub use feed::FeedDoc;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use crate::config::AvailabilityWindow;
use crate::ical::{self, BusyInterval, BusyKind, ExpandBudget, TimeRange};
use crate::ids::{CollectionKey, UserRef};
use crate::metrics::Metrics;
use crate::store::{self, Store, ViewStamp};

/// Cap on instances one object may expand to in one window.
pub const MAX_INSTANCES: usize = 10_000;

pub use crate::config::CACHE_MARGIN_DAYS;

/// Why a view could not be brought up to date.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store failed.
    #[error("storage failed")]
    Store(#[from] store::Error),
    /// A failure injected by a test ([`Views::inject_failures`]).
    #[error("injected failure")]
    Injected,
    /// The request's expansion budget ran out (a window outside the kept
    /// one over pathological recurrences).
    #[error("the request expands more than {limit} recurrence dates")]
    Budget {
        /// The budget.
        limit: u64,
    },
}

/// A view that could not be refreshed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleView {
    /// Whose view.
    pub user: UserRef,
    /// The last error, one line.
    pub error: String,
    /// Failed attempts in a row.
    pub attempts: u32,
}

/// What `status` and `/metrics` show of the views.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ViewsStatus {
    /// Views waiting for a retry.
    pub stale: Vec<StaleView>,
    /// Refreshes done since start.
    pub refreshed: u64,
    /// Refreshes that failed since start.
    pub failures: u64,
}

pub(crate) struct Retry {
    error: String,
    attempts: u32,
    due: std::time::Instant,
}

struct Inner {
    store: Store,
    window: AvailabilityWindow,
    metrics: Arc<Metrics>,
    busy: BusyCache,
    /// One lock per user: refreshes of one user never overlap (issue 9, bug B).
    locks: Mutex<HashMap<UserRef, Arc<Mutex<()>>>>,
    retries: Mutex<HashMap<UserRef, Retry>>,
    feeds: Mutex<HashMap<UserRef, (ViewStamp, Arc<FeedDoc>)>>,
    /// Each user's last materialised blocks (`collection`).
    materialised: Mutex<HashMap<UserRef, collection::Materialised>>,
    /// Refreshes that wrote their differences from memory (tests).
    from_memory: AtomicU64,
    /// Pauses made between a refresh's transactions (tests).
    pauses: AtomicU64,
    refreshed: AtomicU64,
    failures: AtomicU64,
    inject: AtomicU32,
}

/// The derived views. Cheap to clone.
#[derive(Clone)]
pub struct Views {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Views {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Views")
    }
}

/// The parts of `window` before and after `cached` (possibly empty).
fn outside(window: TimeRange, cached: TimeRange) -> Vec<TimeRange> {
    let mut out = Vec::new();
    if window.start < cached.start {
        out.push(TimeRange {
            start: window.start,
            end: window.end.min(cached.start),
        });
    }
    if window.end > cached.end {
        out.push(TimeRange {
            start: window.start.max(cached.end),
            end: window.end,
        });
    }
    out.retain(|r| r.end > r.start);
    out
}

/// The intervals of a sorted, merged list that meet `window`, clipped.
pub(crate) fn clip(sorted: &[BusyInterval], window: TimeRange) -> Vec<BusyInterval> {
    // `merge` output never overlaps (Busy wins and Tentative is cut around
    // it), so ends are sorted too and a binary search finds the start.
    let first = sorted.partition_point(|i| i.end <= window.start);
    sorted[first..]
        .iter()
        .take_while(|i| i.start < window.end)
        .map(|i| BusyInterval {
            start: i.start.max(window.start),
            end: i.end.min(window.end),
            kind: i.kind,
        })
        .filter(|i| i.end > i.start)
        .collect()
}

/// Busy and tentative time as one kind: the availability collection and
/// the feed show every blocked minute as "Busy" (see the README, R4).
pub fn flatten(intervals: &[BusyInterval]) -> Vec<BusyInterval> {
    ical::merge(
        intervals
            .iter()
            .map(|i| BusyInterval {
                kind: BusyKind::Busy,
                ..*i
            })
            .collect(),
    )
}

impl Views {
    /// The views over `store`.
    pub fn new(store: &Store, window: AvailabilityWindow, metrics: &Arc<Metrics>) -> Self {
        Self {
            inner: Arc::new(Inner {
                store: store.clone(),
                window,
                metrics: metrics.clone(),
                busy: BusyCache::default(),
                locks: Mutex::default(),
                retries: Mutex::default(),
                feeds: Mutex::default(),
                materialised: Mutex::default(),
                from_memory: AtomicU64::new(0),
                pauses: AtomicU64::new(0),
                refreshed: AtomicU64::new(0),
                failures: AtomicU64::new(0),
                inject: AtomicU32::new(0),
            }),
        }
    }

    fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The busy-interval cache (its counters: tests and benchmarks).
    pub fn cache(&self) -> &BusyCache {
        &self.inner.busy
    }

    /// The window materialised into `availability/` and the feed at `now`.
    pub fn window_at(&self, now: DateTime<Utc>) -> TimeRange {
        let (start, end) = self.inner.window.materialised_at(now);
        TimeRange { start, end }
    }

    /// The window the cache holds (and the store's time answers cover):
    /// see `config::AvailabilityWindow::cached_at`. It moves once a week,
    /// when [`Views::run`] advances the store's window.
    pub fn cache_window(&self, now: DateTime<Utc>) -> TimeRange {
        self.store().derive_window().unwrap_or_else(|_| {
            let (start, end) = self.inner.window.cached_at(now);
            TimeRange { start, end }
        })
    }

    /// Busy intervals of one collection inside `window`, merged. Parts of
    /// `window` outside the kept window are expanded, charged to `budget`.
    pub fn busy_in_collection(
        &self,
        key: &CollectionKey,
        window: TimeRange,
        budget: Option<&Arc<ExpandBudget>>,
    ) -> Result<Vec<BusyInterval>, Error> {
        let s = deps::settings(self.store(), &key.owner());
        let Some(rec) = self.store().collection(key)? else {
            return Ok(Vec::new());
        };
        let cached = self.cache_window(Utc::now());
        let mut all = Vec::new();
        if window.start < cached.end && window.end > cached.start {
            let merged = self
                .inner
                .busy
                .collection(self.store(), key, &rec, &s, cached)?;
            all.extend(clip(&merged, window));
        }
        for part in outside(window, cached) {
            self.collect(key, part, &s, budget, &mut all)?;
        }
        Ok(ical::merge(all))
    }

    /// Expands the objects of a collection that can reach `window` (by the
    /// time index), outside the kept window.
    fn collect(
        &self,
        key: &CollectionKey,
        window: TimeRange,
        s: &Settings,
        budget: Option<&Arc<ExpandBudget>>,
        out: &mut Vec<BusyInterval>,
    ) -> Result<(), Error> {
        for name in self.store().candidates(key, window)? {
            let Some(body) = self.store().object_body(key, &name)? else {
                continue;
            };
            out.extend(busy_cache::object_busy(&name, &body, window, s, budget)?);
        }
        Ok(())
    }

    /// The merged busy time of a user (R9): every source collection,
    /// merged, then widened by the user's buffers (which apply to every
    /// block of their availability, a conflict user's time included).
    /// Served from the cache inside [`Self::cache_window`]; parts of
    /// `window` outside it are expanded, charged to `budget`.
    pub fn busy_for_user(
        &self,
        who: &UserRef,
        window: TimeRange,
        budget: Option<&Arc<ExpandBudget>>,
    ) -> Result<Vec<BusyInterval>, Error> {
        let b = self.store().user_settings(&who.tenant, &who.user)?.buffers;
        if b.is_none() {
            return self.merged_for_user(who, window, budget);
        }
        let (before, after) = (
            chrono::Duration::seconds(i64::from(b.before)),
            chrono::Duration::seconds(i64::from(b.after)),
        );
        // A block ending up to `after` before the window, or starting up to
        // `before` after it, reaches into it once widened.
        let wide = TimeRange {
            start: window.start - after,
            end: window.end + before,
        };
        let merged = self.merged_for_user(who, wide, budget)?;
        Ok(clip(&ical::widen(&merged, before, after), window))
    }

    /// [`Self::busy_for_user`] without the buffers.
    fn merged_for_user(
        &self,
        who: &UserRef,
        window: TimeRange,
        budget: Option<&Arc<ExpandBudget>>,
    ) -> Result<Vec<BusyInterval>, Error> {
        let srcs = deps::sources(self.store(), who)?;
        let cached = self.cache_window(Utc::now());
        let mut all = Vec::new();
        if window.start < cached.end && window.end > cached.start {
            let merged = self.inner.busy.user(self.store(), who, &srcs, cached)?;
            all.extend(clip(&merged, window));
        }
        for part in outside(window, cached) {
            for s in &srcs {
                self.collect(&s.key, part, &s.settings, budget, &mut all)?;
            }
        }
        Ok(ical::merge(all))
    }

    /// Fills the cache for every user (at start-up, so the first free-busy
    /// request does not pay for expanding everything). Returns the number
    /// of users.
    pub fn warm(&self) -> store::Result<usize> {
        let window = self.cache_window(Utc::now());
        let mut n = 0;
        for t in self.store().tenants()? {
            for u in self.store().users(&t)? {
                let who = UserRef::new(&t, &u);
                let srcs = deps::sources(self.store(), &who)?;
                self.inner.busy.user(self.store(), &who, &srcs, window)?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Makes the next `n` refreshes fail (tests: a refresh error must never
    /// fail a durable write, and the view must catch up later).
    #[doc(hidden)]
    pub fn inject_failures(&self, n: u32) {
        self.inner.inject.store(n, Ordering::SeqCst);
    }

    /// Refreshes that compared with the last refresh's blocks in memory
    /// instead of reading the collection (tests).
    #[doc(hidden)]
    pub fn refreshes_from_memory(&self) -> u64 {
        self.inner.from_memory.load(Ordering::Relaxed)
    }

    /// Pauses made between the transactions of background refreshes
    /// (tests: a read's refresh never pauses).
    #[doc(hidden)]
    pub fn refresh_pauses(&self) -> u64 {
        self.inner.pauses.load(Ordering::Relaxed)
    }

    /// Stale views, refresh and failure counts.
    pub fn status(&self) -> ViewsStatus {
        let mut stale: Vec<StaleView> = self
            .inner
            .retries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(user, r)| StaleView {
                user: user.clone(),
                error: r.error.clone(),
                attempts: r.attempts,
            })
            .collect();
        stale.sort_by(|a, b| a.user.cmp(&b.user));
        ViewsStatus {
            stale,
            refreshed: self.inner.refreshed.load(Ordering::Relaxed),
            failures: self.inner.failures.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests;
