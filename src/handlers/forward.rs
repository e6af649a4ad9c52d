//! R1 plumbing for system events: the origin and outbox entry of a write
//! into `primary/`, and the first push attempt made before the client is
//! answered (so a definitive iCloud refusal reaches the client).

use std::time::Duration;

use crate::ids::{EventUid, Href, ObjectName};
use crate::policy;
use crate::store::{CollectionKey, Origin, OutboxEntry, OutboxOp, Queued, UserLinks};
use crate::sync::outbox::{self, Outcome};

use super::{Ctx, Error, Result};

/// How long the first push may hold the client's answer; after that the
/// write is acknowledged (it is durable) and the worker keeps trying.
pub const PUSH_NOW_TIMEOUT: Duration = Duration::from_secs(5);

/// Origin and outbox entry for a PUT of a system event.
pub(crate) fn for_put(
    ctx: &Ctx<'_>,
    key: &CollectionKey,
    name: &ObjectName,
    uid: &EventUid,
    existing: Option<&Origin>,
    links: &UserLinks,
) -> Result<(Origin, OutboxEntry)> {
    // An existing system event keeps its upstream identity.
    let (connection, calendar, href, etag, pushed) = match (existing, &links.primary) {
        (
            Some(Origin::System {
                connection,
                href,
                etag,
                pushed,
            }),
            _,
        ) => {
            let calendar = links
                .primary
                .as_ref()
                .filter(|p| &p.connection == connection)
                .map(|p| p.calendar.clone())
                .ok_or(Error::Invalid {
                    reason: "this event's iCloud calendar is no longer linked",
                    precondition: None,
                })?;
            (
                connection.clone(),
                calendar,
                href.clone(),
                etag.clone(),
                pushed.clone(),
            )
        }
        (_, Some(p)) => {
            let cal = ctx
                .app
                .store
                .remote_calendar(&p.connection, &p.calendar)?
                .ok_or(Error::Invalid {
                    reason: "the primary iCloud calendar is not known yet; run `calproxy sync`",
                    precondition: None,
                })?;
            let base = cal.href.as_str().trim_end_matches('/');
            let href = Href::new(format!(
                "{base}/{}",
                policy::writes::upstream_name(uid.as_str())
            ));
            (p.connection.clone(), p.calendar.clone(), href, None, None)
        }
        (_, None) => {
            return Err(Error::Invalid {
                reason: "no primary iCloud calendar is linked",
                precondition: None,
            })
        }
    };
    let origin = Origin::System {
        connection: connection.clone(),
        href: href.clone(),
        etag,
        pushed,
    };
    let entry = entry(key, name, connection, calendar, href, OutboxOp::Put);
    Ok((origin, entry))
}

/// Outbox entry for a DELETE of a system event.
pub(crate) fn for_delete(
    key: &CollectionKey,
    name: &ObjectName,
    origin: &Origin,
    links: &UserLinks,
) -> Option<OutboxEntry> {
    let Origin::System {
        connection,
        href,
        etag,
        ..
    } = origin
    else {
        return None;
    };
    let calendar = links
        .primary
        .as_ref()
        .filter(|p| &p.connection == connection)
        .map(|p| p.calendar.clone())
        .or_else(|| {
            href.as_str()
                .trim_end_matches('/')
                .rsplit('/')
                .nth(1)
                .and_then(|s| crate::ids::CalendarId::new(s).ok())
        })?;
    Some(entry(
        key,
        name,
        connection.clone(),
        calendar,
        href.clone(),
        OutboxOp::Delete { etag: etag.clone() },
    ))
}

fn entry(
    key: &CollectionKey,
    name: &ObjectName,
    connection: crate::ids::ConnectionId,
    calendar: crate::ids::CalendarId,
    href: Href,
    op: OutboxOp,
) -> OutboxEntry {
    OutboxEntry {
        tenant: key.tenant.clone(),
        user: key.user.clone(),
        local: key.calendar.clone(),
        name: name.clone(),
        connection,
        calendar,
        href,
        op,
        attempts: 0,
        not_before: 0,
        last_error: None,
    }
}

/// First push of a just-queued entry (R1: "pushed to iCloud at once").
/// A definitive refusal becomes `Error::UpstreamRejected` (the local copy
/// is already removed); anything else leaves the entry to the worker.
pub(crate) async fn push_now(ctx: &Ctx<'_>, id: u64) -> Result<()> {
    let store = &ctx.app.store;
    let Some(entry) = store.outbox_entry(id)? else {
        return Ok(());
    };
    let earlier = store
        .outbox()?
        .iter()
        .any(|q| q.id < id && q.entry.connection == entry.connection && q.entry.href == entry.href);
    if earlier {
        ctx.app.outbox.notify_one();
        return Ok(());
    }
    let q = Queued { id, entry };
    let outcome = tokio::time::timeout(PUSH_NOW_TIMEOUT, outbox::push(ctx.app, &q))
        .await
        .unwrap_or_else(|_| Outcome::Deferred {
            reason: "iCloud did not answer in time".into(),
        });
    outbox::settle(ctx.app, &q, &outcome).await?;
    match outcome {
        Outcome::Rejected { status, reason } => Err(Error::UpstreamRejected { status, reason }),
        Outcome::Delivered => Ok(()),
        Outcome::Deferred { reason } => {
            tracing::info!(object = %q.entry.name, reason, "system event queued; iCloud will get it when it answers");
            Ok(())
        }
    }
}
