//! Against the simulated iCloud: connect, list (R6), initial and
//! incremental sync, token invalidation, 503 + Retry-After, 401, request
//! counts, multiget 404s, duplicate rows.

use calproxy::admin::Request;
use calproxy::ids::ConnectionId;
use calproxy::sim::TokenMode;
use calproxy::store::ConnectionState;

use crate::support::icloud::{self, admin, admin_ok, configure_req, connect_req, Icloud};
use crate::support::ics;

#[tokio::test]
async fn icloud_connect_lists_calendars_with_r6_reasons() {
    let ic = Icloud::start(false).await;
    let out = admin_ok(&ic.env, Request::Calendars(Default::default())).await;
    for want in ["home", "work", "Family", "shared"] {
        assert!(out.contains(want), "{want} missing:\n{out}");
    }
    let line = |needle: &str| {
        out.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        line("US Holidays").contains("no: a subscribed (webcal) calendar"),
        "{out}"
    );
    assert!(line("Reminders").contains("no: a reminders list"), "{out}");
    assert!(line("Home").contains("yes"), "{out}");
    assert!(
        !out.contains("inbox") && !out.contains("notification"),
        "{out}"
    );
}

#[tokio::test]
async fn r6_subscribed_and_reminders_cannot_be_configured() {
    let ic = Icloud::start(false).await;
    for name in ["US Holidays", "tasks"] {
        let r = admin(&ic.env, configure_req("demo", "ann", None, &[name])).await;
        assert!(
            !r.ok && r.output.contains("cannot be connected"),
            "{}",
            r.output
        );
    }
}

#[tokio::test]
async fn icloud_wrong_password_prints_app_specific_password_advice() {
    let (sim, _stop) = icloud::start_sim().await;
    let env = crate::support::env::TestEnv::start().await;
    icloud::add_user(&env, "demo", "ann");
    let r = admin(&env, connect_req(&sim, "demo", "ann", "MyMainPassword1")).await;
    assert!(!r.ok);
    assert!(
        r.output.contains("app-specific password") && r.output.contains("two-factor"),
        "{}",
        r.output
    );
    assert!(!r.output.contains("MyMainPassword1"));
}

#[tokio::test]
async fn icloud_initial_sync_copies_primary_and_conflict_calendars() {
    let ic = Icloud::start(true).await;
    let home: Vec<String> = ic.sim.events("home").into_iter().map(|e| e.name).collect();
    let work: Vec<String> = ic.sim.events("work").into_iter().map(|e| e.name).collect();
    let mut home_sorted = home.clone();
    home_sorted.sort();
    let mut work_sorted = work.clone();
    work_sorted.sort();
    assert_eq!(ic.names("primary").await, home_sorted);
    assert_eq!(ic.names("work").await, work_sorted);
}

#[tokio::test]
async fn icloud_incremental_sync_after_add_change_delete() {
    let ic = Icloud::start(true).await;
    ic.sim.upsert_event(
        "work",
        "new.ics",
        &ics::event(
            "new-1",
            "20261215T100000Z",
            "20261215T110000Z",
            "Added in iCloud",
        ),
    );
    ic.sim.upsert_event(
        "work",
        "weekly-review.ics",
        &ics::event(
            "6A1E3C2B-9F1D-4C2E-8E7A-1B2C3D4E5F60",
            "20261215T150000Z",
            "20261215T160000Z",
            "Review moved",
        ),
    );
    assert!(ic.sim.delete_event("work", "company-holiday.ics"));
    let out = ic.sync().await;
    assert!(
        out.contains("2 fetched") && out.contains("1 removed"),
        "{out}"
    );
    let names = ic.names("work").await;
    assert!(
        names.contains(&"new.ics".to_string())
            && !names.contains(&"company-holiday.ics".to_string()),
        "{names:?}"
    );
    let t = ic
        .ann
        .get("/dav/demo/ann/work/weekly-review.ics")
        .await
        .status(200)
        .text();
    assert!(t.contains("Review moved"), "{t}");
}

