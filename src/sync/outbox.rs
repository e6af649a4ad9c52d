//! The outbox worker (R1, R10): pushes system events to the primary iCloud
//! calendar exactly once. Creates use `If-None-Match: *` on a name derived
//! from the UID, so a retry after a crash finds its own earlier delivery
//! (412) instead of making a duplicate; updates use `If-Match` with the
//! upstream ETag and, on a stale ETag, re-fetch and decide; deletes treat
//! 404 as done. Unreachable or throttling upstream: retry with backoff.
//! A definitive refusal removes the local copy and is reported.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::ids::ETag;
use crate::policy;
use crate::state::App;
use crate::store::{
    self, CollectionKey, ConnectionState, ObjectRecord, Origin, OutboxEntry, OutboxOp, Queued,
};
use crate::upstream::{self, requests::DavCall, Client};

use super::{execute, plan, Error};

/// What happened to one entry.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Upstream has it; the entry is gone.
    Delivered,
    /// Upstream refused it for good; the local copy was removed.
    Rejected {
        /// Upstream status.
        status: u16,
        /// Why, one line.
        reason: String,
    },
    /// Not now (network, throttling, 5xx, not yet due); retried later.
    Deferred {
        /// Why, one line.
        reason: String,
    },
}

/// Counts of one drain.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DrainReport {
    /// Entries delivered.
    pub delivered: usize,
    /// Entries refused for good.
    pub rejected: usize,
    /// Entries left for later.
    pub deferred: usize,
}

/// Content hash that ignores DTSTAMP and line-ending noise: tells an
/// iCloud edit from housekeeping.
pub(crate) fn hash(data: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    // Compare content without DTSTAMP (servers rewrite it) and line-ending noise.
    let text = String::from_utf8_lossy(data);
    let norm: String = text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.starts_with("DTSTAMP"))
        .collect::<Vec<_>>()
        .join("\n");
    hex::encode(&Sha256::digest(norm.as_bytes())[..16])
}

fn put_call(href: &str, body: Vec<u8>, if_match: Option<ETag>) -> DavCall {
    DavCall {
        method: Method::PUT,
        target: href.to_string(),
        depth: None,
        body: Bytes::from(body),
        content_type: Some("text/calendar; charset=utf-8"),
        if_none_match_any: if_match.is_none(),
        if_match,
    }
}

fn simple(method: Method, href: &str, if_match: Option<ETag>) -> DavCall {
    DavCall {
        method,
        target: href.to_string(),
        depth: None,
        body: Bytes::new(),
        content_type: None,
        if_match,
        if_none_match_any: false,
    }
}

/// The upstream ETag after a write: the header when sent, else one GET
/// (QUIRK(iCloud): ICLOUD.md §4, PUT answers may lack an ETag).
async fn etag_after_write(
    client: &Client,
    href: &str,
    ex: &upstream::Exchange,
) -> Result<ETag, upstream::Error> {
    if let Some(tag) = ex.header("etag") {
        return Ok(ETag::new(tag));
    }
    let got = client.send(&simple(Method::GET, href, None)).await?;
    got.header("etag")
        .map(ETag::new)
        .ok_or(upstream::Error::BadResponse {
            what: "no etag for a written object",
        })
}

/// The error for a non-success answer.
fn refused(call: &DavCall, ex: upstream::Exchange) -> Error {
    match upstream::client::check(call, ex) {
        Err(e) => e.into(),
        Ok(_) => upstream::Error::BadResponse {
            what: "unexpected success",
        }
        .into(),
    }
}

/// Pushes one entry now. Never panics; every failure is an `Outcome`.
pub async fn push(app: &App, q: &Queued) -> Outcome {
    match try_push(app, &q.entry).await {
        Ok(o) => o,
        // A 4xx other than the 401/412 handled above is iCloud's final word.
        Err(e @ Error::Upstream(upstream::Error::Rejected { status, .. })) if status < 500 => {
            Outcome::Rejected {
                status,
                reason: super::describe(&e),
            }
        }
        // Network, throttling, 5xx, 401, storage: try again later.
        Err(e) => Outcome::Deferred {
            reason: super::describe(&e),
        },
    }
}

