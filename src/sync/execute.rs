//! Runs one sync of one connection through `upstream` and `store`: one home
//! PROPFIND; for each calendar whose ctag moved (every calendar in a full
//! reconciliation), sync-collection (falling back to a full listing when
//! the token is refused; a full reconciliation lists without a token),
//! multiget in batches of ≤ 100, deletions unless the safe-sync guard
//! holds them; then the linked users' copies are reconciled. An ICS feed
//! connection is polled by `feed` instead.

use std::collections::HashMap;

use crate::ids::{CTag, CalendarId, ConnectionId, ETag, Href, SyncToken};
use crate::store::{HeldDeletions, RemoteCalendarRecord, RemoteKind, RemoteObject, SourceKind};
use crate::traffic::Trigger;
use crate::upstream::{self, parse, quirks, requests, CalendarKind, Client, RemoteCalendar};

use super::materialize;
use super::plan::{self, DeletionVerdict, ListingMode};
use super::{Engine, Error};

/// How one sync runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncOptions {
    /// Apply the deletions held for a calendar (`calproxy sync
    /// --confirm-deletions`), whatever their number.
    pub confirm_deletions: bool,
    /// A full reconciliation: every calendar listed in full, ignoring
    /// ctags and sync tokens.
    pub full: bool,
}

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
    /// Deletions held back by safe sync (they need confirmation).
    pub held: usize,
    /// Held deletions applied because they were confirmed.
    pub confirmed: usize,
    /// This was a full reconciliation.
    pub full: bool,
    /// An ICS feed answered 304: nothing changed.
    pub not_modified: bool,
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
        self.sync_connection_with(conn, SyncOptions::default())
            .await
    }

    /// [`Engine::sync_connection`] with options.
    pub async fn sync_connection_with(
        &self,
        conn: &ConnectionId,
        opts: SyncOptions,
    ) -> Result<SyncReport, Error> {
        self.progress.begin(conn);
        let result = sync_connection(self, conn, opts).await;
        self.progress
            .finish(conn, result.as_ref().err().map(super::FailureKind::of));
        result
    }
}

async fn sync_connection(
    engine: &Engine,
    conn: &ConnectionId,
    opts: SyncOptions,
) -> Result<SyncReport, Error> {
    let store = &engine.store;
    let rec = store
        .connection(conn)?
        .ok_or_else(|| Error::NoConnection { id: conn.clone() })?;
    if let crate::store::ConnectionState::AuthFailed { .. } = rec.state {
        return Err(Error::AuthFailed { id: conn.clone() });
    }
    if let SourceKind::IcsFeed(_) = &rec.source {
        return super::feed::sync_feed(engine, conn, &rec, opts).await;
    }
    let client = engine.clients.get(conn, &rec, Trigger::SyncTick)?;
    let mut report = SyncReport {
        full: opts.full,
        ..SyncReport::default()
    };
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
                && (opts.full
                    || plan::calendar_changed(
                        c.remote_ctag.as_ref().map(CTag::as_str),
                        c.record.synced_ctag.as_ref().map(CTag::as_str),
                    ))
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
        let outcome =
            sync_calendar(engine, conn, &id, &mut cal, &client, opts, &mut report).await?;
        match outcome {
            Outcome::Complete => cal.synced_ctag = remote_ctag,
            Outcome::Incomplete => report.incomplete += 1,
            // Listed again next tick (its ctag is not recorded as synced).
            Outcome::Held => {}
        }
        store.put_remote_calendar(conn, &id, &cal)?;
        materialize::reconcile_calendar(store, conn, &id)?;
        engine.progress.update(conn, |p| p.calendars_done += 1);
    }
    let now = chrono::Utc::now().timestamp();
    let every = engine.settings.full_every;
    store.update_connection(conn, |r| {
        r.last_sync = Some(now);
        r.last_error = None;
        r.throttled_until = None;
        // The first sync lists everything anyway: the next full one is due
        // a period later, as after every full reconciliation.
        if opts.full || r.next_full_sync.is_none() {
            r.next_full_sync = Some(plan::next_full(now, every, rand::random()));
        }
    })?;
    store.flush().await?;
    Ok(report)
}

