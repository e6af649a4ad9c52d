//! The Availability panel: a week (previous / today / next) of the user's
//! merged busy time from `views`, tentative time drawn apart from busy
//! time; each block is a link that opens "why busy" (the sources
//! `views::why_busy` names, as `calproxy busy` and the busy API show
//! them). Below: the secret feed URL with a copy button and "Rotate"
//! (`feed rotate`: the old URL answers 404 at once), and the CalDAV URLs
//! to paste into Apple Calendar, Thunderbird and DAVx⁵.

use chrono::{Duration, NaiveDate};
use hyper::StatusCode;
use maud::{html, Markup};

use crate::admin::{self, FeedCommand, UserArgs};
use crate::ids::UserRef;
use crate::route::{self, Page};
use crate::views::explain::Explained;

use super::form::Form;
use super::page::{self, Answer, Ctx, Nav};
use super::week::{self, Block, DAY_MINUTES};

const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

fn week_href(monday: NaiveDate, block: Option<usize>) -> String {
    let mut h = format!("{}?week={monday}", route::page(&Page::Availability));
    if let Some(b) = block {
        h.push_str(&format!("&block={b}#why"));
    }
    h
}

fn copyable(id: &str, label: &str, value: &str) -> Markup {
    html! {
        p class="copy" {
            label for=(id) { (label) }
            input id=(id) type="text" readonly value=(value);
            button type="button" data-copy=(id) { "Copy" }
        }
    }
}

fn grid(ctx: &Ctx<'_>, monday: NaiveDate, items: &[Explained], blocks: &[Block]) -> Markup {
    let hours = (0..24).step_by(3);
    html! {
        div class="week" {
            div class="hours" aria-hidden="true" {
                div class="dayhead" {}
                div class="col" {
                    @for h in hours.clone() {
                        span class="hour" style=(format!("top:{:.3}%", h as f64 * 100.0 / 24.0)) { (format!("{h:02}:00")) }
                    }
                }
            }
            @for (i, name) in DAYS.iter().enumerate() {
                @let date = monday + Duration::days(i as i64);
                section class="day" aria-label=(format!("{name} {}", date.format("%-d %B"))) {
                    h3 class="dayhead" { (&name[..3]) " " (date.format("%-d")) }
                    div class="col" {
                        @for b in blocks.iter().filter(|b| b.day == i) {
                            @let e = &items[b.item];
                            @let local = |m: i64| format!("{:02}:{:02}", m / 60, m % 60);
                            a class=(format!("block {}", e.kind))
                                href=(week_href(monday, Some(b.item)))
                                style=(format!("top:{:.3}%;height:{:.3}%", b.from as f64 * 100.0 / DAY_MINUTES as f64, (b.to - b.from) as f64 * 100.0 / DAY_MINUTES as f64))
                                aria-label=(format!("{} {}–{} {name}: show why", e.kind, local(b.from), local(b.to)))
                                data-item=(b.item) {
                                span { (local(b.from)) " " (e.kind) }
                            }
                        }
                    }
                }
            }
        }
        p class="legend" {
            span class="block busy sample" aria-hidden="true" {} " busy "
            span class="block tentative sample" aria-hidden="true" {} " tentative (an unanswered or tentative invitation) · times in " (ctx.tz.name())
        }
    }
}

fn why(ctx: &Ctx<'_>, monday: NaiveDate, e: &Explained) -> Markup {
    html! {
        section class="card why" id="why" aria-labelledby="why-h" tabindex="-1" {
            h2 id="why-h" { "Why busy: " (ctx.time(e.start)) " – " (ctx.time(e.end)) }
            p { "This time is " strong { (e.kind) } " because of:" }
            ul {
                @for s in &e.sources {
                    li {
                        @if let Some(member) = s.calendar.strip_prefix("user:") {
                            "team member " strong { (member) } "'s busy time"
                        } @else {
                            @if let Some(sum) = &s.summary { strong { (sum) } " " }
                            "in " code { (s.calendar) "/" }
                            @if let Some(o) = &s.object { " (" code { (o) } ")" }
                        }
                    }
                }
            }
            a href=(week_href(monday, None)) { "Close" }
        }
    }
}

