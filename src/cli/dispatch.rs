//! Running admin requests: through a running server's socket or in
//! process (`traffic tail` polls); reading passwords; opening the store.

use std::io::{BufRead, IsTerminal};
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::admin;
use crate::config::Config;
use crate::secret::Secret;
use crate::state::App;
use crate::store::Store;

use super::DEFAULT_LISTEN;

/// Sends an admin request to a running server's socket, or executes it in
/// process on the data directory when no server runs. The flag says which.
pub(super) async fn admin_call(
    data: &Path,
    req: admin::Request,
) -> Result<(admin::Response, bool)> {
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

/// Where admin requests of one command go: a running server's socket, or
/// an app opened in process on the data directory (once, for every
/// request of the command).
#[derive(Clone)]
pub(super) enum Target {
    /// `calproxy serve` runs on the data directory.
    Socket(std::path::PathBuf),
    /// Nobody does: the store is opened here.
    Local(Box<App>),
}

impl Target {
    /// Finds a running server, or opens the store.
    pub(super) async fn open(data: &Path) -> Result<Self> {
        #[cfg(unix)]
        if tokio::net::UnixStream::connect(data.join(admin::SOCKET))
            .await
            .is_ok()
        {
            return Ok(Target::Socket(data.to_path_buf()));
        }
        let store = open_store(data)?;
        Ok(Target::Local(Box::new(App::new(
            store,
            Config::new(DEFAULT_LISTEN.parse()?, data.to_path_buf()),
        ))))
    }

    /// Makes what was done in process durable.
    pub(super) async fn close(&self) -> Result<()> {
        if let Target::Local(app) = self {
            app.store.flush().await?;
        }
        Ok(())
    }
}

/// Runs one request on a target.
pub(super) async fn admin_call_on(target: &Target, req: admin::Request) -> Result<admin::Response> {
    match target {
        #[cfg(unix)]
        Target::Socket(data) => admin::send_to_server(data, &req)
            .await
            .context("calproxy serve stopped answering on its admin socket"),
        #[cfg(not(unix))]
        Target::Socket(_) => bail!("no admin socket on this platform"),
        Target::Local(app) => Ok(admin::execute(app, req).await),
    }
}

/// `traffic tail`: prints new exchanges every second while a server runs.
pub(super) async fn tail(data: &Path) -> Result<()> {
    let mut after = 0;
    loop {
        let req = admin::Request::Traffic(admin::TrafficCommand::Since { after });
        let (resp, live) = admin_call(data, req).await?;
        print!("{}", resp.output);
        after = resp.cursor.unwrap_or(after);
        if !live {
            eprintln!("(calproxy serve is not running on this data directory: nothing to follow)");
            return Ok(());
        }
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
        }
    }
}

/// Runs an admin request (see [`admin_call`]) and prints its output.
pub(super) async fn run_admin(data: &Path, req: admin::Request) -> Result<()> {
    let (resp, _) = admin_call(data, req).await?;
    print!("{}", resp.output);
    if resp.ok {
        Ok(())
    } else {
        bail!("the command failed")
    }
}

pub(super) fn open_store(dir: &Path) -> Result<Store> {
    open_store_with(dir, &crate::config::StoreOptions::default())
}

/// [`open_store`] with the options of a configuration (`serve`).
pub(super) fn open_store_with(dir: &Path, opts: &crate::config::StoreOptions) -> Result<Store> {
    Store::open_with(dir, opts).with_context(|| {
        format!(
            "cannot open the data directory {} (is another calproxy using it?)",
            dir.display()
        )
    })
}

/// Reads a secret: the first line of stdin when piped, else a prompt without echo.
pub(super) fn read_password(prompt: &str) -> Result<Secret<String>> {
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
