//! `/feeds/{token}/availability.ics`: a user's merged busy time as an
//! iCalendar feed for webcal subscription. The token is the credential
//! (no Basic auth); it is secret and revocable. ETag / If-None-Match -> 304.

use hyper::{HeaderMap, StatusCode};

use crate::ical;
use crate::ids::FeedToken;
use crate::state::App;

use super::{Error, Reply, Result};
use crate::availability;

/// Serves the feed of the token's owner.
pub async fn get(app: &App, token: &FeedToken, headers: &HeaderMap) -> Result<Reply> {
    let (tenant, user) = app.store.feed_owner(token)?.ok_or(Error::NotFound)?;
    let window = availability::window_at(app, chrono::Utc::now());
    let intervals = availability::busy_for_user(app, &tenant, &user, window)?;
    let body = ical::busy_calendar("Availability", &availability::flatten(&intervals));
    let etag = availability::content_etag(body.as_bytes());
    let inm = headers
        .get(hyper::header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(',')
                .any(|t| crate::ids::ETag::new(t) == etag || t.trim() == "*")
        });
    if inm == Some(true) {
        return Ok(
            Reply::empty(StatusCode::NOT_MODIFIED).header(hyper::header::ETAG, etag.quoted())
        );
    }
    Ok(
        Reply::with_type(StatusCode::OK, "text/calendar; charset=utf-8", body)
            .header(hyper::header::ETAG, etag.quoted())
            .header(hyper::header::CACHE_CONTROL, "private, max-age=60"),
    )
}
