//! One long-lived upstream client per connection.
//!
//! A client (and its connection pool, TLS sessions included) is built the
//! first time a connection is used and kept until the connection's
//! credentials or upstream URL change. Every use gets a handle whose
//! exchanges are recorded (redacted) under the use's [`Trigger`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::config::TrafficLimits;
use crate::ids::ConnectionId;
use crate::metrics::Metrics;
use crate::store::{ConnectionRecord, Store};
use crate::traffic::{Recorder, Redactor, Trigger};
use crate::upstream::{Client, Credentials};

use super::Error;

/// Time allowed for one upstream request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

struct Cached {
    /// Hash of what the client was built from (upstream URL, sealed password).
    fingerprint: [u8; 32],
    client: Client,
    recorder: Recorder,
}

/// The registry. Cheap to clone.
#[derive(Clone)]
pub struct Clients {
    store: Store,
    metrics: Arc<Metrics>,
    limits: TrafficLimits,
    cache: Arc<Mutex<HashMap<ConnectionId, Arc<Cached>>>>,
    built: Arc<std::sync::atomic::AtomicU64>,
}

fn fingerprint(rec: &ConnectionRecord) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(rec.upstream.as_bytes());
    h.update([0]);
    h.update(&rec.sealed_password);
    h.update([0]);
    h.update(rec.apple_id.as_bytes());
    h.finalize().into()
}

impl Clients {
    /// An empty registry over `store` (which unseals the passwords).
    pub fn new(store: &Store, metrics: &Arc<Metrics>, limits: TrafficLimits) -> Self {
        Self {
            store: store.clone(),
            metrics: metrics.clone(),
            limits,
            cache: Arc::default(),
            built: Arc::default(),
        }
    }

    /// The client of a stored connection, recording under `trigger`.
    pub fn get(
        &self,
        id: &ConnectionId,
        rec: &ConnectionRecord,
        trigger: Trigger,
    ) -> Result<Client, Error> {
        let fp = fingerprint(rec);
        let cached = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .filter(|c| c.fingerprint == fp)
            .cloned();
        let cached = match cached {
            Some(c) => c,
            None => {
                let creds = Credentials {
                    user: rec.apple_id.clone(),
                    password: self.store.unseal(&rec.sealed_password)?,
                };
                let (client, recorder) = self.build(id, &rec.upstream, &creds)?;
                let c = Arc::new(Cached {
                    fingerprint: fp,
                    client,
                    recorder,
                });
                self.cache
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(id.clone(), c.clone());
                c
            }
        };
        Ok(cached
            .client
            .with_observer(cached.recorder.observer(trigger)))
    }

    /// A client for credentials that are not stored yet (`connect` tries
    /// them before storing), recorded under connection `id`.
    pub fn ephemeral(
        &self,
        id: &ConnectionId,
        upstream: &str,
        creds: &Credentials,
        trigger: Trigger,
    ) -> Result<Client, Error> {
        let (client, recorder) = self.build(id, upstream, creds)?;
        Ok(client.with_observer(recorder.observer(trigger)))
    }

    fn build(
        &self,
        id: &ConnectionId,
        upstream: &str,
        creds: &Credentials,
    ) -> Result<(Client, Recorder), Error> {
        let client = Client::new(upstream, creds, REQUEST_TIMEOUT)?;
        let recorder = Recorder::new(
            &self.store,
            &self.metrics,
            self.limits,
            id,
            Redactor::for_credentials(creds),
        );
        self.built
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok((client, recorder))
    }

    /// How many clients were built so far (tests: one per connection, not one per push).
    pub fn built(&self) -> u64 {
        self.built.load(std::sync::atomic::Ordering::Relaxed)
    }
}
