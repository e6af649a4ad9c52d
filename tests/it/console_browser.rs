//! Issue 11 in real headless browsers, Chromium and Firefox (one test per
//! browser, `<test>::chromium` and `<test>::firefox`):
//! tests/peers/console_browser.py drives the console through selenium
//! (`support::real_browser`) against calproxy and the simulated iCloud.
//! Every page it visits is parsed by html5lib in strict mode and the
//! browser's console must stay free of errors; each scenario saves a
//! screenshot under target/console-screenshots/<browser>/. A missing
//! browser or driver fails the test and names what to install; it is
//! never skipped.

use calproxy::admin::{AdminCommand, Request, WirePassword};
use calproxy::ical::{AllDay, Tentative, TimeRange};
use calproxy::ids::{CalendarId, ConnectionId, TenantId, UserId, UserRef};
use calproxy::secret::Secret;

use crate::support::env::TestEnv;
use crate::support::feed_server::{feed, FeedServer};
use crate::support::icloud::{self, admin_ok, Icloud};
use crate::support::real_browser::{per_browser, Engine, Scenario, Trigger};

per_browser!(
    issue_11_browser_sign_in_and_every_panel,
    issue_11_browser_add_connection_wrong_then_right_password,
    issue_11_browser_primary_two_conflict_calendars_and_a_conflict_user,
    issue_11_browser_busy_block_and_why_busy,
    issue_11_browser_feed_rotate_old_url_is_404,
    issue_11_browser_admin_traffic_entry_live_rows_and_har,
    issue_13_browser_working_hours_and_busy_rules,
    issue_13_browser_add_ics_feed,
    issue_13_browser_confirm_held_deletions,
);

/// A zone with a half-hour offset and summer time, named alike by both
/// browsers (no older alias).
const BROWSER_ZONE: &str = "America/St_Johns";

async fn issue_11_browser_sign_in_and_every_panel(engine: Engine) {
    let ic = Icloud::start(true).await;
    let o = Scenario::new(engine, "sign_in", &ic.env.base(), "ann@demo", "pw")
        .arg("login-shown", "ann@demo")
        .tz(BROWSER_ZONE)
        .run()
        .await;
    // The browser reported its zone at sign-in; it is shown, and every
    // time on the pages (last sync, …) reads as the browser itself shows
    // that instant in its zone.
    assert_eq!(o.results[0]["browser_tz"], BROWSER_ZONE);
    assert_eq!(o.results[0]["tz"], BROWSER_ZONE);
    assert!(
        o.results[0]["times"].as_u64().unwrap() >= 2,
        "{:?}",
        o.results
    );
}

async fn issue_11_browser_add_connection_wrong_then_right_password(engine: Engine) {
    let (sim, _stop) = icloud::start_sim().await;
    let env = TestEnv::start().await;
    icloud::add_user(&env, "demo", "ann");
    let front = sim.front_url();
    Scenario::new(engine, "add_connection", &env.base(), "ann@demo", "pw")
        .arg("sim", &front)
        .arg("apple-id", icloud::APPLE_ID)
        .arg("app-password", icloud::PASSWORD)
        .run()
        .await;
    let conns = env.app.store.connections().unwrap();
    assert_eq!(conns.len(), 1);
    assert_eq!(conns[0].1.apple_id, icloud::APPLE_ID);
    assert_eq!(conns[0].1.tenants, vec![TenantId::new("demo").unwrap()]);
}

async fn issue_11_browser_primary_two_conflict_calendars_and_a_conflict_user(engine: Engine) {
    let ic = Icloud::start(false).await;
    icloud::add_user(&ic.env, "demo", "bob");
    let family = "icloud/6E1B2C3D-4F50-4A6B-9C7D-8E9F0A1B2C3D";
    Scenario::new(engine, "configure", &ic.env.base(), "ann@demo", "pw")
        .arg("conflicts", &format!("icloud/work,{family}"))
        .arg("member", "bob")
        .run()
        .await;
    let links = ic
        .env
        .app
        .store
        .links(
            &TenantId::new("demo").unwrap(),
            &UserId::new("ann").unwrap(),
        )
        .unwrap();
    let icloud = ConnectionId::new("icloud").unwrap();
    let primary = links.primary.expect("a primary calendar");
    assert_eq!(
        (primary.connection, primary.calendar),
        (icloud.clone(), CalendarId::new("home").unwrap())
    );
    let mut conflicts: Vec<String> = links
        .conflicts
        .iter()
        .map(|r| r.calendar.to_string())
        .collect();
    conflicts.sort();
    assert_eq!(
        conflicts,
        vec![
            "6E1B2C3D-4F50-4A6B-9C7D-8E9F0A1B2C3D".to_string(),
            "work".to_string()
        ]
    );
    assert_eq!(links.conflict_users, vec![UserId::new("bob").unwrap()]);
}

