//! The page frame every console page shares (document head, skip link,
//! navigation, sign-out form), the context a page is rendered in (who,
//! which time zone, the CSRF token), answers with the console's security
//! headers, and small rendering helpers (times, error pages).

use bytes::Bytes;
use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use hyper::header::{self, HeaderName};
use hyper::StatusCode;
use maud::{html, Markup, DOCTYPE};

use crate::route::{self, Page};
use crate::state::App;

use super::session::{Session, Viewer};

/// What the console answers: status, headers, body.
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status.
    pub status: StatusCode,
    /// Headers.
    pub headers: Vec<(HeaderName, String)>,
    /// Body.
    pub body: Bytes,
}

/// The policy every console answer carries: own scripts and styles only
/// (inline `style` attributes place the week view's blocks), no framing,
/// forms only to the console itself, no referrer to other sites.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

impl Answer {
    /// A body with a content type and the console's security headers.
    pub fn new(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Self {
        Self {
            status,
            headers: vec![
                (header::CONTENT_TYPE, content_type.to_string()),
                (header::CONTENT_SECURITY_POLICY, CSP.to_string()),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
                (header::X_FRAME_OPTIONS, "DENY".to_string()),
                (header::REFERRER_POLICY, "same-origin".to_string()),
                (header::CACHE_CONTROL, "no-store".to_string()),
            ],
            body: body.into(),
        }
    }

    /// An HTML page.
    pub fn html(status: StatusCode, page: Markup) -> Self {
        Self::new(status, "text/html; charset=utf-8", page.into_string())
    }

    /// JSON.
    pub fn json(value: &serde_json::Value) -> Self {
        Self::new(StatusCode::OK, "application/json", value.to_string())
    }

    /// 303 See Other to a console path.
    pub fn redirect(location: &str) -> Self {
        Self::new(StatusCode::SEE_OTHER, "text/plain; charset=utf-8", "")
            .header(header::LOCATION, location)
    }

    /// Adds a header.
    pub fn header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// Everything a signed-in page is rendered with.
pub struct Ctx<'a> {
    /// The shared state.
    pub app: &'a App,
    /// The session.
    pub session: &'a Session,
    /// Who is signed in.
    pub viewer: Viewer,
    /// The time zone times are shown in.
    pub tz: Tz,
    /// Now.
    pub now: DateTime<Utc>,
    /// `http(s)://host:port` as the browser reached us.
    pub base: String,
}

/// A time zone by IANA name.
pub fn zone(name: &str) -> Option<Tz> {
    name.parse().ok()
}

impl<'a> Ctx<'a> {
    /// The context of a request: the browser's zone when its script
    /// reported one, else the user's zone, else UTC.
    pub fn new(app: &'a App, session: &'a Session, host: Option<&str>) -> Self {
        let viewer = session.viewer();
        let user_tz = match &viewer {
            Viewer::User(u) => app
                .store
                .user(&u.tenant, &u.user)
                .ok()
                .flatten()
                .and_then(|r| zone(&r.timezone)),
            Viewer::Admin(_) => None,
        };
        let tz = session
            .rec
            .display_tz
            .as_deref()
            .and_then(zone)
            .or(user_tz)
            .unwrap_or(chrono_tz::UTC);
        Self {
            app,
            session,
            viewer,
            tz,
            now: Utc::now(),
            base: base_url(app, host),
        }
    }

    /// A time in the viewer's zone, as a `<time>` element.
    pub fn time(&self, t: DateTime<Utc>) -> Markup {
        let local = t.with_timezone(&self.tz);
        html! {
            time datetime=(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)) {
                (local.format("%Y-%m-%d %H:%M"))
            }
        }
    }

    /// A unix time (seconds) in the viewer's zone, or "never".
    pub fn unix(&self, secs: Option<i64>) -> Markup {
        match secs.and_then(|s| Utc.timestamp_opt(s, 0).single()) {
            Some(t) => self.time(t),
            None => html! { "never" },
        }
    }

    /// The hidden CSRF field every form carries.
    pub fn csrf(&self) -> Markup {
        html! { input type="hidden" name="csrf" value=(self.session.csrf()); }
    }
}

/// The address the browser used, for URLs to copy (feed, CalDAV).
fn base_url(app: &App, host: Option<&str>) -> String {
    let scheme = if app.config.tls_dir.is_some() {
        "https"
    } else {
        "http"
    };
    let host = host
        .filter(|h| {
            !h.is_empty()
                && h.len() < 256
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .map(str::to_string)
        .unwrap_or_else(|| app.config.listen.to_string());
    format!("{scheme}://{host}")
}

/// Which navigation entry a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// Connections.
    Connections,
    /// Calendar configuration.
    Calendars,
    /// Availability.
    Availability,
    /// Traffic (admins).
    Traffic,
    /// Status.
    Status,
}

fn nav_items(viewer: &Viewer) -> Vec<(Nav, Page, &'static str)> {
    let mut v = vec![(Nav::Connections, Page::Connections, "Connections")];
    match viewer {
        Viewer::User(_) => {
            v.push((Nav::Calendars, Page::Calendars, "Calendars"));
            v.push((Nav::Availability, Page::Availability, "Availability"));
        }
        Viewer::Admin(_) => v.push((Nav::Traffic, Page::Traffic, "Traffic")),
    }
    v.push((Nav::Status, Page::Status, "Status"));
    v
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · calproxy" }
            link rel="icon" href="data:,";
            link rel="stylesheet" href=(route::page(&Page::Asset(route::Asset::Css)).as_str());
            script src=(route::page(&Page::Asset(route::Asset::Js)).as_str()) defer {}
        }
    }
}

/// A whole page for a signed-in viewer.
pub fn layout(ctx: &Ctx<'_>, title: &str, active: Nav, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a class="skip" href="#main" { "Skip to content" }
                header class="top" {
                    span class="brand" { "calproxy" }
                    nav aria-label="Console" {
                        ul {
                            @for (nav, page, label) in nav_items(&ctx.viewer) {
                                li {
                                    @if nav == active {
                                        a href=(route::page(&page).as_str()) aria-current="page" { (label) }
                                    } @else {
                                        a href=(route::page(&page).as_str()) { (label) }
                                    }
                                }
                            }
                        }
                    }
                    form class="signout" method="post" action=(route::page(&Page::SignOut).as_str()) {
                        span class="who" { (ctx.viewer.name()) }
                        " "
                        span class="tz" title="Times are shown in this time zone" { (ctx.tz.name()) }
                        " "
                        (ctx.csrf())
                        button type="submit" { "Sign out" }
                    }
                }
                main id="main" tabindex="-1" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A page for nobody signed in (sign-in, errors before sign-in).
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body class="bare" {
                main id="main" {
                    p class="brand" { "calproxy" }
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A message box: `ok` green, else red; text kept as written (line breaks shown).
pub fn outcome(ok: bool, text: &str) -> Markup {
    html! {
        div class=(if ok { "outcome ok" } else { "outcome fail" }) role=(if ok { "status" } else { "alert" }) {
            pre { (text.trim_end()) }
        }
    }
}

/// An error page with a way back.
pub fn error(status: StatusCode, title: &str, text: &str) -> Answer {
    Answer::html(
        status,
        bare(
            title,
            html! {
                p { (text) }
                p { a href="/" { "Back to the console" } }
            },
        ),
    )
}

/// 404 for what a viewer may not see (the same answer as for what does not exist).
pub fn not_found() -> Answer {
    error(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no such page, or it is not yours to see.",
    )
}
