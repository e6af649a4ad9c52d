//! `store::Error`: what can go wrong below the typed store API.

use crate::ids::{ETag, ObjectName};

/// Errors of the store layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// sled failed (I/O, corruption).
    #[error("storage engine failed")]
    Sled(#[from] sled::Error),
    /// A value could not be encoded.
    #[error("value could not be encoded")]
    Encode {
        /// The codec error.
        source: postcard::Error,
    },
    /// A stored value could not be decoded.
    #[error("stored value in tree {tree} could not be decoded")]
    Decode {
        /// Tree name.
        tree: &'static str,
        /// The codec error.
        source: postcard::Error,
    },
    /// A stored value has a layout version this build does not know.
    #[error("stored value in tree {tree} has unknown layout version {found}")]
    UnknownVersion {
        /// Tree name.
        tree: &'static str,
        /// The version byte found.
        found: u8,
    },
    /// A stored key is not valid UTF-8 or not a valid identifier.
    #[error("stored key in tree {tree} is malformed")]
    BadKey {
        /// Tree name.
        tree: &'static str,
    },
    /// The collection does not exist.
    #[error("collection not found")]
    NoCollection,
    /// The object does not exist.
    #[error("object {name} not found")]
    NoObject {
        /// The object's name.
        name: ObjectName,
    },
    /// `If-Match` or `If-None-Match` did not hold.
    #[error("precondition failed (current etag {current:?})")]
    PreconditionFailed {
        /// The ETag now stored, if any.
        current: Option<ETag>,
    },
    /// Another object of the collection already has this UID.
    #[error("uid already used by {existing}")]
    UidConflict {
        /// The object holding the UID.
        existing: ObjectName,
    },
    /// The secret key file could not be read or written.
    #[error("cannot access the secret key file")]
    KeyFile {
        /// The I/O error.
        source: std::io::Error,
    },
    /// The data directory could not be created or made private.
    #[error("cannot make the data directory private (0700, files 0600)")]
    DataDir {
        /// The I/O error.
        source: std::io::Error,
    },
    /// The secret key file has the wrong size.
    #[error("the secret key file is corrupt (expected 32 bytes)")]
    KeyFileCorrupt,
    /// A sealed secret could not be sealed or opened (wrong key?).
    #[error("a stored secret could not be decrypted")]
    Seal,
    /// The connection does not exist.
    #[error("connection {id} not found")]
    NoConnection {
        /// Its id.
        id: crate::ids::ConnectionId,
    },
    /// An object kept changing while an update was being prepared.
    #[error("the object kept changing; try again")]
    Busy,
    /// A sync token that this collection never issued, or one too old.
    #[error("sync token is not valid for this collection")]
    InvalidSyncToken,
}

/// Result alias of the store layer.
pub type Result<T> = std::result::Result<T, Error>;
