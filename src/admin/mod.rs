//! ADMINISTRATION: one command grammar for every face of calproxy.
//!
//! [`Request`] is at once the CLI's sub-commands (clap derives on these
//! very types; `cli` only adds `serve`, `demo` and `certs`), the message
//! sent over the local admin socket (serde), and what the web console
//! submits. [`execute`] is the one place that decides what each command
//! means. Passwords are never command-line arguments: the CLI reads them
//! from standard input or a prompt into the skipped `password` fields.
//!
//! The CLI sends requests over the admin socket (`<data>/admin.sock`,
//! mode 0600) when `calproxy serve` runs on the same data directory (sled
//! allows one process), or executes them in process when none does.

mod availability;
mod configure;
mod connections;
mod disconnect;
pub mod overview;
mod settings;
#[cfg(unix)]
mod socket;
mod status;
mod traffic;

pub use settings::{OnOff, OutsideHours, SettingsArgs};
#[cfg(unix)]
pub use socket::{send_to_server, serve_socket};

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};

use crate::accounts;
use crate::ids::{ConnectionId, TenantId, UserId};
use crate::secret::Secret;
use crate::state::App;

/// File name of the admin socket inside the data directory.
pub const SOCKET: &str = "admin.sock";

/// The upstream of an iCloud connection.
pub const ICLOUD: &str = crate::upstream::quirks::ICLOUD;

/// A password as it travels to the admin socket: never printed.
#[derive(Clone, Default, Serialize, Deserialize)]
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

/// A tenant user named on the command line.
#[derive(Debug, Clone, Serialize, Deserialize, Args)]
pub struct UserArgs {
    /// Tenant id.
    #[arg(long)]
    pub tenant: TenantId,
    /// User id.
    #[arg(long)]
    pub user: UserId,
}

