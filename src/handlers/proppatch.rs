//! PROPPATCH (RFC 4918 §9.2): all-or-nothing, on the calendars a user
//! may change (`primary/`, `blocked/`). Read-only calendars, iCloud
//! events (R2) and objects in general are refused with 403
//! `DAV:need-privileges` on `write-properties`, which their
//! `current-user-privilege-set` does not list. The root and homes do not
//! answer PROPPATCH at all (405, `methods`).

use crate::dav::names::{self as n, QName};
use crate::dav::{
    self, MultiStatus, PropPatchOp, PropStat, PropValue, Property, Response, ResponseBody,
};
use crate::policy;
use crate::route::{self as paths, Route};
use crate::store::{CollectionRecord, DeadProperty};

use super::write::{need, Staged};
use super::{load, Ctx, Error, Reply, Resource, Result};

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

/// PROPPATCH of a collection or an object, up to the store.
pub(crate) fn proppatch(ctx: &Ctx<'_>, route: &Route, ops: Vec<PropPatchOp>) -> Result<Staged> {
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
        Resource::Root | Resource::Home(_) => {
            return Err(Error::MethodNotAllowed {
                allow: super::methods::allow(route),
            })
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
    // `write::finish` flushes before the 207 is sent (R10).
    Ok(Staged {
        reply: Reply::multistatus(&ms),
        queued: Vec::new(),
    })
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
