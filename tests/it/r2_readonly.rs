//! R2 (and R9): iCloud events and derived collections are read-only; writes
//! get 403 with DAV:need-privileges and privileges show read only.

use crate::support::env::TestEnv;
use crate::support::ics;

const WORK_OBJ: &str = "/dav/demo/demo/work/weekly-review.ics";
const PRIV: &str = r#"<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:current-user-privilege-set/></d:prop></d:propfind>"#;

#[tokio::test]
async fn r2_put_over_blocked_slot_is_403_need_privileges() {
    let env = TestEnv::start().await;
    let body = ics::event(
        "6A1E3C2B-9F1D-4C2E-8E7A-1B2C3D4E5F60",
        "20261210T100000Z",
        "20261210T110000Z",
        "mine now",
    );
    env.client()
        .put(WORK_OBJ, &body, &[])
        .await
        .status(403)
        .dav_error("need-privileges");
    let still = env.client().get(WORK_OBJ).await.status(200).text();
    assert!(still.contains("Weekly review"));
}

#[tokio::test]
async fn r2_delete_proppatch_move_copy_on_blocked_slot_are_403() {
    let env = TestEnv::start().await;
    let c = env.client();
    c.delete(WORK_OBJ, &[])
        .await
        .status(403)
        .dav_error("need-privileges");
    let pp = r#"<?xml version="1.0"?><d:propertyupdate xmlns:d="DAV:"><d:set><d:prop><d:displayname>x</d:displayname></d:prop></d:set></d:propertyupdate>"#;
    c.request("PROPPATCH", WORK_OBJ, &[], pp)
        .await
        .status(403)
        .dav_error("need-privileges");
    // MOVE takes it away (unbind); MOVE or COPY onto it overwrites it
    // (write-content). COPY *from* it is a read: the copy is the user's.
    c.request(
        "MOVE",
        WORK_OBJ,
        &[("destination", "/dav/demo/demo/primary/x.ics")],
        "",
    )
    .await
    .status(403)
    .dav_error("need-privileges")
    .dav_error("unbind");
    for m in ["MOVE", "COPY"] {
        c.request(
            m,
            "/dav/demo/demo/primary/dentist.ics",
            &[("destination", WORK_OBJ)],
            "",
        )
        .await
        .status(403)
        .dav_error("need-privileges")
        .dav_error("write-content");
    }
    c.get(WORK_OBJ).await.status(200);
    c.get("/dav/demo/demo/primary/dentist.ics")
        .await
        .status(200);
}

#[tokio::test]
async fn r2_blocked_slot_privileges_show_read_only() {
    let env = TestEnv::start().await;
    let t = env
        .client()
        .propfind(WORK_OBJ, "0", PRIV)
        .await
        .status(207)
        .text();
    assert!(t.contains("read") && !t.contains("write"), "{t}");
    let own = env
        .client()
        .propfind("/dav/demo/demo/primary/dentist.ics", "0", PRIV)
        .await
        .status(207)
        .text();
    assert!(own.contains("write-content"), "{own}");
}

#[tokio::test]
async fn r9_availability_refuses_writes() {
    let env = TestEnv::start().await;
    let c = env.client();
    let body = ics::event("x", "20261210T100000Z", "20261210T110000Z", "x");
    c.put("/dav/demo/demo/availability/x.ics", &body, &[])
        .await
        .status(403)
        .dav_error("need-privileges");
    let pp = r#"<?xml version="1.0"?><d:propertyupdate xmlns:d="DAV:"><d:set><d:prop><d:displayname>x</d:displayname></d:prop></d:set></d:propertyupdate>"#;
    c.request("PROPPATCH", "/dav/demo/demo/availability/", &[], pp)
        .await
        .status(403)
        .dav_error("need-privileges");
    let t = c
        .propfind("/dav/demo/demo/availability/", "0", PRIV)
        .await
        .status(207)
        .text();
    assert!(!t.contains("write") && !t.contains("bind"), "{t}");
}

#[tokio::test]
async fn conflict_calendar_refuses_new_objects() {
    let env = TestEnv::start().await;
    let body = ics::event("n", "20261210T100000Z", "20261210T110000Z", "x");
    env.client()
        .put("/dav/demo/demo/work/new.ics", &body, &[])
        .await
        .status(403)
        .dav_error("need-privileges");
}

#[tokio::test]
async fn proppatch_on_writable_collection_changes_name_and_color() {
    let env = TestEnv::start().await;
    let c = env.client();
    let pp = r#"<?xml version="1.0"?><d:propertyupdate xmlns:d="DAV:" xmlns:i="http://apple.com/ns/ical/"><d:set><d:prop><d:displayname>Mine</d:displayname><i:calendar-color>#FF0000FF</i:calendar-color></d:prop></d:set></d:propertyupdate>"#;
    c.request("PROPPATCH", "/dav/demo/demo/primary/", &[], pp)
        .await
        .status(207);
    let q = r#"<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:i="http://apple.com/ns/ical/"><d:prop><d:displayname/><i:calendar-color/></d:prop></d:propfind>"#;
    let t = c
        .propfind("/dav/demo/demo/primary/", "0", q)
        .await
        .status(207)
        .text();
    assert!(t.contains("Mine") && t.contains("#FF0000FF"), "{t}");
}

#[tokio::test]
async fn mkcalendar_is_refused() {
    let env = TestEnv::start().await;
    env.client()
        .request("MKCALENDAR", "/dav/demo/demo/newcal/", &[], "")
        .await
        .status(403)
        .dav_error("need-privileges");
}
