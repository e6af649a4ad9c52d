//! ICS feeds (`calproxy connect --ics URL`), pure: which URL is fetched for
//! a `webcal://` one, how a feed URL is shown (its path can be a secret:
//! Google's "secret address", iCloud's published calendars), the
//! conditional `GET` (RFC 9110 §13: `If-None-Match`, `If-Modified-Since`)
//! and what its answer means. The poll itself runs in `sync::feed`; the
//! iCalendar inside is `ical::feed`'s.

use bytes::Bytes;
use http::Method;

use super::requests::DavCall;
use super::{Error, Exchange, Result};

/// A feed URL, checked.
#[derive(Clone, PartialEq, Eq)]
pub struct FeedUrl {
    /// The `http(s)://` URL fetched.
    pub fetch: String,
    /// How it is shown: scheme and host, the path hidden.
    pub display: String,
    /// The part of the URL that may be a secret (path and query), when
    /// there is one: redacted from recorded traffic.
    pub secret: Option<String>,
}

impl std::fmt::Debug for FeedUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeedUrl")
            .field("display", &self.display)
            .finish_non_exhaustive()
    }
}

/// Scheme, authority and the rest of a URL, split by hand (a `webcal://`
/// URL is not something `http::Uri` knows).
fn split(url: &str) -> Option<(&str, &str, &str)> {
    let (scheme, rest) = url.trim().split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some((scheme, &rest[..end], &rest[end..]))
}

/// How a URL is shown: `scheme://host[:port]/…` when it has a path or a
/// query, never a user name or password. Unparsable text is shown as
/// `<url>`.
pub fn display_url(url: &str) -> String {
    match split(url) {
        Some((scheme, authority, rest)) => {
            let host = authority.rsplit('@').next().unwrap_or(authority);
            let tail = if rest.is_empty() || rest == "/" {
                rest
            } else {
                "/…"
            };
            format!("{}://{host}{tail}", scheme.to_ascii_lowercase())
        }
        None => "<url>".into(),
    }
}

fn is_loopback(authority: &str) -> bool {
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Checks a feed URL: `https://`, `http://`, `webcal://` or `webcals://`
/// (both fetched over `https://`; `webcal://` of a loopback host over
/// `http://`, a feed served on this machine), with a host and without a
/// user name or password.
pub fn parse_url(given: &str) -> Result<FeedUrl> {
    let bad = || Error::BadUrl {
        url: display_url(given),
    };
    let (scheme, authority, rest) = split(given).ok_or_else(bad)?;
    if authority.is_empty() || authority.contains('@') {
        return Err(bad());
    }
    let fetch_scheme = match scheme.to_ascii_lowercase().as_str() {
        "https" | "webcals" => "https",
        "http" => "http",
        "webcal" if is_loopback(authority) => "http",
        "webcal" => "https",
        _ => return Err(bad()),
    };
    let rest = rest.split('#').next().unwrap_or("");
    let path = if rest.is_empty() { "/" } else { rest };
    let fetch = format!("{fetch_scheme}://{authority}{path}");
    fetch.parse::<http::Uri>().map_err(|_| bad())?;
    let secret = (path.len() > 1).then(|| path.to_string());
    Ok(FeedUrl {
        display: display_url(given),
        fetch,
        secret,
    })
}

/// What the last good copy was served with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    /// Its `ETag`.
    pub etag: Option<String>,
    /// Its `Last-Modified`.
    pub last_modified: Option<String>,
}

/// The conditional `GET` of a feed.
pub fn get(url: &FeedUrl, v: &Validators) -> DavCall {
    DavCall {
        method: Method::GET,
        target: url.fetch.clone(),
        body: Bytes::new(),
        if_none_match: v.etag.clone(),
        if_modified_since: v.last_modified.clone(),
        accept: Some("text/calendar, */*;q=0.1"),
        ..DavCall::default()
    }
}

/// A feed's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedAnswer {
    /// 304: the last good copy is current.
    NotModified,
    /// 2xx with a body.
    Fetched(Fetched),
}

/// A feed's body with what came with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Fetched {
    /// The body.
    pub body: Bytes,
    /// `Content-Type`, if any.
    pub content_type: Option<String>,
    /// Validators for the next poll.
    pub validators: Validators,
}

/// What a feed's answer means. A refusal names the URL as
/// [`FeedUrl::display`] shows it, never its path.
pub fn answer(url: &FeedUrl, ex: Exchange) -> Result<FeedAnswer> {
    let header = |name: &str| ex.header(name).map(str::to_string);
    match ex.status {
        304 => Ok(FeedAnswer::NotModified),
        200..=299 => Ok(FeedAnswer::Fetched(Fetched {
            content_type: header("content-type"),
            validators: Validators {
                etag: header("etag"),
                last_modified: header("last-modified"),
            },
            body: ex.body,
        })),
        429 | 503 => Err(Error::Throttled {
            status: ex.status,
            retry_after: super::quirks::retry_after(ex.header("retry-after")),
        }),
        status => Err(Error::Rejected {
            status,
            method: "GET".into(),
            path: url.display.clone(),
            precondition: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webcal_is_fetched_over_https_except_on_this_machine() {
        let u = parse_url("webcal://p42-caldav.icloud.com/published/2/SECRET").unwrap();
        assert_eq!(u.fetch, "https://p42-caldav.icloud.com/published/2/SECRET");
        assert_eq!(u.display, "webcal://p42-caldav.icloud.com/…");
        assert_eq!(u.secret.as_deref(), Some("/published/2/SECRET"));
        let u = parse_url("webcals://h.example/x.ics").unwrap();
        assert!(u.fetch.starts_with("https://"));
        let u = parse_url("webcal://127.0.0.1:8080/f.ics").unwrap();
        assert_eq!(u.fetch, "http://127.0.0.1:8080/f.ics");
        let u = parse_url("webcal://[::1]:8080/f.ics").unwrap();
        assert!(u.fetch.starts_with("http://[::1]"));
        let u = parse_url("http://h.example/f.ics?k=v#frag").unwrap();
        assert_eq!(u.fetch, "http://h.example/f.ics?k=v");
        assert_eq!(parse_url("https://h.example").unwrap().secret, None);
    }

    #[test]
    fn bad_feed_urls_are_refused_without_showing_their_path() {
        for bad in [
            "ftp://h.example/f.ics",
            "h.example/f.ics",
            "https:///f.ics",
            "https://user:pw@h.example/private-token/basic.ics",
        ] {
            let e = parse_url(bad).unwrap_err();
            let shown = e.to_string();
            assert!(!shown.contains("token") && !shown.contains("pw"), "{shown}");
        }
    }

    #[test]
    fn conditional_get_and_answers() {
        let u = parse_url("https://h.example/f.ics").unwrap();
        let v = Validators {
            etag: Some("W/\"abc\"".into()),
            last_modified: Some("Tue, 01 Dec 2026 10:00:00 GMT".into()),
        };
        let call = get(&u, &v);
        assert_eq!(call.if_none_match.as_deref(), Some("W/\"abc\""));
        assert!(call.if_modified_since.is_some());
        let ex = |status: u16| Exchange {
            status,
            headers: http::HeaderMap::new(),
            body: Bytes::new(),
        };
        assert_eq!(answer(&u, ex(304)).unwrap(), FeedAnswer::NotModified);
        assert!(matches!(answer(&u, ex(200)), Ok(FeedAnswer::Fetched(_))));
        let e = answer(&u, ex(404)).unwrap_err();
        assert!(!e.to_string().contains("f.ics"), "{e}");
        assert!(matches!(answer(&u, ex(503)), Err(Error::Throttled { .. })));
    }
}
