//! `cargo bench --bench sync_multiget`. Scenario 3: sync-collection from an empty token and calendar-multiget of 100 hrefs on 10,000 objects.
//! The scenario lives in `common/scenarios/`; settings and output are
//! described in `common/mod.rs`.

mod common;

fn main() {
    common::main("sync_multiget");
}
