//! `DavClient`: a small HTTP client with fluent assertions
//! (`.propfind(..).await.status(207).hrefs()`), modelled on Stalwart's
//! tests/src/utils/webdav.rs.

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;

use calproxy::dav::MultiStatus;

/// A client bound to one server and one identity.
#[derive(Clone)]
pub struct DavClient {
    base: String,
    auth: Option<String>,
    http: Client<HttpConnector, Full<Bytes>>,
}

/// A response with assertion helpers.
#[derive(Debug)]
pub struct Answer {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: hyper::HeaderMap,
    /// Body.
    pub body: Bytes,
}

impl DavClient {
    /// A client for `base` with optional (user, password).
    pub fn new(base: String, creds: Option<(&str, &str)>) -> Self {
        let mut conn = HttpConnector::new();
        conn.set_nodelay(true);
        Self {
            base,
            auth: creds.map(|(u, p)| {
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
                )
            }),
            http: Client::builder(TokioExecutor::new()).build(conn),
        }
    }

    /// Sends any request.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Answer {
        let mut b = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).expect("method"))
            .uri(format!("{}{}", self.base, path));
        if let Some(a) = &self.auth {
            b = b.header("authorization", a);
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let req = b.body(Full::new(body.into())).expect("request");
        let fut = self.http.request(req);
        let resp = tokio::time::timeout(std::time::Duration::from_secs(30), fut)
            .await
            .expect("request timed out")
            .expect("request failed");
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.expect("body").to_bytes();
        Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    /// PROPFIND with a Depth and body.
    pub async fn propfind(&self, path: &str, depth: &str, body: &str) -> Answer {
        self.request(
            "PROPFIND",
            path,
            &[("depth", depth), ("content-type", "application/xml")],
            body.to_string(),
        )
        .await
    }

    /// REPORT with a Depth and body.
    pub async fn report(&self, path: &str, depth: &str, body: &str) -> Answer {
        self.request(
            "REPORT",
            path,
            &[("depth", depth), ("content-type", "application/xml")],
            body.to_string(),
        )
        .await
    }

    /// PUT of iCalendar text.
    pub async fn put(&self, path: &str, ics: &str, extra: &[(&str, &str)]) -> Answer {
        let mut h = vec![("content-type", "text/calendar; charset=utf-8")];
        h.extend_from_slice(extra);
        self.request("PUT", path, &h, ics.to_string()).await
    }

    /// GET.
    pub async fn get(&self, path: &str) -> Answer {
        self.request("GET", path, &[], Bytes::new()).await
    }

    /// DELETE.
    pub async fn delete(&self, path: &str, extra: &[(&str, &str)]) -> Answer {
        self.request("DELETE", path, extra, Bytes::new()).await
    }
}

impl Answer {
    /// Asserts the status.
    #[track_caller]
    pub fn status(self, want: u16) -> Self {
        assert_eq!(
            self.status.as_u16(),
            want,
            "unexpected status; body:\n{}",
            self.text()
        );
        self
    }

    /// Body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header value.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    /// The ETag header (quoted).
    #[track_caller]
    pub fn etag(&self) -> String {
        self.header("etag").expect("ETag header")
    }

    /// The body parsed as a multistatus.
    #[track_caller]
    pub fn multistatus(&self) -> MultiStatus {
        MultiStatus::parse(&self.body)
            .unwrap_or_else(|e| panic!("not a multistatus ({e}):\n{}", self.text()))
    }

    /// Hrefs of the multistatus responses, in order.
    #[track_caller]
    pub fn hrefs(&self) -> Vec<String> {
        self.multistatus()
            .responses
            .iter()
            .map(|r| r.href.as_str().to_string())
            .collect()
    }

    /// Asserts a DAV error body naming `element` (local name).
    #[track_caller]
    pub fn dav_error(self, element: &str) -> Self {
        let t = self.text();
        assert!(
            t.contains("error") && t.contains(element),
            "expected a DAV error with {element}, got:\n{t}"
        );
        self
    }
}
