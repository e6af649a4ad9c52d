//! Unit tests of the CA, the leaf, renewal and file modes. The independent
//! checks (python `ssl`, `openssl verify`) are in `tests/it/tls.rs`.

use super::*;
use x509_parser::extensions::ParsedExtension;

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap()
}

fn chain(dir: &Path) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_file_iter(dir.join(CERT_FILE))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn ca_der(dir: &Path) -> CertificateDer<'static> {
    CertificateDer::from_pem_file(dir.join(CA_CERT_FILE)).unwrap()
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// The old generator: what `calproxy certs` wrote before the CA.
fn write_old_self_signed(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let c = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    std::fs::write(dir.join(CERT_FILE), c.cert.pem()).unwrap();
    std::fs::write(dir.join(KEY_FILE), c.key_pair.serialize_pem()).unwrap();
}

#[test]
fn creates_a_ca_and_a_leaf_then_leaves_them_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("nested/certs");
    let r = ensure(&dir, &[]).unwrap();
    assert!(r.ca_created);
    assert_eq!(r.issued, Some(Renewal::Missing));
    assert!(!r.custom);
    assert_eq!(r.names, ["localhost", "127.0.0.1", "::1"]);
    assert!(r
        .ca_name
        .as_deref()
        .unwrap()
        .starts_with("calproxy local CA ("));
    for f in [
        CERT_FILE,
        KEY_FILE,
        CA_CERT_FILE,
        CA_KEY_FILE,
        MOBILECONFIG_FILE,
    ] {
        assert!(dir.join(f).exists(), "{f} missing");
    }
    let (ca, leaf, key) = (
        read(&dir.join(CA_CERT_FILE)),
        read(&dir.join(CERT_FILE)),
        read(&dir.join(KEY_FILE)),
    );
    let again = ensure(&dir, &[]).unwrap();
    assert!(!again.ca_created);
    assert_eq!(again.issued, None);
    assert_eq!(read(&dir.join(CA_CERT_FILE)), ca);
    assert_eq!(read(&dir.join(CERT_FILE)), leaf);
    assert_eq!(read(&dir.join(KEY_FILE)), key);
    let text = again.to_string();
    assert!(text.contains("still good"), "{text}");
    assert!(text.contains(MOBILECONFIG_FILE), "{text}");
    server_config(&dir).unwrap();
}

#[cfg(unix)]
#[test]
fn keys_are_0600_and_the_directory_0700() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("certs");
    ensure(&dir, &[]).unwrap();
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join(CA_KEY_FILE)), 0o600);
    assert_eq!(mode(&dir.join(KEY_FILE)), 0o600);
    assert_eq!(mode(&dir.join(CA_CERT_FILE)) & 0o600, 0o600);

    // Wider modes left by hand or by an earlier version are narrowed.
    use std::os::unix::fs::PermissionsExt;
    let set =
        |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    set(&dir, 0o755);
    set(&dir.join(CA_KEY_FILE), 0o644);
    set(&dir.join(KEY_FILE), 0o640);
    let r = ensure(&dir, &[]).unwrap();
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join(CA_KEY_FILE)), 0o600);
    assert_eq!(mode(&dir.join(KEY_FILE)), 0o600);
    assert_eq!(r.narrowed.len(), 3, "{:?}", r.narrowed);
    assert_eq!(r.issued, None);
}

