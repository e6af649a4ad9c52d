//! UTC offsets of a zone over a span of time: the transitions of a
//! chrono-tz zone (found by sampling and bisection, since chrono-tz does
//! not publish its transition table) and the range of offsets in force,
//! which bounds how far wall time and UTC can drift apart near a window.
//! Used by expansion (margins) and by the VTIMEZONE generator.

use chrono::{DateTime, Offset as _};
use chrono_tz::{OffsetComponents, OffsetName, Tz};

use super::tz::Zone;

/// Sampling step when looking for transitions: no zone has changed its
/// offset twice within six hours.
const STEP: i64 = 6 * 3600;

/// An offset in force: seconds east of UTC, daylight time or not (a
/// positive DST offset: Irish winter time, a negative one in tzdb, is
/// standard time here as in other calendar software), abbreviation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Offset {
    pub total: i32,
    pub dst: bool,
    /// The abbreviation, or the offset in numeric form (`+03`) when the
    /// database has none.
    pub name: String,
}

/// A change of offset at the UTC instant `at` (Unix seconds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Transition {
    pub at: i64,
    pub before: Offset,
    pub after: Offset,
}

fn tz_offset(tz: Tz, utc: i64) -> chrono_tz::TzOffset {
    let t = DateTime::from_timestamp(utc, 0)
        .unwrap_or(if utc < 0 {
            DateTime::<chrono::Utc>::MIN_UTC
        } else {
            DateTime::<chrono::Utc>::MAX_UTC
        })
        .naive_utc();
    chrono::TimeZone::offset_from_utc_datetime(&tz, &t)
}

/// What distinguishes two offsets for a VTIMEZONE: total and daylight flag.
fn key_at(tz: Tz, utc: i64) -> (i32, bool) {
    let o = tz_offset(tz, utc);
    (
        o.fix().local_minus_utc(),
        o.dst_offset() > chrono::Duration::zero(),
    )
}

/// The offset in force at a UTC instant (clamped to chrono's range).
pub(crate) fn offset_at(tz: Tz, utc: i64) -> Offset {
    let o = tz_offset(tz, utc);
    Offset {
        total: o.fix().local_minus_utc(),
        dst: o.dst_offset() > chrono::Duration::zero(),
        name: o
            .abbreviation()
            .map(str::to_string)
            .unwrap_or_else(|| o.to_string()),
    }
}

/// Every transition of `tz` in `(from, to]` (Unix seconds), in order.
pub(crate) fn transitions(tz: Tz, from: i64, to: i64) -> Vec<Transition> {
    let mut out = Vec::new();
    let mut t = from;
    let mut cur = key_at(tz, t);
    while t < to {
        let next = t.saturating_add(STEP).min(to);
        let k = key_at(tz, next);
        if k != cur {
            // Bisect: `lo` has the old offset, `hi` the new one.
            let (mut lo, mut hi) = (t, next);
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if key_at(tz, mid) == cur {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            out.push(Transition {
                at: hi,
                before: offset_at(tz, lo),
                after: offset_at(tz, hi),
            });
            cur = key_at(tz, hi);
        }
        t = next;
    }
    out
}

/// Smallest and largest offset (seconds east of UTC) in force at any
/// instant of `[from, to]` for a value in `zone`.
pub(crate) fn offset_range(zone: &Zone, default_tz: Tz, from: i64, to: i64) -> (i32, i32) {
    let tz = match zone {
        Zone::Utc => return (0, 0),
        Zone::Floating => default_tz,
        Zone::Iana(tz) => *tz,
        Zone::Custom(c) => return c.offset_range(from, to),
    };
    let (first, _) = key_at(tz, from);
    let mut range = (first, first);
    let mut t = from;
    // Sampling is enough here: a transition and its reversal never fall
    // within one step, so every offset in force is seen at some sample.
    while t < to {
        t = t.saturating_add(STEP).min(to);
        let (o, _) = key_at(tz, t);
        range = (range.0.min(o), range.1.max(o));
    }
    range
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn berlin_2026_has_two_transitions_at_the_right_seconds() {
        let from = 1_767_225_600; // 2026-01-01T00:00:00Z
        let t = transitions(Tz::Europe__Berlin, from, from + 365 * 86_400);
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].at, 1_774_746_000); // 2026-03-29T01:00:00Z
        assert_eq!((t[0].before.total, t[0].after.total), (3600, 7200));
        assert!(t[0].after.dst && !t[0].before.dst);
        assert_eq!(t[0].after.name, "CEST");
        assert_eq!(t[1].at, 1_792_890_000); // 2026-10-25T01:00:00Z
        assert_eq!(offset_at(Tz::Asia__Kolkata, from).name, "IST");
    }

    #[test]
    fn berlin_2026_offsets_range_over_both_dst_changes() {
        let from = 1_767_225_600; // 2026-01-01T00:00:00Z
        let to = from + 365 * 86_400;
        let berlin = Zone::Iana(Tz::Europe__Berlin);
        assert_eq!(offset_range(&berlin, Tz::UTC, from, to), (3600, 7200));
        assert_eq!(
            offset_range(&berlin, Tz::UTC, from, from + 86_400),
            (3600, 3600)
        );
        assert_eq!(offset_range(&Zone::Utc, Tz::UTC, from, to), (0, 0));
    }
}
