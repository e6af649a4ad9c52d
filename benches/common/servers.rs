//! The three servers under test as the harness sees them: a kind, a port,
//! a process, and where a collection and its objects live on each
//! (`Endpoint`). Also the one generic loader, PUT over HTTP with several
//! keep-alive connections. Starting each server lives in `calproxy.rs` and
//! `peers.rs`.

use std::cell::Cell;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;

use super::data::Event;
use super::http::{Conn, Req};
use super::process::{Memory, Proc};

/// Which server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// calproxy, driven through its CLI and HTTP only.
    Calproxy,
    /// Radicale from `target/venv`.
    Radicale,
    /// Xandikos from `target/venv`.
    Xandikos,
}

impl Kind {
    /// The name used in tables.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Calproxy => "calproxy",
            Kind::Radicale => "Radicale",
            Kind::Xandikos => "Xandikos",
        }
    }
}

/// A running server.
pub struct Server {
    /// Which one.
    pub kind: Kind,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its process (`None` only while calproxy restarts).
    pub proc: Option<Proc>,
    /// Its data directory.
    pub data: PathBuf,
    /// Holds the data directory (and logs); removed with the server.
    pub dir: tempfile::TempDir,
}

/// The tenant, user and password calproxy is loaded for.
pub const TENANT: &str = "bench";
/// See `TENANT`.
pub const USER: &str = "bench";
/// See `TENANT`.
pub const PASSWORD: &str = "bench-password";

impl Server {
    /// The collection `cal` on this server (calproxy: of user `bench`).
    pub fn collection(&self, cal: &str) -> Endpoint {
        let collection = match self.kind {
            Kind::Calproxy => format!("/dav/{TENANT}/{USER}/{cal}/"),
            Kind::Radicale => format!("/{USER}/{cal}/"),
            Kind::Xandikos => format!("/user/calendars/{cal}/"),
        };
        let auth = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"))
        );
        Endpoint {
            kind: self.kind,
            port: self.port,
            collection,
            auth,
        }
    }

    /// The process's current memory.
    pub fn memory(&self) -> Memory {
        self.proc
            .as_ref()
            .map(|p| p.memory())
            .unwrap_or_else(|| panic!("{} is not running", self.kind.label()))
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.proc
            .as_ref()
            .map(|p| p.pid())
            .unwrap_or_else(|| panic!("{} is not running", self.kind.label()))
    }
}

/// One collection on one server: builds the requests the scenarios send.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// Which server.
    pub kind: Kind,
    /// Its port.
    pub port: u16,
    /// The collection's path, ending in `/`.
    pub collection: String,
    auth: String,
}

impl Endpoint {
    /// The same requests (path, credentials) sent to another port: the
    /// load scenario's floor server, which answers them all alike.
    pub fn at_port(&self, port: u16) -> Endpoint {
        Endpoint {
            port,
            ..self.clone()
        }
    }

    /// The path of object `name` in this collection.
    pub fn object(&self, name: &str) -> String {
        format!("{}{name}", self.collection)
    }

    /// A REPORT on the collection (`Depth: 1` unless `depth` is `None`).
    pub fn report(&self, body: String, depth: Option<&'static str>) -> Req {
        let mut headers = vec![
            ("authorization", self.auth.clone()),
            ("content-type", "application/xml; charset=utf-8".to_string()),
        ];
        if let Some(d) = depth {
            headers.push(("depth", d.to_string()));
        }
        Req {
            method: "REPORT",
            path: self.collection.clone(),
            headers,
            body: Bytes::from(body),
        }
    }

    /// A REPORT on another path of the same server (e.g. `availability/`).
    pub fn report_at(&self, path: &str, body: String) -> Req {
        Req {
            path: path.to_string(),
            ..self.report(body, Some("1"))
        }
    }

    /// PROPFIND `Depth: 0` of `path` asking `displayname` (a cheap
    /// authenticated request).
    pub fn propfind_at(&self, path: &str) -> Req {
        Req {
            method: "PROPFIND",
            path: path.to_string(),
            headers: vec![
                ("authorization", self.auth.clone()),
                ("content-type", "application/xml; charset=utf-8".to_string()),
                ("depth", "0".to_string()),
            ],
            body: Bytes::from_static(
                br#"<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:displayname/></D:prop></D:propfind>"#,
            ),
        }
    }

    /// GET of object `name`.
    pub fn get(&self, name: &str) -> Req {
        Req {
            method: "GET",
            path: self.object(name),
            headers: vec![("authorization", self.auth.clone())],
            body: Bytes::new(),
        }
    }

    /// PUT of `text` as object `name`; `create` adds `If-None-Match: *`.
    pub fn put(&self, name: &str, text: &str, create: bool) -> Req {
        let mut headers = vec![
            ("authorization", self.auth.clone()),
            ("content-type", "text/calendar; charset=utf-8".to_string()),
        ];
        if create {
            headers.push(("if-none-match", "*".to_string()));
        }
        Req {
            method: "PUT",
            path: self.object(name),
            headers,
            body: Bytes::from(text.to_string()),
        }
    }
}

/// How a server was filled.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct LoadInfo {
    /// How the data got in.
    pub method: String,
    /// Objects loaded.
    pub events: usize,
    /// Wall time of the load, seconds.
    pub seconds: f64,
    /// Objects per second.
    pub rate: f64,
    /// Memory of the server right after the load (calproxy), if measured.
    pub memory_after_load: Option<Memory>,
    /// Whether this run reused a data directory loaded by an earlier run.
    pub cached: bool,
}

/// PUTs every event into `ep` over `writers` parallel keep-alive
/// connections (each PUT must end in 201 or 204), printing progress.
pub async fn put_all(ep: &Endpoint, events: &[Event], writers: usize) -> LoadInfo {
    let t = Instant::now();
    let next = Rc::new(Cell::new(0usize));
    let local = tokio::task::LocalSet::new();
    let step = (events.len() / 10).max(1);
    let events: Rc<[Event]> = events.into();
    let mut tasks = Vec::new();
    for _ in 0..writers {
        let (ep, next, events) = (ep.clone(), next.clone(), events.clone());
        tasks.push(local.spawn_local(async move {
            let mut conn = Conn::new(ep.port);
            loop {
                let i = next.get();
                if i >= events.len() {
                    return;
                }
                next.set(i + 1);
                let e = &events[i];
                let req = ep.put(&e.name, &e.text, false);
                // Every PUT must succeed: the 404 an availability refresh
                // racing a PUT once caused (issue 9, bug B) is fixed.
                conn.expect(&req, &[201, 204]).await;
                if (i + 1) % step == 0 {
                    let s = t.elapsed().as_secs_f64();
                    println!(
                        "  {}: {} / {} PUT in {s:.0} s ({:.0}/s)",
                        ep.kind.label(),
                        i + 1,
                        events.len(),
                        (i + 1) as f64 / s
                    );
                }
            }
        }));
    }
    let all = local.run_until(async {
        for t in tasks {
            if let Err(e) = t.await {
                std::panic::resume_unwind(e.into_panic());
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(4 * 3600), all)
        .await
        .expect("loading by PUT took over 4 hours");
    let seconds = t.elapsed().as_secs_f64();
    LoadInfo {
        method: format!("HTTP PUT, {writers} keep-alive connections"),
        events: events.len(),
        seconds,
        rate: events.len() as f64 / seconds,
        memory_after_load: None,
        cached: false,
    }
}
