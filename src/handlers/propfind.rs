//! PROPFIND (RFC 4918 §9.1) on the root, home, collections and objects.
//! Depth 0 or 1; `infinity` (or no header) is answered as depth 1.

use crate::dav::{DavHeaders, Depth, MultiStatus, PropFind, PropRequest};
use crate::route::{self, Route};

use super::{load, props, Ctx, Error, Reply, Resource, Result};

fn prop_request(pf: PropFind) -> PropRequest {
    match pf {
        PropFind::AllProp { include } => {
            if include.is_empty() {
                PropRequest::AllProp
            } else {
                // allprop + include: allprop's names plus the included ones.
                PropRequest::Prop(include)
            }
        }
        PropFind::PropName => PropRequest::PropName,
        PropFind::Prop(v) => PropRequest::Prop(v),
    }
}

/// Answers PROPFIND with a 207.
pub(crate) fn propfind(
    ctx: &Ctx<'_>,
    route: &Route,
    h: &DavHeaders,
    body: PropFind,
) -> Result<Reply> {
    let req = prop_request(body);
    let depth_one = !matches!(h.depth, Some(Depth::Zero));
    let res = load(ctx, route)?.ok_or(Error::NotFound)?;
    let mut ms = MultiStatus::default();
    let p = ctx.principal;
    match &res {
        Resource::Root => {
            ms.responses
                .push(props::response(ctx, &res, route::root(), &req));
            if depth_one {
                let home = Resource::Home(p.clone());
                ms.responses
                    .push(props::response(ctx, &home, route::home(p), &req));
            }
        }
        Resource::Home(owner) => {
            ms.responses
                .push(props::response(ctx, &res, route::home(owner), &req));
            if depth_one {
                for (key, rec) in ctx.app.store.collections(&owner.tenant, &owner.user)? {
                    let href = route::collection(&key);
                    let child = Resource::Collection { key, rec };
                    ms.responses.push(props::response(ctx, &child, href, &req));
                }
            }
        }
        Resource::Collection { key, rec } => {
            ms.responses
                .push(props::response(ctx, &res, route::collection(key), &req));
            if depth_one {
                for (name, meta) in ctx.app.store.metas(key)? {
                    let href = route::object(key, &name);
                    let child = Resource::Object {
                        key: key.clone(),
                        col: rec.clone(),
                        name,
                        meta,
                    };
                    ms.responses.push(props::response(ctx, &child, href, &req));
                }
            }
        }
        Resource::Object { key, name, .. } => {
            ms.responses
                .push(props::response(ctx, &res, route::object(key, name), &req));
        }
    }
    Ok(Reply::multistatus(&ms))
}