/// One administrative command.
#[derive(Debug, Clone, Serialize, Deserialize, Subcommand)]
pub enum Request {
    /// Manage local users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage local admins (they may read /debug/traffic.har; not tenant users).
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Connect an iCloud account (Apple ID + app-specific password, read
    /// from stdin or prompted for): runs discovery and lists the calendars.
    /// Or, with `--ics URL --name NAME`, add a read-only ICS feed (no password).
    Connect(ConnectArgs),
    /// List the calendars of the connections, with whether each can be connected.
    Calendars(CalendarsArgs),
    /// Choose a user's primary calendar and conflict calendars (ids,
    /// `connection/id`, or unique names), privacy, time zone, working hours
    /// and busy rules.
    Configure(ConfigureArgs),
    /// Remove a connection from a tenant (or from calproxy): its calendar
    /// links and local copies go; nothing is deleted in iCloud.
    Disconnect(DisconnectArgs),
    /// Sync now (all connections, or one).
    Sync(SyncArgs),
    /// Show each connection's health (last sync, last error, throttling,
    /// outbox) and the derived views'.
    Status,
    /// Inspect recorded upstream traffic (secrets redacted).
    #[command(subcommand)]
    Traffic(TrafficCommand),
    /// Send one raw request to a connection's upstream with its credentials
    /// and print the answer (recorded like all traffic).
    Probe(ProbeArgs),
    /// The secret webcal feed of a user's availability.
    #[command(subcommand)]
    Feed(FeedCommand),
    /// Why is a user busy: merged busy intervals in a range and their sources.
    Busy(BusyArgs),
    /// Free slots of a user: bookable start times inside their working
    /// hours, and whether every calendar consulted is current.
    Slots(SlotsArgs),
    /// The running syncs' progress as JSON (what the CLI's progress bar polls).
    #[command(hide = true)]
    Progress,
}

/// `calproxy user …`
#[derive(Debug, Clone, Serialize, Deserialize, Subcommand)]
pub enum UserCommand {
    /// Create a user (and its tenant) or reset its password. The password is
    /// read from standard input (first line) or prompted for without echo.
    Add {
        /// Who.
        #[command(flatten)]
        who: UserArgs,
        /// The new local password (never an argument).
        #[arg(skip)]
        password: WirePassword,
    },
}

/// `calproxy admin …`
#[derive(Debug, Clone, Serialize, Deserialize, Subcommand)]
pub enum AdminCommand {
    /// Create a local admin or reset its password (stdin or prompt).
    Add {
        /// The admin's name (the Basic auth user name).
        #[arg(long)]
        name: UserId,
        /// The password (never an argument).
        #[arg(skip)]
        password: WirePassword,
    },
}

/// `calproxy connect`
#[derive(Debug, Clone, Serialize, Deserialize, Args)]
pub struct ConnectArgs {
    /// Who connects (the connection is attached to their tenant).
    #[command(flatten)]
    pub who: UserArgs,
    /// Apple ID (e-mail); required unless --ics is given.
    #[arg(long, default_value = "", hide_default_value = true)]
    pub apple_id: String,
    /// CalDAV base URL (default: iCloud, in the Apple ID's region).
    #[arg(long, default_value = ICLOUD)]
    pub upstream: String,
    /// Connection id (default: derived from the Apple ID or the feed's name).
    #[arg(long)]
    pub id: Option<ConnectionId>,
    /// An ICS feed instead of a CalDAV account, and where iCloud lives.
    #[command(flatten)]
    #[serde(default)]
    pub options: ConnectOptions,
    /// The app-specific password (never an argument).
    #[arg(skip)]
    pub password: WirePassword,
}

/// The rarer choices of `calproxy connect`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Args)]
pub struct ConnectOptions {
    /// Add a read-only ICS feed (`webcal://`, `https://` or `http://` URL of
    /// an `.ics` file) instead of a CalDAV account; no password is asked.
    #[arg(long, value_name = "URL", conflicts_with_all = ["apple_id", "region"])]
    pub ics: Option<String>,
    /// The feed's name (default: its X-WR-CALNAME).
    #[arg(long, requires = "ics")]
    pub name: Option<String>,
    /// Where the Apple ID's iCloud lives: `cn` for China mainland
    /// (caldav.icloud.com.cn). Default: from the Apple ID's domain
    /// (`@icloud.com.cn` is `cn`), else global.
    #[arg(long, value_enum)]
    pub region: Option<crate::upstream::quirks::Region>,
}

/// `calproxy calendars`
#[derive(Debug, Clone, Default, Serialize, Deserialize, Args)]
pub struct CalendarsArgs {
    /// Only this connection.
    #[arg(long)]
    pub connection: Option<ConnectionId>,
}

/// `calproxy configure`
#[derive(Debug, Clone, Serialize, Deserialize, Args)]
pub struct ConfigureArgs {
    /// Whose choice.
    #[command(flatten)]
    pub who: UserArgs,
    /// The primary linked calendar.
    #[arg(long)]
    pub primary: Option<String>,
    /// A conflict calendar (repeatable).
    #[arg(long = "conflict")]
    pub conflicts: Vec<String>,
    /// Another user of the tenant whose availability blocks this user's (repeatable).
    #[arg(long = "conflict-user")]
    pub conflict_users: Vec<UserId>,
    /// What the user's own views keep of iCloud events (R5): full, summary (default) or busy.
    #[arg(long, value_enum)]
    pub privacy: Option<crate::store::Privacy>,
    /// Time zone, working hours and busy rules (each changed only when given).
    #[command(flatten)]
    pub settings: SettingsArgs,
}

/// `calproxy disconnect`
#[derive(Debug, Clone, Serialize, Deserialize, Args)]
pub struct DisconnectArgs {
    /// The connection.
    #[arg(long)]
    pub connection: ConnectionId,
    /// Only detach it from this tenant (default: from every tenant, and
    /// forget it).
    #[arg(long)]
    pub tenant: Option<TenantId>,
}

/// `calproxy sync`
#[derive(Debug, Clone, Default, Serialize, Deserialize, Args)]
pub struct SyncArgs {
    /// Only this connection.
    #[arg(long)]
    pub connection: Option<ConnectionId>,
    /// Apply the deletions safe sync held back ("held: N deletions need
    /// confirmation" in `calproxy status`).
    #[arg(long)]
    #[serde(default)]
    pub confirm_deletions: bool,
}

/// `calproxy traffic …`
#[derive(Debug, Clone, Serialize, Deserialize, Subcommand)]
pub enum TrafficCommand {
    /// One line per exchange: time, connection, trigger, method, path, status, ms, bytes.
    List(crate::traffic::Filter),
    /// Headers and pretty-printed bodies of one exchange.
    Show {
        /// The id from `traffic list`.
        id: u64,
    },
    /// Follow new exchanges while `calproxy serve` runs.
    Tail,
    /// HAR 1.2 on standard output (open it in a browser's devtools).
    Export(crate::traffic::Filter),
    /// Exchanges recorded after `after` (what `tail` polls).
    #[command(hide = true)]
    Since {
        /// The last id already shown.
        after: u64,
    },
}

fn read_body(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))
}

