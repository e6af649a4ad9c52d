//! The screen on byte streams: heads refused with the right reason, and
//! bodies (fixed and chunked, split anywhere) followed to the next head.

use super::*;

const LIMITS: HeadLimits = HeadLimits {
    max_head: 1024,
    max_uri: 256,
    max_headers: 8,
};

/// Feeds `stream` in pieces of `piece` bytes, as `conn` would; returns the
/// bytes passed and how it ended.
fn run(stream: &[u8], piece: usize) -> (Vec<u8>, Option<Step>) {
    let mut s = Screen::new(LIMITS);
    let mut buf: Vec<u8> = Vec::new();
    let mut passed = Vec::new();
    let mut fed = 0;
    loop {
        match s.step(&buf) {
            Step::Pass(n) => {
                assert!(n > 0 && n <= buf.len());
                passed.extend(buf.drain(..n));
            }
            Step::More if fed < stream.len() => {
                let end = (fed + piece).min(stream.len());
                buf.extend_from_slice(&stream[fed..end]);
                fed = end;
            }
            Step::More => return (passed, None),
            other => return (passed, Some(other)),
        }
    }
}

#[test]
fn bad_heads_are_refused_with_their_reason() {
    let long_uri = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(300));
    let huge_uri = format!("GET /{}", "a".repeat(2000));
    let big_head = format!("GET / HTTP/1.1\r\nX-A: {}\r\n\r\n", "v".repeat(1100));
    let mut many = String::from("GET / HTTP/1.1\r\n");
    for i in 0..9 {
        many.push_str(&format!("X-{i}: v\r\n"));
    }
    many.push_str("\r\n");
    let cases: Vec<(&str, String, Refusal)> = vec![
        ("uri over max_uri", long_uri, Refusal::UriTooLong),
        ("uri beyond the head limit", huge_uri, Refusal::UriTooLong),
        ("head over max_head", big_head, Refusal::HeadTooLarge),
        ("too many fields", many, Refusal::HeadTooLarge),
        ("garbage", "GARBAGE\r\n\r\n".into(), Refusal::Malformed),
        (
            "HTTP/2.0 in a request line",
            "GET / HTTP/2.0\r\n\r\n".into(),
            Refusal::Malformed,
        ),
        (
            "two lengths",
            "PUT / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n".into(),
            Refusal::BadContentLength,
        ),
        (
            "negative length",
            "PUT / HTTP/1.1\r\nContent-Length: -1\r\n\r\n".into(),
            Refusal::BadContentLength,
        ),
        (
            "signed length",
            "PUT / HTTP/1.1\r\nContent-Length: +5\r\n\r\n".into(),
            Refusal::BadContentLength,
        ),
        (
            "length and chunked",
            "PUT / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n".into(),
            Refusal::BadContentLength,
        ),
        (
            "gzip coding",
            "PUT / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n".into(),
            Refusal::BadTransferEncoding,
        ),
        (
            "chunked on 1.0",
            "PUT / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n".into(),
            Refusal::BadTransferEncoding,
        ),
    ];
    for (what, stream, want) in cases {
        for piece in [1, 7, 4096] {
            let (passed, end) = run(stream.as_bytes(), piece);
            assert!(passed.is_empty(), "{what}: passed {passed:?}");
            assert_eq!(end, Some(Step::Refuse(want)), "{what} in pieces of {piece}");
        }
    }
}

#[test]
fn bodies_are_followed_to_the_next_head_however_the_bytes_arrive() {
    let first = b"PUT /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello".to_vec();
    let chunked =
        b"PUT /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"
            .to_vec();
    let bare = b"GET /c HTTP/1.1\r\n\r\n".to_vec();
    // A body that looks like a bad head must not be judged as one.
    let tricky = b"PUT /d HTTP/1.1\r\nContent-Length: 9\r\n\r\nGARBAGE\r\n".to_vec();
    let bad = b"GARBAGE\r\n\r\n".to_vec();
    let stream = [first, chunked, bare, tricky, bad.clone()].concat();
    let good = stream.len() - bad.len();
    for piece in [1, 2, 3, 5, 64, 4096] {
        let (passed, end) = run(&stream, piece);
        assert_eq!(passed, stream[..good], "pieces of {piece}");
        assert_eq!(
            end,
            Some(Step::Refuse(Refusal::Malformed)),
            "pieces of {piece}"
        );
    }
}

#[test]
fn http2_and_unfollowable_chunks_are_left_to_hyper() {
    let (passed, end) = run(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00", 3);
    assert!(passed.is_empty());
    assert_eq!(end, Some(Step::Untracked));
    let (passed, end) = run(
        b"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        4096,
    );
    assert!(passed.ends_with(b"\r\n\r\n"));
    assert_eq!(end, Some(Step::Untracked));
}
