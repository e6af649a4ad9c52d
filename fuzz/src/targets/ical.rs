//! Target `ical`: raw iCalendar bytes through the reader and the strict
//! validator the way calproxy meets them: upstream data (lenient parse,
//! TZID repair, privacy stripping, the stored time answers every write
//! computes, the filter tree), a client PUT (strict repair, then the
//! strict parse), and `C:expand` calendar data under a budget.
//!
//! Asserted besides "no panic": what the strict parser accepts the lenient
//! one accepts with the same UID; repairing twice adds nothing the second
//! time; the PUT path's repaired object still passes the strict parse when
//! the original did.

use std::sync::Arc;

use calproxy::ical::{
    self, BusyRules, BusySettings, ExpandBudget, ExpandOptions, StripSpec, TimeRange,
};
use chrono::{TimeZone, Utc};

/// The cap and budget of the expansions (as a request would set them).
const MAX: usize = 1000;
const BUDGET: u64 = 50_000;

/// The ical target (see the module docs).
pub fn ical(data: &[u8]) {
    // Each input from the same state: rules remembered as dry by an
    // earlier input (or an earlier run of this one) would change its path.
    ical::forget_dry_rules();
    let lenient = ical::parse_lenient(data);
    let strict = ical::parse_strict(data);
    if let Ok(s) = &strict {
        match &lenient {
            Ok(l) => assert_eq!(l.uid, s.uid, "strict and lenient read different UIDs"),
            Err(e) => panic!("strict parse accepted what the lenient one refused: {e}"),
        }
    }

    // Upstream data: repaired on the way in; repairing again adds nothing.
    if let Ok(r) = ical::repair(data) {
        let again = ical::repair(&r.bytes);
        match again {
            Ok(a) => assert!(
                a.added.is_empty(),
                "second repair added {:?} after {:?}",
                a.added,
                r.added
            ),
            Err(e) => panic!("repaired bytes no longer decode: {e}"),
        }
        let _ = ical::parse_lenient(&r.bytes);
    }

    // A client PUT: strict repair, then the strict parse of what is stored.
    if let Ok(repaired) = ical::repair_strict(data) {
        let after = ical::parse_strict(&repaired);
        if strict.is_ok() {
            if let Err(e) = after {
                panic!("repair broke an object the strict parser accepted: {e}");
            }
        }
    }

    // Privacy stripping of upstream data (R5) and the stored answers.
    let spec = StripSpec {
        properties: vec!["ATTENDEE".into(), "ORGANIZER".into(), "DESCRIPTION".into()],
        components: vec!["VALARM".into()],
        replace: vec![("SUMMARY".into(), "Busy".into())],
    };
    let stripped = ical::strip(data, &spec);
    let _ = ical::parse_lenient(&stripped);
    let _ = ical::ensure_end(data);
    let _ = ical::parse_tree(data);

    let (Some(start), Some(end)) = (
        Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).single(),
        Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).single(),
    ) else {
        return;
    };
    let window = TimeRange { start, end };
    let settings = BusySettings {
        tz: chrono_tz::Europe::Berlin,
        owners: vec!["mailto:owner@example.com".to_string()],
        rules: BusyRules::default(),
    };
    let _ = ical::derive(data, &settings, window);
    let opts = ExpandOptions::new(chrono_tz::Europe::Berlin, MAX)
        .with_budget(Arc::new(ExpandBudget::new(BUDGET)));
    let _ = ical::expand_calendar(data, window, &opts);
}
