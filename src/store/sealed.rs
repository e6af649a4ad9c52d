//! Secrets at rest: app-specific passwords are sealed with
//! ChaCha20-Poly1305 under a 32-byte key kept in `<data>/secret.key`
//! (mode 0600, created on first use). The key never enters sled.

use std::path::Path;

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

use super::Error;
use crate::secret::Secret;

/// File name of the key inside the data directory.
pub const KEY_FILE: &str = "secret.key";

/// The sealing key.
#[derive(Clone)]
pub struct Sealer {
    cipher: ChaCha20Poly1305,
    /// A key for other purposes, derived from the sealing key (never the key itself).
    derived: [u8; 32],
}

/// SHA-256 of a purpose and the key: a separate key per purpose.
fn derive(key: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    h.update(b"calproxy derived key v1\0");
    h.update(key);
    h.finalize().into()
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<key>)")
    }
}

impl Sealer {
    /// Loads `dir/secret.key`, creating it (0600) when missing.
    pub fn load_or_create(dir: &Path) -> Result<Self, Error> {
        let path = dir.join(KEY_FILE);
        let io = |source| Error::KeyFile { source };
        let key = match std::fs::read(&path) {
            Ok(bytes) if bytes.len() == 32 => bytes,
            Ok(_) => return Err(Error::KeyFileCorrupt),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = ChaCha20Poly1305::generate_key(&mut OsRng).to_vec();
                write_private(&path, &key).map_err(io)?;
                key
            }
            Err(e) => return Err(io(e)),
        };
        Ok(Self {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&key)),
            derived: derive(&key),
        })
    }

    /// A key that lives only in memory (temporary stores).
    pub fn ephemeral() -> Self {
        let key = ChaCha20Poly1305::generate_key(&mut OsRng);
        Self {
            cipher: ChaCha20Poly1305::new(&key),
            derived: derive(&key),
        }
    }

    /// A 32-byte key derived from the sealing key, for keyed hashes that
    /// must be stable across restarts (metrics labels, feed token index).
    pub fn derived_key(&self) -> [u8; 32] {
        self.derived
    }

    /// nonce (12 bytes) || ciphertext+tag.
    pub fn seal(&self, secret: &Secret<String>) -> Result<Vec<u8>, Error> {
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ct = self
            .cipher
            .encrypt(&nonce, secret.expose().as_bytes())
            .map_err(|_| Error::Seal)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Opens what [`seal`](Self::seal) produced.
    pub fn open(&self, sealed: &[u8]) -> Result<Secret<String>, Error> {
        if sealed.len() < 12 {
            return Err(Error::Seal);
        }
        let (nonce, ct) = sealed.split_at(12);
        let pt = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), ct)
            .map_err(|_| Error::Seal)?;
        String::from_utf8(pt)
            .map(Secret::new)
            .map_err(|_| Error::Seal)
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)?.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_no_plaintext() {
        let dir = tempfile::tempdir().unwrap();
        let s = Sealer::load_or_create(dir.path()).unwrap();
        let sealed = s.seal(&Secret::new("abcd-efgh-ijkl-mnop".into())).unwrap();
        assert!(!String::from_utf8_lossy(&sealed).contains("abcd-efgh"));
        let again = Sealer::load_or_create(dir.path()).unwrap();
        assert_eq!(again.open(&sealed).unwrap().expose(), "abcd-efgh-ijkl-mnop");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(Sealer::ephemeral().open(&sealed).is_err());
    }
}
