//! The command line (clap): `demo`, `serve`, `certs`, `user add`.
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

use crate::config::Config;
use crate::handlers::availability;
use crate::ids::{FeedToken, TenantId, UserId};
use crate::secret::Secret;
use crate::server::{self, tls};
use crate::state::App;
use crate::store::Store;
use crate::{accounts, demo};

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
    },
    /// Generate a self-signed certificate for localhost (unless one exists).
    Certs {
        /// Directory for calproxy.crt and calproxy.key.
        #[arg(long, default_value = "certs")]
        dir: PathBuf,
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

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Demo { listen, data, tls } => run_demo(listen, data, tls).await,
        Command::Serve {
            listen,
            data,
            tls,
            max_body,
        } => {
            let store = open_store(&data)?;
            let mut config = Config::new(listen, data);
            config.tls_dir = tls;
            config.limits.max_body_bytes = max_body;
            let app = App::new(store, config);
            serve(app, None).await
        }
        Command::Certs { dir } => {
            if tls::ensure_self_signed(&dir)? {
                println!("created {}", dir.join(tls::CERT_FILE).display());
            } else {
                println!("{} already exists", dir.join(tls::CERT_FILE).display());
            }
            Ok(())
        }
        Command::User {
            action: UserAction::Add { tenant, user, data },
        } => {
            let password = read_password("password for the new user: ")?;
            let store = open_store(&data)?;
            let created = accounts::add_user(&store, &tenant, &user, &password)?;
            store.flush().await?;
            println!(
                "{} user {user}@{tenant}",
                if created {
                    "created"
                } else {
                    "updated password of"
                }
            );
            Ok(())
        }
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
    let (tenant, user) = demo::seed(&store)?;
    let token = ensure_feed_token(&store, &tenant, &user)?;
    let mut config = Config::new(listen, dir);
    config.tls_dir = tls_dir;
    let app = App::new(store, config);
    availability::refresh(&app, &tenant, &user)?;
    app.store.flush().await?;
    serve(app, Some((tenant, user, token))).await
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

async fn serve(app: App, demo: Option<(TenantId, UserId, FeedToken)>) -> Result<()> {
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
    if let Some((t, u, token)) = &demo {
        println!("calproxy demo is running.\n");
        println!("  CalDAV server   {base}/dav/   (or {base}/.well-known/caldav)");
        println!("  user / password {u} / {}", demo::PASSWORD);
        println!("  calendar home   {base}/dav/{t}/{u}/");
        println!("    primary       {base}/dav/{t}/{u}/primary/       (read-write)");
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
    server::run(listener, app, tls, shutdown).await?;
    Ok(())
}
