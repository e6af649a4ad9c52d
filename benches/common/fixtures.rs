//! Loaded servers for a data set: the same generated objects in calproxy,
//! Radicale and Xandikos (storage written directly, see `peers.rs`).
//! calproxy gets data sets up to 10,000 objects by PUT into `blocked/`,
//! and larger ones by its own sync from the Xandikos peer (a conflict
//! collection named `large`), unless a scenario needs them writable
//! (`calproxy_load.rs` explains both).

use super::calproxy_load::{self, BLOCKED};
use super::data::{self, Dataset, Event, TEN_K};
use super::peers;
use super::report::Section;
use super::servers::{LoadInfo, Server};
use super::stats::group;

/// The collection a large data set is synced into on every server.
const LARGE: &str = "large";

/// Whether calproxy must be able to write the collection (PUT loading).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read-only is enough: large sets come by sync.
    Read,
    /// Writable: always loaded by PUT into `blocked/`.
    Write,
}

/// The same data set loaded into all three servers.
pub struct Trio {
    /// calproxy, Radicale, Xandikos, in this order.
    pub servers: Vec<Server>,
    /// How each was loaded (same order).
    pub loads: Vec<LoadInfo>,
    /// The objects.
    pub events: Vec<Event>,
    /// The collection holding them on every server.
    pub collection: &'static str,
}

fn by_sync(ds: Dataset, access: Access) -> bool {
    access == Access::Read && ds.events > TEN_K.events
}

impl Trio {
    /// `ds` in all three servers.
    pub async fn load(ds: Dataset, access: Access) -> Trio {
        let events = data::generate(ds, "ev", data::base_date());
        println!(
            "loading {} objects into calproxy, Radicale, Xandikos",
            events.len()
        );
        let collection = if by_sync(ds, access) { LARGE } else { BLOCKED };
        let coll = [(collection, events.as_slice())];
        let (rad, rad_load) = peers::radicale(&coll).await;
        let (xan, xan_load) = peers::xandikos(&coll).await;
        let (cp, cp_load) = if by_sync(ds, access) {
            calproxy_load::by_sync(&xan, &[LARGE.to_string()], events.len()).await
        } else {
            calproxy_load::by_put(ds, &events, false).await
        };
        let loads = vec![cp_load, rad_load, xan_load];
        for (s, l) in [&cp, &rad, &xan].iter().zip(&loads) {
            println!("  {}: {}", s.kind.label(), describe(l));
        }
        Trio {
            servers: vec![cp, rad, xan],
            loads,
            events,
            collection,
        }
    }

    /// The load table of this trio.
    pub fn load_section(&self, title: &str) -> Section {
        let refs: Vec<&Server> = self.servers.iter().collect();
        load_section(title, &refs, &self.loads)
    }
}

/// calproxy alone with a data set (for scenarios without peers).
pub struct Alone {
    /// calproxy.
    pub calproxy: Server,
    /// How it was loaded.
    pub load: LoadInfo,
    /// The collection holding the objects.
    pub collection: &'static str,
    /// The Xandikos it synced from, if any (kept running).
    _upstream: Option<Server>,
}

impl Alone {
    /// `ds` in calproxy; a PUT load is done afresh when `fresh`.
    pub async fn load(ds: Dataset, fresh: bool) -> Alone {
        let events = data::generate(ds, "ev", data::base_date());
        let alone = if by_sync(ds, Access::Read) {
            let (xan, _) = peers::xandikos(&[(LARGE, events.as_slice())]).await;
            let (cp, load) = calproxy_load::by_sync(&xan, &[LARGE.to_string()], events.len()).await;
            Alone {
                calproxy: cp,
                load,
                collection: LARGE,
                _upstream: Some(xan),
            }
        } else {
            let (cp, load) = calproxy_load::by_put(ds, &events, fresh).await;
            Alone {
                calproxy: cp,
                load,
                collection: BLOCKED,
                _upstream: None,
            }
        };
        println!("  calproxy: {}", describe(&alone.load));
        alone
    }
}

fn describe(l: &LoadInfo) -> String {
    format!(
        "{} objects, {} in {:.1} s ({:.0}/s){}",
        l.events,
        l.method,
        l.seconds,
        l.rate,
        if l.cached {
            ", copied from an earlier run's load"
        } else {
            ""
        }
    )
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
