//! The calendar home and calendar listings (ICLOUD.md §2, §3.5).

use super::*;

const HOME_PROPS: &str = "<d:displayname/><d:resourcetype/><c:supported-calendar-component-set/>\
    <cs:getctag/><d:sync-token/><i:calendar-color/><d:current-user-privilege-set/><cs:source/>";

#[tokio::test]
async fn icloud_home_listing_has_every_member_kind() {
    let e = env().await;
    let ms = e.propfind(&e.sim.home_path(), "1", HOME_PROPS).await.ms();
    let h = hrefs(&ms);
    for id in [
        "",
        "home/",
        "work/",
        "6E1B2C3D-4F50-4A6B-9C7D-8E9F0A1B2C3D/",
        "9F8E7D6C-5B4A-4392-8170-6F5E4D3C2B1A/",
        "tasks/",
        "inbox/",
        "outbox/",
        "notification/",
    ] {
        assert!(h.contains(&format!("/123456789/calendars/{id}")), "{id}");
    }
    let find = |id: &str| {
        ms.responses
            .iter()
            .find(|r| r.href.as_str() == format!("/123456789/calendars/{id}"))
            .expect("member")
    };
    let tasks = find("tasks/");
    assert_eq!(
        tasks.prop(&QName::caldav("supported-calendar-component-set")),
        Some(&PropValue::CompSet(vec!["VTODO".into()]))
    );
    let sub = find("9F8E7D6C-5B4A-4392-8170-6F5E4D3C2B1A/");
    assert!(matches!(
        sub.prop(&QName::dav("resourcetype")),
        Some(PropValue::ResourceType(t)) if t.contains(&QName::cs("subscribed"))
    ));
    assert!(sub.prop(&QName::cs("source")).is_some());
    let shared = find("6E1B2C3D-4F50-4A6B-9C7D-8E9F0A1B2C3D/");
    assert!(matches!(
        shared.prop(&QName::dav("resourcetype")),
        Some(PropValue::ResourceType(t)) if t.contains(&QName::cs("shared-owner"))
    ));
}

#[tokio::test]
async fn icloud_outbox_has_no_getctag_in_404_propstat() {
    let e = env().await;
    let ms = e.propfind(&e.sim.home_path(), "1", HOME_PROPS).await.ms();
    let outbox = ms
        .responses
        .iter()
        .find(|r| r.href.as_str().ends_with("/outbox/"))
        .expect("outbox");
    assert!(outbox.prop(&QName::cs("getctag")).is_none());
    let ResponseBody::PropStats(ps) = &outbox.body else {
        panic!("propstats expected");
    };
    assert!(ps
        .iter()
        .any(|p| p.status == 404 && p.props.iter().any(|x| x.name == QName::cs("getctag"))));
}

#[tokio::test]
async fn icloud_sync_token_property_equals_ctag() {
    let e = env().await;
    let ms = e.propfind(&e.cal("home"), "0", HOME_PROPS).await.ms();
    let r = &ms.responses[0];
    let ctag = r.prop_text(&QName::cs("getctag")).expect("ctag");
    assert_eq!(r.prop_text(&QName::dav("sync-token")), Some(ctag));
    assert_eq!(
        r.prop_text(&QName::ical("calendar-color")),
        Some("#1BADF8FF")
    );
}

#[tokio::test]
async fn icloud_ctag_changes_on_every_change() {
    let e = env().await;
    let ctag = |a: Answer| {
        a.ms().responses[0]
            .prop_text(&QName::cs("getctag"))
            .map(str::to_string)
    };
    let before = ctag(e.propfind(&e.cal("work"), "0", "<cs:getctag/>").await);
    e.sim.touch_etag("work", "weekly-review.ics");
    let after = ctag(e.propfind(&e.cal("work"), "0", "<cs:getctag/>").await);
    assert_ne!(before, after);
}

#[tokio::test]
async fn icloud_allprop_is_400() {
    let e = env().await;
    let a = e
        .send(
            "PROPFIND",
            &e.sim.home_path(),
            &[("depth", "1")],
            &format!("{PROLOG}<d:propfind xmlns:d=\"DAV:\"><d:allprop/></d:propfind>"),
        )
        .await;
    assert_eq!(a.status, 400);
}

#[tokio::test]
async fn icloud_xml_is_unprefixed_with_standalone_prolog() {
    let e = env().await;
    let a = e.propfind(&e.sim.home_path(), "1", HOME_PROPS).await;
    assert!(a
        .body
        .starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>"));
    assert!(a.body.contains("<response xmlns=\"DAV:\">"));
    assert!(a
        .body
        .contains("<comp name='VEVENT' xmlns='urn:ietf:params:xml:ns:caldav'/>"));
    assert!(!a.body.contains("<D:") && !a.body.contains("<d:"));
    a.ms();
}

#[tokio::test]
async fn icloud_calendar_listing_depth_one() {
    let e = env().await;
    let ms = e
        .propfind(&e.cal("home"), "1", "<d:getetag/><d:resourcetype/>")
        .await
        .ms();
    let r0 = &ms.responses[0];
    assert_eq!(r0.href.as_str(), e.cal("home"));
    assert!(r0.prop_text(&QName::dav("getetag")).is_some());
    let members: Vec<_> = ms.responses[1..].iter().collect();
    assert!(members.len() >= 3);
    assert!(members.iter().all(|r| r.href.as_str().ends_with(".ics")
        && r.prop_text(&QName::dav("getetag")).is_some()
        && r.prop(&QName::dav("resourcetype")).is_none()));
}
