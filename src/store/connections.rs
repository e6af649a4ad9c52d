//! Connections and links: iCloud (or other CalDAV) connections with their
//! sealed passwords, the remote calendars they list with our sync position,
//! the raw objects fetched from them (one copy per connection, however many
//! tenants use it: R8), and each user's links (primary and conflict
//! calendars: R7). A connection is a CalDAV account or, since layout 5, a
//! read-only ICS feed ([`SourceKind`]).

use serde::{Deserialize, Serialize};

use super::{codec, keys, Error, Result, Store};
use crate::ids::{
    CTag, CalendarId, ConnectionId, ETag, Href, SyncToken, TenantId, UserId, UserRef,
};
use crate::secret::Secret;

/// Health of a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum ConnectionState {
    /// Syncing normally.
    #[default]
    Active,
    /// iCloud refused the credentials; polling stopped until `connect` again.
    AuthFailed {
        /// Unix seconds when it was marked.
        since: i64,
    },
}

/// What a connection reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum SourceKind {
    /// A CalDAV account (iCloud, or another server): Apple ID and password.
    #[default]
    CalDav,
    /// A read-only iCalendar feed (`calproxy connect --ics URL`).
    IcsFeed(FeedSource),
}

/// An ICS feed: its name, its URL (sealed: feed URLs often carry a secret
/// token) and how it was last polled.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedSource {
    /// The name given with `--name` (the calendar's display name).
    pub name: String,
    /// The feed URL as given (`webcal://`, `https://`, `http://`), sealed.
    pub sealed_url: Vec<u8>,
    /// The validators and timing of the last poll.
    pub poll: FeedPoll,
}

impl std::fmt::Debug for FeedSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeedSource")
            .field("name", &self.name)
            .field("poll", &self.poll)
            .finish_non_exhaustive()
    }
}

/// How an ICS feed was last polled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct FeedPoll {
    /// The `ETag` of the last good copy (sent back as `If-None-Match`).
    pub etag: Option<String>,
    /// Its `Last-Modified` (sent back as `If-Modified-Since`).
    pub last_modified: Option<String>,
    /// Seconds between polls the feed asked for (`REFRESH-INTERVAL`, else
    /// `X-PUBLISHED-TTL`), if it did.
    pub refresh_secs: Option<u64>,
    /// Unix seconds of the last poll, whatever its answer.
    pub checked_at: Option<i64>,
    /// Unix seconds of the last good copy (a 200 that parsed, or a 304).
    pub fetched_at: Option<i64>,
}

/// One iCloud (or other CalDAV) account, or an ICS feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionRecord {
    /// Apple ID (or user name); empty for an ICS feed.
    pub apple_id: String,
    /// The app-specific password, sealed (see `sealed`); empty for an ICS feed.
    pub sealed_password: Vec<u8>,
    /// Base URL, e.g. `https://caldav.icloud.com`; for an ICS feed the URL
    /// shown to people (its path hidden, see [`FeedSource::sealed_url`]).
    pub upstream: String,
    /// The calendar home URL found by discovery.
    pub home_url: Option<String>,
    /// Tenants this connection is attached to (R8).
    pub tenants: Vec<TenantId>,
    /// Health.
    pub state: ConnectionState,
    /// Unix seconds of the last successful sync.
    pub last_sync: Option<i64>,
    /// The last error, as a one-line message (never a secret).
    pub last_error: Option<String>,
    /// Unix seconds until which upstream asked us to wait.
    pub throttled_until: Option<i64>,
    /// What the connection reads (layout 5).
    pub source: SourceKind,
    /// Unix seconds when the next full reconciliation is due (layout 5;
    /// `None`: none scheduled yet).
    pub next_full_sync: Option<i64>,
}

