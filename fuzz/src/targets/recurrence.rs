//! Target `recurrence`: a recurring event drawn from the input (see
//! `event`) expanded the ways calproxy expands: instances and the time-range
//! test with a per-request [`ExpandBudget`], `C:expand` calendar data, the
//! stored time answers (`ical::derive`, as every write computes them), and
//! the client PUT path (repair, strict parse).
//!
//! Asserted: the budget stops every expansion (what it counted stays
//! within a batch of its limit), no expansion returns more than its
//! instance cap, every instance meets the window, instances come sorted,
//! the time-range test agrees with the instances, and the bounds the store
//! indexes an object by hold every instance. Work the budget does
//! not count is bounded by AFL's time limit (`fuzz/run` passes `-t`): a
//! slow input is reported as a hang.

use std::sync::Arc;

use calproxy::ical::{
    self, BusyRules, BusySettings, ExpandBudget, ExpandOptions, Occupancy, TimeRange,
};

use super::choices::Choices;
use super::event::Case;

/// Generated dates one case may spend (small, so that hitting it is common).
const BUDGET: u64 = 50_000;
/// What the budget may be passed by before expansion stops: the budget is
/// charged in batches of 1,024 dates, the overrides at once, and a rule
/// the `rrule` crate walked dry at once when it gave up (at most its
/// 100,000 empty steps at 40 units for a YEARLY step).
const SLACK: u64 = 4 * 1024 + 100_000 * 40;
/// Instances per expansion.
const MAX: usize = 500;

/// The recurrence target (see the module docs).
pub fn recurrence(data: &[u8]) {
    // Each input from the same state: rules remembered as dry by an
    // earlier input (or an earlier run of this one) would change its path.
    ical::forget_dry_rules();
    let mut c = Choices::new(data);
    let Some(case) = Case::draw(&mut c) else {
        return;
    };
    let bytes = case.ics.as_bytes();
    let window = TimeRange {
        start: case.start,
        end: case.end,
    };
    let budgeted = || {
        let budget = Arc::new(ExpandBudget::new(BUDGET));
        (
            ExpandOptions::new(case.default_tz, MAX).with_budget(budget.clone()),
            budget,
        )
    };

    let (opts, budget) = budgeted();
    let instances = ical::instances(bytes, window, &opts);
    assert!(
        budget.used() <= BUDGET + SLACK,
        "instances ran past the budget: {} of {BUDGET}\n{}",
        budget.used(),
        case.ics
    );
    if let Ok(v) = &instances {
        assert!(v.len() <= MAX, "{} instances, cap {MAX}", v.len());
        for w in v.windows(2) {
            assert!(w[0].start <= w[1].start, "instances out of order");
        }
        for i in v {
            let meets = if i.end > i.start {
                i.start < window.end && i.end > window.start
            } else {
                i.start < window.end && i.start >= window.start
            };
            assert!(
                meets,
                "instance {i:?} outside the window {window:?}\n{}",
                case.ics
            );
        }
    }

    // The store's time index selects candidates by these bounds: every
    // instance must lie inside them, or a calendar-query would miss it.
    if let (Ok(v), Ok(index)) = (&instances, ical::parse_lenient(bytes)) {
        for i in v {
            let (s, e) = (i.start.timestamp(), i.end.timestamp());
            assert!(
                index.first_start.is_none_or(|f| s >= f) && index.last_end.is_none_or(|l| e <= l),
                "instance {i:?} outside the indexed bounds {:?}..{:?}\n{}",
                index.first_start,
                index.last_end,
                case.ics
            );
        }
    }

    let (opts, budget) = budgeted();
    let overlaps = ical::overlaps(bytes, window, &opts);
    assert!(
        budget.used() <= BUDGET + SLACK,
        "overlaps ran past the budget"
    );
    if let (Ok(v), Ok(hit)) = (&instances, &overlaps) {
        // Below the cap the instance list is complete; the time-range test
        // must then agree with it (a VTODO without dates matches always).
        if case.events && v.len() < MAX {
            assert_eq!(
                *hit,
                !v.is_empty(),
                "time-range test disagrees with the {} instances in {window:?}\n{}",
                v.len(),
                case.ics
            );
        }
    }

    let (opts, budget) = budgeted();
    let _ = ical::expand_calendar(bytes, window, &opts);
    assert!(
        budget.used() <= BUDGET + SLACK,
        "C:expand ran past the budget"
    );

    let settings = BusySettings {
        tz: case.default_tz,
        owners: vec!["mailto:owner@example.com".to_string()],
        rules: BusyRules::default(),
    };
    let derived = ical::derive(bytes, &settings, window);
    if let Occupancy::Spans(s) = &derived.occupancy {
        assert!(s.len() <= ical::MAX_SPANS, "{} stored spans", s.len());
    }
    assert!(
        derived.busy.len() <= ical::MAX_SPANS,
        "stored busy too long"
    );

    // The client PUT path.
    if let Ok(repaired) = ical::repair_strict(bytes) {
        let _ = ical::parse_strict(&repaired);
    }
}
