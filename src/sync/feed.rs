//! ICS feeds (`calproxy connect --ics URL --name NAME`): one read-only
//! calendar per feed, polled with a conditional GET (ETag,
//! Last-Modified) as often as the feed asks (`plan::feed_interval`), within
//! a size and a time limit. A good answer is cut into one object per UID
//! (`ical::split_feed`) and applied like a full listing of a CalDAV
//! calendar, the safe-sync guard included; the users who chose the feed as
//! a conflict calendar get copies through `materialize` like any other.
//! An answer that is not iCalendar, too large or too slow changes nothing:
//! the last good copy stays and the connection shows why.

use std::collections::HashMap;

use crate::ical::{self, FeedCalendar};
use crate::ids::{CalendarId, ConnectionId, ETag, Href, TenantId};
use crate::secret::Secret;
use crate::store::{
    ConnectionRecord, ConnectionState, FeedPoll, FeedSource, RemoteCalendarRecord, RemoteKind,
    RemoteObject, SourceKind,
};
use crate::traffic::Trigger;
use crate::upstream::feed::{self as wire, FeedAnswer, FeedUrl, Validators};
use crate::upstream::{self, parse::Listing, Client};

use super::execute::{delete_or_hold, Deletions, SyncOptions, SyncReport};
use super::materialize;
use super::plan::{self, ListingMode};
use super::{Engine, Error};

/// Why a feed could not be used this time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedProblem {
    /// The answer is not iCalendar (an HTML sign-in page, JSON, …).
    #[error("the feed is not iCalendar: it is {found}{}; the last good copy is kept", .content_type.as_deref().map(|t| format!(" ({t})")).unwrap_or_default())]
    NotICalendar {
        /// What it looked like.
        found: String,
        /// The `Content-Type` it came with.
        content_type: Option<String>,
    },
    /// The answer is larger than the limit.
    #[error("the feed is larger than {limit} bytes; the last good copy is kept")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The answer took longer than the limit.
    #[error("the feed did not answer within {after:?}; the last good copy is kept")]
    TooSlow {
        /// The limit.
        after: std::time::Duration,
    },
    /// A 304 to a request without validators.
    #[error("the feed answered 304 Not Modified to a first request")]
    UnexpectedNotModified,
    /// No calendar id can be made of the name.
    #[error("the feed's name cannot be made a calendar id")]
    BadName,
}

/// One poll's answer, not applied yet.
#[derive(Debug, Clone, PartialEq)]
pub enum Fetch {
    /// 304: the last good copy is current.
    NotModified,
    /// A good copy.
    Fresh {
        /// The feed, split into objects.
        calendar: FeedCalendar,
        /// Its validators for the next poll.
        validators: Validators,
    },
}

/// Polls a feed once: the conditional GET within the time limit, and the
/// answer checked and split.
pub async fn fetch(
    client: &Client,
    url: &FeedUrl,
    poll: &FeedPoll,
    timeout: std::time::Duration,
) -> Result<Fetch, Error> {
    let validators = Validators {
        etag: poll.etag.clone(),
        last_modified: poll.last_modified.clone(),
    };
    let call = wire::get(url, &validators);
    let ex = match tokio::time::timeout(timeout, client.send_raw(&call)).await {
        Err(_) => return Err(FeedProblem::TooSlow { after: timeout }.into()),
        Ok(Err(upstream::Error::TooLarge { limit })) => {
            return Err(FeedProblem::TooLarge { limit }.into())
        }
        Ok(r) => r?,
    };
    match wire::answer(url, ex)? {
        FeedAnswer::NotModified if validators == Validators::default() => {
            Err(FeedProblem::UnexpectedNotModified.into())
        }
        FeedAnswer::NotModified => Ok(Fetch::NotModified),
        FeedAnswer::Fetched(f) => {
            if let Err(e) = ical::check_icalendar(&f.body) {
                return Err(FeedProblem::NotICalendar {
                    found: e.found,
                    content_type: f.content_type,
                }
                .into());
            }
            let calendar = ical::split_feed(&f.body).map_err(|e| FeedProblem::NotICalendar {
                found: format!("broken iCalendar ({e})"),
                content_type: f.content_type.clone(),
            })?;
            Ok(Fetch::Fresh {
                calendar,
                validators: f.validators,
            })
        }
    }
}

/// The local id of a feed's calendar: its name made a valid id
/// (`US holidays` → `us-holidays`; `feed` when nothing is left).
pub fn calendar_id_for(name: &str) -> Result<CalendarId, FeedProblem> {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug: String = slug.chars().take(64).collect();
    let slug = slug.trim_matches('-');
    CalendarId::new(if slug.is_empty() { "feed" } else { slug }).map_err(|_| FeedProblem::BadName)
}

