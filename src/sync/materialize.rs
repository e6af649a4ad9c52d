//! Copies a remote calendar's raw objects into the local collections of
//! every user who linked it (R7, R8: fetched once, copied per user), as
//! read-only blocked slots (R2) filtered by the user's privacy (R5).
//! Idempotent: it reconciles the whole calendar, so a retry never
//! duplicates anything.

use std::collections::HashMap;

use crate::availability;
use crate::ical;
use crate::ids::{CalendarId, ConnectionId, ETag, Href, ObjectName};
use crate::policy;
use crate::state::App;
use crate::store::{
    self, CollectionKey, CollectionKind, CollectionRecord, ObjectRecord, Origin, RemoteRef,
    WriteCondition,
};

/// The local object name for an upstream href: its last path segment.
pub fn object_name(href: &Href) -> Option<ObjectName> {
    let last = href.as_str().trim_end_matches('/').rsplit('/').next()?;
    let decoded = percent_encoding::percent_decode_str(last)
        .decode_utf8()
        .ok()?;
    ObjectName::new(decoded.into_owned()).ok()
}

/// Makes sure the local collection for a link exists.
pub fn ensure_local(
    app: &App,
    key: &CollectionKey,
    primary: bool,
    display: &str,
    color: Option<&str>,
) -> store::Result<()> {
    if app.store.collection(key)?.is_none() {
        let kind = if primary {
            CollectionKind::Primary
        } else {
            CollectionKind::Source
        };
        let mut rec = CollectionRecord::new(kind, display);
        rec.color = color.map(str::to_string);
        app.store.ensure_collection(key, &rec)?;
    }
    Ok(())
}

/// Reconciles every user's copy of `(conn, cal)` with the raw objects.
/// Returns the number of local objects written or removed.
pub fn reconcile_calendar(
    app: &App,
    conn: &ConnectionId,
    cal: &CalendarId,
) -> store::Result<usize> {
    let remote: Vec<(Href, store::RemoteObject)> = app.store.remote_objects(conn, cal)?;
    let mut changes = 0;
    for (tenant, user, links) in app.store.users_linked_to(conn)? {
        let privacy = app
            .store
            .user(&tenant, &user)?
            .map(|u| u.privacy)
            .unwrap_or_default();
        let targets: Vec<&RemoteRef> = links
            .remote_refs()
            .filter(|r| &r.connection == conn && &r.calendar == cal)
            .collect();
        for target in targets {
            let key = CollectionKey::new(&tenant, &user, &target.local);
            if app.store.collection(&key)?.is_none() {
                continue;
            }
            changes += reconcile_one(app, &key, conn, &remote, privacy)?;
        }
        if changes > 0 {
            availability::refresh(app, &tenant, &user)?;
        }
    }
    Ok(changes)
}

fn reconcile_one(
    app: &App,
    key: &CollectionKey,
    conn: &ConnectionId,
    remote: &[(Href, store::RemoteObject)],
    privacy: store::Privacy,
) -> store::Result<usize> {
    // What we copied before, by name -> upstream etag.
    let local: HashMap<ObjectName, ETag> = app
        .store
        .objects(key)?
        .into_iter()
        .filter_map(|(name, rec)| match rec.origin {
            Origin::Upstream {
                connection, etag, ..
            } if &connection == conn => Some((name, etag)),
            _ => None,
        })
        .collect();
    let mut changes = 0;
    let mut wanted = std::collections::HashSet::new();
    for (href, obj) in remote {
        let Some(name) = object_name(href) else {
            tracing::warn!(href = %href, "upstream object name is not usable; skipped");
            continue;
        };
        wanted.insert(name.clone());
        if local.get(&name) == Some(&obj.etag) {
            continue;
        }
        let data = policy::inbound::view(&obj.data, privacy);
        let index = match ical::parse_lenient(&data) {
            Ok(i) => i,
            Err(e) => {
                tracing::warn!(href = %href, error = %e, "upstream object is not usable iCalendar; skipped");
                continue;
            }
        };
        let rec = ObjectRecord {
            etag: availability::content_etag(&data),
            data,
            index,
            origin: Origin::Upstream {
                connection: conn.clone(),
                href: href.clone(),
                etag: obj.etag.clone(),
            },
            modified: chrono::Utc::now().timestamp(),
        };
        match app
            .store
            .put_object(key, &name, &rec, &WriteCondition::default())
        {
            Ok(_) => changes += 1,
            Err(store::Error::UidConflict { existing }) => {
                // The iCloud version wins (README): a local copy with the same UID
                // under another name is replaced.
                app.store.delete_object(key, &existing, None)?;
                app.store
                    .put_object(key, &name, &rec, &WriteCondition::default())?;
                changes += 1;
            }
            Err(e) => return Err(e),
        }
    }
    for name in local.keys() {
        if !wanted.contains(name) {
            match app.store.delete_object(key, name, None) {
                Ok(_) | Err(store::Error::NoObject { .. }) => changes += 1,
                Err(e) => return Err(e),
            }
        }
    }
    Ok(changes)
}
