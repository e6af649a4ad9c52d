//! `sync` and `status`: running the sync now, and reporting each
//! connection's health, the outbox and the derived views.

use std::fmt::Write as _;

use crate::ids::{ConnectionId, TenantId};
use crate::state::App;
use crate::store::ConnectionState;
use crate::sync;
use crate::upstream;

use super::{Response, AUTH_ADVICE};

pub(super) async fn sync_now(app: &App, only: Option<&ConnectionId>) -> Response {
    let conns = match app.store.connections() {
        Ok(c) => c,
        Err(e) => return Response::fail(format!("storage failed: {e}\n")),
    };
    let mut out = String::new();
    let mut ok = true;
    for (id, _) in conns.iter().filter(|(c, _)| only.is_none_or(|o| o == c)) {
        if let Err(e) = app.store.update_connection(id, |r| {
            // An explicit sync retries a connection marked "auth failed".
            r.state = ConnectionState::Active;
        }) {
            return Response::fail(format!("storage failed: {e}\n"));
        }
        match app
            .engine
            .sync_and_record(id, std::time::Duration::from_millis(500))
            .await
        {
            Ok(r) => {
                let _ = writeln!(
                    out,
                    "{id}: {} calendars synced, {} fetched, {} removed, {} upstream requests{}",
                    r.calendars_synced,
                    r.fetched,
                    r.deleted,
                    r.requests,
                    if r.incomplete > 0 {
                        " (some objects missing upstream; retried next sync)"
                    } else {
                        ""
                    }
                );
            }
            Err(sync::Error::Upstream(upstream::Error::Unauthorized)) => {
                ok = false;
                let _ = writeln!(out, "{id}: {AUTH_ADVICE}");
            }
            Err(e) => {
                ok = false;
                let _ = writeln!(out, "{id}: sync failed: {}", sync::describe(&e));
            }
        }
    }
    if only.is_some() && conns.iter().all(|(c, _)| Some(c) != only) {
        return Response::fail("no such connection\n".into());
    }
    Response {
        ok,
        output: out,
        cursor: None,
    }
}

fn ts(t: Option<i64>) -> String {
    t.and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|d| d.format("%Y-%m-%d %H:%M:%SZ").to_string())
        .unwrap_or_else(|| "never".into())
}

pub(super) fn status(app: &App) -> Response {
    let conns = match app.store.connections() {
        Ok(c) => c,
        Err(e) => return Response::fail(format!("storage failed: {e}\n")),
    };
    let outbox = app.store.outbox().unwrap_or_default();
    let mut out = String::new();
    if conns.is_empty() {
        out.push_str("no connections (add one with `calproxy connect`)\n");
    }
    for (id, r) in conns {
        let state = match r.state {
            ConnectionState::Active => "active".to_string(),
            ConnectionState::AuthFailed { since } => format!(
                "auth failed since {} — run `calproxy connect` with a new app-specific password",
                ts(Some(since))
            ),
        };
        let cals = app
            .store
            .remote_calendars(&id)
            .map(|c| c.len())
            .unwrap_or(0);
        let tenants: Vec<&str> = r.tenants.iter().map(TenantId::as_str).collect();
        let _ = writeln!(out, "{id}: {} via {}", r.apple_id, r.upstream);
        let _ = writeln!(out, "  state           {state}");
        let label = app.metrics.connection_label(id.as_str());
        let _ = writeln!(out, "  metrics label   {label}");
        let _ = writeln!(out, "  tenants         {}", tenants.join(", "));
        let _ = writeln!(out, "  calendars       {cals}");
        let _ = writeln!(out, "  last sync       {}", ts(r.last_sync));
        let _ = writeln!(
            out,
            "  last error      {}",
            r.last_error.as_deref().unwrap_or("none")
        );
        let _ = writeln!(
            out,
            "  throttled until {}",
            r.throttled_until.map_or("-".into(), |t| ts(Some(t)))
        );
        let depth = outbox.iter().filter(|q| q.entry.connection == id).count();
        let _ = writeln!(out, "  outbox          {depth} waiting");
    }
    let views = app.views.status();
    if views.stale.is_empty() {
        let _ = writeln!(out, "views: all current ({} refreshes)", views.refreshed);
    } else {
        let _ = writeln!(
            out,
            "views: {} waiting for a retry ({} failed refreshes so far)",
            views.stale.len(),
            views.failures
        );
        for v in &views.stale {
            let _ = writeln!(
                out,
                "  {} availability/: {} (attempt {})",
                v.user, v.error, v.attempts
            );
        }
    }
    Response::ok(out)
}
