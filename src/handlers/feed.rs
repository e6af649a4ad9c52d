//! `/feeds/{token}/availability.ics`: a user's merged busy time as an
//! iCalendar feed for webcal subscription. The token is the credential
//! (no Basic auth); it is secret and revocable. The document and its ETag
//! come from `views` (derived once per change); `If-None-Match` -> 304.

use hyper::StatusCode;

use crate::dav::EtagCondition;
use crate::ids::FeedToken;
use crate::state::App;

use super::{Error, Reply, Result};

/// Serves the feed of the token's owner.
pub(super) fn get(
    app: &App,
    token: &FeedToken,
    if_none_match: Option<&EtagCondition>,
) -> Result<Reply> {
    let owner = app.store.feed_owner(token)?.ok_or(Error::NotFound)?;
    let doc = app.views.feed(&owner)?;
    if if_none_match.is_some_and(|c| c.matches(&doc.etag)) {
        return Ok(
            Reply::empty(StatusCode::NOT_MODIFIED).header(hyper::header::ETAG, doc.etag.quoted())
        );
    }
    Ok(Reply::with_type(
        StatusCode::OK,
        "text/calendar; charset=utf-8",
        doc.body.clone(),
    )
    .header(hyper::header::ETAG, doc.etag.quoted())
    .header(hyper::header::CACHE_CONTROL, "private, max-age=60"))
}
