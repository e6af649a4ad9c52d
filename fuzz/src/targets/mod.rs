//! The fuzz targets' entry points: one function per target, taking the
//! raw input bytes and driving calproxy's public API exactly as the server
//! does. Each returns normally for every input (a parse, or a clean
//! refusal); a panic (including a failed invariant below) is a crash.
//!
//! Shared by two harnesses: the AFL binaries in `fuzz/src/bin/` and the
//! corpus replay in `tests/it/fuzz_corpus.rs` (which includes this file by
//! path), so CI replays every saved input through the same code on stable
//! without AFL. Uses only calproxy's public API and crates calproxy itself
//! depends on.

mod choices;
mod dav;
mod event;
mod ical;
mod recurrence;
mod route;
mod upstream;

pub use dav::dav;
pub use ical::ical;
pub use recurrence::recurrence;
pub use route::route;
pub use upstream::upstream;

/// A target's entry point.
pub type Target = fn(&[u8]);

/// Every target by name; the name is its corpus folder under
/// `fixtures/fuzz/` and its binary under `fuzz/src/bin/`.
pub const TARGETS: &[(&str, Target)] = &[
    ("dav", dav),
    ("ical", ical),
    ("recurrence", recurrence),
    ("route", route),
    ("upstream", upstream),
];
