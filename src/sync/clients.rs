//! One long-lived upstream client per connection.
//!
//! A client (and its connection pool, TLS sessions included) is built the
//! first time a connection is used and kept until the connection's
//! credentials or upstream URL change. Every use gets a handle whose
//! exchanges are recorded (redacted) under the use's [`Trigger`]. An ICS
//! feed's client has no credentials, reads at most the feed size limit,
//! and its recorder redacts the feed URL's path (it may be a secret).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::config::{FeedLimits, TrafficLimits};
use crate::ids::ConnectionId;
use crate::metrics::Metrics;
use crate::store::{ConnectionRecord, SourceKind, Store};
use crate::traffic::{Recorder, Redactor, Trigger};
use crate::upstream::feed::FeedUrl;
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
    feeds: FeedLimits,
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
    if let SourceKind::IcsFeed(f) = &rec.source {
        h.update([1]);
        h.update(&f.sealed_url);
    }
    h.finalize().into()
}

impl Clients {
    /// An empty registry over `store` (which unseals the passwords).
    pub fn new(
        store: &Store,
        metrics: &Arc<Metrics>,
        limits: TrafficLimits,
        feeds: FeedLimits,
    ) -> Self {
        Self {
            store: store.clone(),
            metrics: metrics.clone(),
            limits,
            feeds,
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
                let (client, recorder) = match &rec.source {
                    SourceKind::CalDav => {
                        let creds = Credentials {
                            user: rec.apple_id.clone(),
                            password: self.store.unseal(&rec.sealed_password)?,
                        };
                        self.build(id, &rec.upstream, &creds)?
                    }
                    SourceKind::IcsFeed(f) => {
                        let url = self.store.unseal(&f.sealed_url)?;
                        let url = crate::upstream::feed::parse_url(url.expose())?;
                        self.build_feed(id, &url)?
                    }
                };
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

    /// A client for an ICS feed that is not stored yet (`connect --ics`
    /// tries it first), recorded under connection `id`.
    pub fn ephemeral_feed(
        &self,
        id: &ConnectionId,
        url: &FeedUrl,
        trigger: Trigger,
    ) -> Result<Client, Error> {
        let (client, recorder) = self.build_feed(id, url)?;
        Ok(client.with_observer(recorder.observer(trigger)))
    }

    fn build_feed(&self, id: &ConnectionId, url: &FeedUrl) -> Result<(Client, Recorder), Error> {
        let client = Client::anonymous(&url.fetch, self.feeds.timeout, self.feeds.max_bytes)?;
        let recorder = Recorder::new(
            &self.store,
            &self.metrics,
            self.limits,
            id,
            Redactor::new(url.secret.iter().cloned().collect()),
        );
        self.built
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok((client, recorder))
    }

    /// The limits of feed polls.
    pub fn feed_limits(&self) -> FeedLimits {
        self.feeds
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
