//! The one transaction every client write of calendar objects runs in
//! ([`Store::object_tx`]): the collection record and its change log, the
//! object's rows (`rows`), the UID index and the outbox, with the steps
//! writes are made of ([`ObjectTx::put`], [`ObjectTx::remove`],
//! [`ObjectTx::queue`]). PUT and DELETE are one step each
//! (`objects`); MOVE is a removal and a write in one transaction
//! ([`Store::move_object_queued`]), so a crash leaves the object at
//! exactly one of its names (R10).

use sled::transaction::{Transactional, TransactionalTree};

use super::objects::log_change;
use super::rows::{Prepared, Rows};
use super::{
    abort, codec, keys, tx_err, Change, CollectionKey, CollectionRecord, Error, ObjectMeta,
    ObjectRecord, OutboxEntry, Queued, Result, Store, TxResult, WriteCondition,
};
use crate::ids::{ETag, ObjectName};

/// The trees of one object transaction.
pub(super) struct ObjectTx<'a> {
    cols: &'a TransactionalTree,
    rows: Rows<'a>,
    uids: &'a TransactionalTree,
    changes: &'a TransactionalTree,
    outbox: &'a TransactionalTree,
    outbox_index: &'a TransactionalTree,
}

/// Reads a collection record inside a transaction.
pub(super) fn load_collection(cols: &TransactionalTree, ckey: &[u8]) -> TxResult<CollectionRecord> {
    let Some(cbytes) = cols.get(ckey)? else {
        return abort(Error::NoCollection);
    };
    codec::decode("collections", &cbytes).or_else(abort)
}

impl ObjectTx<'_> {
    /// Queues an outbox entry under `id` (and its per-object index entry).
    pub(super) fn queue(&self, id: u64, entry: &OutboxEntry) -> TxResult<()> {
        self.outbox
            .insert(&id.to_be_bytes(), codec::encode(entry).or_else(abort)?)?;
        self.outbox_index.insert(
            keys::outbox_object_entry(&entry.connection, &entry.href, id),
            &[],
        )?;
        Ok(())
    }

    /// Logs a change of `name` in `key`'s change log.
    fn log(&self, key: &CollectionKey, name: &ObjectName, deleted: bool) -> TxResult<()> {
        let ckey = keys::collection(key);
        let mut col = load_collection(self.cols, &ckey)?;
        log_change(self.changes, key, &mut col, name, deleted)?;
        self.cols
            .insert(ckey.as_slice(), codec::encode(&col).or_else(abort)?)?;
        Ok(())
    }

    /// Writes `rec` (prepared as `p`) at `name`, checking `cond` and that
    /// no other object of the collection holds its UID. Returns whether
    /// the object is new.
    pub(super) fn put(
        &self,
        key: &CollectionKey,
        name: &ObjectName,
        rec: &ObjectRecord,
        p: &Prepared,
        cond: &WriteCondition,
    ) -> TxResult<bool> {
        // The collection must exist (checked before anything is written).
        load_collection(self.cols, &keys::collection(key))?;
        let okey = keys::object(key, name);
        let ukey = keys::uid(key, &rec.index.uid);
        let existing = self.rows.meta(&okey)?;
        let current = existing.as_ref().map(|o| o.etag.clone());
        if let Some(want) = &cond.if_match {
            if current.as_ref() != Some(want) {
                return abort(Error::PreconditionFailed { current });
            }
        }
        if cond.if_none_match_any && existing.is_some() {
            return abort(Error::PreconditionFailed { current });
        }
        if let Some(holder) = self.uids.get(&ukey)? {
            if holder.as_ref() != name.as_str().as_bytes() {
                let existing = std::str::from_utf8(&holder)
                    .ok()
                    .and_then(|s| ObjectName::new(s).ok());
                return match existing {
                    Some(existing) => abort(Error::UidConflict { existing }),
                    None => abort(Error::BadKey { tree: "uids" }),
                };
            }
        }
        if let Some(old) = &existing {
            if old.index.uid != rec.index.uid {
                self.uids.remove(keys::uid(key, &old.index.uid))?;
            }
        }
        self.rows.write(key, name, existing.as_ref(), p)?;
        self.uids
            .insert(ukey.as_slice(), name.as_str().as_bytes())?;
        self.log(key, name, false)?;
        Ok(existing.is_none())
    }

    /// Removes `name` if it exists (no condition); returns whether it did.
    pub(super) fn remove_if_present(
        &self,
        key: &CollectionKey,
        name: &ObjectName,
    ) -> TxResult<bool> {
        let okey = keys::object(key, name);
        let Some(meta) = self.rows.meta(&okey)? else {
            return Ok(false);
        };
        self.unlink(key, name, &meta)?;
        Ok(true)
    }

    /// Removes `name` (its ETag must be `if_match` when given) and returns
    /// the record removed.
    pub(super) fn remove(
        &self,
        key: &CollectionKey,
        name: &ObjectName,
        if_match: Option<&ETag>,
    ) -> TxResult<ObjectRecord> {
        let okey = keys::object(key, name);
        let Some(old) = self.rows.record(&okey)? else {
            return abort(Error::NoObject { name: name.clone() });
        };
        if let Some(want) = if_match {
            if &old.etag != want {
                return abort(Error::PreconditionFailed {
                    current: Some(old.etag.clone()),
                });
            }
        }
        let Some(meta) = self.rows.meta(&okey)? else {
            return abort(Error::NoObject { name: name.clone() });
        };
        self.unlink(key, name, &meta)?;
        Ok(old)
    }

    /// Removes an existing object's rows and UID entry and logs the deletion.
    fn unlink(&self, key: &CollectionKey, name: &ObjectName, meta: &ObjectMeta) -> TxResult<()> {
        self.rows.remove(key, name, meta)?;
        self.uids.remove(keys::uid(key, &meta.index.uid))?;
        self.log(key, name, true)
    }
}

