//! The rows one calendar object occupies, written and removed together in
//! the caller's transaction: its metadata (`objects`), its bytes
//! (`bodies`), its parsed tree (`parsed`), its time answers (`derived`),
//! and its entries in the collection's time index (`times`).
//!
//! The time index is bucketed by week: an object whose indexed span
//! (`ObjectIndex::first_start` .. `last_end`, already widened for floating
//! times) covers at most [`MAX_BUCKETS`] weeks has an entry in each of
//! them; anything longer, unbounded or undated has one entry in the
//! [`LONG`] bucket, which every query reads. A time-range query reads the
//! buckets of its window plus `LONG`: a superset of the objects that can
//! meet it, decided exactly by their time answers.

use sled::transaction::TransactionalTree;

use super::records::ObjectMeta;
use super::{abort, codec, keys, ObjectRecord, Result, TxResult};
use crate::ical::{self, BusySettings, Derived, TimeRange};
use crate::ids::{CollectionKey, ObjectName};

/// Seconds per bucket.
pub(crate) const BUCKET: i64 = 7 * 86_400;
/// Longest span indexed bucket by bucket.
pub(crate) const MAX_BUCKETS: u32 = 53;
/// The bucket of long, unbounded and undated objects.
pub(crate) const LONG: u32 = u32::MAX;

/// The bucket of an instant.
pub(crate) fn bucket(t: i64) -> u32 {
    let b = t.div_euclid(BUCKET) + (1_i64 << 31);
    b.clamp(0, i64::from(LONG) - 1) as u32
}

/// The buckets an object is indexed under.
pub(crate) fn buckets(first_start: Option<i64>, last_end: Option<i64>) -> Vec<u32> {
    match (first_start, last_end) {
        (Some(s), Some(e)) if e >= s => {
            let (b0, b1) = (bucket(s), bucket(s.max(e - 1)));
            if b1 - b0 < MAX_BUCKETS {
                (b0..=b1).collect()
            } else {
                vec![LONG]
            }
        }
        _ => vec![LONG],
    }
}

/// Everything an object's rows hold, encoded, ready for a transaction.
pub(crate) struct Prepared {
    meta: ObjectMeta,
    meta_bytes: Vec<u8>,
    body: Vec<u8>,
    parsed: Vec<u8>,
    derived: Vec<u8>,
}

impl Prepared {
    /// Parses and derives a record's rows (outside any transaction: this
    /// is the expansion a write pays once).
    pub(crate) fn new(
        rec: &ObjectRecord,
        settings: &BusySettings,
        window: TimeRange,
    ) -> Result<Self> {
        let tree = ical::parse_tree(&rec.data);
        let meta = ObjectMeta {
            etag: rec.etag.clone(),
            index: rec.index.clone(),
            origin: rec.origin.clone(),
            modified: rec.modified,
            size: rec.data.len() as u64,
            shape: tree.shape(),
        };
        let derived = ical::derive(&rec.data, settings, window);
        Ok(Self {
            meta_bytes: codec::encode(&meta)?,
            meta,
            body: rec.data.clone(),
            parsed: codec::encode(&tree)?,
            derived: codec::encode(&derived)?,
        })
    }
}

/// The object trees of one transaction.
pub(crate) struct Rows<'a> {
    pub objects: &'a TransactionalTree,
    pub bodies: &'a TransactionalTree,
    pub parsed: &'a TransactionalTree,
    pub derived: &'a TransactionalTree,
    pub times: &'a TransactionalTree,
}

impl Rows<'_> {
    /// The stored metadata of an object.
    pub(crate) fn meta(&self, okey: &[u8]) -> TxResult<Option<ObjectMeta>> {
        match self.objects.get(okey)? {
            Some(v) => Ok(Some(codec::decode("objects", &v).or_else(abort)?)),
            None => Ok(None),
        }
    }

    /// The stored record (metadata and bytes).
    pub(crate) fn record(&self, okey: &[u8]) -> TxResult<Option<ObjectRecord>> {
        let Some(meta) = self.meta(okey)? else {
            return Ok(None);
        };
        let body = self
            .bodies
            .get(okey)?
            .map(|b| b.to_vec())
            .unwrap_or_default();
        Ok(Some(meta.with_data(body)))
    }

    /// Writes an object's rows, replacing `old`'s time-index entries.
    pub(crate) fn write(
        &self,
        key: &CollectionKey,
        name: &ObjectName,
        old: Option<&ObjectMeta>,
        p: &Prepared,
    ) -> TxResult<()> {
        let okey = keys::object(key, name);
        self.bodies.insert(okey.as_slice(), p.body.as_slice())?;
        self.write_read(key, name, old, p)
    }

    /// Writes what was read from an object's bytes (all its rows but the
    /// bytes, which are stored already and unchanged), replacing `old`'s
    /// time-index entries.
    pub(crate) fn write_read(
        &self,
        key: &CollectionKey,
        name: &ObjectName,
        old: Option<&ObjectMeta>,
        p: &Prepared,
    ) -> TxResult<()> {
        let okey = keys::object(key, name);
        if let Some(old) = old {
            self.unindex(key, name, old)?;
        }
        self.objects
            .insert(okey.as_slice(), p.meta_bytes.as_slice())?;
        self.parsed.insert(okey.as_slice(), p.parsed.as_slice())?;
        self.derived.insert(okey.as_slice(), p.derived.as_slice())?;
        for b in buckets(p.meta.index.first_start, p.meta.index.last_end) {
            self.times.insert(keys::time_entry(key, b, name), &[])?;
        }
        Ok(())
    }

    /// Replaces only the metadata (an origin change: same bytes).
    pub(crate) fn write_meta(&self, okey: &[u8], meta: &ObjectMeta) -> TxResult<()> {
        self.objects
            .insert(okey, codec::encode(meta).or_else(abort)?)?;
        Ok(())
    }

    /// Removes an object's rows.
    pub(crate) fn remove(
        &self,
        key: &CollectionKey,
        name: &ObjectName,
        old: &ObjectMeta,
    ) -> TxResult<()> {
        let okey = keys::object(key, name);
        for tree in [self.objects, self.bodies, self.parsed, self.derived] {
            tree.remove(okey.as_slice())?;
        }
        self.unindex(key, name, old)
    }

    fn unindex(&self, key: &CollectionKey, name: &ObjectName, old: &ObjectMeta) -> TxResult<()> {
        for b in buckets(old.index.first_start, old.index.last_end) {
            self.times.remove(keys::time_entry(key, b, name))?;
        }
        Ok(())
    }
}

/// Decodes a stored [`Derived`].
pub(crate) fn decode_derived(v: &[u8]) -> Result<Derived> {
    codec::decode("derived", v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_spans_get_their_weeks_long_ones_one_entry() {
        let day = 86_400;
        let t0 = 1_796_000_000;
        assert_eq!(buckets(Some(t0), Some(t0 + 3600)).len(), 1);
        assert_eq!(buckets(Some(t0), Some(t0)).len(), 1, "zero-length");
        let two = buckets(Some(t0), Some(t0 + 8 * day));
        assert!(two.len() == 2 || two.len() == 3);
        assert_eq!(buckets(Some(t0), None), vec![LONG]);
        assert_eq!(buckets(None, Some(t0)), vec![LONG]);
        assert_eq!(buckets(Some(t0), Some(t0 + 400 * day)), vec![LONG]);
        assert!(bucket(-t0) < bucket(0) && bucket(0) < bucket(t0));
    }
}
