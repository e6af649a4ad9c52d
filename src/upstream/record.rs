//! Traffic recording: every exchange with an upstream becomes an [`Entry`]
//! with secrets redacted *before* anything leaves this module: the
//! `Authorization`, cookie and `X-MobileMe-AuthToken` headers, and the
//! app-specific password (and its Basic token) wherever else it appears.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Largest body kept per request or response.
pub const BODY_CAP: usize = 64 * 1024;

/// What made the request.
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

/// Where entries go (the sync layer stores them). Called synchronously.
pub type Sink = Arc<dyn Fn(Entry) + Send + Sync>;

/// Who records, for which connection, and why.
#[derive(Clone)]
pub struct Recorder {
    /// The sink.
    pub sink: Sink,
    /// Connection id.
    pub connection: Option<String>,
    /// Trigger.
    pub trigger: Trigger,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("connection", &self.connection)
            .field("trigger", &self.trigger)
            .finish()
    }
}

const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-mobileme-authtoken",
];

/// The placeholder for redacted values.
pub const REDACTED: &str = "<redacted>";

/// Removes secrets from recorded text.
#[derive(Clone)]
pub struct Redactor {
    needles: Vec<String>,
}

impl Redactor {
    /// A redactor for these secret strings (password, Basic token, …).
    pub fn new(secrets: Vec<String>) -> Self {
        Self {
            needles: secrets.into_iter().filter(|s| s.len() >= 4).collect(),
        }
    }

    /// Text with every secret replaced.
    pub fn text(&self, s: &str) -> String {
        let mut out = s.to_string();
        for n in &self.needles {
            if out.contains(n.as_str()) {
                out = out.replace(n.as_str(), REDACTED);
            }
        }
        out
    }

    /// Headers with secret ones replaced and secrets removed from the rest.
    pub fn headers(&self, h: &http::HeaderMap) -> Vec<(String, String)> {
        h.iter()
            .map(|(k, v)| {
                let name = k.as_str().to_string();
                let value = if SECRET_HEADERS.contains(&k.as_str()) {
                    REDACTED.to_string()
                } else {
                    self.text(&String::from_utf8_lossy(v.as_bytes()))
                };
                (name, value)
            })
            .collect()
    }

    /// A body, capped at [`BODY_CAP`] (on a char boundary) and redacted.
    pub fn body(&self, b: &[u8]) -> String {
        let text = String::from_utf8_lossy(b);
        let mut end = text.len().min(BODY_CAP);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        self.text(&text[..end])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_headers_and_strings_are_redacted() {
        let r = Redactor::new(vec!["abcd-efgh-ijkl-mnop".into()]);
        let mut h = http::HeaderMap::new();
        h.insert("authorization", "Basic xyz".parse().unwrap());
        h.insert("x-mobileme-authtoken", "tok".parse().unwrap());
        h.insert("x-other", "has abcd-efgh-ijkl-mnop inside".parse().unwrap());
        let out = r.headers(&h);
        assert!(out
            .iter()
            .all(|(_, v)| !v.contains("xyz") && !v.contains("tok") && !v.contains("abcd-efgh")));
        assert_eq!(r.body(b"pw=abcd-efgh-ijkl-mnop"), "pw=<redacted>");
    }

    #[test]
    fn bodies_are_capped_on_char_boundaries() {
        let r = Redactor::new(vec![]);
        let big = "é".repeat(BODY_CAP);
        assert!(r.body(big.as_bytes()).len() <= BODY_CAP);
    }
}
