//! The server ("leaf") certificate: the names it must carry, what an
//! existing one says, whether it is due for renewal, and issuing a new one
//! from the local CA.
//!
//! Apple's rules for TLS server certificates (macOS 10.15, iOS 13 and
//! later) apply even to a certificate whose CA the user trusts: names in
//! the subjectAltName, `id-kp-serverAuth` in the extended key usage, a
//! validity of at most 825 days (398 for public CAs; we keep to 397), and a
//! SHA-2 signature. The leaf below meets all of them.

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;

use rcgen::{
    CertificateParams, CustomExtension, DistinguishedName, DnType, ExtendedKeyUsagePurpose,
    KeyPair, SanType, SerialNumber,
};
use rustls::pki_types::CertificateDer;
use sha2::Digest;
use time::{Duration, OffsetDateTime};
use x509_parser::extensions::GeneralName;

use super::ca::Ca;
use super::TlsError;

/// Longest validity of a leaf, notBefore to notAfter (Apple: at most 825
/// days for a locally trusted CA, 398 for public ones).
pub const LEAF_VALIDITY_DAYS: i64 = 397;
/// A leaf with fewer days left than this is renewed.
pub const RENEW_BEFORE_DAYS: i64 = 30;
/// How far in the past a new certificate starts, for clients whose clock
/// is a little behind.
pub(super) const BACKDATE: Duration = Duration::hours(24);
/// The names every leaf carries, before any `--tls-name`.
pub const DEFAULT_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];
/// The subject common name of the leaf (clients go by the SAN).
const LEAF_CN: &str = "localhost";
/// The subject CN of the certificates that calproxy generated before it had
/// a CA (rcgen's default): replaced on sight.
pub(super) const OLD_SELF_SIGNED_CN: &str = "rcgen self signed cert";

/// A name a leaf is valid for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Name {
    /// A host name (lower case).
    Dns(String),
    /// An IP address.
    Ip(IpAddr),
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Name::Dns(s) => f.write_str(s),
            Name::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// The default names plus `extra` (from `--tls-name`), validated and
/// without duplicates.
pub(super) fn names(extra: &[String]) -> Result<BTreeSet<Name>, TlsError> {
    let mut out = BTreeSet::new();
    for raw in DEFAULT_NAMES
        .iter()
        .copied()
        .chain(extra.iter().map(String::as_str))
    {
        out.insert(parse_name(raw)?);
    }
    Ok(out)
}

/// `names` for people: the defaults first, in their usual order, then the
/// others.
pub(super) fn listed(names: &BTreeSet<Name>) -> Vec<String> {
    let defaults: Vec<Name> = DEFAULT_NAMES
        .iter()
        .filter_map(|n| parse_name(n).ok())
        .collect();
    let mut out: Vec<String> = defaults
        .iter()
        .filter(|n| names.contains(n))
        .map(ToString::to_string)
        .collect();
    out.extend(
        names
            .iter()
            .filter(|n| !defaults.contains(n))
            .map(ToString::to_string),
    );
    out
}

fn parse_name(raw: &str) -> Result<Name, TlsError> {
    let bad = || TlsError::InvalidName {
        name: raw.to_string(),
    };
    let trimmed = raw.trim().trim_end_matches('.');
    if let Ok(ip) = trimmed.trim_matches(['[', ']']).parse::<IpAddr>() {
        return Ok(Name::Ip(ip));
    }
    let lower = trimmed.to_ascii_lowercase();
    match rustls::pki_types::DnsName::try_from(lower.as_str()) {
        Ok(_) if !lower.is_empty() => Ok(Name::Dns(lower)),
        _ => Err(bad()),
    }
}

/// What an existing leaf says, read with x509-parser.
#[derive(Debug, Clone)]
pub(super) struct Info {
    pub der: CertificateDer<'static>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub names: BTreeSet<Name>,
    pub server_auth: bool,
    pub issuer_cn: String,
    pub self_issued: bool,
}

