//! The command line (clap): `demo`, `serve`, `certs`, `user add`,
//! `connect`, `calendars`, `configure`, `sync`, `status`, `feed show|rotate`,
//! `busy`.
//!
//! Builds a `Config`, opens the store and starts the server; holds no
//! protocol logic.

use std::io::{BufRead, IsTerminal};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::availability;
use crate::config::Config;
use crate::ids::{ConnectionId, FeedToken, TenantId, UserId};
use crate::secret::Secret;
use crate::server::{self, tls};
use crate::state::App;
use crate::store::Store;
use crate::{admin, demo, sync, upstream};

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
    /// Generate a self-signed certificate for localhost (unless one exists).
    Certs {
        /// Directory for calproxy.crt and calproxy.key.
        #[arg(long, default_value = "certs")]
        dir: PathBuf,
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

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Demo { listen, data, tls } => run_demo(listen, data, tls).await,
        Command::Serve {
            listen,
            data,
            tls,
            max_body,
            sync_interval,
        } => {
            let store = open_store(&data)?;
            let mut config = Config::new(listen, data);
            config.tls_dir = tls;
            config.limits.max_body_bytes = max_body;
            let app = App::new(store, config);
            let engine = sync::EngineConfig {
                interval: std::time::Duration::from_secs(sync_interval.max(1)),
                jitter: std::time::Duration::from_secs(sync_interval / 10),
                ..Default::default()
            };
            serve(app, None, Some(engine)).await
        }
        Command::Connect {
            tenant,
            user,
            apple_id,
            upstream,
            id,
            data,
        } => {
            let password = read_password("app-specific password: ")?;
            if !upstream::quirks::looks_app_specific(password.expose()) {
                eprintln!(
                    "warning: this does not look like an app-specific password (xxxx-xxxx-xxxx-xxxx).\n\
                     iCloud refuses your Apple ID password; create an app-specific one at appleid.apple.com\n\
                     (Sign-In and Security > App-Specific Passwords). Trying anyway."
                );
            }
            let req = admin::Request::Connect {
                tenant,
                user,
                apple_id,
                password: admin::WirePassword::new(&password),
                upstream,
                id,
            };
            run_admin(&data, req).await
        }
        Command::Calendars { connection, data } => {
            run_admin(&data, admin::Request::Calendars { connection }).await
        }
        Command::Configure {
            tenant,
            user,
            primary,
            conflicts,
            conflict_users,
            privacy,
            data,
        } => {
            let req = admin::Request::Configure {
                tenant,
                user,
                primary,
                conflicts,
                conflict_users,
                privacy,
            };
            run_admin(&data, req).await
        }
        Command::Sync { connection, data } => {
            if std::io::stderr().is_terminal() {
                eprintln!("syncing…");
            }
            run_admin(&data, admin::Request::Sync { connection }).await
        }
        Command::Status { data } => run_admin(&data, admin::Request::Status).await,
        Command::Admin {
            action: AdminAction::Add { name, data },
        } => {
            let password = read_password("password for the admin: ")?;
            let req = admin::Request::AdminAdd {
                name,
                password: admin::WirePassword::new(&password),
            };
            run_admin(&data, req).await
        }
        Command::Traffic { action } => traffic(action).await,
        Command::Probe {
            connection,
            method,
            path,
            depth,
            body,
            allow_write,
            data,
        } => {
            let body = match body {
                Some(f) => Some(
                    std::fs::read_to_string(&f)
                        .with_context(|| format!("cannot read {}", f.display()))?,
                ),
                None => None,
            };
            let req = admin::Request::Probe(crate::inspect::Probe {
                connection,
                method,
                path,
                depth,
                body,
                allow_write,
            });
            run_admin(&data, req).await
        }
        Command::Certs { dir } => {
            if tls::ensure_self_signed(&dir)? {
                println!("created {}", dir.join(tls::CERT_FILE).display());
            } else {
                println!("{} already exists", dir.join(tls::CERT_FILE).display());
            }
            Ok(())
        }
        Command::Feed {
            action: FeedAction::Show { tenant, user, data },
        } => run_admin(&data, admin::Request::FeedShow { tenant, user }).await,
        Command::Feed {
            action: FeedAction::Rotate { tenant, user, data },
        } => run_admin(&data, admin::Request::FeedRotate { tenant, user }).await,
        Command::Busy {
            tenant,
            user,
            from,
            to,
            json,
            data,
        } => {
            let req = admin::Request::Busy {
                tenant,
                user,
                from: from.with_timezone(&chrono::Utc),
                to: to.with_timezone(&chrono::Utc),
                json,
            };
            run_admin(&data, req).await
        }
        Command::User {
            action: UserAction::Add { tenant, user, data },
        } => {
            let password = read_password("password for the new user: ")?;
            let req = admin::Request::UserAdd {
                tenant,
                user,
                password: admin::WirePassword::new(&password),
            };
            run_admin(&data, req).await
        }
    }
}

