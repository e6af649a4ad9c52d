//! The materialised `availability/` collection (R9): one "Busy" event per
//! merged block, named and UID'd by its start and end. Its DTSTAMP is the
//! time the block was computed (first derived; RFC 5545 §3.8.7.2), kept in
//! the record's `modified` and written again unchanged on every refresh,
//! so an unchanged block keeps its bytes, name and ETag, and
//! sync-collection clients and feed readers see only real changes
//! (issue 12 #14). The feed takes its DTSTAMPs from here
//! ([`Views::block_stamps`]).
//!
//! [`Views::ensure_fresh`] compares the user's [`ViewStamp`] with what the
//! view would be derived from now and, when they differ, applies only the
//! differences, under the user's lock, then records the new stamp.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeZone, Utc};
use sha2::{Digest, Sha256};

use crate::ical::{self, BusyInterval};
use crate::ids::{ETag, EventUid, ObjectName, UserRef};
use crate::store::{
    self, ObjectMeta, ObjectRecord, Origin, SourceVersion, UserSettings, ViewStamp,
};

use super::deps::{self, Source};
use super::{flatten, Error, Retry, Views};

/// The shape of the blocks written: a change of it re-derives every view
/// once (it is part of the settings fingerprint). 2: DTSTAMP is the time
/// the block was computed (it was DTSTART before).
const BLOCK_FORMAT: &[u8] = b"blocks-2";

/// A fingerprint of what shapes a user's views besides the sources'
/// contents: the blocks' format, each source owner's zone, addresses and
/// busy rules, and the user's own buffers and (when the feed counts it)
/// working hours.
fn settings_fingerprint(sources: &[Source], own: &UserSettings) -> u64 {
    let mut h = Sha256::new();
    h.update(BLOCK_FORMAT);
    for s in sources {
        h.update(s.key.tenant.as_str());
        h.update([0]);
        h.update(s.key.user.as_str());
        h.update([0]);
        h.update(s.settings.tz.name());
        for o in &s.settings.owners {
            h.update([1]);
            h.update(o.as_bytes());
        }
        let rules = s.settings.rules.fingerprint_bytes();
        if !rules.is_empty() {
            h.update([3]);
            h.update(&rules);
        }
        h.update([2]);
    }
    if !own.buffers.is_none() || own.feed_outside_hours_busy {
        h.update([4]);
        h.update(own.buffers.before.to_be_bytes());
        h.update(own.buffers.after.to_be_bytes());
        if own.feed_outside_hours_busy {
            h.update(serde_json::to_vec(&own.hours).unwrap_or_default());
        }
    }
    let d = h.finalize();
    u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
}

/// What the last refresh of a user's `availability/` wrote: the blocks,
/// what shaped them, and the collection's state right after (another
/// writer, or a re-created collection, shows as a different state).
pub(super) struct Materialised {
    settings: u64,
    window: (i64, i64),
    /// (incarnation, seq) of the collection after the refresh.
    state: (u64, u64),
    /// Sorted, as `flatten` returns them.
    blocks: Vec<BusyInterval>,
}

/// A unix time as a DTSTAMP (whole seconds, as `modified` keeps it).
fn at(unix: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(unix, 0).single().unwrap_or_default()
}

/// The bytes of the block for `iv`, computed at `computed` (unix seconds).
fn block_text(iv: &BusyInterval, computed: i64) -> Vec<u8> {
    ical::busy_event(&ical::busy_uid(iv), iv.start, iv.end, "Busy", at(computed)).into_bytes()
}

/// The object name of the block for `iv`.
fn block_name(iv: &BusyInterval) -> Option<ObjectName> {
    ObjectName::new(format!("{}.ics", ical::busy_uid(iv))).ok()
}

/// Whether the stored block is the one for `iv` as it was computed then.
fn unchanged(iv: &BusyInterval, stored: &ObjectMeta) -> bool {
    ETag::of_content(&block_text(iv, stored.modified)) == stored.etag
}

fn busy_object(iv: &BusyInterval, computed: i64) -> Option<ObjectRecord> {
    let data = block_text(iv, computed);
    EventUid::new(ical::busy_uid(iv)).ok()?;
    let index = ical::parse_lenient(&data).ok()?;
    Some(ObjectRecord {
        etag: ETag::of_content(&data),
        data,
        index,
        origin: Origin::Local,
        modified: computed,
    })
}

impl Views {
    /// What `who`'s views would be derived from now.
    pub(super) fn stamp_now(&self, who: &UserRef) -> store::Result<(ViewStamp, Vec<Source>)> {
        let sources = deps::sources(self.store(), who)?;
        let own = self.store().user_settings(&who.tenant, &who.user)?;
        let mut versions: Vec<SourceVersion> = sources
            .iter()
            .map(|s| SourceVersion {
                key: s.key.clone(),
                incarnation: s.record.incarnation,
                seq: s.record.seq,
            })
            .collect();
        versions.sort_by(|a, b| a.key.cmp(&b.key));
        let w = self.window_at(Utc::now());
        let stamp = ViewStamp {
            sources: versions,
            settings: settings_fingerprint(&sources, &own),
            window: (w.start.timestamp(), w.end.timestamp()),
        };
        Ok((stamp, sources))
    }

