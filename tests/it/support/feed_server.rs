//! A tiny HTTP server on 127.0.0.1 serving ICS feeds for the tests: each
//! path has a body and a content type that a test changes at run time;
//! answers carry an `ETag` and a `Last-Modified` and 304 to a matching
//! `If-None-Match`; every request is logged with its status.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[derive(Clone)]
struct Doc {
    body: Vec<u8>,
    content_type: String,
    etag: String,
}

/// One request the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Path asked for.
    pub path: String,
    /// Status answered.
    pub status: u16,
    /// Its `If-None-Match`, if any.
    pub if_none_match: Option<String>,
    /// Its `Authorization` header was present.
    pub authorization: bool,
}

#[derive(Default)]
struct State {
    docs: HashMap<String, Doc>,
    log: Vec<Hit>,
    version: u64,
}

/// A running feed server; stops on drop.
pub struct FeedServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: CancellationToken,
}

impl Drop for FeedServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn answer(state: &Mutex<State>, req: &hyper::Request<hyper::body::Incoming>) -> (u16, Doc) {
    let path = req.uri().path().to_string();
    let inm = req
        .headers()
        .get("if-none-match")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut s = state.lock().unwrap();
    let doc = s.docs.get(&path).cloned();
    let (status, doc) = match doc {
        None => (
            404,
            Doc {
                body: b"not found".to_vec(),
                content_type: "text/plain".into(),
                etag: "\"none\"".into(),
            },
        ),
        Some(d) if inm.as_deref() == Some(d.etag.as_str()) => (304, d),
        Some(d) => (200, d),
    };
    s.log.push(Hit {
        path,
        status,
        if_none_match: inm,
        authorization: req.headers().contains_key("authorization"),
    });
    (status, doc)
}

impl FeedServer {
    /// Binds 127.0.0.1:0 and serves until dropped.
    pub async fn start() -> FeedServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state: Arc<Mutex<State>> = Arc::default();
        let stop = CancellationToken::new();
        let (st, sp) = (state.clone(), stop.clone());
        tokio::spawn(async move {
            loop {
                let stream = tokio::select! {
                    _ = sp.cancelled() => return,
                    r = listener.accept() => match r { Ok((s, _)) => s, Err(_) => continue },
                };
                let st = st.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let (status, doc) = answer(&st, &req);
                        async move {
                            let body = if status == 304 { Vec::new() } else { doc.body };
                            let resp = hyper::Response::builder()
                                .status(status)
                                .header("content-type", doc.content_type)
                                .header("etag", doc.etag)
                                .body(Full::new(Bytes::from(body)))
                                .unwrap();
                            Ok::<_, std::convert::Infallible>(resp)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        FeedServer { addr, state, stop }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Serves `body` at `path` with a new ETag.
    pub fn serve(&self, path: &str, body: &[u8], content_type: &str) {
        let mut s = self.state.lock().unwrap();
        s.version += 1;
        let etag = format!("\"v{}\"", s.version);
        s.docs.insert(
            path.to_string(),
            Doc {
                body: body.to_vec(),
                content_type: content_type.into(),
                etag,
            },
        );
    }

    /// Serves an iCalendar feed at `path`.
    pub fn serve_ics(&self, path: &str, ics: &str) {
        self.serve(path, ics.as_bytes(), "text/calendar; charset=utf-8");
    }

    /// Every request so far.
    pub fn log(&self) -> Vec<Hit> {
        self.state.lock().unwrap().log.clone()
    }

    /// Requests for `path` so far.
    pub fn hits(&self, path: &str) -> Vec<Hit> {
        self.log().into_iter().filter(|h| h.path == path).collect()
    }
}

/// A feed: `X-WR-CALNAME`, optional extra calendar lines, and one timed
/// VEVENT per `(uid, start, end)` (UTC, `YYYYMMDDTHHMMSSZ`).
pub fn feed(name: &str, extra: &str, events: &[(&str, &str, &str)]) -> String {
    let mut s = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calproxy tests//feed//EN\r\nMETHOD:PUBLISH\r\nX-WR-CALNAME:{name}\r\n{extra}"
    );
    for (uid, start, end) in events {
        s.push_str(&format!(
            "BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20261101T000000Z\r\nDTSTART:{start}\r\nDTEND:{end}\r\nSUMMARY:{uid}\r\nEND:VEVENT\r\n"
        ));
    }
    s.push_str("END:VCALENDAR\r\n");
    s
}
