//! `GET /api/{tenant}/{user}/busy?start=…&end=…`: "why busy" as JSON for
//! the signed-in user (Basic auth; another user's path is 404 like every
//! other path of theirs). `start`/`end` are RFC 3339 or iCalendar UTC
//! (`20260302T000000Z`); the answer is
//! `[{start, end, kind, sources: [{calendar, object?, summary?}]}]`.

use chrono::{DateTime, NaiveDateTime, Utc};
use hyper::StatusCode;

use crate::ical::TimeRange;
use crate::ids::UserRef;
use crate::state::App;

use super::{Error, Reply, Result};

pub(super) fn time(v: &str) -> Option<DateTime<Utc>> {
    let v = percent_encoding::percent_decode_str(v).decode_utf8().ok()?;
    let v = v.replace(' ', "+");
    DateTime::parse_from_rfc3339(&v)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(&v, "%Y%m%dT%H%M%SZ")
                .ok()
                .map(|n| n.and_utc())
        })
}

pub(super) fn param<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

const BAD_RANGE: Error = Error::Invalid {
    reason: "start and end are required (RFC 3339 or YYYYMMDDTHHMMSSZ), end after start",
    precondition: None,
};

/// Answers the JSON for the principal's own busy time.
pub(super) fn get(
    app: &App,
    principal: &UserRef,
    owner: &UserRef,
    query: Option<&str>,
) -> Result<Reply> {
    if principal != owner {
        return Err(Error::NotFound);
    }
    let start = param(query, "start").and_then(time).ok_or(BAD_RANGE)?;
    let end = param(query, "end").and_then(time).ok_or(BAD_RANGE)?;
    if end <= start || end - start > chrono::Duration::days(3660) {
        return Err(BAD_RANGE);
    }
    let budget = app.expansion_budget();
    let items = app
        .views
        .why_busy(owner, TimeRange { start, end }, Some(&budget))?;
    let body = serde_json::to_vec(&items).map_err(|_| Error::NotImplemented)?;
    Ok(Reply::with_type(StatusCode::OK, "application/json", body))
}
