//! REPORT on a calendar collection: calendar-query (RFC 4791 §7.8),
//! calendar-multiget (§7.9), sync-collection (RFC 6578 §3) and
//! free-busy-query (§7.10).
//!
//! A `C:calendar-data` request with `C:expand` (§9.6.5) answers each
//! object's instances in the window instead of the stored bytes.

use hyper::StatusCode;

use crate::dav::report::{
    CalendarDataRequest, CalendarMultiget, CalendarQuery, FreeBusyQuery, SyncCollection,
};
use crate::dav::{
    MultiStatus, Precondition, PropRequest, PropValue, Report, Response, ResponseBody,
};
use crate::ical::{self, ExpandOptions, TimeRange};
use crate::route::{self as paths, Route};
use crate::store::{CollectionKey, CollectionKind, CollectionRecord};
use crate::views;

use super::{filter, load, props, Ctx, Error, Reply, Resource, Result};

/// Expansion options for a collection's owner: their time zone for
/// all-day and floating times.
fn expand_options(ctx: &Ctx<'_>, key: &CollectionKey) -> ExpandOptions {
    ExpandOptions::new(
        views::deps::settings(&ctx.app.store, &key.owner()).tz,
        views::MAX_INSTANCES,
    )
}

/// Runs a REPORT on a collection.
pub(crate) fn report(ctx: &Ctx<'_>, route: &Route, report: Report) -> Result<Reply> {
    let res = load(ctx, route)?.ok_or(Error::NotFound)?;
    let Resource::Collection { key, rec } = res else {
        return Err(Error::Invalid {
            reason: "this report is supported on calendar collections only",
            precondition: Some(Precondition::SupportedReport),
        });
    };
    match report {
        Report::CalendarQuery(q) => query(ctx, &key, &rec, &q),
        Report::CalendarMultiget(m) => multiget(ctx, &key, &rec, &m),
        Report::SyncCollection(s) => sync(ctx, &key, &rec, &s),
        Report::FreeBusyQuery(f) => free_busy(ctx, &key, &rec, &f),
    }
}

fn object_response(
    ctx: &Ctx<'_>,
    key: &CollectionKey,
    col: &CollectionRecord,
    name: crate::ids::ObjectName,
    rec: crate::store::ObjectRecord,
    props_req: &PropRequest,
) -> Response {
    let href = paths::object(key, &name);
    let res = Resource::Object {
        key: key.clone(),
        col: col.clone(),
        name,
        rec,
    };
    props::response(ctx, &res, href, props_req)
}

/// Applies `C:expand` (RFC 4791 §9.6.5) to the calendar data of a response.
/// Data that cannot be expanded (it was stored, so it parsed once) is left
/// as stored rather than dropped.
fn apply_expand(
    mut resp: Response,
    data: Option<&CalendarDataRequest>,
    opts: &ExpandOptions,
) -> Response {
    let Some((start, end)) = data.and_then(|d| d.expand) else {
        return resp;
    };
    let ResponseBody::PropStats(stats) = &mut resp.body else {
        return resp;
    };
    let window = TimeRange { start, end };
    for prop in stats.iter_mut().flat_map(|s| s.props.iter_mut()) {
        if let PropValue::CalendarData(text) = &mut prop.value {
            if let Ok(expanded) = ical::expand_calendar(text.as_bytes(), window, opts) {
                *text = expanded;
            }
        }
    }
    resp
}

fn query(
    ctx: &Ctx<'_>,
    key: &CollectionKey,
    col: &CollectionRecord,
    q: &CalendarQuery,
) -> Result<Reply> {
    if !q.filter.name.eq_ignore_ascii_case("VCALENDAR") {
        return Err(Error::Invalid {
            reason: "the top-level comp-filter must name VCALENDAR",
            precondition: Some(Precondition::ValidFilter),
        });
    }
    let opts = expand_options(ctx, key);
    let mut ms = MultiStatus::default();
    for (name, rec) in ctx.app.store.objects(key)? {
        if filter::matches(&rec.data, &q.filter, &opts) {
            let resp = object_response(ctx, key, col, name, rec, &q.props);
            ms.responses
                .push(apply_expand(resp, q.data.as_ref(), &opts));
        }
    }
    Ok(Reply::multistatus(&ms))
}

fn multiget(
    ctx: &Ctx<'_>,
    key: &CollectionKey,
    col: &CollectionRecord,
    m: &CalendarMultiget,
) -> Result<Reply> {
    let opts = expand_options(ctx, key);
    let mut ms = MultiStatus::default();
    for href in &m.hrefs {
        let found = paths::object_in(key, href)
            .and_then(|name| Some((name.clone(), ctx.app.store.object(key, &name).ok()??)));
        match found {
            Some((name, rec)) => {
                let resp = object_response(ctx, key, col, name, rec, &m.props);
                ms.responses
                    .push(apply_expand(resp, m.data.as_ref(), &opts));
            }
            None => ms.responses.push(Response {
                href: href.clone(),
                body: ResponseBody::Status {
                    status: 404,
                    error: None,
                },
            }),
        }
    }
    Ok(Reply::multistatus(&ms))
}

fn sync(
    ctx: &Ctx<'_>,
    key: &CollectionKey,
    col: &CollectionRecord,
    s: &SyncCollection,
) -> Result<Reply> {
    let delta = ctx.app.store.changes_since(key, s.token.as_ref())?;
    let mut ms = MultiStatus {
        sync_token: delta.token.clone(),
        ..MultiStatus::default()
    };
    for name in delta.changed {
        // Changed since the token but gone again by now: report as deleted.
        match ctx.app.store.object(key, &name)? {
            Some(rec) => ms
                .responses
                .push(object_response(ctx, key, col, name, rec, &s.props)),
            None => ms.responses.push(Response {
                href: paths::object(key, &name),
                body: ResponseBody::Status {
                    status: 404,
                    error: None,
                },
            }),
        }
    }
    for name in delta.deleted {
        ms.responses.push(Response {
            href: paths::object(key, &name),
            body: ResponseBody::Status {
                status: 404,
                error: None,
            },
        });
    }
    Ok(Reply::multistatus(&ms))
}

fn free_busy(
    ctx: &Ctx<'_>,
    key: &CollectionKey,
    col: &CollectionRecord,
    f: &FreeBusyQuery,
) -> Result<Reply> {
    let (Some(start), Some(end)) = (f.range.start, f.range.end) else {
        return Err(Error::Invalid {
            reason: "free-busy-query needs a time-range with start and end",
            precondition: Some(Precondition::ValidFilter),
        });
    };
    if end <= start {
        return Err(Error::Invalid {
            reason: "time-range end must be after its start",
            precondition: Some(Precondition::ValidFilter),
        });
    }
    let window = TimeRange { start, end };
    let intervals = if col.kind == CollectionKind::Availability {
        ctx.app.views.busy_for_user(&key.owner(), window)?
    } else {
        ctx.app.views.busy_in_collection(key, window)?
    };
    let body = ical::vfreebusy(window, &intervals, chrono::Utc::now());
    Ok(Reply::with_type(
        StatusCode::OK,
        "text/calendar; charset=utf-8",
        body,
    ))
}
