//! Recorded upstream traffic: a bounded log of already-redacted exchanges
//! (JSON blobs owned by `upstream::record`), oldest dropped first when the
//! entry count, total size or age limit is passed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::{Result, Store};
use crate::config::TrafficLimits;

/// One stored entry: its id and its bytes (JSON owned by `traffic`).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredExchange {
    /// The entry's id (ids start at 1 and only grow).
    pub id: u64,
    /// The redacted exchange as JSON.
    pub json: Vec<u8>,
}

/// How much the traffic log holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrafficSize {
    /// Entries kept.
    pub entries: u64,
    /// Bytes kept.
    pub bytes: u64,
}

/// Running totals, so appends need no scan.
#[derive(Debug, Default)]
pub(crate) struct TrafficTotals {
    entries: AtomicU64,
    bytes: AtomicU64,
}

impl TrafficTotals {
    pub(crate) fn scan(tree: &sled::Tree) -> Arc<Self> {
        let t = Self::default();
        for (_, v) in tree.iter().flatten() {
            t.entries.fetch_add(1, Ordering::Relaxed);
            t.bytes.fetch_add(v.len() as u64 + 16, Ordering::Relaxed);
        }
        Arc::new(t)
    }
}

/// One stored entry: key = 8-byte id ‖ 8-byte start time.
fn key(id: u64, started_ms: i64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&id.to_be_bytes());
    k[8..].copy_from_slice(&started_ms.to_be_bytes());
    k
}

fn parse_key(k: &[u8]) -> Option<(u64, i64)> {
    let id = u64::from_be_bytes(k.get(..8)?.try_into().ok()?);
    let t = i64::from_be_bytes(k.get(8..16)?.try_into().ok()?);
    Some((id, t))
}

impl Store {
    /// Appends an entry and drops the oldest ones past `limits`. Returns its id.
    pub fn append_traffic(
        &self,
        started_ms: i64,
        json: &[u8],
        limits: &TrafficLimits,
    ) -> Result<u64> {
        let id = self.db.generate_id()? + 1;
        self.traffic.insert(key(id, started_ms), json)?;
        self.traffic_totals.entries.fetch_add(1, Ordering::Relaxed);
        self.traffic_totals
            .bytes
            .fetch_add(json.len() as u64 + 16, Ordering::Relaxed);
        let cutoff = started_ms - limits.max_age_ms;
        loop {
            let over = self.traffic_totals.entries.load(Ordering::Relaxed) > limits.max_entries
                || self.traffic_totals.bytes.load(Ordering::Relaxed) > limits.max_bytes;
            let Some((k, v)) = self.traffic.first()? else {
                break;
            };
            let too_old = parse_key(&k).is_some_and(|(_, t)| t < cutoff);
            if !(over || too_old) {
                break;
            }
            if self.traffic.remove(&k)?.is_some() {
                self.traffic_totals.entries.fetch_sub(1, Ordering::Relaxed);
                self.traffic_totals
                    .bytes
                    .fetch_sub(v.len() as u64 + 16, Ordering::Relaxed);
            }
        }
        Ok(id)
    }

    /// Entries with id > `after` (ids start at 1), oldest first, at most `limit`.
    pub fn traffic_after(&self, after: u64, limit: usize) -> Result<Vec<StoredExchange>> {
        let start = after.saturating_add(1).to_be_bytes();
        let mut out = Vec::new();
        for kv in self.traffic.range(start..).take(limit) {
            let (k, v) = kv?;
            if let Some((id, _)) = parse_key(&k) {
                out.push(StoredExchange {
                    id,
                    json: v.to_vec(),
                });
            }
        }
        Ok(out)
    }

    /// One entry by id.
    pub fn traffic_entry(&self, id: u64) -> Result<Option<Vec<u8>>> {
        let start = id.to_be_bytes();
        Ok(self
            .traffic
            .range(start..)
            .next()
            .transpose()?
            .and_then(|(k, v)| (parse_key(&k).map(|(i, _)| i) == Some(id)).then(|| v.to_vec())))
    }

    /// How much is kept now.
    pub fn traffic_size(&self) -> TrafficSize {
        TrafficSize {
            entries: self.traffic_totals.entries.load(Ordering::Relaxed),
            bytes: self.traffic_totals.bytes.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recording_10000_exchanges_stays_within_limits() {
        let s = Store::temporary().unwrap();
        let limits = TrafficLimits {
            max_entries: 1_000,
            max_bytes: 256 * 1024,
            max_age_ms: i64::MAX / 4,
        };
        let body = vec![b'x'; 300];
        for i in 0..10_000 {
            s.append_traffic(i, &body, &limits).unwrap();
            let TrafficSize { entries: n, bytes } = s.traffic_size();
            assert!(
                n <= limits.max_entries && bytes <= limits.max_bytes,
                "{n} {bytes}"
            );
        }
        let kept = s.traffic_after(0, usize::MAX).unwrap();
        assert_eq!(kept.len() as u64, s.traffic_size().entries);
        // The newest survive.
        assert!(s.traffic_entry(kept.last().unwrap().id).unwrap().is_some());
    }

    #[test]
    fn old_entries_are_dropped_by_age() {
        let s = Store::temporary().unwrap();
        let limits = TrafficLimits {
            max_age_ms: 1_000,
            ..TrafficLimits::default()
        };
        s.append_traffic(0, b"old", &limits).unwrap();
        s.append_traffic(5_000, b"new", &limits).unwrap();
        let kept = s.traffic_after(0, 10).unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].json, b"new");
    }
}
