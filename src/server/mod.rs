//! TRANSPORT: listeners, TLS, local auth, body limits, and the one edge
//! where failures become HTTP answers.
//!
//! Must not parse DAV XML or iCalendar and must not touch store internals.
//! `run` owns the accept loop (a semaphore bounds connections, `accept`
//! sizes it and backs off when descriptors run out; `conn` times the first
//! byte and passes every request head through `screen`; shutdown drains
//! gracefully). `request::serve` routes the path (`route`), authenticates
//! as the route requires (`auth`), collects the body within its limits
//! (`body`), and hands everything to `handlers::parse` and
//! `handlers::dispatch`; the outcome is mapped once, in `response`.

mod accept;
pub mod auth;
mod body;
mod conn;
mod request;
pub mod response;
mod screen;
mod throttle;
pub mod tls;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::config::Limits;
use crate::state::App;
use auth::Auth;

/// Transport-level failures (before a handler runs).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No or wrong credentials.
    #[error("authentication required")]
    Unauthorized,
    /// Signed in, but the resource is for local admins only.
    #[error("only a local admin may read this")]
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
    /// The body stopped arriving (`body_read_timeout`, or the request's time ran out).
    #[error("request body did not arrive in time")]
    BodyTimeout,
    /// No route matches the path, or it belongs to someone else.
    #[error("no such resource")]
    NoRoute,
    /// The handler took longer than the configured limit.
    #[error("request timed out")]
    Timeout,
    /// The request target is longer than `max_uri_bytes`.
    #[error("request target exceeds {limit} bytes")]
    UriTooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// The head is larger than `max_header_bytes` or has more than `max_headers` fields.
    #[error("request head exceeds {limit} bytes or {fields} header fields")]
    HeadTooLarge {
        /// The size limit in bytes.
        limit: usize,
        /// The field limit.
        fields: usize,
    },
    /// Not an HTTP/1 request head.
    #[error("malformed request head")]
    MalformedHead,
    /// `Content-Length` repeated or not a number, `Transfer-Encoding` other
    /// than chunked, or both together (RFC 9112 §6.3).
    #[error("ambiguous or invalid message framing (Content-Length, Transfer-Encoding)")]
    BadFraming,
    /// Every password-hash slot and queue place is taken.
    #[error("too many sign-ins at once; retry in {} s", retry_after.as_secs())]
    Busy {
        /// When to retry.
        retry_after: Duration,
    },
    /// Too many failed sign-ins for this user or address.
    #[error("too many failed sign-ins; retry in {} s", retry_after.as_secs())]
    Throttled {
        /// When to retry.
        retry_after: Duration,
    },
}

/// Serves HTTP (or HTTPS when `tls` is set) on `listener` until `shutdown`
/// is cancelled, then drains open connections (bounded by 10 s).
pub async fn run(
    listener: TcpListener,
    app: App,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    crate::crypto::tune_allocator();
    let cap = accept::connection_cap(app.config.limits.max_connections);
    let permits = Arc::new(Semaphore::new(cap));
    let transport = Transport {
        auth: Auth::new(&app.config.limits, app.metrics.clone(), app.hashes.clone()),
    };
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let mut backoff = accept::Backoff::default();
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
                Ok(x) => {
                    backoff.succeeded();
                    x
                }
                Err(e) => {
                    let wait = backoff.failed(&e, std::time::Instant::now());
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(wait) => continue,
                    }
                }
            },
        };
        let accepted = tokio::time::Instant::now();
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let transport = transport.clone();
        let watcher = graceful.watcher();
        let acceptor = acceptor.clone();
        let open = permits.clone();
        tokio::spawn(async move {
            // The last connection to close gives the burst's memory back
            // (the accept loop holds one permit while it waits).
            let _trim = scopeguard(move || {
                if open.available_permits() + 1 >= cap {
                    crate::crypto::trim();
                }
            });
            let _permit = permit;
            let limits = app.config.limits.clone();
            let svc = hyper::service::service_fn(move |req| {
                let (app, transport) = (app.clone(), transport.clone());
                async move { Ok::<_, Infallible>(request::serve(app, transport, req, peer).await) }
            });
            let builder = builder(&limits);
            let deadline = accepted + limits.header_read_timeout;
            match acceptor {
                Some(acceptor) => {
                    let handshake = acceptor.accept(stream);
                    let tls =
                        match tokio::time::timeout(limits.tls_handshake_timeout, handshake).await {
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
                    let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
                    let screen = (!h2).then(|| head_limits(&limits));
                    let io = conn::Guarded::new(tls, deadline, screen);
                    let conn = builder.serve_connection(TokioIo::new(io), svc).into_owned();
                    let _ = watcher.watch(conn).await;
                }
                None => {
                    let io = conn::Guarded::new(stream, deadline, Some(head_limits(&limits)));
                    let conn = builder.serve_connection(TokioIo::new(io), svc).into_owned();
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

/// What the transport keeps across requests: sign-in (cache, hashing pool).
#[derive(Clone)]
struct Transport {
    auth: Auth,
}

/// The screen's limits (issue 12 #8).
fn head_limits(l: &Limits) -> screen::HeadLimits {
    screen::HeadLimits {
        max_head: l.max_header_bytes,
        max_uri: l.max_uri_bytes,
        max_headers: l.max_headers,
    }
}

/// hyper's connection settings. Its own head limits are set above the
/// screen's, so a head that passed the screen is never refused by hyper
/// with an empty body.
fn builder(l: &Limits) -> auto::Builder<TokioExecutor> {
    let mut b = auto::Builder::new(TokioExecutor::new());
    b.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(l.header_read_timeout)
        .max_headers(l.max_headers + 1)
        .max_buf_size((l.max_header_bytes * 2).max(400 * 1024));
    b.http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(l.max_header_bytes).unwrap_or(u32::MAX));
    b
}

/// Runs `f` when dropped (after everything declared later in the scope).
fn scopeguard(f: impl FnOnce()) -> impl Drop {
    struct Guard<F: FnOnce()>(Option<F>);
    impl<F: FnOnce()> Drop for Guard<F> {
        fn drop(&mut self) {
            if let Some(f) = self.0.take() {
                f();
            }
        }
    }
    Guard(Some(f))
}
