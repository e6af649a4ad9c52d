//! Free slots (issue 13 #1): the bookable start times of a user inside
//! their working hours that do not meet their busy time widened by the
//! request's buffers, with the sources consulted and how current each
//! is (`sources`), so an answer made from stale data says so.
//!
//! [`free_slots`] is the pure core: open periods (working hours in UTC),
//! busy intervals and the query's shape in, slots out. [`Views::slots`]
//! gathers its inputs — the user's working hours in their zone (every
//! hour when none are set), `busy_for_user` (their busy rules and
//! buffers already applied) and the sources' state — for both `GET
//! /api/{t}/{u}/slots` and `calproxy slots`, which check a query with
//! [`SlotQuery::new`] (the limits) the same way.
//!
//! Where slots start: on a grid of `interval` counted from the start of
//! each working period (09:00, 09:30, …); a free gap long enough for the
//! duration where no grid start fits offers its own start, so every such
//! gap yields a slot.

use std::fmt::Write as _;
use std::sync::Arc;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::ical::{self, BusyInterval, ExpandBudget, Period, TimeRange, WorkingHours};
use crate::ids::UserRef;

use super::sources::{self, Freshness, SourceStatus, State};
use super::Views;

/// Longest window one query may cover.
pub const MAX_WINDOW_DAYS: i64 = 62;
/// Shortest duration (and interval) of a slot, seconds.
pub const MIN_DURATION_SECS: i64 = 5 * 60;
/// Longest duration (and interval) of a slot, seconds.
pub const MAX_DURATION_SECS: i64 = 24 * 3600;
/// Longest buffer a query may ask for, seconds.
pub const MAX_QUERY_BUFFER_SECS: i64 = 24 * 3600;

/// Why a slots query was refused (answered 400 with this message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// No usable window.
    #[error("start and end are required (RFC 3339 or YYYYMMDDTHHMMSSZ), end after start")]
    Range,
    /// The window is longer than [`MAX_WINDOW_DAYS`].
    #[error("the window (end - start) may be at most {max_days} days")]
    WindowTooLong {
        /// The limit.
        max_days: i64,
    },
    /// A duration parameter is missing or not an ISO 8601 duration.
    #[error("{name} must be an ISO 8601 duration such as PT30M")]
    BadDuration {
        /// Which parameter.
        name: &'static str,
    },
    /// The duration or interval is outside 5 minutes – 24 hours.
    #[error("{name} must be between 5 minutes and 24 hours (PT5M to PT24H)")]
    OutOfRange {
        /// Which parameter.
        name: &'static str,
    },
    /// A buffer is negative or longer than 24 hours.
    #[error("{name} must be between 0 and 24 hours (PT0S to PT24H)")]
    Buffer {
        /// Which parameter.
        name: &'static str,
    },
    /// `tz` is not an IANA zone name.
    #[error("tz must be an IANA time zone such as Europe/Berlin")]
    Zone,
}

/// The query as written (the API's parameters or the CLI's options).
#[derive(Debug, Clone, Copy, Default)]
pub struct SlotParams<'a> {
    /// `duration` (required), e.g. `PT30M`.
    pub duration: Option<&'a str>,
    /// `interval` between slot starts (default: the duration).
    pub interval: Option<&'a str>,
    /// `buffer_before`: free time required before a slot (default none).
    pub buffer_before: Option<&'a str>,
    /// `buffer_after`: free time required after a slot (default none).
    pub buffer_after: Option<&'a str>,
    /// `tz`: zone of the answer's local times (default: the user's).
    pub tz: Option<&'a str>,
}

/// A checked slots query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlotQuery {
    /// Where to look.
    pub window: TimeRange,
    /// How long a slot is.
    pub duration: Duration,
    /// Between grid starts.
    pub interval: Duration,
    /// Free time required before each slot.
    pub buffer_before: Duration,
    /// Free time required after each slot.
    pub buffer_after: Duration,
    /// Zone of the local times (None: the user's).
    pub tz: Option<Tz>,
}

fn secs(name: &'static str, v: &str) -> Result<i64, QueryError> {
    let v = v.trim();
    ical::duration_seconds(v).ok_or(QueryError::BadDuration { name })
}