async fn issue_11_browser_busy_block_and_why_busy(engine: Engine) {
    let ic = Icloud::start(true).await;
    let ann = UserRef::new(
        &TenantId::new("demo").unwrap(),
        &UserId::new("ann").unwrap(),
    );
    let now = chrono::Utc::now();
    let busy = ic
        .env
        .app
        .views
        .why_busy(
            &ann,
            TimeRange {
                start: now - chrono::Duration::days(30),
                end: now + chrono::Duration::days(60),
            },
            None,
        )
        .unwrap();
    assert!(!busy.is_empty(), "ann is busy some time");
    // The busiest week (by its Monday) shows the most.
    let mut weeks = std::collections::BTreeMap::new();
    for e in &busy {
        let d = e.start.date_naive();
        let monday = d - chrono::Duration::days(i64::from(
            chrono::Datelike::weekday(&d).num_days_from_monday(),
        ));
        *weeks.entry(monday).or_insert(0) += 1;
    }
    let week = weeks
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(d, _)| d.to_string())
        .unwrap();
    let o = Scenario::new(engine, "availability", &ic.env.base(), "ann@demo", "pw")
        .arg("week", &week)
        .run()
        .await;
    let sources = o.results[0]["sources"].as_array().unwrap();
    assert!(!sources.is_empty());
    let named: Vec<String> = busy
        .iter()
        .flat_map(|e| e.sources.iter())
        .filter_map(|s| s.summary.clone())
        .collect();
    let shown = sources[0].as_str().unwrap();
    assert!(
        named.iter().any(|n| shown.contains(n.as_str())),
        "{shown} names none of {named:?}"
    );
}

async fn issue_11_browser_feed_rotate_old_url_is_404(engine: Engine) {
    let env = TestEnv::start().await;
    let o = Scenario::new(engine, "feed", &env.base(), "demo", "demo")
        .run()
        .await;
    let (old, new) = (
        o.results[0]["old"].as_str().unwrap(),
        o.results[0]["new"].as_str().unwrap(),
    );
    let path = |u: &str| u[env.base().len()..].to_string();
    assert_eq!(env.anonymous().get(&path(old)).await.status.as_u16(), 404);
    assert_eq!(env.anonymous().get(&path(new)).await.status.as_u16(), 200);
}

async fn issue_11_browser_admin_traffic_entry_live_rows_and_har(engine: Engine) {
    let ic = Icloud::start(true).await;
    admin_ok(
        &ic.env,
        Request::Admin(AdminCommand::Add {
            name: UserId::new("root").unwrap(),
            password: WirePassword::new(&Secret::new("root-password".into())),
        }),
    )
    .await;
    let app = ic.env.app.clone();
    let sync: Trigger = Box::pin(async move {
        let r = calproxy::admin::execute(&app, Request::Sync(Default::default())).await;
        assert!(r.ok, "{}", r.output);
    });
    let o = Scenario::new(engine, "traffic", &ic.env.base(), "root", "root-password")
        .on_ready(sync)
        .run()
        .await;
    assert!(
        o.shots.iter().any(|s| s == "traffic_entry"),
        "{:?}",
        o.shots
    );
    let har = std::fs::read_to_string(o.results[0]["har"].as_str().unwrap()).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&har).unwrap();
    calproxy::traffic::har::validate(&doc).unwrap();
    assert!(doc["log"]["entries"].as_array().unwrap().len() >= 3);
    assert!(!har.contains(icloud::PASSWORD));
}

async fn issue_13_browser_working_hours_and_busy_rules(engine: Engine) {
    let env = TestEnv::start().await;
    icloud::add_user(&env, "demo", "ann");
    Scenario::new(engine, "settings", &env.base(), "ann@demo", "pw")
        .arg("zone", "Europe/Berlin")
        .run()
        .await;
    let (t, u) = (TenantId::new("demo").unwrap(), UserId::new("ann").unwrap());
    let s = env.app.store.user_settings(&t, &u).unwrap();
    let hours = s.hours.as_ref().expect("working hours");
    assert_eq!(hours.weekly_text(), "Mon-Fri 09:00-12:00,13:00-17:00");
    assert_eq!(hours.exception_lines().len(), 2);
    assert!(s.feed_outside_hours_busy);
    assert_eq!(
        env.app.store.user(&t, &u).unwrap().unwrap().timezone,
        "Europe/Berlin"
    );
    assert_eq!(s.rules.all_day, AllDay::FreeUnlessOpaque);
    assert_eq!(s.rules.tentative, Tentative::Free);
    assert!(!s.rules.travel);
    // The refused minutes (empty, letters) never reached `configure`.
    assert_eq!((s.buffers.before, s.buffers.after), (600, 300));
}

async fn issue_13_browser_add_ics_feed(engine: Engine) {
    let env = TestEnv::start().await;
    icloud::add_user(&env, "demo", "ann");
    let server = FeedServer::start().await;
    // A path shaped like a secret feed address: it must never be shown.
    let path = "/calendar/ical/private-0a1b2c3d4e5f60718293a4b5c6d7e8f9/basic.ics";
    server.serve_ics(
        path,
        &feed(
            "Holidays",
            "",
            &[("h1@feed.test", "20270310T100000Z", "20270310T110000Z")],
        ),
    );
    Scenario::new(engine, "add_feed", &env.base(), "ann@demo", "pw")
        .arg("feed-url", &server.url(path))
        .run()
        .await;
    let id = ConnectionId::new("team-holidays").unwrap();
    assert!(env.app.store.connection(&id).unwrap().is_some());
}

async fn issue_13_browser_confirm_held_deletions(engine: Engine) {
    let b = crate::safe_sync::Big::start().await;
    b.sim.faults().empty_listing("big", true);
    b.sim.invalidate_sync_tokens();
    assert!(b.sync(false).await.contains("held: 100"));
    Scenario::new(engine, "confirm_deletions", &b.env.base(), "ann@demo", "pw")
        .run()
        .await;
    assert_eq!(b.copies().await, 0);
    assert_eq!(
        b.health(),
        calproxy::admin::overview::Health::Ok,
        "confirmed in the browser"
    );
}
