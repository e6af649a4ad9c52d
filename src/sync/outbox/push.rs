//! Performing one push: the plan's steps become upstream requests
//! (`upstream::requests`), the answers are reduced to what the plan needs,
//! and the outcome is settled in the store (origin recorded, entry removed,
//! local copy adopted or removed, or a retry scheduled).

use bytes::Bytes;

use crate::ical;
use crate::ids::{ContentHash, ETag, EventUid};
use crate::policy;
use crate::store::{self, ConnectionState, ObjectRecord, Origin, OutboxOp, Queued, WriteCondition};
use crate::traffic::Trigger;
use crate::upstream::{self, quirks, requests, Client, Exchange};

use super::plan::{Answer, Found, Plan, Start, Step};
use super::{Outbox, Outcome};
use crate::sync::{describe, plan as sync_plan, Error};

/// How a push ended, with what settling it needs.
pub(super) struct Pushed {
    step: Step,
    /// Hash of the content we sent (puts).
    ours: Option<ContentHash>,
    /// The upstream version the last `GET` returned.
    theirs: Option<Bytes>,
}

impl Pushed {
    fn done(step: Step) -> Self {
        Self {
            step,
            ours: None,
            theirs: None,
        }
    }
}

/// An answer to PUT or DELETE, for the plan.
fn answer(result: Result<Exchange, upstream::Error>) -> Answer {
    let ex = match result {
        Ok(ex) => ex,
        Err(e) => {
            return Answer::Network {
                reason: describe(&Error::Upstream(e)),
            }
        }
    };
    match ex.status {
        200..=299 => Answer::Success {
            etag: ex.header("etag").map(ETag::new),
        },
        401 => Answer::Unauthorized,
        404 => Answer::NotFound,
        409 => Answer::Conflict,
        412 => Answer::PreconditionFailed,
        429 | 503 => Answer::Throttled {
            retry_after: quirks::retry_after(ex.header("retry-after")),
        },
        s @ 500..=599 => Answer::ServerError { status: s },
        s => Answer::Refused { status: s },
    }
}

/// What a `GET` found, compared with the UID and hashes we know.
fn found(ex: &Exchange, uid: &EventUid, ours: &ContentHash, pushed: Option<&ContentHash>) -> Found {
    let etag = ex.header("etag").map(ETag::new);
    let same_uid = ical::parse_lenient(&ex.body).is_ok_and(|i| &i.uid == uid);
    if !same_uid {
        return Found::OtherEvent;
    }
    let theirs = ical::content_hash(&ex.body);
    if &theirs == ours {
        Found::Same { etag }
    } else if Some(&theirs) == pushed {
        Found::Housekeeping { etag }
    } else {
        Found::Edited { etag }
    }
}

