//! Store unit tests: round trips, write conditions, UID uniqueness, change log.

use super::*;
use crate::ical;
use crate::ids::{CalendarId, EventUid, FeedToken};

fn key(store: &Store) -> CollectionKey {
    let k = CollectionKey::new(
        &TenantId::new("t").unwrap(),
        &UserId::new("u").unwrap(),
        &CalendarId::new("primary").unwrap(),
    );
    store
        .ensure_collection(&k, &CollectionRecord::new(CollectionKind::Primary, "P"))
        .unwrap();
    k
}

fn obj(uid: &str, summary: &str) -> ObjectRecord {
    let data = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260101T100000Z\r\nDTEND:20260101T110000Z\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    .into_bytes();
    ObjectRecord {
        index: ical::parse_strict(&data).unwrap(),
        etag: ETag::new(format!("{uid}-{summary}")),
        data,
        origin: Origin::Local,
        modified: 0,
    }
}

fn name(s: &str) -> ObjectName {
    ObjectName::new(s).unwrap()
}

#[test]
fn put_then_get_round_trips() {
    let s = Store::temporary().unwrap();
    let k = key(&s);
    let o = obj("a", "one");
    let out = s
        .put_object(&k, &name("a.ics"), &o, &WriteCondition::default())
        .unwrap();
    assert!(out.created);
    assert_eq!(s.object(&k, &name("a.ics")).unwrap(), Some(o));
    assert_eq!(
        s.object_by_uid(&k, &EventUid::new("a").unwrap()).unwrap(),
        Some(name("a.ics"))
    );
}

#[test]
fn if_match_and_if_none_match_are_checked_atomically() {
    let s = Store::temporary().unwrap();
    let k = key(&s);
    let none = WriteCondition::default();
    s.put_object(&k, &name("a.ics"), &obj("a", "1"), &none)
        .unwrap();
    let stale = WriteCondition {
        if_match: Some(ETag::new("nope")),
        ..Default::default()
    };
    assert!(matches!(
        s.put_object(&k, &name("a.ics"), &obj("a", "2"), &stale),
        Err(Error::PreconditionFailed { .. })
    ));
    let create_only = WriteCondition {
        if_none_match_any: true,
        ..Default::default()
    };
    assert!(matches!(
        s.put_object(&k, &name("a.ics"), &obj("a", "2"), &create_only),
        Err(Error::PreconditionFailed { .. })
    ));
}

#[test]
fn same_uid_under_another_name_is_a_conflict() {
    let s = Store::temporary().unwrap();
    let k = key(&s);
    let none = WriteCondition::default();
    s.put_object(&k, &name("a.ics"), &obj("a", "1"), &none)
        .unwrap();
    match s.put_object(&k, &name("b.ics"), &obj("a", "1"), &none) {
        Err(Error::UidConflict { existing }) => assert_eq!(existing, name("a.ics")),
        other => panic!("expected a uid conflict, got {other:?}"),
    }
}

#[test]
fn change_log_reports_last_state_per_name() {
    let s = Store::temporary().unwrap();
    let k = key(&s);
    let none = WriteCondition::default();
    let t0 = s.changes_since(&k, None).unwrap().token.unwrap();
    s.put_object(&k, &name("a.ics"), &obj("a", "1"), &none)
        .unwrap();
    s.put_object(&k, &name("a.ics"), &obj("a", "2"), &none)
        .unwrap();
    s.put_object(&k, &name("b.ics"), &obj("b", "1"), &none)
        .unwrap();
    s.delete_object(&k, &name("b.ics"), None).unwrap();
    let d = s.changes_since(&k, Some(&t0)).unwrap();
    assert_eq!(d.changed, vec![name("a.ics")]);
    assert_eq!(d.deleted, vec![name("b.ics")]);
    let t1 = d.token.unwrap();
    assert_ne!(t0, t1);
    assert_eq!(s.changes_since(&k, Some(&t1)).unwrap().changed, vec![]);
}

