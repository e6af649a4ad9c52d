//! Pure response parsers: multistatus bodies from iCloud, Radicale,
//! Xandikos (or any standards-following server) into typed results. No I/O.
//! iCloud quirks handled here are named functions in `quirks`.

use crate::dav::listing as rows;
use crate::dav::names as n;
use crate::dav::{MultiStatus, PropValue, Response};
use crate::ids::{ETag, Href, SyncToken};

use super::quirks;
use super::Error;

/// What a remote calendar is, as far as calproxy cares (R6).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CalendarKind {
    /// An event calendar: can be primary or a conflict source.
    Events,
    /// A VTODO-only list (legacy Reminders): not offered (R6).
    Reminders,
    /// A subscribed (webcal) calendar: iCloud does not hold its events (R6).
    Subscribed {
        /// The feed URL, when given.
        source: Option<String>,
    },
}

/// One calendar from the home listing.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RemoteCalendar {
    /// Path of the collection (ends with `/`).
    pub href: Href,
    /// `DAV:displayname` (empty if none).
    pub displayname: String,
    /// `ICAL:calendar-color`.
    pub color: Option<String>,
    /// What it is.
    pub kind: CalendarKind,
    /// `CS:getctag`.
    pub ctag: Option<String>,
    /// `DAV:sync-token` property.
    pub sync_token: Option<String>,
    /// Shared by someone else (CS:shared) or owned and shared (CS:shared-owner).
    pub shared: bool,
    /// The privilege set lacks write/bind: a read-only shared calendar.
    pub read_only: bool,
}

impl RemoteCalendar {
    /// The calendar's last path segment (its id upstream).
    pub fn segment(&self) -> &str {
        self.href
            .as_str()
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default()
    }

    /// Why this calendar cannot be connected, if it cannot (R6).
    pub fn refusal(&self) -> Option<&'static str> {
        match self.kind {
            CalendarKind::Events => None,
            CalendarKind::Reminders => Some("reminders list (VTODO only), not a calendar"),
            CalendarKind::Subscribed { .. } => {
                Some("subscribed (webcal) calendar: iCloud does not hold its events")
            }
        }
    }
}

fn text(r: &Response, name: &n::QName) -> Option<String> {
    r.prop_text(name)
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != "None") // vdirsyncer: iCloud returns "None" for empty values
        .map(str::to_string)
}

fn hrefs(r: &Response, name: &n::QName) -> Vec<Href> {
    match r.prop(name) {
        Some(PropValue::Hrefs(v)) => v.clone(),
        Some(PropValue::Xml(children)) => children
            .iter()
            .filter(|c| c.is(&n::HREF))
            .map(|c| Href::new(c.text.trim()))
            .collect(),
        Some(PropValue::Text(t)) if !t.trim().is_empty() => vec![Href::new(t.trim())],
        _ => Vec::new(),
    }
}

/// `current-user-principal` from the root PROPFIND.
pub fn principal(ms: &MultiStatus) -> Result<Href, Error> {
    ms.responses
        .iter()
        .flat_map(|r| hrefs(r, &n::CURRENT_USER_PRINCIPAL))
        .next()
        .ok_or(Error::BadResponse {
            what: "no current-user-principal",
        })
}

/// `calendar-home-set` from the principal PROPFIND. QUIRK(iCloud): the
/// single response may carry a different href (§1.1), so any response counts.
pub fn home_set(ms: &MultiStatus) -> Result<Href, Error> {
    quirks::any_response(ms)
        .flat_map(|r| hrefs(r, &n::CALENDAR_HOME_SET))
        .next()
        .ok_or(Error::BadResponse {
            what: "no calendar-home-set",
        })
}

