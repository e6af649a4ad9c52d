//! A simulated iCloud CalDAV server on loopback, speaking the dialect
//! described in ICLOUD.md, for integration tests of the upstream client and
//! the sync engine and for `calproxy demo`.
//!
//! Owns: two HTTP listeners (the "front" host like `caldav.icloud.com` and a
//! "partition" host like `p42-caldav.icloud.com`; both serve every path),
//! Basic auth (its password can be revoked and replaced at run time, as
//! on appleid.apple.com), the request log, fault injection ([`Faults`]),
//! the in-memory account loaded from `fixtures/sim` and the published
//! feeds of its subscribed calendars (`published`, served without
//! authentication). Every iCloud quirk lives as a named function in `quirks`.
//!
//! Must not use `store`, `handlers`, `server`, `upstream` or `sync`; only
//! `dav` (names, request parsers), `ical`, `ids` and `secret`.

mod faults;
mod handler;
mod published;
mod quirks;
mod report;
mod state;
#[cfg(test)]
mod tests;
mod xml;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use faults::{Faults, TokenMode};

use crate::secret::Secret;
use state::Account;

/// Largest request body the sim reads (bigger bodies answer 413).
const MAX_BODY: usize = 8 * 1024 * 1024;

/// How to run the sim.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Numeric account id (DSID) used in every path, e.g. `123456789`.
    pub dsid: String,
    /// Apple ID (Basic auth user name and preferred mailto address).
    pub apple_id: String,
    /// App-specific password (Basic auth password).
    pub app_password: Secret<String>,
    /// Partition number, only cosmetic (`x-apple-user-partition`).
    pub partition: u16,
    /// Directory with `account.json` and one directory of `*.ics` per calendar.
    pub fixtures: PathBuf,
}

impl SimConfig {
    /// The demo account: DSID 123456789, `demo@icloud.example`,
    /// password `abcd-efgh-ijkl-mnop`, partition 42.
    pub fn demo(fixtures: PathBuf) -> Self {
        Self {
            dsid: "123456789".into(),
            apple_id: "demo@icloud.example".into(),
            app_password: Secret::new("abcd-efgh-ijkl-mnop".into()),
            partition: 42,
            fixtures,
        }
    }
}

/// One request the sim saw (faulted and unauthorised ones included).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeenRequest {
    /// HTTP method.
    pub method: String,
    /// Request path (without query).
    pub path: String,
    /// `Depth` header.
    pub depth: Option<String>,
    /// Status answered; `0` when the connection was dropped without an answer.
    pub status: u16,
    /// True when it arrived on the partition listener.
    pub partition: bool,
    /// Request body (lossy UTF-8).
    pub body: String,
    /// `If-Match` header.
    pub if_match: Option<String>,
    /// `If-None-Match` header.
    pub if_none_match: Option<String>,
}

/// A stored object as seen "in iCloud".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimEvent {
    /// Resource name, e.g. `dentist.ics`.
    pub name: String,
    /// ETag with its quotes, as in the `ETag` header and `getetag`.
    pub etag: String,
    /// The stored iCalendar text (CRLF).
    pub ics: String,
}

/// A canned answer.
#[derive(Clone, Debug)]
pub(crate) struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub(crate) fn empty(status: u16) -> Self {
        Self::bytes(status, Vec::new())
    }
    pub(crate) fn bytes(status: u16, body: Vec<u8>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body,
        }
    }
    /// A 207 (or other) XML body. Like iCloud, the content type is sent,
    /// but clients must not rely on it (ICLOUD.md §1.5).
    pub(crate) fn xml(status: u16, body: Vec<u8>) -> Self {
        Self::bytes(status, body).header("content-type", "text/xml; charset=UTF-8")
    }
    pub(crate) fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

struct Shared {
    cfg: SimConfig,
    /// The app-specific password accepted now.
    password: Mutex<Secret<String>>,
    account: Mutex<Account>,
    published: Mutex<published::Feeds>,
    faults: Faults,
    requests: Mutex<Vec<SeenRequest>>,
    /// Requests received and not answered yet: (method, path).
    arrived: Mutex<Vec<(String, String)>>,
    front: SocketAddr,
    partition: SocketAddr,
}

impl Shared {
    fn account(&self) -> std::sync::MutexGuard<'_, Account> {
        self.account.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn log(&self) -> std::sync::MutexGuard<'_, Vec<SeenRequest>> {
        self.requests.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn pending(&self) -> std::sync::MutexGuard<'_, Vec<(String, String)>> {
        self.arrived.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn published(&self) -> std::sync::MutexGuard<'_, published::Feeds> {
        self.published.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn password(&self) -> Secret<String> {
        self.password
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// A running sim; cheap to clone.
#[derive(Clone)]
pub struct SimHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("front", &self.shared.front)
            .field("partition", &self.shared.partition)
            .finish()
    }
}

