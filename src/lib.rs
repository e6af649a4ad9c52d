//! calproxy: a local CalDAV proxy for iCloud calendars.
//!
//! # Layer map
//!
//! An arrow means "may use"; nothing uses a module above it.
//!
//! ```text
//! server   → handlers (transport: listeners, TLS, auth, routing, limits, the one error→HTTP edge)
//! handlers → dav, ical, store           (orchestration: the only place layers meet)
//! dav      → ids                         (WebDAV/CalDAV XML: parse requests, render/read multistatus)
//! ical     → ids                         (iCalendar: parse, index, expand, busy time, write)
//! store    → ids, ical (index types)     (sled trees behind a typed API; only it knows key layouts)
//! ```
//!
//! `cli`, `accounts` and `demo` sit on top and start things. `ids`,
//! `secret`, `config` and `metrics` are used by everyone.
//!
//! # The one-way contract
//!
//! DESIGN.md numbers the rules R1–R10; code and tests cite them. Today:
//! R2 (read-only collections and blocked slots: `handlers::write`), R3
//! (`blocked/` is local), R4/R9 (busy time and the availability
//! collection: `ical::busy`, `handlers::availability`), R10 (every 2xx
//! after `Store::flush`).
//!
//! # Where to start reading
//!
//! `server::serve_request` → `handlers::handle` → `handlers::propfind`,
//! `handlers::report`, `handlers::write`.

#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod accounts;
pub mod admin;
pub mod availability;
pub mod cli;
pub mod config;
pub mod dav;
pub mod demo;
pub mod handlers;
pub mod ical;
pub mod ids;
pub mod inspect;
pub mod metrics;
pub mod policy;
pub mod secret;
pub mod server;
pub mod sim;
pub mod state;
pub mod store;
pub mod sync;
pub mod upstream;
