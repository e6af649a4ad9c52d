//! GET and HEAD of `/dav/`, a home and a calendar collection: a short
//! plain-text description of the resource (RFC 4918 §9.4 leaves a
//! collection's GET to the server). RFC 6764 context discovery follows
//! `/.well-known/caldav` to `/dav/` and GETs it; strict clients (libdav,
//! vstorage) need a 2xx there (issue 12 #11). The web console owns `/`
//! for browsers.

use std::fmt::Write as _;

use hyper::StatusCode;

use crate::route::{self, Route};
use crate::store::CollectionKind;

use super::{load, Ctx, Error, Reply, Resource, Result};

const TEXT: &str = "text/plain; charset=utf-8";

/// `/dav/`: the same for everyone (it is public, see `request::needs`).
pub(crate) fn root() -> Reply {
    Reply::with_type(
        StatusCode::OK,
        TEXT,
        "calproxy: CalDAV for iCloud calendars.\n\
         Point a CalDAV client at this URL with your calproxy user name and\n\
         password; it finds your calendars (current-user-principal).\n\
         The web console is at /.\n",
    )
}

fn kind(k: &CollectionKind) -> &'static str {
    match k {
        CollectionKind::Primary => {
            "your primary calendar: events you add go to iCloud; iCloud's own are read-only"
        }
        CollectionKind::Blocked => "blocked slots: yours, never sent to iCloud",
        CollectionKind::Availability => "your merged busy time: read-only",
        CollectionKind::Source => "a conflict calendar: a read-only copy",
    }
}

/// A home or a collection (the root is [`root`]).
pub(crate) fn get(ctx: &Ctx<'_>, route: &Route) -> Result<Reply> {
    let mut out = String::new();
    match load(ctx, route)?.ok_or(Error::NotFound)? {
        Resource::Root => return Ok(root()),
        Resource::Home(owner) => {
            let _ = writeln!(out, "calproxy: the calendar home of {owner}.\nCalendars:");
            for (key, rec) in ctx.app.store.collections(&owner.tenant, &owner.user)? {
                let _ = writeln!(
                    out,
                    "  {}  {} ({})",
                    route::collection(&key),
                    rec.displayname,
                    kind(&rec.kind)
                );
            }
        }
        Resource::Collection { rec, .. } => {
            let _ = writeln!(
                out,
                "calproxy: the calendar \"{}\", {}.\n\
                 A CalDAV client lists its events with PROPFIND or REPORT.",
                rec.displayname,
                kind(&rec.kind)
            );
        }
        Resource::Object { .. } => {
            return Err(Error::MethodNotAllowed {
                allow: super::methods::allow(route),
            })
        }
    }
    Ok(Reply::with_type(StatusCode::OK, TEXT, out))
}