#[tokio::test]
async fn icloud_invalid_sync_token_falls_back_to_full_resync() {
    for mode in [TokenMode::Forbidden403WithBody, TokenMode::Bare403] {
        let ic = Icloud::start(true).await;
        ic.sim.faults().invalid_token_mode(mode);
        ic.sim.invalidate_sync_tokens();
        assert!(ic.sim.delete_event("work", "cancelled-offsite.ics"));
        ic.sim.clear_requests();
        ic.sync().await;
        let reqs = ic.sim.requests();
        let refused = reqs
            .iter()
            .filter(|r| r.method == "REPORT" && r.status == 403)
            .count();
        let full = reqs
            .iter()
            .filter(|r| r.method == "REPORT" && r.body.contains("<d:sync-token></d:sync-token>"))
            .count();
        assert!(refused >= 1 && full >= 1, "{mode:?}: {reqs:#?}");
        assert!(!ic
            .names("work")
            .await
            .contains(&"cancelled-offsite.ics".to_string()));
    }
}

#[tokio::test]
async fn icloud_503_with_retry_after_is_recorded_and_recovers() {
    let ic = Icloud::start(true).await;
    ic.sim.faults().fail_next(1, 503, Some(7));
    let r = admin(&ic.env, Request::Sync(Default::default())).await;
    assert!(!r.ok && r.output.contains("503"), "{}", r.output);
    let conn = ic
        .env
        .app
        .store
        .connection(&ConnectionId::new("icloud").unwrap())
        .unwrap()
        .unwrap();
    assert!(conn.throttled_until.is_some(), "{conn:?}");
    let status = admin_ok(&ic.env, Request::Status).await;
    assert!(
        status.contains("throttled until") && !status.contains("throttled until -"),
        "{status}"
    );
    // The engine's wait honours Retry-After with a floor.
    assert_eq!(
        calproxy::sync::plan::backoff(1, Some(std::time::Duration::from_secs(7))),
        std::time::Duration::from_secs(7)
    );
    ic.sync().await;
    let conn = ic
        .env
        .app
        .store
        .connection(&ConnectionId::new("icloud").unwrap())
        .unwrap()
        .unwrap();
    assert!(conn.throttled_until.is_none() && conn.last_error.is_none());
}

#[tokio::test]
async fn icloud_401_marks_auth_failed_and_polling_stops() {
    let ic = Icloud::start(true).await;
    ic.sim.faults().fail_all(Some((401, None)));
    let id = ConnectionId::new("icloud").unwrap();
    let r = ic
        .env
        .app
        .engine
        .sync_and_record(&id, std::time::Duration::ZERO)
        .await;
    assert!(r.is_err());
    let conn = ic.env.app.store.connection(&id).unwrap().unwrap();
    assert!(
        matches!(conn.state, ConnectionState::AuthFailed { .. }),
        "{conn:?}"
    );
    let status = admin_ok(&ic.env, Request::Status).await;
    assert!(status.contains("reconnect required"), "{status}");
    // A connection marked "auth failed" makes no more requests.
    ic.sim.clear_requests();
    assert!(ic.env.app.engine.sync_connection(&id).await.is_err());
    assert_eq!(ic.sim.request_count(), 0);
    // Reconnecting with a good password clears it.
    ic.sim.faults().fail_all(None);
    admin_ok(
        &ic.env,
        connect_req(&ic.sim, "demo", "ann", icloud::PASSWORD),
    )
    .await;
    ic.sync().await;
}

