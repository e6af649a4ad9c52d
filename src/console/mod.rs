//! THE WEB CONSOLE: server-rendered pages at `/` and below (DESIGN.md,
//! "Local URL layout") for what the CLI does: connections, calendar
//! configuration, availability, traffic (admins) and status.
//!
//! A thin face over `admin`: every form that changes something builds an
//! `admin::Request` with the signed-in user's own ids and runs
//! `admin::execute`, the one place that decides what a command means; the
//! panels read the typed queries of `admin::overview`, `views`,
//! `traffic::query`. Nothing here re-implements a command.
//!
//! [`handle`] is the console's one entry (called from `handlers::dispatch`):
//! it serves the embedded assets, finds the session (`session`), refuses
//! cross-site and CSRF-less POSTs before anything runs, signs people in
//! and out (`signin`, throttled by `throttle`) and hands each page to its
//! panel module. Authorization is per panel: a tenant user only ever
//! names their own tenant and user (taken from the session, never from
//! the form) and sees only connections attached to their tenant; a local
//! admin sees every connection and the traffic.
//!
//! A form that fails validation (a wrong password, a refused choice) is
//! shown again with the reason and answers 200, as a browser expects of a
//! page; refusals of the request itself are 403 (CSRF, cross-site), 404
//! (not yours), 405 and 429 (the sign-in throttle).
//!
//! Uses `admin`, `views`, `traffic`, `store`, `state`, `route`, `accounts`,
//! `crypto`, `ids`; used by `handlers` only.

mod assets;
mod availability;
mod calendars;
mod connection_forms;
mod connection_new;
mod connections;
mod form;
mod page;
mod session;
mod settings;
mod signin;
mod status;
mod throttle;
mod traffic;
mod week;

use std::net::IpAddr;

use bytes::Bytes;
use hyper::{HeaderMap, Method, StatusCode};

use crate::route::Page;
use crate::state::App;

pub use page::Answer;
pub use session::COOKIE;

use form::Form;
use page::Ctx;
use session::Viewer;

/// One console request, as the transport received it.
#[derive(Debug)]
pub struct Request {
    /// Which page.
    pub page: Page,
    /// GET, HEAD or POST (anything else is 405).
    pub method: Method,
    /// The query string.
    pub query: Option<String>,
    /// Every `Cookie` header, joined.
    pub cookies: Option<String>,
    /// `Host`.
    pub host: Option<String>,
    /// `Origin` (browsers send it on POST).
    pub origin: Option<String>,
    /// `Sec-Fetch-Site`.
    pub fetch_site: Option<String>,
    /// The body (forms).
    pub body: Bytes,
    /// The peer's address (the sign-in throttle), set by the transport.
    pub peer: Option<IpAddr>,
}

