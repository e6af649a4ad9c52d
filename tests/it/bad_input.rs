//! Every malformed request gets a 4xx with a DAV error body, changes
//! nothing in the store, and never panics (table-driven).

use calproxy::ids::{TenantId, UserId};
use calproxy::store::Store;

use crate::support::env::TestEnv;

struct Case {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    headers: &'static [(&'static str, &'static str)],
    body: Vec<u8>,
    status: u16,
    /// Local name of the precondition expected in the error body ("" = any error body).
    error: &'static str,
}

const P: &str = "/dav/demo/demo/primary/";
const OBJ: &str = "/dav/demo/demo/primary/bad.ics";
const XML: &[(&str, &str)] = &[("content-type", "application/xml"), ("depth", "1")];
const ICS: &[(&str, &str)] = &[("content-type", "text/calendar")];

fn ics(body: &str) -> Vec<u8> {
    body.replace('\n', "\r\n").into_bytes()
}

fn cases() -> Vec<Case> {
    let deep = format!(
        "<?xml version=\"1.0\"?><d:propfind xmlns:d=\"DAV:\">{}{}</d:propfind>",
        "<d:prop>".repeat(200),
        "</d:prop>".repeat(200)
    );
    let event = |extra: &str| {
        ics(&format!(
            "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\n{extra}END:VCALENDAR\n"
        ))
    };
    vec![
        Case { name: "malformed xml", method: "PROPFIND", path: P, headers: XML, body: b"<d:propfind xmlns:d=\"DAV:\"><d:prop>".to_vec(), status: 400, error: "" },
        Case { name: "not xml at all", method: "PROPFIND", path: P, headers: XML, body: b"hello".to_vec(), status: 400, error: "" },
        Case { name: "undeclared prefix", method: "PROPFIND", path: P, headers: XML, body: b"<?xml version=\"1.0\"?><x:propfind><x:prop/></x:propfind>".to_vec(), status: 400, error: "" },
        Case { name: "wrong root element", method: "PROPFIND", path: P, headers: XML, body: b"<?xml version=\"1.0\"?><d:foo xmlns:d=\"DAV:\"/>".to_vec(), status: 400, error: "" },
        Case { name: "non-utf8 xml", method: "PROPFIND", path: P, headers: XML, body: b"<?xml version=\"1.0\"?><d:propfind xmlns:d=\"DAV:\"><d:prop><d:displayname>\xff\xfe</d:displayname></d:prop></d:propfind>".to_vec(), status: 400, error: "" },
        Case { name: "entity expansion attempt", method: "PROPFIND", path: P, headers: XML, body: b"<?xml version=\"1.0\"?><!DOCTYPE d [<!ENTITY a \"aaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]><d:propfind xmlns:d=\"DAV:\"><d:prop><d:displayname>&b;</d:displayname></d:prop></d:propfind>".to_vec(), status: 400, error: "" },
        Case { name: "nesting 200 deep", method: "PROPFIND", path: P, headers: XML, body: deep.into_bytes(), status: 400, error: "" },
        Case { name: "unknown report", method: "REPORT", path: P, headers: XML, body: b"<?xml version=\"1.0\"?><x:whatever xmlns:x=\"urn:x\"/>".to_vec(), status: 403, error: "supported-report" },
        Case { name: "bad time-range", method: "REPORT", path: P, headers: XML, body: b"<?xml version=\"1.0\"?><c:calendar-query xmlns:d=\"DAV:\" xmlns:c=\"urn:ietf:params:xml:ns:caldav\"><d:prop><d:getetag/></d:prop><c:filter><c:comp-filter name=\"VCALENDAR\"><c:comp-filter name=\"VEVENT\"><c:time-range start=\"yesterday\" end=\"tomorrow\"/></c:comp-filter></c:comp-filter></c:filter></c:calendar-query>".to_vec(), status: 400, error: "valid-filter" },
        Case { name: "query without filter", method: "REPORT", path: P, headers: XML, body: b"<?xml version=\"1.0\"?><c:calendar-query xmlns:d=\"DAV:\" xmlns:c=\"urn:ietf:params:xml:ns:caldav\"><d:prop><d:getetag/></d:prop></c:calendar-query>".to_vec(), status: 400, error: "" },
        Case { name: "free-busy without range", method: "REPORT", path: P, headers: XML, body: b"<?xml version=\"1.0\"?><c:free-busy-query xmlns:c=\"urn:ietf:params:xml:ns:caldav\"/>".to_vec(), status: 400, error: "" },
        Case { name: "invalid sync token", method: "REPORT", path: P, headers: XML, body: b"<?xml version=\"1.0\"?><d:sync-collection xmlns:d=\"DAV:\"><d:sync-token>http://example.com/1</d:sync-token><d:sync-level>1</d:sync-level><d:prop/></d:sync-collection>".to_vec(), status: 403, error: "valid-sync-token" },
        Case { name: "proppatch empty body", method: "PROPPATCH", path: P, headers: XML, body: Vec::new(), status: 400, error: "" },
        Case { name: "bad depth header", method: "PROPFIND", path: P, headers: &[("depth", "2")], body: Vec::new(), status: 400, error: "" },
        Case { name: "broken icalendar", method: "PUT", path: OBJ, headers: ICS, body: ics("BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:x\n"), status: 403, error: "valid-calendar-data" },
        Case { name: "non-utf8 icalendar", method: "PUT", path: OBJ, headers: ICS, body: b"BEGIN:VCALENDAR\r\nSUMMARY:\xff\r\nEND:VCALENDAR\r\n".to_vec(), status: 403, error: "valid-calendar-data" },
        Case { name: "not icalendar", method: "PUT", path: OBJ, headers: ICS, body: b"{\"json\": true}".to_vec(), status: 403, error: "valid-calendar-data" },
        Case { name: "method property", method: "PUT", path: OBJ, headers: ICS, body: event("METHOD:REQUEST\nBEGIN:VEVENT\nUID:m\nDTSTAMP:20261101T000000Z\nDTSTART:20261201T100000Z\nDTEND:20261201T110000Z\nEND:VEVENT\n"), status: 403, error: "valid-calendar-object-resource" },
        Case { name: "vevent without dtstart", method: "PUT", path: OBJ, headers: ICS, body: event("BEGIN:VEVENT\nUID:m\nDTSTAMP:20261101T000000Z\nEND:VEVENT\n"), status: 403, error: "valid-calendar-object-resource" },
        Case { name: "end before start", method: "PUT", path: OBJ, headers: ICS, body: event("BEGIN:VEVENT\nUID:m\nDTSTAMP:20261101T000000Z\nDTSTART:20261201T100000Z\nDTEND:20261201T090000Z\nEND:VEVENT\n"), status: 403, error: "valid-calendar-object-resource" },
        Case { name: "two uids in one resource", method: "PUT", path: OBJ, headers: ICS, body: event("BEGIN:VEVENT\nUID:a\nDTSTAMP:20261101T000000Z\nDTSTART:20261201T100000Z\nEND:VEVENT\nBEGIN:VEVENT\nUID:b\nDTSTAMP:20261101T000000Z\nDTSTART:20261201T100000Z\nEND:VEVENT\n"), status: 403, error: "valid-calendar-object-resource" },
        Case { name: "no components", method: "PUT", path: OBJ, headers: ICS, body: event(""), status: 403, error: "valid-calendar-object-resource" },
        Case { name: "wrong content type", method: "PUT", path: OBJ, headers: &[("content-type", "application/json")], body: b"{}".to_vec(), status: 415, error: "supported-calendar-data" },
        Case { name: "body over the limit", method: "PUT", path: OBJ, headers: ICS, body: vec![b'A'; 100 * 1024], status: 413, error: "" },
        Case { name: "put into unknown calendar", method: "PUT", path: "/dav/demo/demo/nosuch/x.ics", headers: ICS, body: event(""), status: 409, error: "" },
        Case { name: "unknown path", method: "PROPFIND", path: "/nowhere/at/all", headers: XML, body: Vec::new(), status: 404, error: "" },
        Case { name: "path traversal", method: "GET", path: "/dav/demo/demo/../../etc/passwd", headers: &[], body: Vec::new(), status: 404, error: "" },
        Case { name: "put onto a collection", method: "PUT", path: P, headers: ICS, body: event(""), status: 405, error: "" },
        Case { name: "unknown method", method: "FROB", path: P, headers: &[], body: Vec::new(), status: 501, error: "" },
    ]
}

