//! THE edge: every failure becomes a status, an error body and one
//! access-log event here, and nowhere else: a `<D:error>` body, or for the
//! JSON API (`/api/…`) `{"error": …, "status": …}`. Refusals of a request
//! head (414, 431, 400) reach here too, through `conn`'s stand-in request.
//!
//! `status_of` matches every variant of `handlers::Error` and
//! `server::Error` by name (no wildcard arm over them), so a new variant
//! forces a decision; only the precondition of a malformed request is
//! matched with a default.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::HeaderValue;
use hyper::{Method, Response, StatusCode};

use crate::dav::{self, Precondition};
use crate::handlers::{self, Reply};

/// How error bodies are written for a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `<D:error>` (RFC 4918 §16), `application/xml`.
    Dav,
    /// `{"error": "…", "status": N}`, `application/json` (the `/api/…` routes).
    Json,
}

/// Why a request failed: before the handler (transport) or inside it.
#[derive(Debug)]
pub enum Failure {
    /// Routing, auth, body limits.
    Transport(super::Error),
    /// Handler errors.
    Handler(handlers::Error),
}

impl From<super::Error> for Failure {
    fn from(e: super::Error) -> Self {
        Failure::Transport(e)
    }
}

impl From<handlers::Error> for Failure {
    fn from(e: handlers::Error) -> Self {
        Failure::Handler(e)
    }
}

/// Status and DAV precondition of a failure.
fn status_of(f: &Failure) -> (StatusCode, Option<Precondition>) {
    use super::Error as T;
    use handlers::Error as H;
    match f {
        Failure::Transport(t) => match t {
            T::Unauthorized => (StatusCode::UNAUTHORIZED, None),
            T::NotAdmin => (StatusCode::FORBIDDEN, None),
            T::BodyTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, None),
            T::BodyRead => (StatusCode::BAD_REQUEST, None),
            T::BodyTimeout => (StatusCode::REQUEST_TIMEOUT, None),
            T::NoRoute => (StatusCode::NOT_FOUND, None),
            T::Timeout => (StatusCode::SERVICE_UNAVAILABLE, None),
            T::UriTooLong { .. } => (StatusCode::URI_TOO_LONG, None),
            T::HeadTooLarge { .. } => (StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, None),
            T::MalformedHead | T::BadFraming => (StatusCode::BAD_REQUEST, None),
            T::Busy { .. } => (StatusCode::SERVICE_UNAVAILABLE, None),
            T::Throttled { .. } => (StatusCode::TOO_MANY_REQUESTS, None),
        },
        Failure::Handler(h) => match h {
            H::BadRequest { source } => {
                let pre = source.precondition();
                let status = match pre {
                    Some(Precondition::SupportedReport) => StatusCode::FORBIDDEN,
                    Some(Precondition::PropfindFiniteDepth) => StatusCode::FORBIDDEN,
                    _ => StatusCode::BAD_REQUEST,
                };
                (status, pre)
            }
            H::Invalid { precondition, .. } => (StatusCode::BAD_REQUEST, precondition.clone()),
            H::InvalidQuery { .. } => (StatusCode::BAD_REQUEST, None),
            H::Unauthenticated => (StatusCode::UNAUTHORIZED, None),
            H::NotFound => (StatusCode::NOT_FOUND, None),
            H::MethodNotAllowed { .. } => (StatusCode::METHOD_NOT_ALLOWED, None),
            H::Conflict { .. } => (StatusCode::CONFLICT, None),
            H::Refused { .. } => (StatusCode::FORBIDDEN, None),
            H::NotImplemented => (StatusCode::NOT_IMPLEMENTED, None),
            H::Forbidden { precondition, .. } => {
                (StatusCode::FORBIDDEN, Some(precondition.clone()))
            }
            H::InvalidCalendar { precondition, .. } => {
                (StatusCode::FORBIDDEN, Some(precondition.clone()))
            }
            H::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Some(Precondition::SupportedCalendarData),
            ),
            H::PreconditionFailed => (StatusCode::PRECONDITION_FAILED, None),
            H::UidConflict { existing } => (
                StatusCode::FORBIDDEN,
                Some(Precondition::NoUidConflict {
                    href: existing.clone(),
                }),
            ),
            H::InvalidSyncToken => (StatusCode::FORBIDDEN, Some(Precondition::ValidSyncToken)),
            H::UpstreamRejected { .. } => (
                StatusCode::FORBIDDEN,
                Some(Precondition::ValidCalendarObjectResource),
            ),
            H::TooMuchWork { .. } => (
                StatusCode::FORBIDDEN,
                Some(Precondition::NumberOfMatchesWithinLimits),
            ),
            H::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, None),
            H::Store(_) => (StatusCode::INTERNAL_SERVER_ERROR, None),
        },
    }
}

