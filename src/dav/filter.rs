//! The `calendar-query` filter tree (RFC 4791 §9.7: comp-filter,
//! prop-filter, param-filter, text-match) and `time-range` (§9.9), with
//! their parsers. Evaluating a filter against an object is the handlers'
//! job; this is the request's shape only.

use chrono::{DateTime, NaiveDateTime, Utc};

use super::names;
use super::xml::Element;
use super::{Error, Result, TimeRangeProblem};

/// RFC 4791 §9.7.1.
#[derive(Clone, Debug, PartialEq, Eq, Default, Hash)]
pub struct CompFilter {
    /// Component name.
    pub name: String,
    /// `C:is-not-defined`.
    pub is_not_defined: bool,
    /// `C:time-range`.
    pub time_range: Option<TimeRangeFilter>,
    /// Nested component filters (all must match).
    pub comp_filters: Vec<CompFilter>,
    /// Property filters (all must match).
    pub prop_filters: Vec<PropFilter>,
}

/// RFC 4791 §9.9: at least one bound, UTC, end after start.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TimeRangeFilter {
    /// Inclusive start.
    pub start: Option<DateTime<Utc>>,
    /// Exclusive end.
    pub end: Option<DateTime<Utc>>,
}

/// RFC 4791 §9.7.2.
#[derive(Clone, Debug, PartialEq, Eq, Default, Hash)]
pub struct PropFilter {
    /// iCalendar property name.
    pub name: String,
    /// `C:is-not-defined`.
    pub is_not_defined: bool,
    /// `C:time-range`.
    pub time_range: Option<TimeRangeFilter>,
    /// `C:text-match`.
    pub text_match: Option<TextMatch>,
    /// Parameter filters.
    pub param_filters: Vec<ParamFilter>,
}

/// RFC 4791 §9.7.3.
#[derive(Clone, Debug, PartialEq, Eq, Default, Hash)]
pub struct ParamFilter {
    /// Parameter name.
    pub name: String,
    /// `C:is-not-defined`.
    pub is_not_defined: bool,
    /// `C:text-match`.
    pub text_match: Option<TextMatch>,
}

/// RFC 4791 §9.7.5 (plus the `match-type` attribute of RFC 6352 §10.5.4).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TextMatch {
    /// Text to look for (not trimmed).
    pub text: String,
    /// Collation, default `i;ascii-casemap`; the handler checks support.
    pub collation: String,
    /// `negate-condition="yes"`.
    pub negate: bool,
    /// How to match.
    pub match_type: MatchType,
}

/// `match-type` attribute values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
pub enum MatchType {
    /// Whole value equal.
    Equals,
    /// Substring (the CalDAV default).
    #[default]
    Contains,
    /// Prefix.
    StartsWith,
    /// Suffix.
    EndsWith,
}

pub(super) fn parse_comp_filter(el: &Element) -> Result<CompFilter> {
    let mut out = CompFilter {
        name: super::report::name_attr(el)?,
        ..CompFilter::default()
    };
    for c in &el.children {
        if c.is(&names::IS_NOT_DEFINED) {
            out.is_not_defined = true;
        } else if c.is(&names::TIME_RANGE) {
            out.time_range = Some(parse_time_range(c)?);
        } else if c.is(&names::COMP_FILTER) {
            out.comp_filters.push(parse_comp_filter(c)?);
        } else if c.is(&names::PROP_FILTER) {
            out.prop_filters.push(parse_prop_filter(c)?);
        }
    }
    Ok(out)
}

pub(super) fn parse_prop_filter(el: &Element) -> Result<PropFilter> {
    let mut out = PropFilter {
        name: super::report::name_attr(el)?,
        ..PropFilter::default()
    };
    for c in &el.children {
        if c.is(&names::IS_NOT_DEFINED) {
            out.is_not_defined = true;
        } else if c.is(&names::TIME_RANGE) {
            out.time_range = Some(parse_time_range(c)?);
        } else if c.is(&names::TEXT_MATCH) {
            out.text_match = Some(parse_text_match(c)?);
        } else if c.is(&names::PARAM_FILTER) {
            out.param_filters.push(ParamFilter {
                name: super::report::name_attr(c)?,
                is_not_defined: c.child(&names::IS_NOT_DEFINED).is_some(),
                text_match: c
                    .child(&names::TEXT_MATCH)
                    .map(parse_text_match)
                    .transpose()?,
            });
        }
    }
    Ok(out)
}

fn parse_text_match(el: &Element) -> Result<TextMatch> {
    let invalid = || Error::InvalidValue {
        element: el.name.clone(),
    };
    let negate = match el.attr("negate-condition").map(str::trim) {
        None | Some("no") => false,
        Some("yes") => true,
        Some(_) => return Err(invalid()),
    };
    let match_type = match el.attr("match-type").map(str::trim) {
        None | Some("contains") => MatchType::Contains,
        Some("equals") => MatchType::Equals,
        Some("starts-with") => MatchType::StartsWith,
        Some("ends-with") => MatchType::EndsWith,
        Some(_) => return Err(invalid()),
    };
    Ok(TextMatch {
        text: el.text.clone(),
        collation: el.attr("collation").unwrap_or("i;ascii-casemap").to_owned(),
        negate,
        match_type,
    })
}

/// Parses `YYYYMMDDTHHMMSSZ` (RFC 5545 UTC DATE-TIME).
pub fn parse_utc(s: &str) -> Result<DateTime<Utc>> {
    let bad = |problem| Error::InvalidTimeRange { problem };
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() == 15 && b[8] == b'T' {
        return Err(bad(TimeRangeProblem::NotUtc));
    }
    let shape_ok = b.len() == 16
        && b[8] == b'T'
        && b[15] == b'Z'
        && b[..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit);
    if !shape_ok {
        return Err(bad(TimeRangeProblem::Malformed));
    }
    NaiveDateTime::parse_from_str(&s[..15], "%Y%m%dT%H%M%S")
        .map(|n| n.and_utc())
        .map_err(|_| bad(TimeRangeProblem::Malformed))
}

/// Parses a `time-range`-shaped element (`start`/`end` attributes).
pub fn parse_time_range(el: &Element) -> Result<TimeRangeFilter> {
    let start = el.attr("start").map(parse_utc).transpose()?;
    let end = el.attr("end").map(parse_utc).transpose()?;
    match (start, end) {
        (None, None) => Err(Error::InvalidTimeRange {
            problem: TimeRangeProblem::MissingBound,
        }),
        (Some(s), Some(e)) if e <= s => Err(Error::InvalidTimeRange {
            problem: TimeRangeProblem::EndNotAfterStart,
        }),
        _ => Ok(TimeRangeFilter { start, end }),
    }
}
