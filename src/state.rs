//! `App`: the shared handles cloned into every connection. No logic.

use std::sync::Arc;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::server::auth::AuthCache;
use crate::store::Store;

/// Shared application state. Cheap to clone.
#[derive(Clone)]
pub struct App {
    /// The embedded store.
    pub store: Store,
    /// Runtime configuration.
    pub config: Arc<Config>,
    /// Verified credentials, so argon2 runs once per client session.
    pub auth: AuthCache,
    /// Request counters.
    pub metrics: Arc<Metrics>,
    /// Wakes the outbox worker after a client write (R1: pushed at once).
    pub outbox: Arc<tokio::sync::Notify>,
    /// Per-object busy intervals for the cached window (R9 performance).
    pub busy: Arc<crate::availability::BusyCache>,
}

impl App {
    /// Builds the state around an opened store.
    pub fn new(store: Store, config: Config) -> Self {
        let ttl = config.limits.auth_cache_ttl;
        Self {
            store,
            config: Arc::new(config),
            auth: AuthCache::new(ttl),
            metrics: Arc::new(Metrics::default()),
            outbox: Arc::new(tokio::sync::Notify::new()),
            busy: Arc::default(),
        }
    }
}
