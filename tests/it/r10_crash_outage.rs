//! R10 against the simulated iCloud: 2xx writes survive `kill -9` of a real
//! calproxy process while iCloud answers 503, and reach iCloud exactly once
//! after restart and recovery; during an outage reads are served from sled
//! and writes drain afterwards.

use std::time::Duration;

use crate::support::client::DavClient;
use crate::support::icloud::{self, Icloud};
use crate::support::ics;
use crate::support::process::{self, cli_ok as cli};

async fn serve(data: &str) -> (tokio::process::Child, String) {
    process::serve(data, &["--sync-interval", "1"]).await
}

#[tokio::test]
async fn r10_fifty_writes_survive_sigkill_during_503_and_arrive_exactly_once() {
    let (sim, _stop) = icloud::start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    cli(
        &[
            "user", "add", "--tenant", "demo", "--user", "ann", "--data", data,
        ],
        "pw-long-1\n",
    )
    .await;
    let (ok, out) = icloud::cli_connect(&sim, data, icloud::PASSWORD, &[]).await;
    assert!(ok, "{out}");
    cli(
        &[
            "configure",
            "--tenant",
            "demo",
            "--user",
            "ann",
            "--primary",
            "home",
            "--conflict",
            "work",
            "--data",
            data,
        ],
        "",
    )
    .await;
    cli(&["sync", "--data", data], "").await;

    sim.faults().fail_all(Some((503, Some(1))));
    let (server, base) = serve(data).await;
    let c = DavClient::new(base, Some(("ann@demo", "pw-long-1")));
    let n = 50;
    let mut acknowledged = 0;
    for i in 0..n {
        let a = c
            .put(
                &format!("/dav/demo/ann/primary/crash-{i}.ics"),
                &ics::event(
                    &format!("crash-{i}"),
                    "20261214T100000Z",
                    "20261214T110000Z",
                    "crash test",
                ),
                &[("if-none-match", "*")],
            )
            .await
            .status(201);
        let _ = a;
        acknowledged += 1;
    }
    assert!(
        sim.find_by_uid("crash-0").is_empty(),
        "iCloud was answering 503"
    );
    process::kill(server).await; // SIGKILL: no shutdown code runs

    let (server, _base) = serve(data).await;
    sim.faults().fail_all(None);
    let mut arrived = 0;
    for _ in 0..600 {
        arrived = (0..n)
            .filter(|i| !sim.find_by_uid(&format!("crash-{i}")).is_empty())
            .count();
        if arrived == n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let duplicates: usize = (0..n)
        .map(|i| {
            sim.find_by_uid(&format!("crash-{i}"))
                .len()
                .saturating_sub(1)
        })
        .sum();
    println!("crash test: {acknowledged} writes acknowledged, {arrived} arrived upstream, {duplicates} duplicates");
    process::kill(server).await;
    assert_eq!(acknowledged, n);
    assert_eq!(arrived, n, "not every acknowledged write reached iCloud");
    assert_eq!(duplicates, 0);
}

#[tokio::test]
async fn r10_outage_reads_served_from_sled_and_writes_drain_after() {
    let ic = Icloud::start(true).await;
    ic.sim.faults().drop_connections(true);
    // Reads keep working.
    assert!(ic
        .names("primary")
        .await
        .contains(&"dentist.ics".to_string()));
    ic.ann
        .get("/dav/demo/ann/primary/dentist.ics")
        .await
        .status(200);
    let fb = r#"<?xml version="1.0"?><c:free-busy-query xmlns:c="urn:ietf:params:xml:ns:caldav"><c:time-range start="20261201T000000Z" end="20261208T000000Z"/></c:free-busy-query>"#;
    ic.ann
        .report("/dav/demo/ann/availability/", "1", fb)
        .await
        .status(200);
    // Syncing fails, writes are accepted.
    let r = icloud::admin(&ic.env, calproxy::admin::Request::Sync(Default::default())).await;
    assert!(!r.ok);
    let n = 5;
    for i in 0..n {
        ic.ann
            .put(
                &format!("/dav/demo/ann/primary/out-{i}.ics"),
                &ics::event(
                    &format!("out-{i}"),
                    "20261215T100000Z",
                    "20261215T110000Z",
                    "outage",
                ),
                &[],
            )
            .await
            .status(201);
    }
    assert_eq!(ic.env.app.store.outbox_len(), n);
    ic.sim.faults().drop_connections(false);
    let report = ic.env.app.outbox.drain(true).await.unwrap();
    let arrived = (0..n)
        .filter(|i| ic.sim.find_by_uid(&format!("out-{i}")).len() == 1)
        .count();
    println!("outage test: {n} writes acknowledged during the outage, {arrived} arrived once after recovery ({report:?})");
    assert_eq!(arrived, n);
    assert_eq!(ic.env.app.store.outbox_len(), 0);
}
