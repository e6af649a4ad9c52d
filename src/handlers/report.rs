//! REPORT on a calendar collection: calendar-query (RFC 4791 §7.8),
//! calendar-multiget (§7.9), sync-collection (RFC 6578 §3) and
//! free-busy-query (§7.10).
//!
//! A `C:calendar-data` request with `C:expand` (§9.6.5) answers each
//! object's instances in the window instead of the stored bytes.
//!
//! The first three depend on nothing but the request, the collection's
//! state (its sync token), the owner's expansion settings and the stored
//! window: their rendered answers are kept in `answers::Answers` under the
//! digest of all of that, so a repeated request is a lookup. free-busy-query
//! is not kept (on `availability/` it reads other collections too).
//!
//! A calendar-query asked again after its collection changed is patched
//! (`query::patched`): the members of its previous answer (`answers::Bases`)
//! less those the change log names since, plus those of them that match
//! now, so its cost follows the change, not the collection.

use bytes::Bytes;
use chrono::Utc;
use hyper::StatusCode;

use crate::answers;
use crate::dav::report::{CalendarDataRequest, CalendarMultiget, FreeBusyQuery, SyncCollection};
use crate::dav::{
    multistatus, Precondition, PropRequest, PropValue, Report, Response, ResponseBody,
};
use crate::ical::{self, BusySettings, ExpandOptions, TimeRange};
use crate::ids::ObjectName;
use crate::route::{self as paths, Route};
use crate::store::{CollectionKey, CollectionKind, CollectionRecord, ObjectMeta, Store};
use crate::views;

use super::{load, props, Ctx, Error, Reply, Resource, Result};

mod query;

use query::query;

/// Expansion options for a collection's owner (their time zone for
/// all-day and floating times), charging one budget per request (issue 12
/// #3: a pathological series cannot make one request run unbounded).
fn expand_options(ctx: &Ctx<'_>, settings: &BusySettings) -> ExpandOptions {
    ExpandOptions::new(settings.tz, views::MAX_INSTANCES).with_budget(ctx.app.expansion_budget())
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
    if let Report::FreeBusyQuery(f) = &report {
        return free_busy(ctx, &key, &rec, f);
    }
    // The owner's settings, read once: part of the answer's key, and the
    // zone of its expansions.
    let settings = ctx.app.store.busy_settings(&key.owner());
    let fingerprint = settings.fingerprint();
    let keys = answer_key(ctx, &key, &rec, fingerprint, &report);
    if let Some(body) = ctx.app.answers.get(&keys.answer) {
        return Ok(Reply::multistatus_bytes(body));
    }
    let opts = expand_options(ctx, &settings);
    let (reply, keep) = match &report {
        Report::CalendarQuery(q) => query(ctx, &key, &rec, q, &opts, fingerprint, keys.identity)?,
        Report::CalendarMultiget(m) => (multiget(ctx, &key, &rec, m, &opts)?, true),
        Report::SyncCollection(s) => (sync(ctx, &key, &rec, s, &opts)?, true),
        Report::FreeBusyQuery(f) => (free_busy(ctx, &key, &rec, f)?, true),
    };
    if keep && reply.status == StatusCode::MULTI_STATUS {
        ctx.app
            .answers
            .put(keys.scope, keys.answer, reply.body.clone());
    }
    Ok(reply)
}

/// The keys of a REPORT's answer.
struct AnswerKeys {
    /// The collection and the state of it the answer is made from.
    scope: answers::Scope,
    /// The answer's key: everything it depends on.
    answer: answers::Key,
    /// Everything but the collection's state: the key of the answer's
    /// members kept for patching (`answers::Bases`).
    identity: answers::Key,
}

