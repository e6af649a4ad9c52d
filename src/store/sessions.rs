//! The web console's sign-in state: sessions (keyed by the SHA-256 of the
//! session id, so the data files never hold a usable cookie) and the
//! counts of wrong passwords per login name and per peer address that
//! the sign-in throttle reads.
//!
//! Both trees are opened on first use; what the values mean (idle expiry,
//! backoff) is decided by `console`, not here.

use serde::{Deserialize, Serialize};

use super::{codec, Result, Store};
use crate::ids::{UserId, UserRef};

const SESSIONS: &str = "sessions";
const FAILURES: &str = "signin_failures";

/// Who a console session belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionOwner {
    /// A tenant user.
    User(UserRef),
    /// A local admin.
    Admin(UserId),
}

/// One signed-in console session.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// Who signed in.
    pub owner: SessionOwner,
    /// The per-session CSRF token (hex) every form carries.
    pub csrf: String,
    /// Unix seconds of the sign-in.
    pub created: i64,
    /// Unix seconds of the last request (idle expiry).
    pub last_seen: i64,
    /// The browser's IANA time zone, if its script reported one.
    pub display_tz: Option<String>,
}

impl std::fmt::Debug for SessionRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionRecord")
            .field("owner", &self.owner)
            .field("csrf", &"<redacted>")
            .field("created", &self.created)
            .field("last_seen", &self.last_seen)
            .finish_non_exhaustive()
    }
}

/// Wrong passwords counted under one key (a login name or a peer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct FailureRecord {
    /// Wrong passwords in a row.
    pub count: u32,
    /// Unix milliseconds of the last one.
    pub last_ms: i64,
}

impl Store {
    fn tree(&self, name: &'static str) -> Result<sled::Tree> {
        Ok(self.db.open_tree(name)?)
    }

    /// Stores (or replaces) a session under the hash of its id.
    pub fn put_session(&self, key: &[u8; 32], rec: &SessionRecord) -> Result<()> {
        self.tree(SESSIONS)?.insert(key, codec::encode(rec)?)?;
        Ok(())
    }

    /// A session by the hash of its id.
    pub fn session(&self, key: &[u8; 32]) -> Result<Option<SessionRecord>> {
        self.tree(SESSIONS)?
            .get(key)?
            .map(|v| codec::decode(SESSIONS, &v))
            .transpose()
    }

    /// Ends a session.
    pub fn delete_session(&self, key: &[u8; 32]) -> Result<()> {
        self.tree(SESSIONS)?.remove(key)?;
        Ok(())
    }

    /// Removes sessions idle since before `idle_before` (unix seconds), and
    /// undecodable ones. Returns how many went.
    pub fn expire_sessions(&self, idle_before: i64) -> Result<usize> {
        let tree = self.tree(SESSIONS)?;
        let mut gone = 0;
        for kv in tree.iter() {
            let (k, v) = kv?;
            let stale = codec::decode::<SessionRecord>(SESSIONS, &v)
                .map_or(true, |s| s.last_seen < idle_before);
            if stale {
                tree.remove(k)?;
                gone += 1;
            }
        }
        Ok(gone)
    }

    /// Ends every session of an owner (e.g. after their password changed).
    pub fn delete_sessions_of(&self, owner: &SessionOwner) -> Result<usize> {
        let tree = self.tree(SESSIONS)?;
        let mut gone = 0;
        for kv in tree.iter() {
            let (k, v) = kv?;
            if codec::decode::<SessionRecord>(SESSIONS, &v).is_ok_and(|s| &s.owner == owner) {
                tree.remove(k)?;
                gone += 1;
            }
        }
        Ok(gone)
    }

    /// The wrong passwords counted under `key`.
    pub fn signin_failures(&self, key: &str) -> Result<FailureRecord> {
        Ok(self
            .tree(FAILURES)?
            .get(key.as_bytes())?
            .map(|v| codec::decode(FAILURES, &v))
            .transpose()?
            .unwrap_or_default())
    }

    /// Replaces the count under `key`; a zero count removes it.
    pub fn put_signin_failures(&self, key: &str, rec: &FailureRecord) -> Result<()> {
        let tree = self.tree(FAILURES)?;
        if rec.count == 0 {
            tree.remove(key.as_bytes())?;
        } else {
            tree.insert(key.as_bytes(), codec::encode(rec)?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::TenantId;

    fn rec(last_seen: i64) -> SessionRecord {
        SessionRecord {
            owner: SessionOwner::User(UserRef::new(
                &TenantId::new("t").unwrap(),
                &UserId::new("u").unwrap(),
            )),
            csrf: "c".into(),
            created: 1,
            last_seen,
            display_tz: None,
        }
    }

    #[test]
    fn sessions_round_trip_and_expire() {
        let s = Store::temporary().unwrap();
        s.put_session(&[1; 32], &rec(100)).unwrap();
        s.put_session(&[2; 32], &rec(200)).unwrap();
        assert_eq!(s.session(&[1; 32]).unwrap(), Some(rec(100)));
        assert_eq!(s.expire_sessions(150).unwrap(), 1);
        assert_eq!(s.session(&[1; 32]).unwrap(), None);
        assert!(s.session(&[2; 32]).unwrap().is_some());
        assert_eq!(s.delete_sessions_of(&rec(0).owner).unwrap(), 1);
        assert_eq!(s.session(&[2; 32]).unwrap(), None);
        assert!(!format!("{:?}", rec(1)).contains("\"c\""));
    }

    #[test]
    fn failures_count_and_clear() {
        let s = Store::temporary().unwrap();
        assert_eq!(s.signin_failures("login:x").unwrap().count, 0);
        let f = FailureRecord {
            count: 3,
            last_ms: 9,
        };
        s.put_signin_failures("login:x", &f).unwrap();
        assert_eq!(s.signin_failures("login:x").unwrap(), f);
        s.put_signin_failures("login:x", &FailureRecord::default())
            .unwrap();
        assert_eq!(s.signin_failures("login:x").unwrap().count, 0);
    }
}
