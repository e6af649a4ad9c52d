//! Issue 11, the web console's security over HTTP: CSRF, session fixation,
//! cookie flags (Secure under TLS), tenant isolation (also by guessing
//! URLs), the sign-in throttle, the app-specific password never shown or
//! logged, and DAV on `/` unchanged.

use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use calproxy::admin::{AdminCommand, Request, WirePassword};
use calproxy::ids::{TenantId, UserId};
use calproxy::secret::Secret;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::console::{csrf_of, set_session, Browser, COOKIE};
use crate::support::env::TestEnv;
use crate::support::icloud::{self, admin_ok, Icloud};
use crate::support::process;

fn feed_token(env: &TestEnv) -> Option<String> {
    env.app
        .store
        .user(
            &TenantId::new("demo").unwrap(),
            &UserId::new("demo").unwrap(),
        )
        .unwrap()
        .unwrap()
        .feed_token
        .map(|t| {
            env.app
                .store
                .open_feed_token(&t)
                .unwrap()
                .expose()
                .to_string()
        })
}

#[tokio::test]
async fn issue_11_csrf_post_without_or_with_a_wrong_token_is_refused_and_changes_nothing() {
    let env = TestEnv::start().await;
    let mut b = Browser::signed_in(&env.base(), "demo", "demo").await;
    let before = feed_token(&env);
    let good = b.csrf().await;
    let bad = format!("{}0", &good[..good.len() - 1]);
    for fields in [
        vec![("op", "rotate")],
        vec![("op", "rotate"), ("csrf", "")],
        vec![("op", "rotate"), ("csrf", bad.as_str())],
    ] {
        let a = b.post("/availability/feed", &fields).await;
        assert_eq!(a.status.as_u16(), 403, "{fields:?}");
        assert!(a.text().contains("Nothing was changed"));
        assert_eq!(feed_token(&env), before, "{fields:?} changed the feed");
    }
    // A POST with no session at all is refused too.
    let mut anon = Browser::new(&env.base());
    let a = anon
        .post("/availability/feed", &[("op", "rotate"), ("csrf", &good)])
        .await;
    assert_eq!(a.status.as_u16(), 403);
    // A cross-site form (another Origin) is refused even with the token.
    let cookie = format!("{COOKIE}={}", b.session.clone().unwrap());
    let a = env
        .anonymous()
        .request(
            "POST",
            "/availability/feed",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("origin", "http://evil.example"),
                ("cookie", &cookie),
            ],
            format!("op=rotate&csrf={good}"),
        )
        .await;
    assert_eq!(a.status.as_u16(), 403);
    assert_eq!(feed_token(&env), before);
    // GET never changes anything; the right token does.
    assert_eq!(b.get("/availability/feed").await.status.as_u16(), 405);
    let a = b.submit("/availability/feed", &[("op", "rotate")]).await;
    assert_eq!(a.status.as_u16(), 200, "{}", a.text());
    assert_ne!(feed_token(&env), before);
}

#[tokio::test]
async fn issue_11_sign_in_always_starts_a_new_session_no_fixation() {
    let env = TestEnv::start().await;
    let planted = "ab".repeat(32);
    let mut b = Browser::new(&env.base());
    b.session = Some(planted.clone());
    let a = b.sign_in("demo", "demo").await;
    assert_eq!(a.status.as_u16(), 303);
    let fresh = set_session(&a).expect("a new session cookie");
    assert_ne!(fresh, planted);
    // Signing in again from a live session replaces it; the old id is dead.
    let old = fresh.clone();
    let a = b.sign_in("demo@demo", "demo").await;
    let newer = set_session(&a).unwrap();
    assert_ne!(newer, old);
    let mut stale = Browser::new(&env.base());
    stale.session = Some(old);
    let a = stale.get("/connections").await;
    assert_eq!(a.status.as_u16(), 303, "an old session id still works");
    assert_eq!(a.header("location").as_deref(), Some("/signin"));
    // Sign-out ends the session.
    let a = b.submit("/signout", &[]).await;
    assert_eq!(a.status.as_u16(), 303);
    assert_eq!(set_session(&a).as_deref(), Some(""));
    let mut after = Browser::new(&env.base());
    after.session = Some(newer);
    assert_eq!(after.get("/connections").await.status.as_u16(), 303);
}

