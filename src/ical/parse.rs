//! A parsed calendar object ([`Doc`]) and the RFC 4791 §4.1 / §5.3.2
//! rules for a calendar object resource a client may PUT. Every load
//! reads a calendar's `X-WR-TIMEZONE` the way its exporter meant it
//! (`xwr`), so expansion, busy time and the index all see the same times.

use std::collections::HashSet;

use chrono_tz::Tz;

use super::lines::{parse_document, Component};
use super::rule::{too_dense_rule, too_many_rules, MAX_PERIOD_DATES, MAX_RULES};
use super::tz::{parse_duration, parse_time, Zones};
use super::xwr;
use super::{Error, Result};

/// Calendar component types that can be stored.
pub(crate) const ITEMS: &[&str] = &["VEVENT", "VTODO", "VJOURNAL"];

/// Top-level VCALENDARs plus their zone table.
pub(crate) struct Doc {
    pub cals: Vec<Component>,
    pub zones: Zones,
}

impl Doc {
    /// Lenient load: every VCALENDAR in the input, bad lines skipped.
    pub(crate) fn load(bytes: &[u8]) -> Result<Doc> {
        Self::build(parse_document(bytes, false)?)
    }

    /// Strict load: syntax errors are errors; exactly one VCALENDAR.
    pub(crate) fn load_strict(bytes: &[u8]) -> Result<Doc> {
        let top = parse_document(bytes, true)?;
        if top.len() != 1 || top.iter().any(|c| c.name != "VCALENDAR") {
            return Err(Error::CalendarCount {
                found: top.iter().filter(|c| c.name == "VCALENDAR").count(),
            });
        }
        Self::build(top)
    }

    fn build(top: Vec<Component>) -> Result<Doc> {
        let mut cals: Vec<Component> = top.into_iter().filter(|c| c.name == "VCALENDAR").collect();
        if cals.is_empty() {
            return Err(Error::CalendarCount { found: 0 });
        }
        for cal in &mut cals {
            xwr::apply(cal);
        }
        let zones = Zones::from_calendars(&cals.iter().collect::<Vec<_>>());
        Ok(Doc { cals, zones })
    }

    /// VEVENT, VTODO and VJOURNAL components, in document order.
    pub(crate) fn items(&self) -> Vec<&Component> {
        self.cals
            .iter()
            .flat_map(|c| c.children.iter())
            .filter(|c| ITEMS.contains(&c.name.as_str()))
            .collect()
    }

    /// Components other than the storable ones and VTIMEZONE.
    pub(crate) fn others(&self) -> impl Iterator<Item = &Component> {
        self.cals
            .iter()
            .flat_map(|c| c.children.iter())
            .filter(|c| !ITEMS.contains(&c.name.as_str()) && c.name != "VTIMEZONE")
    }
}

/// The checks a client PUT must pass beyond syntax.
pub(crate) fn validate_resource(doc: &Doc) -> Result<()> {
    let cal = doc.cals.first().ok_or(Error::CalendarCount { found: 0 })?;
    if cal.prop("METHOD").is_some() {
        return Err(Error::MethodPresent);
    }
    let items = doc.items();
    let Some(first) = items.first() else {
        return Err(match doc.others().next() {
            Some(o) => Error::Unsupported {
                name: o.name.clone(),
            },
            None => Error::NoComponent,
        });
    };
    let uid = first.value("UID").filter(|u| !u.is_empty());
    let mut masters = 0;
    let mut rids = HashSet::new();
    for c in &items {
        if c.name != first.name {
            return Err(Error::MixedComponents {
                first: first.name.clone(),
                second: c.name.clone(),
            });
        }
        let this = c.value("UID").filter(|u| !u.is_empty());
        if this.is_none() {
            return Err(Error::MissingUid {
                component: c.name.clone(),
            });
        }
        if this != uid {
            return Err(Error::UidMismatch);
        }
        match c.prop("RECURRENCE-ID") {
            None => masters += 1,
            Some(p) => {
                let bad = || Error::BadValue {
                    property: "RECURRENCE-ID".into(),
                };
                let r = parse_time(p, &doc.zones).ok_or_else(bad)?;
                if !rids.insert(r.to_utc(Tz::UTC)) {
                    return Err(Error::DuplicateOverride);
                }
            }
        }
        validate_times(c, doc)?;
    }
    if masters > 1 {
        return Err(Error::MultipleMasters);
    }
    Ok(())
}

fn validate_times(c: &Component, doc: &Doc) -> Result<()> {
    let bad = |p: &str| Error::BadValue {
        property: p.to_string(),
    };
    let start = match c.prop("DTSTART") {
        Some(p) => Some(parse_time(p, &doc.zones).ok_or_else(|| bad("DTSTART"))?),
        None if c.name == "VEVENT" => {
            return Err(Error::MissingDtstart {
                component: c.name.clone(),
            })
        }
        None => None,
    };
    let end_name = if c.name == "VTODO" { "DUE" } else { "DTEND" };
    let end = match c.prop(end_name) {
        Some(p) => Some(parse_time(p, &doc.zones).ok_or_else(|| bad(end_name))?),
        None => None,
    };
    let duration = match c.value("DURATION") {
        Some(v) => Some(parse_duration(v).ok_or_else(|| bad("DURATION"))?),
        None => None,
    };
    if end.is_some() && duration.is_some() {
        return Err(Error::EndAndDuration);
    }
    if let (Some(s), Some(e)) = (&start, &end) {
        if s.is_date() != e.is_date() && c.name == "VEVENT" {
            return Err(bad(end_name));
        }
        if e.to_utc(Tz::UTC) < s.to_utc(Tz::UTC) {
            return Err(Error::EndBeforeStart);
        }
    }
    if duration.is_some_and(|d| d.days < 0 || d.secs < 0) {
        return Err(Error::EndBeforeStart);
    }
    for name in ["EXDATE", "RDATE", "RECURRENCE-ID"] {
        for p in c.props(name) {
            if p.value.trim().is_empty() {
                return Err(bad(name));
            }
        }
    }
    if too_many_rules(c) {
        return Err(Error::TooManyRules { max: MAX_RULES });
    }
    if too_dense_rule(c) {
        return Err(Error::DenseRule {
            max: MAX_PERIOD_DATES,
        });
    }
    Ok(())
}
