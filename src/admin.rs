//! Administrative commands (`connect`, `calendars`, `configure`, `sync`,
//! `status`, `user add`, `feed show|rotate`, `busy`) as typed requests, executed against an `App`.
//!
//! The CLI sends them over the local admin socket (`<data>/admin.sock`,
//! mode 0600) when `calproxy serve` runs on the same data directory (sled
//! allows one process), or executes them in process when none does.

use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio_util::sync::CancellationToken;

use crate::accounts;
use crate::ids::{CalendarId, ConnectionId, TenantId, UserId};
use crate::policy;
use crate::secret::Secret;
use crate::state::App;
use crate::store::{ConnectionRecord, ConnectionState, RemoteRef};
use crate::sync::{self, execute};
use crate::upstream::{self, Credentials};

/// File name of the admin socket inside the data directory.
pub const SOCKET: &str = "admin.sock";

/// A password as it travels to the admin socket: never printed.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WirePassword(String);

impl WirePassword {
    /// Wraps a secret for the wire.
    pub fn new(s: &Secret<String>) -> Self {
        Self(s.expose().clone())
    }
    fn secret(&self) -> Secret<String> {
        Secret::new(self.0.clone())
    }
}

impl std::fmt::Debug for WirePassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// One administrative command.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Request {
    /// Create a user (and tenant) or reset its password.
    UserAdd {
        /// Tenant.
        tenant: TenantId,
        /// User.
        user: UserId,
        /// The new local password.
        password: WirePassword,
    },
    /// Validate an Apple ID + app-specific password by discovery and store it.
    Connect {
        /// Tenant to attach the connection to.
        tenant: TenantId,
        /// User who connects.
        user: UserId,
        /// Apple ID.
        apple_id: String,
        /// App-specific password.
        password: WirePassword,
        /// Upstream base URL.
        upstream: String,
        /// Connection id (default: derived from the Apple ID).
        id: Option<ConnectionId>,
    },
    /// List remote calendars.
    Calendars {
        /// Only this connection.
        connection: Option<ConnectionId>,
    },
    /// Choose a user's primary and conflict calendars.
    Configure {
        /// Tenant.
        tenant: TenantId,
        /// User.
        user: UserId,
        /// Primary calendar (id or unique display name).
        primary: Option<String>,
        /// Conflict calendars (ids or unique display names).
        conflicts: Vec<String>,
        /// Other users of the tenant whose availability blocks this user's.
        conflict_users: Vec<UserId>,
        /// R5 privacy of iCloud events in the user's own views.
        privacy: Option<crate::store::Privacy>,
    },
    /// Sync now.
    Sync {
        /// Only this connection.
        connection: Option<ConnectionId>,
    },
    /// Per-connection health.
    Status,
    /// Create or update a local admin (reads `/debug/…`); not a tenant user.
    AdminAdd {
        /// Admin name (the Basic auth user name).
        name: UserId,
        /// Password.
        password: WirePassword,
    },
    /// Recorded exchanges, one line each.
    TrafficList(crate::inspect::ListFilter),
    /// One recorded exchange in full.
    TrafficShow {
        /// Its id (first column of `traffic list`).
        id: u64,
    },
    /// Exchanges recorded after `after` (for `traffic tail`).
    TrafficSince {
        /// The last id already shown.
        after: u64,
    },
    /// HAR 1.2 of recorded exchanges.
    TrafficExport {
        /// Only this connection.
        connection: Option<String>,
        /// Only exchanges started at or after (unix ms).
        since_ms: Option<i64>,
    },
    /// Send one raw request upstream.
    Probe(crate::inspect::Probe),
    /// Print a user's feed path, creating the secret token if none exists.
    FeedShow {
        /// Tenant.
        tenant: TenantId,
        /// User.
        user: UserId,
    },
    /// Replace a user's feed token; the old URL answers 404 from now on.
    FeedRotate {
        /// Tenant.
        tenant: TenantId,
        /// User.
        user: UserId,
    },
    /// "Why busy": merged busy intervals in a range with their sources.
    Busy {
        /// Tenant.
        tenant: TenantId,
        /// User.
        user: UserId,
        /// Range start.
        from: chrono::DateTime<chrono::Utc>,
        /// Range end (exclusive).
        to: chrono::DateTime<chrono::Utc>,
        /// Answer JSON instead of text.
        json: bool,
    },
}

