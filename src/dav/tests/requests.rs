//! RFC 4791 §7.8–§7.10, RFC 6578 §3.8–§3.10 and RFC 4918 §9.1–§9.2 request examples.
use chrono::{TimeZone, Utc};

use super::*;
use crate::dav::names::{self, QName};
use crate::dav::report::*;
use crate::dav::*;
use crate::ids::{Href, SyncToken};

// ------------------------------------------------------------ RFC 4791 §7.8

#[test]
fn rfc4791_7_8_1_time_range_query() {
    let q = query("calendar-query-001.xml");
    assert_eq!(q.props, etag_and_data());
    assert_eq!(
        q.filter,
        vcal(CompFilter {
            time_range: range(utc(2006, 1, 4, 0), utc(2006, 1, 5, 0)),
            ..comp("VEVENT")
        })
    );
    let comps = q.data.and_then(|d| d.comps).unwrap_or_default();
    assert_eq!(comps.name, "VCALENDAR");
    assert!(!comps.all_props && !comps.all_comps);
    assert_eq!(comps.props.len(), 1);
    let names: Vec<&str> = comps.comps.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["VEVENT", "VTIMEZONE"]);
    assert_eq!(comps.comps[0].props.len(), 10);
    assert_eq!(comps.comps[0].props[9].name, "RECURRENCE-ID");
    assert!(comps.comps[1].all_props && comps.comps[1].all_comps);
    assert_eq!(q.timezone, None);
}

#[test]
fn rfc4791_7_8_2_limit_recurrence_set() {
    let q = query("calendar-query-002.xml");
    assert_eq!(q.props, PropRequest::Prop(vec![names::CALENDAR_DATA]));
    assert_eq!(
        q.data,
        Some(CalendarDataRequest {
            limit_recurrence_set: Some((utc(2006, 1, 3, 0), utc(2006, 1, 5, 0))),
            ..CalendarDataRequest::default()
        })
    );
}

#[test]
fn rfc4791_7_8_3_expand() {
    let q = query("calendar-query-003.xml");
    assert_eq!(
        q.data.and_then(|d| d.expand),
        Some((utc(2006, 1, 3, 0), utc(2006, 1, 5, 0)))
    );
    assert_eq!(q.filter.comp_filters[0].name, "VEVENT");
}

#[test]
fn rfc4791_7_8_4_limit_freebusy_set() {
    let q = query("calendar-query-004.xml");
    assert_eq!(
        q.data.and_then(|d| d.limit_freebusy_set),
        Some((utc(2006, 1, 2, 0), utc(2006, 1, 3, 0)))
    );
    assert_eq!(q.filter.comp_filters[0].name, "VFREEBUSY");
}

#[test]
fn rfc4791_7_8_5_alarm_time_range() {
    let q = query("calendar-query-005.xml");
    assert_eq!(q.props, etag_and_data());
    assert_eq!(q.data, Some(CalendarDataRequest::default()));
    assert_eq!(
        q.filter,
        vcal(CompFilter {
            comp_filters: vec![CompFilter {
                time_range: range(utc(2006, 1, 6, 10), utc(2006, 1, 7, 10)),
                ..comp("VALARM")
            }],
            ..comp("VTODO")
        })
    );
}

#[test]
fn rfc4791_7_8_6_uid_text_match() {
    let q = query("calendar-query-006.xml");
    assert_eq!(
        q.filter,
        vcal(CompFilter {
            prop_filters: vec![PropFilter {
                name: "UID".into(),
                text_match: text_match("DC6C50A017428C5216A2F1CD@example.com", "i;octet", false),
                ..PropFilter::default()
            }],
            ..comp("VEVENT")
        })
    );
}

#[test]
fn rfc4791_7_8_7_partstat_param_filter() {
    let q = query("calendar-query-007.xml");
    assert_eq!(
        q.filter,
        vcal(CompFilter {
            prop_filters: vec![PropFilter {
                name: "ATTENDEE".into(),
                text_match: text_match("mailto:lisa@example.com", "i;ascii-casemap", false),
                param_filters: vec![ParamFilter {
                    name: "PARTSTAT".into(),
                    is_not_defined: false,
                    text_match: text_match("NEEDS-ACTION", "i;ascii-casemap", false),
                }],
                ..PropFilter::default()
            }],
            ..comp("VEVENT")
        })
    );
}

