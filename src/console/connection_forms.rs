//! The forms of one connection, each one `admin::Request`: "Replace
//! password" is `Connect` (the same discovery as `calproxy connect`; a
//! refusal shows the troubleshooting advice, never a status code), "Sync
//! now" is `Sync` (with `confirm_deletions` from a held connection's
//! "Confirm N deletions"), "Remove" is `Disconnect` after a confirmation
//! that says what goes. The tenant and user always come from the session.
//! A password typed into a form is never written back into a page. Adding
//! a connection lives in `connection_new`.

use std::time::Duration;

use hyper::StatusCode;
use maud::{html, Markup};

use crate::admin::{self, ConnectArgs, DisconnectArgs, SyncArgs, UserArgs, WirePassword};
use crate::ids::{ConnectionId, UserRef};
use crate::route::{self, ConnectionAction, Page};
use crate::secret::Secret;
use crate::state::App;

use super::connections::{list, one, CONFIRM_FIELD};
use super::form::Form;
use super::page::{self, Answer, Ctx, Nav};
use super::session::Viewer;

/// How long a form waits for a sync it started before showing progress instead.
const SYNC_WAIT: Duration = Duration::from_secs(2);

/// Starts `sync` of one connection (applying held deletions when
/// `confirm_deletions`); its answer when it ends within [`SYNC_WAIT`],
/// else `None` (the panel shows its progress).
pub(super) async fn sync_soon(
    app: &App,
    id: &ConnectionId,
    confirm_deletions: bool,
) -> Option<admin::Response> {
    let (app, id) = (app.clone(), id.clone());
    let mut task = tokio::spawn(async move {
        let req = admin::Request::Sync(SyncArgs {
            connection: Some(id),
            confirm_deletions,
        });
        admin::execute(&app, req).await
    });
    match tokio::time::timeout(SYNC_WAIT, &mut task).await {
        Ok(Ok(r)) => Some(r),
        _ => None,
    }
}

pub(super) fn who(u: &UserRef) -> UserArgs {
    UserArgs {
        tenant: u.tenant.clone(),
        user: u.user.clone(),
    }
}

pub(super) fn password_field(label: &str) -> Markup {
    html! {
        p {
            label for="password" { (label) }
            input id="password" name="password" type="password" autocomplete="new-password"
                required spellcheck="false" aria-describedby="password-help";
            span id="password-help" class="help" {
                "Create one at appleid.apple.com: Sign-In and Security > App-Specific Passwords \
                 (it looks like xxxx-xxxx-xxxx-xxxx; two-factor authentication must be on). \
                 Not your Apple ID password."
            }
        }
    }
}

fn password_form(
    ctx: &Ctx<'_>,
    id: &ConnectionId,
    apple_id: &str,
    failure: Option<&str>,
) -> Answer {
    let body = html! {
        @if let Some(text) = failure { (page::outcome(false, text)) }
        form class="card" method="post" action=(route::page(&Page::Connection { id: id.clone(), action: ConnectionAction::Password }).as_str()) {
            (ctx.csrf())
            p { "A new app-specific password for " strong { (apple_id) } "." }
            (password_field("New app-specific password"))
            p {
                button type="submit" class="primary" { "Replace password" }
                " "
                a href=(route::page(&Page::Connections).as_str()) { "Cancel" }
            }
        }
    };
    Answer::html(
        StatusCode::OK,
        page::layout(ctx, "Replace password", Nav::Connections, body),
    )
}

fn remove_page(ctx: &Ctx<'_>, c: &crate::admin::overview::ConnectionView) -> Answer {
    let last = match &ctx.viewer {
        Viewer::Admin(_) => true,
        Viewer::User(u) => c.tenants.iter().all(|t| t == &u.tenant),
    };
    let body = html! {
        div class="card" {
            p { "Remove " strong { (c.apple_id) } " (" (c.id.as_str()) ")?" }
            p { "Deleted in calproxy:" }
            ul {
                li { "the links of the calendar choices to its " (c.calendars.len()) " calendars (primary and conflict calendars)," }
                li { "the read-only copies of its events: the conflict calendars made from it and its events in primary/," }
                li { "events still waiting to be sent to iCloud through it (" (c.outbox_depth) "); events you created through calproxy stay in primary/ as local events," }
                @if last {
                    li { "the Apple ID, the app-specific password and the list of its calendars." }
                }
            }
            p class="reassure" { strong { "Nothing is deleted in iCloud:" } " its calendars and events there stay as they are." }
            form method="post" action=(route::page(&Page::Connection { id: c.id.clone(), action: ConnectionAction::Remove }).as_str()) {
                (ctx.csrf())
                button type="submit" class="danger" { "Remove connection" }
                " "
                a href=(route::page(&Page::Connections).as_str()) { "Cancel" }
            }
        }
    };
    Answer::html(
        StatusCode::OK,
        page::layout(ctx, "Remove connection", Nav::Connections, body),
    )
}

/// `/connections/{id}/{sync|password|remove}`.
pub async fn act(
    ctx: &Ctx<'_>,
    id: &ConnectionId,
    action: ConnectionAction,
    form: Option<&Form>,
) -> Answer {
    let c = match one(ctx, id) {
        Ok(c) => c,
        Err(a) => return a,
    };
    let user = match &ctx.viewer {
        Viewer::User(u) => Some(u.clone()),
        Viewer::Admin(_) => None,
    };
    match (action, form) {
        (ConnectionAction::Sync, Some(form)) => {
            let confirm = form.get(CONFIRM_FIELD) == Some("yes");
            match sync_soon(ctx.app, id, confirm).await {
                Some(r) => list(ctx, Some((r.ok, &r.output))),
                None => Answer::redirect(route::page(&Page::Connections).as_str()),
            }
        }
        (ConnectionAction::Sync, None) => page::error(
            StatusCode::METHOD_NOT_ALLOWED,
            "Method not allowed",
            "Sync now is a button.",
        )
        .header(hyper::header::ALLOW, "POST"),
        (ConnectionAction::Password, _) if user.is_none() => page::not_found(),
        (ConnectionAction::Password, None) => password_form(ctx, id, &c.apple_id, None),
        (ConnectionAction::Password, Some(form)) => {
            let Some(u) = user else {
                return page::not_found();
            };
            let password = form.get("password").unwrap_or("");
            if password.is_empty() {
                return password_form(
                    ctx,
                    id,
                    &c.apple_id,
                    Some("Enter the new app-specific password."),
                );
            }
            let req = admin::Request::Connect(ConnectArgs {
                who: who(&u),
                apple_id: c.apple_id.clone(),
                upstream: c.upstream.clone(),
                id: Some(id.clone()),
                options: Default::default(),
                password: WirePassword::new(&Secret::new(password.to_string())),
            });
            let r = admin::execute(ctx.app, req).await;
            if !r.ok {
                return password_form(ctx, id, &c.apple_id, Some(&r.output));
            }
            let text = match sync_soon(ctx.app, id, false).await {
                Some(s) => format!("Password replaced for {}.\n{}", c.apple_id, s.output),
                None => format!("Password replaced for {}. A sync is running.", c.apple_id),
            };
            list(ctx, Some((true, &text)))
        }
        (ConnectionAction::Remove, None) => remove_page(ctx, &c),
        (ConnectionAction::Remove, Some(_)) => {
            let req = admin::Request::Disconnect(DisconnectArgs {
                connection: id.clone(),
                tenant: user.map(|u| u.tenant),
            });
            let r = admin::execute(ctx.app, req).await;
            list(ctx, Some((r.ok, &r.output)))
        }
    }
}