/// `calproxy probe`
#[derive(Debug, Clone, Serialize, Deserialize, Args)]
pub struct ProbeArgs {
    /// The connection.
    #[arg(long)]
    pub connection: ConnectionId,
    /// PROPFIND, REPORT, GET, … (writes need --allow-write).
    pub method: String,
    /// Path on the upstream server, e.g. /123456789/calendars/.
    pub path: String,
    /// Depth header.
    #[arg(long)]
    pub depth: Option<String>,
    /// File with the request body (read when the command is parsed).
    #[arg(long = "body", value_name = "FILE", value_parser = read_body)]
    pub body: Option<String>,
    /// Allow PUT, DELETE and other writing methods.
    #[arg(long)]
    pub allow_write: bool,
}

/// `calproxy feed …`
#[derive(Debug, Clone, Serialize, Deserialize, Subcommand)]
pub enum FeedCommand {
    /// Print the feed's URL path, creating the secret token if none exists.
    Show(UserArgs),
    /// Replace the token: the old URL answers 404 from now on.
    Rotate(UserArgs),
}

/// `calproxy busy`
#[derive(Debug, Clone, Serialize, Deserialize, Args)]
pub struct BusyArgs {
    /// Whose busy time.
    #[command(flatten)]
    pub who: UserArgs,
    /// Range start (RFC 3339, e.g. 2026-03-02T00:00:00Z).
    #[arg(long)]
    pub from: chrono::DateTime<chrono::FixedOffset>,
    /// Range end (RFC 3339, exclusive).
    #[arg(long)]
    pub to: chrono::DateTime<chrono::FixedOffset>,
    /// Print JSON (the shape of `GET /api/{tenant}/{user}/busy`).
    #[arg(long)]
    pub json: bool,
}

/// `calproxy slots`
#[derive(Debug, Clone, Serialize, Deserialize, Args)]
pub struct SlotsArgs {
    /// Whose slots.
    #[command(flatten)]
    pub who: UserArgs,
    /// Window start (RFC 3339).
    #[arg(long)]
    pub from: chrono::DateTime<chrono::FixedOffset>,
    /// Window end (RFC 3339, exclusive; at most 62 days after --from).
    #[arg(long)]
    pub to: chrono::DateTime<chrono::FixedOffset>,
    /// Slot length, ISO 8601 (PT30M; 5 minutes to 24 hours).
    #[arg(long)]
    pub duration: String,
    /// Between slot starts, ISO 8601 (default: the duration).
    #[arg(long)]
    pub interval: Option<String>,
    /// Free time required before each slot, ISO 8601.
    #[arg(long)]
    pub buffer_before: Option<String>,
    /// Free time required after each slot, ISO 8601.
    #[arg(long)]
    pub buffer_after: Option<String>,
    /// Zone of the local times shown (default: the user's).
    #[arg(long)]
    pub tz: Option<String>,
    /// Print JSON (the shape of `GET /api/{tenant}/{user}/slots`).
    #[arg(long)]
    pub json: bool,
}

/// The password a command carries, to be filled in by the CLI.
pub struct PasswordSlot<'a> {
    /// Where it goes.
    pub password: &'a mut WirePassword,
    /// What to ask for it.
    pub prompt: &'static str,
}

