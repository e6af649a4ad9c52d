//! Bringing a merge up to date after a few changes, in time proportional
//! to the intervals rather than a sort of all of them (issue 10: a write
//! costs its own object, not the collection).
//!
//! [`merge`] of every interval sorts them all. After a change that removed
//! or added intervals only inside some spans, every block of the old merge
//! that does not touch those spans is still right: only the run of blocks
//! around the spans is merged again, from the intervals lying in it.
//! [`remerge`] equals `merge` of the new intervals (the test below checks
//! it on random sets), provided `old` is the merge of the intervals before
//! the change.

use chrono::{DateTime, Utc};

use super::busy::{merge, BusyInterval};

/// The merge of every interval after a change, given `old` (the merge of
/// the intervals before it) and `changed` (every interval the change
/// removed or added). Only the blocks of `old` within the run of touching
/// blocks around `changed` are made again, from the intervals after the
/// change that `starting(lo, hi)` returns: at least every one starting in
/// `[lo, hi]` (more is fine; the caller's sorted index makes it a range
/// read). Every interval meeting the run lies in it whole, so none
/// starting before `lo` is needed.
pub fn remerge<I>(
    old: &[BusyInterval],
    changed: &[BusyInterval],
    starting: impl FnOnce(DateTime<Utc>, DateTime<Utc>) -> I,
) -> Vec<BusyInterval>
where
    I: IntoIterator<Item = BusyInterval>,
{
    let Some((mut lo, mut hi)) = hull(changed) else {
        return old.to_vec();
    };
    // `old` is a merge: sorted, disjoint blocks, so their ends are sorted
    // too. First the blocks that overlap or touch [lo, hi] ...
    let mut first = old.partition_point(|b| b.end < lo);
    let mut last = old.partition_point(|b| b.start <= hi);
    if first < last {
        lo = lo.min(old[first].start);
        hi = hi.max(old[last - 1].end);
    }
    // ... then their touching neighbours (a tentative block cut around a
    // busy one touches it), so that every interval lying partly in
    // [lo, hi] lies in it whole.
    while first > 0 && old[first - 1].end >= lo {
        first -= 1;
        lo = lo.min(old[first].start);
    }
    while last < old.len() && old[last].start <= hi {
        hi = hi.max(old[last].end);
        last += 1;
    }
    let inside: Vec<BusyInterval> = starting(lo, hi)
        .into_iter()
        .filter(|i| i.start <= hi && i.end >= lo)
        .collect();
    let mut out = Vec::with_capacity(old.len() + changed.len());
    out.extend_from_slice(&old[..first]);
    out.extend(merge(inside));
    out.extend_from_slice(&old[last..]);
    out
}

/// The earliest start and latest end of `v`.
fn hull(v: &[BusyInterval]) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let lo = v.iter().map(|i| i.start).min()?;
    let hi = v.iter().map(|i| i.end).max()?;
    Some((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ical::BusyKind;
    use chrono::TimeZone;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn random_interval(rng: &mut StdRng) -> BusyInterval {
        let t0 = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
        // Coarse steps so that touching and equal ends are common.
        let s = rng.gen_range(0..200) * 900;
        let len = rng.gen_range(0..8) * 900;
        BusyInterval {
            start: t0 + chrono::Duration::seconds(s),
            end: t0 + chrono::Duration::seconds(s + len),
            kind: if rng.gen_bool(0.3) {
                BusyKind::Tentative
            } else {
                BusyKind::Busy
            },
        }
    }

    #[test]
    fn remerge_equals_a_full_merge_after_random_changes() {
        let mut rng = StdRng::seed_from_u64(10);
        for round in 0..3000 {
            // Objects, each with a few intervals.
            let mut objects: Vec<Vec<BusyInterval>> = (0..rng.gen_range(0..30))
                .map(|_| {
                    (0..rng.gen_range(0..4))
                        .map(|_| random_interval(&mut rng))
                        .collect()
                })
                .collect();
            let mut merged = merge(objects.iter().flatten().copied().collect());
            // Several changes in a row, each checked.
            for _ in 0..4 {
                let mut changed = Vec::new();
                for _ in 0..rng.gen_range(1..3) {
                    let roll = rng.gen_range(0..3);
                    if roll == 0 || objects.is_empty() {
                        let new: Vec<BusyInterval> = (0..rng.gen_range(0..3))
                            .map(|_| random_interval(&mut rng))
                            .collect();
                        changed.extend(new.iter().copied());
                        objects.push(new);
                    } else {
                        let i = rng.gen_range(0..objects.len());
                        changed.extend(objects[i].iter().copied());
                        if roll == 1 {
                            objects.swap_remove(i);
                        } else {
                            let new: Vec<BusyInterval> = (0..rng.gen_range(0..3))
                                .map(|_| random_interval(&mut rng))
                                .collect();
                            changed.extend(new.iter().copied());
                            objects[i] = new;
                        }
                    }
                }
                let full = merge(objects.iter().flatten().copied().collect());
                // Only the intervals starting in the range asked for.
                let inc = remerge(&merged, &changed, |lo, hi| {
                    objects
                        .iter()
                        .flatten()
                        .filter(|i| i.start >= lo && i.start <= hi)
                        .copied()
                        .collect::<Vec<_>>()
                });
                assert_eq!(inc, full, "round {round}: changed {changed:?}");
                merged = inc;
            }
        }
    }

    #[test]
    fn nothing_changed_is_the_old_merge() {
        let t = Utc.with_ymd_and_hms(2027, 1, 1, 9, 0, 0).unwrap();
        let old = vec![BusyInterval {
            start: t,
            end: t + chrono::Duration::hours(1),
            kind: BusyKind::Busy,
        }];
        assert_eq!(remerge(&old, &[], |_, _| old.clone()), old);
    }
}
