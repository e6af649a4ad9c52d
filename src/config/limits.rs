//! The server's hard limits: every one a named field with a default, and
//! settable by that name (`serve --limit NAME=VALUE`), so the README's
//! "Limits" table, the flag and the code use the same words.
//!
//! Values: sizes in bytes with an optional `KiB`/`MiB` suffix, durations
//! with a `ms`/`s`/`m` suffix (a bare number is seconds), counts as
//! integers.

use std::time::Duration;

/// Default of [`Limits::expansion_budget`] (the same figure as
/// `ical::DEFAULT_REQUEST_BUDGET`, which `config`, a leaf, cannot name; a
/// test in `state` keeps them equal).
pub const DEFAULT_EXPANSION_BUDGET: u64 = 1_000_000;

/// Hard limits of the HTTP server.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body accepted (413 above).
    pub max_body_bytes: usize,
    /// Largest calendar object accepted by PUT (`max-resource-size`).
    pub max_resource_bytes: usize,
    /// Largest request head (request line and header fields; 431 above).
    pub max_header_bytes: usize,
    /// Longest request target (414 above).
    pub max_uri_bytes: usize,
    /// Most header fields in one request (431 above).
    pub max_headers: usize,
    /// Concurrent connections; further accepts wait. Lowered at start to
    /// fit the process's descriptor limit.
    pub max_connections: usize,
    /// Time allowed for a TLS handshake.
    pub tls_handshake_timeout: Duration,
    /// Time allowed to read a request head: from accept for the first
    /// request, and from the end of the previous answer on a kept-alive
    /// connection (so also the idle time of a connection).
    pub header_read_timeout: Duration,
    /// Longest pause while a request body arrives (408 after it).
    pub body_read_timeout: Duration,
    /// Time allowed for one request from headers to answer (a body still
    /// arriving then gets 408, a handler still running 503).
    pub request_timeout: Duration,
    /// A body refused before it was read (401, 404, 429, 503) is read and
    /// discarded up to this size so the connection stays usable; a larger
    /// one is not read and the answer says `Connection: close`.
    pub max_discard_bytes: usize,
    /// How long a verified password stays cached in memory.
    pub auth_cache_ttl: Duration,
    /// Password hashes (argon2, ~19 MiB each) computed at once.
    pub max_concurrent_hashes: usize,
    /// Password checks waiting for a hash slot; more get 503 with `Retry-After`.
    pub hash_queue: usize,
    /// Failed sign-ins, per user and per client address, after which each
    /// failure makes the next attempt wait (429 with `Retry-After`).
    pub auth_free_failures: u32,
    /// Longest wait imposed after failed sign-ins (the wait doubles per failure).
    pub auth_backoff_max: Duration,
    /// Requests whose store work and expansion run at once on the blocking
    /// pool (more wait their turn; none holds an async worker thread).
    pub blocking_jobs: usize,
    /// Recurrence dates one request may generate (calendar-query, free-busy,
    /// the busy API); beyond it the request gets 403
    /// `DAV:number-of-matches-within-limits` and nothing else is delayed.
    pub expansion_budget: u64,
    /// sled's page cache (resident memory follows it, by more than the
    /// setting; sled's own default is 1 GiB). Read by `serve` when it opens
    /// the store. 16 MiB: the reads that matter are answered from kept
    /// answers and kept object responses, and sled's pages of a large
    /// store are read from the system's file cache; at 100,000 objects
    /// 64 MiB cost ~80 MiB more resident memory and no measurable latency
    /// (issue 10, README "Performance").
    pub store_cache_bytes: usize,
    /// Rendered REPORT answers kept for repeated requests
    /// (`answers::Answers`; 0 keeps none). The same bound again holds the
    /// members of kept calendar-query answers (`answers::Bases`), which
    /// the answer for the collection's next state is patched from.
    pub answer_cache_bytes: usize,
    /// Rendered `<response>`s of single objects, reused by the next
    /// answer that lists the same object version with the same
    /// properties (a new window, a collection changed elsewhere; 0 keeps
    /// none).
    pub response_cache_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 10 * 1024 * 1024,
            max_resource_bytes: 1024 * 1024,
            max_header_bytes: 16 * 1024,
            max_uri_bytes: 8 * 1024,
            max_headers: 100,
            max_connections: 512,
            tls_handshake_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(30),
            body_read_timeout: Duration::from_secs(20),
            request_timeout: Duration::from_secs(60),
            max_discard_bytes: 64 * 1024,
            auth_cache_ttl: Duration::from_secs(300),
            max_concurrent_hashes: std::thread::available_parallelism().map_or(2, |n| n.get()),
            hash_queue: 16,
            auth_free_failures: 5,
            auth_backoff_max: Duration::from_secs(60),
            blocking_jobs: 4 * std::thread::available_parallelism().map_or(2, |n| n.get()),
            expansion_budget: DEFAULT_EXPANSION_BUDGET,
            store_cache_bytes: 16 * 1024 * 1024,
            answer_cache_bytes: 32 * 1024 * 1024,
            response_cache_bytes: 16 * 1024 * 1024,
        }
    }
}

/// Why `--limit NAME=VALUE` was refused.
#[derive(Debug, thiserror::Error)]
pub enum LimitError {
    /// Not `NAME=VALUE`.
    #[error("expected NAME=VALUE, e.g. header_read_timeout=10s")]
    Syntax,
    /// No limit has this name.
    #[error("unknown limit {name} (the README's Limits table lists them)")]
    Unknown {
        /// The name given.
        name: String,
    },
    /// The value does not parse, or is zero where zero makes no sense.
    #[error("bad value {value:?} for {name}: expected {expected}")]
    Value {
        /// The limit.
        name: &'static str,
        /// The value given.
        value: String,
        /// What would have been accepted.
        expected: &'static str,
    },
}

