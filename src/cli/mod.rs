//! The command line (clap): `demo`, `serve`, `certs`, and every
//! administrative command of `admin::Request` (`user add`, `connect`,
//! `calendars`, `configure`, `disconnect`, `sync`, `status`, `traffic …`,
//! `probe`, `feed show|rotate`, `busy`, `admin add`). `sync` and `connect`
//! show their progress on a terminal (`progress`).
//!
//! Builds a `Config`, opens the store and starts the server; fills in the
//! passwords an admin command needs; holds no protocol logic.

mod args;
mod dispatch;
mod process;
mod progress;
mod serve;

pub use args::*;
pub use process::{log_colour, prepare};

use anyhow::{Context, Result};
use sha2::Digest as _;

use crate::admin::{self, TrafficCommand};
use crate::config::Config;
use crate::server::tls;
use crate::state::App;
use crate::{sync, upstream};

use dispatch::{open_store_with, read_password, run_admin, tail};
use serve::{run_demo, serve};

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Demo {
            listen,
            tls,
            tls_names,
            sync,
        } => run_demo(listen, cli.data, tls, tls_names, &sync).await,
        Command::Serve {
            listen,
            tls,
            tls_names,
            max_body,
            sync_interval,
            sync,
            limits,
            metrics_token,
        } => {
            let data = admin::data_dir(cli.data);
            let mut config = Config::new(listen, data.clone());
            apply_sync_flags(&mut config, &sync)?;
            if let Some(secs) = sync_interval {
                config.sync.interval = std::time::Duration::from_secs(secs.max(1));
            }
            config.tls_dir = tls;
            config.tls_names = tls_names;
            config.limits.max_body_bytes = max_body;
            for l in &limits {
                config
                    .limits
                    .set(l)
                    .with_context(|| format!("--limit {l}"))?;
            }
            config.metrics.token_sha256 = metrics_token
                .filter(|t| !t.is_empty())
                .map(|t| sha2::Sha256::digest(t.as_bytes()).into());
            let store = open_store_with(&data, &crate::config::StoreOptions::of(&config))?;
            let engine = sync::EngineConfig::every(config.sync.interval);
            let app = App::new(store, config);
            serve(app, None, Some(engine)).await
        }
        Command::Certs { dir, tls_names } => {
            println!("{}", tls::ensure(&dir, &tls_names)?);
            Ok(())
        }
        Command::Admin(req) => admin_command(admin::data_dir(cli.data), req).await,
    }
}

/// The configuration file, then the window flags, into `config`.
fn apply_sync_flags(config: &mut Config, flags: &SyncFlags) -> Result<()> {
    if let Some(path) = &flags.config {
        let file = crate::config::ConfigFile::read(path)?;
        file.apply(config)?;
    }
    config.availability = crate::config::AvailabilityWindow::checked(
        flags.past_days.unwrap_or(config.availability.past_days),
        flags.future_days.unwrap_or(config.availability.future_days),
    )
    .context("--past-days / --future-days")?;
    Ok(())
}

/// Runs one administrative command: fills in its password, then sends it
/// to a running server or runs it in process.
async fn admin_command(data: std::path::PathBuf, mut req: admin::Request) -> Result<()> {
    if let admin::Request::Traffic(TrafficCommand::Tail) = req {
        return tail(&data).await;
    }
    let is_connect = matches!(req, admin::Request::Connect(_));
    if let Some(admin::PasswordSlot {
        password: slot,
        prompt,
    }) = req.password_slot()
    {
        let password = read_password(prompt)?;
        if is_connect && !upstream::quirks::looks_app_specific(password.expose()) {
            eprintln!(
                "warning: this does not look like an app-specific password (xxxx-xxxx-xxxx-xxxx).\n\
                 iCloud refuses your Apple ID password; create an app-specific one at appleid.apple.com\n\
                 (Sign-In and Security > App-Specific Passwords). Trying anyway."
            );
        }
        *slot = admin::WirePassword::new(&password);
    }
    if matches!(req, admin::Request::Sync(_) | admin::Request::Connect(_)) {
        return progress::run(&data, req).await;
    }
    run_admin(&data, req).await
}
