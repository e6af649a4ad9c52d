//! TLS: a local CA that signs a short-lived server certificate, renewed
//! before it expires, and the rustls `ServerConfig` that serves it.
//! Nothing else knows about TLS.
//!
//! A certificate directory (default `certs/`, mode 0700) holds:
//!
//! ```text
//! ca.crt                     the local CA: what users trust, once (10 years)
//! ca.key                     its private key (0600): never leaves the machine
//! calproxy-ca.mobileconfig   an iOS profile that installs ca.crt
//! calproxy.crt               the served chain: leaf, then ca.crt
//! calproxy.key               the leaf's key (0600)
//! ```
//!
//! The leaf meets what Apple clients demand of any TLS server certificate
//! (see [`leaf`]): SANs for localhost, 127.0.0.1, ::1 and every
//! `--tls-name`; EKU serverAuth; at most 397 days. [`ensure`] creates or
//! renews the files (30 days before expiry, or when the names change);
//! [`ServerCerts`] (in `serve.rs`) serves them and swaps a renewed leaf
//! into the running server. A `calproxy.crt` that calproxy did not make
//! (your own certificate) is served as it is and never touched.

mod ca;
mod files;
pub mod leaf;
mod serve;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use time::OffsetDateTime;

pub use ca::CA_VALIDITY_DAYS;
pub use leaf::{Renewal, DEFAULT_NAMES, LEAF_VALIDITY_DAYS, RENEW_BEFORE_DAYS};
pub use serve::{server_config, ServerCerts};

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
    /// A `--tls-name` is neither a host name nor an IP address.
    #[error("--tls-name {name:?} is neither a host name nor an IP address")]
    InvalidName {
        /// The name as given.
        name: String,
    },
    /// Only one of `ca.crt` and `ca.key` exists.
    #[error(
        "{present} exists but {missing} does not; remove {present} to create a new local CA \
         (clients must then trust the new ca.crt)"
    )]
    CaIncomplete {
        /// The file that exists.
        present: PathBuf,
        /// The file that is missing.
        missing: PathBuf,
    },
    /// `ca.key` is not the key of `ca.crt`.
    #[error("{path} is not the key of the CA certificate beside it")]
    CaKeyMismatch {
        /// The key file.
        path: PathBuf,
    },
}

/// The served chain (leaf, then the CA) inside a certificate directory.
pub const CERT_FILE: &str = "calproxy.crt";
/// The leaf's private key.
pub const KEY_FILE: &str = "calproxy.key";
/// The local CA's certificate: the one file users trust.
pub const CA_CERT_FILE: &str = "ca.crt";
/// The local CA's private key.
pub const CA_KEY_FILE: &str = "ca.key";
/// An Apple configuration profile that installs the CA on iOS.
pub const MOBILECONFIG_FILE: &str = "calproxy-ca.mobileconfig";
/// How often a running server checks whether its leaf is due for renewal.
pub const RENEWAL_CHECK_EVERY: Duration = Duration::from_secs(3600);

/// What [`ensure`] found and did.
#[derive(Debug, Clone)]
pub struct Report {
    /// The certificate directory.
    pub dir: PathBuf,
    /// The CA was created now.
    pub ca_created: bool,
    /// The CA's subject common name (`None` for your own certificate).
    pub ca_name: Option<String>,
    /// When the CA expires.
    pub ca_not_after: Option<OffsetDateTime>,
    /// A new leaf was issued, and why.
    pub issued: Option<Renewal>,
    /// `calproxy.crt` is not calproxy's (your own certificate): served as
    /// it is, never renewed.
    pub custom: bool,
    /// When the leaf expires.
    pub not_after: Option<OffsetDateTime>,
    /// The leaf's names.
    pub names: Vec<String>,
    /// Paths whose modes were narrowed (directory to 0700, keys to 0600).
    pub narrowed: Vec<PathBuf>,
}

