//! Unit tests of `sim::quirks`.
use super::*;
use crate::dav::report::TimeRangeFilter;

fn cf(name: &str, children: Vec<CompFilter>) -> CompFilter {
    CompFilter {
        name: name.into(),
        is_not_defined: false,
        time_range: None,
        comp_filters: children,
        prop_filters: vec![],
    }
}

#[test]
fn icloud_401_challenges_basic_first() {
    let r = unauthorized_two_challenges();
    assert_eq!(r.status, 401);
    assert!(r.body.is_empty());
    let ch: Vec<_> = r
        .headers
        .iter()
        .filter(|(n, _)| *n == "www-authenticate")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(
        ch,
        vec![
            "Basic realm=\"MMCalDav\"",
            "X-MobileMe-AuthToken realm=\"MMCalDav\""
        ]
    );
}

#[test]
fn icloud_calendar_query_verdicts() {
    let mut ev = cf("VEVENT", vec![]);
    ev.time_range = Some(TimeRangeFilter {
        start: None,
        end: None,
    });
    assert_eq!(
        calendar_query_verdict(&cf("VCALENDAR", vec![ev.clone()])),
        QueryVerdict::Run(ev.clone())
    );
    assert_eq!(
        calendar_query_verdict(&cf("VCALENDAR", vec![])),
        QueryVerdict::Empty
    );
    assert_eq!(
        calendar_query_verdict(&cf("VCALENDAR", vec![cf("VTODO", vec![])])),
        QueryVerdict::ServerError
    );
    assert_eq!(
        calendar_query_verdict(&cf("VCALENDAR", vec![ev, cf("VTODO", vec![])])),
        QueryVerdict::Empty
    );
}

#[test]
fn icloud_sync_token_equals_ctag_and_round_trips() {
    let t = sync_token_for("home", 3, 17);
    assert!(t.len() >= 40, "base64-looking, long: {t}");
    assert_eq!(parse_sync_token("home", 3, &t), Some(17));
    assert_eq!(parse_sync_token("work", 3, &t), None);
    assert_eq!(parse_sync_token("home", 4, &t), None);
    assert_eq!(parse_sync_token("home", 3, "garbage"), None);
}

#[test]
fn icloud_etag_is_base36_millis() {
    // ICLOUD.md §4: m3zrp1qg decodes to 2024-11-27T10:53:11.560Z.
    assert_eq!(etag_from_millis(1_732_704_791_560), "m3zrp1qg");
}

#[test]
fn icloud_vevent_without_dtend_or_duration() {
    let no_end = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260101T100000Z\r\nBEGIN:VALARM\r\nDURATION:PT1H\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    assert!(vevent_without_end(no_end));
    let with_end = no_end.replace("UID:a\r\n", "UID:a\r\nDTEND:20260101T110000Z\r\n");
    assert!(!vevent_without_end(&with_end));
    let with_dur = no_end.replace("UID:a\r\n", "UID:a\r\nDURATION:PT1H\r\n");
    assert!(!vevent_without_end(&with_dur));
}

#[test]
fn icloud_method_property_detected_at_calendar_level_only() {
    assert!(has_method_property(
        "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"
    ));
    assert!(!has_method_property(
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nX-METHOD:1\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ));
}

#[test]
fn icloud_duplicate_dtstamp_adds_second_line_per_vevent() {
    let ics = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTAMP:20260101T000000Z\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nDTSTAMP:20260101T000000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let out = duplicate_dtstamp(ics, "20270101T000000Z");
    assert_eq!(out.matches("DTSTAMP:").count(), 4);
    assert_eq!(out.matches("DTSTAMP:20270101T000000Z").count(), 2);
}

#[test]
fn icloud_uid_conflict_only_for_other_resources() {
    let holders = vec![("work".to_string(), "a.ics".to_string())];
    assert!(uid_conflict(&holders, "home", "a.ics"));
    assert!(!uid_conflict(&holders, "work", "a.ics"));
}

#[test]
fn icloud_component_types_per_collection() {
    use crate::ical::ComponentKind as C;
    assert!(component_not_allowed(Kind::Events, C::Todo));
    assert!(!component_not_allowed(Kind::Events, C::Event));
    assert!(component_not_allowed(Kind::Tasks, C::Event));
    assert!(component_not_allowed(Kind::Subscribed, C::Event));
}

#[test]
fn icloud_full_privileges_in_order() {
    let p: Vec<_> = privilege_set(Kind::Events, false)
        .into_iter()
        .map(|(_, l)| l)
        .collect();
    assert_eq!(
        p,
        vec![
            "read",
            "read-free-busy",
            "read-current-user-privilege-set",
            "write",
            "write-properties",
            "write-content",
            "bind",
            "unbind"
        ]
    );
    assert_eq!(privilege_set(Kind::Events, true).len(), 3);
}

#[test]
fn icloud_bad_paths_and_bodies() {
    assert!(path_has_empty_segment("//"));
    assert!(!path_has_empty_segment("/1/calendars/"));
    assert!(root_depth_one_rejected(Some("1")));
    assert!(!root_depth_one_rejected(Some("0")));
    assert!(xml_body_has_leading_junk(b"  <?xml version=\"1.0\"?>"));
    assert!(!xml_body_has_leading_junk(b"<?xml version=\"1.0\"?>"));
    let r = bad_request_html();
    assert!(r
        .headers
        .iter()
        .any(|(n, v)| *n == "connection" && v == "close"));
}

#[test]
fn icloud_home_set_is_full_partition_url() {
    assert_eq!(
        calendar_home_set_url("http://127.0.0.1:9", "42"),
        "http://127.0.0.1:9/42/calendars/"
    );
}

#[test]
fn icloud_sync_rows_repeat() {
    assert_eq!(
        repeat_sync_rows(vec!["a".into()], true),
        vec!["a".to_string(), "a".to_string()]
    );
}