impl SlotQuery {
    /// Checks the limits: a window of at most [`MAX_WINDOW_DAYS`], a
    /// duration and interval of 5 minutes to 24 hours, buffers of at most
    /// 24 hours, an IANA zone.
    pub fn new(window: TimeRange, p: &SlotParams<'_>) -> Result<Self, QueryError> {
        if window.end <= window.start {
            return Err(QueryError::Range);
        }
        if window.end - window.start > Duration::days(MAX_WINDOW_DAYS) {
            return Err(QueryError::WindowTooLong {
                max_days: MAX_WINDOW_DAYS,
            });
        }
        let within = |name, s: i64| {
            if (MIN_DURATION_SECS..=MAX_DURATION_SECS).contains(&s) {
                Ok(Duration::seconds(s))
            } else {
                Err(QueryError::OutOfRange { name })
            }
        };
        let duration = within(
            "duration",
            secs(
                "duration",
                p.duration
                    .ok_or(QueryError::BadDuration { name: "duration" })?,
            )?,
        )?;
        let interval = match p.interval {
            Some(v) => within("interval", secs("interval", v)?)?,
            None => duration,
        };
        let buffer = |name, v: Option<&str>| -> Result<Duration, QueryError> {
            let s = match v {
                Some(v) => secs(name, v)?,
                None => 0,
            };
            if (0..=MAX_QUERY_BUFFER_SECS).contains(&s) {
                Ok(Duration::seconds(s))
            } else {
                Err(QueryError::Buffer { name })
            }
        };
        let tz = match p.tz.map(str::trim).filter(|z| !z.is_empty()) {
            Some(z) => Some(z.parse::<Tz>().map_err(|_| QueryError::Zone)?),
            None => None,
        };
        Ok(Self {
            window,
            duration,
            interval,
            buffer_before: buffer("buffer_before", p.buffer_before)?,
            buffer_after: buffer("buffer_after", p.buffer_after)?,
            tz,
        })
    }
}

/// One bookable slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Slot {
    /// Start, UTC.
    pub start: DateTime<Utc>,
    /// End, UTC.
    pub end: DateTime<Utc>,
    /// Start in the answer's zone (RFC 3339 with its offset).
    pub start_local: String,
    /// End in the answer's zone.
    pub end_local: String,
}

/// The working hours an answer used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HoursUsed {
    /// Their zone (the user's).
    pub zone: String,
    /// The weekly rules, e.g. `Mon-Fri 09:00-17:00`.
    pub weekly: String,
    /// The exceptions on dates the window touches.
    pub exceptions: Vec<String>,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Slots {
    /// The window asked for.
    pub start: DateTime<Utc>,
    /// Its end.
    pub end: DateTime<Utc>,
    /// The zone of the local times.
    pub tz: String,
    /// Slot length (ISO 8601).
    pub duration: String,
    /// Between grid starts.
    pub interval: String,
    /// Free time required before each slot.
    pub buffer_before: String,
    /// Free time required after each slot.
    pub buffer_after: String,
    /// The working hours used (None: none are set, every hour counts).
    pub working_hours: Option<HoursUsed>,
    /// False when a source is stale or failing: the slots were computed
    /// from what calproxy has, which may be out of date (see `sources`).
    pub complete: bool,
    /// The bookable slots, in time order.
    pub slots: Vec<Slot>,
    /// Every calendar consulted, with its state.
    pub sources: Vec<SourceStatus>,
}

/// What [`free_slots`] places.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Slots lie inside it.
    pub window: TimeRange,
    /// Slot length.
    pub duration: Duration,
    /// Between grid starts.
    pub interval: Duration,
    /// Free time required before a slot.
    pub before: Duration,
    /// Free time required after a slot.
    pub after: Duration,
}

