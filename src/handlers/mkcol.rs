//! MKCOL (RFC 4918 §9.3) and MKCALENDAR (RFC 4791 §5.3.1): calendars
//! come from calproxy's configuration, so no request makes one. Each
//! place gets the refusal its RFC names (issue 12 #14):
//!
//! | where | answer |
//! | --- | --- |
//! | an existing resource | 405 with its `Allow` (§9.3.1) |
//! | a new calendar in the home | 403 `need-privileges` `bind` on the home (its privileges show read only) |
//! | inside a calendar | 403, `C:calendar-collection-location-ok` for MKCALENDAR (calendars hold no collections, RFC 4791 §4.2) |
//! | below a missing collection | 409 (§9.3.1: intermediate collections first) |

use crate::dav::names as n;
use crate::dav::Precondition;
use crate::route::{self as paths, Route};

use super::write::need;
use super::{methods, Ctx, Error, Reply, Result};

fn exists(route: &Route) -> Error {
    Error::MethodNotAllowed {
        allow: methods::allow(route),
    }
}

fn missing_parent() -> Error {
    Error::Conflict {
        reason: "the collection to hold it does not exist",
    }
}

fn inside_calendar(calendar: bool) -> Error {
    if calendar {
        Error::Forbidden {
            reason: "a calendar cannot be made inside a calendar (RFC 4791 §4.2)".into(),
            precondition: Precondition::CalendarCollectionLocationOk,
        }
    } else {
        Error::Refused {
            reason: "a calendar holds no collections (RFC 4791 §4.2)",
        }
    }
}

/// Answers MKCOL (`calendar` false) or MKCALENDAR: always a refusal.
pub(crate) fn make_collection(ctx: &Ctx<'_>, route: &Route, calendar: bool) -> Result<Reply> {
    if let Some(owner) = route.owner() {
        if &owner != ctx.principal {
            return Err(Error::NotFound);
        }
    }
    let store = &ctx.app.store;
    Err(match route {
        Route::Root | Route::Home(_) => exists(route),
        Route::Collection(key) => match store.collection(key)? {
            Some(_) => exists(route),
            None => need(
                paths::home(&key.owner()),
                n::BIND,
                "calendars are created by calproxy configuration, not by clients",
            ),
        },
        Route::Object { collection, name } => {
            if store.collection(collection)?.is_none() {
                missing_parent()
            } else if store.object_meta(collection, name)?.is_some() {
                exists(route)
            } else {
                inside_calendar(calendar)
            }
        }
        Route::Below {
            collection, path, ..
        } => {
            if store.collection(collection)?.is_none() || path.len() > 1 {
                missing_parent()
            } else {
                inside_calendar(calendar)
            }
        }
        Route::WellKnown
        | Route::Feed(_)
        | Route::DebugHar
        | Route::BusyApi(_)
        | Route::SlotsApi(_)
        | Route::Health
        | Route::Metrics
        | Route::Console(_) => Error::NotFound,
    })
}
