//! `--tls`: HTTPS with a certificate from `certs/` (a leaf from the local
//! CA), trusted by a client that was given `calproxy.crt` (leaf and CA).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use calproxy::server::tls::{self, testing};
use http_body_util::{BodyExt, Full};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::support::{peers, process};

#[tokio::test]
async fn https_with_a_generated_certificate_serves_caldav() {
    let certs = tempfile::tempdir().unwrap();
    assert!(tls::ensure(certs.path(), &[]).unwrap().issued.is_some());
    let data = tempfile::tempdir().unwrap();
    let store = calproxy::store::Store::open(data.path()).unwrap();
    calproxy::demo::seed_fixtures(&store).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = calproxy::state::App::new(
        store,
        calproxy::config::Config::new(addr, data.path().into()),
    );
    let stop = CancellationToken::new();
    let server_tls = tls::server_config(certs.path()).unwrap();
    tokio::spawn(calproxy::server::run(
        listener,
        app,
        Some(server_tls),
        stop.clone(),
    ));

    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(certs.path().join(tls::CERT_FILE)).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let cfg = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(cfg)
        .https_only()
        .enable_http1()
        .enable_http2()
        .build();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build::<_, Full<Bytes>>(https);
    let req = http::Request::builder()
        .method("PROPFIND")
        .uri(format!("https://localhost:{}/dav/", addr.port()))
        .header("authorization", "Basic ZGVtbzpkZW1v")
        .header("depth", "0")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let resp = tokio::time::timeout(std::time::Duration::from_secs(30), client.request(req))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 207);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&body).contains("/dav/demo/demo/"));
    stop.cancel();
}

// ---- The local CA and its leaf, checked by verifiers that are not ours ----

const EXTRA: &str = "calproxy.test";
const DAY: f64 = 86_400.0;

fn extra() -> Vec<String> {
    vec![EXTRA.to_string()]
}

fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

fn served_chain(dir: &Path) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_file_iter(dir.join(tls::CERT_FILE))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Runs tests/peers/tls_client.py (python's ssl with `ca` as the only trust
/// anchor) against 127.0.0.1:`port` for each name; one JSON object per name.
async fn python_client(port: u16, ca: &Path, names: &[&str]) -> Vec<serde_json::Value> {
    let mut cmd = tokio::process::Command::new(peers::venv_tool("python"));
    cmd.arg(peers::repo().join("tests/peers/tls_client.py"))
        .arg(port.to_string())
        .arg(ca)
        .args(names);
    let out = peers::run(cmd, Duration::from_secs(60)).await;
    assert!(
        out.status.success(),
        "tls_client.py failed\n{}",
        peers::show(&out)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), names.len(), "{}", peers::show(&out));
    lines
}

/// Asserts python accepted the leaf for `r["name"]` and that the leaf says
/// what Apple clients require; returns its notAfter (epoch seconds).
fn assert_accepted(r: &serde_json::Value) -> f64 {
    assert_eq!(r["ok"], true, "python ssl refused the certificate: {r}");
    assert_eq!(r["status"], 200, "{r}");
    let (nb, na) = (
        r["not_before"].as_f64().unwrap(),
        r["not_after"].as_f64().unwrap(),
    );
    assert!(na - nb <= 397.0 * DAY, "validity over 397 days: {r}");
    assert!(
        nb <= now_secs() - 3600.0,
        "starts in the past for clock skew: {r}"
    );
    let san: Vec<&str> = r["san"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for want in ["DNS:localhost", "IP Address:127.0.0.1", "DNS:calproxy.test"] {
        assert!(san.contains(&want), "{want} missing: {r}");
    }
    assert!(
        san.contains(&"IP Address:::1") || san.contains(&"IP Address:0:0:0:0:0:0:0:1"),
        "::1 missing: {r}"
    );
    assert!(
        r["issuer_cn"][0]
            .as_str()
            .unwrap()
            .starts_with("calproxy local CA ("),
        "{r}"
    );
    na
}

/// A TLS handshake by rustls with `ca` as the only root; the served leaf.
async fn rustls_leaf(port: u16, ca: &Path, name: &str) -> Result<CertificateDer<'static>, String> {
    calproxy::crypto::install_tls_provider();
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(ca).unwrap())
        .unwrap();
    let cfg = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(cfg));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let server_name = rustls::pki_types::ServerName::try_from(name.to_string()).unwrap();
    let conn = tokio::time::timeout(Duration::from_secs(10), connector.connect(server_name, tcp))
        .await
        .map_err(|_| "handshake timed out".to_string())?
        .map_err(|e| e.to_string())?;
    Ok(conn.get_ref().1.peer_certificates().unwrap()[0].clone())
}