async fn try_push(app: &App, e: &OutboxEntry) -> Result<Outcome, Error> {
    let conn = app
        .store
        .connection(&e.connection)?
        .ok_or_else(|| Error::NoConnection {
            id: e.connection.clone(),
        })?;
    if let ConnectionState::AuthFailed { .. } = conn.state {
        return Ok(Outcome::Deferred {
            reason: "connection needs a new app-specific password".into(),
        });
    }
    let client = execute::client_for(
        app,
        &e.connection,
        &conn,
        crate::upstream::record::Trigger::OutboxPush,
    )?;
    let href = e.href.as_str();
    let key = CollectionKey::new(&e.tenant, &e.user, &e.local);
    match &e.op {
        OutboxOp::Delete { etag } => {
            let call = simple(Method::DELETE, href, etag.clone());
            match client.send_raw(&call).await? {
                ex if (200..300).contains(&ex.status) || ex.status == 404 => Ok(Outcome::Delivered),
                ex if ex.status == 412 => {
                    // Changed upstream since; the user still deleted it: delete what is there now.
                    let again = client.send_raw(&simple(Method::DELETE, href, None)).await?;
                    match again.status {
                        200..=299 | 404 => Ok(Outcome::Delivered),
                        _ => Err(refused(&call, again)),
                    }
                }
                ex => Err(refused(&call, ex)),
            }
        }
        OutboxOp::Put => {
            let Some(local) = app.store.object(&key, &e.name)? else {
                // Deleted locally before it was pushed; a queued Delete follows if needed.
                return Ok(Outcome::Delivered);
            };
            let Origin::System { etag, pushed, .. } = &local.origin else {
                return Ok(Outcome::Delivered);
            };
            let body = policy::outbound::for_icloud(&local.data);
            let mine = hash(&body);
            if pushed.as_deref() == Some(mine.as_str()) && etag.is_some() {
                return Ok(Outcome::Delivered); // already there (coalesced update)
            }
            let call = put_call(href, body.clone(), etag.clone());
            let ex = client.send_raw(&call).await?;
            match ex.status {
                200..=299 => {
                    let new_etag = etag_after_write(&client, href, &ex).await?;
                    record(app, &key, e, Some(new_etag), Some(mine))?;
                    Ok(Outcome::Delivered)
                }
                412 => {
                    // Create: it exists already (our own earlier delivery before a crash,
                    // matched by UID). Update: stale ETag — re-fetch and decide.
                    let got = client.send(&simple(Method::GET, href, None)).await?;
                    let current = got.header("etag").map(ETag::new);
                    let theirs = got.body.to_vec();
                    let same_uid = crate::ical::parse_lenient(&theirs)
                        .map(|i| i.uid == local.index.uid)
                        .unwrap_or(false);
                    if !same_uid {
                        return Ok(Outcome::Rejected {
                            status: 412,
                            reason: "another event already uses this name in iCloud".into(),
                        });
                    }
                    let theirs_hash = hash(&theirs);
                    if theirs_hash == mine {
                        record(app, &key, e, current.clone(), Some(mine))?;
                        return Ok(Outcome::Delivered);
                    }
                    let housekeeping = pushed.as_deref() == Some(theirs_hash.as_str());
                    if etag.is_none() || housekeeping {
                        // Our earlier delivery (create after a crash) or an ETag bumped by
                        // iCloud housekeeping: write our version over it, once.
                        let ex2 = client.send(&put_call(href, body, current)).await?;
                        let new_etag = etag_after_write(&client, href, &ex2).await?;
                        record(app, &key, e, Some(new_etag), Some(mine))?;
                        return Ok(Outcome::Delivered);
                    }
                    // Edited in iCloud meanwhile: the iCloud version wins (README).
                    adopt_upstream(app, &key, e, current, theirs)?;
                    Ok(Outcome::Delivered)
                }
                _ => Err(refused(&call, ex)),
            }
        }
    }
}

