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
    let systems = system_events(app, key, conn)?;
    let remote_hrefs: std::collections::HashSet<&Href> = remote.iter().map(|(h, _)| h).collect();
    for (href, obj) in remote {
        if let Some(sys) = systems.get(href) {
            changes += follow_system_event(app, key, conn, sys, href, obj)?;
            continue;
        }
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
    // System events deleted in iCloud (delivered before, gone now, nothing
    // pending for them): the iCloud version wins (README).
    let pending: std::collections::HashSet<Href> = app
        .store
        .outbox()?
        .into_iter()
        .filter(|q| &q.entry.connection == conn)
        .map(|q| q.entry.href)
        .collect();
    for (href, sys) in &systems {
        if sys.delivered && !remote_hrefs.contains(href) && !pending.contains(href) {
            match app.store.delete_object(key, &sys.name, None) {
                Ok(_) | Err(store::Error::NoObject { .. }) => changes += 1,
                Err(e) => return Err(e),
            }
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

/// A system event of this connection in a local collection.
struct SystemEvent {
    name: ObjectName,
    record: ObjectRecord,
    delivered: bool,
}

fn system_events(
    app: &App,
    key: &CollectionKey,
    conn: &ConnectionId,
) -> store::Result<HashMap<Href, SystemEvent>> {
    let mut out = HashMap::new();
    for (name, rec) in app.store.objects(key)? {
        if let Origin::System {
            connection,
            href,
            etag,
            ..
        } = &rec.origin
        {
            if connection == conn {
                out.insert(
                    href.clone(),
                    SystemEvent {
                        name,
                        delivered: etag.is_some(),
                        record: rec.clone(),
                    },
                );
            }
        }
    }
    Ok(out)
}

/// A system event seen upstream: record its ETag, or take iCloud's edit.
fn follow_system_event(
    app: &App,
    key: &CollectionKey,
    conn: &ConnectionId,
    sys: &SystemEvent,
    href: &Href,
    obj: &store::RemoteObject,
) -> store::Result<usize> {
    let Origin::System { etag, pushed, .. } = &sys.record.origin else {
        return Ok(0);
    };
    if etag.as_ref() == Some(&obj.etag) {
        return Ok(0);
    }
    let theirs = super::outbox::hash(&obj.data);
    let origin = Origin::System {
        connection: conn.clone(),
        href: href.clone(),
        etag: Some(obj.etag.clone()),
        pushed: Some(theirs.clone()),
    };
    if pushed.as_deref() == Some(theirs.as_str()) || etag.is_none() {
        // Our own delivery (or housekeeping): only the upstream ETag moved.
        app.store.set_origin(key, &sys.name, &origin)?;
        return Ok(0);
    }
    // Edited in iCloud directly: the iCloud version wins and clients see it.
    let Ok(index) = ical::parse_lenient(&obj.data) else {
        return Ok(0);
    };
    let rec = ObjectRecord {
        etag: availability::content_etag(&obj.data),
        data: obj.data.clone(),
        index,
        origin,
        modified: chrono::Utc::now().timestamp(),
    };
    app.store
        .put_object(key, &sys.name, &rec, &WriteCondition::default())?;
    Ok(1)
}

/// Removes every copy of `conn`'s events from a collection (they are
/// written again by the next reconcile, e.g. at a new privacy level).
pub fn forget_copies(app: &App, key: &CollectionKey, conn: &ConnectionId) -> store::Result<()> {
    for (name, rec) in app.store.objects(key)? {
        if matches!(&rec.origin, Origin::Upstream { connection, .. } if connection == conn) {
            app.store.delete_object(key, &name, None)?;
        }
    }
    Ok(())
}
