//! AVAILABILITY (R4, R9): a user's busy time from every source collection,
//! merged, and materialised as the read-only `availability/` collection of
//! "Busy" events with stable names, so sync-collection clients see only
//! real changes. Used by `handlers` (reads, after writes) and `sync` (after
//! iCloud changes); uses only `store` and `ical`.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use crate::ical::{self, BusyInterval, ExpandOptions, TimeRange};
use crate::ids::{CalendarId, ETag, EventUid, ObjectName, TenantId, UserId};
use crate::state::App;
use crate::store::{
    self, CollectionKey, CollectionKind, ObjectRecord, Origin, Store, WriteCondition,
};

/// Cap on instances one object may expand to in one window.
pub const MAX_INSTANCES: usize = 10_000;

/// The name of the availability collection.
pub const AVAILABILITY: &str = "availability";

/// Expansion options for a user: their time zone for all-day and floating times.
pub fn expand_options(app: &App, t: &TenantId, u: &UserId) -> ExpandOptions {
    let tz = app
        .store
        .user(t, u)
        .ok()
        .flatten()
        .and_then(|r| r.timezone.parse::<chrono_tz::Tz>().ok())
        .unwrap_or(chrono_tz::UTC);
    ExpandOptions {
        default_tz: tz,
        max_instances: MAX_INSTANCES,
    }
}

fn owner_addresses(store: &Store, t: &TenantId, u: &UserId) -> Vec<String> {
    store
        .user(t, u)
        .ok()
        .flatten()
        .map(|r| r.addresses)
        .unwrap_or_default()
}

/// Busy intervals of one collection inside `window`, merged.
pub fn busy_in_collection(
    app: &App,
    key: &CollectionKey,
    window: TimeRange,
) -> store::Result<Vec<BusyInterval>> {
    let opts = expand_options(app, &key.tenant, &key.user);
    let owners = owner_addresses(&app.store, &key.tenant, &key.user);
    let mut all = Vec::new();
    collect(app, key, window, &owners, &opts, &mut all)?;
    Ok(ical::merge(all))
}

fn collect(
    app: &App,
    key: &CollectionKey,
    window: TimeRange,
    owners: &[String],
    opts: &ExpandOptions,
    out: &mut Vec<BusyInterval>,
) -> store::Result<()> {
    let (ws, we) = (window.start.timestamp(), window.end.timestamp());
    for (name, rec) in app.store.objects(key)? {
        let idx = &rec.index;
        // Index pre-filter: skip objects that cannot reach the window.
        if idx.first_start.is_some_and(|s| s >= we) || idx.last_end.is_some_and(|e| e <= ws) {
            continue;
        }
        match ical::busy_intervals(&rec.data, window, owners, opts) {
            Ok(v) => out.extend(v),
            Err(e) => tracing::warn!(object = %name, error = %e, "object skipped in busy time"),
        }
    }
    Ok(())
}

/// The merged busy time of a user (R9): every collection except the
/// availability collection itself.
pub fn busy_for_user(
    app: &App,
    t: &TenantId,
    u: &UserId,
    window: TimeRange,
) -> store::Result<Vec<BusyInterval>> {
    let mut all = own_busy(app, t, u, window)?;
    // R7: other users of the tenant chosen as conflict sources block this
    // user's time with their own busy time (not transitively).
    for other in app.store.links(t, u)?.conflict_users {
        if &other != u {
            all.extend(own_busy(app, t, &other, window)?);
        }
    }
    Ok(ical::merge(all))
}

/// A user's busy time from their own collections only.
fn own_busy(
    app: &App,
    t: &TenantId,
    u: &UserId,
    window: TimeRange,
) -> store::Result<Vec<BusyInterval>> {
    let opts = expand_options(app, t, u);
    let owners = owner_addresses(&app.store, t, u);
    let mut all = Vec::new();
    for (key, rec) in app.store.collections(t, u)? {
        if rec.kind != CollectionKind::Availability {
            collect(app, &key, window, &owners, &opts, &mut all)?;
        }
    }
    Ok(all)
}

/// The window materialised into `availability/` at `now`.
pub fn window_at(app: &App, now: DateTime<Utc>) -> TimeRange {
    let day = now.date_naive().and_time(chrono::NaiveTime::MIN).and_utc();
    TimeRange {
        start: day - Duration::days(app.config.availability.past_days),
        end: day + Duration::days(app.config.availability.future_days),
    }
}

fn busy_object(iv: &BusyInterval) -> Option<(ObjectName, ObjectRecord)> {
    let (s, e) = (iv.start.timestamp(), iv.end.timestamp());
    let uid = format!("calproxy-busy-{s}-{e}");
    let name = ObjectName::new(format!("{uid}.ics")).ok()?;
    let data = ical::busy_event(&uid, iv.start, iv.end, "Busy", iv.start).into_bytes();
    let index = ical::parse_lenient(&data).ok()?;
    let etag = content_etag(&data);
    let _ = EventUid::new(uid).ok()?;
    Some((
        name,
        ObjectRecord {
            data,
            etag,
            index,
            origin: Origin::Local,
            modified: Utc::now().timestamp(),
        },
    ))
}

/// A strong ETag from content: identical bytes, identical tag.
pub fn content_etag(data: &[u8]) -> ETag {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(data);
    ETag::new(hex::encode(&d[..12]))
}

/// Recomputes `availability/` for a user and applies only the differences.
pub fn refresh(app: &App, t: &TenantId, u: &UserId) -> store::Result<()> {
    let Ok(cal) = CalendarId::new(AVAILABILITY) else {
        return Ok(());
    };
    let key = CollectionKey::new(t, u, &cal);
    if app.store.collection(&key)?.is_none() {
        return Ok(());
    }
    let window = window_at(app, Utc::now());
    let wanted: BTreeMap<ObjectName, ObjectRecord> = busy_for_user(app, t, u, window)?
        .iter()
        .filter_map(busy_object)
        .collect();
    let existing: BTreeMap<ObjectName, ETag> = app
        .store
        .objects(&key)?
        .into_iter()
        .map(|(n, r)| (n, r.etag))
        .collect();
    for name in existing.keys() {
        if !wanted.contains_key(name) {
            app.store.delete_object(&key, name, None)?;
        }
    }
    for (name, rec) in &wanted {
        if existing.get(name) != Some(&rec.etag) {
            app.store
                .put_object(&key, name, rec, &WriteCondition::default())?;
        }
    }
    Ok(())
}
