//! Issue 12 item 3 and the `recurrence` fuzz target: work that expansion
//! did outside the budget. The `rrule` crate's empty steps (a rule that
//! runs dry, sparse dates), periods of millions of dates, many RRULEs in
//! one component, the walk behind the index bound, and the write-time
//! answers. Costs are read from the budget (never wall-clock).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::*;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn win(a: &str, b: &str) -> TimeRange {
    TimeRange {
        start: t(a),
        end: t(b),
    }
}

/// One event; `start` is its DTSTART (UTC) and `rules` its extra lines.
fn event(start: &str, rules: &[String]) -> Vec<u8> {
    let mut s = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:w\r\n\
         DTSTAMP:20260101T000000Z\r\nDTSTART:{start}\r\nDURATION:PT1H\r\n"
    );
    for r in rules {
        s.push_str(r);
        s.push_str("\r\n");
    }
    s.push_str("END:VEVENT\r\nEND:VCALENDAR\r\n");
    s.into_bytes()
}

fn budgeted(limit: u64) -> (ExpandOptions, Arc<ExpandBudget>) {
    let budget = Arc::new(ExpandBudget::new(limit));
    (
        ExpandOptions::new(Tz::UTC, 500).with_budget(budget.clone()),
        budget,
    )
}

/// A rule that never has a date (position 70 of a set of one) made the
/// crate step through every year to 10000 on each expansion (160 ms)
/// without a date to charge. The steps are charged now, so a request's
/// budget refuses it; the crate's verdict is remembered, so the next
/// expansion of the same series skips the walk (and costs nothing).
#[test]
fn issue_12_a_rule_that_runs_dry_is_charged_then_remembered() {
    // A DTSTART no other test uses: the memo is process-wide.
    let b = event(
        "20250101T071301Z",
        &["RRULE:FREQ=YEARLY;BYMONTHDAY=1;BYSETPOS=70".into()],
    );
    let w = win("2025-03-01T00:00:00Z", "2025-04-01T00:00:00Z");
    let (opts, budget) = budgeted(DEFAULT_REQUEST_BUDGET / 10);
    assert!(matches!(
        instances(&b, w, &opts),
        Err(Error::BudgetExceeded { .. })
    ));
    assert!(budget.used() > 7_000 * 40, "{}", budget.used());
    let (opts, budget) = budgeted(DEFAULT_REQUEST_BUDGET / 10);
    assert_eq!(instances(&b, w, &opts).unwrap(), vec![]);
    assert!(budget.used() < 10, "{}", budget.used());
}

/// Sparse dates cost the crate's empty steps between them: a minutely rule
/// with BYSETPOS that keeps one minute an hour steps through 59 empty
/// minutes per date, and a week of it is charged as such.
#[test]
fn issue_12_sparse_dates_are_charged_for_the_empty_periods_between_them() {
    let b = event(
        "20250101T000000Z",
        &["RRULE:FREQ=MINUTELY;BYMINUTE=5;BYSETPOS=1".into()],
    );
    let w = win("2025-03-03T00:10:00Z", "2025-03-10T00:10:00Z");
    let (opts, budget) = budgeted(u64::MAX / 2);
    // One an hour (and the one-hour instance from before the window).
    let n = instances(&b, w, &opts).unwrap().len() as u64;
    assert_eq!(n, 7 * 24 + 1);
    assert!(budget.used() >= n * 59, "{}", budget.used());
}

/// A 450-byte YEARLY rule listing every hour, minute and second of every
/// weekday holds 31.6 million dates a year; the crate built each year
/// whole (7.3 s and 1.5 GB for one expansion). Such a rule is refused by
/// strict parsing and ignored in upstream data.
#[test]
fn issue_12_a_rule_with_millions_of_dates_a_period_is_refused() {
    let all = |n: u32| (0..n).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    let rule = format!(
        "RRULE:FREQ=YEARLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;BYHOUR={};BYMINUTE={};BYSECOND={}",
        all(24),
        all(60),
        all(60)
    );
    let b = event("20250101T000000Z", &[rule]);
    assert!(matches!(
        parse_strict(&b),
        Err(Error::DenseRule {
            max: rule::MAX_PERIOD_DATES
        })
    ));
    let (opts, budget) = budgeted(u64::MAX / 2);
    let w = win("2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z");
    // The series is its DTSTART alone.
    assert_eq!(instances(&b, w, &opts).unwrap().len(), 1);
    assert!(budget.used() < 10, "{}", budget.used());
}

/// 128 different RRULE lines made one small object cost 128 rules'
/// work (3 s outside any budget). The first four distinct rules count;
/// strict parsing refuses a fifth.
#[test]
fn issue_12_only_four_distinct_rrules_count() {
    let rules: Vec<String> = (1..=128)
        .map(|i| format!("RRULE:FREQ=DAILY;INTERVAL={i};COUNT=3"))
        .collect();
    let b = event("20250101T090000Z", &rules);
    assert!(matches!(
        parse_strict(&b),
        Err(Error::TooManyRules { max: 4 })
    ));
    let w = win("2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z");
    let (opts, _) = budgeted(u64::MAX / 2);
    let starts: Vec<DateTime<Utc>> = instances(&b, w, &opts)
        .unwrap()
        .iter()
        .map(|i| i.start)
        .collect();
    // INTERVAL 1..=4, three dates each, DTSTART shared.
    let want: Vec<DateTime<Utc>> = [1, 2, 3, 4, 5, 7, 9]
        .iter()
        .map(|d| t(&format!("2025-01-{d:02}T09:00:00Z")))
        .collect();
    assert_eq!(starts, want);
    // Repeats of one rule are one rule.
    let same = vec!["RRULE:FREQ=DAILY;COUNT=2".to_string(); 64];
    assert!(parse_strict(&event("20250101T090000Z", &same)).is_ok());
}

/// The index bound walked each bounded rule up to 200,000 dates on every
/// parse, and the crate's steps between them were free (MINUTELY with
/// BYSETPOS keeping one minute a day: 1,440 steps a date). The walk now
/// stops at its budget and the series counts as unbounded.
#[test]
fn issue_12_the_walk_behind_the_index_bound_is_bounded() {
    let b = event(
        "20250101T000000Z",
        &["RRULE:FREQ=MINUTELY;COUNT=5000;BYHOUR=9;BYMINUTE=0;BYSETPOS=1".into()],
    );
    assert_eq!(parse_lenient(&b).unwrap().last_end, None);
    // A bounded series the walk can afford keeps its bound.
    let b = event(
        "20250101T000000Z",
        &["RRULE:FREQ=WEEKLY;COUNT=10;BYDAY=MO,FR".into()],
    );
    assert_eq!(
        parse_lenient(&b).unwrap().last_end,
        Some(t("2025-02-03T01:00:00Z").timestamp())
    );
}

/// The stored answers of every write were computed with no budget: a
/// series whose rules run dry cost each write one dry walk per rule and
/// expansion. `derive` now spends at most DERIVE_BUDGET and then leaves
/// the answer to read-time expansion (Dense).
#[test]
fn issue_12_stored_answers_have_a_budget() {
    // Four rules that run dry, DTSTART unique to this test (process-wide memo).
    let rules: Vec<String> = [70, 71, 72, 73]
        .iter()
        .map(|p| format!("RRULE:FREQ=YEARLY;BYMONTHDAY=1;BYSETPOS={p}"))
        .collect();
    let b = event("20250101T071302Z", &rules);
    let w = win("2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z");
    let d = derive(&b, &BusySettings::utc(), w);
    assert_eq!(d.occupancy, Occupancy::Dense);
}
