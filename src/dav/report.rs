//! REPORT request bodies: CalDAV `calendar-query` (RFC 4791 §7.8, §9.7),
//! `calendar-multiget` (§7.9), `free-busy-query` (§7.10) and WebDAV
//! `sync-collection` (RFC 6578 §3.2).
//!
//! Unknown child elements are ignored (RFC 4918 §17); missing required
//! elements, bad time ranges and unknown report roots are errors.

use chrono::{DateTime, Utc};

use super::filter::parse_comp_filter;
pub use super::filter::{
    parse_time_range, parse_utc, CompFilter, MatchType, ParamFilter, PropFilter, TextMatch,
    TimeRangeFilter,
};
use super::names::{self, QName};
use super::propfind::prop_names;
use super::xml::{parse_document, Element, XmlLimits};
use super::{child_text, Error, Result, TimeRangeProblem};
use crate::ids::{Href, SyncToken};

/// The property part of a report.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PropRequest {
    /// `DAV:allprop`.
    AllProp,
    /// `DAV:propname`.
    PropName,
    /// `DAV:prop` (an absent element reads as an empty list: hrefs only).
    Prop(Vec<QName>),
}

/// A parsed REPORT body.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Report {
    /// `C:calendar-query`.
    CalendarQuery(CalendarQuery),
    /// `C:calendar-multiget`.
    CalendarMultiget(CalendarMultiget),
    /// `DAV:sync-collection`.
    SyncCollection(SyncCollection),
    /// `C:free-busy-query`.
    FreeBusyQuery(FreeBusyQuery),
}

/// RFC 4791 §9.5.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CalendarQuery {
    /// Requested properties.
    pub props: PropRequest,
    /// The `C:calendar-data` element inside `DAV:prop`, when present.
    pub data: Option<CalendarDataRequest>,
    /// The top-level comp-filter (normally `VCALENDAR`).
    pub filter: CompFilter,
    /// `C:timezone` text (a VCALENDAR with one VTIMEZONE), untouched.
    pub timezone: Option<String>,
    /// `C:timezone-id` (RFC 7809).
    pub timezone_id: Option<String>,
}

/// A closed UTC interval `[start, end)`.
pub type Interval = (DateTime<Utc>, DateTime<Utc>);

/// RFC 4791 §9.6: how calendar data should be returned.
#[derive(Clone, Debug, PartialEq, Eq, Default, Hash)]
pub struct CalendarDataRequest {
    /// `content-type` attribute (default text/calendar).
    pub content_type: Option<String>,
    /// `version` attribute (default 2.0).
    pub version: Option<String>,
    /// `C:comp` projection tree, if any.
    pub comps: Option<CompRequest>,
    /// `C:expand`.
    pub expand: Option<Interval>,
    /// `C:limit-recurrence-set`.
    pub limit_recurrence_set: Option<Interval>,
    /// `C:limit-freebusy-set`.
    pub limit_freebusy_set: Option<Interval>,
}

/// RFC 4791 §9.6.1 `C:comp`: which components and properties to return.
#[derive(Clone, Debug, PartialEq, Eq, Default, Hash)]
pub struct CompRequest {
    /// Component name, e.g. `VEVENT`.
    pub name: String,
    /// `C:allprop` was given (or no `C:prop` at all).
    pub all_props: bool,
    /// `C:prop name=.. novalue=..` entries.
    pub props: Vec<PropProjection>,
    /// `C:allcomp` was given (or no `C:comp` at all).
    pub all_comps: bool,
    /// Nested `C:comp`.
    pub comps: Vec<CompRequest>,
}

/// RFC 4791 §9.6.4 `C:prop` inside calendar-data.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PropProjection {
    /// iCalendar property name.
    pub name: String,
    /// `novalue="yes"`.
    pub novalue: bool,
}

/// RFC 4791 §9.10.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CalendarMultiget {
    /// Requested properties.
    pub props: PropRequest,
    /// The `C:calendar-data` request, when present.
    pub data: Option<CalendarDataRequest>,
    /// Requested hrefs, in order (at least one).
    pub hrefs: Vec<Href>,
}

/// RFC 6578 §6.3 sync-level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SyncLevel {
    /// `1`: direct members.
    One,
    /// `infinite`.
    Infinite,
}

/// RFC 6578 §6.1.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SyncCollection {
    /// Previous token; `None` for an empty element (initial sync).
    pub token: Option<SyncToken>,
    /// Sync level (missing reads as `One`, as some clients omit it).
    pub level: SyncLevel,
    /// Requested properties.
    pub props: PropRequest,
    /// `DAV:limit/DAV:nresults`.
    pub limit: Option<u32>,
}

/// RFC 4791 §9.11.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FreeBusyQuery {
    /// The requested range.
    pub range: TimeRangeFilter,
}

/// Parses a REPORT body.
pub fn parse_report(body: &[u8]) -> Result<Report> {
    let root = parse_document(body, &XmlLimits::default())?;
    if root.is(&names::CALENDAR_QUERY) {
        parse_calendar_query(&root).map(Report::CalendarQuery)
    } else if root.is(&names::CALENDAR_MULTIGET) {
        parse_multiget(&root).map(Report::CalendarMultiget)
    } else if root.is(&names::SYNC_COLLECTION) {
        parse_sync_collection(&root).map(Report::SyncCollection)
    } else if root.is(&names::FREE_BUSY_QUERY) {
        parse_free_busy(&root).map(Report::FreeBusyQuery)
    } else {
        Err(Error::UnsupportedReport { name: root.name })
    }
}

