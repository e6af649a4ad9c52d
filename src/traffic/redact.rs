//! Redaction: the `Authorization`, cookie and `X-MobileMe-AuthToken`
//! headers, and the app-specific password (and its Basic token) wherever
//! else it appears, are replaced before an exchange is kept.

/// Largest body kept per request or response.
pub const BODY_CAP: usize = 64 * 1024;

const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-mobileme-authtoken",
];

/// The placeholder for redacted values.
pub const REDACTED: &str = "<redacted>";

/// Removes secrets from recorded text.
#[derive(Clone)]
pub struct Redactor {
    needles: Vec<String>,
}

impl Redactor {
    /// A redactor for these secret strings (password, Basic token, …).
    pub fn new(secrets: Vec<String>) -> Self {
        Self {
            needles: secrets.into_iter().filter(|s| s.len() >= 4).collect(),
        }
    }

    /// A redactor for a connection's credentials: the password and the
    /// Basic token made from it.
    pub fn for_credentials(creds: &crate::upstream::Credentials) -> Self {
        use base64::Engine as _;
        let password = creds.password.expose().clone();
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", creds.user, password));
        Self::new(vec![password, token])
    }

    /// Text with every secret replaced.
    pub fn text(&self, s: &str) -> String {
        let mut out = s.to_string();
        for n in &self.needles {
            if out.contains(n.as_str()) {
                out = out.replace(n.as_str(), REDACTED);
            }
        }
        out
    }

    /// Headers with secret ones replaced and secrets removed from the rest.
    pub fn headers(&self, h: &http::HeaderMap) -> Vec<(String, String)> {
        h.iter()
            .map(|(k, v)| {
                let name = k.as_str().to_string();
                let value = if SECRET_HEADERS.contains(&k.as_str()) {
                    REDACTED.to_string()
                } else {
                    self.text(&String::from_utf8_lossy(v.as_bytes()))
                };
                (name, value)
            })
            .collect()
    }

    /// A body, capped at [`BODY_CAP`] (on a char boundary) and redacted.
    pub fn body(&self, b: &[u8]) -> String {
        let text = String::from_utf8_lossy(b);
        let mut end = text.len().min(BODY_CAP);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        self.text(&text[..end])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_headers_and_strings_are_redacted() {
        let r = Redactor::new(vec!["abcd-efgh-ijkl-mnop".into()]);
        let mut h = http::HeaderMap::new();
        h.insert("authorization", "Basic xyz".parse().unwrap());
        h.insert("x-mobileme-authtoken", "tok".parse().unwrap());
        h.insert("x-other", "has abcd-efgh-ijkl-mnop inside".parse().unwrap());
        let out = r.headers(&h);
        assert!(out
            .iter()
            .all(|(_, v)| !v.contains("xyz") && !v.contains("tok") && !v.contains("abcd-efgh")));
        assert_eq!(r.body(b"pw=abcd-efgh-ijkl-mnop"), "pw=<redacted>");
    }

    #[test]
    fn bodies_are_capped_on_char_boundaries() {
        let r = Redactor::new(vec![]);
        let big = "é".repeat(BODY_CAP);
        assert!(r.body(big.as_bytes()).len() <= BODY_CAP);
    }
}
