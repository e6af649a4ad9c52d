//! `configure`: each user's choice of primary and conflict calendars
//! among their tenant's connections (R6–R8), with privacy and the other
//! settings, and the copies of the chosen calendars made at once.

use std::fmt::Write as _;

use crate::accounts;
use crate::ids::{CalendarId, ConnectionId, TenantId};
use crate::policy;
use crate::state::App;
use crate::store::{RemoteKind, RemoteRef};
use crate::sync::materialize;

use super::{settings, ConfigureArgs, Response};

/// Finds a remote calendar by `connection/id`, id or unique display name
/// among the connections attached to `tenant`.
fn resolve(
    app: &App,
    tenant: &TenantId,
    wanted: &str,
) -> Result<(ConnectionId, CalendarId, crate::store::RemoteCalendarRecord), String> {
    let mut hits = Vec::new();
    let conns = app.store.connections().map_err(|e| e.to_string())?;
    let qualified = wanted
        .split_once('/')
        .and_then(|(c, i)| Some((ConnectionId::new(c).ok()?, CalendarId::new(i).ok()?)));
    for (cid, rec) in conns
        .into_iter()
        .filter(|(_, r)| r.tenants.contains(tenant))
    {
        let _ = rec;
        if let Some((qc, qi)) = &qualified {
            if qc != &cid {
                continue;
            }
            if let Some(cal) = app
                .store
                .remote_calendar(&cid, qi)
                .map_err(|e| e.to_string())?
            {
                return Ok((cid, qi.clone(), cal));
            }
            continue;
        }
        for (id, cal) in app
            .store
            .remote_calendars(&cid)
            .map_err(|e| e.to_string())?
        {
            if id.as_str() == wanted {
                return Ok((cid, id, cal));
            }
            if cal.displayname.eq_ignore_ascii_case(wanted) {
                hits.push((cid.clone(), id, cal));
            }
        }
    }
    if hits.len() > 1 {
        // A subscribed calendar and the ICS source made of its URL may share
        // a name: the one that can be connected is meant.
        let usable: Vec<_> = hits
            .iter()
            .filter(|(_, _, c)| policy::calendars::refusal(&c.kind).is_none())
            .cloned()
            .collect();
        if usable.len() == 1 {
            hits = usable;
        }
    }
    match hits.len() {
        1 => Ok(hits.remove(0)),
        0 => Err(format!("no calendar {wanted:?} in the connections of tenant {tenant} (see `calproxy calendars`)")),
        _ => Err(format!("{wanted:?} names {} calendars; use the calendar id", hits.len())),
    }
}

