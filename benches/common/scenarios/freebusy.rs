//! Scenario 4: free-busy-query for one year on `availability/` of a user
//! with 20 conflict calendars / 20,000 objects (the shape of
//! `benches/availability.rs`' data: UTC times only; HTTP only), measured as the first
//! request after a restart of calproxy and warm. calproxy gets the
//! calendars through its own sync from the Xandikos peer (`connect`,
//! `configure --conflict` ×20, `sync`). For reference and for the
//! object-count check, a one-year calendar-query over the 20 calendars on
//! all three servers. Target (issue 10): <= 20 ms on the first request
//! after a restart.

use std::time::{Duration, Instant};

use crate::common::calproxy;
use crate::common::calproxy_load;
use crate::common::check::same_objects;
use crate::common::data::{self, Dataset, Event};
use crate::common::dav;
use crate::common::env_usize;
use crate::common::fixtures::load_section;
use crate::common::http::Conn;
use crate::common::peers;
use crate::common::report::{Report, Section};
use crate::common::servers::{Server, TENANT, USER};
use crate::common::stats::{fmt_ms, ms, Stats};

use super::{listed, listings, series, table, verdict, year, Same, Series};
use crate::common::check::consistent;

const CALENDARS: usize = 20;
const PER_CALENDAR: usize = 1000;

fn cal(i: usize) -> String {
    format!("cal{i:02}")
}

/// Runs scenario 4.
pub async fn run(report: &mut Report) {
    let restarts = env_usize("BENCH_RESTARTS", 5);
    let reps = env_usize("BENCH_REPS", 200);
    let sweeps = env_usize("BENCH_FB_SWEEPS", 3);
    let base = data::base_date();
    let sets: Vec<Vec<Event>> = (0..CALENDARS)
        .map(|c| {
            let ds = Dataset {
                name: "fb",
                events: PER_CALENDAR,
                seed: 20_000 + c as u64,
                // UTC only, as in benches/availability.rs: with zones on
                // four continents every hour of the year is busy.
                zoned_percent: 0,
            };
            data::generate(ds, &format!("fb{c:02}"), base)
        })
        .collect();
    let events: Vec<Event> = sets.iter().flatten().cloned().collect();
    let names: Vec<String> = (0..CALENDARS).map(cal).collect();
    let colls: Vec<(&str, &[Event])> = names
        .iter()
        .zip(&sets)
        .map(|(n, s)| (n.as_str(), s.as_slice()))
        .collect();
    let (rad, rad_load) = peers::radicale(&colls).await;
    let (xan, xan_load) = peers::xandikos(&colls).await;

    let (mut cp, cp_load) = calproxy_load::by_sync(&xan, &names, events.len()).await;
    report.add(load_section(
        "Loading 20 calendars × 1,000 objects",
        &[&cp, &rad, &xan],
        &[cp_load, rad_load, xan_load],
    ));

    let fb_path = format!("/dav/{TENANT}/{USER}/availability/");
    let body = dav::free_busy(year());
    let ep = cp.collection("availability");
    let mut first = Vec::new();
    let mut health = Vec::new();
    for k in 0..restarts {
        health.push(calproxy::restart(&mut cp).await);
        let mut conn = Conn::new(cp.port);
        let (a, d) = conn
            .expect(&ep.report_at(&fb_path, body.clone()), &[200])
            .await;
        first.push(d);
        println!(
            "  restart {}: /healthz after {} ms, first free-busy {} ms ({} periods)",
            k + 1,
            fmt_ms(ms(health[k])),
            fmt_ms(ms(d)),
            dav::freebusy_periods(&a.body).len()
        );
    }
    let warm = series(&cp, reps, &[200], Same::Status, |_| {
        ep.report_at(&fb_path, body.clone())
    })
    .await;
    let mut conn = Conn::new(cp.port);
    let (a, _) = conn
        .expect(&ep.report_at(&fb_path, body.clone()), &[200])
        .await;
    let periods = dav::freebusy_periods(&a.body);
    report.add(freebusy_section(&first, &health, &warm, &periods));

    let servers = [&cp, &rad, &xan];
    let mut all = Vec::new();
    for s in servers {
        println!(
            "  {}: 1 + {sweeps} one-year calendar-query sweeps over 20 calendars",
            s.kind.label()
        );
        all.push(sweep(s, &names, sweeps).await);
    }
    let agreed = same_objects(
        "one-year calendar-query over 20 calendars",
        &listings(&all),
        &events,
    );
    let mut t = table(
        "reference: one-year calendar-query (getetag) on each of the 20 calendars in turn (one sample = 20 REPORTs)",
        &all,
        &agreed,
    );
    let w = Stats::of(&warm.samples).p50;
    for x in &all[1..] {
        t.notes.push(format!(
            "calproxy free-busy (warm p50) vs {} calendar-query sweep (p50): 1 : {:.0}",
            x.kind.label(),
            Stats::of(&x.samples).p50 / w
        ));
    }
    report.add(t);
}

