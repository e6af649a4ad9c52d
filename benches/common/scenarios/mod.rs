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

use super::check::Listing;
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
}

/// Sends `make(0)` once as a warm-up (timed as `first`), then `make(1..=n)`
/// on the same keep-alive connection. Every answer must have a status in
/// `ok` (a 207 must parse as a multistatus); with `same_count` it must also list as
/// many objects as the first.
pub async fn series(
    server: &Server,
    n: usize,
    ok: &[u16],
    same_count: bool,
    make: impl Fn(usize) -> Req,
) -> Series {
    let mut conn = Conn::new(server.port);
    let (a, first) = conn.expect(&make(0), ok).await;
    let names = listed(server.kind, &a);
    let bytes = a.body.len();
    let mut samples = Vec::with_capacity(n);
    for i in 1..=n {
        let (a, d) = conn.expect(&make(i), ok).await;
        samples.push(d);
        if same_count {
            let got = listed(server.kind, &a).len();
            assert_eq!(
                got,
                names.len(),
                "{}: answer {i} listed {got} objects, the first {}",
                server.kind.label(),
                names.len()
            );
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
    }
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
        }));
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
