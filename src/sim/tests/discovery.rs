//! Discovery: root, principal, partition host (ICLOUD.md §1.1, §1.2).

use super::*;

#[tokio::test]
async fn icloud_root_propfind_gives_principal() {
    let e = env().await;
    let ms = e
        .propfind("/", "0", "<d:current-user-principal/>")
        .await
        .ms();
    assert_eq!(hrefs(&ms), vec!["/"]);
    assert_eq!(
        ms.responses[0].prop(&QName::dav("current-user-principal")),
        Some(&PropValue::Hrefs(vec![crate::ids::Href::new(
            "/123456789/principal/"
        )]))
    );
}

#[tokio::test]
async fn icloud_root_depth_one_is_400() {
    let e = env().await;
    let a = e.propfind("/", "1", "<d:current-user-principal/>").await;
    assert_eq!(a.status, 400);
}

#[tokio::test]
async fn icloud_get_root_is_400_html_with_connection_close() {
    let e = env().await;
    let a = e.send("GET", "/", &[], "").await;
    assert_eq!(a.status, 400);
    assert_eq!(a.header("connection"), Some("close"));
    assert!(a.body.contains("AppleHttpServer"));
}

#[tokio::test]
async fn icloud_double_slash_is_400() {
    let e = env().await;
    let a = e.propfind("//", "0", "<d:current-user-principal/>").await;
    assert_eq!(a.status, 400);
}

#[tokio::test]
async fn icloud_home_set_is_partition_full_url() {
    let e = env().await;
    let a = e
        .raw(
            "PROPFIND",
            &format!("{}/123456789/principal/", e.sim.front_url()),
            &[("depth", "0")],
            &format!(
                "{PROLOG}<propfind xmlns=\"DAV:\"><prop><calendar-home-set \
                 xmlns=\"urn:ietf:params:xml:ns:caldav\"/><calendar-user-address-set \
                 xmlns=\"urn:ietf:params:xml:ns:caldav\"/><displayname/></prop></propfind>"
            ),
            true,
        )
        .await
        .expect("answered");
    let ms = a.ms();
    let r = &ms.responses[0];
    assert_eq!(
        r.prop(&QName::caldav("calendar-home-set")),
        Some(&PropValue::Hrefs(vec![crate::ids::Href::new(format!(
            "{}/123456789/calendars/",
            e.sim.partition_url()
        ))]))
    );
    assert!(a
        .body
        .contains("preferred=\"1\">mailto:demo@icloud.example</href>"));
    assert_eq!(r.prop_text(&QName::dav("displayname")), Some("Demo User"));
}

#[tokio::test]
async fn icloud_front_host_serves_home_paths_too() {
    let e = env().await;
    let a = e
        .raw(
            "GET",
            &format!("{}{}", e.sim.front_url(), e.obj("home", "dentist.ics")),
            &[],
            "",
            true,
        )
        .await
        .expect("answered");
    assert_eq!(a.status, 200);
    let seen = e.sim.requests();
    assert!(!seen[0].partition);
}
