//! The Calendar configuration panel: the primary linked calendar (one
//! writable calendar of the user's connections), the conflict calendars
//! (several, across connections, plus other users of the same tenant: R7),
//! the privacy level (R5), and the working hours and busy rules (issue 13,
//! `settings`), each with one line saying what it means.
//!
//! Saving is exactly `calproxy configure`: the form's section replaces
//! its part of the user's current choice, the rest is sent as it is (the
//! settings sections send only their settings, which leaves the calendar
//! choice alone), and `admin::execute` validates and applies it (its
//! messages are shown).

use hyper::StatusCode;
use maud::{html, Markup};

use crate::admin::overview::CalendarView;
use crate::admin::{self, ConfigureArgs, UserArgs};
use crate::ids::{UserId, UserRef};
use crate::route::{self, Page};
use crate::store::{Privacy, RemoteRef, UserLinks, UserSettings};

use super::connections::{swatch, visible};
use super::form::Form;
use super::page::{self, Answer, Ctx, Nav};
use super::settings;
use super::Request;

/// What the panel shows: the usable calendars and the current choice.
struct Model {
    calendars: Vec<(CalendarView, String)>,
    links: UserLinks,
    privacy: Privacy,
    team: Vec<UserId>,
    settings: UserSettings,
    timezone: String,
}

fn load(ctx: &Ctx<'_>, user: &UserRef) -> Result<Model, Answer> {
    let conns = visible(ctx)?;
    let storage = |e: crate::store::Error| {
        tracing::error!(error = %e, "console: cannot read the configuration");
        page::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Storage failed",
            "calproxy could not read its data directory. See its log.",
        )
    };
    let store = &ctx.app.store;
    let links = store.links(&user.tenant, &user.user).map_err(storage)?;
    let record = store.user(&user.tenant, &user.user).map_err(storage)?;
    let privacy = record.as_ref().map(|u| u.privacy).unwrap_or_default();
    let timezone = record.map_or_else(|| "UTC".to_string(), |u| u.timezone);
    let settings = store
        .user_settings(&user.tenant, &user.user)
        .map_err(storage)?;
    let team = store
        .users(&user.tenant)
        .map_err(storage)?
        .into_iter()
        .filter(|u| u != &user.user)
        .collect();
    let calendars = conns
        .into_iter()
        .flat_map(|c| {
            let apple_id = c.apple_id.clone();
            c.calendars
                .into_iter()
                .filter(|cal| cal.refusal.is_none())
                .map(move |cal| (cal, apple_id.clone()))
        })
        .collect();
    Ok(Model {
        calendars,
        links,
        privacy,
        team,
        settings,
        timezone,
    })
}

impl Model {
    fn name_of(&self, r: &RemoteRef) -> String {
        self.calendars
            .iter()
            .find(|(c, _)| c.connection == r.connection && c.id == r.calendar)
            .map_or_else(|| r.calendar.to_string(), |(c, _)| c.name.clone())
    }
}

fn qualified(r: &RemoteRef) -> String {
    format!("{}/{}", r.connection, r.calendar)
}

fn privacy_meaning(p: Privacy) -> &'static str {
    match p {
        Privacy::Full => "your own calendars keep the title, notes and location of iCloud events",
        Privacy::Summary => {
            "your own calendars keep the title of iCloud events; notes and location are dropped"
        }
        Privacy::Busy => "your own calendars show iCloud events only as “Busy”",
    }
}

fn privacy_name(p: Privacy) -> &'static str {
    match p {
        Privacy::Full => "full",
        Privacy::Summary => "summary",
        Privacy::Busy => "busy",
    }
}

fn label(cal: &CalendarView, apple_id: &str) -> Markup {
    html! {
        @if let Some(col) = &cal.color {
            span class="swatch" style=(format!("background:{}", swatch(col))) aria-hidden="true" {}
        }
        (cal.name) " " span class="id" { "(" (apple_id) ")" }
    }
}

fn edit_href(section: &str) -> String {
    format!("{}?edit={section}#edit", route::page(&Page::Calendars))
}

fn view(m: &Model) -> Markup {
    html! {
        section class="card" aria-labelledby="primary-h" {
            h2 id="primary-h" { "Primary calendar" }
            @match &m.links.primary {
                Some(p) => {
                    p class="choice" { (m.name_of(p)) }
                    p class="meaning" { "New events created here go to iCloud “" (m.name_of(p)) "”." }
                }
                None => p class="meaning" { "None: events you create through calproxy stay in calproxy." },
            }
            a class="button" href=(edit_href("primary")) { "Edit primary calendar" }
        }
        section class="card" aria-labelledby="conflicts-h" {
            h2 id="conflicts-h" { "Conflict calendars" }
            @if m.links.conflicts.is_empty() && m.links.conflict_users.is_empty() {
                p class="meaning" { "None: only your primary calendar and blocked slots make you busy." }
            }
            ul class="choices" {
                @for r in &m.links.conflicts {
                    li { "Busy time in “" (m.name_of(r)) "” blocks your availability." }
                }
                @for u in &m.links.conflict_users {
                    li { "Busy time of team member " strong { (u.as_str()) } " blocks your availability." }
                }
            }
            a class="button" href=(edit_href("conflicts")) { "Edit conflict calendars" }
        }
        section class="card" aria-labelledby="privacy-h" {
            h2 id="privacy-h" { "Privacy" }
            p class="choice" { (privacy_name(m.privacy)) }
            p class="meaning" { "Your own calendars: " (privacy_meaning(m.privacy)) ". Your availability always shows only “Busy”." }
            a class="button" href=(edit_href("privacy")) { "Edit privacy" }
        }
        (settings::cards(&m.settings, &m.timezone, edit_href))
    }
}