impl ConnectionRecord {
    /// A new CalDAV connection, not synced yet.
    pub fn caldav(apple_id: &str, sealed_password: Vec<u8>, upstream: &str) -> Self {
        Self {
            apple_id: apple_id.to_string(),
            sealed_password,
            upstream: upstream.to_string(),
            home_url: None,
            tenants: Vec::new(),
            state: ConnectionState::Active,
            last_sync: None,
            last_error: None,
            throttled_until: None,
            source: SourceKind::CalDav,
            next_full_sync: None,
        }
    }

    /// The feed, when this connection is an ICS feed.
    pub fn feed(&self) -> Option<&FeedSource> {
        match &self.source {
            SourceKind::IcsFeed(f) => Some(f),
            SourceKind::CalDav => None,
        }
    }

    /// What people call it: the feed's name, else the Apple ID.
    pub fn label(&self) -> &str {
        match &self.source {
            SourceKind::IcsFeed(f) => &f.name,
            SourceKind::CalDav => &self.apple_id,
        }
    }
}

/// What a remote calendar is (mirror of `upstream::CalendarKind`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RemoteKind {
    /// Events: can be linked.
    Events,
    /// VTODO-only reminders list (R6: not offered).
    Reminders,
    /// Subscribed webcal calendar (R6: refused).
    Subscribed {
        /// Feed URL.
        source: Option<String>,
    },
}

/// A calendar found in a connection's home, with our sync position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteCalendarRecord {
    /// Collection path upstream.
    pub href: Href,
    /// Display name.
    pub displayname: String,
    /// Colour.
    pub color: Option<String>,
    /// Kind.
    pub kind: RemoteKind,
    /// Shared (by or to the owner).
    pub shared: bool,
    /// Read-only for this account.
    pub read_only: bool,
    /// The ctag (or sync-token property) seen at the last complete sync.
    pub synced_ctag: Option<CTag>,
    /// The sync-collection token of the last complete sync.
    pub sync_token: Option<SyncToken>,
    /// The store sequence ([`Store::sequence`]) taken just before the
    /// listing that the stored raw objects reflect was requested. A system
    /// event delivered after it may be missing from them (bug found in
    /// issue 9: such events must not be taken for deleted in iCloud).
    pub listed_at: Option<u64>,
}

/// A raw object as fetched from upstream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteObject {
    /// Upstream ETag.
    pub etag: ETag,
    /// The bytes iCloud sent (kept for debugging; never served as-is: R5).
    pub data: Vec<u8>,
}

/// A link from a user to a remote calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteRef {
    /// The connection.
    pub connection: ConnectionId,
    /// The remote calendar's id (last path segment).
    pub calendar: CalendarId,
    /// The local collection it is copied into.
    pub local: CalendarId,
}

/// A user's calendar choices (R7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct UserLinks {
    /// The primary linked calendar (copied into `primary/`).
    pub primary: Option<RemoteRef>,
    /// Conflict calendars (each copied into its own read-only collection).
    pub conflicts: Vec<RemoteRef>,
    /// Other users of the same tenant whose availability blocks this user's.
    pub conflict_users: Vec<UserId>,
}

impl UserLinks {
    /// Every remote link, primary first.
    pub fn remote_refs(&self) -> impl Iterator<Item = &RemoteRef> {
        self.primary.iter().chain(self.conflicts.iter())
    }
}

/// A user and their links (see [`Store::users_linked_to`]).
#[derive(Debug, Clone, PartialEq)]
pub struct LinkedUser {
    /// The user.
    pub user: UserRef,
    /// Their calendar choices.
    pub links: UserLinks,
}

pub(super) fn remote_cal_key(c: &ConnectionId, cal: &CalendarId) -> Vec<u8> {
    keys::pair(c.as_str(), cal.as_str())
}

fn remote_obj_prefix(c: &ConnectionId, cal: &CalendarId) -> Vec<u8> {
    let mut k = remote_cal_key(c, cal);
    k.push(0);
    k
}

impl Store {
    /// Seals a secret with this store's key.
    pub fn seal(&self, secret: &Secret<String>) -> Result<Vec<u8>> {
        self.sealer.seal(secret)
    }