/// The digest of everything a REPORT's answer depends on: the collection
/// (its path, kind and incarnation: the scope), its state (the sync token advances on
/// every change of an object), the owner's expansion settings (zone,
/// addresses, busy rules: floating times and `C:expand` follow them) and
/// the stored window (it decides what `availability/` admits) — the
/// scope's version — and the parsed request.
fn answer_key(
    ctx: &Ctx<'_>,
    key: &CollectionKey,
    rec: &CollectionRecord,
    settings: u64,
    report: &Report,
) -> AnswerKeys {
    let mut of = answers::KeyBuilder::new("collection");
    of.part(key.tenant.as_str().as_bytes())
        .part(key.user.as_str().as_bytes())
        .part(key.calendar.as_str().as_bytes())
        .part(format!("{:?}", rec.kind).as_bytes())
        .hashed(&rec.incarnation);
    let window = ctx.app.views.window_at(Utc::now());
    let window = (window.start.timestamp(), window.end.timestamp());
    let mut version = answers::KeyBuilder::new("state");
    version
        .part(Store::sync_token(rec).as_str().as_bytes())
        .hashed(&settings)
        .hashed(&window);
    let scope = answers::Scope {
        of: of.finish(),
        version: version.finish(),
        seq: rec.seq,
    };
    let mut k = answers::KeyBuilder::new("report");
    k.hashed(&scope.of).hashed(&scope.version).hashed(report);
    let mut identity = answers::KeyBuilder::new("report-identity");
    identity
        .hashed(&scope.of)
        .hashed(&settings)
        .hashed(&window)
        .hashed(report);
    AnswerKeys {
        scope,
        answer: k.finish(),
        identity: identity.finish(),
    }
}

/// What the object responses of one answer share.
struct Listing<'a> {
    key: &'a CollectionKey,
    col: &'a CollectionRecord,
    props: &'a PropRequest,
    data: Option<&'a CalendarDataRequest>,
    opts: &'a ExpandOptions,
    /// Digests of the collection (path, incarnation) and of `props`, made
    /// once for every object of the answer.
    collection_digest: answers::Key,
    props_digest: answers::Key,
}

impl<'a> Listing<'a> {
    fn new(
        key: &'a CollectionKey,
        col: &'a CollectionRecord,
        props: &'a PropRequest,
        data: Option<&'a CalendarDataRequest>,
        opts: &'a ExpandOptions,
    ) -> Self {
        let mut c = answers::KeyBuilder::new("objects-of");
        c.part(key.tenant.as_str().as_bytes())
            .part(key.user.as_str().as_bytes())
            .part(key.calendar.as_str().as_bytes())
            .hashed(&col.incarnation);
        let mut p = answers::KeyBuilder::new("object-properties");
        p.hashed(props);
        Self {
            key,
            col,
            props,
            data,
            opts,
            collection_digest: c.finish(),
            props_digest: p.finish(),
        }
    }
}

/// One object's `<response>` rendered for `props_req`: kept in
/// `App::responses` under everything it is made of (the collection, the
/// object's version and whether it is writable, the request's properties;
/// who asks is the collection's owner, `handlers::load`), so the
/// next answer listing the same object version reuses the bytes, whatever
/// else changed in the collection. The object's scope in that cache is the
/// object itself: its first response of a newer version drops the older
/// version's. `C:expand` answers are rendered each time.
fn object_part(
    ctx: &Ctx<'_>,
    l: &Listing<'_>,
    name: ObjectName,
    meta: ObjectMeta,
) -> Result<Bytes> {
    let (key, col, props_req) = (l.key, l.col, l.props);
    if l.data.and_then(|d| d.expand).is_some() {
        let resp = object_response(ctx, key, col, name, meta, props_req);
        return Ok(Bytes::from(apply_expand(resp, l.data, l.opts)?.to_xml()));
    }
    let mut of = answers::KeyBuilder::new("object");
    of.hashed(&l.collection_digest)
        .part(name.as_str().as_bytes());
    let of = of.finish();
    // What the properties read besides the bytes (the ETag): the write
    // time, the size and the privileges.
    let mut version = answers::KeyBuilder::new("object-version");
    version
        .part(meta.etag.as_str().as_bytes())
        .hashed(&meta.modified)
        .hashed(&meta.size)
        .hashed(&props::object_writable(&col.kind, &meta.origin));
    let version = version.finish();
    let mut k = answers::KeyBuilder::new("object-response");
    k.hashed(&of).hashed(&version).hashed(&l.props_digest);
    let k = k.finish();
    if let Some(part) = ctx.app.responses.get(&k) {
        return Ok(part);
    }
    let seq = u64::try_from(meta.modified).unwrap_or(0);
    let part = Bytes::from(object_response(ctx, key, col, name, meta, props_req).to_xml());
    let scope = answers::Scope { of, version, seq };
    ctx.app.responses.put(scope, k, part.clone());
    Ok(part)
}

/// A response for an href with a status only (a 404 in multiget and
/// sync-collection).
fn status_part(href: crate::ids::Href, status: u16) -> Bytes {
    Bytes::from(
        Response {
            href,
            body: ResponseBody::Status {
                status,
                error: None,
            },
        }
        .to_xml(),
    )
}

