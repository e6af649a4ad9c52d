//! The command line (clap): `demo`, `serve`, `certs`, `user add`,
//! `connect`, `calendars`, `configure`, `sync`, `status`, `feed show|rotate`,
//! `busy`.
//!
//! Builds a `Config`, opens the store and starts the server; holds no
//! protocol logic.

mod args;
mod remote;
mod serve;

pub use args::*;

use std::io::IsTerminal;

use anyhow::{Context, Result};

use crate::config::Config;
use crate::server::tls;
use crate::state::App;
use crate::{admin, sync, upstream};

use remote::{open_store, read_password, run_admin, traffic};
use serve::{run_demo, serve};

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Demo {
            listen,
            data,
            tls,
            tls_names,
        } => run_demo(listen, data, tls, tls_names).await,
        Command::Serve {
            listen,
            data,
            tls,
            tls_names,
            max_body,
            sync_interval,
        } => {
            let store = open_store(&data)?;
            let mut config = Config::new(listen, data);
            config.tls_dir = tls;
            config.tls_names = tls_names;
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
        Command::Certs { dir, tls_names } => {
            println!("{}", tls::ensure(&dir, &tls_names)?);
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
