//! AFL entry for the `dav` target (see `calproxy_fuzz::dav`). Built by
//! `cargo afl build --release`, run by `fuzz/run dav MINUTES`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        calproxy_fuzz::dav(data);
    });
}
