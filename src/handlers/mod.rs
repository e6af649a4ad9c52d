//! ORCHESTRATION: where the layers meet.
//!
//! `handle` takes an authenticated, routed request with its collected body,
//! parses it with `dav`, reads and writes through `store`, asks `ical` for
//! time math, and returns a `Reply` (status, headers, bytes rendered by
//! `dav` writers). It does no XML or iCalendar byte work itself and never
//! chooses an HTTP status for an error: `server::response` does.

pub mod busy_api;
pub mod debug;
mod error;
pub mod feed;
mod filter;
mod forward;
mod object;
mod paths;
mod propfind;
mod props;
mod report;
mod write;

pub use error::{Error, Result};

use bytes::Bytes;
use hyper::header::HeaderName;
use hyper::{HeaderMap, Method, StatusCode};

use crate::dav::{self, MultiStatus};
use crate::ids::{ObjectName, TenantId, UserId};
use crate::server::auth::Principal;
use crate::server::routes::Route;
use crate::state::App;
use crate::store::{CollectionKey, CollectionRecord, ObjectRecord};

/// Methods allowed on collections (the `Allow` header and 405s).
pub const ALLOW_COLLECTION: &str = "OPTIONS, PROPFIND, PROPPATCH, REPORT";
/// Methods allowed on objects.
pub const ALLOW_OBJECT: &str = "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND";
/// Methods allowed on the root and the home.
pub const ALLOW_PRINCIPAL: &str = "OPTIONS, PROPFIND";

/// A successful answer: status, headers and body bytes.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: StatusCode,
    /// Extra headers.
    pub headers: Vec<(HeaderName, String)>,
    /// Body bytes.
    pub body: Bytes,
}

impl Reply {
    /// An empty body with a status.
    pub fn empty(status: StatusCode) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }
    /// A body with a content type.
    pub fn with_type(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Self {
        Self {
            status,
            headers: vec![(hyper::header::CONTENT_TYPE, content_type.to_string())],
            body: body.into(),
        }
    }
    /// A plain-text body.
    pub fn text(status: StatusCode, body: &'static str) -> Self {
        Self::with_type(status, "text/plain; charset=utf-8", body)
    }
    /// A 301 to `location`.
    pub fn redirect(location: &str) -> Self {
        let mut r = Self::empty(StatusCode::MOVED_PERMANENTLY);
        r.headers
            .push((hyper::header::LOCATION, location.to_string()));
        r
    }
    /// The answer to OPTIONS (RFC 4791 §5.1).
    pub fn options() -> Self {
        let mut r = Self::empty(StatusCode::OK);
        r.headers.push((
            HeaderName::from_static("dav"),
            "1, 3, calendar-access".to_string(),
        ));
        r.headers.push((
            hyper::header::ALLOW,
            "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, REPORT".to_string(),
        ));
        r
    }
    /// A 207 Multi-Status.
    pub fn multistatus(ms: &MultiStatus) -> Self {
        Self::with_type(
            StatusCode::MULTI_STATUS,
            "application/xml; charset=utf-8",
            ms.to_xml(),
        )
    }
    /// Adds a header.
    pub fn header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// The resource a request addresses, loaded from the store.
// Short-lived, one per request or response row: boxing would only add allocations.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Resource {
    /// `/dav/`
    Root,
    /// `/dav/{t}/{u}/`
    Home { tenant: TenantId, user: UserId },
    /// A calendar collection.
    Collection {
        key: CollectionKey,
        rec: CollectionRecord,
    },
    /// A calendar object.
    Object {
        key: CollectionKey,
        col: CollectionRecord,
        name: ObjectName,
        rec: ObjectRecord,
    },
}

/// The request's context: who asks, and the shared state.
pub(crate) struct Ctx<'a> {
    pub app: &'a App,
    pub principal: &'a Principal,
}

fn owns(p: &Principal, t: &TenantId, u: &UserId) -> bool {
    &p.tenant == t && &p.user == u
}

/// Loads what a route points at; `Ok(None)` for an object that does not
/// exist yet (PUT may create it). Foreign tenants and users are 404.
pub(crate) fn load(ctx: &Ctx<'_>, route: &Route) -> Result<Option<Resource>> {
    match route {
        Route::Root => Ok(Some(Resource::Root)),
        Route::Home { tenant, user } => {
            if !owns(ctx.principal, tenant, user) {
                return Err(Error::NotFound);
            }
            Ok(Some(Resource::Home {
                tenant: tenant.clone(),
                user: user.clone(),
            }))
        }
        Route::Collection {
            tenant,
            user,
            calendar,
        } => {
            if !owns(ctx.principal, tenant, user) {
                return Err(Error::NotFound);
            }
            let key = CollectionKey::new(tenant, user, calendar);
            let rec = ctx.app.store.collection(&key)?.ok_or(Error::NotFound)?;
            Ok(Some(Resource::Collection { key, rec }))
        }
        Route::Object {
            tenant,
            user,
            calendar,
            object,
        } => {
            if !owns(ctx.principal, tenant, user) {
                return Err(Error::NotFound);
            }
            let key = CollectionKey::new(tenant, user, calendar);
            let col = ctx.app.store.collection(&key)?.ok_or(Error::NotFound)?;
            Ok(ctx
                .app
                .store
                .object(&key, object)?
                .map(|rec| Resource::Object {
                    key,
                    col,
                    name: object.clone(),
                    rec,
                }))
        }
        Route::WellKnown
        | Route::Feed { .. }
        | Route::Health
        | Route::Metrics
        | Route::DebugHar
        | Route::BusyApi { .. } => Err(Error::NotFound),
    }
}

/// Handles one authenticated DAV request.
pub async fn handle(
    app: &App,
    principal: &Principal,
    route: Route,
    method: &Method,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Reply> {
    let ctx = Ctx { app, principal };
    let h = dav::parse_headers(headers)?;
    match method.as_str() {
        "PROPFIND" => propfind::propfind(&ctx, &route, &h, &body),
        "PROPPATCH" => write::proppatch(&ctx, &route, &body).await,
        "REPORT" => report::report(&ctx, &route, &h, &body),
        "GET" | "HEAD" => object::get(&ctx, &route, &h),
        "PUT" => write::put(&ctx, &route, &h, body).await,
        "DELETE" => write::delete(&ctx, &route, &h).await,
        "MOVE" | "COPY" => write::move_or_copy(&ctx, &route),
        "MKCALENDAR" | "MKCOL" => write::make_collection(&ctx, &route),
        "POST" | "LOCK" | "UNLOCK" | "ACL" => Err(Error::MethodNotAllowed {
            allow: allow_for(&route),
        }),
        _ => Err(Error::NotImplemented),
    }
}

/// The `Allow` value for a route.
pub(crate) fn allow_for(route: &Route) -> &'static str {
    match route {
        Route::Object { .. } => ALLOW_OBJECT,
        Route::Collection { .. } => ALLOW_COLLECTION,
        _ => ALLOW_PRINCIPAL,
    }
}
