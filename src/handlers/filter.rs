//! calendar-query filters (RFC 4791 §9.7) evaluated against a stored object.
//!
//! Component and property tests run on the `ical` component tree; time
//! ranges on components go through `ical::overlaps`, which expands
//! recurrences (§9.9), so a weekly event matches in any later week.

use chrono::{DateTime, Utc};

use crate::dav::report::{
    CompFilter, MatchType, ParamFilter, PropFilter, TextMatch, TimeRangeFilter,
};
use crate::ical::{self, lines::Component, ExpandOptions, TimeRange};

/// The far ends used for open time ranges.
fn window(tr: &TimeRangeFilter) -> TimeRange {
    TimeRange {
        start: tr.start.unwrap_or(DateTime::<Utc>::MIN_UTC),
        end: tr.end.unwrap_or(DateTime::<Utc>::MAX_UTC),
    }
}

/// Whether the object's bytes match the top-level filter (which names VCALENDAR).
pub(crate) fn matches(data: &[u8], filter: &CompFilter, opts: &ExpandOptions) -> bool {
    let Ok(roots) = ical::lines::parse_document(data, false) else {
        return false;
    };
    let Some(root) = roots.first() else {
        return false;
    };
    if !filter.name.eq_ignore_ascii_case(&root.name) {
        return filter.is_not_defined;
    }
    if filter.is_not_defined {
        return false;
    }
    comp_body_matches(root, filter, data, opts)
}

fn comp_body_matches(comp: &Component, f: &CompFilter, data: &[u8], opts: &ExpandOptions) -> bool {
    if let Some(tr) = &f.time_range {
        // Only meaningful below VCALENDAR; the whole object's instances decide.
        match ical::overlaps(data, window(tr), opts) {
            Ok(true) => {}
            _ => return false,
        }
    }
    f.prop_filters.iter().all(|pf| prop_matches(comp, pf))
        && f.comp_filters
            .iter()
            .all(|cf| child_matches(comp, cf, data, opts))
}

fn child_matches(parent: &Component, f: &CompFilter, data: &[u8], opts: &ExpandOptions) -> bool {
    let mut children = parent
        .children
        .iter()
        .filter(|c| c.name.eq_ignore_ascii_case(&f.name))
        .peekable();
    if f.is_not_defined {
        return children.peek().is_none();
    }
    children.any(|c| comp_body_matches(c, f, data, opts))
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
