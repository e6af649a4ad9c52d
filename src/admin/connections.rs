//! `connect` and `calendars`: connections (iCloud and other CalDAV
//! accounts, ICS feeds) and their remote calendars (R6, R8). Each user's
//! choice among them is `configure`.

use crate::ids::ConnectionId;
use crate::state::App;
use crate::store::{ConnectionRecord, ConnectionState};
use crate::sync;
use crate::traffic::Trigger;
use crate::upstream::{self, Credentials};

use super::{ConnectArgs, Response, UserArgs, AUTH_ADVICE, ICLOUD};

/// A free connection id from the Apple ID (`ann@icloud.com` → `ann`,
/// `ann-2`, …), or the id already used for this Apple ID. `None` when the
/// store cannot be read or 1,000 candidates are taken.
fn derive_id(app: &App, apple_id: &str) -> Option<ConnectionId> {
    let base = apple_id.split('@').next().unwrap_or("icloud");
    free_id(app, base, |r| r.feed().is_none() && r.apple_id == apple_id)
}

/// A free connection id made of `base`, or one already taken by a record
/// for which `same` holds.
fn free_id(
    app: &App,
    base: &str,
    same: impl Fn(&ConnectionRecord) -> bool,
) -> Option<ConnectionId> {
    let base: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(40)
        .collect();
    let base = if base.trim_matches('-').is_empty() {
        "icloud".to_string()
    } else {
        base
    };
    for n in 1..=1000 {
        let cand = if n == 1 {
            base.clone()
        } else {
            format!("{base}-{n}")
        };
        if let Ok(id) = ConnectionId::new(cand) {
            match app.store.connection(&id) {
                Ok(None) => return Some(id),
                Ok(Some(r)) if same(&r) => return Some(id),
                Ok(Some(_)) => {}
                Err(_) => return None,
            }
        }
    }
    None
}

fn check_user(app: &App, who: &UserArgs) -> Result<(), Response> {
    let (tenant, user) = (&who.tenant, &who.user);
    match app.store.user(tenant, user) {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(Response::fail(format!(
            "no user {user}@{tenant}: run `calproxy user add` first\n"
        ))),
        Err(e) => Err(Response::fail(format!("storage failed: {e}\n"))),
    }
}

/// `connect --ics URL --name NAME`: a read-only ICS feed for the tenant.
async fn connect_feed(
    app: &App,
    who: &UserArgs,
    url: &str,
    name: Option<&str>,
    id: Option<ConnectionId>,
) -> Response {
    if let Err(r) = check_user(app, who) {
        return r;
    }
    let base = name.unwrap_or("feed");
    let Some(id) = id.or_else(|| free_id(app, base, |r| r.feed().is_some_and(|f| f.name == base)))
    else {
        return Response::fail("cannot choose a connection id; pass --id\n".into());
    };
    if let Ok(Some(r)) = app.store.connection(&id) {
        if r.feed().is_none() {
            return Response::fail(format!(
                "connection {id} is an iCloud (CalDAV) connection; choose another --id\n"
            ));
        }
    }
    match app.engine.add_feed(&id, &who.tenant, url, name).await {
        Ok(added) => {
            let every = added.refresh_secs.map_or_else(
                || "every hour (the feed names no REFRESH-INTERVAL)".to_string(),
                |s| format!("every {} (as the feed asks)", human_secs(s)),
            );
            let mut out = format!(
                "added ICS source {id} ({}) for tenant {}: {} {} from {}, polled {every}\n\
                 choose it as a conflict calendar: calproxy configure --tenant {} --user {} --conflict {:?}\n",
                added.name,
                who.tenant,
                added.objects,
                if added.objects == 1 { "event" } else { "events" },
                added.display_url,
                who.tenant,
                who.user,
                added.name,
            );
            out.push_str(&calendars(app, Some(&id)).output);
            Response::ok(out)
        }
        Err(e) => Response::fail(format!("cannot add the ICS feed: {}\n", sync::describe(&e))),
    }
}

