//! Shared test support: a running server (`env`), a DAV client (`client`),
//! the console over HTTP (`console`) and in real browsers (`real_browser`).

pub mod client;
pub mod console;
pub mod env;
pub mod feed_server;
pub mod icloud;
pub mod ics;
pub mod peers;
pub mod process;
pub mod real_browser;
