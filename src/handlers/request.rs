//! The request seam: every request, once authenticated and with its body
//! collected, is parsed by [`parse`] into one [`Request`] and run by
//! [`dispatch`]. Nothing else routes.

use bytes::Bytes;
use hyper::{HeaderMap, Method, StatusCode};

use crate::dav::{self, DavRequest, EtagCondition};
use crate::ids::{FeedToken, UserId, UserRef};
use crate::route::{Access, Route};
use crate::state::App;
use crate::traffic;

use super::{
    busy_api, debug, feed, object, propfind, report, slots_api, write, Ctx, Error, Reply, Result,
};

/// Who asks, as the transport authenticated them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// Nobody signed in (public routes only).
    Anonymous,
    /// A tenant user (Basic auth).
    User(UserRef),
    /// A local admin (Basic auth against the admins).
    Admin(UserId),
}

/// One request, parsed.
#[derive(Debug)]
pub enum Request {
    /// `GET /healthz`.
    Health,
    /// `GET /metrics`.
    Metrics,
    /// `/.well-known/caldav`: 301 to `/dav/`.
    WellKnown,
    /// The availability feed.
    Feed {
        /// The secret token (the feed's credential).
        token: FeedToken,
        /// `If-None-Match`.
        if_none_match: Option<EtagCondition>,
    },
    /// `/debug/traffic.har` with its filter.
    DebugHar(traffic::Filter),
    /// `/api/{t}/{u}/busy?start=…&end=…`.
    BusyApi {
        /// Whose busy time.
        owner: UserRef,
        /// The query string.
        query: Option<String>,
        /// The `Cookie` headers (a console session may stand for Basic auth).
        cookies: Option<String>,
    },
    /// `/api/{t}/{u}/slots?start=…&end=…&duration=…`.
    SlotsApi {
        /// Whose slots.
        owner: UserRef,
        /// The query string.
        query: Option<String>,
        /// The `Cookie` headers (a console session may stand for Basic auth).
        cookies: Option<String>,
    },
    /// A page of the web console (it signs people in itself).
    Console(crate::console::Request),
    /// A DAV method on the root, a home, a collection or an object.
    Dav {
        /// Where.
        route: Route,
        /// What.
        request: DavRequest,
    },
}

/// Who may make this request: OPTIONS answers capabilities without
/// credentials (RFC 4791 §5.1); otherwise the route decides.
pub fn needs(route: &Route, method: &Method) -> Access {
    if method == Method::OPTIONS && route.access() == Access::User {
        return Access::Public;
    }
    route.access()
}

impl Request {
    /// Records the peer's address where the request needs it (the
    /// console's sign-in throttle counts wrong passwords per address).
    pub fn with_peer(mut self, peer: std::net::IpAddr) -> Self {
        if let Request::Console(c) = &mut self {
            c.peer = Some(peer);
        }
        self
    }
}

fn get_or_head(method: &Method) -> Result<()> {
    if method == Method::GET || method == Method::HEAD {
        Ok(())
    } else {
        Err(Error::MethodNotAllowed { allow: "GET, HEAD" })
    }
}

/// Every `Cookie` header, joined.
fn cookies(headers: &HeaderMap) -> Option<String> {
    let all: Vec<&str> = headers
        .get_all(hyper::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!all.is_empty()).then(|| all.join("; "))
}

/// Who a JSON API request is from: the Basic-auth user, else the tenant
/// user of the console session its cookie names (401 without either).
/// Runs on the blocking pool (a session lookup touches the store).
fn api_user(app: &App, caller: &Caller, cookies: Option<&str>) -> Result<UserRef> {
    match caller {
        Caller::User(u) => Ok(u.clone()),
        Caller::Anonymous => {
            crate::console::session_user(app, cookies).ok_or(Error::Unauthenticated)
        }
        Caller::Admin(_) => Err(Error::NotFound),
    }
}

/// Parses a routed request with its collected body.
pub fn parse(
    route: Route,
    method: &Method,
    headers: &HeaderMap,
    query: Option<&str>,
    body: Bytes,
) -> Result<Request> {
    Ok(match route {
        Route::Health => Request::Health,
        Route::Metrics => Request::Metrics,
        Route::WellKnown => Request::WellKnown,
        Route::Feed(token) => {
            get_or_head(method)?;
            Request::Feed {
                token,
                if_none_match: dav::parse_headers(headers)?.if_none_match,
            }
        }
        Route::DebugHar => Request::DebugHar(traffic::Filter::from_query(query)),
        Route::BusyApi(owner) => {
            get_or_head(method)?;
            Request::BusyApi {
                owner,
                query: query.map(str::to_string),
                cookies: cookies(headers),
            }
        }
        Route::SlotsApi(owner) => {
            get_or_head(method)?;
            Request::SlotsApi {
                owner,
                query: query.map(str::to_string),
                cookies: cookies(headers),
            }
        }
        Route::Console(page) => Request::Console(crate::console::Request::new(
            page, method, headers, query, body,
        )),
        route @ (Route::Root | Route::Home(_) | Route::Collection(_) | Route::Object { .. }) => {
            Request::Dav {
                request: dav::parse_request(method, headers, body)?,
                route,
            }
        }
    })
}

