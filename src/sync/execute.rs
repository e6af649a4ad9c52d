//! Runs one sync of one connection through `upstream` and `store`: one home
//! PROPFIND; for each calendar whose ctag moved, sync-collection (falling
//! back to a full listing when the token is refused), multiget in batches
//! of ≤ 100, deletions; then the linked users' copies are reconciled.

use std::collections::HashMap;
use std::time::Duration;

use crate::ids::{CalendarId, ConnectionId, ETag, Href};
use crate::state::App;
use crate::store::{ConnectionRecord, RemoteCalendarRecord, RemoteKind, RemoteObject};
use crate::upstream::record::Trigger;
use crate::upstream::{
    self, parse, quirks, requests, CalendarKind, Client, Credentials, RemoteCalendar,
};

use super::materialize;
use super::plan::{self, ListingMode};
use super::Error;

/// Time allowed for one upstream request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What one sync did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncReport {
    /// Calendars whose ctag moved and were synced.
    pub calendars_synced: usize,
    /// Objects fetched.
    pub fetched: usize,
    /// Objects removed.
    pub deleted: usize,
    /// Calendars where some listed object could not be fetched (retried next tick).
    pub incomplete: usize,
    /// Upstream requests made.
    pub requests: usize,
}

/// Builds the upstream client of a connection (unseals the password);
/// its traffic is recorded under `trigger`.
pub fn client_for(
    app: &App,
    id: &ConnectionId,
    rec: &ConnectionRecord,
    trigger: Trigger,
) -> Result<Client, Error> {
    let creds = Credentials {
        user: rec.apple_id.clone(),
        password: app.store.unseal(&rec.sealed_password)?,
    };
    Ok(Client::new(&rec.upstream, &creds, REQUEST_TIMEOUT)?
        .with_recorder(super::traffic::recorder(app, id, trigger)))
}

/// The local id of a remote calendar: its last path segment, made a valid id.
pub fn calendar_id(cal: &RemoteCalendar) -> Option<CalendarId> {
    let seg: String = cal
        .segment()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(128)
        .collect();
    CalendarId::new(seg).ok()
}

fn kind_of(k: &CalendarKind) -> RemoteKind {
    match k {
        CalendarKind::Events => RemoteKind::Events,
        CalendarKind::Reminders => RemoteKind::Reminders,
        CalendarKind::Subscribed { source } => RemoteKind::Subscribed {
            source: source.clone(),
        },
    }
}

/// Stores the calendar list of a connection (keeping sync positions) and
/// forgets calendars that disappeared. Returns (id, record, remote ctag).
pub fn store_calendar_list(
    app: &App,
    conn: &ConnectionId,
    remote: &[RemoteCalendar],
) -> Result<Vec<(CalendarId, RemoteCalendarRecord, Option<String>)>, Error> {
    let old: HashMap<CalendarId, RemoteCalendarRecord> =
        app.store.remote_calendars(conn)?.into_iter().collect();
    let mut out = Vec::new();
    for cal in remote {
        let Some(id) = calendar_id(cal) else { continue };
        let prev = old.get(&id);
        let rec = RemoteCalendarRecord {
            href: cal.href.clone(),
            displayname: cal.displayname.clone(),
            color: cal.color.clone(),
            kind: kind_of(&cal.kind),
            shared: cal.shared,
            read_only: cal.read_only,
            synced_ctag: prev.and_then(|p| p.synced_ctag.clone()),
            sync_token: prev.and_then(|p| p.sync_token.clone()),
        };
        app.store.put_remote_calendar(conn, &id, &rec)?;
        out.push((id, rec, cal.ctag.clone().or_else(|| cal.sync_token.clone())));
    }
    for id in old.keys() {
        if !out.iter().any(|(i, _, _)| i == id) {
            app.store.remove_remote_calendar(conn, id)?;
            materialize::reconcile_calendar(app, conn, id)?;
        }
    }
    Ok(out)
}

