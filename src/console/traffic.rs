//! The Traffic panel (local admins): the recorded upstream exchanges as a
//! table filtered by connection, method, status and time (one
//! `traffic::Filter`, as for `calproxy traffic list` and the HAR export),
//! live updates (the page's script polls `/traffic/rows` for rows after
//! the newest it has), one exchange in full (headers, bodies pretty-printed
//! by `traffic::query::pretty_body`) and the HAR download. Entries were
//! redacted when they were recorded.

use chrono::{NaiveDateTime, TimeZone};
use hyper::StatusCode;
use maud::{html, Markup};
use serde_json::json;

use crate::route::{self, Page};
use crate::traffic::{self, query, Entry, Filter};

use super::form::{encode, Form};
use super::page::{self, Answer, Ctx, Nav};

/// Rows shown when the filter sets no limit.
const DEFAULT_ROWS: usize = 200;

/// The filter a query names; `since` is a local `YYYY-MM-DDTHH:MM` in the viewer's zone.
fn filter(ctx: &Ctx<'_>, q: &Form) -> Filter {
    let since = q
        .text("since")
        .and_then(|s| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").ok())
        .and_then(|n| ctx.tz.from_local_datetime(&n).earliest())
        .map(|t| t.timestamp_millis());
    Filter {
        connection: q.text("connection").map(str::to_string),
        status: q.text("status").and_then(|s| s.parse().ok()),
        method: q.text("method").map(str::to_string),
        since,
        limit: Some(
            q.text("limit")
                .and_then(|l| l.parse().ok())
                .unwrap_or(DEFAULT_ROWS),
        ),
    }
}

/// The query string that carries the same filter (for the HAR link and polling).
fn filter_query(q: &Form) -> String {
    ["connection", "method", "status", "since", "limit"]
        .iter()
        .filter_map(|k| q.text(k).map(|v| format!("{k}={}", encode(v))))
        .collect::<Vec<_>>()
        .join("&")
}

fn storage(e: &crate::store::Error) -> Answer {
    tracing::error!(error = %e, "console: cannot read traffic");
    page::error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Storage failed",
        "calproxy could not read the recorded traffic. See its log.",
    )
}

fn row(ctx: &Ctx<'_>, id: u64, e: &Entry) -> Markup {
    let href = route::page(&Page::TrafficEntry(id));
    let t = chrono::DateTime::from_timestamp_millis(e.started_ms).unwrap_or_default();
    html! {
        tr data-id=(id) {
            td { a href=(href.as_str()) { (id) } }
            td { (ctx.time(t)) }
            td { (e.connection.as_deref().unwrap_or("-")) }
            td { (e.trigger.as_str()) }
            td { (e.method) }
            td class="path" { (query::path_of(&e.url)) }
            td class=(match e.status { Some(s) if s < 400 => "st ok", _ => "st fail" }) {
                @match e.status { Some(s) => (s), None => "no answer" }
            }
            td class="num" { (format!("{:.0}", e.duration_ms)) }
            td class="num" { (e.response_bytes) }
        }
    }
}

/// `GET /traffic`.
pub fn list(ctx: &Ctx<'_>, q: &Form) -> Answer {
    let f = filter(ctx, q);
    let hits = match query::select(&ctx.app.store, &f) {
        Ok(h) => h,
        Err(e) => return storage(&e),
    };
    let cursor = query::after(&ctx.app.store, 0, usize::MAX)
        .ok()
        .and_then(|all| all.last().map(|r| r.id))
        .unwrap_or(0);
    let qs = filter_query(q);
    let har = format!("{}?{qs}", route::page(&Page::TrafficHar));
    let body = html! {
        form class="filters" method="get" action=(route::page(&Page::Traffic).as_str()) {
            label { "Connection " input name="connection" type="text" value=(q.text("connection").unwrap_or("")); }
            label { "Method " input name="method" type="text" value=(q.text("method").unwrap_or("")) size="9"; }
            label { "Status " input name="status" type="number" min="100" max="599" value=(q.text("status").unwrap_or("")); }
            label { "Since " input name="since" type="datetime-local" value=(q.text("since").unwrap_or("")); }
            button type="submit" { "Filter" }
            " "
            a href=(route::page(&Page::Traffic).as_str()) { "Clear" }
        }
        p {
            a class="button" href=(har) download="calproxy-traffic.har" { "Download HAR" }
            " "
            span class="help" { "HAR 1.2: open it in a browser's developer tools. Passwords are redacted." }
        }
        table class="traffic" data-live=(format!("{}?{qs}", route::page(&Page::TrafficRows))) data-cursor=(cursor) {
            caption { (hits.len()) " exchanges, newest last; new ones appear while this page is open" }
            thead { tr {
                th scope="col" { "#" } th scope="col" { "Time" } th scope="col" { "Connection" }
                th scope="col" { "Trigger" } th scope="col" { "Method" } th scope="col" { "Path" }
                th scope="col" { "Status" } th scope="col" { "ms" } th scope="col" { "Bytes" }
            } }
            tbody {
                @for r in &hits { (row(ctx, r.id, &r.entry)) }
            }
        }
    };
    Answer::html(
        StatusCode::OK,
        page::layout(ctx, "Traffic", Nav::Traffic, body),
    )
}

