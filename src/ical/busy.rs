//! Busy time (DESIGN R4) and interval merging.
//!
//! An instance blocks time unless TRANSP:TRANSPARENT or STATUS:CANCELLED
//! (read per instance, so overrides may change either) or the owner's
//! ATTENDEE line says PARTSTAT=DECLINED. The owner's PARTSTAT TENTATIVE or
//! NEEDS-ACTION (also the RFC default when PARTSTAT is absent), or
//! STATUS:TENTATIVE, make it BUSY-TENTATIVE. Only VEVENTs count. Apple's
//! travel time before and after a timed event is busy of the same kind.
//! The owner's [`BusyRules`] switch all-day events, tentative time and
//! travel time; their defaults are the rules above.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::index::{status_of, summary_of, transp_of};
use super::lines::Component;
use super::parse::Doc;
use super::recurrence::{expand_group, Limits};
use super::rules::{has_travel, travel_secs, AllDay, BusyRules, Tentative, MAX_TRAVEL_SECS};
use super::series::groups;
use super::{BusySettings, EventStatus, ExpandOptions, Instance, Result, TimeRange, Transp};

/// FBTYPE of a busy interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum BusyKind {
    /// FBTYPE=BUSY.
    Busy,
    /// FBTYPE=BUSY-TENTATIVE.
    Tentative,
}

/// A busy interval `[start, end)` in UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusyInterval {
    /// Inclusive start.
    pub start: DateTime<Utc>,
    /// Exclusive end.
    pub end: DateTime<Utc>,
    /// Busy or tentative.
    pub kind: BusyKind,
}

fn address(s: &str) -> String {
    let s = s.trim().to_ascii_lowercase();
    s.strip_prefix("mailto:").map(str::to_string).unwrap_or(s)
}

/// The owner's PARTSTAT on this component (NEEDS-ACTION when absent).
fn owner_partstat(c: &Component, owners: &[String]) -> Option<String> {
    if owners.is_empty() {
        return None;
    }
    let owners: Vec<String> = owners.iter().map(|o| address(o)).collect();
    c.props("ATTENDEE")
        .find(|a| owners.contains(&address(&a.value)))
        .map(|a| {
            a.param("PARTSTAT")
                .unwrap_or("NEEDS-ACTION")
                .to_ascii_uppercase()
        })
}

/// Expands every group of the document into instances (those whose
/// component passes `keep`); fails when the request's budget runs out.
pub(crate) fn collect(
    doc: &Doc,
    window: TimeRange,
    owners: &[String],
    opts: &ExpandOptions,
    keep: impl Fn(&Component) -> bool,
) -> Result<Vec<Instance>> {
    collect_capped(doc, window, owners, opts, keep).map(|(v, _)| v)
}

/// [`collect`], also saying whether a cap stopped an expansion: then
/// instances in the window may be missing even when fewer than the cap
/// came back (a rule stops after [`RAW_CAP`](super::rule::RAW_CAP)
/// generated dates, however many of them EXDATEs removed).
pub(crate) fn collect_capped(
    doc: &Doc,
    window: TimeRange,
    owners: &[String],
    opts: &ExpandOptions,
    keep: impl Fn(&Component) -> bool,
) -> Result<(Vec<Instance>, bool)> {
    let items: Vec<&Component> = doc.items().into_iter().filter(|c| keep(c)).collect();
    let lim = Limits {
        window,
        tz: opts.default_tz,
        max: opts.max_instances,
        budget: opts.budget.as_deref(),
    };
    let mut out = Vec::new();
    let mut capped = false;
    for g in groups(&items) {
        let (occs, truncated) = expand_group(&g, &doc.zones, &lim)?;
        capped |= truncated;
        out.extend(occs.into_iter().map(|o| Instance {
            start: o.start,
            end: o.end,
            all_day: o.all_day,
            transp: transp_of(o.comp),
            status: status_of(o.comp),
            recurrence_id: o.rid,
            summary: summary_of(o.comp),
            owner_partstat: owner_partstat(o.comp, owners),
            transp_set: o.comp.prop("TRANSP").is_some(),
            travel_before: travel_secs(o.comp, "X-APPLE-TRAVEL-DURATION"),
            travel_after: travel_secs(o.comp, "X-APPLE-TRAVEL-RETURN-DURATION"),
        }));
    }
    out.sort_by_key(|i| (i.start, i.end));
    Ok((out, capped))
}

/// What an instance means for availability under `rules`, if anything (R4).
pub(crate) fn busy_kind(i: &Instance, rules: &BusyRules) -> Option<BusyKind> {
    if i.transp == Transp::Transparent || i.status == EventStatus::Cancelled {
        return None;
    }
    if i.all_day && rules.all_day == AllDay::FreeUnlessOpaque && !i.transp_set {
        return None;
    }
    let tentative = match i.owner_partstat.as_deref() {
        Some("DECLINED") => return None,
        Some("TENTATIVE") | Some("NEEDS-ACTION") => true,
        _ => i.status == EventStatus::Tentative,
    };
    match (tentative, rules.tentative) {
        (false, _) | (true, Tentative::Busy) => Some(BusyKind::Busy),
        (true, Tentative::BusyTentative) => Some(BusyKind::Tentative),
        (true, Tentative::Free) => None,
    }
}

