//! Issue 11 in a real headless Chromium: tests/peers/console_browser.py
//! drives the console through selenium (Debian's chromium and
//! chromium-driver, installed by .ci/setup-peers) against calproxy and the
//! simulated iCloud. Every page it visits is parsed by html5lib in strict
//! mode and the browser's console must stay free of errors; each scenario
//! saves a screenshot under target/console-screenshots/. A missing
//! browser fails the test and names the package; it is never skipped.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use calproxy::admin::{AdminCommand, Request, WirePassword};
use calproxy::ical::TimeRange;
use calproxy::ids::{CalendarId, ConnectionId, TenantId, UserId, UserRef};
use calproxy::secret::Secret;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::env::TestEnv;
use crate::support::icloud::{self, admin_ok, Icloud};
use crate::support::peers;

/// One Chromium at a time: the machine has two cores.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn screenshots() -> PathBuf {
    peers::repo().join("target/console-screenshots")
}

#[track_caller]
fn require(path: &str, package: &str) {
    assert!(
        Path::new(path).exists(),
        "{path} is missing: install the Debian package {package} (.ci/setup-peers does it)"
    );
}

/// What one scenario printed.
struct Outcome {
    results: Vec<serde_json::Value>,
    /// Where the browser saved downloads (removed with the outcome).
    _downloads: tempfile::TempDir,
}

type Trigger = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// Runs one scenario; `on_ready` runs when the script prints `READY`.
async fn scenario(
    name: &str,
    base: &str,
    login: (&str, &str),
    extra: &[(&str, &str)],
    on_ready: Option<Trigger>,
) -> Outcome {
    require("/usr/bin/chromium", "chromium");
    require("/usr/bin/chromedriver", "chromium-driver");
    let python = peers::venv_tool("python");
    let _one = ONE_BROWSER.lock().await;
    let profile = tempfile::tempdir().unwrap();
    let downloads = tempfile::tempdir().unwrap();
    let mut cmd = tokio::process::Command::new(python);
    cmd.arg(peers::repo().join("tests/peers/console_browser.py"))
        .args(["--base", base, "--scenario", name])
        .arg("--screens")
        .arg(screenshots())
        .arg("--downloads")
        .arg(downloads.path())
        .arg("--profile")
        .arg(profile.path())
        .args(["--login", login.0, "--password", login.1])
        .env("TZ", "UTC")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in extra {
        cmd.arg(format!("--{k}")).arg(v);
    }
    let mut child = cmd.spawn().expect("python starts");
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let err_task = tokio::spawn(async move {
        let mut s = String::new();
        let _ = tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut s).await;
        s
    });
    let mut lines = BufReader::new(stdout).lines();
    let mut out = String::new();
    let mut results = Vec::new();
    let mut on_ready = on_ready;
    let read = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            out.push_str(&line);
            out.push('\n');
            if line == "READY" {
                if let Some(t) = on_ready.take() {
                    t.await;
                }
            }
            if let Some(json) = line.strip_prefix("RESULT ") {
                results.push(serde_json::from_str(json).unwrap());
            }
        }
    };
    let timed_out = tokio::time::timeout(Duration::from_secs(240), read)
        .await
        .is_err();
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait()).await;
    let err = err_task.await.unwrap_or_default();
    assert!(!timed_out, "scenario {name} timed out\n{out}\n{err}");
    let ok = matches!(status, Ok(Ok(s)) if s.success());
    assert!(
        ok && out.contains("ALL OK"),
        "browser scenario {name} failed\n--- stdout ---\n{out}\n--- stderr ---\n{err}"
    );
    assert!(screenshots().join(format!("{name}.png")).exists() || name == "traffic");
    Outcome {
        results,
        _downloads: downloads,
    }
}

#[tokio::test]
async fn issue_11_browser_sign_in_and_every_panel() {
    let env = TestEnv::start().await;
    let o = scenario(
        "sign_in",
        &env.base(),
        ("demo", "demo"),
        &[("login-shown", "demo@demo")],
        None,
    )
    .await;
    // The browser reported its zone at sign-in; times are shown in it.
    assert_eq!(o.results[0]["tz"], "UTC");
}

#[tokio::test]
async fn issue_11_browser_add_connection_wrong_then_right_password() {
    let (sim, _stop) = icloud::start_sim().await;
    let env = TestEnv::start().await;
    icloud::add_user(&env, "demo", "ann");
    let front = sim.front_url();
    scenario(
        "add_connection",
        &env.base(),
        ("ann@demo", "pw"),
        &[
            ("sim", &front),
            ("apple-id", icloud::APPLE_ID),
            ("app-password", icloud::PASSWORD),
        ],
        None,
    )
    .await;
    let conns = env.app.store.connections().unwrap();
    assert_eq!(conns.len(), 1);
    assert_eq!(conns[0].1.apple_id, icloud::APPLE_ID);
    assert_eq!(conns[0].1.tenants, vec![TenantId::new("demo").unwrap()]);
}

