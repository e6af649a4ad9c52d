//! Held deletions (safe sync, issue 13 #5): a sync that would remove more
//! of a calendar's copies at once than the configured share, or that got
//! an empty listing for a calendar that had events, removes nothing and
//! records here what it would have removed, until `calproxy sync
//! --confirm-deletions` applies it (or a later listing no longer deletes).
//! Kept in their own tree (`held`), keyed like the remote calendars.

use serde::{Deserialize, Serialize};

use super::connections::remote_cal_key;
use super::{codec, keys, Error, Result, Store};
use crate::ids::{CalendarId, ConnectionId, Href};

/// Why a sync's deletions were held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HoldReason {
    /// The listing named no member at all, for a calendar that had copies.
    EmptyListing,
    /// More than the allowed share of the copies would go at once.
    TooMany,
}

/// What one calendar's last sync would have deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldDeletions {
    /// The upstream hrefs the listing says are gone.
    pub hrefs: Vec<Href>,
    /// How many copies the calendar had.
    pub copies: u64,
    /// Why they were held.
    pub reason: HoldReason,
    /// Unix seconds when first held.
    pub since: i64,
}

impl Store {
    /// Records (or replaces) the held deletions of a remote calendar.
    pub fn put_held(&self, c: &ConnectionId, cal: &CalendarId, held: &HeldDeletions) -> Result<()> {
        self.held
            .insert(remote_cal_key(c, cal), codec::encode(held)?)?;
        Ok(())
    }

    /// The held deletions of one remote calendar.
    pub fn held(&self, c: &ConnectionId, cal: &CalendarId) -> Result<Option<HeldDeletions>> {
        self.held
            .get(remote_cal_key(c, cal))?
            .map(|v| codec::decode("held", &v))
            .transpose()
    }

    /// Every remote calendar of a connection with held deletions.
    pub fn held_deletions(&self, c: &ConnectionId) -> Result<Vec<(CalendarId, HeldDeletions)>> {
        let mut prefix = c.as_str().as_bytes().to_vec();
        prefix.push(0);
        let mut out = Vec::new();
        for kv in self.held.scan_prefix(&prefix) {
            let (k, v) = kv?;
            let id = keys::suffix(&k, &prefix)
                .and_then(|s| CalendarId::new(s).ok())
                .ok_or(Error::BadKey { tree: "held" })?;
            out.push((id, codec::decode("held", &v)?));
        }
        Ok(out)
    }

    /// Forgets the held deletions of a remote calendar (applied, or no
    /// longer asked for).
    pub fn clear_held(&self, c: &ConnectionId, cal: &CalendarId) -> Result<()> {
        self.held.remove(remote_cal_key(c, cal))?;
        Ok(())
    }
}
