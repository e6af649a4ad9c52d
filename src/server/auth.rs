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
//! Failed checks are throttled per user and per address (`throttle`), and
//! an unknown user's password is verified against a dummy hash, so that
//! neither speed nor answer tells which users exist.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::throttle::{Key, Throttle};
use crate::accounts::resolve_login;
use crate::config::Limits;
use crate::crypto::verify_password as verify;
use crate::ids::{UserId, UserRef};
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

/// Whether an `Authorization: Bearer <token>` header carries the token
/// whose SHA-256 is `want` (compared in constant time).
pub fn bearer_matches(header: Option<&str>, want: &[u8; 32]) -> bool {
    use subtle::ConstantTimeEq as _;
    let Some((scheme, token)) = header.and_then(|h| h.trim().split_once(' ')) else {
        return false;
    };
    let got: [u8; 32] = Sha256::digest(token.trim().as_bytes()).into();
    scheme.eq_ignore_ascii_case("bearer") && bool::from(got.ct_eq(want))
}

/// Why a sign-in did not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// No, malformed or wrong credentials (401).
    Unauthenticated,
    /// Every hash slot and queue place is taken (503, `Retry-After`).
    Busy(Duration),
    /// Too many failures for this user or address (429, `Retry-After`).
    Throttled(Duration),
}

/// The transport's sign-in machinery: the cache of verified headers, the
/// bounded hashing pool and the failure throttle. Cheap to clone.
#[derive(Clone)]
pub struct Auth {
    cache: AuthCache,
    hasher: Arc<crate::crypto::Hasher<bool>>,
    throttle: Arc<Throttle>,
    metrics: Arc<Metrics>,
}

/// The single-flight key of a header checked for `purpose`.
fn flight_key(purpose: &[u8], header: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(purpose);
    h.update([0]);
    h.update(header.as_bytes());
    h.finalize().into()
}

/// A PHC string of a random password, with the parameters real ones get:
/// an unknown user's password is verified against it, so that failing for
/// an unknown user costs what failing for a known one does (issue 12 #5).
fn dummy_phc() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let random = Secret::new(hex::encode(rand::random::<[u8; 16]>()));
        crate::crypto::hash_password(&random).unwrap_or_default()
    })
}

impl Auth {
    /// A cache and a throttle sized by `limits`, checking passwords on the
    /// process's hashing pool (`App::hashes`, shared with the console).
    pub fn new(
        limits: &Limits,
        metrics: Arc<Metrics>,
        hasher: Arc<crate::crypto::Hasher<bool>>,
    ) -> Self {
        Self {
            cache: AuthCache::new(limits.auth_cache_ttl),
            hasher,
            throttle: Arc::new(Throttle::new(
                limits.auth_free_failures,
                limits.auth_backoff_max,
            )),
            metrics,
        }
    }

    /// Verifies `password` against `phc` (or the dummy) on the pool;
    /// `true` when it matched. Counts failures and successes for `keys`.
    /// `matched` runs inside the flight when the password matched, before
    /// the flight's waiters are released: a cache filled there is seen by
    /// every request arriving after the flight ends (filled afterwards, a
    /// request in between found neither and hashed again).
    async fn verify(
        &self,
        flight: [u8; 32],
        keys: &[Key],
        password: Secret<String>,
        phc: Option<String>,
        count: bool,
        matched: impl FnOnce() + Send + 'static,
    ) -> Result<(), Denied> {
        let metrics = self.metrics.clone();
        let ok = self
            .hasher
            .run(flight, move || {
                let ok = match &phc {
                    Some(phc) => verify(password.expose(), phc),
                    None => {
                        let _ = verify(password.expose(), dummy_phc());
                        false
                    }
                };
                metrics.record_password_hash();
                if ok {
                    matched();
                }
                ok
            })
            .await
            .map_err(|b| Denied::Busy(b.retry_after))?;
        match (ok, count) {
            (true, true) => self.throttle.succeeded(keys),
            (false, true) => self.throttle.failed(keys, Instant::now()),
            (_, false) => {}
        }
        if ok {
            Ok(())
        } else {
            Err(Denied::Unauthenticated)
        }
    }