    fn lock_of(&self, who: &UserRef) -> Arc<Mutex<()>> {
        self.inner
            .locks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(who.clone())
            .or_default()
            .clone()
    }

    /// Brings `who`'s `availability/` up to date if what it was derived
    /// from changed. Returns whether it had to be refreshed. A failure is
    /// recorded for a retry (and in the metrics), never hidden.
    pub fn ensure_fresh(&self, who: &UserRef) -> Result<bool, Error> {
        self.refresh(who, Pace::Now)
    }

    /// [`Views::ensure_fresh`] for the worker: a large refresh pauses
    /// between its transactions so that clients' writes get the store.
    pub(super) fn refresh_in_background(&self, who: &UserRef) -> Result<bool, Error> {
        self.refresh(who, Pace::Background)
    }

    fn refresh(&self, who: &UserRef, pace: Pace) -> Result<bool, Error> {
        let lock = self.lock_of(who);
        let _guard = lock.lock().unwrap_or_else(|p| p.into_inner());
        let result = self.refresh_locked(who, pace);
        let mut retries = self.inner.retries.lock().unwrap_or_else(|p| p.into_inner());
        match &result {
            Ok(refreshed) => {
                retries.remove(who);
                if *refreshed {
                    self.inner.refreshed.fetch_add(1, Ordering::Relaxed);
                    self.inner.metrics.record_view_refresh(true);
                }
            }
            Err(e) => {
                self.inner.failures.fetch_add(1, Ordering::Relaxed);
                self.inner.metrics.record_view_refresh(false);
                let attempts = retries.get(who).map_or(0, |r| r.attempts) + 1;
                let wait = crate::sync::plan::backoff(attempts, None);
                tracing::warn!(user = %who, error = %e, attempts, "availability view not refreshed; retrying");
                retries.insert(
                    who.clone(),
                    Retry {
                        error: e.to_string(),
                        attempts,
                        due: std::time::Instant::now() + wait,
                    },
                );
            }
        }
        result
    }