pub(super) async fn configure(app: &App, c: &ConfigureArgs) -> Response {
    let (tenant, user) = (&c.who.tenant, &c.who.user);
    let primary = c.primary.as_deref();
    let (conflicts, conflict_users, privacy) = (&c.conflicts, &c.conflict_users, c.privacy);
    let mut urec = match app.store.user(tenant, user) {
        Ok(Some(u)) => u,
        _ => return Response::fail(format!("no user {user}@{tenant}\n")),
    };
    let who = crate::ids::UserRef::new(tenant, user);
    // Settings are checked before anything changes.
    let plan = if c.settings.any() {
        match settings::plan(app, &who, &c.settings) {
            Ok(p) => Some(p),
            Err(msg) => return Response::fail(format!("{msg}\n")),
        }
    } else {
        None
    };
    // The calendar choice is replaced as a whole, unless the command only
    // changes settings (then it stays as it is).
    let replace_links =
        primary.is_some() || !conflicts.is_empty() || !conflict_users.is_empty() || plan.is_none();
    let mut chosen = Vec::new();
    let wanted: Vec<(bool, &str)> = if replace_links {
        primary
            .iter()
            .map(|p| (true, *p))
            .chain(conflicts.iter().map(|c| (false, c.as_str())))
            .collect()
    } else {
        Vec::new()
    };
    for (is_primary, name) in wanted {
        match resolve(app, tenant, name) {
            Ok((cid, id, cal)) => {
                if let Some(why) = policy::calendars::refusal(&cal.kind) {
                    let mut msg = format!("{name:?} cannot be connected: it is {why} (R6)\n");
                    if let RemoteKind::Subscribed {
                        source: Some(source),
                    } = &cal.kind
                    {
                        let _ = writeln!(
                            msg,
                            "add its feed as an ICS source instead:\n  calproxy connect --tenant {tenant} --user {user} --ics '{source}' --name {:?}",
                            cal.displayname
                        );
                    }
                    return Response::fail(msg);
                }
                if is_primary {
                    if let Some(why) = policy::calendars::primary_refusal(cal.read_only) {
                        return Response::fail(format!(
                            "{name:?} cannot be the primary calendar: {why} (R1, R7)\n"
                        ));
                    }
                }
                chosen.push((is_primary, cid, id, cal));
            }
            Err(msg) => return Response::fail(format!("{msg}\n")),
        }
    }
    let keys: Vec<(ConnectionId, CalendarId)> = chosen
        .iter()
        .map(|(_, c, i, _)| (c.clone(), i.clone()))
        .collect();
    let primary_key = keys.first().filter(|_| primary.is_some());
    let conflict_keys = if primary.is_some() {
        &keys[1..]
    } else {
        &keys[..]
    };
    if let Err(p) = policy::calendars::check_selection(primary_key, conflict_keys) {
        let why = match p {
            policy::calendars::SelectionProblem::PrimaryAlsoConflict => {
                "the primary calendar cannot also be a conflict calendar"
            }
            policy::calendars::SelectionProblem::Duplicate => "a conflict calendar is chosen twice",
        };
        return Response::fail(format!("invalid selection: {why} (R7)\n"));
    }
    for u in conflict_users {
        if u == user || !matches!(app.store.user(tenant, u), Ok(Some(_))) {
            return Response::fail(format!("{u} is not another user of tenant {tenant} (R7)\n"));
        }
    }
    let previous = match app.store.links(tenant, user) {
        Ok(l) => l,
        Err(e) => return Response::fail(format!("storage failed: {e}\n")),
    };
    let mut out = String::new();
    if !replace_links {
        let rest = Rest {
            privacy,
            links: previous,
            chosen,
            plan,
            out,
        };
        return finish(app, &who, &mut urec, rest).await;
    }
    let mut links = crate::store::UserLinks {
        conflict_users: conflict_users.to_vec(),
        ..Default::default()
    };
    for (is_primary, cid, id, cal) in &chosen {
        let local = if *is_primary {
            CalendarId::new("primary")
        } else if accounts::STANDARD.iter().any(|(n, _, _)| *n == id.as_str()) {
            CalendarId::new(format!("icloud-{id}"))
        } else {
            Ok(id.clone())
        };
        let Ok(local) = local else {
            return Response::fail(format!("cannot name a local collection for {id}\n"));
        };
        let key = crate::store::CollectionKey::new(tenant, user, &local);
        if let Err(e) = materialize::ensure_local(
            &app.store,
            &key,
            *is_primary,
            &cal.displayname,
            cal.color.as_deref(),
        ) {
            return Response::fail(format!("storage failed: {e}\n"));
        }
        let r = RemoteRef {
            connection: cid.clone(),
            calendar: id.clone(),
            local: local.clone(),
        };
        let _ = writeln!(
            out,
            "{} {} ({}) -> /dav/{tenant}/{user}/{local}/",
            if *is_primary { "primary " } else { "conflict" },
            cal.displayname,
            id
        );
        if *is_primary {
            links.primary = Some(r);
        } else {
            links.conflicts.push(r);
        }
    }
    for u in conflict_users {
        let _ = writeln!(out, "conflict user {u}@{tenant}");
    }
    if let Err(e) = app.store.put_links(tenant, user, &links) {
        return Response::fail(format!("storage failed: {e}\n"));
    }
    // Conflict calendars no longer chosen: their read-only copies go away.
    for old in &previous.conflicts {
        if links.conflicts.iter().any(|r| r.local == old.local) {
            continue;
        }
        let key = crate::store::CollectionKey::new(tenant, user, &old.local);
        let is_source = matches!(
            app.store.collection(&key),
            Ok(Some(c)) if c.kind == crate::store::CollectionKind::Source
        );
        if is_source {
            if let Err(e) = app.store.delete_collection(&key) {
                return Response::fail(format!("storage failed: {e}\n"));
            }
            let _ = writeln!(
                out,
                "removed conflict calendar /dav/{tenant}/{user}/{}/",
                old.local
            );
        }
    }
    let rest = Rest {
        privacy,
        links,
        chosen,
        plan,
        out,
    };
    finish(app, &who, &mut urec, rest).await
}

/// A remote calendar chosen by `configure`: primary or not, its
/// connection, its id, its record.
type Chosen = (
    bool,
    ConnectionId,
    CalendarId,
    crate::store::RemoteCalendarRecord,
);

/// What `configure` still has to do once the links are stored.
struct Rest {
    privacy: Option<crate::store::Privacy>,
    /// The links now stored.
    links: crate::store::UserLinks,
    chosen: Vec<Chosen>,
    plan: Option<settings::Plan>,
    /// What was done so far.
    out: String,
}

/// The rest of `configure` once the links are stored: privacy, the
/// settings, the copies of the chosen calendars.
async fn finish(
    app: &App,
    who: &crate::ids::UserRef,
    urec: &mut crate::store::UserRecord,
    rest: Rest,
) -> Response {
    let Rest {
        privacy,
        links,
        chosen,
        plan,
        mut out,
    } = rest;
    let (tenant, user) = (&who.tenant, &who.user);
    if let Some(p) = privacy {
        if p != urec.privacy {
            urec.privacy = p;
            if let Err(e) = app.store.put_user(tenant, user, urec) {
                return Response::fail(format!("storage failed: {e}\n"));
            }
            // Re-render every iCloud copy at the new level (R5).
            for r in links.remote_refs() {
                let key = crate::store::CollectionKey::new(tenant, user, &r.local);
                if let Err(e) = materialize::forget_copies(&app.store, &key, &r.connection) {
                    return Response::fail(format!("storage failed: {e}\n"));
                }
            }
        }
        let _ = writeln!(out, "privacy {p:?}");
    }
    if let Some(plan) = plan {
        match settings::apply(app, who, urec, plan) {
            Ok(text) => out.push_str(&text),
            Err(msg) => return Response::fail(format!("{msg}\n")),
        }
    }
    for (_, cid, id, _) in &chosen {
        if let Err(e) = materialize::reconcile_calendar(&app.store, cid, id) {
            return Response::fail(format!("storage failed: {e}\n"));
        }
    }
    let _ = app.store.flush().await;
    Response::ok(out)
}