/// The answer: text for the terminal, and whether it worked.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Response {
    /// Success.
    pub ok: bool,
    /// Human-readable output.
    pub output: String,
    /// For `traffic tail`: the last id shown.
    #[serde(default)]
    pub cursor: Option<u64>,
}

impl Response {
    fn ok(output: String) -> Self {
        Self {
            ok: true,
            output,
            cursor: None,
        }
    }
    fn fail(output: String) -> Self {
        Self {
            ok: false,
            output,
            cursor: None,
        }
    }
}

/// Advice printed when iCloud answers 401 (ICLOUD.md §1.4, §5.1).
pub const AUTH_ADVICE: &str = "iCloud refused the Apple ID or password (401).\n\
  - Use an app-specific password, not your Apple ID password: sign in at appleid.apple.com,\n\
    open Sign-In and Security > App-Specific Passwords, and create one (it looks like xxxx-xxxx-xxxx-xxxx).\n\
  - App-specific passwords need two-factor authentication: turn it on for your Apple ID first.\n\
  - Check the Apple ID spelling; a revoked password, or a changed Apple ID password, also gives 401.";

/// Executes a request.
pub async fn execute(app: &App, req: Request) -> Response {
    match req {
        Request::UserAdd {
            tenant,
            user,
            password,
        } => match accounts::add_user(&app.store, &tenant, &user, &password.secret()) {
            Ok(created) => {
                app.auth.clear();
                let _ = app.store.flush().await;
                Response::ok(format!(
                    "{} user {user}@{tenant}\n",
                    if created {
                        "created"
                    } else {
                        "updated password of"
                    }
                ))
            }
            Err(e) => Response::fail(format!("cannot add the user: {e}\n")),
        },
        Request::Connect {
            tenant,
            user,
            apple_id,
            password,
            upstream,
            id,
        } => connect(app, tenant, user, apple_id, password.secret(), upstream, id).await,
        Request::Calendars { connection } => calendars(app, connection.as_ref()),
        Request::Configure {
            tenant,
            user,
            primary,
            conflicts,
            conflict_users,
            privacy,
        } => {
            configure(
                app,
                &tenant,
                &user,
                primary.as_deref(),
                &conflicts,
                &conflict_users,
                privacy,
            )
            .await
        }
        Request::Sync { connection } => sync_now(app, connection.as_ref()).await,
        Request::Status => status(app),
        Request::AdminAdd { name, password } => {
            match crate::server::auth::hash_password(&password.secret()) {
                Ok(hash) => match app.store.put_admin(&name, &hash) {
                    Ok(()) => {
                        let _ = app.store.flush().await;
                        Response::ok(format!("admin {name} can read /debug/traffic.har\n"))
                    }
                    Err(e) => Response::fail(format!("storage failed: {e}\n")),
                },
                Err(e) => Response::fail(format!("password hashing failed: {e}\n")),
            }
        }
        Request::TrafficList(f) => match crate::inspect::list(app, &f) {
            Ok(t) => Response::ok(t),
            Err(e) => Response::fail(format!("storage failed: {e}\n")),
        },
        Request::TrafficShow { id } => match crate::inspect::show(app, id) {
            Ok(Some(t)) => Response::ok(t),
            Ok(None) => Response::fail(format!("no recorded exchange {id}\n")),
            Err(e) => Response::fail(format!("storage failed: {e}\n")),
        },
        Request::TrafficSince { after } => match crate::inspect::since(app, after) {
            Ok((t, last)) => Response {
                ok: true,
                output: t,
                cursor: Some(last),
            },
            Err(e) => Response::fail(format!("storage failed: {e}\n")),
        },
        Request::TrafficExport {
            connection,
            since_ms,
        } => {
            let f = crate::handlers::debug::Filter {
                connection,
                since_ms,
            };
            match crate::handlers::debug::export(app, &f) {
                Ok(doc) => Response::ok(format!("{doc:#}\n")),
                Err(e) => Response::fail(format!("{e}\n")),
            }
        }
        Request::Probe(p) => match crate::inspect::probe(app, &p).await {
            Ok(t) => Response::ok(t),
            Err(e) => Response::fail(format!("{e}\n")),
        },
        Request::FeedShow { tenant, user } => feed(app, &tenant, &user, false).await,
        Request::FeedRotate { tenant, user } => feed(app, &tenant, &user, true).await,
        Request::Busy {
            tenant,
            user,
            from,
            to,
            json,
        } => busy(app, &tenant, &user, from, to, json),
    }
}

