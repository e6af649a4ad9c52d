//! The local URL layout (DESIGN.md, "Local URL layout") as one typed
//! definition: [`Route::parse`] reads a request path, [`Route::href`]
//! builds the path back, and both go through [`Route::segments`], so the
//! layout is written down once. Segments are percent-decoded and validated
//! into ids here; nothing else sees a raw path or builds an href by hand.
//!
//! The console's pages live in `page`.
//!
//! Uses only `ids`; every layer above may use it.

use std::borrow::Cow;

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};

use crate::ids::{
    CalendarId, CollectionKey, FeedToken, Href, ObjectName, TenantId, UserId, UserRef,
};

mod page;

pub use page::{Asset, ConnectionAction, Page};

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/.well-known/caldav` (RFC 6764): redirects to `/dav/`.
    WellKnown,
    /// `/dav/`: principal discovery.
    Root,
    /// `/dav/{tenant}/{user}/`: principal and calendar home.
    Home(UserRef),
    /// `/dav/{tenant}/{user}/{calendar}/`
    Collection(CollectionKey),
    /// `/dav/{tenant}/{user}/{calendar}/{object}`
    Object {
        /// The collection holding it.
        collection: CollectionKey,
        /// The object's (decoded) name.
        name: ObjectName,
    },
    /// A path below a calendar that names none of its objects:
    /// `…/{calendar}/{name}/` (a would-be collection inside it) or anything
    /// deeper. Nothing exists there (calendars hold no collections, RFC
    /// 4791 §4.2); it is routed so that PUT and MKCOL get the statuses
    /// RFC 4918 §9.7.1 and §9.3.1 name (409, 403) instead of a bare 404.
    Below {
        /// The calendar the path starts in.
        collection: CollectionKey,
        /// The (decoded) segments after the calendar: at least one.
        path: Vec<ObjectName>,
        /// Whether the path ended with `/`.
        slash: bool,
    },
    /// `/feeds/{token}/availability.ics`: the webcal feed (the token is the credential).
    Feed(FeedToken),
    /// `/debug/traffic.har`: recorded upstream traffic, local admins only.
    DebugHar,
    /// `/api/{tenant}/{user}/busy`: "why busy" as JSON.
    BusyApi(UserRef),
    /// `/api/{tenant}/{user}/slots`: free slots as JSON.
    SlotsApi(UserRef),
    /// `/healthz`
    Health,
    /// `/metrics`
    Metrics,
    /// `/` and the web console's pages below it (GET, HEAD and POST; DAV
    /// methods on `/` are the DAV root, see [`Route::parse_request`]).
    Console(Page),
}

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (the feed's token is its own credential).
    Public,
    /// A signed-in tenant user (who may still see only their own resources).
    User,
    /// A local admin.
    Admin,
    /// The web console: it signs people in itself (a session cookie); the
    /// transport passes the request through.
    Session,
    /// The JSON API: a tenant user by Basic auth when the request carries
    /// an `Authorization` header, else by a console session (checked by
    /// the handler).
    UserOrSession,
}

/// The characters escaped in a path segment (the complement of RFC 3986 `pchar`).
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// A route as decoded path segments plus whether the path ends with `/`.
struct Segments<'a> {
    parts: Vec<Cow<'a, str>>,
    collection: bool,
}

fn seg(s: &str) -> Cow<'_, str> {
    Cow::Borrowed(s)
}

impl Route {
    /// The one definition of the layout: each route's decoded segments.
    fn segments(&self) -> Segments<'_> {
        let (parts, collection) = match self {
            Route::WellKnown => (vec![seg(".well-known"), seg("caldav")], false),
            Route::Root => (vec![seg("dav")], true),
            Route::Home(u) => (
                vec![seg("dav"), seg(u.tenant.as_str()), seg(u.user.as_str())],
                true,
            ),
            Route::Collection(k) => (
                vec![
                    seg("dav"),
                    seg(k.tenant.as_str()),
                    seg(k.user.as_str()),
                    seg(k.calendar.as_str()),
                ],
                true,
            ),
            Route::Object {
                collection: k,
                name,
            } => (
                vec![
                    seg("dav"),
                    seg(k.tenant.as_str()),
                    seg(k.user.as_str()),
                    seg(k.calendar.as_str()),
                    seg(name.as_str()),
                ],
                false,
            ),
            Route::Below {
                collection: k,
                path,
                slash,
            } => {
                let mut parts = vec![
                    seg("dav"),
                    seg(k.tenant.as_str()),
                    seg(k.user.as_str()),
                    seg(k.calendar.as_str()),
                ];
                parts.extend(path.iter().map(|p| seg(p.as_str())));
                (parts, *slash)
            }
            Route::Feed(t) => (
                vec![seg("feeds"), seg(t.expose()), seg("availability.ics")],
                false,
            ),
            Route::DebugHar => (vec![seg("debug"), seg("traffic.har")], false),
            Route::BusyApi(u) => (
                vec![
                    seg("api"),
                    seg(u.tenant.as_str()),
                    seg(u.user.as_str()),
                    seg("busy"),
                ],
                false,
            ),
            Route::SlotsApi(u) => (
                vec![
                    seg("api"),
                    seg(u.tenant.as_str()),
                    seg(u.user.as_str()),
                    seg("slots"),
                ],
                false,
            ),
            Route::Health => (vec![seg("healthz")], false),
            Route::Metrics => (vec![seg("metrics")], false),
            Route::Console(p) => (p.segments(), false),
        };
        Segments { parts, collection }
    }

    /// The canonical path of the route, percent-encoded.
    pub fn href(&self) -> Href {
        let s = self.segments();
        let mut out = String::new();
        for p in &s.parts {
            out.push('/');
            out.extend(utf8_percent_encode(p, SEGMENT));
        }
        if s.collection || out.is_empty() {
            out.push('/');
        }
        Href::new(out)
    }

    /// Parses a request's path for its method: GET, HEAD and POST of `/`
    /// reach the console, every other method on `/` is the DAV root
    /// (clients PROPFIND `/` to discover the principal).
    pub fn parse_request(path: &str, method: &http::Method) -> Option<Route> {
        match Route::parse(path)? {
            Route::Console(Page::Home)
                if !matches!(
                    *method,
                    http::Method::GET | http::Method::HEAD | http::Method::POST
                ) =>
            {
                Some(Route::Root)
            }
            r => Some(r),
        }
    }

    /// Parses a request path (without query). `None` means no such route (404).
    ///
    /// A trailing slash is optional on collections and required to be absent
    /// on objects and endpoints; `/` is the console's home, whose DAV
    /// methods [`Route::parse_request`] sends to `/dav/`.
    pub fn parse(path: &str) -> Option<Route> {
        let rest = path.strip_prefix('/')?;
        if path.contains("//") {
            return None;
        }
        let slash = rest.ends_with('/');
        let raw: Vec<&str> = if rest.is_empty() {
            Vec::new()
        } else {
            rest.trim_end_matches('/').split('/').collect()
        };
        let mut decoded = Vec::with_capacity(raw.len());
        for r in &raw {
            decoded.push(percent_decode_str(r).decode_utf8().ok()?.into_owned());
        }
        let d: Vec<&str> = decoded.iter().map(String::as_str).collect();
        let user = |t: &str, u: &str| -> Option<UserRef> {
            Some(UserRef {
                tenant: TenantId::new(t).ok()?,
                user: UserId::new(u).ok()?,
            })
        };
        let route = match d.as_slice() {
            [] => Route::Console(Page::Home),
            [".well-known", "caldav"] => Route::WellKnown,
            ["healthz"] => Route::Health,
            ["metrics"] => Route::Metrics,
            ["debug", "traffic.har"] => Route::DebugHar,
            ["feeds", token, "availability.ics"] => Route::Feed(FeedToken::new(*token).ok()?),
            ["api", t, u, "busy"] => Route::BusyApi(user(t, u)?),
            ["api", t, u, "slots"] => Route::SlotsApi(user(t, u)?),
            ["dav"] => Route::Root,
            ["dav", t, u] => Route::Home(user(t, u)?),
            ["dav", t, u, c] => {
                Route::Collection(CollectionKey::of(&user(t, u)?, &CalendarId::new(*c).ok()?))
            }
            ["dav", t, u, c, rest @ ..] => {
                let collection = CollectionKey::of(&user(t, u)?, &CalendarId::new(*c).ok()?);
                match rest {
                    [o] if !slash => Route::Object {
                        collection,
                        name: ObjectName::new(*o).ok()?,
                    },
                    _ => Route::Below {
                        collection,
                        path: rest
                            .iter()
                            .map(|p| ObjectName::new(*p).ok())
                            .collect::<Option<_>>()?,
                        slash,
                    },
                }
            }
            other => Route::Console(Page::parse(other)?),
        };
        // Objects, the JSON API and console pages are files: a trailing
        // slash names nothing.
        let file = match &route {
            Route::Object { .. } | Route::BusyApi(_) | Route::SlotsApi(_) => true,
            Route::Console(p) => *p != Page::Home,
            _ => false,
        };
        if slash && file {
            return None;
        }
        Some(route)
    }

    /// A short name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Route::WellKnown => "well_known",
            Route::Root => "root",
            Route::Home(_) => "home",
            Route::Collection(_) => "collection",
            Route::Object { .. } => "object",
            Route::Below { .. } => "below",
            Route::Feed(_) => "feed",
            Route::DebugHar => "debug",
            Route::BusyApi(_) => "busy_api",
            Route::SlotsApi(_) => "slots_api",
            Route::Health => "health",
            Route::Metrics => "metrics",
            Route::Console(_) => "console",
        }
    }

    /// Who may use it.
    pub fn access(&self) -> Access {
        match self {
            Route::WellKnown | Route::Feed(_) | Route::Health | Route::Metrics => Access::Public,
            Route::DebugHar => Access::Admin,
            Route::Console(_) => Access::Session,
            Route::BusyApi(_) | Route::SlotsApi(_) => Access::UserOrSession,
            Route::Root
            | Route::Home(_)
            | Route::Collection(_)
            | Route::Object { .. }
            | Route::Below { .. } => Access::User,
        }
    }

    /// The user whose resources the route names, if any.
    pub fn owner(&self) -> Option<UserRef> {
        match self {
            Route::Home(u) | Route::BusyApi(u) | Route::SlotsApi(u) => Some(u.clone()),
            Route::Collection(k)
            | Route::Object { collection: k, .. }
            | Route::Below { collection: k, .. } => Some(k.owner()),
            _ => None,
        }
    }
}

/// The path of a console page.
pub fn page(p: &Page) -> Href {
    Route::Console(p.clone()).href()
}

/// Whether a request path lies in the DAV namespace (`/dav` and below),
/// whether or not it names a resource: such paths authenticate before
/// they answer 404.
pub fn in_dav_space(path: &str) -> bool {
    path == "/dav" || path.starts_with("/dav/")
}

/// `/dav/`
pub fn root() -> Href {
    Route::Root.href()
}

/// `/dav/{tenant}/{user}/`: principal and calendar home.
pub fn home(user: &UserRef) -> Href {
    Route::Home(user.clone()).href()
}

/// `/dav/{tenant}/{user}/{calendar}/`
pub fn collection(key: &CollectionKey) -> Href {
    Route::Collection(key.clone()).href()
}

/// `/dav/{tenant}/{user}/{calendar}/{name}`, the name percent-encoded.
pub fn object(key: &CollectionKey, name: &ObjectName) -> Href {
    Route::Object {
        collection: key.clone(),
        name: name.clone(),
    }
    .href()
}

/// `/feeds/{token}/availability.ics`
pub fn feed(token: &FeedToken) -> Href {
    Route::Feed(token.clone()).href()
}

/// Resolves an href a client sent (a path or an absolute URL, however it
/// percent-encodes) to an object of `key`'s collection. `None` when it
/// points anywhere else.
pub fn object_in(key: &CollectionKey, href: &Href) -> Option<ObjectName> {
    let raw = href.as_str().trim();
    let path = match raw.find("://") {
        Some(i) => {
            let after = &raw[i + 3..];
            &after[after.find('/')?..]
        }
        None => raw,
    };
    match Route::parse(path)? {
        Route::Object { collection, name } if &collection == key => Some(name),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
