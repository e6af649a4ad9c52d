//! What a calendar object is *for* the read path, computed once when the
//! object is written and kept beside it by the store: when it occupies
//! time (RFC 4791 §9.9, for calendar-query time ranges), when it makes its
//! owner busy (R4, for availability), and its parsed component tree (for
//! comp/prop/text-match filters). Reads then look these up instead of
//! parsing and expanding every object per request.
//!
//! Both time answers depend on the owner's settings (their zone places
//! floating and all-day times, their addresses decide PARTSTAT) and cover
//! a window; a [`Derived`] records the settings' fingerprint and the
//! window so a stale one is recognised.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::busy::{collect, collect_capped, expansion_window, instance_busy};
use super::lines::{parse_document, Component};
use super::parse::Doc;
use super::rules::BusyRules;
use super::{merge, BusyInterval, BusyKind, ExpandBudget, ExpandOptions, TimeRange};

/// Most instances kept per object; an object with more inside the window
/// is [`Occupancy::Dense`] and is expanded when asked.
pub const MAX_SPANS: usize = 10_000;

/// Budget units (about one generated date each) one [`derive`] may
/// spend: a pathological object (the `recurrence` fuzz target found rules
/// that walk the `rrule` crate dry on every expansion) costs a write at
/// most this, then its answers defer to expansion at read time, which the
/// request's budget refuses clearly. Real objects stay far below: an
/// object reaching [`MAX_SPANS`] instances spends about that many.
pub(crate) const DERIVE_BUDGET: u64 = 200_000;

/// What shapes an owner's busy time.
#[derive(Clone, Debug, PartialEq)]
pub struct BusySettings {
    /// Zone for floating times and all-day dates.
    pub tz: chrono_tz::Tz,
    /// The owner's calendar user addresses (their PARTSTAT decides).
    pub owners: Vec<String>,
    /// The owner's busy rules (all-day, tentative, travel time).
    pub rules: BusyRules,
}

impl BusySettings {
    /// UTC, no addresses, the default rules.
    pub fn utc() -> Self {
        Self {
            tz: chrono_tz::UTC,
            owners: Vec::new(),
            rules: BusyRules::default(),
        }
    }

    /// A stable fingerprint: equal settings and the same [`DERIVE_VERSION`],
    /// equal number. The default rules add nothing, so answers stored
    /// before rules existed stay current; a new version makes every stored
    /// answer (and view stamp, busy snapshot, kept answer) outdated.
    pub fn fingerprint(&self) -> u64 {
        let mut h = Sha256::new();
        h.update([b'v', DERIVE_VERSION]);
        h.update(self.tz.name());
        for o in &self.owners {
            h.update([0]);
            h.update(o.trim().to_ascii_lowercase().as_bytes());
        }
        let rules = self.rules.fingerprint_bytes();
        if !rules.is_empty() {
            h.update([1]);
            h.update(&rules);
        }
        let d = h.finalize();
        u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
    }

    /// Expansion options with these settings.
    pub fn options(&self, max_instances: usize) -> ExpandOptions {
        ExpandOptions::new(self.tz, max_instances)
    }
}

/// The version of how stored objects are read: raise it with every change
/// that makes `parse_lenient`, `parse_tree` or `derive` give another
/// answer for the same bytes (zone names, recurrence, busy rules), so
/// objects stored before are prepared again (`Store::prepare_outdated`)
/// instead of keeping what the older code made of them until their next
/// write. 1: before versions; 2: Outlook's display-name TZIDs.
pub const DERIVE_VERSION: u8 = 2;

/// When an object occupies time inside its window (RFC 4791 §9.9).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub enum Occupancy {
    /// A VTODO without DTSTART and DUE: matches every time range.
    Always,
    /// Every instance as `[start, end)` unix seconds, sorted by start.
    Spans(Vec<(i64, i64)>),
    /// More than [`MAX_SPANS`] instances: expand to answer.
    Dense,
    /// The data did not parse; it matches nothing (as a full scan decides).
    Unreadable,
}

/// A busy interval in unix seconds.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredBusy {
    /// Start.
    pub start: i64,
    /// End (exclusive).
    pub end: i64,
    /// Tentative rather than busy.
    pub tentative: bool,
}

impl StoredBusy {
    /// The stored form of an interval.
    pub fn of(i: &BusyInterval) -> Self {
        Self {
            start: i.start.timestamp(),
            end: i.end.timestamp(),
            tentative: i.kind == BusyKind::Tentative,
        }
    }

    /// As a [`BusyInterval`].
    pub fn interval(&self) -> Option<BusyInterval> {
        Some(BusyInterval {
            start: DateTime::<Utc>::from_timestamp(self.start, 0)?,
            end: DateTime::<Utc>::from_timestamp(self.end, 0)?,
            kind: if self.tentative {
                BusyKind::Tentative
            } else {
                BusyKind::Busy
            },
        })
    }
}

/// The time answers of one object for one window and one set of settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Derived {
    /// [`BusySettings::fingerprint`] of the owner's settings used.
    pub settings: u64,
    /// The window covered, unix seconds `[start, end)`.
    pub window: (i64, i64),
    /// When it occupies time (calendar-query).
    pub occupancy: Occupancy,
    /// When it makes its owner busy (R4), merged, clipped to the window.
    pub busy: Vec<StoredBusy>,
}

/// The leading fields of a stored [`Derived`]: what calendar-query needs
/// (decoding stops before the busy intervals).
#[derive(Deserialize, Clone, Debug, PartialEq)]
pub struct Occupied {
    /// See [`Derived::settings`].
    pub settings: u64,
    /// See [`Derived::window`].
    pub window: (i64, i64),
    /// See [`Derived::occupancy`].
    pub occupancy: Occupancy,
}