impl Info {
    pub(super) fn parse(der: CertificateDer<'static>) -> Option<Info> {
        let fields = {
            let (_, x) = x509_parser::parse_x509_certificate(&der).ok()?;
            let mut names = BTreeSet::new();
            if let Ok(Some(san)) = x.subject_alternative_name() {
                for g in &san.value.general_names {
                    match g {
                        GeneralName::DNSName(d) => {
                            names.insert(Name::Dns(d.to_ascii_lowercase()));
                        }
                        GeneralName::IPAddress(b) => {
                            if let Ok(a) = <[u8; 4]>::try_from(*b) {
                                names.insert(Name::Ip(IpAddr::from(a)));
                            } else if let Ok(a) = <[u8; 16]>::try_from(*b) {
                                names.insert(Name::Ip(IpAddr::from(a)));
                            }
                        }
                        _ => {}
                    }
                }
            }
            (
                x.validity().not_before.to_datetime(),
                x.validity().not_after.to_datetime(),
                names,
                matches!(x.extended_key_usage(), Ok(Some(e)) if e.value.server_auth),
                common_name(x.issuer()),
                x.issuer().as_raw() == x.subject().as_raw(),
            )
        };
        let (not_before, not_after, names, server_auth, issuer_cn, self_issued) = fields;
        Some(Info {
            der,
            not_before,
            not_after,
            names,
            server_auth,
            issuer_cn,
            self_issued,
        })
    }

    /// Whether calproxy made this certificate: its old self-signed one, or
    /// one from a local CA (this one or an earlier). Anything else is the
    /// user's own certificate and is left alone.
    pub(super) fn made_by_calproxy(&self) -> bool {
        (self.self_issued && self.issuer_cn == OLD_SELF_SIGNED_CN)
            || self.issuer_cn.starts_with(super::ca::CA_CN_PREFIX)
    }

    /// Whether `ca` signed this certificate.
    pub(super) fn signed_by(&self, ca: &Ca) -> bool {
        let Ok((_, leaf)) = x509_parser::parse_x509_certificate(&self.der) else {
            return false;
        };
        let Ok((_, cac)) = x509_parser::parse_x509_certificate(ca.der()) else {
            return false;
        };
        leaf.issuer().as_raw() == cac.subject().as_raw()
            && leaf.verify_signature(Some(cac.public_key())).is_ok()
    }
}

/// The first common name of a distinguished name ("" when none).
pub(super) fn common_name(n: &x509_parser::x509::X509Name<'_>) -> String {
    n.iter_common_name()
        .next()
        .and_then(|a| a.as_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// Why a new leaf is issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Renewal {
    /// There was no certificate (or no key).
    Missing,
    /// The self-signed certificate of an earlier calproxy version (no
    /// extended key usage, valid for centuries: Apple clients refuse it).
    OldSelfSigned,
    /// Issued by another calproxy CA than the one in the directory.
    OtherCa,
    /// Fewer than 30 days left.
    Expiring {
        /// When it expires.
        not_after: OffsetDateTime,
    },
    /// Its names differ from the ones asked for.
    NamesChanged,
    /// It breaks a rule clients enforce (validity over 397 days, no
    /// serverAuth), or its key file does not match it.
    Unfit,
}

impl fmt::Display for Renewal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Renewal::Missing => f.write_str("there was none"),
            Renewal::OldSelfSigned => f.write_str(
                "replacing the self-signed certificate of an earlier calproxy version, which Apple clients refuse",
            ),
            Renewal::OtherCa => f.write_str("the old one was issued by another CA"),
            Renewal::Expiring { not_after } => {
                write!(f, "the old one expires on {}", super::day(*not_after))
            }
            Renewal::NamesChanged => f.write_str("the names changed"),
            Renewal::Unfit => f.write_str(
                "the old one breaks the rules clients enforce (validity, key usage) or does not match its key",
            ),
        }
    }
}

/// Whether a leaf that `ca` signed must be renewed at `now`.
pub(super) fn due(info: &Info, want: &BTreeSet<Name>, now: OffsetDateTime) -> Option<Renewal> {
    if info.not_after - now < Duration::days(RENEW_BEFORE_DAYS) {
        return Some(Renewal::Expiring {
            not_after: info.not_after,
        });
    }
    if info.not_after - info.not_before > Duration::days(LEAF_VALIDITY_DAYS)
        || !info.server_auth
        || info.not_before > now
    {
        return Some(Renewal::Unfit);
    }
    if &info.names != want {
        return Some(Renewal::NamesChanged);
    }
    None
}

