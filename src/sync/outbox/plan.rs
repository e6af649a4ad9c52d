//! The outbox's decisions (R1, R10) as a pure state machine: from what is
//! known locally and what upstream answered to the next request, or to the
//! end of one push. No I/O; `super::push` performs the requests.
//!
//! - A create is a `PUT` with `If-None-Match: *` on a name derived from
//!   the UID: a retry after a crash finds its own earlier delivery (412)
//!   instead of making a duplicate; the 412 is checked with a `GET` (same
//!   UID: ours, overwrite it once; another UID: refused).
//! - An update is a `PUT` with `If-Match`; on a 412 the `GET` tells an
//!   identical copy (done), iCloud housekeeping (the content is what we
//!   last pushed: overwrite once) and a real edit made in iCloud (iCloud
//!   wins: adopt it).
//! - A delete with a known ETag is conditional; on a 412 the user still
//!   deleted it, so what is there now is deleted. 404 means already gone.
//! - Throttling, 5xx, 401 and network errors: try again later.
//!   Other 4xx: iCloud's final word.

use std::time::Duration;

use crate::ids::{ContentHash, ETag};
use crate::upstream::requests::PutCondition;

/// What one push starts from.
#[derive(Debug, Clone, PartialEq)]
pub enum Start {
    /// Put the local copy: `known` is the upstream ETag of our last
    /// delivery (none: never delivered), `pushed` the hash of what we
    /// delivered then, `ours` the hash of what we would send now.
    Put {
        /// Upstream ETag of the last delivery.
        known: Option<ETag>,
        /// Hash of the last delivered content.
        pushed: Option<ContentHash>,
        /// Hash of the content to send.
        ours: ContentHash,
    },
    /// Delete it upstream (`known`: its ETag when we delivered it).
    Delete {
        /// Upstream ETag known when the client deleted it.
        known: Option<ETag>,
    },
}

/// An upstream answer, reduced to what a decision needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// 2xx, with the `ETag` header when one was sent.
    Success {
        /// The ETag header.
        etag: Option<ETag>,
    },
    /// 404.
    NotFound,
    /// 409.
    Conflict,
    /// 412.
    PreconditionFailed,
    /// 401.
    Unauthorized,
    /// 503 or 429, with `Retry-After` when sent.
    Throttled {
        /// How long upstream asked us to wait.
        retry_after: Option<Duration>,
    },
    /// Another 5xx.
    ServerError {
        /// The status.
        status: u16,
    },
    /// Another 4xx.
    Refused {
        /// The status.
        status: u16,
    },
    /// No answer (connect, TLS, timeout, broken body).
    Network {
        /// Why, one line.
        reason: String,
    },
    /// The answer to the `GET` this plan asked for, compared with ours.
    Fetched(Found),
}

/// What a `GET` of the upstream object found.
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    /// Nothing there (404).
    Gone,
    /// An event with another UID.
    OtherEvent,
    /// Our content exactly (DTSTAMP aside).
    Same {
        /// Its ETag.
        etag: Option<ETag>,
    },
    /// What we delivered last time: only upstream's ETag moved.
    Housekeeping {
        /// Its ETag.
        etag: Option<ETag>,
    },
    /// Content we did not send: edited in iCloud (or an older delivery of ours).
    Edited {
        /// Its ETag.
        etag: Option<ETag>,
    },
}

/// The next thing to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Send `PUT` with this condition.
    Put(PutCondition),
    /// Send `GET`.
    Get,
    /// Send `DELETE`, conditional when an ETag is given.
    Delete {
        /// `If-Match`.
        if_match: Option<ETag>,
    },
    /// Done: upstream has our version (or no longer has a deleted one).
    Delivered {
        /// Upstream's ETag of what it holds now, when known.
        etag: Option<ETag>,
    },
    /// Done: iCloud's edit wins; take the fetched version locally.
    Adopt {
        /// Its ETag.
        etag: Option<ETag>,
    },
    /// Done: iCloud deleted the event meanwhile; so does the local side.
    DeletedUpstream,
    /// Done: refused for good; the local copy goes.
    Rejected {
        /// Upstream's status.
        status: u16,
        /// Why, one sentence.
        reason: String,
    },
    /// Not now: try again later.
    Retry {
        /// Upstream's `Retry-After`.
        after: Option<Duration>,
        /// Why, one sentence.
        reason: String,
    },
}

