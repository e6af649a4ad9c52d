//! `TestEnv::start()`: a temp sled dir, calproxy on 127.0.0.1:0 with the demo
//! tenant seeded, and a CancellationToken; Drop cancels the server.

use std::net::SocketAddr;

use calproxy::config::Config;
use calproxy::state::App;
use calproxy::store::Store;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::client::DavClient;

/// A running calproxy for one test.
pub struct TestEnv {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The application state (store access for assertions).
    pub app: App,
    /// The data directory, removed on drop.
    _dir: tempfile::TempDir,
    shutdown: CancellationToken,
}

impl TestEnv {
    /// Starts calproxy with the demo tenant (user demo / password demo).
    pub async fn start() -> TestEnv {
        Self::start_with(|_| {}).await
    }

    /// Starts calproxy with a config tweak.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestEnv {
        let dir = tempfile::tempdir().expect("temp dir");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut config = Config::new(addr, dir.path().to_path_buf());
        tweak(&mut config);
        let opts = calproxy::config::StoreOptions {
            window: config.availability.clone(),
            ..Default::default()
        };
        let store = Store::open_with(dir.path(), &opts).expect("open store");
        let demo = calproxy::demo::seed_fixtures(&store).expect("seed demo");
        let app = App::new(store, config);
        // Derive the demo user's availability/ before the first request.
        app.views.ensure_fresh(&demo).expect("derive availability");
        let shutdown = CancellationToken::new();
        tokio::spawn(app.views.clone().run(shutdown.clone()));
        let s2 = shutdown.clone();
        let app2 = app.clone();
        tokio::spawn(async move {
            let _ = calproxy::server::run(listener, app2, None, s2).await;
        });
        TestEnv {
            addr,
            app,
            _dir: dir,
            shutdown,
        }
    }

    /// Base URL, e.g. `http://127.0.0.1:1234`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A client signed in as the demo user.
    pub fn client(&self) -> DavClient {
        DavClient::new(self.base(), Some(("demo", "demo")))
    }

    /// A client without credentials.
    pub fn anonymous(&self) -> DavClient {
        DavClient::new(self.base(), None)
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