#[test]
fn rfc4791_7_8_8_events_only() {
    let q = query("calendar-query-008.xml");
    assert_eq!(q.filter, vcal(comp("VEVENT")));
}

#[test]
fn rfc4791_7_8_9_pending_todos() {
    let q = query("calendar-query-009.xml");
    assert_eq!(
        q.filter,
        vcal(CompFilter {
            prop_filters: vec![
                PropFilter {
                    name: "COMPLETED".into(),
                    is_not_defined: true,
                    ..PropFilter::default()
                },
                PropFilter {
                    name: "STATUS".into(),
                    text_match: text_match("CANCELLED", "i;ascii-casemap", true),
                    ..PropFilter::default()
                },
            ],
            ..comp("VTODO")
        })
    );
}

#[test]
fn rfc4791_7_9_1_multiget() {
    assert_eq!(
        parse_report(&req("calendar-multiget-001.xml")),
        Ok(Report::CalendarMultiget(CalendarMultiget {
            props: etag_and_data(),
            data: Some(CalendarDataRequest::default()),
            hrefs: vec![
                Href::new("/bernard/work/abcd1.ics"),
                Href::new("/bernard/work/mtg1.ics")
            ],
        }))
    );
}

#[test]
fn rfc4791_7_10_1_free_busy_query() {
    let want = TimeRangeFilter {
        start: Some(
            Utc.with_ymd_and_hms(2006, 1, 4, 14, 0, 0)
                .single()
                .unwrap_or_default(),
        ),
        end: Some(
            Utc.with_ymd_and_hms(2006, 1, 5, 22, 0, 0)
                .single()
                .unwrap_or_default(),
        ),
    };
    assert_eq!(
        parse_report(&req("free-busy-query-001.xml")),
        Ok(Report::FreeBusyQuery(FreeBusyQuery { range: want }))
    );
}

#[test]
fn rfc4791_9_9_open_ended_time_range() {
    let body = br#"<C:calendar-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20260101T000000Z"/></C:comp-filter></C:comp-filter></C:filter><C:timezone>BEGIN:VCALENDAR</C:timezone></C:calendar-query>"#;
    let Ok(Report::CalendarQuery(q)) = parse_report(body) else {
        panic!("not a query")
    };
    assert_eq!(
        q.filter.comp_filters[0].time_range,
        Some(TimeRangeFilter {
            start: Some(utc(2026, 1, 1, 0)),
            end: None
        })
    );
    assert_eq!(q.props, PropRequest::Prop(vec![]));
    assert_eq!(q.timezone.as_deref(), Some("BEGIN:VCALENDAR"));
}

#[test]
fn rfc6352_10_5_4_match_type_attribute() {
    let body = br#"<C:calendar-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:filter><C:comp-filter name="VCALENDAR"><C:prop-filter name="SUMMARY"><C:text-match match-type="starts-with">Lunch</C:text-match></C:prop-filter></C:comp-filter></C:filter></C:calendar-query>"#;
    let Ok(Report::CalendarQuery(q)) = parse_report(body) else {
        panic!("not a query")
    };
    assert_eq!(
        q.filter.prop_filters[0]
            .text_match
            .as_ref()
            .map(|t| t.match_type),
        Some(MatchType::StartsWith)
    );
}

// ------------------------------------------------------------ RFC 6578

#[test]
fn rfc6578_3_8_initial_sync() {
    assert_eq!(
        parse_report(&req("sync-collection-001.xml")),
        Ok(Report::SyncCollection(SyncCollection {
            token: None,
            level: SyncLevel::One,
            props: PropRequest::Prop(vec![
                names::GETETAG,
                QName::new("urn:ns.example.com:boxschema", "bigbox")
            ]),
            limit: None,
        }))
    );
}

#[test]
fn rfc6578_3_9_sync_with_token() {
    let Ok(Report::SyncCollection(s)) = parse_report(&req("sync-collection-002.xml")) else {
        panic!("not a sync-collection")
    };
    assert_eq!(
        s.token,
        Some(SyncToken::new("http://example.com/ns/sync/1234"))
    );
}

