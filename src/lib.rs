//! calproxy: a local CalDAV proxy for iCloud calendars.
//!
//! # Layer map
//!
//! Each line names a layer and the layers it may use (`use crate::…`).
//! Nothing uses a layer above it; `tests::layering` reads this table and
//! every `crate::` path in `src/` and fails on an upward or unlisted one,
//! so the map cannot drift from the code.
//!
//! ```text
//! layer      may use
//! main       cli crypto
//! cli        admin demo server sim state sync upstream store accounts route config crypto ids secret
//! demo       admin sim state store accounts ical ids secret
//! admin      state views sync traffic upstream store accounts policy route ical crypto ids secret
//! server     handlers state store accounts route dav crypto ids secret config metrics
//! handlers   console state views sync traffic store policy route dav ical jobs answers ids secret config metrics
//! console    admin state views sync traffic store accounts route crypto ical ids secret config
//! state      views sync store ical crypto jobs answers config metrics
//! views      sync store ical crypto ids config metrics
//! sync       traffic upstream store policy ical crypto ids secret config metrics
//! traffic    upstream store dav ids config metrics
//! accounts   store crypto ids secret
//! upstream   dav crypto ids secret
//! sim        dav ical ids secret
//! policy     store ical ids
//! store      ical ids secret config
//! route      ids
//! dav        ids
//! ical       ids
//! crypto     secret
//! jobs       ids
//! answers
//! metrics
//! config
//! ids
//! secret
//! ```
//!
//! What each layer owns:
//! - `server`: transport only (listeners, TLS, local auth, body limits, the
//!   one error→HTTP edge). `route`: the URL layout, both ways.
//! - `handlers`: every request is parsed once into a typed `Request` and
//!   dispatched in one place; where the layers meet.
//! - `admin`: the one command grammar (CLI, admin socket, console) and
//!   what each command means, with the typed queries both faces render
//!   (`admin::overview`). `cli`: `serve`, `demo`, `certs`, passwords.
//! - `console`: the web console at `/`: sessions, sign-in throttle, and
//!   server-rendered panels; every change it makes is an `admin::Request`.
//! - `views`: everything derived from stored objects (busy cache,
//!   `availability/`, the feed), maintained from the store's change feed.
//! - `sync`: the engine (plan/execute), one upstream client per connection,
//!   the outbox (plan/execute). `traffic`: recording, redaction, HAR, queries.
//! - `upstream`: the CalDAV client (pure requests and parsers, a thin I/O
//!   shell, iCloud quirks). `sim`: the simulated iCloud.
//! - `policy`: R1–R10 as pure functions. `store`: sled behind a typed API,
//!   the only code that knows key layouts. `dav`, `ical`: pure protocol and
//!   format layers. `ids`, `secret`, `crypto`, `config`, `metrics`: leaves.
//!   `jobs`: admission of request work to the blocking pool (a total and a
//!   per-user share). `answers`: rendered REPORT answers kept by the
//!   digest of everything they depend on (a repeated read is a lookup).
//!
//! Three edges are narrower than they look: `views`→`sync` is
//! `sync::plan::backoff` (one retry rule for everything) and
//! `sync::plan::feed_interval` (when an ICS feed counts as stale) only,
//! `server`→`store` is the user and admin records that authentication
//! reads (and `server`→`accounts` its login-name rule), and
//! `handlers`→`console` is one dispatch arm (the console answers its own
//! pages and signs people in itself: `route::Access::Session`) plus
//! `console::session_user`, which lets the JSON API take a console
//! session in place of Basic auth (`route::Access::UserOrSession`).
//!
//! # The one-way contract
//!
//! DESIGN.md numbers the rules R1–R10; code and tests cite them. One hop
//! from each rule to where it lives:
//!
//! | rule | where |
//! | --- | --- |
//! | R1 system events go to the primary calendar | `policy::writes::object_write`, `policy::outbound::put_target`, `handlers` (write), `sync::outbox` |
//! | R2 iCloud events are read-only | `policy::writes::object_denial` |
//! | R3 `blocked/` stays local | `policy::writes::object_write` (`Forward::LocalOnly`) |
//! | R4 what counts as busy | `ical::busy`, with each user's switches in `ical::rules` (stored as `store::UserSettings`) |
//! | R5 no contacts, privacy | `policy::inbound::view` |
//! | R6 subscribed and reminder calendars refused | `policy::calendars::refusal` |
//! | R7 one primary, conflict calendars and users | `policy::calendars::check_selection`, `views::deps` |
//! | R8 one connection, several tenants | `sync::materialize::reconcile_calendar`, `views::deps` |
//! | R9 availability = merged busy time | `views` |
//! | R10 nothing acknowledged is lost | `Store::flush` before every 2xx, `sync::outbox` |
//!
//! # Where to start reading
//!
//! A request: `server::request::serve` → `handlers::parse` →
//! `handlers::dispatch` → `handlers::propfind` / `report` / `write`.
//! A console page: `handlers::dispatch` → `console::handle` → a panel →
//! `admin::execute` (changes) or `admin::overview` / `views` (reads).
//! A write of a system event: `handlers::write::put` → `Store::put_object_queued`
//! → `sync::Outbox::push_now` → `sync::outbox::plan`. A derived view:
//! `Store` change feed → `views::Views::run` → `views::deps::dependents` →
//! `Views::ensure_fresh`.

#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod accounts;
pub mod admin;
pub mod answers;
pub mod cli;
pub mod config;
pub mod console;
pub mod crypto;
pub mod dav;
pub mod demo;
pub mod handlers;
pub mod ical;
pub mod ids;
pub mod jobs;
pub mod metrics;
pub mod policy;
pub mod route;
pub mod secret;
pub mod server;
pub mod sim;
pub mod state;
pub mod store;
pub mod sync;
pub mod traffic;
pub mod upstream;
pub mod views;

#[cfg(test)]
mod tests;
