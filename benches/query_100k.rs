//! `cargo bench --bench query_100k`. Scenario 2: one-month calendar-query on 100,000 objects (BENCH_LARGE=1).
//! The scenario lives in `common/scenarios/`; settings and output are
//! described in `common/mod.rs`.

mod common;

fn main() {
    common::main("query_100k");
}
