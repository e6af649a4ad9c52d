//! Preparing stored objects again after the code that reads them changed
//! (`ical::DERIVE_VERSION`). An object's index (first start, last end),
//! parsed tree, time answers and time-index entries are made once, when it
//! is written; without this pass they would keep what the older code made
//! of its bytes until its next write. The pass runs once per version, in
//! the background after a start (`views::worker`). Until it reaches an
//! object, the object's answers carry the older fingerprint, so reads
//! expand it from its bytes instead of trusting them.

use super::rows::Prepared;
use super::{keys, Error, Result, Store};
use crate::ical::{self, BusySettings, TimeRange};
use crate::ids::{CollectionKey, ObjectName};

/// The `meta` key of the version the stored objects were prepared by.
pub(super) const VERSION_KEY: &[u8] = b"derive_version";
/// Tries of one object against concurrent writes of it.
const ATTEMPTS: usize = 16;

impl Store {
    /// Whether every stored object was prepared by this version's reader.
    pub fn prepared_current(&self) -> Result<bool> {
        Ok(self
            .meta
            .get(VERSION_KEY)?
            .is_some_and(|v| v.as_ref() == [ical::DERIVE_VERSION]))
    }

    /// Prepares again every object whose time answers were made by an
    /// older version (or for settings its owner no longer has), then
    /// records this version; nothing when it is recorded already. Returns
    /// how many objects were prepared. A crash half-way runs it again.
    pub fn prepare_outdated(&self) -> Result<u64> {
        if self.prepared_current()? {
            return Ok(0);
        }
        let window = self.derive_window()?;
        let mut n = 0;
        for key in self.all_collections()? {
            let settings = self.busy_settings(&key.owner());
            let fp = settings.fingerprint();
            // Collected first (names only: at 100,000 objects the answers
            // themselves would be tens of MiB): the loop writes to the
            // trees it scans.
            let mut outdated = Vec::new();
            for row in self.derived_all(&key) {
                let (name, d) = row?;
                if d.settings != fp {
                    outdated.push(name);
                }
            }
            for name in outdated {
                if self.prepare_again(&key, &name, &settings, window)? {
                    n += 1;
                }
            }
        }
        self.meta.insert(VERSION_KEY, &[ical::DERIVE_VERSION])?;
        Ok(n)
    }

    /// Reads one object's bytes again and replaces its rows, unless a write
    /// changed it meanwhile (that write made its rows with this code).
    fn prepare_again(
        &self,
        key: &CollectionKey,
        name: &ObjectName,
        settings: &BusySettings,
        window: TimeRange,
    ) -> Result<bool> {
        let okey = keys::object(key, name);
        for _ in 0..ATTEMPTS {
            let Some(meta) = self.object_meta(key, name)? else {
                return Ok(false);
            };
            let Some(body) = self.object_body(key, name)? else {
                return Ok(false);
            };
            let mut rec = meta.clone().with_data(body.to_vec());
            // It was read when it was stored; should this reader refuse
            // it now, its old index stays (its bytes are served as ever).
            if let Ok(index) = ical::parse_lenient(&rec.data) {
                rec.index = index;
            }
            self.derivations
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let p = Prepared::new(&rec, settings, window)?;
            let replaced = self.in_rows(|rows| match rows.meta(&okey)? {
                Some(now) if now == meta => {
                    rows.write_read(key, name, Some(&now), &p)?;
                    Ok(true)
                }
                _ => Ok(false),
            })?;
            if replaced {
                return Ok(true);
            }
            match self.derived(key, name)? {
                Some(d) if d.settings != settings.fingerprint() => {}
                _ => return Ok(false),
            }
        }
        Err(Error::Busy)
    }
}
