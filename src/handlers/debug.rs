//! `/debug/traffic.har`: the recorded upstream traffic as HAR 1.2, for a
//! local admin only (the server checks that). Entries were redacted when
//! they were recorded.

use hyper::StatusCode;

use crate::state::App;
use crate::sync::traffic;
use crate::upstream::har;

use super::{Reply, Result};

/// Most entries one export returns.
pub const EXPORT_LIMIT: usize = 10_000;

/// Filters from the query string: `connection=ID`, `since=<unix ms>`.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    /// Only this connection.
    pub connection: Option<String>,
    /// Only entries that started at or after this (unix ms).
    pub since_ms: Option<i64>,
}

impl Filter {
    /// Parses `a=b&c=d`; unknown keys are ignored.
    pub fn from_query(q: Option<&str>) -> Self {
        let mut f = Filter::default();
        for pair in q.unwrap_or("").split('&') {
            match pair.split_once('=') {
                Some(("connection", v)) => f.connection = Some(v.to_string()),
                Some(("since", v)) => f.since_ms = v.parse().ok(),
                _ => {}
            }
        }
        f
    }
}

/// The HAR document for a filter.
pub fn export(app: &App, f: &Filter) -> Result<serde_json::Value> {
    let entries = traffic::entries_after(app, 0, EXPORT_LIMIT)?;
    let kept: Vec<_> = entries
        .iter()
        .map(|(_, e)| e)
        .filter(|e| {
            f.connection
                .as_ref()
                .is_none_or(|c| e.connection.as_deref() == Some(c.as_str()))
        })
        .filter(|e| f.since_ms.is_none_or(|s| e.started_ms >= s))
        .collect();
    Ok(har::document(kept))
}

/// Serves the HAR.
pub fn har(app: &App, query: Option<&str>) -> Result<Reply> {
    let doc = export(app, &Filter::from_query(query))?;
    Ok(
        Reply::with_type(StatusCode::OK, "application/json", doc.to_string()).header(
            hyper::header::CONTENT_DISPOSITION,
            "attachment; filename=\"calproxy-traffic.har\"",
        ),
    )
}
