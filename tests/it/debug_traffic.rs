//! Debugging iCloud traffic: the recorder and HAR export, `/debug` for local
//! admins only, the traffic CLI, `probe`, and `/metrics`.

use calproxy::admin::{AdminCommand, ProbeArgs as Probe, Request, TrafficCommand, WirePassword};
use calproxy::ids::{ConnectionId, UserId};
use calproxy::secret::Secret;
use calproxy::traffic::Filter as ListFilter;

use crate::support::client::DavClient;
use crate::support::icloud::{self, admin, admin_ok, Icloud};
use crate::support::peers;

async fn with_admin(ic: &Icloud) -> DavClient {
    admin_ok(
        &ic.env,
        Request::Admin(AdminCommand::Add {
            name: UserId::new("root").unwrap(),
            password: WirePassword::new(&Secret::new("admin-pass-123".into())),
        }),
    )
    .await;
    DavClient::new(ic.env.base(), Some(("root", "admin-pass-123")))
}

#[tokio::test]
async fn har_holds_discovery_and_sync_exchanges_and_validates() {
    let ic = Icloud::start(true).await;
    let root = with_admin(&ic).await;
    let a = root.get("/debug/traffic.har").await.status(200);
    let doc: serde_json::Value = serde_json::from_slice(&a.body).unwrap();
    calproxy::traffic::har::validate(&doc).unwrap();
    let entries = doc["log"]["entries"].as_array().unwrap();
    let find = |method: &str, body_has: &str| {
        entries.iter().any(|e| {
            e["request"]["method"] == method
                && e["response"]["status"].as_i64().is_some_and(|s| s == 207)
                && e["response"]["content"]["text"]
                    .as_str()
                    .unwrap_or("")
                    .contains(body_has)
        })
    };
    assert!(
        find("PROPFIND", "current-user-principal"),
        "discovery missing"
    );
    assert!(find("PROPFIND", "calendar-home-set"), "home-set missing");
    assert!(find("REPORT", "sync-token"), "sync-collection missing");
    assert!(find("REPORT", "BEGIN:VCALENDAR"), "multiget missing");
    assert!(entries.iter().any(|e| e["comment"]
        .as_str()
        .unwrap_or("")
        .contains("trigger: connect")));
    let text = a.text();
    assert!(!text.contains(icloud::PASSWORD), "password in HAR");
    assert!(
        text.contains("<redacted>"),
        "Authorization should show as redacted"
    );
    // Filtered by connection.
    let none = root
        .get("/debug/traffic.har?connection=nope")
        .await
        .status(200);
    let doc: serde_json::Value = serde_json::from_slice(&none.body).unwrap();
    assert_eq!(doc["log"]["entries"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn debug_is_for_local_admins_only() {
    let ic = Icloud::start(true).await;
    with_admin(&ic).await;
    ic.ann.get("/debug/traffic.har").await.status(403);
    ic.env
        .anonymous()
        .get("/debug/traffic.har")
        .await
        .status(401);
    DavClient::new(ic.env.base(), Some(("root", "wrong")))
        .get("/debug/traffic.har")
        .await
        .status(401);
    // The admin is not a tenant user either.
    DavClient::new(ic.env.base(), Some(("root", "admin-pass-123")))
        .propfind("/dav/", "0", "")
        .await
        .status(401);
}

#[tokio::test]
async fn traffic_list_show_and_filters() {
    let ic = Icloud::start(true).await;
    ic.sim.faults().fail_next(1, 503, Some(3));
    let _ = admin(&ic.env, Request::Sync(Default::default())).await;
    let all = admin_ok(
        &ic.env,
        Request::Traffic(TrafficCommand::List(ListFilter::default())),
    )
    .await;
    assert!(all.lines().count() >= 5, "{all}");
    let only503 = admin_ok(
        &ic.env,
        Request::Traffic(TrafficCommand::List(ListFilter {
            status: Some(503),
            ..ListFilter::default()
        })),
    )
    .await;
    assert_eq!(only503.lines().count(), 1, "{only503}");
    let reports = admin_ok(
        &ic.env,
        Request::Traffic(TrafficCommand::List(ListFilter {
            method: Some("report".into()),
            connection: Some("icloud".into()),
            ..ListFilter::default()
        })),
    )
    .await;
    assert!(reports.lines().all(|l| l.contains("REPORT")), "{reports}");
    let id: u64 = reports.split_whitespace().next().unwrap().parse().unwrap();
    let shown = admin_ok(&ic.env, Request::Traffic(TrafficCommand::Show { id })).await;
    assert!(
        shown.contains("< 207") && shown.contains("\n  <"),
        "pretty XML expected:\n{shown}"
    );
    assert!(!shown.contains(icloud::PASSWORD));
}

#[tokio::test]
async fn probe_sends_one_recorded_request_and_refuses_writes_without_flag() {
    let ic = Icloud::start(true).await;
    let probe = |method: &str, allow_write: bool| {
        Request::Probe(Probe {
            connection: ConnectionId::new("icloud").unwrap(),
            method: method.into(),
            path: ic.sim.home_path(),
            depth: Some("1".into()),
            body: Some(r#"<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:displayname/></d:prop></d:propfind>"#.into()),
            allow_write,
        })
    };
    let before = ic.env.app.store.traffic_size().entries;
    let out = admin_ok(&ic.env, probe("PROPFIND", false)).await;
    assert!(
        out.starts_with("< 207") && out.contains("displayname"),
        "{out}"
    );
    assert_eq!(ic.env.app.store.traffic_size().entries, before + 1);
    let r = admin(&ic.env, probe("DELETE", false)).await;
    assert!(!r.ok && r.output.contains("--allow-write"), "{}", r.output);
}

#[tokio::test]
async fn metrics_parse_with_the_prometheus_reference_parser() {
    let ic = Icloud::start(true).await;
    ic.ann.propfind("/dav/", "0", "").await.status(207);
    let text = ic.env.anonymous().get("/metrics").await.status(200).text();
    let script = peers::repo().join("tests/peers/parse_metrics.py");
    let out = crate::support::process::pipe(
        &peers::venv_tool("python"),
        &[script.to_str().unwrap()],
        &[],
        &text,
    )
    .await;
    let families = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "parser failed:\n{}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in [
        "calproxy_requests counter",
        "calproxy_upstream_requests counter",
        "calproxy_sync_duration_seconds summary",
        "calproxy_outbox_depth gauge",
        "calproxy_store_bytes gauge",
    ] {
        assert!(families.contains(f), "{f} missing:\n{families}");
    }
    // Connections appear by their opaque label (issue 12 #6).
    let label = ic.env.app.metrics.connection_label("icloud");
    assert!(
        text.contains(&format!(
            "calproxy_upstream_requests_total{{connection=\"{label}\",status=\"207\"}}"
        )),
        "{text}"
    );
}

#[tokio::test]
async fn traffic_tail_follows_a_running_server() {
    use tokio::io::AsyncBufReadExt;
    let (sim, _stop) = icloud::start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    crate::support::process::cli_ok(
        &[
            "user", "add", "--tenant", "demo", "--user", "ann", "--data", data,
        ],
        "pw-long-1\n",
    )
    .await;
    let (server, _base) = crate::support::process::serve(data, &["--sync-interval", "3600"]).await;
    let mut tail = tokio::process::Command::new(crate::support::process::BIN)
        .args(["traffic", "tail", "--data", data])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(tail.stdout.take().unwrap()).lines();
    // Connect through the running server: its discovery is recorded and tailed.
    let (ok, out) = icloud::cli_connect(&sim, data, icloud::PASSWORD, &[]).await;
    assert!(ok, "{out}");
    let mut seen = Vec::new();
    let found = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while let Ok(Some(l)) = lines.next_line().await {
            seen.push(l.clone());
            if l.contains("PROPFIND") && l.contains("connect") {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    assert!(found, "tail showed: {seen:?}");
    let _ = tail.start_kill();
    crate::support::process::kill(server).await;
}
