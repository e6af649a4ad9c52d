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
    busy_api, copy_move, debug, describe, feed, methods, mkcol, object, propfind, proppatch,
    report, slots_api, write, Ctx, Error, Reply, Result,
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
        cookies: Option<Cookies>,
    },
    /// `/api/{t}/{u}/slots?start=…&end=…&duration=…`.
    SlotsApi {
        /// Whose slots.
        owner: UserRef,
        /// The query string.
        query: Option<String>,
        /// The `Cookie` headers (a console session may stand for Basic auth).
        cookies: Option<Cookies>,
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
/// credentials (RFC 4791 §5.1), and so does GET or HEAD of `/dav/`, the
/// context path RFC 6764 discovery lands on (its description names no
/// one); otherwise the route decides.
pub fn needs(route: &Route, method: &Method) -> Access {
    let public = method == Method::OPTIONS
        || (*route == Route::Root && (method == Method::GET || method == Method::HEAD));
    if public && route.access() == Access::User {
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

/// A request's `Cookie` headers, joined. They carry the console's session
/// token, so they are a [`Secret`](crate::secret::Secret): `Debug` shows no value.
#[derive(Debug)]
pub struct Cookies(crate::secret::Secret<String>);

/// Every `Cookie` header, joined.
fn cookies(headers: &HeaderMap) -> Option<Cookies> {
    let all: Vec<&str> = headers
        .get_all(hyper::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!all.is_empty()).then(|| Cookies(all.join("; ").into()))
}

/// Who a JSON API request is from: the Basic-auth user, else the tenant
/// user of the console session its cookie names (401 without either).
/// A session lookup touches the store, so it runs on the blocking pool.
/// The work that follows runs on the user's share of the blocking pool
/// (`as_user`), like a CalDAV request: one user's expensive API calls
/// queue behind their own, not behind other users'.
async fn api_user(app: &App, caller: &Caller, cookies: Option<Cookies>) -> Result<UserRef> {
    match caller {
        Caller::User(u) => Ok(u.clone()),
        Caller::Anonymous => {
            blocking(app, move |app| {
                crate::console::session_user(app, cookies.as_ref().map(|c| c.0.expose().as_str()))
                    .ok_or(Error::Unauthenticated)
            })
            .await
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
        route @ (Route::Root
        | Route::Home(_)
        | Route::Collection(_)
        | Route::Object { .. }
        | Route::Below { .. }) => {
            // What OPTIONS advertises is what is served: a method the
            // resource does not answer is 405 before its body is read.
            methods::check(&route, method)?;
            Request::Dav {
                request: dav::parse_request(method, headers, body)?,
                route,
            }
        }
    })
}

/// How much work a request can be, for admission (`jobs`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Weight {
    /// Bounded by one object or resource: GET, PUT, DELETE, COPY/MOVE of
    /// an object, PROPPATCH, MKCOL, PROPFIND `Depth: 0`. The light lane.
    Light,
    /// May read a whole collection or expand series: REPORT, PROPFIND
    /// `Depth: 1`, GET of a collection, the JSON API. Within the user's
    /// share.
    Heavy,
}

/// [`blocking`] with the request's context, admitted within the
/// principal's share of the pool (`jobs`).
async fn as_user<T: Send + 'static>(
    app: &App,
    principal: &UserRef,
    f: impl FnOnce(&Ctx<'_>) -> Result<T> + Send + 'static,
) -> Result<T> {
    weighed(app, principal, Weight::Heavy, f).await
}

/// [`as_user`] in the lane `weight` says.
async fn weighed<T: Send + 'static>(
    app: &App,
    principal: &UserRef,
    weight: Weight,
    f: impl FnOnce(&Ctx<'_>) -> Result<T> + Send + 'static,
) -> Result<T> {
    let permit = match weight {
        Weight::Light => app.jobs.admit_light().await,
        Weight::Heavy => app.jobs.admit(Some(principal)).await,
    }
    .ok_or(Error::Unavailable)?;
    let principal = principal.clone();
    run_blocking(app, permit, move |app| {
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
/// `limits.blocking_jobs` run at once, a quarter of them per user
/// (`jobs::Jobs`); the rest wait their turn.
pub(crate) async fn blocking<T: Send + 'static>(
    app: &App,
    f: impl FnOnce(&App) -> Result<T> + Send + 'static,
) -> Result<T> {
    let permit = app.jobs.admit(None).await.ok_or(Error::Unavailable)?;
    run_blocking(app, permit, f).await
}

async fn run_blocking<T: Send + 'static>(
    app: &App,
    permit: crate::jobs::Permit,
    f: impl FnOnce(&App) -> Result<T> + Send + 'static,
) -> Result<T> {
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
            let principal = api_user(app, caller, cookies).await?;
            as_user(app, &principal, move |ctx| {
                busy_api::get(ctx.app, ctx.principal, &owner, query.as_deref())
            })
            .await
        }
        Request::SlotsApi {
            owner,
            query,
            cookies,
        } => {
            let principal = api_user(app, caller, cookies).await?;
            as_user(app, &principal, move |ctx| {
                slots_api::get(ctx.app, ctx.principal, &owner, query.as_deref())
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
            match &request {
                DavRequest::Options => return Ok(Reply::options(&route)),
                DavRequest::Get { .. } if route == Route::Root => return Ok(describe::root()),
                _ => {}
            }
            let principal = signed_in(caller)?;
            match request {
                DavRequest::Options => Ok(Reply::options(&route)),
                DavRequest::PropFind { headers, body } => {
                    let weight = match headers.depth {
                        Some(crate::dav::Depth::Zero) => Weight::Light,
                        _ => Weight::Heavy,
                    };
                    weighed(app, principal, weight, move |ctx| {
                        propfind::propfind(ctx, &route, &headers, body)
                    })
                    .await
                }
                DavRequest::PropPatch(ops) => {
                    let staged = weighed(app, principal, Weight::Light, move |ctx| {
                        proppatch::proppatch(ctx, &route, ops)
                    })
                    .await?;
                    write::finish(app, staged).await
                }
                DavRequest::Report { report, .. } => {
                    as_user(app, principal, move |ctx| {
                        report::report(ctx, &route, *report)
                    })
                    .await
                }
                DavRequest::Get { head: _, headers } => {
                    let weight = match route {
                        Route::Object { .. } => Weight::Light,
                        _ => Weight::Heavy,
                    };
                    weighed(app, principal, weight, move |ctx| match route {
                        Route::Object { .. } => object::get(ctx, &route, &headers),
                        _ => describe::get(ctx, &route),
                    })
                    .await
                }
                DavRequest::Put { headers, body } => {
                    let staged = weighed(app, principal, Weight::Light, move |ctx| {
                        write::put(ctx, &route, &headers, body)
                    })
                    .await?;
                    write::finish(app, staged).await
                }
                DavRequest::Delete { headers } => {
                    let staged = weighed(app, principal, Weight::Light, move |ctx| {
                        write::delete(ctx, &route, &headers)
                    })
                    .await?;
                    write::finish(app, staged).await
                }
                DavRequest::MoveOrCopy { headers, copy } => {
                    let staged = weighed(app, principal, Weight::Light, move |ctx| {
                        copy_move::copy_or_move(ctx, &route, &headers, copy)
                    })
                    .await?;
                    write::finish(app, staged).await
                }
                DavRequest::MakeCollection { calendar } => {
                    weighed(app, principal, Weight::Light, move |ctx| {
                        mkcol::make_collection(ctx, &route, calendar)
                    })
                    .await
                }
                DavRequest::NotAllowed(_) => Err(Error::MethodNotAllowed {
                    allow: methods::allow(&route),
                }),
                DavRequest::Unknown(_) => Err(Error::NotImplemented),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cookies_never_show_their_value() {
        let c = super::Cookies(String::from("calproxy_session=secret-token").into());
        assert_eq!(format!("{c:?}"), "Cookies(<redacted>)");
    }
}
