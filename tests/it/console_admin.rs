//! Issue 11, what the console stands on: `disconnect` (removes local copies
//! only; nothing is deleted in iCloud), the typed `admin::overview`
//! queries both faces render, the qualified `connection/calendar` names
//! of `configure`, and the sync engine's progress.

use calproxy::admin::overview::{self, CalendarKind, Health, Scope};
use calproxy::admin::{DisconnectArgs, Request};
use calproxy::ids::{CalendarId, CollectionKey, ConnectionId, TenantId, UserId};
use calproxy::store::Origin;

use crate::support::icloud::{self, admin, admin_ok, Icloud};
use crate::support::process;

fn ann_key(cal: &str) -> CollectionKey {
    CollectionKey::new(
        &TenantId::new("demo").unwrap(),
        &UserId::new("ann").unwrap(),
        &CalendarId::new(cal).unwrap(),
    )
}

fn icloud_id() -> ConnectionId {
    ConnectionId::new("icloud").unwrap()
}

#[tokio::test]
async fn issue_11_disconnect_removes_local_copies_and_nothing_in_icloud() {
    let ic = Icloud::start(true).await;
    let store = &ic.env.app.store;
    assert!(store.collection(&ann_key("work")).unwrap().is_some());
    let upstream_copies = |k: &CollectionKey| {
        store
            .objects(k)
            .unwrap()
            .into_iter()
            .filter(|(_, o)| matches!(o.origin, Origin::Upstream { .. }))
            .count()
    };
    assert!(upstream_copies(&ann_key("primary")) > 0);
    let requests_before = ic.sim.requests().len();
    let out = admin_ok(
        &ic.env,
        Request::Disconnect(DisconnectArgs {
            connection: icloud_id(),
            tenant: None,
        }),
    )
    .await;
    assert!(out.contains("nothing was deleted in iCloud"), "{out}");
    assert!(out.contains("forgot icloud"), "{out}");
    assert!(store.collection(&ann_key("work")).unwrap().is_none());
    assert_eq!(upstream_copies(&ann_key("primary")), 0);
    assert!(store.connection(&icloud_id()).unwrap().is_none());
    assert!(store.remote_calendars(&icloud_id()).unwrap().is_empty());
    let links = store
        .links(
            &TenantId::new("demo").unwrap(),
            &UserId::new("ann").unwrap(),
        )
        .unwrap();
    assert!(links.primary.is_none() && links.conflicts.is_empty());
    // Not one request went to iCloud, so nothing there changed.
    assert_eq!(ic.sim.requests().len(), requests_before);
}

#[tokio::test]
async fn issue_11_disconnect_from_one_tenant_keeps_the_connection_for_the_others() {
    let ic = Icloud::start(true).await;
    icloud::add_user(&ic.env, "other", "bob");
    admin_ok(
        &ic.env,
        icloud::connect_req(&ic.sim, "other", "bob", icloud::PASSWORD),
    )
    .await;
    let r = admin(
        &ic.env,
        Request::Disconnect(DisconnectArgs {
            connection: icloud_id(),
            tenant: Some(TenantId::new("nobody").unwrap()),
        }),
    )
    .await;
    assert!(!r.ok && r.output.contains("not attached"), "{}", r.output);
    let out = admin_ok(
        &ic.env,
        Request::Disconnect(DisconnectArgs {
            connection: icloud_id(),
            tenant: Some(TenantId::new("demo").unwrap()),
        }),
    )
    .await;
    assert!(!out.contains("forgot"), "{out}");
    let rec = ic.env.app.store.connection(&icloud_id()).unwrap().unwrap();
    assert_eq!(rec.tenants, vec![TenantId::new("other").unwrap()]);
    assert!(ic
        .env
        .app
        .store
        .collection(&ann_key("work"))
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn issue_11_cli_disconnect_is_the_same_command() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let (ok, out) = process::cli(
        &["disconnect", "--connection", "nope", "--data", data],
        "",
        &[],
    )
    .await;
    assert!(!ok);
    assert!(out.contains("no connection nope"), "{out}");
}

#[tokio::test]
async fn issue_11_overview_scopes_connections_by_tenant_with_r6_reasons() {
    let ic = Icloud::start(true).await;
    let app = &ic.env.app;
    let all = overview::connections(app, &Scope::All).unwrap();
    assert_eq!(all.len(), 1);
    let c = &all[0];
    assert_eq!(c.apple_id, icloud::APPLE_ID);
    assert_eq!(c.health, Health::Ok);
    assert!(c.last_sync.is_some());
    let refused: Vec<_> = c.calendars.iter().filter(|k| k.refusal.is_some()).collect();
    assert!(refused
        .iter()
        .any(|k| k.kind == CalendarKind::Subscribed && k.refusal.unwrap().contains("webcal")));
    assert!(refused.iter().any(|k| k.kind == CalendarKind::Reminders));
    let demo = overview::connections(app, &Scope::Tenant(TenantId::new("demo").unwrap())).unwrap();
    assert_eq!(demo.len(), 1);
    let other =
        overview::connections(app, &Scope::Tenant(TenantId::new("other").unwrap())).unwrap();
    assert!(other.is_empty());
    // The CLI's text is rendered from the same values.
    let text = admin_ok(&ic.env, Request::Status).await;
    assert_eq!(
        text,
        overview::render_status(&overview::status(app, &Scope::All).unwrap())
    );
}

#[tokio::test]
async fn issue_11_configure_takes_qualified_connection_calendar_names() {
    let ic = Icloud::start(false).await;
    let out = admin_ok(
        &ic.env,
        icloud::configure_req("demo", "ann", Some("icloud/home"), &["icloud/work"]),
    )
    .await;
    assert!(out.contains("primary "), "{out}");
    let r = admin(
        &ic.env,
        icloud::configure_req("demo", "ann", Some("elsewhere/home"), &[]),
    )
    .await;
    assert!(!r.ok && r.output.contains("no calendar"), "{}", r.output);
}

#[tokio::test]
async fn issue_11_sync_reports_progress_calendars_and_events() {
    let ic = Icloud::start(false).await;
    let app = &ic.env.app;
    assert!(app.engine.progress().get(&icloud_id()).is_none());
    ic.sync().await;
    let p = app.engine.progress().get(&icloud_id()).unwrap();
    assert!(!p.running && p.listed);
    assert!(p.calendars_total >= 2, "{p:?}");
    assert_eq!(p.calendars_done, p.calendars_total);
    assert!(p.events_fetched > 0, "{p:?}");
    assert_eq!(p.last_failure, None);
    let json = admin_ok(&ic.env, Request::Progress).await;
    assert!(json.contains("\"events_fetched\""), "{json}");
}
