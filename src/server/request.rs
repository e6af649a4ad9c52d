//! One request, end to end: a refused head's stand-in, routing,
//! authentication, the body (within its size and time limits), dispatch
//! through `handlers`, and the answer from `response`, with one metrics
//! count and one access-log event.
//!
//! Time: the whole request has `request_timeout`; a body that stalls for
//! `body_read_timeout` (or is still arriving when the time is up) is 408,
//! a handler still running is 503. A body left unread because the request
//! was refused first (401, 404, 429, 503) is discarded in the background,
//! bounded, so the client's retry on the same connection works (issue 12
//! #10); one that cannot be discarded cheaply gets `Connection: close`.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, AUTHORIZATION, CONNECTION, CONTENT_LENGTH};
use hyper::{Request, Response};
use tokio::time::timeout_at;

use super::auth::{self, Denied};
use super::response::{self, Failure, Format};
use super::screen::Refusal;
use super::{body, conn, Error, Transport};
use crate::config::Limits;
use crate::handlers::{self, Caller};
use crate::route::{self, Access, Route};
use crate::state::App;

/// Numbers requests for the access log.
static NEXT_REQUEST_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Serves one request. Never fails: errors become error responses.
pub(super) async fn serve(
    app: App,
    transport: Transport,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Response<Full<Bytes>> {
    let started = Instant::now();
    let method = req.method().clone();
    let format = if req.uri().path().starts_with("/api/") {
        Format::Json
    } else {
        Format::Dav
    };
    let route = Route::parse_request(req.uri().path(), &method);
    let stand_in = req
        .headers()
        .get(conn::REFUSAL_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(conn::refusal_of);
    let route_kind = match (&stand_in, &route) {
        (Some(_), _) => "refused",
        (None, r) => r.as_ref().map_or("none", Route::kind),
    };
    let (outcome, close) = match stand_in {
        Some(r) => (Err(refused(r, &app.config.limits).into()), true),
        None => answer(&app, &transport, req, route, peer).await,
    };
    let mut resp = response::render(outcome, &method, format);
    if close {
        resp.headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    let status = resp.status();
    app.metrics.record(route_kind, status.as_u16());
    let request_id = NEXT_REQUEST_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    response::log_access(
        request_id,
        &method,
        route_kind,
        status,
        started.elapsed(),
        peer,
    );
    resp
}

/// The error a refused head stands for.
fn refused(r: Refusal, l: &Limits) -> Error {
    match r {
        Refusal::UriTooLong => Error::UriTooLong {
            limit: l.max_uri_bytes,
        },
        Refusal::HeadTooLarge => Error::HeadTooLarge {
            limit: l.max_header_bytes,
            fields: l.max_headers,
        },
        Refusal::Malformed => Error::MalformedHead,
        Refusal::BadContentLength | Refusal::BadTransferEncoding => Error::BadFraming,
    }
}

/// Authenticates the caller as the route requires.
async fn caller(
    app: &App,
    transport: &Transport,
    access: Access,
    header: Option<&str>,
    peer: IpAddr,
) -> Result<Caller, Error> {
    let auth = &transport.auth;
    match access {
        // Public routes, and the console, which checks its session cookie itself.
        Access::Public | Access::Session => Ok(Caller::Anonymous),
        Access::User => auth
            .user(&app.store, header, peer)
            .await
            .map(Caller::User)
            .map_err(denied),
        // The JSON API: Basic auth when given, else the handler looks for
        // a console session.
        Access::UserOrSession => match header {
            Some(_) => auth
                .user(&app.store, header, peer)
                .await
                .map(Caller::User)
                .map_err(denied),
            None => Ok(Caller::Anonymous),
        },
        Access::Admin => match auth.admin(&app.store, header, peer).await {
            Ok(name) => Ok(Caller::Admin(name)),
            Err(Denied::Unauthenticated) => {
                match auth.user_uncounted(&app.store, header, peer).await {
                    // A tenant user is known but not allowed; anyone else must sign in.
                    Ok(_) => Err(Error::NotAdmin),
                    Err(d) => Err(denied(d)),
                }
            }
            Err(d) => Err(denied(d)),
        },
    }
}

/// Who may read `/metrics` (issue 12 #6): with a configured token, its
/// bearer; without one, any loopback peer; and always a local admin.
async fn metrics_caller(
    app: &App,
    transport: &Transport,
    header: Option<&str>,
    peer: IpAddr,
) -> Result<Caller, Error> {
    let open = match &app.config.metrics.token_sha256 {
        Some(want) => auth::bearer_matches(header, want),
        None => peer.to_canonical().is_loopback(),
    };
    if open {
        return Ok(Caller::Anonymous);
    }
    caller(app, transport, Access::Admin, header, peer).await
}

fn denied(d: Denied) -> Error {
    match d {
        Denied::Unauthenticated => Error::Unauthorized,
        Denied::Busy(retry_after) => Error::Busy { retry_after },
        Denied::Throttled(retry_after) => Error::Throttled { retry_after },
    }
}

/// The outcome of a request, and whether its connection must close.
async fn answer(
    app: &App,
    transport: &Transport,
    req: Request<Incoming>,
    route: Option<Route>,
    peer: SocketAddr,
) -> (Result<handlers::Reply, Failure>, bool) {
    let limits = &app.config.limits;
    let deadline = tokio::time::Instant::now() + limits.request_timeout;
    let (parts, incoming) = req.into_parts();
    let before_body = async {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let Some(route) = route else {
            // A DAV path that names nothing still asks for credentials
            // first: neon-based clients (cadaver, litmus) send them only
            // after a 401, and a stranger learns nothing from a 404 that
            // a 401 hides (issue 12 #14).
            if route::in_dav_space(parts.uri.path()) {
                caller(app, transport, Access::User, header, peer.ip()).await?;
            }
            return Err(Error::NoRoute);
        };
        let who = match route {
            Route::Metrics => metrics_caller(app, transport, header, peer.ip()).await?,
            _ => {
                let access = handlers::needs(&route, &parts.method);
                caller(app, transport, access, header, peer.ip()).await?
            }
        };
        Ok::<_, Error>((route, who))
    };
    let (route, who) = match timeout_at(deadline, before_body).await {
        Ok(Ok(x)) => x,
        Ok(Err(e)) => {
            return (
                Err(e.into()),
                !body::discard(incoming, &parts.headers, limits),
            )
        }
        Err(_) => {
            let kept = body::discard(incoming, &parts.headers, limits);
            return (Err(Error::Timeout.into()), !kept);
        }
    };
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let read = body::collect(incoming, declared, limits, deadline).await;
    let bytes = match read {
        Ok(b) => b,
        // The rest of the body is unread: the connection cannot be reused.
        Err(e) => return (Err(e.into()), true),
    };
    let handled = async {
        let request = handlers::parse(
            route,
            &parts.method,
            &parts.headers,
            parts.uri.query(),
            bytes,
        )?
        .with_peer(peer.ip());
        Ok(handlers::dispatch(app, &who, request).await?)
    };
    match timeout_at(deadline, handled).await {
        Ok(r) => (r, false),
        Err(_) => (Err(Error::Timeout.into()), false),
    }
}
