//! iCalendar FORMAT layer, pure: parsing (strict for client PUTs, lenient
//! for upstream data), the index the store keeps beside raw bytes,
//! recurrence expansion (also as `C:expand` calendar data), RFC 4791 §9.9 time-range tests, busy time (R4)
//! and writing (folding, VFREEBUSY, busy events, line-level stripping).
//!
//! Files: `lines` reads content lines and components (our own reader; see
//! the README's design notes for why there is no `icalendar` crate), `tz`
//! owns time values and zones, `offsets` the offsets a zone has over a span
//! of time, `rule` one RRULE, `series` a master and its overrides,
//! `recurrence` expansion inside a window, `budget` the per-request
//! expansion budget, `calendar_data` the `C:expand` calendar data,
//! `parse` validation, `index` the [`ObjectIndex`], `busy` R4 and merging,
//! `write` everything that produces iCalendar text, `windows` Windows zone
//! names, `vtimezone` VTIMEZONEs from the time-zone database, `repair`
//! adding them to objects that use a TZID without defining it, `xwr`
//! the `X-WR-TIMEZONE` convention of Google and Apple exports, and `feed`
//! ICS feeds cut into one object per UID.
//!
//! No input can make this module panic: nesting is bounded before the tree
//! is built, values that do not parse are skipped (lenient) or reported
//! (strict), and every expansion is capped. Expansion work grows with the
//! instances near the window, not with the age or COUNT of a series, and a
//! request can bound its total work with an [`ExpandBudget`].

mod budget;
mod busy;
mod calendar_data;
mod custom_zone;
mod derive;
mod feed;
mod hours;
mod index;
pub(crate) mod lines;
mod offsets;
mod parse;
mod recurrence;
mod remerge;
mod repair;
mod rule;
mod rules;
mod series;
mod tz;
mod vtimezone;
mod walk;
mod windows;
mod write;
mod xwr;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_exporters;
#[cfg(test)]
mod tests_recurrence;
#[cfg(test)]
mod tests_rules;
#[cfg(test)]
mod tests_work;
#[cfg(test)]
mod tests_zones;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{EventUid, IdError};

pub use budget::{ExpandBudget, DEFAULT_REQUEST_BUDGET};
pub use busy::{busy_for, busy_intervals, merge, widen, BusyInterval, BusyKind};
pub use calendar_data::expand_calendar;
pub use derive::{
    derive, parse_tree, BusySettings, Derived, Occupancy, Occupied, ParsedTree, Shape, StoredBusy,
    DERIVE_VERSION, MAX_SPANS,
};
pub use feed::{check_icalendar, split_feed, FeedCalendar, FeedObject, NotICalendar};
pub use hours::{HoursError, Period, WorkingHours, MAX_EXCEPTION_DAYS};
pub use index::{parse_lenient, parse_strict};
pub use remerge::remerge;
pub use repair::{repair, repair_strict, Repaired};
pub use rules::{AllDay, BusyRules, Tentative, MAX_TRAVEL_SECS};
pub use vtimezone::{vtimezone, vtimezone_for};
#[doc(hidden)]
pub use walk::forget_dry_rules;
pub use write::{
    busy_calendar, busy_event, busy_uid, ensure_end, fold_line, strip, vfreebusy, StripSpec,
};

/// What the caller should answer for a failure (RFC 4791 preconditions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Not iCalendar at all, or broken syntax: `CALDAV:valid-calendar-data`.
    InvalidData,
    /// Valid iCalendar but not one calendar object resource: `CALDAV:valid-calendar-object-resource`.
    InvalidObject,
    /// Only components this server does not store: `CALDAV:supported-calendar-component`.
    UnsupportedComponent,
    /// The request's expansion budget ran out: not a property of the data
    /// but of the request (answer a 4xx naming the limit, e.g. 422 or 507,
    /// or a marked partial answer).
    BudgetExceeded,
}

