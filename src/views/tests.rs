//! Views unit tests: windows, clipping, the stamp check, injected failures.

use std::sync::Arc;

use super::*;
use crate::ical::BusyKind;
use crate::ids::{CalendarId, ObjectName, TenantId, UserId};
use crate::store::{ObjectRecord, Origin, WriteCondition};
use chrono::Duration;

/// Adds user `u` of tenant `t`.
fn add_user(s: &Store, u: &str) -> UserRef {
    let who = UserRef::new(&TenantId::new("t").unwrap(), &UserId::new(u).unwrap());
    crate::accounts::add_user(
        s,
        &who.tenant,
        &who.user,
        &crate::secret::Secret::new("pw-long-enough".into()),
    )
    .unwrap();
    who
}

fn views() -> (Store, Views) {
    let s = Store::temporary().unwrap();
    let v = Views::new(&s, AvailabilityWindow::default(), &Arc::default());
    (s, v)
}

#[test]
fn cache_window_holds_the_materialised_window_and_a_year_on_every_day() {
    let (_, v) = views();
    let start: DateTime<Utc> = "2026-11-20T00:00:00Z".parse().unwrap();
    let mut moves = 0;
    let mut last = v.cache_window(start);
    for h in 0..(24 * 21) {
        let now = start + Duration::hours(h);
        let c = v.cache_window(now);
        let w = v.window_at(now);
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

fn put_event(s: &Store, who: &UserRef, cal: &str, uid: &str, start: DateTime<Utc>) {
    let key = CollectionKey::of(who, &CalendarId::new(cal).unwrap());
    let stamp = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    let lines = format!(
        "DTSTART:{}\r\nDTEND:{}\r\n",
        stamp(start),
        stamp(start + Duration::hours(1))
    );
    put_text(s, &key, uid, &lines);
}

/// Writes one-hour events `e{i}` for `i` in `ids` into `blocked/`, event
/// `i` at `base` + 2·`i` hours (separate blocks).
fn put_spread(s: &Store, who: &UserRef, ids: std::ops::Range<i64>, base: DateTime<Utc>) {
    for i in ids {
        put_event(
            s,
            who,
            "blocked",
            &format!("e{i}"),
            base + Duration::hours(2 * i),
        );
    }
}

/// Writes event `uid` (as `{uid}.ics`) with `lines` after its UID.
fn put_text(s: &Store, key: &CollectionKey, uid: &str, lines: &str) {
    let data = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n{lines}END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    .into_bytes();
    let rec = ObjectRecord {
        index: ical::parse_strict(&data).unwrap(),
        etag: crate::ids::ETag::of_content(&data),
        data,
        origin: Origin::Local,
        modified: 0,
    };
    s.put_object(
        key,
        &ObjectName::new(format!("{uid}.ics")).unwrap(),
        &rec,
        &WriteCondition::default(),
    )
    .unwrap();
}

/// 08:00 UTC `days` days from today.
fn morning(days: i64) -> DateTime<Utc> {
    (Utc::now() + Duration::days(days))
        .date_naive()
        .and_hms_opt(8, 0, 0)
        .unwrap()
        .and_utc()
}

/// A store, its views, user `u`, their `blocked/`, the cached window and
/// the user's busy settings (the busy cache's tests).
fn cache_fixture() -> (Store, Views, UserRef, CollectionKey, TimeRange, Settings) {
    let (s, v) = views();
    let who = add_user(&s, "u");
    let key = CollectionKey::of(&who, &CalendarId::new("blocked").unwrap());
    let window = v.cache_window(Utc::now());
    let settings = s.busy_settings(&who);
    (s, v, who, key, window, settings)
}

#[test]
fn a_view_is_refreshed_once_per_change_and_a_failure_is_retried() {
    let (s, v) = views();
    let who = add_user(&s, "u");
    let avail = deps::availability_of(&who).unwrap();
    assert!(v.ensure_fresh(&who).unwrap(), "first derivation");
    assert!(!v.ensure_fresh(&who).unwrap(), "nothing changed");
    let when = Utc::now() + Duration::days(3);
    put_event(&s, &who, "blocked", "a", when);
    v.inject_failures(1);
    assert!(matches!(v.ensure_fresh(&who), Err(Error::Injected)));
    assert_eq!(v.status().stale.len(), 1);
    assert_eq!(s.object_etags(&avail).unwrap().len(), 0);
    assert!(v.ensure_fresh(&who).unwrap(), "caught up");
    assert!(v.status().stale.is_empty());
    assert_eq!(s.object_etags(&avail).unwrap().len(), 1);
    assert_eq!(v.status().failures, 1);
}

#[test]
fn a_cold_cache_uses_a_current_busy_snapshot_and_rebuilds_past_a_stale_one() {
    let (s, v, who, key, window, settings) = cache_fixture();
    let at = Utc::now() + Duration::days(3);
    put_event(&s, &who, "blocked", "a", at);
    let cache = v.cache();
    let rec = s.collection(&key).unwrap().unwrap();
    let first = cache.collection(&s, &key, &rec, &settings, window).unwrap();
    assert_eq!(first.len(), 1);
    // A restart: the snapshot answers, nothing is rebuilt.
    cache.clear();
    let s0 = cache.stats();
    let again = cache.collection(&s, &key, &rec, &settings, window).unwrap();
    assert_eq!(again, first);
    let s1 = cache.stats();
    assert_eq!(s1.snapshots, s0.snapshots + 1);
    assert_eq!(s1.rebuilds, s0.rebuilds);
    // A write the cache has not seen makes the snapshot stale: never used.
    put_event(&s, &who, "blocked", "b", at + Duration::days(1));
    cache.clear();
    let rec = s.collection(&key).unwrap().unwrap();
    let after = cache.collection(&s, &key, &rec, &settings, window).unwrap();
    assert_eq!(after.len(), 2, "{after:?}");
    let s2 = cache.stats();
    assert_eq!(s2.snapshots, s1.snapshots);
    assert_eq!(s2.rebuilds, s1.rebuilds + 1);
}

#[test]
fn a_users_merge_is_not_reused_after_a_conflict_users_settings_changed_elsewhere() {
    use chrono::TimeZone as _;
    let (s, v) = views();
    let add = |u: &str| add_user(&s, u);
    let (bob, carol) = (add("bob"), add("carol"));
    s.put_links(
        &bob.tenant,
        &bob.user,
        &crate::store::UserLinks {
            conflict_users: vec![carol.user.clone()],
            ..Default::default()
        },
    )
    .unwrap();
    // A floating 10:00 in carol's calendar: its instant follows her zone.
    let day = (Utc::now() + Duration::days(3)).date_naive();
    let local = day.and_hms_opt(10, 0, 0).unwrap();
    let data = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:f\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{}\r\nDURATION:PT1H\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        local.format("%Y%m%dT%H%M%S")
    )
    .into_bytes();
    let key = CollectionKey::of(&carol, &CalendarId::new("blocked").unwrap());
    let rec = ObjectRecord {
        index: ical::parse_strict(&data).unwrap(),
        etag: crate::ids::ETag::of_content(&data),
        data,
        origin: Origin::Local,
        modified: 0,
    };
    s.put_object(
        &key,
        &ObjectName::new("f.ics").unwrap(),
        &rec,
        &WriteCondition::default(),
    )
    .unwrap();
    let w = TimeRange {
        start: day.and_hms_opt(0, 0, 0).unwrap().and_utc(),
        end: day.and_hms_opt(0, 0, 0).unwrap().and_utc() + Duration::days(1),
    };
    assert_eq!(
        v.busy_for_user(&bob, w, None).unwrap()[0].start,
        local.and_utc()
    );
    // Carol moves to Berlin; her own read refreshes her collections' entries.
    let mut c = s.user(&carol.tenant, &carol.user).unwrap().unwrap();
    c.timezone = "Europe/Berlin".into();
    s.put_user(&carol.tenant, &carol.user, &c).unwrap();
    let berlin = chrono_tz::Europe::Berlin
        .from_local_datetime(&local)
        .unwrap()
        .with_timezone(&Utc);
    assert_eq!(v.busy_for_user(&carol, w, None).unwrap()[0].start, berlin);
    // Bob's merge must not be the one made under her old zone.
    assert_eq!(v.busy_for_user(&bob, w, None).unwrap()[0].start, berlin);
}

/// The block names `availability/` should hold now (a full derivation).
fn expected_blocks(v: &Views, who: &UserRef) -> Vec<String> {
    let w = v.window_at(Utc::now());
    let mut names: Vec<String> = flatten(&v.busy_for_user(who, w, None).unwrap())
        .iter()
        .map(|iv| format!("{}.ics", ical::busy_uid(iv)))
        .collect();
    names.sort();
    names
}

fn stored_blocks(s: &Store, who: &UserRef) -> Vec<String> {
    let avail = CollectionKey::of(who, &CalendarId::new(AVAILABILITY).unwrap());
    s.object_etags(&avail)
        .unwrap()
        .into_iter()
        .map(|(n, _)| n.as_str().to_string())
        .collect()
}

#[test]
fn refreshes_write_only_the_differences_and_end_where_a_full_derivation_does() {
    use rand::{Rng, SeedableRng};
    let (s, v) = views();
    let who = add_user(&s, "u");
    let blocked = CollectionKey::of(&who, &CalendarId::new("blocked").unwrap());
    let avail = CollectionKey::of(&who, &CalendarId::new(AVAILABILITY).unwrap());
    let base = morning(2);
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    v.ensure_fresh(&who).unwrap();
    for step in 0..120 {
        // Events on a few days at half-hour steps: they overlap, touch and
        // split blocks as they come and go.
        let uid = format!("e{}", rng.gen_range(0..25));
        if rng.gen_bool(0.25) {
            let name = ObjectName::new(format!("{uid}.ics")).unwrap();
            let _ = s.delete_object(&blocked, &name, None);
        } else {
            let at = base
                + Duration::days(rng.gen_range(0..3))
                + Duration::minutes(30 * rng.gen_range(0..12));
            put_event(&s, &who, "blocked", &uid, at);
        }
        let seq_before = s.collection(&avail).unwrap().unwrap().seq;
        v.ensure_fresh(&who).unwrap();
        let written = s.collection(&avail).unwrap().unwrap().seq - seq_before;
        let (want, got) = (expected_blocks(&v, &who), stored_blocks(&s, &who));
        assert_eq!(got, want, "step {step}");
        // A change touches a few blocks, never the whole collection again.
        assert!(written <= 6, "step {step}: {written} writes");
    }
    let from_memory = v.refreshes_from_memory();
    assert!(from_memory >= 100, "{from_memory} of 120 from memory");
    // Someone else's write (here: a block deleted behind the views' back)
    // is noticed: the next refresh compares with the store.
    let victim = stored_blocks(&s, &who)[0].clone();
    s.delete_object(&avail, &ObjectName::new(victim).unwrap(), None)
        .unwrap();
    put_event(&s, &who, "blocked", "late", base + Duration::days(5));
    v.ensure_fresh(&who).unwrap();
    assert_eq!(stored_blocks(&s, &who), expected_blocks(&v, &who));
    assert_eq!(
        v.refreshes_from_memory(),
        from_memory,
        "compared with the store"
    );
}

#[test]
fn an_incremental_update_keeps_its_snapshot_later_in_one_write() {
    let (s, v, who, key, window, settings) = cache_fixture();
    let at = Utc::now() + Duration::days(3);
    let cache = v.cache();
    put_event(&s, &who, "blocked", "a", at);
    let rec = s.collection(&key).unwrap().unwrap();
    let filled = cache
        .with_collection(&s, &key, &rec, &settings, window, |_| ())
        .unwrap();
    assert!(filled.is_some());
    for i in 0..5 {
        put_event(
            &s,
            &who,
            "blocked",
            &format!("b{i}"),
            at + Duration::hours(i),
        );
        let rec = s.collection(&key).unwrap().unwrap();
        cache.collection(&s, &key, &rec, &settings, window).unwrap();
    }
    assert!(cache.has_unkept_snapshots());
    assert_eq!(cache.persist_snapshots(&s), 1, "one write for five changes");
    assert!(!cache.has_unkept_snapshots());
    // A restart now starts from the kept snapshot.
    let rec = s.collection(&key).unwrap().unwrap();
    let before = cache.collection(&s, &key, &rec, &settings, window).unwrap();
    cache.clear();
    let s0 = cache.stats();
    let after = cache.collection(&s, &key, &rec, &settings, window).unwrap();
    assert_eq!(after, before);
    assert_eq!(cache.stats().snapshots, s0.snapshots + 1);
    assert_eq!(cache.stats().rebuilds, s0.rebuilds);
}

#[tokio::test]
async fn the_worker_waits_for_a_burst_of_writes_to_end_and_then_catches_up() {
    let (s, v) = views();
    let who = add_user(&s, "u");
    v.ensure_fresh(&who).unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let worker = tokio::spawn(v.clone().run(shutdown.clone()));
    // Let the worker's start-up pass (window, everyone once) go by.
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        if v.status().refreshed > 0 || stored_blocks(&s, &who).is_empty() {
            break;
        }
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let before = v.status().refreshed;
    let base = (Utc::now() + Duration::days(2))
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    // 40 writes 5 ms apart (one every 5 ms is well inside `QUIET`).
    let writes = 40;
    for i in 0..writes {
        put_spread(&s, &who, i..i + 1, base);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let during = v.status().refreshed - before;
    // Without the wait the worker refreshes after nearly every write. A
    // write that stalls past `QUIET` on a loaded machine lets one through.
    assert!(
        during <= 10,
        "{during} refreshes during a burst of {writes} writes"
    );
    // Then it catches up by itself (no read asks for the view).
    let mut caught_up = false;
    for _ in 0..250 {
        if stored_blocks(&s, &who).len() == writes as usize {
            caught_up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(caught_up, "{} blocks", stored_blocks(&s, &who).len());
    assert_eq!(stored_blocks(&s, &who), expected_blocks(&v, &who));
    shutdown.cancel();
    worker.await.unwrap();
}

#[test]
fn the_caches_incremental_updates_end_where_a_full_rebuild_does() {
    use rand::{Rng, SeedableRng};
    let (s, v, _, key, window, settings) = cache_fixture();
    let cache = v.cache();
    let base = morning(1);
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let stamp = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    let rec0 = s.collection(&key).unwrap().unwrap();
    cache
        .with_collection(&s, &key, &rec0, &settings, window, |_| ())
        .unwrap();
    let before = cache.stats();
    for step in 0..150 {
        let uid = format!("e{}", rng.gen_range(0..30));
        let name = ObjectName::new(format!("{uid}.ics")).unwrap();
        if rng.gen_bool(0.2) {
            let _ = s.delete_object(&key, &name, None);
        } else {
            // Overlapping and touching events, busy and tentative, some
            // repeating daily or weekly (a few hundred intervals each).
            let start = base
                + Duration::days(rng.gen_range(0..10))
                + Duration::minutes(30 * rng.gen_range(0..16));
            let end = start + Duration::minutes(30 * rng.gen_range(1..5));
            let rule = match rng.gen_range(0..6) {
                0 => "RRULE:FREQ=DAILY\r\n",
                1 => "RRULE:FREQ=WEEKLY;COUNT=30\r\n",
                _ => "",
            };
            let status = if rng.gen_bool(0.3) {
                "STATUS:TENTATIVE\r\n"
            } else {
                ""
            };
            let lines = format!(
                "DTSTART:{}\r\nDTEND:{}\r\n{rule}{status}",
                stamp(start),
                stamp(end)
            );
            put_text(&s, &key, &uid, &lines);
        }
        let rec = s.collection(&key).unwrap().unwrap();
        let got = cache.collection(&s, &key, &rec, &settings, window).unwrap();
        let fresh = BusyCache::default()
            .collection(&s, &key, &rec, &settings, window)
            .unwrap();
        assert_eq!(got, fresh, "step {step}");
    }
    let after = cache.stats();
    assert!(
        after.incremental - before.incremental >= 100,
        "the updates were incremental: {after:?}"
    );
    assert_eq!(after.rebuilds, before.rebuilds, "no rebuild");
}

#[test]
fn only_background_refreshes_pause_between_their_transactions() {
    let (s, v) = views();
    let who = add_user(&s, "u");
    v.ensure_fresh(&who).unwrap();
    let base = morning(2);
    // 40 separate blocks each time: three transactions of 16.
    let add = |from: i64| put_spread(&s, &who, from..from + 40, base);
    add(0);
    assert!(v.ensure_fresh(&who).unwrap());
    assert_eq!(stored_blocks(&s, &who).len(), 40);
    assert_eq!(v.refresh_pauses(), 0, "a read waits for no pause");
    add(40);
    assert!(v.refresh_in_background(&who).unwrap());
    assert_eq!(stored_blocks(&s, &who).len(), 80);
    assert_eq!(v.refresh_pauses(), 2, "three transactions, two pauses");
}

#[test]
fn a_change_to_most_of_a_collection_rebuilds_its_entry_and_a_small_one_updates_it() {
    let (s, v, who, key, window, settings) = cache_fixture();
    let cache = v.cache();
    let base = morning(2);
    put_event(&s, &who, "blocked", "first", base);
    let merged = |s: &Store| {
        let rec = s.collection(&key).unwrap().unwrap();
        cache
            .with_collection(s, &key, &rec, &settings, window, |e| e.merged.len())
            .unwrap()
    };
    assert_eq!(merged(&s), Some(1));
    let s0 = cache.stats();
    // More new objects than the entry holds and than the rebuild threshold
    // (the first sync after the entry was made): a rebuild.
    put_spread(&s, &who, 1..1_101, base);
    assert_eq!(merged(&s), Some(1_101));
    let s1 = cache.stats();
    assert_eq!(s1.rebuilds, s0.rebuilds + 1, "{s1:?}");
    assert_eq!(s1.incremental, s0.incremental);
    // One more: an update, not a rebuild.
    put_event(&s, &who, "blocked", "last", base - Duration::hours(3));
    assert_eq!(merged(&s), Some(1_102));
    let s2 = cache.stats();
    assert_eq!(s2.rebuilds, s1.rebuilds);
    assert_eq!(s2.incremental, s1.incremental + 1);
}

/// The worker's start-up pass prepares what an older reader stored
/// (`Store::prepare_outdated`) and records the version, once.
#[tokio::test]
async fn the_worker_prepares_objects_of_an_older_reader_at_start() {
    let (s, v) = views();
    let who = add_user(&s, "u");
    let base = (Utc::now() + Duration::days(2))
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    put_spread(&s, &who, 0..3, base);
    assert!(!s.prepared_current().unwrap(), "a new store records none");
    let shutdown = tokio_util::sync::CancellationToken::new();
    let worker = tokio::spawn(v.clone().run(shutdown.clone()));
    let mut recorded = false;
    for _ in 0..250 {
        if s.prepared_current().unwrap() {
            recorded = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    shutdown.cancel();
    let _ = worker.await;
    assert!(recorded, "the worker did not run the pass");
    assert_eq!(s.prepare_outdated().unwrap(), 0);
}