#[test]
fn a_batch_removes_what_exists_writes_the_rest_and_logs_each_or_nothing() {
    let s = Store::temporary().unwrap();
    let k = key(&s);
    let none = WriteCondition::default();
    for u in ["a", "b"] {
        s.put_object(&k, &name(&format!("{u}.ics")), &obj(u, "1"), &none)
            .unwrap();
    }
    let t0 = s.changes_since(&k, None).unwrap().token.unwrap();
    let put = vec![
        (name("b.ics"), obj("b", "2")),
        (name("c.ics"), obj("c", "1")),
    ];
    let n = s
        .apply_objects(&k, &[name("a.ics"), name("gone.ics")], &put)
        .unwrap();
    assert_eq!(
        n, 3,
        "one removal (the missing name is skipped), two writes"
    );
    assert_eq!(s.object(&k, &name("a.ics")).unwrap(), None);
    assert_eq!(s.object(&k, &name("b.ics")).unwrap(), Some(obj("b", "2")));
    assert_eq!(
        s.object_by_uid(&k, &EventUid::new("c").unwrap()).unwrap(),
        Some(name("c.ics"))
    );
    let d = s.changes_since(&k, Some(&t0)).unwrap();
    assert_eq!(d.changed, vec![name("b.ics"), name("c.ics")]);
    assert_eq!(d.deleted, vec![name("a.ics")]);

    // A UID held under another name refuses the whole batch.
    let t1 = d.token.unwrap();
    let clash = vec![
        (name("d.ics"), obj("d", "1")),
        (name("e.ics"), obj("b", "3")),
    ];
    match s.apply_objects(&k, &[name("c.ics")], &clash) {
        Err(Error::UidConflict { existing }) => assert_eq!(existing, name("b.ics")),
        other => panic!("expected a uid conflict, got {other:?}"),
    }
    assert!(s.object(&k, &name("c.ics")).unwrap().is_some());
    assert_eq!(s.object(&k, &name("d.ics")).unwrap(), None);
    let d = s.changes_since(&k, Some(&t1)).unwrap();
    assert!(d.changed.is_empty() && d.deleted.is_empty(), "{d:?}");
}

#[test]
fn foreign_and_future_tokens_are_refused() {
    let s = Store::temporary().unwrap();
    let k = key(&s);
    for bad in ["x", "urn:x-calproxy:sync:1-0", "urn:x-calproxy:sync:1-a"] {
        assert!(matches!(
            s.changes_since(&k, Some(&SyncToken::new(bad))),
            Err(Error::InvalidSyncToken)
        ));
    }
    let rec = s.collection(&k).unwrap().unwrap();
    let future = SyncToken::new(format!("urn:x-calproxy:sync:{}-99", rec.incarnation));
    assert!(matches!(
        s.changes_since(&k, Some(&future)),
        Err(Error::InvalidSyncToken)
    ));
}

#[test]
fn users_and_feed_tokens_are_indexed() {
    let s = Store::temporary().unwrap();
    let t = TenantId::new("t").unwrap();
    let u = UserId::new("u").unwrap();
    let tok = FeedToken::new("tok123").unwrap();
    let rec = UserRecord {
        password_hash: "x".into(),
        display_name: "U".into(),
        timezone: "UTC".into(),
        privacy: Privacy::default(),
        feed_token: Some(s.seal_feed_token(&tok).unwrap()),
        addresses: vec![],
    };
    let stored = rec.feed_token.clone().unwrap();
    assert_eq!(s.open_feed_token(&stored).unwrap(), tok);
    assert!(!String::from_utf8_lossy(&stored.sealed).contains("tok123"));
    s.put_user(&t, &u, &rec).unwrap();
    assert_eq!(s.users(&t).unwrap(), vec![u.clone()]);
    assert_eq!(s.feed_owner(&tok).unwrap(), Some(UserRef::new(&t, &u)));
    // Rotating the token revokes the old one.
    let new = FeedToken::new("tok456").unwrap();
    s.put_user(
        &t,
        &u,
        &UserRecord {
            feed_token: Some(s.seal_feed_token(&new).unwrap()),
            ..rec
        },
    )
    .unwrap();
    assert_eq!(s.feed_owner(&tok).unwrap(), None);
    assert_eq!(s.feed_owner(&new).unwrap(), Some(UserRef::new(&t, &u)));
}

