//! The settings part of `configure` (issue 13 #2, #3): the user's time
//! zone, working hours with their exceptions, the busy rules (all-day,
//! tentative, travel time), buffers around busy blocks, and whether the
//! feed shows time outside working hours as busy: its flags
//! ([`SettingsArgs`], flattened into `ConfigureArgs`) and what they do.
//! Everything given is checked first ([`plan`]); only then is anything
//! stored ([`apply`]), which announces the change so stored time answers
//! and views follow.

use std::fmt::Write as _;

use clap::Args;
use serde::{Deserialize, Serialize};

use crate::ical::{self, AllDay, Tentative, WorkingHours};
use crate::ids::UserRef;
use crate::state::App;
use crate::store::{Buffers, UserRecord, UserSettings, MAX_BUFFER_SECS};

/// On or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
pub enum OnOff {
    /// On.
    On,
    /// Off.
    Off,
}

/// How the feed shows time outside working hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
pub enum OutsideHours {
    /// As busy (opt-in; the feed only).
    Busy,
    /// As free, like every other view (the default).
    Free,
}

/// The settings part of `calproxy configure`: each is changed only when
/// given. A `configure` that gives only these leaves the calendar choice
/// (primary, conflicts, conflict users) as it is.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Args)]
pub struct SettingsArgs {
    /// IANA time zone of the user (floating and all-day times, working hours).
    #[arg(long)]
    pub timezone: Option<String>,
    /// Working hours in the user's zone, e.g. 'Mon-Fri 09:00-17:00' or
    /// 'Mon-Fri 09:00-12:00,13:00-17:00; Sat 10:00-12:00' ('none': no
    /// working hours, every hour counts).
    #[arg(long)]
    pub hours: Option<String>,
    /// A date whose hours replace the weekly ones (repeatable; the list
    /// replaces the stored one): '2026-12-24 off', '2026-12-27 10:00-14:00',
    /// '2026-12-28..2026-12-31 off' ('none' clears them).
    #[arg(long = "hours-exception")]
    pub hours_exceptions: Vec<String>,
    /// All-day events: busy (default) or free-unless-opaque.
    #[arg(long, value_enum)]
    pub all_day: Option<crate::ical::AllDay>,
    /// Tentative and unanswered invitations: busy-tentative (default), busy or free.
    #[arg(long, value_enum)]
    pub tentative: Option<crate::ical::Tentative>,
    /// Apple travel time before and after events counts as busy: on (default) or off.
    #[arg(long, value_enum)]
    pub travel_time: Option<OnOff>,
    /// Time kept free before every busy block, ISO 8601 (PT10M; PT0S: none, the default).
    #[arg(long)]
    pub buffer_before: Option<String>,
    /// Time kept free after every busy block, ISO 8601 (PT10M; PT0S: none, the default).
    #[arg(long)]
    pub buffer_after: Option<String>,
    /// The feed shows time outside working hours as busy, or free (the default).
    #[arg(long, value_enum)]
    pub feed_outside_hours: Option<OutsideHours>,
}

impl SettingsArgs {
    /// Whether any setting is given.
    pub fn any(&self) -> bool {
        self.timezone.is_some()
            || self.hours.is_some()
            || !self.hours_exceptions.is_empty()
            || self.all_day.is_some()
            || self.tentative.is_some()
            || self.travel_time.is_some()
            || self.buffer_before.is_some()
            || self.buffer_after.is_some()
            || self.feed_outside_hours.is_some()
    }
}

/// What `configure` will store.
pub(super) struct Plan {
    timezone: Option<chrono_tz::Tz>,
    settings: UserSettings,
}

fn buffer(flag: &str, v: &str) -> Result<u32, String> {
    ical::duration_seconds(v.trim())
        .and_then(|s| u32::try_from(s).ok())
        .filter(|s| *s <= MAX_BUFFER_SECS)
        .ok_or_else(|| format!("{flag} must be an ISO 8601 duration from PT0S to PT24H, not {v:?}"))
}

