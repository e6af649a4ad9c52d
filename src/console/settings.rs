//! The Working hours and Busy rules cards of the Calendar configuration
//! panel (issue 13 #2, #3): what is set, each in one line of meaning, and
//! the fields of their edit forms. Saving is `calproxy configure` with
//! these settings only (the calendar choice stays as it is), so the same
//! checks and messages apply.

use maud::{html, Markup};

use crate::admin::{OnOff, OutsideHours, SettingsArgs};
use crate::ical::{self, AllDay, Tentative};
use crate::store::UserSettings;

use super::form::Form;

fn minutes(secs: u32) -> u32 {
    secs / 60
}

fn all_day_meaning(a: AllDay) -> &'static str {
    match a {
        AllDay::Busy => "all-day events make you busy all day, unless marked free",
        AllDay::FreeUnlessOpaque => {
            "all-day events (birthdays, holidays) leave the day open, unless marked busy (TRANSP:OPAQUE)"
        }
    }
}

fn tentative_meaning(t: Tentative) -> &'static str {
    match t {
        Tentative::BusyTentative => {
            "tentative and unanswered invitations block time, shown as tentative in free-busy"
        }
        Tentative::Busy => "tentative and unanswered invitations block time like accepted ones",
        Tentative::Free => "tentative and unanswered invitations leave the time open",
    }
}

/// The two cards of the panel.
pub fn cards(s: &UserSettings, timezone: &str, edit_href: impl Fn(&str) -> String) -> Markup {
    html! {
        section class="card" aria-labelledby="hours-h" {
            h2 id="hours-h" { "Working hours" }
            @match &s.hours {
                Some(h) => {
                    p class="choice" { (h.weekly_text()) " (" (timezone) ")" }
                    @for e in h.exception_lines() { p class="meaning" { "Except " (e) } }
                    p class="meaning" { "Free slots are offered only inside these hours." }
                }
                None => p class="meaning" { "None: free slots may be offered at any hour (" (timezone) ")." },
            }
            p class="meaning" {
                @if s.feed_outside_hours_busy {
                    "Your feed shows the time outside working hours as busy; availability and free-busy show only busy time."
                } @else {
                    "Your feed, availability and free-busy show only busy time."
                }
            }
            a class="button" href=(edit_href("hours")) { "Edit working hours" }
        }
        section class="card" aria-labelledby="rules-h" {
            h2 id="rules-h" { "Busy rules" }
            ul class="choices" {
                li { (all_day_meaning(s.rules.all_day)) }
                li { (tentative_meaning(s.rules.tentative)) }
                li { @if s.rules.travel { "Apple travel time before and after events is busy" } @else { "Apple travel time is ignored" } }
                li {
                    @if s.buffers.is_none() { "no buffer around busy blocks" }
                    @else { (minutes(s.buffers.before)) " minutes before and " (minutes(s.buffers.after)) " minutes after every busy block are kept free" }
                }
            }
            a class="button" href=(edit_href("rules")) { "Edit busy rules" }
        }
    }
}

/// The fields of the working-hours form.
pub fn hours_fields(s: &UserSettings, timezone: &str) -> Markup {
    let weekly = s
        .hours
        .as_ref()
        .map(|h| h.weekly_text())
        .unwrap_or_default();
    let exceptions = s
        .hours
        .as_ref()
        .map(|h| h.exception_lines().join("\n"))
        .unwrap_or_default();
    html! {
        fieldset {
            legend { "Working hours: free slots are offered only inside them" }
            p { label for="timezone" { "Time zone (IANA)" } br; input id="timezone" name="timezone" type="text" value=(timezone) required; }
            p {
                label for="hours" { "Weekly hours, e.g. " code { "Mon-Fri 09:00-12:00,13:00-17:00; Sat 10:00-12:00" } " (empty: none)" }
                br; input id="hours" name="hours" type="text" value=(weekly) size="50";
            }
            p {
                label for="exceptions" { "Exceptions, one per line, e.g. " code { "2026-12-24 off" } " or " code { "2026-12-27 10:00-14:00" } }
                br; textarea id="exceptions" name="exceptions" rows="4" cols="40" { (exceptions) }
            }
            p { label { input type="checkbox" name="feed_outside_hours" value="busy" checked[s.feed_outside_hours_busy]; " My feed shows the time outside working hours as busy" } }
        }
    }
}

/// The fields of the busy-rules form.
pub fn rules_fields(s: &UserSettings) -> Markup {
    html! {
        fieldset {
            legend { "All-day events" }
            @for (v, a) in [("busy", AllDay::Busy), ("free-unless-opaque", AllDay::FreeUnlessOpaque)] {
                p { label { input type="radio" name="all_day" value=(v) checked[s.rules.all_day == a]; " " (all_day_meaning(a)) } }
            }
        }
        fieldset {
            legend { "Tentative and unanswered invitations" }
            @for (v, t) in [("busy-tentative", Tentative::BusyTentative), ("busy", Tentative::Busy), ("free", Tentative::Free)] {
                p { label { input type="radio" name="tentative" value=(v) checked[s.rules.tentative == t]; " " (tentative_meaning(t)) } }
            }
        }
        fieldset {
            legend { "Travel time and buffers" }
            p { label { input type="checkbox" name="travel" value="on" checked[s.rules.travel]; " Apple travel time before and after events is busy" } }
            p {
                label for="buffer_before" { "Minutes kept free before every busy block" }
                " " input id="buffer_before" name="buffer_before" type="number" min="0" max="1440" value=(minutes(s.buffers.before));
            }
            p {
                label for="buffer_after" { "Minutes kept free after every busy block" }
                " " input id="buffer_after" name="buffer_after" type="number" min="0" max="1440" value=(minutes(s.buffers.after));
            }
        }
    }
}

fn minutes_field(form: &Form, name: &str) -> String {
    // Minutes as typed; anything else is passed on for `configure` to refuse.
    let v = form.get(name).unwrap_or("0").trim();
    match v.parse::<i64>() {
        Ok(m) => ical::format_duration(m.saturating_mul(60)),
        Err(_) => v.to_string(),
    }
}

/// The settings a submitted section sets.
pub fn args(section: &str, form: &Form) -> SettingsArgs {
    let mut a = SettingsArgs::default();
    match section {
        "hours" => {
            a.timezone = form.text("timezone").map(str::to_string);
            let weekly = form.text("hours").map(str::trim).unwrap_or("");
            if weekly.is_empty() {
                a.hours = Some("none".into());
            } else {
                a.hours = Some(weekly.to_string());
                let lines: Vec<String> = form
                    .get("exceptions")
                    .unwrap_or("")
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_string)
                    .collect();
                a.hours_exceptions = if lines.is_empty() {
                    vec!["none".into()]
                } else {
                    lines
                };
            }
            a.feed_outside_hours = Some(if form.get("feed_outside_hours") == Some("busy") {
                OutsideHours::Busy
            } else {
                OutsideHours::Free
            });
        }
        "rules" => {
            a.all_day = Some(match form.get("all_day") {
                Some("free-unless-opaque") => AllDay::FreeUnlessOpaque,
                _ => AllDay::Busy,
            });
            a.tentative = Some(match form.get("tentative") {
                Some("busy") => Tentative::Busy,
                Some("free") => Tentative::Free,
                _ => Tentative::BusyTentative,
            });
            a.travel_time = Some(if form.get("travel") == Some("on") {
                OnOff::On
            } else {
                OnOff::Off
            });
            a.buffer_before = Some(minutes_field(form, "buffer_before"));
            a.buffer_after = Some(minutes_field(form, "buffer_after"));
        }
        _ => {}
    }
    a
}
