//! Integration-level tests of the sim: start it on loopback and talk raw
//! HTTP to it with hyper-util's client. One behaviour per test, named for
//! the iCloud quirk (ICLOUD.md section in the quirk's doc comment).

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::dav::{MultiStatus, PropValue, QName, ResponseBody};

const TIMEOUT: Duration = Duration::from_secs(20);

struct Env {
    sim: SimHandle,
    cancel: CancellationToken,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Drop for Env {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

struct Answer {
    status: u16,
    headers: http::HeaderMap,
    body: String,
}

impl Answer {
    fn ms(&self) -> MultiStatus {
        assert_eq!(self.status, 207, "body: {}", self.body);
        MultiStatus::parse(self.body.as_bytes()).expect("iCloud-style XML parses")
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

fn cfg() -> SimConfig {
    SimConfig::demo(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sim"))
}

async fn env() -> Env {
    let cancel = CancellationToken::new();
    let sim = start(cfg(), cancel.clone()).await.expect("sim starts");
    let client = Client::builder(TokioExecutor::new()).build(HttpConnector::new());
    Env {
        sim,
        cancel,
        client,
    }
}

fn basic() -> String {
    let raw = "demo@icloud.example:abcd-efgh-ijkl-mnop";
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

const PROLOG: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";

impl Env {
    fn url(&self, path: &str) -> String {
        format!("{}{}", self.sim.partition_url(), path)
    }
    fn cal(&self, id: &str) -> String {
        format!("{}{id}/", self.sim.home_path())
    }
    fn obj(&self, cal: &str, name: &str) -> String {
        format!("{}{cal}/{name}", self.sim.home_path())
    }

    async fn raw(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &str,
        auth: bool,
    ) -> Result<Answer, String> {
        let mut b = http::Request::builder()
            .method(method)
            .uri(url)
            .header("user-agent", "calproxy-sim-test");
        if auth {
            b = b.header("authorization", basic());
        }
        for (n, v) in headers {
            b = b.header(*n, *v);
        }
        let req = b
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|e| e.to_string())?;
        let fut = async {
            let resp = self.client.request(req).await.map_err(|e| e.to_string())?;
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let bytes = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            Ok(Answer {
                status,
                headers,
                body: String::from_utf8_lossy(&bytes).into_owned(),
            })
        };
        tokio::time::timeout(TIMEOUT, fut)
            .await
            .map_err(|_| "timed out".to_string())?
    }

    async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
        self.raw(method, &self.url(path), headers, body, true)
            .await
            .expect("request answered")
    }

    async fn propfind(&self, path: &str, depth: &str, props: &str) -> Answer {
        let body = format!(
            "{PROLOG}<d:propfind xmlns:d=\"DAV:\" xmlns:c=\"urn:ietf:params:xml:ns:caldav\" \
             xmlns:cs=\"http://calendarserver.org/ns/\" xmlns:i=\"http://apple.com/ns/ical/\">\
             <d:prop>{props}</d:prop></d:propfind>"
        );
        self.send("PROPFIND", path, &[("depth", depth)], &body)
            .await
    }

    async fn report(&self, path: &str, depth: &str, body: &str) -> Answer {
        self.send("REPORT", path, &[("depth", depth)], body).await
    }

    async fn sync(&self, cal: &str, token: &str) -> Answer {
        let body = format!(
            "{PROLOG}<d:sync-collection xmlns:d=\"DAV:\"><d:sync-token>{token}</d:sync-token>\
             <d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"
        );
        self.report(&self.cal(cal), "1", &body).await
    }

    async fn put(&self, path: &str, headers: &[(&str, &str)], ics: &str) -> Answer {
        let mut h = vec![("content-type", "text/calendar; charset=utf-8")];
        h.extend_from_slice(headers);
        self.send("PUT", path, &h, ics).await
    }
}

fn query(filter: &str) -> String {
    format!(
        "{PROLOG}<c:calendar-query xmlns:d=\"DAV:\" xmlns:c=\"urn:ietf:params:xml:ns:caldav\">\
         <d:prop><d:getetag/><c:calendar-data/></d:prop>\
         <c:filter><c:comp-filter name=\"VCALENDAR\">{filter}</c:comp-filter></c:filter>\
         </c:calendar-query>"
    )
}

fn multiget(hrefs: &[String]) -> String {
    let hrefs: String = hrefs
        .iter()
        .map(|h| format!("<d:href>{h}</d:href>"))
        .collect();
    format!(
        "{PROLOG}<c:calendar-multiget xmlns:d=\"DAV:\" xmlns:c=\"urn:ietf:params:xml:ns:caldav\">\
         <d:prop><d:getetag/><c:calendar-data/></d:prop>{hrefs}</c:calendar-multiget>"
    )
}

fn event(uid: &str, extra: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n\
         DTSTAMP:20261101T000000Z\r\nDTSTART:20261210T100000Z\r\n{extra}SUMMARY:t\r\n\
         END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

fn with_end(uid: &str) -> String {
    event(uid, "DTEND:20261210T110000Z\r\n")
}

fn hrefs(ms: &MultiStatus) -> Vec<String> {
    ms.responses
        .iter()
        .map(|r| r.href.as_str().to_string())
        .collect()
}

// ---- authentication and headers (§1.4, §5.1) ----

#[tokio::test]
async fn icloud_401_has_two_challenges() {
    let e = env().await;
    let a = e
        .raw("PROPFIND", &e.url("/"), &[("depth", "0")], "", false)
        .await
        .expect("answered");
    assert_eq!(a.status, 401);
    assert!(a.body.is_empty());
    let ch: Vec<_> = a
        .headers
        .get_all("www-authenticate")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert_eq!(
        ch,
        vec![
            "Basic realm=\"MMCalDav\"",
            "X-MobileMe-AuthToken realm=\"MMCalDav\""
        ]
    );
    assert_eq!(a.header("x-apple-user-partition"), Some("42"));
}

#[tokio::test]
async fn icloud_wrong_password_is_401() {
    let e = env().await;
    let bad = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("demo@icloud.example:wrong")
    );
    let a = e
        .raw(
            "GET",
            &e.url(&e.obj("home", "dentist.ics")),
            &[("authorization", &bad)],
            "",
            false,
        )
        .await
        .expect("answered");
    assert_eq!(a.status, 401);
}

#[tokio::test]
async fn icloud_server_header_on_every_response() {
    let e = env().await;
    let ok = e.send("GET", &e.obj("home", "dentist.ics"), &[], "").await;
    let missing = e.send("GET", &e.obj("home", "nope.ics"), &[], "").await;
    for a in [ok, missing] {
        assert!(a
            .header("server")
            .is_some_and(|s| s.starts_with("AppleHttpServer/")));
    }
}

// ---- discovery (§1.1, §1.2) ----

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

// ---- home listing (§2) ----

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

// ---- reports (§3) ----

#[tokio::test]
async fn icloud_calendar_query_needs_vevent_filter() {
    let e = env().await;
    let ms = e.report(&e.cal("home"), "1", &query("")).await.ms();
    assert!(ms.responses.is_empty());
}

#[tokio::test]
async fn icloud_calendar_query_returns_unexpanded_master() {
    let e = env().await;
    // Weekly review starts 2026-10-20; a window a year later still hits it.
    let f = "<c:comp-filter name=\"VEVENT\"><c:time-range start=\"20271201T000000Z\" \
             end=\"20271215T000000Z\"/></c:comp-filter>";
    let ms = e.report(&e.cal("work"), "1", &query(f)).await.ms();
    let r = ms
        .responses
        .iter()
        .find(|r| r.href.as_str().ends_with("weekly-review.ics"))
        .expect("recurring master returned");
    let data = r.prop_text(&QName::caldav("calendar-data")).expect("data");
    assert!(data.contains("RRULE:FREQ=WEEKLY"));
    assert!(!hrefs(&ms)
        .iter()
        .any(|h| h.ends_with("company-holiday.ics")));
}

#[tokio::test]
async fn icloud_calendar_query_has_collection_self_row() {
    let e = env().await;
    let f = "<c:comp-filter name=\"VEVENT\"/>";
    let a = e.report(&e.cal("home"), "1", &query(f)).await;
    assert!(a.body.contains("<![CDATA[BEGIN:VCALENDAR"));
    let ms = a.ms();
    let own = &ms.responses[0];
    assert_eq!(own.href.as_str(), e.cal("home"));
    assert!(own.prop_text(&QName::dav("getetag")).is_some());
    assert!(own.prop(&QName::caldav("calendar-data")).is_none());
}

#[tokio::test]
async fn icloud_vtodo_query_is_500() {
    let e = env().await;
    let a = e
        .report(
            &e.cal("tasks"),
            "1",
            &query("<c:comp-filter name=\"VTODO\"/>"),
        )
        .await;
    assert_eq!(a.status, 500);
}

#[tokio::test]
async fn icloud_subscribed_calendar_query_is_empty() {
    let e = env().await;
    let ms = e
        .report(
            &e.cal("9F8E7D6C-5B4A-4392-8170-6F5E4D3C2B1A"),
            "1",
            &query("<c:comp-filter name=\"VEVENT\"/>"),
        )
        .await
        .ms();
    assert!(ms.responses.is_empty());
}

#[tokio::test]
async fn icloud_free_busy_query_is_400_empty() {
    let e = env().await;
    let body = format!(
        "{PROLOG}<c:free-busy-query xmlns:c=\"urn:ietf:params:xml:ns:caldav\">\
         <c:time-range start=\"20261201T000000Z\" end=\"20261202T000000Z\"/></c:free-busy-query>"
    );
    let a = e.report(&e.cal("home"), "1", &body).await;
    assert_eq!(a.status, 400);
    assert!(a.body.is_empty());
}

#[tokio::test]
async fn icloud_multiget_unknown_href_is_404_row() {
    let e = env().await;
    let hs = vec![e.obj("home", "dentist.ics"), e.obj("home", "ghost.ics")];
    let ms = e.report(&e.cal("home"), "1", &multiget(&hs)).await.ms();
    assert!(ms.responses[0]
        .prop_text(&QName::caldav("calendar-data"))
        .is_some_and(|d| d.contains("UID:demo-dentist@calproxy")));
    assert_eq!(ms.responses[1].bare_status(), Some(404));
}

#[tokio::test]
async fn icloud_multiget_404_once() {
    let e = env().await;
    let h = e.obj("home", "lunch.ics");
    e.sim.faults().multiget_404_once(&h);
    let first = e
        .report(&e.cal("home"), "1", &multiget(std::slice::from_ref(&h)))
        .await
        .ms();
    assert_eq!(first.responses[0].bare_status(), Some(404));
    let second = e.report(&e.cal("home"), "1", &multiget(&[h])).await.ms();
    assert!(second.responses[0]
        .prop_text(&QName::dav("getetag"))
        .is_some());
}

#[tokio::test]
async fn icloud_sync_initial_lists_all_members() {
    let e = env().await;
    let ms = e.sync("home", "").await.ms();
    assert_eq!(ms.responses.len(), e.sim.events("home").len());
    assert!(ms.sync_token.is_some());
}

#[tokio::test]
async fn icloud_sync_unchanged_is_token_only() {
    let e = env().await;
    let t = e.sync("home", "").await.ms().sync_token.expect("token");
    let ms = e.sync("home", t.as_str()).await.ms();
    assert!(ms.responses.is_empty());
    assert_eq!(ms.sync_token, Some(t));
}

#[tokio::test]
async fn icloud_sync_deletion_rows_are_404() {
    let e = env().await;
    let t = e.sync("home", "").await.ms().sync_token.expect("token");
    assert!(e.sim.delete_event("home", "lunch.ics"));
    e.sim.upsert_event("home", "new.ics", &with_end("new-1"));
    let a = e.sync("home", t.as_str()).await;
    assert!(a.body.contains("<status>HTTP/1.1 404 Not Found</status>"));
    let ms = a.ms();
    assert_eq!(ms.responses[0].href.as_str(), e.cal("home"));
    let deleted = ms
        .responses
        .iter()
        .find(|r| r.href.as_str().ends_with("lunch.ics"))
        .expect("deletion row");
    assert_eq!(deleted.bare_status(), Some(404));
    assert!(hrefs(&ms).iter().any(|h| h.ends_with("new.ics")));
}

#[tokio::test]
async fn icloud_sync_accepts_depth_zero() {
    let e = env().await;
    let body = format!(
        "{PROLOG}<sync-collection xmlns=\"DAV:\"><sync-token/><sync-level>1</sync-level>\
         <prop><getetag/></prop></sync-collection>"
    );
    let ms = e.report(&e.cal("work"), "0", &body).await.ms();
    assert!(!ms.responses.is_empty());
}

#[tokio::test]
async fn icloud_sync_invalid_token_is_403_valid_sync_token() {
    let e = env().await;
    let t = e.sync("home", "").await.ms().sync_token.expect("token");
    e.sim.invalidate_sync_tokens();
    let a = e.sync("home", t.as_str()).await;
    assert_eq!(a.status, 403);
    assert!(a
        .body
        .contains("<error xmlns='DAV:'><valid-sync-token/></error>"));
}

#[tokio::test]
async fn icloud_sync_invalid_token_bare_403_mode() {
    let e = env().await;
    e.sim.faults().invalid_token_mode(TokenMode::Bare403);
    let a = e.sync("home", "bm90LWEtdG9rZW4=").await;
    assert_eq!(a.status, 403);
    assert!(a.body.is_empty());
}

#[tokio::test]
async fn icloud_sync_invalid_token_full_listing_mode() {
    let e = env().await;
    e.sim.faults().invalid_token_mode(TokenMode::FullListing);
    let ms = e.sync("home", "bm90LWEtdG9rZW4=").await.ms();
    assert_eq!(ms.responses.len(), e.sim.events("home").len());
    assert!(ms.sync_token.is_some());
}

#[tokio::test]
async fn icloud_sync_duplicate_rows() {
    let e = env().await;
    let t = e.sync("work", "").await.ms().sync_token.expect("token");
    e.sim.touch_etag("work", "weekly-review.ics");
    e.sim.faults().duplicate_sync_rows(true);
    let ms = e.sync("work", t.as_str()).await.ms();
    let n = hrefs(&ms)
        .iter()
        .filter(|h| h.ends_with("weekly-review.ics"))
        .count();
    assert_eq!(n, 2);
}

// ---- writes (§4) ----

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

// ---- request hygiene and faults (§1.5, §5.2) ----

#[tokio::test]
async fn icloud_leading_whitespace_in_xml_is_400() {
    let e = env().await;
    let body = format!("\n  {}", query("<c:comp-filter name=\"VEVENT\"/>"));
    let a = e.report(&e.cal("home"), "1", &body).await;
    assert_eq!(a.status, 400);
    e.sim.faults().leading_whitespace_400(false);
    let b = e.report(&e.cal("home"), "1", &body).await;
    assert_eq!(b.status, 207);
}

#[tokio::test]
async fn icloud_503_with_retry_after_then_recovers() {
    let e = env().await;
    e.sim.faults().fail_next(1, 503, Some(7));
    let p = e.obj("home", "dentist.ics");
    let a = e.send("GET", &p, &[], "").await;
    assert_eq!(a.status, 503);
    assert_eq!(a.header("retry-after"), Some("7"));
    assert_eq!(e.send("GET", &p, &[], "").await.status, 200);
    let seen = e.sim.requests();
    assert_eq!(
        seen.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![503, 200]
    );
}

#[tokio::test]
async fn icloud_fail_all_until_cleared() {
    let e = env().await;
    e.sim.faults().fail_all(Some((500, None)));
    let p = e.obj("home", "dentist.ics");
    assert_eq!(e.send("GET", &p, &[], "").await.status, 500);
    assert_eq!(e.send("GET", &p, &[], "").await.status, 500);
    e.sim.faults().fail_all(None);
    assert_eq!(e.send("GET", &p, &[], "").await.status, 200);
}

#[tokio::test]
async fn sim_dropped_connection_gives_no_answer() {
    let e = env().await;
    e.sim.faults().drop_connections(true);
    let r = e
        .raw("GET", &e.url(&e.obj("home", "dentist.ics")), &[], "", true)
        .await;
    assert!(r.is_err(), "expected a transport error");
    assert_eq!(e.sim.request_count(), 1);
    assert_eq!(e.sim.requests()[0].status, 0);
}

#[tokio::test]
async fn sim_records_requests_with_headers() {
    let e = env().await;
    e.put(
        &e.obj("home", "r.ics"),
        &[("if-none-match", "*")],
        &with_end("r"),
    )
    .await;
    let seen = e.sim.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "PUT");
    assert_eq!(seen[0].if_none_match.as_deref(), Some("*"));
    assert!(seen[0].partition);
    assert!(seen[0].body.contains("UID:r"));
    e.sim.clear_requests();
    assert_eq!(e.sim.request_count(), 0);
}

#[tokio::test]
async fn sim_find_by_uid_and_demo_content() {
    let e = env().await;
    let found = e.sim.find_by_uid("demo-team-standup@calproxy");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, "home");
    let demo = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo/primary/team-standup.ics"),
    )
    .expect("demo fixture");
    assert_eq!(found[0].1.ics.replace("\r\n", "\n"), demo);
}
