//! AVAILABILITY (R4, R9): a user's busy time from every source collection,
//! merged, and materialised as the read-only `availability/` collection of
//! "Busy" events with stable names, so sync-collection clients see only
//! real changes. Used by `handlers` (reads, after writes) and `sync` (after
//! iCloud changes); uses only `store` and `ical`.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use crate::ical::{self, BusyInterval, BusyKind, ExpandOptions, TimeRange};
use crate::ids::{CalendarId, ETag, EventUid, ObjectName, TenantId, UserId};
use crate::state::App;
use crate::store::{
    self, CollectionKey, CollectionKind, CollectionRecord, ObjectRecord, Origin, Store,
    WriteCondition,
};

mod cache;
pub mod explain;

use cache::Settings;
pub use cache::{BusyCache, CacheStats};

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
        budget: None,
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

fn settings(app: &App, t: &TenantId, u: &UserId) -> Settings {
    Settings {
        tz: expand_options(app, t, u).default_tz,
        owners: owner_addresses(&app.store, t, u),
    }
}

/// The window the cache holds at `now`: the materialised window of the
/// first day of `now`'s 7-day block (days since the Unix epoch / 7), plus
/// 7 days, plus [`CACHE_MARGIN_DAYS`] on each side. It therefore holds
/// `window_at(now)` and "the next twelve months" asked at any time, and it
/// moves (rebuilding the cache) once a week instead of every midnight.
pub fn cache_window(app: &App, now: DateTime<Utc>) -> TimeRange {
    let days = now.timestamp().div_euclid(86_400);
    let block =
        DateTime::<Utc>::from_timestamp((days - days.rem_euclid(7)) * 86_400, 0).unwrap_or(now);
    let w = window_at(app, block);
    TimeRange {
        start: w.start - Duration::days(CACHE_MARGIN_DAYS),
        end: w.end + Duration::days(7 + CACHE_MARGIN_DAYS),
    }
}

/// Fills the cache for every user (at start-up, so the first free-busy
/// request does not pay for expanding everything).
pub fn warm(app: &App) -> store::Result<usize> {
    let window = cache_window(app, Utc::now());
    let mut n = 0;
    for t in app.store.tenants()? {
        for u in app.store.users(&t)? {
            busy_for_user(app, &t, &u, window)?;
            n += 1;
        }
    }
    Ok(n)
}

/// Days the cached window extends beyond the materialised one.
pub const CACHE_MARGIN_DAYS: i64 = 31;

/// The parts of `window` before and after `cached` (possibly empty).
fn outside(window: TimeRange, cached: TimeRange) -> Vec<TimeRange> {
    let mut out = Vec::new();
    if window.start < cached.start {
        out.push(TimeRange {
            start: window.start,
            end: window.end.min(cached.start),
        });
    }
    if window.end > cached.end {
        out.push(TimeRange {
            start: window.start.max(cached.end),
            end: window.end,
        });
    }
    out.retain(|r| r.end > r.start);
    out
}

/// The intervals of a sorted, merged list that meet `window`, clipped.
pub(crate) fn clip(sorted: &[BusyInterval], window: TimeRange) -> Vec<BusyInterval> {
    // `merge` output never overlaps (Busy wins and Tentative is cut around
    // it), so ends are sorted too and a binary search finds the start.
    let first = sorted.partition_point(|i| i.end <= window.start);
    sorted[first..]
        .iter()
        .take_while(|i| i.start < window.end)
        .map(|i| BusyInterval {
            start: i.start.max(window.start),
            end: i.end.min(window.end),
            kind: i.kind,
        })
        .filter(|i| i.end > i.start)
        .collect()
}

/// Busy intervals of one collection inside `window`, merged.
pub fn busy_in_collection(
    app: &App,
    key: &CollectionKey,
    window: TimeRange,
) -> store::Result<Vec<BusyInterval>> {
    let s = settings(app, &key.tenant, &key.user);
    let Some(rec) = app.store.collection(key)? else {
        return Ok(Vec::new());
    };
    let cached = cache_window(app, Utc::now());
    let mut all = Vec::new();
    if window.start < cached.end && window.end > cached.start {
        let merged = app.busy.collection(&app.store, key, &rec, &s, cached)?;
        all.extend(clip(&merged, window));
    }
    for part in outside(window, cached) {
        collect(app, key, part, &s, &mut all)?;
    }
    Ok(ical::merge(all))
}