#[test]
fn the_leaf_meets_apples_rules_and_chains_to_the_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let extra = ["mac.local".to_string(), "192.0.2.7".to_string()];
    ensure(tmp.path(), &extra).unwrap();
    let chain = chain(tmp.path());
    assert_eq!(chain.len(), 2, "calproxy.crt holds the leaf, then the CA");
    let ca = ca_der(tmp.path());
    assert_eq!(chain[1], ca);
    let (_, leaf) = x509_parser::parse_x509_certificate(&chain[0]).unwrap();
    let (_, cac) = x509_parser::parse_x509_certificate(&ca).unwrap();

    // Validity: at most 397 days, started a little in the past.
    let v = leaf.validity();
    let (nb, na) = (v.not_before.to_datetime(), v.not_after.to_datetime());
    assert!(na - nb <= time::Duration::days(397), "{nb} .. {na}");
    assert!(na - nb >= time::Duration::days(390));
    assert!(nb < now() - time::Duration::hours(1));
    assert!(nb > now() - time::Duration::days(2));

    // Names.
    assert_eq!(leaf::common_name(leaf.subject()), "localhost");
    let san = leaf.subject_alternative_name().unwrap().unwrap().value;
    let shown: Vec<String> = san.general_names.iter().map(|g| format!("{g:?}")).collect();
    for want in ["localhost", "mac.local", "127.0.0.1", "::1", "192.0.2.7"] {
        let ip = want.parse::<std::net::IpAddr>().ok();
        let found = san.general_names.iter().any(|g| match (g, ip) {
            (x509_parser::extensions::GeneralName::DNSName(d), None) => *d == want,
            (x509_parser::extensions::GeneralName::IPAddress(b), Some(std::net::IpAddr::V4(a))) => {
                *b == a.octets()
            }
            (x509_parser::extensions::GeneralName::IPAddress(b), Some(std::net::IpAddr::V6(a))) => {
                *b == a.octets()
            }
            _ => false,
        });
        assert!(found, "{want} not in {shown:?}");
    }

    // Usage and constraints.
    let eku = leaf.extended_key_usage().unwrap().unwrap().value;
    assert!(eku.server_auth && !eku.any);
    let ku = leaf.key_usage().unwrap().unwrap();
    assert!(ku.critical);
    assert!(ku.value.digital_signature() && !ku.value.key_cert_sign());
    let bc = leaf.basic_constraints().unwrap().unwrap();
    assert!(bc.critical && !bc.value.ca);
    assert!(!leaf.is_ca());

    // Chain: issuer = CA subject, signature, key identifiers.
    assert_eq!(leaf.issuer().as_raw(), cac.subject().as_raw());
    leaf.verify_signature(Some(cac.public_key())).unwrap();
    let ski = cac
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
            _ => None,
        })
        .unwrap();
    let aki = leaf
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(a) => {
                a.key_identifier.as_ref().map(|k| k.0.to_vec())
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(aki, ski);

    // The CA: CA:true with pathlen 0, keyCertSign, ten years, a proper name.
    let bc = cac.basic_constraints().unwrap().unwrap();
    assert!(bc.critical && bc.value.ca);
    assert_eq!(bc.value.path_len_constraint, Some(0));
    let ku = cac.key_usage().unwrap().unwrap();
    assert!(ku.critical && ku.value.key_cert_sign());
    let cv = cac.validity();
    assert!(cv.not_after.to_datetime() - now() > time::Duration::days(3640));
    assert!(leaf::common_name(cac.subject()).starts_with("calproxy local CA ("));
    assert_ne!(chain[0], chain[1]);
}

#[test]
fn key_usage_is_der_without_trailing_zero_bits() {
    let content = |bits: &[u8]| leaf::key_usage(bits).content().to_vec();
    assert_eq!(
        content(&[leaf::KU_DIGITAL_SIGNATURE]),
        [0x03, 0x02, 0x07, 0x80]
    );
    assert_eq!(
        content(&[
            leaf::KU_DIGITAL_SIGNATURE,
            leaf::KU_KEY_CERT_SIGN,
            leaf::KU_CRL_SIGN
        ]),
        [0x03, 0x02, 0x01, 0x86]
    );
    // digitalSignature + keyEncipherment (RSA): bits 0 and 2.
    assert_eq!(content(&[0, 2]), [0x03, 0x02, 0x05, 0xa0]);
    // decipherOnly (bit 8) needs a second byte.
    assert_eq!(content(&[0, 8]), [0x03, 0x03, 0x07, 0x80, 0x80]);
}

#[test]
fn a_leaf_with_less_than_30_days_left_is_renewed_and_the_ca_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let short = testing::issue_leaf(dir, &[], time::Duration::days(20)).unwrap();
    let ca = (read(&dir.join(CA_CERT_FILE)), read(&dir.join(CA_KEY_FILE)));
    assert!(short.not_after.unwrap() - now() < time::Duration::days(30));
    let old = chain(dir)[0].clone();
    let r = ensure(dir, &[]).unwrap();
    assert!(
        matches!(r.issued, Some(Renewal::Expiring { .. })),
        "{:?}",
        r.issued
    );
    assert!(!r.ca_created);
    assert!(r.not_after.unwrap() - now() > time::Duration::days(390));
    assert_ne!(chain(dir)[0], old);
    assert_eq!(
        (read(&dir.join(CA_CERT_FILE)), read(&dir.join(CA_KEY_FILE))),
        ca
    );
    // 31 days left is not yet due.
    testing::issue_leaf(dir, &[], time::Duration::days(32)).unwrap();
    assert_eq!(ensure(dir, &[]).unwrap().issued, None);
}

#[test]
fn changed_names_renew_the_leaf_and_names_are_normalised() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ensure(dir, &["cal.example.test".into()]).unwrap();
    let same = ["CAL.Example.Test.".to_string(), "[::1]".to_string()];
    assert_eq!(ensure(dir, &same).unwrap().issued, None);
    let r = ensure(dir, &["other.test".into()]).unwrap();
    assert_eq!(r.issued, Some(Renewal::NamesChanged));
    assert_eq!(r.names, ["localhost", "127.0.0.1", "::1", "other.test"]);
    let r = ensure(dir, &[]).unwrap();
    assert_eq!(
        r.issued,
        Some(Renewal::NamesChanged),
        "a removed name counts too"
    );
}

#[test]
fn invalid_names_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    for bad in ["", "two words", "*.example.test", "a/b", "émoji.test"] {
        let e = ensure(tmp.path(), &[bad.to_string()]).unwrap_err();
        assert!(matches!(e, TlsError::InvalidName { .. }), "{bad}: {e}");
    }
}

