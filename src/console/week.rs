//! The week view's arithmetic, pure: which week a date is in (weeks start
//! on Monday), the week's UTC range in a time zone (days are 23 or 25
//! hours long across DST changes), and where busy intervals fall in its
//! seven day columns (an interval across midnight is split per day).

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use crate::ical::TimeRange;

/// Minutes in a column.
pub const DAY_MINUTES: i64 = 24 * 60;

/// The Monday of the week `d` is in.
pub fn monday(d: NaiveDate) -> NaiveDate {
    d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
}

/// Local midnight of `d` in `tz` (the first instant of the day when a DST
/// gap swallows midnight).
pub fn midnight(tz: Tz, d: NaiveDate) -> DateTime<Utc> {
    let naive = d.and_time(chrono::NaiveTime::MIN);
    for h in 0..4 {
        if let Some(t) = tz
            .from_local_datetime(&(naive + Duration::hours(h)))
            .earliest()
        {
            return t.with_timezone(&Utc);
        }
    }
    naive.and_utc()
}

/// The UTC range of the week starting on `monday`.
pub fn range(tz: Tz, monday: NaiveDate) -> TimeRange {
    TimeRange {
        start: midnight(tz, monday),
        end: midnight(tz, monday + Duration::days(7)),
    }
}

/// A busy interval's part in one day column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    /// The day column, 0 = Monday.
    pub day: usize,
    /// Minutes after the column's local midnight.
    pub from: i64,
    /// Minutes after it (exclusive, at most [`DAY_MINUTES`]).
    pub to: i64,
    /// Which interval it is part of.
    pub item: usize,
}

/// The parts of `intervals` (start, end) in the seven columns of the week.
pub fn blocks(
    tz: Tz,
    monday: NaiveDate,
    intervals: &[(DateTime<Utc>, DateTime<Utc>)],
) -> Vec<Block> {
    let mut out = Vec::new();
    for day in 0..7 {
        let date = monday + Duration::days(day as i64);
        let (start, end) = (midnight(tz, date), midnight(tz, date + Duration::days(1)));
        for (item, (s, e)) in intervals.iter().enumerate() {
            let (s, e) = ((*s).max(start), (*e).min(end));
            if s >= e {
                continue;
            }
            let from = (s - start).num_minutes().clamp(0, DAY_MINUTES);
            let to = (e - start).num_minutes().clamp(from + 1, DAY_MINUTES);
            out.push(Block {
                day,
                from,
                to,
                item,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn weeks_start_on_monday() {
        assert_eq!(monday(d("2026-03-04")), d("2026-03-02"));
        assert_eq!(monday(d("2026-03-02")), d("2026-03-02"));
        assert_eq!(monday(d("2026-03-08")), d("2026-03-02"));
    }

    #[test]
    fn week_range_follows_the_zone_across_dst() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // DST starts on Sunday 29 March 2026: that week is 167 hours long.
        let r = range(berlin, d("2026-03-23"));
        assert_eq!(r.start, t("2026-03-22T23:00:00Z"));
        assert_eq!(r.end, t("2026-03-29T22:00:00Z"));
    }

    #[test]
    fn blocks_in_local_columns_split_at_midnight() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let items = [
            (t("2026-03-02T08:00:00Z"), t("2026-03-02T09:30:00Z")),
            (t("2026-03-03T22:00:00Z"), t("2026-03-04T01:00:00Z")),
            (t("2026-02-01T00:00:00Z"), t("2026-02-02T00:00:00Z")),
        ];
        let b = blocks(berlin, d("2026-03-02"), &items);
        assert_eq!(
            b,
            vec![
                Block {
                    day: 0,
                    from: 9 * 60,
                    to: 10 * 60 + 30,
                    item: 0
                },
                Block {
                    day: 1,
                    from: 23 * 60,
                    to: DAY_MINUTES,
                    item: 1
                },
                Block {
                    day: 2,
                    from: 0,
                    to: 2 * 60,
                    item: 1
                },
            ]
        );
    }
}