impl Report {
    /// Logs what happened: creation, renewal and replacement at info or
    /// warn, nothing when nothing changed.
    pub fn log(&self) {
        let dir = self.dir.display();
        for p in &self.narrowed {
            tracing::warn!(path = %p.display(), "others could read this private TLS file or directory; narrowed it to owner-only");
        }
        if self.custom {
            tracing::info!(
                "{dir}/{CERT_FILE} was not made by calproxy: serving it as it is, without renewal"
            );
            return;
        }
        if self.ca_created {
            tracing::info!(
                "created a local CA, {dir}/{CA_CERT_FILE}: trust it once on each client (README: \"Trusting the local CA\")"
            );
        }
        if let Some(why) = &self.issued {
            let until = self.not_after.map(day).unwrap_or_default();
            let names = self.names.join(", ");
            if *why == Renewal::OldSelfSigned {
                tracing::warn!(
                    "replaced the self-signed certificate of an earlier calproxy version in {dir} with one from the local CA \
                     (Apple clients refused the old one): trust {dir}/{CA_CERT_FILE} instead of the old calproxy.crt"
                );
            }
            tracing::info!(reason = %why, valid_until = %until, names = %names, "issued a server certificate");
        }
        if let Some(ca_end) = self.ca_not_after {
            if ca_end - OffsetDateTime::now_utc() < time::Duration::days(90) {
                tracing::warn!(
                    "the local CA expires on {}: remove {dir}/{CA_CERT_FILE} and {dir}/{CA_KEY_FILE} to create a new one, then trust it again",
                    day(ca_end)
                );
            }
        }
    }
}

impl fmt::Display for Report {
    /// The text `calproxy certs` prints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dir = self.dir.display();
        if self.custom {
            return write!(
                f,
                "{dir}/{CERT_FILE} is your own certificate (not from calproxy's CA): left as it is, never renewed"
            );
        }
        let ca_end = self.ca_not_after.map(day).unwrap_or_default();
        let ca_state = if self.ca_created { "created" } else { "kept" };
        writeln!(
            f,
            "local CA     {dir}/{CA_CERT_FILE} ({ca_state}; valid until {ca_end}): trust it once on each client"
        )?;
        writeln!(f, "iOS profile  {dir}/{MOBILECONFIG_FILE}")?;
        let until = self.not_after.map(day).unwrap_or_default();
        let state = match &self.issued {
            Some(why) => format!("issued: {why}"),
            None => "still good".to_string(),
        };
        write!(
            f,
            "certificate  {dir}/{CERT_FILE} for {} ({state}; valid until {until}, renewed {RENEW_BEFORE_DAYS} days before)",
            self.names.join(", ")
        )
    }
}

