//! R1 (system events reach the primary iCloud calendar exactly once), R2
//! (iCloud events in primary are read-only), R3 (blocked/ never reaches
//! iCloud), upstream edits of system events (iCloud wins).

use crate::support::icloud::Icloud;
use crate::support::ics;

const P: &str = "/dav/demo/ann/primary";

fn puts_to_sim(ic: &Icloud) -> usize {
    ic.sim
        .requests()
        .iter()
        .filter(|r| r.method == "PUT")
        .count()
}

#[tokio::test]
async fn r1_new_event_in_primary_reaches_icloud_once() {
    let ic = Icloud::start(true).await;
    ic.ann
        .put(
            &format!("{P}/mine.ics"),
            &ics::event(
                "r1-new",
                "20261211T100000Z",
                "20261211T110000Z",
                "Created here",
            ),
            &[("if-none-match", "*")],
        )
        .await
        .status(201);
    let found = ic.sim.find_by_uid("r1-new");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "home");
    assert!(found[0].1.ics.contains("Created here"));
    let put = ic
        .sim
        .requests()
        .into_iter()
        .find(|r| r.method == "PUT")
        .expect("a PUT upstream");
    assert_eq!(put.if_none_match.as_deref(), Some("*"));
    // A sync afterwards does not turn it into a read-only copy or a duplicate.
    ic.sync().await;
    assert_eq!(
        ic.names("primary")
            .await
            .iter()
            .filter(|n| n.contains("mine") || n.contains("r1-new"))
            .count(),
        1
    );
    ic.ann
        .put(
            &format!("{P}/mine.ics"),
            &ics::event(
                "r1-new",
                "20261211T100000Z",
                "20261211T120000Z",
                "Still mine",
            ),
            &[],
        )
        .await
        .status(204);
    assert!(ic.sim.find_by_uid("r1-new")[0].1.ics.contains("Still mine"));
}

#[tokio::test]
async fn r1_update_uses_if_match_and_delete_is_forwarded() {
    let ic = Icloud::start(true).await;
    let path = format!("{P}/upd.ics");
    ic.ann
        .put(
            &path,
            &ics::event("r1-upd", "20261211T100000Z", "20261211T110000Z", "v1"),
            &[],
        )
        .await
        .status(201);
    ic.sim.clear_requests();
    ic.ann
        .put(
            &path,
            &ics::event("r1-upd", "20261211T100000Z", "20261211T110000Z", "v2"),
            &[],
        )
        .await
        .status(204);
    let put = ic
        .sim
        .requests()
        .into_iter()
        .find(|r| r.method == "PUT")
        .expect("PUT");
    assert!(put.if_match.is_some(), "{put:?}");
    assert!(ic.sim.find_by_uid("r1-upd")[0].1.ics.contains("v2"));
    ic.ann.delete(&path, &[]).await.status(204);
    // The delete is pushed by the worker; drain it now.
    ic.env.app.outbox.drain(true).await.unwrap();
    assert!(ic.sim.find_by_uid("r1-upd").is_empty());
}

#[tokio::test]
async fn r1_event_without_dtend_gets_one_upstream() {
    let ic = Icloud::start(true).await;
    let body = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:no-end\r\nDTSTAMP:20261101T000000Z\r\nDTSTART:20261211T100000Z\r\nSUMMARY:No end\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    ic.ann
        .put(&format!("{P}/no-end.ics"), body, &[])
        .await
        .status(201);
    let found = ic.sim.find_by_uid("no-end");
    assert_eq!(found.len(), 1, "iCloud would 404 a VEVENT without DTEND");
    assert!(found[0].1.ics.contains("DTEND:20261211T100000Z"));
}

#[tokio::test]
async fn r1_definitive_icloud_refusal_is_reported_and_local_copy_removed() {
    let ic = Icloud::start(true).await;
    // iCloud refuses a UID that already lives in another of the account's calendars (ICLOUD.md §4).
    let uid = "6A1E3C2B-9F1D-4C2E-8E7A-1B2C3D4E5F60"; // the Work weekly review
    let a = ic
        .ann
        .put(
            &format!("{P}/dup.ics"),
            &ics::event(uid, "20261211T100000Z", "20261211T110000Z", "dup"),
            &[],
        )
        .await
        .status(403);
    assert!(a.text().contains("iCloud refused"), "{}", a.text());
    ic.ann.get(&format!("{P}/dup.ics")).await.status(404);
    assert!(ic.env.app.store.outbox().unwrap().is_empty());
}

