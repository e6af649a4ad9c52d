//! Adding a connection from the console: "+ Add connection" (an Apple ID
//! and an app-specific password, optionally another CalDAV server) and
//! "+ Add ICS feed" (a feed URL and a name), each `admin::Request::Connect`
//! as `calproxy connect` runs it. A tenant user adds connections for
//! themselves; a local admin chooses the user a connection is for (any
//! tenant's, as `connect --tenant --user`). Neither the password nor the
//! feed URL is ever written back into a page, not even when the form
//! failed.

use hyper::StatusCode;
use maud::{html, Markup};

use crate::admin::{self, ConnectArgs, WirePassword};
use crate::ids::UserRef;
use crate::route::{self, Page};
use crate::secret::Secret;

use super::connection_forms::{password_field, sync_soon, who};
use super::connections::{list, visible};
use super::form::Form;
use super::page::{self, Answer, Ctx, Nav};
use super::session::Viewer;

/// The form field naming who a connection is for (admins only).
const FOR_FIELD: &str = "for";

/// Who may own a new connection: the signed-in user, or for an admin
/// every user of every tenant.
fn owners(ctx: &Ctx<'_>) -> Result<Vec<UserRef>, Answer> {
    match &ctx.viewer {
        Viewer::User(u) => Ok(vec![u.clone()]),
        Viewer::Admin(_) => admin::overview::users(ctx.app).map_err(|e| {
            page::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Storage error",
                &format!("calproxy could not read its users: {e}"),
            )
        }),
    }
}

/// An admin's choice of user (nothing for a tenant user, who is the owner).
fn owner_field(ctx: &Ctx<'_>, owners: &[UserRef], chosen: Option<&UserRef>) -> Markup {
    if !ctx.viewer.is_admin() {
        return html! {};
    }
    html! {
        p {
            label for="for" { "For user" }
            @if owners.is_empty() {
                span class="help" {
                    "No users yet: add one with " code { "calproxy user add" } " first."
                }
            } @else {
                select id="for" name=(FOR_FIELD) required aria-describedby="for-help" {
                    @for u in owners {
                        option value=(u.to_string()) selected[Some(u) == chosen] { (u.to_string()) }
                    }
                }
                span id="for-help" class="help" {
                    "The connection is attached to this user's tenant; its calendars become theirs to choose."
                }
            }
        }
    }
}

/// The owner a posted form names: the signed-in user, or the admin's
/// choice (which must be one of `owners`).
fn owner_from<'a>(ctx: &Ctx<'_>, owners: &'a [UserRef], form: &Form) -> Option<&'a UserRef> {
    match &ctx.viewer {
        Viewer::User(_) => owners.first(),
        Viewer::Admin(_) => {
            let named = form.get(FOR_FIELD)?;
            owners.iter().find(|u| u.to_string() == named)
        }
    }
}

/// What a failed or fresh form shows again.
struct Filled<'a> {
    owners: &'a [UserRef],
    owner: Option<&'a UserRef>,
    failure: Option<&'a str>,
}

impl<'a> Filled<'a> {
    /// A form not sent yet.
    fn fresh(owners: &'a [UserRef]) -> Self {
        Self {
            owners,
            owner: None,
            failure: None,
        }
    }
}

/// One of the add forms: the outcome of a failed try, then the form with
/// its CSRF field, the admin's choice of user, `fields`, and the buttons.
fn new_form(
    ctx: &Ctx<'_>,
    f: &Filled<'_>,
    to: &Page,
    title: &str,
    submit: &str,
    fields: Markup,
) -> Answer {
    let body = html! {
        @if let Some(text) = f.failure { (page::outcome(false, text)) }
        form class="card" method="post" action=(route::page(to).as_str()) {
            (ctx.csrf())
            (owner_field(ctx, f.owners, f.owner))
            (fields)
            p {
                button type="submit" class="primary" { (submit) }
                " "
                a href=(route::page(&Page::Connections).as_str()) { "Cancel" }
            }
        }
    };
    Answer::html(
        StatusCode::OK,
        page::layout(ctx, title, Nav::Connections, body),
    )
}

fn add_form(ctx: &Ctx<'_>, f: &Filled<'_>, apple_id: &str, upstream: &str) -> Answer {
    let fields = html! {
        p {
            label for="apple_id" { "Apple ID" }
            input id="apple_id" name="apple_id" type="email" autocomplete="username"
                required value=(apple_id);
        }
        (password_field("App-specific password"))
        p {
            label for="upstream" { "Server (optional)" }
            input id="upstream" name="upstream" type="url" value=(upstream)
                placeholder=(admin::ICLOUD) aria-describedby="upstream-help";
            span id="upstream-help" class="help" { "Leave empty for iCloud; another CalDAV server's URL otherwise." }
        }
    };
    new_form(
        ctx,
        f,
        &Page::AddConnection,
        "Add connection",
        "Connect",
        fields,
    )
}