/// The feed path of a user's token (creating one, or a new one on `rotate`).
async fn feed(app: &App, tenant: &TenantId, user: &UserId, rotate: bool) -> Response {
    match crate::accounts::feed_token(&app.store, tenant, user, rotate) {
        Ok(Some(tok)) => {
            let _ = app.store.flush().await;
            Response::ok(format!("/feeds/{}/availability.ics\n", tok.expose()))
        }
        Ok(None) => Response::fail(format!("no user {user}@{tenant}\n")),
        Err(e) => Response::fail(format!("storage failed: {e}\n")),
    }
}

fn busy(
    app: &App,
    tenant: &TenantId,
    user: &UserId,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
    json: bool,
) -> Response {
    if !matches!(app.store.user(tenant, user), Ok(Some(_))) {
        return Response::fail(format!("no user {user}@{tenant}\n"));
    }
    if to <= from {
        return Response::fail("--to must be after --from\n".into());
    }
    let window = crate::ical::TimeRange {
        start: from,
        end: to,
    };
    match crate::availability::explain::why_busy(app, tenant, user, window) {
        Ok(items) if json => match serde_json::to_string_pretty(&items) {
            Ok(s) => Response::ok(format!("{s}\n")),
            Err(e) => Response::fail(format!("cannot render: {e}\n")),
        },
        Ok(items) => Response::ok(crate::availability::explain::render_text(&items)),
        Err(e) => Response::fail(format!("storage failed: {e}\n")),
    }
}

fn derive_id(app: &App, apple_id: &str) -> ConnectionId {
    let base: String = apple_id
        .split('@')
        .next()
        .unwrap_or("icloud")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(40)
        .collect();
    let base = if base.trim_matches('-').is_empty() {
        "icloud".to_string()
    } else {
        base
    };
    for n in 1.. {
        let cand = if n == 1 {
            base.clone()
        } else {
            format!("{base}-{n}")
        };
        if let Ok(id) = ConnectionId::new(cand) {
            match app.store.connection(&id) {
                Ok(None) => return id,
                Ok(Some(r)) if r.apple_id == apple_id => return id,
                _ => {}
            }
        }
    }
    unreachable_id()
}

#[allow(clippy::expect_used)]
fn unreachable_id() -> ConnectionId {
    // The loop above always returns: ids with a numeric suffix are valid.
    ConnectionId::new("icloud").expect("static id is valid")
}

async fn connect(
    app: &App,
    tenant: TenantId,
    user: UserId,
    apple_id: String,
    password: Secret<String>,
    upstream_url: String,
    id: Option<ConnectionId>,
) -> Response {
    match app.store.user(&tenant, &user) {
        Ok(Some(_)) => {}
        Ok(None) => {
            return Response::fail(format!(
                "no user {user}@{tenant}: run `calproxy user add` first\n"
            ))
        }
        Err(e) => return Response::fail(format!("storage failed: {e}\n")),
    }
    let creds = Credentials {
        user: apple_id.clone(),
        password: password.clone(),
    };
    let id = id.unwrap_or_else(|| derive_id(app, &apple_id));
    let client = match upstream::Client::new(&upstream_url, &creds, execute::REQUEST_TIMEOUT) {
        Ok(c) => c.with_recorder(sync::traffic::recorder(
            app,
            &id,
            upstream::record::Trigger::Connect,
        )),
        Err(e) => return Response::fail(format!("{e}\n")),
    };
    let found = match upstream::discover(&client).await {
        Ok(d) => d,
        Err(upstream::Error::Unauthorized) => return Response::fail(format!("{AUTH_ADVICE}\n")),
        Err(e) => {
            let msg = sync::describe(&sync::Error::Upstream(e));
            return Response::fail(format!("discovery failed: {msg}\n"));
        }
    };
    let sealed = match app.store.seal(&password) {
        Ok(s) => s,
        Err(e) => return Response::fail(format!("cannot seal the password: {e}\n")),
    };
    let mut rec = app
        .store
        .connection(&id)
        .ok()
        .flatten()
        .unwrap_or(ConnectionRecord {
            apple_id: apple_id.clone(),
            sealed_password: Vec::new(),
            upstream: upstream_url.clone(),
            home_url: None,
            tenants: Vec::new(),
            state: ConnectionState::Active,
            last_sync: None,
            last_error: None,
            throttled_until: None,
        });
    rec.apple_id = apple_id;
    rec.sealed_password = sealed;
    rec.upstream = upstream_url;
    rec.home_url = Some(found.home_url.clone());
    rec.state = ConnectionState::Active;
    rec.last_error = None;
    if !rec.tenants.contains(&tenant) {
        rec.tenants.push(tenant.clone());
    }
    if let Err(e) = app.store.put_connection(&id, &rec) {
        return Response::fail(format!("storage failed: {e}\n"));
    }
    if let Err(e) = execute::store_calendar_list(app, &id, &found.calendars) {
        return Response::fail(format!("storage failed: {}\n", sync::describe(&e)));
    }
    let _ = app.store.flush().await;
    let mut out = format!(
        "connected {id} ({}) for {user}@{tenant}; home {}\n",
        rec.apple_id, found.home_url
    );
    out.push_str(&calendars(app, Some(&id)).output);
    Response::ok(out)
}

