//! Local HTTP Basic authentication -> `Principal`.
//!
//! Login names are `user@tenant` (or `tenant/user`, or a bare `user` when it
//! names exactly one user). Passwords are checked with argon2 off the async
//! threads; a verified header is cached (keyed by its SHA-256, never the
//! text) so a client's every request does not pay for argon2.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::ids::{TenantId, UserId};
use crate::secret::Secret;
use crate::store::Store;

/// A signed-in local user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user's tenant.
    pub tenant: TenantId,
    /// The user.
    pub user: UserId,
}

/// SHA-256 of an `Authorization` header value -> who it proved, and when.
type Verified = HashMap<[u8; 32], (Principal, Instant)>;

/// Cache of verified Authorization headers.
#[derive(Clone)]
pub struct AuthCache {
    ttl: Duration,
    inner: Arc<Mutex<Verified>>,
}

impl AuthCache {
    /// An empty cache whose entries live `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            inner: Arc::default(),
        }
    }

    fn get(&self, key: &[u8; 32]) -> Option<Principal> {
        let map = self.inner.lock().ok()?;
        let (p, at) = map.get(key)?;
        (at.elapsed() < self.ttl).then(|| p.clone())
    }

    fn put(&self, key: [u8; 32], p: Principal) {
        if let Ok(mut map) = self.inner.lock() {
            if map.len() > 10_000 {
                map.retain(|_, (_, at)| at.elapsed() < self.ttl);
            }
            map.insert(key, (p, Instant::now()));
        }
    }

    /// Forgets every cached credential (after a password change).
    pub fn clear(&self) {
        if let Ok(mut map) = self.inner.lock() {
            map.clear();
        }
    }
}

/// Hashes a new local password (argon2id, random salt) into a PHC string.
pub fn hash_password(password: &Secret<String>) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Ok(Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)?
        .to_string())
}

fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
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
fn resolve_login(store: &Store, login: &str) -> Option<Principal> {
    let pair = login
        .split_once('@')
        .map(|(u, t)| (t, u))
        .or_else(|| login.split_once('/'));
    if let Some((t, u)) = pair {
        let tenant = TenantId::new(t).ok()?;
        let user = UserId::new(u).ok()?;
        return Some(Principal { tenant, user });
    }
    let user = UserId::new(login).ok()?;
    let mut found = None;
    for tenant in store.tenants().ok()? {
        if store.user(&tenant, &user).ok()?.is_some() {
            if found.is_some() {
                return None; // ambiguous: the client must say user@tenant
            }
            found = Some(Principal {
                tenant,
                user: user.clone(),
            });
        }
    }
    found
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
) -> Option<Principal> {
    let header = header?;
    let key: [u8; 32] = Sha256::digest(header.as_bytes()).into();
    if let Some(p) = cache.get(&key) {
        return Some(p);
    }
    let creds = parse_basic(header)?;
    let store2 = store.clone();
    let principal = tokio::task::spawn_blocking(move || {
        let p = resolve_login(&store2, &creds.login)?;
        let rec = store2.user(&p.tenant, &p.user).ok()??;
        verify(creds.password.expose(), &rec.password_hash).then_some(p)
    })
    .await
    .ok()??;
    cache.put(key, principal.clone());
    Some(principal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify() {
        let h = hash_password(&Secret::new("pw".into())).unwrap();
        assert!(verify("pw", &h));
        assert!(!verify("nope", &h));
        assert!(!verify("pw", "not a phc string"));
    }

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