#[tokio::test]
async fn icloud_request_counts_initial_1000_events_and_idle_tick() {
    // An account with exactly two event calendars (plus iCloud's usual extras).
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("account.json"),
        r#"{"owner_name": "Count", "aliases": [], "calendars": [
            {"id": "home", "kind": "events", "displayname": "Home"},
            {"id": "work", "kind": "events", "displayname": "Work"},
            {"id": "tasks", "kind": "tasks", "displayname": "Reminders"},
            {"id": "inbox", "kind": "inbox"}, {"id": "outbox", "kind": "outbox"},
            {"id": "notification", "kind": "notification"}]}"#,
    )
    .unwrap();
    for c in ["home", "work", "tasks"] {
        std::fs::create_dir(dir.path().join(c)).unwrap();
    }
    let (sim, _stop) = icloud::start_sim_with(dir.path().to_path_buf()).await;
    let n: usize = 1000;
    for i in 0..n / 2 {
        sim.upsert_event(
            "home",
            &format!("h{i}.ics"),
            &ics::event(
                &format!("h{i}"),
                "20261210T100000Z",
                "20261210T110000Z",
                "h",
            ),
        );
        sim.upsert_event(
            "work",
            &format!("w{i}.ics"),
            &ics::event(
                &format!("w{i}"),
                "20261210T100000Z",
                "20261210T110000Z",
                "w",
            ),
        );
    }
    let env = crate::support::env::TestEnv::start().await;
    icloud::add_user(&env, "demo", "ann");
    sim.clear_requests();
    admin_ok(&env, connect_req(&sim, "demo", "ann", icloud::PASSWORD)).await;
    admin_ok(&env, configure_req("demo", "ann", Some("home"), &["work"])).await;
    let connect = sim.request_count();
    sim.clear_requests();
    let out = admin_ok(&env, Request::Sync(Default::default())).await;
    assert!(out.contains(&format!("{n} fetched")), "{out}");
    let initial = sim.request_count();
    let calendars = 2;
    let bound = n.div_ceil(100) + 2 * calendars + 3;
    println!("initial sync of {n} events over {calendars} calendars: {initial} upstream requests (bound {bound}); connect: {connect}");
    assert!(
        initial <= bound,
        "{initial} > {bound}: {:#?}",
        sim.requests()
    );
    assert!(
        initial + connect <= bound,
        "connect + initial sync {} > {bound}",
        initial + connect
    );
    assert_eq!(
        env.app
            .store
            .objects(&calproxy::store::CollectionKey::new(
                &calproxy::ids::TenantId::new("demo").unwrap(),
                &calproxy::ids::UserId::new("ann").unwrap(),
                &calproxy::ids::CalendarId::new("work").unwrap(),
            ))
            .unwrap()
            .len(),
        n / 2
    );
    sim.clear_requests();
    admin_ok(&env, Request::Sync(Default::default())).await;
    let idle = sim.request_count();
    println!("idle tick: {idle} upstream request(s)");
    assert_eq!(idle, 1, "{:#?}", sim.requests());
}

#[tokio::test]
async fn icloud_multiget_404_keeps_old_token_and_retries() {
    let ic = Icloud::start(true).await;
    ic.sim.upsert_event(
        "work",
        "late.ics",
        &ics::event("late", "20261216T100000Z", "20261216T110000Z", "Late"),
    );
    let href = format!("{}work/late.ics", ic.sim.home_path());
    ic.sim.faults().multiget_404_once(&href);
    let out = ic.sync().await;
    assert!(out.contains("retried next sync"), "{out}");
    assert!(!ic.names("work").await.contains(&"late.ics".to_string()));
    ic.sync().await;
    assert!(ic.names("work").await.contains(&"late.ics".to_string()));
}

#[tokio::test]
async fn icloud_duplicate_sync_rows_are_tolerated() {
    let ic = Icloud::start(true).await;
    ic.sim.faults().duplicate_sync_rows(true);
    ic.sim.upsert_event(
        "work",
        "dup.ics",
        &ics::event("dup", "20261216T100000Z", "20261216T110000Z", "Dup"),
    );
    let out = ic.sync().await;
    assert!(out.contains("1 fetched"), "{out}");
    assert_eq!(
        ic.names("work")
            .await
            .iter()
            .filter(|n| *n == "dup.ics")
            .count(),
        1
    );
}

#[tokio::test]
async fn icloud_home_moved_triggers_rediscovery() {
    let ic = Icloud::start(true).await;
    let id = ConnectionId::new("icloud").unwrap();
    let moved = format!("{}/987654321/calendars/", ic.sim.front_url());
    ic.env
        .app
        .store
        .update_connection(&id, |r| r.home_url = Some(moved.clone()))
        .unwrap();
    ic.sim.upsert_event(
        "work",
        "after-move.ics",
        &ics::event("after-move", "20261216T100000Z", "20261216T110000Z", "x"),
    );
    ic.sync().await;
    let rec = ic.env.app.store.connection(&id).unwrap().unwrap();
    assert_ne!(rec.home_url.as_deref(), Some(moved.as_str()));
    assert!(ic
        .names("work")
        .await
        .contains(&"after-move.ics".to_string()));
}
