//! `App`: the shared handles cloned into every connection, and how they are
//! wired together. No logic.

use std::sync::Arc;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::store::Store;
use crate::sync::{Clients, Engine, Outbox};
use crate::views::Views;

/// Shared application state. Cheap to clone.
#[derive(Clone)]
pub struct App {
    /// The embedded store.
    pub store: Store,
    /// Runtime configuration.
    pub config: Arc<Config>,
    /// Request and sync counters.
    pub metrics: Arc<Metrics>,
    /// The derived views (busy time, `availability/`, feeds).
    pub views: Views,
    /// One upstream client per connection.
    pub clients: Clients,
    /// The sync engine.
    pub engine: Engine,
    /// The outbox of system events (R1, R10).
    pub outbox: Outbox,
}

impl App {
    /// Builds the state around an opened store.
    pub fn new(store: Store, config: Config) -> Self {
        let metrics = Arc::new(Metrics::with_label_key(store.label_key()));
        let clients = Clients::new(&store, &metrics, config.traffic);
        let views = Views::new(&store, config.availability.clone(), &metrics);
        Self {
            engine: Engine::new(&store, &clients, &metrics),
            outbox: Outbox::new(&store, &clients),
            views,
            clients,
            metrics,
            config: Arc::new(config),
            store,
        }
    }
}
