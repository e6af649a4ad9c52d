//! Scenarios 1 and 2: calendar-query for a one-month window asking getetag
//! and calendar-data, N REPORTs on one keep-alive connection per server, on
//! the 10,000-object calendar and (opt-in, `BENCH_LARGE=1`) on the
//! 100,000-object one. Targets (issue 10): calproxy p99 <= 5 ms at 10k and
//! <= 30 ms at 100k; at 10k p50 at least 50x faster than Radicale and 20x
//! faster than Xandikos.

use std::time::Duration;

use crate::common::check::same_objects;
use crate::common::data::{Dataset, LARGE, TEN_K};
use crate::common::dav;
use crate::common::fixtures::{Access, Trio};
use crate::common::report::Report;
use crate::common::servers::Kind;
use crate::common::stats::{fmt_ms, Stats};
use crate::common::{env_usize, large_enabled};

use super::{listings, month, series, series_within, table, verdict, Same, Series};

/// Scenario 1: the 10,000-object calendar.
pub async fn ten_k(report: &mut Report) {
    let reps = env_usize("BENCH_REPS", 200);
    let peers = env_usize("BENCH_PEER_REPS", reps);
    run(report, TEN_K, [reps, peers, peers], 5.0).await;
}

/// Scenario 2: the 100,000-object calendar (needs `BENCH_LARGE=1`).
pub async fn large(report: &mut Report) {
    if !large_enabled(report, "calendar-query on 100,000 objects") {
        return;
    }
    let reps = env_usize("BENCH_REPS", 200);
    let peers = env_usize("BENCH_LARGE_PEER_REPS", 5);
    run(report, LARGE, [reps, peers, peers], 30.0).await;
}

async fn run(report: &mut Report, ds: Dataset, reps: [usize; 3], p99_target: f64) {
    let trio = Trio::load(ds, Access::Read).await;
    report.add(trio.load_section(&format!("Loading the {}-object calendar", ds.name)));
    let w = month();
    let body = dav::calendar_query(w, true);
    let budget = Duration::from_secs(env_usize("BENCH_PEER_BUDGET_SECS", 3600) as u64);
    let mut all = Vec::new();
    let mut gave_up = Vec::new();
    for (s, n) in trio.servers.iter().zip(reps) {
        println!(
            "  {}: 1 + {n} one-month calendar-query REPORTs",
            s.kind.label()
        );
        let ep = s.collection(trio.collection);
        let make = |_: usize| ep.report(body.clone(), Some("1"));
        if s.kind == Kind::Calproxy {
            all.push(series(s, n, &[207], Same::Objects, make).await);
        } else {
            match series_within(budget, s, n, &[207], Same::Objects, make).await {
                Some(x) => all.push(x),
                None => gave_up.push(format!(
                    "{}: not measured, 1 + {n} queries did not finish within {} s (BENCH_PEER_BUDGET_SECS)",
                    s.kind.label(),
                    budget.as_secs()
                )),
            }
        }
    }
    let what = format!("one-month calendar-query on {} objects", ds.name);
    let agreed = same_objects(&what, &listings(&all), &trio.events);
    let mut t = table(
        &format!(
            "calendar-query, one month ({} – {}), getetag + calendar-data, {} objects, one keep-alive connection",
            w.start.format("%Y-%m-%d"),
            w.end.format("%Y-%m-%d"),
            ds.name
        ),
        &all,
        &agreed,
    );
    let st: Vec<Stats> = all.iter().map(|x| Stats::of(&x.samples)).collect();
    t.notes.push(format!(
        "target calproxy p99 <= {p99_target} ms: {} ({} ms)",
        verdict(st[0].p99 <= p99_target),
        fmt_ms(st[0].p99)
    ));
    if ds.events == TEN_K.events {
        for (x, st) in all.iter().zip(&st).skip(1) {
            let want = if x.kind == Kind::Radicale { 50.0 } else { 20.0 };
            let r = st.p50 / all_p50(&all);
            t.notes.push(format!(
                "target p50 >= {want}x faster than {}: {} ({r:.1}x)",
                x.kind.label(),
                verdict(r >= want)
            ));
        }
    }
    t.notes.extend(gave_up);
    report.add(t);
}

/// calproxy's p50 (the first series).
fn all_p50(all: &[Series]) -> f64 {
    Stats::of(&all[0].samples).p50
}
