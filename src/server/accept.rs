//! Accepting connections without spinning: how many may be open at once
//! (the configured cap, lowered to fit the descriptor limit), and what a
//! failed `accept` does (wait before the next one when descriptors or
//! memory ran out; log at most one line per interval).
//!
//! Issue 12 #2: at the descriptor limit the old loop retried `accept` at
//! once, logging ~300,000 lines a second on one busy core.

use std::io;
use std::time::{Duration, Instant};

/// Descriptors kept for everything but client connections: the store's
/// files, the admin socket, upstream connections, the runtime.
pub const RESERVED_DESCRIPTORS: usize = 64;

/// First wait after a resource error; it doubles up to [`MAX_WAIT`].
const FIRST_WAIT: Duration = Duration::from_millis(10);
/// Longest wait between two accepts after resource errors.
const MAX_WAIT: Duration = Duration::from_secs(1);
/// At most one log line per this interval.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// The process's soft limit on open descriptors, when it has one.
fn descriptor_limit() -> Option<usize> {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct we own; no other effect.
        let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
        if rc != 0 || lim.rlim_cur == libc::RLIM_INFINITY {
            return None;
        }
        usize::try_from(lim.rlim_cur).ok()
    }
    #[cfg(not(unix))]
    None
}

/// The connection cap that fits `limit` descriptors: the configured one, or
/// less (half the descriptors at least, all but the reserve at most).
pub fn fit_cap(configured: usize, limit: Option<usize>) -> usize {
    let Some(limit) = limit else {
        return configured.max(1);
    };
    let fits = (limit / 2).max(limit.saturating_sub(RESERVED_DESCRIPTORS));
    configured.min(fits).max(1)
}

/// The connection cap for this process (logs when it had to be lowered).
pub fn connection_cap(configured: usize) -> usize {
    let limit = descriptor_limit();
    let cap = fit_cap(configured, limit);
    if cap < configured {
        tracing::warn!(
            configured,
            cap,
            descriptor_limit = limit,
            "max_connections lowered to fit the descriptor limit (raise it with ulimit -n)"
        );
    }
    cap
}

/// Whether an accept error means "out of descriptors or memory": waiting
/// helps, retrying at once does not.
fn exhausted(e: &io::Error) -> bool {
    #[cfg(unix)]
    {
        matches!(
            e.raw_os_error(),
            Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
        )
    }
    #[cfg(not(unix))]
    {
        let _ = e;
        false
    }
}

/// What to do after failed accepts: the wait before the next one, and a
/// log line at a limited rate.
#[derive(Debug)]
pub struct Backoff {
    wait: Duration,
    suppressed: u64,
    last_log: Option<Instant>,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            wait: FIRST_WAIT,
            suppressed: 0,
            last_log: None,
        }
    }
}

impl Backoff {
    /// An accept succeeded: the next failure starts from the first wait.
    pub fn succeeded(&mut self) {
        self.wait = FIRST_WAIT;
    }

    /// An accept failed at `now`: how long to wait before the next one.
    pub fn failed(&mut self, e: &io::Error, now: Instant) -> Duration {
        let due = self
            .last_log
            .is_none_or(|t| now.duration_since(t) >= LOG_EVERY);
        if due {
            tracing::warn!(
                error = %e,
                repeated = self.suppressed,
                "accept failed (logged at most once per 10 s; `repeated` counts the failures since the last line)"
            );
            self.last_log = Some(now);
            self.suppressed = 0;
        } else {
            self.suppressed += 1;
        }
        if exhausted(e) {
            let wait = self.wait;
            self.wait = (self.wait * 2).min(MAX_WAIT);
            wait
        } else {
            Duration::ZERO
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_fits_the_descriptor_limit() {
        assert_eq!(fit_cap(512, None), 512);
        assert_eq!(fit_cap(512, Some(1_048_576)), 512);
        assert_eq!(fit_cap(512, Some(256)), 192);
        assert_eq!(fit_cap(512, Some(64)), 32);
        assert_eq!(fit_cap(512, Some(1)), 1);
    }

    #[test]
    fn out_of_descriptors_waits_longer_each_time_and_logs_once_per_interval() {
        let mut b = Backoff::default();
        let emfile = io::Error::from_raw_os_error(libc::EMFILE);
        let t0 = Instant::now();
        let waits: Vec<Duration> = (0..10)
            .map(|i| b.failed(&emfile, t0 + Duration::from_millis(i)))
            .collect();
        assert_eq!(waits[0], FIRST_WAIT);
        assert!(waits.windows(2).all(|w| w[1] >= w[0]));
        assert_eq!(*waits.last().unwrap(), MAX_WAIT);
        assert_eq!(b.suppressed, 9, "one line for ten failures within 10 s");
        b.failed(&emfile, t0 + LOG_EVERY);
        assert_eq!(b.suppressed, 0, "a new line after the interval");
        b.succeeded();
        assert_eq!(b.failed(&emfile, t0 + LOG_EVERY), FIRST_WAIT);
        // A reset peer is not worth waiting for.
        let aborted = io::Error::from_raw_os_error(libc::ECONNABORTED);
        assert_eq!(b.failed(&aborted, t0 + LOG_EVERY), Duration::ZERO);
    }
}
