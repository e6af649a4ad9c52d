//! Writes of calendar objects: PUT and DELETE, and what COPY and MOVE
//! (`copy_move`) share with them: the policy's verdict, the strict check
//! of calendar data, the system event's outbox entry (R1), and
//! [`finish`], which answers only after `Store::flush` (R10) and then
//! pushes what was queued. Read-only collections and iCloud events (R2)
//! answer 403 with `DAV:need-privileges`. Nothing here refreshes derived
//! views: they follow the store.

use bytes::Bytes;
use hyper::StatusCode;

use crate::dav::names::{self as n, QName};
use crate::dav::{DavHeaders, EtagCondition, Precondition};
use crate::ical::{self, ComponentKind, ObjectIndex};
use crate::ids::{CollectionKey, ETag, EventUid, Href, ObjectName};
use crate::policy::outbound::{self, Target};
use crate::policy::{
    self,
    writes::{Forward, Verdict},
};
use crate::route::{self as paths, Route};
use crate::store::{
    self, CollectionRecord, ObjectMeta, ObjectRecord, Origin, OutboxEntry, OutboxOp, Queued,
    UserLinks, WriteCondition,
};
use crate::sync::outbox::Outcome;

use super::{Ctx, Error, Reply, Result};
use crate::state::App;

/// 403 `DAV:need-privileges` naming what is missing where.
pub(super) fn need(href: Href, privilege: QName, reason: impl Into<String>) -> Error {
    Error::Forbidden {
        reason: reason.into(),
        precondition: Precondition::NeedPrivileges { href, privilege },
    }
}

/// An object URL's calendar, checked: another user's is 404 (as for every
/// read); a calendar that does not exist, or a path below a calendar, is
/// 409 (RFC 4918 §9.7.1: no parent collection).
pub(super) struct Parent {
    /// The calendar.
    pub key: CollectionKey,
    /// Its record.
    pub col: CollectionRecord,
    /// The object's name in it.
    pub name: ObjectName,
    /// The object, when it exists.
    pub existing: Option<ObjectMeta>,
}

pub(super) fn parent(ctx: &Ctx<'_>, route: &Route) -> Result<Parent> {
    if route.owner().is_some_and(|o| &o != ctx.principal) {
        return Err(Error::NotFound);
    }
    let (collection, name) = match route {
        Route::Object { collection, name } => (collection, name),
        // Below a calendar there is no collection to hold anything.
        Route::Below { .. } => {
            return Err(Error::Conflict {
                reason: "no collection holds this path: a calendar holds objects only",
            })
        }
        _ => {
            return Err(Error::MethodNotAllowed {
                allow: super::methods::allow(route),
            })
        }
    };
    let col = ctx
        .app
        .store
        .collection(collection)?
        .ok_or(Error::Conflict {
            reason: "the calendar does not exist (calproxy makes calendars from its configuration)",
        })?;
    let existing = ctx.app.store.object_meta(collection, name)?;
    Ok(Parent {
        key: collection.clone(),
        col,
        name: name.clone(),
        existing,
    })
}

/// The policy's verdict on writing `p`'s object (R1–R3): where the
/// write goes, or the 403 that names the missing privilege (the object's
/// `write-content` when it exists, the calendar's `bind` when not).
pub(super) fn verdict(p: &Parent, links: &UserLinks) -> Result<Forward> {
    let origin = p.existing.as_ref().map(|m| &m.origin);
    match policy::writes::object_write(&p.col.kind, origin, links.primary.is_some()) {
        Verdict::Allow(f) => Ok(f),
        Verdict::Deny(d) => Err(match origin {
            Some(_) => need(paths::object(&p.key, &p.name), n::WRITE_CONTENT, d.reason()),
            None => need(paths::collection(&p.key), n::BIND, d.reason()),
        }),
    }
}

