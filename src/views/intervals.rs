//! A collection's busy intervals in the busy cache's compact form: each
//! interval packed into 8 bytes relative to the entry's window
//! ([`Packing`], [`Packed`]), and all of them sorted by start as a
//! multiset ([`Intervals`]): what `ical::remerge` reads when one object
//! changes, as a range instead of a pass over every object. Owned by the
//! busy cache.
//!
//! At 100,000 events (about two million intervals in the cached window)
//! the unpacked form (`BusyInterval`, 28 bytes, in a B-tree of 32-byte
//! keys) held ~130 MiB; packed, the same is ~45 MiB.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::ical::{BusyInterval, BusyKind, TimeRange};

/// An interval in 8 bytes: whole seconds from the window's start, the
/// start in the high 32 bits, then the end (31 bits) and whether it is
/// tentative (the low bit). Ordered as `(start, end, kind)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Packed(u64);

/// Packs and unpacks the intervals of one window. Intervals in the cache
/// are clipped to their window and are whole seconds (iCalendar has no
/// fractions), and a window spans at most ~20 years (`config`'s limits),
/// well inside 31 bits of seconds (68 years); anything outside is clamped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Packing {
    origin: i64,
}

const END_MAX: i64 = (1 << 31) - 1;

impl Packing {
    /// The packing of intervals clipped to `window`.
    pub fn of(window: TimeRange) -> Self {
        Self {
            origin: window.start.timestamp(),
        }
    }

    /// `i`, packed.
    pub fn pack(&self, i: &BusyInterval) -> Packed {
        let off = |t: DateTime<Utc>, max: i64| (t.timestamp() - self.origin).clamp(0, max) as u64;
        let start = off(i.start, i64::from(u32::MAX));
        let end = off(i.end, END_MAX);
        Packed(start << 32 | end << 1 | u64::from(i.kind == BusyKind::Tentative))
    }

    /// A packed interval, as it was.
    pub fn unpack(&self, p: Packed) -> BusyInterval {
        let at = |off: u64| {
            DateTime::<Utc>::from_timestamp(self.origin + off as i64, 0).unwrap_or_default()
        };
        BusyInterval {
            start: at(p.0 >> 32),
            end: at((p.0 >> 1) & END_MAX as u64),
            kind: if p.0 & 1 == 1 {
                BusyKind::Tentative
            } else {
                BusyKind::Busy
            },
        }
    }

    /// The smallest packed interval starting at `t` or later.
    fn first_from(&self, t: DateTime<Utc>) -> Packed {
        let start = (t.timestamp() - self.origin).clamp(0, i64::from(u32::MAX)) as u64;
        Packed(start << 32)
    }
}

/// Every interval of a collection's objects, packed, each with its count.
pub(crate) struct Intervals {
    packing: Packing,
    set: BTreeMap<Packed, u32>,
}

impl Intervals {
    /// An empty multiset for intervals packed with `packing`.
    pub fn new(packing: Packing) -> Self {
        Self {
            packing,
            set: BTreeMap::new(),
        }
    }

    /// How the intervals are packed.
    pub fn packing(&self) -> Packing {
        self.packing
    }

    /// Adds one interval.
    pub fn insert(&mut self, p: Packed) {
        *self.set.entry(p).or_default() += 1;
    }

    /// Removes one occurrence of an interval (none: nothing happens).
    pub fn remove(&mut self, p: Packed) {
        if let Some(n) = self.set.get_mut(&p) {
            *n -= 1;
            if *n == 0 {
                self.set.remove(&p);
            }
        }
    }

    /// The intervals starting in `[lo, hi]` (each once: a merge does not
    /// need duplicates).
    pub fn starting(&self, lo: DateTime<Utc>, hi: DateTime<Utc>) -> Vec<BusyInterval> {
        if hi < lo {
            return Vec::new();
        }
        let from = self.packing.first_from(lo);
        let p = &self.packing;
        self.set
            .range(from..)
            .map(|(&k, _)| p.unpack(k))
            .take_while(|i| i.start <= hi)
            .collect()
    }

    /// Every distinct interval, by start.
    pub fn all(&self) -> impl Iterator<Item = BusyInterval> + '_ {
        self.set.keys().map(|&k| self.packing.unpack(k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn window() -> TimeRange {
        TimeRange {
            start: Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2028, 12, 1, 0, 0, 0).unwrap(),
        }
    }

    #[test]
    fn a_multiset_by_start() {
        let t = |h| Utc.with_ymd_and_hms(2027, 1, 1, h, 0, 0).unwrap();
        let iv = |a, b, kind| BusyInterval {
            start: t(a),
            end: t(b),
            kind,
        };
        let p = Packing::of(window());
        let mut s = Intervals::new(p);
        s.insert(p.pack(&iv(9, 10, BusyKind::Busy)));
        s.insert(p.pack(&iv(9, 10, BusyKind::Busy)));
        s.insert(p.pack(&iv(9, 12, BusyKind::Tentative)));
        s.insert(p.pack(&iv(13, 14, BusyKind::Busy)));
        assert_eq!(s.starting(t(9), t(9)).len(), 2);
        s.remove(p.pack(&iv(9, 10, BusyKind::Busy)));
        assert_eq!(s.starting(t(9), t(9)).len(), 2, "one copy left");
        s.remove(p.pack(&iv(9, 10, BusyKind::Busy)));
        assert_eq!(
            s.starting(t(9), t(13)),
            vec![iv(9, 12, BusyKind::Tentative), iv(13, 14, BusyKind::Busy)]
        );
        assert!(s.starting(t(10), t(12)).is_empty());
        assert_eq!(s.all().count(), 2);
    }

    #[test]
    fn packing_round_trips_and_keeps_the_order_of_start_end_and_kind() {
        use rand::{Rng, SeedableRng};
        let w = window();
        let p = Packing::of(w);
        let span = w.end.timestamp() - w.start.timestamp();
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let mut all = Vec::new();
        for _ in 0..5_000 {
            let a = rng.gen_range(0..span);
            let b = rng.gen_range(a..=span);
            let at = |s| DateTime::<Utc>::from_timestamp(w.start.timestamp() + s, 0).unwrap();
            let kind = if rng.gen_bool(0.5) {
                BusyKind::Busy
            } else {
                BusyKind::Tentative
            };
            let i = BusyInterval {
                start: at(a),
                end: at(b),
                kind,
            };
            assert_eq!(p.unpack(p.pack(&i)), i);
            all.push(i);
        }
        let key = |i: &BusyInterval| (i.start, i.end, i.kind == BusyKind::Tentative);
        let mut by_value = all.clone();
        by_value.sort_by_key(key);
        let mut by_packed = all;
        by_packed.sort_by_key(|i| p.pack(i));
        assert_eq!(by_packed, by_value);
        // The window's edges.
        let edge = BusyInterval {
            start: w.start,
            end: w.end,
            kind: BusyKind::Busy,
        };
        assert_eq!(p.unpack(p.pack(&edge)), edge);
    }
}
