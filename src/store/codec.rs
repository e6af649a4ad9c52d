//! Value encoding: one version byte, then postcard.
//!
//! Every stored value starts with [`VERSION`]; a value written by another
//! layout is refused with a clear error instead of being misread. Older
//! layouts are rewritten once by `migrate` when the store opens.

use serde::{de::DeserializeOwned, Serialize};

use super::Error;

/// Layout version of every value this build writes.
pub const VERSION: u8 = 5;

/// Encodes a value with the version prefix.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, Error> {
    let mut out = vec![VERSION];
    let body = postcard::to_stdvec(value).map_err(|source| Error::Encode { source })?;
    out.extend_from_slice(&body);
    Ok(out)
}

/// Encodes a value of an older layout (used by `migrate` between steps).
pub(crate) fn encode_as<T: Serialize>(version: u8, value: &T) -> Result<Vec<u8>, Error> {
    let mut out = vec![version];
    let body = postcard::to_stdvec(value).map_err(|source| Error::Encode { source })?;
    out.extend_from_slice(&body);
    Ok(out)
}

/// Decodes the body of a value of an older layout (used by `migrate`).
pub(crate) fn decode_body<T: DeserializeOwned>(
    tree: &'static str,
    body: &[u8],
) -> Result<T, Error> {
    postcard::from_bytes(body).map_err(|source| Error::Decode { tree, source })
}

/// Decodes a value written by [`encode`].
pub fn decode<T: DeserializeOwned>(tree: &'static str, bytes: &[u8]) -> Result<T, Error> {
    match bytes.split_first() {
        Some((&VERSION, body)) => {
            postcard::from_bytes(body).map_err(|source| Error::Decode { tree, source })
        }
        Some((&found, _)) => Err(Error::UnknownVersion { tree, found }),
        None => Err(Error::UnknownVersion { tree, found: 0 }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_version_check() {
        let bytes = encode(&("a".to_string(), 7u32)).unwrap();
        assert_eq!(bytes[0], VERSION);
        let back: (String, u32) = decode("t", &bytes).unwrap();
        assert_eq!(back, ("a".to_string(), 7));
        let mut future = bytes.clone();
        future[0] = 99;
        assert!(matches!(
            decode::<(String, u32)>("t", &future),
            Err(Error::UnknownVersion { found: 99, .. })
        ));
    }
}
