//! The fuzz corpora replayed as ordinary tests (issue 12): every input
//! saved in `fixtures/fuzz/<target>/` goes through the very entry point
//! AFL drives (`fuzz/src/targets/`, included here by path), so CI checks
//! on stable, without AFL, that each one still parses or is refused
//! without a panic and that the targets' invariants still hold. A crash
//! found by fuzzing is added to its target's folder (README, "Fuzzing").

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

#[path = "../../fuzz/src/targets/mod.rs"]
mod targets;

/// Replays one target's corpus; returns the inputs that panicked, with
/// the panic message.
fn replay(name: &str, run: fn(&[u8])) -> (usize, Vec<String>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/fuzz")
        .join(name);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    files.sort();
    let mut failed = Vec::new();
    for f in &files {
        let data = std::fs::read(f).expect("corpus file");
        if let Err(p) = catch_unwind(AssertUnwindSafe(|| run(&data))) {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            let short: String = msg.chars().take(300).collect();
            failed.push(format!("{}: {short}", f.display()));
        }
    }
    (files.len(), failed)
}

#[test]
fn every_saved_fuzz_input_parses_or_is_refused_without_a_panic() {
    let mut failed = Vec::new();
    for (name, run) in targets::TARGETS {
        let (n, mut f) = replay(name, *run);
        assert!(n > 0, "fixtures/fuzz/{name} is empty");
        failed.append(&mut f);
    }
    assert!(
        failed.is_empty(),
        "{} inputs panicked:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

/// The corpora stay small enough to replay on every CI run (all five
/// replay in a few seconds in the test build).
#[test]
fn fuzz_corpora_stay_small() {
    for (name, _) in targets::TARGETS {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/fuzz")
            .join(name);
        let (mut n, mut bytes) = (0usize, 0u64);
        for e in std::fs::read_dir(&dir).expect("corpus folder") {
            n += 1;
            bytes += e.expect("entry").metadata().expect("metadata").len();
        }
        assert!(n <= 1000, "{name}: {n} inputs");
        assert!(bytes <= 1 << 20, "{name}: {bytes} bytes");
    }
}