/// Binds the front and partition listeners on `127.0.0.1:0`, loads the
/// fixtures and serves until `shutdown` is cancelled.
pub async fn start(cfg: SimConfig, shutdown: CancellationToken) -> std::io::Result<SimHandle> {
    let account = Account::load(&cfg.fixtures)?;
    let feeds = published::Feeds::load(&cfg.fixtures)?;
    let front = TcpListener::bind("127.0.0.1:0").await?;
    let partition = TcpListener::bind("127.0.0.1:0").await?;
    let shared = Arc::new(Shared {
        password: Mutex::new(cfg.app_password.clone()),
        cfg,
        account: Mutex::new(account),
        published: Mutex::new(feeds),
        faults: Faults::default(),
        requests: Mutex::new(Vec::new()),
        arrived: Mutex::new(Vec::new()),
        front: front.local_addr()?,
        partition: partition.local_addr()?,
    });
    tokio::spawn(accept_loop(front, shared.clone(), false, shutdown.clone()));
    tokio::spawn(accept_loop(partition, shared.clone(), true, shutdown));
    Ok(SimHandle { shared })
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    partition: bool,
    shutdown: CancellationToken,
) {
    loop {
        let stream = tokio::select! {
            _ = shutdown.cancelled() => break,
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                Err(e) => {
                    tracing::debug!(error = %e, "sim accept failed");
                    continue;
                }
            },
        };
        let shared = shared.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                let shared = shared.clone();
                async move { serve(shared, partition, req).await }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc);
            tokio::select! {
                _ = conn => {}
                _ = shutdown.cancelled() => {}
            }
        });
    }
}

/// The error that makes hyper close a connection without answering.
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by fault injection")]
struct Dropped;

