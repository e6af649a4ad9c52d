//! TLS: rustls `ServerConfig` from `certs/`, and generation of a local
//! self-signed certificate with rcgen. Nothing else knows about TLS.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Errors while loading or creating certificates.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or written.
    #[error("cannot access {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A PEM file did not hold what was expected.
    #[error("{path} holds no usable certificate or key")]
    Pem {
        /// The file.
        path: PathBuf,
    },
    /// rustls refused the certificate/key pair.
    #[error("certificate and key do not form a valid pair")]
    Rustls(#[from] rustls::Error),
    /// rcgen failed to generate a certificate.
    #[error("certificate generation failed")]
    Generate(#[from] rcgen::Error),
}

/// File names inside a certificate directory.
pub const CERT_FILE: &str = "calproxy.crt";
/// The private key's file name.
pub const KEY_FILE: &str = "calproxy.key";

/// Creates a self-signed certificate for localhost in `dir` unless one
/// exists. Returns true when it created one.
pub fn ensure_self_signed(dir: &Path) -> Result<bool, TlsError> {
    let cert_path = dir.join(CERT_FILE);
    let key_path = dir.join(KEY_FILE);
    if cert_path.exists() && key_path.exists() {
        return Ok(false);
    }
    std::fs::create_dir_all(dir).map_err(|source| TlsError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    let cert = rcgen::generate_simple_self_signed(names)?;
    write_private(&key_path, cert.key_pair.serialize_pem().as_bytes())?;
    std::fs::write(&cert_path, cert.cert.pem()).map_err(|source| TlsError::Io {
        path: cert_path,
        source,
    })?;
    Ok(true)
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let io = |source| TlsError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = opts.open(path).map_err(io)?;
    f.write_all(bytes).map_err(io)
}

/// Loads `calproxy.crt` / `calproxy.key` from `dir` into a server config
/// that offers HTTP/2 and HTTP/1.1.
pub fn server_config(dir: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    crate::crypto::install_tls_provider();
    let cert_path = dir.join(CERT_FILE);
    let key_path = dir.join(KEY_FILE);
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_path)
        .map_err(|_| TlsError::Pem {
            path: cert_path.clone(),
        })?
        .collect::<Result<_, _>>()
        .map_err(|_| TlsError::Pem {
            path: cert_path.clone(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Pem { path: cert_path });
    }
    let key =
        PrivateKeyDer::from_pem_file(&key_path).map_err(|_| TlsError::Pem { path: key_path })?;
    let mut cfg = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_and_loads_a_self_signed_cert() {
        let dir = tempfile::tempdir().unwrap();
        assert!(ensure_self_signed(dir.path()).unwrap());
        assert!(!ensure_self_signed(dir.path()).unwrap());
        server_config(dir.path()).unwrap();
    }
}
