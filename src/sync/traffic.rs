//! Glue from the upstream client's recorder to the store's bounded traffic
//! log and the upstream metrics. Entries arrive already redacted.

use std::sync::Arc;

use crate::ids::ConnectionId;
use crate::state::App;
use crate::upstream::record::{Entry, Recorder, Trigger};

/// A recorder that stores every exchange of `conn` and counts it.
pub fn recorder(app: &App, conn: &ConnectionId, trigger: Trigger) -> Recorder {
    let store = app.store.clone();
    let metrics = app.metrics.clone();
    let limits = app.config.traffic;
    let id = conn.to_string();
    Recorder {
        sink: Arc::new(move |e: Entry| {
            metrics.record_upstream(&id, e.status);
            match serde_json::to_vec(&e) {
                Ok(json) => {
                    if let Err(err) = store.append_traffic(e.started_ms, &json, &limits) {
                        tracing::warn!(error = %err, "traffic not recorded");
                    }
                }
                Err(err) => tracing::warn!(error = %err, "traffic not encoded"),
            }
        }),
        connection: Some(conn.to_string()),
        trigger,
    }
}

/// Stored entries with id > `after`, decoded; undecodable ones are skipped.
pub fn entries_after(
    app: &App,
    after: u64,
    limit: usize,
) -> crate::store::Result<Vec<(u64, Entry)>> {
    Ok(app
        .store
        .traffic_after(after, limit)?
        .into_iter()
        .filter_map(|(id, json)| serde_json::from_slice(&json).ok().map(|e| (id, e)))
        .collect())
}
