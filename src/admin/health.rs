//! `sync`, `status`, `feed show|rotate` and `busy`: running and reporting.

use std::fmt::Write as _;

use crate::ids::{ConnectionId, TenantId, UserId};
use crate::state::App;
use crate::store::ConnectionState;
use crate::sync;
use crate::upstream;

use super::{Response, AUTH_ADVICE};

/// The feed path of a user's token (creating one, or a new one on `rotate`).
pub(super) async fn feed(app: &App, tenant: &TenantId, user: &UserId, rotate: bool) -> Response {
    match crate::accounts::feed_token(&app.store, tenant, user, rotate) {
        Ok(Some(tok)) => {
            let _ = app.store.flush().await;
            Response::ok(format!("/feeds/{}/availability.ics\n", tok.expose()))
        }
        Ok(None) => Response::fail(format!("no user {user}@{tenant}\n")),
        Err(e) => Response::fail(format!("storage failed: {e}\n")),
    }
}

pub(super) fn busy(
    app: &App,
    tenant: &TenantId,
    user: &UserId,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
    json: bool,
) -> Response {
    if !matches!(app.store.user(tenant, user), Ok(Some(_))) {
        return Response::fail(format!("no user {user}@{tenant}\n"));
    }
    if to <= from {
        return Response::fail("--to must be after --from\n".into());
    }
    let window = crate::ical::TimeRange {
        start: from,
        end: to,
    };
    match crate::availability::explain::why_busy(app, tenant, user, window) {
        Ok(items) if json => match serde_json::to_string_pretty(&items) {
            Ok(s) => Response::ok(format!("{s}\n")),
            Err(e) => Response::fail(format!("cannot render: {e}\n")),
        },
        Ok(items) => Response::ok(crate::availability::explain::render_text(&items)),
        Err(e) => Response::fail(format!("storage failed: {e}\n")),
    }
}

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
        match sync::sync_and_record(app, id, std::time::Duration::from_millis(500)).await {
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
    Response::ok(out)
}
