//! `cargo bench --bench query_10k`. Scenario 1: one-month calendar-query on 10,000 objects, calproxy vs Radicale vs Xandikos.
//! The scenario lives in `common/scenarios/`; settings and output are
//! described in `common/mod.rs`.

mod common;

fn main() {
    common::main("query_10k");
}
