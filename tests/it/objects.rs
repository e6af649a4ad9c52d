//! PUT/GET/DELETE of calendar objects with ETags and preconditions (RFC 4791 §5.3.2, RFC 4918 §9.7).

use crate::support::env::TestEnv;
use crate::support::ics;

const P: &str = "/dav/demo/demo/primary";

#[tokio::test]
async fn rfc4791_5_3_2_put_creates_then_get_returns_bytes_and_etag() {
    let env = TestEnv::start().await;
    let c = env.client();
    let body = ics::event("new-1", "20261210T100000Z", "20261210T110000Z", "Planning");
    let put = c
        .put(&format!("{P}/new-1.ics"), &body, &[("if-none-match", "*")])
        .await
        .status(201);
    let etag = put.etag();
    let get = c.get(&format!("{P}/new-1.ics")).await.status(200);
    assert_eq!(get.etag(), etag);
    assert_eq!(get.text(), body);
    assert!(get
        .header("content-type")
        .unwrap_or_default()
        .starts_with("text/calendar"));
    // HEAD: same headers, no body.
    let head = c
        .request("HEAD", &format!("{P}/new-1.ics"), &[], "")
        .await
        .status(200);
    assert_eq!(head.etag(), etag);
    assert!(head.body.is_empty());
}

#[tokio::test]
async fn rfc4918_if_match_updates_and_stale_etag_is_412() {
    let env = TestEnv::start().await;
    let c = env.client();
    let path = format!("{P}/upd.ics");
    let e1 = c
        .put(
            &path,
            &ics::event("upd", "20261210T100000Z", "20261210T110000Z", "v1"),
            &[],
        )
        .await
        .status(201)
        .etag();
    let e2 = c
        .put(
            &path,
            &ics::event("upd", "20261210T100000Z", "20261210T120000Z", "v2"),
            &[("if-match", &e1)],
        )
        .await
        .status(204)
        .etag();
    assert_ne!(e1, e2);
    c.put(
        &path,
        &ics::event("upd", "20261210T100000Z", "20261210T130000Z", "v3"),
        &[("if-match", &e1)],
    )
    .await
    .status(412);
    assert!(c.get(&path).await.status(200).text().contains("SUMMARY:v2"));
}

#[tokio::test]
async fn rfc4918_if_none_match_star_on_existing_is_412() {
    let env = TestEnv::start().await;
    let c = env.client();
    let path = format!("{P}/inm.ics");
    let body = ics::event("inm", "20261210T100000Z", "20261210T110000Z", "x");
    c.put(&path, &body, &[("if-none-match", "*")])
        .await
        .status(201);
    c.put(&path, &body, &[("if-none-match", "*")])
        .await
        .status(412);
}

#[tokio::test]
async fn rfc4791_5_3_2_1_uid_conflict_is_refused() {
    let env = TestEnv::start().await;
    let c = env.client();
    let body = ics::event("same-uid", "20261210T100000Z", "20261210T110000Z", "x");
    c.put(&format!("{P}/a.ics"), &body, &[]).await.status(201);
    c.put(&format!("{P}/b.ics"), &body, &[])
        .await
        .status(403)
        .dav_error("no-uid-conflict");
    c.get(&format!("{P}/b.ics")).await.status(404);
}

#[tokio::test]
async fn delete_removes_and_stale_if_match_is_412() {
    let env = TestEnv::start().await;
    let c = env.client();
    let path = format!("{P}/del.ics");
    let e = c
        .put(
            &path,
            &ics::event("del", "20261210T100000Z", "20261210T110000Z", "x"),
            &[],
        )
        .await
        .status(201)
        .etag();
    c.delete(&path, &[("if-match", "\"nope\"")])
        .await
        .status(412);
    c.delete(&path, &[("if-match", &e)]).await.status(204);
    c.get(&path).await.status(404);
    c.delete(&path, &[]).await.status(404);
}

#[tokio::test]
async fn blocked_collection_is_writable_and_local() {
    let env = TestEnv::start().await;
    let c = env.client();
    let path = "/dav/demo/demo/blocked/focus.ics";
    c.put(
        path,
        &ics::event("focus", "20261211T080000Z", "20261211T120000Z", "Focus"),
        &[],
    )
    .await
    .status(201);
    c.get(path).await.status(200);
}

#[tokio::test]
async fn vtodo_is_refused_as_unsupported_component() {
    let env = TestEnv::start().await;
    let todo = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VTODO\r\nUID:todo-1\r\nDTSTAMP:20261101T000000Z\r\nSUMMARY:t\r\nEND:VTODO\r\nEND:VCALENDAR\r\n";
    env.client()
        .put(&format!("{P}/todo.ics"), todo, &[])
        .await
        .status(403)
        .dav_error("supported-calendar-component");
}

fn zoned(uid: &str, tzid: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20261101T000000Z\r\nDTSTART;TZID={tzid}:20261214T093000\r\nDTEND;TZID={tzid}:20261214T100000\r\nSUMMARY:zoned\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

/// Issue 12 #12: RFC 5545 §3.2.19 — a TZID without its VTIMEZONE is
/// completed from the time-zone database (IANA or Windows names, Outlook's
/// display names, which the parameter quotes and TEXT escapes); the 201
/// then carries no ETag (RFC 4791 §5.3.4: the stored bytes differ from the
/// body); an unknown TZID is refused.
#[tokio::test]
async fn issue_12_a_missing_vtimezone_is_added_and_an_unknown_tzid_refused() {
    let env = TestEnv::start().await;
    let c = env.client();
    for (name, tzid, defined) in [
        ("berlin.ics", "Europe/Berlin", "TZID:Europe/Berlin"),
        (
            "windows.ics",
            "W. Europe Standard Time",
            "TZID:W. Europe Standard Time",
        ),
        (
            "outlook.ics",
            "\"(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna\"",
            "TZID:(UTC+01:00) Amsterdam\\, Berlin\\, Bern\\, Rome\\, Stockholm\\, Vienna\r\nX-LIC-LOCATION:Europe/Berlin",
        ),
    ] {
        let path = format!("/dav/demo/demo/blocked/{name}");
        let a = c.put(&path, &zoned(name, tzid), &[]).await.status(201);
        assert_eq!(a.header("etag"), None, "{tzid}: stored bytes differ");
        let got = c.get(&path).await.status(200).text();
        assert!(
            got.contains("BEGIN:VTIMEZONE") && got.contains(defined),
            "{got}"
        );
    }
    // Complete data is stored as sent, with its ETag.
    let berlin = c.get("/dav/demo/demo/blocked/berlin.ics").await.text();
    let a = c
        .put(
            "/dav/demo/demo/blocked/again.ics",
            &berlin.replace("UID:berlin.ics", "UID:again"),
            &[],
        )
        .await
        .status(201);
    assert!(a.header("etag").is_some());
    c.put(
        "/dav/demo/demo/blocked/mars.ics",
        &zoned("mars", "Mars/Olympus_Mons"),
        &[],
    )
    .await
    .status(403)
    .dav_error("valid-calendar-data");
    c.get("/dav/demo/demo/blocked/mars.ics").await.status(404);
}
