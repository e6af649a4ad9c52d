//! Writes of calendar objects and the per-collection change log: writes
//! with `If-Match`/`If-None-Match` and UID uniqueness checked in one sled
//! transaction (optionally with an outbox entry), together with every row
//! the read path needs (`rows`: metadata, bytes, parsed tree, time answers,
//! time index), and RFC 6578 deltas. Reads are in `index`.

use sled::transaction::Transactional;

use super::object_tx::load_collection;
use super::rows::Rows;
use super::{
    abort, codec, keys, tx_err, Change, ChangeRecord, CollectionKey, CollectionRecord, Delta,
    Error, ObjectRecord, OutboxEntry, PutOutcome, Result, Store, TxResult, WriteCondition,
    CHANGE_LOG_LIMIT, SYNC_TOKEN_PREFIX,
};
use crate::ids::{ETag, EventUid, ObjectName, SyncToken};

use super::Queued;

/// What a successful `delete_object_queued` did.
#[derive(Debug, Clone, PartialEq)]
pub struct Deleted {
    /// The removed object.
    pub record: ObjectRecord,
    /// The outbox entry queued with the removal, with its id.
    pub queued: Option<Queued>,
}

/// How often `update_object` starts over when the object changes under it.
const UPDATE_ATTEMPTS: usize = 16;

impl Store {
    /// The name of the object holding `uid` in a collection.
    pub fn object_by_uid(&self, key: &CollectionKey, uid: &EventUid) -> Result<Option<ObjectName>> {
        let Some(v) = self.uids.get(keys::uid(key, uid))? else {
            return Ok(None);
        };
        let s = std::str::from_utf8(&v).map_err(|_| Error::BadKey { tree: "uids" })?;
        ObjectName::new(s)
            .map(Some)
            .map_err(|_| Error::BadKey { tree: "uids" })
    }

    /// Creates or replaces an object, checking `cond` and UID uniqueness
    /// atomically, and appends to the change log.
    pub fn put_object(
        &self,
        key: &CollectionKey,
        name: &ObjectName,
        rec: &ObjectRecord,
        cond: &WriteCondition,
    ) -> Result<PutOutcome> {
        self.put_object_queued(key, name, rec, cond, None)
    }

    /// [`put_object`](Self::put_object) plus an outbox entry in the same
    /// transaction (R1, R10): either both are stored or neither. The
    /// object is parsed and expanded once, here, for the read path.
    pub fn put_object_queued(
        &self,
        key: &CollectionKey,
        name: &ObjectName,
        rec: &ObjectRecord,
        cond: &WriteCondition,
        outbox: Option<&OutboxEntry>,
    ) -> Result<PutOutcome> {
        let prepared = self.prepare(key, rec)?;
        let queued = match outbox {
            Some(e) => Some((self.next_outbox_id()?, e)),
            None => None,
        };
        let outcome = self.object_tx(|tx| {
            if let Some((id, entry)) = &queued {
                tx.queue(*id, entry)?;
            }
            let created = tx.put(key, name, rec, &prepared, cond)?;
            Ok(PutOutcome {
                created,
                etag: rec.etag.clone(),
                queued: queued.as_ref().map(|(id, _)| *id),
            })
        })?;
        self.changed(Change::Collection(key.clone()));
        Ok(outcome)
    }

    /// A batch of unconditional changes to one collection in one
    /// transaction: every object of `remove` that exists is removed, then
    /// every record of `put` written (UIDs still checked). For the views'
    /// derived blocks: sled runs one transaction at a time, so hundreds of
    /// small ones in a row would keep client writes waiting between them.
    /// Returns how many objects were removed and written.
    pub fn apply_objects(
        &self,
        key: &CollectionKey,
        remove: &[ObjectName],
        put: &[(ObjectName, ObjectRecord)],
    ) -> Result<usize> {
        if remove.is_empty() && put.is_empty() {
            return Ok(0);
        }
        let prepared = self.prepare_all(key, put.iter().map(|(_, r)| r))?;
        let any = WriteCondition::default();
        let done = self.object_tx(|tx| {
            let mut n = 0;
            for name in remove {
                n += usize::from(tx.remove_if_present(key, name)?);
            }
            for ((name, rec), p) in put.iter().zip(&prepared) {
                tx.put(key, name, rec, p, &any)?;
                n += 1;
            }
            Ok(n)
        })?;
        self.changed(Change::Collection(key.clone()));
        Ok(done)
    }