fn calendars(app: &App, only: Option<&ConnectionId>) -> Response {
    let conns = match app.store.connections() {
        Ok(c) => c,
        Err(e) => return Response::fail(format!("storage failed: {e}\n")),
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<16} {:<40} {:<24} {:<10} {:<9} {:<10} connectable",
        "connection", "id", "name", "colour", "kind", "access"
    );
    for (cid, _) in conns.iter().filter(|(c, _)| only.is_none_or(|o| o == c)) {
        let Ok(cals) = app.store.remote_calendars(cid) else {
            continue;
        };
        for (id, c) in cals {
            let kind = match &c.kind {
                crate::store::RemoteKind::Events if c.shared => "shared",
                crate::store::RemoteKind::Events => "events",
                crate::store::RemoteKind::Reminders => "reminders",
                crate::store::RemoteKind::Subscribed { .. } => "subscribed",
            };
            let can = match policy::calendars::refusal(&c.kind) {
                None => "yes".to_string(),
                Some(why) => format!("no: {why}"),
            };
            let _ = writeln!(
                out,
                "{:<16} {:<40} {:<24} {:<10} {:<9} {:<10} {}",
                cid.as_str(),
                id.as_str(),
                c.displayname,
                c.color.as_deref().unwrap_or("-"),
                kind,
                if c.read_only {
                    "read-only"
                } else {
                    "read-write"
                },
                can
            );
        }
    }
    Response::ok(out)
}

/// Finds a remote calendar by id or unique display name among the
/// connections attached to `tenant`.
fn resolve(
    app: &App,
    tenant: &TenantId,
    wanted: &str,
) -> Result<(ConnectionId, CalendarId, crate::store::RemoteCalendarRecord), String> {
    let mut hits = Vec::new();
    let conns = app.store.connections().map_err(|e| e.to_string())?;
    for (cid, rec) in conns
        .into_iter()
        .filter(|(_, r)| r.tenants.contains(tenant))
    {
        let _ = rec;
        for (id, cal) in app
            .store
            .remote_calendars(&cid)
            .map_err(|e| e.to_string())?
        {
            if id.as_str() == wanted {
                return Ok((cid, id, cal));
            }
            if cal.displayname.eq_ignore_ascii_case(wanted) {
                hits.push((cid.clone(), id, cal));
            }
        }
    }
    match hits.len() {
        1 => Ok(hits.remove(0)),
        0 => Err(format!("no calendar {wanted:?} in the connections of tenant {tenant} (see `calproxy calendars`)")),
        _ => Err(format!("{wanted:?} names {} calendars; use the calendar id", hits.len())),
    }
}

