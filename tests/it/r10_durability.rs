//! R10: a write answered 2xx survives `kill -9` of a real calproxy process.

use calproxy::ids::{CalendarId, ObjectName, TenantId, UserId};
use calproxy::store::{CollectionKey, Store};

use crate::support::client::DavClient;
use crate::support::{ics, process};

/// User ann of tenant t1 added in `dir`, and calproxy serving it: the
/// process and a client signed in as ann.
async fn ann_served(dir: &tempfile::TempDir) -> (tokio::process::Child, DavClient) {
    let data = dir.path().to_str().unwrap();
    process::cli_ok(
        &[
            "user", "add", "--tenant", "t1", "--user", "ann", "--data", data,
        ],
        "s3cret-pw\n",
    )
    .await;
    let (serve, base) = process::serve(data, &[]).await;
    (serve, DavClient::new(base, Some(("ann@t1", "s3cret-pw"))))
}

/// Ann's calendar `cal`.
fn anns(cal: &str) -> CollectionKey {
    CollectionKey::new(
        &TenantId::new("t1").unwrap(),
        &UserId::new("ann").unwrap(),
        &CalendarId::new(cal).unwrap(),
    )
}

#[tokio::test]
async fn r10_acknowledged_puts_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let (serve, c) = ann_served(&dir).await;
    for i in 0..20 {
        c.put(
            &format!("/dav/t1/ann/primary/e{i}.ics"),
            &ics::event(
                &format!("e{i}"),
                "20261210T100000Z",
                "20261210T110000Z",
                "x",
            ),
            &[],
        )
        .await
        .status(201);
    }
    process::kill(serve).await; // SIGKILL

    let store = Store::open(dir.path()).expect("reopen after kill");
    let key = anns("primary");
    for i in 0..20 {
        let name = ObjectName::new(format!("e{i}.ics")).unwrap();
        assert!(store.object(&key, &name).unwrap().is_some(), "e{i} lost");
    }
}

/// SIGTERM (what service managers send) stops the server gracefully: it
/// exits 0, and the busy snapshots that writes since the last one left
/// behind are kept on the way out, so the next start answers free-busy
/// from them instead of rebuilding (issue 10).
#[tokio::test]
async fn sigterm_stops_gracefully_and_keeps_the_busy_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let (mut serve, c) = ann_served(&dir).await;
    let day = (chrono::Utc::now() + chrono::Duration::days(2)).format("%Y%m%d");
    for i in 0..5 {
        c.put(
            &format!("/dav/t1/ann/blocked/e{i}.ics"),
            &ics::event(
                &format!("e{i}"),
                &format!("{day}T1{i}0000Z"),
                &format!("{day}T1{i}3000Z"),
                "x",
            ),
            &[],
        )
        .await
        .status(201);
    }
    // A free-busy read brings the busy cache up to date with every write.
    let fb = format!(
        r#"<?xml version="1.0"?><C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:time-range start="{day}T000000Z" end="{day}T235959Z"/></C:free-busy-query>"#
    );
    let t = c
        .report("/dav/t1/ann/blocked/", "1", &fb)
        .await
        .status(200)
        .text();
    assert!(t.contains(&format!("{day}T140000Z/{day}T143000Z")), "{t}");
    let pid = serve.id().expect("running") as libc::pid_t;
    // SAFETY: kill(2) on our own child, not yet reaped.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let status = tokio::time::timeout(std::time::Duration::from_secs(30), serve.wait())
        .await
        .expect("stopped within 30 s")
        .expect("exit status");
    assert!(status.success(), "{status:?}");

    let store = Store::open(dir.path()).expect("reopen");
    let key = anns("blocked");
    let rec = store.collection(&key).unwrap().expect("blocked/");
    let snap = store.busy_snapshot(&key).unwrap().expect("a snapshot");
    assert_eq!(
        snap.token,
        Store::sync_token(&rec),
        "the snapshot is current"
    );
    assert_eq!(snap.merged.len(), 5);
}
