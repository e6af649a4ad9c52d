//! The two ways calproxy gets a data set, both through its public
//! interfaces: HTTP PUT into `blocked/` (writable, so the PUT and load
//! scenarios can write; minutes per 10,000 objects), or its own sync from
//! the Xandikos peer (`connect`, `configure --conflict`, `sync` through the
//! admin socket of the running server: a read-only conflict collection, a
//! minute for 100,000 objects).
//!
//! A data directory loaded by PUT (10,000 objects or more) is kept under
//! `target/bench-data/` and copied for later runs. Its key is the data
//! set, the generator version, the base date and a hash of the calproxy
//! binary: any rebuild of calproxy loads afresh (the store format may have
//! changed); only the newest copy per data set is kept. Starting from such
//! a copy is exactly a restart.

use std::path::Path;
use std::time::Instant;

use sha2::{Digest, Sha256};

use super::calproxy;
use super::data::{self, Dataset, Event};
use super::servers::{self, LoadInfo, Server};

/// calproxy's writable collection, the one loaded by PUT.
pub const BLOCKED: &str = "blocked";

/// Parallel PUT connections used to load calproxy (`BENCH_LOAD_WRITERS`, default 4).
fn writers() -> usize {
    super::env_usize("BENCH_LOAD_WRITERS", 4)
}

fn cache_key(ds: Dataset) -> String {
    let bin = std::fs::read(calproxy::binary()).expect("read the calproxy binary");
    let hash = hex::encode(Sha256::digest(&bin));
    format!(
        "{}-g{}-{}-{}",
        ds.name,
        data::GENERATOR_VERSION,
        data::base_date().format("%Y%m%d"),
        &hash[..16]
    )
}

fn copy_dir(from: &Path, to: &Path) {
    let st = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .expect("run cp");
    assert!(
        st.success(),
        "cp -a {} {} failed",
        from.display(),
        to.display()
    );
}

/// calproxy serving `events` in `blocked/`, loaded by PUT. Unless `fresh`,
/// a data directory loaded by an earlier run with the same binary is
/// copied instead. After a fresh load of 10,000 objects or more the data
/// is kept for later runs (calproxy is stopped for the copy and restarted).
pub async fn by_put(ds: Dataset, events: &[Event], fresh: bool) -> (Server, LoadInfo) {
    let root = super::bench_data_dir();
    let cache = root.join(format!("calproxy-{}", cache_key(ds)));
    if !fresh && cache.join(".complete").exists() {
        let (dir, data) = calproxy::new_dir();
        copy_dir(&cache.join("data"), &data);
        let mut info: LoadInfo = serde_json::from_slice(
            &std::fs::read(cache.join("load.json")).expect("read load.json"),
        )
        .expect("parse load.json");
        info.cached = true;
        let (s, _) = calproxy::start(dir, data).await;
        return (s, info);
    }
    let (dir, data) = calproxy::new_dir();
    calproxy::user_add(&data).await;
    let (mut s, _) = calproxy::start(dir, data).await;
    println!(
        "  calproxy: loading {} objects by PUT ({} connections)",
        events.len(),
        writers()
    );
    let mut info = servers::put_all(&s.collection(BLOCKED), events, writers()).await;
    info.memory_after_load = Some(s.memory());
    if ds.events >= 10_000 {
        calproxy::stop(&mut s).await;
        let prefix = format!("calproxy-{}-", ds.name);
        for old in std::fs::read_dir(&root)
            .expect("list target/bench-data")
            .flatten()
        {
            if old.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_dir_all(old.path());
            }
        }
        std::fs::create_dir_all(&cache).expect("create cache directory");
        copy_dir(&s.data, &cache.join("data"));
        std::fs::write(
            cache.join("load.json"),
            serde_json::to_vec_pretty(&info).expect("JSON"),
        )
        .expect("write load.json");
        std::fs::write(cache.join(".complete"), b"").expect("write .complete");
        calproxy::restart(&mut s).await;
    }
    (s, info)
}

/// A running calproxy whose user `bench` has `calendars` of the Xandikos
/// server `upstream` as conflict calendars, synced once (through the
/// running server, so `memory_after_load` is the serving process's).
pub async fn by_sync(
    upstream: &Server,
    calendars: &[String],
    objects: usize,
) -> (Server, LoadInfo) {
    let (dir, data) = calproxy::new_dir();
    calproxy::user_add(&data).await;
    let (s, _) = calproxy::start(dir, data).await;
    let url = format!("http://127.0.0.1:{}/", upstream.port);
    let t = Instant::now();
    calproxy::connect(&s.data, &url).await;
    calproxy::configure_conflicts(&s.data, calendars).await;
    let out = calproxy::sync(&s.data).await;
    let seconds = t.elapsed().as_secs_f64();
    println!("  calproxy sync: {}", out.trim());
    let info = LoadInfo {
        method: format!(
            "its own sync from the {} peer (connect, configure, sync)",
            upstream.kind.label()
        ),
        events: objects,
        seconds,
        rate: objects as f64 / seconds,
        memory_after_load: Some(s.memory()),
        cached: false,
    };
    (s, info)
}