/// The href an object of a feed is kept under: its UID as a file name
/// (characters outside `A-Za-z0-9-_.@` become `_`; a long or changed one
/// gets a hash of the UID, so two UIDs never share a name).
pub fn object_href(cal: &CalendarId, uid: &str) -> Href {
    let clean: String = uid
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.@".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    let name = if clean == uid && !clean.starts_with('.') {
        clean
    } else {
        let hash = ical::content_hash(uid.as_bytes());
        let h = hash.as_str();
        format!("{clean}-{}", &h[..h.len().min(16)])
    };
    Href::new(format!("/{cal}/{name}.ics"))
}

/// The one remote calendar of a feed connection.
fn feed_calendar(engine: &Engine, conn: &ConnectionId) -> Result<CalendarId, Error> {
    engine
        .store
        .remote_calendars(conn)?
        .into_iter()
        .map(|(id, _)| id)
        .next()
        .ok_or_else(|| Error::NoConnection { id: conn.clone() })
}

/// Applies a good copy like a full listing: new and changed objects
/// stored, missing ones deleted unless the guard holds them, then every
/// linked user's copy reconciled.
fn apply(
    engine: &Engine,
    conn: &ConnectionId,
    cal: &CalendarId,
    calendar: &FeedCalendar,
    opts: SyncOptions,
    report: &mut SyncReport,
) -> Result<(), Error> {
    let store = &engine.store;
    let stored: HashMap<Href, ETag> = store
        .remote_objects(conn, cal)?
        .into_iter()
        .map(|(h, o)| (h, o.etag))
        .collect();
    let mut data: HashMap<Href, &[u8]> = HashMap::new();
    let mut listing = Listing::default();
    for o in &calendar.objects {
        let href = object_href(cal, &o.uid);
        listing
            .present
            .push((href.clone(), ETag::of_content(&o.data)));
        data.insert(href, &o.data);
    }
    let planned = plan::fetch_plan(&stored, &listing, ListingMode::Full);
    for href in &planned.fetch {
        if let Some(bytes) = data.get(href) {
            let etag = ETag::of_content(bytes);
            let obj = RemoteObject {
                etag,
                data: bytes.to_vec(),
            };
            store.put_remote_object(conn, cal, href, &obj)?;
            report.fetched += 1;
        }
    }
    let deletions = Deletions {
        copies: stored.len(),
        listed: listing.present.len(),
        hrefs: &planned.delete,
        mode: ListingMode::Full,
    };
    delete_or_hold(engine, conn, cal, deletions, opts, report)?;
    materialize::reconcile_calendar(store, conn, cal)?;
    Ok(())
}

/// The poll state after a good copy.
fn polled(poll: &mut FeedPoll, now: i64, fresh: Option<(&FeedCalendar, &Validators)>) {
    poll.checked_at = Some(now);
    poll.fetched_at = Some(now);
    if let Some((calendar, v)) = fresh {
        poll.etag = v.etag.clone();
        poll.last_modified = v.last_modified.clone();
        poll.refresh_secs = calendar.refresh.map(|d| d.as_secs());
    }
}

fn feed_mut(r: &mut ConnectionRecord) -> Option<&mut FeedSource> {
    match &mut r.source {
        SourceKind::IcsFeed(f) => Some(f),
        SourceKind::CalDav => None,
    }
}

/// One poll of a stored feed connection, applied.
pub(super) async fn sync_feed(
    engine: &Engine,
    conn: &ConnectionId,
    rec: &ConnectionRecord,
    opts: SyncOptions,
) -> Result<SyncReport, Error> {
    let store = &engine.store;
    let Some(feed) = rec.feed() else {
        return Err(Error::NoConnection { id: conn.clone() });
    };
    let url = wire::parse_url(store.unseal(&feed.sealed_url)?.expose())?;
    let client = engine.clients.get(conn, rec, Trigger::SyncTick)?;
    let cal = feed_calendar(engine, conn)?;
    let mut report = SyncReport {
        requests: 1,
        ..SyncReport::default()
    };
    let result = fetch(&client, &url, &feed.poll, engine.feeds.timeout).await;
    let now = chrono::Utc::now().timestamp();
    let fetched = match result {
        Ok(f) => f,
        Err(e) => {
            store.update_connection(conn, |r| {
                if let Some(f) = feed_mut(r) {
                    f.poll.checked_at = Some(now);
                }
            })?;
            return Err(e);
        }
    };
    match &fetched {
        Fetch::NotModified => report.not_modified = true,
        Fetch::Fresh { calendar, .. } => {
            report.calendars_synced = 1;
            apply(engine, conn, &cal, calendar, opts, &mut report)?;
        }
    }
    store.update_connection(conn, |r| {
        r.last_sync = Some(now);
        r.last_error = None;
        r.throttled_until = None;
        if let Some(f) = feed_mut(r) {
            let fresh = match &fetched {
                Fetch::Fresh {
                    calendar,
                    validators,
                } => Some((calendar, validators)),
                Fetch::NotModified => None,
            };
            polled(&mut f.poll, now, fresh);
        }
    })?;
    store.flush().await?;
    Ok(report)
}

