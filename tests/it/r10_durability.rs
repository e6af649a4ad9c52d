//! R10: a write answered 2xx survives `kill -9` of a real calproxy process.

use calproxy::ids::{CalendarId, ObjectName, TenantId, UserId};
use calproxy::store::{CollectionKey, Store};

use crate::support::client::DavClient;
use crate::support::{ics, process};

#[tokio::test]
async fn r10_acknowledged_puts_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();

    process::cli_ok(
        &[
            "user", "add", "--tenant", "t1", "--user", "ann", "--data", data,
        ],
        "s3cret-pw\n",
    )
    .await;
    let (serve, base) = process::serve(data, &[]).await;

    let c = DavClient::new(base, Some(("ann@t1", "s3cret-pw")));
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
