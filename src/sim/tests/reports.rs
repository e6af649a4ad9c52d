//! calendar-query, multiget, sync-collection, free-busy (ICLOUD.md §3).

use super::*;

#[tokio::test]
async fn icloud_calendar_query_needs_vevent_filter() {
    let e = env().await;
    let ms = e.report(&e.cal("home"), "1", &query("")).await.ms();
    assert!(ms.responses.is_empty());
}

#[tokio::test]
async fn icloud_calendar_query_returns_unexpanded_master() {
    let e = env().await;
    // Weekly review starts 2026-10-20; a window a year later still hits it.
    let f = "<c:comp-filter name=\"VEVENT\"><c:time-range start=\"20271201T000000Z\" \
             end=\"20271215T000000Z\"/></c:comp-filter>";
    let ms = e.report(&e.cal("work"), "1", &query(f)).await.ms();
    let r = ms
        .responses
        .iter()
        .find(|r| r.href.as_str().ends_with("weekly-review.ics"))
        .expect("recurring master returned");
    let data = r.prop_text(&QName::caldav("calendar-data")).expect("data");
    assert!(data.contains("RRULE:FREQ=WEEKLY"));
    assert!(!hrefs(&ms)
        .iter()
        .any(|h| h.ends_with("company-holiday.ics")));
}

#[tokio::test]
async fn icloud_calendar_query_has_collection_self_row() {
    let e = env().await;
    let f = "<c:comp-filter name=\"VEVENT\"/>";
    let a = e.report(&e.cal("home"), "1", &query(f)).await;
    assert!(a.body.contains("<![CDATA[BEGIN:VCALENDAR"));
    let ms = a.ms();
    let own = &ms.responses[0];
    assert_eq!(own.href.as_str(), e.cal("home"));
    assert!(own.prop_text(&QName::dav("getetag")).is_some());
    assert!(own.prop(&QName::caldav("calendar-data")).is_none());
}

#[tokio::test]
async fn icloud_vtodo_query_is_500() {
    let e = env().await;
    let a = e
        .report(
            &e.cal("tasks"),
            "1",
            &query("<c:comp-filter name=\"VTODO\"/>"),
        )
        .await;
    assert_eq!(a.status, 500);
}

#[tokio::test]
async fn icloud_subscribed_calendar_query_is_empty() {
    let e = env().await;
    let ms = e
        .report(
            &e.cal("9F8E7D6C-5B4A-4392-8170-6F5E4D3C2B1A"),
            "1",
            &query("<c:comp-filter name=\"VEVENT\"/>"),
        )
        .await
        .ms();
    assert!(ms.responses.is_empty());
}

#[tokio::test]
async fn icloud_free_busy_query_is_400_empty() {
    let e = env().await;
    let body = format!(
        "{PROLOG}<c:free-busy-query xmlns:c=\"urn:ietf:params:xml:ns:caldav\">\
         <c:time-range start=\"20261201T000000Z\" end=\"20261202T000000Z\"/></c:free-busy-query>"
    );
    let a = e.report(&e.cal("home"), "1", &body).await;
    assert_eq!(a.status, 400);
    assert!(a.body.is_empty());
}

#[tokio::test]
async fn icloud_multiget_unknown_href_is_404_row() {
    let e = env().await;
    let hs = vec![e.obj("home", "dentist.ics"), e.obj("home", "ghost.ics")];
    let ms = e.report(&e.cal("home"), "1", &multiget(&hs)).await.ms();
    assert!(ms.responses[0]
        .prop_text(&QName::caldav("calendar-data"))
        .is_some_and(|d| d.contains("UID:demo-dentist@calproxy")));
    assert_eq!(ms.responses[1].bare_status(), Some(404));
}

