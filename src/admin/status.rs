//! `sync` and `status`: running the sync now, and reporting each
//! connection's health, the outbox and the derived views.

use std::fmt::Write as _;

use crate::ids::ConnectionId;
use crate::state::App;
use crate::store::ConnectionState;
use crate::sync;
use crate::upstream;

use super::{overview, Response, AUTH_ADVICE};

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

pub(super) fn status(app: &App) -> Response {
    match overview::status(app, &overview::Scope::All) {
        Ok(s) => Response::ok(overview::render_status(&s)),
        Err(e) => Response::fail(format!("storage failed: {e}\n")),
    }
}
