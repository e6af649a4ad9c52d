//! `/debug/traffic.har` (the recorded upstream traffic as HAR 1.2, for a
//! local admin only; entries were redacted when recorded) and `/metrics`.

use hyper::StatusCode;

use crate::state::App;
use crate::traffic::{self, Filter};

use super::{Reply, Result};

/// Most entries one export returns.
pub const EXPORT_LIMIT: usize = traffic::query::EXPORT_LIMIT;

/// Serves the HAR of the entries a filter selects.
pub(super) fn har(app: &App, filter: &Filter) -> Result<Reply> {
    let entries = traffic::query::select(&app.store, filter)?;
    let doc = traffic::har::document(entries.iter().map(|r| &r.entry));
    Ok(
        Reply::with_type(StatusCode::OK, "application/json", doc.to_string()).header(
            hyper::header::CONTENT_DISPOSITION,
            "attachment; filename=\"calproxy-traffic.har\"",
        ),
    )
}

/// Deletions held by safe sync, over every connection.
fn held_deletions(app: &App) -> u64 {
    let Ok(conns) = app.store.connections() else {
        return 0;
    };
    conns
        .iter()
        .flat_map(|(id, _)| app.store.held_deletions(id).unwrap_or_default())
        .map(|(_, h)| h.hrefs.len() as u64)
        .sum()
}

/// The Prometheus exposition, with the gauges read now.
pub(super) fn metrics(app: &App) -> Reply {
    let gauges = crate::metrics::Gauges {
        outbox_depth: app.store.outbox_len() as u64,
        store_bytes: app.store.size_on_disk().unwrap_or(0),
        traffic_entries: app.store.traffic_size().entries,
        views_stale: app.views.status().stale.len() as u64,
        object_expansions: app.store.derivations(),
        held_deletions: held_deletions(app),
        answers: {
            let s = app.answers.stats();
            let patched = app.bases.patched();
            [s.hits, patched, s.misses.saturating_sub(patched)]
        },
        responses: {
            let s = app.responses.stats();
            (s.hits, s.misses)
        },
    };
    Reply::with_type(
        StatusCode::OK,
        "text/plain; version=0.0.4; charset=utf-8",
        app.metrics.render(&gauges),
    )
}
