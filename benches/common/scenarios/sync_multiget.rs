//! Scenario 3: on the 10,000-object calendar, sync-collection from an
//! empty token (every object's href and ETag) and calendar-multiget of 100
//! hrefs with getetag + calendar-data (a different 100 each time), N
//! REPORTs each on one keep-alive connection per server. Target (issue
//! 10): calproxy p99 <= 10 ms for both.

use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::common::check::same_objects;
use crate::common::data::TEN_K;
use crate::common::dav;
use crate::common::env_usize;
use crate::common::fixtures::{Access, Trio};
use crate::common::report::Report;
use crate::common::stats::{fmt_ms, Stats};

use super::{listings, series, table, verdict, Same};

/// Objects per calendar-multiget.
const BATCH: usize = 100;

/// Runs scenario 3.
pub async fn run(report: &mut Report) {
    let reps = env_usize("BENCH_REPS", 200);
    let peers = env_usize("BENCH_PEER_REPS", reps);
    let trio = Trio::load(TEN_K, Access::Read).await;
    report.add(trio.load_section("Loading the 10k-object calendar"));
    let counts = [reps, peers, peers];

    let body = dav::sync_collection();
    let mut all = Vec::new();
    for (s, n) in trio.servers.iter().zip(counts) {
        println!("  {}: 1 + {n} sync-collection REPORTs", s.kind.label());
        let ep = s.collection(trio.collection);
        all.push(
            series(s, n, &[207], Same::Objects, |_| {
                ep.report(body.clone(), None)
            })
            .await,
        );
    }
    let agreed = same_objects(
        "sync-collection from an empty token",
        &listings(&all),
        &trio.events,
    );
    let mut t = table(
        "sync-collection from an empty token (getetag), 10k objects",
        &all,
        &agreed,
    );
    let p99 = Stats::of(&all[0].samples).p99;
    t.notes.push(format!(
        "target calproxy p99 <= 10 ms: {} ({} ms)",
        verdict(p99 <= 10.0),
        fmt_ms(p99)
    ));
    report.add(t);

    // The same sequence of batches on every server.
    let mut names: Vec<&str> = trio.events.iter().map(|e| e.name.as_str()).collect();
    names.shuffle(&mut rand::rngs::StdRng::seed_from_u64(100));
    let batch = |i: usize| -> Vec<&str> {
        (0..BATCH)
            .map(|k| names[(i * BATCH + k) % names.len()])
            .collect()
    };
    let mut all = Vec::new();
    for (s, n) in trio.servers.iter().zip(counts) {
        println!("  {}: 1 + {n} calendar-multiget REPORTs", s.kind.label());
        let ep = s.collection(trio.collection);
        let one = |i: usize| {
            let hrefs: Vec<String> = batch(i).iter().map(|n| ep.object(n)).collect();
            ep.report(dav::multiget(&hrefs), Some("1"))
        };
        let x = series(s, n, &[207], Same::Count, one).await;
        let mut want: Vec<&str> = batch(0);
        let mut got: Vec<&str> = x.names.iter().map(String::as_str).collect();
        want.sort_unstable();
        got.sort_unstable();
        assert_eq!(
            got,
            want,
            "{}: multiget answered other objects",
            s.kind.label()
        );
        all.push(x);
    }
    let agreed = same_objects("calendar-multiget", &listings(&all), &trio.events);
    let mut t = table(
        "calendar-multiget of 100 hrefs (getetag + calendar-data), 10k objects",
        &all,
        &agreed,
    );
    let p99 = Stats::of(&all[0].samples).p99;
    t.notes.push(format!(
        "target calproxy p99 <= 10 ms: {} ({} ms)",
        verdict(p99 <= 10.0),
        fmt_ms(p99)
    ));
    report.add(t);
}
