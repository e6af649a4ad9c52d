//! Issue 12, signing in: password hashing cannot exhaust memory (#1),
//! guessing is throttled and unknown users cost what known ones do (#5),
//! and `/metrics` names no one and can be closed (#6). Memory is measured
//! on a real `calproxy serve` child as a ratio of its idle RSS.

use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

use calproxy::ids::{TenantId, UserId};
use calproxy::secret::Secret;

use crate::support::env::TestEnv;
use crate::support::process::{self, BIN};

/// A strong enough password for set-up.
const PASSWORD: &str = "correct-horse-7";

/// A `calproxy serve` child with user bob@acme (password [`PASSWORD`]).
struct Server {
    child: Child,
    pid: u32,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start(limits: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().to_str().unwrap().to_string();
        process::cli_ok(
            &[
                "user", "add", "--tenant", "acme", "--user", "bob", "--data", &data,
            ],
            &format!("{PASSWORD}\n"),
        )
        .await;
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data", &data]);
        for l in limits {
            cmd.args(["--limit", l]);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
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
        Server {
            child,
            pid,
            addr,
            _dir: dir,
        }
    }

    /// (VmRSS, VmHWM) in KiB.
    fn memory(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap();
        let field = |name: &str| -> u64 {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .unwrap()
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// (RSS, peak) once RSS is back under 1.25 × `idle`, or after 10 s:
    /// the server gives memory back when its last connection closes, which
    /// on a loaded machine can come a while after the clients' last read.
    async fn memory_after_burst(&self, idle: u64) -> (u64, u64) {
        settle().await;
        for _ in 0..95 {
            let (now, _) = self.memory();
            if (now as f64) < 1.25 * idle as f64 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.memory()
    }

    /// One PROPFIND as `login:password` (see [`propfind`]).
    async fn propfind(&self, login: &str, password: &str) -> (u16, String) {
        propfind(&self.addr, login, password).await
    }

    /// `n` PROPFINDs at once; returns each status and whether it said Retry-After.
    async fn storm(&self, n: usize, password: impl Fn(usize) -> String) -> Vec<(u16, bool)> {
        self.storm_over(n, Duration::ZERO, password).await
    }

    /// `n` PROPFINDs, the i-th starting `i * step` after the first.
    async fn storm_over(
        &self,
        n: usize,
        step: Duration,
        password: impl Fn(usize) -> String,
    ) -> Vec<(u16, bool)> {
        let mut tasks = Vec::new();
        for i in 0..n {
            let (addr, pw) = (self.addr.clone(), password(i));
            let delay = step * i as u32;
            tasks.push(tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let one = propfind(&addr, "bob@acme", &pw).await;
                (one.0, one.1.to_ascii_lowercase().contains("retry-after:"))
            }));
        }
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    }

    /// A counter from `/metrics`.
    async fn counter(&self, name: &str) -> f64 {
        let mut s = TcpStream::connect(&self.addr).await.unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut got = String::new();
        s.read_to_string(&mut got).await.unwrap();
        got.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    }
}

/// One PROPFIND of bob's home as `login:password` on a fresh connection;
/// returns the status and the whole answer.
async fn propfind(addr: &str, login: &str, password: &str) -> (u16, String) {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{login}:{password}"));
    let req = format!(
        "PROPFIND /dav/acme/bob/ HTTP/1.1\r\nHost: x\r\nDepth: 0\r\nContent-Length: 0\r\n\
         Connection: close\r\nAuthorization: Basic {auth}\r\n\r\n"
    );
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(req.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(120), s.read_to_end(&mut got)).await;
    let text = String::from_utf8_lossy(&got).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

/// Waits until the process has settled after a burst (bounded).
/// A burst may raise memory to 4× idle at its peak and must leave it
/// within 25 % of idle afterwards (issue 12 #1).
fn assert_memory_near_idle(idle: u64, peak: u64, after: u64) {
    assert!(
        (peak as f64) < 4.0 * idle as f64,
        "peak {peak} KiB against idle {idle} KiB"
    );
    assert!(
        (after as f64) < 1.25 * idle as f64,
        "after {after} KiB against idle {idle} KiB"
    );
}

async fn settle() {
    tokio::time::sleep(Duration::from_millis(500)).await;
}

#[tokio::test]
async fn issue_12_1_two_hundred_wrong_passwords_at_once_leave_memory_near_idle() {
    let server = Server::start(&["max_concurrent_hashes=2", "auth_free_failures=100000"]).await;
    // Warm up: one failed and one good sign-in, then the idle reference.
    assert_eq!(server.propfind("bob@acme", "wrong").await.0, 401);
    assert_eq!(server.propfind("bob@acme", PASSWORD).await.0, 207);
    settle().await;
    let (idle, _) = server.memory();
    // 200 different wrong passwords at once (no two the same: no sharing).
    let answers = server.storm(200, |i| format!("wrong-{i}")).await;
    let (after, peak) = server.memory_after_burst(idle).await;
    let refused = answers.iter().filter(|(s, _)| *s == 401).count();
    let busy = answers.iter().filter(|(s, _)| *s == 503).count();
    println!(
        "wrong-password storm: idle {idle} KiB, peak {peak} KiB ({:.1}x), after {after} KiB ({:.2}x); {refused} x 401, {busy} x 503",
        peak as f64 / idle as f64,
        after as f64 / idle as f64
    );
    assert_eq!(refused + busy, 200, "{answers:?}");
    assert!(
        answers.iter().all(|(s, retry)| *s != 503 || *retry),
        "a 503 without Retry-After"
    );
    assert_memory_near_idle(idle, peak, after);
    process::kill(server.child).await;
}

#[tokio::test]
async fn issue_12_1_a_stampede_of_the_right_password_costs_one_hash() {
    let server = Server::start(&["max_concurrent_hashes=2"]).await;
    // Warm up the hashing memory with one wrong password, which is not
    // cached: the right one stays cold for as long as the storm takes (a
    // short cache lifetime instead made a slow run hash twice).
    assert_eq!(server.propfind("bob@acme", "not-the-password").await.0, 401);
    let (idle, _) = server.memory();
    let before = server.counter("calproxy_password_hashes_total ").await;
    // A cold cache: 200 clients with the same right password, arriving
    // over ~200 ms: before, during and just after the one hash (a request
    // arriving between the end of the hash and the cache being filled
    // once hashed again; CI caught it).
    let answers = server
        .storm_over(200, Duration::from_millis(1), |_| PASSWORD.to_string())
        .await;
    let (after, peak) = server.memory_after_burst(idle).await;
    let hashes = server.counter("calproxy_password_hashes_total ").await - before;
    println!(
        "right-password stampede: {hashes} hashes; idle {idle} KiB, peak {peak} KiB ({:.1}x), after {after} KiB ({:.2}x)",
        peak as f64 / idle as f64,
        after as f64 / idle as f64
    );
    assert!(answers.iter().all(|(s, _)| *s == 207), "{answers:?}");
    assert_eq!(
        hashes, 1.0,
        "identical credentials arriving together share one hash"
    );
    assert_memory_near_idle(idle, peak, after);
    process::kill(server.child).await;
}

/// One PROPFIND of `path` from the local address `from` (127.0.0.x: each
/// its own client address) on a fresh connection; returns (status, answer).
async fn from_address(
    env: &TestEnv,
    from: [u8; 4],
    login: &str,
    password: &str,
    path: &str,
) -> (u16, String) {
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.bind(std::net::SocketAddr::from((from, 0))).unwrap();
    let mut s = sock.connect(env.addr).await.unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{login}:{password}"));
    let req = format!(
        "PROPFIND {path} HTTP/1.1\r\nHost: x\r\nDepth: 0\r\nContent-Length: 0\r\n\
         Connection: close\r\nAuthorization: Basic {auth}\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(60), s.read_to_end(&mut got)).await;
    let text = String::from_utf8_lossy(&got).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

/// The password hashes counted so far, read from the in-process metrics.
fn hashes(env: &TestEnv) -> u64 {
    env.app
        .metrics
        .render(&Default::default())
        .lines()
        .find_map(|l| l.strip_prefix("calproxy_password_hashes_total "))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn issue_12_5_failed_sign_ins_are_throttled_per_user_and_per_address() {
    let env = TestEnv::start_with(|c| c.limits.auth_free_failures = 3).await;
    let store = &env.app.store;
    let (t, u) = (TenantId::new("acme").unwrap(), UserId::new("eve").unwrap());
    calproxy::accounts::add_user(store, &t, &u, &Secret::new(PASSWORD.into())).unwrap();
    let home = "/dav/demo/demo/";
    // Three free failures for demo from 127.0.0.2, then a wait.
    for _ in 0..3 {
        assert_eq!(
            from_address(&env, [127, 0, 0, 2], "demo", "nope", home)
                .await
                .0,
            401
        );
    }
    let before = hashes(&env);
    let (status, text) = from_address(&env, [127, 0, 0, 2], "demo", "nope", home).await;
    assert_eq!(status, 429, "{text}");
    assert!(text.to_ascii_lowercase().contains("retry-after:"), "{text}");
    assert_eq!(hashes(&env), before, "a throttled attempt costs no hash");
    // The same user from another address waits too (per user) ...
    assert_eq!(
        from_address(&env, [127, 0, 0, 3], "demo", "nope", home)
            .await
            .0,
        429
    );
    // ... while another user from that address signs in.
    let eve = "/dav/acme/eve/";
    assert_eq!(
        from_address(&env, [127, 0, 0, 3], "eve@acme", PASSWORD, eve)
            .await
            .0,
        207
    );
    // Per address: failures spread over many names from one address.
    for i in 0..3 {
        let who = format!("nobody{i}@acme");
        assert_eq!(
            from_address(&env, [127, 0, 0, 4], &who, "nope", eve)
                .await
                .0,
            401
        );
    }
    assert_eq!(
        from_address(&env, [127, 0, 0, 4], "eve@acme", "nope", eve)
            .await
            .0,
        429
    );
}

#[tokio::test]
async fn issue_12_5_unknown_users_cost_what_known_users_cost() {
    let env = TestEnv::start_with(|c| c.limits.auth_free_failures = 1000).await;
    let home = "/dav/demo/demo/";
    // Warm-up (first hashes, first connections).
    from_address(&env, [127, 0, 0, 5], "demo", "nope", home).await;
    from_address(&env, [127, 0, 0, 5], "ghost", "nope", home).await;
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for i in 0..6 {
        let t = std::time::Instant::now();
        let h = hashes(&env);
        assert_eq!(
            from_address(&env, [127, 0, 0, 5], "demo", &format!("no{i}"), home)
                .await
                .0,
            401
        );
        known.push((t.elapsed().as_secs_f64(), hashes(&env) - h));
        let t = std::time::Instant::now();
        let h = hashes(&env);
        let who = format!("ghost{i}@nowhere");
        assert_eq!(
            from_address(&env, [127, 0, 0, 5], &who, &format!("no{i}"), home)
                .await
                .0,
            401
        );
        unknown.push((t.elapsed().as_secs_f64(), hashes(&env) - h));
    }
    let median = |v: &mut Vec<(f64, u64)>| {
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        v[v.len() / 2].0
    };
    assert!(
        unknown.iter().all(|(_, h)| *h == 1),
        "an unknown user cost no hash: {unknown:?}"
    );
    assert!(known.iter().all(|(_, h)| *h == 1), "{known:?}");
    let (k, u) = (median(&mut known), median(&mut unknown));
    println!(
        "sign-in failure, median: known user {:.1} ms, unknown user {:.1} ms (ratio {:.2})",
        k * 1e3,
        u * 1e3,
        u / k
    );
    // Equal work is asserted by the hash counts above; the times are
    // printed, not asserted (tests assert no wall-clock figures: a loaded
    // machine made this ratio fail while both cost one hash).
}

#[tokio::test]
async fn issue_12_6_metrics_carry_no_label_derived_from_an_apple_id() {
    use calproxy::admin::{ConnectArgs, Request, UserArgs, WirePassword};
    let stop = tokio_util::sync::CancellationToken::new();
    let mut cfg =
        calproxy::sim::SimConfig::demo(crate::support::peers::repo().join("fixtures/sim"));
    cfg.apple_id = "ann.smith@icloud.example".into();
    let sim = calproxy::sim::start(cfg, stop.clone()).await.unwrap();
    let env = TestEnv::start().await;
    crate::support::icloud::add_user(&env, "demo", "ann");
    let connect = Request::Connect(ConnectArgs {
        who: UserArgs {
            tenant: TenantId::new("demo").unwrap(),
            user: UserId::new("ann").unwrap(),
        },
        apple_id: "ann.smith@icloud.example".into(),
        options: Default::default(),
        password: WirePassword::new(&Secret::new(crate::support::icloud::PASSWORD.into())),
        upstream: sim.front_url(),
        id: None,
    });
    let out = crate::support::icloud::admin_ok(&env, connect).await;
    assert!(
        out.contains("ann-smith"),
        "the connection id is derived from the Apple ID: {out}"
    );
    crate::support::icloud::admin_ok(&env, Request::Sync(Default::default())).await;
    let text = env.anonymous().get("/metrics").await.status(200).text();
    assert!(
        text.contains("calproxy_upstream_requests_total{connection=\""),
        "{text}"
    );
    for personal in ["ann-smith", "ann.smith", "ann"] {
        assert!(
            !text.contains(personal),
            "/metrics names {personal}:\n{text}"
        );
    }
    stop.cancel();
}

#[tokio::test]
async fn issue_12_6_metrics_can_be_closed_with_a_token() {
    use sha2::Digest as _;
    let env = TestEnv::start_with(|c| {
        c.metrics.token_sha256 = Some(sha2::Sha256::digest(b"scrape-token-1").into());
    })
    .await;
    env.anonymous().get("/metrics").await.status(401);
    let bearer = |t: &str| format!("Bearer {t}");
    for (token, want) in [("scrape-token-1", 200), ("scrape-token-2", 401)] {
        env.anonymous()
            .request("GET", "/metrics", &[("authorization", &bearer(token))], "")
            .await
            .status(want);
    }
    // A tenant user is no admin.
    env.client().get("/metrics").await.status(403);
    calproxy::admin::execute(
        &env.app,
        calproxy::admin::Request::Admin(calproxy::admin::AdminCommand::Add {
            name: UserId::new("root").unwrap(),
            password: calproxy::admin::WirePassword::new(&Secret::new(PASSWORD.into())),
        }),
    )
    .await;
    crate::support::client::DavClient::new(env.base(), Some(("root", PASSWORD)))
        .get("/metrics")
        .await
        .status(200);
}