/// A feed that `connect --ics` added.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedAdded {
    /// Its calendar id (for `configure`).
    pub calendar: CalendarId,
    /// Its name.
    pub name: String,
    /// The URL as shown.
    pub display_url: String,
    /// Events (objects) it holds now.
    pub objects: usize,
    /// How often it is polled, in seconds, as it asks (`None`: the default).
    pub refresh_secs: Option<u64>,
}

impl Engine {
    /// Adds (or replaces) an ICS feed connection for `tenant`: the feed is
    /// fetched first and refused if it cannot be read or is not iCalendar;
    /// only then is it stored (its URL sealed) with its one read-only
    /// calendar and its objects. `name` defaults to the feed's
    /// `X-WR-CALNAME`.
    pub async fn add_feed(
        &self,
        conn: &ConnectionId,
        tenant: &TenantId,
        given_url: &str,
        name: Option<&str>,
    ) -> Result<FeedAdded, Error> {
        let url = wire::parse_url(given_url)?;
        let client = self.clients.ephemeral_feed(conn, &url, Trigger::Connect)?;
        let (calendar, validators) =
            match fetch(&client, &url, &FeedPoll::default(), self.feeds.timeout).await? {
                Fetch::Fresh {
                    calendar,
                    validators,
                } => (calendar, validators),
                Fetch::NotModified => return Err(FeedProblem::UnexpectedNotModified.into()),
            };
        let name = name
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .or_else(|| calendar.name.clone())
            .unwrap_or_else(|| url.display.clone());
        let cal = calendar_id_for(&name)?;
        let store = &self.store;
        let now = chrono::Utc::now().timestamp();
        let mut poll = FeedPoll::default();
        polled(&mut poll, now, Some((&calendar, &validators)));
        let source = FeedSource {
            name: name.clone(),
            sealed_url: store.seal(&Secret::new(given_url.trim().to_string()))?,
            poll,
        };
        let mut rec = store
            .connection(conn)?
            .filter(|r| r.feed().is_some())
            .unwrap_or_else(|| ConnectionRecord::caldav("", Vec::new(), ""));
        rec.upstream = url.display.clone();
        rec.source = SourceKind::IcsFeed(source);
        rec.state = ConnectionState::Active;
        rec.last_error = None;
        rec.last_sync = Some(now);
        if !rec.tenants.contains(tenant) {
            rec.tenants.push(tenant.clone());
        }
        store.put_connection(conn, &rec)?;
        for (old, _) in store.remote_calendars(conn)? {
            if old != cal {
                store.remove_remote_calendar(conn, &old)?;
                materialize::reconcile_calendar(store, conn, &old)?;
            }
        }
        store.put_remote_calendar(
            conn,
            &cal,
            &RemoteCalendarRecord {
                href: Href::new(format!("/{cal}/")),
                displayname: name.clone(),
                color: None,
                kind: RemoteKind::Events,
                shared: false,
                read_only: true,
                synced_ctag: None,
                sync_token: None,
                listed_at: None,
            },
        )?;
        let mut report = SyncReport::default();
        apply(
            self,
            conn,
            &cal,
            &calendar,
            SyncOptions::default(),
            &mut report,
        )?;
        store.flush().await?;
        Ok(FeedAdded {
            objects: calendar.objects.len(),
            refresh_secs: calendar.refresh.map(|d| d.as_secs()),
            display_url: url.display,
            calendar: cal,
            name,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_names_become_calendar_ids() {
        let id = |n: &str| calendar_id_for(n).unwrap().as_str().to_string();
        assert_eq!(id("US holidays"), "us-holidays");
        assert_eq!(id("  Ferien (BW) 2027 "), "ferien-bw-2027");
        assert_eq!(id("節日"), "feed");
    }

    #[test]
    fn feed_objects_are_named_by_uid_without_collisions() {
        let cal = CalendarId::new("us-holidays").unwrap();
        assert_eq!(
            object_href(&cal, "2027-07-04@holidays.example").as_str(),
            "/us-holidays/2027-07-04@holidays.example.ics"
        );
        let a = object_href(&cal, "a/b");
        let b = object_href(&cal, "a?b");
        assert_ne!(a, b);
        assert!(a.as_str().starts_with("/us-holidays/a_b-"));
        let name = materialize::object_name(&a).unwrap();
        assert!(!name.as_str().contains('/'));
        assert!(materialize::object_name(&object_href(&cal, "..")).is_some());
    }
}