/// The calendars of a home listing (Depth 1). The home itself, scheduling
/// inbox/outbox, notification collections and plain collections are left out.
pub fn calendars(ms: &MultiStatus, home: &Href) -> Vec<RemoteCalendar> {
    let mut out = Vec::new();
    for r in &ms.responses {
        if quirks::same_collection(&r.href, home) {
            continue;
        }
        let types: Vec<n::QName> = match r.prop(&n::RESOURCETYPE) {
            Some(PropValue::ResourceType(t)) => t.clone(),
            _ => Vec::new(),
        };
        let has = |q: &n::QName| types.contains(q);
        if has(&n::SCHEDULE_INBOX) || has(&n::SCHEDULE_OUTBOX) || has(&n::CS_NOTIFICATION) {
            continue;
        }
        let comps: Vec<String> = match r.prop(&n::SUPPORTED_CALENDAR_COMPONENT_SET) {
            Some(PropValue::CompSet(c)) => c.iter().map(|c| c.to_ascii_uppercase()).collect(),
            _ => Vec::new(),
        };
        let kind = if has(&n::CS_SUBSCRIBED) {
            CalendarKind::Subscribed {
                source: hrefs(r, &n::CS_SOURCE).first().map(|h| h.to_string()),
            }
        } else if has(&n::CALENDAR) {
            if comps.is_empty() || comps.iter().any(|c| c == "VEVENT") {
                CalendarKind::Events
            } else {
                CalendarKind::Reminders
            }
        } else {
            continue;
        };
        let read_only = match r.prop(&n::CURRENT_USER_PRIVILEGE_SET) {
            Some(PropValue::Privileges(p)) => {
                !(p.contains(&n::WRITE)
                    || p.contains(&n::WRITE_CONTENT)
                    || p.contains(&n::ALL)
                    || p.contains(&n::BIND))
            }
            _ => false,
        };
        out.push(RemoteCalendar {
            href: quirks::path_of(&r.href),
            displayname: text(r, &n::DISPLAYNAME).unwrap_or_default(),
            color: text(r, &n::CALENDAR_COLOR),
            kind,
            ctag: text(r, &n::GETCTAG),
            sync_token: text(r, &n::SYNC_TOKEN),
            shared: has(&n::CS_SHARED) || has(&n::CS_SHARED_OWNER),
            read_only,
        });
    }
    out
}

/// Member changes reported by sync-collection or an ETag listing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Listing {
    /// Members present, with their ETags (deduplicated, collection row skipped).
    pub present: Vec<(Href, ETag)>,
    /// Members reported deleted (sync-collection 404 rows).
    pub deleted: Vec<Href>,
    /// The new sync token (sync-collection only).
    pub token: Option<SyncToken>,
}

/// A sync-collection answer (RFC 6578 §3.5), read as rows
/// ([`rows::read`]). QUIRK(iCloud): skips the collection's own row and
/// de-duplicates repeated hrefs (§3.3).
pub fn sync_delta(l: &rows::Listing, calendar: &Href) -> Listing {
    let mut out = listing(l, calendar);
    out.token = l.sync_token.clone();
    out
}

/// A Depth 1 ETag listing (or sync-collection body) into present/deleted members.
pub fn listing(l: &rows::Listing, calendar: &Href) -> Listing {
    let mut out = Listing::default();
    for r in quirks::dedupe_by_href(&l.rows, |r| &r.href) {
        if quirks::same_collection(&r.href, calendar) {
            continue;
        }
        let href = quirks::path_of(&r.href);
        match r.status {
            Some(404) | Some(410) => out.deleted.push(href),
            Some(_) => {}
            // A row's ETag is trimmed and never empty (`rows::Row`).
            None => {
                if let Some(etag) = &r.etag {
                    out.present.push((href, ETag::new(etag.as_str())));
                }
            }
        }
    }
    out
}

/// One fetched object.
#[derive(Debug, Clone, PartialEq)]
pub struct Fetched {
    /// Its href (path).
    pub href: Href,
    /// Its ETag.
    pub etag: ETag,
    /// The iCalendar bytes as iCloud sent them.
    pub data: Vec<u8>,
}

/// What a multiget answered.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MultigetAnswer {
    /// The objects found.
    pub found: Vec<Fetched>,
    /// Hrefs that came back 404 (QUIRK(iCloud): §3.2, a just-listed href
    /// can be missing; the caller keeps its old token).
    pub missing: Vec<Href>,
}

/// Reads a multiget answer.
pub fn multiget(ms: &MultiStatus, calendar: &Href) -> MultigetAnswer {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for r in quirks::dedupe_by_href(&ms.responses, |r| &r.href) {
        if quirks::same_collection(&r.href, calendar) {
            continue;
        }
        let href = quirks::path_of(&r.href);
        let data = match r.prop(&n::CALENDAR_DATA) {
            Some(PropValue::CalendarData(d)) => Some(d.to_vec()),
            Some(PropValue::Text(d)) => Some(d.clone().into_bytes()),
            _ => None,
        };
        match (r.prop_text(&n::GETETAG), data) {
            (Some(etag), Some(data)) if r.bare_status().is_none() => found.push(Fetched {
                href,
                etag: ETag::new(etag),
                data,
            }),
            _ => missing.push(href),
        }
    }
    MultigetAnswer { found, missing }
}

#[cfg(test)]
mod tests;
