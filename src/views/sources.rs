//! How current each source of a user's busy time is (issue 13 #1: never
//! a silent partial answer). For every collection `deps::sources` reads —
//! the user's own (primary, blocked, each conflict calendar) and each
//! conflict user's, summed up per user (R7: no calendar of another user
//! is named) — whether it is `ok`, `stale` (its connection's last
//! successful sync is older than the allowed age, or it never synced) or
//! `failing` (the last sync failed, or iCloud refused the password), like
//! the per-calendar `errors` of Google's freeBusy. An ICS feed is judged
//! by its own polling interval, not the sync interval; a calendar whose
//! deletions safe sync holds is stale (its copies may show busy time that
//! is gone upstream). Local collections (`blocked/`, and anything not
//! copied from a connection) are never stale.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::{Config, FeedLimits};
use crate::ids::UserRef;
use crate::store::{self, CollectionKind, ConnectionRecord, ConnectionState, Store};
use crate::sync::plan::feed_interval;

use super::deps;

/// How many sync intervals (polling intervals for an ICS feed) may pass
/// since a connection's last successful sync before its copies count as
/// stale.
pub const STALE_INTERVALS: u32 = 3;

/// What "current" means for one answer.
#[derive(Debug, Clone, Copy)]
pub struct Freshness {
    /// Now.
    pub now: DateTime<Utc>,
    /// Time between sync ticks of a CalDAV connection.
    pub sync_interval: std::time::Duration,
    /// How ICS feeds are polled (their interval follows the feed).
    pub feeds: FeedLimits,
}

impl Freshness {
    /// Now, under the server's sync settings.
    pub fn of(config: &Config) -> Self {
        Self {
            now: Utc::now(),
            sync_interval: config.sync.interval,
            feeds: config.feeds,
        }
    }

    /// The longest time since `rec`'s last successful sync that still
    /// counts as current: [`STALE_INTERVALS`] of its polling interval.
    pub fn max_age(&self, rec: &ConnectionRecord) -> chrono::Duration {
        let every = match rec.feed() {
            Some(feed) => feed_interval(feed.poll.refresh_secs, self.sync_interval, &self.feeds),
            None => self.sync_interval,
        };
        chrono::Duration::from_std(every * STALE_INTERVALS).unwrap_or(chrono::Duration::MAX)
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
    let max_age = f.max_age(rec);
    match last {
        None => (State::Stale, Some("not synced yet".into())),
        Some(t) if f.now - t > max_age => (
            State::Stale,
            Some(format!(
                "last synced {} ago (more than {} minutes)",
                human(f.now - t),
                max_age.num_minutes().max(1)
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
                let (mut s, mut why) = judge(rec.as_ref(), f);
                if s == State::Ok {
                    if let Some(h) = store.held(&r.connection, &r.calendar)? {
                        s = State::Stale;
                        why = Some(format!(
                            "safe sync holds {} deletions from iCloud; review them and run `calproxy sync --connection {} --confirm-deletions`",
                            h.hrefs.len(),
                            r.connection
                        ));
                    }
                }
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
            ..ConnectionRecord::caldav("a", vec![], "u")
        }
    }

    fn at(secs: i64) -> Freshness {
        Freshness {
            now: DateTime::from_timestamp(secs, 0).unwrap(),
            sync_interval: std::time::Duration::from_secs(60),
            feeds: FeedLimits::default(),
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

    #[test]
    fn an_ics_feed_is_judged_by_its_own_polling_interval() {
        let mut feed = rec();
        feed.source = store::SourceKind::IcsFeed(store::FeedSource {
            name: "holidays".into(),
            sealed_url: vec![],
            poll: store::FeedPoll {
                refresh_secs: Some(3600),
                ..Default::default()
            },
        });
        // Polled hourly: 2 hours after the last poll is current, 4 is stale.
        assert_eq!(judge(Some(&feed), at(1_000_000 + 2 * 3600)).0, State::Ok);
        let (s, why) = judge(Some(&feed), at(1_000_000 + 4 * 3600));
        assert_eq!(s, State::Stale);
        assert!(why.unwrap().contains("more than 180 minutes"));
        // The same age on a CalDAV connection synced every minute is stale.
        assert_eq!(
            judge(Some(&rec()), at(1_000_000 + 2 * 3600)).0,
            State::Stale
        );
    }
}
