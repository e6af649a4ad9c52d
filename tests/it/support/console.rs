//! `Browser`: the web console over HTTP as a browser uses it: a session
//! cookie kept between requests, forms posted urlencoded with an
//! `Origin`, the CSRF token read from the last page.

use super::client::{Answer, DavClient};

/// The session cookie's name.
pub const COOKIE: &str = calproxy::console::COOKIE;

/// A cookie jar of one (the session) and a client.
pub struct Browser {
    base: String,
    http: DavClient,
    /// The session id the browser holds, if any.
    pub session: Option<String>,
}

/// The session id a `Set-Cookie` answer sets (`Some("")` when it clears it).
pub fn set_session(a: &Answer) -> Option<String> {
    a.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.strip_prefix(&format!("{COOKIE}="))
                .map(|rest| rest.split(';').next().unwrap_or("").to_string())
        })
}

/// The CSRF token of the first form on a page.
pub fn csrf_of(html: &str) -> Option<String> {
    let i = html.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    Some(html[i..].split('"').next()?.to_string())
}

fn urlencode(v: &str) -> String {
    percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC).to_string()
}

impl Browser {
    /// A browser without a session.
    pub fn new(base: &str) -> Self {
        Self {
            base: base.to_string(),
            http: DavClient::new(base.to_string(), None),
            session: None,
        }
    }

    fn cookie(&self) -> Option<String> {
        self.session.as_ref().map(|s| format!("{COOKIE}={s}"))
    }

    fn remember(&mut self, a: &Answer) {
        if let Some(s) = set_session(a) {
            self.session = (!s.is_empty()).then_some(s);
        }
    }

    /// GET a console path.
    pub async fn get(&mut self, path: &str) -> Answer {
        let cookie = self.cookie();
        let mut h = Vec::new();
        if let Some(c) = &cookie {
            h.push(("cookie", c.as_str()));
        }
        let a = self.http.request("GET", path, &h, "").await;
        self.remember(&a);
        a
    }

    /// POST a form (urlencoded), as a page of this console would.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let cookie = self.cookie();
        let mut h = vec![
            ("content-type", "application/x-www-form-urlencoded"),
            ("origin", self.base.as_str()),
        ];
        if let Some(c) = &cookie {
            h.push(("cookie", c.as_str()));
        }
        let a = self.http.request("POST", path, &h, body).await;
        self.remember(&a);
        a
    }

    /// Signs in; returns the answer (303 on success).
    pub async fn sign_in(&mut self, login: &str, password: &str) -> Answer {
        self.post(
            "/signin",
            &[("login", login), ("password", password), ("tz", "")],
        )
        .await
    }

    /// Signs in and asserts it worked.
    pub async fn signed_in(base: &str, login: &str, password: &str) -> Browser {
        let mut b = Browser::new(base);
        let a = b.sign_in(login, password).await;
        assert_eq!(a.status.as_u16(), 303, "sign-in failed: {}", a.text());
        assert!(b.session.is_some());
        b
    }

    /// The CSRF token of this session (read from a page).
    pub async fn csrf(&mut self) -> String {
        let page = self.get("/status").await.text();
        csrf_of(&page).expect("a CSRF field on the status page")
    }

    /// POST a form with this session's CSRF token added.
    pub async fn submit(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let token = self.csrf().await;
        let mut all = fields.to_vec();
        all.push(("csrf", token.as_str()));
        self.post(path, &all).await
    }
}
