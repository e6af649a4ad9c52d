//! Real peers: the Python venv under `target/venv` (python caldav,
//! caldav-server-tester, …) installed by `scripts/setup-peers.sh`.
//! A missing tool fails the test loudly; it is never skipped.

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `target/venv/bin/<tool>`; panics with set-up advice when missing.
#[track_caller]
pub fn venv_tool(tool: &str) -> PathBuf {
    let p = repo().join("target/venv/bin").join(tool);
    assert!(
        p.exists(),
        "{} is missing: run .ci/test (or .ci/setup-peers), which the README names, first",
        p.display()
    );
    p
}

/// `tests/peers/<name>`, a Node script that imports tsdav from
/// `target/node/node_modules/tsdav`; panics with set-up advice when tsdav
/// (or the script) is missing.
#[track_caller]
pub fn node_script(name: &str) -> PathBuf {
    let tsdav = repo().join("target/node/node_modules/tsdav");
    assert!(
        tsdav.join("package.json").exists(),
        "{} is missing: run .ci/test (or .ci/setup-peers; it needs node and npm) first",
        tsdav.display()
    );
    let p = repo().join("tests/peers").join(name);
    assert!(p.exists(), "{} is missing", p.display());
    p
}

/// Runs a command with a hard timeout (killed after it) and returns its output.
pub async fn run(mut cmd: tokio::process::Command, limit: Duration) -> Output {
    cmd.kill_on_drop(true);
    let child = cmd.output();
    match tokio::time::timeout(limit, child).await {
        Ok(r) => r.expect("peer process could not start"),
        Err(_) => panic!("peer process did not finish within {limit:?}"),
    }
}

/// Prints a peer's output so a failing test shows it.
pub fn show(out: &Output) -> String {
    format!(
        "exit: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A standards-following CalDAV server started on 127.0.0.1 for one test.
pub struct Server {
    /// Its base URL (`http://127.0.0.1:PORT`).
    pub url: String,
    _dir: tempfile::TempDir,
    child: tokio::process::Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

async fn wait_for_port(port: u16) {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("peer server did not listen on {port} within 10 s");
}

/// Radicale with `auth type = none` (any Basic user is accepted).
pub async fn radicale() -> Server {
    let bin = venv_tool("radicale");
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let config = dir.path().join("config");
    std::fs::write(
        &config,
        format!(
            "[server]\nhosts = 127.0.0.1:{port}\n[auth]\ntype = none\n[storage]\nfilesystem_folder = {}\n[logging]\nlevel = warning\n",
            dir.path().join("collections").display()
        ),
    )
    .expect("config");
    let child = tokio::process::Command::new(bin)
        .arg("--config")
        .arg(&config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start radicale");
    wait_for_port(port).await;
    Server {
        url: format!("http://127.0.0.1:{port}"),
        _dir: dir,
        child,
    }
}

/// Xandikos with its default calendar at `/user/calendars/calendar/`.
pub async fn xandikos() -> Server {
    let bin = venv_tool("xandikos");
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let child = tokio::process::Command::new(bin)
        .args([
            "--defaults",
            "-l",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-d",
        ])
        .arg(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start xandikos");
    wait_for_port(port).await;
    Server {
        url: format!("http://127.0.0.1:{port}"),
        _dir: dir,
        child,
    }
}