    /// Removes an object (checking `If-Match` when given) and logs the deletion.
    pub fn delete_object(
        &self,
        key: &CollectionKey,
        name: &ObjectName,
        if_match: Option<&ETag>,
    ) -> Result<ObjectRecord> {
        Ok(self
            .delete_object_queued(key, name, if_match, |_| None)?
            .record)
    }

    /// [`delete_object`](Self::delete_object) plus an outbox entry built from
    /// the removed record, in the same transaction.
    pub fn delete_object_queued(
        &self,
        key: &CollectionKey,
        name: &ObjectName,
        if_match: Option<&ETag>,
        outbox: impl Fn(&ObjectRecord) -> Option<OutboxEntry>,
    ) -> Result<Deleted> {
        let queue_id = self.next_outbox_id()?;
        let old = self.object_tx(|tx| {
            let old = tx.remove(key, name, if_match)?;
            let queued = outbox(&old);
            if let Some(entry) = &queued {
                tx.queue(queue_id, entry)?;
            }
            Ok(Deleted {
                queued: queued.map(|entry| Queued {
                    id: queue_id,
                    entry,
                }),
                record: old,
            })
        })?;
        self.changed(Change::Collection(key.clone()));
        Ok(old)
    }

    /// Changes one object atomically: `f` sees the record as stored and
    /// returns the new one (or `None`: leave it). New bytes are parsed and
    /// expanded again and logged as a change; an origin-only change is not
    /// (clients see no change). `f` may run more than once (a concurrent
    /// write retries the transaction), so it must only look at its
    /// argument. Returns the record written, if any.
    pub fn update_object(
        &self,
        key: &CollectionKey,
        name: &ObjectName,
        f: impl Fn(&ObjectRecord) -> Option<ObjectRecord>,
    ) -> Result<Option<ObjectRecord>> {
        let ckey = keys::collection(key);
        let okey = keys::object(key, name);
        // Parsing and expanding happen outside the transaction (sled
        // transactions must not call back into the store); the transaction
        // then checks the object is still the one `f` saw, or starts over.
        for _ in 0..UPDATE_ATTEMPTS {
            let Some(seen) = self.objects.get(&okey)? else {
                return Err(Error::NoObject { name: name.clone() });
            };
            let Some(old) = self.object(key, name)? else {
                return Err(Error::NoObject { name: name.clone() });
            };
            let Some(new) = f(&old) else {
                return Ok(None);
            };
            let prepared = if new.data == old.data {
                None
            } else {
                Some(self.prepare(key, &new)?)
            };
            let written = (
                &self.collections,
                &self.objects,
                &self.bodies,
                &self.parsed,
                &self.derived,
                &self.times,
                &self.uids,
                &self.changes,
            )
                .transaction(
                    |(cols, objects, bodies, parsed, derived, times, uids, changes)| {
                        let rows = Rows {
                            objects,
                            bodies,
                            parsed,
                            derived,
                            times,
                        };
                        if objects.get(&okey)?.as_deref() != Some(seen.as_ref()) {
                            return Ok(None); // changed meanwhile: start over
                        }
                        let Some(old_meta) = rows.meta(&okey)? else {
                            return abort(Error::NoObject { name: name.clone() });
                        };
                        match &prepared {
                            None => {
                                let meta = super::ObjectMeta {
                                    etag: new.etag.clone(),
                                    index: new.index.clone(),
                                    origin: new.origin.clone(),
                                    modified: new.modified,
                                    ..old_meta
                                };
                                rows.write_meta(&okey, &meta)?;
                            }
                            Some(p) => rows.write(key, name, Some(&old_meta), p)?,
                        }
                        if new.etag != old.etag {
                            if new.index.uid != old.index.uid {
                                uids.remove(keys::uid(key, &old.index.uid))?;
                                uids.insert(
                                    keys::uid(key, &new.index.uid),
                                    name.as_str().as_bytes(),
                                )?;
                            }
                            let mut col = load_collection(cols, &ckey)?;
                            log_change(changes, key, &mut col, name, false)?;
                            cols.insert(ckey.as_slice(), codec::encode(&col).or_else(abort)?)?;
                        }
                        Ok(Some(new.etag != old.etag))
                    },
                )
                .map_err(tx_err)?;
            if let Some(content_changed) = written {
                if content_changed {
                    self.changed(Change::Collection(key.clone()));
                }
                return Ok(Some(new));
            }
        }
        Err(Error::Busy)
    }

