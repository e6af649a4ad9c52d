//! calendar-query filters (RFC 4791 §9.7) evaluated against a stored object.
//!
//! The structure of a filter is tested on what the store parsed once, at
//! write time: the object's component names (`ical::Shape`) when the filter
//! names only components, or its parsed tree when it tests properties,
//! parameters or text. A time range (§9.9) is asked of the caller's time
//! test, which answers from the object's stored time answers and expands
//! only when those cannot tell. [`matches`] parses and expands everything
//! per call: it is the full scan the indexed path is tested against.

use chrono::{DateTime, Utc};

use crate::dav::report::{
    CompFilter, MatchType, ParamFilter, PropFilter, TextMatch, TimeRangeFilter,
};
use crate::ical::{self, lines::Component, ExpandOptions, Shape, TimeRange};

/// Answers "does the object meet this window?" for one object.
pub(crate) type TimeTest<'a> = dyn FnMut(TimeRange) -> ical::Result<bool> + 'a;

/// The far ends used for open time ranges.
pub(crate) fn window(tr: &TimeRangeFilter) -> TimeRange {
    TimeRange {
        start: tr.start.unwrap_or(DateTime::<Utc>::MIN_UTC),
        end: tr.end.unwrap_or(DateTime::<Utc>::MAX_UTC),
    }
}

/// A window every match must meet, if the filter requires one: the
/// top-level time range, or that of a required child component filter.
pub(crate) fn required_window(f: &CompFilter) -> Option<TimeRange> {
    if f.is_not_defined {
        return None;
    }
    f.time_range.as_ref().map(window).or_else(|| {
        f.comp_filters
            .iter()
            .filter(|c| !c.is_not_defined)
            .find_map(|c| c.time_range.as_ref().map(window))
    })
}

/// Whether evaluating `f` needs the parsed tree (it tests properties or
/// nested components) or only the component names.
pub(crate) fn needs_tree(f: &CompFilter) -> bool {
    !f.prop_filters.is_empty()
        || f.comp_filters
            .iter()
            .any(|c| !c.prop_filters.is_empty() || !c.comp_filters.is_empty())
}

/// A time test's answer as a filter result: an expansion over budget
/// stops the request; any other failure is "no match" (as for data that
/// cannot be expanded).
fn meets(time: &mut TimeTest<'_>, tr: &TimeRangeFilter) -> ical::Result<bool> {
    match time(window(tr)) {
        Ok(b) => Ok(b),
        Err(e @ ical::Error::BudgetExceeded { .. }) => Err(e),
        Err(_) => Ok(false),
    }
}

/// Evaluates a filter that needs no tree (see [`needs_tree`]) on the names.
pub(crate) fn matches_shape(
    shape: &Shape,
    f: &CompFilter,
    time: &mut TimeTest<'_>,
) -> ical::Result<bool> {
    if shape.root.is_empty() {
        return Ok(false);
    }
    if !f.name.eq_ignore_ascii_case(&shape.root) {
        return Ok(f.is_not_defined);
    }
    if f.is_not_defined {
        return Ok(false);
    }
    if let Some(tr) = &f.time_range {
        if !meets(time, tr)? {
            return Ok(false);
        }
    }
    for c in &f.comp_filters {
        let exists = shape
            .children
            .iter()
            .any(|n| n.eq_ignore_ascii_case(&c.name));
        let ok = if c.is_not_defined {
            !exists
        } else {
            exists
                && match &c.time_range {
                    Some(tr) => meets(time, tr)?,
                    None => true,
                }
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Evaluates a filter on the parsed tree (top-level components).
pub(crate) fn matches_tree(
    roots: &[Component],
    f: &CompFilter,
    time: &mut TimeTest<'_>,
) -> ical::Result<bool> {
    let Some(root) = roots.first() else {
        return Ok(false);
    };
    if !f.name.eq_ignore_ascii_case(&root.name) {
        return Ok(f.is_not_defined);
    }
    if f.is_not_defined {
        return Ok(false);
    }
    comp_body_matches(root, f, time)
}

/// The full scan: parses and expands the bytes (the test oracle).
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn matches(data: &[u8], filter: &CompFilter, opts: &ExpandOptions) -> bool {
    let Ok(roots) = ical::lines::parse_document(data, false) else {
        return false;
    };
    matches_tree(&roots, filter, &mut |w| ical::overlaps(data, w, opts)).unwrap_or(false)
}

fn comp_body_matches(
    comp: &Component,
    f: &CompFilter,
    time: &mut TimeTest<'_>,
) -> ical::Result<bool> {
    if let Some(tr) = &f.time_range {
        // Only meaningful below VCALENDAR; the whole object's instances decide.
        if !meets(time, tr)? {
            return Ok(false);
        }
    }
    if !f.prop_filters.iter().all(|pf| prop_matches(comp, pf)) {
        return Ok(false);
    }
    for cf in &f.comp_filters {
        if !child_matches(comp, cf, time)? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn child_matches(
    parent: &Component,
    f: &CompFilter,
    time: &mut TimeTest<'_>,
) -> ical::Result<bool> {
    let mut children = parent
        .children
        .iter()
        .filter(|c| c.name.eq_ignore_ascii_case(&f.name))
        .peekable();
    if f.is_not_defined {
        return Ok(children.peek().is_none());
    }
    for c in children {
        if comp_body_matches(c, f, time)? {
            return Ok(true);
        }
    }
    Ok(false)
}

fn prop_matches(comp: &Component, f: &PropFilter) -> bool {
    let name = f.name.to_ascii_uppercase();
    let mut props = comp.props.iter().filter(|p| p.name == name).peekable();
    if f.is_not_defined {
        return props.peek().is_none();
    }
    props.any(|p| {
        let tr_ok = f.time_range.as_ref().is_none_or(|tr| {
            parse_utc(&p.value)
                .is_some_and(|t| tr.start.is_none_or(|s| t >= s) && tr.end.is_none_or(|e| t < e))
        });
        let text_ok = f
            .text_match
            .as_ref()
            .is_none_or(|tm| text_matches(&ical::lines::unescape(&p.value), tm));
        let params_ok = f.param_filters.iter().all(|pf| param_matches(p, pf));
        tr_ok && text_ok && params_ok
    })
}

fn param_matches(p: &ical::lines::Prop, f: &ParamFilter) -> bool {
    let param = p
        .params
        .iter()
        .find(|x| x.name.eq_ignore_ascii_case(&f.name));
    match (param, f.is_not_defined) {
        (None, true) => true,
        (Some(_), true) | (None, false) => false,
        (Some(x), false) => f
            .text_match
            .as_ref()
            .is_none_or(|tm| x.values.iter().any(|v| text_matches(v, tm))),
    }
}

fn parse_utc(v: &str) -> Option<DateTime<Utc>> {
    chrono::NaiveDateTime::parse_from_str(v.trim(), "%Y%m%dT%H%M%SZ")
        .ok()
        .map(|n| n.and_utc())
}

/// RFC 4790 collations `i;ascii-casemap` (default) and `i;octet`.
fn text_matches(value: &str, tm: &TextMatch) -> bool {
    let (v, t) = if tm.collation == "i;octet" {
        (value.to_string(), tm.text.clone())
    } else {
        (value.to_ascii_lowercase(), tm.text.to_ascii_lowercase())
    };
    let hit = match tm.match_type {
        MatchType::Equals => v == t,
        MatchType::Contains => v.contains(&t),
        MatchType::StartsWith => v.starts_with(&t),
        MatchType::EndsWith => v.ends_with(&t),
    };
    hit != tm.negate
}