    /// Opens a sealed secret.
    pub fn unseal(&self, sealed: &[u8]) -> Result<Secret<String>> {
        self.sealer.open(sealed)
    }

    /// Creates or replaces a connection.
    pub fn put_connection(&self, id: &ConnectionId, rec: &ConnectionRecord) -> Result<()> {
        self.connections
            .insert(id.as_str().as_bytes(), codec::encode(rec)?)?;
        Ok(())
    }

    /// A connection.
    pub fn connection(&self, id: &ConnectionId) -> Result<Option<ConnectionRecord>> {
        self.connections
            .get(id.as_str().as_bytes())?
            .map(|v| codec::decode("connections", &v))
            .transpose()
    }

    /// Changes a connection record in place.
    pub fn update_connection(
        &self,
        id: &ConnectionId,
        f: impl FnOnce(&mut ConnectionRecord),
    ) -> Result<ConnectionRecord> {
        let mut rec = self
            .connection(id)?
            .ok_or_else(|| Error::NoConnection { id: id.clone() })?;
        f(&mut rec);
        self.put_connection(id, &rec)?;
        Ok(rec)
    }

    /// Removes a connection with its remote calendars, their raw objects
    /// and held deletions (`calproxy disconnect`). Users' links and local
    /// copies are the caller's to remove first.
    pub fn delete_connection(&self, id: &ConnectionId) -> Result<()> {
        for (cal, _) in self.remote_calendars(id)? {
            self.remove_remote_calendar(id, &cal)?;
        }
        for (cal, _) in self.held_deletions(id)? {
            self.clear_held(id, &cal)?;
        }
        self.connections.remove(id.as_str().as_bytes())?;
        Ok(())
    }

    /// Every connection.
    pub fn connections(&self) -> Result<Vec<(ConnectionId, ConnectionRecord)>> {
        let mut out = Vec::new();
        for kv in self.connections.iter() {
            let (k, v) = kv?;
            let id = std::str::from_utf8(&k)
                .ok()
                .and_then(|s| ConnectionId::new(s).ok())
                .ok_or(Error::BadKey {
                    tree: "connections",
                })?;
            out.push((id, codec::decode("connections", &v)?));
        }
        Ok(out)
    }

    /// Replaces the remote calendar list of a connection, keeping sync
    /// positions of calendars that are still there.
    pub fn put_remote_calendar(
        &self,
        c: &ConnectionId,
        cal: &CalendarId,
        rec: &RemoteCalendarRecord,
    ) -> Result<()> {
        self.remote_cals
            .insert(remote_cal_key(c, cal), codec::encode(rec)?)?;
        Ok(())
    }

    /// One remote calendar.
    pub fn remote_calendar(
        &self,
        c: &ConnectionId,
        cal: &CalendarId,
    ) -> Result<Option<RemoteCalendarRecord>> {
        self.remote_cals
            .get(remote_cal_key(c, cal))?
            .map(|v| codec::decode("remote_cals", &v))
            .transpose()
    }

    /// Every remote calendar of a connection.
    pub fn remote_calendars(
        &self,
        c: &ConnectionId,
    ) -> Result<Vec<(CalendarId, RemoteCalendarRecord)>> {
        let mut prefix = c.as_str().as_bytes().to_vec();
        prefix.push(0);
        let mut out = Vec::new();
        for kv in self.remote_cals.scan_prefix(&prefix) {
            let (k, v) = kv?;
            let id = keys::suffix(&k, &prefix)
                .and_then(|s| CalendarId::new(s).ok())
                .ok_or(Error::BadKey {
                    tree: "remote_cals",
                })?;
            out.push((id, codec::decode("remote_cals", &v)?));
        }
        Ok(out)
    }

    /// Removes a remote calendar, its objects and any deletions held for
    /// it (it disappeared upstream).
    pub fn remove_remote_calendar(&self, c: &ConnectionId, cal: &CalendarId) -> Result<()> {
        self.remote_cals.remove(remote_cal_key(c, cal))?;
        self.clear_held(c, cal)?;
        for k in self
            .remote_objs
            .scan_prefix(remote_obj_prefix(c, cal))
            .keys()
        {
            self.remote_objs.remove(k?)?;
        }
        Ok(())
    }

