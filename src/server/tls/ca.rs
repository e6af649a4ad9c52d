//! The local certificate authority: created once per certificate
//! directory, kept private (`ca.key`, 0600, in a 0700 directory), trusted
//! once by the user; it signs every leaf, so renewing a leaf needs no new
//! trust. Also writes the iOS configuration profile that installs it.

use std::path::Path;

use base64::Engine;
use rcgen::{BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use sha2::Digest;
use time::{Duration, OffsetDateTime};

use super::files::{self, KEY_MODE, PUBLIC_MODE};
use super::leaf::{key_usage, KU_CRL_SIGN, KU_DIGITAL_SIGNATURE, KU_KEY_CERT_SIGN};
use super::{TlsError, CA_CERT_FILE, CA_KEY_FILE, MOBILECONFIG_FILE};

/// Every calproxy CA's common name starts with this, followed by the host
/// name in parentheses.
pub(super) const CA_CN_PREFIX: &str = "calproxy local CA";
/// Validity of the CA (ten years): the trust set up once lasts that long.
pub const CA_VALIDITY_DAYS: i64 = 3650;

/// A loaded (or new) CA: its certificate and key, and the rcgen issuer
/// built from them.
pub(super) struct Ca {
    der: CertificateDer<'static>,
    pem: String,
    key: KeyPair,
    issuer: rcgen::Certificate,
    not_after: OffsetDateTime,
    name: String,
}

impl Ca {
    pub(super) fn der(&self) -> &CertificateDer<'static> {
        &self.der
    }
    pub(super) fn pem(&self) -> &str {
        &self.pem
    }
    pub(super) fn key(&self) -> &KeyPair {
        &self.key
    }
    pub(super) fn issuer(&self) -> &rcgen::Certificate {
        &self.issuer
    }
    pub(super) fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }
    /// The subject common name.
    pub(super) fn name(&self) -> &str {
        &self.name
    }
}

/// Creates a CA in `dir` (key first, 0600; then the certificate).
pub(super) fn create(dir: &Path, now: OffsetDateTime) -> Result<Ca, TlsError> {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(
        DnType::CommonName,
        format!("{CA_CN_PREFIX} ({})", hostname()),
    );
    dn.push(DnType::OrganizationName, "calproxy");
    dn.push(
        DnType::OrganizationalUnitName,
        format!("created {}", super::day(now)),
    );
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.custom_extensions = vec![key_usage(&[
        KU_DIGITAL_SIGNATURE,
        KU_KEY_CERT_SIGN,
        KU_CRL_SIGN,
    ])];
    params.not_before = now - super::leaf::BACKDATE;
    params.not_after = now + Duration::days(CA_VALIDITY_DAYS);
    params.serial_number = Some(super::leaf::random_serial());
    let cert = params.self_signed(&key)?;
    files::write_atomic(
        &dir.join(CA_KEY_FILE),
        key.serialize_pem().as_bytes(),
        KEY_MODE,
    )?;
    files::write_atomic(&dir.join(CA_CERT_FILE), cert.pem().as_bytes(), PUBLIC_MODE)?;
    load(dir)
}

/// Loads the CA of `dir`; the key must belong to the certificate.
pub(super) fn load(dir: &Path) -> Result<Ca, TlsError> {
    let cert_path = dir.join(CA_CERT_FILE);
    let key_path = dir.join(CA_KEY_FILE);
    let pem = files::read(&cert_path)?;
    let der = CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|_| TlsError::Pem {
        path: cert_path.clone(),
    })?;
    let key = KeyPair::from_pem(&files::read(&key_path)?).map_err(|_| TlsError::Pem {
        path: key_path.clone(),
    })?;
    let (_, parsed) = x509_parser::parse_x509_certificate(&der).map_err(|_| TlsError::Pem {
        path: cert_path.clone(),
    })?;
    if parsed.public_key().raw != key.public_key_der().as_slice() {
        return Err(TlsError::CaKeyMismatch { path: key_path });
    }
    let not_after = parsed.validity().not_after.to_datetime();
    let name = super::leaf::common_name(parsed.subject());
    let params = CertificateParams::from_ca_cert_der(&der).map_err(|_| TlsError::Pem {
        path: cert_path.clone(),
    })?;
    // An rcgen issuer with the CA's subject and key identifier; only its
    // name, key id and key are used to sign leaves.
    let issuer = params.self_signed(&key)?;
    Ok(Ca {
        pem: pem_of(&der),
        der,
        key,
        issuer,
        not_after,
        name,
    })
}

