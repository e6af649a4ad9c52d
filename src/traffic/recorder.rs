//! The recorder: an upstream [`Observer`] that redacts each exchange into
//! an [`Entry`], appends it to the store's bounded log and counts it.

use std::sync::Arc;

use crate::config::TrafficLimits;
use crate::ids::ConnectionId;
use crate::metrics::Metrics;
use crate::store::Store;
use crate::upstream::{Observed, Observer};

use super::{Entry, Redactor, Trigger};

/// Records the exchanges of one connection.
#[derive(Clone)]
pub struct Recorder {
    store: Store,
    metrics: Arc<Metrics>,
    limits: TrafficLimits,
    connection: ConnectionId,
    redactor: Redactor,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("connection", &self.connection)
            .finish_non_exhaustive()
    }
}

impl Recorder {
    /// A recorder for `connection`'s exchanges, removing `redactor`'s secrets.
    pub fn new(
        store: &Store,
        metrics: &Arc<Metrics>,
        limits: TrafficLimits,
        connection: &ConnectionId,
        redactor: Redactor,
    ) -> Self {
        Self {
            store: store.clone(),
            metrics: metrics.clone(),
            limits,
            connection: connection.clone(),
            redactor,
        }
    }

    /// The redacted entry for one observed exchange.
    pub fn entry(&self, o: &Observed<'_>, trigger: Trigger) -> Entry {
        let r = &self.redactor;
        let mut request_headers = Vec::new();
        if o.authenticated {
            request_headers.push(("authorization".to_string(), super::REDACTED.to_string()));
        }
        request_headers.extend(r.headers(o.request_headers));
        let (status, error, response_headers, response_body, response_bytes) = match o.outcome {
            Ok(ex) => (
                Some(ex.status),
                None,
                r.headers(&ex.headers),
                r.body(&ex.body),
                ex.body.len(),
            ),
            Err(e) => (
                None,
                Some(r.text(&e.to_string())),
                Vec::new(),
                String::new(),
                0,
            ),
        };
        Entry {
            started_ms: o.started_ms,
            connection: Some(self.connection.to_string()),
            trigger,
            method: o.method.to_string(),
            url: r.text(&o.url.to_string()),
            request_headers,
            request_body: r.body(o.request_body),
            request_bytes: o.request_body.len(),
            status,
            error,
            response_headers,
            response_body,
            response_bytes,
            duration_ms: o.elapsed.as_secs_f64() * 1000.0,
        }
    }

    /// Keeps one entry: appended to the log, counted in the metrics.
    pub fn keep(&self, e: &Entry) {
        self.metrics
            .record_upstream(self.connection.as_str(), e.status);
        match serde_json::to_vec(e) {
            Ok(json) => {
                if let Err(err) = self.store.append_traffic(e.started_ms, &json, &self.limits) {
                    tracing::warn!(error = %err, "traffic not recorded");
                }
            }
            Err(err) => tracing::warn!(error = %err, "traffic not encoded"),
        }
    }

    /// The observer to give an upstream client for requests made for `trigger`.
    pub fn observer(&self, trigger: Trigger) -> Observer {
        let me = self.clone();
        Arc::new(move |o: &Observed<'_>| me.keep(&me.entry(o, trigger)))
    }
}