fn prop_request(root: &Element, default: PropRequest) -> (PropRequest, Option<&Element>) {
    for c in &root.children {
        if c.is(&names::PROP) {
            return (
                PropRequest::Prop(prop_names(c)),
                c.child(&names::CALENDAR_DATA),
            );
        }
        if c.is(&names::ALLPROP) {
            return (PropRequest::AllProp, None);
        }
        if c.is(&names::PROPNAME) {
            return (PropRequest::PropName, None);
        }
    }
    (default, None)
}

fn parse_calendar_query(root: &Element) -> Result<CalendarQuery> {
    let (props, data) = prop_request(root, PropRequest::Prop(vec![]));
    let data = data.map(parse_calendar_data).transpose()?;
    let filter_el = root.child(&names::FILTER).ok_or(Error::MissingElement {
        name: names::FILTER,
    })?;
    let comp = filter_el
        .child(&names::COMP_FILTER)
        .ok_or(Error::MissingElement {
            name: names::COMP_FILTER,
        })?;
    Ok(CalendarQuery {
        props,
        data,
        filter: parse_comp_filter(comp)?,
        timezone: root.child(&names::TIMEZONE).map(|t| t.text.clone()),
        timezone_id: child_text(root, &names::TIMEZONE_ID).map(str::to_owned),
    })
}

fn parse_calendar_data(el: &Element) -> Result<CalendarDataRequest> {
    let interval = |name: &QName| -> Result<Option<Interval>> {
        match el.child(name) {
            None => Ok(None),
            Some(e) => match parse_time_range(e)? {
                TimeRangeFilter {
                    start: Some(s),
                    end: Some(e),
                } => Ok(Some((s, e))),
                _ => Err(Error::InvalidTimeRange {
                    problem: TimeRangeProblem::MissingBound,
                }),
            },
        }
    };
    Ok(CalendarDataRequest {
        content_type: el.attr("content-type").map(str::to_owned),
        version: el.attr("version").map(str::to_owned),
        comps: el.child(&names::COMP).map(parse_comp_request).transpose()?,
        expand: interval(&names::EXPAND)?,
        limit_recurrence_set: interval(&names::LIMIT_RECURRENCE_SET)?,
        limit_freebusy_set: interval(&names::LIMIT_FREEBUSY_SET)?,
    })
}

pub(super) fn name_attr(el: &Element) -> Result<String> {
    match el.attr("name") {
        Some(n) if !n.trim().is_empty() => Ok(n.trim().to_owned()),
        _ => Err(Error::MissingAttribute {
            element: el.name.clone(),
            attribute: "name",
        }),
    }
}

fn parse_comp_request(el: &Element) -> Result<CompRequest> {
    let mut out = CompRequest {
        name: name_attr(el)?,
        ..CompRequest::default()
    };
    let mut saw_prop = false;
    let mut saw_comp = false;
    for c in &el.children {
        if c.is(&names::CAL_ALLPROP) {
            saw_prop = true;
            out.all_props = true;
        } else if c.is(&names::CAL_PROP) {
            saw_prop = true;
            out.props.push(PropProjection {
                name: name_attr(c)?,
                novalue: c.attr("novalue") == Some("yes"),
            });
        } else if c.is(&names::ALLCOMP) {
            saw_comp = true;
            out.all_comps = true;
        } else if c.is(&names::COMP) {
            saw_comp = true;
            out.comps.push(parse_comp_request(c)?);
        }
    }
    out.all_props |= !saw_prop;
    out.all_comps |= !saw_comp;
    Ok(out)
}

fn parse_multiget(root: &Element) -> Result<CalendarMultiget> {
    let (props, data) = prop_request(root, PropRequest::Prop(vec![]));
    let data = data.map(parse_calendar_data).transpose()?;
    let mut hrefs = Vec::new();
    for h in root.children_named(&names::HREF) {
        let t = h.text_trimmed();
        if t.is_empty() {
            return Err(Error::InvalidValue {
                element: names::HREF,
            });
        }
        hrefs.push(Href::new(t));
    }
    if hrefs.is_empty() {
        return Err(Error::MissingElement { name: names::HREF });
    }
    Ok(CalendarMultiget { props, data, hrefs })
}

fn parse_sync_collection(root: &Element) -> Result<SyncCollection> {
    let token = root
        .child(&names::SYNC_TOKEN)
        .ok_or(Error::MissingElement {
            name: names::SYNC_TOKEN,
        })?
        .text_trimmed();
    let level = match child_text(root, &names::SYNC_LEVEL) {
        None | Some("1") => SyncLevel::One,
        Some(l) if l.eq_ignore_ascii_case("infinite") || l.eq_ignore_ascii_case("infinity") => {
            SyncLevel::Infinite
        }
        Some(_) => {
            return Err(Error::InvalidValue {
                element: names::SYNC_LEVEL,
            })
        }
    };
    let limit = match root.child(&names::LIMIT) {
        None => None,
        Some(l) => {
            let n = child_text(l, &names::NRESULTS).ok_or(Error::MissingElement {
                name: names::NRESULTS,
            })?;
            Some(n.parse::<u32>().map_err(|_| Error::InvalidValue {
                element: names::NRESULTS,
            })?)
        }
    };
    let (props, _) = prop_request(root, PropRequest::Prop(vec![]));
    Ok(SyncCollection {
        token: (!token.is_empty()).then(|| SyncToken::new(token)),
        level,
        props,
        limit,
    })
}

fn parse_free_busy(root: &Element) -> Result<FreeBusyQuery> {
    let tr = root
        .child(&names::TIME_RANGE)
        .ok_or(Error::MissingElement {
            name: names::TIME_RANGE,
        })?;
    Ok(FreeBusyQuery {
        range: parse_time_range(tr)?,
    })
}
