//! libdav 0.11 (the CalDAV library under pimsync and vstorage), a strict
//! client this project's other peers do not cover: RFC 6764 context
//! discovery (`GET /.well-known/caldav` → 301 `/dav/` → GET, which must
//! be 2xx), then principal, home set and calendars (issue 12 #11).

use std::task::{Context, Poll};

use base64::Engine as _;
use http::header::{HeaderValue, AUTHORIZATION};
use http::{Request, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::{Client, ResponseFuture};
use hyper_util::rt::TokioExecutor;
use libdav::caldav::{FindCalendarHomeSet, FindCalendars};
use libdav::dav::WebDavClient;
use libdav::sd::DiscoverableService;
use libdav::CalDavClient;

use crate::support::env::TestEnv;

/// A plain-HTTP client that adds Basic credentials when it has them
/// (what pimsync does with tower-http's `AddAuthorization`).
#[derive(Clone)]
struct Http {
    inner: Client<HttpConnector, String>,
    auth: Option<HeaderValue>,
}

impl Http {
    fn new(creds: Option<(&str, &str)>) -> Self {
        let auth = creds.map(|(u, p)| {
            let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
            HeaderValue::from_str(&format!("Basic {b64}")).expect("header value")
        });
        Self {
            inner: Client::builder(TokioExecutor::new()).build(HttpConnector::new()),
            auth,
        }
    }
}

impl tower_service::Service<Request<String>> for Http {
    type Response = http::Response<hyper::body::Incoming>;
    type Error = hyper_util::client::legacy::Error;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: Request<String>) -> Self::Future {
        if let Some(a) = &self.auth {
            req.headers_mut().insert(AUTHORIZATION, a.clone());
        }
        self.inner.request(req)
    }
}

fn within<F: std::future::Future>(f: F) -> tokio::time::Timeout<F> {
    tokio::time::timeout(std::time::Duration::from_secs(30), f)
}

#[tokio::test]
async fn issue12_11_libdav_rfc6764_find_context_path_from_the_server_url() {
    let env = TestEnv::start().await;
    let base: Uri = env.base().parse().expect("base URL");
    let port = env.addr.port();
    // Before it has credentials (discovery comes first) and with them.
    for creds in [None, Some(("demo", "demo"))] {
        let webdav = WebDavClient::new(base.clone(), Http::new(creds));
        let found =
            within(webdav.find_context_path(DiscoverableService::CalDav, "127.0.0.1", port))
                .await
                .expect("in time")
                .unwrap_or_else(|e| panic!("find_context_path ({creds:?}): {e}"))
                .expect("a context path");
        assert_eq!(found.path(), "/dav/", "{creds:?}");
    }
}

#[tokio::test]
async fn issue12_11_libdav_from_the_context_path_to_the_calendars() {
    let env = TestEnv::start().await;
    let base: Uri = env.base().parse().expect("base URL");
    let creds = Some(("demo", "demo"));
    let webdav = WebDavClient::new(base.clone(), Http::new(creds));
    let context =
        within(webdav.find_context_path(DiscoverableService::CalDav, "127.0.0.1", env.addr.port()))
            .await
            .expect("in time")
            .expect("discovery")
            .expect("a context path");
    // The server URL itself also bootstraps (OPTIONS says calendar-access).
    let boot = within(CalDavClient::bootstrap_via_service_discovery(
        WebDavClient::new(base, Http::new(creds)),
    ))
    .await
    .expect("in time")
    .expect("bootstrap from the server URL");
    assert!(boot.find_current_user_principal().await.is_ok());
    let caldav = CalDavClient::new(WebDavClient::new(context, Http::new(creds)));
    let principal = within(caldav.find_current_user_principal())
        .await
        .expect("in time")
        .expect("current-user-principal")
        .expect("a principal");
    assert_eq!(principal.path(), "/dav/demo/demo/");
    let homes = within(caldav.request(FindCalendarHomeSet::new(principal.path())))
        .await
        .expect("in time")
        .expect("calendar-home-set")
        .home_sets;
    assert_eq!(homes.len(), 1, "{homes:?}");
    let calendars = within(caldav.request(FindCalendars::new(homes[0].path())))
        .await
        .expect("in time")
        .expect("calendars")
        .calendars;
    let hrefs: Vec<&str> = calendars.iter().map(|c| c.href.as_str()).collect();
    for cal in ["primary", "blocked", "availability", "work"] {
        assert!(
            hrefs.contains(&format!("/dav/demo/demo/{cal}/").as_str()),
            "{cal} missing from {hrefs:?}"
        );
    }
}