async fn configure(
    app: &App,
    tenant: &TenantId,
    user: &UserId,
    primary: Option<&str>,
    conflicts: &[String],
    conflict_users: &[UserId],
    privacy: Option<crate::store::Privacy>,
) -> Response {
    let mut urec = match app.store.user(tenant, user) {
        Ok(Some(u)) => u,
        _ => return Response::fail(format!("no user {user}@{tenant}\n")),
    };
    let mut chosen = Vec::new();
    for (is_primary, name) in primary
        .iter()
        .map(|p| (true, *p))
        .chain(conflicts.iter().map(|c| (false, c.as_str())))
    {
        match resolve(app, tenant, name) {
            Ok((cid, id, cal)) => {
                if let Some(why) = policy::calendars::refusal(&cal.kind) {
                    return Response::fail(format!(
                        "{name:?} cannot be connected: it is {why} (R6)\n"
                    ));
                }
                chosen.push((is_primary, cid, id, cal));
            }
            Err(msg) => return Response::fail(format!("{msg}\n")),
        }
    }
    let keys: Vec<(ConnectionId, CalendarId)> = chosen
        .iter()
        .map(|(_, c, i, _)| (c.clone(), i.clone()))
        .collect();
    let primary_key = keys.first().filter(|_| primary.is_some());
    let conflict_keys = if primary.is_some() {
        &keys[1..]
    } else {
        &keys[..]
    };
    if let Err(p) = policy::calendars::check_selection(primary_key, conflict_keys) {
        return Response::fail(format!("invalid selection: {p:?} (R7)\n"));
    }
    for u in conflict_users {
        if u == user || !matches!(app.store.user(tenant, u), Ok(Some(_))) {
            return Response::fail(format!("{u} is not another user of tenant {tenant} (R7)\n"));
        }
    }
    let mut links = crate::store::UserLinks {
        conflict_users: conflict_users.to_vec(),
        ..Default::default()
    };
    let mut out = String::new();
    for (is_primary, cid, id, cal) in &chosen {
        let local = if *is_primary {
            CalendarId::new("primary")
        } else if accounts::STANDARD.iter().any(|(n, _, _)| *n == id.as_str()) {
            CalendarId::new(format!("icloud-{id}"))
        } else {
            Ok(id.clone())
        };
        let Ok(local) = local else {
            return Response::fail(format!("cannot name a local collection for {id}\n"));
        };
        let key = crate::store::CollectionKey::new(tenant, user, &local);
        if let Err(e) = sync::materialize::ensure_local(
            app,
            &key,
            *is_primary,
            &cal.displayname,
            cal.color.as_deref(),
        ) {
            return Response::fail(format!("storage failed: {e}\n"));
        }
        let r = RemoteRef {
            connection: cid.clone(),
            calendar: id.clone(),
            local: local.clone(),
        };
        let _ = writeln!(
            out,
            "{} {} ({}) -> /dav/{tenant}/{user}/{local}/",
            if *is_primary { "primary " } else { "conflict" },
            cal.displayname,
            id
        );
        if *is_primary {
            links.primary = Some(r);
        } else {
            links.conflicts.push(r);
        }
    }
    for u in conflict_users {
        let _ = writeln!(out, "conflict user {u}@{tenant}");
    }
    if let Err(e) = app.store.put_links(tenant, user, &links) {
        return Response::fail(format!("storage failed: {e}\n"));
    }
    if let Some(p) = privacy {
        if p != urec.privacy {
            urec.privacy = p;
            if let Err(e) = app.store.put_user(tenant, user, &urec) {
                return Response::fail(format!("storage failed: {e}\n"));
            }
            // Re-render every iCloud copy at the new level (R5).
            for r in links.remote_refs() {
                let key = crate::store::CollectionKey::new(tenant, user, &r.local);
                if let Err(e) = sync::materialize::forget_copies(app, &key, &r.connection) {
                    return Response::fail(format!("storage failed: {e}\n"));
                }
            }
        }
        let _ = writeln!(out, "privacy {p:?}");
    }
    for (_, cid, id, _) in &chosen {
        if let Err(e) = sync::materialize::reconcile_calendar(app, cid, id) {
            return Response::fail(format!("storage failed: {e}\n"));
        }
    }
    if let Err(e) = crate::availability::refresh(app, tenant, user) {
        return Response::fail(format!("storage failed: {e}\n"));
    }
    let _ = app.store.flush().await;
    Response::ok(out)
}

async fn sync_now(app: &App, only: Option<&ConnectionId>) -> Response {
    let conns = match app.store.connections() {
        Ok(c) => c,
        Err(e) => return Response::fail(format!("storage failed: {e}\n")),
    };
    let mut out = String::new();
    let mut ok = true;
    for (id, _) in conns.iter().filter(|(c, _)| only.is_none_or(|o| o == c)) {
        if let Err(e) = app.store.update_connection(id, |r| {
            // An explicit sync retries a connection marked "auth failed".
            r.state = ConnectionState::Active;
        }) {
            return Response::fail(format!("storage failed: {e}\n"));
        }
        match sync::sync_and_record(app, id, std::time::Duration::from_millis(500)).await {
            Ok(r) => {
                let _ = writeln!(
                    out,
                    "{id}: {} calendars synced, {} fetched, {} removed, {} upstream requests{}",
                    r.calendars_synced,
                    r.fetched,
                    r.deleted,
                    r.requests,
                    if r.incomplete > 0 {
                        " (some objects missing upstream; retried next sync)"
                    } else {
                        ""
                    }
                );
            }
            Err(sync::Error::Upstream(upstream::Error::Unauthorized)) => {
                ok = false;
                let _ = writeln!(out, "{id}: {AUTH_ADVICE}");
            }
            Err(e) => {
                ok = false;
                let _ = writeln!(out, "{id}: sync failed: {}", sync::describe(&e));
            }
        }
    }
    if only.is_some() && conns.iter().all(|(c, _)| Some(c) != only) {
        return Response::fail("no such connection\n".into());
    }
    Response {
        ok,
        output: out,
        cursor: None,
    }
}

