//! AFL entry for the `route` target (see `calproxy_fuzz::route`). Built by
//! `cargo afl build --release`, run by `fuzz/run route MINUTES`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        calproxy_fuzz::route(data);
    });
}