/// [`blocking`] with the request's context.
async fn as_user<T: Send + 'static>(
    app: &App,
    principal: &UserRef,
    f: impl FnOnce(&Ctx<'_>) -> Result<T> + Send + 'static,
) -> Result<T> {
    let principal = principal.clone();
    blocking(app, move |app| {
        f(&Ctx {
            app,
            principal: &principal,
        })
    })
    .await
}

/// Runs the synchronous part of a request (store reads and writes,
/// parsing, expansion) on the blocking pool, so no request holds an async
/// worker thread: a slow one delays no other. At most
/// `limits.blocking_jobs` run at once; the rest wait their turn.
pub(crate) async fn blocking<T: Send + 'static>(
    app: &App,
    f: impl FnOnce(&App) -> Result<T> + Send + 'static,
) -> Result<T> {
    let permit = app
        .blocking
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| Error::Unavailable)?;
    let app = app.clone();
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        f(&app)
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "request task failed");
        Error::Unavailable
    })?
}

fn signed_in(caller: &Caller) -> Result<&UserRef> {
    match caller {
        Caller::User(u) => Ok(u),
        // The transport authenticates before dispatching; reaching here
        // without a user is a routing bug, answered as "not found".
        Caller::Anonymous | Caller::Admin(_) => Err(Error::NotFound),
    }
}

/// Runs a parsed request.
pub async fn dispatch(app: &App, caller: &Caller, req: Request) -> Result<Reply> {
    match req {
        Request::Health => Ok(Reply::text(StatusCode::OK, "ok\n")),
        Request::Metrics => Ok(super::debug::metrics(app)),
        Request::WellKnown => Ok(Reply::redirect("/dav/")),
        Request::Feed {
            token,
            if_none_match,
        } => {
            blocking(app, move |app| {
                feed::get(app, &token, if_none_match.as_ref())
            })
            .await
        }
        Request::DebugHar(filter) => match caller {
            Caller::Admin(_) => debug::har(app, &filter),
            _ => Err(Error::NotFound),
        },
        Request::BusyApi {
            owner,
            query,
            cookies,
        } => {
            let caller = caller.clone();
            blocking(app, move |app| {
                let principal = api_user(app, &caller, cookies.as_deref())?;
                busy_api::get(app, &principal, &owner, query.as_deref())
            })
            .await
        }
        Request::SlotsApi {
            owner,
            query,
            cookies,
        } => {
            let caller = caller.clone();
            blocking(app, move |app| {
                let principal = api_user(app, &caller, cookies.as_deref())?;
                slots_api::get(app, &principal, &owner, query.as_deref())
            })
            .await
        }
        Request::Console(req) => {
            let a = crate::console::handle(app, req).await;
            Ok(Reply {
                status: a.status,
                headers: a.headers,
                body: a.body,
            })
        }
        Request::Dav { route, request } => {
            if let DavRequest::Options = request {
                return Ok(Reply::options());
            }
            let principal = signed_in(caller)?;
            let ctx = Ctx { app, principal };
            match request {
                DavRequest::Options => Ok(Reply::options()),
                DavRequest::PropFind { headers, body } => {
                    as_user(app, principal, move |ctx| {
                        propfind::propfind(ctx, &route, &headers, body)
                    })
                    .await
                }
                DavRequest::PropPatch(ops) => write::proppatch(&ctx, &route, ops).await,
                DavRequest::Report { report, .. } => {
                    as_user(app, principal, move |ctx| {
                        report::report(ctx, &route, *report)
                    })
                    .await
                }
                DavRequest::Get { head: _, headers } => {
                    as_user(app, principal, move |ctx| {
                        object::get(ctx, &route, &headers)
                    })
                    .await
                }
                DavRequest::Put { headers, body } => {
                    let staged = as_user(app, principal, move |ctx| {
                        write::put(ctx, &route, &headers, body)
                    })
                    .await?;
                    write::finish(app, staged).await
                }
                DavRequest::Delete { headers } => {
                    let staged = as_user(app, principal, move |ctx| {
                        write::delete(ctx, &route, &headers)
                    })
                    .await?;
                    write::finish(app, staged).await
                }
                DavRequest::MoveOrCopy { .. } => write::move_or_copy(&ctx, &route),
                DavRequest::MakeCollection => write::make_collection(&ctx, &route),
                DavRequest::NotAllowed(_) => Err(Error::MethodNotAllowed {
                    allow: super::allow_for(&route),
                }),
                DavRequest::Unknown(_) => Err(Error::NotImplemented),
            }
        }
    }
}
