//! Bringing a collection's cache entry up to date with changed objects:
//! their old intervals leave the by-start runs and their new ones enter,
//! and only the merged blocks around them are made again
//! (`ical::remerge`). Owned by the busy cache.

use std::sync::Arc;

use crate::ical::{self, BusyInterval};
use crate::ids::{ObjectName, SyncToken};

use super::{CollectionEntry, Packed};

impl CollectionEntry {
    /// Applies deleted and changed objects (their intervals packed for
    /// this entry's window; `None`: an object gone by the time it was
    /// read) and records `token` as what the entry now reflects. Returns
    /// false, changing nothing, for an entry without its objects (taken
    /// from a snapshot): that one is rebuilt instead.
    pub(super) fn apply(
        &mut self,
        deleted: &[ObjectName],
        changed: Vec<(ObjectName, Option<Box<[Packed]>>)>,
        token: SyncToken,
    ) -> bool {
        let Some(objects) = self.objects.as_mut() else {
            return false;
        };
        let p = self.starts.packing();
        let mut gone: Vec<Packed> = Vec::new();
        for name in deleted {
            gone.extend(objects.remove(name).into_iter().flatten());
        }
        let mut added = Vec::new();
        for (name, v) in changed {
            let old = match v {
                Some(packed) => {
                    added.extend(packed.iter().copied());
                    objects.insert(name, packed)
                }
                None => objects.remove(&name),
            };
            gone.extend(old.into_iter().flatten());
        }
        for &i in &gone {
            self.starts.remove(i);
        }
        for &i in &added {
            self.starts.insert(i);
        }
        let touched: Vec<BusyInterval> = gone.iter().chain(&added).map(|&i| p.unpack(i)).collect();
        self.token = token;
        let starts = &self.starts;
        self.merged = Arc::new(ical::remerge(&self.merged, &touched, |lo, hi| {
            starts.starting(lo, hi)
        }));
        true
    }
}