/// Expands every object of a collection in `window` (no cache).
fn collect(
    app: &App,
    key: &CollectionKey,
    window: TimeRange,
    s: &Settings,
    out: &mut Vec<BusyInterval>,
) -> store::Result<()> {
    let (ws, we) = (window.start.timestamp(), window.end.timestamp());
    for (name, rec) in app.store.objects(key)? {
        let idx = &rec.index;
        // Index pre-filter: skip objects that cannot reach the window.
        if idx.first_start.is_some_and(|s| s >= we) || idx.last_end.is_some_and(|e| e <= ws) {
            continue;
        }
        out.extend(cache::object_busy(&name, &rec.data, window, s));
    }
    Ok(())
}

/// Every collection whose busy time blocks a user (R9, R7): the user's own
/// collections except `availability/`, and the own collections of the
/// tenant's users chosen as conflict sources (not transitively). Each with
/// the settings of the user who owns it.
pub(crate) fn sources(
    app: &App,
    t: &TenantId,
    u: &UserId,
) -> store::Result<Vec<(CollectionKey, CollectionRecord, Settings)>> {
    let mut users = vec![u.clone()];
    for other in app.store.links(t, u)?.conflict_users {
        if &other != u && !users.contains(&other) {
            users.push(other);
        }
    }
    let mut out = Vec::new();
    for who in users {
        let s = settings(app, t, &who);
        for (key, rec) in app.store.collections(t, &who)? {
            if rec.kind != CollectionKind::Availability {
                out.push((key, rec, s.clone()));
            }
        }
    }
    Ok(out)
}

/// The merged busy time of a user (R9): every source collection, merged.
/// Served from the cache inside [`cache_window`]; parts of `window` outside
/// it are expanded on the fly.
pub fn busy_for_user(
    app: &App,
    t: &TenantId,
    u: &UserId,
    window: TimeRange,
) -> store::Result<Vec<BusyInterval>> {
    let srcs = sources(app, t, u)?;
    let cached = cache_window(app, Utc::now());
    let mut all = Vec::new();
    if window.start < cached.end && window.end > cached.start {
        let merged = app.busy.user(&app.store, (t, u), &srcs, cached)?;
        all.extend(clip(&merged, window));
    }
    for part in outside(window, cached) {
        for (key, _, s) in &srcs {
            collect(app, key, part, s, &mut all)?;
        }
    }
    Ok(ical::merge(all))
}

/// Busy and tentative time as one kind: the availability collection and
/// the feed show every blocked minute as "Busy" (see the README, R4).
pub fn flatten(intervals: &[BusyInterval]) -> Vec<BusyInterval> {
    ical::merge(
        intervals
            .iter()
            .map(|i| BusyInterval {
                kind: BusyKind::Busy,
                ..*i
            })
            .collect(),
    )
}

/// The window materialised into `availability/` at `now`.
pub fn window_at(app: &App, now: DateTime<Utc>) -> TimeRange {
    let day = now.date_naive().and_time(chrono::NaiveTime::MIN).and_utc();
    TimeRange {
        start: day - Duration::days(app.config.availability.past_days),
        end: day + Duration::days(app.config.availability.future_days),
    }
}

fn busy_data(iv: &BusyInterval) -> (String, Vec<u8>) {
    let (s, e) = (iv.start.timestamp(), iv.end.timestamp());
    let uid = format!("calproxy-busy-{s}-{e}");
    let data = ical::busy_event(&uid, iv.start, iv.end, "Busy", iv.start).into_bytes();
    (uid, data)
}

fn busy_record(uid: &str, data: Vec<u8>) -> Option<ObjectRecord> {
    let index = ical::parse_lenient(&data).ok()?;
    let etag = content_etag(&data);
    let _ = EventUid::new(uid).ok()?;
    Some(ObjectRecord {
        data,
        etag,
        index,
        origin: Origin::Local,
        modified: Utc::now().timestamp(),
    })
}

