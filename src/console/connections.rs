//! The Connections panel: every connection the viewer may see (a tenant
//! user: those attached to their tenant; an admin: all) with its state in
//! plain words, last successful sync, last error, calendars found (those
//! that cannot be used greyed, with the reason: R6), outbox depth and the
//! progress of a running sync, which the page's script polls from
//! `/connections/progress`. The forms behind "+ Add connection", "Sync
//! now", "Replace password" and "Remove" live in `connection_forms`.

use hyper::StatusCode;
use maud::{html, Markup};
use serde_json::json;

use crate::admin::overview::{self, CalendarView, ConnectionView, Health, Scope};
use crate::ids::ConnectionId;
use crate::route::{self, ConnectionAction, Page};

use super::page::{self, Answer, Ctx, Nav};
use super::session::Viewer;

pub use super::connection_forms::act;
pub use super::connection_new::{add, add_feed};

/// The connections a viewer may see.
pub fn scope(viewer: &Viewer) -> Scope {
    match viewer {
        Viewer::User(u) => Scope::Tenant(u.tenant.clone()),
        Viewer::Admin(_) => Scope::All,
    }
}

/// The viewer's connections, or the error page.
pub fn visible(ctx: &Ctx<'_>) -> Result<Vec<ConnectionView>, Answer> {
    overview::connections(ctx.app, &scope(&ctx.viewer)).map_err(|e| {
        tracing::error!(error = %e, "console: cannot read connections");
        page::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Storage failed",
            "calproxy could not read its data directory. See its log.",
        )
    })
}

/// One visible connection, or 404.
pub fn one(ctx: &Ctx<'_>, id: &ConnectionId) -> Result<ConnectionView, Answer> {
    visible(ctx)?
        .into_iter()
        .find(|c| &c.id == id)
        .ok_or_else(page::not_found)
}

/// The field of "Sync now" that also applies held deletions
/// (`sync --confirm-deletions`), sent by the button of a held connection.
pub const CONFIRM_FIELD: &str = "confirm_deletions";

fn action_href(id: &ConnectionId, action: ConnectionAction) -> String {
    route::page(&Page::Connection {
        id: id.clone(),
        action,
    })
    .to_string()
}

/// The state in plain words, with what to do about it.
fn state(ctx: &Ctx<'_>, c: &ConnectionView) -> Markup {
    match &c.health {
        Health::Ok => html! { span class="badge ok" { "ok" } },
        Health::NotSyncedYet => html! { span class="badge" { "connected, not synced yet" } },
        Health::Syncing => html! { span class="badge busy" { "syncing" } },
        Health::Throttled { until } => html! {
            span class="badge warn" { "throttled until " (ctx.unix(Some(*until))) }
            p class="help" { "iCloud asked calproxy to slow down; it retries by itself." }
        },
        Health::AuthFailed { since } => html! {
            span class="badge fail" { "reconnect required" }
            p class="help" {
                (crate::admin::RECONNECT_REQUIRED) " (iCloud refuses it since "
                (ctx.unix(Some(*since))) "). Syncing has stopped: create a new app-specific \
                 password at appleid.apple.com (Sign-In and Security > App-Specific Passwords) \
                 and use “Replace password”."
            }
        },
        Health::Held { deletions } => html! {
            span class="badge warn" { "held: " (deletions) " deletions need confirmation" }
            p class="help" {
                "A sync would have removed many events at once (or the server listed none), \
                 so calproxy deleted nothing. Check the calendars in iCloud first; if the \
                 deletions are real, confirm them here (or with "
                code { "calproxy sync --confirm-deletions" } "). Only calproxy's copies \
                 are removed; nothing is deleted in iCloud."
            }
            form method="post" action=(action_href(&c.id, ConnectionAction::Sync)) {
                (ctx.csrf())
                input type="hidden" name=(CONFIRM_FIELD) value="yes";
                button type="submit" class="danger" { "Confirm " (deletions) " deletions" }
            }
        },
        Health::Unreachable => html! {
            span class="badge fail" { "upstream unreachable" }
            p class="help" { "calproxy could not reach the server; it retries with backoff." }
        },
        Health::Failing => html! { span class="badge fail" { "sync failing" } },
    }
}

fn progress_bar(c: &ConnectionView) -> Markup {
    let p = c.progress.clone().unwrap_or_default();
    let running = p.running;
    html! {
        div class="progress" data-progress-for=(c.id.as_str()) hidden[!running] {
            progress max=(p.calendars_total.max(1)) value=(p.calendars_done) aria-label="Calendars synced" {}
            span class="progress-text" {
                @if p.listed {
                    (p.calendars_done) " of " (p.calendars_total) " calendars, "
                } @else {
                    "listing calendars, "
                }
                (p.events_fetched) " events fetched"
            }
        }
    }
}