impl Step {
    /// Whether the push is over.
    pub fn is_final(&self) -> bool {
        !matches!(self, Step::Put(_) | Step::Get | Step::Delete { .. })
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Phase {
    /// Nothing sent yet.
    Start(Start),
    /// Waiting for the answer to a PUT.
    Put,
    /// Waiting for the GET after a 2xx without ETag.
    EtagAfterPut,
    /// Waiting for the GET after a 412.
    Check,
    /// Waiting for the answer to a DELETE (conditional or not).
    Delete { conditional: bool },
    /// Over.
    Done,
}

/// One push in progress.
#[derive(Debug, Clone)]
pub struct Plan {
    create: bool,
    phase: Phase,
    /// A 412 was already answered by overwriting once.
    overwrote: bool,
}

fn retry(after: Option<Duration>, reason: impl Into<String>) -> Step {
    Step::Retry {
        after,
        reason: reason.into(),
    }
}

/// The common answers of every phase: wait, or give up.
fn transient_or_final(a: &Answer) -> Option<Step> {
    Some(match a {
        Answer::Throttled { retry_after } => retry(*retry_after, "iCloud is throttling"),
        Answer::ServerError { status } => retry(None, format!("iCloud answered {status}")),
        Answer::Unauthorized => retry(None, "iCloud refused the credentials (401)"),
        Answer::Network { reason } => retry(None, reason.clone()),
        Answer::Refused { status } => Step::Rejected {
            status: *status,
            reason: format!("iCloud refused the request ({status})"),
        },
        Answer::Conflict => Step::Rejected {
            status: 409,
            reason: "iCloud reports a conflict: the event's UID is used by another event of this account"
                .into(),
        },
        _ => return None,
    })
}

impl Plan {
    /// A push of `start`; [`Plan::first`] says what to send first.
    pub fn new(start: &Start) -> Plan {
        Plan {
            create: matches!(start, Start::Put { known: None, .. }),
            phase: Phase::Start(start.clone()),
            overwrote: false,
        }
    }

    /// The first step (the request to send, or already the end).
    pub fn first(&mut self) -> Step {
        let Phase::Start(start) = std::mem::replace(&mut self.phase, Phase::Done) else {
            return retry(None, "the push was already started");
        };
        match start {
            Start::Put {
                known,
                pushed,
                ours,
            } => {
                if known.is_some() && pushed.as_ref() == Some(&ours) {
                    // Coalesced: this content is already upstream.
                    return Step::Delivered { etag: known };
                }
                self.phase = Phase::Put;
                Step::Put(match known {
                    Some(tag) => PutCondition::Replace(tag),
                    None => PutCondition::Create,
                })
            }
            Start::Delete { known } => {
                self.phase = Phase::Delete {
                    conditional: known.is_some(),
                };
                Step::Delete { if_match: known }
            }
        }
    }

    /// The step after `answer` (the answer to the last step sent).
    pub fn next(&mut self, answer: &Answer) -> Step {
        let step = match self.phase.clone() {
            Phase::Start(_) => self.first(),
            Phase::Put => self.after_put(answer),
            Phase::EtagAfterPut => match answer {
                Answer::Fetched(
                    Found::Same { etag } | Found::Housekeeping { etag } | Found::Edited { etag },
                ) => Step::Delivered { etag: etag.clone() },
                // The PUT succeeded; only its ETag is unknown (found on the next sync).
                _ => Step::Delivered { etag: None },
            },
            Phase::Check => self.after_check(answer),
            Phase::Delete { conditional } => match answer {
                Answer::Success { .. } | Answer::NotFound => Step::Delivered { etag: None },
                Answer::PreconditionFailed if conditional => {
                    // Changed upstream since; the user still deleted it.
                    self.phase = Phase::Delete { conditional: false };
                    return Step::Delete { if_match: None };
                }
                other => transient_or_final(other).unwrap_or(Step::Rejected {
                    status: 412,
                    reason: "iCloud would not delete the event".into(),
                }),
            },
            Phase::Done => retry(None, "the push was already over"),
        };
        if step.is_final() {
            self.phase = Phase::Done;
        }
        step
    }

    fn after_put(&mut self, answer: &Answer) -> Step {
        match answer {
            Answer::Success { etag: Some(e) } => Step::Delivered {
                etag: Some(e.clone()),
            },
            Answer::Success { etag: None } => {
                // QUIRK(iCloud): ICLOUD.md §4, a PUT answer may lack the ETag.
                self.phase = Phase::EtagAfterPut;
                Step::Get
            }
            Answer::PreconditionFailed => {
                self.phase = Phase::Check;
                Step::Get
            }
            Answer::NotFound if self.create => Step::Rejected {
                status: 404,
                reason: "iCloud refused the event (404): the primary calendar may no longer exist"
                    .into(),
            },
            Answer::NotFound => Step::DeletedUpstream,
            other => transient_or_final(other)
                .unwrap_or_else(|| retry(None, "unexpected answer to a PUT")),
        }
    }

    fn after_check(&mut self, answer: &Answer) -> Step {
        let Answer::Fetched(found) = answer else {
            return transient_or_final(answer)
                .unwrap_or_else(|| retry(None, "unexpected answer to a GET"));
        };
        match found {
            Found::Gone if self.create => retry(None, "the event changed upstream during delivery"),
            Found::Gone => Step::DeletedUpstream,
            Found::OtherEvent => Step::Rejected {
                status: 412,
                reason: "another event already uses this name in iCloud".into(),
            },
            Found::Same { etag } => Step::Delivered { etag: etag.clone() },
            // Our own earlier delivery (a create after a crash) or an ETag
            // bumped by housekeeping: write our version over it, once.
            Found::Housekeeping { etag } | Found::Edited { etag }
                if !self.overwrote
                    && (self.create || matches!(found, Found::Housekeeping { .. })) =>
            {
                self.overwrote = true;
                self.phase = Phase::Put;
                match etag {
                    Some(tag) => Step::Put(PutCondition::Replace(tag.clone())),
                    None => retry(None, "iCloud sent no ETag for the event"),
                }
            }
            Found::Housekeeping { .. } => retry(None, "the event keeps changing upstream"),
            // Edited in iCloud meanwhile: the iCloud version wins (README).
            Found::Edited { etag } if !self.create => Step::Adopt { etag: etag.clone() },
            Found::Edited { .. } => retry(None, "the event keeps changing upstream"),
        }
    }
}

#[cfg(test)]
mod tests;