mod window {
    //! The time answers' window moving (issue 10): only objects reaching
    //! into the new days are expanded again, and the result is what a
    //! fresh expansion for the new window gives.

    use super::*;
    use crate::config::{AvailabilityWindow, StoreOptions};
    use crate::ical::TimeRange;
    use chrono::{DateTime, Duration, Utc};

    fn at(t: DateTime<Utc>) -> String {
        t.format("%Y%m%dT%H%M%SZ").to_string()
    }

    fn event(uid: &str, start: DateTime<Utc>, extra: &str) -> ObjectRecord {
        let data = format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{}\r\nDTEND:{}\r\n{extra}END:VEVENT\r\nEND:VCALENDAR\r\n",
            at(start),
            at(start + Duration::hours(1)),
        )
        .into_bytes();
        ObjectRecord {
            index: ical::parse_strict(&data).unwrap(),
            etag: ETag::new(uid),
            data,
            origin: Origin::Local,
            modified: 0,
        }
    }

    #[test]
    fn a_window_move_expands_only_what_reaches_the_new_days_and_matches_a_fresh_expansion() {
        let dir = tempfile::tempdir().unwrap();
        let opts = StoreOptions {
            window: AvailabilityWindow {
                past_days: 30,
                future_days: 60,
            },
            ..StoreOptions::default()
        };
        let s = Store::open_with(dir.path(), &opts).unwrap();
        let k = key(&s);
        let old = s.derive_window().unwrap();
        let now = Utc::now();
        let objects = [
            ("inside", event("inside", now + Duration::days(10), "")),
            ("past", event("past", now - Duration::days(400), "")),
            // Beyond the old window's end, inside the moved one.
            ("later", event("later", old.end + Duration::days(3), "")),
            (
                "weekly",
                event("weekly", now - Duration::days(5), "RRULE:FREQ=WEEKLY\r\n"),
            ),
            (
                "ending",
                event(
                    "ending",
                    now - Duration::days(5),
                    &format!(
                        "RRULE:FREQ=DAILY;UNTIL={}\r\n",
                        at(now + Duration::days(20))
                    ),
                ),
            ),
        ];
        for (n, rec) in &objects {
            s.put_object(
                &k,
                &name(&format!("{n}.ics")),
                rec,
                &WriteCondition::default(),
            )
            .unwrap();
        }
        let later = name("later.ics");
        assert!(s.derived(&k, &later).unwrap().unwrap().busy.is_empty());
        let before = s.derivations();
        // Three weeks on: the window moves by three 7-day blocks.
        let moved = s.advance_window(now + Duration::days(21)).unwrap();
        assert_eq!(
            (moved.expanded, moved.carried),
            (2, 3),
            "only `later` and the unbounded `weekly` reach the new days"
        );
        assert_eq!(s.derivations() - before, 2);
        let new = s.derive_window().unwrap();
        assert!(new.start > old.start && new.end > old.end);
        // Every object's stored answers equal a fresh expansion for the new window.
        let settings = s.busy_settings(&k.owner());
        for (n, _) in &objects {
            let n = name(&format!("{n}.ics"));
            let stored = s.derived(&k, &n).unwrap().unwrap();
            let body = s.object_body(&k, &n).unwrap().unwrap();
            let fresh = ical::derive(&body, &settings, new);
            let probe = TimeRange {
                start: new.start,
                end: new.end,
            };
            assert_eq!(stored.window, fresh.window, "{n}");
            assert_eq!(stored.busy_in(probe), fresh.busy_in(probe), "{n}");
            assert_eq!(stored.overlaps(probe), fresh.overlaps(probe), "{n}");
        }
        assert!(!s.derived(&k, &later).unwrap().unwrap().busy.is_empty());
        // Nothing more to do, and a second call at the same time does nothing.
        let again = s.advance_window(now + Duration::days(21)).unwrap();
        assert_eq!((again.expanded, again.carried), (0, 0));
    }

    #[test]
    fn an_interrupted_window_move_is_finished_by_the_next_call() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let k = key(&s);
        let old = s.derive_window().unwrap();
        let later = old.end + Duration::days(3);
        s.put_object(
            &k,
            &name("later.ics"),
            &event("later", later, ""),
            &WriteCondition::default(),
        )
        .unwrap();
        // A move that recorded its window and then stopped (a crash):
        let new = s.window_config.cached_at(Utc::now() + Duration::days(21));
        let w = (new.0.timestamp(), new.1.timestamp());
        let left = (old.start.timestamp(), old.end.timestamp());
        s.meta
            .insert(PENDING_KEY_FOR_TESTS, codec::encode(&left).unwrap())
            .unwrap();
        s.meta
            .insert(b"derive_window", codec::encode(&w).unwrap())
            .unwrap();
        let moved = s.advance_window(Utc::now() + Duration::days(21)).unwrap();
        assert_eq!(moved.expanded, 1, "the pending move is finished");
        assert!(!s
            .derived(&k, &name("later.ics"))
            .unwrap()
            .unwrap()
            .busy
            .is_empty());
        assert!(s.meta.get(PENDING_KEY_FOR_TESTS).unwrap().is_none());
    }

    const PENDING_KEY_FOR_TESTS: &[u8] = b"derive_window_pending";
}

