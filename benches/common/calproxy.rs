//! calproxy as a black box: the built binary (`CARGO_BIN_EXE_calproxy`)
//! run as a child process. Every CLI invocation is one small function here,
//! so a change of flags is a change in one place; nothing in the harness
//! uses calproxy's library API.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::process::Command;

use super::http::{Conn, Req};
use super::process::{self, Proc};
use super::servers::{Kind, Server, PASSWORD, TENANT, USER};

/// How long a CLI command may take (a sync of 20,000 events included).
const CLI_LIMIT: Duration = Duration::from_secs(1800);
/// How long calproxy may take from start to `/healthz` 200.
const START_LIMIT: Duration = Duration::from_secs(300);

/// The calproxy binary cargo built for this bench.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_calproxy"))
}

fn cli() -> Command {
    let mut c = Command::new(binary());
    c.env("RUST_LOG", "warn");
    c
}

/// `calproxy user add` for the bench user (password on stdin).
pub async fn user_add(data: &Path) {
    let mut c = cli();
    c.args(["user", "add", "--tenant", TENANT, "--user", USER, "--data"])
        .arg(data);
    process::run(c, &format!("{PASSWORD}\n"), CLI_LIMIT).await;
}

/// `calproxy connect` of the bench user to a CalDAV server at `upstream`
/// (Apple ID `bench`, password on stdin); returns its output.
pub async fn connect(data: &Path, upstream: &str) -> String {
    let mut c = cli();
    c.args(["connect", "--tenant", TENANT, "--user", USER])
        .args(["--apple-id", USER, "--upstream", upstream, "--data"])
        .arg(data);
    process::run(c, &format!("{PASSWORD}\n"), CLI_LIMIT).await
}

/// `calproxy configure` making `calendars` the bench user's conflict calendars.
pub async fn configure_conflicts(data: &Path, calendars: &[String]) {
    let mut c = cli();
    c.args(["configure", "--tenant", TENANT, "--user", USER]);
    for cal in calendars {
        c.args(["--conflict", cal]);
    }
    c.arg("--data").arg(data);
    process::run(c, "", CLI_LIMIT).await;
}

/// `calproxy sync` (all connections, in process: no server runs); returns its output.
pub async fn sync(data: &Path) -> String {
    let mut c = cli();
    c.args(["sync", "--data"]).arg(data);
    process::run(c, "", CLI_LIMIT).await
}

/// `calproxy serve` on 127.0.0.1:`port` (background sync once an hour, so
/// that it stays out of the measurements).
fn serve(data: &Path, port: u16) -> std::process::Command {
    let mut c = std::process::Command::new(binary());
    c.env("RUST_LOG", "warn")
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--sync-interval", "3600", "--data"])
        .arg(data);
    for limit in limits() {
        c.args(["--limit", &limit]);
    }
    c
}

/// `BENCH_CALPROXY_LIMITS`: `serve --limit`s for every calproxy of the run
/// (comma-separated `NAME=VALUE`, e.g. `store_cache_bytes=32MiB`), to
/// compare settings side by side.
pub fn limits() -> Vec<String> {
    std::env::var("BENCH_CALPROXY_LIMITS")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// A fresh temporary directory for a calproxy instance (data in `data/`).
pub fn new_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = super::work_dir("calproxy");
    let data = dir.path().join("data");
    (dir, data)
}

/// Starts `calproxy serve` on `data` and waits for `/healthz` 200; returns
/// the server and the time from spawn to that answer.
pub async fn start(dir: tempfile::TempDir, data: PathBuf) -> (Server, Duration) {
    let port = process::free_port();
    let mut s = Server {
        kind: Kind::Calproxy,
        port,
        proc: None,
        data,
        dir,
    };
    let took = launch(&mut s).await;
    (s, took)
}

async fn launch(s: &mut Server) -> Duration {
    let log = s.dir.path().join("calproxy.log");
    let t = Instant::now();
    let mut p = Proc::spawn("calproxy", serve(&s.data, s.port), &log);
    let health = Req::get("/healthz");
    while t.elapsed() < START_LIMIT {
        p.assert_running(&format!("during start-up; see {}", log.display()));
        let mut c = Conn::new(s.port);
        if let Ok(Ok((a, _))) = tokio::time::timeout(Duration::from_secs(5), c.send(&health)).await
        {
            if a.status == 200 {
                let took = t.elapsed();
                s.proc = Some(p);
                return took;
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!(
        "calproxy: no /healthz 200 within {START_LIMIT:?}; see {}",
        log.display()
    );
}

/// Stops calproxy gracefully (SIGINT, at most 60 s).
pub async fn stop(s: &mut Server) -> Duration {
    match s.proc.take() {
        Some(p) => p.stop(Duration::from_secs(60)).await,
        None => Duration::ZERO,
    }
}

/// Stops and starts calproxy on the same data and port; returns the time
/// from spawn to `/healthz` 200.
pub async fn restart(s: &mut Server) -> Duration {
    stop(s).await;
    launch(s).await
}
