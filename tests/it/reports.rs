//! REPORTs: calendar-query (RFC 4791 §7.8), calendar-multiget (§7.9),
//! sync-collection (RFC 6578), free-busy-query (§7.10).

use crate::support::env::TestEnv;
use crate::support::ics;

const P: &str = "/dav/demo/demo/primary/";

fn query(range: Option<(&str, &str)>, extra_filter: &str) -> String {
    let tr = range
        .map(|(s, e)| format!(r#"<c:time-range start="{s}" end="{e}"/>"#))
        .unwrap_or_default();
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop><d:getetag/><c:calendar-data/></d:prop>
  <c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT">{tr}{extra_filter}</c:comp-filter></c:comp-filter></c:filter>
</c:calendar-query>"#
    )
}

#[tokio::test]
async fn rfc4791_7_8_1_time_range_finds_weekly_event_in_a_later_week() {
    let env = TestEnv::start().await;
    // Team stand-up: weekly Mon/Wed/Fri from 2026-11-02; ask about a week in March 2027.
    let a = env
        .client()
        .report(
            P,
            "1",
            &query(Some(("20270301T000000Z", "20270306T000000Z")), ""),
        )
        .await
        .status(207);
    let hrefs = a.hrefs();
    assert_eq!(hrefs, vec![format!("{P}team-standup.ics")], "{}", a.text());
    assert!(a.text().contains("RRULE:FREQ=WEEKLY"));
}

#[tokio::test]
async fn rfc4791_7_8_time_range_excludes_events_outside() {
    let env = TestEnv::start().await;
    // Saturday: no stand-up, no dentist, no lunch.
    let a = env
        .client()
        .report(
            P,
            "1",
            &query(Some(("20261205T000000Z", "20261206T000000Z")), ""),
        )
        .await
        .status(207);
    assert!(a.hrefs().is_empty(), "{}", a.text());
}

#[tokio::test]
async fn rfc4791_7_8_6_text_match_on_summary() {
    let env = TestEnv::start().await;
    let f = r#"<c:prop-filter name="SUMMARY"><c:text-match>dentist</c:text-match></c:prop-filter>"#;
    let a = env
        .client()
        .report(P, "1", &query(None, f))
        .await
        .status(207);
    assert_eq!(a.hrefs(), vec![format!("{P}dentist.ics")]);
}

#[tokio::test]
async fn calendar_query_without_range_lists_all_events() {
    let env = TestEnv::start().await;
    let a = env
        .client()
        .report(P, "1", &query(None, ""))
        .await
        .status(207);
    assert_eq!(a.hrefs().len(), 3, "{}", a.text());
}

#[tokio::test]
async fn rfc4791_7_9_multiget_returns_found_and_404_for_missing() {
    let env = TestEnv::start().await;
    let body = format!(
        r#"<?xml version="1.0"?><c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/><c:calendar-data/></d:prop><d:href>{P}dentist.ics</d:href><d:href>{P}missing.ics</d:href></c:calendar-multiget>"#
    );
    let a = env.client().report(P, "1", &body).await.status(207);
    let t = a.text();
    assert!(t.contains("SUMMARY:Dentist"), "{t}");
    assert!(t.contains("missing.ics") && t.contains("404"), "{t}");
}

fn sync_body(token: &str) -> String {
    format!(
        r#"<?xml version="1.0"?><d:sync-collection xmlns:d="DAV:"><d:sync-token>{token}</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"#
    )
}

#[tokio::test]
async fn rfc6578_sync_collection_reports_changes_and_deletions() {
    let env = TestEnv::start().await;
    let c = env.client();
    let first = c
        .report(P, "0", &sync_body(""))
        .await
        .status(207)
        .multistatus();
    assert_eq!(first.responses.len(), 3);
    let t1 = first.sync_token.expect("token").to_string();

    // Nothing changed: empty delta, same token.
    let same = c
        .report(P, "0", &sync_body(&t1))
        .await
        .status(207)
        .multistatus();
    assert!(same.responses.is_empty());

    c.put(
        &format!("{P}new.ics"),
        &ics::event("new", "20261210T100000Z", "20261210T110000Z", "n"),
        &[],
    )
    .await
    .status(201);
    c.delete(&format!("{P}lunch.ics"), &[]).await.status(204);
    let delta = c
        .report(P, "0", &sync_body(&t1))
        .await
        .status(207)
        .multistatus();
    let mut rows: Vec<(String, Option<u16>)> = delta
        .responses
        .iter()
        .map(|r| (r.href.to_string(), r.bare_status()))
        .collect();
    rows.sort();
    assert_eq!(
        rows,
        vec![
            (format!("{P}lunch.ics"), Some(404)),
            (format!("{P}new.ics"), None),
        ]
    );
    assert_ne!(delta.sync_token.expect("token").to_string(), t1);
}

#[tokio::test]
async fn rfc6578_3_2_invalid_token_is_403_valid_sync_token() {
    let env = TestEnv::start().await;
    for bad in [
        "urn:x-calproxy:sync:1-1",
        "garbage",
        "urn:x-calproxy:sync:0-999999",
    ] {
        env.client()
            .report(P, "0", &sync_body(bad))
            .await
            .status(403)
            .dav_error("valid-sync-token");
    }
}

const FB: &str = r#"<?xml version="1.0"?><c:free-busy-query xmlns:c="urn:ietf:params:xml:ns:caldav"><c:time-range start="20261130T000000Z" end="20261202T000000Z"/></c:free-busy-query>"#;

#[tokio::test]
async fn rfc4791_7_10_free_busy_query_on_availability_merges_sources() {
    let env = TestEnv::start().await;
    let a = env
        .client()
        .report("/dav/demo/demo/availability/", "1", FB)
        .await
        .status(200);
    let t = a.text();
    assert!(t.contains("BEGIN:VFREEBUSY"), "{t}");
    // Mon 30 Nov: stand-up 09:30 Berlin = 08:30Z; Tue 1 Dec: weekly review 15:00 New York = 20:00Z.
    assert!(
        t.contains("FREEBUSY;FBTYPE=BUSY:20261130T083000Z/20261130T084500Z"),
        "{t}"
    );
    assert!(t.contains("20261201T200000Z/20261201T210000Z"), "{t}");
    // R4: the all-day FREE holiday and the cancelled offsite leave time open.
    assert!(!t.contains("20261130T000000Z/20261201T000000Z"), "{t}");
    assert!(!t.contains("20261201T090000Z"), "{t}");
}

#[tokio::test]
async fn r9_availability_collection_holds_busy_events_and_follows_writes() {
    let env = TestEnv::start().await;
    let c = env.client();
    let before = c
        .propfind("/dav/demo/demo/availability/", "1", "")
        .await
        .status(207)
        .hrefs()
        .len();
    c.put(
        "/dav/demo/demo/blocked/b.ics",
        &ics::event("blk", "20261209T070000Z", "20261209T080000Z", "Blocked"),
        &[],
    )
    .await
    .status(201);
    let after = c
        .propfind("/dav/demo/demo/availability/", "1", "")
        .await
        .status(207);
    assert_eq!(after.hrefs().len(), before + 1);
    let q = query(Some(("20261209T000000Z", "20261210T000000Z")), "");
    let a = c
        .report("/dav/demo/demo/availability/", "1", &q)
        .await
        .status(207);
    let t = a.text();
    assert!(
        t.contains("DTSTART:20261209T070000Z") && t.contains("SUMMARY:Busy"),
        "{t}"
    );
}

fn expand_query(start: &str, end: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop><d:getetag/><c:calendar-data><c:expand start="{start}" end="{end}"/></c:calendar-data></d:prop>
  <c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"><c:time-range start="{start}" end="{end}"/></c:comp-filter></c:comp-filter></c:filter>
</c:calendar-query>"#
    )
}

