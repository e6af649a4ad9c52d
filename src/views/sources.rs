//! How current each source of a user's busy time is (issue 13 #1: never
//! a silent partial answer). For every collection `deps::sources` reads —
//! the user's own (primary, blocked, each conflict calendar) and each
//! conflict user's, summed up per user (R7: no calendar of another user
//! is named) — whether it is `ok`, `stale` (its connection's last
//! successful sync is older than the allowed age, or it never synced) or
//! `failing` (the last sync failed, or iCloud refused the password), like
//! the per-calendar `errors` of Google's freeBusy. Local collections
//! (`blocked/`, and anything not copied from a connection) are never stale.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::ids::UserRef;
use crate::store::{self, CollectionKind, ConnectionRecord, ConnectionState, Store};

use super::deps;

/// How many sync intervals may pass since a connection's last
/// successful sync before its copies count as stale.
pub const STALE_INTERVALS: u32 = 3;

/// What "current" means for one answer.
#[derive(Debug, Clone, Copy)]
pub struct Freshness {
    /// Now.
    pub now: DateTime<Utc>,
    /// The longest time since a connection's last successful sync that
    /// still counts as current.
    pub max_age: chrono::Duration,
}

impl Freshness {
    /// Now, with [`STALE_INTERVALS`] of `sync_interval` allowed.
    pub fn for_interval(sync_interval: std::time::Duration) -> Self {
        Self {
            now: Utc::now(),
            max_age: chrono::Duration::from_std(sync_interval * STALE_INTERVALS)
                .unwrap_or(chrono::Duration::MAX),
        }
    }
}

/// A source's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Current.
    Ok,
    /// Not synced recently (or never): its busy time may be out of date.
    Stale,
    /// Its last sync failed: its busy time may be out of date.
    Failing,
}

/// One source as the slots API reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceStatus {
    /// The collection (`primary`, `blocked`, a conflict calendar), or
    /// `user:{id}` for a conflict user's time (R7).
    pub calendar: String,
    /// `primary`, `blocked`, `conflict` or `conflict-user`.
    pub kind: &'static str,
    /// The connection it is copied from, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection: Option<String>,
    /// Its state.
    pub status: State,
    /// The connection's last successful sync.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_sync: Option<DateTime<Utc>>,
    /// Why it is not `ok`, one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The state of a source copied from `rec` (None: the connection is gone).
fn judge(rec: Option<&ConnectionRecord>, f: Freshness) -> (State, Option<String>) {
    let Some(rec) = rec else {
        return (
            State::Failing,
            Some("its connection was removed; its copies are no longer synced".into()),
        );
    };
    if let ConnectionState::AuthFailed { .. } = rec.state {
        return (
            State::Failing,
            Some(
                "iCloud refused the app-specific password; store a new one with `calproxy connect`"
                    .into(),
            ),
        );
    }
    if let Some(e) = &rec.last_error {
        return (State::Failing, Some(format!("the last sync failed: {e}")));
    }
    let last = rec
        .last_sync
        .and_then(|t| DateTime::<Utc>::from_timestamp(t, 0));
    match last {
        None => (State::Stale, Some("not synced yet".into())),
        Some(t) if f.now - t > f.max_age => (
            State::Stale,
            Some(format!(
                "last synced {} ago (more than {} minutes)",
                human(f.now - t),
                f.max_age.num_minutes().max(1)
            )),
        ),
        Some(_) => (State::Ok, None),
    }
}

fn human(d: chrono::Duration) -> String {
    match d.num_minutes() {
        m if m < 120 => format!("{m} minutes"),
        m if m < 48 * 60 => format!("{} hours", m / 60),
        m => format!("{} days", m / (24 * 60)),
    }
}

fn kind_name(k: &CollectionKind) -> &'static str {
    match k {
        CollectionKind::Primary => "primary",
        CollectionKind::Blocked => "blocked",
        CollectionKind::Source | CollectionKind::Availability => "conflict",
    }
}

/// Every source of `who`'s busy time with its state: their own
/// collections one by one, each conflict user as one entry (the worst
/// state of their collections).
pub fn sources(store: &Store, who: &UserRef, f: Freshness) -> store::Result<Vec<SourceStatus>> {
    let mut out: Vec<SourceStatus> = Vec::new();
    for src in deps::sources(store, who)? {
        let owner = src.key.owner();
        let links = store.links(&owner.tenant, &owner.user)?;
        let link = links
            .remote_refs()
            .find(|r| r.local == src.key.calendar)
            .cloned();
        let (status, reason, last_sync, connection) = match &link {
            None => (State::Ok, None, None, None),
            Some(r) => {
                let rec = store.connection(&r.connection)?;
                let (s, why) = judge(rec.as_ref(), f);
                let last = rec
                    .and_then(|c| c.last_sync)
                    .and_then(|t| DateTime::<Utc>::from_timestamp(t, 0));
                (s, why, last, Some(r.connection.to_string()))
            }
        };
        if owner == *who {
            out.push(SourceStatus {
                calendar: src.key.calendar.to_string(),
                kind: kind_name(&src.record.kind),
                connection,
                status,
                last_sync,
                reason,
            });
            continue;
        }
        let name = format!("user:{}", owner.user);
        let i = match out.iter().position(|s| s.calendar == name) {
            Some(i) => i,
            None => {
                out.push(SourceStatus {
                    calendar: name,
                    kind: "conflict-user",
                    connection: None,
                    status: State::Ok,
                    last_sync: None,
                    reason: None,
                });
                out.len() - 1
            }
        };
        let entry = &mut out[i];
        if status > entry.status {
            entry.status = status;
            entry.reason = reason.map(|r| format!("one of their calendars: {r}"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec() -> ConnectionRecord {
        ConnectionRecord {
            apple_id: "a".into(),
            sealed_password: vec![],
            upstream: "u".into(),
            home_url: None,
            tenants: vec![],
            state: ConnectionState::Active,
            last_sync: Some(1_000_000),
            last_error: None,
            throttled_until: None,
        }
    }

    fn at(secs: i64) -> Freshness {
        Freshness {
            now: DateTime::from_timestamp(secs, 0).unwrap(),
            max_age: chrono::Duration::minutes(3),
        }
    }

    #[test]
    fn ok_stale_and_failing() {
        let r = rec();
        assert_eq!(judge(Some(&r), at(1_000_100)).0, State::Ok);
        let (s, why) = judge(Some(&r), at(1_000_000 + 3 * 3600));
        assert_eq!(s, State::Stale);
        assert_eq!(
            why.unwrap(),
            "last synced 3 hours ago (more than 3 minutes)"
        );
        let never = ConnectionRecord {
            last_sync: None,
            ..rec()
        };
        assert_eq!(
            judge(Some(&never), at(0)),
            (State::Stale, Some("not synced yet".into()))
        );
        let failed = ConnectionRecord {
            last_error: Some("cannot reach upstream".into()),
            ..rec()
        };
        assert_eq!(judge(Some(&failed), at(1_000_100)).0, State::Failing);
        let auth = ConnectionRecord {
            state: ConnectionState::AuthFailed { since: 5 },
            ..rec()
        };
        assert!(judge(Some(&auth), at(1_000_100))
            .1
            .unwrap()
            .contains("app-specific password"));
        assert_eq!(judge(None, at(0)).0, State::Failing);
    }
}