/// Checks every setting `args` gives against the user's current ones.
pub(super) fn plan(app: &App, who: &UserRef, args: &SettingsArgs) -> Result<Plan, String> {
    let mut s = app
        .store
        .user_settings(&who.tenant, &who.user)
        .map_err(|e| format!("storage failed: {e}"))?;
    let timezone = match &args.timezone {
        Some(z) => Some(z.trim().parse::<chrono_tz::Tz>().map_err(|_| {
            format!("--timezone {z:?} is not an IANA time zone (e.g. Europe/Berlin)")
        })?),
        None => None,
    };
    if let Some(h) = &args.hours {
        s.hours = if h.trim().eq_ignore_ascii_case("none") {
            None
        } else {
            let weekly = WorkingHours::parse_weekly(h).map_err(|e| format!("--hours: {e}"))?;
            if weekly.iter().all(Vec::is_empty) {
                return Err(
                    "--hours needs at least one rule such as 'Mon-Fri 09:00-17:00' (or none)"
                        .into(),
                );
            }
            let exceptions = s.hours.take().map(|h| h.exceptions).unwrap_or_default();
            Some(WorkingHours { weekly, exceptions })
        };
    }
    if !args.hours_exceptions.is_empty() {
        let Some(hours) = s.hours.as_mut() else {
            return Err(
                "--hours-exception changes working hours: set them with --hours first".into(),
            );
        };
        hours.exceptions.clear();
        for e in &args.hours_exceptions {
            if e.trim().eq_ignore_ascii_case("none") {
                continue;
            }
            let (dates, periods) = WorkingHours::parse_exception(e)
                .map_err(|err| format!("--hours-exception: {err}"))?;
            for d in dates {
                hours.exceptions.insert(d, periods.clone());
            }
        }
    }
    if let Some(a) = args.all_day {
        s.rules.all_day = a;
    }
    if let Some(t) = args.tentative {
        s.rules.tentative = t;
    }
    if let Some(t) = args.travel_time {
        s.rules.travel = t == OnOff::On;
    }
    if let Some(b) = &args.buffer_before {
        s.buffers.before = buffer("--buffer-before", b)?;
    }
    if let Some(b) = &args.buffer_after {
        s.buffers.after = buffer("--buffer-after", b)?;
    }
    if let Some(f) = args.feed_outside_hours {
        s.feed_outside_hours_busy = f == OutsideHours::Busy;
    }
    Ok(Plan {
        timezone,
        settings: s,
    })
}

/// Stores a plan and says what the settings now are.
pub(super) fn apply(
    app: &App,
    who: &UserRef,
    urec: &mut UserRecord,
    p: Plan,
) -> Result<String, String> {
    let storage = |e: crate::store::Error| format!("storage failed: {e}");
    if let Some(tz) = p.timezone {
        if urec.timezone != tz.name() {
            urec.timezone = tz.name().to_string();
            app.store
                .put_user(&who.tenant, &who.user, urec)
                .map_err(storage)?;
        }
    }
    app.store
        .put_user_settings(&who.tenant, &who.user, &p.settings)
        .map_err(storage)?;
    Ok(describe(&urec.timezone, &p.settings))
}

fn dur(secs: u32) -> String {
    ical::format_duration(i64::from(secs))
}

/// The settings in words, one line each (what `configure` prints).
pub fn describe(timezone: &str, s: &UserSettings) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "time zone {timezone}");
    match &s.hours {
        None => out.push_str("working hours none (every hour counts)\n"),
        Some(h) => {
            let _ = writeln!(out, "working hours {}", h.weekly_text());
            for e in h.exception_lines() {
                let _ = writeln!(out, "  except {e}");
            }
        }
    }
    let all_day = match s.rules.all_day {
        AllDay::Busy => "busy",
        AllDay::FreeUnlessOpaque => "free unless TRANSP:OPAQUE",
    };
    let tentative = match s.rules.tentative {
        Tentative::BusyTentative => "busy-tentative",
        Tentative::Busy => "busy",
        Tentative::Free => "free",
    };
    let _ = writeln!(out, "all-day events {all_day}");
    let _ = writeln!(out, "tentative and unanswered invitations {tentative}");
    let _ = writeln!(
        out,
        "travel time {}",
        if s.rules.travel { "busy" } else { "ignored" }
    );
    let Buffers { before, after } = s.buffers;
    let _ = writeln!(
        out,
        "buffers {} before, {} after every busy block",
        dur(before),
        dur(after)
    );
    let _ = writeln!(
        out,
        "feed: time outside working hours is {}",
        if s.feed_outside_hours_busy {
            "busy"
        } else {
            "free"
        }
    );
    out
}