fn other(store: &Store) -> CollectionKey {
    let k = CollectionKey::new(
        &TenantId::new("t").unwrap(),
        &UserId::new("u").unwrap(),
        &CalendarId::new("blocked").unwrap(),
    );
    store
        .ensure_collection(&k, &CollectionRecord::new(CollectionKind::Blocked, "B"))
        .unwrap();
    k
}

fn entry(k: &CollectionKey, n: &str, op: OutboxOp) -> OutboxEntry {
    OutboxEntry::new(
        k,
        &name(n),
        &crate::ids::ConnectionId::new("c").unwrap(),
        &CalendarId::new("home").unwrap(),
        &crate::ids::Href::new(format!("/home/{n}")),
        op,
    )
}

#[test]
fn rfc4918_9_9_move_renames_within_a_collection_keeping_its_uid() {
    let s = Store::temporary().unwrap();
    let k = key(&s);
    let o = obj("a", "one");
    s.put_object(&k, &name("a.ics"), &o, &WriteCondition::default())
        .unwrap();
    let to = MoveTarget {
        key: &k,
        name: &name("b.ics"),
        record: &o,
        cond: &WriteCondition::default(),
    };
    let moved = s
        .move_object_queued(&k, &name("a.ics"), &o.etag, &to, &[])
        .unwrap();
    assert!(moved.created && moved.queued.is_empty());
    assert_eq!(s.object(&k, &name("a.ics")).unwrap(), None);
    assert_eq!(s.object(&k, &name("b.ics")).unwrap(), Some(o));
    assert_eq!(
        s.object_by_uid(&k, &EventUid::new("a").unwrap()).unwrap(),
        Some(name("b.ics"))
    );
    let delta = s.changes_since(&k, None).unwrap();
    assert_eq!(delta.changed, vec![name("b.ics")]);
}

#[test]
fn r10_move_is_all_or_nothing_with_its_outbox_entries() {
    let s = Store::temporary().unwrap();
    let (k, b) = (key(&s), other(&s));
    let o = obj("a", "one");
    s.put_object(&k, &name("a.ics"), &o, &WriteCondition::default())
        .unwrap();
    // The destination holds the UID under another name: nothing happens.
    s.put_object(
        &b,
        &name("x.ics"),
        &obj("a", "two"),
        &WriteCondition::default(),
    )
    .unwrap();
    let queue = [entry(&k, "a.ics", OutboxOp::Delete { etag: None })];
    let to = MoveTarget {
        key: &b,
        name: &name("y.ics"),
        record: &o,
        cond: &WriteCondition::default(),
    };
    assert!(matches!(
        s.move_object_queued(&k, &name("a.ics"), &o.etag, &to, &queue),
        Err(Error::UidConflict { .. })
    ));
    assert_eq!(s.object(&k, &name("a.ics")).unwrap(), Some(o.clone()));
    assert_eq!(s.outbox_len(), 0);
    // A source that changed since it was read: nothing happens either.
    let stale = s.move_object_queued(&k, &name("a.ics"), &ETag::new("old"), &to, &queue);
    assert!(matches!(stale, Err(Error::PreconditionFailed { .. })));
    // Across collections, with the entries queued in order.
    s.delete_object(&b, &name("x.ics"), None).unwrap();
    let queue = [
        entry(&k, "a.ics", OutboxOp::Delete { etag: None }),
        entry(&b, "y.ics", OutboxOp::Put),
    ];
    let moved = s
        .move_object_queued(&k, &name("a.ics"), &o.etag, &to, &queue)
        .unwrap();
    assert_eq!(s.object(&k, &name("a.ics")).unwrap(), None);
    assert_eq!(s.object(&b, &name("y.ics")).unwrap(), Some(o));
    let ids: Vec<u64> = moved.queued.iter().map(|q| q.id).collect();
    assert!(ids.len() == 2 && ids[0] < ids[1], "{ids:?}");
    let pending: Vec<_> = s.outbox().unwrap().into_iter().map(|q| q.entry).collect();
    assert_eq!(pending, queue.to_vec());
}