/// The outbox entry and origin of a write of a system event (R1) to
/// `name`; `existing` is the origin whose upstream identity it keeps (the
/// object it replaces, or the one MOVE renames).
pub(super) fn system_event(
    ctx: &Ctx<'_>,
    key: &CollectionKey,
    name: &ObjectName,
    uid: &EventUid,
    existing: Option<&Origin>,
    links: &UserLinks,
) -> Result<(Origin, OutboxEntry)> {
    let primary_href = match &links.primary {
        Some(p) => ctx
            .app
            .store
            .remote_calendar(&p.connection, &p.calendar)?
            .map(|c| c.href),
        None => None,
    };
    let Target {
        connection,
        calendar,
        href,
    } = outbound::put_target(uid, existing, links.primary.as_ref(), primary_href.as_ref())
        .map_err(|why| Error::Invalid {
            reason: why.reason(),
            precondition: None,
        })?;
    // An event that went upstream before keeps what we know of its copy there.
    let origin = match existing {
        Some(Origin::System {
            etag,
            pushed,
            delivered,
            ..
        }) => Origin::System {
            connection: connection.clone(),
            href: href.clone(),
            etag: etag.clone(),
            pushed: pushed.clone(),
            delivered: *delivered,
        },
        _ => Origin::System {
            connection: connection.clone(),
            href: href.clone(),
            etag: None,
            pushed: None,
            delivered: None,
        },
    };
    let entry = OutboxEntry::new(key, name, &connection, &calendar, &href, OutboxOp::Put);
    Ok((origin, entry))
}

/// The outbox entry that deletes a system event upstream, if `origin` is one.
pub(super) fn upstream_delete(
    key: &CollectionKey,
    name: &ObjectName,
    origin: &Origin,
    links: &UserLinks,
) -> Option<OutboxEntry> {
    outbound::delete_target(origin, links.primary.as_ref()).map(|t| {
        let etag = match origin {
            Origin::System { etag, .. } => etag.clone(),
            _ => None,
        };
        OutboxEntry::new(
            key,
            name,
            &t.connection,
            &t.calendar,
            &t.href,
            OutboxOp::Delete { etag },
        )
    })
}

/// The first push of a just-queued entry. A definitive refusal of a PUT
/// reaches the client (the local copy is already gone); anything else
/// leaves the entry to the worker: the write is durable either way. A
/// refused DELETE is only logged: the local object is gone as asked.
async fn push_now(app: &App, q: Queued) -> Result<()> {
    let name = q.entry.name.clone();
    let is_put = matches!(q.entry.op, OutboxOp::Put);
    match app.outbox.push_now(q).await? {
        Outcome::Rejected { status, reason } if is_put => {
            Err(Error::UpstreamRejected { status, reason })
        }
        Outcome::Rejected { status, reason } => {
            tracing::warn!(object = %name, status, reason, "iCloud refused to delete a system event");
            Ok(())
        }
        Outcome::Delivered => Ok(()),
        Outcome::Deferred { reason } => {
            tracing::info!(object = %name, reason, "system event queued; iCloud will get it when it answers");
            Ok(())
        }
    }
}

fn map_ical(e: ical::Error) -> Error {
    let precondition = match e.kind() {
        ical::ErrorKind::InvalidData => Precondition::ValidCalendarData,
        ical::ErrorKind::InvalidObject => Precondition::ValidCalendarObjectResource,
        ical::ErrorKind::UnsupportedComponent => Precondition::SupportedCalendarComponent,
        // Parsing a PUT body expands nothing under a request budget.
        ical::ErrorKind::BudgetExceeded => Precondition::ValidCalendarData,
    };
    Error::InvalidCalendar {
        precondition,
        source: e,
    }
}

/// Calendar data a client writes, checked as RFC 4791 §5.3.2.1 requires
/// of PUT, COPY and MOVE alike.
pub(super) struct Checked {
    /// The bytes to store (repaired when a VTIMEZONE was missing).
    pub body: Bytes,
    /// Their parse.
    pub index: ObjectIndex,
    /// Whether what is stored differs from what was sent.
    pub modified: bool,
}

