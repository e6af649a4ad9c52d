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

mod auth;
mod discovery;
mod faults;
mod home;
mod reports;
mod writes;
