//! `cargo bench --bench memory`. Scenario 8: calproxy resident memory after loading and after a restart.
//! The scenario lives in `common/scenarios/`; settings and output are
//! described in `common/mod.rs`.

mod common;

fn main() {
    common::main("memory");
}