/// Days from now until the certificate expires.
fn days_left(der: &CertificateDer<'_>) -> i64 {
    let (_, c) = x509_parser::parse_x509_certificate(der).unwrap();
    (c.validity().not_after.timestamp() - now_secs() as i64) / 86_400
}

fn port_of(base: &str) -> u16 {
    base.rsplit(':').next().unwrap().parse().unwrap()
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn python_ssl_trusting_only_the_ca_accepts_calproxy_serve_tls() {
    let tmp = tempfile::tempdir().unwrap();
    let certs = tmp.path().join("certs");
    let data = tmp.path().join("data");
    let (d, c) = (data.to_str().unwrap(), certs.to_str().unwrap());
    let out = process::cli_ok(&["certs", "--dir", c, "--tls-name", EXTRA], "").await;
    assert!(out.contains("created"), "{out}");
    assert!(
        out.contains("localhost, 127.0.0.1, ::1, calproxy.test"),
        "{out}"
    );
    let issued = std::fs::read(certs.join(tls::CERT_FILE)).unwrap();

    let (child, base) = process::serve(d, &["--tls", c, "--tls-name", EXTRA]).await;
    assert!(base.starts_with("https://"), "{base}");
    let port = port_of(&base);
    let ca = certs.join(tls::CA_CERT_FILE);
    let names = ["localhost", "127.0.0.1", "::1", EXTRA, "not-listed.test"];
    let results = python_client(port, &ca, &names).await;
    for r in &results[..4] {
        let not_after = assert_accepted(r);
        assert!(not_after - now_secs() > 390.0 * DAY, "{r}");
    }
    assert_eq!(results[4]["ok"], false, "{}", results[4]);
    assert!(
        results[4]["error"].as_str().unwrap().contains("mismatch"),
        "{}",
        results[4]
    );

    // Another CA is not enough: the chain really is checked.
    let other = tempfile::tempdir().unwrap();
    tls::ensure(other.path(), &[]).unwrap();
    let refused = python_client(port, &other.path().join(tls::CA_CERT_FILE), &["localhost"]).await;
    assert_eq!(refused[0]["ok"], false, "{}", refused[0]);
    // The chain we send ends in our CA, which this client does not trust.
    let why = refused[0]["error"].as_str().unwrap();
    assert!(
        why.contains("self-signed certificate in certificate chain") || why.contains("issuer"),
        "{}",
        refused[0]
    );

    // serve with the same names kept what `certs` issued; modes are private.
    assert_eq!(std::fs::read(certs.join(tls::CERT_FILE)).unwrap(), issued);
    #[cfg(unix)]
    {
        assert_eq!(mode(&certs), 0o700);
        assert_eq!(mode(&certs.join(tls::CA_KEY_FILE)), 0o600);
        assert_eq!(mode(&certs.join(tls::KEY_FILE)), 0o600);
    }
    process::kill(child).await;
}

/// `openssl`, which the independent checks need; fails (never skips) when
/// it is missing.
fn openssl(args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new("openssl")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("openssl is missing ({e}): run .ci/setup-peers, which installs it, or apt-get install openssl")
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn openssl_verifies_the_leaf_for_tls_server_use_against_the_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    tls::ensure(dir, &extra()).unwrap();
    let chain = served_chain(dir);
    assert_eq!(chain.len(), 2, "calproxy.crt: leaf, then the CA");
    let leaf_pem = std::fs::read_to_string(dir.join(tls::CERT_FILE)).unwrap();
    let end = leaf_pem.find("-----END CERTIFICATE-----").unwrap() + 26;
    let leaf = dir.join("leaf.crt");
    std::fs::write(&leaf, &leaf_pem[..end]).unwrap();
    let (ca, leaf) = (
        dir.join(tls::CA_CERT_FILE).to_str().unwrap().to_string(),
        leaf.to_str().unwrap().to_string(),
    );

    let (ok, text) = openssl(&[
        "verify",
        "-x509_strict",
        "-purpose",
        "sslserver",
        "-CAfile",
        &ca,
        &leaf,
    ]);
    assert!(ok && text.contains(": OK"), "{text}");
    let (ok, text) = openssl(&[
        "x509",
        "-in",
        &leaf,
        "-noout",
        "-ext",
        "subjectAltName,extendedKeyUsage,keyUsage,basicConstraints",
    ]);
    assert!(ok, "{text}");
    for want in [
        "TLS Web Server Authentication",
        "X509v3 Key Usage: critical",
        "Digital Signature",
        "X509v3 Basic Constraints: critical",
        "CA:FALSE",
        "DNS:localhost",
        "DNS:calproxy.test",
        "IP Address:127.0.0.1",
        "IP Address:0:0:0:0:0:0:0:1",
    ] {
        assert!(text.contains(want), "{want} missing:\n{text}");
    }
    assert!(!text.contains("Certificate Sign"), "{text}");
    // Valid now and for the next 390 days, not for 398.
    let (ok, text) = openssl(&[
        "x509",
        "-in",
        &leaf,
        "-noout",
        "-checkend",
        &(390 * 86_400).to_string(),
    ]);
    assert!(ok, "{text}");
    let (ok, text) = openssl(&[
        "x509",
        "-in",
        &leaf,
        "-noout",
        "-checkend",
        &(398 * 86_400).to_string(),
    ]);
    assert!(!ok, "a leaf valid for more than 397 days: {text}");
    let (ok, text) = openssl(&[
        "x509",
        "-in",
        &ca,
        "-noout",
        "-subject",
        "-ext",
        "basicConstraints,keyUsage",
    ]);
    assert!(ok, "{text}");
    for want in [
        "CN = calproxy local CA (",
        "CA:TRUE, pathlen:0",
        "Certificate Sign",
    ] {
        assert!(text.contains(want), "{want} missing:\n{text}");
    }

    // The chain is what is verified: another CA fails.
    let other = tempfile::tempdir().unwrap();
    tls::ensure(other.path(), &[]).unwrap();
    let other_ca = other.path().join(tls::CA_CERT_FILE);
    let (ok, text) = openssl(&[
        "verify",
        "-purpose",
        "sslserver",
        "-CAfile",
        other_ca.to_str().unwrap(),
        &leaf,
    ]);
    assert!(!ok, "verified against a CA that did not sign it: {text}");
}

#[tokio::test]
async fn a_due_leaf_is_swapped_while_serving_and_clients_trusting_the_ca_keep_connecting() {
    let certs_dir = tempfile::tempdir().unwrap();
    let dir = certs_dir.path();
    testing::issue_leaf(dir, &extra(), time::Duration::days(10)).unwrap();
    let ca_files = (
        std::fs::read(dir.join(tls::CA_CERT_FILE)).unwrap(),
        std::fs::read(dir.join(tls::CA_KEY_FILE)).unwrap(),
    );
    let certs = testing::open_as_is(dir, &extra()).unwrap();
    let short = certs.leaf();

    let data = tempfile::tempdir().unwrap();
    let store = calproxy::store::Store::open(data.path()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = calproxy::state::App::new(
        store,
        calproxy::config::Config::new(addr, data.path().into()),
    );
    let stop = CancellationToken::new();
    tokio::spawn(calproxy::server::run(
        listener,
        app,
        Some(certs.server_config()),
        stop.clone(),
    ));
    let ca = dir.join(tls::CA_CERT_FILE);
    let first = rustls_leaf(addr.port(), &ca, "localhost").await.unwrap();
    assert_eq!(first, short);
    assert!(days_left(&first) < 30);

    let renewal = certs.spawn_renewal(Duration::from_millis(200), stop.clone());
    let mut served = first.clone();
    for _ in 0..100 {
        served = rustls_leaf(addr.port(), &ca, "localhost")
            .await
            .expect("a client trusting only the CA connects throughout");
        if served != short {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_ne!(served, short, "the due leaf was not replaced within 10 s");
    assert!(days_left(&served) > 390, "{} days", days_left(&served));
    assert_eq!(served, served_chain(dir)[0], "serves what is on disk");
    assert_eq!(
        (
            std::fs::read(dir.join(tls::CA_CERT_FILE)).unwrap(),
            std::fs::read(dir.join(tls::CA_KEY_FILE)).unwrap(),
        ),
        ca_files,
        "the CA stays"
    );
    for name in ["127.0.0.1", "::1", EXTRA] {
        assert_eq!(rustls_leaf(addr.port(), &ca, name).await.unwrap(), served);
    }
    for r in python_client(addr.port(), &ca, &["localhost", "127.0.0.1", EXTRA]).await {
        assert_accepted(&r);
    }
    // Nothing more to do: the next checks keep the leaf.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        rustls_leaf(addr.port(), &ca, "localhost").await.unwrap(),
        served
    );
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(10), renewal)
        .await
        .expect("the renewal task stops on cancel")
        .unwrap();
}

#[tokio::test]
async fn calproxy_serve_replaces_a_due_leaf_at_start_and_keeps_the_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let certs = tmp.path().join("certs");
    let data = tmp.path().join("data");
    testing::issue_leaf(&certs, &extra(), time::Duration::days(20)).unwrap();
    let ca = std::fs::read(certs.join(tls::CA_CERT_FILE)).unwrap();
    let short = served_chain(&certs)[0].clone();
    assert!(days_left(&short) < 30);
    let (child, base) = process::serve(
        data.to_str().unwrap(),
        &["--tls", certs.to_str().unwrap(), "--tls-name", EXTRA],
    )
    .await;
    let port = port_of(&base);
    let ca_path = certs.join(tls::CA_CERT_FILE);
    let served = rustls_leaf(port, &ca_path, "localhost").await.unwrap();
    assert_ne!(served, short);
    assert!(days_left(&served) > 390);
    for r in python_client(port, &ca_path, &["localhost", "127.0.0.1", "::1", EXTRA]).await {
        let not_after = assert_accepted(&r);
        assert!(not_after - now_secs() > 390.0 * DAY, "{r}");
    }
    assert_eq!(std::fs::read(certs.join(tls::CA_CERT_FILE)).unwrap(), ca);
    process::kill(child).await;
}

#[tokio::test]
async fn calproxy_certs_replaces_the_old_self_signed_certificate_and_checks_names() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("certs");
    std::fs::create_dir_all(&dir).unwrap();
    // What `calproxy certs` wrote before the local CA.
    let old = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    std::fs::write(dir.join(tls::CERT_FILE), old.cert.pem()).unwrap();
    std::fs::write(dir.join(tls::KEY_FILE), old.key_pair.serialize_pem()).unwrap();
    let d = dir.to_str().unwrap();
    let out = process::cli_ok(&["certs", "--dir", d], "").await;
    assert!(out.contains("earlier calproxy version"), "{out}");
    assert!(dir.join(tls::CA_CERT_FILE).exists());
    assert_eq!(served_chain(&dir).len(), 2);
    let out = process::cli_ok(&["certs", "--dir", d], "").await;
    assert!(out.contains("still good"), "{out}");

    let (ok, out) = process::cli(&["certs", "--dir", d, "--tls-name", "not a name"], "", &[]).await;
    assert!(
        !ok && out.contains("neither a host name nor an IP address"),
        "{out}"
    );
    let (ok, out) = process::cli(&["serve", "--tls-name", EXTRA], "", &[]).await;
    assert!(
        !ok && out.contains("--tls"),
        "--tls-name without --tls: {out}"
    );
}