    /// Removes an object if `remove` holds for it as stored (checked in
    /// the same transaction). Returns whether it was removed.
    pub fn delete_object_where(
        &self,
        key: &CollectionKey,
        name: &ObjectName,
        remove: impl Fn(&ObjectRecord) -> bool,
    ) -> Result<bool> {
        let ckey = keys::collection(key);
        let okey = keys::object(key, name);
        let removed = (
            &self.collections,
            &self.objects,
            &self.bodies,
            &self.parsed,
            &self.derived,
            &self.times,
            &self.uids,
            &self.changes,
        )
            .transaction(
                |(cols, objects, bodies, parsed, derived, times, uids, changes)| {
                    let rows = Rows {
                        objects,
                        bodies,
                        parsed,
                        derived,
                        times,
                    };
                    let Some(old) = rows.record(&okey)? else {
                        return Ok(false);
                    };
                    if !remove(&old) {
                        return Ok(false);
                    }
                    let Some(meta) = rows.meta(&okey)? else {
                        return Ok(false);
                    };
                    let mut col = load_collection(cols, &ckey)?;
                    rows.remove(key, name, &meta)?;
                    uids.remove(keys::uid(key, &old.index.uid))?;
                    log_change(changes, key, &mut col, name, true)?;
                    cols.insert(ckey.as_slice(), codec::encode(&col).or_else(abort)?)?;
                    Ok(true)
                },
            )
            .map_err(tx_err)?;
        if removed {
            self.changed(Change::Collection(key.clone()));
        }
        Ok(removed)
    }

    /// What changed since `token` (None = everything, the initial sync).
    pub fn changes_since(&self, key: &CollectionKey, token: Option<&SyncToken>) -> Result<Delta> {
        let rec = self.collection(key)?.ok_or(Error::NoCollection)?;
        let current = Self::sync_token(&rec);
        let Some(token) = token else {
            let changed = self.metas(key)?.into_iter().map(|(n, _)| n).collect();
            return Ok(Delta {
                changed,
                deleted: Vec::new(),
                token: Some(current),
                seq: rec.seq,
            });
        };
        let since = parse_token(token)
            .filter(|(inc, seq)| {
                *inc == rec.incarnation && *seq <= rec.seq && *seq >= rec.oldest_seq
            })
            .map(|(_, seq)| seq)
            .ok_or(Error::InvalidSyncToken)?;
        let mut last: std::collections::BTreeMap<ObjectName, bool> = Default::default();
        for kv in self
            .changes
            .range(keys::change(key, since + 1)..=keys::change(key, rec.seq))
        {
            let (_, v) = kv?;
            let ch: ChangeRecord = codec::decode("changes", &v)?;
            last.insert(ch.name, ch.deleted);
        }
        let mut delta = Delta {
            token: Some(current),
            seq: rec.seq,
            ..Delta::default()
        };
        for (name, deleted) in last {
            if deleted {
                delta.deleted.push(name);
            } else {
                delta.changed.push(name);
            }
        }
        Ok(delta)
    }
}

fn parse_token(token: &SyncToken) -> Option<(u64, u64)> {
    let rest = token.as_str().strip_prefix(SYNC_TOKEN_PREFIX)?;
    let (inc, seq) = rest.split_once('-')?;
    Some((inc.parse().ok()?, seq.parse().ok()?))
}

/// Appends a change of `name` to a collection's log (in the caller's transaction).
pub(super) fn log_change(
    changes: &sled::transaction::TransactionalTree,
    key: &CollectionKey,
    col: &mut CollectionRecord,
    name: &ObjectName,
    deleted: bool,
) -> TxResult<()> {
    col.seq += 1;
    col.modified = chrono::Utc::now().timestamp();
    let entry = ChangeRecord {
        name: name.clone(),
        deleted,
    };
    changes.insert(
        keys::change(key, col.seq),
        codec::encode(&entry).or_else(abort)?,
    )?;
    if col.seq - col.oldest_seq > CHANGE_LOG_LIMIT {
        changes.remove(keys::change(key, col.oldest_seq))?;
        col.oldest_seq += 1;
    }
    Ok(())
}
