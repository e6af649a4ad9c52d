//! The command-line grammar (clap derive): commands, flags, defaults.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::ids::{ConnectionId, TenantId, UserId};

/// The default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:5233";

/// calproxy: a local CalDAV proxy for iCloud calendars.
#[derive(Parser, Debug)]
#[command(name = "calproxy", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Sub-commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Start calproxy with a demo tenant and sample calendars, and print the URLs.
    Demo {
        /// Address to listen on.
        #[arg(long, default_value = DEFAULT_LISTEN)]
        listen: SocketAddr,
        /// Data directory (default: a fresh temporary directory).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Serve HTTPS with the certificate in this directory (created if missing).
        #[arg(long, value_name = "CERT_DIR", num_args = 0..=1, default_missing_value = "certs")]
        tls: Option<PathBuf>,
        /// Another host name or IP address for the certificate, besides
        /// localhost, 127.0.0.1 and ::1 (repeatable).
        #[arg(long = "tls-name", value_name = "NAME", requires = "tls")]
        tls_names: Vec<String>,
    },
    /// Serve the CalDAV server from a data directory.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = DEFAULT_LISTEN)]
        listen: SocketAddr,
        /// Data directory.
        #[arg(long, default_value = "calproxy-data")]
        data: PathBuf,
        /// Serve HTTPS with the certificate in this directory (created if missing).
        #[arg(long, value_name = "CERT_DIR", num_args = 0..=1, default_missing_value = "certs")]
        tls: Option<PathBuf>,
        /// Another host name or IP address for the certificate, besides
        /// localhost, 127.0.0.1 and ::1 (repeatable).
        #[arg(long = "tls-name", value_name = "NAME", requires = "tls")]
        tls_names: Vec<String>,
        /// Largest request body in bytes (413 above).
        #[arg(long, default_value_t = 10 * 1024 * 1024)]
        max_body: usize,
        /// Seconds between background syncs of each connection (plus jitter).
        #[arg(long, default_value_t = 60)]
        sync_interval: u64,
    },
    /// Connect an iCloud account (Apple ID + app-specific password, read
    /// from stdin or prompted for): runs discovery and lists the calendars.
    Connect {
        /// Tenant.
        #[arg(long)]
        tenant: TenantId,
        /// User.
        #[arg(long)]
        user: UserId,
        /// Apple ID (e-mail).
        #[arg(long)]
        apple_id: String,
        /// CalDAV base URL.
        #[arg(long, default_value = "https://caldav.icloud.com")]
        upstream: String,
        /// Connection id (default: derived from the Apple ID).
        #[arg(long)]
        id: Option<ConnectionId>,
        /// Data directory.
        #[arg(long, default_value = "calproxy-data")]
        data: PathBuf,
    },
    /// List the calendars of the connections, with whether each can be connected.
    Calendars {
        /// Only this connection.
        #[arg(long)]
        connection: Option<ConnectionId>,
        /// Data directory.
        #[arg(long, default_value = "calproxy-data")]
        data: PathBuf,
    },
    /// Choose a user's primary calendar and conflict calendars (ids or unique names).
    Configure {
        /// Tenant.
        #[arg(long)]
        tenant: TenantId,
        /// User.
        #[arg(long)]
        user: UserId,
        /// The primary linked calendar.
        #[arg(long)]
        primary: Option<String>,
        /// A conflict calendar (repeatable).
        #[arg(long = "conflict")]
        conflicts: Vec<String>,
        /// Another user of the tenant whose availability blocks this user's (repeatable).
        #[arg(long = "conflict-user")]
        conflict_users: Vec<UserId>,
        /// What the user's own views keep of iCloud events (R5): full, summary (default) or busy.
        #[arg(long, value_enum)]
        privacy: Option<crate::store::Privacy>,
        /// Data directory.
        #[arg(long, default_value = "calproxy-data")]
        data: PathBuf,
    },
    /// Sync now (all connections, or one).
    Sync {
        /// Only this connection.
        #[arg(long)]
        connection: Option<ConnectionId>,
        /// Data directory.
        #[arg(long, default_value = "calproxy-data")]
        data: PathBuf,
    },
    /// Show each connection's health: last sync, last error, throttling, outbox.
    Status {
        /// Data directory.
        #[arg(long, default_value = "calproxy-data")]
        data: PathBuf,
    },
    /// Manage local admins (they may read /debug/traffic.har; not tenant users).
    Admin {
        /// The admin action.
        #[command(subcommand)]
        action: AdminAction,
    },
    /// Inspect recorded upstream traffic (secrets redacted).
    Traffic {
        /// The traffic action.
        #[command(subcommand)]
        action: TrafficAction,
    },
    /// Send one raw request to a connection's upstream with its credentials
    /// and print the answer (recorded like all traffic).
    Probe {
        /// The connection.
        #[arg(long)]
        connection: ConnectionId,
        /// PROPFIND, REPORT, GET, … (writes need --allow-write).
        method: String,
        /// Path on the upstream server, e.g. /123456789/calendars/.
        path: String,
        /// Depth header.
        #[arg(long)]
        depth: Option<String>,
        /// File with the request body.
        #[arg(long)]
        body: Option<PathBuf>,
        /// Allow PUT, DELETE and other writing methods.
        #[arg(long)]
        allow_write: bool,
        /// Data directory.
        #[arg(long, default_value = "calproxy-data")]
        data: PathBuf,
    },
    /// Create the local CA and a certificate for localhost signed by it, or
    /// renew the certificate when it is due (the CA stays).
    Certs {
        /// Directory for ca.crt, ca.key, calproxy.crt and calproxy.key.
        #[arg(long, default_value = "certs")]
        dir: PathBuf,
        /// Another host name or IP address for the certificate, besides
        /// localhost, 127.0.0.1 and ::1 (repeatable).
        #[arg(long = "tls-name", value_name = "NAME")]
        tls_names: Vec<String>,
    },
    /// The secret webcal feed of a user's availability.
    Feed {
        /// The feed action.
        #[command(subcommand)]
        action: FeedAction,
    },
    /// Why is a user busy: merged busy intervals in a range and their sources.
    Busy {
        /// Tenant.
        #[arg(long)]
        tenant: TenantId,
        /// User.
        #[arg(long)]
        user: UserId,
        /// Range start (RFC 3339, e.g. 2026-03-02T00:00:00Z).
        #[arg(long)]
        from: chrono::DateTime<chrono::FixedOffset>,
        /// Range end (RFC 3339, exclusive).
        #[arg(long)]
        to: chrono::DateTime<chrono::FixedOffset>,
        /// Print JSON (the shape of `GET /api/{tenant}/{user}/busy`).
        #[arg(long)]
        json: bool,
        /// Data directory.
        #[arg(long, default_value = "calproxy-data")]
        data: PathBuf,
    },
    /// Manage local users.
    User {
        /// The user action.
        #[command(subcommand)]
        action: UserAction,
    },
}