const SIZE: &str = "a size in bytes (KiB and MiB suffixes allowed), above 0";
const TIME: &str = "a duration such as 500ms, 30s or 5m, above 0";
const COUNT: &str = "a whole number above 0";

fn size(name: &'static str, v: &str) -> Result<usize, LimitError> {
    let (num, unit) = match v {
        _ if v.ends_with("KiB") => (&v[..v.len() - 3], 1024),
        _ if v.ends_with("MiB") => (&v[..v.len() - 3], 1024 * 1024),
        _ => (v, 1),
    };
    num.trim()
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .filter(|n| *n > 0)
        .ok_or_else(|| bad(name, v, SIZE))
}

fn time(name: &'static str, v: &str) -> Result<Duration, LimitError> {
    let (num, millis) = match v {
        _ if v.ends_with("ms") => (&v[..v.len() - 2], 1),
        _ if v.ends_with('s') => (&v[..v.len() - 1], 1000),
        _ if v.ends_with('m') => (&v[..v.len() - 1], 60_000),
        _ => (v, 1000),
    };
    num.trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(millis))
        .filter(|n| *n > 0)
        .map(Duration::from_millis)
        .ok_or_else(|| bad(name, v, TIME))
}

fn count<T: std::str::FromStr + PartialOrd + Default>(
    name: &'static str,
    v: &str,
) -> Result<T, LimitError> {
    v.trim()
        .parse::<T>()
        .ok()
        .filter(|n| *n > T::default())
        .ok_or_else(|| bad(name, v, COUNT))
}

fn bad(name: &'static str, value: &str, expected: &'static str) -> LimitError {
    LimitError::Value {
        name,
        value: value.to_string(),
        expected,
    }
}

impl Limits {
    /// Sets one limit from `NAME=VALUE`.
    pub fn set(&mut self, assignment: &str) -> Result<(), LimitError> {
        let (name, v) = assignment.split_once('=').ok_or(LimitError::Syntax)?;
        let v = v.trim();
        match name.trim() {
            "max_body_bytes" => self.max_body_bytes = size("max_body_bytes", v)?,
            "max_resource_bytes" => self.max_resource_bytes = size("max_resource_bytes", v)?,
            "max_header_bytes" => self.max_header_bytes = size("max_header_bytes", v)?,
            "max_uri_bytes" => self.max_uri_bytes = size("max_uri_bytes", v)?,
            "max_headers" => self.max_headers = count("max_headers", v)?,
            "max_connections" => self.max_connections = count("max_connections", v)?,
            "tls_handshake_timeout" => {
                self.tls_handshake_timeout = time("tls_handshake_timeout", v)?
            }
            "header_read_timeout" => self.header_read_timeout = time("header_read_timeout", v)?,
            "body_read_timeout" => self.body_read_timeout = time("body_read_timeout", v)?,
            "request_timeout" => self.request_timeout = time("request_timeout", v)?,
            "max_discard_bytes" => self.max_discard_bytes = size("max_discard_bytes", v)?,
            "auth_cache_ttl" => self.auth_cache_ttl = time("auth_cache_ttl", v)?,
            "max_concurrent_hashes" => {
                self.max_concurrent_hashes = count("max_concurrent_hashes", v)?
            }
            "hash_queue" => self.hash_queue = count("hash_queue", v)?,
            "auth_free_failures" => self.auth_free_failures = count("auth_free_failures", v)?,
            "auth_backoff_max" => self.auth_backoff_max = time("auth_backoff_max", v)?,
            "blocking_jobs" => self.blocking_jobs = count("blocking_jobs", v)?,
            "expansion_budget" => self.expansion_budget = count("expansion_budget", v)?,
            "store_cache_bytes" => self.store_cache_bytes = size("store_cache_bytes", v)?,
            "answer_cache_bytes" => self.answer_cache_bytes = size("answer_cache_bytes", v)?,
            "response_cache_bytes" => self.response_cache_bytes = size("response_cache_bytes", v)?,
            other => {
                return Err(LimitError::Unknown {
                    name: other.to_string(),
                })
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_set_by_name_with_units() {
        let mut l = Limits::default();
        l.set("header_read_timeout=500ms").unwrap();
        l.set("body_read_timeout = 2m").unwrap();
        l.set("request_timeout=7").unwrap();
        l.set("max_header_bytes=8KiB").unwrap();
        l.set("max_body_bytes=2MiB").unwrap();
        l.set("max_concurrent_hashes=3").unwrap();
        l.set("expansion_budget=5000").unwrap();
        assert_eq!(l.expansion_budget, 5000);
        assert_eq!(l.header_read_timeout, Duration::from_millis(500));
        assert_eq!(l.body_read_timeout, Duration::from_secs(120));
        assert_eq!(l.request_timeout, Duration::from_secs(7));
        assert_eq!(l.max_header_bytes, 8192);
        assert_eq!(l.max_body_bytes, 2 * 1024 * 1024);
        assert_eq!(l.max_concurrent_hashes, 3);
    }

    #[test]
    fn bad_limits_are_refused_with_the_name() {
        let mut l = Limits::default();
        assert!(matches!(l.set("nope=1"), Err(LimitError::Unknown { .. })));
        assert!(matches!(l.set("max_headers"), Err(LimitError::Syntax)));
        for bad in [
            "max_headers=0",
            "max_headers=-1",
            "header_read_timeout=0s",
            "max_uri_bytes=x",
        ] {
            let e = l.set(bad).unwrap_err().to_string();
            assert!(e.contains(bad.split('=').next().unwrap()), "{e}");
        }
    }
}
