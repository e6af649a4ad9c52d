//! COPY and MOVE of calendar objects (RFC 4918 §9.8, §9.9; RFC 4791 §2
//! expects class-1 COPY/MOVE) within and between the user's calendars
//! (issue 12 #13).
//!
//! The destination is written exactly as a PUT of the source's data
//! would be: the same policy verdict (R1–R3: into `primary/` it becomes a
//! system event that goes to iCloud through the outbox; into `blocked/`
//! it stays local; read-only calendars and iCloud events refuse with 403
//! `need-privileges`), the same strict data check and UID rule (RFC 4791
//! §5.3.2.1). MOVE also removes the source, which R2 refuses for iCloud
//! events (`unbind`); a system event moved out of `primary/` is deleted
//! in iCloud, one renamed within `primary/` keeps its iCloud copy. A MOVE
//! is one store transaction (`Store::move_object_queued`), so a crash
//! leaves the object at exactly one of its names (R10).
//!
//! The Destination's scheme and host are not compared with ours (a
//! reverse proxy may rename them); its path must name an object in one of
//! the caller's calendars, else 409.

use hyper::StatusCode;

use crate::dav::names as n;
use crate::dav::{DavHeaders, EtagCondition};
use crate::policy::{self, writes::Verdict};
use crate::route::{self as paths, Route};
use crate::store::{MoveTarget, Origin, Queued, WriteCondition};

use super::write::{self, need, Parent, Staged};
use super::{Ctx, Error, Reply, Result};

/// The route the `Destination` header names.
fn destination(h: &DavHeaders) -> Result<Route> {
    let Some(path) = h.destination_path() else {
        return Err(Error::Invalid {
            reason: "COPY and MOVE need a Destination header",
            precondition: None,
        });
    };
    let path = path.split(['?', '#']).next().unwrap_or(path);
    Route::parse(path).ok_or(Error::Conflict {
        reason: "the destination is not a calendar object URL",
    })
}

/// The destination's calendar: anything that is not an object in one of
/// the caller's calendars (another user's included, which must look like
/// a missing one) is 409.
fn destination_parent(ctx: &Ctx<'_>, route: &Route) -> Result<Parent> {
    write::parent(ctx, route).map_err(|e| match e {
        Error::NotFound | Error::MethodNotAllowed { .. } => Error::Conflict {
            reason: "the destination must name an object in one of your calendars",
        },
        other => other,
    })
}

/// Whether two origins are the same event in iCloud.
fn same_upstream(a: &Origin, b: &Origin) -> bool {
    matches!(
        (a, b),
        (
            Origin::System { connection: ca, href: ha, .. },
            Origin::System { connection: cb, href: hb, .. },
        ) if ca == cb && ha == hb
    )
}

/// COPY (`copy`) or MOVE of the object at `route`, up to the store.
pub(crate) fn copy_or_move(
    ctx: &Ctx<'_>,
    route: &Route,
    h: &DavHeaders,
    copy: bool,
) -> Result<Staged> {
    let src = write::parent(ctx, route).map_err(|e| match e {
        Error::Conflict { .. } => Error::NotFound,
        other => other,
    })?;
    let src_meta = src.existing.clone().ok_or(Error::NotFound)?;
    if let Some(EtagCondition::Tags(tags)) = &h.if_match {
        if !tags.contains(&src_meta.etag) {
            return Err(Error::PreconditionFailed);
        }
    }
    let store = &ctx.app.store;
    let links = store.links(&src.key.tenant, &src.key.user)?;
    if !copy {
        if let Verdict::Deny(d) = policy::writes::object_write(
            &src.col.kind,
            Some(&src_meta.origin),
            links.primary.is_some(),
        ) {
            return Err(need(
                paths::object(&src.key, &src.name),
                n::UNBIND,
                d.reason(),
            ));
        }
    }
    let dst = destination_parent(ctx, &destination(h)?)?;
    if dst.key == src.key && dst.name == src.name {
        return Err(Error::Refused {
            reason: "the source and the destination are the same resource",
        });
    }
    if dst.existing.is_some() && !h.overwrite {
        return Err(Error::PreconditionFailed);
    }
    let forward = write::verdict(&dst, &links)?;
    let body = store
        .object_body(&src.key, &src.name)?
        .ok_or(Error::NotFound)?;
    let data = write::check_data(ctx, body.into_bytes())?;
    // A system event keeps its iCloud identity: the one it replaces at
    // the destination, or, when MOVE renames it within `primary/`, its own.
    let keep = match (&dst.existing, copy) {
        (Some(m), _) => Some(&m.origin),
        (None, false) => Some(&src_meta.origin),
        (None, true) => None,
    };
    let (origin, put) = write::origin_for(
        ctx,
        forward,
        &dst.key,
        &dst.name,
        &data.index.uid,
        keep,
        &links,
    )?;
    // What is at the destination must not change under us.
    let cond = WriteCondition {
        if_match: dst.existing.as_ref().map(|m| m.etag.clone()),
        if_none_match_any: dst.existing.is_none(),
    };
    let rec = write::record(&data, origin);
    let (created, queued) = if copy {
        let outcome = store
            .put_object_queued(&dst.key, &dst.name, &rec, &cond, put.as_ref())
            .map_err(write::uid_conflict(&dst.key))?;
        let queued = match (outcome.queued, put) {
            (Some(id), Some(entry)) => vec![Queued { id, entry }],
            _ => Vec::new(),
        };
        (outcome.created, queued)
    } else {
        // The source's copy in iCloud goes, unless the destination is it.
        let delete = if same_upstream(&rec.origin, &src_meta.origin) {
            None
        } else {
            write::upstream_delete(&src.key, &src.name, &src_meta.origin, &links)
        };
        let entries: Vec<_> = delete.into_iter().chain(put).collect();
        let to = MoveTarget {
            key: &dst.key,
            name: &dst.name,
            record: &rec,
            cond: &cond,
        };
        let moved = store
            .move_object_queued(&src.key, &src.name, &src_meta.etag, &to, &entries)
            .map_err(write::uid_conflict(&dst.key))?;
        (moved.created, moved.queued)
    };
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::NO_CONTENT
    };
    Ok(Staged {
        reply: Reply::empty(status),
        queued,
    })
}
