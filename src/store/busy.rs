//! Per-collection busy snapshots: the merged busy time of a collection as
//! the views' busy cache last computed it, with what it was computed from
//! (the collection's sync token, the owner's settings fingerprint, the
//! window). A snapshot is a hint for a cold cache — the first free-busy
//! after a restart reads one row per collection instead of every object's
//! answers — and is used only when all three still match.

use serde::{Deserialize, Serialize};

use super::{codec, keys, Result, Store};
use crate::ical::StoredBusy;
use crate::ids::{CollectionKey, SyncToken};

/// One collection's merged busy time and what it was computed from.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct BusySnapshot {
    /// The collection's sync token when computed.
    pub token: SyncToken,
    /// `BusySettings::fingerprint` of the owner's settings.
    pub settings: u64,
    /// The window, unix seconds `[start, end)`.
    pub window: (i64, i64),
    /// The merged intervals.
    pub merged: Vec<StoredBusy>,
}

impl Store {
    /// A collection's busy snapshot, if one was kept.
    pub fn busy_snapshot(&self, key: &CollectionKey) -> Result<Option<BusySnapshot>> {
        self.busy
            .get(keys::collection(key))?
            .map(|v| codec::decode("busy", &v))
            .transpose()
    }

    /// Keeps a collection's busy snapshot (replacing the last one). Not
    /// flushed on its own: losing it costs one rebuild, nothing else.
    pub fn put_busy_snapshot(&self, key: &CollectionKey, snap: &BusySnapshot) -> Result<()> {
        self.busy
            .insert(keys::collection(key), codec::encode(snap)?)?;
        Ok(())
    }
}
