//! Administrative commands (`connect`, `calendars`, `configure`, `sync`,
//! `status`, `user add`, `feed show|rotate`, `busy`) as typed requests, executed against an `App`.
//!
//! The CLI sends them over the local admin socket (`<data>/admin.sock`,
//! mode 0600) when `calproxy serve` runs on the same data directory (sled
//! allows one process), or executes them in process when none does.

mod connections;
mod health;
#[cfg(unix)]
mod socket;

#[cfg(unix)]
pub use socket::{send_to_server, serve_socket};

use serde::{Deserialize, Serialize};

use crate::accounts;
use crate::ids::{ConnectionId, TenantId, UserId};
use crate::secret::Secret;
use crate::state::App;
use connections::{calendars, configure, connect};
use health::{busy, feed, status, sync_now};

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
