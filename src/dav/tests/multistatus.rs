//! Multistatus writer round trips and readers for three upstream styles.
use super::*;
use crate::dav::names::{self, QName};
use crate::dav::*;
use crate::ids::{Href, SyncToken};

// ------------------------------------------------------------ multistatus writer

fn sample() -> MultiStatus {
    let x = QName::new("urn:example:dead", "note");
    MultiStatus {
        responses: vec![
            Response {
                href: Href::new("/u/cal/"),
                body: ResponseBody::PropStats(vec![
                    PropStat {
                        status: 200,
                        props: vec![
                            Property::new(
                                names::DISPLAYNAME,
                                PropValue::Text("Work & <Play>".into()),
                            ),
                            Property::new(
                                names::RESOURCETYPE,
                                PropValue::ResourceType(vec![names::COLLECTION, names::CALENDAR]),
                            ),
                            Property::new(
                                names::CURRENT_USER_PRIVILEGE_SET,
                                PropValue::Privileges(vec![names::READ, names::READ_FREE_BUSY]),
                            ),
                            Property::new(
                                names::SUPPORTED_CALENDAR_COMPONENT_SET,
                                PropValue::CompSet(vec!["VEVENT".into()]),
                            ),
                            Property::new(
                                names::SUPPORTED_REPORT_SET,
                                PropValue::ReportSet(vec![
                                    names::CALENDAR_QUERY,
                                    names::SYNC_COLLECTION,
                                ]),
                            ),
                            Property::new(
                                names::CALENDAR_HOME_SET,
                                PropValue::Hrefs(vec![Href::new("/u/")]),
                            ),
                            Property::new(names::GETCTAG, PropValue::Text("ctag-1".into())),
                            Property::new(
                                names::CALENDAR_COLOR,
                                PropValue::Text("#FF0000FF".into()),
                            ),
                            Property::new(
                                x.clone(),
                                PropValue::Xml(vec![xml::Element::new(QName::new(
                                    "urn:example:dead",
                                    "v",
                                ))
                                .with_attr("k", "1")
                                .with_text("hi")]),
                            ),
                        ],
                    },
                    PropStat {
                        status: 404,
                        props: vec![Property::new(names::CALENDAR_TIMEZONE, PropValue::Empty)],
                    },
                ]),
            },
            Response::props(
                Href::new("/u/cal/a%20b.ics"),
                200,
                vec![
                    Property::new(names::GETETAG, PropValue::Text("\"e1\"".into())),
                    Property::new(
                        names::CALENDAR_DATA,
                        PropValue::CalendarData("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n".into()),
                    ),
                ],
            ),
            Response::status(Href::new("/u/cal/gone.ics"), 404),
            Response {
                href: Href::new("/u/cal/locked.ics"),
                body: ResponseBody::Status {
                    status: 403,
                    error: Some(Precondition::NeedPrivileges {
                        href: Href::new("/u/cal/locked.ics"),
                        privilege: names::WRITE,
                    }),
                },
            },
        ],
        sync_token: Some(SyncToken::new("urn:calproxy:sync:42")),
    }
}

#[test]
fn rfc4918_14_16_multistatus_round_trip() {
    let ms = sample();
    let bytes = ms.to_xml();
    assert_eq!(MultiStatus::parse(&bytes), Ok(ms));
    let text = String::from_utf8(bytes).unwrap_or_default();
    assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"));
    assert!(text.contains("<d:status>HTTP/1.1 404 Not Found</d:status>"));
    assert!(text.contains("BEGIN:VCALENDAR&#13;\nEND:VCALENDAR&#13;\n"));
    assert!(text.contains("<cal:comp name=\"VEVENT\"/>"));
}

#[test]
fn rfc6578_3_6_empty_delta_is_only_a_token() {
    let ms = MultiStatus {
        responses: vec![],
        sync_token: Some(SyncToken::new("t")),
    };
    assert_eq!(MultiStatus::parse(&ms.to_xml()), Ok(ms));
}

// ------------------------------------------------------------ upstream readers