fn pem_of(der: &CertificateDer<'_>) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// Writes `calproxy-ca.mobileconfig` unless it already holds this CA.
/// Returns true when it wrote the file.
pub(super) fn write_mobileconfig(dir: &Path, ca: &Ca) -> Result<bool, TlsError> {
    let path = dir.join(MOBILECONFIG_FILE);
    let want = mobileconfig(ca);
    if std::fs::read_to_string(&path).ok().as_deref() == Some(want.as_str()) {
        return Ok(false);
    }
    files::write_atomic(&path, want.as_bytes(), PUBLIC_MODE)?;
    Ok(true)
}

/// An Apple configuration profile (a plist) with the CA as a
/// `com.apple.security.root` payload. iOS installs it from Settings →
/// Profile Downloaded; full trust is then switched on in Settings →
/// General → About → Certificate Trust Settings. UUIDs derive from the
/// certificate, so the file is the same every time for the same CA.
pub(super) fn mobileconfig(ca: &Ca) -> String {
    let hash = sha2::Sha256::digest(ca.der().as_ref());
    let uuid = |salt: u8| {
        let mut b = [0u8; 16];
        b.copy_from_slice(&hash[..16]);
        b[15] ^= salt;
        uuid::Builder::from_random_bytes(b).into_uuid()
    };
    let (payload_uuid, profile_uuid) = (uuid(1), uuid(2));
    let data = base64::engine::general_purpose::STANDARD.encode(ca.der().as_ref());
    let name = xml_escape(ca.name());
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>PayloadContent</key>
	<array>
		<dict>
			<key>PayloadCertificateFileName</key>
			<string>calproxy-ca.cer</string>
			<key>PayloadContent</key>
			<data>{data}</data>
			<key>PayloadDescription</key>
			<string>Adds the calproxy local CA, which signs the certificate of calproxy on this network.</string>
			<key>PayloadDisplayName</key>
			<string>{name}</string>
			<key>PayloadIdentifier</key>
			<string>local.calproxy.ca.{payload_uuid}</string>
			<key>PayloadType</key>
			<string>com.apple.security.root</string>
			<key>PayloadUUID</key>
			<string>{payload_uuid}</string>
			<key>PayloadVersion</key>
			<integer>1</integer>
		</dict>
	</array>
	<key>PayloadDescription</key>
	<string>Trust calproxy's local CA so that Calendar accepts calproxy's HTTPS certificate.</string>
	<key>PayloadDisplayName</key>
	<string>{name}</string>
	<key>PayloadIdentifier</key>
	<string>local.calproxy.profile.{profile_uuid}</string>
	<key>PayloadRemovalDisallowed</key>
	<false/>
	<key>PayloadType</key>
	<string>Configuration</string>
	<key>PayloadUUID</key>
	<string>{profile_uuid}</string>
	<key>PayloadVersion</key>
	<integer>1</integer>
</dict>
</plist>
"#
    )
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// This machine's host name (for the CA's name, so a user can tell CAs of
/// several machines apart in a trust store).
fn hostname() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| {
            std::process::Command::new("hostname")
                .output()
                .ok()
                .filter(|o| o.status.success())
                .and_then(|o| String::from_utf8(o.stdout).ok())
        })
        .unwrap_or_default();
    let name: String = name
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(40)
        .collect();
    if name.is_empty() {
        "this computer".to_string()
    } else {
        name
    }
}
