//! What walking a rule through the `rrule` crate costs beyond the dates it
//! yields, and a memo of rules whose dates run out.
//!
//! The crate steps through a rule period by period (a year for YEARLY, a
//! second for SECONDLY) and yields the dates each period holds. A period
//! without a date costs a step all the same, and once no date is left the
//! crate keeps stepping until 100,000 empty steps in a row or the year
//! 10000 before it gives up. None of that shows as a date, so before this
//! module a rule such as `FREQ=YEARLY;BYMONTHDAY=1;BYSETPOS=70` (never a
//! date) cost up to 160 ms of CPU per expansion outside any budget, and
//! `FREQ=MINUTELY;COUNT=100000;BYMINUTE=1` 1.6 s per parse (the walk to
//! its last end); found by the `recurrence` fuzz target.
//!
//! [`Steps`] estimates the empty steps from the dates the crate yields
//! (the periods between two dates, and after the last one the walk to the
//! crate's limit), in budget units of about one generated date each, so
//! the budget that bounds generated dates bounds them too. [`remember_dry`]
//! and [`dry_after`] keep, per rule and series start, the date after which
//! the crate found nothing more, so a rule walks dry once while
//! remembered, not on every expansion of every request.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use chrono::{Datelike, NaiveDate, NaiveDateTime};

/// Empty steps after which the crate gives up (its `MAX_ITER_LOOP`).
pub(crate) const CRATE_EMPTY_STEPS: u64 = 100_000;

/// Budget units one empty YEARLY step costs: the crate builds a whole
/// year's day set for it (measured 9–20 µs a step, release build, against
/// 0.3–0.5 µs a generated date).
const YEARLY_WEIGHT: u64 = 40;
/// Budget units one empty MONTHLY step costs (measured about 1 µs).
const MONTHLY_WEIGHT: u64 = 3;

/// The crate stops stepping at the end of the year 9999.
fn crate_end() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(10_000, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or(NaiveDateTime::MAX)
}

#[derive(Debug, Clone, Copy)]
enum Unit {
    Year,
    Month,
    Seconds(i64),
}

/// The period a rule steps by, and what one empty step costs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Steps {
    unit: Unit,
    interval: i64,
    weight: u64,
}

impl Steps {
    /// The steps of a rule with this FREQ and INTERVAL, with or without
    /// BYSETPOS (None: no known FREQ).
    ///
    /// Below DAILY the crate moves past times of day that BYHOUR, BYMINUTE
    /// or BYSECOND leave out within one step, and past a day without a
    /// date in one step, so a day is the period that can be empty; with
    /// BYSETPOS every period is a step of its own (a position beyond the
    /// period's one date leaves each one empty).
    pub(crate) fn of(freq: &str, interval: Option<&str>, setpos: bool) -> Option<Steps> {
        let interval = interval
            .and_then(|v| v.parse::<i64>().ok())
            .filter(|i| *i > 0)
            .unwrap_or(1);
        let sub_daily = |secs: i64| {
            if setpos {
                (Unit::Seconds(secs), interval)
            } else {
                (Unit::Seconds(86_400), 1)
            }
        };
        let ((unit, interval), weight) = match freq {
            "YEARLY" => ((Unit::Year, interval), YEARLY_WEIGHT),
            "MONTHLY" => ((Unit::Month, interval), MONTHLY_WEIGHT),
            "WEEKLY" => ((Unit::Seconds(7 * 86_400), interval), 1),
            "DAILY" => ((Unit::Seconds(86_400), interval), 1),
            "HOURLY" => (sub_daily(3600), 1),
            "MINUTELY" => (sub_daily(60), 1),
            "SECONDLY" => (sub_daily(1), 1),
            _ => return None,
        };
        Some(Steps {
            unit,
            interval,
            weight,
        })
    }

    /// Whole periods from `a` to `b` (0 when `b` is not later).
    fn periods(&self, a: NaiveDateTime, b: NaiveDateTime) -> u64 {
        let n = match self.unit {
            Unit::Year => i64::from(b.year()) - i64::from(a.year()),
            Unit::Month => {
                (i64::from(b.year()) - i64::from(a.year())) * 12 + i64::from(b.month())
                    - i64::from(a.month())
            }
            Unit::Seconds(s) => (b - a).num_seconds() / s,
        };
        u64::try_from(n / self.interval).unwrap_or(0)
    }