fn header(req: &hyper::Request<Incoming>, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn authorised(apple_id: &str, password: &Secret<String>, value: Option<&str>) -> bool {
    let Some(encoded) = value.and_then(|v| v.strip_prefix("Basic ")) else {
        return false;
    };
    let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let expected = format!("{}:{}", apple_id, password.expose());
    raw == expected.as_bytes()
}

async fn serve(
    shared: Arc<Shared>,
    partition: bool,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Dropped> {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let depth = header(&req, "depth");
    let if_match = header(&req, "if-match");
    let if_none_match = header(&req, "if-none-match");
    let if_modified_since = header(&req, "if-modified-since");
    let auth = header(&req, "authorization");
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => Some(b.to_bytes()),
        Err(_) => None,
    };
    let delay = shared.faults.current_delay();
    let arrival = (method.clone(), path.clone());
    shared.pending().push(arrival.clone());
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    {
        let mut pending = shared.pending();
        if let Some(i) = pending.iter().position(|a| *a == arrival) {
            pending.remove(i);
        }
    }
    let mut seen = SeenRequest {
        method: method.clone(),
        path: path.clone(),
        depth: depth.clone(),
        status: 0,
        partition,
        body: body
            .as_ref()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default(),
        if_match: if_match.clone(),
        if_none_match: if_none_match.clone(),
    };
    if shared.faults.dropping() {
        shared.log().push(seen);
        return Err(Dropped);
    }
    let reply = if let Some(forced) = shared.faults.take_forced() {
        let r = if forced.status == 401 {
            quirks::unauthorized_two_challenges()
        } else {
            Reply::empty(forced.status)
        };
        match forced.retry_after {
            Some(s) => r.header("retry-after", s.to_string()),
            None => r,
        }
    } else if matches!(method.as_str(), "GET" | "HEAD") && path.starts_with(published::PREFIX) {
        // ICLOUD.md §6.1: published feeds are public (no authentication).
        shared.published().get(
            &path,
            if_none_match.as_deref(),
            if_modified_since.as_deref(),
        )
    } else if !authorised(&shared.cfg.apple_id, &shared.password(), auth.as_deref()) {
        quirks::unauthorized_two_challenges()
    } else if let Some(body) = body {
        let partition_url = format!("http://{}", shared.partition);
        let ctx = handler::Ctx {
            dsid: &shared.cfg.dsid,
            apple_id: &shared.cfg.apple_id,
            partition_url: &partition_url,
            faults: &shared.faults,
        };
        let r = handler::Req {
            method: &method,
            path: &path,
            depth: depth.as_deref(),
            body: &body,
            if_match: if_match.as_deref(),
            if_none_match: if_none_match.as_deref(),
        };
        let mut acc = shared.account();
        handler::handle(&mut acc, &ctx, &r)
    } else {
        Reply::empty(413)
    };
    seen.status = reply.status;
    shared.log().push(seen);
    Ok(to_response(&shared.cfg, reply))
}

fn to_response(cfg: &SimConfig, reply: Reply) -> hyper::Response<Full<Bytes>> {
    let mut resp = hyper::Response::new(Full::new(Bytes::from(reply.body)));
    *resp.status_mut() =
        http::StatusCode::from_u16(reply.status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    let mut add = |name: &'static str, value: &str| {
        if let Ok(v) = http::HeaderValue::from_str(value) {
            h.append(name, v);
        }
    };
    add("server", quirks::server_header());
    add("x-apple-user-partition", &cfg.partition.to_string());
    add("x-responding-instance", "caldavj:sim");
    for (name, value) in &reply.headers {
        add(name, value);
    }
    resp
}

impl SimHandle {
    /// `http://127.0.0.1:PORT` of the front host (no trailing slash).
    pub fn front_url(&self) -> String {
        format!("http://{}", self.shared.front)
    }

    /// `http://127.0.0.1:PORT` of the partition host handed out by discovery.
    pub fn partition_url(&self) -> String {
        format!("http://{}", self.shared.partition)
    }

    /// `/<dsid>/calendars/`.
    pub fn home_path(&self) -> String {
        format!("/{}/calendars/", self.shared.cfg.dsid)
    }

    /// Every request seen, in order.
    pub fn requests(&self) -> Vec<SeenRequest> {
        self.shared.log().clone()
    }

    /// Requests received and not answered yet (held by a delay fault), as
    /// (method, path): tests wait on it instead of sleeping.
    pub fn pending_requests(&self) -> Vec<(String, String)> {
        self.shared.pending().clone()
    }

    /// How many requests were seen.
    pub fn request_count(&self) -> usize {
        self.shared.log().len()
    }

    /// Forgets the request log.
    pub fn clear_requests(&self) {
        self.shared.log().clear();
    }

    /// The fault switches.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// Creates or replaces `name` in `calendar` as a user would in iCloud;
    /// returns the new quoted ETag, or an empty string when the calendar
    /// does not exist.
    pub fn upsert_event(&self, calendar: &str, name: &str, ics: &str) -> String {
        let uid = crate::ical::parse_lenient(ics.as_bytes())
            .map(|i| i.uid.as_str().to_string())
            .unwrap_or_default();
        self.shared
            .account()
            .store(calendar, name, state::to_crlf(ics), uid)
            .map(|(etag, _)| format!("\"{etag}\""))
            .unwrap_or_default()
    }

    /// Replaces `name` in `calendar` without a trace in sync-collection or
    /// the ctag (a change iCloud's change log missed); returns the new
    /// quoted ETag, or an empty string when there is no such object.
    pub fn upsert_event_unlogged(&self, calendar: &str, name: &str, ics: &str) -> String {
        self.shared
            .account()
            .store_unlogged(calendar, name, state::to_crlf(ics))
            .map(|etag| format!("\"{etag}\""))
            .unwrap_or_default()
    }

    /// Deletes `name` from `calendar`; false when it was not there.
    pub fn delete_event(&self, calendar: &str, name: &str) -> bool {
        self.shared.account().remove(calendar, name)
    }

    /// The objects of a calendar, by name.
    pub fn events(&self, calendar: &str) -> Vec<SimEvent> {
        let acc = self.shared.account();
        acc.calendar(calendar)
            .map(|c| {
                c.objects
                    .iter()
                    .map(|(name, o)| SimEvent {
                        name: name.clone(),
                        etag: format!("\"{}\"", o.etag),
                        ics: o.ics.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every object holding `uid`, with its calendar id.
    pub fn find_by_uid(&self, uid: &str) -> Vec<(String, SimEvent)> {
        let acc = self.shared.account();
        acc.uid_holders(uid)
            .into_iter()
            .filter_map(|(cal, name)| {
                let o = acc.calendar(&cal)?.objects.get(&name)?;
                Some((
                    cal.clone(),
                    SimEvent {
                        name,
                        etag: format!("\"{}\"", o.etag),
                        ics: o.ics.clone(),
                    },
                ))
            })
            .collect()
    }

    /// The app-specific password is revoked and `new` is the one accepted
    /// from now on (ICLOUD.md §1.4: revoking one, or changing the Apple ID
    /// password, makes iCloud answer 401 to the old one).
    pub fn revoke_app_password(&self, new: &str) {
        *self
            .shared
            .password
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Secret::new(new.to_string());
    }

    /// Sync tokens issued before now are refused (per [`TokenMode`]).
    /// ctags change too, as they are the same strings (ICLOUD.md §2.1).
    pub fn invalidate_sync_tokens(&self) {
        self.shared.account().epoch += 1;
    }

    /// "iCloud housekeeping": the object's ETag changes, its content does
    /// not (ICLOUD.md §4).
    pub fn touch_etag(&self, calendar: &str, name: &str) {
        self.shared.account().touch(calendar, name);
    }
}