fn object_response(
    ctx: &Ctx<'_>,
    key: &CollectionKey,
    col: &CollectionRecord,
    name: ObjectName,
    meta: ObjectMeta,
    props_req: &PropRequest,
) -> Response {
    let href = paths::object(key, &name);
    let res = Resource::Object {
        key: key.clone(),
        col: col.clone(),
        name,
        meta,
    };
    props::response(ctx, &res, href, props_req)
}

/// Applies `C:expand` (RFC 4791 §9.6.5) to the calendar data of a response.
/// Data that cannot be expanded (it was stored, so it parsed once) is left
/// as stored rather than dropped; an expansion over the request's budget
/// stops the request.
fn apply_expand(
    mut resp: Response,
    data: Option<&CalendarDataRequest>,
    opts: &ExpandOptions,
) -> Result<Response> {
    let Some((start, end)) = data.and_then(|d| d.expand) else {
        return Ok(resp);
    };
    let ResponseBody::PropStats(stats) = &mut resp.body else {
        return Ok(resp);
    };
    let window = TimeRange { start, end };
    for prop in stats.iter_mut().flat_map(|s| s.props.iter_mut()) {
        if let PropValue::CalendarData(bytes) = &mut prop.value {
            match ical::expand_calendar(bytes, window, opts) {
                Ok(expanded) => *bytes = Bytes::from(expanded),
                Err(e @ ical::Error::BudgetExceeded { .. }) => return Err(budget(e)),
                Err(_) => {}
            }
        }
    }
    Ok(resp)
}

/// The request's expansion ran over its budget.
fn budget(e: ical::Error) -> Error {
    match e {
        ical::Error::BudgetExceeded { limit } => Error::TooMuchWork { limit },
        other => Error::InvalidCalendar {
            precondition: Precondition::ValidCalendarData,
            source: other,
        },
    }
}

fn multiget(
    ctx: &Ctx<'_>,
    key: &CollectionKey,
    col: &CollectionRecord,
    m: &CalendarMultiget,
    opts: &ExpandOptions,
) -> Result<Reply> {
    let l = Listing::new(key, col, &m.props, m.data.as_ref(), opts);
    let mut parts = Vec::with_capacity(m.hrefs.len());
    for href in &m.hrefs {
        let found = paths::object_in(key, href)
            .and_then(|name| Some((name.clone(), ctx.app.store.object_meta(key, &name).ok()??)));
        parts.push(match found {
            Some((name, meta)) => object_part(ctx, &l, name, meta)?,
            None => status_part(href.clone(), 404),
        });
    }
    Ok(Reply::multistatus_bytes(multistatus::assemble(
        parts.iter().map(|p| p.as_ref()),
        None,
    )))
}

fn sync(
    ctx: &Ctx<'_>,
    key: &CollectionKey,
    col: &CollectionRecord,
    s: &SyncCollection,
    opts: &ExpandOptions,
) -> Result<Reply> {
    let delta = ctx.app.store.changes_since(key, s.token.as_ref())?;
    let l = Listing::new(key, col, &s.props, None, opts);
    let mut parts = Vec::with_capacity(delta.changed.len() + delta.deleted.len());
    for name in delta.changed {
        // Changed since the token but gone again by now: report as deleted.
        parts.push(match ctx.app.store.object_meta(key, &name)? {
            Some(meta) => object_part(ctx, &l, name, meta)?,
            None => status_part(paths::object(key, &name), 404),
        });
    }
    for name in delta.deleted {
        parts.push(status_part(paths::object(key, &name), 404));
    }
    Ok(Reply::multistatus_bytes(multistatus::assemble(
        parts.iter().map(|p| p.as_ref()),
        delta.token.as_ref(),
    )))
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
    let budget = ctx.app.expansion_budget();
    let intervals = if col.kind == CollectionKind::Availability {
        ctx.app
            .views
            .busy_for_user(&key.owner(), window, Some(&budget))?
    } else {
        ctx.app
            .views
            .busy_in_collection(key, window, Some(&budget))?
    };
    let body = ical::vfreebusy(window, &intervals, chrono::Utc::now());
    Ok(Reply::with_type(
        StatusCode::OK,
        "text/calendar; charset=utf-8",
        body,
    ))
}

#[cfg(test)]
mod tests;