impl Occupied {
    /// See [`Derived::overlaps`].
    pub fn overlaps(&self, w: TimeRange) -> Option<bool> {
        occupancy_overlaps(self.window, &self.occupancy, w)
    }
}

/// Whether an object whose instances over `window` are `occupancy`
/// meets `w`; `None` when that cannot tell (see [`Derived::overlaps`]).
fn occupancy_overlaps(window: (i64, i64), occupancy: &Occupancy, w: TimeRange) -> Option<bool> {
    // The stored spans and window are whole seconds: against a whole
    // second `n`, `t < x` is `t < ⌈x⌉`, `t > x` is `t > ⌊x⌋` and `t >= x`
    // is `t >= ⌈x⌉`, so the comparisons of `meets` run on integers, exact
    // for a window with a fraction of a second too.
    let floor = |t: DateTime<Utc>| t.timestamp();
    let ceil = |t: DateTime<Utc>| t.timestamp() + i64::from(t.timestamp_subsec_nanos() > 0);
    let (ws, we) = window;
    let inside = floor(w.start) >= ws && ceil(w.end) <= we;
    match occupancy {
        Occupancy::Always => Some(true),
        Occupancy::Unreadable => Some(false),
        Occupancy::Dense => None,
        Occupancy::Spans(_) if !inside => None,
        Occupancy::Spans(spans) => Some(spans.iter().any(|&(s, e)| {
            if e > s {
                s < ceil(w.end) && e > floor(w.start)
            } else {
                s < ceil(w.end) && s >= ceil(w.start)
            }
        })),
    }
}

/// The parsed component tree kept for filter evaluation.
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct ParsedTree(pub(crate) Vec<Component>);

/// The component names a filter's structure looks at first: the first
/// top-level component (VCALENDAR) and the names of its children.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Shape {
    /// The first top-level component's name (empty when none).
    pub root: String,
    /// Its children's names, each once, in document order.
    pub children: Vec<String>,
}

impl ParsedTree {
    /// The top-level components (VCALENDARs).
    pub(crate) fn roots(&self) -> &[Component] {
        &self.0
    }

    /// The tree's [`Shape`].
    pub fn shape(&self) -> Shape {
        let Some(root) = self.0.first() else {
            return Shape::default();
        };
        let mut children: Vec<String> = Vec::new();
        for c in &root.children {
            if !children.contains(&c.name) {
                children.push(c.name.clone());
            }
        }
        Shape {
            root: root.name.clone(),
            children,
        }
    }
}

/// Parses the tree a filter evaluates (lenient, as a full scan reads it).
pub fn parse_tree(data: &[u8]) -> ParsedTree {
    ParsedTree(parse_document(data, false).unwrap_or_default())
}

/// Computes an object's time answers for `window` under `settings`.
pub fn derive(data: &[u8], settings: &BusySettings, window: TimeRange) -> Derived {
    let mut out = Derived {
        settings: settings.fingerprint(),
        window: (window.start.timestamp(), window.end.timestamp()),
        occupancy: Occupancy::Unreadable,
        busy: Vec::new(),
    };
    let Ok(doc) = Doc::load(data) else {
        return out;
    };
    let budget = Arc::new(ExpandBudget::new(DERIVE_BUDGET));
    let options = |max| settings.options(max).with_budget(budget.clone());
    let items = doc.items();
    out.occupancy = if items
        .iter()
        .any(|c| c.name == "VTODO" && c.prop("DTSTART").is_none() && c.prop("DUE").is_none())
    {
        Occupancy::Always
    } else {
        match collect_capped(&doc, window, &[], &options(MAX_SPANS + 1), |_| true) {
            // Cut short (a cap of generated dates reached with EXDATEs
            // removing most of them): instances may be missing from the
            // list, so it cannot answer alone.
            Ok((all, capped)) if capped || all.len() > MAX_SPANS => Occupancy::Dense,
            Ok((all, _)) => {
                let mut spans: Vec<(i64, i64)> = all
                    .iter()
                    .map(|i| (i.start.timestamp(), i.end.timestamp()))
                    .collect();
                spans.sort_unstable();
                spans.dedup();
                Occupancy::Spans(spans)
            }
            Err(_) => Occupancy::Dense,
        }
    };
    // A failure (the budget) leaves no busy time, as for data that does
    // not expand at all.
    let events = collect(
        &doc,
        expansion_window(&doc, window, &settings.rules),
        &settings.owners,
        &options(MAX_SPANS),
        |c| c.name == "VEVENT",
    )
    .unwrap_or_default();
    let intervals: Vec<BusyInterval> = events
        .iter()
        .flat_map(|i| instance_busy(i, &settings.rules, window))
        .collect();
    out.busy = merge(intervals)
        .into_iter()
        .map(|i| StoredBusy::of(&i))
        .collect();
    out
}

impl Derived {
    /// Whether the object meets `w` (RFC 4791 §9.9), when these answers
    /// can tell: `None` when `w` leaves the covered window or the object is
    /// too dense to keep every instance (the caller expands).
    pub fn overlaps(&self, w: TimeRange) -> Option<bool> {
        occupancy_overlaps(self.window, &self.occupancy, w)
    }

    /// The busy intervals meeting `w`, clipped to it (`w` inside the window).
    pub fn busy_in(&self, w: TimeRange) -> Vec<BusyInterval> {
        self.busy
            .iter()
            .filter_map(StoredBusy::interval)
            .filter_map(|i| {
                let start = i.start.max(w.start);
                let end = i.end.min(w.end);
                (end > start).then_some(BusyInterval { start, end, ..i })
            })
            .collect()
    }
}
