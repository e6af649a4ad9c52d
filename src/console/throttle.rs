//! The sign-in throttle: wrong passwords are counted per login name and
//! per peer address (in the store, so a restart does not reset them).
//! After a few free tries each further one must wait, doubling up to 15
//! minutes; a pause of an hour forgets the count, and a right password
//! forgets the login name's. The wait is checked before any password is
//! hashed, so a flood costs no argon2 time.

use std::net::IpAddr;
use std::time::Duration;

use crate::store::{self, FailureRecord, Store};

/// Wrong passwords a login name gets before it must wait.
pub const FREE_PER_LOGIN: u32 = 5;
/// Wrong passwords an address gets (several people may share one).
pub const FREE_PER_PEER: u32 = 20;
/// The longest wait.
pub const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
/// A count untouched this long is forgotten.
const FORGET_AFTER_MS: i64 = 3600 * 1000;

/// The wait a count imposes at `now_ms`, if any.
pub fn wait_for(rec: &FailureRecord, free: u32, now_ms: i64) -> Option<Duration> {
    if rec.count < free || now_ms - rec.last_ms > FORGET_AFTER_MS {
        return None;
    }
    let exp = (rec.count - free).min(20);
    let wait = Duration::from_secs(1u64 << exp).min(MAX_WAIT);
    let waited = Duration::from_millis((now_ms - rec.last_ms).max(0) as u64);
    wait.checked_sub(waited).filter(|d| !d.is_zero())
}

fn login_key(login: &str) -> String {
    format!("login:{}", login.trim().to_lowercase())
}

fn peer_key(peer: IpAddr) -> String {
    format!("peer:{peer}")
}

/// How long a sign-in of `login` from `peer` must wait, if at all.
pub fn wait(
    store: &Store,
    login: &str,
    peer: Option<IpAddr>,
    now_ms: i64,
) -> store::Result<Option<Duration>> {
    let by_login = wait_for(
        &store.signin_failures(&login_key(login))?,
        FREE_PER_LOGIN,
        now_ms,
    );
    let by_peer = match peer {
        Some(p) => wait_for(&store.signin_failures(&peer_key(p))?, FREE_PER_PEER, now_ms),
        None => None,
    };
    Ok(by_login.max(by_peer))
}

fn bump(store: &Store, key: &str, now_ms: i64) -> store::Result<()> {
    let mut rec = store.signin_failures(key)?;
    if now_ms - rec.last_ms > FORGET_AFTER_MS {
        rec.count = 0;
    }
    rec.count = rec.count.saturating_add(1);
    rec.last_ms = now_ms;
    store.put_signin_failures(key, &rec)
}

/// Counts a wrong password.
pub fn failed(store: &Store, login: &str, peer: Option<IpAddr>, now_ms: i64) -> store::Result<()> {
    bump(store, &login_key(login), now_ms)?;
    if let Some(p) = peer {
        bump(store, &peer_key(p), now_ms)?;
    }
    Ok(())
}

/// A right password: the login name's count is forgotten (the address's
/// is not, so one known account cannot unlock guessing at others).
pub fn succeeded(store: &Store, login: &str) -> store::Result<()> {
    store.put_signin_failures(&login_key(login), &FailureRecord::default())
}

/// A wait in plain words ("2 minutes", "1 second").
pub fn in_words(d: Duration) -> String {
    let s = d.as_secs().max(1);
    let (n, unit) = if s >= 120 {
        (s.div_ceil(60), "minute")
    } else {
        (s, "second")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_tries_then_doubling_waits_capped_and_forgotten() {
        let rec = |count, last_ms| FailureRecord { count, last_ms };
        assert_eq!(wait_for(&rec(4, 0), 5, 0), None);
        assert_eq!(wait_for(&rec(5, 0), 5, 0), Some(Duration::from_secs(1)));
        assert_eq!(wait_for(&rec(7, 0), 5, 0), Some(Duration::from_secs(4)));
        assert_eq!(wait_for(&rec(7, 0), 5, 1_000), Some(Duration::from_secs(3)));
        assert_eq!(wait_for(&rec(7, 0), 5, 4_000), None);
        assert_eq!(wait_for(&rec(40, 0), 5, 0), Some(MAX_WAIT));
        assert_eq!(wait_for(&rec(40, 0), 5, FORGET_AFTER_MS + 1), None);
    }

    #[test]
    fn counted_per_login_and_per_peer() {
        let s = Store::temporary().unwrap();
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..FREE_PER_LOGIN {
            assert_eq!(wait(&s, "Ann@demo", Some(peer), 0).unwrap(), None);
            failed(&s, "ann@demo", Some(peer), 0).unwrap();
        }
        assert!(wait(&s, "ann@demo", Some(peer), 0).unwrap().is_some());
        // Another name from the same address is still free (per-peer limit is higher).
        assert_eq!(wait(&s, "bob@demo", Some(peer), 0).unwrap(), None);
        succeeded(&s, "ann@demo").unwrap();
        assert_eq!(wait(&s, "ann@demo", Some(peer), 0).unwrap(), None);
        for _ in 0..FREE_PER_PEER {
            failed(&s, "x", Some(peer), 0).unwrap();
        }
        assert!(wait(&s, "carol@demo", Some(peer), 0).unwrap().is_some());
    }

    #[test]
    fn waits_in_plain_words() {
        assert_eq!(in_words(Duration::from_secs(1)), "1 second");
        assert_eq!(in_words(Duration::from_millis(1500)), "1 second");
        assert_eq!(in_words(Duration::from_secs(30)), "30 seconds");
        assert_eq!(in_words(Duration::from_secs(900)), "15 minutes");
    }
}
