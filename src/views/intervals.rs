//! A collection's busy intervals sorted by start (a multiset): what
//! `ical::remerge` reads when one object changes, as a range instead of a
//! pass over every object. Owned by the busy cache.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::ical::{BusyInterval, BusyKind};

type Key = (DateTime<Utc>, DateTime<Utc>, bool);

/// Every interval of a collection's objects, each with its count.
#[derive(Default)]
pub(crate) struct Intervals(BTreeMap<Key, u32>);

fn key(i: &BusyInterval) -> Key {
    (i.start, i.end, i.kind == BusyKind::Tentative)
}

impl Intervals {
    /// Adds one interval.
    pub fn insert(&mut self, i: &BusyInterval) {
        *self.0.entry(key(i)).or_default() += 1;
    }

    /// Removes one occurrence of an interval (none: nothing happens).
    pub fn remove(&mut self, i: &BusyInterval) {
        let k = key(i);
        if let Some(n) = self.0.get_mut(&k) {
            *n -= 1;
            if *n == 0 {
                self.0.remove(&k);
            }
        }
    }

    /// The intervals starting in `[lo, hi]` (each once: a merge does not
    /// need duplicates).
    pub fn starting(&self, lo: DateTime<Utc>, hi: DateTime<Utc>) -> Vec<BusyInterval> {
        let from = (lo, DateTime::<Utc>::MIN_UTC, false);
        let to = (hi, DateTime::<Utc>::MAX_UTC, true);
        self.0
            .range(from..=to)
            .map(|(&(start, end, tentative), _)| BusyInterval {
                start,
                end,
                kind: if tentative {
                    BusyKind::Tentative
                } else {
                    BusyKind::Busy
                },
            })
            .collect()
    }
}

impl<'a> FromIterator<&'a BusyInterval> for Intervals {
    fn from_iter<T: IntoIterator<Item = &'a BusyInterval>>(iter: T) -> Self {
        let mut out = Self::default();
        for i in iter {
            out.insert(i);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_multiset_by_start() {
        let t = |h| Utc.with_ymd_and_hms(2027, 1, 1, h, 0, 0).unwrap();
        let iv = |a, b, kind| BusyInterval {
            start: t(a),
            end: t(b),
            kind,
        };
        let mut s = Intervals::default();
        s.insert(&iv(9, 10, BusyKind::Busy));
        s.insert(&iv(9, 10, BusyKind::Busy));
        s.insert(&iv(9, 12, BusyKind::Tentative));
        s.insert(&iv(13, 14, BusyKind::Busy));
        assert_eq!(s.starting(t(9), t(9)).len(), 2);
        s.remove(&iv(9, 10, BusyKind::Busy));
        assert_eq!(s.starting(t(9), t(9)).len(), 2, "one copy left");
        s.remove(&iv(9, 10, BusyKind::Busy));
        assert_eq!(
            s.starting(t(9), t(13)),
            vec![iv(9, 12, BusyKind::Tentative), iv(13, 14, BusyKind::Busy)]
        );
        assert!(s.starting(t(10), t(12)).is_empty());
    }
}