#[test]
fn occupied_reads_the_leading_fields_of_a_stored_derived_and_answers_like_it() {
    use chrono::{DateTime, Utc};
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let t0 = 1_800_000_000i64;
    for _ in 0..300 {
        let spans: Vec<(i64, i64)> = (0..rng.gen_range(0..6))
            .map(|_| {
                let s = t0 + rng.gen_range(0..40) * 1800;
                (s, s + rng.gen_range(0..4) * 1800)
            })
            .collect();
        let derived = ical::Derived {
            settings: 7,
            window: (t0 - 86_400, t0 + 30 * 86_400),
            occupancy: ical::Occupancy::Spans(spans.clone()),
            busy: vec![ical::StoredBusy {
                start: t0,
                end: t0 + 60,
                tentative: false,
            }],
        };
        let stored = codec::encode(&derived).unwrap();
        let occupied: ical::Occupied = codec::decode("derived", &stored).unwrap();
        assert_eq!(occupied.settings, 7);
        for _ in 0..20 {
            // Whole-second windows (the integer comparison) and windows
            // with a fraction of a second (the exact one) alike.
            let nanos = if rng.gen_bool(0.5) { 0 } else { 500_000_000 };
            let s = t0 + rng.gen_range(-2..42) * 1800 + rng.gen_range(0..2) * 900;
            let e = s + rng.gen_range(0..5) * 1800;
            let w = ical::TimeRange {
                start: DateTime::<Utc>::from_timestamp(s, nanos).unwrap(),
                end: DateTime::<Utc>::from_timestamp(e.max(s + 1), nanos).unwrap(),
            };
            let by_instants = spans.iter().any(|&(s, e)| {
                let (s, e) = (
                    DateTime::<Utc>::from_timestamp(s, 0).unwrap(),
                    DateTime::<Utc>::from_timestamp(e, 0).unwrap(),
                );
                // RFC 4791 §9.9: an instance meets the range …
                if e > s {
                    s < w.end && e > w.start
                } else {
                    s < w.end && s >= w.start
                }
            });
            assert_eq!(occupied.overlaps(w), Some(by_instants), "{spans:?} {w:?}");
            assert_eq!(derived.overlaps(w), Some(by_instants));
        }
    }
}

/// Many clients writing and flushing at once, as under load: every flush
/// finishes. With sled's `flush_async` (its flush on sled's own I/O pool)
/// this hung the server in the load bench: seven flushes held the pool's
/// seven threads, waiting for a log write queued behind them. Bounded:
/// a hang fails the test after 120 s instead of blocking the suite.
#[test]
fn flushes_under_concurrent_writes_finish() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path()).unwrap();
    let k = key(&s);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let done = rt.block_on(async {
        let mut tasks = Vec::new();
        for c in 0..32 {
            let (s, k) = (s.clone(), k.clone());
            tasks.push(tokio::spawn(async move {
                for i in 0..60 {
                    let (s2, k2) = (s.clone(), k.clone());
                    tokio::task::spawn_blocking(move || {
                        let uid = format!("c{c}-{}", i % 5);
                        s2.put_object(
                            &k2,
                            &name(&format!("{uid}.ics")),
                            &obj(&uid, &format!("v{i}")),
                            &WriteCondition::default(),
                        )
                    })
                    .await
                    .unwrap()
                    .unwrap();
                    s.flush().await.unwrap();
                }
            }));
        }
        tokio::time::timeout(std::time::Duration::from_secs(120), async {
            for t in tasks {
                t.await.unwrap();
            }
        })
        .await
    });
    // A hung flush must not hang the test in the runtime's drop too.
    rt.shutdown_timeout(std::time::Duration::from_secs(5));
    assert!(done.is_ok(), "the flushes hung");
    assert_eq!(s.metas(&k).unwrap().len(), 32 * 5);
}

