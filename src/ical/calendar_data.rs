//! Calendar data with recurrences expanded: the `C:expand` element of a
//! calendar-query or calendar-multiget (RFC 4791 §9.6.5).
//!
//! Every instance that overlaps the window becomes its own component: the
//! master's (or the override's) properties, DTSTART/DTEND rewritten in UTC
//! (all-day instances keep VALUE=DATE), RRULE/RDATE/EXDATE/DURATION dropped
//! and, for instances of a recurring series, a RECURRENCE-ID in UTC.
//! VTIMEZONE components are left out: nothing refers to them any more.
//! The stored bytes are never touched; this builds a new document.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::lines::{Component, Param, Prop};
use super::parse::Doc;
use super::recurrence::{expand_group, Limits, Occ};
use super::series::groups;
use super::write::fold_line;
use super::{ExpandOptions, Result, TimeRange};

/// Properties replaced or made meaningless by expansion.
const DROPPED: &[&str] = &[
    "DTSTART",
    "DTEND",
    "DURATION",
    "RRULE",
    "RDATE",
    "EXDATE",
    "EXRULE",
    "RECURRENCE-ID",
];

/// The object's calendar data with every instance in `window` expanded.
pub fn expand_calendar(bytes: &[u8], window: TimeRange, opts: &ExpandOptions) -> Result<String> {
    let doc = Doc::load(bytes)?;
    let mut out = String::new();
    out.push_str(&fold_line("BEGIN:VCALENDAR"));
    if let Some(cal) = doc.cals.first() {
        for p in &cal.props {
            out.push_str(&fold_line(&content_line(p)));
        }
    }
    let items = doc.items();
    let lim = Limits {
        window,
        tz: opts.default_tz,
        max: opts.max_instances,
        budget: opts.budget.as_deref(),
    };
    for g in groups(&items) {
        let recurring = !g.overrides.is_empty()
            || g.master
                .is_some_and(|m| m.prop("RRULE").is_some() || m.prop("RDATE").is_some());
        let (occs, _) = expand_group(&g, &doc.zones, &lim)?;
        for occ in &occs {
            write_component(&instance(occ, recurring, opts.default_tz), &mut out);
        }
    }
    out.push_str(&fold_line("END:VCALENDAR"));
    Ok(out)
}

/// One expanded instance as a component of its own.
fn instance(occ: &Occ<'_>, recurring: bool, tz: Tz) -> Component {
    let mut c = occ.comp.clone();
    c.props.retain(|p| !DROPPED.contains(&p.name.as_str()));
    c.props
        .push(time_prop("DTSTART", occ.start, occ.all_day, tz));
    if occ.end > occ.start {
        c.props.push(time_prop("DTEND", occ.end, occ.all_day, tz));
    }
    if recurring {
        let rid = occ.rid.unwrap_or(occ.start);
        c.props
            .push(time_prop("RECURRENCE-ID", rid, occ.all_day, tz));
    }
    c
}

/// `NAME:yyyymmddThhmmssZ`, or `NAME;VALUE=DATE:yyyymmdd` for all-day
/// instances (the date in the zone floating dates were expanded in).
fn time_prop(name: &str, t: DateTime<Utc>, all_day: bool, tz: Tz) -> Prop {
    if all_day {
        Prop {
            name: name.to_string(),
            params: vec![Param {
                name: "VALUE".into(),
                values: vec!["DATE".into()],
            }],
            value: t.with_timezone(&tz).format("%Y%m%d").to_string(),
        }
    } else {
        Prop {
            name: name.to_string(),
            params: Vec::new(),
            value: t.format("%Y%m%dT%H%M%SZ").to_string(),
        }
    }
}

fn write_component(c: &Component, out: &mut String) {
    out.push_str(&fold_line(&format!("BEGIN:{}", c.name)));
    for p in &c.props {
        out.push_str(&fold_line(&content_line(p)));
    }
    for child in &c.children {
        write_component(child, out);
    }
    out.push_str(&fold_line(&format!("END:{}", c.name)));
}

/// A property as one unfolded content line; parameter values that need it
/// are quoted (RFC 5545 §3.2), values are written as they were read.
fn content_line(p: &Prop) -> String {
    let mut line = p.name.clone();
    for param in &p.params {
        line.push(';');
        line.push_str(&param.name);
        line.push('=');
        let values: Vec<String> = param
            .values
            .iter()
            .map(|v| {
                if v.contains([':', ';', ',']) {
                    format!("\"{}\"", v.replace('"', ""))
                } else {
                    v.clone()
                }
            })
            .collect();
        line.push_str(&values.join(","));
    }
    line.push(':');
    line.push_str(&p.value);
    line
}