/// Why iCalendar input was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The bytes are not UTF-8.
    #[error("input is not utf-8 (valid up to byte {offset})")]
    NotUtf8 {
        /// Length of the valid prefix.
        offset: usize,
    },
    /// A content line could not be read.
    #[error("bad content line {line}: {reason}")]
    Syntax {
        /// 1-based physical line number.
        line: usize,
        /// What was wrong.
        reason: &'static str,
    },
    /// END without a matching BEGIN.
    #[error("unexpected END:{found} at line {line}")]
    Unbalanced {
        /// 1-based physical line number.
        line: usize,
        /// The component named by END.
        found: String,
    },
    /// Input ended inside a component.
    #[error("component {component} is not closed")]
    Unclosed {
        /// The open component.
        component: String,
    },
    /// Components nested deeper than allowed.
    #[error("components nested deeper than {max}")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// Not exactly one VCALENDAR at the top level.
    #[error("expected one vcalendar, found {found}")]
    CalendarCount {
        /// How many were found.
        found: usize,
    },
    /// No VEVENT, VTODO or VJOURNAL.
    #[error("no vevent, vtodo or vjournal")]
    NoComponent,
    /// Only components of an unsupported type.
    #[error("{name} is not supported (this server stores events)")]
    Unsupported {
        /// The component name.
        name: String,
    },
    /// More than one kind of component in one resource.
    #[error("mixed component types {first} and {second}")]
    MixedComponents {
        /// The first kind seen.
        first: String,
        /// The other kind.
        second: String,
    },
    /// A component has no UID.
    #[error("{component} has no uid")]
    MissingUid {
        /// The component name.
        component: String,
    },
    /// The UID is not acceptable as an identifier.
    #[error("uid is not acceptable")]
    BadUid(#[source] IdError),
    /// Components carry different UIDs.
    #[error("components carry different uids")]
    UidMismatch,
    /// More than one component without RECURRENCE-ID.
    #[error("more than one master component")]
    MultipleMasters,
    /// Two overrides for the same RECURRENCE-ID.
    #[error("duplicate recurrence-id")]
    DuplicateOverride,
    /// METHOD is not allowed in a stored calendar object.
    #[error("method property is not allowed")]
    MethodPresent,
    /// A VEVENT without DTSTART.
    #[error("{component} has no dtstart")]
    MissingDtstart {
        /// The component name.
        component: String,
    },
    /// DTEND (or DUE) before DTSTART.
    #[error("end is before start")]
    EndBeforeStart,
    /// Both DTEND and DURATION.
    #[error("both dtend and duration")]
    EndAndDuration,
    /// More distinct RRULEs in one component than expansion reads.
    #[error("more than {max} different rrules in one component")]
    TooManyRules {
        /// The limit.
        max: usize,
    },
    /// An RRULE one period of which can hold more dates than expansion allows.
    #[error("an rrule with more than {max} dates in one period")]
    DenseRule {
        /// The limit.
        max: u64,
    },
    /// A date, time or duration value that does not parse.
    #[error("bad value for {property}")]
    BadValue {
        /// The property name.
        property: String,
    },
    /// A TZID with no VTIMEZONE that names no known zone (RFC 5545 §3.2.19).
    #[error("time zone {tzid:?} is neither defined nor known")]
    UnknownTimezone {
        /// The TZID as written.
        tzid: String,
    },
    /// The request's expansion budget ([`ExpandBudget`]) ran out.
    #[error("recurrence expansion exceeded the request's budget of {limit} generated dates")]
    BudgetExceeded {
        /// The budget's limit.
        limit: u64,
    },
}

impl Error {
    /// Which precondition the failure maps to.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NotUtf8 { .. }
            | Error::Syntax { .. }
            | Error::Unbalanced { .. }
            | Error::Unclosed { .. }
            | Error::TooDeep { .. }
            | Error::CalendarCount { .. }
            | Error::BadValue { .. }
            | Error::UnknownTimezone { .. } => ErrorKind::InvalidData,
            Error::Unsupported { .. } => ErrorKind::UnsupportedComponent,
            Error::NoComponent
            | Error::MixedComponents { .. }
            | Error::MissingUid { .. }
            | Error::BadUid(_)
            | Error::UidMismatch
            | Error::MultipleMasters
            | Error::DuplicateOverride
            | Error::MethodPresent
            | Error::MissingDtstart { .. }
            | Error::EndBeforeStart
            | Error::EndAndDuration
            | Error::TooManyRules { .. }
            | Error::DenseRule { .. } => ErrorKind::InvalidObject,
            Error::BudgetExceeded { .. } => ErrorKind::BudgetExceeded,
        }
    }
}

