//! Fault injection for the simulated iCloud: switches a test flips at run
//! time through [`Faults`] (all setters take `&self`).
//!
//! Owns only the switch values; the request path in `sim::serve` reads them.
//! Each switch reproduces a failure mode from ICLOUD.md (section cited on
//! the setter).

use std::sync::Mutex;
use std::time::Duration;

/// What the sim does with an invalid or expired sync token (ICLOUD.md §3.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TokenMode {
    /// `403` with body `<error xmlns='DAV:'><valid-sync-token/></error>` (default).
    #[default]
    Forbidden403WithBody,
    /// `403` with an empty body.
    Bare403,
    /// The token is silently forgotten: a full listing with a new token.
    FullListing,
}

/// A status answer forced on a request: code plus optional `Retry-After` seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Forced {
    pub status: u16,
    pub retry_after: Option<u32>,
}

#[derive(Debug)]
struct State {
    fail_next: usize,
    fail_next_with: Forced,
    fail_all: Option<Forced>,
    drop_connections: bool,
    delay: Duration,
    multiget_404_once: Vec<String>,
    token_mode: TokenMode,
    put_etag_header: bool,
    duplicate_sync_rows: bool,
    duplicate_dtstamp: bool,
    leading_whitespace_400: bool,
    empty_listings: Vec<String>,
}

impl Default for State {
    fn default() -> Self {
        Self {
            fail_next: 0,
            fail_next_with: Forced {
                status: 503,
                retry_after: None,
            },
            fail_all: None,
            drop_connections: false,
            delay: Duration::ZERO,
            multiget_404_once: Vec::new(),
            token_mode: TokenMode::default(),
            put_etag_header: true,
            duplicate_sync_rows: false,
            duplicate_dtstamp: false,
            leading_whitespace_400: true,
            empty_listings: Vec::new(),
        }
    }
}

/// Run-time fault switches of a running sim.
#[derive(Debug, Default)]
pub struct Faults {
    state: Mutex<State>,
}