fn edit(ctx: &Ctx<'_>, m: &Model, section: &str) -> Markup {
    let primary = m.links.primary.as_ref().map(qualified);
    let conflicts: Vec<String> = m.links.conflicts.iter().map(qualified).collect();
    html! {
        form class="card" id="edit" method="post" action=(route::page(&Page::Calendars).as_str()) {
            (ctx.csrf())
            input type="hidden" name="section" value=(section);
            @match section {
                "primary" => fieldset {
                    legend { "Primary calendar: new events created in calproxy go to it" }
                    p { label { input type="radio" name="primary" value="" checked[primary.is_none()]; " None (keep new events in calproxy)" } }
                    @for (cal, apple) in m.calendars.iter().filter(|(c, _)| !c.read_only) {
                        p { label {
                            input type="radio" name="primary" value=(cal.qualified()) checked[primary.as_deref() == Some(cal.qualified().as_str())];
                            " " (label(cal, apple))
                        } }
                    }
                },
                "conflicts" => fieldset {
                    legend { "Conflict calendars: their busy time blocks your availability" }
                    @for (cal, apple) in &m.calendars {
                        p { label {
                            input type="checkbox" name="conflict" value=(cal.qualified()) checked[conflicts.contains(&cal.qualified())];
                            " " (label(cal, apple))
                        } }
                    }
                    @for u in &m.team {
                        p { label {
                            input type="checkbox" name="conflict_user" value=(u.as_str()) checked[m.links.conflict_users.contains(u)];
                            " Team member " (u.as_str())
                        } }
                    }
                    @if m.calendars.is_empty() && m.team.is_empty() {
                        p { "No calendars to choose: add a connection first." }
                    }
                },
                "hours" => (settings::hours_fields(&m.settings, &m.timezone)),
                "rules" => (settings::rules_fields(&m.settings)),
                _ => fieldset {
                    legend { "Privacy of iCloud events in your own calendars" }
                    @for p in [Privacy::Full, Privacy::Summary, Privacy::Busy] {
                        p { label {
                            input type="radio" name="privacy" value=(privacy_name(p)) checked[p == m.privacy];
                            " " strong { (privacy_name(p)) } ": " (privacy_meaning(p))
                        } }
                    }
                },
            }
            p {
                button type="submit" class="primary" { "Save" }
                " "
                a href=(route::page(&Page::Calendars).as_str()) { "Cancel" }
            }
        }
    }
}

/// The `configure` request a submitted section makes: that section from
/// the form, the rest as it is now.
fn configure(user: &UserRef, m: &Model, form: &Form) -> ConfigureArgs {
    let section = form.get("section").unwrap_or("");
    let mut args = ConfigureArgs {
        who: UserArgs {
            tenant: user.tenant.clone(),
            user: user.user.clone(),
        },
        primary: m.links.primary.as_ref().map(qualified),
        conflicts: m.links.conflicts.iter().map(qualified).collect(),
        conflict_users: m.links.conflict_users.clone(),
        privacy: None,
        settings: Default::default(),
    };
    match section {
        "primary" => args.primary = form.text("primary").map(str::to_string),
        "conflicts" => {
            args.conflicts = form
                .all("conflict")
                .into_iter()
                .map(str::to_string)
                .collect();
            // A name that is not an id is kept as typed: `configure` refuses it.
            args.conflict_users = form
                .all("conflict_user")
                .into_iter()
                .filter_map(|u| UserId::new(u).ok())
                .collect();
        }
        "privacy" => {
            args.privacy = match form.get("privacy") {
                Some("full") => Some(Privacy::Full),
                Some("busy") => Some(Privacy::Busy),
                _ => Some(Privacy::Summary),
            }
        }
        s @ ("hours" | "rules") => {
            // Settings only: `configure` leaves the calendar choice alone.
            args.primary = None;
            args.conflicts.clear();
            args.conflict_users.clear();
            args.settings = settings::args(s, form);
        }
        _ => {}
    }
    args
}

/// `GET|POST /calendars` (tenant users).
pub async fn page(ctx: &Ctx<'_>, user: &UserRef, req: &Request, form: Option<&Form>) -> Answer {
    let m = match load(ctx, user) {
        Ok(m) => m,
        Err(a) => return a,
    };
    let query = req.query();
    let Some(form) = form else {
        let body = match query.get("edit") {
            Some(s @ ("primary" | "conflicts" | "privacy" | "hours" | "rules")) => {
                html! { (view(&m)) (edit(ctx, &m, s)) }
            }
            _ => view(&m),
        };
        return Answer::html(
            StatusCode::OK,
            page::layout(ctx, "Calendar configuration", Nav::Calendars, body),
        );
    };
    let section = form.get("section").unwrap_or("primary").to_string();
    let r = admin::execute(
        ctx.app,
        admin::Request::Configure(configure(user, &m, form)),
    )
    .await;
    let body = if r.ok {
        let m = match load(ctx, user) {
            Ok(m) => m,
            Err(a) => return a,
        };
        html! { (page::outcome(true, &r.output)) (view(&m)) }
    } else {
        html! { (page::outcome(false, &r.output)) (view(&m)) (edit(ctx, &m, &section)) }
    };
    Answer::html(
        StatusCode::OK,
        page::layout(ctx, "Calendar configuration", Nav::Calendars, body),
    )
}
