//! SYNC ENGINE: keeps the store fresh from upstream, and the outbox that
//! carries system events the other way. No HTTP server knowledge and no XML.
//!
//! `plan` decides (pure), `execute` does one sync of one CalDAV
//! connection, `feed` one poll of an ICS feed, `materialize` copies remote
//! objects into the users' collections, `clients` keeps one upstream
//! client per connection, `outbox` pushes system events (plan → execute as
//! well), and [`Engine::run`] runs one task per connection on an interval
//! with jitter, backing off on throttling (Retry-After with an exponential
//! floor), stopping on 401 until the user connects again ("reconnect
//! required"), listing everything in full once a day (jittered) to catch
//! what sync-collection missed, and polling feeds as often as they ask.
//! Safe sync: deletions a listing asks for that look like a bad listing
//! (`plan::deletion_guard`) are held, not applied, until confirmed.

pub mod clients;
pub mod execute;
pub mod feed;
pub mod materialize;
pub mod outbox;
pub mod plan;
pub mod progress;

pub use clients::Clients;
pub use execute::{ListedCalendar, SyncOptions, SyncReport};
pub use feed::FeedProblem;
pub use outbox::Outbox;
pub use progress::{FailureKind, ProgressMap, SyncProgress};

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::{FeedLimits, SyncSettings};
use crate::ids::ConnectionId;
use crate::metrics::Metrics;
use crate::store::{ConnectionState, Store};

/// Objects fetched or deleted by one sync from which its memory is given
/// back to the system at once (`crypto::trim`).
const TRIM_AFTER_OBJECTS: usize = 1000;

/// Errors of the sync layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Upstream failed.
    #[error("upstream failed")]
    Upstream(#[from] crate::upstream::Error),
    /// The store failed.
    #[error("storage failed")]
    Store(#[from] crate::store::Error),
    /// No such connection.
    #[error("connection {id} not found")]
    NoConnection {
        /// Its id.
        id: ConnectionId,
    },
    /// The connection's credentials were refused; it is not polled until
    /// `calproxy connect` stores new ones.
    #[error("connection {id} needs a new app-specific password (iCloud answered 401)")]
    AuthFailed {
        /// Its id.
        id: ConnectionId,
    },
    /// An ICS feed could not be used this time (its last good copy stays).
    #[error("ICS feed")]
    Feed(#[from] FeedProblem),
}

impl Error {
    /// The Retry-After iCloud gave, if this was throttling.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Upstream(crate::upstream::Error::Throttled { retry_after, .. }) => *retry_after,
            _ => None,
        }
    }
}

/// One line for `last_error` (the chain, never a secret).
pub fn describe(e: &Error) -> String {
    let mut s = e.to_string();
    let mut cur = std::error::Error::source(e);
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// The sync engine: store, upstream clients, metrics and its settings.
/// Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    store: Store,
    clients: Clients,
    metrics: Arc<Metrics>,
    progress: ProgressMap,
    settings: Arc<SyncSettings>,
    feeds: FeedLimits,
}

impl Engine {
    /// An engine over these handles.
    pub fn new(
        store: &Store,
        clients: &Clients,
        metrics: &Arc<Metrics>,
        settings: &SyncSettings,
        feeds: FeedLimits,
    ) -> Self {
        Self {
            store: store.clone(),
            clients: clients.clone(),
            metrics: metrics.clone(),
            progress: ProgressMap::default(),
            settings: Arc::new(settings.clone()),
            feeds,
        }
    }

    /// The safety settings (hold share, full reconciliation period).
    pub fn settings(&self) -> &SyncSettings {
        &self.settings
    }

    /// The progress of running syncs (and how the last one of each connection ended).
    pub fn progress(&self) -> &ProgressMap {
        &self.progress
    }

    /// The upstream clients.
    pub fn clients(&self) -> &Clients {
        &self.clients
    }

    /// One sync with bookkeeping: records errors, throttling and 401s in the
    /// connection record. A 401 is retried once after `auth_retry` (ICLOUD.md
    /// §5.1: a 401 can be transient) before the connection is marked.
    pub async fn sync_and_record(
        &self,
        conn: &ConnectionId,
        auth_retry: Duration,
    ) -> Result<SyncReport, Error> {
        self.sync_and_record_with(conn, auth_retry, SyncOptions::default())
            .await
    }