/// A new leaf: (chain PEM — leaf then CA —, key PEM, what it says).
pub(super) struct Issued {
    pub chain_pem: String,
    pub key_pem: String,
    pub info: Info,
}

/// Issues a leaf for `names` from `ca`, valid from `now` minus a day for
/// `validity` (at most [`LEAF_VALIDITY_DAYS`]) and never past the CA.
pub(super) fn issue(
    ca: &Ca,
    names: &BTreeSet<Name>,
    now: OffsetDateTime,
    validity: Duration,
) -> Result<Issued, TlsError> {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, LEAF_CN);
    dn.push(DnType::OrganizationName, "calproxy");
    params.distinguished_name = dn;
    params.subject_alt_names = names
        .iter()
        .map(|n| match n {
            Name::Dns(d) => rcgen::Ia5String::try_from(d.as_str()).map(SanType::DnsName),
            Name::Ip(ip) => Ok(SanType::IpAddress(*ip)),
        })
        .collect::<Result<_, _>>()?;
    params.not_before = now - BACKDATE;
    params.not_after =
        (params.not_before + validity.min(Duration::days(LEAF_VALIDITY_DAYS))).min(ca.not_after());
    params.serial_number = Some(random_serial());
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    // basicConstraints CA:FALSE, critical, DER-encoded as an empty SEQUENCE
    // (rcgen's ExplicitNoCa writes the default FALSE, which DER forbids),
    // and a subject key identifier.
    let mut bc = CustomExtension::from_oid_content(&[2, 5, 29, 19], vec![0x30, 0x00]);
    bc.set_criticality(true);
    let ski = sha2::Sha256::digest(key.public_key_raw());
    let mut ski_der = vec![0x04, 20];
    ski_der.extend_from_slice(&ski[..20]);
    params.custom_extensions = vec![
        key_usage(&[KU_DIGITAL_SIGNATURE]),
        bc,
        CustomExtension::from_oid_content(&[2, 5, 29, 14], ski_der),
    ];
    let cert = params.signed_by(&key, ca.issuer(), ca.key())?;
    let info = Info::parse(cert.der().clone())
        .ok_or(TlsError::Generate(rcgen::Error::CouldNotParseCertificate))?;
    Ok(Issued {
        chain_pem: format!("{}{}", cert.pem(), ca.pem()),
        key_pem: key.serialize_pem(),
        info,
    })
}

/// keyUsage bit: digitalSignature.
pub(super) const KU_DIGITAL_SIGNATURE: u8 = 0;
/// keyUsage bit: keyCertSign.
pub(super) const KU_KEY_CERT_SIGN: u8 = 5;
/// keyUsage bit: cRLSign.
pub(super) const KU_CRL_SIGN: u8 = 6;

/// A critical keyUsage extension with the given bits (0 = digitalSignature),
/// DER-encoded with trailing zero bits dropped, as RFC 5280 appendix B
/// requires (rcgen 0.13.2 writes a ninth, zero bit: rustls/rcgen#368, and
/// strict validators refuse that).
pub(super) fn key_usage(bits: &[u8]) -> CustomExtension {
    let value = bits.iter().fold(0u16, |v, b| v | (0x8000 >> b));
    let used = 16 - value.trailing_zeros().min(16) as usize;
    let len = used.div_ceil(8).max(1);
    let unused = (len * 8 - used) as u8;
    let mut der = vec![0x03, 1 + len as u8, unused];
    der.extend_from_slice(&value.to_be_bytes()[..len]);
    let mut ext = CustomExtension::from_oid_content(&[2, 5, 29, 15], der);
    ext.set_criticality(true);
    ext
}

/// 16 random bytes, positive and non-zero (RFC 5280 §4.1.2.2): a new
/// serial for every certificate, as Firefox insists.
pub(super) fn random_serial() -> SerialNumber {
    let mut b: [u8; 16] = rand::random();
    b[0] = (b[0] & 0x7f) | 0x01;
    SerialNumber::from_slice(&b)
}