impl Outbox {
    /// Pushes one entry through its plan. Errors before any request (the
    /// store, the connection) are returned; upstream trouble is a step.
    pub(super) async fn push(&self, q: &Queued) -> Result<Pushed, Error> {
        let e = &q.entry;
        let conn = self
            .store
            .connection(&e.connection)?
            .ok_or_else(|| Error::NoConnection {
                id: e.connection.clone(),
            })?;
        if let ConnectionState::AuthFailed { .. } = conn.state {
            return Ok(Pushed::done(Step::Retry {
                after: None,
                reason: "the connection needs a new app-specific password".into(),
            }));
        }
        let client = self
            .clients
            .get(&e.connection, &conn, Trigger::OutboxPush)?;
        match &e.op {
            OutboxOp::Delete { etag } => {
                let mut plan = Plan::new(&Start::Delete {
                    known: etag.clone(),
                });
                let mut step = plan.first();
                while let Step::Delete { if_match } = &step {
                    let a = answer(
                        client
                            .send_raw(&requests::delete_object(&e.href, if_match.clone()))
                            .await,
                    );
                    step = plan.next(&a);
                }
                Ok(Pushed::done(step))
            }
            OutboxOp::Put => {
                let Some(local) = self.store.object(&e.collection(), &e.name)? else {
                    // Deleted locally before it was pushed; a queued Delete follows if needed.
                    return Ok(Pushed::done(Step::Delivered { etag: None }));
                };
                let Origin::System { etag, pushed, .. } = &local.origin else {
                    return Ok(Pushed::done(Step::Delivered { etag: None }));
                };
                let body = Bytes::from(policy::outbound::for_icloud(&local.data));
                let ours = ical::content_hash(&body);
                let start = Start::Put {
                    known: etag.clone(),
                    pushed: pushed.clone(),
                    ours: ours.clone(),
                };
                self.put(&client, q, &local, start, body, ours, pushed.as_ref())
                    .await
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn put(
        &self,
        client: &Client,
        q: &Queued,
        local: &ObjectRecord,
        start: Start,
        body: Bytes,
        ours: ContentHash,
        pushed: Option<&ContentHash>,
    ) -> Result<Pushed, Error> {
        let href = &q.entry.href;
        let mut plan = Plan::new(&start);
        let mut step = plan.first();
        let mut theirs = None;
        while !step.is_final() {
            let a = match &step {
                Step::Put(cond) => answer(
                    client
                        .send_raw(&requests::put_object(href, body.clone(), cond))
                        .await,
                ),
                Step::Get => match client.send_raw(&requests::get_object(href)).await {
                    Ok(ex) if ex.status == 404 => Answer::Fetched(Found::Gone),
                    Ok(ex) if (200..300).contains(&ex.status) => {
                        let f = found(&ex, &local.index.uid, &ours, pushed);
                        theirs = Some(ex.body);
                        Answer::Fetched(f)
                    }
                    other => answer(other),
                },
                Step::Delete { if_match } => answer(
                    client
                        .send_raw(&requests::delete_object(href, if_match.clone()))
                        .await,
                ),
                _ => break,
            };
            step = plan.next(&a);
        }
        Ok(Pushed {
            step,
            ours: Some(ours),
            theirs,
        })
    }

    /// Settles a push in the store and says how it ended.
    pub(super) async fn settle(
        &self,
        q: &Queued,
        pushed: Result<Pushed, Error>,
    ) -> store::Result<Outcome> {
        let e = &q.entry;
        let key = e.collection();
        let pushed = match pushed {
            Ok(p) => p,
            Err(err) => Pushed::done(Step::Retry {
                after: None,
                reason: describe(&err),
            }),
        };
        let outcome = match pushed.step {
            Step::Delivered { etag } => {
                if matches!(e.op, OutboxOp::Put) {
                    self.record_delivery(q, etag, pushed.ours)?;
                }
                self.store.remove_outbox(q.id)?;
                Outcome::Delivered
            }
            Step::Adopt { etag } => {
                if let Some(theirs) = pushed.theirs {
                    self.adopt_upstream(q, etag, theirs.to_vec())?;
                }
                self.store.remove_outbox(q.id)?;
                Outcome::Delivered
            }
            Step::DeletedUpstream => {
                tracing::info!(object = %e.name, "deleted in iCloud meanwhile; the local copy goes too");
                match self.store.delete_object(&key, &e.name, None) {
                    Ok(_) | Err(store::Error::NoObject { .. }) => {}
                    Err(err) => return Err(err),
                }
                self.store.remove_outbox(q.id)?;
                Outcome::Delivered
            }
            Step::Rejected { status, reason } => {
                tracing::warn!(object = %e.name, status, reason, "iCloud refused a system event; local copy removed");
                if matches!(e.op, OutboxOp::Put) {
                    match self.store.delete_object(&key, &e.name, None) {
                        Ok(_) | Err(store::Error::NoObject { .. }) => {}
                        Err(err) => return Err(err),
                    }
                }
                self.store.remove_outbox(q.id)?;
                let msg = format!("iCloud refused {} ({status}): {reason}", e.name);
                let _ = self
                    .store
                    .update_connection(&e.connection, |r| r.last_error = Some(msg.clone()));
                Outcome::Rejected { status, reason }
            }
            Step::Retry { after, reason } => {
                let mut entry = e.clone();
                entry.attempts += 1;
                let wait = sync_plan::backoff(entry.attempts, after);
                entry.not_before = chrono::Utc::now().timestamp() + wait.as_secs() as i64;
                entry.last_error = Some(reason.clone());
                self.store.update_outbox(q.id, &entry)?;
                Outcome::Deferred { reason }
            }
            Step::Put(_) | Step::Get | Step::Delete { .. } => Outcome::Deferred {
                reason: "the push stopped half-way".into(),
            },
        };
        self.store.flush().await?;
        Ok(outcome)
    }

    /// Records a delivery in the local object's origin (clients see no
    /// change): upstream's ETag, what we sent, and when.
    fn record_delivery(
        &self,
        q: &Queued,
        etag: Option<ETag>,
        ours: Option<ContentHash>,
    ) -> store::Result<()> {
        let e = &q.entry;
        let origin = Origin::System {
            connection: e.connection.clone(),
            href: e.href.clone(),
            etag,
            pushed: ours,
            delivered: Some(self.store.sequence()?),
        };
        let update = self.store.update_object(&e.collection(), &e.name, |cur| {
            matches!(cur.origin, Origin::System { .. }).then(|| ObjectRecord {
                origin: origin.clone(),
                ..cur.clone()
            })
        });
        match update {
            Ok(_) | Err(store::Error::NoObject { .. }) => Ok(()),
            Err(err) => Err(err),
        }
    }

    /// Takes iCloud's version of a system event (edited there meanwhile).
    fn adopt_upstream(&self, q: &Queued, etag: Option<ETag>, theirs: Vec<u8>) -> store::Result<()> {
        let e = &q.entry;
        let pushed = ical::content_hash(&theirs);
        // Stored with the VTIMEZONEs it lacks (RFC 5545 §3.2.19); the hash
        // stays that of iCloud's bytes, which is what a later 412 compares.
        let data = ical::repair(&theirs)
            .map(|r| r.bytes.into_owned())
            .unwrap_or(theirs);
        let Ok(index) = ical::parse_lenient(&data) else {
            return Ok(());
        };
        let rec = ObjectRecord {
            etag: ETag::of_content(&data),
            index,
            origin: Origin::System {
                connection: e.connection.clone(),
                href: e.href.clone(),
                etag,
                pushed: Some(pushed),
                delivered: Some(self.store.sequence()?),
            },
            modified: chrono::Utc::now().timestamp(),
            data,
        };
        self.store
            .put_object(&e.collection(), &e.name, &rec, &WriteCondition::default())?;
        Ok(())
    }
}