fn upstream(rel: &str) -> MultiStatus {
    let r = MultiStatus::parse(&fixture(&format!("upstream/{rel}")));
    r.unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn icloud_2_2_home_listing_with_404_propstat() {
    let ms = upstream("icloud/01-home-listing.xml");
    assert_eq!(ms.responses.len(), 3);
    let home = &ms.responses[0];
    assert_eq!(home.prop_text(&names::DISPLAYNAME), Some("Jane Appleseed"));
    assert_eq!(
        home.prop(&names::SUPPORTED_CALENDAR_COMPONENT_SET),
        Some(&PropValue::CompSet(vec![
            "VEVENT".into(),
            "VTODO".into(),
            "VFREEBUSY".into()
        ]))
    );
    assert_eq!(
        home.prop(&names::CURRENT_USER_PRIVILEGE_SET),
        Some(&PropValue::Privileges(vec![
            names::READ,
            names::READ_FREE_BUSY,
            names::READ_CURRENT_USER_PRIVILEGE_SET,
            names::WRITE,
            names::WRITE_PROPERTIES,
            names::WRITE_CONTENT,
            names::BIND,
            names::UNBIND,
        ]))
    );
    // The 404 propstat is kept apart and never shadows a 200 value.
    assert_eq!(home.prop(&names::CALENDAR_COLOR), None);
    let cal = &ms.responses[1];
    assert_eq!(
        cal.prop(&names::RESOURCETYPE),
        Some(&PropValue::ResourceType(vec![
            names::COLLECTION,
            names::CALENDAR,
            names::CS_SHARED_OWNER
        ]))
    );
    assert_eq!(cal.prop_text(&names::CALENDAR_COLOR), Some("#1E4C63FF"));
    // Two 200 propstats merge into one.
    let ResponseBody::PropStats(ps) = &cal.body else {
        panic!("no propstats")
    };
    assert_eq!(ps.len(), 1);
    assert_eq!(
        cal.prop(&names::CURRENT_USER_PRIVILEGE_SET),
        Some(&PropValue::Privileges(vec![names::READ]))
    );
    let outbox = &ms.responses[2];
    assert_eq!(outbox.prop(&names::GETCTAG), None);
    let ResponseBody::PropStats(ps) = &outbox.body else {
        panic!("no propstats")
    };
    assert_eq!(ps[1].status, 404);
    assert!(ps[1].props.iter().all(|p| p.value == PropValue::Empty));
}

#[test]
fn icloud_3_3_sync_collection_self_row_and_deletion() {
    let ms = upstream("icloud/02-sync-collection.xml");
    assert_eq!(ms.responses.len(), 3);
    assert_eq!(ms.responses[0].href.as_str(), "/1234567890/calendars/home/");
    assert_eq!(
        ms.responses[1].prop_text(&names::GETETAG),
        Some("\"mg3a1k2w\"")
    );
    assert_eq!(ms.responses[2].bare_status(), Some(404));
    assert!(ms
        .sync_token
        .is_some_and(|t| t.as_str().starts_with("HwoQ")));
}

#[test]
fn icloud_7_4_calendar_query_cdata() {
    let ms = upstream("icloud/03-calendar-query.xml");
    assert_eq!(ms.responses[0].prop(&names::CALENDAR_DATA), None);
    let data = ms.responses[1]
        .prop_text(&names::CALENDAR_DATA)
        .unwrap_or_default();
    assert!(data.starts_with("BEGIN:VCALENDAR\n"));
    assert!(data.contains("SUMMARY:Dentist & <checkup>\n"));
    assert!(data.ends_with("END:VCALENDAR\n"));
}

#[test]
fn icloud_7_2_principal_hrefs() {
    let ms = upstream("icloud/04-principal.xml");
    let r = &ms.responses[0];
    assert_eq!(
        r.prop(&names::CALENDAR_HOME_SET),
        Some(&PropValue::Hrefs(vec![Href::new(
            "https://p42-caldav.icloud.com:443/1234567890/calendars/"
        )]))
    );
    assert_eq!(
        r.prop(&names::CURRENT_USER_PRINCIPAL),
        Some(&PropValue::Hrefs(vec![Href::new("/1234567890/principal/")]))
    );
    let Some(PropValue::Xml(addrs)) = r.prop(&names::CALENDAR_USER_ADDRESS_SET) else {
        panic!("address set")
    };
    let preferred = addrs.iter().find(|h| h.attr("preferred") == Some("1"));
    assert_eq!(
        preferred.map(|h| h.text.as_str()),
        Some("mailto:jane@example.com")
    );
}

#[test]
fn radicale_calendar_listing() {
    let ms = upstream("radicale/01-calendar-listing.xml");
    assert_eq!(ms.responses.len(), 2);
    assert_eq!(ms.responses[0].prop(&names::GETCTAG), None);
    let work = &ms.responses[1];
    assert_eq!(
        work.prop_text(&names::GETCTAG),
        Some("\"3c1b7d0a5c5b0e8f2d6c9a1e4b7f0a2d\"")
    );
    assert_eq!(
        work.prop(&names::SUPPORTED_REPORT_SET),
        Some(&PropValue::ReportSet(vec![
            QName::dav("expand-property"),
            QName::dav("principal-search-property-set"),
            names::SYNC_COLLECTION,
            names::CALENDAR_MULTIGET,
            names::CALENDAR_QUERY,
        ]))
    );
    assert_eq!(
        work.prop(&names::RESOURCETYPE),
        Some(&PropValue::ResourceType(vec![
            names::CALENDAR,
            names::COLLECTION
        ]))
    );
    assert!(work.prop_text(&names::SYNC_TOKEN).is_some());
}

#[test]
fn radicale_multiget_keeps_crlf() {
    let ms = upstream("radicale/02-calendar-multiget.xml");
    let data = ms.responses[0]
        .prop_text(&names::CALENDAR_DATA)
        .unwrap_or_default();
    assert!(data.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
    assert_eq!(ms.responses[1].bare_status(), Some(404));
}

#[test]
fn xandikos_sync_collection() {
    let ms = upstream("xandikos/01-sync-collection.xml");
    assert_eq!(
        ms.responses[0].prop_text(&names::GETETAG),
        Some("\"c2f5e4a1b3d6\"")
    );
    assert_eq!(ms.responses[1].bare_status(), Some(404));
    assert_eq!(
        ms.sync_token,
        Some(SyncToken::new("d41d8cd98f00b204e9800998ecf8427e"))
    );
}

#[test]
fn xandikos_home_listing() {
    let ms = upstream("xandikos/02-home-listing.xml");
    let r = &ms.responses[0];
    assert_eq!(r.prop_text(&names::CALENDAR_ORDER), Some("1"));
    assert_eq!(
        r.prop(&names::CALENDAR_HOME_SET),
        Some(&PropValue::Hrefs(vec![Href::new("/jane/calendars/")]))
    );
    assert_eq!(
        r.prop(&names::SCHEDULE_CALENDAR_TRANSP),
        Some(&PropValue::Xml(vec![xml::Element::new(names::OPAQUE)]))
    );
    assert_eq!(r.prop(&names::CALENDAR_COLOR), None);
}
