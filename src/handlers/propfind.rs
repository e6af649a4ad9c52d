//! PROPFIND (RFC 4918 §9.1) on the root, home, collections and objects.
//! Depth 0 or 1 (no header is answered as 1); `Depth: infinity` on a
//! collection is refused with 403 `DAV:propfind-finite-depth` (§9.1.1)
//! rather than silently cut to one level. On an object, depth means
//! nothing and every value is answered as 0.

use crate::dav::{DavHeaders, Depth, MultiStatus, Precondition, PropFind, PropRequest, Response};
use crate::ids::Href;
use crate::route::{self, Route};

use super::{load, props, Ctx, Error, Reply, Resource, Result};

/// What the client asked for, as one resource's response needs it.
enum Asked {
    /// `prop`, `propname` or a plain `allprop`.
    Plain(PropRequest),
    /// `allprop` with `DAV:include`.
    Including(Vec<crate::dav::QName>),
}

impl Asked {
    fn new(pf: PropFind) -> Self {
        match pf {
            PropFind::AllProp { include } if include.is_empty() => {
                Asked::Plain(PropRequest::AllProp)
            }
            PropFind::AllProp { include } => Asked::Including(include),
            PropFind::PropName => Asked::Plain(PropRequest::PropName),
            PropFind::Prop(v) => Asked::Plain(PropRequest::Prop(v)),
        }
    }

    fn response(&self, ctx: &Ctx<'_>, res: &Resource, href: Href) -> Response {
        match self {
            Asked::Plain(req) => props::response(ctx, res, href, req),
            Asked::Including(include) => props::allprop_including(ctx, res, href, include),
        }
    }
}

/// Answers PROPFIND with a 207.
pub(crate) fn propfind(
    ctx: &Ctx<'_>,
    route: &Route,
    h: &DavHeaders,
    body: PropFind,
) -> Result<Reply> {
    let asked = Asked::new(body);
    let res = load(ctx, route)?.ok_or(Error::NotFound)?;
    let is_collection = !matches!(res, Resource::Object { .. });
    if is_collection && h.depth == Some(Depth::Infinity) {
        return Err(Error::Forbidden {
            reason: "Depth: infinity is not supported; ask with Depth 0 or 1".into(),
            precondition: Precondition::PropfindFiniteDepth,
        });
    }
    let depth_one = !matches!(h.depth, Some(Depth::Zero));
    let mut ms = MultiStatus::default();
    let p = ctx.principal;
    match &res {
        Resource::Root => {
            ms.responses.push(asked.response(ctx, &res, route::root()));
            if depth_one {
                let home = Resource::Home(p.clone());
                ms.responses
                    .push(asked.response(ctx, &home, route::home(p)));
            }
        }
        Resource::Home(owner) => {
            ms.responses
                .push(asked.response(ctx, &res, route::home(owner)));
            if depth_one {
                for (key, rec) in ctx.app.store.collections(&owner.tenant, &owner.user)? {
                    let href = route::collection(&key);
                    let child = Resource::Collection { key, rec };
                    ms.responses.push(asked.response(ctx, &child, href));
                }
            }
        }
        Resource::Collection { key, rec } => {
            ms.responses
                .push(asked.response(ctx, &res, route::collection(key)));
            if depth_one {
                for (name, meta) in ctx.app.store.metas(key)? {
                    let href = route::object(key, &name);
                    let child = Resource::Object {
                        key: key.clone(),
                        col: rec.clone(),
                        name,
                        meta,
                    };
                    ms.responses.push(asked.response(ctx, &child, href));
                }
            }
        }
        Resource::Object { key, name, .. } => {
            ms.responses
                .push(asked.response(ctx, &res, route::object(key, name)));
        }
    }
    Ok(Reply::multistatus(&ms))
}