fn feed_section(ctx: &Ctx<'_>, user: &UserRef) -> Markup {
    let token = ctx
        .app
        .store
        .user(&user.tenant, &user.user)
        .ok()
        .flatten()
        .and_then(|u| u.feed_token)
        .and_then(|sealed| ctx.app.store.open_feed_token(&sealed).ok());
    let action = route::page(&Page::Feed);
    html! {
        section class="card" aria-labelledby="feed-h" {
            h2 id="feed-h" { "Availability feed" }
            p { "A secret address of your busy time (iCalendar) for scheduling tools that subscribe to a calendar. Anyone with the address can read your busy time, nothing else." }
            @match token {
                Some(t) => {
                    (copyable("feed-url", "Feed URL", &format!("{}{}", ctx.base, route::feed(&t))))
                    form method="post" action=(action.as_str()) {
                        (ctx.csrf())
                        input type="hidden" name="op" value="rotate";
                        button type="submit" class="danger" { "Rotate" }
                        " " span class="help" { "Makes a new address; the old one stops working at once." }
                    }
                }
                None => form method="post" action=(action.as_str()) {
                    (ctx.csrf())
                    input type="hidden" name="op" value="create";
                    button type="submit" { "Create feed URL" }
                },
            }
        }
    }
}

fn caldav_section(ctx: &Ctx<'_>, user: &UserRef) -> Markup {
    let home = format!("{}{}", ctx.base, route::home(user));
    let root = format!("{}{}", ctx.base, route::root());
    let host = ctx
        .base
        .split_once("://")
        .map_or(ctx.base.as_str(), |(_, h)| h)
        .to_string();
    html! {
        section class="card" aria-labelledby="caldav-h" {
            h2 id="caldav-h" { "Use calproxy in a calendar app" }
            p { "Sign in with " strong { (user.to_string()) } " and your calproxy password." }
            h3 { "Apple Calendar" }
            p { "Settings > Accounts > + > Other CalDAV Account, account type Manual:" }
            (copyable("apple-server", "Server address", &host))
            (copyable("apple-path", "Server path", route::home(user).as_str()))
            h3 { "Thunderbird" }
            p { "New Calendar > On the Network; it finds your calendars at:" }
            (copyable("tb-url", "Location", &home))
            h3 { "DAVx⁵" }
            p { "Add account > Login with URL and user name:" }
            (copyable("davx-url", "Base URL", &root))
        }
    }
}

/// `GET /availability?week=YYYY-MM-DD&block=N`.
pub fn page(ctx: &Ctx<'_>, user: &UserRef, query: &Form, outcome: Option<(bool, &str)>) -> Answer {
    let today = ctx.now.with_timezone(&ctx.tz).date_naive();
    let monday = week::monday(
        query
            .get("week")
            .and_then(|w| NaiveDate::parse_from_str(w, "%Y-%m-%d").ok())
            .unwrap_or(today),
    );
    let items = match ctx.app.views.why_busy(
        user,
        week::range(ctx.tz, monday),
        Some(&ctx.app.expansion_budget()),
    ) {
        Ok(i) => i,
        Err(e) => {
            tracing::error!(error = %e, "console: cannot read busy time");
            return page::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Storage failed",
                "calproxy could not read busy time. See its log.",
            );
        }
    };
    let spans: Vec<_> = items.iter().map(|e| (e.start, e.end)).collect();
    let blocks = week::blocks(ctx.tz, monday, &spans);
    let selected = query
        .get("block")
        .and_then(|b| b.parse::<usize>().ok())
        .and_then(|i| items.get(i));
    let body = html! {
        @if let Some((ok, text)) = outcome { (page::outcome(ok, text)) }
        nav class="weeknav" aria-label="Week" {
            a href=(week_href(monday - Duration::days(7), None)) rel="prev" { "← Previous week" }
            a href=(week_href(week::monday(today), None)) { "Today" }
            a href=(week_href(monday + Duration::days(7), None)) rel="next" { "Next week →" }
        }
        h2 { "Week of " (monday.format("%-d %B %Y")) }
        @if items.is_empty() { p { "Free all week." } }
        (grid(ctx, monday, &items, &blocks))
        @if let Some(e) = selected { (why(ctx, monday, e)) }
        (feed_section(ctx, user))
        (caldav_section(ctx, user))
    };
    Answer::html(
        StatusCode::OK,
        page::layout(ctx, "Availability", Nav::Availability, body),
    )
}

/// `POST /availability/feed`: `op=create` is `feed show`, `op=rotate` is `feed rotate`.
pub async fn feed(ctx: &Ctx<'_>, user: &UserRef, form: &Form) -> Answer {
    let who = UserArgs {
        tenant: user.tenant.clone(),
        user: user.user.clone(),
    };
    let (cmd, done) = match form.get("op") {
        Some("rotate") => (
            FeedCommand::Rotate(who),
            "The feed has a new address; the old one no longer works.",
        ),
        _ => (FeedCommand::Show(who), "Your feed address is ready."),
    };
    let r = admin::execute(ctx.app, admin::Request::Feed(cmd)).await;
    let text = if r.ok { done.to_string() } else { r.output };
    page(ctx, user, &Form::default(), Some((r.ok, &text)))
}
