//! Real child processes: the `calproxy` binary as a CLI and as a server,
//! and piping text through a peer tool. Every wait is bounded.

use std::process::{Output, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

/// The calproxy binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_calproxy");

/// Runs `program args` with `stdin`, bounded by 60 s.
pub async fn pipe(
    program: &std::path::Path,
    args: &[&str],
    envs: &[(&str, &str)],
    stdin: &str,
) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .envs(envs.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("process starts");
    let mut input = child.stdin.take().expect("stdin");
    input
        .write_all(stdin.as_bytes())
        .await
        .expect("write stdin");
    drop(input);
    tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("process timed out")
        .expect("process output")
}

/// Runs a calproxy CLI command; returns (success, stdout + stderr).
pub async fn cli(args: &[&str], stdin: &str, envs: &[(&str, &str)]) -> (bool, String) {
    let out = pipe(std::path::Path::new(BIN), args, envs, stdin).await;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Runs a calproxy CLI command that must succeed; returns its output.
pub async fn cli_ok(args: &[&str], stdin: &str) -> String {
    let (ok, text) = cli(args, stdin, &[]).await;
    assert!(ok, "calproxy {args:?} failed:\n{text}");
    text
}

/// Starts `calproxy serve --listen 127.0.0.1:0 --data DIR EXTRA…`; returns
/// the child (killed on drop) and its base URL, read from its banner.
pub async fn serve(data: &str, extra: &[&str]) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data", data])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("server starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("server did not start")
        .expect("read banner")
        .expect("no banner");
    let base = first
        .split_whitespace()
        .find(|w| w.starts_with("http://") || w.starts_with("https://"))
        .expect("address in banner")
        .trim_end_matches("/dav/")
        .to_string();
    // The admin socket appears right after the listener.
    let sock = std::path::Path::new(data).join("admin.sock");
    for _ in 0..100 {
        if sock.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (child, base)
}

/// SIGKILLs a child and waits for it (bounded).
pub async fn kill(mut child: Child) {
    let _ = child.start_kill();
    let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
}
