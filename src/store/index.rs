//! The read path's lookups: an object's metadata, bytes, parsed tree and
//! time answers (see `rows`), the candidates a time range can match (the
//! time index), and the window the time answers cover — kept current by
//! [`Store::advance_window`], which expands only what reaches into the
//! new days, and [`Store::rederive`] after an owner's settings change.

use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};

use super::rows::{bucket, decode_derived, Prepared, Rows, LONG};
use super::{codec, keys, tx_err, Error, ObjectMeta, ObjectRecord, Result, Store, TxResult};
use crate::ical::{BusySettings, Derived, Occupied, ParsedTree, TimeRange};
use crate::ids::{CollectionKey, ETag, ObjectName};

use sled::transaction::Transactional;

/// An object's bytes as stored (shared, never copied on the way out).
#[derive(Debug, Clone)]
pub struct Body(sled::IVec);

impl AsRef<[u8]> for Body {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl std::ops::Deref for Body {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl Body {
    /// The bytes as a `Bytes` without copying them.
    pub fn into_bytes(self) -> bytes::Bytes {
        bytes::Bytes::from_owner(self.0)
    }
}

/// What a window move did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WindowMove {
    /// Objects expanded again (they reach into the new days).
    pub expanded: u64,
    /// Objects whose answers only got the new window (nothing in the new days).
    pub carried: u64,
}

/// The `meta` key of the window the time answers cover.
pub(super) const WINDOW_KEY: &[u8] = b"derive_window";
/// The window a move is leaving, until every object follows it.
const PENDING_KEY: &[u8] = b"derive_window_pending";
/// Tries of one re-expansion against concurrent writes of the object.
const REDERIVE_ATTEMPTS: usize = 16;

fn name_of(k: &[u8], prefix: &[u8], tree: &'static str) -> Result<ObjectName> {
    keys::suffix(k, prefix)
        .and_then(|s| ObjectName::new(s).ok())
        .ok_or(Error::BadKey { tree })
}

fn to_range((s, e): (i64, i64)) -> Option<TimeRange> {
    Some(TimeRange {
        start: DateTime::<Utc>::from_timestamp(s, 0)?,
        end: DateTime::<Utc>::from_timestamp(e, 0)?,
    })
}

impl Store {
    /// One object's metadata.
    pub fn object_meta(
        &self,
        key: &CollectionKey,
        name: &ObjectName,
    ) -> Result<Option<ObjectMeta>> {
        self.objects
            .get(keys::object(key, name))?
            .map(|v| codec::decode("objects", &v))
            .transpose()
    }

    /// One object's bytes.
    pub fn object_body(&self, key: &CollectionKey, name: &ObjectName) -> Result<Option<Body>> {
        Ok(self.bodies.get(keys::object(key, name))?.map(Body))
    }

    /// One calendar object (metadata and bytes).
    pub fn object(&self, key: &CollectionKey, name: &ObjectName) -> Result<Option<ObjectRecord>> {
        let Some(meta) = self.object_meta(key, name)? else {
            return Ok(None);
        };
        let body = self
            .object_body(key, name)?
            .map(|b| b.to_vec())
            .unwrap_or_default();
        Ok(Some(meta.with_data(body)))
    }

    /// Every object's metadata, in name order.
    pub fn metas(&self, key: &CollectionKey) -> Result<Vec<(ObjectName, ObjectMeta)>> {
        let prefix = keys::members_of(key);
        let mut out = Vec::new();
        for kv in self.objects.scan_prefix(&prefix) {
            let (k, v) = kv?;
            out.push((
                name_of(&k, &prefix, "objects")?,
                codec::decode("objects", &v)?,
            ));
        }
        Ok(out)
    }

    /// Every object of a collection with its bytes, in name order.
    pub fn objects(&self, key: &CollectionKey) -> Result<Vec<(ObjectName, ObjectRecord)>> {
        let mut out = Vec::new();
        for (name, meta) in self.metas(key)? {
            let body = self
                .object_body(key, &name)?
                .map(|b| b.to_vec())
                .unwrap_or_default();
            out.push((name, meta.with_data(body)));
        }
        Ok(out)
    }

    /// Every object's name and ETag, in name order.
    pub fn object_etags(&self, key: &CollectionKey) -> Result<Vec<(ObjectName, ETag)>> {
        Ok(self
            .metas(key)?
            .into_iter()
            .map(|(n, m)| (n, m.etag))
            .collect())
    }

    /// One object's parsed tree (for filters).
    pub fn parsed(&self, key: &CollectionKey, name: &ObjectName) -> Result<Option<ParsedTree>> {
        self.parsed
            .get(keys::object(key, name))?
            .map(|v| codec::decode("parsed", &v))
            .transpose()
    }

    /// One object's time answers.
    pub fn derived(&self, key: &CollectionKey, name: &ObjectName) -> Result<Option<Derived>> {
        self.derived
            .get(keys::object(key, name))?
            .map(|v| decode_derived(&v))
            .transpose()
    }

