//! The read-path benchmark harness of issue 10: calproxy side by side with
//! Radicale and Xandikos on the same data in the same run, over HTTP on
//! 127.0.0.1 only. calproxy is a black box here: its built binary driven
//! through the CLI (`calproxy.rs`) and HTTP; nothing uses its library API.
//!
//! Each `benches/<scenario>.rs` is a thin `cargo bench --bench <scenario>`
//! target calling `main`; `cargo bench` runs them all. Under
//! `cargo test --all-targets` (no `--bench` argument) they exit at once.
//! Results go to `target/bench-results/<scenario>.{md,json}`.
//!
//! Settings (environment):
//! - `BENCH_REPS` (200): requests per measurement against calproxy.
//! - `BENCH_PEER_REPS` (= `BENCH_REPS`): the same against the peers (10k).
//! - `BENCH_LARGE=1`: run the 100,000-object scenarios (loading takes minutes).
//! - `BENCH_LARGE_PUT=1`: also PUT latency at 100,000 (calproxy loaded by PUT: about an hour).
//! - `BENCH_LARGE_PEER_PUTS` (50): PUTs against the peers at 100k.
//! - `BENCH_LARGE_PEER_REPS` (5): requests against the peers at 100k.
//! - `BENCH_PEER_BUDGET_SECS` (3600): a peer whose calendar-query series takes
//!   longer is reported as not measured (Radicale builds its cache on the first).
//! - `BENCH_LOAD_SECS` (60), `BENCH_LOAD_CLIENTS` (50): the load scenario.
//! - `BENCH_RESTARTS` (5): restarts measured by `startup` and `freebusy`.
//! - `BENCH_FB_SWEEPS` (3): one-year calendar-query sweeps over the 20 calendars (`freebusy`).
//! - `BENCH_PUTS` (200): PUTs measured per server and collection size.
//! - `BENCH_LOAD_WRITERS` (4): parallel connections loading calproxy.
//! - `BENCH_ALLOW_MISMATCH=1`: record object-count disagreements, don't panic.
//! - `BENCH_KEEP=1`: keep the servers' working directories (data, logs).
//! - `BENCH_CALPROXY_LIMITS`: `serve --limit`s for calproxy, comma-separated
//!   (`store_cache_bytes=32MiB,answer_cache_bytes=16MiB`), to compare settings.

pub mod calproxy;
pub mod calproxy_load;
pub mod check;
pub mod data;
pub mod dav;
pub mod fixtures;
pub mod floor;
pub mod http;
pub mod peers;
pub mod process;
pub mod report;
pub mod scenarios;
pub mod servers;
pub mod stats;
pub mod tz;

use std::path::PathBuf;

use report::{Report, Section};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// cargo's target directory (`CARGO_TARGET_DIR` or `target/`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target"))
}

/// `target/bench-data/`: cached loaded data sets.
pub fn bench_data_dir() -> PathBuf {
    let d = target_dir().join("bench-data");
    std::fs::create_dir_all(&d).expect("create target/bench-data");
    d
}

/// `target/bench-data/tmp/`: the servers' working directories (removed
/// when each server is dropped).
pub fn tmp_dir() -> PathBuf {
    let d = bench_data_dir().join("tmp");
    std::fs::create_dir_all(&d).expect("create target/bench-data/tmp");
    d
}

/// A fresh working directory for one server under `tmp_dir()`, removed
/// with the server unless `BENCH_KEEP=1` (to read its log afterwards).
pub fn work_dir(server: &str) -> tempfile::TempDir {
    let keep = std::env::var("BENCH_KEEP").as_deref() == Ok("1");
    let dir = tempfile::Builder::new()
        .prefix(&format!("{server}-bench-"))
        .disable_cleanup(keep)
        .tempdir_in(tmp_dir())
        .expect("temporary directory");
    if keep {
        println!(
            "  {server}: working directory {} (kept)",
            dir.path().display()
        );
    }
    dir
}

/// A numeric setting from the environment.
pub fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not a number")),
        Err(_) => default,
    }
}

/// Whether an opt-in part runs (`var=1`); records the skip and `why` in
/// `report` when it doesn't.
pub fn opt_in(report: &mut Report, var: &str, what: &str, why: &str) -> bool {
    if std::env::var(var).as_deref() == Ok("1") {
        return true;
    }
    let mut s = Section::new(&format!("{what}: skipped"), &[]);
    s.notes.push(format!("set {var}=1 to run it ({why})"));
    report.add(s);
    false
}

/// Whether the 100,000-object scenarios run (`BENCH_LARGE=1`).
pub fn large_enabled(report: &mut Report, what: &str) -> bool {
    opt_in(
        report,
        "BENCH_LARGE",
        what,
        "loads 100,000 objects into each server: minutes",
    )
}

/// The entry point of every bench target.
pub fn main(scenario: &str) {
    // The load scenario starts this binary again as its floor server.
    floor::serve_if_asked();
    // `cargo bench` passes --bench; `cargo test --all-targets` runs the
    // binary without it: then only show that it builds and starts.
    if !std::env::args().any(|a| a == "--bench") {
        println!("{scenario}: a benchmark; run it with `cargo bench --bench {scenario}`");
        return;
    }
    // One thread for the harness, so that it takes at most one core from
    // the server under test; child processes are spawned from this thread
    // (they die with it: PR_SET_PDEATHSIG).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        let mut report = Report::new(scenario);
        match scenario {
            "query_10k" => scenarios::query::ten_k(&mut report).await,
            "query_100k" => scenarios::query::large(&mut report).await,
            "sync_multiget" => scenarios::sync_multiget::run(&mut report).await,
            "freebusy" => scenarios::freebusy::run(&mut report).await,
            "startup" => scenarios::startup::run(&mut report).await,
            "load" => scenarios::load::run(&mut report).await,
            "put_latency" => scenarios::put::run(&mut report).await,
            "memory" => scenarios::memory::run(&mut report).await,
            other => panic!("unknown scenario {other}"),
        }
        report.write();
    });
}
