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

/// One raw exchange on a fresh connection: writes `request`, reads until the
/// server closes; returns (status, headers and body as text).
async fn raw(env: &TestEnv, request: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(env.addr).await.unwrap();
    let _ = s.write_all(request).await;
    let (got, closed) = read_until_closed(&mut s, Duration::from_secs(30)).await;
    assert!(closed, "the server kept the connection after a refusal");
    let text = String::from_utf8_lossy(&got).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

/// Asserts a `<D:error>` body with an XML content type.
#[track_caller]
fn assert_dav_error(what: &str, text: &str) {
    let lower = text.to_ascii_lowercase();
    assert!(
        lower.contains("content-type: application/xml")
            && text.contains(":error")
            && text.contains("\"DAV:\""),
        "{what}: no <D:error> body:\n{text}"
    );
}

#[tokio::test]
async fn issue_12_8_transport_refusals_carry_a_dav_error_body() {
    let env = TestEnv::start().await;
    let long_uri = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000));
    let mut many = String::from("GET /dav/ HTTP/1.1\r\nHost: x\r\n");
    for i in 0..200 {
        many.push_str(&format!("X-Filler-{i}: {}\r\n", "v".repeat(200)));
    }
    many.push_str("\r\n");
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("URI too long", long_uri.into_bytes(), 414),
        ("headers too large", many.into_bytes(), 431),
        ("garbage request line", b"GARBAGE\r\n\r\n".to_vec(), 400),
        (
            "duplicate Content-Length",
            b"PUT /dav/demo/demo/blocked/x.ics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!".to_vec(),
            400,
        ),
        (
            "negative Content-Length",
            b"PUT /dav/demo/demo/blocked/x.ics HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n".to_vec(),
            400,
        ),
    ];
    for (what, request, want) in cases {
        let (status, text) = raw(&env, &request).await;
        assert_eq!(status, want, "{what}:\n{text}");
        assert_dav_error(what, &text);
    }
}

#[tokio::test]
async fn issue_12_8_a_stalled_body_gets_408_not_503() {
    let env = TestEnv::start_with(|c| {
        c.limits.body_read_timeout = Duration::from_secs(1);
        c.limits.request_timeout = Duration::from_secs(3);
    })
    .await;
    let mut s = TcpStream::connect(env.addr).await.unwrap();
    s.write_all(
        b"PUT /dav/demo/demo/blocked/stall.ics HTTP/1.1\r\nHost: x\r\nAuthorization: Basic ZGVtbzpkZW1v\r\n\
          Content-Type: text/calendar\r\nContent-Length: 100\r\n\r\nBEGIN:VCALENDAR\r\n",
    )
    .await
    .unwrap();
    let (got, _) = read_until_closed(&mut s, Duration::from_secs(30)).await;
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert_dav_error("stalled body", &text);
}

#[tokio::test]
async fn issue_12_8_api_errors_are_json() {
    let env = TestEnv::start().await;
    for (client, path, want) in [
        (
            env.anonymous(),
            "/api/demo/demo/busy?start=2026-01-01T00:00:00Z&end=2026-01-02T00:00:00Z",
            401,
        ),
        (env.client(), "/api/demo/demo/busy?start=yesterday", 400),
        (
            env.client(),
            "/api/other/someone/busy?start=2026-01-01T00:00:00Z&end=2026-01-02T00:00:00Z",
            404,
        ),
    ] {
        let a = client.get(path).await;
        assert_eq!(a.status.as_u16(), want, "{path}: {}", a.text());
        assert!(
            a.header("content-type")
                .unwrap_or_default()
                .starts_with("application/json"),
            "{path}: {:?}",
            a.headers
        );
        let v: serde_json::Value = serde_json::from_slice(&a.body)
            .unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {}", a.text()));
        assert_eq!(v["status"], want, "{v}");
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{v}");
    }
}

/// Reads one response (head and Content-Length body) from a kept-alive connection.
async fn read_response(s: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if got.len() >= end + 4 + len {
                return String::from_utf8_lossy(&got[..end + 4 + len]).into_owned();
            }
        }
        let n = tokio::time::timeout(Duration::from_secs(30), s.read(&mut buf))
            .await
            .expect("response within 30 s")
            .unwrap_or(0);
        if n == 0 {
            return String::from_utf8_lossy(&got).into_owned();
        }
        got.extend_from_slice(&buf[..n]);
    }
}

#[tokio::test]
async fn issue_12_10_a_401_before_the_body_keeps_the_connection_for_the_retry() {
    let env = TestEnv::start().await;
    let ics =
        crate::support::ics::event("retry-raw", "20260301T100000Z", "20260301T110000Z", "retry");
    let path = "/dav/demo/demo/blocked/retry-raw.ics";
    let head = |auth: &str| {
        format!(
            "PUT {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: text/calendar\r\nContent-Length: {}\r\n\r\n",
            ics.len()
        )
    };
    let mut s = TcpStream::connect(env.addr).await.unwrap();
    // Headers only; the 401 comes before the body is sent.
    s.write_all(head("").as_bytes()).await.unwrap();
    let first = read_response(&mut s).await;
    assert!(first.starts_with("HTTP/1.1 401"), "{first}");
    // Then the body, then the retry with credentials on the same connection.
    s.write_all(ics.as_bytes()).await.unwrap();
    s.write_all(head("Authorization: Basic ZGVtbzpkZW1v\r\n").as_bytes())
        .await
        .unwrap();
    s.write_all(ics.as_bytes()).await.unwrap();
    let second = read_response(&mut s).await;
    let closes = first.to_ascii_lowercase().contains("connection: close");
    assert!(
        second.starts_with("HTTP/1.1 201") || (closes && second.is_empty()),
        "the retry on the same connection got no answer, and the 401 did not say Connection: close:\n{first}\n---\n{second}"
    );
    assert!(
        second.starts_with("HTTP/1.1 201"),
        "the connection was not kept: {second:?}"
    );
}

#[tokio::test]
async fn issue_12_10_python_caldav_unauthenticated_first_500_times() {
    let python = crate::support::peers::venv_tool("python");
    let env = TestEnv::start().await;
    let mut cmd = Command::new(python);
    cmd.arg(crate::support::peers::repo().join("tests/peers/caldav_401_retry.py"))
        .arg(format!("{}/", env.base()))
        .args(["demo", "demo", "500"]);
    let out = crate::support::peers::run(cmd, Duration::from_secs(600)).await;
    println!("{}", String::from_utf8_lossy(&out.stdout).trim());
    assert!(
        out.status.success(),
        "python caldav's 401-then-retry failed\n{}",
        crate::support::peers::show(&out)
    );
}
