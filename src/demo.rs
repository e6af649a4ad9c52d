//! The demo: tenant `demo`, user `demo` (password `demo`) connected to a
//! simulated iCloud (`sim`, loaded from `fixtures/sim/`): its "Home"
//! calendar is the primary (a few events), its "Work" calendar a read-only
//! conflict calendar (a weekly busy event, an all-day FREE event, a
//! cancelled event).
//!
//! [`seed_fixtures`] loads the same events straight into the store without
//! a sim; the integration tests use it as their fast baseline.

use crate::accounts;
use crate::ical;
use crate::ids::{CalendarId, ConnectionId, ETag, Href, ObjectName, TenantId, UserId, UserRef};
use crate::secret::Secret;
use crate::store::{CollectionKey, ObjectRecord, Origin, Store, WriteCondition};

/// The demo tenant, user and password.
pub const TENANT: &str = "demo";
/// The demo user.
pub const USER: &str = "demo";
/// The demo password.
pub const PASSWORD: &str = "demo";

const PRIMARY: &[(&str, &str)] = &[
    (
        "team-standup.ics",
        include_str!("../fixtures/sim/home/team-standup.ics"),
    ),
    (
        "dentist.ics",
        include_str!("../fixtures/sim/home/dentist.ics"),
    ),
    ("lunch.ics", include_str!("../fixtures/sim/home/lunch.ics")),
];

const WORK: &[(&str, &str)] = &[
    (
        "weekly-review.ics",
        include_str!("../fixtures/sim/work/weekly-review.ics"),
    ),
    (
        "company-holiday.ics",
        include_str!("../fixtures/sim/work/company-holiday.ics"),
    ),
    (
        "cancelled-offsite.ics",
        include_str!("../fixtures/sim/work/cancelled-offsite.ics"),
    ),
];

/// Errors while seeding the demo.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Provisioning failed.
    #[error("provisioning failed")]
    Accounts(#[from] accounts::Error),
    /// The store failed.
    #[error("storage failed")]
    Store(#[from] crate::store::Error),
    /// A fixture did not parse (a bug in the fixtures).
    #[error("fixture {name} is invalid")]
    Fixture {
        /// The fixture file.
        name: &'static str,
        /// Why.
        source: ical::Error,
    },
    /// A built-in id did not validate (a bug).
    #[error("invalid built-in id")]
    Id(#[from] crate::ids::IdError),
}

fn load(
    store: &Store,
    key: &CollectionKey,
    files: &[(&'static str, &'static str)],
    origin: impl Fn(&str, &ETag) -> Origin,
) -> Result<(), Error> {
    for (name, text) in files {
        let data = text.replace('\n', "\r\n").into_bytes();
        let index = ical::parse_lenient(&data).map_err(|source| Error::Fixture { name, source })?;
        let etag = ETag::of_content(&data);
        let rec = ObjectRecord {
            origin: origin(name, &etag),
            etag,
            data,
            index,
            modified: chrono::Utc::now().timestamp(),
        };
        store.put_object(
            key,
            &ObjectName::new(*name)?,
            &rec,
            &WriteCondition::default(),
        )?;
    }
    Ok(())
}

/// Seeds the demo tenant from the fixtures, without a sim (idempotent).
pub fn seed_fixtures(store: &Store) -> Result<UserRef, Error> {
    let tenant = TenantId::new(TENANT)?;
    let user = UserId::new(USER)?;
    accounts::add_user(store, &tenant, &user, &Secret::new(PASSWORD.to_string()))?;
    let primary = CollectionKey::new(&tenant, &user, &CalendarId::new("primary")?);
    load(store, &primary, PRIMARY, |_, _| Origin::Local)?;
    let work = accounts::add_source(
        store,
        &tenant,
        &user,
        &CalendarId::new("work")?,
        "Work (iCloud)",
        Some("#1E4C63FF"),
    )?;
    let conn = ConnectionId::new("demo-fixtures")?;
    load(store, &work, WORK, |name, etag| Origin::Upstream {
        connection: conn.clone(),
        href: Href::new(format!("/123456789/calendars/work/{name}")),
        etag: etag.clone(),
    })?;
    Ok(UserRef { tenant, user })
}

/// Where the sim fixtures live: `./fixtures/sim` when run from the
/// repository, else next to the crate's manifest.
pub fn sim_fixtures() -> std::path::PathBuf {
    let local = std::path::PathBuf::from("fixtures/sim");
    if local.join("account.json").exists() {
        local
    } else {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sim")
    }
}

/// Errors of the sim-backed demo.
#[derive(Debug, thiserror::Error)]
pub enum SimDemoError {
    /// The simulated iCloud did not start.
    #[error("the simulated iCloud did not start")]
    Sim(#[source] std::io::Error),
    /// Seeding failed.
    #[error("demo seeding failed")]
    Seed(#[from] Error),
    /// An admin step failed (its output says why).
    #[error("demo set-up step failed: {0}")]
    Step(String),
}

/// Starts the sim, creates the demo user, connects it to the sim,
/// configures Home as primary and Work as conflict calendar, and syncs.
pub async fn start_with_sim(
    app: &crate::state::App,
    shutdown: tokio_util::sync::CancellationToken,
) -> Result<(crate::sim::SimHandle, UserRef), SimDemoError> {
    use crate::admin::{
        self, ConfigureArgs, ConnectArgs, Request, SyncArgs, UserArgs, WirePassword,
    };
    let cfg = crate::sim::SimConfig::demo(sim_fixtures());
    let sim = crate::sim::start(cfg.clone(), shutdown)
        .await
        .map_err(SimDemoError::Sim)?;
    let tenant = TenantId::new(TENANT).map_err(Error::from)?;
    let user = UserId::new(USER).map_err(Error::from)?;
    accounts::add_user(
        &app.store,
        &tenant,
        &user,
        &Secret::new(PASSWORD.to_string()),
    )
    .map_err(Error::from)?;
    let who = UserArgs {
        tenant: tenant.clone(),
        user: user.clone(),
    };
    let steps = [
        Request::Connect(ConnectArgs {
            who: who.clone(),
            apple_id: cfg.apple_id.clone(),
            options: Default::default(),
            password: WirePassword::new(&cfg.app_password),
            upstream: sim.front_url(),
            id: Some(ConnectionId::new("icloud-demo").map_err(Error::from)?),
        }),
        Request::Configure(ConfigureArgs {
            who,
            primary: Some("home".into()),
            conflicts: vec!["work".into()],
            conflict_users: vec![],
            privacy: None,
            settings: Default::default(),
        }),
        Request::Sync(SyncArgs::default()),
    ];
    for step in steps {
        let r = admin::execute(app, step).await;
        if !r.ok {
            return Err(SimDemoError::Step(r.output));
        }
    }
    Ok((sim, UserRef { tenant, user }))
}