    /// Every raw object of a remote calendar, by href.
    pub fn remote_objects(
        &self,
        c: &ConnectionId,
        cal: &CalendarId,
    ) -> Result<Vec<(Href, RemoteObject)>> {
        self.remote_objects_each(c, cal).collect()
    }

    /// [`Store::remote_objects`] one at a time as the scan reads them (a
    /// calendar of 100,000 objects is ~70 MB of data at once).
    pub fn remote_objects_each(
        &self,
        c: &ConnectionId,
        cal: &CalendarId,
    ) -> impl Iterator<Item = Result<(Href, RemoteObject)>> + '_ {
        let prefix = remote_obj_prefix(c, cal);
        self.remote_objs.scan_prefix(&prefix).map(move |kv| {
            let (k, v) = kv?;
            let href = keys::suffix(&k, &prefix).ok_or(Error::BadKey {
                tree: "remote_objs",
            })?;
            Ok((Href::new(href), codec::decode("remote_objs", &v)?))
        })
    }

    /// One raw object.
    pub fn remote_object(
        &self,
        c: &ConnectionId,
        cal: &CalendarId,
        href: &Href,
    ) -> Result<Option<RemoteObject>> {
        let mut k = remote_obj_prefix(c, cal);
        k.extend_from_slice(href.as_str().as_bytes());
        self.remote_objs
            .get(k)?
            .map(|v| codec::decode("remote_objs", &v))
            .transpose()
    }

    /// Stores or replaces one raw object.
    pub fn put_remote_object(
        &self,
        c: &ConnectionId,
        cal: &CalendarId,
        href: &Href,
        obj: &RemoteObject,
    ) -> Result<()> {
        let mut k = remote_obj_prefix(c, cal);
        k.extend_from_slice(href.as_str().as_bytes());
        self.remote_objs.insert(k, codec::encode(obj)?)?;
        Ok(())
    }

    /// Removes one raw object.
    pub fn delete_remote_object(
        &self,
        c: &ConnectionId,
        cal: &CalendarId,
        href: &Href,
    ) -> Result<()> {
        let mut k = remote_obj_prefix(c, cal);
        k.extend_from_slice(href.as_str().as_bytes());
        self.remote_objs.remove(k)?;
        Ok(())
    }

    /// A user's links.
    pub fn links(&self, t: &TenantId, u: &UserId) -> Result<UserLinks> {
        Ok(self
            .links
            .get(keys::user(t, u))?
            .map(|v| codec::decode("links", &v))
            .transpose()?
            .unwrap_or_default())
    }

    /// Replaces a user's links.
    pub fn put_links(&self, t: &TenantId, u: &UserId, links: &UserLinks) -> Result<()> {
        self.links.insert(keys::user(t, u), codec::encode(links)?)?;
        self.changed(super::Change::User(UserRef::new(t, u)));
        Ok(())
    }

    /// Every user whose links reference a calendar of connection `c`.
    pub fn users_linked_to(&self, c: &ConnectionId) -> Result<Vec<LinkedUser>> {
        let mut out = Vec::new();
        for kv in self.links.iter() {
            let (k, v) = kv?;
            let links: UserLinks = codec::decode("links", &v)?;
            if !links.remote_refs().any(|r| &r.connection == c) {
                continue;
            }
            let s = std::str::from_utf8(&k).map_err(|_| Error::BadKey { tree: "links" })?;
            let (t, u) = s.split_once('\0').ok_or(Error::BadKey { tree: "links" })?;
            match (TenantId::new(t), UserId::new(u)) {
                (Ok(t), Ok(u)) => out.push(LinkedUser {
                    user: UserRef { tenant: t, user: u },
                    links,
                }),
                _ => return Err(Error::BadKey { tree: "links" }),
            }
        }
        Ok(out)
    }
}
