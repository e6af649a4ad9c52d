//! `GET /api/{tenant}/{user}/slots?start=…&end=…&duration=PT30M[&interval=…]
//! [&buffer_before=…&buffer_after=…][&tz=…]`: the signed-in user's free
//! slots as JSON (`views::slots`; Basic auth or a console session,
//! another user's path is 404). A query outside the limits (window over
//! 62 days, duration outside 5 minutes – 24 hours, …) is 400 with the
//! limit in the message.

use hyper::StatusCode;

use crate::ical::TimeRange;
use crate::ids::UserRef;
use crate::state::App;
use crate::views::slots::{QueryError, SlotParams, SlotQuery};
use crate::views::sources::Freshness;

use super::busy_api::{param, time};
use super::{Error, Reply, Result};

fn decoded(query: Option<&str>, name: &str) -> Option<String> {
    // No `+` for space: no value here has spaces, and zones such as
    // Etc/GMT+5 carry a plus.
    param(query, name).map(|v| {
        percent_encoding::percent_decode_str(v)
            .decode_utf8_lossy()
            .into_owned()
    })
}

/// Answers the JSON for the principal's own free slots.
pub(super) fn get(
    app: &App,
    principal: &UserRef,
    owner: &UserRef,
    query: Option<&str>,
) -> Result<Reply> {
    if principal != owner {
        return Err(Error::NotFound);
    }
    let invalid = |source| Error::InvalidQuery { source };
    let start = param(query, "start").and_then(time);
    let end = param(query, "end").and_then(time);
    let (Some(start), Some(end)) = (start, end) else {
        return Err(invalid(QueryError::Range));
    };
    let (duration, interval, before, after, tz) = (
        decoded(query, "duration"),
        decoded(query, "interval"),
        decoded(query, "buffer_before"),
        decoded(query, "buffer_after"),
        decoded(query, "tz"),
    );
    let params = SlotParams {
        duration: duration.as_deref(),
        interval: interval.as_deref(),
        buffer_before: before.as_deref(),
        buffer_after: after.as_deref(),
        tz: tz.as_deref(),
    };
    let q = SlotQuery::new(TimeRange { start, end }, &params).map_err(invalid)?;
    let budget = app.expansion_budget();
    let fresh = Freshness::of(&app.config);
    let slots = app.views.slots(owner, &q, fresh, Some(&budget))?;
    let body = serde_json::to_vec(&slots).map_err(|_| Error::NotImplemented)?;
    Ok(Reply::with_type(StatusCode::OK, "application/json", body))
}
