//! Console sessions: the cookie, idle expiry, sign-in (always a new id:
//! no fixation), sign-out, and the per-session CSRF token.
//!
//! The cookie holds 256 random bits; the store keeps only their SHA-256
//! (`store::SessionRecord`), so the data files hold no usable cookie. The
//! cookie is `HttpOnly; SameSite=Strict; Path=/`, and `Secure` when
//! calproxy serves HTTPS.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::ids::{UserId, UserRef};
use crate::state::App;
use crate::store::{self, SessionOwner, SessionRecord};

use super::form::{cookie, Form};

/// The session cookie's name.
pub const COOKIE: &str = "calproxy_session";

/// A session unused this long (seconds) is over.
pub const IDLE_SECS: i64 = 12 * 3600;

/// How often (seconds) a session's `last_seen` is written back.
const TOUCH_EVERY: i64 = 60;

/// Who is signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    /// A tenant user: sees their tenant's connections and their own settings.
    User(UserRef),
    /// A local admin: sees every connection and the traffic.
    Admin(UserId),
}

impl Viewer {
    /// The name shown in the header.
    pub fn name(&self) -> String {
        match self {
            Viewer::User(u) => u.to_string(),
            Viewer::Admin(a) => format!("{a} (admin)"),
        }
    }

    /// Whether this is a local admin.
    pub fn is_admin(&self) -> bool {
        matches!(self, Viewer::Admin(_))
    }
}

/// A live session.
#[derive(Debug, Clone)]
pub struct Session {
    key: [u8; 32],
    /// The stored record.
    pub rec: SessionRecord,
}

impl Session {
    /// Who it belongs to.
    pub fn viewer(&self) -> Viewer {
        match &self.rec.owner {
            SessionOwner::User(u) => Viewer::User(u.clone()),
            SessionOwner::Admin(a) => Viewer::Admin(a.clone()),
        }
    }

    /// The CSRF token its forms carry.
    pub fn csrf(&self) -> &str {
        &self.rec.csrf
    }

    /// Whether a submitted form carries this session's CSRF token
    /// (compared in constant time).
    pub fn csrf_ok(&self, form: &Form) -> bool {
        let sent = form.get("csrf").unwrap_or("");
        !sent.is_empty() && bool::from(sent.as_bytes().ct_eq(self.rec.csrf.as_bytes()))
    }
}

fn key_of(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

fn random_hex() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// The session a `Cookie` header names, if it is live; touches it.
pub fn current(app: &App, cookies: Option<&str>, now: i64) -> Option<Session> {
    let id = cookie(cookies?, COOKIE)?;
    if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let key = key_of(id);
    let mut rec = app.store.session(&key).ok()??;
    if rec.last_seen + IDLE_SECS <= now {
        let _ = app.store.delete_session(&key);
        return None;
    }
    if now - rec.last_seen >= TOUCH_EVERY {
        rec.last_seen = now;
        let _ = app.store.put_session(&key, &rec);
    }
    Some(Session { key, rec })
}

/// Signs `owner` in: ends the session the browser had (if any), sweeps
/// expired ones, and starts a new one with a fresh id and CSRF token.
/// Returns the new cookie value and the session.
pub fn sign_in(
    app: &App,
    owner: SessionOwner,
    display_tz: Option<String>,
    old: Option<&Session>,
    now: i64,
) -> store::Result<(String, Session)> {
    if let Some(old) = old {
        app.store.delete_session(&old.key)?;
    }
    app.store.expire_sessions(now - IDLE_SECS)?;
    let id = random_hex();
    let key = key_of(&id);
    let rec = SessionRecord {
        owner,
        csrf: random_hex(),
        created: now,
        last_seen: now,
        display_tz,
    };
    app.store.put_session(&key, &rec)?;
    Ok((id, Session { key, rec }))
}

/// Ends a session.
pub fn sign_out(app: &App, s: &Session) -> store::Result<()> {
    app.store.delete_session(&s.key)
}

/// The `Set-Cookie` value that starts a session.
pub fn set_cookie(id: &str, secure: bool) -> String {
    format!(
        "{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={IDLE_SECS}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that clears it.
pub fn clear_cookie(secure: bool) -> String {
    format!(
        "{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::ids::TenantId;

    fn app() -> App {
        let dir = std::env::temp_dir();
        App::new(
            store::Store::temporary().unwrap(),
            Config::new("127.0.0.1:0".parse().unwrap(), dir),
        )
    }

    fn owner() -> SessionOwner {
        SessionOwner::User(UserRef::new(
            &TenantId::new("t").unwrap(),
            &UserId::new("u").unwrap(),
        ))
    }

    #[test]
    fn sign_in_gives_a_new_id_and_ends_the_old_session() {
        let app = app();
        let (id1, s1) = sign_in(&app, owner(), None, None, 1000).unwrap();
        let header = format!("{COOKIE}={id1}");
        assert!(current(&app, Some(&header), 1001).is_some());
        let (id2, _) = sign_in(&app, owner(), None, Some(&s1), 1002).unwrap();
        assert_ne!(id1, id2);
        assert!(current(&app, Some(&header), 1003).is_none());
        assert!(current(&app, Some(&format!("{COOKIE}={id2}")), 1003).is_some());
    }

    #[test]
    fn idle_sessions_expire_and_garbage_is_no_session() {
        let app = app();
        let (id, _) = sign_in(&app, owner(), None, None, 1000).unwrap();
        let header = format!("{COOKIE}={id}");
        assert!(current(&app, Some(&header), 1000 + IDLE_SECS - 1).is_some());
        // Touched at the last request: idle counts from there.
        assert!(current(&app, Some(&header), 1000 + 2 * IDLE_SECS - 2).is_some());
        assert!(current(&app, Some(&header), 1000 + 4 * IDLE_SECS).is_none());
        for bad in ["", "calproxy_session=xyz", "calproxy_session=../../etc"] {
            assert!(current(&app, Some(bad), 1000).is_none());
        }
    }

    #[test]
    fn csrf_token_must_match_exactly() {
        let app = app();
        let (_, s) = sign_in(&app, owner(), None, None, 1).unwrap();
        assert!(s.csrf_ok(&Form::parse(&format!("csrf={}", s.csrf()))));
        assert!(!s.csrf_ok(&Form::parse("csrf=")));
        assert!(!s.csrf_ok(&Form::parse("x=1")));
        assert!(!s.csrf_ok(&Form::parse(&format!("csrf={}0", s.csrf()))));
    }

    #[test]
    fn cookie_flags() {
        let c = set_cookie("abc", true);
        for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Secure"] {
            assert!(c.contains(flag), "{c}");
        }
        assert!(!set_cookie("abc", false).contains("Secure"));
        assert!(clear_cookie(false).contains("Max-Age=0"));
    }
}
