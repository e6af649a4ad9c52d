//! `cargo bench --bench load`. Scenario 6: 50 clients for 60 s, 70 % calendar-query / 20 % GET / 10 % PUT, on all three servers.
//! The scenario lives in `common/scenarios/`; settings and output are
//! described in `common/mod.rs`.

mod common;

fn main() {
    common::main("load");
}
