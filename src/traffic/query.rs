//! Reading the traffic log: one [`Filter`] for every consumer (the CLI's
//! `traffic list|show|tail|export`, `/debug/traffic.har`, the console),
//! and the text renderings of entries.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::store::{self, Store};

use super::Entry;

/// Most entries one export or listing reads.
pub const EXPORT_LIMIT: usize = 10_000;

/// Which recorded exchanges to show. Every field narrows; empty = all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
pub struct Filter {
    /// Only this connection.
    #[arg(long)]
    pub connection: Option<String>,
    /// Only this status (e.g. 503).
    #[arg(long)]
    pub status: Option<u16>,
    /// Only this method (case-insensitive).
    #[arg(long)]
    pub method: Option<String>,
    /// Only exchanges started at or after this time (RFC 3339, e.g. 2026-11-25T10:00:00Z).
    #[arg(long, value_parser = parse_since)]
    pub since: Option<i64>,
    /// Only the newest N.
    #[arg(long)]
    pub limit: Option<usize>,
}

fn parse_since(v: &str) -> Result<i64, String> {
    chrono::DateTime::parse_from_rfc3339(v)
        .map(|t| t.timestamp_millis())
        .map_err(|e| format!("not an RFC 3339 time: {e}"))
}

impl Filter {
    /// From a URL query: `connection=ID&since=<unix ms>&status=N&method=M&limit=N`;
    /// unknown keys are ignored.
    pub fn from_query(q: Option<&str>) -> Self {
        let mut f = Filter::default();
        for pair in q.unwrap_or("").split('&') {
            let Some((k, v)) = pair.split_once('=') else {
                continue;
            };
            let v = percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned();
            match k {
                "connection" => f.connection = Some(v),
                "since" => f.since = v.parse().ok(),
                "status" => f.status = v.parse().ok(),
                "method" => f.method = Some(v),
                "limit" => f.limit = v.parse().ok(),
                _ => {}
            }
        }
        f
    }

    /// Whether an entry passes (the limit is applied to the whole list).
    pub fn matches(&self, e: &Entry) -> bool {
        self.connection
            .as_ref()
            .is_none_or(|c| e.connection.as_deref() == Some(c.as_str()))
            && self.status.is_none_or(|s| e.status == Some(s))
            && self
                .method
                .as_ref()
                .is_none_or(|m| e.method.eq_ignore_ascii_case(m))
            && self.since.is_none_or(|s| e.started_ms >= s)
    }
}

/// A recorded exchange with its id (the first column of `traffic list`).
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// Its id.
    pub id: u64,
    /// The exchange.
    pub entry: Entry,
}

/// Stored entries with id > `after`, oldest first, at most `limit`;
/// undecodable ones are skipped.
pub fn after(store: &Store, after: u64, limit: usize) -> store::Result<Vec<Recorded>> {
    Ok(store
        .traffic_after(after, limit)?
        .into_iter()
        .filter_map(|s| {
            serde_json::from_slice(&s.json)
                .ok()
                .map(|entry| Recorded { id: s.id, entry })
        })
        .collect())
}

/// The entries a filter selects, oldest first (the newest `limit` when set).
pub fn select(store: &Store, f: &Filter) -> store::Result<Vec<Recorded>> {
    let mut hits: Vec<Recorded> = after(store, 0, usize::MAX)?
        .into_iter()
        .filter(|r| f.matches(&r.entry))
        .collect();
    let keep = f.limit.unwrap_or(EXPORT_LIMIT).min(EXPORT_LIMIT);
    if hits.len() > keep {
        hits.drain(..hits.len() - keep);
    }
    Ok(hits)
}

/// One entry by id.
pub fn one(store: &Store, id: u64) -> store::Result<Option<Entry>> {
    Ok(store
        .traffic_entry(id)?
        .and_then(|json| serde_json::from_slice(&json).ok()))
}

fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S%.3f").to_string())
        .unwrap_or_default()
}

/// The path part of a URL.
pub fn path_of(url: &str) -> &str {
    url.find("://")
        .and_then(|i| url[i + 3..].find('/').map(|j| &url[i + 3 + j..]))
        .unwrap_or(url)
}

/// One line per exchange: id, time, connection, trigger, method, path, status, ms, bytes.
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

/// One line per entry.
pub fn lines(entries: &[Recorded]) -> String {
    let mut out = String::new();
    for r in entries {
        out.push_str(&line(r.id, &r.entry));
        out.push('\n');
    }
    out
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

/// One exchange in full: headers and pretty-printed bodies.
pub fn show(id: u64, e: &Entry) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", line(id, e));
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
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traffic::Trigger;

    fn entry(conn: &str, method: &str, status: u16, at: i64) -> Entry {
        Entry {
            started_ms: at,
            connection: Some(conn.into()),
            trigger: Trigger::SyncTick,
            method: method.into(),
            url: "https://x/y".into(),
            request_headers: vec![],
            request_body: String::new(),
            request_bytes: 0,
            status: Some(status),
            error: None,
            response_headers: vec![],
            response_body: String::new(),
            response_bytes: 0,
            duration_ms: 1.0,
        }
    }

    #[test]
    fn one_filter_for_every_field() {
        let e = entry("icloud", "PROPFIND", 207, 1000);
        assert!(Filter::default().matches(&e));
        let f = Filter::from_query(Some(
            "connection=icloud&since=1000&method=propfind&status=207",
        ));
        assert!(f.matches(&e));
        for q in ["connection=other", "since=1001", "method=GET", "status=503"] {
            assert!(!Filter::from_query(Some(q)).matches(&e), "{q}");
        }
    }

    #[test]
    fn select_keeps_the_newest_limit() {
        let s = Store::temporary().unwrap();
        let limits = crate::config::TrafficLimits::default();
        for i in 0..5 {
            let json = serde_json::to_vec(&entry("c", "GET", 200, 1_000 + i)).unwrap();
            s.append_traffic(1_000 + i, &json, &limits).unwrap();
        }
        let got = select(
            &s,
            &Filter {
                limit: Some(2),
                ..Filter::default()
            },
        )
        .unwrap();
        assert_eq!(
            got.iter().map(|r| r.entry.started_ms).collect::<Vec<_>>(),
            vec![1003, 1004]
        );
    }
}