    /// Checks an `Authorization` header from `peer` against the tenant users.
    pub async fn user(
        &self,
        store: &Store,
        header: Option<&str>,
        peer: IpAddr,
    ) -> Result<UserRef, Denied> {
        self.check_user(store, header, peer, true).await
    }

    /// [`user`](Self::user) without throttling: for telling a known user
    /// from a stranger after a failed admin sign-in (already counted).
    pub async fn user_uncounted(
        &self,
        store: &Store,
        header: Option<&str>,
        peer: IpAddr,
    ) -> Result<UserRef, Denied> {
        self.check_user(store, header, peer, false).await
    }

    async fn check_user(
        &self,
        store: &Store,
        header: Option<&str>,
        peer: IpAddr,
        count: bool,
    ) -> Result<UserRef, Denied> {
        let header = header.ok_or(Denied::Unauthenticated)?;
        let key: [u8; 32] = Sha256::digest(header.as_bytes()).into();
        if let Some(p) = self.cache.get(&key, store) {
            return Ok(p);
        }
        let creds = parse_basic(header).ok_or(Denied::Unauthenticated)?;
        let known = resolve_login(store, &creds.login).and_then(|who| {
            let rec = store.user(&who.tenant, &who.user).ok()??;
            Some((who, rec.password_hash))
        });
        let name = match &known {
            Some((who, _)) => format!("{}@{}", who.user, who.tenant),
            None => format!("unknown:{}", creds.login.to_lowercase()),
        };
        let keys = [Key::Login(name), Key::address(peer)];
        if count {
            self.throttle
                .check(&keys, Instant::now())
                .map_err(Denied::Throttled)?;
        }
        let phc = known.as_ref().map(|(_, phc)| phc.clone());
        let cache = self.cache.clone();
        let remember = known.clone();
        self.verify(
            flight_key(b"user", header),
            &keys,
            creds.password,
            phc,
            count,
            move || {
                if let Some((who, phc)) = remember {
                    cache.put(key, who, &phc);
                }
            },
        )
        .await?;
        match known {
            Some((who, _)) => Ok(who),
            None => Err(Denied::Unauthenticated),
        }
    }

    /// Checks an `Authorization` header from `peer` against the local
    /// admins (not tenant users). Returns the admin's name.
    pub async fn admin(
        &self,
        store: &Store,
        header: Option<&str>,
        peer: IpAddr,
    ) -> Result<UserId, Denied> {
        let header = header.ok_or(Denied::Unauthenticated)?;
        let creds = parse_basic(header).ok_or(Denied::Unauthenticated)?;
        let name = UserId::new(creds.login.clone()).ok();
        let phc = name
            .as_ref()
            .and_then(|n| store.admin_hash(n).ok().flatten());
        let keys = [
            Key::Login(format!("admin:{}", creds.login.to_lowercase())),
            Key::address(peer),
        ];
        self.throttle
            .check(&keys, Instant::now())
            .map_err(Denied::Throttled)?;
        let known = phc.is_some();
        self.verify(
            flight_key(b"admin", header),
            &keys,
            creds.password,
            phc,
            true,
            || {},
        )
        .await?;
        match (name, known) {
            (Some(name), true) => Ok(name),
            _ => Err(Denied::Unauthenticated),
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

    #[test]
    fn bearer_tokens_match_by_their_digest() {
        let want: [u8; 32] = Sha256::digest(b"tok-1").into();
        assert!(bearer_matches(Some("Bearer tok-1"), &want));
        assert!(bearer_matches(Some("bearer  tok-1 "), &want));
        assert!(!bearer_matches(Some("Bearer tok-2"), &want));
        assert!(!bearer_matches(Some("Basic dG9rLTE="), &want));
        assert!(!bearer_matches(None, &want));
    }
}
