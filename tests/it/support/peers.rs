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
        "{} is missing: run scripts/setup-peers.sh (or ./test.sh, which the README names) first",
        p.display()
    );
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
