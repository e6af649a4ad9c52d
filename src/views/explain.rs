//! "Why busy": for each merged interval of a user's availability, the
//! source objects that make it busy (`calproxy busy`, `GET /api/{t}/{u}/busy`).
//!
//! Inside the cached window it reads the cache's per-object intervals (no
//! expansion); outside it expands on the fly. With the user's buffers, an
//! interval's sources include the objects whose buffered time it holds. Another user's time (R7
//! conflict users) is named by that user only: no object names or
//! summaries cross users.

use serde::Serialize;

use super::busy_cache::object_busy;
use super::deps;
use super::{clip, outside, Views};
use std::sync::Arc;

use crate::ical::{BusyInterval, BusyKind, ExpandBudget, TimeRange};
use crate::ids::{ObjectName, UserRef};

/// One source of a busy interval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    /// The collection (`primary`, `blocked`, a conflict calendar), or
    /// `user:{id}` for another user of the tenant (R7).
    pub calendar: String,
    /// The object's name in that collection (absent for another user's time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// The object's SUMMARY as the user's own view shows it (R5), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

/// A merged busy interval and what made it busy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explained {
    /// Start, UTC.
    pub start: chrono::DateTime<chrono::Utc>,
    /// End, UTC (exclusive).
    pub end: chrono::DateTime<chrono::Utc>,
    /// `busy` or `tentative` (the VFREEBUSY FBTYPE).
    pub kind: &'static str,
    /// Every object with busy time inside the interval.
    pub sources: Vec<Source>,
}

fn kind_name(k: BusyKind) -> &'static str {
    match k {
        BusyKind::Busy => "busy",
        BusyKind::Tentative => "tentative",
    }
}

/// One object's busy intervals.
struct ObjectBusy {
    name: ObjectName,
    intervals: Vec<BusyInterval>,
}

impl Views {
    /// Each object's busy intervals in `window` for one source collection.
    fn per_object(
        &self,
        src: &deps::Source,
        window: TimeRange,
        budget: Option<&Arc<ExpandBudget>>,
    ) -> Result<Vec<ObjectBusy>, super::Error> {
        let cached = self.cache_window(chrono::Utc::now());
        let mut out: Vec<ObjectBusy> = Vec::new();
        if window.start < cached.end && window.end > cached.start {
            let got = self.inner.busy.with_collection(
                self.store(),
                &src.key,
                &src.record,
                &src.settings,
                cached,
                |e| {
                    e.objects()
                        .map(|(n, v)| ObjectBusy {
                            name: n.clone(),
                            intervals: clip(&v, window),
                        })
                        .filter(|o| !o.intervals.is_empty())
                        .collect::<Vec<_>>()
                },
            )?;
            out.extend(got.unwrap_or_default());
        }
        for part in outside(window, cached) {
            for name in self.store().candidates(&src.key, part)? {
                let Some(body) = self.store().object_body(&src.key, &name)? else {
                    continue;
                };
                let intervals = object_busy(&name, &body, part, &src.settings, budget)?;
                if !intervals.is_empty() {
                    out.push(ObjectBusy { name, intervals });
                }
            }
        }
        Ok(out)
    }

    /// The merged busy time of a user in `window`, each interval with its
    /// sources. Parts outside the kept window are expanded, charged to `budget`.
    pub fn why_busy(
        &self,
        who: &UserRef,
        window: TimeRange,
        budget: Option<&Arc<ExpandBudget>>,
    ) -> Result<Vec<Explained>, super::Error> {
        why_busy(self, who, window, budget)
    }
}

fn why_busy(
    views: &Views,
    who: &UserRef,
    window: TimeRange,
    budget: Option<&Arc<ExpandBudget>>,
) -> Result<Vec<Explained>, super::Error> {
    let merged = views.busy_for_user(who, window, budget)?;
    // With buffers, an object just outside the window can reach into it:
    // look as far as the buffers do, and match each object's interval
    // widened by them.
    let b = views.store().user_settings(&who.tenant, &who.user)?.buffers;
    let (before, after) = (
        chrono::Duration::seconds(i64::from(b.before)),
        chrono::Duration::seconds(i64::from(b.after)),
    );
    let wide = TimeRange {
        start: window.start - after,
        end: window.end + before,
    };
    let mut out: Vec<Explained> = merged
        .iter()
        .map(|m| Explained {
            start: m.start,
            end: m.end,
            kind: kind_name(m.kind),
            sources: Vec::new(),
        })
        .collect();
    for src in deps::sources(views.store(), who)? {
        let key = &src.key;
        let own = key.user == who.user;
        let mut items = views.per_object(&src, wide, budget)?;
        items.sort_by(|a, b| a.name.cmp(&b.name));
        for ObjectBusy {
            name,
            intervals: ivs,
        } in items
        {
            let mut hit: Vec<usize> = Vec::new();
            for iv in ivs {
                let (start, end) = (iv.start - before, iv.end + after);
                // Merged intervals never overlap and are sorted.
                let mut i = merged.partition_point(|m| m.end <= start);
                while let Some(m) = merged.get(i) {
                    if m.start >= end {
                        break;
                    }
                    hit.push(i);
                    i += 1;
                }
            }
            hit.sort_unstable();
            hit.dedup();
            if hit.is_empty() {
                continue;
            }
            let source = if own {
                let summary = views
                    .store()
                    .object(key, &name)?
                    .and_then(|o| o.index.summary);
                Source {
                    calendar: key.calendar.as_str().to_string(),
                    object: Some(name.as_str().to_string()),
                    summary,
                }
            } else {
                Source {
                    calendar: format!("user:{}", key.user),
                    object: None,
                    summary: None,
                }
            };
            for i in hit {
                if let Some(e) = out.get_mut(i) {
                    if !e.sources.contains(&source) {
                        e.sources.push(source.clone());
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The same as text, one interval per line and its sources indented.
pub fn render_text(items: &[Explained]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    if items.is_empty() {
        out.push_str("free: no busy time in this range\n");
    }
    let f = |d: &chrono::DateTime<chrono::Utc>| d.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    for e in items {
        let _ = writeln!(out, "{} .. {}  {}", f(&e.start), f(&e.end), e.kind);
        for s in &e.sources {
            let _ = writeln!(
                out,
                "    {}{}{}",
                s.calendar,
                s.object
                    .as_deref()
                    .map(|o| format!("/{o}"))
                    .unwrap_or_default(),
                s.summary
                    .as_deref()
                    .map(|x| format!("  {x:?}"))
                    .unwrap_or_default()
            );
        }
    }
    out
}
