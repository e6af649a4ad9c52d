//! AFL entry for the `upstream` target (see `calproxy_fuzz::upstream`). Built by
//! `cargo afl build --release`, run by `fuzz/run upstream MINUTES`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        calproxy_fuzz::upstream(data);
    });
}
