//! Radicale and Xandikos from `target/venv` (`.ci/setup-peers`), started on
//! 127.0.0.1 as `benches/availability.rs` starts them, and loaded by
//! writing their storage directly (20,000 or 100,000 PUTs would take far
//! longer than the measurements): Radicale one `.ics` per object plus
//! `.Radicale.props`; Xandikos MKCALENDAR over HTTP, then the files
//! committed into each collection's git repository.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::data::Event;
use super::http::Conn;
use super::process::{self, Proc};
use super::servers::{Kind, LoadInfo, Server, USER};

const START_LIMIT: Duration = Duration::from_secs(120);
const GIT_LIMIT: Duration = Duration::from_secs(3600);

/// A tool from the test venv; panics with set-up advice when missing.
fn venv(tool: &str) -> PathBuf {
    let p = super::repo().join("target/venv/bin").join(tool);
    assert!(
        p.exists(),
        "{} is missing: run .ci/setup-peers first",
        p.display()
    );
    p
}

/// One collection to load: its name and objects.
pub type Collection<'a> = (&'a str, &'a [Event]);

fn write_objects(dir: &Path, events: &[Event]) {
    std::fs::create_dir_all(dir).expect("create collection directory");
    for e in events {
        std::fs::write(dir.join(&e.name), &e.text).expect("write object file");
    }
}

fn load_info(method: &str, events: usize, t: Instant) -> LoadInfo {
    let seconds = t.elapsed().as_secs_f64();
    LoadInfo {
        method: method.to_string(),
        events,
        seconds,
        rate: events as f64 / seconds,
        memory_after_load: None,
        cached: false,
    }
}

/// Radicale's anti-DoS cap on the VEVENTs one REPORT may return (10,000 by
/// default: a one-month calendar-query at 100,000 objects returns ~17,000
/// and got 400 "REPORT occurrences limit of 10000 hit"), raised out of the way.
const LIMIT: u32 = 10_000_000;

/// Radicale with `collections` under `/bench/`, no authentication.
pub async fn radicale(collections: &[Collection<'_>]) -> (Server, LoadInfo) {
    let dir = super::work_dir("radicale");
    let root = dir.path().join("collections");
    let t = Instant::now();
    let mut n = 0;
    for (name, events) in collections {
        let d = root.join("collection-root").join(USER).join(name);
        write_objects(&d, events);
        std::fs::write(
            d.join(".Radicale.props"),
            r#"{"C:supported-calendar-component-set": "VEVENT", "tag": "VCALENDAR"}"#,
        )
        .expect("write .Radicale.props");
        n += events.len();
    }
    let info = load_info("storage files written directly", n, t);
    let port = process::free_port();
    let conf = dir.path().join("config");
    std::fs::write(
        &conf,
        format!(
            "[server]\nhosts = 127.0.0.1:{port}\n[auth]\ntype = none\n[storage]\nfilesystem_folder = {}\n[logging]\nlevel = warning\n[reporting]\nmax_expand_occurrence = {LIMIT}\nmax_freebusy_occurrence = {LIMIT}\n",
            root.display()
        ),
    )
    .expect("write radicale config");
    let mut cmd = Command::new(venv("radicale"));
    cmd.arg("--config").arg(&conf);
    let proc = Proc::spawn("radicale", cmd, &dir.path().join("radicale.log"));
    process::wait_port(port, START_LIMIT).await;
    let server = Server {
        kind: Kind::Radicale,
        port,
        proc: Some(proc),
        data: root,
        dir,
    };
    (server, info)
}

async fn git(dir: &Path, args: &[&str]) {
    let mut c = tokio::process::Command::new("git");
    c.arg("-C")
        .arg(dir)
        .args(["-c", "user.name=bench", "-c", "user.email=bench@localhost"])
        .args(args);
    process::run(c, "", GIT_LIMIT).await;
}

/// Xandikos (`--defaults`, no authentication) with `collections` under
/// `/user/calendars/`.
pub async fn xandikos(collections: &[Collection<'_>]) -> (Server, LoadInfo) {
    let dir = super::work_dir("xandikos");
    let root = dir.path().join("store");
    let port = process::free_port();
    let mut cmd = Command::new(venv("xandikos"));
    cmd.args([
        "--defaults",
        "-l",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-d",
    ])
    .arg(&root);
    let proc = Proc::spawn("xandikos", cmd, &dir.path().join("xandikos.log"));
    process::wait_port(port, START_LIMIT).await;
    let server = Server {
        kind: Kind::Xandikos,
        port,
        proc: Some(proc),
        data: root.clone(),
        dir,
    };
    let t = Instant::now();
    let mut conn = Conn::new(port);
    let mut n = 0;
    for (name, events) in collections {
        let ep = server.collection(name);
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><D:displayname>{name}</D:displayname></D:prop></D:set></C:mkcalendar>"#
        );
        let req = super::http::Req {
            method: "MKCALENDAR",
            ..ep.report(body, None)
        };
        conn.expect(&req, &[201]).await;
        let d = root.join("user/calendars").join(name);
        write_objects(&d, events);
        git(&d, &["add", "-A"]).await;
        git(&d, &["commit", "-q", "-m", "bench load"]).await;
        n += events.len();
    }
    (
        server,
        load_info("MKCALENDAR, then files committed to git", n, t),
    )
}