impl Request {
    /// Takes what the console reads from a request.
    pub fn new(
        page: Page,
        method: &Method,
        headers: &HeaderMap,
        query: Option<&str>,
        body: Bytes,
    ) -> Self {
        let text = |name: hyper::header::HeaderName| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let cookies: Vec<&str> = headers
            .get_all(hyper::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        Self {
            page,
            method: method.clone(),
            query: query.map(str::to_string),
            cookies: (!cookies.is_empty()).then(|| cookies.join("; ")),
            host: text(hyper::header::HOST),
            origin: text(hyper::header::ORIGIN),
            fetch_site: text(hyper::header::HeaderName::from_static("sec-fetch-site")),
            body,
            peer: None,
        }
    }

    fn query(&self) -> Form {
        Form::parse(self.query.as_deref().unwrap_or(""))
    }

    fn is_post(&self) -> bool {
        self.method == Method::POST
    }

    /// A POST a browser made from another site: refused before anything runs.
    fn cross_site(&self) -> bool {
        if self.fetch_site.as_deref() == Some("cross-site") {
            return true;
        }
        // `Origin: null` (privacy-sensitive contexts) says nothing either way:
        // Sec-Fetch-Site above and the CSRF token decide.
        match (self.origin.as_deref().filter(|o| *o != "null"), &self.host) {
            (Some(origin), Some(host)) => {
                let o = origin.split_once("://").map_or(origin, |(_, rest)| rest);
                !o.eq_ignore_ascii_case(host)
            }
            (Some(_), None) => true,
            (None, _) => false,
        }
    }
}

/// The tenant user signed in to the console by the session a `Cookie`
/// header names, if any: the JSON API (`/api/…`) accepts it in place of
/// Basic auth. An admin's session names no tenant user.
pub fn session_user(app: &App, cookies: Option<&str>) -> Option<crate::ids::UserRef> {
    let now = chrono::Utc::now().timestamp();
    match session::current(app, cookies, now)?.viewer() {
        Viewer::User(u) => Some(u),
        Viewer::Admin(_) => None,
    }
}

fn json_page(page: &Page) -> bool {
    matches!(page, Page::Progress | Page::TrafficRows)
}

/// Answers one console request.
pub async fn handle(app: &App, req: Request) -> Answer {
    if let Page::Asset(a) = req.page {
        return assets::serve(a);
    }
    if !matches!(req.method, Method::GET | Method::HEAD | Method::POST) {
        return page::error(
            StatusCode::METHOD_NOT_ALLOWED,
            "Method not allowed",
            "The console answers GET and POST.",
        )
        .header(hyper::header::ALLOW, "GET, HEAD, POST");
    }
    let now = chrono::Utc::now().timestamp();
    let session = session::current(app, req.cookies.as_deref(), now);
    if req.is_post() && req.cross_site() {
        return page::error(
            StatusCode::FORBIDDEN,
            "Refused",
            "This form was sent from another site. Nothing was changed.",
        );
    }
    let form = if req.is_post() {
        match Form::from_body(&req.body) {
            Some(f) => f,
            None => {
                return page::error(
                    StatusCode::BAD_REQUEST,
                    "Bad form",
                    "The form could not be read. Nothing was changed.",
                )
            }
        }
    } else {
        Form::default()
    };
    if req.page == Page::SignIn {
        return signin::sign_in(app, &req, session.as_ref(), &form).await;
    }
    let Some(session) = session else {
        return if req.is_post() {
            page::error(
                StatusCode::FORBIDDEN,
                "Signed out",
                "Your session has ended. Sign in again; nothing was changed.",
            )
        } else if json_page(&req.page) {
            Answer::new(
                StatusCode::UNAUTHORIZED,
                "application/json",
                "{\"error\":\"sign in\"}",
            )
        } else {
            Answer::redirect(crate::route::page(&Page::SignIn).as_str())
        };
    };
    if req.is_post() && !session.csrf_ok(&form) {
        return page::error(
            StatusCode::FORBIDDEN,
            "Refused",
            "The form did not carry this session's security token (it may be stale, or from \
             elsewhere). Nothing was changed; reload the page and try again.",
        );
    }
    let ctx = Ctx::new(app, &session, req.host.as_deref());
    route_page(&ctx, &req, &form).await
}

async fn route_page(ctx: &Ctx<'_>, req: &Request, form: &Form) -> Answer {
    let post = req.is_post();
    let get_only = |a: Answer| {
        if post {
            page::error(
                StatusCode::METHOD_NOT_ALLOWED,
                "Method not allowed",
                "This page is read with GET.",
            )
            .header(hyper::header::ALLOW, "GET, HEAD")
        } else {
            a
        }
    };
    let user = match &ctx.viewer {
        Viewer::User(u) => Some(u.clone()),
        Viewer::Admin(_) => None,
    };
    match (&req.page, user) {
        (Page::Home, _) => get_only(Answer::redirect(
            crate::route::page(&Page::Connections).as_str(),
        )),
        (Page::SignOut, _) if post => signin::sign_out(ctx),
        (Page::Connections, _) if !post => connections::list(ctx, None),
        (Page::Progress, _) if !post => connections::progress_json(ctx),
        (Page::AddConnection, _) => connections::add(ctx, post.then_some(form)).await,
        (Page::AddFeed, _) => connections::add_feed(ctx, post.then_some(form)).await,
        (Page::Connection { id, action }, _) => {
            connections::act(ctx, id, *action, post.then_some(form)).await
        }
        (Page::Calendars, Some(u)) => calendars::page(ctx, &u, req, post.then_some(form)).await,
        (Page::Availability, Some(u)) if !post => availability::page(ctx, &u, &req.query(), None),
        (Page::Feed, Some(u)) if post => availability::feed(ctx, &u, form).await,
        (Page::Traffic | Page::TrafficRows | Page::TrafficEntry(_) | Page::TrafficHar, _)
            if !ctx.viewer.is_admin() =>
        {
            page::error(
                StatusCode::FORBIDDEN,
                "Admins only",
                "Recorded traffic is for local admins.",
            )
        }
        (Page::Traffic, None) if !post => traffic::list(ctx, &req.query()),
        (Page::TrafficRows, None) if !post => traffic::rows(ctx, &req.query()),
        (Page::TrafficEntry(id), None) if !post => traffic::entry(ctx, *id),
        (Page::TrafficHar, None) if !post => traffic::har(ctx, &req.query()),
        (Page::Status, _) if !post => status::page(ctx),
        (Page::Calendars | Page::Availability | Page::Feed, None) => page::not_found(),
        (
            Page::SignOut
            | Page::Connections
            | Page::Progress
            | Page::Availability
            | Page::Feed
            | Page::Traffic
            | Page::TrafficRows
            | Page::TrafficEntry(_)
            | Page::TrafficHar
            | Page::Status,
            _,
        ) => page::error(
            StatusCode::METHOD_NOT_ALLOWED,
            "Method not allowed",
            "This page does not take that method.",
        ),
        (Page::SignIn | Page::Asset(_), _) => page::not_found(),
    }
}