/// Where a MOVE takes an object.
#[derive(Debug, Clone)]
pub struct MoveTarget<'a> {
    /// The destination collection.
    pub key: &'a CollectionKey,
    /// The destination name.
    pub name: &'a ObjectName,
    /// What is stored there (the source's data, with its new origin).
    pub record: &'a ObjectRecord,
    /// Conditions on what is at the destination now (Overwrite: F is
    /// `if_none_match_any`).
    pub cond: &'a WriteCondition,
}

/// What a successful `move_object_queued` did.
#[derive(Debug, Clone, PartialEq)]
pub struct Moved {
    /// True when nothing was at the destination before.
    pub created: bool,
    /// The outbox entries queued with the move, in order, with their ids.
    pub queued: Vec<Queued>,
}

impl Store {
    /// Runs `f` in one transaction over every tree an object write
    /// touches. `f` may run more than once (sled retries on conflict), so
    /// it must only look at its arguments.
    pub(super) fn object_tx<T>(&self, f: impl Fn(&ObjectTx<'_>) -> TxResult<T>) -> Result<T> {
        (
            &self.collections,
            &self.objects,
            &self.bodies,
            &self.parsed,
            &self.derived,
            &self.times,
            &self.uids,
            &self.changes,
            &self.outbox,
            &self.outbox_objects,
        )
            .transaction(
                |(
                    cols,
                    objects,
                    bodies,
                    parsed,
                    derived,
                    times,
                    uids,
                    changes,
                    outbox,
                    outbox_index,
                )| {
                    f(&ObjectTx {
                        cols,
                        rows: Rows {
                            objects,
                            bodies,
                            parsed,
                            derived,
                            times,
                        },
                        uids,
                        changes,
                        outbox,
                        outbox_index,
                    })
                },
            )
            .map_err(tx_err)
    }

    /// MOVE (RFC 4918 §9.9) in one transaction: removes `name` from `key`
    /// (it must still have the ETag `seen`), writes `to` and queues
    /// `outbox` in order. Either all of it is stored or none (R10); the
    /// destination's UID check sees the source already gone, so a rename
    /// within a collection keeps its UID.
    pub fn move_object_queued(
        &self,
        key: &CollectionKey,
        name: &ObjectName,
        seen: &ETag,
        to: &MoveTarget<'_>,
        outbox: &[OutboxEntry],
    ) -> Result<Moved> {
        let prepared = self.prepare(to.key, to.record)?;
        let ids = outbox
            .iter()
            .map(|_| self.next_outbox_id())
            .collect::<Result<Vec<u64>>>()?;
        let created = self.object_tx(|tx| {
            for (id, entry) in ids.iter().zip(outbox) {
                tx.queue(*id, entry)?;
            }
            tx.remove(key, name, Some(seen))?;
            tx.put(to.key, to.name, to.record, &prepared, to.cond)
        })?;
        self.changed(Change::Collection(key.clone()));
        if to.key != key {
            self.changed(Change::Collection(to.key.clone()));
        }
        Ok(Moved {
            created,
            queued: ids
                .into_iter()
                .zip(outbox.iter().cloned())
                .map(|(id, entry)| Queued { id, entry })
                .collect(),
        })
    }
}