/// `GET|POST /connections/new`.
pub async fn add(ctx: &Ctx<'_>, form: Option<&Form>) -> Answer {
    let owners = match owners(ctx) {
        Ok(o) => o,
        Err(a) => return a,
    };
    let mut f = Filled::fresh(&owners);
    let Some(form) = form else {
        return add_form(ctx, &f, "", "");
    };
    let apple_id = form.text("apple_id").unwrap_or("").to_string();
    let upstream = form.text("upstream").unwrap_or("").to_string();
    let password = form.get("password").unwrap_or("");
    f.owner = owner_from(ctx, &owners, form);
    let Some(user) = f.owner else {
        f.failure = Some("Choose the user the connection is for.");
        return add_form(ctx, &f, &apple_id, &upstream);
    };
    if apple_id.is_empty() || password.is_empty() {
        f.failure = Some("Enter the Apple ID and an app-specific password.");
        return add_form(ctx, &f, &apple_id, &upstream);
    }
    let req = admin::Request::Connect(ConnectArgs {
        who: who(user),
        apple_id: apple_id.clone(),
        upstream: if upstream.is_empty() {
            admin::ICLOUD.to_string()
        } else {
            upstream.clone()
        },
        id: None,
        options: Default::default(),
        password: WirePassword::new(&Secret::new(password.to_string())),
    });
    let r = admin::execute(ctx.app, req).await;
    if !r.ok {
        f.failure = Some(&r.output);
        return add_form(ctx, &f, &apple_id, &upstream);
    }
    let id = visible(ctx)
        .ok()
        .and_then(|cs| cs.into_iter().find(|c| c.apple_id == apple_id))
        .map(|c| c.id);
    let text = match &id {
        Some(id) => match sync_soon(ctx.app, id, false).await {
            Some(s) => format!("Connected {apple_id}.\n{}", s.output),
            None => format!("Connected {apple_id}. The first sync is running."),
        },
        None => format!("Connected {apple_id}."),
    };
    list(ctx, Some((true, &text)))
}

fn add_feed_form(ctx: &Ctx<'_>, f: &Filled<'_>, name: &str) -> Answer {
    let fields = html! {
        p {
            label for="url" { "Feed URL" }
            input id="url" name="url" type="url" required autocomplete="off"
                spellcheck="false" placeholder="webcal://example.org/holidays.ics"
                aria-describedby="url-help";
            span id="url-help" class="help" {
                "A webcal://, https:// or http:// address of an .ics file: a public holiday \
                 calendar, a subscribed calendar's URL, another system's export. It often \
                 holds a secret, so calproxy keeps it sealed and shows only its host."
            }
        }
        p {
            label for="name" { "Name (optional)" }
            input id="name" name="name" type="text" value=(name)
                aria-describedby="name-help";
            span id="name-help" class="help" { "Default: the name the feed gives itself." }
        }
        p class="help" {
            "The feed becomes one read-only calendar: choose it as a conflict calendar \
             under Calendars for its busy time to count."
        }
    };
    new_form(ctx, f, &Page::AddFeed, "Add ICS feed", "Add feed", fields)
}

/// `GET|POST /connections/new-feed`: `connect --ics URL [--name NAME]`.
/// The URL is never written back into the page (it may hold a secret
/// token), not even when the form failed.
pub async fn add_feed(ctx: &Ctx<'_>, form: Option<&Form>) -> Answer {
    let owners = match owners(ctx) {
        Ok(o) => o,
        Err(a) => return a,
    };
    let mut f = Filled::fresh(&owners);
    let Some(form) = form else {
        return add_feed_form(ctx, &f, "");
    };
    let url = form.text("url").unwrap_or("").to_string();
    let name = form.text("name").unwrap_or("").to_string();
    f.owner = owner_from(ctx, &owners, form);
    let Some(user) = f.owner else {
        f.failure = Some("Choose the user the feed is for.");
        return add_feed_form(ctx, &f, &name);
    };
    if url.is_empty() {
        f.failure = Some("Enter the feed's URL.");
        return add_feed_form(ctx, &f, &name);
    }
    let req = admin::Request::Connect(ConnectArgs {
        who: who(user),
        apple_id: String::new(),
        upstream: admin::ICLOUD.to_string(),
        id: None,
        options: admin::ConnectOptions {
            ics: Some(url),
            name: (!name.is_empty()).then(|| name.clone()),
            region: None,
        },
        password: WirePassword::default(),
    });
    let r = admin::execute(ctx.app, req).await;
    if !r.ok {
        f.failure = Some(&r.output);
        return add_feed_form(ctx, &f, &name);
    }
    list(ctx, Some((true, &r.output)))
}
