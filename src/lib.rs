//! calproxy: a local CalDAV proxy for iCloud calendars.
//!
//! # Layer map
//!
//! An arrow means "may use"; nothing uses a module above it.
//!
//! ```text
//! cli, demo, admin, inspect   → everything below (start things, run admin commands, render traffic)
//! server       → handlers      (transport: listeners, TLS, auth, routing, limits, the one error→HTTP edge)
//! handlers     → dav, policy, ical, store, availability, sync::outbox, sync::traffic
//! sync         → upstream, store, policy, ical, availability   (engine, plan/execute, outbox, materialize)
//! availability → store, ical    (busy time per user, the availability collection)
//! upstream     → dav, ical      (CalDAV client for iCloud: requests, parsers, quirks, recording, HAR)
//! sim          → dav, ical      (simulated iCloud for the demo and tests)
//! policy       → ical, store records (R1–R10 as pure functions)
//! store        → ids, ical      (sled trees behind a typed API; only it knows key layouts)
//! dav, ical    → ids            (pure protocol and format layers)
//! ```
//!
//! `ids`, `secret`, `config`, `state` and `metrics` are used by everyone.
//!
//! # The one-way contract
//!
//! DESIGN.md numbers the rules R1–R10; code and tests cite them:
//! R1 system events (`handlers::write`, `policy::writes`, `sync::outbox`),
//! R2 read-only blocked slots (`policy::writes`), R3 local `blocked/`,
//! R4/R9 busy time and availability (`ical::busy`, `availability`),
//! R5 no contacts and privacy (`policy::inbound`), R6–R8 calendars and
//! tenancy (`policy::calendars`, `admin`, `sync::materialize`), R10
//! durability (`Store::flush` before every 2xx, the outbox).
//!
//! # Where to start reading
//!
//! `server::serve_request` → `handlers::handle` → `handlers::propfind`,
//! `handlers::report`, `handlers::write`.

#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod accounts;
pub mod admin;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod dav;
pub mod demo;
pub mod handlers;
pub mod ical;
pub mod ids;
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