/// The busy intervals of one instance under `rules` (the event, and its
/// travel time before and after when it is timed), clipped to `window`.
pub(crate) fn instance_busy(
    i: &Instance,
    rules: &BusyRules,
    window: TimeRange,
) -> impl Iterator<Item = BusyInterval> {
    let kind = busy_kind(i, rules);
    let travel = rules.travel && !i.all_day;
    let secs = |s: i64| chrono::Duration::seconds(if travel { s } else { 0 });
    let parts = [
        (i.start - secs(i.travel_before), i.start),
        (i.start, i.end),
        (i.end, i.end + secs(i.travel_after)),
    ];
    parts.into_iter().filter_map(move |(s, e)| {
        let kind = kind?;
        let start = s.max(window.start);
        let end = e.min(window.end);
        (end > start).then_some(BusyInterval { start, end, kind })
    })
}

/// The window to expand so that travel time reaching into `window` is
/// seen: wider by [`MAX_TRAVEL_SECS`] when travel counts and the document
/// has any (else `window` itself, so nothing else changes).
pub(crate) fn expansion_window(doc: &Doc, window: TimeRange, rules: &BusyRules) -> TimeRange {
    if !rules.travel || !doc.items().iter().any(|c| has_travel(c)) {
        return window;
    }
    let pad = chrono::Duration::seconds(MAX_TRAVEL_SECS);
    TimeRange {
        start: window.start - pad,
        end: window.end + pad,
    }
}

/// Busy intervals of the VEVENTs in `bytes` under the default rules,
/// clipped to the window, unmerged.
pub fn busy_intervals(
    bytes: &[u8],
    window: TimeRange,
    owner_addresses: &[String],
    opts: &ExpandOptions,
) -> Result<Vec<BusyInterval>> {
    let settings = BusySettings {
        tz: opts.default_tz,
        owners: owner_addresses.to_vec(),
        rules: BusyRules::default(),
    };
    busy_for(bytes, window, &settings, opts)
}

/// Busy intervals of the VEVENTs in `bytes` for an owner with `settings`
/// (their addresses and rules; `opts` carries the zone), clipped to the
/// window, unmerged.
pub fn busy_for(
    bytes: &[u8],
    window: TimeRange,
    settings: &BusySettings,
    opts: &ExpandOptions,
) -> Result<Vec<BusyInterval>> {
    let doc = Doc::load(bytes)?;
    let wide = expansion_window(&doc, window, &settings.rules);
    let all = collect(&doc, wide, &settings.owners, opts, |c| c.name == "VEVENT")?;
    Ok(all
        .iter()
        .flat_map(|i| instance_busy(i, &settings.rules, window))
        .collect())
}

/// Each interval widened by `before` (earlier start) and `after` (later
/// end), keeping its kind, then merged: buffers around busy blocks.
pub fn widen(
    intervals: &[BusyInterval],
    before: chrono::Duration,
    after: chrono::Duration,
) -> Vec<BusyInterval> {
    merge(
        intervals
            .iter()
            .map(|i| BusyInterval {
                start: i.start - before,
                end: i.end + after,
                kind: i.kind,
            })
            .collect(),
    )
}

fn union(mut v: Vec<(DateTime<Utc>, DateTime<Utc>)>) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    v.retain(|(s, e)| e > s);
    v.sort();
    let mut out: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    for (s, e) in v {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// Union of intervals: overlapping and adjacent ones of the same kind are
/// joined; where Busy and Tentative overlap, Busy wins and the tentative
/// interval is cut around it. Sorted by start. Empty intervals are dropped.
pub fn merge(intervals: Vec<BusyInterval>) -> Vec<BusyInterval> {
    let pick = |k: BusyKind| {
        union(
            intervals
                .iter()
                .filter(|i| i.kind == k)
                .map(|i| (i.start, i.end))
                .collect(),
        )
    };
    let busy = pick(BusyKind::Busy);
    let mut out: Vec<BusyInterval> = busy
        .iter()
        .map(|&(start, end)| BusyInterval {
            start,
            end,
            kind: BusyKind::Busy,
        })
        .collect();
    for (s0, e) in pick(BusyKind::Tentative) {
        let mut s = s0;
        for &(bs, be) in busy.iter().filter(|(bs, be)| *be > s0 && *bs < e) {
            if bs > s {
                out.push(BusyInterval {
                    start: s,
                    end: bs,
                    kind: BusyKind::Tentative,
                });
            }
            s = s.max(be);
        }
        if e > s {
            out.push(BusyInterval {
                start: s,
                end: e,
                kind: BusyKind::Tentative,
            });
        }
    }
    out.sort_by_key(|i| (i.start, i.end));
    out
}