impl Faults {
    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }

    /// The next `n` requests answer `status` (with `Retry-After` when given),
    /// e.g. iCloud throttling with 503 (ICLOUD.md §5.2) or a transient 401 (§5.1).
    pub fn fail_next(&self, n: usize, status: u16, retry_after: Option<u32>) {
        self.with(|s| {
            s.fail_next = n;
            s.fail_next_with = Forced {
                status,
                retry_after,
            };
        });
    }

    /// Every request answers this status until called again with `None`
    /// (an outage, ICLOUD.md §5.2).
    pub fn fail_all(&self, status: Option<(u16, Option<u32>)>) {
        self.with(|s| {
            s.fail_all = status.map(|(status, retry_after)| Forced {
                status,
                retry_after,
            })
        });
    }

    /// Close each connection without an answer while on.
    pub fn drop_connections(&self, on: bool) {
        self.with(|s| s.drop_connections = on);
    }

    /// Wait this long before answering each request.
    pub fn delay(&self, d: Duration) {
        self.with(|s| s.delay = d);
    }

    /// This href comes back as a 404 row inside the next multiget that asks
    /// for it (stale index / eventual consistency, ICLOUD.md §3.2).
    pub fn multiget_404_once(&self, href: &str) {
        self.with(|s| s.multiget_404_once.push(href.to_string()));
    }

    /// How an invalid or expired sync token is answered (ICLOUD.md §3.3).
    pub fn invalid_token_mode(&self, mode: TokenMode) {
        self.with(|s| s.token_mode = mode);
    }

    /// Whether PUT answers carry an `ETag` header (default on; ICLOUD.md §4).
    pub fn put_etag_header(&self, on: bool) {
        self.with(|s| s.put_etag_header = on);
    }

    /// Repeat each changed href twice in sync-collection answers (ICLOUD.md §3.3).
    pub fn duplicate_sync_rows(&self, on: bool) {
        self.with(|s| s.duplicate_sync_rows = on);
    }

    /// Served objects get a second `DTSTAMP` line in each VEVENT (ICLOUD.md §4).
    pub fn duplicate_dtstamp(&self, on: bool) {
        self.with(|s| s.duplicate_dtstamp = on);
    }

    /// XML bodies not starting with `<?xml` or `<` answer 400 (default on;
    /// ICLOUD.md §1.5).
    pub fn leading_whitespace_400(&self, on: bool) {
        self.with(|s| s.leading_whitespace_400 = on);
    }

    /// While on, `calendar` lists no member at all — sync-collection (with
    /// or without a token), `PROPFIND Depth: 1` and calendar-query answer
    /// as if it were empty — though its events are still there and can be
    /// fetched by name: the bad listing that safe sync guards against
    /// (DESIGN.md, "a bad listing read as everything was deleted").
    pub fn empty_listing(&self, calendar: &str, on: bool) {
        self.with(|s| {
            s.empty_listings.retain(|c| c != calendar);
            if on {
                s.empty_listings.push(calendar.to_string());
            }
        });
    }

    /// Turns every switch back to its default.
    pub fn reset(&self) {
        self.with(|s| *s = State::default());
    }

    // ---- readers used by the request path ----

    /// The forced answer for this request, consuming one `fail_next` slot.
    pub(crate) fn take_forced(&self) -> Option<Forced> {
        self.with(|s| {
            if s.fail_next > 0 {
                s.fail_next -= 1;
                return Some(s.fail_next_with);
            }
            s.fail_all
        })
    }

    pub(crate) fn dropping(&self) -> bool {
        self.with(|s| s.drop_connections)
    }

    pub(crate) fn current_delay(&self) -> Duration {
        self.with(|s| s.delay)
    }

    /// True (once) when `href` was marked with [`Faults::multiget_404_once`].
    pub(crate) fn take_multiget_404(&self, href: &str) -> bool {
        self.with(
            |s| match s.multiget_404_once.iter().position(|h| h == href) {
                Some(i) => {
                    s.multiget_404_once.remove(i);
                    true
                }
                None => false,
            },
        )
    }

    pub(crate) fn token_mode(&self) -> TokenMode {
        self.with(|s| s.token_mode)
    }

    pub(crate) fn etag_on_put(&self) -> bool {
        self.with(|s| s.put_etag_header)
    }

    pub(crate) fn sync_rows_twice(&self) -> bool {
        self.with(|s| s.duplicate_sync_rows)
    }

    pub(crate) fn dtstamp_twice(&self) -> bool {
        self.with(|s| s.duplicate_dtstamp)
    }

    pub(crate) fn whitespace_rejected(&self) -> bool {
        self.with(|s| s.leading_whitespace_400)
    }

    pub(crate) fn lists_empty(&self, calendar: &str) -> bool {
        self.with(|s| s.empty_listings.iter().any(|c| c == calendar))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_next_is_consumed_then_fail_all_applies() {
        let f = Faults::default();
        f.fail_next(2, 503, Some(3));
        f.fail_all(Some((500, None)));
        let first = f.take_forced();
        assert_eq!(
            first,
            Some(Forced {
                status: 503,
                retry_after: Some(3)
            })
        );
        assert_eq!(f.take_forced().map(|x| x.status), Some(503));
        assert_eq!(f.take_forced().map(|x| x.status), Some(500));
        f.fail_all(None);
        assert_eq!(f.take_forced(), None);
    }

    #[test]
    fn multiget_404_is_one_shot() {
        let f = Faults::default();
        f.multiget_404_once("/1/calendars/home/a.ics");
        assert!(f.take_multiget_404("/1/calendars/home/a.ics"));
        assert!(!f.take_multiget_404("/1/calendars/home/a.ics"));
    }

    #[test]
    fn defaults_match_icloud() {
        let f = Faults::default();
        assert!(f.etag_on_put());
        assert!(f.whitespace_rejected());
        assert_eq!(f.token_mode(), TokenMode::Forbidden403WithBody);
    }
}
