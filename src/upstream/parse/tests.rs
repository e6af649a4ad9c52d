//! Parser tests on captured-shape bodies from three servers
//! (`fixtures/upstream/{icloud,radicale,xandikos}`), each with its own
//! namespace-prefix style.

use super::*;

fn bytes(path: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/upstream")
        .join(path);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn fixture(path: &str) -> MultiStatus {
    MultiStatus::parse(&bytes(path)).unwrap()
}

/// A listing body read as rows (what the sync does with listings).
fn rows_of(body: &[u8]) -> rows::Listing {
    rows::read(body, &crate::dav::XmlLimits::upstream()).unwrap()
}

#[test]
fn icloud_home_listing_skips_home_outbox_and_keeps_calendars() {
    let ms = fixture("icloud/01-home-listing.xml");
    let cals = calendars(
        &ms,
        &Href::new("https://p42-caldav.icloud.com:443/1234567890/calendars/"),
    );
    let ids: Vec<&str> = cals.iter().map(RemoteCalendar::segment).collect();
    assert!(
        ids.contains(&"2A3B7E1C-0D7F-4C5A-9E5E-6B1A7F0C9D21"),
        "{ids:?}"
    );
    assert!(
        !ids.contains(&"outbox") && !ids.contains(&"calendars"),
        "{ids:?}"
    );
    let family = cals.iter().find(|c| c.displayname == "Family").unwrap();
    assert_eq!(family.kind, CalendarKind::Events);
    assert!(family.shared);
    assert!(family
        .ctag
        .as_deref()
        .unwrap_or_default()
        .starts_with("HwoQ"));
    assert_eq!(family.color.as_deref(), Some("#1E4C63FF"));
}

#[test]
fn icloud_sync_collection_skips_self_row_and_reads_deletions() {
    let l = rows_of(&bytes("icloud/02-sync-collection.xml"));
    let d = sync_delta(&l, &Href::new("/1234567890/calendars/home/"));
    assert!(d.token.is_some());
    assert!(
        d.present.iter().all(|(h, _)| h.as_str().ends_with(".ics")),
        "{d:?}"
    );
    assert_eq!(d.present.len() + d.deleted.len(), 2, "{d:?}");
}

#[test]
fn icloud_principal_reads_current_user_principal() {
    let ms = fixture("icloud/04-principal.xml");
    let p = principal(&ms).or_else(|_| home_set(&ms));
    assert!(p.is_ok(), "{ms:?}");
}

#[test]
fn radicale_listing_and_multiget_with_a_404() {
    let ms = fixture("radicale/01-calendar-listing.xml");
    let cals = calendars(&ms, &Href::new("/jane/"));
    assert_eq!(cals.len(), 1);
    assert_eq!(cals[0].displayname, "Work");
    assert!(!cals[0].read_only);
    let ms = fixture("radicale/02-calendar-multiget.xml");
    let MultigetAnswer { found, missing } = multiget(&ms, &Href::new("/jane/work/"));
    assert_eq!(found.len(), 1);
    assert!(String::from_utf8_lossy(&found[0].data).starts_with("BEGIN:VCALENDAR"));
    assert_eq!(missing, vec![Href::new("/jane/work/missing.ics")]);
}

#[test]
fn xandikos_sync_collection_with_ns0_prefixes() {
    let l = rows_of(&bytes("xandikos/01-sync-collection.xml"));
    let d = sync_delta(&l, &Href::new("/jane/calendars/calendar/"));
    assert_eq!(d.present.len(), 1);
    assert_eq!(
        d.deleted,
        vec![Href::new("/jane/calendars/calendar/a2.ics")]
    );
    assert_eq!(
        d.token.unwrap().as_str(),
        "d41d8cd98f00b204e9800998ecf8427e"
    );
}

#[test]
fn icloud_duplicate_sync_rows_are_deduplicated() {
    let body = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<multistatus xmlns="DAV:">
<response xmlns="DAV:"><href>/1/calendars/home/</href><propstat><prop><getetag>"c"</getetag></prop><status>HTTP/1.1 200 OK</status></propstat></response>
<response xmlns="DAV:"><href>/1/calendars/home/a.ics</href><propstat><prop><getetag>"1"</getetag></prop><status>HTTP/1.1 200 OK</status></propstat></response>
<response xmlns="DAV:"><href>/1/calendars/home/a.ics</href><propstat><prop><getetag>"2"</getetag></prop><status>HTTP/1.1 200 OK</status></propstat></response>
<sync-token xmlns="DAV:">tok</sync-token></multistatus>"#;
    let d = sync_delta(&rows_of(body.as_bytes()), &Href::new("/1/calendars/home/"));
    assert_eq!(
        d.present,
        vec![(Href::new("/1/calendars/home/a.ics"), ETag::new("2"))]
    );
}

#[test]
fn icloud_none_text_is_treated_as_empty() {
    let body = r#"<?xml version="1.0"?><multistatus xmlns="DAV:"><response><href>/1/calendars/x/</href><propstat><prop><displayname>None</displayname><resourcetype><collection/><calendar xmlns="urn:ietf:params:xml:ns:caldav"/></resourcetype></prop><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>"#;
    let ms = MultiStatus::parse(body.as_bytes()).unwrap();
    let cals = calendars(&ms, &Href::new("/1/calendars/"));
    assert_eq!(cals[0].displayname, "");
}

/// Found by the `upstream` fuzz target: a row with an empty href (which
/// resolves to the request URL, the collection itself) was listed as a
/// member, so every sync asked for `<d:href></d:href>` in a multiget that
/// a strict server refuses, and the calendar never completed.
#[test]
fn a_row_with_an_empty_href_is_not_a_member() {
    let body = br#"<?xml version="1.0"?><d:multistatus xmlns:d="DAV:">
<d:response><d:href/><d:propstat><d:prop><d:getetag>"c"</d:getetag></d:prop>
<d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
<d:response><d:href>/1/calendars/home/a.ics</d:href><d:propstat><d:prop><d:getetag>"a"</d:getetag></d:prop>
<d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
<d:sync-token>t1</d:sync-token></d:multistatus>"#;
    let d = sync_delta(&rows_of(body), &Href::new("/1/calendars/home/"));
    let hrefs: Vec<&str> = d.present.iter().map(|(h, _)| h.as_str()).collect();
    assert_eq!(hrefs, vec!["/1/calendars/home/a.ics"]);
}
