//! Progress of the syncs that are running, per connection: calendars done
//! out of those to sync, events fetched, and how the last attempt ended.
//! The engine writes it as it goes; the console's connections panel and
//! the CLI's progress bar (through `admin`) read it. In memory only.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::ids::ConnectionId;

use super::Error;

/// How the last failed sync of a connection failed, in the words the
/// console shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FailureKind {
    /// The server could not be reached or did not answer.
    Unreachable,
    /// The credentials were refused (401).
    Unauthorized,
    /// The server asked us to wait (503/429).
    Throttled,
    /// Anything else (a refused request, an answer not understood, storage).
    Other,
}

impl FailureKind {
    /// Classifies a sync error.
    pub fn of(e: &Error) -> Self {
        use crate::upstream::Error as U;
        match e {
            Error::Upstream(U::Unreachable { .. } | U::Timeout { .. } | U::BodyRead { .. }) => {
                FailureKind::Unreachable
            }
            Error::Upstream(U::Unauthorized) | Error::AuthFailed { .. } => {
                FailureKind::Unauthorized
            }
            Error::Upstream(U::Throttled { .. }) => FailureKind::Throttled,
            _ => FailureKind::Other,
        }
    }
}

/// One connection's sync, as far as it got.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncProgress {
    /// A sync is running now.
    pub running: bool,
    /// The calendar list has been read (the totals below are known).
    pub listed: bool,
    /// Calendars whose contents changed and are synced in this run.
    pub calendars_total: usize,
    /// Of those, the ones done.
    pub calendars_done: usize,
    /// Events fetched so far in this run.
    pub events_fetched: usize,
    /// How the last finished run failed (`None`: it worked, or none ran yet).
    pub last_failure: Option<FailureKind>,
}

/// Every connection's progress. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct ProgressMap {
    inner: Arc<Mutex<HashMap<ConnectionId, SyncProgress>>>,
}

impl ProgressMap {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<ConnectionId, SyncProgress>) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// A run starts: counts reset, the last outcome kept.
    pub(super) fn begin(&self, id: &ConnectionId) {
        self.with(|m| {
            let p = m.entry(id.clone()).or_default();
            *p = SyncProgress {
                running: true,
                last_failure: p.last_failure,
                ..SyncProgress::default()
            };
        });
    }

    /// Changes a running entry.
    pub(super) fn update(&self, id: &ConnectionId, f: impl FnOnce(&mut SyncProgress)) {
        self.with(|m| f(m.entry(id.clone()).or_default()));
    }

    /// A run ended, with its failure if it failed.
    pub(super) fn finish(&self, id: &ConnectionId, failure: Option<FailureKind>) {
        self.update(id, |p| {
            p.running = false;
            p.last_failure = failure;
        });
    }

    /// Forgets a connection (it was removed).
    pub fn forget(&self, id: &ConnectionId) {
        self.with(|m| m.remove(id));
    }

    /// One connection's progress.
    pub fn get(&self, id: &ConnectionId) -> Option<SyncProgress> {
        self.with(|m| m.get(id).cloned())
    }

    /// Every connection's progress, by id.
    pub fn all(&self) -> Vec<(ConnectionId, SyncProgress)> {
        let mut v: Vec<_> = self.with(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_resets_counts_and_keeps_the_last_outcome() {
        let m = ProgressMap::default();
        let id = ConnectionId::new("c").unwrap();
        m.begin(&id);
        m.update(&id, |p| {
            p.calendars_total = 2;
            p.events_fetched = 5;
        });
        m.finish(&id, Some(FailureKind::Unreachable));
        let p = m.get(&id).unwrap();
        assert!(!p.running);
        assert_eq!(p.events_fetched, 5);
        m.begin(&id);
        let p = m.get(&id).unwrap();
        assert!(p.running);
        assert_eq!(p.events_fetched, 0);
        assert_eq!(p.last_failure, Some(FailureKind::Unreachable));
        m.forget(&id);
        assert!(m.all().is_empty());
    }
}
