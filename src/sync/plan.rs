//! Pure sync decisions: from stored state and a remote listing to what to
//! fetch and delete. No I/O (vstorage's plan/execute split, kept pure).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crate::ids::{ETag, Href};
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
