//! Which methods each DAV resource answers: the one table behind the
//! `Allow` header of OPTIONS and of every 405 (RFC 9110 §9.3.7, §15.5.6),
//! checked by [`check`] before a request's body is parsed, so what OPTIONS
//! advertises is exactly what is served (issue 12 #11).
//!
//! A method in a resource's set may still be refused to a user with 403
//! `DAV:need-privileges` (R2: a PUT onto an iCloud event); which of them a
//! user may use is what `current-user-privilege-set` shows (`props`).
//! MKCOL and MKCALENDAR are never in a set (collections come from
//! configuration); `mkcol` answers them with the status each place calls
//! for.

use hyper::Method;

use crate::dav::KNOWN_METHODS;
use crate::route::Route;

use super::{Error, Result};

/// `/dav/` and a home (principal and calendar home): read-only; GET and
/// HEAD answer a short description (RFC 6764 discovery GETs the context
/// path).
const PRINCIPAL: &str = "OPTIONS, GET, HEAD, PROPFIND";
/// A calendar collection. PROPPATCH is honoured on `primary/` and
/// `blocked/` and refused by privilege on read-only calendars.
const COLLECTION: &str = "OPTIONS, GET, HEAD, PROPFIND, PROPPATCH, REPORT";
/// A calendar object (an unmapped object URL too: PUT creates it).
/// PROPPATCH is refused by privilege (R2 names it; objects carry no
/// properties of their own to change).
const OBJECT: &str = "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, COPY, MOVE";
/// Below a calendar, where nothing can exist (`route::Route::Below`).
const NOTHING: &str = "OPTIONS";

/// The `Allow` value of a DAV route.
pub(crate) fn allow(route: &Route) -> &'static str {
    match route {
        Route::Object { .. } => OBJECT,
        Route::Collection(_) => COLLECTION,
        Route::Root | Route::Home(_) => PRINCIPAL,
        Route::Below { .. }
        | Route::WellKnown
        | Route::Feed(_)
        | Route::DebugHar
        | Route::BusyApi(_)
        | Route::SlotsApi(_)
        | Route::Health
        | Route::Metrics
        | Route::Console(_) => NOTHING,
    }
}

/// Whether `method` is one of `route`'s.
pub(crate) fn allows(route: &Route, method: &Method) -> bool {
    allow(route).split(", ").any(|m| m == method.as_str())
}

/// Refuses a known method a resource does not answer (405 with its
/// `Allow`). OPTIONS always passes; so do MKCOL and MKCALENDAR (answered
/// by `mkcol` according to what exists), every method below a calendar
/// (nothing is there: 404, or 409 for PUT), and unknown methods (501).
pub(crate) fn check(route: &Route, method: &Method) -> Result<()> {
    let m = method.as_str();
    let decided_later = matches!(m, "OPTIONS" | "MKCOL" | "MKCALENDAR")
        || !KNOWN_METHODS.contains(&m)
        || matches!(route, Route::Below { .. });
    if decided_later || allows(route, method) {
        Ok(())
    } else {
        Err(Error::MethodNotAllowed {
            allow: allow(route),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{CalendarId, CollectionKey, ObjectName, TenantId, UserId, UserRef};

    fn routes() -> (Route, Route, Route, Route) {
        let u = UserRef::new(&TenantId::new("t").unwrap(), &UserId::new("u").unwrap());
        let k = CollectionKey::of(&u, &CalendarId::new("primary").unwrap());
        (
            Route::Root,
            Route::Home(u),
            Route::Collection(k.clone()),
            Route::Object {
                collection: k,
                name: ObjectName::new("a.ics").unwrap(),
            },
        )
    }

    fn method(m: &str) -> Method {
        Method::from_bytes(m.as_bytes()).unwrap()
    }

    #[test]
    fn every_advertised_method_is_known_and_passes_the_check() {
        let (root, home, col, obj) = routes();
        for r in [root, home, col, obj] {
            for m in allow(&r).split(", ") {
                assert!(KNOWN_METHODS.contains(&m), "{m}");
                assert!(check(&r, &method(m)).is_ok(), "{m} on {r:?}");
            }
        }
    }

    #[test]
    fn rfc9110_15_5_6_refused_methods_carry_the_resources_allow() {
        let (root, home, col, obj) = routes();
        for (r, m) in [
            (&root, "PUT"),
            (&home, "PROPPATCH"),
            (&home, "REPORT"),
            (&col, "PUT"),
            (&col, "DELETE"),
            (&col, "MOVE"),
            (&obj, "REPORT"),
            (&obj, "LOCK"),
        ] {
            match check(r, &method(m)) {
                Err(Error::MethodNotAllowed { allow: a }) => {
                    assert_eq!(a, allow(r));
                    assert!(!a.split(", ").any(|x| x == m), "{m} in {a}");
                }
                other => panic!("{m} on {r:?}: {other:?}"),
            }
        }
        for m in ["OPTIONS", "MKCOL", "MKCALENDAR", "FROB"] {
            assert!(check(&obj, &method(m)).is_ok(), "{m}");
        }
    }
}