/// Result alias of this layer.
pub type Result<T> = std::result::Result<T, Error>;

/// A hash of an object's content that ignores what servers rewrite on
/// their own: DTSTAMP lines and line-ending noise. Tells an edit made in
/// iCloud from housekeeping (ICLOUD.md §4).
pub fn content_hash(data: &[u8]) -> crate::ids::ContentHash {
    use sha2::{Digest, Sha256};
    let text = String::from_utf8_lossy(data);
    let norm: String = text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.starts_with("DTSTAMP"))
        .collect::<Vec<_>>()
        .join("\n");
    crate::ids::ContentHash::new(hex::encode(&Sha256::digest(norm.as_bytes())[..16]))
}

/// A half-open UTC interval `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeRange {
    /// Inclusive start.
    pub start: DateTime<Utc>,
    /// Exclusive end.
    pub end: DateTime<Utc>,
}

/// The calendar component type of an object.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ComponentKind {
    /// VEVENT.
    Event,
    /// VTODO.
    Todo,
    /// VJOURNAL.
    Journal,
    /// Anything else.
    Other,
}

/// TRANSP of an event.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transp {
    /// Blocks time (the default).
    Opaque,
    /// FREE: leaves time open.
    Transparent,
}

/// STATUS of an event.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventStatus {
    /// No (or an unknown) STATUS.
    None,
    /// CONFIRMED.
    Confirmed,
    /// TENTATIVE.
    Tentative,
    /// CANCELLED.
    Cancelled,
}

/// Index fields the store keeps beside the raw bytes.
///
/// Floating times and all-day dates are indexed as UTC and then widened by
/// 14 hours on each side, so the bounds hold for any zone.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ObjectIndex {
    /// The UID shared by all components.
    pub uid: EventUid,
    /// The component type.
    pub component: ComponentKind,
    /// Unix seconds of the earliest instance start (None without DTSTART/DUE).
    pub first_start: Option<i64>,
    /// Unix seconds of the latest instance end; None = unbounded.
    pub last_end: Option<i64>,
    /// RRULE or RDATE present, or overrides.
    pub recurring: bool,
    /// TRANSP of the master.
    pub transp: Transp,
    /// STATUS of the master.
    pub status: EventStatus,
    /// SUMMARY of the master, unescaped.
    pub summary: Option<String>,
}

/// How to expand.
#[derive(Clone, Debug)]
pub struct ExpandOptions {
    /// Zone for floating times and all-day dates.
    pub default_tz: chrono_tz::Tz,
    /// Most instances returned per object (e.g. 10 000).
    pub max_instances: usize,
    /// The request's shared expansion budget; None = unlimited (every
    /// expansion is still capped per rule and per object).
    pub budget: Option<Arc<ExpandBudget>>,
}

impl ExpandOptions {
    /// Options without a budget.
    pub fn new(default_tz: chrono_tz::Tz, max_instances: usize) -> Self {
        Self {
            default_tz,
            max_instances,
            budget: None,
        }
    }

    /// The same options charging `budget` (share one per request).
    pub fn with_budget(mut self, budget: Arc<ExpandBudget>) -> Self {
        self.budget = Some(budget);
        self
    }
}