fn ts(t: Option<i64>) -> String {
    t.and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|d| d.format("%Y-%m-%d %H:%M:%SZ").to_string())
        .unwrap_or_else(|| "never".into())
}

fn status(app: &App) -> Response {
    let conns = match app.store.connections() {
        Ok(c) => c,
        Err(e) => return Response::fail(format!("storage failed: {e}\n")),
    };
    let outbox = app.store.outbox().unwrap_or_default();
    let mut out = String::new();
    if conns.is_empty() {
        out.push_str("no connections (add one with `calproxy connect`)\n");
    }
    for (id, r) in conns {
        let state = match r.state {
            ConnectionState::Active => "active".to_string(),
            ConnectionState::AuthFailed { since } => format!(
                "auth failed since {} — run `calproxy connect` with a new app-specific password",
                ts(Some(since))
            ),
        };
        let cals = app
            .store
            .remote_calendars(&id)
            .map(|c| c.len())
            .unwrap_or(0);
        let tenants: Vec<&str> = r.tenants.iter().map(TenantId::as_str).collect();
        let _ = writeln!(out, "{id}: {} via {}", r.apple_id, r.upstream);
        let _ = writeln!(out, "  state           {state}");
        let _ = writeln!(out, "  tenants         {}", tenants.join(", "));
        let _ = writeln!(out, "  calendars       {cals}");
        let _ = writeln!(out, "  last sync       {}", ts(r.last_sync));
        let _ = writeln!(
            out,
            "  last error      {}",
            r.last_error.as_deref().unwrap_or("none")
        );
        let _ = writeln!(
            out,
            "  throttled until {}",
            r.throttled_until.map_or("-".into(), |t| ts(Some(t)))
        );
        let depth = outbox.iter().filter(|q| q.entry.connection == id).count();
        let _ = writeln!(out, "  outbox          {depth} waiting");
    }
    Response::ok(out)
}

/// Serves admin requests on `<data>/admin.sock` until `shutdown`.
#[cfg(unix)]
pub async fn serve_socket(
    app: App,
    data_dir: &Path,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let path = data_dir.join(SOCKET);
    let _ = std::fs::remove_file(&path);
    let listener = tokio::net::UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    loop {
        let (stream, _) = tokio::select! {
            _ = shutdown.cancelled() => break,
            r = listener.accept() => match r { Ok(x) => x, Err(_) => continue },
        };
        let app = app.clone();
        tokio::spawn(async move {
            let (r, mut w) = stream.into_split();
            let mut line = String::new();
            let mut reader = BufReader::new(r.take(1024 * 1024));
            if reader.read_line(&mut line).await.is_err() {
                return;
            }
            let resp = match serde_json::from_str::<Request>(&line) {
                Ok(req) => execute(&app, req).await,
                Err(e) => Response::fail(format!("bad admin request: {e}\n")),
            };
            if let Ok(mut bytes) = serde_json::to_vec(&resp) {
                bytes.push(b'\n');
                let _ = w.write_all(&bytes).await;
            }
        });
    }
    let _ = std::fs::remove_file(&path);
    Ok(())
}

/// Sends a request to a running server; `None` when no server listens.
#[cfg(unix)]
pub async fn send_to_server(data_dir: &Path, req: &Request) -> Option<Response> {
    let stream = tokio::net::UnixStream::connect(data_dir.join(SOCKET))
        .await
        .ok()?;
    let (r, mut w) = stream.into_split();
    let mut bytes = serde_json::to_vec(req).ok()?;
    bytes.push(b'\n');
    w.write_all(&bytes).await.ok()?;
    let mut line = String::new();
    BufReader::new(r).read_line(&mut line).await.ok()?;
    serde_json::from_str(&line).ok()
}
