//! The scenarios of issue 10, one file each, and what they share: the
//! query windows and a latency series (the same request N times on one
//! keep-alive connection, every answer checked).

pub mod freebusy;
pub mod load;
pub mod memory;
pub mod put;
pub mod query;
pub mod startup;
pub mod sync_multiget;

use std::time::Duration;

use chrono::{Duration as Days, NaiveTime};

use super::dav::{self, Window};
use serde_json::json;

use super::check::{consistent, Listing};
use super::data;
use super::http::{Answer, Conn, Req};
use super::process::Memory;
use super::report::Section;
use super::servers::{Kind, Server};
use super::stats::{fmt_ms, group, mib, ms, ratio, Stats};

/// The one-month window of the query scenarios: 30 days from a week after
/// the base date.
pub fn month() -> Window {
    let base = data::base_date().and_time(NaiveTime::MIN).and_utc();
    Window {
        start: base + Days::days(7),
        end: base + Days::days(37),
    }
}

/// One year from the base date.
pub fn year() -> Window {
    let base = data::base_date().and_time(NaiveTime::MIN).and_utc();
    Window {
        start: base,
        end: base + Days::days(365),
    }
}

/// Latencies of one request kind against one server.
pub struct Series {
    /// The server.
    pub kind: Kind,
    /// The first request (caches filled by it on the peers), not in `samples`.
    pub first: Duration,
    /// The measured requests.
    pub samples: Vec<Duration>,
    /// Object names in the first answer.
    pub names: Vec<String>,
    /// Body size of the first answer.
    pub bytes: usize,
    /// Times the server closed the keep-alive connection.
    pub reconnects: usize,
    /// The server's memory after the series.
    pub memory: Memory,
    /// Where a later answer listed other objects than the first.
    pub varied: Vec<String>,
}

/// What every answer of a series must have in common with the first.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Same {
    /// The same objects (the same request each time).
    Objects,
    /// As many objects (a different request each time, e.g. multiget batches).
    Count,
    /// Nothing beyond the status.
    Status,
}

/// Sends `make(0)` once as a warm-up (timed as `first`), then `make(1..=n)`
/// on the same keep-alive connection. Every answer must have a status in
/// `ok` (a 207 must parse as a multistatus) and list what `same` asks for
/// (a difference is a mismatch: see `check::consistent`).
pub async fn series(
    server: &Server,
    n: usize,
    ok: &[u16],
    same: Same,
    make: impl Fn(usize) -> Req,
) -> Series {
    run_series(server, Conn::new(server.port), n, ok, same, make).await
}

/// `series` for a peer that may be too slow: gives up (returning `None`)
/// when the whole series takes longer than `budget`.
pub async fn series_within(
    budget: Duration,
    server: &Server,
    n: usize,
    ok: &[u16],
    same: Same,
    make: impl Fn(usize) -> Req,
) -> Option<Series> {
    let conn = Conn::with_timeout(server.port, budget);
    tokio::time::timeout(budget, run_series(server, conn, n, ok, same, make))
        .await
        .ok()
}

async fn run_series(
    server: &Server,
    mut conn: Conn,
    n: usize,
    ok: &[u16],
    same: Same,
    make: impl Fn(usize) -> Req,
) -> Series {
    let (a, first) = conn.expect(&make(0), ok).await;
    let names = listed(server.kind, &a);
    let bytes = a.body.len();
    let mut samples = Vec::with_capacity(n);
    let mut varied = Vec::new();
    for i in 1..=n {
        let (a, d) = conn.expect(&make(i), ok).await;
        samples.push(d);
        let got = match same {
            Same::Status => continue,
            Same::Count => listed(server.kind, &a).len() == names.len(),
            Same::Objects => same_set(&listed(server.kind, &a), &names),
        };
        if !got {
            let later = listed(server.kind, &a);
            varied.extend(consistent(server.kind, i, &names, &later));
        }
    }
    Series {
        kind: server.kind,
        first,
        samples,
        names,
        bytes,
        reconnects: conn.reconnects,
        memory: server.memory(),
        varied,
    }
}

fn same_set(a: &[String], b: &[String]) -> bool {
    let mut a: Vec<&String> = a.iter().collect();
    let mut b: Vec<&String> = b.iter().collect();
    a.sort_unstable();
    b.sort_unstable();
    a == b
}

/// Object names of a 207 multistatus answer (none for any other status,
/// e.g. a 200 free-busy answer).
pub fn listed(kind: Kind, a: &Answer) -> Vec<String> {
    if a.status == 207 {
        dav::object_names(&a.body).unwrap_or_else(|e| panic!("{}: {e}", kind.label()))
    } else {
        Vec::new()
    }
}

/// The standard latency table: one row per server, ratios against calproxy
/// (how many times slower), the object count all servers agreed on (or the
/// disagreement).
pub fn table(title: &str, all: &[Series], agreed: &Result<usize, String>) -> Section {
    let mut s = Section::new(
        title,
        &[
            "server",
            "requests",
            "first ms",
            "p50 ms",
            "p99 ms",
            "p50 ÷ calproxy",
            "p99 ÷ calproxy",
            "objects",
            "KiB/answer",
            "RSS MiB",
            "reconnects",
        ],
    );
    let base = Stats::of(&all[0].samples);
    let mut data = Vec::new();
    for x in all {
        let st = Stats::of(&x.samples);
        s.rows.push(vec![
            x.kind.label().to_string(),
            x.samples.len().to_string(),
            fmt_ms(ms(x.first)),
            fmt_ms(st.p50),
            fmt_ms(st.p99),
            ratio(st.p50, base.p50),
            ratio(st.p99, base.p99),
            group(x.names.len() as u64),
            format!("{:.0}", x.bytes as f64 / 1024.0),
            mib(x.memory.rss_mib()),
            x.reconnects.to_string(),
        ]);
        data.push(json!({
            "server": x.kind.label(),
            "first_ms": ms(x.first),
            "stats_ms": st,
            "objects": x.names.len(),
            "bytes": x.bytes,
            "memory": x.memory,
            "reconnects": x.reconnects,
            "varied": x.varied,
        }));
    }
    for x in all {
        if let Some(first) = x.varied.first() {
            s.notes.push(format!(
                "MISMATCH: {} answered the same request differently {} times; first: {first}",
                x.kind.label(),
                x.varied.len()
            ));
        }
    }
    match agreed {
        Ok(n) => s.notes.push(format!(
            "all servers listed the same {} objects",
            group(*n as u64)
        )),
        Err(e) => s.notes.push(format!("MISMATCH: {e}")),
    }
    s.data = json!({ "servers": data, "agreement": agreed.as_ref().map_err(|e| e.clone()) });
    s
}

/// The listings of a set of series, for `check::same_objects`.
pub fn listings(all: &[Series]) -> Vec<Listing> {
    all.iter()
        .map(|x| Listing {
            kind: x.kind,
            names: x.names.clone(),
        })
        .collect()
}

/// "met" / "NOT met" for a target line.
pub fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT met"
    }
}
