//! Inspecting upstream traffic (`calproxy traffic list|show|tail|export`)
//! and sending one raw request (`calproxy probe`). Text rendering only;
//! the data comes from `sync::traffic` and the upstream client.

use std::fmt::Write as _;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::ids::ConnectionId;
use crate::state::App;
use crate::sync::{execute, traffic};
use crate::upstream::record::{Entry, Trigger};
use crate::upstream::requests::DavCall;

/// Filters of `traffic list`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ListFilter {
    /// Only this connection.
    pub connection: Option<String>,
    /// Only this status (e.g. 503).
    pub status: Option<u16>,
    /// Only this method (case-insensitive).
    pub method: Option<String>,
    /// At most this many (newest).
    pub limit: Option<usize>,
}

fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S%.3f").to_string())
        .unwrap_or_default()
}

fn path_of(url: &str) -> &str {
    url.find("://")
        .and_then(|i| url[i + 3..].find('/').map(|j| &url[i + 3 + j..]))
        .unwrap_or(url)
}

/// One line per exchange.
pub fn line(id: u64, e: &Entry) -> String {
    format!(
        "{id:>6} {} {:<14} {:<8} {:<9} {:<60} {:>4} {:>8.1}ms {:>8}B",
        time(e.started_ms),
        e.connection.as_deref().unwrap_or("-"),
        e.trigger.as_str(),
        e.method,
        path_of(&e.url),
        e.status
            .map_or_else(|| "ERR".to_string(), |s| s.to_string()),
        e.duration_ms,
        e.response_bytes,
    )
}

fn matches(e: &Entry, f: &ListFilter) -> bool {
    f.connection
        .as_ref()
        .is_none_or(|c| e.connection.as_deref() == Some(c.as_str()))
        && f.status.is_none_or(|s| e.status == Some(s))
        && f.method
            .as_ref()
            .is_none_or(|m| e.method.eq_ignore_ascii_case(m))
}

/// `traffic list`.
pub fn list(app: &App, f: &ListFilter) -> crate::store::Result<String> {
    let all = traffic::entries_after(app, 0, usize::MAX)?;
    let hits: Vec<_> = all.iter().filter(|(_, e)| matches(e, f)).collect();
    let skip = f.limit.map_or(0, |l| hits.len().saturating_sub(l));
    let mut out = String::new();
    for (id, e) in hits.into_iter().skip(skip) {
        out.push_str(&line(*id, e));
        out.push('\n');
    }
    if out.is_empty() {
        out.push_str("no recorded exchanges\n");
    }
    Ok(out)
}

/// Lines after `after` (for `traffic tail`), and the last id seen.
pub fn since(app: &App, after: u64) -> crate::store::Result<(String, u64)> {
    let mut last = after;
    let mut out = String::new();
    for (id, e) in traffic::entries_after(app, after, 1_000)? {
        out.push_str(&line(id, &e));
        out.push('\n');
        last = id;
    }
    Ok((out, last))
}

/// A body for people: indented XML, unfolded iCalendar, else as is.
pub fn pretty_body(body: &str) -> String {
    let t = body.trim_start();
    if t.starts_with('<') {
        if let Some(p) = crate::dav::xml::pretty(t.as_bytes()) {
            return p;
        }
    }
    body.replace("\r\n ", "").replace("\r\n", "\n")
}

fn headers(out: &mut String, h: &[(String, String)]) {
    for (n, v) in h {
        let _ = writeln!(out, "{n}: {v}");
    }
}

/// `traffic show N`.
pub fn show(app: &App, id: u64) -> crate::store::Result<Option<String>> {
    let Some(json) = app.store.traffic_entry(id)? else {
        return Ok(None);
    };
    let Ok(e) = serde_json::from_slice::<Entry>(&json) else {
        return Ok(None);
    };
    let mut out = String::new();
    let _ = writeln!(out, "{}", line(id, &e));
    let _ = writeln!(out, "\n> {} {}", e.method, e.url);
    headers(&mut out, &e.request_headers);
    if !e.request_body.is_empty() {
        let _ = writeln!(out, "\n{}", pretty_body(&e.request_body));
    }
    match (e.status, &e.error) {
        (Some(s), _) => {
            let _ = writeln!(out, "\n< {s}");
        }
        (None, Some(err)) => {
            let _ = writeln!(out, "\n< no answer: {err}");
        }
        (None, None) => {}
    }
    headers(&mut out, &e.response_headers);
    if !e.response_body.is_empty() {
        let _ = writeln!(out, "\n{}", pretty_body(&e.response_body));
    }
    Ok(Some(out))
}

/// Methods `probe` sends without `--allow-write`.
pub const READ_ONLY_METHODS: &[&str] = &["PROPFIND", "REPORT", "GET", "HEAD", "OPTIONS"];

/// What `probe` sends.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Probe {
    /// The connection whose credentials are used.
    pub connection: ConnectionId,
    /// HTTP method.
    pub method: String,
    /// Path (or absolute URL on the same site).
    pub path: String,
    /// `Depth` header.
    pub depth: Option<String>,
    /// Body text.
    pub body: Option<String>,
    /// Allow methods that write.
    pub allow_write: bool,
}

/// Sends one raw request with the connection's credentials; recorded like
/// everything else. Returns the pretty answer.
pub async fn probe(app: &App, p: &Probe) -> Result<String, String> {
    let method = p.method.to_ascii_uppercase();
    if !p.allow_write && !READ_ONLY_METHODS.contains(&method.as_str()) {
        return Err(format!(
            "{method} may change data upstream; add --allow-write to send it"
        ));
    }
    let rec = app
        .store
        .connection(&p.connection)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no connection {}", p.connection))?;
    let client = execute::client_for(app, &p.connection, &rec, Trigger::Probe)
        .map_err(|e| crate::sync::describe(&e))?;
    let depth: Option<&'static str> = match p.depth.as_deref() {
        None => None,
        Some("0") => Some("0"),
        Some("1") => Some("1"),
        Some("infinity") => Some("infinity"),
        Some(other) => return Err(format!("depth must be 0, 1 or infinity, not {other}")),
    };
    let call = DavCall {
        method: http::Method::from_bytes(method.as_bytes())
            .map_err(|_| format!("bad method {method}"))?,
        target: p.path.clone(),
        depth,
        body: Bytes::from(p.body.clone().unwrap_or_default()),
        content_type: p.body.as_ref().map(|_| "application/xml; charset=utf-8"),
        if_match: None,
        if_none_match_any: false,
    };
    let ex = client
        .send_raw(&call)
        .await
        .map_err(|e| crate::sync::describe(&crate::sync::Error::Upstream(e)))?;
    let mut out = format!("< {}\n", ex.status);
    for (n, v) in ex.headers.iter() {
        let _ = writeln!(out, "{n}: {}", String::from_utf8_lossy(v.as_bytes()));
    }
    out.push('\n');
    out.push_str(&pretty_body(&String::from_utf8_lossy(&ex.body)));
    out.push('\n');
    Ok(out)
}
