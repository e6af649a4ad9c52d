//! Pure sync decisions: from stored state and a remote listing to what to
//! fetch and delete, whether those deletions may go through (safe sync),
//! when a full reconciliation is due and when an ICS feed is polled. No
//! I/O (vstorage's plan/execute split, kept pure).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crate::config::FeedLimits;
use crate::ids::{ETag, Href};
use crate::store::{FeedPoll, HoldReason};
use crate::upstream::parse::Listing;

/// Whether a listing is everything upstream has, or only what changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListingMode {
    /// sync-collection with a token: only changes (and deletions) listed.
    Delta,
    /// Initial sync or fallback: every member listed; absent = deleted.
    Full,
}

/// What to do for one calendar.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FetchPlan {
    /// Hrefs to fetch (new or changed ETag), in listing order.
    pub fetch: Vec<Href>,
    /// Hrefs to forget.
    pub delete: Vec<Href>,
}

/// Plans one calendar's sync.
pub fn fetch_plan(stored: &HashMap<Href, ETag>, listing: &Listing, mode: ListingMode) -> FetchPlan {
    let mut plan = FetchPlan::default();
    let mut listed = HashSet::new();
    for (href, etag) in &listing.present {
        listed.insert(href);
        if stored.get(href) != Some(etag) {
            plan.fetch.push(href.clone());
        }
    }
    for href in &listing.deleted {
        if stored.contains_key(href) && !listed.contains(href) {
            plan.delete.push(href.clone());
        }
    }
    if mode == ListingMode::Full {
        let mut gone: Vec<&Href> = stored.keys().filter(|h| !listed.contains(h)).collect();
        gone.sort();
        for h in gone {
            if !plan.delete.contains(h) {
                plan.delete.push(h.clone());
            }
        }
    }
    plan
}

/// Fewest deletions that the share rule holds: removing one or two
/// events of a small calendar is ordinary and goes through.
pub const MIN_HELD_DELETIONS: usize = 3;

/// What a sync may do with a calendar's planned deletions (issue 13 #5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletionVerdict {
    /// Delete them.
    Apply,
    /// Delete nothing; hold them until confirmed.
    Hold(HoldReason),
}

/// Safe sync: a full listing that names no member of a calendar that has
/// copies, or a plan that removes more than `share` of the copies (and at
/// least [`MIN_HELD_DELETIONS`]), is held, unless the user confirmed this
/// calendar's held deletions.
pub fn deletion_guard(
    copies: usize,
    listed: usize,
    deletions: usize,
    mode: ListingMode,
    share: f64,
    confirmed: bool,
) -> DeletionVerdict {
    if deletions == 0 || confirmed {
        return DeletionVerdict::Apply;
    }
    if mode == ListingMode::Full && listed == 0 && copies > 0 {
        return DeletionVerdict::Hold(HoldReason::EmptyListing);
    }
    if deletions >= MIN_HELD_DELETIONS && deletions as f64 > share * copies as f64 {
        return DeletionVerdict::Hold(HoldReason::TooMany);
    }
    DeletionVerdict::Apply
}

/// Whether a connection's full reconciliation is due at `now` (unix seconds).
pub fn full_due(now: i64, next: Option<i64>) -> bool {
    next.is_some_and(|t| now >= t)
}

/// When the next full reconciliation is due: `every` from `now`, moved by
/// up to a twenty-fourth of it either way (from `random`), so that
/// connections do not all list everything at once.
pub fn next_full(now: i64, every: Duration, random: u64) -> i64 {
    let every = every.as_secs().max(1);
    let spread = every / 12;
    let offset = (random % (spread + 1)) as i64 - (spread / 2) as i64;
    now + every as i64 + offset
}

/// How often an ICS feed is polled: what it asks for (`REFRESH-INTERVAL`,
/// `X-PUBLISHED-TTL`), else the default, never more often than the sync
/// interval nor less often than the limit's maximum.
pub fn feed_interval(asked: Option<u64>, sync_interval: Duration, limits: &FeedLimits) -> Duration {
    let asked = asked.map_or(limits.default_interval, Duration::from_secs);
    asked.min(limits.max_interval).max(sync_interval)
}

/// Whether an ICS feed is due at `now`: never polled, or its interval has
/// passed since the last poll (after a failed poll at most a quarter of an
/// hour).
pub fn feed_due(
    now: i64,
    poll: &FeedPoll,
    failing: bool,
    sync_interval: Duration,
    limits: &FeedLimits,
) -> bool {
    let Some(checked) = poll.checked_at else {
        return true;
    };
    let mut every = feed_interval(poll.refresh_secs, sync_interval, limits);
    if failing {
        every = every.min(Duration::from_secs(900).max(sync_interval));
    }
    now >= checked.saturating_add(every.as_secs() as i64)
}

/// Whether a calendar needs a sync this tick: its ctag (or sync-token
/// property) differs from the one of the last complete sync.
pub fn calendar_changed(remote_ctag: Option<&str>, synced_ctag: Option<&str>) -> bool {
    match (remote_ctag, synced_ctag) {
        (Some(r), Some(s)) => r != s,
        _ => true,
    }
}

/// Floor of the throttling backoff (ICLOUD.md §5.2: Retry-After is often shorter than the real window).
pub const BACKOFF_FLOOR: Duration = Duration::from_secs(2);
/// Ceiling of the backoff.
pub const BACKOFF_MAX: Duration = Duration::from_secs(300);

