//! Issue 13 #7: the sync window (`[sync] past_days`, `future_days`;
//! `serve --past-days/--future-days`). `availability/` advertises it
//! (RFC 4791 `C:min-date-time`, `C:max-date-time`) and refuses a time
//! range that reaches outside it with that precondition instead of a
//! silently empty answer; free-busy-query still answers outside it.

use calproxy::config::AvailabilityWindow;
use chrono::{Duration, Utc};

use crate::support::env::TestEnv;
use crate::support::ics;
use crate::support::process;

fn utc(t: chrono::DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

fn query(start: &str, end: &str) -> String {
    format!(
        r#"<?xml version="1.0"?><c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/></d:prop><c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"><c:time-range start="{start}" end="{end}"/></c:comp-filter></c:comp-filter></c:filter></c:calendar-query>"#
    )
}

async fn short_window() -> (TestEnv, AvailabilityWindow) {
    let window = AvailabilityWindow::checked(7, 30).unwrap();
    let w = window.clone();
    let env = TestEnv::start_with(move |c| c.availability = w).await;
    (env, window)
}

#[tokio::test]
async fn issue_13_availability_advertises_the_sync_window() {
    let (env, window) = short_window().await;
    let (start, end) = window.materialised_at(Utc::now());
    let body = r#"<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><c:min-date-time/><c:max-date-time/></d:prop></d:propfind>"#;
    let text = env
        .client()
        .propfind("/dav/demo/demo/availability/", "0", body)
        .await
        .status(207)
        .text();
    assert!(
        text.contains(&utc(start)) && text.contains(&utc(end)),
        "{text}"
    );
    // Other collections answer any range, so they advertise no limit.
    let text = env
        .client()
        .propfind("/dav/demo/demo/blocked/", "0", body)
        .await
        .status(207)
        .text();
    assert!(!text.contains(&utc(start)), "{text}");
}

#[tokio::test]
async fn issue_13_a_query_outside_the_sync_window_says_so() {
    let (env, window) = short_window().await;
    let (start, end) = window.materialised_at(Utc::now());
    let c = env.client();
    let path = "/dav/demo/demo/availability/";
    // Inside: answered.
    c.report(
        path,
        "1",
        &query(
            &utc(start + Duration::days(1)),
            &utc(end - Duration::days(1)),
        ),
    )
    .await
    .status(207);
    // Reaching past its end: C:max-date-time, not an empty multistatus.
    let far = end + Duration::days(60);
    c.report(path, "1", &query(&utc(end - Duration::days(1)), &utc(far)))
        .await
        .status(403)
        .dav_error("max-date-time");
    // Starting before it: C:min-date-time.
    c.report(
        path,
        "1",
        &query(
            &utc(start - Duration::days(3)),
            &utc(start + Duration::days(1)),
        ),
    )
    .await
    .status(403)
    .dav_error("min-date-time");
}

#[tokio::test]
async fn issue_13_free_busy_outside_the_sync_window_is_still_answered() {
    let (env, window) = short_window().await;
    let (_, end) = window.materialised_at(Utc::now());
    let day = end + Duration::days(60);
    let (s, e) = (day, day + Duration::hours(1));
    let c = env.client();
    c.put(
        "/dav/demo/demo/blocked/far.ics",
        &ics::event("far", &utc(s), &utc(e), "far"),
        &[],
    )
    .await
    .status(201);
    let fb = format!(
        r#"<?xml version="1.0"?><c:free-busy-query xmlns:c="urn:ietf:params:xml:ns:caldav"><c:time-range start="{}" end="{}"/></c:free-busy-query>"#,
        utc(day - Duration::days(1)),
        utc(day + Duration::days(1))
    );
    let text = c
        .report("/dav/demo/demo/availability/", "1", &fb)
        .await
        .status(200)
        .text();
    assert!(
        text.contains(&format!("FBTYPE=BUSY:{}/{}", utc(s), utc(e))),
        "{text}"
    );
}

#[tokio::test]
async fn issue_13_serve_refuses_a_bad_window_or_configuration_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let (ok, out) = process::cli(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data",
            data,
            "--future-days",
            "0",
        ],
        "",
        &[],
    )
    .await;
    assert!(!ok && out.contains("future_days"), "{out}");
    let file = dir.path().join("calproxy.toml");
    std::fs::write(&file, "[sync]\npast_dayz = 3\n").unwrap();
    let (ok, out) = process::cli(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data",
            data,
            "--config",
            file.to_str().unwrap(),
        ],
        "",
        &[],
    )
    .await;
    assert!(!ok && out.contains("past_dayz"), "{out}");
}
