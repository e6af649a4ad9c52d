//! `cargo bench --bench freebusy`. Scenario 4: one-year free-busy over 20 calendars / 20,000 objects, first request after a restart and warm.
//! The scenario lives in `common/scenarios/`; settings and output are
//! described in `common/mod.rs`.

mod common;

fn main() {
    common::main("freebusy");
}
