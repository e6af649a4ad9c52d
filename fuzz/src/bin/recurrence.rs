//! AFL entry for the `recurrence` target (see `calproxy_fuzz::recurrence`). Built by
//! `cargo afl build --release`, run by `fuzz/run recurrence MINUTES`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        calproxy_fuzz::recurrence(data);
    });
}
