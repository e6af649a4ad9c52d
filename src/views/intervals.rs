//! A collection's busy intervals in the busy cache's compact form: each
//! interval packed into 8 bytes relative to the entry's window
//! ([`Packing`], [`Packed`]), and all of them sorted by start as a
//! multiset ([`Intervals`]): what `ical::remerge` reads when one object
//! changes, as a range instead of a pass over every object. Owned by the
//! busy cache.
//!
//! At 100,000 events (about two million intervals in the cached window)
//! the unpacked form (`BusyInterval`, 28 bytes, in a B-tree of 32-byte
//! keys) held ~130 MiB; packed, in a B-tree of value and count, ~45 MiB;
//! packed in sorted runs, ~20 MiB.

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

    /// One object's intervals, packed.
    pub fn pack_all(&self, v: &[BusyInterval]) -> Box<[Packed]> {
        v.iter().map(|i| self.pack(i)).collect()
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

/// Every interval of a collection's objects, packed, sorted, each copy
/// kept (a multiset): sorted runs of at most [`RUN`] × 2 values, each
/// run's values no greater than the next run's. A value costs its 8 bytes
/// and a run's spare capacity: about 10 bytes, where a `BTreeMap` of
/// value and count took about 20 (two million intervals at 100,000
/// events). An insert or removal moves at most one run's values.
pub(crate) struct Intervals {
    packing: Packing,
    runs: Vec<Vec<Packed>>,
}

/// A run's length after a split (and in a bulk build).
const RUN: usize = 512;

impl Intervals {
    /// An empty set for intervals packed with `packing`.
    pub fn new(packing: Packing) -> Self {
        Self {
            packing,
            runs: Vec::new(),
        }
    }

    /// The set of `values` (any order), built in one sort: full runs, no
    /// spare capacity.
    pub fn from_values(packing: Packing, mut values: Vec<Packed>) -> Self {
        values.sort_unstable();
        Self {
            packing,
            runs: values.chunks(RUN).map(<[Packed]>::to_vec).collect(),
        }
    }

    /// The packing its values use.
    pub fn packing(&self) -> Packing {
        self.packing
    }

    /// The run that holds, or would hold, `p`: the first whose last value
    /// is not below it (the last run for a value above all).
    fn run_of(&self, p: Packed) -> usize {
        self.first_run_reaching(p)
            .min(self.runs.len().saturating_sub(1))
    }

    /// The first run whose last value is not below `p` (`runs.len()` when
    /// every value is below it).
    fn first_run_reaching(&self, p: Packed) -> usize {
        self.runs
            .partition_point(|r| r.last().is_some_and(|&l| l < p))
    }

    /// Adds one copy of `p`.
    pub fn insert(&mut self, p: Packed) {
        if self.runs.is_empty() {
            self.runs.push(vec![p]);
            return;
        }
        let i = self.run_of(p);
        let run = &mut self.runs[i];
        let at = run.partition_point(|&x| x <= p);
        run.insert(at, p);
        if run.len() > 2 * RUN {
            let tail = run.split_off(RUN);
            run.shrink_to_fit();
            self.runs.insert(i + 1, tail);
        }
    }

    /// Removes one copy of `p`, if there is one.
    pub fn remove(&mut self, p: Packed) {
        if self.runs.is_empty() {
            return;
        }
        let i = self.run_of(p);
        let run = &mut self.runs[i];
        if let Ok(at) = run.binary_search(&p) {
            run.remove(at);
            if run.is_empty() {
                self.runs.remove(i);
            }
        }
    }

    /// The distinct values from the first at or after `from`, in order.
    fn distinct_from(&self, from: Packed) -> impl Iterator<Item = Packed> + '_ {
        let i = self.first_run_reaching(from);
        let mut last = None;
        self.runs[i..]
            .iter()
            .flatten()
            .copied()
            .skip_while(move |&x| x < from)
            .filter(move |&x| last.replace(x) != Some(x))
    }

    /// The distinct intervals starting in `[lo, hi]` (both ends
    /// included), in order.
    pub fn starting(&self, lo: DateTime<Utc>, hi: DateTime<Utc>) -> Vec<BusyInterval> {
        if hi < lo {
            return Vec::new();
        }
        let p = &self.packing;
        self.distinct_from(p.first_from(lo))
            .map(|k| p.unpack(k))
            .take_while(|i| i.start <= hi)
            .collect()
    }

    /// Every distinct interval, in order.
    pub fn all(&self) -> impl Iterator<Item = BusyInterval> + '_ {
        self.distinct_from(Packed(0))
            .map(|k| self.packing.unpack(k))
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

    #[test]
    fn the_runs_hold_what_a_counted_btree_holds_through_random_changes() {
        use rand::{Rng, SeedableRng};
        use std::collections::BTreeMap;
        let w = window();
        let p = Packing::of(w);
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let at = |s: i64| DateTime::<Utc>::from_timestamp(w.start.timestamp() + s, 0).unwrap();
        // Few distinct values, so that copies, removals of absent values
        // and runs splitting and emptying all happen.
        let value = |rng: &mut rand::rngs::StdRng| {
            let a = rng.gen_range(0..3_000) * 60;
            p.pack(&BusyInterval {
                start: at(a),
                end: at(a + rng.gen_range(1..4) * 1_800),
                kind: if rng.gen_bool(0.2) {
                    BusyKind::Tentative
                } else {
                    BusyKind::Busy
                },
            })
        };
        let initial: Vec<Packed> = (0..3_000).map(|_| value(&mut rng)).collect();
        let mut model: BTreeMap<Packed, u32> = BTreeMap::new();
        for &v in &initial {
            *model.entry(v).or_default() += 1;
        }
        let mut set = Intervals::from_values(p, initial);
        for step in 0..20_000 {
            let v = value(&mut rng);
            if rng.gen_bool(0.5) {
                set.insert(v);
                *model.entry(v).or_default() += 1;
            } else {
                set.remove(v);
                if let Some(n) = model.get_mut(&v) {
                    *n -= 1;
                    if *n == 0 {
                        model.remove(&v);
                    }
                }
            }
            if step % 500 == 0 {
                let want: Vec<BusyInterval> = model.keys().map(|&k| p.unpack(k)).collect();
                assert_eq!(set.all().collect::<Vec<_>>(), want, "step {step}");
                let total: u32 = model.values().sum();
                let held: usize = set.runs.iter().map(Vec::len).sum();
                assert_eq!(held, total as usize, "step {step}: copies");
                assert!(set.runs.iter().all(|r| !r.is_empty() && r.len() <= 2 * RUN));
                let lo = at(rng.gen_range(0..3_000) * 60);
                let hi = lo + chrono::Duration::minutes(rng.gen_range(0..600));
                let want: Vec<BusyInterval> = model
                    .keys()
                    .map(|&k| p.unpack(k))
                    .filter(|i| i.start >= lo && i.start <= hi)
                    .collect();
                assert_eq!(set.starting(lo, hi), want, "step {step}: [{lo}, {hi}]");
            }
        }
        // Emptied completely, then used again.
        for (&k, &n) in &model.clone() {
            for _ in 0..n {
                set.remove(k);
            }
        }
        assert!(set.runs.is_empty() && set.all().next().is_none());
        set.insert(value(&mut rng));
        assert_eq!(set.all().count(), 1);
    }
}