#[tokio::test]
async fn issue_11_session_cookie_is_http_only_same_site_strict_and_path_root() {
    let env = TestEnv::start().await;
    let a = Browser::new(&env.base()).sign_in("demo", "demo").await;
    let c = a.header("set-cookie").unwrap();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(c.contains(flag), "{c}");
    }
    assert!(
        !c.contains("Secure"),
        "plain HTTP cannot carry a Secure cookie: {c}"
    );
    // Every page carries the console's headers.
    let a = Browser::signed_in(&env.base(), "demo", "demo")
        .await
        .get("/connections")
        .await;
    let csp = a.header("content-security-policy").unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"));
    assert_eq!(a.header("referrer-policy").as_deref(), Some("same-origin"));
}

#[tokio::test]
async fn issue_11_session_cookie_is_secure_under_tls() {
    use calproxy::server::tls;
    use http_body_util::Full;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;

    calproxy::crypto::install_tls_provider();
    let certs = tempfile::tempdir().unwrap();
    tls::ensure(certs.path(), &[]).unwrap();
    let data = tempfile::tempdir().unwrap();
    let store = calproxy::store::Store::open(data.path()).unwrap();
    calproxy::demo::seed_fixtures(&store).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut config = calproxy::config::Config::new(addr, data.path().into());
    config.tls_dir = Some(certs.path().into());
    let app = calproxy::state::App::new(store, config);
    let stop = tokio_util::sync::CancellationToken::new();
    let server_tls = tls::server_config(certs.path()).unwrap();
    tokio::spawn(calproxy::server::run(
        listener,
        app,
        Some(server_tls),
        stop.clone(),
    ));
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(certs.path().join(tls::CERT_FILE)).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let cfg = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(cfg)
        .https_only()
        .enable_http1()
        .build();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build::<_, Full<bytes::Bytes>>(https);
    let req = http::Request::builder()
        .method("POST")
        .uri(format!("https://localhost:{}/signin", addr.port()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(bytes::Bytes::from_static(
            b"login=demo&password=demo",
        )))
        .unwrap();
    let resp = tokio::time::timeout(Duration::from_secs(30), client.request(req))
        .await
        .unwrap()
        .unwrap();
    stop.cancel();
    assert_eq!(resp.status().as_u16(), 303);
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Secure"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
}

#[tokio::test]
async fn issue_11_a_tenant_user_cannot_reach_another_tenants_connection_or_the_traffic() {
    let ic = Icloud::start(true).await;
    let env = &ic.env;
    icloud::add_user(env, "other", "bob");
    let mut bob = Browser::signed_in(&env.base(), "bob@other", "pw").await;
    let list = bob.get("/connections").await.text();
    assert!(
        !list.contains(icloud::APPLE_ID),
        "bob sees ann's connection"
    );
    for path in [
        "/connections/icloud/remove",
        "/connections/icloud/password",
        "/connections/nope/remove",
    ] {
        assert_eq!(bob.get(path).await.status.as_u16(), 404, "{path}");
    }
    for path in ["/connections/icloud/sync", "/connections/icloud/remove"] {
        assert_eq!(bob.submit(path, &[]).await.status.as_u16(), 404, "{path}");
    }
    let icloud_id = calproxy::ids::ConnectionId::new("icloud").unwrap();
    assert!(env.app.store.connection(&icloud_id).unwrap().is_some());
    for path in ["/traffic", "/traffic/1", "/traffic/rows", "/traffic.har"] {
        assert_eq!(bob.get(path).await.status.as_u16(), 403, "{path}");
    }
    // Pages of other people are not URL-addressable at all: the session decides.
    assert_eq!(bob.get("/debug/traffic.har").await.status.as_u16(), 401);
    // The JSON API takes a console session (issue 13 #1): bob is signed
    // in, and another tenant's user is not found.
    assert_eq!(bob.get("/api/demo/ann/busy").await.status.as_u16(), 404);
    assert_eq!(bob.get("/api/demo/ann/slots").await.status.as_u16(), 404);
    assert_eq!(bob.get("/dav/demo/ann/").await.status.as_u16(), 401);
    // Configuring with ann's calendar is refused by `configure` (not his tenant's).
    let a = bob
        .submit(
            "/calendars",
            &[("section", "primary"), ("primary", "icloud/home")],
        )
        .await;
    assert_eq!(a.status.as_u16(), 200);
    assert!(a.text().contains("outcome fail"), "{}", a.text());
    assert!(a.text().contains("no calendar"), "{}", a.text());
    let progress = bob.get("/connections/progress").await.text();
    assert!(!progress.contains("icloud"), "{progress}");
    let status = bob.get("/status").await.text();
    assert!(
        !status.contains(icloud::APPLE_ID) && !status.contains("ann"),
        "{status}"
    );
    // ann sees it; an admin sees it and the traffic.
    let mut ann = Browser::signed_in(&env.base(), "ann@demo", "pw").await;
    assert!(ann
        .get("/connections")
        .await
        .text()
        .contains(icloud::APPLE_ID));
    admin_ok(
        env,
        Request::Admin(AdminCommand::Add {
            name: UserId::new("root").unwrap(),
            password: WirePassword::new(&Secret::new("root-password".into())),
        }),
    )
    .await;
    let mut root = Browser::signed_in(&env.base(), "root", "root-password").await;
    assert!(root
        .get("/connections")
        .await
        .text()
        .contains(icloud::APPLE_ID));
    assert_eq!(root.get("/traffic").await.status.as_u16(), 200);
    assert_eq!(root.get("/calendars").await.status.as_u16(), 404);
}

#[tokio::test]
async fn issue_11_wrong_passwords_are_rate_limited_with_retry_after() {
    let env = TestEnv::start().await;
    let mut b = Browser::new(&env.base());
    for _ in 0..5 {
        let a = b.sign_in("demo", "wrong").await;
        assert_eq!(a.status.as_u16(), 200);
        assert!(set_session(&a).is_none());
        assert!(a.text().contains("Wrong name or password"));
        assert!(!a.text().contains("wrong\""), "the password was echoed");
    }
    // Now even the right password waits, and says so in words.
    let a = b.sign_in("demo", "demo").await;
    assert_eq!(a.status.as_u16(), 429, "{}", a.text());
    let wait: u64 = a.header("retry-after").unwrap().parse().unwrap();
    assert!(wait >= 1);
    assert!(a.text().contains("Wait 1 second"), "{}", a.text());
    assert!(set_session(&a).is_none());
    // Another user from the same address is not locked out by demo's count.
    icloud::add_user(&env, "demo", "ann");
    assert_eq!(b.sign_in("ann@demo", "pw").await.status.as_u16(), 303);
    // After the wait, the right password works and clears the count.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(b.sign_in("demo", "demo").await.status.as_u16(), 303);
}

#[tokio::test]
async fn issue_11_dav_methods_on_slash_still_discover_the_principal() {
    let env = TestEnv::start().await;
    let a = env.client().propfind("/", "0", "").await.status(207);
    assert!(a.text().contains("/dav/demo/demo/"), "{}", a.text());
    assert_eq!(
        env.anonymous().propfind("/", "0", "").await.status.as_u16(),
        401
    );
    let a = env.anonymous().get("/").await;
    assert_eq!(a.status.as_u16(), 303);
    assert_eq!(a.header("location").as_deref(), Some("/signin"));
    let a = env.anonymous().get("/signin").await.status(200);
    assert!(a.text().starts_with("<!DOCTYPE html>"));
    // Basic auth is no console session.
    assert_eq!(env.client().get("/connections").await.status.as_u16(), 303);
}

fn forbidden() -> Vec<String> {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        icloud::APPLE_ID,
        icloud::PASSWORD
    ));
    let wrong = "wxyz-wxyz-wxyz-wxyz".to_string();
    vec![icloud::PASSWORD.to_string(), basic, wrong]
}