fn calendars(list: &[CalendarView]) -> Markup {
    html! {
        @if list.is_empty() {
            p { "No calendars found yet." }
        } @else {
            table class="calendars" {
                caption { "Calendars found" }
                thead { tr { th scope="col" { "Calendar" } th scope="col" { "Kind" } th scope="col" { "Access" } th scope="col" { "Can be used" } } }
                tbody {
                    @for cal in list {
                        tr class=[cal.refusal.map(|_| "refused")] {
                            td {
                                @if let Some(col) = &cal.color {
                                    span class="swatch" style=(format!("background:{}", swatch(col))) aria-hidden="true" {}
                                }
                                (cal.name)
                                " " span class="id" { "(" (cal.id.as_str()) ")" }
                            }
                            td { (cal.kind.as_str()) }
                            td { @if cal.read_only { "read-only" } @else { "read-write" } }
                            td {
                                @match cal.refusal {
                                    None => "yes",
                                    Some(why) => { "no: " (why) " (R6)" },
                                }
                                @if let Some(src) = &cal.source {
                                    br; span class="id" { "feed URL: " (src) }
                                }
                                @if let Some(h) = &cal.held {
                                    br; strong { "held: " (h.deletions) " deletions need confirmation" } " (" (h.why()) ")"
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A colour safe to put in a style attribute (`#RGB`, `#RRGGBB`, `#RRGGBBAA`).
pub fn swatch(c: &str) -> &str {
    let ok = c.starts_with('#')
        && matches!(c.len(), 4 | 7 | 9)
        && c[1..].bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        c
    } else {
        "#888"
    }
}

fn connection(ctx: &Ctx<'_>, c: &ConnectionView) -> Markup {
    let heading = format!("conn-{}", c.id);
    html! {
        section class="card connection" aria-labelledby=(heading) data-connection=(c.id.as_str()) {
            h2 id=(heading) { (c.apple_id) " " span class="id" { "(" (c.id.as_str()) ")" } }
            dl class="facts" {
                dt { "State" } dd { (state(ctx, c)) (progress_bar(c)) }
                dt { @if c.feed { "ICS feed" } @else { "Server" } } dd { (c.upstream) }
                @if ctx.viewer.is_admin() {
                    dt { "Tenants" } dd { (c.tenants.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ")) }
                }
                dt { "Last successful sync" } dd { (ctx.unix(c.last_sync)) }
                dt { "Last error" } dd { (c.last_error.as_deref().unwrap_or("none")) }
                dt { "Calendars found" } dd { (c.calendars.len()) }
                @if !c.feed {
                    dt { "Waiting to be sent to iCloud" } dd { (c.outbox_depth) " events" }
                }
            }
            (calendars(&c.calendars))
            div class="actions" {
                form method="post" action=(action_href(&c.id, ConnectionAction::Sync)) {
                    (ctx.csrf())
                    button type="submit" { "Sync now" }
                }
                @if !ctx.viewer.is_admin() && !c.feed {
                    a class="button" href=(action_href(&c.id, ConnectionAction::Password)) { "Replace password" }
                }
                a class="button danger" href=(action_href(&c.id, ConnectionAction::Remove)) { "Remove" }
            }
        }
    }
}

/// `GET /connections`, or the list after a form, with its outcome.
pub fn list(ctx: &Ctx<'_>, outcome: Option<(bool, &str)>) -> Answer {
    let conns = match visible(ctx) {
        Ok(c) => c,
        Err(a) => return a,
    };
    let body = html! {
        @if let Some((ok, text)) = outcome {
            (page::outcome(ok, text))
        }
        p {
            a class="button primary" href=(route::page(&Page::AddConnection).as_str()) { "+ Add connection" }
            " "
            a class="button" href=(route::page(&Page::AddFeed).as_str()) { "+ Add ICS feed" }
        }
        @if conns.is_empty() {
            p { "No connections yet. Add your iCloud account with “+ Add connection”." }
        }
        @for c in &conns {
            (connection(ctx, c))
        }
    };
    Answer::html(
        StatusCode::OK,
        page::layout(ctx, "Connections", Nav::Connections, body),
    )
}

/// `GET /connections/progress`: the running syncs the viewer may see.
pub fn progress_json(ctx: &Ctx<'_>) -> Answer {
    let conns = match visible(ctx) {
        Ok(c) => c,
        Err(a) => return a,
    };
    let items: Vec<_> = conns
        .iter()
        .map(|c| {
            let p = c.progress.clone().unwrap_or_default();
            json!({
                "id": c.id.as_str(),
                "running": p.running,
                "listed": p.listed,
                "calendars_done": p.calendars_done,
                "calendars_total": p.calendars_total,
                "events_fetched": p.events_fetched,
            })
        })
        .collect();
    Answer::json(&json!({ "connections": items }))
}
