//! The command-line grammar: `serve`, `demo` and `certs`, plus every
//! administrative command, which is `admin::Request` itself (flattened:
//! one grammar for the CLI, the admin socket and the console).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::admin;

/// The default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:5233";

/// calproxy: a local CalDAV proxy for iCloud calendars.
#[derive(Parser, Debug)]
#[command(name = "calproxy", version, about)]
pub struct Cli {
    /// Data directory (default: calproxy-data; for `demo`, a fresh temporary directory).
    #[arg(long, global = true, value_name = "DIR")]
    pub data: Option<PathBuf>,
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
        /// Serve HTTPS with the certificate in this directory (created if missing).
        #[arg(long, value_name = "CERT_DIR", num_args = 0..=1, default_missing_value = "certs")]
        tls: Option<PathBuf>,
        /// Another host name or IP address for the certificate, besides
        /// localhost, 127.0.0.1 and ::1 (repeatable).
        #[arg(long = "tls-name", value_name = "NAME", requires = "tls")]
        tls_names: Vec<String>,
        /// The sync window and safety settings.
        #[command(flatten)]
        sync: SyncFlags,
    },
    /// Serve the CalDAV server from a data directory.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = DEFAULT_LISTEN)]
        listen: SocketAddr,
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
        /// Seconds between background syncs of each connection (plus jitter;
        /// default 60, or `[sync] interval_seconds`).
        #[arg(long)]
        sync_interval: Option<u64>,
        /// The sync window and safety settings.
        #[command(flatten)]
        sync: SyncFlags,
        /// Set a server limit by name (repeatable), e.g.
        /// `--limit header_read_timeout=10s`; the README's Limits table lists them.
        #[arg(long = "limit", value_name = "NAME=VALUE")]
        limits: Vec<String>,
        /// A bearer token that may read /metrics from any address (set it
        /// through the environment: arguments are visible to local users).
        #[arg(long, env = "CALPROXY_METRICS_TOKEN", hide_env_values = true)]
        metrics_token: Option<String>,
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
    /// An administrative command (see `admin::Request`).
    #[command(flatten)]
    Admin(admin::Request),
}

/// `serve` and `demo`: the configuration file and the sync window (flags
/// win over the file).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct SyncFlags {
    /// A TOML configuration file (`[sync]`: interval_seconds, past_days,
    /// future_days, hold_deletions_above_percent, full_reconcile_hours).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Days back that busy time is kept, expanded and published (the sync
    /// window; default 30).
    #[arg(long, value_name = "DAYS")]
    pub past_days: Option<i64>,
    /// Days ahead that busy time is kept, expanded and published (default 365).
    #[arg(long, value_name = "DAYS")]
    pub future_days: Option<i64>,
}
