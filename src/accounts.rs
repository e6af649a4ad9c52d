//! Provisioning: tenants, users and their standard collections
//! (`primary`, `blocked`, `availability`), and conflict-source collections.

use crate::crypto::hash_password;
use crate::ids::{CalendarId, TenantId, UserId, UserRef};
use crate::secret::Secret;
use crate::store::{
    self, CollectionKey, CollectionKind, CollectionRecord, Privacy, Store, TenantRecord, UserRecord,
};

/// Errors while provisioning.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store failed.
    #[error("storage failed")]
    Store(#[from] store::Error),
    /// The password could not be hashed.
    #[error("password hashing failed")]
    Hash(#[from] crate::crypto::HashError),
    /// A built-in collection name did not validate (a bug).
    #[error("invalid built-in collection name")]
    BadName(#[from] crate::ids::IdError),
    /// A new local password is too short to resist guessing.
    #[error("the password is too short: use at least {min} characters")]
    PasswordTooShort {
        /// The minimum, in characters.
        min: usize,
    },
}

/// The shortest local password `user add` and `admin add` accept (NIST
/// SP 800-63B's minimum for chosen passwords; issue 12 #5).
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Checks a new local password chosen through a command (`user add`,
/// `admin add`): at least [`MIN_PASSWORD_CHARS`] characters.
pub fn check_new_password(password: &Secret<String>) -> Result<(), Error> {
    if password.expose().chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::PasswordTooShort {
            min: MIN_PASSWORD_CHARS,
        });
    }
    Ok(())
}

/// The standard collections every user has.
pub const STANDARD: &[(&str, CollectionKind, &str)] = &[
    ("primary", CollectionKind::Primary, "Primary"),
    ("blocked", CollectionKind::Blocked, "Blocked slots"),
    ("availability", CollectionKind::Availability, "Availability"),
];

/// Creates the tenant if needed, the user (or resets their password), and
/// the standard collections. Returns true when the user was new. The
/// password is not judged here (the demo's is `demo`): commands call
/// [`check_new_password`] first.
pub fn add_user(
    store: &Store,
    tenant: &TenantId,
    user: &UserId,
    password: &Secret<String>,
) -> Result<bool, Error> {
    if store.tenant(tenant)?.is_none() {
        store.put_tenant(
            tenant,
            &TenantRecord {
                display_name: tenant.to_string(),
            },
        )?;
    }
    let hash = hash_password(password)?;
    let existing = store.user(tenant, user)?;
    let created = existing.is_none();
    let rec = match existing {
        Some(mut r) => {
            r.password_hash = hash;
            r
        }
        None => UserRecord {
            password_hash: hash,
            display_name: user.to_string(),
            timezone: "UTC".into(),
            privacy: Privacy::default(),
            feed_token: None,
            addresses: Vec::new(),
        },
    };
    store.put_user(tenant, user, &rec)?;
    for (name, kind, display) in STANDARD {
        let key = CollectionKey::new(tenant, user, &CalendarId::new(*name)?);
        store.ensure_collection(&key, &CollectionRecord::new(kind.clone(), *display))?;
    }
    Ok(created)
}

/// Creates a read-only conflict-source collection for a user.
pub fn add_source(
    store: &Store,
    tenant: &TenantId,
    user: &UserId,
    calendar: &CalendarId,
    display: &str,
    color: Option<&str>,
) -> Result<CollectionKey, Error> {
    let key = CollectionKey::new(tenant, user, calendar);
    let mut rec = CollectionRecord::new(CollectionKind::Source, display);
    rec.color = color.map(str::to_string);
    store.ensure_collection(&key, &rec)?;
    Ok(key)
}

/// A user's feed token: the existing one, or a new one when there is none
/// or `rotate` is set (the old token then stops working: `put_user` drops
/// it from the feed index in the same transaction). `None`: no such user.
pub fn feed_token(
    store: &Store,
    tenant: &TenantId,
    user: &UserId,
    rotate: bool,
) -> Result<Option<crate::ids::FeedToken>, Error> {
    let Some(mut rec) = store.user(tenant, user)? else {
        return Ok(None);
    };
    if let (Some(stored), false) = (&rec.feed_token, rotate) {
        return Ok(Some(store.open_feed_token(stored)?));
    }
    // 256 random bits, hex: URL-safe and unguessable.
    let tok = crate::ids::FeedToken::new(hex::encode(rand::random::<[u8; 32]>()))?;
    rec.feed_token = Some(store.seal_feed_token(&tok)?);
    store.put_user(tenant, user, &rec)?;
    Ok(Some(tok))
}

/// Resolves a login name to a tenant user: `user@tenant`, `tenant/user`,
/// or a bare `user` when it names exactly one user (Basic auth and the
/// console's sign-in share this rule). `None` when it names nobody.
pub fn resolve_login(store: &Store, login: &str) -> Option<UserRef> {
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