/// Sends an admin request to a running server's socket, or executes it in
/// process on the data directory when no server runs. The flag says which.
async fn admin_call(data: &Path, req: admin::Request) -> Result<(admin::Response, bool)> {
    #[cfg(unix)]
    let answered = admin::send_to_server(data, &req).await;
    #[cfg(not(unix))]
    let answered = None;
    Ok(match answered {
        Some(r) => (r, true),
        None => {
            let store = open_store(data)?;
            let app = App::new(
                store,
                Config::new(DEFAULT_LISTEN.parse()?, data.to_path_buf()),
            );
            let r = admin::execute(&app, req).await;
            app.store.flush().await?;
            (r, false)
        }
    })
}

async fn traffic(action: TrafficAction) -> Result<()> {
    match action {
        TrafficAction::List {
            connection,
            status,
            method,
            limit,
            data,
        } => {
            let f = crate::inspect::ListFilter {
                connection,
                status,
                method,
                limit,
            };
            run_admin(&data, admin::Request::TrafficList(f)).await
        }
        TrafficAction::Show { id, data } => {
            run_admin(&data, admin::Request::TrafficShow { id }).await
        }
        TrafficAction::Export {
            connection,
            since,
            data,
        } => {
            let req = admin::Request::TrafficExport {
                connection,
                since_ms: since.map(|t| t.timestamp_millis()),
            };
            run_admin(&data, req).await
        }
        TrafficAction::Tail { data } => {
            let mut after = 0;
            loop {
                let (resp, live) =
                    admin_call(&data, admin::Request::TrafficSince { after }).await?;
                print!("{}", resp.output);
                after = resp.cursor.unwrap_or(after);
                if !live {
                    eprintln!(
                        "(calproxy serve is not running on this data directory: nothing to follow)"
                    );
                    return Ok(());
                }
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => return Ok(()),
                    _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                }
            }
        }
    }
}

/// Runs an admin request (see [`admin_call`]) and prints its output.
async fn run_admin(data: &Path, req: admin::Request) -> Result<()> {
    let (resp, _) = admin_call(data, req).await?;
    print!("{}", resp.output);
    if resp.ok {
        Ok(())
    } else {
        bail!("the command failed")
    }
}

fn open_store(dir: &Path) -> Result<Store> {
    Store::open(dir).with_context(|| {
        format!(
            "cannot open the data directory {} (is another calproxy using it?)",
            dir.display()
        )
    })
}

/// Reads a secret: the first line of stdin when piped, else a prompt without echo.
fn read_password(prompt: &str) -> Result<Secret<String>> {
    let stdin = std::io::stdin();
    let line = if stdin.is_terminal() {
        rpassword::prompt_password(prompt).context("cannot read the password")?
    } else {
        let mut s = String::new();
        stdin
            .lock()
            .read_line(&mut s)
            .context("cannot read the password")?;
        s
    };
    let pw = line.trim_end_matches(['\r', '\n']).to_string();
    if pw.is_empty() {
        bail!("the password is empty");
    }
    Ok(Secret::new(pw))
}

