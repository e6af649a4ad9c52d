//! `cargo bench --bench put_latency`. Scenario 7: PUT latency with 200 and (BENCH_LARGE=1) 100,000 objects in the collection.
//! The scenario lives in `common/scenarios/`; settings and output are
//! described in `common/mod.rs`.

mod common;

fn main() {
    common::main("put_latency");
}
