//! Bad input table: every malformed body is a typed error, never a panic.
use crate::dav::names::QName;
use crate::dav::*;

// ------------------------------------------------------------ bad input

#[test]
fn bad_input_is_an_error_never_a_panic() {
    let deep = format!("{}{}", "<a xmlns=\"DAV:\">".repeat(200), "</a>".repeat(200));
    let q = |inner: &str| {
        format!(
            r#"<C:calendar-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">{inner}</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"#
        )
    };
    type Check = fn(&Error) -> bool;
    let cases: Vec<(&str, Vec<u8>, Check)> = vec![
        ("malformed", b"<propfind xmlns=\"DAV:\"><prop></propfind>".to_vec(), |e| matches!(e, Error::MalformedXml { .. })),
        ("unclosed", b"<propfind xmlns=\"DAV:\"><prop/>".to_vec(), |e| matches!(e, Error::UnclosedElement { .. })),
        ("undeclared prefix", b"<D:propfind><D:allprop/></D:propfind>".to_vec(), |e| matches!(e, Error::UndeclaredPrefix { .. })),
        ("undeclared attr prefix", b"<propfind xmlns=\"DAV:\" x:y=\"1\"><allprop/></propfind>".to_vec(), |e| matches!(e, Error::UndeclaredPrefix { .. })),
        ("wrong root", b"<propertyupdate xmlns=\"DAV:\"/>".to_vec(), |e| matches!(e, Error::UnexpectedElement { .. })),
        ("no namespace root", b"<propfind><allprop/></propfind>".to_vec(), |e| matches!(e, Error::UnexpectedElement { .. })),
        ("empty propfind", b"<propfind xmlns=\"DAV:\"/>".to_vec(), |e| matches!(e, Error::MissingElement { .. })),
        ("non-utf8", b"<propfind xmlns=\"DAV:\"><prop><displayname>\xff\xfe</displayname></prop></propfind>".to_vec(), |e| matches!(e, Error::NotUtf8)),
        ("doctype entity", b"<?xml version=\"1.0\"?><!DOCTYPE d [<!ENTITY x \"yyyy\">]><propfind xmlns=\"DAV:\">&x;</propfind>".to_vec(), |e| matches!(e, Error::EntityDeclaration)),
        ("unknown entity", b"<propfind xmlns=\"DAV:\"><prop>&x;</prop></propfind>".to_vec(), |e| matches!(e, Error::MalformedXml { .. })),
        ("200 deep", deep.into_bytes(), |e| matches!(e, Error::TooDeep { max: 64 })),
        ("trailing garbage", b"<propfind xmlns=\"DAV:\"><allprop/></propfind>junk".to_vec(), |e| matches!(e, Error::TrailingContent { .. })),
        ("second root", b"<propfind xmlns=\"DAV:\"><allprop/></propfind><propfind xmlns=\"DAV:\"/>".to_vec(), |e| matches!(e, Error::TrailingContent { .. })),
        ("text before root", b"hello<propfind xmlns=\"DAV:\"><allprop/></propfind>".to_vec(), |e| matches!(e, Error::MalformedXml { .. })),
        ("duplicate attribute", b"<propfind xmlns=\"DAV:\" a=\"1\" a=\"2\"><allprop/></propfind>".to_vec(), |e| matches!(e, Error::MalformedXml { .. })),
        ("not xml", b"BEGIN:VCALENDAR".to_vec(), |e| matches!(e, Error::MalformedXml { .. })),
    ];
    for (what, body, ok) in &cases {
        match parse_propfind(body) {
            Err(e) => assert!(ok(&e), "{what}: unexpected error {e:?}"),
            Ok(v) => panic!("{what}: accepted as {v:?}"),
        }
    }
    let reports: Vec<(&str, String, Check)> = vec![
        ("local time range", q(r#"<C:time-range start="20260101T000000"/>"#), |e| matches!(e, Error::InvalidTimeRange { problem: TimeRangeProblem::NotUtc })),
        ("garbage time range", q(r#"<C:time-range start="2026-01-01"/>"#), |e| matches!(e, Error::InvalidTimeRange { problem: TimeRangeProblem::Malformed })),
        ("impossible date", q(r#"<C:time-range start="20261341T000000Z"/>"#), |e| matches!(e, Error::InvalidTimeRange { problem: TimeRangeProblem::Malformed })),
        ("empty time range", q(r#"<C:time-range/>"#), |e| matches!(e, Error::InvalidTimeRange { problem: TimeRangeProblem::MissingBound })),
        ("reversed time range", q(r#"<C:time-range start="20260102T000000Z" end="20260101T000000Z"/>"#), |e| matches!(e, Error::InvalidTimeRange { problem: TimeRangeProblem::EndNotAfterStart })),
        ("prop-filter without name", q(r#"<C:prop-filter/>"#), |e| matches!(e, Error::MissingAttribute { .. })),
        ("bad negate", q(r#"<C:prop-filter name="X"><C:text-match negate-condition="maybe">a</C:text-match></C:prop-filter>"#), |e| matches!(e, Error::InvalidValue { .. })),
        ("no filter", r#"<C:calendar-query xmlns:C="urn:ietf:params:xml:ns:caldav"/>"#.into(), |e| matches!(e, Error::MissingElement { .. })),
        ("unknown report", r#"<D:expand-property xmlns:D="DAV:"/>"#.into(), |e| matches!(e, Error::UnsupportedReport { .. })),
        ("multiget without href", r#"<C:calendar-multiget xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop xmlns:D="DAV:"/></C:calendar-multiget>"#.into(), |e| matches!(e, Error::MissingElement { .. })),
        ("sync without token", r#"<sync-collection xmlns="DAV:"><prop/></sync-collection>"#.into(), |e| matches!(e, Error::MissingElement { .. })),
        ("bad sync level", r#"<sync-collection xmlns="DAV:"><sync-token/><sync-level>2</sync-level></sync-collection>"#.into(), |e| matches!(e, Error::InvalidValue { .. })),
        ("bad nresults", r#"<sync-collection xmlns="DAV:"><sync-token/><limit><nresults>-1</nresults></limit></sync-collection>"#.into(), |e| matches!(e, Error::InvalidValue { .. })),
        ("free-busy without range", r#"<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav"/>"#.into(), |e| matches!(e, Error::MissingElement { .. })),
        ("expand without end", r#"<C:calendar-query xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:D="DAV:"><D:prop><C:calendar-data><C:expand start="20260101T000000Z"/></C:calendar-data></D:prop><C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>"#.into(), |e| matches!(e, Error::InvalidTimeRange { .. })),
        ("empty report", "  ".into(), |e| matches!(e, Error::EmptyBody)),
    ];
    for (what, body, ok) in &reports {
        match parse_report(body.as_bytes()) {
            Err(e) => assert!(ok(&e), "{what}: unexpected error {e:?}"),
            Ok(v) => panic!("{what}: accepted as {v:?}"),
        }
    }
    let patches: [&[u8]; 3] = [
        b"<propertyupdate xmlns=\"DAV:\"/>",
        b"<propertyupdate xmlns=\"DAV:\"><set/></propertyupdate>",
        b"",
    ];
    for p in patches {
        assert!(parse_proppatch(p).is_err());
    }
    let statuses: [&[u8]; 4] = [
        b"<multistatus xmlns=\"DAV:\"><response><href>/a</href><status>200</status></response></multistatus>",
        b"<multistatus xmlns=\"DAV:\"><response><status>HTTP/1.1 200 OK</status></response></multistatus>",
        b"<multistatus xmlns=\"DAV:\"><response><href>/a</href></response></multistatus>",
        b"<error xmlns=\"DAV:\"/>",
    ];
    for s in statuses {
        assert!(MultiStatus::parse(s).is_err());
    }
}

#[test]
fn error_preconditions() {
    let tr = Error::InvalidTimeRange {
        problem: TimeRangeProblem::Malformed,
    };
    assert_eq!(tr.precondition(), Some(Precondition::ValidFilter));
    let ur = Error::UnsupportedReport {
        name: QName::dav("x"),
    };
    assert_eq!(ur.precondition(), Some(Precondition::SupportedReport));
    assert_eq!(Error::NotUtf8.precondition(), None);
    assert_eq!(ur.to_string(), "report {DAV:}x is not supported");
}

#[test]
fn element_limit_is_enforced() {
    let body = format!("<a xmlns=\"DAV:\">{}</a>", "<b/>".repeat(20));
    let limits = XmlLimits {
        max_depth: 8,
        max_elements: 10,
    };
    assert_eq!(
        parse_document(body.as_bytes(), &limits),
        Err(Error::TooManyElements { max: 10 })
    );
}

/// Every prefix of every fixture must parse or fail cleanly (no panic).
#[test]
fn truncated_fixtures_never_panic() {
    let mut files = Vec::new();
    for dir in [
        "dav/requests",
        "upstream/icloud",
        "upstream/radicale",
        "upstream/xandikos",
    ] {
        let path = format!("{}/fixtures/{dir}", env!("CARGO_MANIFEST_DIR"));
        for entry in std::fs::read_dir(&path).into_iter().flatten().flatten() {
            files.push(std::fs::read(entry.path()).unwrap_or_default());
        }
    }
    assert!(files.len() > 25);
    for f in &files {
        for cut in (0..f.len()).step_by(7) {
            let b = &f[..cut];
            let _ = parse_propfind(b);
            let _ = parse_proppatch(b);
            let _ = parse_report(b);
            let _ = MultiStatus::parse(b);
            let _ = precondition::Precondition::parse_error_body(b);
        }
    }
}

/// Deterministic byte mutations of every fixture: parse or fail, never panic.
#[test]
fn mutated_fixtures_never_panic() {
    const ALPHABET: &[u8] = b"<>&;\"'/:=! x\xff\x00]?-";
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (seed >> 33) as usize
    };
    for dir in [
        "dav/requests",
        "upstream/icloud",
        "upstream/radicale",
        "upstream/xandikos",
    ] {
        let path = format!("{}/fixtures/{dir}", env!("CARGO_MANIFEST_DIR"));
        for entry in std::fs::read_dir(&path).into_iter().flatten().flatten() {
            let orig = std::fs::read(entry.path()).unwrap_or_default();
            if orig.is_empty() {
                continue;
            }
            for _ in 0..150 {
                let mut b = orig.clone();
                for _ in 0..(1 + next() % 3) {
                    let i = next() % b.len();
                    b[i] = ALPHABET[next() % ALPHABET.len()];
                }
                let _ = parse_propfind(&b);
                let _ = parse_proppatch(&b);
                let _ = parse_report(&b);
                let _ = MultiStatus::parse(&b);
            }
        }
    }
}
