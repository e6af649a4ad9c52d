//! Local HTTP Basic authentication -> a tenant user (`UserRef`) or a local
//! admin.
//!
//! Login names are `user@tenant` (or `tenant/user`, or a bare `user` when it
//! names exactly one user). Passwords are checked with argon2 off the async
//! threads; a verified header is cached (keyed by its SHA-256, never the
//! text) together with a hash of the PHC string it was checked against, so
//! a client's every request does not pay for argon2 and a changed password
//! takes effect at once (the cached entry no longer matches the record).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::accounts::resolve_login;
use crate::crypto::verify_password as verify;
use crate::ids::{UserId, UserRef};
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
pub struct AuthCache {
    ttl: Duration,
    inner: Arc<Mutex<HashMap<[u8; 32], Verified>>>,
}

impl AuthCache {
    /// An empty cache whose entries live `ttl`.
    pub fn new(ttl: Duration) -> Self {
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

/// Checks an `Authorization` header against the local admins (not tenant
/// users). Returns the admin's name.
pub async fn authenticate_admin(store: &Store, header: Option<&str>) -> Option<UserId> {
    let creds = parse_basic(header?)?;
    let name = UserId::new(creds.login.clone()).ok()?;
    let store2 = store.clone();
    let n2 = name.clone();
    let ok = tokio::task::spawn_blocking(move || {
        let hash = store2.admin_hash(&n2).ok()??;
        Some(verify(creds.password.expose(), &hash))
    })
    .await
    .ok()??;
    ok.then_some(name)
}

/// Checks an `Authorization` header. `None` = not authenticated.
pub async fn authenticate(
    store: &Store,
    cache: &AuthCache,
    header: Option<&str>,
) -> Option<UserRef> {
    let header = header?;
    let key: [u8; 32] = Sha256::digest(header.as_bytes()).into();
    if let Some(p) = cache.get(&key, store) {
        return Some(p);
    }
    let creds = parse_basic(header)?;
    let store2 = store.clone();
    let (who, phc) = tokio::task::spawn_blocking(move || {
        let p = resolve_login(&store2, &creds.login)?;
        let rec = store2.user(&p.tenant, &p.user).ok()??;
        verify(creds.password.expose(), &rec.password_hash).then_some((p, rec.password_hash))
    })
    .await
    .ok()??;
    cache.put(key, who.clone(), &phc);
    Some(who)
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
