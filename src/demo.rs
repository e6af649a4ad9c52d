//! The demo: tenant `demo`, user `demo` (password `demo`) with sample
//! calendars from `fixtures/demo/`: a primary with a few events, and a
//! read-only conflict calendar "Work" with a weekly busy event, an all-day
//! FREE event and a cancelled event.

use crate::accounts;
use crate::availability;
use crate::ical;
use crate::ids::{CalendarId, ConnectionId, Href, ObjectName, TenantId, UserId};
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
        include_str!("../fixtures/demo/primary/team-standup.ics"),
    ),
    (
        "dentist.ics",
        include_str!("../fixtures/demo/primary/dentist.ics"),
    ),
    (
        "lunch.ics",
        include_str!("../fixtures/demo/primary/lunch.ics"),
    ),
];

const WORK: &[(&str, &str)] = &[
    (
        "weekly-review.ics",
        include_str!("../fixtures/demo/work/weekly-review.ics"),
    ),
    (
        "company-holiday.ics",
        include_str!("../fixtures/demo/work/company-holiday.ics"),
    ),
    (
        "cancelled-offsite.ics",
        include_str!("../fixtures/demo/work/cancelled-offsite.ics"),
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
    origin: impl Fn(&str, &crate::ids::ETag) -> Origin,
) -> Result<(), Error> {
    for (name, text) in files {
        let data = text.replace('\n', "\r\n").into_bytes();
        let index = ical::parse_lenient(&data).map_err(|source| Error::Fixture { name, source })?;
        let etag = availability::content_etag(&data);
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

/// Seeds the demo tenant into `store` (idempotent).
pub fn seed(store: &Store) -> Result<(TenantId, UserId), Error> {
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
    Ok((tenant, user))
}
