//! Scenario 5: start of `calproxy serve` to `/healthz` 200 with 100,000
//! stored objects (opt-in, `BENCH_LARGE=1`; the 10,000-object calendar is
//! always measured), over several restarts: also the first one-month
//! calendar-query after `/healthz` answered, the memory after it, and how
//! long a graceful stop took. Target (issue 10): <= 1 s at 100,000.

use std::time::Duration;

use crate::common::calproxy;
use crate::common::data::{Dataset, LARGE, TEN_K};
use crate::common::dav;
use crate::common::fixtures::Alone;
use crate::common::http::Conn;
use crate::common::process::Memory;
use crate::common::report::{Report, Section};
use crate::common::stats::{fmt_ms, mib, ms, Stats};
use crate::common::{env_usize, large_enabled};

use super::{month, verdict};

/// Runs scenario 5.
pub async fn run(report: &mut Report) {
    let mut s = Section::new(
        "calproxy start to /healthz 200 (restarts of `calproxy serve`)",
        &[
            "objects",
            "restarts",
            "healthz p50 ms",
            "healthz max ms",
            "first query p50 ms",
            "first query max ms",
            "RSS MiB after it",
            "stop ms (max)",
        ],
    );
    let mut data = Vec::new();
    let mut sets = vec![TEN_K];
    if large_enabled(report, "start-up with 100,000 objects") {
        sets.push(LARGE);
    }
    for ds in sets {
        let r = measure(ds).await;
        let h = Stats::of(&r.health);
        let q = Stats::of(&r.query);
        s.rows.push(vec![
            ds.name.to_string(),
            r.health.len().to_string(),
            fmt_ms(h.p50),
            fmt_ms(h.max),
            fmt_ms(q.p50),
            fmt_ms(q.max),
            mib(r.memory.rss_mib()),
            fmt_ms(r.stop.iter().map(|d| ms(*d)).fold(0.0, f64::max)),
        ]);
        if ds.events == LARGE.events {
            s.notes.push(format!(
                "target start to /healthz <= 1 s at 100,000 objects: {} (worst {} ms)",
                verdict(h.max <= 1000.0),
                fmt_ms(h.max)
            ));
        }
        data.push(serde_json::json!({
            "objects": ds.events,
            "healthz_ms": r.health.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
            "first_query_ms": r.query.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
            "stop_ms": r.stop.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
            "memory_after_first_query": r.memory,
        }));
    }
    s.data = serde_json::json!(data);
    report.add(s);
}

struct Restarts {
    health: Vec<Duration>,
    query: Vec<Duration>,
    stop: Vec<Duration>,
    memory: Memory,
}

async fn measure(ds: Dataset) -> Restarts {
    let mut alone = Alone::load(ds, false).await;
    let cp = &mut alone.calproxy;
    let ep = cp.collection(alone.collection);
    let body = dav::calendar_query(month(), true);
    let mut r = Restarts {
        health: Vec::new(),
        query: Vec::new(),
        stop: Vec::new(),
        memory: Memory::default(),
    };
    for k in 0..env_usize("BENCH_RESTARTS", 5) {
        r.stop.push(calproxy::stop(cp).await);
        r.health.push(calproxy::restart(cp).await);
        let mut conn = Conn::new(cp.port);
        let (_, d) = conn
            .expect(&ep.report(body.clone(), Some("1")), &[207])
            .await;
        r.query.push(d);
        r.memory = cp.memory();
        println!(
            "  {} objects, restart {}: /healthz after {} ms, first calendar-query {} ms",
            ds.name,
            k + 1,
            fmt_ms(ms(r.health[k])),
            fmt_ms(ms(d))
        );
    }
    r
}