/// The error chain as one line: "outer: cause: root".
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let _ = write!(s, ": {c}");
        cur = c.source();
    }
    s
}

fn message(f: &Failure) -> String {
    match f {
        Failure::Transport(t) => chain(t),
        Failure::Handler(h) => chain(h),
    }
}

/// Builds the HTTP response for a handler outcome.
pub fn render(
    outcome: Result<Reply, Failure>,
    method: &Method,
    format: Format,
) -> Response<Full<Bytes>> {
    let reply = match outcome {
        Ok(r) => r,
        Err(f) => failure_reply(&f, format),
    };
    let mut resp = Response::new(Full::new(if method == Method::HEAD {
        Bytes::new()
    } else {
        reply.body.clone()
    }));
    *resp.status_mut() = reply.status;
    let headers = resp.headers_mut();
    for (name, value) in reply.headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.append(name, v);
        }
    }
    if method == Method::HEAD {
        if let Ok(v) = HeaderValue::from_str(&reply.body.len().to_string()) {
            headers.insert(hyper::header::CONTENT_LENGTH, v);
        }
    }
    resp
}

fn failure_reply(f: &Failure, format: Format) -> Reply {
    let (status, pre) = status_of(f);
    let msg = message(f);
    if status.is_server_error() {
        tracing::error!(status = status.as_u16(), error = %msg, "request failed");
    } else {
        tracing::debug!(status = status.as_u16(), error = %msg, "request refused");
    }
    let mut reply = match format {
        Format::Dav => Reply::with_type(
            status,
            "application/xml; charset=utf-8",
            dav::error_body(pre.as_ref(), &msg),
        ),
        Format::Json => Reply::with_type(
            status,
            "application/json",
            serde_json::json!({ "error": msg, "status": status.as_u16() }).to_string(),
        ),
    };
    use super::Error as T;
    match f {
        Failure::Transport(T::Unauthorized)
        | Failure::Handler(handlers::Error::Unauthenticated) => {
            reply.headers.push((
                hyper::header::WWW_AUTHENTICATE,
                "Basic realm=\"calproxy\", charset=\"UTF-8\"".into(),
            ));
        }
        Failure::Handler(handlers::Error::MethodNotAllowed { allow }) => {
            reply.headers.push((hyper::header::ALLOW, (*allow).into()));
        }
        Failure::Transport(T::Busy { retry_after } | T::Throttled { retry_after }) => {
            let secs = retry_after.as_secs().max(1);
            reply
                .headers
                .push((hyper::header::RETRY_AFTER, secs.to_string()));
        }
        // The rest of the request is unread or unreadable: the connection ends.
        Failure::Transport(
            T::BodyTooLarge { .. }
            | T::BodyTimeout
            | T::UriTooLong { .. }
            | T::HeadTooLarge { .. }
            | T::MalformedHead
            | T::BadFraming,
        ) => {
            reply
                .headers
                .push((hyper::header::CONNECTION, "close".into()));
        }
        _ => {}
    }
    reply
}

/// One structured access event per request (never credentials).
pub fn log_access(
    request_id: u64,
    method: &Method,
    route: &'static str,
    status: StatusCode,
    elapsed: Duration,
    peer: SocketAddr,
) {
    tracing::info!(
        target: "calproxy::access",
        request_id,
        method = %method,
        route,
        status = status.as_u16(),
        elapsed_ms = elapsed.as_secs_f64() * 1000.0,
        peer = %peer,
    );
}
