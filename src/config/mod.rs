//! The validated runtime configuration: listen address, limits, windows,
//! the sync engine's safety settings.
//!
//! Built by `cli` from flags and the optional configuration file (`file`,
//! `--config FILE`); no I/O here besides reading that file. Every limit
//! the server enforces is a named field of [`Limits`] with a default,
//! settable by name (`serve --limit NAME=VALUE`; the README's "Limits"
//! table lists them).

mod file;
mod limits;

pub use file::{ConfigFile, FileError, SyncSection};
pub use limits::{LimitError, Limits};

use std::time::Duration;

use std::net::SocketAddr;

use chrono::{DateTime, Utc};
use std::path::PathBuf;

/// The sync window (`[sync] past_days`, `future_days`): how far back and
/// ahead busy time is expanded and kept (the store's time answers, the busy
/// cache) and materialised (`availability/`, the feed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvailabilityWindow {
    /// Days before today.
    pub past_days: i64,
    /// Days after today.
    pub future_days: i64,
}

/// Days the cached window extends beyond the materialised one.
pub const CACHE_MARGIN_DAYS: i64 = 31;

impl AvailabilityWindow {
    /// The window materialised into `availability/` and the feed at `now`:
    /// from `past_days` before to `future_days` after the start of `now`'s day (UTC).
    pub fn materialised_at(&self, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        let day = now.date_naive().and_time(chrono::NaiveTime::MIN).and_utc();
        (
            day - chrono::Duration::days(self.past_days),
            day + chrono::Duration::days(self.future_days),
        )
    }

    /// The window busy time and time answers are kept for at `now`: the
    /// materialised window of the first day of `now`'s 7-day block (days
    /// since the Unix epoch / 7), plus 7 days, plus [`CACHE_MARGIN_DAYS`]
    /// on each side. It holds `materialised_at(now)` and "the next twelve
    /// months" asked at any time, and it moves once a week.
    pub fn cached_at(&self, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        let days = now.timestamp().div_euclid(86_400);
        let block =
            DateTime::<Utc>::from_timestamp((days - days.rem_euclid(7)) * 86_400, 0).unwrap_or(now);
        let (s, e) = self.materialised_at(block);
        (
            s - chrono::Duration::days(CACHE_MARGIN_DAYS),
            e + chrono::Duration::days(7 + CACHE_MARGIN_DAYS),
        )
    }
}

impl Default for AvailabilityWindow {
    fn default() -> Self {
        Self {
            past_days: 30,
            future_days: 365,
        }
    }
}

/// How the sync engine guards against a bad listing and repairs drift
/// (issue 13 #5).
#[derive(Debug, Clone, PartialEq)]
pub struct SyncSettings {
    /// Time between background syncs of a connection (plus jitter of a
    /// tenth of it): `serve --sync-interval`, `[sync] interval_seconds`.
    pub interval: Duration,
    /// A sync that would delete more than this share (0–1] of a calendar's
    /// copies at once is held until confirmed (`[sync]
    /// hold_deletions_above_percent`, default 50 %). An empty listing for a
    /// calendar that had copies is always held.
    pub hold_share: f64,
    /// How often every calendar is listed in full, ignoring ctags and sync
    /// tokens, to catch what sync-collection missed (default daily, with
    /// up to a twelfth of it as jitter).
    pub full_every: Duration,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(60),
            hold_share: 0.5,
            full_every: Duration::from_secs(24 * 3600),
        }
    }
}

/// Bounds of one poll of an ICS feed (`calproxy connect --ics`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedLimits {
    /// Largest feed body read (a larger one is refused; the last good copy stays).
    pub max_bytes: usize,
    /// Longest one poll may take, body included.
    pub timeout: Duration,
    /// Time between polls of a feed that names none (`REFRESH-INTERVAL`,
    /// `X-PUBLISHED-TTL`).
    pub default_interval: Duration,
    /// Longest time between polls, whatever the feed asks for.
    pub max_interval: Duration,
}

impl Default for FeedLimits {
    fn default() -> Self {
        Self {
            max_bytes: 10 * 1024 * 1024,
            timeout: Duration::from_secs(30),
            default_interval: Duration::from_secs(3600),
            max_interval: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// Bounds of the recorded upstream traffic log.
#[derive(Debug, Clone, Copy)]
pub struct TrafficLimits {
    /// Most entries kept.
    pub max_entries: u64,
    /// Most bytes kept (sum of stored entries).
    pub max_bytes: u64,
    /// Oldest entry kept, in milliseconds.
    pub max_age_ms: i64,
}

impl Default for TrafficLimits {
    fn default() -> Self {
        Self {
            max_entries: 5_000,
            max_bytes: 32 * 1024 * 1024,
            max_age_ms: 7 * 24 * 3600 * 1000,
        }
    }
}

/// How the store is opened.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// sled's page cache in bytes (its own default is 1 GiB; resident
    /// memory follows it).
    pub cache_bytes: u64,
    /// The window busy time and time answers are kept for.
    pub window: AvailabilityWindow,
}

impl StoreOptions {
    /// The options a configuration asks for.
    pub fn of(config: &Config) -> Self {
        Self {
            cache_bytes: config.limits.store_cache_bytes as u64,
            window: config.availability.clone(),
        }
    }
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            cache_bytes: Limits::default().store_cache_bytes as u64,
            window: AvailabilityWindow::default(),
        }
    }
}

/// Everything the server needs to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The sled data directory.
    pub data_dir: PathBuf,
    /// Serve HTTPS with the certificate in this directory.
    pub tls_dir: Option<PathBuf>,
    /// Names for the TLS certificate besides localhost, 127.0.0.1 and ::1.
    pub tls_names: Vec<String>,
    /// Server limits.
    pub limits: Limits,
    /// The availability window.
    pub availability: AvailabilityWindow,
    /// The sync engine's safety settings.
    pub sync: SyncSettings,
    /// Bounds of ICS feed polls.
    pub feeds: FeedLimits,
    /// Bounds of the recorded upstream traffic.
    pub traffic: TrafficLimits,
    /// Who may read `/metrics` besides loopback peers and local admins.
    pub metrics: MetricsAccess,
}

/// Access to `/metrics` (issue 12 #6). Without a token, loopback peers read
/// it freely and everyone else needs a local admin's Basic auth; with a
/// token, every peer needs `Authorization: Bearer <token>` or an admin.
#[derive(Clone, Default)]
pub struct MetricsAccess {
    /// SHA-256 of the bearer token (the token itself is never kept).
    pub token_sha256: Option<[u8; 32]>,
}

impl std::fmt::Debug for MetricsAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsAccess")
            .field("token", &self.token_sha256.map(|_| "<set>"))
            .finish()
    }
}

impl Config {
    /// Defaults for a data directory.
    pub fn new(listen: SocketAddr, data_dir: PathBuf) -> Self {
        Self {
            listen,
            data_dir,
            tls_dir: None,
            tls_names: Vec::new(),
            limits: Limits::default(),
            availability: AvailabilityWindow::default(),
            sync: SyncSettings::default(),
            feeds: FeedLimits::default(),
            traffic: TrafficLimits::default(),
            metrics: MetricsAccess::default(),
        }
    }
}