#[track_caller]
fn assert_clean(what: &str, text: &str) {
    for s in forbidden() {
        assert!(
            !text.contains(&s),
            "an app-specific password leaked into {what}"
        );
    }
}

#[tokio::test]
async fn issue_11_the_app_specific_password_never_appears_in_pages_form_echo_log_or_har() {
    let (sim, _stop) = icloud::start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    process::cli_ok(
        &[
            "user", "add", "--tenant", "demo", "--user", "ann", "--data", data,
        ],
        "ann-password\n",
    )
    .await;
    process::cli_ok(
        &["admin", "add", "--name", "root", "--data", data],
        "root-password\n",
    )
    .await;
    let log_path = dir.path().join("serve.log");
    let mut child = tokio::process::Command::new(process::BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data", data])
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let base = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .trim_end_matches("/dav/")
        .to_string();
    let mut ann = Browser::signed_in(&base, "ann@demo", "ann-password").await;
    let front = sim.front_url();
    let mut seen = String::new();
    // A wrong password: the advice, the Apple ID kept, the password not echoed.
    let a = ann
        .submit(
            "/connections/new",
            &[
                ("apple_id", icloud::APPLE_ID),
                ("password", "wxyz-wxyz-wxyz-wxyz"),
                ("upstream", &front),
            ],
        )
        .await;
    assert_eq!(a.status.as_u16(), 200);
    let page = a.text();
    assert!(page.contains("outcome fail"), "{page}");
    assert!(page.contains("app-specific password"), "{page}");
    assert!(page.contains(icloud::APPLE_ID));
    assert!(page.contains("type=\"password\""));
    seen += &page;
    let a = ann
        .submit(
            "/connections/new",
            &[
                ("apple_id", icloud::APPLE_ID),
                ("password", icloud::PASSWORD),
                ("upstream", &front),
            ],
        )
        .await;
    assert_eq!(a.status.as_u16(), 200, "{}", a.text());
    seen += &a.text();
    for path in [
        "/connections",
        "/connections/new",
        "/connections/progress",
        "/calendars",
        "/calendars?edit=conflicts",
        "/availability",
        "/status",
    ] {
        seen += &ann.get(path).await.text();
    }
    let id = ann
        .get("/connections")
        .await
        .text()
        .split("data-connection=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let a = ann
        .submit(
            &format!("/connections/{id}/password"),
            &[("password", "wxyz-wxyz-wxyz-wxyz")],
        )
        .await;
    assert!(a.text().contains("outcome fail"), "{}", a.text());
    seen += &a.text();
    seen += &ann.get(&format!("/connections/{id}/remove")).await.text();
    let mut root = Browser::signed_in(&base, "root", "root-password").await;
    let list = root.get("/traffic").await.text();
    seen += &list;
    let ids: Vec<String> = list
        .split("<tr data-id=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next().map(str::to_string))
        .collect();
    assert!(ids.len() >= 3, "traffic was recorded: {ids:?}");
    for i in &ids {
        seen += &root.get(&format!("/traffic/{i}")).await.text();
    }
    let har = root.get("/traffic.har").await.text();
    let doc: serde_json::Value = serde_json::from_str(&har).unwrap();
    calproxy::traffic::har::validate(&doc).unwrap();
    seen += &har;
    seen += &root.get("/traffic/rows?after=0").await.text();
    assert!(csrf_of(&seen).is_some());
    assert_clean("the console's pages", &seen);
    process::kill(child).await;
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log.contains("TRACE") || log.contains("DEBUG"),
        "trace logs were captured"
    );
    assert_clean("the server log", &log);
}

/// Issue 12 #1 through the console: its sign-in form checks passwords on
/// the same bounded hashing pool as Basic auth, so a burst of sign-ins is
/// answered 503 with `Retry-After` beyond the pool instead of hashing all
/// at once, and each check is counted.
#[tokio::test]
async fn issue_12_1_console_sign_ins_share_the_bounded_hashing_pool() {
    let env = TestEnv::start_with(|c| {
        c.limits.max_concurrent_hashes = 1;
        c.limits.hash_queue = 1;
    })
    .await;
    let count = || {
        env.app
            .metrics
            .render(&Default::default())
            .lines()
            .find_map(|l| l.strip_prefix("calproxy_password_hashes_total "))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let before = count();
    let mut tasks = Vec::new();
    for i in 0..12 {
        let base = env.base();
        tasks.push(tokio::spawn(async move {
            let a = Browser::new(&base)
                .sign_in(&format!("user{i}@nowhere"), &format!("wrong-{i}"))
                .await;
            (a.status.as_u16(), a.header("retry-after"), a.text())
        }));
    }
    let mut busy = 0;
    for t in tasks {
        let (status, retry, text) = t.await.unwrap();
        match status {
            200 => assert!(text.contains("Wrong name or password"), "{text}"),
            503 => {
                busy += 1;
                assert!(retry.is_some(), "503 without Retry-After");
                assert!(text.contains("Try again"), "{text}");
            }
            other => panic!("sign-in answered {other}: {text}"),
        }
    }
    let hashed = count() - before;
    println!("12 parallel console sign-ins: {busy} x 503, {hashed} hashes");
    assert!(
        busy > 0,
        "one thread and one queue place cannot take 12 at once"
    );
    assert_eq!(
        hashed + busy,
        12,
        "every sign-in either hashed once or was refused"
    );
    // The pool is free again: the right password works.
    let mut b = Browser::new(&env.base());
    assert_eq!(b.sign_in("demo", "demo").await.status.as_u16(), 303);
}
