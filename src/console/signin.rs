//! Signing in and out. Users sign in as `user@tenant` (a bare user name
//! works when it is unique, as with Basic auth), local admins by their
//! name. Passwords are checked with the one argon2 path
//! (`crypto::verify_password` on the bounded pool `App::hashes`) after the throttle
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

/// Who `login` may be, with the PHC string to check: an admin of that
/// name (a plain name only), then the user it resolves to. Store lookups
/// only; the hashing happens on the pool.
fn candidates(store: &Store, login: &str) -> Vec<(SessionOwner, String)> {
    let mut out = Vec::new();
    if !login.contains('@') && !login.contains('/') {
        if let Ok(name) = UserId::new(login) {
            if let Ok(Some(hash)) = store.admin_hash(&name) {
                out.push((SessionOwner::Admin(name), hash));
            }
        }
    }
    if let Some(who) = accounts::resolve_login(store, login) {
        if let Ok(Some(rec)) = store.user(&who.tenant, &who.user) {
            out.push((SessionOwner::User(who), rec.password_hash));
        }
    }
    out
}

/// The single-flight key of one check (identical sign-ins share a hash).
fn flight_key(kind: &str, login: &str, password: &Secret<String>) -> [u8; 32] {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    for part in [b"console".as_slice(), kind.as_bytes(), login.as_bytes()] {
        h.update(part);
        h.update([0]);
    }
    h.update(password.expose().as_bytes());
    h.finalize().into()
}

/// Who `login` and `password` prove, checked on the process's bounded
/// hashing pool (issue 12 #1: the form cannot exhaust memory either). A
/// name that is nobody costs one hash against a decoy, as a wrong password
/// does. `Err` when the pool is full.
async fn check(
    app: &App,
    login: &str,
    password: &Secret<String>,
) -> Result<Option<SessionOwner>, crate::crypto::Busy> {
    let found = candidates(&app.store, login);
    let tries: Vec<(Option<SessionOwner>, Option<String>)> = if found.is_empty() {
        vec![(None, DECOY.clone())]
    } else {
        found.into_iter().map(|(o, h)| (Some(o), Some(h))).collect()
    };
    for (owner, phc) in tries {
        let kind = match &owner {
            Some(SessionOwner::Admin(_)) => "admin",
            Some(SessionOwner::User(_)) => "user",
            None => "nobody",
        };
        let pw = password.clone();
        let metrics = app.metrics.clone();
        let ok = app
            .hashes
            .run(flight_key(kind, login, password), move || {
                let ok = phc.is_some_and(|phc| verify_password(pw.expose(), &phc));
                metrics.record_password_hash();
                ok
            })
            .await?;
        if ok {
            return Ok(owner);
        }
    }
    Ok(None)
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
    let owner = match check(app, &login, &password).await {
        Ok(owner) => owner,
        Err(busy) => {
            return form_page(
                StatusCode::SERVICE_UNAVAILABLE,
                &login,
                Some("Too many sign-ins at once. Try again in a moment."),
            )
            .header(
                hyper::header::RETRY_AFTER,
                busy.retry_after.as_secs().max(1).to_string(),
            )
        }
    };
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