async fn run_demo(
    listen: SocketAddr,
    data: Option<PathBuf>,
    tls_dir: Option<PathBuf>,
) -> Result<()> {
    let (dir, _guard) = match data {
        Some(d) => (d, None),
        None => {
            let t = tempfile_dir()?;
            (t.path().to_path_buf(), Some(t))
        }
    };
    let store = open_store(&dir)?;
    let mut config = Config::new(listen, dir);
    config.tls_dir = tls_dir;
    let app = App::new(store, config);
    let sim_stop = CancellationToken::new();
    let (sim, tenant, user) = demo::start_with_sim(&app, sim_stop.clone()).await?;
    let token = ensure_feed_token(&app.store, &tenant, &user)?;
    availability::refresh(&app, &tenant, &user)?;
    app.store.flush().await?;
    let engine = sync::EngineConfig {
        interval: std::time::Duration::from_secs(15),
        jitter: std::time::Duration::from_secs(1),
        ..Default::default()
    };
    let demo = Demo {
        tenant,
        user,
        token,
        sim_url: sim.front_url(),
    };
    let result = serve(app, Some(demo), Some(engine)).await;
    sim_stop.cancel();
    result
}

/// What the demo banner prints.
struct Demo {
    tenant: TenantId,
    user: UserId,
    token: FeedToken,
    sim_url: String,
}

fn tempfile_dir() -> Result<TempDir> {
    let base = std::env::temp_dir().join(format!("calproxy-demo-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&base)?;
    Ok(TempDir(base))
}

/// A directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn ensure_feed_token(store: &Store, t: &TenantId, u: &UserId) -> Result<FeedToken> {
    let mut rec = store.user(t, u)?.context("demo user missing")?;
    if let Some(tok) = &rec.feed_token {
        return Ok(tok.clone());
    }
    let tok = FeedToken::new(uuid::Uuid::new_v4().simple().to_string())?;
    rec.feed_token = Some(tok.clone());
    store.put_user(t, u, &rec)?;
    Ok(tok)
}

async fn serve(app: App, demo: Option<Demo>, engine: Option<sync::EngineConfig>) -> Result<()> {
    let tls = match &app.config.tls_dir {
        Some(dir) => {
            tls::ensure_self_signed(dir)?;
            Some(tls::server_config(dir)?)
        }
        None => None,
    };
    let listener = TcpListener::bind(app.config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", app.config.listen))?;
    let addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let base = format!("{scheme}://{addr}");
    if let Some(Demo {
        tenant: t,
        user: u,
        token,
        sim_url,
    }) = &demo
    {
        println!("calproxy demo is running against a simulated iCloud ({sim_url}).\n");
        println!("  CalDAV server   {base}/dav/   (or {base}/.well-known/caldav)");
        println!("  user / password {u} / {}", demo::PASSWORD);
        println!("  calendar home   {base}/dav/{t}/{u}/");
        println!("    primary       {base}/dav/{t}/{u}/primary/       (linked to iCloud \"Home\": new events go there)");
        println!("    blocked       {base}/dav/{t}/{u}/blocked/       (read-write, local only)");
        println!(
            "    work          {base}/dav/{t}/{u}/work/          (read-only conflict calendar)"
        );
        println!(
            "    availability  {base}/dav/{t}/{u}/availability/  (read-only, merged busy time)"
        );
        println!(
            "  webcal feed     {base}/feeds/{}/availability.ics",
            token.expose()
        );
        println!("  health          {base}/healthz\n");
        println!("Press Ctrl-C to stop.");
    } else {
        println!("calproxy listening on {base}/dav/");
    }
    let shutdown = CancellationToken::new();
    let s2 = shutdown.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        s2.cancel();
    });
    #[cfg(unix)]
    {
        let (app2, dir, stop) = (app.clone(), app.config.data_dir.clone(), shutdown.clone());
        tokio::spawn(async move {
            if let Err(e) = admin::serve_socket(app2, &dir, stop).await {
                tracing::warn!(error = %e, "admin socket unavailable; CLI commands need the server stopped");
            }
        });
    }
    let warm = app.clone();
    tokio::task::spawn_blocking(move || availability::warm(&warm));
    if let Some(cfg) = engine {
        tokio::spawn(sync::run(app.clone(), cfg, shutdown.clone()));
        tokio::spawn(sync::outbox::run(
            app.clone(),
            app.outbox.clone(),
            std::time::Duration::from_secs(5),
            shutdown.clone(),
        ));
    }
    server::run(listener, app, tls, shutdown).await?;
    Ok(())
}