#[test]
fn rfc6578_3_10_sync_with_limit() {
    let Ok(Report::SyncCollection(s)) = parse_report(&req("sync-collection-003.xml")) else {
        panic!("not a sync-collection")
    };
    assert_eq!(s.limit, Some(100));
    assert_eq!(s.props, PropRequest::Prop(vec![names::GETETAG]));
    let inf = br#"<sync-collection xmlns="DAV:"><sync-token/><sync-level>infinite</sync-level><prop/></sync-collection>"#;
    assert!(matches!(
        parse_report(inf),
        Ok(Report::SyncCollection(SyncCollection {
            level: SyncLevel::Infinite,
            ..
        }))
    ));
}

// ------------------------------------------------------------ RFC 4918 §9.1/§9.2

#[test]
fn rfc4918_9_1_3_prop() {
    let ns = "http://ns.example.com/boxschema/";
    assert_eq!(
        parse_propfind(&req("propfind-001.xml")),
        Ok(PropFind::Prop(vec![
            QName::new(ns, "bigbox"),
            QName::new(ns, "author"),
            QName::new(ns, "DingALing"),
            QName::new(ns, "Random"),
        ]))
    );
}

#[test]
fn rfc4918_9_1_4_propname() {
    assert_eq!(
        parse_propfind(&req("propfind-002.xml")),
        Ok(PropFind::PropName)
    );
}

#[test]
fn rfc4918_9_1_allprop() {
    assert_eq!(
        parse_propfind(&req("propfind-003.xml")),
        Ok(PropFind::AllProp { include: vec![] })
    );
    assert_eq!(
        parse_propfind(b" \r\n"),
        Ok(PropFind::AllProp { include: vec![] })
    );
    assert_eq!(
        parse_propfind(b""),
        Ok(PropFind::AllProp { include: vec![] })
    );
}

#[test]
fn rfc4918_9_1_7_allprop_include() {
    assert_eq!(
        parse_propfind(&req("propfind-004.xml")),
        Ok(PropFind::AllProp {
            include: vec![
                QName::dav("supported-live-property-set"),
                names::SUPPORTED_REPORT_SET
            ]
        })
    );
}

#[test]
fn icloud_2_home_propfind_with_odd_prefixes() {
    assert_eq!(
        parse_propfind(&req("propfind-005.xml")),
        Ok(PropFind::Prop(vec![
            names::DISPLAYNAME,
            names::RESOURCETYPE,
            names::SUPPORTED_CALENDAR_COMPONENT_SET,
            names::GETCTAG,
            names::CALENDAR_COLOR,
            names::CURRENT_USER_PRIVILEGE_SET,
            names::SYNC_TOKEN,
        ]))
    );
}

#[test]
fn rfc4918_9_2_2_proppatch_set_and_remove() {
    let z = "http://ns.example.com/standards/z39.50/";
    let ops = parse_proppatch(&req("proppatch-001.xml"));
    let Ok(ops) = ops else { panic!("{ops:?}") };
    assert_eq!(ops.len(), 2);
    let PropPatchOp::Set { name, value } = &ops[0] else {
        panic!("{ops:?}")
    };
    assert_eq!(name, &QName::new(z, "Authors"));
    let authors: Vec<&str> = value.children.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(authors, ["Jim Whitehead", "Roy Fielding"]);
    assert_eq!(
        ops[1],
        PropPatchOp::Remove {
            name: QName::new(z, "Copyright-Owner")
        }
    );
}

#[test]
fn rfc4918_9_2_proppatch_keeps_document_order() {
    let ops = parse_proppatch(&req("proppatch-002.xml")).unwrap_or_default();
    let got: Vec<(bool, QName)> = ops
        .iter()
        .map(|o| (matches!(o, PropPatchOp::Set { .. }), o.name().clone()))
        .collect();
    assert_eq!(
        got,
        [
            (true, names::DISPLAYNAME),
            (true, names::CALENDAR_COLOR),
            (false, names::CALENDAR_DESCRIPTION),
            (true, names::CALENDAR_ORDER),
        ]
    );
    let PropPatchOp::Set { value, .. } = &ops[1] else {
        panic!("{ops:?}")
    };
    assert_eq!(value.attr("symbolic-color"), Some("custom"));
    assert_eq!(value.text, "#FF2968FF");
}
