//! A simulated iCloud (`calproxy::sim`) on 127.0.0.1 plus a calproxy with
//! user `ann@demo` connected to it: `home` as primary, `work` as conflict.

use calproxy::admin::{self, Request, Response, WirePassword};
use calproxy::ids::{ConnectionId, TenantId, UserId};
use calproxy::secret::Secret;
use calproxy::sim::{self, SimConfig, SimHandle};
use tokio_util::sync::CancellationToken;

use super::client::DavClient;
use super::env::TestEnv;
use super::peers::repo;

/// The sim's app-specific password.
pub const PASSWORD: &str = "abcd-efgh-ijkl-mnop";
/// The sim's Apple ID.
pub const APPLE_ID: &str = "demo@icloud.example";

/// A sim, a calproxy, and ann's client.
pub struct Icloud {
    /// The simulated iCloud.
    pub sim: SimHandle,
    /// calproxy.
    pub env: TestEnv,
    /// ann's DAV client (password `pw`).
    pub ann: DavClient,
    stop: CancellationToken,
}

impl Drop for Icloud {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Starts a sim with the shipped fixtures.
pub async fn start_sim() -> (SimHandle, CancellationToken) {
    start_sim_with(repo().join("fixtures/sim")).await
}

/// Starts a sim on another fixtures directory.
pub async fn start_sim_with(fixtures: std::path::PathBuf) -> (SimHandle, CancellationToken) {
    let stop = CancellationToken::new();
    let sim = sim::start(SimConfig::demo(fixtures), stop.clone())
        .await
        .expect("sim starts");
    (sim, stop)
}

/// Runs an admin command and returns its answer.
pub async fn admin(env: &TestEnv, req: Request) -> Response {
    admin::execute(&env.app, req).await
}

/// Runs an admin command that must succeed.
pub async fn admin_ok(env: &TestEnv, req: Request) -> String {
    let r = admin::execute(&env.app, req).await;
    assert!(r.ok, "admin command failed:\n{}", r.output);
    r.output
}

/// `Connect` for ann with the sim's credentials (or another password).
pub fn connect_req(sim: &SimHandle, tenant: &str, user: &str, password: &str) -> Request {
    Request::Connect(calproxy::admin::ConnectArgs {
        who: calproxy::admin::UserArgs {
            tenant: TenantId::new(tenant).unwrap(),
            user: UserId::new(user).unwrap(),
        },
        apple_id: APPLE_ID.into(),
        options: Default::default(),
        password: WirePassword::new(&Secret::new(password.into())),
        upstream: sim.front_url(),
        id: Some(ConnectionId::new("icloud").unwrap()),
    })
}

/// `Configure` with a primary and conflict calendars.
pub fn configure_req(
    tenant: &str,
    user: &str,
    primary: Option<&str>,
    conflicts: &[&str],
) -> Request {
    Request::Configure(calproxy::admin::ConfigureArgs {
        who: calproxy::admin::UserArgs {
            tenant: TenantId::new(tenant).unwrap(),
            user: UserId::new(user).unwrap(),
        },
        primary: primary.map(str::to_string),
        conflicts: conflicts.iter().map(|s| s.to_string()).collect(),
        conflict_users: vec![],
        privacy: None,
        settings: Default::default(),
    })
}

/// Adds a local user to calproxy.
pub fn add_user(env: &TestEnv, tenant: &str, user: &str) -> DavClient {
    calproxy::accounts::add_user(
        &env.app.store,
        &TenantId::new(tenant).unwrap(),
        &UserId::new(user).unwrap(),
        &Secret::new("pw".into()),
    )
    .unwrap();
    DavClient::new(env.base(), Some((&format!("{user}@{tenant}"), "pw")))
}

impl Icloud {
    /// Sim + calproxy + ann connected; configured (home primary, work
    /// conflict) and synced when `configure` is set.
    pub async fn start(configure: bool) -> Icloud {
        let (sim, stop) = start_sim().await;
        let env = TestEnv::start().await;
        let ann = add_user(&env, "demo", "ann");
        admin_ok(&env, connect_req(&sim, "demo", "ann", PASSWORD)).await;
        if configure {
            admin_ok(&env, configure_req("demo", "ann", Some("home"), &["work"])).await;
            admin_ok(&env, Request::Sync(Default::default())).await;
        }
        Icloud {
            sim,
            env,
            ann,
            stop,
        }
    }

    /// One sync of every connection; panics on failure.
    pub async fn sync(&self) -> String {
        admin_ok(&self.env, Request::Sync(Default::default())).await
    }

    /// Object names in one of ann's collections.
    pub async fn names(&self, collection: &str) -> Vec<String> {
        let a = self
            .ann
            .propfind(&format!("/dav/demo/ann/{collection}/"), "1", "")
            .await
            .status(207);
        let mut v: Vec<String> = a
            .hrefs()
            .into_iter()
            .filter(|h| h.ends_with(".ics"))
            .map(|h| h.rsplit('/').next().unwrap_or_default().to_string())
            .collect();
        v.sort();
        v
    }
}

/// `calproxy connect` (a child process) for ann@demo against the sim,
/// connection id `icloud`, with `password` on stdin.
pub async fn cli_connect(
    sim: &SimHandle,
    data: &str,
    password: &str,
    envs: &[(&str, &str)],
) -> (bool, String) {
    let front = sim.front_url();
    let args = [
        "connect",
        "--tenant",
        "demo",
        "--user",
        "ann",
        "--apple-id",
        APPLE_ID,
        "--upstream",
        &front,
        "--id",
        "icloud",
        "--data",
        data,
    ];
    super::process::cli(&args, &format!("{password}\n"), envs).await
}