#[tokio::test]
async fn r1_stale_etag_after_icloud_housekeeping_is_recovered() {
    let ic = Icloud::start(true).await;
    let path = format!("{P}/hk.ics");
    ic.ann
        .put(
            &path,
            &ics::event("r1-hk", "20261211T100000Z", "20261211T110000Z", "v1"),
            &[],
        )
        .await
        .status(201);
    let (cal, ev) = ic.sim.find_by_uid("r1-hk").remove(0);
    ic.sim.touch_etag(&cal, &ev.name);
    ic.ann
        .put(
            &path,
            &ics::event("r1-hk", "20261211T100000Z", "20261211T110000Z", "v2"),
            &[],
        )
        .await
        .status(204);
    let now = ic.sim.find_by_uid("r1-hk");
    assert_eq!(now.len(), 1);
    assert!(now[0].1.ics.contains("v2"), "{}", now[0].1.ics);
}

#[tokio::test]
async fn icloud_edit_of_a_system_event_wins_and_is_visible() {
    let ic = Icloud::start(true).await;
    let path = format!("{P}/edit.ics");
    ic.ann
        .put(
            &path,
            &ics::event("r1-edit", "20261211T100000Z", "20261211T110000Z", "mine"),
            &[],
        )
        .await
        .status(201);
    let (cal, ev) = ic.sim.find_by_uid("r1-edit").remove(0);
    ic.sim.upsert_event(
        &cal,
        &ev.name,
        &ics::event(
            "r1-edit",
            "20261211T130000Z",
            "20261211T140000Z",
            "edited on iPhone",
        ),
    );
    ic.sync().await;
    let t = ic.ann.get(&path).await.status(200).text();
    assert!(t.contains("edited on iPhone"), "{t}");
    // Still a system event: the client may change it again.
    ic.ann
        .put(
            &path,
            &ics::event(
                "r1-edit",
                "20261211T130000Z",
                "20261211T150000Z",
                "mine again",
            ),
            &[],
        )
        .await
        .status(204);
    assert!(ic.sim.find_by_uid("r1-edit")[0]
        .1
        .ics
        .contains("mine again"));
    // Deleted in iCloud: gone here too.
    let (cal, ev) = ic.sim.find_by_uid("r1-edit").remove(0);
    ic.sim.delete_event(&cal, &ev.name);
    ic.sync().await;
    ic.ann.get(&path).await.status(404);
}

#[tokio::test]
async fn r2_icloud_events_in_primary_are_read_only() {
    let ic = Icloud::start(true).await;
    let path = format!("{P}/dentist.ics");
    let body = ic.ann.get(&path).await.status(200).text();
    ic.ann
        .put(&path, &body.replace("Dentist", "Mine"), &[])
        .await
        .status(403)
        .dav_error("need-privileges");
    ic.ann
        .delete(&path, &[])
        .await
        .status(403)
        .dav_error("need-privileges");
    let privs = r#"<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:current-user-privilege-set/></d:prop></d:propfind>"#;
    let t = ic.ann.propfind(&path, "0", privs).await.status(207).text();
    assert!(!t.contains("write"), "{t}");
}

#[tokio::test]
async fn r3_blocked_slots_never_reach_icloud() {
    let ic = Icloud::start(true).await;
    ic.sim.clear_requests();
    ic.ann
        .put(
            "/dav/demo/ann/blocked/focus.ics",
            &ics::event("r3-focus", "20261211T080000Z", "20261211T120000Z", "Focus"),
            &[],
        )
        .await
        .status(201);
    ic.env.app.outbox.drain(true).await.unwrap();
    ic.sync().await;
    assert_eq!(puts_to_sim(&ic), 0, "{:#?}", ic.sim.requests());
    assert!(ic.sim.find_by_uid("r3-focus").is_empty());
    // …but it blocks availability (R9).
    let fb = r#"<?xml version="1.0"?><c:free-busy-query xmlns:c="urn:ietf:params:xml:ns:caldav"><c:time-range start="20261211T000000Z" end="20261212T000000Z"/></c:free-busy-query>"#;
    let t = ic
        .ann
        .report("/dav/demo/ann/availability/", "1", fb)
        .await
        .status(200)
        .text();
    assert!(t.contains("20261211T080000Z/20261211T120000Z"), "{t}");
}

#[tokio::test]
async fn r1_system_events_show_write_privileges() {
    let ic = Icloud::start(true).await;
    let path = format!("{P}/priv.ics");
    ic.ann
        .put(
            &path,
            &ics::event("r1-priv", "20261211T100000Z", "20261211T110000Z", "mine"),
            &[],
        )
        .await
        .status(201);
    let privs = r#"<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:current-user-privilege-set/></d:prop></d:propfind>"#;
    let t = ic.ann.propfind(&path, "0", privs).await.status(207).text();
    assert!(
        t.contains("write-content"),
        "a system event must look writable to clients:\n{t}"
    );
}