/// Checks calendar data: size, then strict parsing, one VEVENT. RFC 5545
/// §3.2.19: a TZID needs its VTIMEZONE; one we can resolve (IANA or
/// Windows name) is added from the time-zone database, one we cannot is
/// refused (valid-calendar-data).
pub(super) fn check_data(ctx: &Ctx<'_>, body: Bytes) -> Result<Checked> {
    if body.len() > ctx.app.config.limits.max_resource_bytes {
        return Err(Error::Forbidden {
            reason: "calendar object larger than max-resource-size".into(),
            precondition: Precondition::MaxResourceSize,
        });
    }
    let repaired = ical::repair_strict(&body).map_err(map_ical)?;
    let modified = repaired.as_ref() != body.as_ref();
    let body: Bytes = match repaired {
        std::borrow::Cow::Borrowed(_) => body,
        std::borrow::Cow::Owned(v) => Bytes::from(v),
    };
    let index = ical::parse_strict(&body).map_err(map_ical)?;
    if index.component != ComponentKind::Event {
        return Err(Error::InvalidCalendar {
            precondition: Precondition::SupportedCalendarComponent,
            source: ical::Error::Unsupported {
                name: match index.component {
                    ComponentKind::Todo => "VTODO",
                    ComponentKind::Journal => "VJOURNAL",
                    ComponentKind::Event | ComponentKind::Other => "this component",
                }
                .to_string(),
            },
        });
    }
    Ok(Checked {
        body,
        index,
        modified,
    })
}

/// A new stored record for checked data.
pub(super) fn record(data: &Checked, origin: Origin) -> ObjectRecord {
    let data_vec = data.body.to_vec();
    ObjectRecord {
        etag: ETag::of_content(&data_vec),
        data: data_vec,
        index: data.index.clone(),
        origin,
        modified: chrono::Utc::now().timestamp(),
    }
}

/// The origin of a write that `forward` sends to iCloud or keeps local,
/// with the outbox entry of a system event. `keep` is the origin whose
/// upstream identity a system event keeps.
pub(super) fn origin_for(
    ctx: &Ctx<'_>,
    forward: Forward,
    key: &CollectionKey,
    name: &ObjectName,
    uid: &EventUid,
    keep: Option<&Origin>,
    links: &UserLinks,
) -> Result<(Origin, Option<OutboxEntry>)> {
    Ok(match forward {
        Forward::LocalOnly => (Origin::Local, None),
        Forward::ToPrimary => {
            let (o, e) = system_event(ctx, key, name, uid, keep, links)?;
            (o, Some(e))
        }
    })
}

/// A write done in the store (not yet flushed), with the answer to give
/// and the outbox entries to push, in order, once it is durable.
pub(crate) struct Staged {
    pub(super) reply: Reply,
    pub(super) queued: Vec<Queued>,
}

/// Makes a staged write durable (R10), pushes its system events at once
/// (R1), and answers.
pub(crate) async fn finish(app: &App, staged: Staged) -> Result<Reply> {
    app.store.flush().await?;
    for q in staged.queued {
        push_now(app, q).await?;
    }
    Ok(staged.reply)
}

/// `If-Match` / `If-None-Match` against the current ETag, as a store condition.
fn conditions(h: &DavHeaders, current: Option<&ETag>) -> Result<WriteCondition> {
    let mut cond = WriteCondition::default();
    match &h.if_match {
        Some(EtagCondition::Any) if current.is_none() => return Err(Error::PreconditionFailed),
        Some(EtagCondition::Any) => cond.if_match = current.cloned(),
        Some(EtagCondition::Tags(tags)) => match current {
            Some(c) if tags.contains(c) => cond.if_match = Some(c.clone()),
            _ => return Err(Error::PreconditionFailed),
        },
        None => {}
    }
    match &h.if_none_match {
        Some(EtagCondition::Any) => cond.if_none_match_any = true,
        Some(EtagCondition::Tags(tags)) if current.is_some_and(|c| tags.contains(c)) => {
            return Err(Error::PreconditionFailed)
        }
        _ => {}
    }
    Ok(cond)
}