/// `GET /traffic/rows?after=N&…`: rows recorded after `N` that pass the filter, as HTML, and the new cursor.
pub fn rows(ctx: &Ctx<'_>, q: &Form) -> Answer {
    let after = q.text("after").and_then(|a| a.parse().ok()).unwrap_or(0);
    let f = filter(ctx, q);
    let hits = match query::after(&ctx.app.store, after, 1_000) {
        Ok(h) => h,
        Err(e) => return storage(&e),
    };
    let cursor = hits.last().map_or(after, |r| r.id);
    let html = html! {
        @for r in hits.iter().filter(|r| f.matches(&r.entry)) { (row(ctx, r.id, &r.entry)) }
    };
    Answer::json(&json!({ "cursor": cursor, "rows": html.into_string() }))
}

fn headers(h: &[(String, String)]) -> Markup {
    html! {
        table class="headers" {
            tbody {
                @for (n, v) in h { tr { th scope="row" { (n) } td { (v) } } }
            }
        }
    }
}

/// `GET /traffic/{id}`.
pub fn entry(ctx: &Ctx<'_>, id: u64) -> Answer {
    let e = match query::one(&ctx.app.store, id) {
        Ok(Some(e)) => e,
        Ok(None) => return page::not_found(),
        Err(e) => return storage(&e),
    };
    let t = chrono::DateTime::from_timestamp_millis(e.started_ms).unwrap_or_default();
    let body = html! {
        p { a href=(route::page(&Page::Traffic).as_str()) { "← All exchanges" } }
        dl class="facts" {
            dt { "Started" } dd { (ctx.time(t)) }
            dt { "Connection" } dd { (e.connection.as_deref().unwrap_or("-")) }
            dt { "Trigger" } dd { (e.trigger.as_str()) }
            dt { "Duration" } dd { (format!("{:.1} ms", e.duration_ms)) }
        }
        section class="card" aria-labelledby="req-h" {
            h2 id="req-h" { "Request" }
            p { code { (e.method) " " (e.url) } }
            (headers(&e.request_headers))
            @if !e.request_body.is_empty() { pre class="body" { (query::pretty_body(&e.request_body)) } }
        }
        section class="card" aria-labelledby="resp-h" {
            h2 id="resp-h" { "Response" }
            @match (e.status, &e.error) {
                (Some(s), _) => p { code { (s) } },
                (None, Some(err)) => p { "No answer: " (err) },
                (None, None) => p { "No answer." },
            }
            (headers(&e.response_headers))
            @if !e.response_body.is_empty() { pre class="body" { (query::pretty_body(&e.response_body)) } }
        }
    };
    Answer::html(
        StatusCode::OK,
        page::layout(ctx, &format!("Exchange {id}"), Nav::Traffic, body),
    )
}

/// `GET /traffic.har?…`: the filtered exchanges as a HAR 1.2 download.
pub fn har(ctx: &Ctx<'_>, q: &Form) -> Answer {
    let mut f = filter(ctx, q);
    if q.text("limit").is_none() {
        f.limit = None;
    }
    match query::select(&ctx.app.store, &f) {
        Ok(hits) => {
            let doc = traffic::har::document(hits.iter().map(|r| &r.entry));
            Answer::new(StatusCode::OK, "application/json", doc.to_string()).header(
                hyper::header::CONTENT_DISPOSITION,
                "attachment; filename=\"calproxy-traffic.har\"",
            )
        }
        Err(e) => storage(&e),
    }
}