/// A date as YYYY-MM-DD.
fn day(t: OffsetDateTime) -> String {
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

/// Makes `dir` hold a local CA and a leaf for localhost, 127.0.0.1, ::1
/// and `extra_names`, signed by it and not due for renewal. Creates the CA
/// when there is none, replaces the self-signed certificate of earlier
/// calproxy versions, renews a leaf with less than 30 days left or other
/// names, and narrows modes (directory 0700, keys 0600). Leaves your own
/// certificate (one calproxy did not make) alone.
pub fn ensure(dir: &Path, extra_names: &[String]) -> Result<Report, TlsError> {
    let now = OffsetDateTime::now_utc();
    ensure_at(
        dir,
        extra_names,
        now,
        time::Duration::days(LEAF_VALIDITY_DAYS),
    )
}

fn ensure_at(
    dir: &Path,
    extra_names: &[String],
    now: OffsetDateTime,
    validity: time::Duration,
) -> Result<Report, TlsError> {
    let want = leaf::names(extra_names)?;
    let mut report = Report {
        dir: dir.to_path_buf(),
        ca_created: false,
        ca_name: None,
        ca_not_after: None,
        issued: None,
        custom: false,
        not_after: None,
        names: Vec::new(),
        narrowed: Vec::new(),
    };
    report.narrowed.extend(files::private_dir(dir)?);
    let cert_path = dir.join(CERT_FILE);
    let key_path = dir.join(KEY_FILE);
    let existing = if cert_path.exists() {
        let der = CertificateDer::pem_file_iter(&cert_path)
            .ok()
            .and_then(|mut it| it.next())
            .and_then(Result::ok)
            .ok_or_else(|| TlsError::Pem {
                path: cert_path.clone(),
            })?;
        Some(leaf::Info::parse(der).ok_or_else(|| TlsError::Pem {
            path: cert_path.clone(),
        })?)
    } else {
        None
    };
    if let Some(info) = &existing {
        if !info.made_by_calproxy() {
            report.custom = true;
            report.not_after = Some(info.not_after);
            report.names = leaf::listed(&info.names);
            if key_path.exists() {
                report
                    .narrowed
                    .extend(files::narrow(&key_path, files::KEY_MODE)?);
            }
            return Ok(report);
        }
    }
    let (ca_crt, ca_key) = (dir.join(CA_CERT_FILE), dir.join(CA_KEY_FILE));
    let ca = match (ca_crt.exists(), ca_key.exists()) {
        (true, true) => {
            report
                .narrowed
                .extend(files::narrow(&ca_key, files::KEY_MODE)?);
            ca::load(dir)?
        }
        (false, false) => {
            report.ca_created = true;
            ca::create(dir, now)?
        }
        (true, false) => {
            return Err(TlsError::CaIncomplete {
                present: ca_crt,
                missing: ca_key,
            })
        }
        (false, true) => {
            return Err(TlsError::CaIncomplete {
                present: ca_key,
                missing: ca_crt,
            })
        }
    };
    report.ca_name = Some(ca.name().to_string());
    report.ca_not_after = Some(ca.not_after());
    ca::write_mobileconfig(dir, &ca)?;

    let reason = match &existing {
        None => Some(Renewal::Missing),
        Some(info) if info.self_issued => Some(Renewal::OldSelfSigned),
        Some(info) if !info.signed_by(&ca) => Some(Renewal::OtherCa),
        Some(_) if !key_path.exists() => Some(Renewal::Missing),
        Some(info) if !key_matches(&info.der, &key_path) => Some(Renewal::Unfit),
        Some(info) => leaf::due(info, &want, now),
    };
    let info = match reason {
        Some(why) => {
            let new = leaf::issue(&ca, &want, now, validity)?;
            files::write_atomic(&key_path, new.key_pem.as_bytes(), files::KEY_MODE)?;
            files::write_atomic(&cert_path, new.chain_pem.as_bytes(), files::PUBLIC_MODE)?;
            report.issued = Some(why);
            new.info
        }
        None => {
            report
                .narrowed
                .extend(files::narrow(&key_path, files::KEY_MODE)?);
            existing.ok_or(TlsError::Pem { path: cert_path })?
        }
    };
    report.not_after = Some(info.not_after);
    report.names = leaf::listed(&info.names);
    Ok(report)
}

/// Whether the key in `key_path` belongs to the certificate `der`.
fn key_matches(der: &CertificateDer<'static>, key_path: &Path) -> bool {
    let Ok(key) = PrivateKeyDer::from_pem_file(key_path) else {
        return false;
    };
    let Ok(signer) = rustls::crypto::ring::sign::any_supported_type(&key) else {
        return false;
    };
    CertifiedKey::new(vec![der.clone()], signer)
        .keys_match()
        .is_ok()
}

/// Test hooks: not part of the API.
#[doc(hidden)]
pub mod testing {
    use super::*;

    /// Replaces the leaf by one from the directory's CA (created if
    /// missing) that is valid for `validity` counted from a day ago, so
    /// that 10 days make a leaf that is due at once: lets tests see renewal
    /// without waiting a year.
    pub fn issue_leaf(
        dir: &Path,
        extra_names: &[String],
        validity: time::Duration,
    ) -> Result<Report, TlsError> {
        let now = OffsetDateTime::now_utc();
        let _ = std::fs::remove_file(dir.join(CERT_FILE));
        ensure_at(dir, extra_names, now, validity)
    }

    /// Serves the directory's certificate as it is, without the renewal
    /// that [`ServerCerts::open`] does at start: lets tests serve a leaf
    /// that is due and watch [`ServerCerts::spawn_renewal`] replace it.
    pub fn open_as_is(dir: &Path, extra_names: &[String]) -> Result<ServerCerts, TlsError> {
        ServerCerts::as_is(dir, extra_names)
    }
}
