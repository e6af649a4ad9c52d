//! `feed show|rotate`, `busy` and `slots`: a user's availability feed,
//! "why busy" and free slots.

use crate::ical::TimeRange;
use crate::ids::UserRef;
use crate::state::App;
use crate::views::explain;

use super::{BusyArgs, Response, SlotsArgs, UserArgs};

/// The feed path of a user's token (creating one, or a new one on `rotate`).
pub(super) async fn feed(app: &App, who: &UserArgs, rotate: bool) -> Response {
    match crate::accounts::feed_token(&app.store, &who.tenant, &who.user, rotate) {
        Ok(Some(tok)) => {
            let _ = app.store.flush().await;
            Response::ok(format!("{}\n", crate::route::feed(&tok)))
        }
        Ok(None) => Response::fail(format!("no user {}@{}\n", who.user, who.tenant)),
        Err(e) => Response::fail(format!("{e}\n")),
    }
}

pub(super) fn busy(app: &App, b: &BusyArgs) -> Response {
    let who = UserRef::new(&b.who.tenant, &b.who.user);
    if !matches!(app.store.user(&who.tenant, &who.user), Ok(Some(_))) {
        return Response::fail(format!("no user {who}\n"));
    }
    let window = TimeRange {
        start: b.from.with_timezone(&chrono::Utc),
        end: b.to.with_timezone(&chrono::Utc),
    };
    if window.end <= window.start {
        return Response::fail("--to must be after --from\n".into());
    }
    let budget = app.expansion_budget();
    match app.views.why_busy(&who, window, Some(&budget)) {
        Ok(items) if b.json => match serde_json::to_string_pretty(&items) {
            Ok(s) => Response::ok(format!("{s}\n")),
            Err(e) => Response::fail(format!("cannot render: {e}\n")),
        },
        Ok(items) => Response::ok(explain::render_text(&items)),
        Err(e) => Response::fail(format!("{e}\n")),
    }
}

pub(super) fn slots(app: &App, a: &SlotsArgs) -> Response {
    use crate::views::slots::{self, SlotParams, SlotQuery};
    let who = UserRef::new(&a.who.tenant, &a.who.user);
    if !matches!(app.store.user(&who.tenant, &who.user), Ok(Some(_))) {
        return Response::fail(format!("no user {who}\n"));
    }
    let window = TimeRange {
        start: a.from.with_timezone(&chrono::Utc),
        end: a.to.with_timezone(&chrono::Utc),
    };
    let params = SlotParams {
        duration: Some(&a.duration),
        interval: a.interval.as_deref(),
        buffer_before: a.buffer_before.as_deref(),
        buffer_after: a.buffer_after.as_deref(),
        tz: a.tz.as_deref(),
    };
    let q = match SlotQuery::new(window, &params) {
        Ok(q) => q,
        Err(e) => return Response::fail(format!("{e}\n")),
    };
    let fresh = crate::views::sources::Freshness::of(&app.config);
    let budget = app.expansion_budget();
    match app.views.slots(&who, &q, fresh, Some(&budget)) {
        Ok(s) if a.json => match serde_json::to_string_pretty(&s) {
            Ok(j) => Response::ok(format!("{j}\n")),
            Err(e) => Response::fail(format!("cannot render: {e}\n")),
        },
        Ok(s) => Response::ok(slots::render_text(&s)),
        Err(e) => Response::fail(format!("{e}\n")),
    }
}
