//! Local HTTP Basic authentication -> a tenant user (`UserRef`) or a local
//! admin.
//!
//! Login names are `user@tenant` (or `tenant/user`, or a bare `user` when it
//! names exactly one user). Passwords are checked with argon2 on the
//! bounded pool of `hashing` (identical checks in flight share one hash);
//! a verified header is cached (keyed by its SHA-256, never the text)
//! together with a hash of the PHC string it was checked against, so a
//! client's every request does not pay for argon2 and a changed password
//! takes effect at once (the cached entry no longer matches the record).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::hashing::Hasher;
use crate::config::Limits;
use crate::crypto::verify_password as verify;
use crate::ids::{TenantId, UserId, UserRef};
use crate::metrics::Metrics;
use crate::secret::Secret;
use crate::store::Store;

/// A verified header: who it proved, against which password, and when.
struct Verified {
    who: UserRef,
    phc: [u8; 32],
    at: Instant,
}

fn phc_id(phc: &str) -> [u8; 32] {
    Sha256::digest(phc.as_bytes()).into()
}

/// Cache of verified Authorization headers.
#[derive(Clone)]
struct AuthCache {
    ttl: Duration,
    inner: Arc<Mutex<HashMap<[u8; 32], Verified>>>,
}

impl AuthCache {
    /// An empty cache whose entries live `ttl`.
    fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            inner: Arc::default(),
        }
    }

    /// The cached user of a header, if the entry is fresh and the user's
    /// password is still the one it was checked against.
    fn get(&self, key: &[u8; 32], store: &Store) -> Option<UserRef> {
        let (who, phc) = {
            let map = self.inner.lock().ok()?;
            let v = map.get(key)?;
            if v.at.elapsed() >= self.ttl {
                return None;
            }
            (v.who.clone(), v.phc)
        };
        let rec = store.user(&who.tenant, &who.user).ok()??;
        (phc_id(&rec.password_hash) == phc).then_some(who)
    }

    fn put(&self, key: [u8; 32], who: UserRef, phc: &str) {
        if let Ok(mut map) = self.inner.lock() {
            if map.len() > 10_000 {
                map.retain(|_, v| v.at.elapsed() < self.ttl);
            }
            map.insert(
                key,
                Verified {
                    who,
                    phc: phc_id(phc),
                    at: Instant::now(),
                },
            );
        }
    }
}

struct Credentials {
    login: String,
    password: Secret<String>,
}

fn parse_basic(header: &str) -> Option<Credentials> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (login, password) = text.split_once(':')?;
    Some(Credentials {
        login: login.to_string(),
        password: Secret::new(password.to_string()),
    })
}

/// Resolves a login name to (tenant, user).
fn resolve_login(store: &Store, login: &str) -> Option<UserRef> {
    let pair = login
        .split_once('@')
        .map(|(u, t)| (t, u))
        .or_else(|| login.split_once('/'));
    if let Some((t, u)) = pair {
        let tenant = TenantId::new(t).ok()?;
        let user = UserId::new(u).ok()?;
        return Some(UserRef { tenant, user });
    }
    let user = UserId::new(login).ok()?;
    let mut found = None;
    for tenant in store.tenants().ok()? {
        if store.user(&tenant, &user).ok()?.is_some() {
            if found.is_some() {
                return None; // ambiguous: the client must say user@tenant
            }
            found = Some(UserRef {
                tenant,
                user: user.clone(),
            });
        }
    }
    found
}

/// Why a sign-in did not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// No, malformed or wrong credentials (401).
    Unauthenticated,
    /// Every hash slot and queue place is taken (503, `Retry-After`).
    Busy(Duration),
}

/// What a password check proved (shared by identical checks in flight).
#[derive(Clone)]
enum Proof {
    User { who: UserRef, phc: String },
    Admin(UserId),
    Nothing,
}

/// The transport's sign-in machinery: the cache of verified headers and
/// the bounded hashing pool. Cheap to clone.
#[derive(Clone)]
pub struct Auth {
    cache: AuthCache,
    hasher: Arc<Hasher<Proof>>,
}

/// The single-flight key of a header checked for `purpose`.
fn flight_key(purpose: &[u8], header: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(purpose);
    h.update([0]);
    h.update(header.as_bytes());
    h.finalize().into()
}

impl Auth {
    /// A cache and a hashing pool sized by `limits`.
    pub fn new(limits: &Limits, metrics: Arc<Metrics>) -> std::io::Result<Self> {
        Ok(Self {
            cache: AuthCache::new(limits.auth_cache_ttl),
            hasher: Arc::new(Hasher::start(
                limits.max_concurrent_hashes,
                limits.hash_queue,
                metrics,
            )?),
        })
    }

    /// Checks an `Authorization` header against the tenant users.
    pub async fn user(&self, store: &Store, header: Option<&str>) -> Result<UserRef, Denied> {
        let header = header.ok_or(Denied::Unauthenticated)?;
        let key: [u8; 32] = Sha256::digest(header.as_bytes()).into();
        if let Some(p) = self.cache.get(&key, store) {
            return Ok(p);
        }
        let creds = parse_basic(header).ok_or(Denied::Unauthenticated)?;
        let store2 = store.clone();
        let proof = self
            .hasher
            .run(flight_key(b"user", header), move || {
                let Some(p) = resolve_login(&store2, &creds.login) else {
                    return Proof::Nothing;
                };
                let Some(rec) = store2.user(&p.tenant, &p.user).ok().flatten() else {
                    return Proof::Nothing;
                };
                if verify(creds.password.expose(), &rec.password_hash) {
                    Proof::User {
                        who: p,
                        phc: rec.password_hash,
                    }
                } else {
                    Proof::Nothing
                }
            })
            .await
            .map_err(|b| Denied::Busy(b.retry_after))?;
        match proof {
            Proof::User { who, phc } => {
                self.cache.put(key, who.clone(), &phc);
                Ok(who)
            }
            Proof::Admin(_) | Proof::Nothing => Err(Denied::Unauthenticated),
        }
    }

    /// Checks an `Authorization` header against the local admins (not
    /// tenant users). Returns the admin's name.
    pub async fn admin(&self, store: &Store, header: Option<&str>) -> Result<UserId, Denied> {
        let header = header.ok_or(Denied::Unauthenticated)?;
        let creds = parse_basic(header).ok_or(Denied::Unauthenticated)?;
        let name = UserId::new(creds.login.clone()).map_err(|_| Denied::Unauthenticated)?;
        let store2 = store.clone();
        let proof = self
            .hasher
            .run(flight_key(b"admin", header), move || {
                match store2.admin_hash(&name).ok().flatten() {
                    Some(hash) if verify(creds.password.expose(), &hash) => Proof::Admin(name),
                    _ => Proof::Nothing,
                }
            })
            .await
            .map_err(|b| Denied::Busy(b.retry_after))?;
        match proof {
            Proof::Admin(name) => Ok(name),
            Proof::User { .. } | Proof::Nothing => Err(Denied::Unauthenticated),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_header_parsing() {
        let c = parse_basic("Basic ZGVtbzpkZW1v").unwrap();
        assert_eq!(c.login, "demo");
        assert_eq!(c.password.expose(), "demo");
        assert!(parse_basic("Bearer abc").is_none());
        assert!(parse_basic("Basic !!!").is_none());
        assert!(parse_basic("Basic ZGVtbw==").is_none()); // no colon
    }
}