    /// One object's time answers without its busy intervals (what
    /// calendar-query reads: the stored value's leading fields only).
    pub fn occupied(&self, key: &CollectionKey, name: &ObjectName) -> Result<Option<Occupied>> {
        self.derived
            .get(keys::object(key, name))?
            .map(|v| codec::decode("derived", &v))
            .transpose()
    }

    /// Every object's time answers, in name order, one at a time as the
    /// scan reads them (one scan, no expansion; at 100,000 objects all of
    /// them at once took ~80 MB).
    pub fn derived_all(
        &self,
        key: &CollectionKey,
    ) -> impl Iterator<Item = Result<(ObjectName, Derived)>> + '_ {
        let prefix = keys::members_of(key);
        self.derived.scan_prefix(&prefix).map(move |kv| {
            let (k, v) = kv?;
            Ok((name_of(&k, &prefix, "derived")?, decode_derived(&v)?))
        })
    }

    /// The objects of a collection that can meet `window`, in name order: a
    /// superset decided by the time index (the window's weeks and the long
    /// entries); a window longer than about five years reads every object.
    pub fn candidates(&self, key: &CollectionKey, window: TimeRange) -> Result<Vec<ObjectName>> {
        let (ws, we) = (window.start.timestamp(), window.end.timestamp());
        let (b0, b1) = (bucket(ws), bucket(ws.max(we - 1)));
        if b1 - b0 > 260 {
            return Ok(self.metas(key)?.into_iter().map(|(n, _)| n).collect());
        }
        let mut out = Vec::new();
        for b in (b0..=b1).chain(std::iter::once(LONG)) {
            let prefix = keys::time_bucket(key, b);
            for k in self.times.scan_prefix(&prefix).keys() {
                out.push(name_of(&k?, &prefix, "times")?);
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// The window every object's time answers cover.
    pub fn derive_window(&self) -> Result<TimeRange> {
        if let Some(v) = self.meta.get(WINDOW_KEY)? {
            let w: (i64, i64) = codec::decode("meta", &v)?;
            if let Some(r) = to_range(w) {
                return Ok(r);
            }
        }
        let (start, end) = self.window_config.cached_at(Utc::now());
        let w = TimeRange { start, end };
        self.meta.insert(
            WINDOW_KEY,
            codec::encode(&(start.timestamp(), end.timestamp()))?,
        )?;
        Ok(w)
    }

    /// How many objects were expanded into time answers since start (tests
    /// and metrics: reads and restarts must not add to it).
    pub fn derivations(&self) -> u64 {
        self.derivations.load(Ordering::Relaxed)
    }

    /// Parses and expands a record for its collection's owner, counting it.
    pub(crate) fn prepare(&self, key: &CollectionKey, rec: &ObjectRecord) -> Result<Prepared> {
        let window = self.derive_window()?;
        self.prepared(rec, &self.busy_settings(&key.owner()), window)
    }

    /// One derivation, counted (tests count expansions through it).
    fn prepared(
        &self,
        rec: &ObjectRecord,
        settings: &BusySettings,
        window: TimeRange,
    ) -> Result<Prepared> {
        self.derivations.fetch_add(1, Ordering::Relaxed);
        Prepared::new(rec, settings, window)
    }

    /// [`prepare`](Self::prepare) for several records of one collection,
    /// reading the window and the owner's settings once.
    pub(crate) fn prepare_all<'r>(
        &self,
        key: &CollectionKey,
        recs: impl Iterator<Item = &'r ObjectRecord>,
    ) -> Result<Vec<Prepared>> {
        let window = self.derive_window()?;
        let settings = self.busy_settings(&key.owner());
        recs.map(|rec| self.prepared(rec, &settings, window))
            .collect()
    }

    /// Moves the time answers' window to the one due at `now`, if it
    /// moved: objects that reach into the new days (by the time index) are
    /// expanded again; every other object only records the new window
    /// (nothing of it lies in the new days). Returns what it did.
    ///
    /// The new window is recorded first, so writes made meanwhile derive
    /// for it, and the old one is kept as pending until every object
    /// follows: a move cut short by a crash is finished by the next call.
    pub fn advance_window(&self, now: DateTime<Utc>) -> Result<WindowMove> {
        let old = self.derive_window()?;
        let (start, end) = self.window_config.cached_at(now);
        let new = TimeRange { start, end };
        let mut report = WindowMove::default();
        let pending = match self.meta.get(PENDING_KEY)? {
            Some(v) => to_range(codec::decode("meta", &v)?),
            None => None,
        };
        if new == old && pending.is_none() {
            return Ok(report);
        }
        // The days the new window covers and the one objects were last
        // all expanded for did not (the window a cut-short move left):
        // its end moving forward (the daily case), its start moving back
        // (a clock set back).
        let from = pending.unwrap_or(old);
        let new_days = [
            TimeRange {
                start: from.end.max(new.start),
                end: new.end,
            },
            TimeRange {
                start: new.start,
                end: from.start.min(new.end),
            },
        ];
        let w = (new.start.timestamp(), new.end.timestamp());
        if pending.is_none() {
            let left = (from.start.timestamp(), from.end.timestamp());
            self.meta.insert(PENDING_KEY, codec::encode(&left)?)?;
        }
        self.meta.insert(WINDOW_KEY, codec::encode(&w)?)?;
        for key in self.all_collections()? {
            let settings = self.busy_settings(&key.owner());
            let fp = settings.fingerprint();
            let mut reach = std::collections::HashSet::<ObjectName>::new();
            for days in new_days.iter().filter(|d| d.end > d.start) {
                reach.extend(self.candidates(&key, *days)?);
            }
            // Collected first: the loop writes to the tree it scans.
            let all: Vec<_> = self.derived_all(&key).collect::<Result<_>>()?;
            for (name, d) in all {
                if d.window == w && d.settings == fp {
                    continue;
                }
                if reach.contains(&name) || d.settings != fp {
                    self.rederive_one(&key, &name, &settings, new)?;
                    report.expanded += 1;
                } else {
                    let okey = keys::object(&key, &name);
                    let before = codec::encode(&d)?;
                    let carried = Derived { window: w, ..d };
                    // A write meanwhile made its own answers: keep those.
                    let _ = self.derived.compare_and_swap(
                        &okey,
                        Some(before),
                        Some(codec::encode(&carried)?),
                    )?;
                    report.carried += 1;
                }
            }
        }
        self.meta.remove(PENDING_KEY)?;
        Ok(report)
    }

    /// Expands again the objects of `key` whose answers were made with other
    /// settings (after the owner's time zone or addresses changed). Returns
    /// how many.
    pub fn rederive(&self, key: &CollectionKey) -> Result<u64> {
        let settings = self.busy_settings(&key.owner());
        let fp = settings.fingerprint();
        let window = self.derive_window()?;
        let mut n = 0;
        // Collected first: the loop writes to the tree it scans.
        let all: Vec<_> = self.derived_all(key).collect::<Result<_>>()?;
        for (name, d) in all {
            if d.settings != fp {
                self.rederive_one(key, &name, &settings, window)?;
                n += 1;
            }
        }
        Ok(n)
    }

    fn rederive_one(
        &self,
        key: &CollectionKey,
        name: &ObjectName,
        settings: &BusySettings,
        window: TimeRange,
    ) -> Result<()> {
        let okey = keys::object(key, name);
        let fp = settings.fingerprint();
        let w = (window.start.timestamp(), window.end.timestamp());
        // Compare-and-swap against the answers read before the body: a
        // write (or delete) in between wins, and its answers are kept
        // when they are for this window and these settings.
        for _ in 0..REDERIVE_ATTEMPTS {
            let before = self.derived.get(&okey)?;
            let Some(body) = self.object_body(key, name)? else {
                return Ok(());
            };
            self.derivations.fetch_add(1, Ordering::Relaxed);
            let d = crate::ical::derive(&body, settings, window);
            let swapped = self
                .derived
                .compare_and_swap(&okey, before, Some(codec::encode(&d)?))?;
            if swapped.is_ok() {
                return Ok(());
            }
            match self.derived(key, name)? {
                None => return Ok(()),
                Some(now) if now.window == w && now.settings == fp => return Ok(()),
                Some(_) => {}
            }
        }
        Err(Error::Busy)
    }

    /// Every collection, whoever's home it is in.
    pub(super) fn all_collections(&self) -> Result<Vec<CollectionKey>> {
        let mut out = Vec::new();
        for k in self.collections.iter().keys() {
            out.push(keys::parse_collection(&k?).ok_or(Error::BadKey {
                tree: "collections",
            })?);
        }
        Ok(out)
    }

    /// Writes an object's rows over whatever `objects` held for it
    /// (store-internal: the 2 → 3 migration, where it held the old layout).
    pub(crate) fn write_rows(
        &self,
        key: &CollectionKey,
        name: &ObjectName,
        p: &Prepared,
    ) -> Result<()> {
        self.in_rows(|rows| rows.write(key, name, None, p))
    }

    /// Runs `f` in one transaction over the object trees (the rows of
    /// `rows::Rows`), and nothing else.
    pub(super) fn in_rows<T>(&self, f: impl Fn(&Rows<'_>) -> TxResult<T>) -> Result<T> {
        (
            &self.objects,
            &self.bodies,
            &self.parsed,
            &self.derived,
            &self.times,
        )
            .transaction(|(objects, bodies, parsed, derived, times)| {
                f(&Rows {
                    objects,
                    bodies,
                    parsed,
                    derived,
                    times,
                })
            })
            .map_err(tx_err)
    }
}