/// `calproxy user …`
#[derive(Subcommand, Debug)]
pub enum UserAction {
    /// Create a user (and its tenant) or reset its password. The password is
    /// read from standard input (first line) or prompted for without echo.
    Add {
        /// Tenant id.
        #[arg(long)]
        tenant: TenantId,
        /// User id.
        #[arg(long)]
        user: UserId,
        /// Data directory.
        #[arg(long, default_value = "calproxy-data")]
        data: PathBuf,
    },
}

/// `calproxy admin …`
#[derive(Subcommand, Debug)]
pub enum AdminAction {
    /// Create a local admin or reset its password (stdin or prompt).
    Add {
        /// The admin's name.
        #[arg(long)]
        name: UserId,
        /// Data directory.
        #[arg(long, default_value = "calproxy-data")]
        data: PathBuf,
    },
}

/// `calproxy traffic …`
#[derive(Subcommand, Debug)]
pub enum TrafficAction {
    /// One line per exchange: time, connection, trigger, method, path, status, ms, bytes.
    List {
        /// Only this connection.
        #[arg(long)]
        connection: Option<String>,
        /// Only this status.
        #[arg(long)]
        status: Option<u16>,
        /// Only this method.
        #[arg(long)]
        method: Option<String>,
        /// Only the newest N.
        #[arg(long)]
        limit: Option<usize>,
        /// Data directory.
        #[arg(long, default_value = "calproxy-data")]
        data: PathBuf,
    },
    /// Headers and pretty-printed bodies of one exchange.
    Show {
        /// The id from `traffic list`.
        id: u64,
        /// Data directory.
        #[arg(long, default_value = "calproxy-data")]
        data: PathBuf,
    },
    /// Follow new exchanges while `calproxy serve` runs.
    Tail {
        /// Data directory.
        #[arg(long, default_value = "calproxy-data")]
        data: PathBuf,
    },
    /// HAR 1.2 on standard output (open it in a browser's devtools).
    Export {
        /// Only this connection.
        #[arg(long)]
        connection: Option<String>,
        /// Only exchanges since this time (RFC 3339, e.g. 2026-11-25T10:00:00Z).
        #[arg(long)]
        since: Option<chrono::DateTime<chrono::FixedOffset>>,
        /// Data directory.
        #[arg(long, default_value = "calproxy-data")]
        data: PathBuf,
    },
}

/// `calproxy feed …`
#[derive(Subcommand, Debug)]
pub enum FeedAction {
    /// Print the feed's URL path, creating the secret token if none exists.
    Show {
        /// Tenant id.
        #[arg(long)]
        tenant: TenantId,
        /// User id.
        #[arg(long)]
        user: UserId,
        /// Data directory.
        #[arg(long, default_value = "calproxy-data")]
        data: PathBuf,
    },
    /// Replace the token: the old URL answers 404 from now on.
    Rotate {
        /// Tenant id.
        #[arg(long)]
        tenant: TenantId,
        /// User id.
        #[arg(long)]
        user: UserId,
        /// Data directory.
        #[arg(long, default_value = "calproxy-data")]
        data: PathBuf,
    },
}
