//! Path -> `Route`: the typed URL layout of DESIGN.md.
//!
//! Segments are percent-decoded and validated into ids here, so nothing
//! below sees a raw path.

use percent_encoding::percent_decode_str;

use crate::ids::{CalendarId, FeedToken, ObjectName, TenantId, UserId};

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/.well-known/caldav`
    WellKnown,
    /// `/` or `/dav/`: principal discovery.
    Root,
    /// `/dav/{tenant}/{user}/`: principal and calendar home.
    Home {
        /// Tenant segment.
        tenant: TenantId,
        /// User segment.
        user: UserId,
    },
    /// `/dav/{tenant}/{user}/{calendar}/`
    Collection {
        /// Tenant segment.
        tenant: TenantId,
        /// User segment.
        user: UserId,
        /// Calendar segment.
        calendar: CalendarId,
    },
    /// `/dav/{tenant}/{user}/{calendar}/{object}`
    Object {
        /// Tenant segment.
        tenant: TenantId,
        /// User segment.
        user: UserId,
        /// Calendar segment.
        calendar: CalendarId,
        /// Object name.
        object: ObjectName,
    },
    /// `/feeds/{token}/availability.ics`
    Feed {
        /// The secret feed token.
        token: FeedToken,
    },
    /// `/debug/traffic.har`: recorded upstream traffic, local admins only.
    DebugHar,
    /// `/api/{tenant}/{user}/busy`: "why busy" as JSON (Basic auth, own user).
    BusyApi {
        /// Tenant segment.
        tenant: TenantId,
        /// User segment.
        user: UserId,
    },
    /// `/healthz`
    Health,
    /// `/metrics`
    Metrics,
}

impl Route {
    /// A short name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Route::WellKnown => "well_known",
            Route::Root => "root",
            Route::Home { .. } => "home",
            Route::Collection { .. } => "collection",
            Route::Object { .. } => "object",
            Route::Feed { .. } => "feed",
            Route::DebugHar => "debug",
            Route::BusyApi { .. } => "busy_api",
            Route::Health => "health",
            Route::Metrics => "metrics",
        }
    }
}

fn decode(seg: &str) -> Option<String> {
    percent_decode_str(seg)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// Parses a request path (without query). `None` = no such route (404).
pub fn parse(path: &str) -> Option<Route> {
    if !path.starts_with('/') || path.contains("//") {
        return None;
    }
    let segs: Vec<&str> = path[1..].split('/').collect();
    // A trailing slash leaves one empty last segment; drop it.
    let segs: &[&str] = match segs.split_last() {
        Some((&"", rest)) => rest,
        _ => &segs,
    };
    match segs {
        [] => Some(Route::Root),
        [".well-known", "caldav"] => Some(Route::WellKnown),
        ["healthz"] => Some(Route::Health),
        ["metrics"] => Some(Route::Metrics),
        ["debug", "traffic.har"] => Some(Route::DebugHar),
        ["feeds", token, "availability.ics"] => Some(Route::Feed {
            token: FeedToken::new(decode(token)?).ok()?,
        }),
        ["api", t, u, "busy"] if !path.ends_with('/') => Some(Route::BusyApi {
            tenant: TenantId::new(decode(t)?).ok()?,
            user: UserId::new(decode(u)?).ok()?,
        }),
        ["dav"] => Some(Route::Root),
        ["dav", t, u] => Some(Route::Home {
            tenant: TenantId::new(decode(t)?).ok()?,
            user: UserId::new(decode(u)?).ok()?,
        }),
        ["dav", t, u, c] => Some(Route::Collection {
            tenant: TenantId::new(decode(t)?).ok()?,
            user: UserId::new(decode(u)?).ok()?,
            calendar: CalendarId::new(decode(c)?).ok()?,
        }),
        ["dav", t, u, c, o] if !path.ends_with('/') => Some(Route::Object {
            tenant: TenantId::new(decode(t)?).ok()?,
            user: UserId::new(decode(u)?).ok()?,
            calendar: CalendarId::new(decode(c)?).ok()?,
            object: ObjectName::new(decode(o)?).ok()?,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_routes() {
        assert_eq!(parse("/"), Some(Route::Root));
        assert_eq!(parse("/dav/"), Some(Route::Root));
        assert_eq!(parse("/.well-known/caldav"), Some(Route::WellKnown));
        assert!(matches!(parse("/dav/demo/demo/"), Some(Route::Home { .. })));
        assert!(matches!(
            parse("/dav/demo/demo/primary"),
            Some(Route::Collection { .. })
        ));
        assert!(matches!(
            parse("/dav/demo/demo/primary/a%40b.ics"),
            Some(Route::Object { object, .. }) if object.as_str() == "a@b.ics"
        ));
    }

    #[test]
    fn bad_paths_have_no_route() {
        for p in [
            "",
            "//",
            "/dav/demo/demo/primary/a/b",
            "/dav/../x/",
            "/dav/a%2Fb/u/",
            "/dav/t/u/c/%FF.ics",
            "/nope",
        ] {
            assert_eq!(parse(p), None, "{p}");
        }
    }
}
