//! Authentication and response headers (ICLOUD.md §1.4, §5.1).

use super::*;

#[tokio::test]
async fn icloud_401_has_two_challenges() {
    let e = env().await;
    let a = e
        .raw("PROPFIND", &e.url("/"), &[("depth", "0")], "", false)
        .await
        .expect("answered");
    assert_eq!(a.status, 401);
    assert!(a.body.is_empty());
    let ch: Vec<_> = a
        .headers
        .get_all("www-authenticate")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert_eq!(
        ch,
        vec![
            "Basic realm=\"MMCalDav\"",
            "X-MobileMe-AuthToken realm=\"MMCalDav\""
        ]
    );
    assert_eq!(a.header("x-apple-user-partition"), Some("42"));
}

#[tokio::test]
async fn icloud_wrong_password_is_401() {
    let e = env().await;
    let bad = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("demo@icloud.example:wrong")
    );
    let a = e
        .raw(
            "GET",
            &e.url(&e.obj("home", "dentist.ics")),
            &[("authorization", &bad)],
            "",
            false,
        )
        .await
        .expect("answered");
    assert_eq!(a.status, 401);
}

#[tokio::test]
async fn icloud_server_header_on_every_response() {
    let e = env().await;
    let ok = e.send("GET", &e.obj("home", "dentist.ics"), &[], "").await;
    let missing = e.send("GET", &e.obj("home", "nope.ics"), &[], "").await;
    for a in [ok, missing] {
        assert!(a
            .header("server")
            .is_some_and(|s| s.starts_with("AppleHttpServer/")));
    }
}
