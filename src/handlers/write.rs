//! Writes: PUT and DELETE of objects, PROPPATCH of collections, and the
//! refusals (MOVE, COPY, MKCALENDAR). Read-only collections and iCloud
//! events (R2) answer 403 with `DAV:need-privileges`; every 2xx is answered
//! only after `Store::flush` (R10). A system event (R1) is stored with its
//! outbox entry in one transaction, then handed to the outbox for its first
//! push. Nothing here refreshes derived views: they follow the store.

use bytes::Bytes;
use hyper::StatusCode;

use crate::dav::names::{self as n, QName};
use crate::dav::{
    self, DavHeaders, EtagCondition, MultiStatus, Precondition, PropPatchOp, PropStat, PropValue,
    Property, Response, ResponseBody,
};
use crate::ical::{self, ComponentKind};
use crate::ids::{CollectionKey, ETag, Href, UserRef};
use crate::policy::outbound::{self, Target};
use crate::policy::{
    self,
    writes::{Forward, Verdict},
};
use crate::route::{self as paths, Route};
use crate::store::{
    self, CollectionRecord, DeadProperty, ObjectRecord, Origin, OutboxEntry, OutboxOp, Queued,
    UserLinks, WriteCondition,
};
use crate::sync::outbox::Outcome;

use super::{load, Ctx, Error, Reply, Resource, Result};
use crate::state::App;

fn need(href: Href, privilege: QName, reason: impl Into<String>) -> Error {
    Error::Forbidden {
        reason: reason.into(),
        precondition: Precondition::NeedPrivileges { href, privilege },
    }
}

fn collection_of(ctx: &Ctx<'_>, route: &Route) -> Result<(CollectionKey, CollectionRecord)> {
    let Route::Object { collection, .. } = route else {
        return Err(Error::MethodNotAllowed {
            allow: super::allow_for(route),
        });
    };
    let rec = ctx
        .app
        .store
        .collection(collection)?
        .ok_or(Error::NotFound)?;
    Ok((collection.clone(), rec))
}

