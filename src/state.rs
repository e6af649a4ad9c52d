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
    /// Admission of request work to the blocking pool (a total and a
    /// per-user share).
    pub jobs: Arc<crate::jobs::Jobs>,
    /// The bounded password-hashing pool (`max_concurrent_hashes`,
    /// `hash_queue`): Basic auth and the console's sign-in both use it.
    pub hashes: Arc<crate::crypto::Hasher<bool>>,
    /// Rendered REPORT answers, by the digest of what they depend on.
    pub answers: Arc<crate::answers::Answers>,
    /// Rendered `<response>`s of single objects (`handlers::report`).
    pub responses: Arc<crate::answers::Answers>,
    /// The members of kept calendar-query answers, patched into the
    /// answer for the collection's next state (`handlers::report`).
    pub bases: Arc<crate::answers::Bases>,
}

impl App {
    /// Builds the state around an opened store.
    pub fn new(store: Store, config: Config) -> Self {
        let metrics = Arc::new(Metrics::with_label_key(store.label_key()));
        let clients = Clients::new(&store, &metrics, config.traffic, config.feeds);
        let views = Views::new(&store, config.availability.clone(), &metrics);
        Self {
            jobs: Arc::new(crate::jobs::Jobs::new(config.limits.blocking_jobs)),
            answers: Arc::new(crate::answers::Answers::new(
                config.limits.answer_cache_bytes,
            )),
            responses: Arc::new(crate::answers::Answers::new(
                config.limits.response_cache_bytes,
            )),
            bases: Arc::new(crate::answers::Bases::new(config.limits.answer_cache_bytes)),
            hashes: Arc::new(crate::crypto::Hasher::new(
                config.limits.max_concurrent_hashes,
                config.limits.hash_queue,
            )),
            engine: Engine::new(&store, &clients, &metrics, &config.sync, config.feeds),
            outbox: Outbox::new(&store, &clients),
            views,
            clients,
            metrics,
            config: Arc::new(config),
            store,
        }
    }

    /// A fresh expansion budget for one request (`limits.expansion_budget`).
    pub fn expansion_budget(&self) -> Arc<crate::ical::ExpandBudget> {
        Arc::new(crate::ical::ExpandBudget::new(
            self.config.limits.expansion_budget,
        ))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_configured_expansion_budget_defaults_to_ical_s() {
        assert_eq!(
            crate::config::Limits::default().expansion_budget,
            crate::ical::DEFAULT_REQUEST_BUDGET
        );
    }
}
