//! Newtypes for every identifier and token that crosses a layer.
//!
//! Owns validation of names that come from outside (URL segments, UIDs,
//! ETags). Depends on nothing else in the crate.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a string was refused as an identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The value was empty.
    #[error("{kind} is empty")]
    Empty {
        /// Which identifier kind.
        kind: &'static str,
    },
    /// The value was longer than allowed.
    #[error("{kind} is longer than {max} bytes")]
    TooLong {
        /// Which identifier kind.
        kind: &'static str,
        /// The limit.
        max: usize,
    },
    /// The value holds a character that is not allowed.
    #[error("{kind} contains a character that is not allowed")]
    BadChar {
        /// Which identifier kind.
        kind: &'static str,
    },
}

fn check_slug(kind: &'static str, s: &str, max: usize) -> Result<(), IdError> {
    if s.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if s.len() > max {
        return Err(IdError::TooLong { kind, max });
    }
    let ok = s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && s != "."
        && s != "..";
    if !ok {
        return Err(IdError::BadChar { kind });
    }
    Ok(())
}

macro_rules! slug_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps a value (ASCII letters, digits, `-`, `_`, `.`).
            pub fn new(s: impl Into<String>) -> Result<Self, IdError> {
                let s = s.into();
                check_slug($kind, &s, $max)?;
                Ok(Self(s))
            }
            /// The value as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                Self::new(s)
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::new(s)
            }
        }
    };
}

slug_id!(
    /// A tenant ("subaccount"): an isolated namespace, one URL segment.
    TenantId, "tenant id", 64
);
slug_id!(
    /// A user inside a tenant, one URL segment.
    UserId, "user id", 64
);
slug_id!(
    /// One iCloud (or other upstream) connection.
    ConnectionId, "connection id", 64
);
slug_id!(
    /// A local calendar collection under a user's home (`primary`, `blocked`, …).
    CalendarId, "calendar id", 128
);

/// The last path segment of a calendar object (`<name>.ics`), percent-decoded.
///
/// Clients name objects after UIDs, so anything printable except `/` is
/// allowed; hrefs percent-encode it again.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObjectName(String);

impl ObjectName {
    /// Validates and wraps a decoded path segment.
    pub fn new(s: impl Into<String>) -> Result<Self, IdError> {
        let s = s.into();
        let kind = "object name";
        if s.is_empty() {
            return Err(IdError::Empty { kind });
        }
        if s.len() > 512 {
            return Err(IdError::TooLong { kind, max: 512 });
        }
        if s == "." || s == ".." || s.contains('/') || s.chars().any(char::is_control) {
            return Err(IdError::BadChar { kind });
        }
        Ok(Self(s))
    }
    /// The decoded name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ObjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An iCalendar `UID`. Any non-empty text without control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EventUid(String);

impl EventUid {
    /// Validates and wraps a UID.
    pub fn new(s: impl Into<String>) -> Result<Self, IdError> {
        let s = s.into();
        if s.is_empty() {
            return Err(IdError::Empty { kind: "uid" });
        }
        if s.len() > 1024 {
            return Err(IdError::TooLong {
                kind: "uid",
                max: 1024,
            });
        }
        if s.chars().any(char::is_control) {
            return Err(IdError::BadChar { kind: "uid" });
        }
        Ok(Self(s))
    }
    /// The UID text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventUid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A user of a tenant: who is signed in, who owns a collection. Shown as
/// `user@tenant`, the login name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UserRef {
    /// The tenant.
    pub tenant: TenantId,
    /// The user inside it.
    pub user: UserId,
}

impl UserRef {
    /// Builds a reference from its parts.
    pub fn new(tenant: &TenantId, user: &UserId) -> Self {
        Self {
            tenant: tenant.clone(),
            user: user.clone(),
        }
    }
}

impl fmt::Display for UserRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.user, self.tenant)
    }
}

