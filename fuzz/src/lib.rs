//! calproxy's fuzz targets as a library: the AFL binaries in `src/bin/`
//! call these entry points (`targets/`, shared with the corpus replay test
//! `tests/it/fuzz_corpus.rs`).

mod targets;

pub use targets::*;
