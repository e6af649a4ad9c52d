//! The views' worker: waits for the store's change feed, maps each change
//! to the users whose views depend on it, and refreshes those; retries
//! failed refreshes when due; refreshes everyone when the window moves
//! (at midnight UTC) and once at start (changes made before a restart).

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use crate::ids::UserRef;

use super::{deps, Views};

/// Longest the worker sleeps without looking at the clock.
const TICK: Duration = Duration::from_secs(60);

/// How long after a change the busy cache's snapshots are kept: writes in
/// a burst share one snapshot write per collection.
const SNAPSHOT_DELAY: Duration = Duration::from_secs(3);

/// How long the store must be without a change before the worker
/// refreshes what changed. Refreshing writes to the store, and the store
/// runs one transaction at a time and makes every write durable with the
/// next client's flush: views refreshed between the writes of a burst
/// made each of those writes wait (PUT p99 20–35 ms instead of 5). Reads
/// do not wait for the worker: each brings its view up to date itself
/// (`ensure_fresh`).
const QUIET: Duration = Duration::from_millis(20);

/// The longest a change waits for a quiet moment: under a steady stream
/// of writes the views are refreshed at least this often.
const LONGEST_WAIT: Duration = Duration::from_secs(1);

impl Views {
    /// Every user of every tenant.
    fn all_users(&self) -> Vec<UserRef> {
        let mut out = Vec::new();
        let Ok(tenants) = self.store().tenants() else {
            return out;
        };
        for t in tenants {
            for u in self.store().users(&t).unwrap_or_default() {
                out.push(UserRef::new(&t, &u));
            }
        }
        out
    }

    /// Refreshes the given users' views off the async threads.
    async fn refresh_users(&self, users: BTreeSet<UserRef>) {
        for who in users {
            let me = self.clone();
            let done = tokio::task::spawn_blocking(move || me.refresh_in_background(&who)).await;
            if let Err(e) = done {
                tracing::error!(error = %e, "view refresh task failed");
            }
        }
    }

    /// The users a batch of changes touches. A user whose settings
    /// changed has their objects' stored time answers made again first
    /// (their zone and addresses shape them).
    fn touched(&self) -> BTreeSet<UserRef> {
        let mut users = BTreeSet::new();
        for change in self.store().take_changes() {
            if let crate::store::Change::User(u) = &change {
                self.rederive_user(u);
            }
            match deps::dependents(self.store(), &change) {
                Ok(u) => users.extend(u),
                Err(e) => {
                    tracing::warn!(error = %e, ?change, "dependents unknown; refreshing everyone");
                    users.extend(self.all_users());
                }
            }
        }
        users
    }

    fn rederive_user(&self, u: &UserRef) {
        let Ok(collections) = self.store().collections(&u.tenant, &u.user) else {
            return;
        };
        for (key, _) in collections {
            match self.store().rederive(&key) {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(tenant = %key.tenant, user = %key.user, calendar = %key.calendar, objects = n, "time answers made again for new settings")
                }
                Err(e) => tracing::warn!(error = %e, "time answers not made again"),
            }
        }
    }

    /// Once after a start: objects stored by an older reader are prepared
    /// again (`Store::prepare_outdated`); the views and busy snapshots
    /// made from them carry the older fingerprint and are made again too.
    async fn prepare_outdated(&self) {
        let store = self.store().clone();
        match tokio::task::spawn_blocking(move || store.prepare_outdated()).await {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => {
                self.inner.busy.clear();
                tracing::info!(
                    objects = n,
                    version = crate::ical::DERIVE_VERSION,
                    "objects prepared again by this version's reader"
                );
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "objects not prepared again"),
            Err(e) => tracing::error!(error = %e, "prepare task failed"),
        }
    }

    /// Moves the store's window of time answers when its week is over
    /// (only objects that reach into the new days are expanded).
    async fn advance_window(&self) {
        let store = self.store().clone();
        let moved = tokio::task::spawn_blocking(move || store.advance_window(Utc::now())).await;
        match moved {
            Ok(Ok(m)) if m.expanded + m.carried > 0 => {
                self.inner.busy.clear();
                tracing::info!(
                    expanded = m.expanded,
                    carried = m.carried,
                    "window of time answers moved"
                );
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "window of time answers not moved"),
            Err(e) => tracing::error!(error = %e, "window task failed"),
        }
    }

    /// One pass: what changed, what is due for a retry, and, when the day
    /// changed since `last_day`, the window moved and everyone refreshed.
    /// Returns the current day.
    pub async fn process(&self, last_day: Option<chrono::NaiveDate>) -> chrono::NaiveDate {
        let today = Utc::now().date_naive();
        if last_day.is_none() {
            self.prepare_outdated().await;
        }
        if last_day != Some(today) {
            self.advance_window().await;
        }
        let mut users = self.touched();
        users.extend(self.due_retries());
        if last_day != Some(today) {
            users.extend(self.all_users());
        }
        self.refresh_users(users).await;
        today
    }

    /// Waits until the store has had no change for [`QUIET`], at most
    /// [`LONGEST_WAIT`] (or until shutdown).
    async fn settle(&self, shutdown: &CancellationToken) {
        let deadline = tokio::time::Instant::now() + LONGEST_WAIT;
        loop {
            tokio::select! {
                _ = self.store().wait_for_changes() => {}
                _ = tokio::time::sleep(QUIET) => return,
                _ = tokio::time::sleep_until(deadline) => return,
                _ = shutdown.cancelled() => return,
            }
        }
    }

    /// Keeps the busy cache's snapshots that are older than its entries
    /// (off the async threads).
    pub async fn persist_snapshots(&self) {
        let me = self.clone();
        let kept = tokio::task::spawn_blocking(move || {
            let n = me.inner.busy.persist_snapshots(me.store());
            if n > 0 {
                // A burst of changes is over (or 3 s of a long one): what
                // its refreshes freed goes back to the system, not only
                // to the arenas of the threads that ran them.
                crate::crypto::trim();
            }
            n
        })
        .await;
        match kept {
            Ok(n) if n > 0 => tracing::debug!(collections = n, "busy snapshots kept"),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "busy snapshot task failed"),
        }
    }

    /// Runs the worker until `shutdown`. Busy snapshots changed by a
    /// burst of writes are kept [`SNAPSHOT_DELAY`] after the first of
    /// them (whether or not the burst goes on), and at shutdown.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut day = None;
        let mut snapshot_due: Option<tokio::time::Instant> = None;
        loop {
            day = Some(self.process(day).await);
            let now = tokio::time::Instant::now();
            if self.inner.busy.has_unkept_snapshots() {
                let due = *snapshot_due.get_or_insert(now + SNAPSHOT_DELAY);
                if due <= now {
                    self.persist_snapshots().await;
                    snapshot_due = None;
                }
            } else {
                snapshot_due = None;
            }
            let mut wait = self
                .next_retry()
                .map(|due| due.saturating_duration_since(std::time::Instant::now()))
                .unwrap_or(TICK)
                .min(TICK);
            if let Some(due) = snapshot_due {
                wait = wait.min(due.saturating_duration_since(now));
            }
            tokio::select! {
                _ = shutdown.cancelled() => {
                    self.persist_snapshots().await;
                    return;
                }
                _ = self.store().wait_for_changes() => self.settle(&shutdown).await,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
}
