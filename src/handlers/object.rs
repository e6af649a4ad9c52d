//! GET/HEAD of a calendar object (RFC 4791 §5.3.4 for reading), with the
//! same `Content-Type` as its `getcontenttype` (`props::content_type`).
//! Collections and principals are described by `describe`.

use hyper::StatusCode;

use crate::dav::DavHeaders;
use crate::route::Route;

use super::{load, methods, props, Ctx, Error, Reply, Resource, Result};

/// Serves an object's bytes with its ETag; `If-None-Match` -> 304.
pub(crate) fn get(ctx: &Ctx<'_>, route: &Route, h: &DavHeaders) -> Result<Reply> {
    match load(ctx, route)? {
        Some(Resource::Object {
            key, name, meta, ..
        }) => {
            if h.if_none_match
                .as_ref()
                .is_some_and(|m| m.matches(&meta.etag))
            {
                return Ok(Reply::empty(StatusCode::NOT_MODIFIED)
                    .header(hyper::header::ETAG, meta.etag.quoted()));
            }
            let body = ctx
                .app
                .store
                .object_body(&key, &name)?
                .ok_or(Error::NotFound)?;
            Ok(Reply::with_type(
                StatusCode::OK,
                props::content_type(&meta),
                body.into_bytes(),
            )
            .header(hyper::header::ETAG, meta.etag.quoted()))
        }
        Some(_) => Err(Error::MethodNotAllowed {
            allow: methods::allow(route),
        }),
        None => Err(Error::NotFound),
    }
}