    /// [`Engine::sync_and_record`] with options: held deletions confirmed,
    /// or a full reconciliation (which schedules the next one).
    pub async fn sync_and_record_with(
        &self,
        conn: &ConnectionId,
        auth_retry: Duration,
        opts: SyncOptions,
    ) -> Result<SyncReport, Error> {
        let started = std::time::Instant::now();
        let mut result = self.sync_connection_with(conn, opts).await;
        if matches!(
            result,
            Err(Error::Upstream(crate::upstream::Error::Unauthorized))
        ) {
            tokio::time::sleep(auth_retry).await;
            result = self.sync_connection_with(conn, opts).await;
        }
        if let Ok(report) = &result {
            if report.full {
                self.metrics
                    .observe_full_reconciliation(conn.as_str(), report.fetched + report.deleted);
            }
            if report.fetched + report.deleted >= TRIM_AFTER_OBJECTS {
                // A large sync (the first one of a big account) leaves its
                // parsed batches freed in thread arenas, which glibc keeps:
                // 100,000 objects left the process at ~650 MiB. Give them
                // back, off the async threads.
                tokio::task::spawn_blocking(crate::crypto::trim);
            }
        }
        if let Err(e) = &result {
            let msg = describe(e);
            let now = chrono::Utc::now().timestamp();
            let unauthorized = matches!(e, Error::Upstream(crate::upstream::Error::Unauthorized));
            let retry = e.retry_after();
            let _ = self.store.update_connection(conn, |r| {
                r.last_error = Some(msg.clone());
                if unauthorized {
                    r.state = ConnectionState::AuthFailed { since: now };
                }
                if let Some(d) = retry {
                    r.throttled_until = Some(now + d.as_secs() as i64);
                }
            });
            let _ = self.store.flush().await;
            tracing::warn!(connection = %conn, error = %msg, "sync failed");
        }
        self.metrics
            .observe_sync(conn.as_str(), result.is_ok(), started.elapsed());
        result
    }
}

/// Settings of the background engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Time between ticks of one connection.
    pub interval: Duration,
    /// Random extra delay up to this, so connections do not tick together.
    pub jitter: Duration,
    /// Wait before retrying a 401 once.
    pub auth_retry: Duration,
}

impl EngineConfig {
    /// Ticks every `interval`, with up to a tenth of it as jitter.
    pub fn every(interval: Duration) -> Self {
        Self {
            interval,
            jitter: interval / 10,
            ..Self::default()
        }
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(60),
            jitter: Duration::from_secs(6),
            auth_retry: Duration::from_secs(5),
        }
    }
}

impl Engine {
    /// Runs background sync until `shutdown`: one task per connection, new
    /// connections picked up every interval.
    pub async fn run(self, cfg: EngineConfig, shutdown: CancellationToken) {
        let mut tasks: HashMap<ConnectionId, tokio::task::JoinHandle<()>> = HashMap::new();
        loop {
            if let Ok(conns) = self.store.connections() {
                for (id, _) in conns {
                    let running = tasks.get(&id).is_some_and(|t| !t.is_finished());
                    if !running {
                        let (me, cfg, stop) = (self.clone(), cfg.clone(), shutdown.clone());
                        let id2 = id.clone();
                        tasks.insert(
                            id,
                            tokio::spawn(async move { me.connection_loop(id2, cfg, stop).await }),
                        );
                    }
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(cfg.interval) => {}
            }
        }
        for (_, t) in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
    }

    async fn connection_loop(
        self,
        id: ConnectionId,
        cfg: EngineConfig,
        shutdown: CancellationToken,
    ) {
        connection_loop(&self, id, cfg, shutdown).await
    }
}

async fn connection_loop(
    engine: &Engine,
    id: ConnectionId,
    cfg: EngineConfig,
    shutdown: CancellationToken,
) {
    let mut failures = 0u32;
    loop {
        let now = chrono::Utc::now().timestamp();
        let wait = match engine.store.connection(&id) {
            Ok(Some(rec)) if matches!(rec.state, ConnectionState::AuthFailed { .. }) => {
                // "Reconnect required": stopped until `connect` stores a new
                // password; check again later.
                cfg.interval
            }
            Ok(Some(rec))
                if rec.feed().is_some_and(|f| {
                    !plan::feed_due(
                        now,
                        &f.poll,
                        rec.last_error.is_some(),
                        cfg.interval,
                        &engine.feeds,
                    )
                }) =>
            {
                // An ICS feed asked not to be polled this often.
                cfg.interval
            }
            Ok(Some(rec)) => match engine
                .sync_and_record_with(
                    &id,
                    cfg.auth_retry,
                    SyncOptions {
                        full: rec.feed().is_none() && plan::full_due(now, rec.next_full_sync),
                        ..SyncOptions::default()
                    },
                )
                .await
            {
                Ok(report) => {
                    failures = 0;
                    tracing::debug!(connection = %id, ?report, "sync done");
                    cfg.interval + jitter(cfg.jitter)
                }
                Err(e) => {
                    failures += 1;
                    if e.retry_after().is_some() || is_transient(&e) {
                        plan::backoff(failures, e.retry_after())
                    } else {
                        cfg.interval
                    }
                }
            },
            Ok(None) => return, // connection removed
            Err(e) => {
                tracing::error!(connection = %id, error = %e, "cannot read connection");
                cfg.interval
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

fn is_transient(e: &Error) -> bool {
    matches!(e, Error::Upstream(u) if u.is_transient())
}

fn jitter(max: Duration) -> Duration {
    if max.is_zero() {
        return Duration::ZERO;
    }
    Duration::from_millis(rand::random::<u64>() % (max.as_millis() as u64 + 1))
}
