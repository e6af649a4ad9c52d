//! `cargo bench --bench startup`. Scenario 5: start of calproxy serve to /healthz 200 with 10,000 and (BENCH_LARGE=1) 100,000 objects.
//! The scenario lives in `common/scenarios/`; settings and output are
//! described in `common/mod.rs`.

mod common;

fn main() {
    common::main("startup");
}
