//! Issue 9 reproductions, written against the code before the fix.

use calproxy::admin::Request;
use calproxy::ids::{TenantId, UserId};

use crate::support::env::TestEnv;
use crate::support::icloud::{self, admin_ok, Icloud};
use crate::support::ics;

fn ics_names(hrefs: Vec<String>) -> Vec<String> {
    hrefs.into_iter().filter(|h| h.ends_with(".ics")).collect()
}

#[tokio::test]
async fn repro_r7_conflict_user_write_reaches_availability_collection() {
    let env = TestEnv::start().await;
    let bob = icloud::add_user(&env, "demo", "bob");
    let carol = icloud::add_user(&env, "demo", "carol");
    admin_ok(
        &env,
        Request::Configure(calproxy::admin::ConfigureArgs {
            who: calproxy::admin::UserArgs {
                tenant: TenantId::new("demo").unwrap(),
                user: UserId::new("bob").unwrap(),
            },
            primary: None,
            conflicts: vec![],
            conflict_users: vec![UserId::new("carol").unwrap()],
            privacy: None,
        }),
    )
    .await;
    carol
        .put(
            "/dav/demo/carol/blocked/trip.ics",
            &ics::event("carol-trip", "20261217T080000Z", "20261217T170000Z", "Trip"),
            &[],
        )
        .await
        .status(201);
    let listed = ics_names(
        bob.propfind("/dav/demo/bob/availability/", "1", "")
            .await
            .status(207)
            .hrefs(),
    );
    assert_eq!(listed.len(), 1, "{listed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn repro_bug_b_concurrent_creates_on_fresh_store_never_404() {
    let mut bad = Vec::new();
    for round in 0..8 {
        let env = TestEnv::start().await;
        let mut tasks = Vec::new();
        for t in 0..4 {
            let c = env.client();
            tasks.push(tokio::spawn(async move {
                let mut statuses = Vec::new();
                for i in 0..30 {
                    let uid = format!("b-{t}-{i}");
                    let k = t * 30 + i;
                    let start = format!(
                        "202612{:02}T{:02}{:02}00Z",
                        10 + k / 96,
                        (k % 96) / 4,
                        (k % 4) * 15
                    );
                    let end = format!(
                        "202612{:02}T{:02}{:02}00Z",
                        10 + k / 96,
                        (k % 96) / 4,
                        (k % 4) * 15 + 14
                    );
                    let s = c
                        .put(
                            &format!("/dav/demo/demo/blocked/{uid}.ics"),
                            &ics::event(&uid, &start, &end, "x"),
                            &[("if-none-match", "*")],
                        )
                        .await
                        .status
                        .as_u16();
                    statuses.push((uid, s));
                }
                statuses
            }));
        }
        for t in tasks {
            for (uid, s) in t.await.unwrap() {
                if s != 201 {
                    bad.push(format!("round {round}: {uid} -> {s}"));
                }
            }
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
}

#[tokio::test]
async fn repro_bug_a_system_events_never_turn_read_only() {
    let ic = Icloud::start(true).await;
    ic.sim.faults().fail_all(Some((503, None)));
    let n = 120;
    for i in 0..n {
        let uid = format!("race-{i:03}");
        ic.ann
            .put(
                &format!("/dav/demo/ann/primary/{uid}.ics"),
                &ics::event(&uid, "20270310T090000Z", "20270310T100000Z", "race"),
                &[("if-none-match", "*")],
            )
            .await
            .status(201);
    }
    ic.sim.faults().fail_all(None);
    ic.sim.faults().delay(std::time::Duration::from_millis(5));
    let app = ic.env.app.clone();
    let drainer = tokio::spawn(async move {
        for _ in 0..50 {
            let _ = app.outbox.drain(true).await;
            if app.store.outbox_len() == 0 {
                break;
            }
        }
    });
    let app = ic.env.app.clone();
    let conn = calproxy::ids::ConnectionId::new("icloud").unwrap();
    let syncer = tokio::spawn(async move {
        for _ in 0..200 {
            let _ = app.engine.sync_connection(&conn).await;
            if app.store.outbox_len() == 0 {
                break;
            }
        }
    });
    drainer.await.unwrap();
    syncer.await.unwrap();
    ic.sim.faults().delay(std::time::Duration::ZERO);
    ic.sync().await;
    let mut read_only = Vec::new();
    for i in 0..n {
        let path = format!("/dav/demo/ann/primary/race-{i:03}.ics");
        let a = ic
            .ann
            .propfind(
                &path,
                "0",
                r#"<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:current-user-privilege-set/></d:prop></d:propfind>"#,
            )
            .await;
        if a.status.as_u16() != 207 || !a.text().contains("write-content") {
            read_only.push(format!("{path}: {}", a.status));
        }
    }
    assert!(
        read_only.is_empty(),
        "{} of {n}: {read_only:#?}",
        read_only.len()
    );
}
