//! Issue 13 #5: safe sync. A listing that would remove a calendar's copies
//! wholesale is held until confirmed (`calproxy sync --confirm-deletions`),
//! ordinary deletions go through, a daily full reconciliation repairs what
//! sync-collection missed (counted in /metrics), and a revoked app-specific
//! password shows "reconnect required" and stops polling until `connect`
//! stores a new one. The console's "Confirm N deletions" is the same
//! confirmation.

use std::time::Duration;

use calproxy::admin::{self, overview, Request};
use calproxy::ids::ConnectionId;
use calproxy::sim::SimHandle;
use calproxy::store::ConnectionState;
use calproxy::sync::{EngineConfig, SyncOptions};
use tokio_util::sync::CancellationToken;

use crate::support::client::DavClient;
use crate::support::console::Browser;
use crate::support::env::TestEnv;
use crate::support::feed_server::{feed, FeedServer};
use crate::support::icloud::{
    self, add_user, admin_ok, configure_req, connect_req, start_sim_with,
};
use crate::support::ics;

const BIG: usize = 100;

/// A sim whose account has `home` and `big` (100 events), and calproxy
/// with ann: `home` primary, `big` conflict, synced.
pub(crate) struct Big {
    pub(crate) sim: SimHandle,
    pub(crate) env: TestEnv,
    ann: DavClient,
    _stop: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Big {
    pub(crate) async fn start() -> Big {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("account.json"),
            r#"{"owner_name": "Big", "aliases": [], "calendars": [
                {"id": "home", "kind": "events", "displayname": "Home"},
                {"id": "big", "kind": "events", "displayname": "Big"}]}"#,
        )
        .unwrap();
        let (sim, stop) = start_sim_with(dir.path().to_path_buf()).await;
        for i in 0..BIG {
            sim.upsert_event(
                "big",
                &format!("e{i}.ics"),
                &ics::event(
                    &format!("e{i}"),
                    "20270310T100000Z",
                    "20270310T110000Z",
                    "e",
                ),
            );
        }
        let env = TestEnv::start().await;
        let ann = add_user(&env, "demo", "ann");
        admin_ok(&env, connect_req(&sim, "demo", "ann", icloud::PASSWORD)).await;
        admin_ok(&env, configure_req("demo", "ann", Some("home"), &["big"])).await;
        admin_ok(&env, Request::Sync(Default::default())).await;
        let b = Big {
            sim,
            env,
            ann,
            _stop: stop,
            _dir: dir,
        };
        assert_eq!(b.copies().await, BIG);
        b
    }

    pub(crate) async fn copies(&self) -> usize {
        self.ann
            .propfind("/dav/demo/ann/big/", "1", "")
            .await
            .status(207)
            .hrefs()
            .iter()
            .filter(|h| h.ends_with(".ics"))
            .count()
    }

    pub(crate) async fn sync(&self, confirm: bool) -> String {
        admin_ok(
            &self.env,
            Request::Sync(admin::SyncArgs {
                confirm_deletions: confirm,
                ..Default::default()
            }),
        )
        .await
    }

    /// ann's free slots on the day of the `big` events.
    async fn slots(&self) -> serde_json::Value {
        let a = self
            .ann
            .get("/api/demo/ann/slots?start=2027-03-10T00:00:00Z&end=2027-03-11T00:00:00Z&duration=PT30M")
            .await
            .status(200);
        serde_json::from_slice(&a.body).unwrap()
    }

    pub(crate) fn health(&self) -> overview::Health {
        overview::connections(&self.env.app, &overview::Scope::All)
            .unwrap()
            .into_iter()
            .find(|c| c.id.as_str() == "icloud")
            .unwrap()
            .health
    }
}