/// Seconds in the largest whole unit (`1 h`, `7 d`, `90 s`).
fn human_secs(s: u64) -> String {
    match s {
        s if s % 86_400 == 0 => format!("{} d", s / 86_400),
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

pub(super) async fn connect(app: &App, c: ConnectArgs) -> Response {
    let ConnectArgs {
        who,
        apple_id,
        upstream: upstream_url,
        id,
        options,
        password,
    } = c;
    if let Some(url) = options.ics.as_deref() {
        return connect_feed(app, &who, url, options.name.as_deref(), id).await;
    }
    if apple_id.trim().is_empty() {
        return Response::fail(
            "--apple-id is required (or --ics URL --name NAME for an ICS feed)\n".into(),
        );
    }
    if let Err(r) = check_user(app, &who) {
        return r;
    }
    // QUIRK(iCloud): China-mainland accounts live elsewhere (ICLOUD.md §1.2).
    let upstream_url = if upstream_url == ICLOUD {
        upstream::quirks::icloud_entry(&apple_id, options.region).to_string()
    } else {
        upstream_url
    };
    let (tenant, user) = (who.tenant, who.user);
    let password = password.secret();
    let creds = Credentials {
        user: apple_id.clone(),
        password: password.clone(),
    };
    let Some(id) = id.or_else(|| derive_id(app, &apple_id)) else {
        return Response::fail("cannot choose a connection id; pass --id\n".into());
    };
    let client = match app
        .clients
        .ephemeral(&id, &upstream_url, &creds, Trigger::Connect)
    {
        Ok(c) => c,
        Err(e) => return Response::fail(format!("{}\n", sync::describe(&e))),
    };
    let found = match upstream::discover(&client).await {
        Ok(d) => d,
        Err(upstream::Error::Unauthorized) => return Response::fail(format!("{AUTH_ADVICE}\n")),
        Err(e) => {
            let msg = sync::describe(&sync::Error::Upstream(e));
            return Response::fail(format!("discovery failed: {msg}\n"));
        }
    };
    let sealed = match app.store.seal(&password) {
        Ok(s) => s,
        Err(e) => return Response::fail(format!("cannot seal the password: {e}\n")),
    };
    let existing = app.store.connection(&id).ok().flatten();
    if existing.as_ref().is_some_and(|r| r.feed().is_some()) {
        return Response::fail(format!(
            "connection {id} is an ICS feed; choose another --id\n"
        ));
    }
    let mut rec =
        existing.unwrap_or_else(|| ConnectionRecord::caldav(&apple_id, Vec::new(), &upstream_url));
    rec.apple_id = apple_id;
    rec.sealed_password = sealed;
    rec.upstream = upstream_url;
    rec.home_url = Some(found.home_url.clone());
    rec.state = ConnectionState::Active;
    rec.last_error = None;
    if !rec.tenants.contains(&tenant) {
        rec.tenants.push(tenant.clone());
    }
    if let Err(e) = app.store.put_connection(&id, &rec) {
        return Response::fail(format!("storage failed: {e}\n"));
    }
    if let Err(e) = app.engine.store_calendar_list(&id, &found.calendars) {
        return Response::fail(format!("storage failed: {}\n", sync::describe(&e)));
    }
    let _ = app.store.flush().await;
    let mut out = format!(
        "connected {id} ({}) for {user}@{tenant}; home {}\n",
        rec.apple_id, found.home_url
    );
    out.push_str(&calendars(app, Some(&id)).output);
    Response::ok(out)
}

pub(super) fn calendars(app: &App, only: Option<&ConnectionId>) -> Response {
    match super::overview::connections(app, &super::overview::Scope::All) {
        Ok(conns) => {
            let conns: Vec<_> = conns
                .into_iter()
                .filter(|c| only.is_none_or(|o| o == &c.id))
                .collect();
            Response::ok(super::overview::render_calendars(&conns))
        }
        Err(e) => Response::fail(format!("storage failed: {e}\n")),
    }
}