/// The store's UID conflict as the client sees it (RFC 4791 §5.3.2.1).
pub(super) fn uid_conflict(key: &CollectionKey) -> impl Fn(store::Error) -> Error + '_ {
    move |e| match e {
        store::Error::UidConflict { existing } => Error::UidConflict {
            existing: paths::object(key, &existing),
        },
        other => other.into(),
    }
}

/// PUT of a calendar object (RFC 4791 §5.3.2), up to the store.
pub(crate) fn put(ctx: &Ctx<'_>, route: &Route, h: &DavHeaders, body: Bytes) -> Result<Staged> {
    let p = parent(ctx, route)?;
    let links = ctx.app.store.links(&p.key.tenant, &p.key.user)?;
    let forward = verdict(&p, &links)?;
    if let Some(mt) = h.media_type() {
        if mt != "text/calendar" {
            return Err(Error::UnsupportedMediaType);
        }
    }
    let data = check_data(ctx, body)?;
    let existing_origin = p.existing.as_ref().map(|m| &m.origin);
    let cond = conditions(h, p.existing.as_ref().map(|m| &m.etag))?;
    let (origin, queue) = origin_for(
        ctx,
        forward,
        &p.key,
        &p.name,
        &data.index.uid,
        existing_origin,
        &links,
    )?;
    let rec = record(&data, origin);
    let outcome = ctx
        .app
        .store
        .put_object_queued(&p.key, &p.name, &rec, &cond, queue.as_ref())
        .map_err(uid_conflict(&p.key))?;
    let queued = match (outcome.queued, queue) {
        (Some(id), Some(entry)) => vec![Queued { id, entry }],
        _ => Vec::new(),
    };
    let status = if outcome.created {
        StatusCode::CREATED
    } else {
        StatusCode::NO_CONTENT
    };
    // RFC 4791 §5.3.4: no ETag when what is stored is not what was sent.
    let reply = if data.modified {
        Reply::empty(status)
    } else {
        Reply::empty(status).header(hyper::header::ETAG, outcome.etag.quoted())
    };
    Ok(Staged { reply, queued })
}

/// DELETE of an object (collections are not in their `Allow`: calproxy
/// manages them).
pub(crate) fn delete(ctx: &Ctx<'_>, route: &Route, h: &DavHeaders) -> Result<Staged> {
    let p = parent(ctx, route).map_err(|e| match e {
        Error::Conflict { .. } => Error::NotFound,
        other => other,
    })?;
    let meta = p.existing.as_ref().ok_or(Error::NotFound)?;
    let href = paths::object(&p.key, &p.name);
    let links = ctx.app.store.links(&p.key.tenant, &p.key.user)?;
    if let Verdict::Deny(d) =
        policy::writes::object_write(&p.col.kind, Some(&meta.origin), links.primary.is_some())
    {
        return Err(need(href, n::UNBIND, d.reason()));
    }
    let if_match = match &h.if_match {
        Some(EtagCondition::Tags(tags)) if !tags.contains(&meta.etag) => {
            return Err(Error::PreconditionFailed)
        }
        Some(EtagCondition::Tags(_)) => Some(meta.etag.clone()),
        _ => None,
    };
    let queue = upstream_delete(&p.key, &p.name, &meta.origin, &links);
    let deleted = ctx
        .app
        .store
        .delete_object_queued(&p.key, &p.name, if_match.as_ref(), |_| queue.clone())?;
    Ok(Staged {
        reply: Reply::empty(StatusCode::NO_CONTENT),
        queued: deleted.queued.into_iter().collect(),
    })
}
