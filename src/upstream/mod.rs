//! UPSTREAM: the CalDAV client for iCloud (or any standards-following
//! server): discovery, calendar listing, sync and writes.
//!
//! Pure request builders (`requests`) and pure parsers (`parse`) around one
//! thin async I/O shell (`client`), which reports every exchange to an
//! optional observer (the `traffic` recorder) without credentials. iCloud
//! workarounds live in `quirks`, one named function each. Knows nothing of
//! the store, traffic recording or the server. `feed` is the same for
//! read-only ICS feeds: URL rules, the conditional GET and its answer.

pub mod client;
pub mod discovery;
pub mod feed;
pub mod parse;
pub mod quirks;
pub mod requests;

pub use client::{Client, Credentials, Exchange, Observed, Observer};
pub use discovery::{discover, Discovery};
pub use parse::{CalendarKind, RemoteCalendar};

use std::time::Duration;

use crate::dav::Precondition;

/// Errors of the upstream layer. Never carries a credential.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The URL could not be understood.
    #[error("invalid upstream url {url}")]
    BadUrl {
        /// The offending URL (no credentials: we never put them in URLs).
        url: String,
    },
    /// Connecting or talking to the server failed.
    #[error("cannot reach {host}")]
    Unreachable {
        /// Host and port.
        host: String,
        /// The cause.
        #[source]
        source: Box<hyper_util::client::legacy::Error>,
    },
    /// Reading the response body failed.
    #[error("connection to {host} broke while reading the answer")]
    BodyRead {
        /// Host and port.
        host: String,
    },
    /// No answer in time.
    #[error("{host} did not answer within {after:?}")]
    Timeout {
        /// Host and port.
        host: String,
        /// The limit.
        after: Duration,
    },
    /// 401: wrong Apple ID or password (or not an app-specific password).
    #[error("upstream refused the credentials (401)")]
    Unauthorized,
    /// 503/429: throttled; try again later.
    #[error("upstream is throttling ({status}), retry after {retry_after:?}")]
    Throttled {
        /// 503 or 429.
        status: u16,
        /// Its `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// Any other non-success answer.
    #[error("upstream answered {status} to {method} {path}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// Method of the request.
        method: String,
        /// Path of the request.
        path: String,
        /// The DAV precondition in the error body, if any.
        precondition: Option<Box<Precondition>>,
    },
    /// The answer was larger than the client reads (an ICS feed's size limit).
    #[error("the answer is larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// A 2xx answer whose body did not make sense.
    #[error("upstream answer not understood: {what}")]
    BadResponse {
        /// What was missing or wrong.
        what: &'static str,
    },
    /// A multistatus that did not parse.
    #[error("upstream multistatus did not parse")]
    Xml(#[from] crate::dav::Error),
}

impl Error {
    /// Whether retrying later may help (network trouble, throttling, 5xx).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Unreachable { .. } | Error::BodyRead { .. } | Error::Timeout { .. } => true,
            Error::Throttled { .. } => true,
            Error::Rejected { status, .. } => *status >= 500,
            Error::BadUrl { .. }
            | Error::Unauthorized
            | Error::TooLarge { .. }
            | Error::BadResponse { .. }
            | Error::Xml(_) => false,
        }
    }
}

/// Result alias of the upstream layer.
pub type Result<T> = std::result::Result<T, Error>;
