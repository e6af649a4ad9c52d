//! A request body: collected under a hard size limit and a pause limit,
//! or, when the request was refused before its body was read, discarded
//! in the background (bounded) so the connection can serve the next one.

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::HeaderMap;
use tokio::time::{timeout_at, Instant};

use super::Error;
use crate::config::Limits;

/// Reads the whole body: more than `max_body_bytes` -> `BodyTooLarge`; a
/// pause longer than `body_read_timeout`, or the `deadline` passing ->
/// `BodyTimeout` (408).
pub async fn collect(
    mut body: Incoming,
    declared: Option<u64>,
    limits: &Limits,
    deadline: Instant,
) -> Result<Bytes, Error> {
    let limit = limits.max_body_bytes;
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(Error::BodyTooLarge { limit });
    }
    let mut out = BytesMut::new();
    loop {
        let pause_ends = (Instant::now() + limits.body_read_timeout).min(deadline);
        let frame = match timeout_at(pause_ends, body.frame()).await {
            Err(_) => return Err(Error::BodyTimeout),
            Ok(None) => return Ok(out.freeze()),
            Ok(Some(Err(_))) => return Err(Error::BodyRead),
            Ok(Some(Ok(frame))) => frame,
        };
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > limit {
                return Err(Error::BodyTooLarge { limit });
            }
            out.extend_from_slice(&data);
        }
    }
}

/// Disposes of the body of a request answered before its body was read.
/// Returns whether the connection stays usable: yes when there is no body,
/// or one of at most `max_discard_bytes` that is then read and dropped in
/// the background (within `body_read_timeout`); no for a larger or chunked
/// body, or one the client holds back for `100-continue` (the answer then
/// says `Connection: close`).
pub fn discard(body: Incoming, headers: &HeaderMap, limits: &Limits) -> bool {
    let declared: Option<u64> = headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    let chunked = headers.contains_key(hyper::header::TRANSFER_ENCODING);
    let waits = headers
        .get(hyper::header::EXPECT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
    match declared {
        _ if chunked || waits => false,
        None | Some(0) => true,
        Some(n) if n > limits.max_discard_bytes as u64 => false,
        Some(_) => {
            let pause = limits.body_read_timeout;
            let mut body = body;
            tokio::spawn(async move {
                // The limit was checked on the declared length; hyper stops at it.
                while let Ok(Some(Ok(_))) = tokio::time::timeout(pause, body.frame()).await {}
            });
            true
        }
    }
}