#[cfg(unix)]
#[test]
fn the_old_self_signed_certificate_is_replaced_by_the_ca_scheme() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("certs");
    write_old_self_signed(&dir);
    let r = ensure(&dir, &[]).unwrap();
    assert!(r.ca_created);
    assert_eq!(r.issued, Some(Renewal::OldSelfSigned));
    assert!(r.to_string().contains("earlier calproxy version"), "{r}");
    assert_eq!(chain(&dir).len(), 2);
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(ensure(&dir, &[]).unwrap().issued, None);
}

#[test]
fn your_own_certificate_is_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut p = rcgen::CertificateParams::new(vec!["cal.example.test".to_string()]).unwrap();
    p.distinguished_name
        .push(rcgen::DnType::CommonName, "cal.example.test");
    let c = p.self_signed(&key).unwrap();
    std::fs::write(dir.join(CERT_FILE), c.pem()).unwrap();
    std::fs::write(dir.join(KEY_FILE), key.serialize_pem()).unwrap();
    let r = ensure(dir, &["mac.local".into()]).unwrap();
    assert!(r.custom);
    assert_eq!(r.issued, None);
    assert!(
        !dir.join(CA_CERT_FILE).exists(),
        "no CA for your own certificate"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join(CERT_FILE)).unwrap(),
        c.pem()
    );
    server_config(dir).unwrap();
    ServerCerts::open(dir, &[]).unwrap().refresh().unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.join(CERT_FILE)).unwrap(),
        c.pem()
    );
}

#[test]
fn a_leaf_from_another_calproxy_ca_or_with_a_foreign_key_is_reissued() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ensure(dir, &[]).unwrap();
    std::fs::remove_file(dir.join(CA_CERT_FILE)).unwrap();
    std::fs::remove_file(dir.join(CA_KEY_FILE)).unwrap();
    let r = ensure(dir, &[]).unwrap();
    assert!(r.ca_created);
    assert_eq!(r.issued, Some(Renewal::OtherCa));

    let other = rcgen::KeyPair::generate().unwrap();
    std::fs::write(dir.join(KEY_FILE), other.serialize_pem()).unwrap();
    assert_eq!(ensure(dir, &[]).unwrap().issued, Some(Renewal::Unfit));
    std::fs::remove_file(dir.join(KEY_FILE)).unwrap();
    assert_eq!(ensure(dir, &[]).unwrap().issued, Some(Renewal::Missing));
    server_config(dir).unwrap();
}

#[test]
fn half_a_ca_is_an_error_not_a_new_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ensure(dir, &[]).unwrap();
    let crt = read(&dir.join(CA_CERT_FILE));
    std::fs::remove_file(dir.join(CA_KEY_FILE)).unwrap();
    let e = ensure(dir, &[]).unwrap_err();
    assert!(matches!(e, TlsError::CaIncomplete { .. }), "{e}");
    assert_eq!(read(&dir.join(CA_CERT_FILE)), crt);

    // A key that is not the CA's.
    std::fs::write(
        dir.join(CA_KEY_FILE),
        rcgen::KeyPair::generate().unwrap().serialize_pem(),
    )
    .unwrap();
    let e = ensure(dir, &[]).unwrap_err();
    assert!(matches!(e, TlsError::CaKeyMismatch { .. }), "{e}");
}

#[test]
fn the_ios_profile_carries_the_ca_as_a_root_payload() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ensure(dir, &[]).unwrap();
    let text = std::fs::read_to_string(dir.join(MOBILECONFIG_FILE)).unwrap();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(ca_der(dir).as_ref());
    assert!(text.contains(&format!("<data>{b64}</data>")));
    assert!(text.contains("<string>com.apple.security.root</string>"));
    assert!(text.contains("<string>Configuration</string>"));
    // Stable for the same CA.
    std::fs::remove_file(dir.join(MOBILECONFIG_FILE)).unwrap();
    ensure(dir, &[]).unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.join(MOBILECONFIG_FILE)).unwrap(),
        text
    );
}

#[test]
fn refresh_swaps_a_due_leaf_into_the_running_config() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    testing::issue_leaf(dir, &[], time::Duration::days(10)).unwrap();
    // The served leaf is due (no renewal at start here).
    let certs = testing::open_as_is(dir, &[]).unwrap();
    let short = certs.leaf();
    assert_eq!(short, chain(dir)[0]);
    assert!(certs.refresh().unwrap());
    let renewed = certs.leaf();
    assert_ne!(renewed, short);
    assert_eq!(renewed, chain(dir)[0]);
    let info = leaf::Info::parse(renewed).unwrap();
    assert!(info.not_after - now() > time::Duration::days(390));
    assert!(!certs.refresh().unwrap(), "nothing due: nothing swapped");
}

#[test]
fn open_renews_a_due_leaf_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    testing::issue_leaf(dir, &[], time::Duration::days(10)).unwrap();
    let ca = read(&dir.join(CA_CERT_FILE));
    let short = chain(dir)[0].clone();
    let certs = ServerCerts::open(dir, &[]).unwrap();
    assert_ne!(certs.leaf(), short);
    assert_eq!(certs.leaf(), chain(dir)[0]);
    assert_eq!(read(&dir.join(CA_CERT_FILE)), ca);
}
