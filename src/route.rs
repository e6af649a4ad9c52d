//! The local URL layout (DESIGN.md, "Local URL layout") as one typed
//! definition: [`Route::parse`] reads a request path, [`Route::href`]
//! builds the path back, and both go through [`Route::segments`], so the
//! layout is written down once. Segments are percent-decoded and validated
//! into ids here; nothing else sees a raw path or builds an href by hand.
//!
//! Uses only `ids`; every layer above may use it.

use std::borrow::Cow;

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};

use crate::ids::{
    CalendarId, CollectionKey, FeedToken, Href, ObjectName, TenantId, UserId, UserRef,
};

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
    /// `/feeds/{token}/availability.ics`: the webcal feed (the token is the credential).
    Feed(FeedToken),
    /// `/debug/traffic.har`: recorded upstream traffic, local admins only.
    DebugHar,
    /// `/api/{tenant}/{user}/busy`: "why busy" as JSON.
    BusyApi(UserRef),
    /// `/healthz`
    Health,
    /// `/metrics`
    Metrics,
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
            Route::Health => (vec![seg("healthz")], false),
            Route::Metrics => (vec![seg("metrics")], false),
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
        if s.collection {
            out.push('/');
        }
        Href::new(out)
    }

    /// Parses a request path (without query). `None` means no such route (404).
    ///
    /// A trailing slash is optional on collections and required to be absent
    /// on objects and endpoints; `/` is the same as `/dav/`.
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
            [] => Route::Root,
            [".well-known", "caldav"] => Route::WellKnown,
            ["healthz"] => Route::Health,
            ["metrics"] => Route::Metrics,
            ["debug", "traffic.har"] => Route::DebugHar,
            ["feeds", token, "availability.ics"] => Route::Feed(FeedToken::new(*token).ok()?),
            ["api", t, u, "busy"] => Route::BusyApi(user(t, u)?),
            ["dav"] => Route::Root,
            ["dav", t, u] => Route::Home(user(t, u)?),
            ["dav", t, u, c] => {
                Route::Collection(CollectionKey::of(&user(t, u)?, &CalendarId::new(*c).ok()?))
            }
            ["dav", t, u, c, o] => Route::Object {
                collection: CollectionKey::of(&user(t, u)?, &CalendarId::new(*c).ok()?),
                name: ObjectName::new(*o).ok()?,
            },
            _ => return None,
        };
        // Objects and the JSON API are files: a trailing slash names nothing.
        if slash && matches!(route, Route::Object { .. } | Route::BusyApi(_)) {
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
            Route::Feed(_) => "feed",
            Route::DebugHar => "debug",
            Route::BusyApi(_) => "busy_api",
            Route::Health => "health",
            Route::Metrics => "metrics",
        }
    }

    /// Who may use it.
    pub fn access(&self) -> Access {
        match self {
            Route::WellKnown | Route::Feed(_) | Route::Health | Route::Metrics => Access::Public,
            Route::DebugHar => Access::Admin,
            Route::Root
            | Route::Home(_)
            | Route::Collection(_)
            | Route::Object { .. }
            | Route::BusyApi(_) => Access::User,
        }
    }

    /// The user whose resources the route names, if any.
    pub fn owner(&self) -> Option<UserRef> {
        match self {
            Route::Home(u) | Route::BusyApi(u) => Some(u.clone()),
            Route::Collection(k) | Route::Object { collection: k, .. } => Some(k.owner()),
            _ => None,
        }
    }
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
mod tests {
    use super::*;

    fn key(c: &str) -> CollectionKey {
        CollectionKey::new(
            &TenantId::new("t").unwrap(),
            &UserId::new("u").unwrap(),
            &CalendarId::new(c).unwrap(),
        )
    }

    fn all() -> Vec<Route> {
        let u = UserRef::new(&TenantId::new("t").unwrap(), &UserId::new("u").unwrap());
        vec![
            Route::WellKnown,
            Route::Root,
            Route::Home(u.clone()),
            Route::Collection(key("primary")),
            Route::Object {
                collection: key("primary"),
                name: ObjectName::new("a b@c%d?.ics").unwrap(),
            },
            Route::Feed(FeedToken::new("abc123").unwrap()),
            Route::DebugHar,
            Route::BusyApi(u),
            Route::Health,
            Route::Metrics,
        ]
    }

    #[test]
    fn every_route_round_trips_through_its_href() {
        for r in all() {
            let h = r.href();
            assert_eq!(Route::parse(h.as_str()), Some(r.clone()), "{h}");
        }
    }

    #[test]
    fn layout_paths() {
        assert_eq!(Route::parse("/"), Some(Route::Root));
        assert_eq!(Route::parse("/dav"), Some(Route::Root));
        assert_eq!(root().as_str(), "/dav/");
        assert_eq!(collection(&key("primary")).as_str(), "/dav/t/u/primary/");
        assert!(matches!(
            Route::parse("/dav/t/u/primary"),
            Some(Route::Collection(_))
        ));
        let n = ObjectName::new("a b@c.ics").unwrap();
        assert_eq!(
            object(&key("primary"), &n).as_str(),
            "/dav/t/u/primary/a%20b@c.ics"
        );
    }

    #[test]
    fn bad_paths_have_no_route() {
        for p in [
            "",
            "//",
            "/dav/demo/demo/primary/a/b",
            "/dav/demo/demo/primary/a.ics/",
            "/dav/../x/",
            "/dav/a%2Fb/u/",
            "/dav/t/u/c/%FF.ics",
            "/api/t/u/busy/",
            "/nope",
        ] {
            assert_eq!(Route::parse(p), None, "{p}");
        }
    }

    #[test]
    fn client_hrefs_resolve_to_objects_of_one_collection() {
        let n = ObjectName::new("a b@c.ics").unwrap();
        let h = object(&key("primary"), &n);
        assert_eq!(object_in(&key("primary"), &h), Some(n.clone()));
        let abs = Href::new(format!("http://localhost:5233{h}"));
        assert_eq!(object_in(&key("primary"), &abs), Some(n.clone()));
        // Another encoding of the same name.
        let other = Href::new("/dav/t/u/primary/a%20b%40c.ics");
        assert_eq!(object_in(&key("primary"), &other), Some(n));
        for foreign in [
            "/dav/t/u/blocked/x.ics",
            "/dav/t/u/primary/",
            "/dav/t/u/primary/a/b",
        ] {
            assert_eq!(object_in(&key("primary"), &Href::new(foreign)), None);
        }
    }
}
