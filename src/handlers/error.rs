//! `handlers::Error`: what a request can fail with, in request terms.
//!
//! Holds no status codes: `server::response` owns that mapping.

use crate::dav::Precondition;
use crate::ids::Href;

/// Errors of request handling.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request could not be parsed (XML, headers, filter).
    #[error("malformed request")]
    BadRequest {
        /// The parse error.
        #[source]
        source: crate::dav::Error,
    },
    /// The request is well-formed but asks for something invalid.
    #[error("invalid request: {reason}")]
    Invalid {
        /// What was wrong.
        reason: &'static str,
        /// The DAV precondition, if one names it.
        precondition: Option<Precondition>,
    },
    /// A query of the JSON API outside its limits or malformed.
    #[error("invalid query")]
    InvalidQuery {
        /// What was wrong, naming the limit.
        #[source]
        source: crate::views::slots::QueryError,
    },
    /// Neither Basic auth nor a console session (the JSON API).
    #[error("sign in: Basic auth or a console session")]
    Unauthenticated,
    /// The resource does not exist (or is not visible to this user).
    #[error("no such resource")]
    NotFound,
    /// The method is not allowed on this resource.
    #[error("method not allowed here")]
    MethodNotAllowed {
        /// The value of the `Allow` header.
        allow: &'static str,
    },
    /// The request cannot be carried out where it points (RFC 4918 §9.3.1,
    /// §9.7.1, §9.8.5): a PUT or MKCOL whose parent collection does not
    /// exist, a COPY or MOVE whose destination is no place for an object.
    #[error("conflict: {reason}")]
    Conflict {
        /// What is missing or wrong.
        reason: &'static str,
    },
    /// Refused for a reason no DAV precondition names: MKCOL inside a
    /// calendar (RFC 4918 §9.3.1), COPY or MOVE onto the source itself
    /// (§9.8.5).
    #[error("forbidden: {reason}")]
    Refused {
        /// Why.
        reason: &'static str,
    },
    /// The method is not implemented at all.
    #[error("method not implemented")]
    NotImplemented,
    /// A write the one-way contract or the privilege model refuses.
    #[error("forbidden: {reason}")]
    Forbidden {
        /// The policy reason, e.g. "blocked slot from iCloud (R2)".
        reason: String,
        /// The DAV precondition (usually need-privileges).
        precondition: Precondition,
    },
    /// PUT data that is not a valid calendar object.
    #[error("invalid calendar data")]
    InvalidCalendar {
        /// Which CalDAV precondition failed.
        precondition: Precondition,
        /// The parser's explanation.
        #[source]
        source: crate::ical::Error,
    },
    /// The PUT body is not `text/calendar`.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// `If-Match` / `If-None-Match` failed.
    #[error("precondition failed")]
    PreconditionFailed,
    /// The UID is already used by another object of the collection.
    #[error("uid already in use")]
    UidConflict {
        /// The object that holds the UID.
        existing: Href,
    },
    /// An RFC 6578 sync token we did not issue or no longer know.
    #[error("invalid sync token")]
    InvalidSyncToken,
    /// iCloud definitively refused a system event (R1); the local copy was removed.
    #[error("iCloud refused the event ({status}): {reason}")]
    UpstreamRejected {
        /// iCloud's status.
        status: u16,
        /// Why, one line.
        reason: String,
    },
    /// The request would expand more recurrences than one request may
    /// (`ical::DEFAULT_REQUEST_BUDGET` generated dates).
    #[error(
        "the request expands more than {limit} recurrence dates; ask for a shorter time range"
    )]
    TooMuchWork {
        /// The budget.
        limit: u64,
    },
    /// The request could not be run (its task failed or the server is stopping).
    #[error("the request could not be run")]
    Unavailable,
    /// The store failed.
    #[error("storage failed")]
    Store(#[source] crate::store::Error),
}

impl From<crate::dav::Error> for Error {
    fn from(source: crate::dav::Error) -> Self {
        Error::BadRequest { source }
    }
}

impl From<crate::views::Error> for Error {
    fn from(e: crate::views::Error) -> Self {
        match e {
            crate::views::Error::Store(s) => s.into(),
            crate::views::Error::Budget { limit } => Error::TooMuchWork { limit },
            crate::views::Error::Injected => Error::Store(crate::store::Error::Busy),
        }
    }
}

impl From<crate::store::Error> for Error {
    fn from(e: crate::store::Error) -> Self {
        match e {
            crate::store::Error::NoCollection | crate::store::Error::NoObject { .. } => {
                Error::NotFound
            }
            crate::store::Error::PreconditionFailed { .. } => Error::PreconditionFailed,
            crate::store::Error::InvalidSyncToken => Error::InvalidSyncToken,
            other => Error::Store(other),
        }
    }
}

/// Result alias of the handlers layer.
pub type Result<T> = std::result::Result<T, Error>;