/// One sync of one connection.
pub async fn sync_connection(app: &App, conn: &ConnectionId) -> Result<SyncReport, Error> {
    let rec = app
        .store
        .connection(conn)?
        .ok_or_else(|| Error::NoConnection { id: conn.clone() })?;
    if let crate::store::ConnectionState::AuthFailed { .. } = rec.state {
        return Err(Error::AuthFailed { id: conn.clone() });
    }
    let client = client_for(app, conn, &rec, Trigger::SyncTick)?;
    let mut report = SyncReport::default();
    let home = match &rec.home_url {
        Some(h) => h.clone(),
        None => rediscover(app, conn, &client, &mut report).await?,
    };
    report.requests += 1;
    let listed = match upstream::discovery::list_calendars(&client, &home).await {
        Ok(l) => l,
        // The home moved (partition re-assigned): discover again, once (ICLOUD.md §1.2).
        Err(upstream::Error::Rejected {
            status: 404 | 403 | 301 | 302,
            ..
        })
        | Err(upstream::Error::Unreachable { .. }) => {
            let home = rediscover(app, conn, &client, &mut report).await?;
            report.requests += 1;
            upstream::discovery::list_calendars(&client, &home).await?
        }
        Err(e) => return Err(e.into()),
    };
    let calendars = store_calendar_list(app, conn, &listed)?;
    for (id, mut cal, remote_ctag) in calendars {
        if cal.kind != RemoteKind::Events
            || !plan::calendar_changed(remote_ctag.as_deref(), cal.synced_ctag.as_deref())
        {
            continue;
        }
        report.calendars_synced += 1;
        let complete = sync_calendar(app, conn, &id, &mut cal, &client, &mut report).await?;
        if complete {
            cal.synced_ctag = remote_ctag;
        } else {
            report.incomplete += 1;
        }
        app.store.put_remote_calendar(conn, &id, &cal)?;
        materialize::reconcile_calendar(app, conn, &id)?;
    }
    app.store.update_connection(conn, |r| {
        r.last_sync = Some(chrono::Utc::now().timestamp());
        r.last_error = None;
        r.throttled_until = None;
    })?;
    app.store.flush().await?;
    Ok(report)
}

async fn rediscover(
    app: &App,
    conn: &ConnectionId,
    client: &Client,
    report: &mut SyncReport,
) -> Result<String, Error> {
    report.requests += 3;
    let d = upstream::discover(client).await?;
    app.store
        .update_connection(conn, |r| r.home_url = Some(d.home_url.clone()))?;
    Ok(d.home_url)
}

/// Syncs one calendar's raw objects. Returns false when some listed object
/// could not be fetched (QUIRK(iCloud) §3.2): the old token is kept.
async fn sync_calendar(
    app: &App,
    conn: &ConnectionId,
    id: &CalendarId,
    cal: &mut RemoteCalendarRecord,
    client: &Client,
    report: &mut SyncReport,
) -> Result<bool, Error> {
    let href = cal.href.clone();
    let (listing, mode) = list_members(client, &href, cal.sync_token.as_deref(), report).await?;
    let stored: HashMap<Href, ETag> = app
        .store
        .remote_objects(conn, id)?
        .into_iter()
        .map(|(h, o)| (h, o.etag))
        .collect();
    let plan = plan::fetch_plan(&stored, &listing, mode);
    let mut complete = true;
    for batch in plan.fetch.chunks(requests::MULTIGET_BATCH) {
        report.requests += 1;
        let ms = client
            .send(&requests::multiget(href.as_str(), batch))
            .await?
            .multistatus()?;
        let (found, missing) = parse::multiget(&ms, &href);
        for f in found {
            app.store.put_remote_object(
                conn,
                id,
                &f.href,
                &RemoteObject {
                    etag: f.etag,
                    data: f.data,
                },
            )?;
            report.fetched += 1;
        }
        if !missing.is_empty() {
            tracing::info!(calendar = %href, missing = missing.len(), "multiget left hrefs out; keeping the old sync token");
            complete = false;
        }
    }
    for h in &plan.delete {
        app.store.delete_remote_object(conn, id, h)?;
        report.deleted += 1;
    }
    if complete {
        cal.sync_token = listing.token.map(|t| t.to_string());
    }
    Ok(complete)
}

/// sync-collection with the stored token; on a refused token a full
/// resync with an empty token; when sync-collection itself is not
/// supported, a Depth 1 ETag listing.
async fn list_members(
    client: &Client,
    href: &Href,
    token: Option<&str>,
    report: &mut SyncReport,
) -> Result<(parse::Listing, ListingMode), Error> {
    let mut token = token;
    loop {
        report.requests += 1;
        let call = requests::sync_collection(href.as_str(), token);
        match client.send(&call).await {
            Ok(ex) => {
                let ms = ex.multistatus()?;
                let mode = if token.is_some() {
                    ListingMode::Delta
                } else {
                    ListingMode::Full
                };
                return Ok((parse::sync_delta(&ms, href), mode));
            }
            Err(upstream::Error::Rejected {
                status,
                precondition,
                ..
            }) if token.is_some()
                && quirks::sync_token_refused(status, precondition.as_deref(), true) =>
            {
                tracing::info!(calendar = %href, status, "sync token refused; full resync");
                token = None;
            }
            Err(upstream::Error::Rejected {
                status: 400 | 403 | 405 | 501,
                ..
            }) => {
                report.requests += 1;
                let ms = client
                    .send(&requests::etag_listing(href.as_str()))
                    .await?
                    .multistatus()?;
                return Ok((parse::listing(&ms, href), ListingMode::Full));
            }
            Err(e) => return Err(e.into()),
        }
    }
}