#[tokio::test]
async fn rfc4791_9_6_5_expand_returns_instances_with_utc_recurrence_ids() {
    let env = TestEnv::start().await;
    // Stand-up 09:30 Europe/Berlin (CET in March) on Mon/Wed/Fri: three instances.
    let a = env
        .client()
        .report(
            P,
            "1",
            &expand_query("20270301T000000Z", "20270306T000000Z"),
        )
        .await
        .status(207);
    let data = a.text().replace("\r\n ", "");
    assert_eq!(data.matches("BEGIN:VEVENT").count(), 3, "{data}");
    assert!(!data.contains("RRULE"), "{data}");
    assert!(!data.contains("VTIMEZONE"), "{data}");
    for day in ["01", "03", "05"] {
        assert!(
            data.contains(&format!("RECURRENCE-ID:202703{day}T083000Z")),
            "{data}"
        );
        assert!(
            data.contains(&format!("DTSTART:202703{day}T083000Z")),
            "{data}"
        );
    }
}

#[tokio::test]
async fn rfc4791_9_6_5_expand_replaces_an_overridden_instance() {
    let env = TestEnv::start().await;
    let ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n\
        BEGIN:VEVENT\r\nUID:exp-1\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20270112T120000Z\r\n\
        DTEND:20270112T130000Z\r\nRRULE:FREQ=MONTHLY\r\nSUMMARY:monthly\r\nEND:VEVENT\r\n\
        BEGIN:VEVENT\r\nUID:exp-1\r\nDTSTAMP:20260101T000000Z\r\nRECURRENCE-ID:20270212T120000Z\r\n\
        DTSTART:20270213T120000Z\r\nDTEND:20270213T130000Z\r\nSUMMARY:moved\r\nEND:VEVENT\r\n\
        END:VCALENDAR\r\n";
    let b = "/dav/demo/demo/blocked/";
    env.client()
        .put(&format!("{b}exp-1.ics"), ics, &[])
        .await
        .status(201);
    let a = env
        .client()
        .report(
            b,
            "1",
            &expand_query("20270201T000000Z", "20270401T000000Z"),
        )
        .await
        .status(207);
    let data = a.text().replace("\r\n ", "");
    assert_eq!(data.matches("BEGIN:VEVENT").count(), 2, "{data}");
    assert!(data.contains("DTSTART:20270213T120000Z"), "{data}");
    assert!(data.contains("RECURRENCE-ID:20270212T120000Z"), "{data}");
    assert!(!data.contains("DTSTART:20270212T120000Z"), "{data}");
    assert!(data.contains("RECURRENCE-ID:20270312T120000Z"), "{data}");
}

/// Found by fuzzing (`recurrence` target): an RDATE before DTSTART is an
/// instance (expansion and free-busy count it), so the time index that
/// selects a calendar-query's candidates must reach back to it too.
#[tokio::test]
async fn rfc4791_7_8_time_range_finds_an_rdate_before_dtstart() {
    let env = TestEnv::start().await;
    let ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n\
        BEGIN:VEVENT\r\nUID:rdate-early\r\nDTSTAMP:20260101T000000Z\r\n\
        DTSTART:20270301T090000Z\r\nDTEND:20270301T100000Z\r\n\
        RDATE:20270104T090000Z\r\nSUMMARY:early\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let b = "/dav/demo/demo/blocked/";
    env.client()
        .put(&format!("{b}rdate-early.ics"), ics, &[])
        .await
        .status(201);
    let a = env
        .client()
        .report(
            b,
            "1",
            &query(Some(("20270104T000000Z", "20270105T000000Z")), ""),
        )
        .await
        .status(207);
    assert_eq!(
        a.hrefs(),
        vec![format!("{b}rdate-early.ics")],
        "{}",
        a.text()
    );
}
