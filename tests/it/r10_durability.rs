//! R10: a write answered 2xx survives `kill -9` of a real calproxy process.

use std::process::Stdio;
use std::time::Duration;

use calproxy::ids::{CalendarId, ObjectName, TenantId, UserId};
use calproxy::store::{CollectionKey, Store};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

use crate::support::client::DavClient;
use crate::support::ics;

const BIN: &str = env!("CARGO_BIN_EXE_calproxy");

#[tokio::test]
async fn r10_acknowledged_puts_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();

    let mut add = Command::new(BIN)
        .args([
            "user", "add", "--tenant", "t1", "--user", "ann", "--data", data,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    add.stdin
        .take()
        .unwrap()
        .write_all(b"s3cret\n")
        .await
        .unwrap();
    let st = tokio::time::timeout(Duration::from_secs(30), add.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(st.success());

    let mut serve = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data", data])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(serve.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("server did not start")
        .unwrap()
        .expect("no output");
    let base = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("address line")
        .trim_end_matches("/dav/")
        .to_string();

    let c = DavClient::new(base, Some(("ann@t1", "s3cret")));
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
    serve.start_kill().unwrap(); // SIGKILL
    let _ = tokio::time::timeout(Duration::from_secs(10), serve.wait()).await;

    let store = Store::open(dir.path()).expect("reopen after kill");
    let key = CollectionKey::new(
        &TenantId::new("t1").unwrap(),
        &UserId::new("ann").unwrap(),
        &CalendarId::new("primary").unwrap(),
    );
    for i in 0..20 {
        let name = ObjectName::new(format!("e{i}.ics")).unwrap();
        assert!(store.object(&key, &name).unwrap().is_some(), "e{i} lost");
    }
}
