//! Issue 13 in the web console: the Working hours and Busy rules cards of
//! the Calendar configuration panel, their forms (saved as `configure`
//! with settings only), refused values shown with the reason, and the
//! pages valid HTML (html5lib, strict).

use std::time::Duration;

use calproxy::ical::{AllDay, Tentative};
use calproxy::ids::{TenantId, UserId};
use calproxy::secret::Secret;
use tokio::process::Command;

use crate::support::console::Browser;
use crate::support::env::TestEnv;
use crate::support::peers;

const PASSWORD: &str = "ann-password";

async fn ann(env: &TestEnv) -> Browser {
    calproxy::accounts::add_user(
        &env.app.store,
        &TenantId::new("demo").unwrap(),
        &UserId::new("ann").unwrap(),
        &Secret::new(PASSWORD.into()),
    )
    .unwrap();
    Browser::signed_in(&env.base(), "ann@demo", PASSWORD).await
}

/// The page parses without a single html5lib error.
async fn valid_html(page: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("page.html");
    std::fs::write(&file, page).unwrap();
    let mut cmd = Command::new(peers::venv_tool("python"));
    cmd.arg("-c")
        .arg(
            "import sys, html5lib\n\
             html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(open(sys.argv[1], encoding='utf-8').read())",
        )
        .arg(&file);
    let out = peers::run(cmd, Duration::from_secs(60)).await;
    assert!(
        out.status.success(),
        "not valid HTML\n{}\n{page}",
        peers::show(&out)
    );
}

#[tokio::test]
async fn issue_13_console_sets_working_hours_and_busy_rules() {
    let env = TestEnv::start().await;
    let mut b = ann(&env).await;
    let page = b.get("/calendars").await.text();
    assert!(
        page.contains("Working hours") && page.contains("Busy rules"),
        "{page}"
    );
    assert!(
        page.contains("None: free slots may be offered at any hour (UTC)"),
        "{page}"
    );
    assert!(page.contains("Apple travel time before and after events is busy"));
    valid_html(&page).await;
    let form = b.get("/calendars?edit=hours").await.text();
    assert!(form.contains("name=\"hours\"") && form.contains("name=\"exceptions\""));
    valid_html(&form).await;
    let a = b
        .submit(
            "/calendars",
            &[
                ("section", "hours"),
                ("timezone", "Europe/Berlin"),
                ("hours", "Mon-Fri 09:00-12:00, 13:00-17:00"),
                ("exceptions", "2027-12-24 off\r\n2027-12-27 10:00-14:00\r\n"),
                ("feed_outside_hours", "busy"),
            ],
        )
        .await;
    let page = a.text();
    assert_eq!(a.status.as_u16(), 200);
    assert!(page.contains("outcome ok"), "{page}");
    assert!(
        page.contains("Mon-Fri 09:00-12:00,13:00-17:00 (Europe/Berlin)"),
        "{page}"
    );
    assert!(page.contains("Except 2027-12-27 10:00-14:00"), "{page}");
    valid_html(&page).await;
    let (t, u) = (TenantId::new("demo").unwrap(), UserId::new("ann").unwrap());
    let s = env.app.store.user_settings(&t, &u).unwrap();
    assert!(s.feed_outside_hours_busy);
    assert_eq!(s.hours.as_ref().unwrap().exception_lines().len(), 2);
    assert_eq!(
        env.app.store.user(&t, &u).unwrap().unwrap().timezone,
        "Europe/Berlin"
    );
    // A value configure refuses is shown with the reason; nothing changes.
    let a = b
        .submit(
            "/calendars",
            &[
                ("section", "hours"),
                ("timezone", "Europe/Berlin"),
                ("hours", "Weekdays 9 to 5"),
            ],
        )
        .await;
    let page = a.text();
    assert!(
        page.contains("outcome fail") && page.contains("is not a day"),
        "{page}"
    );
    assert_eq!(env.app.store.user_settings(&t, &u).unwrap(), s);
    // Busy rules.
    let form = b.get("/calendars?edit=rules").await.text();
    valid_html(&form).await;
    let a = b
        .submit(
            "/calendars",
            &[
                ("section", "rules"),
                ("all_day", "free-unless-opaque"),
                ("tentative", "free"),
                ("buffer_before", "10"),
                ("buffer_after", "5"),
            ],
        )
        .await;
    let page = a.text();
    assert!(page.contains("outcome ok"), "{page}");
    assert!(page.contains("Apple travel time is ignored"), "{page}");
    assert!(
        page.contains("10 minutes before and 5 minutes after every busy block"),
        "{page}"
    );
    let s = env.app.store.user_settings(&t, &u).unwrap();
    assert_eq!(s.rules.all_day, AllDay::FreeUnlessOpaque);
    assert_eq!(s.rules.tentative, Tentative::Free);
    assert!(!s.rules.travel);
    assert_eq!((s.buffers.before, s.buffers.after), (600, 300));
    // The hours were left alone by the rules form.
    assert!(s.feed_outside_hours_busy && s.hours.is_some());
    // Clearing the weekly hours removes them.
    let a = b
        .submit(
            "/calendars",
            &[("section", "hours"), ("timezone", "UTC"), ("hours", "")],
        )
        .await;
    assert!(a.text().contains("outcome ok"), "{}", a.text());
    assert!(env.app.store.user_settings(&t, &u).unwrap().hours.is_none());
}
