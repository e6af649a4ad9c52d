//! PUT, DELETE, MOVE, GET and read-back quirks (ICLOUD.md §4).

use super::*;

#[tokio::test]
async fn icloud_put_create_201_then_update_204_with_etag() {
    let e = env().await;
    let p = e.obj("home", "c1.ics");
    let a = e.put(&p, &[("if-none-match", "*")], &with_end("c1")).await;
    assert_eq!(a.status, 201);
    let etag = a.header("etag").expect("etag").to_string();
    assert!(etag.starts_with('"') && etag.len() > 4);
    let b = e.put(&p, &[("if-match", &etag)], &with_end("c1")).await;
    assert_eq!(b.status, 204);
    assert_ne!(b.header("etag"), Some(etag.as_str()));
}

#[tokio::test]
async fn icloud_put_without_etag_header_when_switched_off() {
    let e = env().await;
    e.sim.faults().put_etag_header(false);
    let a = e
        .put(
            &e.obj("home", "c2.ics"),
            &[("if-none-match", "*")],
            &with_end("c2"),
        )
        .await;
    assert_eq!(a.status, 201);
    assert!(a.header("etag").is_none());
}

#[tokio::test]
async fn icloud_put_if_none_match_on_existing_is_412() {
    let e = env().await;
    let a = e
        .put(
            &e.obj("home", "dentist.ics"),
            &[("if-none-match", "*")],
            &with_end("demo-dentist@calproxy"),
        )
        .await;
    assert_eq!(a.status, 412);
}

#[tokio::test]
async fn icloud_put_stale_if_match_after_housekeeping_is_412() {
    let e = env().await;
    let old = e.sim.events("home")[0].clone();
    e.sim.touch_etag("home", &old.name);
    let after = e
        .sim
        .events("home")
        .into_iter()
        .find(|x| x.name == old.name)
        .expect("still there");
    assert_eq!(after.ics, old.ics);
    let a = e
        .put(
            &e.obj("home", &old.name),
            &[("if-match", &old.etag)],
            &old.ics,
        )
        .await;
    assert_eq!(a.status, 412);
}

#[tokio::test]
async fn icloud_put_vevent_without_dtend_is_404() {
    let e = env().await;
    let a = e
        .put(
            &e.obj("home", "n.ics"),
            &[("if-none-match", "*")],
            &event("n", ""),
        )
        .await;
    assert_eq!(a.status, 404);
}

#[tokio::test]
async fn icloud_put_with_method_is_400() {
    let e = env().await;
    let ics = with_end("m").replace("VERSION:2.0\r\n", "VERSION:2.0\r\nMETHOD:REQUEST\r\n");
    let a = e.put(&e.obj("home", "m.ics"), &[], &ics).await;
    assert_eq!(a.status, 400);
}

#[tokio::test]
async fn icloud_put_uid_in_other_calendar_is_409() {
    let e = env().await;
    let a = e
        .put(
            &e.obj("work", "dup.ics"),
            &[("if-none-match", "*")],
            &with_end("demo-dentist@calproxy"),
        )
        .await;
    assert_eq!(a.status, 409);
}

#[tokio::test]
async fn icloud_put_vtodo_into_event_calendar_is_403() {
    let e = env().await;
    let todo = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VTODO\r\nUID:td\r\n\
                DTSTAMP:20261101T000000Z\r\nSUMMARY:x\r\nEND:VTODO\r\nEND:VCALENDAR\r\n";
    let a = e.put(&e.obj("home", "td.ics"), &[], todo).await;
    assert_eq!(a.status, 403);
}

#[tokio::test]
async fn icloud_delete_stale_412_missing_404_else_204() {
    let e = env().await;
    let p = e.obj("work", "weekly-review.ics");
    let stale = e.send("DELETE", &p, &[("if-match", "\"0000\"")], "").await;
    assert_eq!(stale.status, 412);
    let ok = e.send("DELETE", &p, &[], "").await;
    assert_eq!(ok.status, 204);
    let gone = e.send("DELETE", &p, &[], "").await;
    assert_eq!(gone.status, 404);
}

#[tokio::test]
async fn icloud_move_is_412() {
    let e = env().await;
    let a = e
        .send(
            "MOVE",
            &e.obj("home", "dentist.ics"),
            &[("destination", &e.url(&e.obj("work", "dentist.ics")))],
            "",
        )
        .await;
    assert_eq!(a.status, 412);
}

#[tokio::test]
async fn icloud_mkcalendar_is_403() {
    let e = env().await;
    let a = e.send("MKCALENDAR", &e.cal("newcal"), &[], "").await;
    assert_eq!(a.status, 403);
}

#[tokio::test]
async fn icloud_get_object_has_etag() {
    let e = env().await;
    let a = e.send("GET", &e.obj("home", "dentist.ics"), &[], "").await;
    assert_eq!(a.status, 200);
    let ev = e
        .sim
        .events("home")
        .into_iter()
        .find(|x| x.name == "dentist.ics")
        .expect("dentist");
    assert_eq!(a.header("etag"), Some(ev.etag.as_str()));
    assert!(a.body.contains("\r\nSUMMARY:Dentist\r\n"));
}

#[tokio::test]
async fn icloud_duplicate_dtstamp_on_read() {
    let e = env().await;
    e.sim.faults().duplicate_dtstamp(true);
    let a = e.send("GET", &e.obj("home", "dentist.ics"), &[], "").await;
    assert_eq!(a.body.matches("DTSTAMP:").count(), 2);
}
