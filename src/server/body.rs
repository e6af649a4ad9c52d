//! Collects a request body under a hard size limit.

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use super::Error;

/// Reads the whole body; more than `limit` bytes -> `Error::BodyTooLarge`.
pub async fn collect(body: Incoming, declared: Option<u64>, limit: usize) -> Result<Bytes, Error> {
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(Error::BodyTooLarge { limit });
    }
    match Limited::new(body, limit).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(Error::BodyTooLarge { limit }),
        Err(_) => Err(Error::BodyRead),
    }
}