#[tokio::test]
async fn icloud_multiget_404_once() {
    let e = env().await;
    let h = e.obj("home", "lunch.ics");
    e.sim.faults().multiget_404_once(&h);
    let first = e
        .report(&e.cal("home"), "1", &multiget(std::slice::from_ref(&h)))
        .await
        .ms();
    assert_eq!(first.responses[0].bare_status(), Some(404));
    let second = e.report(&e.cal("home"), "1", &multiget(&[h])).await.ms();
    assert!(second.responses[0]
        .prop_text(&QName::dav("getetag"))
        .is_some());
}

#[tokio::test]
async fn icloud_sync_initial_lists_all_members() {
    let e = env().await;
    let ms = e.sync("home", "").await.ms();
    assert_eq!(ms.responses.len(), e.sim.events("home").len());
    assert!(ms.sync_token.is_some());
}

#[tokio::test]
async fn icloud_sync_unchanged_is_token_only() {
    let e = env().await;
    let t = e.sync("home", "").await.ms().sync_token.expect("token");
    let ms = e.sync("home", t.as_str()).await.ms();
    assert!(ms.responses.is_empty());
    assert_eq!(ms.sync_token, Some(t));
}

#[tokio::test]
async fn icloud_sync_deletion_rows_are_404() {
    let e = env().await;
    let t = e.sync("home", "").await.ms().sync_token.expect("token");
    assert!(e.sim.delete_event("home", "lunch.ics"));
    e.sim.upsert_event("home", "new.ics", &with_end("new-1"));
    let a = e.sync("home", t.as_str()).await;
    assert!(a.body.contains("<status>HTTP/1.1 404 Not Found</status>"));
    let ms = a.ms();
    assert_eq!(ms.responses[0].href.as_str(), e.cal("home"));
    let deleted = ms
        .responses
        .iter()
        .find(|r| r.href.as_str().ends_with("lunch.ics"))
        .expect("deletion row");
    assert_eq!(deleted.bare_status(), Some(404));
    assert!(hrefs(&ms).iter().any(|h| h.ends_with("new.ics")));
}

#[tokio::test]
async fn icloud_sync_accepts_depth_zero() {
    let e = env().await;
    let body = format!(
        "{PROLOG}<sync-collection xmlns=\"DAV:\"><sync-token/><sync-level>1</sync-level>\
         <prop><getetag/></prop></sync-collection>"
    );
    let ms = e.report(&e.cal("work"), "0", &body).await.ms();
    assert!(!ms.responses.is_empty());
}

#[tokio::test]
async fn icloud_sync_invalid_token_is_403_valid_sync_token() {
    let e = env().await;
    let t = e.sync("home", "").await.ms().sync_token.expect("token");
    e.sim.invalidate_sync_tokens();
    let a = e.sync("home", t.as_str()).await;
    assert_eq!(a.status, 403);
    assert!(a
        .body
        .contains("<error xmlns='DAV:'><valid-sync-token/></error>"));
}

#[tokio::test]
async fn icloud_sync_invalid_token_bare_403_mode() {
    let e = env().await;
    e.sim.faults().invalid_token_mode(TokenMode::Bare403);
    let a = e.sync("home", "bm90LWEtdG9rZW4=").await;
    assert_eq!(a.status, 403);
    assert!(a.body.is_empty());
}

#[tokio::test]
async fn icloud_sync_invalid_token_full_listing_mode() {
    let e = env().await;
    e.sim.faults().invalid_token_mode(TokenMode::FullListing);
    let ms = e.sync("home", "bm90LWEtdG9rZW4=").await.ms();
    assert_eq!(ms.responses.len(), e.sim.events("home").len());
    assert!(ms.sync_token.is_some());
}

#[tokio::test]
async fn icloud_sync_duplicate_rows() {
    let e = env().await;
    let t = e.sync("work", "").await.ms().sync_token.expect("token");
    e.sim.touch_etag("work", "weekly-review.ics");
    e.sim.faults().duplicate_sync_rows(true);
    let ms = e.sync("work", t.as_str()).await.ms();
    let n = hrefs(&ms)
        .iter()
        .filter(|h| h.ends_with("weekly-review.ics"))
        .count();
    assert_eq!(n, 2);
}