/// A calendar collection under a user's home: `/dav/{tenant}/{user}/{calendar}/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CollectionKey {
    /// Owning tenant.
    pub tenant: TenantId,
    /// Owning user.
    pub user: UserId,
    /// The collection's path segment under the user's home.
    pub calendar: CalendarId,
}

impl CollectionKey {
    /// Builds a key from its parts.
    pub fn new(tenant: &TenantId, user: &UserId, calendar: &CalendarId) -> Self {
        Self {
            tenant: tenant.clone(),
            user: user.clone(),
            calendar: calendar.clone(),
        }
    }

    /// The collection `calendar` of `owner`.
    pub fn of(owner: &UserRef, calendar: &CalendarId) -> Self {
        Self::new(&owner.tenant, &owner.user, calendar)
    }

    /// The user whose home holds it.
    pub fn owner(&self) -> UserRef {
        UserRef::new(&self.tenant, &self.user)
    }
}

/// A path-absolute URL reference as it appears in `DAV:href` (percent-encoded).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Href(String);

impl Href {
    /// Wraps an href without validation (hrefs are compared, never trusted).
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    /// The href text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Href {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An entity tag without its surrounding quotes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ETag(String);

impl ETag {
    /// Wraps an opaque tag (quotes are stripped if present; `W/` too).
    pub fn new(s: impl AsRef<str>) -> Self {
        let s = s.as_ref().trim();
        let s = s.strip_prefix("W/").unwrap_or(s);
        let s = s
            .strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .unwrap_or(s);
        Self(s.to_string())
    }
    /// The tag without quotes.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The tag as an HTTP header value: `"tag"`.
    pub fn quoted(&self) -> String {
        format!("\"{}\"", self.0)
    }
    /// A strong tag derived from content: identical bytes, identical tag
    /// (96 bits of SHA-256, hex).
    pub fn of_content(data: &[u8]) -> Self {
        use sha2::{Digest, Sha256};
        Self(hex::encode(&Sha256::digest(data)[..12]))
    }
}

impl fmt::Display for ETag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.0)
    }
}

/// An RFC 6578 sync token: one we hand to clients, or one an upstream
/// server handed to us.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SyncToken(String);

impl SyncToken {
    /// Wraps a token string.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    /// The token text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SyncToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A hash of an object's content that ignores what servers rewrite on
/// their own (DTSTAMP, line endings): tells a real edit from housekeeping.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ContentHash(String);

impl ContentHash {
    /// Wraps a hash string.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    /// The hash text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A collection's `CS:getctag` value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CTag(String);

impl CTag {
    /// Wraps a ctag string.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    /// The ctag text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The secret path segment of a user's webcal availability feed.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FeedToken(String);

impl FeedToken {
    /// Wraps a token (URL-safe characters only).
    pub fn new(s: impl Into<String>) -> Result<Self, IdError> {
        let s = s.into();
        check_slug("feed token", &s, 128)?;
        Ok(Self(s))
    }
    /// The token text. It is a capability: do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for FeedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FeedToken(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_refuse_path_tricks() {
        assert!(TenantId::new("demo").is_ok());
        assert!(TenantId::new("").is_err());
        assert!(TenantId::new("..").is_err());
        assert!(TenantId::new("a/b").is_err());
        assert!(ObjectName::new("a/b.ics").is_err());
        assert!(ObjectName::new("abc DEF@x.ics").is_ok());
        assert!(ObjectName::new("8F1C-22.ics").is_ok());
    }

    #[test]
    fn etag_strips_quotes_and_weak_prefix() {
        assert_eq!(ETag::new("\"abc\"").as_str(), "abc");
        assert_eq!(ETag::new("W/\"abc\"").as_str(), "abc");
        assert_eq!(ETag::new("abc").quoted(), "\"abc\"");
    }

    #[test]
    fn uid_refuses_control_characters() {
        assert!(EventUid::new("a\nb").is_err());
        assert!(EventUid::new("x@example.com").is_ok());
    }
}
