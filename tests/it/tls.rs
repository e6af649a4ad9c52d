//! `--tls`: HTTPS with a certificate from `certs/` (a leaf from the local
//! CA), trusted by a client that was given `calproxy.crt` (leaf and CA).

use bytes::Bytes;
use calproxy::server::tls;
use http_body_util::{BodyExt, Full};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

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