#[tokio::test]
async fn issue_13_an_empty_listing_deletes_nothing_until_confirmed() {
    let b = Big::start().await;
    // iCloud resets the sync tokens and then lists the calendar as empty,
    // though its 100 events are still there.
    b.sim.faults().empty_listing("big", true);
    b.sim.invalidate_sync_tokens();
    let out = b.sync(false).await;
    assert!(
        out.contains("held: 100 deletions need confirmation"),
        "{out}"
    );
    assert_eq!(b.copies().await, BIG, "nothing deleted");
    let status = admin_ok(&b.env, Request::Status).await;
    assert!(
        status.contains("held: 100 deletions need confirmation")
            && status.contains("the server listed no event of a calendar with 100 copies"),
        "{status}"
    );
    // The console's connection view reads the same typed query.
    assert_eq!(b.health(), overview::Health::Held { deletions: 100 });
    // Free slots are computed from copies iCloud may have deleted: the
    // calendar is reported stale, with what to do, never silently used.
    let slots = b.slots().await;
    assert_eq!(slots["complete"], false, "{slots}");
    let big = slots["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["calendar"] == "big")
        .unwrap();
    assert_eq!(big["status"], "stale", "{slots}");
    assert!(
        big["reason"]
            .as_str()
            .unwrap()
            .contains("--confirm-deletions"),
        "{big}"
    );
    let metrics = b.env.anonymous().get("/metrics").await.status(200).text();
    assert!(metrics.contains("calproxy_held_deletions 100"), "{metrics}");
    // Syncing again keeps holding; nothing is deleted.
    let out = b.sync(false).await;
    assert!(out.contains("held: 100"), "{out}");
    assert_eq!(b.copies().await, BIG);
    // The user checked iCloud: the calendar really is empty now. Confirm.
    let out = b.sync(true).await;
    assert!(
        out.contains("100 held deletions confirmed and applied"),
        "{out}"
    );
    assert_eq!(b.copies().await, 0);
    let status = admin_ok(&b.env, Request::Status).await;
    assert!(!status.contains("held"), "{status}");
    let slots = b.slots().await;
    assert_eq!(slots["complete"], true, "{slots}");
    assert_eq!(b.health(), overview::Health::Ok);
}

#[tokio::test]
async fn issue_13_a_held_sync_clears_itself_when_the_listing_recovers() {
    let b = Big::start().await;
    b.sim.faults().empty_listing("big", true);
    b.sim.invalidate_sync_tokens();
    assert!(b.sync(false).await.contains("held: 100"));
    // iCloud lists the calendar properly again: nothing to confirm.
    b.sim.faults().empty_listing("big", false);
    let out = b.sync(false).await;
    assert!(!out.contains("held"), "{out}");
    assert_eq!(b.copies().await, BIG);
    assert_eq!(b.health(), overview::Health::Ok);
}

#[tokio::test]
async fn issue_13_a_normal_deletion_of_3_events_goes_through() {
    let b = Big::start().await;
    for i in 0..3 {
        assert!(b.sim.delete_event("big", &format!("e{i}.ics")));
    }
    let out = b.sync(false).await;
    assert!(out.contains("3 removed") && !out.contains("held"), "{out}");
    assert_eq!(b.copies().await, BIG - 3);
}

#[tokio::test]
async fn issue_13_deleting_more_than_half_at_once_is_held() {
    let b = Big::start().await;
    for i in 0..60 {
        b.sim.delete_event("big", &format!("e{i}.ics"));
    }
    let out = b.sync(false).await;
    assert!(out.contains("held: 60 deletions"), "{out}");
    assert_eq!(b.copies().await, BIG);
    let status = admin_ok(&b.env, Request::Status).await;
    assert!(
        status.contains("60 of its 100 copies would go at once"),
        "{status}"
    );
    let out = b.sync(true).await;
    assert!(out.contains("60 held deletions confirmed"), "{out}");
    assert_eq!(b.copies().await, BIG - 60);
}

async fn busy_on_march_11(ann: &DavClient) -> String {
    ann.get("/api/demo/ann/busy?start=2027-03-11T00:00:00Z&end=2027-03-12T00:00:00Z")
        .await
        .status(200)
        .text()
}

#[tokio::test]
async fn issue_13_full_reconciliation_repairs_what_sync_collection_missed() {
    let b = Big::start().await;
    let id = ConnectionId::new("icloud").unwrap();
    // The first sync scheduled the next full reconciliation about a day ahead.
    let rec = b.env.app.store.connection(&id).unwrap().unwrap();
    let now = chrono::Utc::now().timestamp();
    let next = rec.next_full_sync.expect("scheduled");
    assert!((next - now - 86_400).abs() <= 3_700, "{next} vs {now}");
    // An edit in iCloud that neither the ctag nor sync-collection report.
    let moved = ics::event("e5", "20270311T150000Z", "20270311T160000Z", "moved");
    assert!(!b
        .sim
        .upsert_event_unlogged("big", "e5.ics", &moved)
        .is_empty());
    let out = b.sync(false).await;
    assert!(
        out.contains("0 calendars synced"),
        "an ordinary sync misses it: {out}"
    );
    assert!(!busy_on_march_11(&b.ann).await.contains("15:00"));
    // The background engine runs a full reconciliation once it is due.
    b.env
        .app
        .store
        .update_connection(&id, |r| r.next_full_sync = Some(0))
        .unwrap();
    let stop = CancellationToken::new();
    let cfg = EngineConfig {
        interval: Duration::from_millis(100),
        jitter: Duration::ZERO,
        auth_retry: Duration::ZERO,
    };
    tokio::spawn(b.env.app.engine.clone().run(cfg, stop.clone()));
    let label = b.env.app.metrics.connection_label("icloud");
    let counted = format!("calproxy_full_reconciliations_total{{connection=\"{label}\"}} 1");
    let done = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let m = b.env.anonymous().get("/metrics").await.status(200).text();
            if m.contains(&counted) {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    stop.cancel();
    let metrics = done.expect("a full reconciliation ran");
    assert!(
        metrics.contains(&format!(
            "calproxy_full_reconciliation_repairs_total{{connection=\"{label}\"}} 1"
        )),
        "{metrics}"
    );
    assert!(busy_on_march_11(&b.ann)
        .await
        .contains("2027-03-11T15:00:00Z"));
    let rec = b.env.app.store.connection(&id).unwrap().unwrap();
    assert!(
        rec.next_full_sync.unwrap() > now + 80_000,
        "rescheduled: {rec:?}"
    );
    // A full reconciliation asked for directly reports itself as one.
    let r = b
        .env
        .app
        .engine
        .sync_and_record_with(
            &id,
            Duration::ZERO,
            SyncOptions {
                full: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(r.full && r.calendars_synced == 2 && r.fetched == 0, "{r:?}");
}

#[tokio::test]
async fn issue_13_revoked_password_says_reconnect_required_and_stops_polling() {
    let ic = icloud::Icloud::start(true).await;
    let id = ConnectionId::new("icloud").unwrap();
    // A feed polled on every tick is the clock: the engine keeps ticking.
    let server = FeedServer::start().await;
    server.serve_ics(
        "/tick.ics",
        &feed("Tick", "REFRESH-INTERVAL;VALUE=DURATION:PT1S\r\n", &[]),
    );
    let tick = Request::Connect(admin::ConnectArgs {
        who: admin::UserArgs {
            tenant: "demo".parse().unwrap(),
            user: "ann".parse().unwrap(),
        },
        apple_id: String::new(),
        upstream: admin::ICLOUD.into(),
        id: None,
        options: admin::ConnectOptions {
            ics: Some(server.url("/tick.ics")),
            name: Some("Tick".into()),
            region: None,
        },
        password: Default::default(),
    });
    admin_ok(&ic.env, tick).await;
    let stop = CancellationToken::new();
    let cfg = EngineConfig {
        interval: Duration::from_millis(100),
        jitter: Duration::ZERO,
        auth_retry: Duration::from_millis(10),
    };
    tokio::spawn(ic.env.app.engine.clone().run(cfg, stop.clone()));
    // The Apple ID password is changed: every app-specific password is revoked.
    ic.sim.revoke_app_password("wxyz-wxyz-wxyz-wxyz");
    let marked = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let rec = ic.env.app.store.connection(&id).unwrap().unwrap();
            if matches!(rec.state, ConnectionState::AuthFailed { .. }) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(marked.is_ok(), "the 401 was not recorded");
    let status = admin_ok(&ic.env, Request::Status).await;
    assert!(
        status.contains(
            "reconnect required: the app-specific password was revoked or the Apple ID password changed — generate a new one"
        ),
        "{status}"
    );
    assert!(status.contains("appleid.apple.com"), "{status}");
    let health = overview::connections(&ic.env.app, &overview::Scope::All)
        .unwrap()
        .into_iter()
        .find(|c| c.id == id)
        .unwrap()
        .health;
    assert!(
        matches!(health, overview::Health::AuthFailed { .. }),
        "{health:?}"
    );
    // Polling has stopped: while the feed is polled three more times, the
    // simulated iCloud sees nothing.
    ic.sim.clear_requests();
    let ticks = server.hits("/tick.ics").len();
    let waited = tokio::time::timeout(Duration::from_secs(30), async {
        while server.hits("/tick.ics").len() < ticks + 3 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "the engine stopped ticking");
    assert_eq!(ic.sim.request_count(), 0, "{:?}", ic.sim.requests());
    // `connect` stores the new password: polling resumes by itself.
    admin_ok(
        &ic.env,
        connect_req(&ic.sim, "demo", "ann", "wxyz-wxyz-wxyz-wxyz"),
    )
    .await;
    ic.sim.clear_requests();
    let resumed = tokio::time::timeout(Duration::from_secs(30), async {
        while ic.sim.request_count() == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    stop.cancel();
    assert!(resumed.is_ok(), "polling did not resume");
    let status = admin_ok(&ic.env, Request::Status).await;
    assert!(!status.contains("reconnect required"), "{status}");
}

#[tokio::test]
async fn issue_13_the_console_confirms_held_deletions_by_its_button_only() {
    let b = Big::start().await;
    b.sim.faults().empty_listing("big", true);
    b.sim.invalidate_sync_tokens();
    assert!(b.sync(false).await.contains("held: 100"));
    let mut ann = Browser::signed_in(&b.env.base(), "ann@demo", "pw").await;
    let page = ann.get("/connections").await.text();
    assert!(
        page.contains("held: 100 deletions need confirmation")
            && page.contains("Confirm 100 deletions")
            && page.contains(r#"name="confirm_deletions" value="yes""#),
        "{page}"
    );
    // "Sync now" keeps holding: only the button confirms.
    let a = ann.submit("/connections/icloud/sync", &[]).await;
    assert!(a.status.is_success(), "{}", a.text());
    assert!(a.text().contains("held: 100"), "{}", a.text());
    assert_eq!(b.copies().await, BIG, "nothing deleted by Sync now");
    // A field with another value is not a confirmation either.
    let a = ann
        .submit("/connections/icloud/sync", &[("confirm_deletions", "1")])
        .await;
    assert!(a.status.is_success(), "{}", a.text());
    assert_eq!(b.copies().await, BIG);
    let a = ann
        .submit("/connections/icloud/sync", &[("confirm_deletions", "yes")])
        .await;
    assert!(a.status.is_success(), "{}", a.text());
    assert!(
        a.text()
            .contains("100 held deletions confirmed and applied"),
        "{}",
        a.text()
    );
    assert_eq!(b.copies().await, 0);
    assert_eq!(b.health(), overview::Health::Ok);
    let page = ann.get("/connections").await.text();
    assert!(!page.contains("Confirm 100 deletions"), "{page}");
    // Without the session's CSRF token the form is refused, and a
    // confirmation needs one like every other change.
    let a = ann
        .post("/connections/icloud/sync", &[("confirm_deletions", "yes")])
        .await;
    assert_eq!(a.status.as_u16(), 403, "{}", a.text());
}