/// The outbox entry and origin of a PUT of a system event (R1).
fn system_event(
    ctx: &Ctx<'_>,
    key: &CollectionKey,
    name: &crate::ids::ObjectName,
    uid: &crate::ids::EventUid,
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

/// A write done in the store (not yet flushed), with the answer to give
/// and the outbox entry to push once it is durable.
pub(crate) struct Staged {
    reply: Reply,
    queued: Option<Queued>,
}

/// Makes a staged write durable (R10), pushes its system event at once
/// (R1), and answers.
pub(crate) async fn finish(app: &App, staged: Staged) -> Result<Reply> {
    app.store.flush().await?;
    if let Some(q) = staged.queued {
        push_now(app, q).await?;
    }
    Ok(staged.reply)
}

/// PUT of a calendar object (RFC 4791 §5.3.2), up to the store.
pub(crate) fn put(ctx: &Ctx<'_>, route: &Route, h: &DavHeaders, body: Bytes) -> Result<Staged> {
    let existing = load(ctx, route)?;
    let (key, col) = collection_of(ctx, route)?;
    let Route::Object { name, .. } = route else {
        return Err(Error::NotFound);
    };
    let href = paths::object(&key, name);
    let (current, existing_origin) = match &existing {
        Some(Resource::Object { meta, .. }) => (Some(meta.etag.clone()), Some(meta.origin.clone())),
        _ => (None, None),
    };
    let links = ctx.app.store.links(&key.tenant, &key.user)?;
    let forward = match policy::writes::object_write(
        &col.kind,
        existing_origin.as_ref(),
        links.primary.is_some(),
    ) {
        Verdict::Allow(f) => f,
        Verdict::Deny(d) => {
            return Err(match existing_origin {
                Some(_) => need(href, n::WRITE_CONTENT, d.reason()),
                None => need(paths::collection(&key), n::BIND, d.reason()),
            })
        }
    };
    if let Some(mt) = h.media_type() {
        if mt != "text/calendar" {
            return Err(Error::UnsupportedMediaType);
        }
    }
    if body.len() > ctx.app.config.limits.max_resource_bytes {
        return Err(Error::Forbidden {
            reason: "calendar object larger than max-resource-size".into(),
            precondition: Precondition::MaxResourceSize,
        });
    }
    // RFC 5545 §3.2.19: a TZID needs its VTIMEZONE. One we can resolve
    // (IANA or Windows name) is added from the time-zone database; one we
    // cannot is refused (valid-calendar-data).
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
    let mut cond = WriteCondition::default();
    match &h.if_match {
        Some(EtagCondition::Any) if current.is_none() => return Err(Error::PreconditionFailed),
        Some(EtagCondition::Any) => cond.if_match = current.clone(),
        Some(EtagCondition::Tags(tags)) => match &current {
            Some(c) if tags.contains(c) => cond.if_match = Some(c.clone()),
            _ => return Err(Error::PreconditionFailed),
        },
        None => {}
    }
    match &h.if_none_match {
        Some(EtagCondition::Any) => cond.if_none_match_any = true,
        Some(EtagCondition::Tags(tags)) if current.as_ref().is_some_and(|c| tags.contains(c)) => {
            return Err(Error::PreconditionFailed)
        }
        _ => {}
    }
    let (origin, queue) = match forward {
        Forward::LocalOnly => (Origin::Local, None),
        Forward::ToPrimary => {
            let (o, e) = system_event(
                ctx,
                &key,
                name,
                &index.uid,
                existing_origin.as_ref(),
                &links,
            )?;
            (o, Some(e))
        }
    };
    let data = body.to_vec();
    let rec = ObjectRecord {
        etag: ETag::of_content(&data),
        data,
        index,
        origin,
        modified: chrono::Utc::now().timestamp(),
    };
    let outcome = ctx
        .app
        .store
        .put_object_queued(&key, name, &rec, &cond, queue.as_ref())
        .map_err(|e| match e {
            store::Error::UidConflict { existing } => Error::UidConflict {
                existing: paths::object(&key, &existing),
            },
            other => other.into(),
        })?;
    let queued = match (outcome.queued, queue) {
        (Some(id), Some(entry)) => Some(Queued { id, entry }),
        _ => None,
    };
    let status = if outcome.created {
        StatusCode::CREATED
    } else {
        StatusCode::NO_CONTENT
    };
    // RFC 4791 §5.3.4: no ETag when what is stored is not what was sent.
    let reply = if modified {
        Reply::empty(status)
    } else {
        Reply::empty(status).header(hyper::header::ETAG, outcome.etag.quoted())
    };
    Ok(Staged { reply, queued })
}

/// DELETE of an object. Collections are managed by calproxy, not clients.
pub(crate) fn delete(ctx: &Ctx<'_>, route: &Route, h: &DavHeaders) -> Result<Staged> {
    let res = load(ctx, route)?.ok_or(Error::NotFound)?;
    let (key, col, name, rec) = match res {
        Resource::Object {
            key,
            col,
            name,
            meta: rec,
        } => (key, col, name, rec),
        Resource::Collection { key, .. } => {
            return Err(need(
                paths::collection(&key),
                n::UNBIND,
                "collections are managed by calproxy",
            ))
        }
        Resource::Root | Resource::Home(_) => {
            return Err(Error::MethodNotAllowed {
                allow: super::ALLOW_PRINCIPAL,
            })
        }
    };
    let href = paths::object(&key, &name);
    let links = ctx.app.store.links(&key.tenant, &key.user)?;
    if let Verdict::Deny(d) =
        policy::writes::object_write(&col.kind, Some(&rec.origin), links.primary.is_some())
    {
        return Err(need(href, n::UNBIND, d.reason()));
    }
    let if_match = match &h.if_match {
        Some(EtagCondition::Tags(tags)) if !tags.contains(&rec.etag) => {
            return Err(Error::PreconditionFailed)
        }
        Some(EtagCondition::Tags(_)) => Some(rec.etag.clone()),
        _ => None,
    };
    let queue = outbound::delete_target(&rec.origin, links.primary.as_ref()).map(|t| {
        let etag = match &rec.origin {
            Origin::System { etag, .. } => etag.clone(),
            _ => None,
        };
        OutboxEntry::new(
            &key,
            &name,
            &t.connection,
            &t.calendar,
            &t.href,
            OutboxOp::Delete { etag },
        )
    });
    let deleted = ctx
        .app
        .store
        .delete_object_queued(&key, &name, if_match.as_ref(), |_| queue.clone())?;
    Ok(Staged {
        reply: Reply::empty(StatusCode::NO_CONTENT),
        queued: deleted.queued,
    })
}

const PROTECTED: &[QName] = &[
    n::RESOURCETYPE,
    n::GETETAG,
    n::GETCTAG,
    n::SYNC_TOKEN,
    n::GETLASTMODIFIED,
    n::GETCONTENTLENGTH,
    n::GETCONTENTTYPE,
    n::SUPPORTED_CALENDAR_COMPONENT_SET,
    n::SUPPORTED_CALENDAR_DATA,
    n::SUPPORTED_REPORT_SET,
    n::CURRENT_USER_PRIVILEGE_SET,
    n::CURRENT_USER_PRINCIPAL,
    n::OWNER,
    n::MAX_RESOURCE_SIZE,
];

/// PROPPATCH (RFC 4918 §9.2): all-or-nothing on writable collections.
pub(crate) async fn proppatch(
    ctx: &Ctx<'_>,
    route: &Route,
    ops: Vec<PropPatchOp>,
) -> Result<Reply> {
    let res = load(ctx, route)?.ok_or(Error::NotFound)?;
    let (key, col) = match res {
        Resource::Collection { key, rec } => (key, rec),
        Resource::Object {
            key,
            name,
            col,
            meta: rec,
        } => {
            let reason = policy::writes::object_denial(&col.kind, &rec.origin)
                .map_or("object properties cannot be changed", |d| d.reason());
            return Err(need(
                paths::object(&key, &name),
                n::WRITE_PROPERTIES,
                reason,
            ));
        }
        Resource::Root => return Err(need(paths::root(), n::WRITE_PROPERTIES, "read-only")),
        Resource::Home(owner) => {
            return Err(need(paths::home(&owner), n::WRITE_PROPERTIES, "read-only"))
        }
    };
    let href = paths::collection(&key);
    if let Some(d) = policy::writes::collection_denial(&col.kind) {
        return Err(need(href, n::WRITE_PROPERTIES, d.reason()));
    }
    let refused: Vec<&QName> = ops
        .iter()
        .map(PropPatchOp::name)
        .filter(|name| PROTECTED.contains(name))
        .collect();
    let status_for = |name: &QName| {
        if refused.is_empty() {
            200
        } else if refused.contains(&name) {
            403
        } else {
            424
        }
    };
    let mut by_status: std::collections::BTreeMap<u16, Vec<Property>> = Default::default();
    for op in &ops {
        by_status
            .entry(status_for(op.name()))
            .or_default()
            .push(Property {
                name: op.name().clone(),
                value: PropValue::Empty,
            });
    }
    if refused.is_empty() {
        ctx.app.store.update_collection(&key, |rec| {
            for op in &ops {
                apply(rec, op);
            }
        })?;
        ctx.app.store.flush().await?;
    }
    let ms = MultiStatus {
        responses: vec![Response {
            href,
            body: ResponseBody::PropStats(
                by_status
                    .into_iter()
                    .map(|(status, props)| PropStat { props, status })
                    .collect(),
            ),
        }],
        sync_token: None,
    };
    Ok(Reply::multistatus(&ms))
}

fn apply(rec: &mut CollectionRecord, op: &PropPatchOp) {
    let text = |v: &dav::Element| v.text.trim().to_string();
    match op {
        PropPatchOp::Set { name, value } if *name == n::DISPLAYNAME => {
            rec.displayname = text(value)
        }
        PropPatchOp::Set { name, value } if *name == n::CALENDAR_COLOR => {
            rec.color = Some(text(value))
        }
        PropPatchOp::Set { name, value } if *name == n::CALENDAR_DESCRIPTION => {
            rec.description = Some(text(value))
        }
        PropPatchOp::Remove { name } if *name == n::CALENDAR_COLOR => rec.color = None,
        PropPatchOp::Remove { name } if *name == n::CALENDAR_DESCRIPTION => rec.description = None,
        PropPatchOp::Remove { name } if *name == n::DISPLAYNAME => rec.displayname.clear(),
        PropPatchOp::Set { name, value } => {
            rec.dead
                .retain(|d| !(d.ns == name.ns && d.local == name.local));
            rec.dead.push(DeadProperty {
                ns: name.ns.to_string(),
                local: name.local.to_string(),
                value: text(value),
            });
        }
        PropPatchOp::Remove { name } => rec
            .dead
            .retain(|d| !(d.ns == name.ns && d.local == name.local)),
    }
}

/// MOVE and COPY: refused. iCloud events are read-only (R2); moving local
/// objects between collections is not supported.
pub(crate) fn move_or_copy(ctx: &Ctx<'_>, route: &Route) -> Result<Reply> {
    match load(ctx, route)? {
        Some(Resource::Object {
            key,
            name,
            col,
            meta: rec,
        }) => {
            let reason = policy::writes::object_denial(&col.kind, &rec.origin).map_or(
                "MOVE and COPY are not supported; PUT a copy and DELETE the original",
                |d| d.reason(),
            );
            Err(need(paths::object(&key, &name), n::UNBIND, reason))
        }
        Some(_) => Err(Error::MethodNotAllowed {
            allow: super::allow_for(route),
        }),
        None => Err(Error::NotFound),
    }
}

/// MKCALENDAR / MKCOL: collections are created by calproxy configuration.
pub(crate) fn make_collection(ctx: &Ctx<'_>, route: &Route) -> Result<Reply> {
    let href = match route {
        Route::Collection(CollectionKey { tenant, user, .. })
        | Route::Home(UserRef { tenant, user }) => {
            let owner = UserRef::new(tenant, user);
            if ctx.principal != &owner {
                return Err(Error::NotFound);
            }
            paths::home(&owner)
        }
        _ => {
            return Err(Error::MethodNotAllowed {
                allow: super::allow_for(route),
            })
        }
    };
    Err(need(
        href,
        n::BIND,
        "calendars are created by calproxy configuration, not by clients",
    ))
}