    fn refresh_locked(&self, who: &UserRef, pace: Pace) -> Result<bool, Error> {
        let Some(key) = deps::availability_of(who) else {
            return Ok(false);
        };
        if self.store().collection(&key)?.is_none() {
            return Ok(false);
        }
        let (stamp, _) = self.stamp_now(who)?;
        if self.store().view_stamp(who)?.as_ref() == Some(&stamp) {
            return Ok(false);
        }
        if self
            .inner
            .inject
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(Error::Injected);
        }
        let now = Utc::now();
        let window = self.window_at(now);
        let blocks = flatten(&self.busy_for_user(who, window, None)?);
        // What the last refresh wrote, if nothing else has written since
        // and the blocks' shape and window are the same: then only the
        // differences between the two lists are written, found by one walk
        // over both (no read of the collection, no block rendered to be
        // compared). Taken out first: a refresh failing half-way leaves
        // none, and the next one compares with the store.
        let last = self.take_materialised(who).filter(|m| {
            m.settings == stamp.settings
                && m.window == stamp.window
                && Some(m.state) == self.state_of(&key)
        });
        if let Some(last) = last {
            self.write_differences(&key, &last.blocks, &blocks, now.timestamp(), pace)?;
            self.inner.from_memory.fetch_add(1, Ordering::Relaxed);
        } else {
            self.write_all(&key, &blocks, now.timestamp(), pace)?;
        }
        self.store().put_view_stamp(who, &stamp)?;
        if let Some(state) = self.state_of(&key) {
            self.keep_materialised(
                who,
                Materialised {
                    settings: stamp.settings,
                    window: stamp.window,
                    state,
                    blocks,
                },
            );
        }
        Ok(true)
    }

    /// The collection's incarnation and change sequence (`None` when it
    /// cannot be read).
    fn state_of(&self, key: &store::CollectionKey) -> Option<(u64, u64)> {
        let rec = self.store().collection(key).ok()??;
        Some((rec.incarnation, rec.seq))
    }

    /// Writes the blocks that differ between two sorted block lists: each
    /// block only in `before` is deleted, each only in `after` written.
    fn write_differences(
        &self,
        key: &store::CollectionKey,
        before: &[BusyInterval],
        after: &[BusyInterval],
        now: i64,
        pace: Pace,
    ) -> Result<(), Error> {
        let span = |i: &BusyInterval| (i.start, i.end);
        let mut batch = Batch::default();
        let (mut a, mut b) = (0, 0);
        while a < before.len() || b < after.len() {
            let order = match (before.get(a), after.get(b)) {
                (Some(x), Some(y)) => span(x).cmp(&span(y)),
                (Some(_), None) => std::cmp::Ordering::Less,
                _ => std::cmp::Ordering::Greater,
            };
            match order {
                std::cmp::Ordering::Equal => {
                    a += 1;
                    b += 1;
                }
                std::cmp::Ordering::Less => {
                    batch.remove.extend(block_name(&before[a]));
                    a += 1;
                }
                std::cmp::Ordering::Greater => {
                    batch.put_block(&after[b], now);
                    b += 1;
                }
            }
        }
        self.write_batch(batch, key, pace)
    }

    /// Makes the collection hold exactly `blocks`, comparing each with
    /// what is stored (after a restart, a moved window or new settings).
    fn write_all(
        &self,
        key: &store::CollectionKey,
        blocks: &[BusyInterval],
        now: i64,
        pace: Pace,
    ) -> Result<(), Error> {
        let wanted: BTreeMap<ObjectName, &BusyInterval> = blocks
            .iter()
            .filter_map(|iv| Some((block_name(iv)?, iv)))
            .collect();
        let existing: BTreeMap<ObjectName, ObjectMeta> =
            self.store().metas(key)?.into_iter().collect();
        let mut batch = Batch {
            remove: existing
                .keys()
                .filter(|name| !wanted.contains_key(*name))
                .cloned()
                .collect(),
            put: Vec::new(),
        };
        for (name, iv) in &wanted {
            if !existing.get(name).is_some_and(|m| unchanged(iv, m)) {
                batch.put_block(iv, now);
            }
        }
        self.write_batch(batch, key, pace)
    }

    fn take_materialised(&self, who: &UserRef) -> Option<Materialised> {
        self.inner
            .materialised
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(who)
    }

    fn keep_materialised(&self, who: &UserRef, m: Materialised) {
        self.inner
            .materialised
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(who.clone(), m);
    }

    /// When each of `who`'s current busy blocks was computed, by UID: the
    /// DTSTAMPs of `availability/`, brought up to date first (a failed
    /// refresh serves what is stored; the worker retries it).
    pub(super) fn block_stamps(
        &self,
        who: &UserRef,
    ) -> Result<HashMap<String, DateTime<Utc>>, Error> {
        let Some(key) = deps::availability_of(who) else {
            return Ok(HashMap::new());
        };
        if let Err(e) = self.ensure_fresh(who) {
            tracing::debug!(user = %who, error = %e, "feed DTSTAMPs from the stored view");
        }
        Ok(self
            .store()
            .metas(&key)?
            .into_iter()
            .map(|(_, m)| (m.index.uid.as_str().to_string(), at(m.modified)))
            .collect())
    }

    /// Whether `who`'s view waits for a retry that is due now.
    pub(super) fn due_retries(&self) -> Vec<UserRef> {
        let now = std::time::Instant::now();
        self.inner
            .retries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(_, r)| r.due <= now)
            .map(|(u, _)| u.clone())
            .collect()
    }

    /// When the next retry is due, if any.
    pub(super) fn next_retry(&self) -> Option<std::time::Instant> {
        self.inner
            .retries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .map(|r| r.due)
            .min()
    }
}

/// Blocks to remove and write in one refresh.
#[derive(Default)]
struct Batch {
    remove: Vec<ObjectName>,
    put: Vec<(ObjectName, ObjectRecord)>,
}

/// Changes written per store transaction. sled runs one transaction at a
/// time: a refresh that adds a year of daily blocks is cut into short
/// transactions, so a client's write waits for one of them at most, and
/// not one per block.
const BATCH: usize = 16;

/// The pause between two transactions of a background refresh.
const PAUSE: std::time::Duration = std::time::Duration::from_micros(500);

/// Who waits for a refresh, and so whether it pauses between its
/// transactions.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Pace {
    /// A read is waiting: no pauses.
    Now,
    /// Only the worker waits: pause between transactions.
    Background,
}

impl Batch {
    fn put_block(&mut self, iv: &BusyInterval, now: i64) {
        if let (Some(name), Some(rec)) = (block_name(iv), busy_object(iv, now)) {
            self.put.push((name, rec));
        }
    }
}

impl Views {
    /// Writes `batch`: removals first (a block that moves keeps no stale
    /// copy), each chunk in its own transaction; in the background with a
    /// pause between chunks in which a client's write gets the store.
    fn write_batch(
        &self,
        batch: Batch,
        key: &store::CollectionKey,
        pace: Pace,
    ) -> Result<(), Error> {
        let removals = batch.remove.chunks(BATCH).map(|names| (names, &[][..]));
        let writes = batch.put.chunks(BATCH).map(|recs| (&[][..], recs));
        for (i, (names, recs)) in removals.chain(writes).enumerate() {
            if i > 0 && pace == Pace::Background {
                self.inner.pauses.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(PAUSE);
            }
            self.store().apply_objects(key, names, recs)?;
        }
        Ok(())
    }
}
