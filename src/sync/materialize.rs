//! Copies a remote calendar's raw objects into the local collections of
//! every user who linked it (R7, R8: fetched once, copied per user), as
//! read-only blocked slots (R2) filtered by the user's privacy (R5), and
//! keeps the user's system events (R1) linked to their upstream copies.
//! Idempotent: it reconciles the whole calendar, so a retry never
//! duplicates anything. It only writes to the store; the derived views
//! follow from the store's change feed.
//!
//! System events and the outbox race the sync (issue 9, bug A). The rules:
//! - an upstream object whose href or UID is a system event's is that
//!   system event, never an iCloud copy;
//! - an upstream object with a pending outbox entry is left alone (our
//!   own change of it is on its way);
//! - a system event missing upstream is taken for deleted in iCloud only
//!   when it was delivered *before* the listing was requested
//!   (`RemoteCalendarRecord::listed_at`), and a listing older than the
//!   last delivery never overrides it. Both are checked again inside the
//!   store transaction that acts on them.

use std::collections::{HashMap, HashSet};

use crate::ical;
use crate::ids::{CalendarId, ConnectionId, ETag, EventUid, Href, ObjectName};
use crate::policy;
use crate::store::{
    self, CollectionKey, CollectionKind, CollectionRecord, LinkedUser, ObjectRecord, Origin,
    RemoteObject, Store, WriteCondition,
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
    store: &Store,
    key: &CollectionKey,
    primary: bool,
    display: &str,
    color: Option<&str>,
) -> store::Result<()> {
    if store.collection(key)?.is_none() {
        let kind = if primary {
            CollectionKind::Primary
        } else {
            CollectionKind::Source
        };
        let mut rec = CollectionRecord::new(kind, display);
        rec.color = color.map(str::to_string);
        store.ensure_collection(key, &rec)?;
    }
    Ok(())
}

/// What one reconciliation needs to know of the remote calendar.
struct Remote<'a> {
    conn: &'a ConnectionId,
    /// The remote calendar whose raw objects are read, one at a time.
    cal: &'a CalendarId,
    /// See [`crate::store::RemoteCalendarRecord::listed_at`].
    listed_at: Option<u64>,
}

/// Reconciles every user's copy of `(conn, cal)` with the raw objects.
/// Returns the number of local objects written or removed.
pub fn reconcile_calendar(
    store: &Store,
    conn: &ConnectionId,
    cal: &CalendarId,
) -> store::Result<usize> {
    let listed_at = store.remote_calendar(conn, cal)?.and_then(|c| c.listed_at);
    let remote = Remote {
        conn,
        cal,
        listed_at,
    };
    let mut changes = 0;
    for LinkedUser { user, links } in store.users_linked_to(conn)? {
        let privacy = store
            .user(&user.tenant, &user.user)?
            .map(|u| u.privacy)
            .unwrap_or_default();
        for target in links
            .remote_refs()
            .filter(|r| &r.connection == conn && &r.calendar == cal)
        {
            let key = CollectionKey::of(&user, &target.local);
            if store.collection(&key)?.is_none() {
                continue;
            }
            changes += reconcile_one(store, &key, &remote, privacy)?;
        }
    }
    Ok(changes)
}

/// A system event of the connection in a local collection.
struct SystemEvent {
    name: ObjectName,
    uid: EventUid,
}

fn reconcile_one(
    store: &Store,
    key: &CollectionKey,
    remote: &Remote<'_>,
    privacy: store::Privacy,
) -> store::Result<usize> {
    let conn = remote.conn;
    // What is here now: copies (name -> upstream etag) and system events.
    let mut copies: HashMap<ObjectName, ETag> = HashMap::new();
    let mut systems: HashMap<Href, SystemEvent> = HashMap::new();
    let mut system_uids: HashMap<EventUid, Href> = HashMap::new();
    // Metadata only: the bodies of a large calendar are not needed here.
    for (name, rec) in store.metas(key)? {
        match rec.origin {
            Origin::Upstream {
                connection, etag, ..
            } if &connection == conn => {
                copies.insert(name, etag);
            }
            Origin::System {
                connection, href, ..
            } if &connection == conn => {
                system_uids.insert(rec.index.uid.clone(), href.clone());
                systems.insert(
                    href,
                    SystemEvent {
                        name,
                        uid: rec.index.uid,
                    },
                );
            }
            _ => {}
        }
    }
    let mut changes = 0;
    let mut wanted = HashSet::new();
    let mut seen_systems: HashSet<Href> = HashSet::new();
    for item in store.remote_objects_each(conn, remote.cal) {
        let (href, obj) = item?;
        let (href, obj) = (&href, &obj);
        let sys = match systems.get(href) {
            Some(sys) => Some(sys),
            None => uid_of(&obj.data)
                .and_then(|uid| system_uids.get(&uid))
                .and_then(|h| systems.get(h)),
        };
        if let Some(sys) = sys {
            seen_systems.insert(href.clone());
            if let Some(h) = system_uids.get(&sys.uid) {
                seen_systems.insert(h.clone());
            }
            changes += follow_system_event(store, key, remote, sys, href, obj)?;
            continue;
        }
        if store.outbox_pending_for(conn, href)? {
            // Our own change of this object is on its way (e.g. a delete).
            continue;
        }
        let Some(name) = object_name(href) else {
            tracing::warn!(href = %href, "upstream object name is not usable; skipped");
            continue;
        };
        wanted.insert(name.clone());
        if copies.get(&name) == Some(&obj.etag) {
            continue;
        }
        changes += copy_in(store, key, conn, href, &name, obj, privacy)?;
    }
    // System events missing upstream, delivered before the listing was
    // taken and with nothing pending: deleted in iCloud, which wins (README).
    if let Some(listed_at) = remote.listed_at {
        for (href, sys) in &systems {
            if seen_systems.contains(href) || store.outbox_pending_for(conn, href)? {
                continue;
            }
            let removed = store.delete_object_where(key, &sys.name, |cur| {
                matches!(&cur.origin, Origin::System { href: h, delivered: Some(d), .. }
                    if h == href && *d < listed_at)
            })?;
            changes += usize::from(removed);
        }
    }
    for name in copies.keys() {
        if !wanted.contains(name) {
            let removed = store.delete_object_where(key, name, |cur| {
                matches!(&cur.origin, Origin::Upstream { connection, .. } if connection == conn)
            })?;
            changes += usize::from(removed);
        }
    }
    Ok(changes)
}

