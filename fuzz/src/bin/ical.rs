//! AFL entry for the `ical` target (see `calproxy_fuzz::ical`). Built by
//! `cargo afl build --release`, run by `fuzz/run ical MINUTES`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        calproxy_fuzz::ical(data);
    });
}