/// Union of sorted-or-not ranges, sorted, overlapping and adjacent joined.
fn union(mut v: Vec<TimeRange>) -> Vec<TimeRange> {
    v.retain(|r| r.end > r.start);
    v.sort_by_key(|r| (r.start, r.end));
    let mut out: Vec<TimeRange> = Vec::new();
    for r in v {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

/// The slots of `shape` inside the `open` periods (sorted, disjoint; an
/// open period may begin before the window: the grid counts from its
/// start) whose span padded by the buffers, `[start - before, end +
/// after)`, meets no `busy` interval (of either kind).
pub fn free_slots(open: &[TimeRange], busy: &[BusyInterval], shape: &Shape) -> Vec<TimeRange> {
    let (d, step) = (shape.duration, shape.interval);
    if d <= Duration::zero() || step <= Duration::zero() {
        return Vec::new();
    }
    // A slot starting at t is refused when [t - before, t + d + after)
    // meets busy [s, e), i.e. when [t, t + d) meets [s - after, e + before).
    let blocked = union(
        busy.iter()
            .map(|b| TimeRange {
                start: b.start - shape.after,
                end: b.end + shape.before,
            })
            .collect(),
    );
    let mut out = Vec::new();
    for p in open {
        let lo = p.start.max(shape.window.start);
        let hi = p.end.min(shape.window.end);
        if hi - lo < d {
            continue;
        }
        let mut gaps = Vec::new();
        let mut cursor = lo;
        let first = blocked.partition_point(|b| b.end <= lo);
        for b in blocked[first..].iter().take_while(|b| b.start < hi) {
            if b.start > cursor {
                gaps.push((cursor, b.start));
            }
            cursor = cursor.max(b.end);
        }
        if cursor < hi {
            gaps.push((cursor, hi));
        }
        for (gs, ge) in gaps {
            if ge - gs < d {
                continue;
            }
            // The first grid start at or after the gap's start.
            let (into, step_s) = ((gs - p.start).num_seconds(), step.num_seconds());
            let k = (into + step_s - 1).div_euclid(step_s);
            let mut t = p.start + Duration::seconds(k * step_s);
            let before = out.len();
            while t + d <= ge {
                out.push(TimeRange {
                    start: t,
                    end: t + d,
                });
                t += step;
            }
            if out.len() == before {
                out.push(TimeRange {
                    start: gs,
                    end: gs + d,
                });
            }
        }
    }
    out
}

/// Every hour of every day: the working hours of a user who set none.
fn every_hour() -> WorkingHours {
    let day = vec![Period {
        start: 0,
        end: 24 * 60,
    }];
    WorkingHours {
        weekly: std::array::from_fn(|_| day.clone()),
        ..Default::default()
    }
}

fn local(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz)
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl Views {
    /// The free slots of `who` for `q`, with the sources consulted.
    /// Parts of the window outside the kept one are expanded, charged to
    /// `budget`.
    pub fn slots(
        &self,
        who: &UserRef,
        q: &SlotQuery,
        fresh: Freshness,
        budget: Option<&Arc<ExpandBudget>>,
    ) -> Result<Slots, super::Error> {
        let settings = self.store().user_settings(&who.tenant, &who.user)?;
        let zone = self.store().busy_settings(who).tz;
        let hours = settings.hours.clone().unwrap_or_else(every_hour);
        let open = hours.open(zone, q.window);
        let fetch = TimeRange {
            start: q.window.start - q.buffer_before,
            end: q.window.end + q.buffer_after,
        };
        let busy = self.busy_for_user(who, fetch, budget)?;
        let shape = Shape {
            window: q.window,
            duration: q.duration,
            interval: q.interval,
            before: q.buffer_before,
            after: q.buffer_after,
        };
        let out_tz = q.tz.unwrap_or(zone);
        let slots = free_slots(&open, &busy, &shape)
            .into_iter()
            .map(|r| Slot {
                start: r.start,
                end: r.end,
                start_local: local(r.start, out_tz),
                end_local: local(r.end, out_tz),
            })
            .collect();
        let sources = sources::sources(self.store(), who, fresh)?;
        let dates = (
            q.window.start.with_timezone(&zone).date_naive(),
            q.window.end.with_timezone(&zone).date_naive(),
        );
        let working_hours = settings.hours.as_ref().map(|h| HoursUsed {
            zone: zone.name().to_string(),
            weekly: h.weekly_text(),
            exceptions: h.exceptions_between(dates.0, dates.1),
        });
        Ok(Slots {
            start: q.window.start,
            end: q.window.end,
            tz: out_tz.name().to_string(),
            duration: ical::format_duration(q.duration.num_seconds()),
            interval: ical::format_duration(q.interval.num_seconds()),
            buffer_before: ical::format_duration(q.buffer_before.num_seconds()),
            buffer_after: ical::format_duration(q.buffer_after.num_seconds()),
            working_hours,
            complete: sources.iter().all(|s| s.status == State::Ok),
            slots,
            sources,
        })
    }
}

/// The answer as text (`calproxy slots`): one line per local day with
/// its slot starts, then every source that is not current.
pub fn render_text(s: &Slots) -> String {
    let mut out = String::new();
    let hours = s.working_hours.as_ref().map_or_else(
        || "no working hours set (every hour counts)".to_string(),
        |h| format!("working hours {} ({})", h.weekly, h.zone),
    );
    let _ = writeln!(
        out,
        "{} slots of {} every {} in {}; {}",
        s.slots.len(),
        s.duration,
        s.interval,
        s.tz,
        hours
    );
    let mut day = String::new();
    for slot in &s.slots {
        let (d, time) = slot.start_local.split_at(10);
        if d != day {
            if !day.is_empty() {
                out.push('\n');
            }
            day = d.to_string();
            out.push_str(&day);
        }
        let _ = write!(out, " {}", time.get(1..6).unwrap_or(time));
    }
    if !day.is_empty() {
        out.push('\n');
    }
    for src in s.sources.iter().filter(|x| x.status != State::Ok) {
        let _ = writeln!(
            out,
            "warning: {} is {}: {}",
            src.calendar,
            match src.status {
                State::Stale => "stale",
                _ => "failing",
            },
            src.reason.as_deref().unwrap_or("")
        );
    }
    if !s.complete {
        out.push_str("these slots may be out of date: a source above is not current\n");
    }
    out
}

#[cfg(test)]
mod tests;