/// iCloud data with a VTIMEZONE added for every TZID that lacks one
/// (RFC 5545 §3.2.19; clients such as ical.js read it as floating time
/// otherwise). Unchanged bytes when nothing is missing.
fn repaired(href: &Href, data: Vec<u8>) -> Vec<u8> {
    match ical::repair(&data) {
        Ok(r) => {
            if !r.unresolved.is_empty() {
                tracing::info!(href = %href, tzids = ?r.unresolved, "time zones not in the database; left as they are");
            }
            r.bytes.into_owned()
        }
        Err(_) => data,
    }
}

fn uid_of(data: &[u8]) -> Option<EventUid> {
    ical::parse_lenient(data).ok().map(|i| i.uid)
}

/// Writes (or replaces) the local copy of an iCloud event.
fn copy_in(
    store: &Store,
    key: &CollectionKey,
    conn: &ConnectionId,
    href: &Href,
    name: &ObjectName,
    obj: &RemoteObject,
    privacy: store::Privacy,
) -> store::Result<usize> {
    let data = repaired(href, policy::inbound::view(&obj.data, privacy));
    let index = match ical::parse_lenient(&data) {
        Ok(i) => i,
        Err(e) => {
            tracing::warn!(href = %href, error = %e, "upstream object is not usable iCalendar; skipped");
            return Ok(0);
        }
    };
    let rec = ObjectRecord {
        etag: ETag::of_content(&data),
        data,
        index,
        origin: Origin::Upstream {
            connection: conn.clone(),
            href: href.clone(),
            etag: obj.etag.clone(),
        },
        modified: chrono::Utc::now().timestamp(),
    };
    match store.put_object(key, name, &rec, &WriteCondition::default()) {
        Ok(_) => Ok(1),
        Err(store::Error::UidConflict { existing }) => {
            // The iCloud version wins (README): a local object with the
            // same UID under another name is replaced, unless it is a
            // system event (those are linked above, never replaced).
            let replaced = store.delete_object_where(key, &existing, |cur| {
                !matches!(cur.origin, Origin::System { .. })
            })?;
            if replaced {
                store.put_object(key, name, &rec, &WriteCondition::default())?;
            }
            Ok(usize::from(replaced))
        }
        Err(e) => Err(e),
    }
}

/// A system event seen upstream (at `href`): record its ETag, or take
/// iCloud's edit. Decided on the record as stored, inside the write.
fn follow_system_event(
    store: &Store,
    key: &CollectionKey,
    remote: &Remote<'_>,
    sys: &SystemEvent,
    href: &Href,
    obj: &RemoteObject,
) -> store::Result<usize> {
    let theirs = ical::content_hash(&obj.data);
    let data = repaired(href, obj.data.clone());
    let index = ical::parse_lenient(&data).ok();
    let listed_at = remote.listed_at;
    let written = store.update_object(key, &sys.name, |cur| {
        let Origin::System {
            href: cur_href,
            etag,
            pushed,
            delivered,
            ..
        } = &cur.origin
        else {
            return None;
        };
        // A listing older than our last delivery cannot tell us anything.
        if delivered.is_some_and(|d| listed_at.is_none_or(|l| d > l)) {
            return None;
        }
        if etag.as_ref() == Some(&obj.etag) && cur_href == href {
            return None;
        }
        let origin = Origin::System {
            connection: remote.conn.clone(),
            href: href.clone(),
            etag: Some(obj.etag.clone()),
            pushed: Some(theirs.clone()),
            delivered: delivered.or(Some(0)),
        };
        if pushed.as_ref() == Some(&theirs) || etag.is_none() {
            // Our own delivery (or housekeeping): only the upstream ETag moved.
            return Some(ObjectRecord {
                origin,
                ..cur.clone()
            });
        }
        // Edited in iCloud directly: the iCloud version wins and clients see it.
        Some(ObjectRecord {
            etag: ETag::of_content(&data),
            data: data.clone(),
            index: index.clone()?,
            origin,
            modified: chrono::Utc::now().timestamp(),
        })
    });
    match written {
        Ok(Some(rec)) if rec.data == data => Ok(1),
        Ok(_) | Err(store::Error::NoObject { .. }) => Ok(0),
        Err(e) => Err(e),
    }
}

/// Removes every copy of `conn`'s events from a collection (they are
/// written again by the next reconcile, e.g. at a new privacy level).
pub fn forget_copies(store: &Store, key: &CollectionKey, conn: &ConnectionId) -> store::Result<()> {
    for (name, rec) in store.objects(key)? {
        if matches!(&rec.origin, Origin::Upstream { connection, .. } if connection == conn) {
            store.delete_object(key, &name, None)?;
        }
    }
    Ok(())
}