/// A strong ETag from content: identical bytes, identical tag.
pub fn content_etag(data: &[u8]) -> ETag {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(data);
    ETag::new(hex::encode(&d[..12]))
}

/// Recomputes `availability/` for a user and applies only the differences.
///
/// One "Busy" event per merged block (busy and tentative time flattened,
/// see [`flatten`]), named and UID'd by its start and end, with content
/// (DTSTAMP = DTSTART) and so ETag fixed by the interval: an unchanged
/// block keeps its name and ETag, and sync-collection reports only real
/// changes. Only new blocks are parsed and written.
pub fn refresh(app: &App, t: &TenantId, u: &UserId) -> store::Result<()> {
    let Ok(cal) = CalendarId::new(AVAILABILITY) else {
        return Ok(());
    };
    let key = CollectionKey::new(t, u, &cal);
    if app.store.collection(&key)?.is_none() {
        return Ok(());
    }
    let window = window_at(app, Utc::now());
    let mut wanted: BTreeMap<ObjectName, (String, Vec<u8>)> = BTreeMap::new();
    for iv in flatten(&busy_for_user(app, t, u, window)?) {
        let (uid, data) = busy_data(&iv);
        if let Ok(name) = ObjectName::new(format!("{uid}.ics")) {
            wanted.insert(name, (uid, data));
        }
    }
    let existing: BTreeMap<ObjectName, ETag> = app.store.object_etags(&key)?.into_iter().collect();
    for name in existing.keys() {
        if !wanted.contains_key(name) {
            app.store.delete_object(&key, name, None)?;
        }
    }
    for (name, (uid, data)) in wanted {
        if existing.get(&name) == Some(&content_etag(&data)) {
            continue;
        }
        if let Some(rec) = busy_record(&uid, data) {
            app.store
                .put_object(&key, &name, &rec, &WriteCondition::default())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn cache_window_holds_the_materialised_window_and_a_year_on_every_day() {
        let app = App::new(
            Store::temporary().unwrap(),
            Config::new("127.0.0.1:0".parse().unwrap(), std::env::temp_dir()),
        );
        let start: DateTime<Utc> = "2026-11-20T00:00:00Z".parse().unwrap();
        let mut moves = 0;
        let mut last = cache_window(&app, start);
        for h in 0..(24 * 21) {
            let now = start + Duration::hours(h);
            let c = cache_window(&app, now);
            let w = window_at(&app, now);
            assert!(c.start <= w.start && w.end <= c.end, "{now}");
            assert!(
                c.start <= now && now + Duration::days(366) <= c.end,
                "{now}"
            );
            if c != last {
                moves += 1;
                last = c;
            }
        }
        assert!(
            moves <= 3,
            "the cached window moves weekly, not daily ({moves})"
        );
    }

    #[test]
    fn clip_cuts_merged_intervals_to_the_window() {
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let iv = |a: &str, b: &str, kind| BusyInterval {
            start: t(a),
            end: t(b),
            kind,
        };
        let merged = ical::merge(vec![
            iv(
                "2026-01-01T09:00:00Z",
                "2026-01-01T10:00:00Z",
                BusyKind::Busy,
            ),
            iv(
                "2026-01-01T09:30:00Z",
                "2026-01-01T12:00:00Z",
                BusyKind::Tentative,
            ),
            iv(
                "2026-01-02T09:00:00Z",
                "2026-01-02T10:00:00Z",
                BusyKind::Busy,
            ),
        ]);
        let w = TimeRange {
            start: t("2026-01-01T09:45:00Z"),
            end: t("2026-01-02T09:30:00Z"),
        };
        assert_eq!(
            clip(&merged, w),
            vec![
                iv(
                    "2026-01-01T09:45:00Z",
                    "2026-01-01T10:00:00Z",
                    BusyKind::Busy
                ),
                iv(
                    "2026-01-01T10:00:00Z",
                    "2026-01-01T12:00:00Z",
                    BusyKind::Tentative
                ),
                iv(
                    "2026-01-02T09:00:00Z",
                    "2026-01-02T09:30:00Z",
                    BusyKind::Busy
                ),
            ]
        );
    }
}
