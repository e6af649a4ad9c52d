//! Secrets never leak: the app-specific password and local passwords are
//! absent from logs (RUST_LOG=trace), CLI output, error bodies, `Debug`
//! output and the data directory's files.

use base64::Engine as _;
use calproxy::admin::{Request, WirePassword};
use calproxy::ids::ConnectionId;
use calproxy::secret::Secret;

use crate::support::icloud::{self, Icloud};
use crate::support::process;

const LOCAL_PW: &str = "local-Secret-Passw0rd-xyzzy";

fn forbidden() -> Vec<String> {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        icloud::APPLE_ID,
        icloud::PASSWORD
    ));
    vec![icloud::PASSWORD.to_string(), LOCAL_PW.to_string(), basic]
}

#[track_caller]
fn assert_clean(what: &str, text: &str) {
    for s in forbidden() {
        assert!(!text.contains(&s), "a secret leaked into {what}");
    }
}

fn scan_dir(dir: &std::path::Path) {
    for entry in walk(dir) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        assert_clean(&format!("file {}", entry.display()), &text);
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

async fn cli(args: &[&str], stdin: &str, envs: &[(&str, &str)]) -> String {
    process::cli(args, stdin, envs).await.1
}

#[tokio::test]
async fn secrets_absent_from_trace_logs_cli_output_and_data_files() {
    let (sim, _stop) = icloud::start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let trace = [("RUST_LOG", "trace")];
    let mut all = String::new();
    all += &cli(
        &[
            "user", "add", "--tenant", "demo", "--user", "ann", "--data", data,
        ],
        &format!("{LOCAL_PW}\n"),
        &trace,
    )
    .await;
    // A wrong password first (the 401 path), then the right one.
    all += &icloud::cli_connect(&sim, data, "wrong-wron-wron-wrong", &trace)
        .await
        .1;
    all += &icloud::cli_connect(&sim, data, icloud::PASSWORD, &trace)
        .await
        .1;
    all += &cli(
        &[
            "configure",
            "--tenant",
            "demo",
            "--user",
            "ann",
            "--primary",
            "home",
            "--data",
            data,
        ],
        "",
        &trace,
    )
    .await;
    all += &cli(&["sync", "--data", data], "", &trace).await;
    sim.faults().fail_next(1, 401, None);
    all += &cli(&["sync", "--data", data], "", &trace).await;
    all += &cli(&["status", "--data", data], "", &trace).await;
    // Recorded traffic: the list, every entry in full, and the HAR export.
    let list = cli(&["traffic", "list", "--data", data], "", &[]).await;
    let ids: Vec<String> = list
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.chars().all(|c| c.is_ascii_digit()))
        .map(str::to_string)
        .collect();
    assert!(ids.len() >= 5, "{list}");
    for id in &ids {
        all += &cli(&["traffic", "show", id, "--data", data], "", &[]).await;
    }
    all += &cli(&["traffic", "export", "--data", data], "", &[]).await;
    assert!(all.contains("\"version\": \"1.2\""), "HAR export captured");
    assert!(
        all.contains("TRACE") && all.contains("connected"),
        "trace logs were captured"
    );
    assert_clean("CLI output and trace logs", &all);
    scan_dir(dir.path());
}

#[tokio::test]
async fn secrets_absent_from_debug_output_errors_and_store() {
    let ic = Icloud::start(true).await;
    let id = ConnectionId::new("icloud").unwrap();
    let rec = ic.env.app.store.connection(&id).unwrap().unwrap();
    assert_clean("Debug of ConnectionRecord", &format!("{rec:?}"));
    let creds = calproxy::upstream::Credentials {
        user: icloud::APPLE_ID.into(),
        password: Secret::new(icloud::PASSWORD.into()),
    };
    assert_clean("Debug of Credentials", &format!("{creds:?}"));
    let req = Request::Connect(calproxy::admin::ConnectArgs {
        who: calproxy::admin::UserArgs {
            tenant: calproxy::ids::TenantId::new("demo").unwrap(),
            user: calproxy::ids::UserId::new("ann").unwrap(),
        },
        apple_id: icloud::APPLE_ID.into(),
        options: Default::default(),
        password: WirePassword::new(&Secret::new(icloud::PASSWORD.into())),
        upstream: ic.sim.front_url(),
        id: None,
    });
    assert_clean("Debug of an admin request", &format!("{req:?}"));
    // Error bodies the proxy sends, and errors of the upstream layer.
    let bad = crate::support::client::DavClient::new(ic.env.base(), Some(("ann@demo", LOCAL_PW)));
    assert_clean("401 body", &bad.propfind("/dav/", "0", "").await.text());
    ic.sim.faults().fail_all(Some((401, None)));
    let err = ic.env.app.engine.sync_connection(&id).await.unwrap_err();
    assert_clean(
        "sync error",
        &format!("{err:?} {}", calproxy::sync::describe(&err)),
    );
    ic.sim.faults().fail_all(None);
    ic.env.app.store.flush().await.unwrap();
    // The sealed password is not the password.
    assert_clean(
        "sealed password",
        &String::from_utf8_lossy(&rec.sealed_password),
    );
}
