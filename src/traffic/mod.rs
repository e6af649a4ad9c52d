//! TRAFFIC: everything about recorded upstream exchanges, in one place.
//!
//! `recorder` turns what the upstream client observed into an [`Entry`]
//! with secrets removed (`redact`) *before* it is kept, appends it to the
//! store's bounded traffic log and counts it in the metrics; `query` lists,
//! filters and renders entries (`calproxy traffic …`, the console); `har`
//! exports HAR 1.2 (`/debug/traffic.har`, `traffic export`).
//!
//! Uses `upstream` (the observed exchange and credentials), `store` (the
//! log's bytes) and `metrics`; used by `sync`, `handlers`, `admin`.

pub mod har;
pub mod query;
mod recorder;
pub mod redact;

pub use query::{Filter, Recorded};
pub use recorder::Recorder;
pub use redact::{Redactor, REDACTED};

use serde::{Deserialize, Serialize};

/// What made a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Trigger {
    /// `calproxy connect` discovery.
    Connect,
    /// A sync tick (background or `calproxy sync`).
    #[default]
    SyncTick,
    /// The outbox pushing a system event.
    OutboxPush,
    /// `calproxy probe`.
    Probe,
}

impl Trigger {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Connect => "connect",
            Trigger::SyncTick => "sync",
            Trigger::OutboxPush => "outbox",
            Trigger::Probe => "probe",
        }
    }
}

/// One recorded exchange, already redacted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Unix milliseconds when the request started.
    pub started_ms: i64,
    /// The connection it belongs to.
    pub connection: Option<String>,
    /// What triggered it.
    pub trigger: Trigger,
    /// HTTP method.
    pub method: String,
    /// Full URL.
    pub url: String,
    /// Request headers (redacted).
    pub request_headers: Vec<(String, String)>,
    /// Request body (capped, redacted).
    pub request_body: String,
    /// Request body size before capping.
    pub request_bytes: usize,
    /// Response status, when an answer came.
    pub status: Option<u16>,
    /// The failure, when none came.
    pub error: Option<String>,
    /// Response headers (redacted).
    pub response_headers: Vec<(String, String)>,
    /// Response body (capped, redacted).
    pub response_body: String,
    /// Response body size before capping.
    pub response_bytes: usize,
    /// Milliseconds until the whole answer was read.
    pub duration_ms: f64,
}
