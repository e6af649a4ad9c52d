//! `disconnect`: remove a connection from a tenant (or, without a tenant,
//! from calproxy). What goes is local only; nothing is deleted in iCloud:
//! - each user's links to its calendars (primary and conflict), the
//!   conflict calendars' read-only copies, and the iCloud events copied
//!   into `primary/`;
//! - the user's system events stay in `primary/` as local events, and
//!   their pending deliveries are dropped;
//! - when no tenant uses the connection any more: its record (Apple ID,
//!   sealed app-specific password), its calendar list and the raw events.

use std::fmt::Write as _;

use crate::ids::{CollectionKey, ConnectionId, TenantId};
use crate::state::App;
use crate::store::{self, CollectionKind, Origin};
use crate::sync::materialize;

use super::{DisconnectArgs, Response};

/// What a disconnect removed.
#[derive(Debug, Default)]
struct Removed {
    links: usize,
    collections: usize,
    copies: usize,
    kept_local: usize,
    pending: usize,
}

pub(super) async fn disconnect(app: &App, d: &DisconnectArgs) -> Response {
    match run(app, &d.connection, d.tenant.as_ref()).await {
        Ok(out) => Response::ok(out),
        Err(Failure::Refused(msg)) => Response::fail(msg),
        Err(Failure::Store(e)) => Response::fail(format!("storage failed: {e}\n")),
    }
}

enum Failure {
    Refused(String),
    Store(store::Error),
}

impl From<store::Error> for Failure {
    fn from(e: store::Error) -> Self {
        Failure::Store(e)
    }
}

async fn run(app: &App, id: &ConnectionId, only: Option<&TenantId>) -> Result<String, Failure> {
    let store = &app.store;
    let Some(mut rec) = store.connection(id)? else {
        return Err(Failure::Refused(format!("no connection {id}\n")));
    };
    let detach: Vec<TenantId> = match only {
        Some(t) if rec.tenants.contains(t) => vec![t.clone()],
        Some(t) => {
            return Err(Failure::Refused(format!(
                "connection {id} is not attached to tenant {t}\n"
            )))
        }
        None => rec.tenants.clone(),
    };
    let mut removed = Removed::default();
    for linked in store.users_linked_to(id)? {
        let who = &linked.user;
        if !detach.contains(&who.tenant) {
            continue;
        }
        let mut links = linked.links.clone();
        if let Some(p) = links.primary.as_ref().filter(|p| &p.connection == id) {
            let key = CollectionKey::of(who, &p.local);
            clear_primary(store, &key, id, &mut removed)?;
            links.primary = None;
            removed.links += 1;
        }
        let (gone, kept): (Vec<_>, Vec<_>) = links
            .conflicts
            .into_iter()
            .partition(|r| &r.connection == id);
        links.conflicts = kept;
        for r in gone {
            removed.links += 1;
            let key = CollectionKey::of(who, &r.local);
            if matches!(store.collection(&key)?, Some(c) if c.kind == CollectionKind::Source) {
                store.delete_collection(&key)?;
                removed.collections += 1;
            }
        }
        store.put_links(&who.tenant, &who.user, &links)?;
    }
    for q in store.outbox()? {
        if &q.entry.connection == id && detach.contains(&q.entry.tenant) {
            store.remove_outbox(q.id)?;
            removed.pending += 1;
        }
    }
    rec.tenants.retain(|t| !detach.contains(t));
    let forgotten = rec.tenants.is_empty();
    if forgotten {
        store.delete_connection(id)?;
        app.engine.progress().forget(id);
    } else {
        store.put_connection(id, &rec)?;
    }
    store.flush().await?;
    let mut out = String::new();
    let tenants: Vec<&str> = detach.iter().map(TenantId::as_str).collect();
    let _ = writeln!(
        out,
        "disconnected {id} from tenant {}: {} calendar links, {} conflict calendars and {} copied iCloud events removed locally",
        tenants.join(", "),
        removed.links,
        removed.collections,
        removed.copies
    );
    if removed.kept_local > 0 || removed.pending > 0 {
        let _ = writeln!(
            out,
            "{} events created through calproxy stay in primary/ as local events; {} deliveries still waiting were dropped",
            removed.kept_local, removed.pending
        );
    }
    let feed = rec.feed().is_some();
    if forgotten {
        let what = if feed {
            "its feed URL and calendar"
        } else {
            "its Apple ID, app-specific password and calendar list"
        };
        let _ = writeln!(out, "calproxy forgot {id} ({what})");
    }
    out.push_str(if feed {
        "the feed itself is untouched\n"
    } else {
        "nothing was deleted in iCloud\n"
    });
    Ok(out)
}

/// Removes the connection's iCloud copies from a user's `primary/` and
/// turns its system events into local events (they stay; nothing will
/// forward them any more).
fn clear_primary(
    store: &store::Store,
    key: &CollectionKey,
    id: &ConnectionId,
    removed: &mut Removed,
) -> store::Result<()> {
    let before = store.objects(key)?;
    materialize::forget_copies(store, key, id)?;
    for (name, rec) in before {
        match &rec.origin {
            Origin::Upstream { connection, .. } if connection == id => removed.copies += 1,
            Origin::System { connection, .. } if connection == id => {
                let r = store.update_object(key, &name, |cur| {
                    let mut next = cur.clone();
                    next.origin = Origin::Local;
                    Some(next)
                });
                match r {
                    Ok(_) => removed.kept_local += 1,
                    Err(store::Error::NoObject { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            _ => {}
        }
    }
    Ok(())
}
