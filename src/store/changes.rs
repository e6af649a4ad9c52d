//! The change feed: which collections and users changed since a consumer
//! last looked. Every write API of the store reports here after it
//! committed; the derived views (`views`) drain it. In memory only: after a
//! restart the views compare what they were derived from (their stamps)
//! with the store, so nothing depends on a notification surviving a crash.

use std::collections::BTreeSet;
use std::sync::Mutex;

use tokio::sync::Notify;

use crate::ids::{CollectionKey, UserRef};

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Change {
    /// A collection was created or removed, or its members changed.
    Collection(CollectionKey),
    /// A user's settings (time zone, addresses, privacy) or links changed.
    User(UserRef),
}

/// Pending changes and a wake-up for the consumer.
#[derive(Debug, Default)]
pub(crate) struct ChangeFeed {
    pending: Mutex<BTreeSet<Change>>,
    notify: Notify,
}

impl ChangeFeed {
    pub(crate) fn push(&self, change: Change) {
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(change);
        // A stored permit wakes the next waiter even if none waits now.
        self.notify.notify_one();
    }

    pub(crate) fn take(&self) -> Vec<Change> {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()))
            .into_iter()
            .collect()
    }

    pub(crate) async fn wait(&self) {
        self.notify.notified().await;
    }
}
