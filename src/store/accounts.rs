//! Tenants, users and local admins: their records, and the feed-token
//! index kept in step with the users (a token is found by its SHA-256 and
//! stored sealed).

use sled::Transactional as _;

use super::{
    codec, keys, tx_err, Change, Error, Result, SealedToken, Sealer, Store, TenantRecord,
    UserRecord,
};
use crate::ids::{FeedToken, TenantId, UserId, UserRef};

/// The `feeds` key of a token: its SHA-256.
fn feed_digest(token: &FeedToken) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(token.expose().as_bytes()).into()
}

/// A feed token sealed under `sealer`, with its digest.
pub(super) fn seal_token(sealer: &Sealer, token: &FeedToken) -> Result<SealedToken> {
    Ok(SealedToken {
        sealed: sealer.seal(&crate::secret::Secret::new(token.expose().to_string()))?,
        digest: feed_digest(token),
    })
}

impl Store {
    /// Creates or replaces a tenant.
    pub fn put_tenant(&self, id: &TenantId, rec: &TenantRecord) -> Result<()> {
        self.tenants.insert(keys::tenant(id), codec::encode(rec)?)?;
        Ok(())
    }

    /// A tenant, if it exists.
    pub fn tenant(&self, id: &TenantId) -> Result<Option<TenantRecord>> {
        self.tenants
            .get(keys::tenant(id))?
            .map(|v| codec::decode("tenants", &v))
            .transpose()
    }

    /// Every tenant id.
    pub fn tenants(&self) -> Result<Vec<TenantId>> {
        self.tenants
            .iter()
            .keys()
            .map(|k| {
                let k = k?;
                std::str::from_utf8(&k)
                    .ok()
                    .and_then(|s| TenantId::new(s).ok())
                    .ok_or(Error::BadKey { tree: "tenants" })
            })
            .collect()
    }

    /// Creates or replaces a user (and keeps the feed index in step).
    pub fn put_user(&self, t: &TenantId, u: &UserId, rec: &UserRecord) -> Result<()> {
        let old = self.user(t, u)?;
        let value = codec::encode(rec)?;
        let owner = keys::user(t, u);
        (&self.users, &self.feeds)
            .transaction(|(users, feeds)| {
                if let Some(tok) = old.as_ref().and_then(|o| o.feed_token.as_ref()) {
                    feeds.remove(&tok.digest[..])?;
                }
                if let Some(tok) = &rec.feed_token {
                    feeds.insert(&tok.digest[..], owner.as_slice())?;
                }
                users.insert(owner.as_slice(), value.as_slice())?;
                Ok(())
            })
            .map_err(tx_err)?;
        self.changed(Change::User(UserRef::new(t, u)));
        Ok(())
    }

    /// A feed token as stored: sealed, with its digest.
    pub fn seal_feed_token(&self, token: &FeedToken) -> Result<SealedToken> {
        seal_token(&self.sealer, token)
    }

    /// The token a [`SealedToken`] holds.
    pub fn open_feed_token(&self, stored: &SealedToken) -> Result<FeedToken> {
        let plain = self.sealer.open(&stored.sealed)?;
        FeedToken::new(plain.expose().as_str()).map_err(|_| Error::Seal)
    }

    /// A user, if it exists.
    pub fn user(&self, t: &TenantId, u: &UserId) -> Result<Option<UserRecord>> {
        self.users
            .get(keys::user(t, u))?
            .map(|v| codec::decode("users", &v))
            .transpose()
    }

    /// Every user id of a tenant.
    pub fn users(&self, t: &TenantId) -> Result<Vec<UserId>> {
        let prefix = keys::users_of(t);
        self.users
            .scan_prefix(&prefix)
            .keys()
            .map(|k| {
                let k = k?;
                keys::suffix(&k, &prefix)
                    .and_then(|s| UserId::new(s).ok())
                    .ok_or(Error::BadKey { tree: "users" })
            })
            .collect()
    }

    /// Creates or replaces a local admin (for `/debug/…`); never a tenant user.
    pub fn put_admin(&self, name: &UserId, password_hash: &str) -> Result<()> {
        self.admins.insert(
            name.as_str().as_bytes(),
            codec::encode(&password_hash.to_string())?,
        )?;
        Ok(())
    }

    /// A local admin's password hash.
    pub fn admin_hash(&self, name: &UserId) -> Result<Option<String>> {
        self.admins
            .get(name.as_str().as_bytes())?
            .map(|v| codec::decode("admins", &v))
            .transpose()
    }

    /// The owner of a feed token: looked up by its digest, then the
    /// owner's record must hold the same digest (compared in constant time).
    pub fn feed_owner(&self, token: &FeedToken) -> Result<Option<UserRef>> {
        use subtle::ConstantTimeEq as _;
        let digest = feed_digest(token);
        let Some(v) = self.feeds.get(digest)? else {
            return Ok(None);
        };
        let s = std::str::from_utf8(&v).map_err(|_| Error::BadKey { tree: "feeds" })?;
        let (t, u) = s.split_once('\0').ok_or(Error::BadKey { tree: "feeds" })?;
        let (Ok(tenant), Ok(user)) = (TenantId::new(t), UserId::new(u)) else {
            return Err(Error::BadKey { tree: "feeds" });
        };
        let holds = self
            .user(&tenant, &user)?
            .and_then(|rec| rec.feed_token)
            .is_some_and(|tok| bool::from(tok.digest.ct_eq(&digest)));
        Ok(holds.then_some(UserRef { tenant, user }))
    }
}
