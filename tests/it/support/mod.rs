//! Shared test support: a running server (`env`) and a DAV client (`client`).

pub mod client;
pub mod console;
pub mod env;
pub mod feed_server;
pub mod icloud;
pub mod ics;
pub mod peers;
pub mod process;
