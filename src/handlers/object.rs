//! GET/HEAD of a calendar object (RFC 4791 §5.3.4 for reading). Collections
//! and principals have no GET representation here.

use hyper::StatusCode;

use crate::dav::DavHeaders;
use crate::route::Route;

use super::{allow_for, load, Ctx, Error, Reply, Resource, Result};

/// Serves an object's bytes with its ETag; `If-None-Match` -> 304.
pub(crate) fn get(ctx: &Ctx<'_>, route: &Route, h: &DavHeaders) -> Result<Reply> {
    match load(ctx, route)? {
        Some(Resource::Object { rec, .. }) => {
            if h.if_none_match
                .as_ref()
                .is_some_and(|m| m.matches(&rec.etag))
            {
                return Ok(Reply::empty(StatusCode::NOT_MODIFIED)
                    .header(hyper::header::ETAG, rec.etag.quoted()));
            }
            Ok(
                Reply::with_type(StatusCode::OK, "text/calendar; charset=utf-8", rec.data)
                    .header(hyper::header::ETAG, rec.etag.quoted()),
            )
        }
        Some(_) => Err(Error::MethodNotAllowed {
            allow: allow_for(route),
        }),
        None => Err(Error::NotFound),
    }
}
