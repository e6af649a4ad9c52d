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
            let done = tokio::task::spawn_blocking(move || me.ensure_fresh(&who)).await;
            if let Err(e) = done {
                tracing::error!(error = %e, "view refresh task failed");
            }
        }
    }

    /// The users a batch of changes touches.
    fn touched(&self) -> BTreeSet<UserRef> {
        let mut users = BTreeSet::new();
        for change in self.store().take_changes() {
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

    /// One pass: what changed, what is due for a retry, and everyone when
    /// the window moved since `last_day`. Returns the current day.
    pub async fn process(&self, last_day: Option<chrono::NaiveDate>) -> chrono::NaiveDate {
        let today = Utc::now().date_naive();
        let mut users = self.touched();
        users.extend(self.due_retries());
        if last_day != Some(today) {
            users.extend(self.all_users());
        }
        self.refresh_users(users).await;
        today
    }

    /// Runs the worker until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut day = None;
        loop {
            day = Some(self.process(day).await);
            let retry_in = self
                .next_retry()
                .map(|due| due.saturating_duration_since(std::time::Instant::now()))
                .unwrap_or(TICK)
                .min(TICK);
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.store().wait_for_changes() => {}
                _ = tokio::time::sleep(retry_in) => {}
            }
        }
    }
}
