//! Reading what a browser sends: `application/x-www-form-urlencoded`
//! bodies and query strings (the same encoding), and `Cookie` headers.
//! Pure; keeps repeated fields (checkbox groups) in order.

use percent_encoding::percent_decode_str;

/// Most bytes of a form body the console reads.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// Decoded `name=value` pairs, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

fn decode(s: &str) -> String {
    let spaced = s.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

impl Form {
    /// Parses an urlencoded string (a body or a query).
    pub fn parse(s: &str) -> Self {
        let pairs = s
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (decode(k), decode(v))
            })
            .collect();
        Self { pairs }
    }

    /// Parses a body, refusing one that is too large or not UTF-8.
    pub fn from_body(body: &[u8]) -> Option<Self> {
        if body.len() > MAX_FORM_BYTES {
            return None;
        }
        std::str::from_utf8(body).ok().map(Self::parse)
    }

    /// The first value of a field.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of a field, trimmed, when it is not empty.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty())
    }

    /// Every value of a field, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// The value of a cookie in a `Cookie` header (`a=1; b=2`).
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
}

/// Percent-encodes a query value.
pub fn encode(v: &str) -> String {
    percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urlencoded_fields_with_repeats_plus_and_percent() {
        let f = Form::parse("a=1&c=x+y&c=%2Fz%C3%A9&empty=&flag&a=2");
        assert_eq!(f.get("a"), Some("1"));
        assert_eq!(f.all("c"), vec!["x y", "/zé"]);
        assert_eq!(f.text("empty"), None);
        assert_eq!(f.get("flag"), Some(""));
        assert_eq!(f.get("missing"), None);
        assert!(Form::from_body(&vec![b'a'; MAX_FORM_BYTES + 1]).is_none());
        assert!(Form::from_body(&[0xff, 0xfe]).is_none());
    }

    #[test]
    fn cookies_by_name() {
        let h = "x=1; calproxy_session=abc; y=\"2\"";
        assert_eq!(cookie(h, "calproxy_session"), Some("abc"));
        assert_eq!(cookie(h, "y"), Some("2"));
        assert_eq!(cookie(h, "z"), None);
        assert_eq!(encode("a b/c"), "a%20b%2Fc");
    }
}