/// One occurrence of a component.
#[derive(Clone, Debug, PartialEq)]
pub struct Instance {
    /// Start (UTC).
    pub start: DateTime<Utc>,
    /// End (UTC), equal to start for zero-length instances.
    pub end: DateTime<Utc>,
    /// DTSTART was a DATE.
    pub all_day: bool,
    /// TRANSP of the component this instance comes from.
    pub transp: Transp,
    /// STATUS of the component this instance comes from.
    pub status: EventStatus,
    /// RECURRENCE-ID when the instance comes from an override.
    pub recurrence_id: Option<DateTime<Utc>>,
    /// SUMMARY, unescaped.
    pub summary: Option<String>,
    /// PARTSTAT of the owner's ATTENDEE line (only from [`instances_for_owner`]).
    pub owner_partstat: Option<String>,
    /// TRANSP was written on the component (not the RFC default).
    pub transp_set: bool,
    /// Apple travel time before the instance (`X-APPLE-TRAVEL-DURATION`), seconds (0: none).
    pub travel_before: i64,
    /// Apple return travel time after it (`X-APPLE-TRAVEL-RETURN-DURATION`), seconds (0: none).
    pub travel_after: i64,
}

/// Resolves a TZID without a VTIMEZONE: an IANA name, a prefixed IANA
/// name (`/freeassociation.sourceforge.net/Tzfile/Europe/Berlin`,
/// `/mozilla.org/…/America/New_York`) or a Windows zone name (CLDR
/// windowsZones, e.g. "W. Europe Standard Time" -> Europe/Berlin).
pub fn resolve_tzid(tzid: &str) -> Option<chrono_tz::Tz> {
    tz::iana(tzid)
}

/// An RFC 5545 (ISO 8601) duration such as `PT30M`, `P1D` or `-PT5M`, in
/// exact seconds (a day counted as 24 hours).
pub fn duration_seconds(s: &str) -> Option<i64> {
    tz::parse_duration(s).map(|d| d.days * 86_400 + d.secs)
}

/// Seconds as an RFC 5545 duration: `PT1H30M`, `P1DT2H`, `PT0S`.
pub fn format_duration(secs: i64) -> String {
    let (sign, mut s) = if secs < 0 { ("-", -secs) } else { ("", secs) };
    let mut out = format!("{sign}P");
    if s >= 86_400 {
        out.push_str(&format!("{}D", s / 86_400));
        s %= 86_400;
    }
    if s > 0 || out.ends_with('P') {
        out.push('T');
        let (h, m, sec) = (s / 3600, s % 3600 / 60, s % 60);
        if h > 0 {
            out.push_str(&format!("{h}H"));
        }
        if m > 0 {
            out.push_str(&format!("{m}M"));
        }
        if sec > 0 || (h == 0 && m == 0) {
            out.push_str(&format!("{sec}S"));
        }
    }
    out
}

/// All instances (VEVENT, VTODO, VJOURNAL) meeting the window, sorted by start.
pub fn instances(bytes: &[u8], window: TimeRange, opts: &ExpandOptions) -> Result<Vec<Instance>> {
    instances_for_owner(bytes, window, &[], opts)
}

/// Like [`instances`], filling `owner_partstat` from the owner's ATTENDEE line.
pub fn instances_for_owner(
    bytes: &[u8],
    window: TimeRange,
    owner_addresses: &[String],
    opts: &ExpandOptions,
) -> Result<Vec<Instance>> {
    let doc = parse::Doc::load(bytes)?;
    busy::collect(&doc, window, owner_addresses, opts, |_| true)
}

/// RFC 4791 §9.9 time-range test for VEVENT, VTODO and VJOURNAL.
///
/// A VTODO with neither DTSTART nor DUE always matches; the table's
/// COMPLETED/CREATED rows are not used.
pub fn overlaps(bytes: &[u8], window: TimeRange, opts: &ExpandOptions) -> Result<bool> {
    let doc = parse::Doc::load(bytes)?;
    let items = doc.items();
    if items
        .iter()
        .any(|c| c.name == "VTODO" && c.prop("DTSTART").is_none() && c.prop("DUE").is_none())
    {
        return Ok(true);
    }
    // One surviving instance decides: the cap counts only instances that
    // EXDATEs and overrides leave (see `recurrence::expand_group`).
    let one = ExpandOptions {
        max_instances: 1,
        ..opts.clone()
    };
    Ok(!busy::collect(&doc, window, &[], &one, |_| true)?.is_empty())
}
