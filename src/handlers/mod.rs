//! ORCHESTRATION: where the layers meet.
//!
//! A request is parsed once, by [`parse`], into a typed [`Request`]: the
//! route (`route::Route`), the method and the body model (`dav::DavRequest`
//! for DAV resources). [`dispatch`] is the one place that decides what runs
//! for it: DAV methods on the root, homes, collections and objects, the
//! feed, the debug HAR, the busy API, health, metrics and the web console
//! (`console`, which answers its own pages). Handlers read and
//! write through `store`, ask `policy` and `ical`, read derived data from
//! `views` and hand system events to `sync::Outbox`; they return a
//! [`Reply`] (status, headers, bytes rendered by `dav` writers), never an
//! HTTP status for an error: `server::response` maps [`Error`] once.

mod busy_api;
mod copy_move;
mod debug;
mod describe;
mod error;
mod feed;
mod filter;
mod methods;
mod mkcol;
mod object;
mod propfind;
mod proppatch;
mod props;
mod report;
mod request;
mod slots_api;
mod write;

pub use debug::EXPORT_LIMIT;
pub use error::{Error, Result};
pub use request::{dispatch, needs, parse, Caller, Request};

use bytes::Bytes;
use hyper::header::HeaderName;
use hyper::StatusCode;

use crate::dav::MultiStatus;
use crate::ids::{CollectionKey, ObjectName, UserRef};
use crate::route::Route;
use crate::state::App;
use crate::store::{CollectionRecord, ObjectMeta};
use crate::views::AVAILABILITY;

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
    /// The answer to OPTIONS (RFC 4791 §5.1), with the route's methods.
    pub fn options(route: &Route) -> Self {
        let mut r = Self::empty(StatusCode::OK);
        r.headers.push((
            HeaderName::from_static("dav"),
            "1, 3, calendar-access".to_string(),
        ));
        r.headers
            .push((hyper::header::ALLOW, methods::allow(route).to_string()));
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
    Home(UserRef),
    /// A calendar collection.
    Collection {
        key: CollectionKey,
        rec: CollectionRecord,
    },
    /// A calendar object (its bytes are read only when asked for).
    Object {
        key: CollectionKey,
        col: CollectionRecord,
        name: ObjectName,
        meta: ObjectMeta,
    },
}

/// The request's context: who asks, and the shared state.
pub(crate) struct Ctx<'a> {
    pub app: &'a App,
    pub principal: &'a UserRef,
}

/// Before reading a user's home or `availability/`, bring that derived
/// collection up to date (a lookup when it is): a read right after a
/// write sees it. A failed refresh is recorded and retried by the views'
/// worker; the read serves what is stored.
fn catch_up(ctx: &Ctx<'_>, owner: &UserRef) {
    if let Err(e) = ctx.app.views.ensure_fresh(owner) {
        tracing::debug!(user = %owner, error = %e, "serving the availability view as stored");
    }
}

/// Loads what a route points at; `Ok(None)` for an object that does not
/// exist yet (PUT may create it). Foreign tenants and users are 404.
pub(crate) fn load(ctx: &Ctx<'_>, route: &Route) -> Result<Option<Resource>> {
    if let Some(owner) = route.owner() {
        if &owner != ctx.principal {
            return Err(Error::NotFound);
        }
    }
    match route {
        Route::Root => Ok(Some(Resource::Root)),
        Route::Home(u) => {
            catch_up(ctx, u);
            Ok(Some(Resource::Home(u.clone())))
        }
        Route::Collection(key) => {
            if key.calendar.as_str() == AVAILABILITY {
                catch_up(ctx, &key.owner());
            }
            let rec = ctx.app.store.collection(key)?.ok_or(Error::NotFound)?;
            Ok(Some(Resource::Collection {
                key: key.clone(),
                rec,
            }))
        }
        Route::Object {
            collection: key,
            name,
        } => {
            if key.calendar.as_str() == AVAILABILITY {
                catch_up(ctx, &key.owner());
            }
            let col = ctx.app.store.collection(key)?.ok_or(Error::NotFound)?;
            Ok(ctx
                .app
                .store
                .object_meta(key, name)?
                .map(|meta| Resource::Object {
                    key: key.clone(),
                    col,
                    name: name.clone(),
                    meta,
                }))
        }
        Route::Below { .. }
        | Route::WellKnown
        | Route::Feed(_)
        | Route::Health
        | Route::Metrics
        | Route::DebugHar
        | Route::BusyApi(_)
        | Route::SlotsApi(_)
        | Route::Console(_) => Err(Error::NotFound),
    }
}
