//! Signing in and out. Users sign in as `user@tenant` (a bare user name
//! works when it is unique, as with Basic auth), local admins by their
//! name. Passwords are checked with the one argon2 path
//! (`crypto::verify_password`, off the async threads) after the throttle
//! has had its say; a wrong one is counted, a right one starts a new
//! session (a new id, whatever the browser had before).

use std::sync::LazyLock;

use chrono::Utc;
use hyper::StatusCode;
use maud::html;

use crate::accounts;
use crate::crypto::{hash_password, verify_password};
use crate::ids::UserId;
use crate::route::{self, Page};
use crate::secret::Secret;
use crate::state::App;
use crate::store::{SessionOwner, Store};

use super::form::Form;
use super::page::{self, Answer, Ctx};
use super::session::{self, Session};
use super::{throttle, Request};

/// A hash checked when a login names nobody, so that a wrong name costs
/// the same time as a wrong password.
static DECOY: LazyLock<Option<String>> =
    LazyLock::new(|| hash_password(&Secret::new("decoy".into())).ok());

/// Who `login` and `password` prove (blocking: argon2).
fn check(store: &Store, login: &str, password: &Secret<String>) -> Option<SessionOwner> {
    if !login.contains('@') && !login.contains('/') {
        if let Ok(name) = UserId::new(login) {
            if let Ok(Some(hash)) = store.admin_hash(&name) {
                if verify_password(password.expose(), &hash) {
                    return Some(SessionOwner::Admin(name));
                }
            }
        }
    }
    let who = accounts::resolve_login(store, login);
    let rec = who
        .as_ref()
        .and_then(|w| store.user(&w.tenant, &w.user).ok().flatten());
    match (who, rec) {
        (Some(who), Some(rec)) => verify_password(password.expose(), &rec.password_hash)
            .then_some(SessionOwner::User(who)),
        _ => {
            if let Some(decoy) = DECOY.as_ref() {
                let _ = verify_password(password.expose(), decoy);
            }
            None
        }
    }
}

fn form_page(status: StatusCode, login: &str, message: Option<&str>) -> Answer {
    Answer::html(
        status,
        page::bare(
            "Sign in",
            html! {
                @if let Some(m) = message {
                    (page::outcome(false, m))
                }
                form class="signin" method="post" action=(route::page(&Page::SignIn).as_str()) {
                    p {
                        label for="login" { "Name" }
                        input id="login" name="login" type="text" autocomplete="username"
                            required autofocus value=(login)
                            aria-describedby="login-help";
                        span id="login-help" class="help" {
                            "user@tenant (or your user name when it is unique), or an admin's name"
                        }
                    }
                    p {
                        label for="password" { "Password" }
                        input id="password" name="password" type="password"
                            autocomplete="current-password" required;
                    }
                    input type="hidden" name="tz" value="" data-browser-tz;
                    p { button type="submit" { "Sign in" } }
                }
                p class="help" { "Your calproxy password, the one your calendar app uses. Not your Apple ID password." }
            },
        ),
    )
}

/// `GET|POST /signin`.
pub async fn sign_in(app: &App, req: &Request, current: Option<&Session>, form: &Form) -> Answer {
    if !req.is_post() {
        return match current {
            Some(_) => Answer::redirect("/"),
            None => form_page(StatusCode::OK, "", None),
        };
    }
    let login = form.text("login").unwrap_or("").to_string();
    let password = Secret::new(form.get("password").unwrap_or("").to_string());
    if login.is_empty() || password.expose().is_empty() {
        return form_page(
            StatusCode::OK,
            &login,
            Some("Enter your name and password."),
        );
    }
    let now_ms = Utc::now().timestamp_millis();
    match throttle::wait(&app.store, &login, req.peer, now_ms) {
        Ok(None) => {}
        Ok(Some(wait)) => {
            let words = throttle::in_words(wait);
            return form_page(
                StatusCode::TOO_MANY_REQUESTS,
                &login,
                Some(&format!(
                    "Too many wrong passwords for this name or from this address. \
                     Wait {words} before trying again."
                )),
            )
            .header(
                hyper::header::RETRY_AFTER,
                wait.as_secs().max(1).to_string(),
            );
        }
        Err(e) => return storage(&e),
    }
    let (store, l2) = (app.store.clone(), login.clone());
    let owner = tokio::task::spawn_blocking(move || check(&store, &l2, &password))
        .await
        .ok()
        .flatten();
    let Some(owner) = owner else {
        if let Err(e) = throttle::failed(&app.store, &login, req.peer, now_ms) {
            return storage(&e);
        }
        tracing::info!(peer = ?req.peer, "console sign-in refused");
        return form_page(StatusCode::OK, &login, Some("Wrong name or password."));
    };
    let tz = form
        .text("tz")
        .filter(|t| page::zone(t).is_some())
        .map(str::to_string);
    let _ = throttle::succeeded(&app.store, &login);
    match session::sign_in(app, owner, tz, current, now_ms / 1000) {
        Ok((id, _)) => Answer::redirect("/").header(
            hyper::header::SET_COOKIE,
            session::set_cookie(&id, app.config.tls_dir.is_some()),
        ),
        Err(e) => storage(&e),
    }
}

fn storage(e: &crate::store::Error) -> Answer {
    tracing::error!(error = %e, "console storage failed");
    page::error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Storage failed",
        "calproxy could not read or write its data directory. See its log.",
    )
}

/// `POST /signout` (CSRF already checked).
pub fn sign_out(ctx: &Ctx<'_>) -> Answer {
    let _ = session::sign_out(ctx.app, ctx.session);
    Answer::redirect(route::page(&Page::SignIn).as_str()).header(
        hyper::header::SET_COOKIE,
        session::clear_cookie(ctx.app.config.tls_dir.is_some()),
    )
}