fn record(
    app: &App,
    key: &CollectionKey,
    e: &OutboxEntry,
    etag: Option<ETag>,
    pushed: Option<String>,
) -> store::Result<()> {
    let origin = Origin::System {
        connection: e.connection.clone(),
        href: e.href.clone(),
        etag,
        pushed,
    };
    match app.store.set_origin(key, &e.name, &origin) {
        Ok(()) | Err(store::Error::NoObject { .. }) => Ok(()),
        Err(err) => Err(err),
    }
}

fn adopt_upstream(
    app: &App,
    key: &CollectionKey,
    e: &OutboxEntry,
    etag: Option<ETag>,
    theirs: Vec<u8>,
) -> store::Result<()> {
    let Ok(index) = crate::ical::parse_lenient(&theirs) else {
        return Ok(());
    };
    let rec = ObjectRecord {
        etag: crate::availability::content_etag(&theirs),
        index,
        origin: Origin::System {
            connection: e.connection.clone(),
            href: e.href.clone(),
            etag,
            pushed: Some(hash(&theirs)),
        },
        modified: chrono::Utc::now().timestamp(),
        data: theirs,
    };
    app.store
        .put_object(key, &e.name, &rec, &store::WriteCondition::default())?;
    crate::availability::refresh(app, &e.tenant, &e.user)
}

/// Handles an outcome: removes delivered entries, removes the local copy
/// of rejected ones, schedules a retry for deferred ones.
pub async fn settle(app: &App, q: &Queued, outcome: &Outcome) -> store::Result<()> {
    match outcome {
        Outcome::Delivered => app.store.remove_outbox(q.id)?,
        Outcome::Rejected { status, reason } => {
            tracing::warn!(object = %q.entry.name, status, reason, "iCloud refused a system event; local copy removed");
            let key = CollectionKey::new(&q.entry.tenant, &q.entry.user, &q.entry.local);
            if matches!(q.entry.op, OutboxOp::Put) {
                match app.store.delete_object(&key, &q.entry.name, None) {
                    Ok(_) | Err(store::Error::NoObject { .. }) => {}
                    Err(e) => return Err(e),
                }
                crate::availability::refresh(app, &q.entry.tenant, &q.entry.user)?;
            }
            app.store.remove_outbox(q.id)?;
            let msg = format!("iCloud refused {} ({status}): {reason}", q.entry.name);
            let _ = app
                .store
                .update_connection(&q.entry.connection, |r| r.last_error = Some(msg.clone()));
        }
        Outcome::Deferred { reason } => {
            let mut entry = q.entry.clone();
            entry.attempts += 1;
            let wait = plan::backoff(entry.attempts, None);
            entry.not_before = chrono::Utc::now().timestamp() + wait.as_secs() as i64;
            entry.last_error = Some(reason.clone());
            app.store.update_outbox(q.id, &entry)?;
        }
    }
    app.store.flush().await
}

/// Pushes every due entry once, in order. An entry for an object waits
/// while an earlier entry for the same object is still pending.
pub async fn drain(app: &App, ignore_schedule: bool) -> store::Result<DrainReport> {
    let now = chrono::Utc::now().timestamp();
    let mut report = DrainReport::default();
    let mut blocked = std::collections::HashSet::new();
    for q in app.store.outbox()? {
        let obj = (q.entry.connection.clone(), q.entry.href.clone());
        if blocked.contains(&obj) || (!ignore_schedule && q.entry.not_before > now) {
            blocked.insert(obj);
            report.deferred += 1;
            continue;
        }
        let outcome = push(app, &q).await;
        settle(app, &q, &outcome).await?;
        match outcome {
            Outcome::Delivered => report.delivered += 1,
            Outcome::Rejected { .. } => report.rejected += 1,
            Outcome::Deferred { .. } => {
                blocked.insert(obj);
                report.deferred += 1;
            }
        }
    }
    Ok(report)
}

/// Runs the worker until `shutdown`: drains when notified (a client
/// write) and every `poll` (retries).
pub async fn run(app: App, notify: Arc<Notify>, poll: Duration, shutdown: CancellationToken) {
    loop {
        if let Err(e) = drain(&app, false).await {
            tracing::error!(error = %e, "outbox drain failed");
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = notify.notified() => {}
            _ = tokio::time::sleep(poll) => {}
        }
    }
}
