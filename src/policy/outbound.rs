//! R1: where a system event goes in iCloud, and what it looks like there:
//! no METHOD property (ICLOUD.md §4, cal.com strips it too) and always an
//! end (QUIRK(iCloud) §4: a VEVENT without DTEND or DURATION is a 404).

use crate::ical::{self, StripSpec};
use crate::ids::{CalendarId, ConnectionId, EventUid, Href};
use crate::store::{Origin, RemoteRef};

/// Where a system event is written upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The connection of the primary calendar.
    pub connection: ConnectionId,
    /// The remote calendar.
    pub calendar: CalendarId,
    /// The object's href upstream.
    pub href: Href,
}

/// Why a write into `primary/` cannot be forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoTarget {
    /// The user has no primary iCloud calendar.
    NoPrimary,
    /// The primary calendar is linked but its calendar list was never synced.
    PrimaryNotSynced,
    /// The event was delivered to a calendar that is no longer the primary.
    CalendarUnlinked,
}

impl NoTarget {
    /// A sentence for the client.
    pub fn reason(self) -> &'static str {
        match self {
            NoTarget::NoPrimary => "no primary iCloud calendar is linked",
            NoTarget::PrimaryNotSynced => {
                "the primary iCloud calendar is not known yet; run `calproxy sync`"
            }
            NoTarget::CalendarUnlinked => "this event's iCloud calendar is no longer linked",
        }
    }
}

/// The target of a PUT of a system event (R1). An event that went upstream
/// before keeps its identity; a new one goes to the primary calendar
/// (`primary_href`: that calendar's collection href) under
/// [`super::writes::upstream_name`].
pub fn put_target(
    uid: &EventUid,
    existing: Option<&Origin>,
    primary: Option<&RemoteRef>,
    primary_href: Option<&Href>,
) -> Result<Target, NoTarget> {
    if let Some(Origin::System {
        connection, href, ..
    }) = existing
    {
        let calendar = primary
            .filter(|p| &p.connection == connection)
            .map(|p| p.calendar.clone())
            .ok_or(NoTarget::CalendarUnlinked)?;
        return Ok(Target {
            connection: connection.clone(),
            calendar,
            href: href.clone(),
        });
    }
    let p = primary.ok_or(NoTarget::NoPrimary)?;
    let base = primary_href.ok_or(NoTarget::PrimaryNotSynced)?;
    Ok(Target {
        connection: p.connection.clone(),
        calendar: p.calendar.clone(),
        href: Href::new(format!(
            "{}/{}",
            base.as_str().trim_end_matches('/'),
            super::writes::upstream_name(uid.as_str())
        )),
    })
}

/// The target of a DELETE of a system event, if the object is one (R1).
pub fn delete_target(origin: &Origin, primary: Option<&RemoteRef>) -> Option<Target> {
    let Origin::System {
        connection, href, ..
    } = origin
    else {
        return None;
    };
    let calendar = primary
        .filter(|p| &p.connection == connection)
        .map(|p| p.calendar.clone())
        .or_else(|| {
            // The calendar is the href's parent segment.
            href.as_str()
                .trim_end_matches('/')
                .rsplit('/')
                .nth(1)
                .and_then(|s| CalendarId::new(s).ok())
        })?;
    Some(Target {
        connection: connection.clone(),
        calendar,
        href: href.clone(),
    })
}

/// The bytes to PUT upstream for a stored system event.
pub fn for_icloud(stored: &[u8]) -> Vec<u8> {
    let stripped = ical::strip(
        stored,
        &StripSpec {
            properties: vec!["METHOD".into()],
            ..StripSpec::default()
        },
    );
    ical::ensure_end(&stripped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icloud_put_gets_dtend_and_loses_method() {
        let raw = b"BEGIN:VCALENDAR\r\nMETHOD:PUBLISH\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260101T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let out = String::from_utf8(for_icloud(raw)).unwrap();
        assert!(!out.contains("METHOD"), "{out}");
        assert!(out.contains("DTEND:20260101T100000Z"), "{out}");
        let day = b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART;VALUE=DATE:20261231\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let out = String::from_utf8(for_icloud(day)).unwrap();
        assert!(out.contains("DTEND;VALUE=DATE:20270101"), "{out}");
        let ok = b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260101T100000Z\r\nDURATION:PT1H\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        assert!(!String::from_utf8(for_icloud(ok)).unwrap().contains("DTEND"));
    }
}
