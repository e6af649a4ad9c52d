//! Serving: the rustls config whose certificate resolver hands out the
//! current leaf, and the renewal check that swaps a renewed leaf in while
//! the server runs.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_util::sync::CancellationToken;

use super::{ensure, TlsError, CERT_FILE, KEY_FILE};

/// Loads the chain and key of `dir` as rustls wants them, checking that
/// they belong together.
fn load(dir: &Path) -> Result<Arc<CertifiedKey>, TlsError> {
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
    let signer = rustls::crypto::ring::sign::any_supported_type(&key)?;
    let ck = CertifiedKey::new(certs, signer);
    ck.keys_match()?;
    Ok(Arc::new(ck))
}

/// The certificate a running server hands out; swapped on renewal.
#[derive(Debug)]
struct Current(RwLock<Arc<CertifiedKey>>);

impl Current {
    fn get(&self) -> Arc<CertifiedKey> {
        // A poisoned lock still holds a whole Arc: the writer only assigns.
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
    fn set(&self, ck: Arc<CertifiedKey>) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = ck;
    }
}

impl ResolvesServerCert for Current {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.get())
    }
}

fn config_for(current: Arc<Current>) -> Arc<rustls::ServerConfig> {
    crate::crypto::install_tls_provider();
    let mut cfg = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_cert_resolver(current);
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Arc::new(cfg)
}

/// Loads `calproxy.crt` / `calproxy.key` from `dir` as they are into a
/// server config that offers HTTP/2 and HTTP/1.1. No renewal: a server
/// uses [`ServerCerts`].
pub fn server_config(dir: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let current = Arc::new(Current(RwLock::new(load(dir)?)));
    Ok(config_for(current))
}

/// The certificates of a running server: [`ensure`]d at start, served
/// through [`ServerCerts::server_config`], and renewed in place by
/// [`ServerCerts::refresh`] (which [`ServerCerts::spawn_renewal`] calls
/// periodically) without a restart. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ServerCerts {
    dir: PathBuf,
    extra_names: Vec<String>,
    current: Arc<Current>,
    config: Arc<rustls::ServerConfig>,
}

impl ServerCerts {
    /// Ensures the directory (see [`ensure`]; logs what it did) and loads
    /// the leaf.
    pub fn open(dir: &Path, extra_names: &[String]) -> Result<Self, TlsError> {
        ensure(dir, extra_names)?.log();
        Self::as_is(dir, extra_names)
    }

    /// Serves what `dir` holds now, without [`ensure`].
    pub(super) fn as_is(dir: &Path, extra_names: &[String]) -> Result<Self, TlsError> {
        let current = Arc::new(Current(RwLock::new(load(dir)?)));
        Ok(ServerCerts {
            dir: dir.to_path_buf(),
            extra_names: extra_names.to_vec(),
            config: config_for(current.clone()),
            current,
        })
    }

    /// The rustls config for `server::run`; it always serves the current
    /// leaf.
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        self.config.clone()
    }

    /// The leaf served now (DER).
    pub fn leaf(&self) -> CertificateDer<'static> {
        // A CertifiedKey is never built with an empty chain (load refuses one).
        self.current
            .get()
            .end_entity_cert()
            .map(|c| c.clone().into_owned())
            .unwrap_or_else(|_| CertificateDer::from(Vec::new()))
    }

    /// One renewal check: renews the files when due (see [`ensure`]) and
    /// serves them when they differ from the served leaf (renewed now, or
    /// replaced by `calproxy certs` or by hand). Returns true when the
    /// served certificate changed. Blocking (file I/O, key generation).
    pub fn refresh(&self) -> Result<bool, TlsError> {
        let report = ensure(&self.dir, &self.extra_names)?;
        // Log changes only: an hourly "nothing to do" (or "your own
        // certificate") would be noise.
        if report.issued.is_some() || report.ca_created || !report.narrowed.is_empty() {
            report.log();
        }
        let loaded = load(&self.dir)?;
        let changed = loaded.end_entity_cert().ok() != self.current.get().end_entity_cert().ok();
        if changed {
            self.current.set(loaded);
            tracing::info!(dir = %self.dir.display(), "serving the new certificate");
        }
        Ok(changed)
    }

    /// Spawns a task that calls [`ServerCerts::refresh`] every `every`
    /// until `shutdown` is cancelled. A failed check logs a warning and
    /// keeps the certificate being served.
    pub fn spawn_renewal(
        &self,
        every: Duration,
        shutdown: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let start = tokio::time::Instant::now() + every;
            let mut tick = tokio::time::interval_at(start, every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tick.tick() => {}
                }
                let certs = this.clone();
                match tokio::task::spawn_blocking(move || certs.refresh()).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        tracing::warn!(error = %chain(&e), "certificate renewal check failed; still serving the current certificate");
                    }
                    Err(e) => tracing::warn!(error = %e, "certificate renewal check panicked"),
                }
            }
        })
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
