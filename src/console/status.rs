//! The Status panel: the facts `calproxy status` prints (each connection's
//! sync, throttling and outbox; the derived views) from the same
//! `admin::overview::status`, and the gauges `/metrics` exports. A tenant
//! user sees their tenant's connections and their own views only; an
//! admin sees everything.

use hyper::StatusCode;
use maud::html;

use crate::admin::overview::{self, Health};
use crate::route;

use super::connections::scope;
use super::page::{self, Answer, Ctx, Nav};
use super::session::Viewer;

fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["bytes", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} bytes")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn health_words(h: &Health) -> &'static str {
    match h {
        Health::Ok => "ok",
        Health::NotSyncedYet => "not synced yet",
        Health::Syncing => "syncing",
        Health::Throttled { .. } => "throttled",
        Health::AuthFailed { .. } => "reconnect required",
        Health::Held { .. } => "held: deletions need confirmation",
        Health::Unreachable => "upstream unreachable",
        Health::Failing => "sync failing",
    }
}

/// `GET /status`.
pub fn page(ctx: &Ctx<'_>) -> Answer {
    let mut s = match overview::status(ctx.app, &scope(&ctx.viewer)) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "console: cannot read status");
            return page::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Storage failed",
                "calproxy could not read its data directory. See its log.",
            );
        }
    };
    if let Viewer::User(u) = &ctx.viewer {
        s.views.stale.retain(|v| &v.user == u);
    }
    let body = html! {
        section class="card" aria-labelledby="sync-h" {
            h2 id="sync-h" { "Sync" }
            @if s.connections.is_empty() { p { "No connections." } }
            table class="status" {
                thead { tr {
                    th scope="col" { "Connection" } th scope="col" { "State" } th scope="col" { "Calendars" }
                    th scope="col" { "Last sync" } th scope="col" { "Last error" } th scope="col" { "Throttled until" }
                    th scope="col" { "Outbox" }
                } }
                tbody {
                    @for c in &s.connections {
                        tr {
                            th scope="row" { (c.id.as_str()) br; span class="id" { (c.apple_id) } }
                            td { (health_words(&c.health)) }
                            td class="num" { (c.calendars.len()) }
                            td { (ctx.unix(c.last_sync)) }
                            td { (c.last_error.as_deref().unwrap_or("none")) }
                            td { @match c.throttled_until { Some(t) => (ctx.unix(Some(t))), None => "-" } }
                            td class="num" { (c.outbox_depth) " waiting" }
                        }
                    }
                }
            }
        }
        section class="card" aria-labelledby="views-h" {
            h2 id="views-h" { "Availability views" }
            @if s.views.stale.is_empty() {
                p { "All current (" (s.views.refreshed) " refreshes since start)." }
            } @else {
                p { (s.views.stale.len()) " waiting for a retry (" (s.views.failures) " failed refreshes so far):" }
                ul { @for v in &s.views.stale { li { (v.user.to_string()) ": " (v.error) " (attempt " (v.attempts) ")" } } }
            }
        }
        @if ctx.viewer.is_admin() {
            section class="card" aria-labelledby="metrics-h" {
                h2 id="metrics-h" { "Server" }
                dl class="facts" {
                    dt { "Outbox, all connections" } dd { (s.outbox_depth) " waiting" }
                    dt { "Data directory" } dd { (bytes(s.store_bytes)) }
                    dt { "Recorded exchanges" } dd { (s.traffic_entries) }
                    dt { "Views waiting for a retry" } dd { (s.views.stale.len()) }
                }
                p { "The same gauges, with request and sync counters, for Prometheus: " a href="/metrics" { "/metrics" } "." }
            }
        }
        p class="help" { "The same facts as " code { "calproxy status" } ". Health check: " a href=(route::Route::Health.href().as_str()) { "/healthz" } }
    };
    Answer::html(
        StatusCode::OK,
        page::layout(ctx, "Status", Nav::Status, body),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_words() {
        assert_eq!(bytes(512), "512 bytes");
        assert_eq!(bytes(2048), "2.0 KiB");
        assert_eq!(bytes(5 * 1024 * 1024), "5.0 MiB");
    }
}
