//! Scenario 8: calproxy's resident memory (VmRSS, VmHWM from
//! /proc/PID/status) right after loading the objects (always a fresh load:
//! 10,000 by PUT, 100,000 by its own sync) and once the process is idle
//! again (the views catch up in the background), and after a restart on the same data: once up, 5 s later (serve
//! warms its busy-time cache in the background), after a one-month
//! calendar-query and after a one-year free-busy-query. The 10,000-object
//! calendar always; 100,000 with `BENCH_LARGE=1`. Target (issue 10): at
//! 100,000 objects <= 150 MB after the load and after a restart.

use crate::common::calproxy;
use crate::common::data::{Dataset, LARGE, TEN_K};
use crate::common::dav;
use crate::common::fixtures::Alone;
use crate::common::http::Conn;
use crate::common::large_enabled;
use crate::common::process::{self, Memory};
use crate::common::report::{Report, Section};
use crate::common::servers::{TENANT, USER};
use crate::common::stats::{fmt_ms, mib, ms};

use super::{month, verdict, year};

const TARGET_BYTES: f64 = 150e6;
const SETTLE: std::time::Duration = std::time::Duration::from_secs(5);
/// The longest the scenario waits for calproxy to go idle after a load.
const IDLE_LIMIT: std::time::Duration = std::time::Duration::from_secs(300);

/// Runs scenario 8.
pub async fn run(report: &mut Report) {
    let mut s = Section::new(
        "calproxy resident memory",
        &["objects", "when", "VmRSS MiB", "VmHWM MiB", "request ms"],
    );
    let mut sets = vec![TEN_K];
    if large_enabled(report, "memory with 100,000 objects") {
        sets.push(LARGE);
    }
    let mut data = Vec::new();
    for ds in sets {
        let rows = measure(ds).await;
        for (when, m, took) in &rows {
            s.rows.push(vec![
                ds.name.to_string(),
                when.to_string(),
                mib(m.rss_mib()),
                mib(m.hwm_mib()),
                took.map_or(String::new(), fmt_ms),
            ]);
            data.push(serde_json::json!({"objects": ds.events, "when": when, "memory": m, "request_ms": took}));
        }
        if ds.events == LARGE.events {
            let worst = rows.iter().map(|(_, m, _)| m.rss_kib).max().unwrap_or(0) as f64 * 1024.0;
            s.notes.push(format!(
                "target <= 150 MB (143 MiB) at 100,000 objects after the load and after a restart: {} (largest VmRSS {:.0} MB)",
                verdict(worst <= TARGET_BYTES),
                worst / 1e6
            ));
        }
    }
    s.data = serde_json::json!(data);
    report.add(s);
}

async fn measure(ds: Dataset) -> Vec<(String, Memory, Option<f64>)> {
    let mut alone = Alone::load(ds, true).await;
    let how = if alone.load.method.starts_with("HTTP PUT") {
        "by PUT"
    } else {
        "by its own sync"
    };
    let mut rows = Vec::new();
    if let Some(m) = alone.load.memory_after_load {
        rows.push((
            format!("right after loading {how} (the serving process)"),
            m,
            None,
        ));
        // The views catch up in the background after a load (busy cache,
        // availability/): the same process once that is done.
        let (waited, idle) = process::wait_idle(alone.calproxy.pid(), IDLE_LIMIT).await;
        rows.push((
            format!(
                "the same, once idle ({:.0} s later{})",
                waited.as_secs_f64(),
                if idle { "" } else { ", still busy" }
            ),
            alone.calproxy.memory(),
            None,
        ));
    }
    let cp = &mut alone.calproxy;
    calproxy::restart(cp).await;
    rows.push(("after a restart, /healthz 200".into(), cp.memory(), None));
    // serve warms its busy-time cache in the background after start.
    tokio::time::sleep(SETTLE).await;
    rows.push((
        "after a restart, 5 s later (idle)".into(),
        cp.memory(),
        None,
    ));
    let ep = cp.collection(alone.collection);
    let mut conn = Conn::new(cp.port);
    let (_, d) = conn
        .expect(
            &ep.report(dav::calendar_query(month(), true), Some("1")),
            &[207],
        )
        .await;
    rows.push((
        "then a one-month calendar-query".into(),
        cp.memory(),
        Some(ms(d)),
    ));
    let path = format!("/dav/{TENANT}/{USER}/availability/");
    let (_, d) = conn
        .expect(&ep.report_at(&path, dav::free_busy(year())), &[200])
        .await;
    rows.push((
        "then a one-year free-busy-query".into(),
        cp.memory(),
        Some(ms(d)),
    ));
    rows
}
