//! [`ObjectIndex`]: the fields the store keeps beside the raw bytes, and
//! the two entry points that produce it ([`parse_strict`] for client
//! PUTs, [`parse_lenient`] for upstream data).

use chrono_tz::Tz;

use super::lines::{unescape, Component};
use super::parse::{validate_resource, Doc};
use super::recurrence::comp_start;
use super::series::{groups, last_end};
use super::tz::{parse_time, parse_time_str, Zone};
use super::{ComponentKind, Error, EventStatus, ObjectIndex, Result, Transp};
use crate::ids::EventUid;

/// Slack for floating and all-day values indexed as UTC.
const FLOATING_SLACK: i64 = 14 * 3600;

/// Parses a client PUT body with the RFC 4791 calendar-object rules.
pub fn parse_strict(bytes: &[u8]) -> Result<ObjectIndex> {
    let doc = Doc::load_strict(bytes)?;
    validate_resource(&doc)?;
    index(&doc)
}

/// Parses upstream data: anything from which a UID can be read.
pub fn parse_lenient(bytes: &[u8]) -> Result<ObjectIndex> {
    let doc = Doc::load(bytes)?;
    index(&doc)
}

pub(crate) fn transp_of(c: &Component) -> Transp {
    match c.value("TRANSP") {
        Some(v) if v.eq_ignore_ascii_case("TRANSPARENT") => Transp::Transparent,
        _ => Transp::Opaque,
    }
}

pub(crate) fn status_of(c: &Component) -> EventStatus {
    match c.value("STATUS").map(str::to_ascii_uppercase).as_deref() {
        Some("CONFIRMED") => EventStatus::Confirmed,
        Some("TENTATIVE") => EventStatus::Tentative,
        Some("CANCELLED") => EventStatus::Cancelled,
        _ => EventStatus::None,
    }
}

pub(crate) fn summary_of(c: &Component) -> Option<String> {
    c.prop("SUMMARY").map(|p| unescape(&p.value))
}

fn index(doc: &Doc) -> Result<ObjectIndex> {
    let items = doc.items();
    let Some(first) = items
        .iter()
        .find(|c| c.value("UID").is_some_and(|u| !u.is_empty()))
    else {
        return Err(match (items.first(), doc.others().next()) {
            (Some(c), _) => Error::MissingUid {
                component: c.name.clone(),
            },
            (None, Some(o)) => Error::Unsupported {
                name: o.name.clone(),
            },
            (None, None) => Error::NoComponent,
        });
    };
    let uid_text = first.value("UID").unwrap_or_default();
    let uid = EventUid::new(uid_text).map_err(Error::BadUid)?;
    let mine: Vec<&Component> = items
        .iter()
        .copied()
        .filter(|c| c.value("UID") == Some(uid_text) && c.name == first.name)
        .collect();
    let group = groups(&mine).into_iter().next();
    let master = group.as_ref().and_then(|g| g.master).unwrap_or(first);
    let component = match first.name.as_str() {
        "VEVENT" => ComponentKind::Event,
        "VTODO" => ComponentKind::Todo,
        "VJOURNAL" => ComponentKind::Journal,
        _ => ComponentKind::Other,
    };
    let mut floating = false;
    let mut first_start: Option<i64> = None;
    for c in &mine {
        // An override without DTSTART is an instance at its RECURRENCE-ID.
        let Some(s) = comp_start(c, &doc.zones).or_else(|| {
            c.prop("RECURRENCE-ID")
                .and_then(|p| parse_time(p, &doc.zones))
        }) else {
            continue;
        };
        floating |= matches!(s.zone(), Zone::Floating);
        let mut starts = vec![s.to_utc(Tz::UTC).timestamp()];
        // An RDATE may lie before DTSTART and is an instance all the same
        // (found by the `recurrence` fuzz target).
        for p in c.props("RDATE") {
            floating |= p.param("TZID").is_none() && !p.value.contains('Z');
            for v in p.value.split(',') {
                let start = v.split('/').next().unwrap_or_default();
                if let Some(r) = parse_time_str(start, p, &doc.zones) {
                    starts.push(r.to_utc(Tz::UTC).timestamp());
                }
            }
        }
        for t in starts {
            first_start = Some(first_start.map_or(t, |f| f.min(t)));
        }
    }
    let mut last = match &group {
        Some(g) if first_start.is_some() => last_end(g, &doc.zones, Tz::UTC),
        _ => None,
    };
    if floating {
        first_start = first_start.map(|t| t - FLOATING_SLACK);
        last = last.map(|t| t + FLOATING_SLACK);
    }
    let recurring = master.prop("RRULE").is_some()
        || master.prop("RDATE").is_some()
        || group.as_ref().is_some_and(|g| !g.overrides.is_empty());
    Ok(ObjectIndex {
        uid,
        component,
        first_start,
        last_end: last,
        recurring,
        transp: transp_of(master),
        status: status_of(master),
        summary: summary_of(master),
    })
}
