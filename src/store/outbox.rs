//! The durable outbox (R1, R10): writes to forward upstream, recorded in the
//! same transaction as the local write, removed only once upstream has
//! them. Keys are sled-generated ids (big-endian), so the order is the
//! order of acceptance.

use serde::{Deserialize, Serialize};

use sled::transaction::Transactional;

use super::{codec, keys, tx_err, Error, Result, Store};
use crate::ids::{CalendarId, ConnectionId, ETag, Href, ObjectName, TenantId, UserId};

/// What to do upstream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OutboxOp {
    /// Create or update the object from the current local copy.
    Put,
    /// Delete it upstream (404 there = already gone).
    Delete {
        /// The upstream ETag known when the client deleted it.
        etag: Option<ETag>,
    },
}

/// One pending upstream write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// Owner tenant.
    pub tenant: TenantId,
    /// Owner user.
    pub user: UserId,
    /// Local collection (`primary`).
    pub local: CalendarId,
    /// Local object name.
    pub name: ObjectName,
    /// The connection to write through.
    pub connection: ConnectionId,
    /// The remote calendar id.
    pub calendar: CalendarId,
    /// Target href upstream.
    pub href: Href,
    /// What to do.
    pub op: OutboxOp,
    /// Attempts so far.
    pub attempts: u32,
    /// Unix seconds before which no retry is made.
    pub not_before: i64,
    /// The last failure, one line.
    pub last_error: Option<String>,
}

impl OutboxEntry {
    /// A new entry for the object `name` of `collection`, to be written to
    /// `href` in `calendar` of `connection`.
    pub fn new(
        collection: &crate::ids::CollectionKey,
        name: &ObjectName,
        connection: &ConnectionId,
        calendar: &CalendarId,
        href: &Href,
        op: OutboxOp,
    ) -> Self {
        Self {
            tenant: collection.tenant.clone(),
            user: collection.user.clone(),
            local: collection.calendar.clone(),
            name: name.clone(),
            connection: connection.clone(),
            calendar: calendar.clone(),
            href: href.clone(),
            op,
            attempts: 0,
            not_before: 0,
            last_error: None,
        }
    }

    /// The local collection of the object.
    pub fn collection(&self) -> crate::ids::CollectionKey {
        crate::ids::CollectionKey::new(&self.tenant, &self.user, &self.local)
    }
}

/// An entry with its queue id.
#[derive(Debug, Clone, PartialEq)]
pub struct Queued {
    /// Queue id (orders entries).
    pub id: u64,
    /// The entry.
    pub entry: OutboxEntry,
}

impl Store {
    /// A new queue id (monotonic, survives restarts).
    pub(crate) fn next_outbox_id(&self) -> Result<u64> {
        Ok(self.db.generate_id()?)
    }

    /// Every pending entry in acceptance order.
    pub fn outbox(&self) -> Result<Vec<Queued>> {
        let mut out = Vec::new();
        for kv in self.outbox.iter() {
            let (k, v) = kv?;
            let id = <[u8; 8]>::try_from(k.as_ref())
                .map(u64::from_be_bytes)
                .map_err(|_| Error::BadKey { tree: "outbox" })?;
            out.push(Queued {
                id,
                entry: codec::decode("outbox", &v)?,
            });
        }
        Ok(out)
    }

    /// Number of pending entries.
    pub fn outbox_len(&self) -> usize {
        self.outbox.len()
    }

    /// One entry.
    pub fn outbox_entry(&self, id: u64) -> Result<Option<OutboxEntry>> {
        self.outbox
            .get(id.to_be_bytes())?
            .map(|v| codec::decode("outbox", &v))
            .transpose()
    }

    /// Replaces an entry's bookkeeping (attempts, schedule, last error).
    /// Its object (connection, href) never changes.
    pub fn update_outbox(&self, id: u64, entry: &OutboxEntry) -> Result<()> {
        self.outbox
            .insert(id.to_be_bytes(), codec::encode(entry)?)?;
        Ok(())
    }

    /// Removes a delivered (or abandoned) entry and its index entry.
    pub fn remove_outbox(&self, id: u64) -> Result<()> {
        let Some(entry) = self.outbox_entry(id)? else {
            return Ok(());
        };
        let index = keys::outbox_object_entry(&entry.connection, &entry.href, id);
        (&self.outbox, &self.outbox_objects)
            .transaction(|(outbox, objects)| {
                outbox.remove(&id.to_be_bytes())?;
                objects.remove(index.as_slice())?;
                Ok(())
            })
            .map_err(tx_err)
    }

    /// Whether an entry older than `id` is pending for the same upstream
    /// object (it must be delivered first). A lookup, not a scan.
    pub fn outbox_pending_before(
        &self,
        connection: &ConnectionId,
        href: &Href,
        id: u64,
    ) -> Result<bool> {
        let prefix = keys::outbox_object(connection, href);
        match self.outbox_objects.scan_prefix(&prefix).keys().next() {
            Some(k) => {
                let k = k?;
                let first = k
                    .get(prefix.len()..)
                    .and_then(|b| <[u8; 8]>::try_from(b).ok())
                    .map(u64::from_be_bytes)
                    .ok_or(Error::BadKey {
                        tree: "outbox_objects",
                    })?;
                Ok(first < id)
            }
            None => Ok(false),
        }
    }

    /// Whether any entry is pending for an upstream object.
    pub fn outbox_pending_for(&self, connection: &ConnectionId, href: &Href) -> Result<bool> {
        Ok(self
            .outbox_objects
            .scan_prefix(keys::outbox_object(connection, href))
            .next()
            .is_some())
    }
}
