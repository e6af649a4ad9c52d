//! Starting things: `serve` (server, admin socket, sync engine, outbox
//! worker) and `demo` (the same against a simulated iCloud).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::ids::{FeedToken, UserRef};
use crate::server::{self, tls};
use crate::state::App;
use crate::{admin, demo, sync};

use super::dispatch::open_store;

pub(super) async fn run_demo(
    listen: SocketAddr,
    data: Option<PathBuf>,
    tls_dir: Option<PathBuf>,
    tls_names: Vec<String>,
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
    config.tls_names = tls_names;
    let app = App::new(store, config);
    let sim_stop = CancellationToken::new();
    let (sim, who) = demo::start_with_sim(&app, sim_stop.clone()).await?;
    let token = crate::accounts::feed_token(&app.store, &who.tenant, &who.user, false)?
        .context("demo user missing")?;
    app.store.flush().await?;
    let engine = sync::EngineConfig {
        interval: std::time::Duration::from_secs(15),
        jitter: std::time::Duration::from_secs(1),
        ..Default::default()
    };
    let demo = Demo {
        who,
        token,
        sim_url: sim.front_url(),
    };
    let result = serve(app, Some(demo), Some(engine)).await;
    sim_stop.cancel();
    result
}

/// What the demo banner prints.
pub(super) struct Demo {
    who: UserRef,
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

pub(super) async fn serve(
    app: App,
    demo: Option<Demo>,
    engine: Option<sync::EngineConfig>,
) -> Result<()> {
    let certs = match &app.config.tls_dir {
        Some(dir) => Some(tls::ServerCerts::open(dir, &app.config.tls_names)?),
        None => None,
    };
    let tls = certs.as_ref().map(tls::ServerCerts::server_config);
    let listener = TcpListener::bind(app.config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", app.config.listen))?;
    let addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let base = format!("{scheme}://{addr}");
    if let Some(Demo {
        who,
        token,
        sim_url,
    }) = &demo
    {
        let (t, u) = (&who.tenant, &who.user);
        println!("calproxy demo is running against a simulated iCloud ({sim_url}).\n");
        println!(
            "  web console     {base}/   (open it in a browser; sign in as {u} / {})",
            demo::PASSWORD
        );
        println!("  CalDAV server   {base}/dav/   (or {base}/.well-known/caldav)");
        println!("  user / password {u} / {}", demo::PASSWORD);
        println!("  calendar home   {base}/dav/{t}/{u}/");
        println!("    primary       {base}/dav/{t}/{u}/primary/       (linked to iCloud \"Home\": new events go there)");
        println!("    blocked       {base}/dav/{t}/{u}/blocked/       (read-write, local only)");
        println!(
            "    work          {base}/dav/{t}/{u}/work/          (iCloud \"Work\": read-only conflict calendar)"
        );
        println!(
            "    availability  {base}/dav/{t}/{u}/availability/  (read-only, merged busy time)"
        );
        println!("  webcal feed     {base}{}", crate::route::feed(token));
        println!("  health          {base}/healthz\n");
        println!("Press Ctrl-C to stop.");
    } else {
        // One write: whoever reads the first line may close the pipe after it
        // (a second println! would then fail and stop the server).
        use std::io::Write as _;
        let _ = write!(
            std::io::stdout(),
            "calproxy listening on {base}/dav/\n\
             web console at {base}/ (sign in with a user's or an admin's calproxy password)\n"
        );
        let _ = std::io::stdout().flush();
    }
    let shutdown = CancellationToken::new();
    let s2 = shutdown.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        s2.cancel();
    });
    if let Some(certs) = &certs {
        certs.spawn_renewal(tls::RENEWAL_CHECK_EVERY, shutdown.clone());
    }
    #[cfg(unix)]
    {
        let (app2, dir, stop) = (app.clone(), app.config.data_dir.clone(), shutdown.clone());
        tokio::spawn(async move {
            if let Err(e) = admin::serve_socket(app2, &dir, stop).await {
                tracing::warn!(error = %e, "admin socket unavailable; CLI commands need the server stopped");
            }
        });
    }
    let warm = app.views.clone();
    tokio::task::spawn_blocking(move || warm.warm());
    tokio::spawn(app.views.clone().run(shutdown.clone()));
    if let Some(cfg) = engine {
        tokio::spawn(app.engine.clone().run(cfg, shutdown.clone()));
        tokio::spawn(
            app.outbox
                .clone()
                .run(std::time::Duration::from_secs(5), shutdown.clone()),
        );
    }
    server::run(listener, app, tls, shutdown).await?;
    Ok(())
}
