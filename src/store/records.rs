//! The values stored in sled, one struct per tree.
//!
//! Plain data with serde derives; the codec adds the version byte. Adding a
//! field means bumping `codec::VERSION` and writing a migration.

use serde::{Deserialize, Serialize};

use crate::ical::{ObjectIndex, Shape};
use crate::ids::{CollectionKey, ConnectionId, ContentHash, ETag, Href, ObjectName};

/// A tenant ("subaccount").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantRecord {
    /// Human-readable name.
    pub display_name: String,
}

/// How much of an iCloud event a user's own views show (R5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
pub enum Privacy {
    /// SUMMARY, DESCRIPTION and LOCATION kept.
    Full,
    /// SUMMARY kept; DESCRIPTION and LOCATION dropped (the default).
    #[default]
    Summary,
    /// Everything replaced by "Busy".
    Busy,
}

/// A local user who signs in to the proxy.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRecord {
    /// PHC string of the argon2id hash of the local password.
    pub password_hash: String,
    /// Display name for the principal.
    pub display_name: String,
    /// IANA time zone for all-day and floating events.
    pub timezone: String,
    /// R5 privacy level of the user's own views.
    pub privacy: Privacy,
    /// The secret token of the availability feed, once created: sealed,
    /// with the digest it is indexed by (never in clear; issue 12 #4).
    pub feed_token: Option<SealedToken>,
    /// Calendar user addresses (mailto:) of the account owner, for PARTSTAT.
    pub addresses: Vec<String>,
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("password_hash", &"<redacted>")
            .field("display_name", &self.display_name)
            .field("timezone", &self.timezone)
            .field("privacy", &self.privacy)
            .field("feed_token", &self.feed_token)
            .finish_non_exhaustive()
    }
}

/// A feed token at rest: sealed with the store's key (so `feed show` can
/// print it again) and its SHA-256, the key of the `feeds` index. Made by
/// `Store::seal_feed_token`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedToken {
    /// nonce ‖ ciphertext ‖ tag of the token.
    pub sealed: Vec<u8>,
    /// SHA-256 of the token.
    pub digest: [u8; 32],
}

impl std::fmt::Debug for SealedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealedToken(<sealed>)")
    }
}

/// What a collection under a user's home is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CollectionKind {
    /// The linked calendar: system events (read-write) and iCloud events (read-only).
    Primary,
    /// Local blocked slots: read-write, never forwarded (R3).
    Blocked,
    /// The merged busy time: read-only, derived (R9).
    Availability,
    /// A conflict calendar: read-only copy of a remote calendar or another user's availability (R7).
    Source,
}

/// A property set by PROPPATCH that the server does not interpret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadProperty {
    /// Namespace URI.
    pub ns: String,
    /// Local name.
    pub local: String,
    /// The text value.
    pub value: String,
}

/// A calendar collection under a user's home.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectionRecord {
    /// What the collection is.
    pub kind: CollectionKind,
    /// `DAV:displayname`.
    pub displayname: String,
    /// `ICAL:calendar-color` (`#RRGGBB` or `#RRGGBBAA`).
    pub color: Option<String>,
    /// `C:calendar-description`.
    pub description: Option<String>,
    /// Random per-incarnation id: sync tokens from a deleted and re-created collection are refused.
    pub incarnation: u64,
    /// Sequence number of the newest change (0 = none yet).
    pub seq: u64,
    /// Oldest sequence number still in the change log (tokens older are refused).
    pub oldest_seq: u64,
    /// Unix seconds of the last change.
    pub modified: i64,
    /// Other properties set by PROPPATCH.
    pub dead: Vec<DeadProperty>,
}

impl CollectionRecord {
    /// A new empty collection.
    pub fn new(kind: CollectionKind, displayname: impl Into<String>) -> Self {
        Self {
            kind,
            displayname: displayname.into(),
            color: None,
            description: None,
            incarnation: rand::random::<u64>() >> 1,
            seq: 0,
            oldest_seq: 0,
            modified: chrono::Utc::now().timestamp(),
            dead: Vec::new(),
        }
    }
}

/// Where a calendar object came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Origin {
    /// Written by a client and kept local: a blocked slot (R3), or an event
    /// in `primary/` of a user without a linked primary calendar.
    Local,
    /// A system event (R1): written by a client into `primary/` and
    /// forwarded to the user's primary iCloud calendar through the outbox.
    System {
        /// The connection of the primary calendar.
        connection: ConnectionId,
        /// Its href upstream (`<calendar>/<uid>.ics`).
        href: Href,
        /// Its ETag upstream once delivered.
        etag: Option<ETag>,
        /// Hash of what we last delivered (tells housekeeping from edits on a 412).
        pushed: Option<ContentHash>,
        /// The store sequence ([`super::Store::sequence`]) at which the last
        /// delivery was recorded: a sync whose listing was taken before it
        /// cannot have seen the event (issue 9, bug A).
        delivered: Option<u64>,
    },
    /// Fetched from an upstream calendar: a read-only blocked slot (R2).
    Upstream {
        /// The connection it came through.
        connection: ConnectionId,
        /// Its href upstream.
        href: Href,
        /// Its ETag upstream.
        etag: ETag,
    },
}

/// A calendar object: the bytes we serve plus the index we query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectRecord {
    /// The iCalendar bytes served to clients.
    pub data: Vec<u8>,
    /// The local ETag (content hash).
    pub etag: ETag,
    /// Index fields read from `data`.
    pub index: ObjectIndex,
    /// Where it came from.
    pub origin: Origin,
    /// Unix seconds of the last write.
    pub modified: i64,
}

/// What a user's derived views were computed from (see `views`): each
/// source collection's incarnation and change sequence, a fingerprint of the
/// settings that shape busy time, and the window. Equal stamp, same view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ViewStamp {
    /// Source collections with their incarnation and sequence (sorted).
    pub sources: Vec<SourceVersion>,
    /// Fingerprint of the expansion settings (time zones, owner addresses).
    pub settings: u64,
    /// The materialised window, unix seconds `[start, end)`.
    pub window: (i64, i64),
}

/// One source collection's version inside a [`ViewStamp`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceVersion {
    /// The collection.
    pub key: CollectionKey,
    /// Its incarnation.
    pub incarnation: u64,
    /// Its newest change sequence.
    pub seq: u64,
}

/// A calendar object without its bytes: what listings, ETags, privileges
/// and the read path's filters need. Stored in `objects`; the bytes are in
/// `bodies`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectMeta {
    /// The local ETag (content hash).
    pub etag: ETag,
    /// Index fields read from the data.
    pub index: ObjectIndex,
    /// Where it came from.
    pub origin: Origin,
    /// Unix seconds of the last write.
    pub modified: i64,
    /// Length of the data in bytes.
    pub size: u64,
    /// Component names of the data (calendar-query's structural tests).
    pub shape: Shape,
}

impl ObjectMeta {
    /// The full record, with its bytes.
    pub fn with_data(self, data: Vec<u8>) -> ObjectRecord {
        ObjectRecord {
            data,
            etag: self.etag,
            index: self.index,
            origin: self.origin,
            modified: self.modified,
        }
    }
}

/// One entry of a collection's change log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeRecord {
    /// The object that changed.
    pub name: ObjectName,
    /// Whether it was removed.
    pub deleted: bool,
}