#[tokio::test]
async fn issue_11_browser_primary_two_conflict_calendars_and_a_conflict_user() {
    let ic = Icloud::start(false).await;
    icloud::add_user(&ic.env, "demo", "bob");
    let family = "icloud/6E1B2C3D-4F50-4A6B-9C7D-8E9F0A1B2C3D";
    scenario(
        "configure",
        &ic.env.base(),
        ("ann@demo", "pw"),
        &[
            ("conflicts", &format!("icloud/work,{family}")),
            ("member", "bob"),
        ],
        None,
    )
    .await;
    let links = ic
        .env
        .app
        .store
        .links(
            &TenantId::new("demo").unwrap(),
            &UserId::new("ann").unwrap(),
        )
        .unwrap();
    let icloud = ConnectionId::new("icloud").unwrap();
    let primary = links.primary.expect("a primary calendar");
    assert_eq!(
        (primary.connection, primary.calendar),
        (icloud.clone(), CalendarId::new("home").unwrap())
    );
    let mut conflicts: Vec<String> = links
        .conflicts
        .iter()
        .map(|r| r.calendar.to_string())
        .collect();
    conflicts.sort();
    assert_eq!(
        conflicts,
        vec![
            "6E1B2C3D-4F50-4A6B-9C7D-8E9F0A1B2C3D".to_string(),
            "work".to_string()
        ]
    );
    assert_eq!(links.conflict_users, vec![UserId::new("bob").unwrap()]);
}

#[tokio::test]
async fn issue_11_browser_busy_block_and_why_busy() {
    let ic = Icloud::start(true).await;
    let ann = UserRef::new(
        &TenantId::new("demo").unwrap(),
        &UserId::new("ann").unwrap(),
    );
    let now = chrono::Utc::now();
    let busy = ic
        .env
        .app
        .views
        .why_busy(
            &ann,
            TimeRange {
                start: now - chrono::Duration::days(30),
                end: now + chrono::Duration::days(60),
            },
            None,
        )
        .unwrap();
    assert!(!busy.is_empty(), "ann is busy some time");
    // The busiest week (by its Monday) shows the most.
    let mut weeks = std::collections::BTreeMap::new();
    for e in &busy {
        let d = e.start.date_naive();
        let monday = d - chrono::Duration::days(i64::from(
            chrono::Datelike::weekday(&d).num_days_from_monday(),
        ));
        *weeks.entry(monday).or_insert(0) += 1;
    }
    let week = weeks
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(d, _)| d.to_string())
        .unwrap();
    let o = scenario(
        "availability",
        &ic.env.base(),
        ("ann@demo", "pw"),
        &[("week", &week)],
        None,
    )
    .await;
    let sources = o.results[0]["sources"].as_array().unwrap();
    assert!(!sources.is_empty());
    let named: Vec<String> = busy
        .iter()
        .flat_map(|e| e.sources.iter())
        .filter_map(|s| s.summary.clone())
        .collect();
    let shown = sources[0].as_str().unwrap();
    assert!(
        named.iter().any(|n| shown.contains(n.as_str())),
        "{shown} names none of {named:?}"
    );
}

#[tokio::test]
async fn issue_11_browser_feed_rotate_old_url_is_404() {
    let env = TestEnv::start().await;
    let o = scenario("feed", &env.base(), ("demo", "demo"), &[], None).await;
    let (old, new) = (
        o.results[0]["old"].as_str().unwrap(),
        o.results[0]["new"].as_str().unwrap(),
    );
    let path = |u: &str| u[env.base().len()..].to_string();
    assert_eq!(env.anonymous().get(&path(old)).await.status.as_u16(), 404);
    assert_eq!(env.anonymous().get(&path(new)).await.status.as_u16(), 200);
}

#[tokio::test]
async fn issue_11_browser_admin_traffic_entry_live_rows_and_har() {
    let ic = Icloud::start(true).await;
    admin_ok(
        &ic.env,
        Request::Admin(AdminCommand::Add {
            name: UserId::new("root").unwrap(),
            password: WirePassword::new(&Secret::new("root-password".into())),
        }),
    )
    .await;
    let app = ic.env.app.clone();
    let sync: Trigger = Box::pin(async move {
        let r = calproxy::admin::execute(&app, Request::Sync(Default::default())).await;
        assert!(r.ok, "{}", r.output);
    });
    let o = scenario(
        "traffic",
        &ic.env.base(),
        ("root", "root-password"),
        &[],
        Some(sync),
    )
    .await;
    assert!(screenshots().join("traffic_entry.png").exists());
    let har = std::fs::read_to_string(o.results[0]["har"].as_str().unwrap()).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&har).unwrap();
    calproxy::traffic::har::validate(&doc).unwrap();
    assert!(doc["log"]["entries"].as_array().unwrap().len() >= 3);
    assert!(!har.contains(icloud::PASSWORD));
}
