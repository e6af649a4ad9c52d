//! Loaded servers for a data set: the same generated objects in calproxy
//! (`blocked/` of user `bench`, filled by HTTP PUT), Radicale and
//! Xandikos (storage written directly).
//!
//! Loading calproxy by PUT takes minutes at 100,000 objects, so a loaded
//! data directory is kept under `target/bench-data/` and copied for later
//! runs. The key is the data set, the generator version, the base date and
//! a hash of the calproxy binary: any rebuild of calproxy loads afresh
//! (the store format may have changed), and only the newest copy per data
//! set is kept. Starting from such a copy is exactly a restart.

use std::path::Path;

use sha2::{Digest, Sha256};

use super::calproxy;
use super::data::{self, Dataset, Event};
use super::peers;
use super::report::Section;
use super::servers::{self, LoadInfo, Server};
use super::stats::group;

/// The collection name on every server (calproxy's writable one).
pub const COLLECTION: &str = "blocked";

/// The same data set loaded into all three servers.
pub struct Trio {
    /// calproxy, Radicale, Xandikos, in this order.
    pub servers: Vec<Server>,
    /// How each was loaded (same order).
    pub loads: Vec<LoadInfo>,
    /// The objects.
    pub events: Vec<Event>,
}

impl Trio {
    /// `ds` in all three servers.
    pub async fn load(ds: Dataset) -> Trio {
        let events = data::generate(ds, "ev", data::base_date());
        println!(
            "loading {} objects into calproxy, Radicale, Xandikos",
            events.len()
        );
        let (cp, cp_load) = calproxy_loaded(ds, &events, false).await;
        let coll = [(COLLECTION, events.as_slice())];
        let (rad, rad_load) = peers::radicale(&coll).await;
        let (xan, xan_load) = peers::xandikos(&coll).await;
        let loads = vec![cp_load, rad_load, xan_load];
        for (s, l) in [&cp, &rad, &xan].iter().zip(&loads) {
            println!(
                "  {}: {} objects, {} in {:.1} s ({:.0}/s){}",
                s.kind.label(),
                l.events,
                l.method,
                l.seconds,
                l.rate,
                if l.cached {
                    ", copied from an earlier run's load"
                } else {
                    ""
                }
            );
        }
        Trio {
            servers: vec![cp, rad, xan],
            loads,
            events,
        }
    }
}

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

/// calproxy serving `events` in `blocked/`. Unless `fresh`, a data
/// directory loaded by an earlier run with the same binary is copied
/// instead of loading again. Data sets of 10,000 objects or more are kept
/// for later runs after a fresh load (which stops and restarts calproxy).
pub async fn calproxy_loaded(ds: Dataset, events: &[Event], fresh: bool) -> (Server, LoadInfo) {
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
    let mut info = servers::put_all(&s.collection(COLLECTION), events, writers()).await;
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

/// A table of how each server was loaded.
pub fn load_section(title: &str, servers: &[&Server], loads: &[LoadInfo]) -> Section {
    let mut s = Section::new(title, &["server", "objects", "how", "seconds", "objects/s"]);
    for (srv, l) in servers.iter().zip(loads) {
        let how = if l.cached {
            format!("{} (an earlier run's load, copied)", l.method)
        } else {
            l.method.clone()
        };
        s.rows.push(vec![
            srv.kind.label().to_string(),
            group(l.events as u64),
            how,
            format!("{:.1}", l.seconds),
            format!("{:.0}", l.rate),
        ]);
    }
    s.data = serde_json::to_value(loads).expect("JSON");
    s
}

impl Trio {
    /// The load table of this trio.
    pub fn load_section(&self, title: &str) -> Section {
        let refs: Vec<&Server> = self.servers.iter().collect();
        load_section(title, &refs, &self.loads)
    }
}
