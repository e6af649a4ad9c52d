//! The outbox (R1, R10): system events reach the primary iCloud calendar
//! exactly once. A client's write is stored together with an outbox entry
//! (one sled transaction); the request path then hands the entry to
//! [`Outbox::push_now`], and the background worker ([`Outbox::run`])
//! retries whatever is left, with backoff, in acceptance order.
//!
//! What to send and what an answer means is decided by the pure [`plan`];
//! [`push`] performs the requests and settles the outcome in the store.
//! A [`claims`] set makes sure the request path and the worker never push
//! the same upstream object at once.

pub mod claims;
pub mod plan;
mod push;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::store::{self, Queued, Store};

use super::clients::Clients;
use claims::Claims;

/// How long a client's write may wait for its first push; after that it is
/// acknowledged (it is durable) and the push goes on in the background.
pub const PUSH_NOW_TIMEOUT: Duration = Duration::from_secs(5);

/// How one push ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Upstream has it (or iCloud's own version was adopted); the entry is gone.
    Delivered,
    /// Upstream refused it for good; the local copy was removed.
    Rejected {
        /// Upstream status.
        status: u16,
        /// Why, one line.
        reason: String,
    },
    /// Not now (network, throttling, 5xx, not yet due, pushed elsewhere).
    Deferred {
        /// Why, one line.
        reason: String,
    },
}

/// Counts of one drain.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DrainReport {
    /// Entries delivered.
    pub delivered: usize,
    /// Entries refused for good.
    pub rejected: usize,
    /// Entries left for later.
    pub deferred: usize,
}

/// The outbox handle: pushes entries, runs the worker. Cheap to clone.
#[derive(Clone)]
pub struct Outbox {
    store: Store,
    clients: Clients,
    claims: Claims,
    wake: Arc<Notify>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Outbox")
    }
}

impl Outbox {
    /// An outbox over `store`, pushing through `clients`.
    pub fn new(store: &Store, clients: &Clients) -> Self {
        Self {
            store: store.clone(),
            clients: clients.clone(),
            claims: Claims::default(),
            wake: Arc::default(),
        }
    }

    /// Wakes the worker (it drains at once).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// The first push of a just-queued entry, made before the client is
    /// answered (R1: "pushed to iCloud at once"), so that a definitive
    /// refusal reaches the client. The entry is handed over as it was
    /// queued: nothing is re-read or scanned. When an earlier change of the
    /// same event is still pending, or the worker is pushing it, the worker
    /// is woken instead. A push that takes longer than
    /// [`PUSH_NOW_TIMEOUT`] goes on in the background.
    pub async fn push_now(&self, q: Queued) -> store::Result<Outcome> {
        let e = &q.entry;
        if self
            .store
            .outbox_pending_before(&e.connection, &e.href, q.id)?
        {
            self.wake();
            return Ok(Outcome::Deferred {
                reason: "an earlier change of this event is still waiting".into(),
            });
        }
        let Some(claim) = self.claims.claim(&e.connection, &e.href) else {
            self.wake();
            return Ok(Outcome::Deferred {
                reason: "the outbox worker is delivering this event".into(),
            });
        };
        let me = self.clone();
        let task = tokio::spawn(async move {
            let _claim = claim;
            let outcome = me.push(&q).await;
            me.settle(&q, outcome).await
        });
        match tokio::time::timeout(PUSH_NOW_TIMEOUT, task).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) => {
                tracing::error!(error = %join, "outbox push task failed");
                self.wake();
                Ok(Outcome::Deferred {
                    reason: "the push did not finish".into(),
                })
            }
            Err(_) => Ok(Outcome::Deferred {
                reason: "iCloud did not answer in time".into(),
            }),
        }
    }

    /// Pushes every due entry once, in order. An entry waits while an
    /// earlier one for the same upstream object is pending, or while
    /// another pusher holds its claim.
    pub async fn drain(&self, ignore_schedule: bool) -> store::Result<DrainReport> {
        let now = chrono::Utc::now().timestamp();
        let mut report = DrainReport::default();
        let mut blocked = std::collections::HashSet::new();
        for q in self.store.outbox()? {
            let object = (q.entry.connection.clone(), q.entry.href.clone());
            if blocked.contains(&object) || (!ignore_schedule && q.entry.not_before > now) {
                blocked.insert(object);
                report.deferred += 1;
                continue;
            }
            let Some(claim) = self.claims.claim(&q.entry.connection, &q.entry.href) else {
                blocked.insert(object);
                report.deferred += 1;
                continue;
            };
            let outcome = self.push(&q).await;
            let outcome = self.settle(&q, outcome).await?;
            drop(claim);
            match outcome {
                Outcome::Delivered => report.delivered += 1,
                Outcome::Rejected { .. } => report.rejected += 1,
                Outcome::Deferred { .. } => {
                    blocked.insert(object);
                    report.deferred += 1;
                }
            }
        }
        Ok(report)
    }

    /// Runs the worker until `shutdown`: drains when woken (a client write)
    /// and every `poll` (retries).
    pub async fn run(self, poll: Duration, shutdown: CancellationToken) {
        loop {
            if let Err(e) = self.drain(false).await {
                tracing::error!(error = %e, "outbox drain failed");
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(poll) => {}
            }
        }
    }
}
