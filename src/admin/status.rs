//! `sync` and `status`: running the sync now (`--confirm-deletions`
//! applies what safe sync held back), and reporting each connection's
//! health, the outbox and the derived views.

use std::fmt::Write as _;

use crate::state::App;
use crate::store::ConnectionState;
use crate::sync;
use crate::upstream;

use super::{overview, Response, SyncArgs, AUTH_ADVICE, RECONNECT_HOW, RECONNECT_REQUIRED};

pub(super) async fn sync_now(app: &App, args: &SyncArgs) -> Response {
    let only = args.connection.as_ref();
    let opts = sync::SyncOptions {
        confirm_deletions: args.confirm_deletions,
        ..sync::SyncOptions::default()
    };
    let conns = match app.store.connections() {
        Ok(c) => c,
        Err(e) => return Response::fail(format!("storage failed: {e}\n")),
    };
    let mut out = String::new();
    let mut ok = true;
    for (id, rec) in conns.iter().filter(|(c, _)| only.is_none_or(|o| o == c)) {
        if let Err(e) = app.store.update_connection(id, |r| {
            // An explicit sync retries a connection marked "auth failed".
            r.state = ConnectionState::Active;
        }) {
            return Response::fail(format!("storage failed: {e}\n"));
        }
        match app
            .engine
            .sync_and_record_with(id, std::time::Duration::from_millis(500), opts)
            .await
        {
            Ok(r) if r.not_modified => {
                let _ = writeln!(
                    out,
                    "{id}: the feed is unchanged (304 Not Modified), 1 request"
                );
            }
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
                if r.confirmed > 0 {
                    let _ = writeln!(
                        out,
                        "{id}: {} held deletions confirmed and applied",
                        r.confirmed
                    );
                }
                if r.held > 0 {
                    let _ = writeln!(
                        out,
                        "{id}: held: {} deletions need confirmation (nothing was deleted; check iCloud, then run `calproxy sync --confirm-deletions`)",
                        r.held
                    );
                }
            }
            Err(sync::Error::Upstream(upstream::Error::Unauthorized))
                if rec.last_sync.is_some() =>
            {
                // It worked before: the password was revoked (ICLOUD.md §1.4).
                ok = false;
                let _ = writeln!(out, "{id}: {RECONNECT_REQUIRED}\n  {RECONNECT_HOW}");
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