fn snapshot(store: &Store) -> Vec<String> {
    let t = TenantId::new("demo").unwrap();
    let u = UserId::new("demo").unwrap();
    let mut out = Vec::new();
    for (key, rec) in store.collections(&t, &u).unwrap() {
        out.push(format!(
            "{} {} {}",
            key.calendar,
            rec.displayname,
            Store::ctag(&rec)
        ));
        for (name, o) in store.objects(&key).unwrap() {
            out.push(format!("  {name} {}", o.etag));
        }
    }
    out
}

#[tokio::test]
async fn every_bad_input_is_a_4xx_with_dav_error_and_changes_nothing() {
    let env = TestEnv::start_with(|c| c.limits.max_body_bytes = 64 * 1024).await;
    let c = env.client();
    let before = snapshot(&env.app.store);
    let cases = cases();
    assert!(cases.len() >= 15);
    let mut failures = Vec::new();
    for case in &cases {
        let a = c
            .request(case.method, case.path, case.headers, case.body.clone())
            .await;
        let body = a.text();
        let ok_status = a.status.as_u16() == case.status;
        let ok_body = body.contains("error xmlns") || body.contains(":error");
        let ok_pre = case.error.is_empty() || body.contains(case.error);
        if !(ok_status && ok_body && ok_pre) {
            failures.push(format!(
                "{}: got {} (want {} {}), body: {body}",
                case.name, a.status, case.status, case.error
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert_eq!(
        before,
        snapshot(&env.app.store),
        "bad input changed the store"
    );
    // The server still answers.
    c.propfind(P, "0", "").await.status(207);
}