impl Request {
    /// The password a command carries, to be filled in by the CLI (read
    /// from stdin or a prompt), with the prompt to show.
    pub fn password_slot(&mut self) -> Option<PasswordSlot<'_>> {
        let (password, prompt) = match self {
            Request::User(UserCommand::Add { password, .. }) => {
                (password, "password for the user: ")
            }
            Request::Admin(AdminCommand::Add { password, .. }) => {
                (password, "password for the admin: ")
            }
            // No password for an ICS feed; none before the Apple ID is known.
            Request::Connect(c) if c.options.ics.is_none() && !c.apple_id.trim().is_empty() => {
                (&mut c.password, "app-specific password: ")
            }
            _ => return None,
        };
        Some(PasswordSlot { password, prompt })
    }
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

/// What a connection whose app-specific password stopped working needs
/// (a 401 after it worked: revoked, or every one revoked by a change of
/// the Apple ID password; ICLOUD.md §1.4).
pub const RECONNECT_REQUIRED: &str = "reconnect required: the app-specific password was revoked \
  or the Apple ID password changed — generate a new one";

/// Where to generate it, and what to run then.
pub const RECONNECT_HOW: &str = "create a new app-specific password at appleid.apple.com \
  (Sign-In and Security > App-Specific Passwords), then run `calproxy connect` again with it; \
  calproxy does not poll this connection until then";

/// Where a command runs: the data directory it names.
pub fn data_dir(data: Option<PathBuf>) -> PathBuf {
    data.unwrap_or_else(|| PathBuf::from("calproxy-data"))
}

/// Executes a request.
pub async fn execute(app: &App, req: Request) -> Response {
    match req {
        Request::User(UserCommand::Add { who, password }) => {
            let password = password.secret();
            let added = accounts::check_new_password(&password)
                .and_then(|()| accounts::add_user(&app.store, &who.tenant, &who.user, &password));
            match added {
                Ok(created) => {
                    let _ = app.store.flush().await;
                    Response::ok(format!(
                        "{} user {}@{}\n",
                        if created {
                            "created"
                        } else {
                            "updated password of"
                        },
                        who.user,
                        who.tenant
                    ))
                }
                Err(e) => Response::fail(format!("cannot add the user: {e}\n")),
            }
        }
        Request::Admin(AdminCommand::Add { name, password }) => {
            let password = password.secret();
            if let Err(e) = accounts::check_new_password(&password) {
                return Response::fail(format!("cannot add the admin: {e}\n"));
            }
            match crate::crypto::hash_password(&password) {
                Ok(hash) => match app.store.put_admin(&name, &hash) {
                    Ok(()) => {
                        let _ = app.store.flush().await;
                        Response::ok(format!("admin {name} can read /debug/traffic.har\n"))
                    }
                    Err(e) => Response::fail(format!("storage failed: {e}\n")),
                },
                Err(e) => Response::fail(format!("{e}\n")),
            }
        }
        Request::Connect(c) => connections::connect(app, c).await,
        Request::Calendars(c) => connections::calendars(app, c.connection.as_ref()),
        Request::Configure(c) => configure::configure(app, &c).await,
        Request::Disconnect(d) => disconnect::disconnect(app, &d).await,
        Request::Sync(s) => status::sync_now(app, &s).await,
        Request::Status => status::status(app),
        Request::Traffic(t) => traffic::execute(app, t),
        Request::Probe(p) => traffic::probe(app, &p).await,
        Request::Feed(FeedCommand::Show(who)) => availability::feed(app, &who, false).await,
        Request::Feed(FeedCommand::Rotate(who)) => availability::feed(app, &who, true).await,
        Request::Busy(b) => availability::busy(app, &b),
        Request::Slots(s) => availability::slots(app, &s),
        Request::Progress => match serde_json::to_string(&app.engine.progress().all()) {
            Ok(json) => Response::ok(json),
            Err(e) => Response::fail(format!("cannot render: {e}\n")),
        },
    }
}