    /// Units for the empty periods the crate stepped through between a
    /// date at `a` and the next one at `b` (the crate never steps more
    /// than [`CRATE_EMPTY_STEPS`] without a date).
    pub(crate) fn between(&self, a: NaiveDateTime, b: NaiveDateTime) -> u64 {
        let empty = self.periods(a, b).saturating_sub(1);
        empty.min(CRATE_EMPTY_STEPS) * self.weight
    }

    /// Units for the steps after the last date (or the start) at `a` when
    /// the crate gave up without another date.
    pub(crate) fn dry(&self, a: NaiveDateTime) -> u64 {
        self.periods(a, crate_end()).clamp(1, CRATE_EMPTY_STEPS) * self.weight
    }
}

/// A rule (its text as parsed, COUNT included) and its series start.
pub(crate) type DryKey = (String, NaiveDateTime);

/// Rules remembered at most; the memo starts over when full.
const DRY_ENTRIES: usize = 4096;

fn memo() -> &'static Mutex<HashMap<DryKey, NaiveDateTime>> {
    static DRY: OnceLock<Mutex<HashMap<DryKey, NaiveDateTime>>> = OnceLock::new();
    DRY.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The date after which the rule has no date left, when a walk found out.
pub(crate) fn dry_after(key: &DryKey) -> Option<NaiveDateTime> {
    let m = memo().lock().unwrap_or_else(|p| p.into_inner());
    m.get(key).copied()
}

/// Forgets every rule [`remember_dry`] kept. For the fuzz targets, so that
/// each input starts from the same state (AFL runs many inputs in one
/// process and repeats each to find the edges it covers).
pub fn forget_dry_rules() {
    memo().lock().unwrap_or_else(|p| p.into_inner()).clear();
}

/// Remembers that the rule has no date after `after`.
pub(crate) fn remember_dry(key: DryKey, after: NaiveDateTime) {
    let mut m = memo().lock().unwrap_or_else(|p| p.into_inner());
    if m.len() >= DRY_ENTRIES && !m.contains_key(&key) {
        m.clear();
    }
    let e = m.entry(key).or_insert(after);
    *e = (*e).min(after);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").unwrap()
    }

    #[test]
    fn empty_periods_between_dates_are_counted_by_weight() {
        let y = Steps::of("YEARLY", None, false).unwrap();
        // Leap days: three empty years between two dates.
        assert_eq!(
            y.between(t("2024-02-29T00:00:00"), t("2028-02-29T00:00:00")),
            3 * YEARLY_WEIGHT
        );
        // With BYSETPOS every empty period is a step; without, every day.
        let m = Steps::of("MINUTELY", Some("2"), true).unwrap();
        let (a, b) = (t("2025-01-01T00:01:00"), t("2025-01-01T01:01:00"));
        assert_eq!(m.between(a, b), 29);
        let m = Steps::of("MINUTELY", Some("2"), false).unwrap();
        assert_eq!(m.between(a, b), 0);
        assert_eq!(m.between(a, t("2025-01-08T00:01:00")), 6);
        // Dates of one period, or of the next: nothing empty.
        let w = Steps::of("WEEKLY", None, false).unwrap();
        assert_eq!(
            w.between(t("2025-01-06T00:00:00"), t("2025-01-08T00:00:00")),
            0
        );
        assert_eq!(
            w.between(t("2025-01-06T00:00:00"), t("2025-01-13T00:00:00")),
            0
        );
    }

    #[test]
    fn a_dry_walk_costs_the_crates_limit_or_the_years_left() {
        let s = Steps::of("SECONDLY", None, true).unwrap();
        assert_eq!(s.dry(t("2025-01-01T00:00:00")), CRATE_EMPTY_STEPS);
        let y = Steps::of("YEARLY", None, false).unwrap();
        assert_eq!(y.dry(t("2000-06-01T00:00:00")), 8000 * YEARLY_WEIGHT);
        assert_eq!(y.dry(t("9999-06-01T00:00:00")), YEARLY_WEIGHT);
    }

    #[test]
    fn the_memo_keeps_the_earliest_dry_date() {
        let key = (
            "FREQ=TEST;BYSETPOS=99".to_string(),
            t("2025-01-01T00:00:00"),
        );
        remember_dry(key.clone(), t("2026-01-01T00:00:00"));
        remember_dry(key.clone(), t("2025-06-01T00:00:00"));
        remember_dry(key.clone(), t("2027-01-01T00:00:00"));
        assert_eq!(dry_after(&key), Some(t("2025-06-01T00:00:00")));
    }
}
