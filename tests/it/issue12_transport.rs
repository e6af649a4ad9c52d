//! Issue 12, the transport: silent connections and the descriptor limit
//! (#2), statuses and bodies of refusals before a handler runs (#8), and a
//! 401 that keeps the connection usable (#10). Raw sockets throughout:
//! these are about bytes on the wire, not what a friendly client sends.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::Command;

use crate::support::env::TestEnv;
use crate::support::process::{self, BIN};

/// Reads until the peer closes (or `limit` passes); returns what came and
/// whether the peer closed.
async fn read_until_closed(s: &mut TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    let mut got = Vec::new();
    let deadline = Instant::now() + limit;
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (got, true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (got, false),
        }
    }
}

#[tokio::test]
async fn issue_12_2_a_silent_connection_is_closed_after_the_header_timeout() {
    let env = TestEnv::start_with(|c| c.limits.header_read_timeout = Duration::from_secs(1)).await;
    let mut silent = TcpStream::connect(env.addr).await.unwrap();
    // Bounded at 20 times the limit: closed at all is what counts.
    let (got, closed) = read_until_closed(&mut silent, Duration::from_secs(20)).await;
    assert!(closed, "a connection that sent nothing is still open");
    assert!(
        got.is_empty() || got.starts_with(b"HTTP/1.1 408"),
        "{got:?}"
    );
}

/// CPU seconds (user + system) a process has used, from /proc.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    // Fields after the command name (which is in parentheses).
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    ticks / 100.0 // USER_HZ is 100 on Linux
}

#[tokio::test]
async fn issue_12_2_at_the_descriptor_limit_healthz_answers_without_spinning() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    // 64 descriptors, 100 silent connections.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -n 64 && exec {BIN} serve --listen 127.0.0.1:0 --data {data} \
             --limit header_read_timeout=2s"
        ))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("serve starts");
    let pid = child.id().expect("pid");
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let banner = tokio::time::timeout(Duration::from_secs(30), out.next_line())
        .await
        .expect("banner")
        .unwrap()
        .unwrap();
    let addr = banner
        .split_whitespace()
        .find_map(|w| w.strip_prefix("http://"))
        .unwrap()
        .trim_end_matches("/dav/")
        .to_string();
    let err_task = tokio::spawn(async move {
        let mut s = String::new();
        let _ = child.stderr.take().unwrap().read_to_string(&mut s).await;
        (s, child)
    });
    let mut silent = Vec::new();
    for _ in 0..100 {
        silent.push(TcpStream::connect(&addr).await.unwrap());
    }
    let cpu_before = cpu_seconds(pid);
    let t0 = Instant::now();
    let mut health = TcpStream::connect(&addr).await.unwrap();
    health
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (answer, _) = read_until_closed(&mut health, Duration::from_secs(60)).await;
    let waited = t0.elapsed();
    let cpu = cpu_seconds(pid) - cpu_before;
    let _ = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status();
    let (stderr, child) = err_task.await.unwrap();
    drop(child);
    let text = String::from_utf8_lossy(&answer);
    assert!(
        text.starts_with("HTTP/1.1 200"),
        "/healthz got no answer at the descriptor limit within 60 s: {text:?}"
    );
    let accept_lines = stderr.matches("accept failed").count();
    println!(
        "descriptor limit: /healthz answered after {:.1} s; {cpu:.2} CPU s meanwhile; {accept_lines} 'accept failed' lines",
        waited.as_secs_f64()
    );
    assert!(
        accept_lines <= 20,
        "the accept loop logged {accept_lines} times"
    );
    assert!(
        cpu < waited.as_secs_f64() / 2.0,
        "the server burnt {cpu:.1} CPU s in {:.1} s at the descriptor limit",
        waited.as_secs_f64()
    );
    drop(silent);
    let _ = process::kill;
}