/// How long to wait after the `attempt`-th consecutive failure (1-based):
/// `max(Retry-After, 2 s × 2^(attempt-1))`, capped at 5 minutes.
pub fn backoff(attempt: u32, retry_after: Option<Duration>) -> Duration {
    let exp = BACKOFF_FLOOR.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    exp.max(retry_after.unwrap_or_default()).min(BACKOFF_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Href {
        Href::new(s)
    }

    fn stored() -> HashMap<Href, ETag> {
        [
            (h("/c/a.ics"), ETag::new("1")),
            (h("/c/b.ics"), ETag::new("1")),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn delta_fetches_changed_and_new_and_deletes_listed_deletions() {
        let l = Listing {
            present: vec![
                (h("/c/a.ics"), ETag::new("2")),
                (h("/c/n.ics"), ETag::new("1")),
            ],
            deleted: vec![h("/c/b.ics"), h("/c/never-seen.ics")],
            token: None,
        };
        let p = fetch_plan(&stored(), &l, ListingMode::Delta);
        assert_eq!(p.fetch, vec![h("/c/a.ics"), h("/c/n.ics")]);
        assert_eq!(p.delete, vec![h("/c/b.ics")]);
    }

    #[test]
    fn full_listing_deletes_what_is_missing_and_skips_unchanged() {
        let l = Listing {
            present: vec![(h("/c/a.ics"), ETag::new("1"))],
            ..Listing::default()
        };
        let p = fetch_plan(&stored(), &l, ListingMode::Full);
        assert!(p.fetch.is_empty());
        assert_eq!(p.delete, vec![h("/c/b.ics")]);
    }

    #[test]
    fn safe_sync_holds_an_empty_listing_and_mass_deletions() {
        use DeletionVerdict::{Apply, Hold};
        let share = 0.5;
        // An empty full listing of a calendar with copies: held, whatever the count.
        assert_eq!(
            deletion_guard(100, 0, 100, ListingMode::Full, share, false),
            Hold(HoldReason::EmptyListing)
        );
        assert_eq!(
            deletion_guard(1, 0, 1, ListingMode::Full, share, false),
            Hold(HoldReason::EmptyListing)
        );
        // More than half at once: held; confirmed: applied.
        assert_eq!(
            deletion_guard(100, 40, 60, ListingMode::Full, share, false),
            Hold(HoldReason::TooMany)
        );
        assert_eq!(
            deletion_guard(100, 0, 51, ListingMode::Delta, share, false),
            Hold(HoldReason::TooMany)
        );
        assert_eq!(
            deletion_guard(100, 0, 100, ListingMode::Full, share, true),
            Apply
        );
        // Ordinary deletions go through.
        assert_eq!(
            deletion_guard(100, 97, 3, ListingMode::Full, share, false),
            Apply
        );
        assert_eq!(
            deletion_guard(100, 0, 50, ListingMode::Delta, share, false),
            Apply
        );
        assert_eq!(
            deletion_guard(2, 0, 2, ListingMode::Delta, share, false),
            Apply
        );
        assert_eq!(
            deletion_guard(0, 0, 0, ListingMode::Full, share, false),
            Apply
        );
        // A stricter share.
        assert_eq!(
            deletion_guard(100, 0, 11, ListingMode::Delta, 0.1, false),
            Hold(HoldReason::TooMany)
        );
    }

    #[test]
    fn full_reconciliation_is_due_daily_with_jitter() {
        let day = Duration::from_secs(86_400);
        assert!(!full_due(10, None));
        assert!(!full_due(10, Some(11)));
        assert!(full_due(11, Some(11)));
        let spread = 86_400 / 12;
        for r in [0, 1, 999, u64::MAX] {
            let n = next_full(1_000, day, r);
            assert!((n - 1_000 - 86_400).abs() <= spread / 2 + 1, "{n}");
        }
        assert_ne!(next_full(0, day, 0), next_full(0, day, 3_000));
    }

    #[test]
    fn feeds_are_polled_as_often_as_they_ask_within_bounds() {
        let limits = FeedLimits::default();
        let minute = Duration::from_secs(60);
        assert_eq!(
            feed_interval(None, minute, &limits),
            limits.default_interval
        );
        assert_eq!(
            feed_interval(Some(7200), minute, &limits),
            Duration::from_secs(7200)
        );
        assert_eq!(feed_interval(Some(1), minute, &limits), minute);
        assert_eq!(
            feed_interval(Some(u64::MAX / 2), minute, &limits),
            limits.max_interval
        );
        let mut poll = FeedPoll::default();
        assert!(feed_due(0, &poll, false, minute, &limits));
        poll.checked_at = Some(1_000);
        poll.refresh_secs = Some(3600);
        assert!(!feed_due(1_000 + 3599, &poll, false, minute, &limits));
        assert!(feed_due(1_000 + 3600, &poll, false, minute, &limits));
        assert!(feed_due(1_000 + 900, &poll, true, minute, &limits));
    }

    #[test]
    fn unchanged_ctag_means_no_sync() {
        assert!(!calendar_changed(Some("x"), Some("x")));
        assert!(calendar_changed(Some("y"), Some("x")));
        assert!(calendar_changed(None, Some("x")));
        assert!(calendar_changed(Some("x"), None));
    }

    #[test]
    fn icloud_backoff_honours_retry_after_with_a_floor() {
        assert_eq!(backoff(1, None), Duration::from_secs(2));
        assert_eq!(backoff(3, None), Duration::from_secs(8));
        assert_eq!(
            backoff(1, Some(Duration::from_secs(30))),
            Duration::from_secs(30)
        );
        assert_eq!(
            backoff(4, Some(Duration::from_secs(1))),
            Duration::from_secs(16)
        );
        assert_eq!(backoff(40, None), BACKOFF_MAX);
    }
}
