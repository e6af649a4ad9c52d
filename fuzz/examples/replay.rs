//! Runs saved inputs through a target outside AFL, with the time each
//! takes: `cargo afl build --release --example replay`, then
//! `target/release/examples/replay <target> <file>...` (for example the
//! files of `target/afl/<target>/default/crashes/`). A panic ends the run
//! with its message and backtrace, as under AFL.

use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_default();
    let Some((_, run)) = calproxy_fuzz::TARGETS.iter().find(|(n, _)| *n == name) else {
        eprintln!("usage: replay <dav|ical|recurrence|route|upstream> <file>...");
        std::process::exit(2);
    };
    for path in args {
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let t = Instant::now();
        run(&data);
        println!("{path}: {:?}", t.elapsed());
    }
}
