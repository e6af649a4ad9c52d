//! Discovery: well-known, principal, home, calendar list, OPTIONS, auth.

use crate::support::env::TestEnv;

const CUP: &str = r#"<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:current-user-principal/></d:prop></d:propfind>"#;
const HOME_SET: &str = r#"<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><c:calendar-home-set/><d:resourcetype/></d:prop></d:propfind>"#;
const LIST: &str = r#"<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:cs="http://calendarserver.org/ns/"><d:prop><d:displayname/><d:resourcetype/><cs:getctag/><d:sync-token/><c:supported-calendar-component-set/><d:current-user-privilege-set/><x:unknown xmlns:x="urn:x"/></d:prop></d:propfind>"#;

#[tokio::test]
async fn rfc6764_well_known_redirects_to_dav() {
    let env = TestEnv::start().await;
    let a = env.anonymous().get("/.well-known/caldav").await.status(301);
    assert_eq!(a.header("location").as_deref(), Some("/dav/"));
}

#[tokio::test]
async fn rfc5397_root_names_current_user_principal() {
    let env = TestEnv::start().await;
    for path in ["/", "/dav/"] {
        let a = env.client().propfind(path, "0", CUP).await.status(207);
        assert!(a.text().contains("/dav/demo/demo/"), "{}", a.text());
    }
}

#[tokio::test]
async fn rfc4791_6_2_1_principal_has_calendar_home_set() {
    let env = TestEnv::start().await;
    let a = env
        .client()
        .propfind("/dav/demo/demo/", "0", HOME_SET)
        .await
        .status(207);
    let ms = a.multistatus();
    let home = ms.responses[0]
        .prop(&calproxy::dav::names::CALENDAR_HOME_SET)
        .expect("calendar-home-set");
    assert!(format!("{home:?}").contains("/dav/demo/demo/"));
}

#[tokio::test]
async fn home_depth_1_lists_the_users_calendars() {
    let env = TestEnv::start().await;
    let a = env
        .client()
        .propfind("/dav/demo/demo/", "1", LIST)
        .await
        .status(207);
    let hrefs = a.hrefs();
    for c in ["primary", "blocked", "availability", "work"] {
        assert!(
            hrefs.contains(&format!("/dav/demo/demo/{c}/")),
            "{c} missing from {hrefs:?}"
        );
    }
    // The unknown property is answered 404 in its own propstat.
    let t = a.text();
    assert!(t.contains("404 Not Found") && t.contains("unknown"), "{t}");
}

#[tokio::test]
async fn rfc4791_5_1_options_advertises_calendar_access() {
    let env = TestEnv::start().await;
    let a = env
        .anonymous()
        .request("OPTIONS", "/dav/demo/demo/primary/", &[], "")
        .await
        .status(200);
    let dav = a.header("dav").expect("DAV header");
    assert!(dav.contains("calendar-access") && dav.contains('1') && dav.contains('3'));
}

#[tokio::test]
async fn without_credentials_answers_401_with_challenge() {
    let env = TestEnv::start().await;
    let a = env
        .anonymous()
        .propfind("/dav/demo/demo/", "0", CUP)
        .await
        .status(401);
    assert!(a
        .header("www-authenticate")
        .unwrap_or_default()
        .starts_with("Basic"));
    let wrong = crate::support::client::DavClient::new(env.base(), Some(("demo", "wrong")));
    wrong.propfind("/dav/", "0", CUP).await.status(401);
}

#[tokio::test]
async fn login_as_user_at_tenant_works() {
    let env = TestEnv::start().await;
    let c = crate::support::client::DavClient::new(env.base(), Some(("demo@demo", "demo")));
    c.propfind("/dav/", "0", CUP).await.status(207);
}

#[tokio::test]
async fn another_tenants_paths_are_404() {
    let env = TestEnv::start().await;
    let store = &env.app.store;
    let t = calproxy::ids::TenantId::new("acme").unwrap();
    let u = calproxy::ids::UserId::new("bob").unwrap();
    calproxy::accounts::add_user(store, &t, &u, &calproxy::secret::Secret::new("pw".into()))
        .unwrap();
    let c = env.client();
    c.propfind("/dav/acme/bob/", "0", CUP).await.status(404);
    c.propfind("/dav/acme/bob/primary/", "0", CUP)
        .await
        .status(404);
    c.get("/dav/acme/bob/primary/x.ics").await.status(404);
    // And bob cannot see demo.
    let bob = crate::support::client::DavClient::new(env.base(), Some(("bob@acme", "pw")));
    bob.propfind("/dav/demo/demo/primary/", "0", CUP)
        .await
        .status(404);
    bob.propfind("/dav/acme/bob/primary/", "0", CUP)
        .await
        .status(207);
}

#[tokio::test]
async fn healthz_answers_without_auth() {
    let env = TestEnv::start().await;
    env.anonymous().get("/healthz").await.status(200);
}