fn freebusy_section(
    first: &[Duration],
    health: &[Duration],
    warm: &Series,
    periods: &[String],
) -> Section {
    let mut s = Section::new(
        "calproxy free-busy-query, one year, availability/ over 20 calendars / 20,000 objects",
        &["measurement", "requests", "p50 ms", "p99 ms", "max ms"],
    );
    let f = Stats::of(first);
    let h = Stats::of(health);
    let w = Stats::of(&warm.samples);
    for (name, st) in [
        ("start to /healthz 200", h),
        ("first free-busy after a restart", f),
        ("free-busy, warm (one keep-alive connection)", w),
    ] {
        s.rows.push(vec![
            name.to_string(),
            st.n.to_string(),
            fmt_ms(st.p50),
            fmt_ms(st.p99),
            fmt_ms(st.max),
        ]);
    }
    s.notes.push(format!(
        "{} FREEBUSY periods in the answer (first {}, last {}); calproxy RSS {:.1} MiB",
        periods.len(),
        periods.first().map_or("–", String::as_str),
        periods.last().map_or("–", String::as_str),
        warm.memory.rss_mib()
    ));
    s.notes.push(format!(
        "target first request after a restart <= 20 ms: {} (worst {} ms)",
        verdict(f.max <= 20.0),
        fmt_ms(f.max)
    ));
    s.data = serde_json::json!({
        "health_ms": h, "first_ms": f, "warm_ms": w, "periods": periods.len(),
        "first_each_ms": first.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
        "memory": warm.memory,
    });
    s
}

/// One-year calendar-query on each calendar in turn; one sample per sweep.
async fn sweep(s: &Server, names: &[String], sweeps: usize) -> Series {
    let mut conn = Conn::new(s.port);
    let body = dav::calendar_query(year(), false);
    let mut times = Vec::new();
    let mut listed_first = Vec::new();
    let mut bytes = 0;
    let mut varied = Vec::new();
    for k in 0..=sweeps {
        let t = Instant::now();
        let mut got = Vec::new();
        for n in names {
            let (a, _) = conn
                .expect(&s.collection(n).report(body.clone(), Some("1")), &[207])
                .await;
            if k == 0 {
                bytes += a.body.len();
            }
            got.extend(listed(s.kind, &a));
        }
        times.push(t.elapsed());
        if k == 0 {
            listed_first = got;
        } else {
            let (mut a, mut b) = (got.clone(), listed_first.clone());
            a.sort_unstable();
            b.sort_unstable();
            if a != b {
                varied.extend(consistent(s.kind, k, &listed_first, &got));
            }
        }
    }
    Series {
        kind: s.kind,
        first: times[0],
        samples: times[1..].to_vec(),
        names: listed_first,
        bytes,
        reconnects: conn.reconnects,
        memory: s.memory(),
        varied,
    }
}