/// What an older reader left: an object whose index is a month off (its
/// time-index entries with it) and whose answers carry another
/// fingerprint; `prepare_outdated` makes its rows again from its bytes,
/// leaves current objects alone, and runs once per version.
#[test]
fn objects_an_older_reader_prepared_are_prepared_again_once() {
    use crate::ical::TimeRange;
    use chrono::TimeZone;
    use sled::transaction::Transactional;
    let s = Store::temporary().unwrap();
    let k = key(&s);
    let (a, b) = (name("a.ics"), name("b.ics"));
    s.put_object(&k, &a, &obj("a", "one"), &WriteCondition::default())
        .unwrap();
    s.put_object(&k, &b, &obj("b", "two"), &WriteCondition::default())
        .unwrap();
    assert!(s.prepare_outdated().unwrap() <= 2);
    assert!(s.prepared_current().unwrap());
    let good = (s.object_meta(&k, &a).unwrap(), s.derived(&k, &a).unwrap());
    let at = |y, m, d| chrono::Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap();
    let january = TimeRange {
        start: at(2026, 1, 1),
        end: at(2026, 1, 2),
    };
    let february = TimeRange {
        start: at(2026, 2, 1),
        end: at(2026, 2, 2),
    };
    let older = |s: &Store| {
        let mut rec = obj("a", "one");
        let month = 31 * 86_400;
        rec.index.first_start = rec.index.first_start.map(|t| t + month);
        rec.index.last_end = rec.index.last_end.map(|t| t + month);
        let window = s.derive_window().unwrap();
        let p = rows::Prepared::new(&rec, &s.busy_settings(&k.owner()), window).unwrap();
        let okey = keys::object(&k, &a);
        (&s.objects, &s.bodies, &s.parsed, &s.derived, &s.times)
            .transaction(|(objects, bodies, parsed, derived, times)| {
                let r = rows::Rows {
                    objects,
                    bodies,
                    parsed,
                    derived,
                    times,
                };
                let now = r.meta(&okey)?;
                r.write(&k, &a, now.as_ref(), &p)
            })
            .unwrap();
        let mut d = s.derived(&k, &a).unwrap().unwrap();
        d.settings ^= 1;
        s.derived.insert(okey, codec::encode(&d).unwrap()).unwrap();
        s.meta.insert(prepare::VERSION_KEY, &[1]).unwrap();
    };
    older(&s);
    assert!(!s.prepared_current().unwrap());
    assert_eq!(s.candidates(&k, january).unwrap(), vec![b.clone()]);
    assert_eq!(s.candidates(&k, february).unwrap(), vec![a.clone()]);

    assert_eq!(s.prepare_outdated().unwrap(), 1, "only the outdated one");
    assert!(s.prepared_current().unwrap());
    assert_eq!(
        (s.object_meta(&k, &a).unwrap(), s.derived(&k, &a).unwrap()),
        good
    );
    assert_eq!(s.candidates(&k, january).unwrap(), vec![a.clone(), b]);
    assert_eq!(
        s.candidates(&k, february).unwrap(),
        Vec::<ObjectName>::new()
    );
    assert_eq!(s.metas(&k).unwrap().len(), 2);

    // The version is recorded: the pass does not scan again.
    older(&s);
    s.meta
        .insert(prepare::VERSION_KEY, &[ical::DERIVE_VERSION])
        .unwrap();
    assert_eq!(s.prepare_outdated().unwrap(), 0);
}
