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

use super::dispatch::open_store_with;

pub(super) async fn run_demo(
    listen: SocketAddr,
    data: Option<PathBuf>,
    tls_dir: Option<PathBuf>,
    tls_names: Vec<String>,
    sync: &super::SyncFlags,
) -> Result<()> {
    let (dir, _guard) = match data {
        Some(d) => (d, None),
        None => {
            let t = tempfile_dir()?;
            (t.path().to_path_buf(), Some(t))
        }
    };
    let mut config = Config::new(listen, dir.clone());
    // The demo polls its simulated iCloud every 15 s unless told otherwise.
    config.sync.interval = std::time::Duration::from_secs(15);
    super::apply_sync_flags(&mut config, sync)?;
    config.tls_dir = tls_dir;
    config.tls_names = tls_names;
    let store = open_store_with(&dir, &crate::config::StoreOptions::of(&config))?;
    let app = App::new(store, config);
    let sim_stop = CancellationToken::new();
    let (sim, who) = demo::start_with_sim(&app, sim_stop.clone()).await?;
    let token = crate::accounts::feed_token(&app.store, &who.tenant, &who.user, false)?
        .context("demo user missing")?;
    app.store.flush().await?;
    let engine = sync::EngineConfig::every(app.config.sync.interval);
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

/// Writes a line for whoever reads the server's output; nobody reading
/// (a closed pipe) is no reason for a server to stop (issue 12 #9).
fn say(out: &mut impl std::io::Write, text: &str) {
    let _ = writeln!(out, "{text}").and_then(|()| out.flush());
}

/// The demo's banner: where everything is.
fn demo_banner(d: &Demo, base: &str) -> String {
    let (t, u) = (&d.who.tenant, &d.who.user);
    let sim_url = &d.sim_url;
    let feed = crate::route::feed(&d.token);
    let password = demo::PASSWORD;
    format!(
        "calproxy demo is running against a simulated iCloud ({sim_url}).\n\n\
         \x20 web console     {base}/   (open it in a browser; sign in as {u} / {password})\n\
         \x20 CalDAV server   {base}/dav/   (or {base}/.well-known/caldav)\n\
         \x20 user / password {u} / {password}\n\
         \x20 calendar home   {base}/dav/{t}/{u}/\n\
         \x20   primary       {base}/dav/{t}/{u}/primary/       (linked to iCloud \"Home\": new events go there)\n\
         \x20   blocked       {base}/dav/{t}/{u}/blocked/       (read-write, local only)\n\
         \x20   work          {base}/dav/{t}/{u}/work/          (iCloud \"Work\": read-only conflict calendar)\n\
         \x20   availability  {base}/dav/{t}/{u}/availability/  (read-only, merged busy time)\n\
         \x20 webcal feed     {base}{feed}\n\
         \x20 health          {base}/healthz\n\n\
         Press Ctrl-C to stop."
    )
}

/// What listening beyond loopback without TLS exposes (issue 12 #7).
fn clear_text_warning(addr: SocketAddr) -> String {
    format!(
        "warning: listening on {addr} without TLS: everything crosses the network in clear text,\n\
         \x20 including every client's password (HTTP Basic auth, on every request), the secret\n\
         \x20 token in each feed URL (/feeds/<token>/…) and all calendar data.\n\
         \x20 Use --tls (see the README, \"HTTPS and the local CA\"), or listen on 127.0.0.1."
    )
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
    if tls.is_none() && !addr.ip().is_loopback() {
        say(&mut std::io::stderr(), &clear_text_warning(addr));
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    let base = format!("{scheme}://{addr}");
    let banner = match &demo {
        Some(d) => demo_banner(d, &base),
        None => format!(
            "calproxy listening on {base}/dav/\n\
             web console at {base}/ (sign in with a user's or an admin's calproxy password)"
        ),
    };
    say(&mut std::io::stdout(), &banner);
    let shutdown = CancellationToken::new();
    let s2 = shutdown.clone();
    tokio::spawn(async move {
        stop_signal().await;
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
    let views = tokio::spawn(app.views.clone().run(shutdown.clone()));
    if let Some(cfg) = engine {
        tokio::spawn(app.engine.clone().run(cfg, shutdown.clone()));
        tokio::spawn(
            app.outbox
                .clone()
                .run(std::time::Duration::from_secs(5), shutdown.clone()),
        );
    }
    server::run(listener, app.clone(), tls, shutdown).await?;
    // The views' worker keeps its last busy snapshots on its way out (a
    // lost one costs a rebuild at the next start, nothing else).
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), views).await;
    if let Err(e) = app.store.flush().await {
        tracing::warn!(error = %e, "final flush failed");
    }
    Ok(())
}

/// Resolves at Ctrl-C (SIGINT) or, on Unix, SIGTERM (service managers and
/// container runtimes stop with it): both stop the server gracefully.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
