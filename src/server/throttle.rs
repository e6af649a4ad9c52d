//! Throttling of failed sign-ins (issue 12 #5): per user and per client
//! address, the first `auth_free_failures - 1` failures are free; from the
//! `auth_free_failures`-th on, each failure makes the next attempt wait,
//! 1 s doubling up to `auth_backoff_max` (429 with `Retry-After`, no hash
//! computed). A success
//! clears the user's and the address's record; a record with no failure
//! for `FORGET_AFTER` is forgotten.
//!
//! A verified header in the auth cache is not checked here at all, so a
//! client that is already signed in keeps working while someone guesses
//! its user's password elsewhere. Pure bookkeeping: the caller passes the
//! time.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A record with no failure for this long is forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// Past this many records, forgotten ones are pruned on the next failure.
const PRUNE_ABOVE: usize = 10_000;

/// Whose failures are counted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// A sign-in name, normalised (the user it resolves to, or the name as given).
    Login(String),
    /// A client address (IPv6: its /64).
    Address(IpAddr),
}

impl Key {
    /// The address key of a peer: IPv4 as is, IPv6 by its /64 prefix.
    pub fn address(ip: IpAddr) -> Key {
        let ip = match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let mut s = v6.segments();
                    s[4..].fill(0);
                    IpAddr::V6(s.into())
                }
            },
            v4 => v4,
        };
        Key::Address(ip)
    }
}

#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    last: Instant,
    wait_until: Option<Instant>,
}

/// The failure records.
#[derive(Debug)]
pub struct Throttle {
    free: u32,
    max_wait: Duration,
    records: Mutex<HashMap<Key, Record>>,
}

impl Throttle {
    /// `free` failures before waits begin; waits up to `max_wait`.
    pub fn new(free: u32, max_wait: Duration) -> Self {
        Self {
            free,
            max_wait,
            records: Mutex::default(),
        }
    }

    /// `Err(wait)` when any of `keys` must still wait at `now`.
    pub fn check(&self, keys: &[Key], now: Instant) -> Result<(), Duration> {
        let Ok(map) = self.records.lock() else {
            return Ok(());
        };
        let wait = keys
            .iter()
            .filter_map(|k| map.get(k)?.wait_until)
            .filter_map(|until| until.checked_duration_since(now))
            .filter(|d| !d.is_zero())
            .max();
        wait.map_or(Ok(()), Err)
    }

    /// Records a failed sign-in for each of `keys` at `now`.
    pub fn failed(&self, keys: &[Key], now: Instant) {
        let Ok(mut map) = self.records.lock() else {
            return;
        };
        if map.len() > PRUNE_ABOVE {
            map.retain(|_, r| now.duration_since(r.last) < FORGET_AFTER);
        }
        for k in keys {
            let r = map.entry(k.clone()).or_insert(Record {
                failures: 0,
                last: now,
                wait_until: None,
            });
            if now.duration_since(r.last) >= FORGET_AFTER {
                r.failures = 0;
            }
            r.failures = r.failures.saturating_add(1);
            r.last = now;
            if r.failures >= self.free {
                let doublings = (r.failures - self.free).min(20);
                let wait = Duration::from_secs(1u64 << doublings).min(self.max_wait);
                r.wait_until = Some(now + wait);
            }
        }
    }

    /// A successful sign-in: `keys` start afresh.
    pub fn succeeded(&self, keys: &[Key]) {
        if let Ok(mut map) = self.records.lock() {
            for k in keys {
                map.remove(k);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(s: &str) -> Key {
        Key::Login(s.into())
    }

    #[test]
    fn free_failures_then_doubling_waits_up_to_the_cap() {
        let t = Throttle::new(3, Duration::from_secs(10));
        let k = [user("bob@acme")];
        let t0 = Instant::now();
        for i in 0..2 {
            t.failed(&k, t0);
            assert_eq!(t.check(&k, t0), Ok(()), "failure {i} is free");
        }
        let mut now = t0;
        let mut waits = Vec::new();
        for _ in 0..6 {
            t.failed(&k, now);
            let Err(w) = t.check(&k, now) else {
                panic!("no wait")
            };
            waits.push(w.as_secs());
            now += w; // the client waits as told, then fails again
            assert_eq!(t.check(&k, now), Ok(()));
        }
        assert_eq!(waits, [1, 2, 4, 8, 10, 10]);
        t.succeeded(&k);
        t.failed(&k, now);
        assert_eq!(t.check(&k, now), Ok(()), "a success starts afresh");
    }

    #[test]
    fn any_key_waiting_makes_the_attempt_wait_and_old_records_are_forgotten() {
        let t = Throttle::new(2, Duration::from_secs(60));
        let addr = Key::address("10.0.0.1".parse().unwrap());
        let t0 = Instant::now();
        t.failed(&[user("a"), addr.clone()], t0);
        t.failed(&[user("b"), addr.clone()], t0);
        assert!(t.check(&[user("c"), addr.clone()], t0).is_err());
        assert_eq!(t.check(&[user("c")], t0), Ok(()));
        let later = t0 + FORGET_AFTER;
        t.failed(std::slice::from_ref(&addr), later);
        assert_eq!(t.check(&[addr], later), Ok(()), "counted from zero again");
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_prefix() {
        let a = Key::address("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = Key::address("2001:db8:1:2:bbbb::2".parse().unwrap());
        let c = Key::address("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, c);
        let mapped = Key::address("::ffff:192.0.2.1".parse().unwrap());
        assert_eq!(mapped, Key::address("192.0.2.1".parse().unwrap()));
    }
}
