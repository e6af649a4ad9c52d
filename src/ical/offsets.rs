//! UTC offsets of a zone over a span of time: the range of offsets in
//! force, which bounds how far wall time and UTC can drift apart near a
//! window (found by sampling, since chrono-tz does not publish its
//! transition table). Used by expansion to size its margins.

use chrono::{DateTime, Offset as _};
use chrono_tz::{OffsetComponents, Tz};

use super::tz::Zone;

/// Sampling step when looking for transitions: no zone has changed its
/// offset twice within six hours.
const STEP: i64 = 6 * 3600;

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
    (o.fix().local_minus_utc(), !o.dst_offset().is_zero())
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