/// How one calendar's sync ended.
enum Outcome {
    /// Everything listed was fetched and applied: the token moves on.
    Complete,
    /// Some listed object could not be fetched (QUIRK(iCloud) §3.2): the
    /// old token is kept.
    Incomplete,
    /// Its deletions were held (safe sync): the old token is kept.
    Held,
}

/// A calendar's planned deletions, with what the guard weighs them against.
pub(super) struct Deletions<'a> {
    /// Copies stored before this sync.
    pub copies: usize,
    /// Members the listing named.
    pub listed: usize,
    /// The hrefs to delete.
    pub hrefs: &'a [Href],
    /// Whether the listing was everything or a delta.
    pub mode: ListingMode,
}

/// Applies a plan's deletions to a remote calendar's raw objects, or holds
/// them (safe sync: `plan::deletion_guard`). Confirmed held deletions go
/// through; a later plan that deletes nothing suspicious clears the hold.
/// Returns whether they were held.
pub(super) fn delete_or_hold(
    engine: &Engine,
    conn: &ConnectionId,
    id: &CalendarId,
    planned: Deletions<'_>,
    opts: SyncOptions,
    report: &mut SyncReport,
) -> Result<bool, Error> {
    let Deletions {
        copies: stored,
        listed,
        hrefs: deletions,
        mode,
    } = planned;
    let store = &engine.store;
    let held = store.held(conn, id)?;
    let confirmed = opts.confirm_deletions && held.is_some();
    let verdict = plan::deletion_guard(
        stored,
        listed,
        deletions.len(),
        mode,
        engine.settings.hold_share,
        confirmed,
    );
    match verdict {
        DeletionVerdict::Hold(reason) => {
            let since = held
                .map(|h| h.since)
                .unwrap_or_else(|| chrono::Utc::now().timestamp());
            store.put_held(
                conn,
                id,
                &HeldDeletions {
                    hrefs: deletions.to_vec(),
                    copies: stored as u64,
                    reason,
                    since,
                },
            )?;
            tracing::warn!(connection = %conn, calendar = %id, deletions = deletions.len(), copies = stored, ?reason, "deletions held: they need confirmation (calproxy sync --confirm-deletions)");
            report.held += deletions.len();
            Ok(true)
        }
        DeletionVerdict::Apply => {
            for h in deletions {
                store.delete_remote_object(conn, id, h)?;
                report.deleted += 1;
            }
            if held.is_some() {
                store.clear_held(conn, id)?;
                if confirmed {
                    report.confirmed += deletions.len();
                }
            }
            Ok(false)
        }
    }
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

/// Syncs one calendar's raw objects.
async fn sync_calendar(
    engine: &Engine,
    conn: &ConnectionId,
    id: &CalendarId,
    cal: &mut RemoteCalendarRecord,
    client: &Client,
    opts: SyncOptions,
    report: &mut SyncReport,
) -> Result<Outcome, Error> {
    let store = &engine.store;
    let href = cal.href.clone();
    // Taken before the listing is requested: a system event delivered
    // after this may be missing from it (see `materialize`).
    let listed_at = store.sequence()?;
    let token = if opts.full {
        None
    } else {
        cal.sync_token.as_ref().map(SyncToken::as_str)
    };
    let (listing, mode) = list_members(client, &href, token, report).await?;
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
    let planned = Deletions {
        copies: stored.len(),
        listed: listing.present.len(),
        hrefs: &plan.delete,
        mode,
    };
    let held = delete_or_hold(engine, conn, id, planned, opts, report)?;
    if held {
        return Ok(Outcome::Held);
    }
    if !complete {
        return Ok(Outcome::Incomplete);
    }
    cal.sync_token = listing.token;
    cal.listed_at = Some(listed_at);
    Ok(Outcome::Complete)
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
                let rows = ex.listing()?;
                let mode = if token.is_some() {
                    ListingMode::Delta
                } else {
                    ListingMode::Full
                };
                return Ok((parse::sync_delta(&rows, href), mode));
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
                let rows = client
                    .send(&requests::etag_listing(href.as_str()))
                    .await?
                    .listing()?;
                return Ok((parse::listing(&rows, href), ListingMode::Full));
            }
            Err(e) => return Err(e.into()),
        }
    }
}
