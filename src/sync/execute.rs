//! Runs one sync of one connection through `upstream` and `store`: one home
//! PROPFIND; for each calendar whose ctag moved, sync-collection (falling
//! back to a full listing when the token is refused), multiget in batches
//! of ≤ 100, deletions; then the linked users' copies are reconciled.

use std::collections::HashMap;

use crate::ids::{CTag, CalendarId, ConnectionId, ETag, Href, SyncToken};
use crate::store::{RemoteCalendarRecord, RemoteKind, RemoteObject};
use crate::traffic::Trigger;
use crate::upstream::{self, parse, quirks, requests, CalendarKind, Client, RemoteCalendar};

use super::materialize;
use super::plan::{self, ListingMode};
use super::{Engine, Error};

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

/// A remote calendar as stored, with the ctag the listing reported now.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedCalendar {
    /// Its local id.
    pub id: CalendarId,
    /// The stored record (sync positions kept).
    pub record: RemoteCalendarRecord,
    /// The ctag (or sync-token property) upstream reports now.
    pub remote_ctag: Option<CTag>,
}

impl Engine {
    /// Stores the calendar list of a connection (keeping sync positions)
    /// and forgets calendars that disappeared.
    pub fn store_calendar_list(
        &self,
        conn: &ConnectionId,
        remote: &[RemoteCalendar],
    ) -> Result<Vec<ListedCalendar>, Error> {
        let store = &self.store;
        let old: HashMap<CalendarId, RemoteCalendarRecord> =
            store.remote_calendars(conn)?.into_iter().collect();
        let mut out: Vec<ListedCalendar> = Vec::new();
        for cal in remote {
            let Some(id) = calendar_id(cal) else { continue };
            let prev = old.get(&id);
            let record = RemoteCalendarRecord {
                href: cal.href.clone(),
                displayname: cal.displayname.clone(),
                color: cal.color.clone(),
                kind: kind_of(&cal.kind),
                shared: cal.shared,
                read_only: cal.read_only,
                synced_ctag: prev.and_then(|p| p.synced_ctag.clone()),
                sync_token: prev.and_then(|p| p.sync_token.clone()),
                listed_at: prev.and_then(|p| p.listed_at),
            };
            store.put_remote_calendar(conn, &id, &record)?;
            out.push(ListedCalendar {
                id,
                record,
                remote_ctag: cal
                    .ctag
                    .clone()
                    .or_else(|| cal.sync_token.clone())
                    .map(CTag::new),
            });
        }
        for id in old.keys() {
            if !out.iter().any(|c| &c.id == id) {
                store.remove_remote_calendar(conn, id)?;
                materialize::reconcile_calendar(store, conn, id)?;
            }
        }
        Ok(out)
    }

    /// One sync of one connection, its progress shown in [`Engine::progress`].
    pub async fn sync_connection(&self, conn: &ConnectionId) -> Result<SyncReport, Error> {
        self.progress.begin(conn);
        let result = sync_connection(self, conn).await;
        self.progress
            .finish(conn, result.as_ref().err().map(super::FailureKind::of));
        result
    }
}

async fn sync_connection(engine: &Engine, conn: &ConnectionId) -> Result<SyncReport, Error> {
    let store = &engine.store;
    let rec = store
        .connection(conn)?
        .ok_or_else(|| Error::NoConnection { id: conn.clone() })?;
    if let crate::store::ConnectionState::AuthFailed { .. } = rec.state {
        return Err(Error::AuthFailed { id: conn.clone() });
    }
    let client = engine.clients.get(conn, &rec, Trigger::SyncTick)?;
    let mut report = SyncReport::default();
    let home = match &rec.home_url {
        Some(h) => h.clone(),
        None => rediscover(engine, conn, &client, &mut report).await?,
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
            let home = rediscover(engine, conn, &client, &mut report).await?;
            report.requests += 1;
            upstream::discovery::list_calendars(&client, &home).await?
        }
        Err(e) => return Err(e.into()),
    };
    let calendars: Vec<ListedCalendar> = engine
        .store_calendar_list(conn, &listed)?
        .into_iter()
        .filter(|c| {
            c.record.kind == RemoteKind::Events
                && plan::calendar_changed(
                    c.remote_ctag.as_ref().map(CTag::as_str),
                    c.record.synced_ctag.as_ref().map(CTag::as_str),
                )
        })
        .collect();
    engine.progress.update(conn, |p| {
        p.listed = true;
        p.calendars_total = calendars.len();
    });
    for ListedCalendar {
        id,
        record: mut cal,
        remote_ctag,
    } in calendars
    {
        report.calendars_synced += 1;
        let complete = sync_calendar(engine, conn, &id, &mut cal, &client, &mut report).await?;
        if complete {
            cal.synced_ctag = remote_ctag;
        } else {
            report.incomplete += 1;
        }
        store.put_remote_calendar(conn, &id, &cal)?;
        materialize::reconcile_calendar(store, conn, &id)?;
        engine.progress.update(conn, |p| p.calendars_done += 1);
    }
    store.update_connection(conn, |r| {
        r.last_sync = Some(chrono::Utc::now().timestamp());
        r.last_error = None;
        r.throttled_until = None;
    })?;
    store.flush().await?;
    Ok(report)
}

async fn rediscover(
    engine: &Engine,
    conn: &ConnectionId,
    client: &Client,
    report: &mut SyncReport,
) -> Result<String, Error> {
    report.requests += 3;
    let d = upstream::discover(client).await?;
    engine
        .store
        .update_connection(conn, |r| r.home_url = Some(d.home_url.clone()))?;
    Ok(d.home_url)
}

/// Syncs one calendar's raw objects. Returns false when some listed object
/// could not be fetched (QUIRK(iCloud) §3.2): the old token is kept.
async fn sync_calendar(
    engine: &Engine,
    conn: &ConnectionId,
    id: &CalendarId,
    cal: &mut RemoteCalendarRecord,
    client: &Client,
    report: &mut SyncReport,
) -> Result<bool, Error> {
    let store = &engine.store;
    let href = cal.href.clone();
    // Taken before the listing is requested: a system event delivered
    // after this may be missing from it (see `materialize`).
    let listed_at = store.sequence()?;
    let (listing, mode) = list_members(
        client,
        &href,
        cal.sync_token.as_ref().map(SyncToken::as_str),
        report,
    )
    .await?;
    let stored: HashMap<Href, ETag> = store
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
        let parse::MultigetAnswer { found, missing } = parse::multiget(&ms, &href);
        for f in found {
            store.put_remote_object(
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
        engine
            .progress
            .update(conn, |p| p.events_fetched = report.fetched);
        if !missing.is_empty() {
            tracing::info!(calendar = %href, missing = missing.len(), "multiget left hrefs out; keeping the old sync token");
            complete = false;
        }
    }
    for h in &plan.delete {
        store.delete_remote_object(conn, id, h)?;
        report.deleted += 1;
    }
    if complete {
        cal.sync_token = listing.token;
        cal.listed_at = Some(listed_at);
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
