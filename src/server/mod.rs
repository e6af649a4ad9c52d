//! TRANSPORT: listeners, TLS, local auth, body limits, and the one edge
//! where failures become HTTP answers.
//!
//! Must not parse DAV XML or iCalendar and must not touch store internals.
//! `run` owns the accept loop (a semaphore bounds connections; shutdown
//! drains gracefully); `serve_request` routes the path (`route`),
//! authenticates as the route requires, collects the body within its
//! limit, and hands everything to `handlers::parse` and
//! `handlers::dispatch`; the outcome is mapped once, in `response`.

pub mod auth;
mod body;
pub mod response;
pub mod tls;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::handlers::{self, Caller};
use crate::route::{Access, Route};
use crate::state::App;
use auth::AuthCache;

/// Transport-level failures (before a handler runs).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No or wrong credentials.
    #[error("authentication required")]
    Unauthorized,
    /// Signed in, but `/debug/…` is for local admins only.
    #[error("only a local admin may read recorded traffic")]
    NotAdmin,
    /// The body exceeded the configured limit.
    #[error("request body exceeds {limit} bytes")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body could not be read from the connection.
    #[error("request body could not be read")]
    BodyRead,
    /// No route matches the path, or it belongs to someone else.
    #[error("no such resource")]
    NoRoute,
    /// The request took longer than the configured limit.
    #[error("request timed out")]
    Timeout,
}

/// Serves HTTP (or HTTPS when `tls` is set) on `listener` until `shutdown`
/// is cancelled, then drains open connections (bounded by 10 s).
pub async fn run(
    listener: TcpListener,
    app: App,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(app.config.limits.max_connections));
    let transport = Transport {
        auth: AuthCache::new(app.config.limits.auth_cache_ttl),
    };
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    loop {
        let permit = tokio::select! {
            _ = shutdown.cancelled() => break,
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let transport = transport.clone();
        let watcher = graceful.watcher();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let header_timeout = app.config.limits.header_read_timeout;
            let handshake_timeout = app.config.limits.tls_handshake_timeout;
            let svc = hyper::service::service_fn(move |req| {
                let (app, transport) = (app.clone(), transport.clone());
                async move { Ok::<_, Infallible>(serve_request(app, transport, req, peer).await) }
            });
            let mut builder = auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout);
            match acceptor {
                Some(acceptor) => {
                    let tls = match tokio::time::timeout(handshake_timeout, acceptor.accept(stream))
                        .await
                    {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "tls handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "tls handshake timed out");
                            return;
                        }
                    };
                    let conn = builder
                        .serve_connection(TokioIo::new(tls), svc)
                        .into_owned();
                    let _ = watcher.watch(conn).await;
                }
                None => {
                    let conn = builder
                        .serve_connection(TokioIo::new(stream), svc)
                        .into_owned();
                    let _ = watcher.watch(conn).await;
                }
            }
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(std::time::Duration::from_secs(10)) => {
            tracing::warn!("connections still open after 10 s; closing");
        }
    }
    Ok(())
}

/// Numbers requests for the access log.
static NEXT_REQUEST_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// What the transport keeps across requests: the verified-credential cache.
#[derive(Clone)]
struct Transport {
    auth: AuthCache,
}

/// One request: route, authenticate, read the body, parse and dispatch it
/// through `handlers`, map the outcome. Never fails: errors become DAV
/// error responses.
async fn serve_request(
    app: App,
    transport: Transport,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Response<Full<Bytes>> {
    let started = Instant::now();
    let method = req.method().clone();
    let route = Route::parse_request(req.uri().path(), &method);
    let route_kind = route.as_ref().map_or("none", Route::kind);
    let timeout = app.config.limits.request_timeout;
    let outcome =
        match tokio::time::timeout(timeout, handle(&app, &transport, req, route, peer)).await {
            Ok(r) => r,
            Err(_) => Err(response::Failure::Transport(Error::Timeout)),
        };
    let resp = response::render(outcome, &method);
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

/// Authenticates the caller as the route requires.
async fn caller(
    app: &App,
    transport: &Transport,
    access: Access,
    header: Option<&str>,
) -> Result<Caller, Error> {
    match access {
        // Public routes, and the console, which checks its session cookie itself.
        Access::Public | Access::Session => Ok(Caller::Anonymous),
        Access::User => auth::authenticate(&app.store, &transport.auth, header)
            .await
            .map(Caller::User)
            .ok_or(Error::Unauthorized),
        Access::Admin => match auth::authenticate_admin(&app.store, header).await {
            Some(name) => Ok(Caller::Admin(name)),
            // A tenant user is known but not allowed; anyone else must sign in.
            None => match auth::authenticate(&app.store, &transport.auth, header).await {
                Some(_) => Err(Error::NotAdmin),
                None => Err(Error::Unauthorized),
            },
        },
    }
}

async fn handle(
    app: &App,
    transport: &Transport,
    req: Request<Incoming>,
    route: Option<Route>,
    peer: SocketAddr,
) -> Result<handlers::Reply, response::Failure> {
    let route = route.ok_or(Error::NoRoute)?;
    let header = req
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let who = caller(
        app,
        transport,
        handlers::needs(&route, req.method()),
        header,
    )
    .await?;
    let (parts, body) = req.into_parts();
    let declared = parts
        .headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let body = body::collect(body, declared, app.config.limits.max_body_bytes).await?;
    let request = handlers::parse(
        route,
        &parts.method,
        &parts.headers,
        parts.uri.query(),
        body,
    )?
    .with_peer(peer.ip());
    Ok(handlers::dispatch(app, &who, request).await?)
}
