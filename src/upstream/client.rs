//! The async I/O shell: one hyper-util client (rustls via hyper-rustls,
//! webpki roots, TCP nodelay) that sends `DavCall`s with Basic auth on every
//! request (none for an anonymous client: ICS feeds) and a non-empty
//! User-Agent (ICLOUD.md §1.4, §1.5), follows redirects within the same
//! site, reads at most a set number of body bytes when told to, and maps
//! statuses to `Error`.

use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::requests::DavCall;
use super::{Error, Result};
use crate::dav::{MultiStatus, Precondition};
use crate::secret::Secret;

/// Apple ID (or user name) and app-specific password.
#[derive(Clone)]
pub struct Credentials {
    /// The Apple ID (e-mail) or user name.
    pub user: String,
    /// The app-specific password.
    pub password: Secret<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &self.password)
            .finish()
    }
}

/// One answer.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// Response body.
    pub body: Bytes,
}

impl Exchange {
    /// The body as a multistatus.
    pub fn multistatus(&self) -> Result<MultiStatus> {
        Ok(MultiStatus::parse(&self.body)?)
    }
    /// The body as a member listing, read without a document tree (a
    /// sync-collection answer can list 100,000 members).
    pub fn listing(&self) -> Result<crate::dav::listing::Listing> {
        Ok(crate::dav::listing::read(
            &self.body,
            &crate::dav::XmlLimits::upstream(),
        )?)
    }
    /// A response header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// The upstream HTTP client for one connection. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    http: hyper_util::client::legacy::Client<Https, Full<Bytes>>,
    base: Uri,
    auth: Option<Secret<HeaderValue>>,
    timeout: Duration,
    max_body: Option<usize>,
    observer: Option<Observer>,
}

/// One exchange as the client saw it, handed to an [`Observer`] (traffic
/// recording). It carries no credential: `request_headers` are the headers
/// sent *without* `Authorization`; the observer still redacts everything
/// else it keeps.
pub struct Observed<'a> {
    /// Unix milliseconds when the request started.
    pub started_ms: i64,
    /// The method.
    pub method: &'a http::Method,
    /// The full URL.
    pub url: &'a Uri,
    /// Headers sent, except `Authorization`.
    pub request_headers: &'a HeaderMap,
    /// Whether an `Authorization` header was sent (never its value).
    pub authenticated: bool,
    /// Body sent.
    pub request_body: &'a [u8],
    /// The answer, or why none came.
    pub outcome: std::result::Result<&'a Exchange, &'a Error>,
    /// Time until the whole answer was read (or the failure).
    pub elapsed: Duration,
}

/// Called once per exchange (synchronously, before the caller sees it).
pub type Observer = std::sync::Arc<dyn Fn(&Observed<'_>) + Send + Sync>;

/// The headers of a call, without `Authorization` (added when sending).
fn request_headers(call: &DavCall) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        http::header::USER_AGENT,
        HeaderValue::from_static(USER_AGENT),
    );
    if let Some(d) = call.depth {
        h.insert("depth", HeaderValue::from_static(d));
    }
    if let Some(ct) = call.content_type {
        h.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    if let Some(t) = call
        .if_match
        .as_ref()
        .and_then(|t| HeaderValue::from_str(&t.quoted()).ok())
    {
        h.insert(http::header::IF_MATCH, t);
    }
    if call.if_none_match_any {
        h.insert(http::header::IF_NONE_MATCH, HeaderValue::from_static("*"));
    } else if let Some(v) = call
        .if_none_match
        .as_deref()
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        h.insert(http::header::IF_NONE_MATCH, v);
    }
    if let Some(v) = call
        .if_modified_since
        .as_deref()
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        h.insert(http::header::IF_MODIFIED_SINCE, v);
    }
    if let Some(a) = call.accept {
        h.insert(http::header::ACCEPT, HeaderValue::from_static(a));
    }
    h
}

/// The User-Agent we send (ICLOUD.md §1.5: must be non-empty).
pub const USER_AGENT: &str = concat!("calproxy/", env!("CARGO_PKG_VERSION"));

const MAX_REDIRECTS: usize = 3;

impl Client {
    /// A client for `base` (e.g. `https://caldav.icloud.com`).
    pub fn new(base: &str, creds: &Credentials, timeout: Duration) -> Result<Self> {
        let token = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            creds.user,
            creds.password.expose()
        ));
        let mut auth =
            HeaderValue::from_str(&format!("Basic {token}")).map_err(|_| Error::BadResponse {
                what: "credentials are not valid header text",
            })?;
        auth.set_sensitive(true);
        Self::build(base, Some(Secret::new(auth)), timeout, None)
    }

    /// A client without credentials that reads at most `max_body` bytes of
    /// an answer (ICS feeds: a larger one is [`Error::TooLarge`]).
    pub fn anonymous(base: &str, timeout: Duration, max_body: usize) -> Result<Self> {
        Self::build(base, None, timeout, Some(max_body))
    }

    fn build(
        base: &str,
        auth: Option<Secret<HeaderValue>>,
        timeout: Duration,
        max_body: Option<usize>,
    ) -> Result<Self> {
        crate::crypto::install_tls_provider();
        // A URL that does not parse is named by its scheme and host only:
        // a feed URL may carry a secret token in its path.
        let base: Uri = base.parse().map_err(|_| Error::BadUrl {
            url: super::feed::display_url(base),
        })?;
        if base.scheme().is_none() || base.authority().is_none() {
            return Err(Error::BadUrl {
                url: super::feed::display_url(&base.to_string()),
            });
        }
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        http.enforce_http(false);
        http.set_connect_timeout(Some(timeout));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        Ok(Self {
            http: hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build(https),
            base,
            auth,
            timeout,
            max_body,
            observer: None,
        })
    }

    /// A handle on the same connection pool whose exchanges go to `observer`.
    pub fn with_observer(&self, observer: Observer) -> Self {
        let mut c = self.clone();
        c.observer = Some(observer);
        c
    }

    /// The base URL.
    pub fn base(&self) -> &Uri {
        &self.base
    }

    /// Resolves a path or absolute URL against the base.
    pub fn resolve(&self, target: &str) -> Result<Uri> {
        if target.starts_with("http://") || target.starts_with("https://") {
            return target.parse().map_err(|_| Error::BadUrl {
                url: super::feed::display_url(target),
            });
        }
        let scheme = self.base.scheme_str().unwrap_or("https");
        let authority = self
            .base
            .authority()
            .map(|a| a.as_str())
            .unwrap_or_default();
        let path = if target.starts_with('/') {
            target.to_string()
        } else {
            format!("/{target}")
        };
        format!("{scheme}://{authority}{path}")
            .parse()
            .map_err(|_| Error::BadUrl { url: target.into() })
    }

    /// Sends a call and returns the raw answer, whatever its status.
    pub async fn send_raw(&self, call: &DavCall) -> Result<Exchange> {
        let mut uri = self.resolve(&call.target)?;
        for _ in 0..=MAX_REDIRECTS {
            let ex = self.send_once(call, &uri).await?;
            if matches!(ex.status, 301 | 302 | 307 | 308) {
                if let Some(next) = ex.header("location").and_then(|l| self.follow(&uri, l)) {
                    uri = next;
                    continue;
                }
            }
            return Ok(ex);
        }
        Err(Error::BadResponse {
            what: "too many redirects",
        })
    }

    /// QUIRK(iCloud): ICLOUD.md §1.2 — "iCloud often redirects"; follow to
    /// the same host or another host of the same site, re-sending Basic auth.
    fn follow(&self, from: &Uri, location: &str) -> Option<Uri> {
        let next: Uri = if location.starts_with('/') {
            format!(
                "{}://{}{}",
                from.scheme_str()?,
                from.authority()?.as_str(),
                location
            )
            .parse()
            .ok()?
        } else {
            location.parse().ok()?
        };
        let same = site(next.host()?) == site(from.host()?);
        same.then_some(next)
    }

    async fn send_once(&self, call: &DavCall, uri: &Uri) -> Result<Exchange> {
        let started = std::time::Instant::now();
        let started_ms = chrono::Utc::now().timestamp_millis();
        let headers = request_headers(call);
        let result = self.exchange(call, uri, &headers).await;
        if let Some(observe) = &self.observer {
            observe(&Observed {
                started_ms,
                method: &call.method,
                url: uri,
                request_headers: &headers,
                authenticated: self.auth.is_some(),
                request_body: &call.body,
                outcome: result.as_ref(),
                elapsed: started.elapsed(),
            });
        }
        result
    }

    async fn exchange(&self, call: &DavCall, uri: &Uri, headers: &HeaderMap) -> Result<Exchange> {
        let host = uri.authority().map(|a| a.to_string()).unwrap_or_default();
        let mut b = Request::builder()
            .method(call.method.clone())
            .uri(uri.clone());
        for (name, value) in headers {
            b = b.header(name, value);
        }
        if let Some(auth) = &self.auth {
            b = b.header(http::header::AUTHORIZATION, auth.expose().clone());
        }
        let req = b
            .body(Full::new(call.body.clone()))
            .map_err(|_| Error::BadUrl {
                url: super::feed::display_url(&uri.to_string()),
            })?;
        let resp = match tokio::time::timeout(self.timeout, self.http.request(req)).await {
            Err(_) => {
                return Err(Error::Timeout {
                    host,
                    after: self.timeout,
                })
            }
            Ok(Err(source)) => {
                return Err(Error::Unreachable {
                    host,
                    source: Box::new(source),
                })
            }
            Ok(Ok(r)) => r,
        };
        let (parts, body) = resp.into_parts();
        let read = async {
            match self.max_body {
                None => body.collect().await.map(|c| c.to_bytes()).map_err(|_| None),
                Some(limit) => http_body_util::Limited::new(body, limit)
                    .collect()
                    .await
                    .map(|c| c.to_bytes())
                    .map_err(|e| {
                        e.downcast_ref::<http_body_util::LengthLimitError>()
                            .map(|_| limit)
                    }),
            }
        };
        let body = match tokio::time::timeout(self.timeout, read).await {
            Ok(Ok(b)) => b,
            Ok(Err(Some(limit))) => return Err(Error::TooLarge { limit }),
            Ok(Err(None)) => return Err(Error::BodyRead { host }),
            Err(_) => {
                return Err(Error::Timeout {
                    host,
                    after: self.timeout,
                })
            }
        };
        Ok(Exchange {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        })
    }

    /// Sends a call; non-2xx answers become errors.
    pub async fn send(&self, call: &DavCall) -> Result<Exchange> {
        let ex = self.send_raw(call).await?;
        check(call, ex)
    }
}

/// The site of a host: its last two labels, or three under a public
/// suffix of two labels (`icloud.com.cn`, not `com.cn`), or the whole
/// host for an IP address. Redirects are followed (with credentials) only
/// within one site.
fn site(host: &str) -> String {
    const TWO_LABEL_SUFFIXES: &[&str] = &["com.cn", "net.cn", "org.cn", "co.uk", "com.au", "co.jp"];
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
        return host;
    }
    let labels: Vec<&str> = host.split('.').collect();
    let n = labels.len();
    let keep = if n >= 3 && TWO_LABEL_SUFFIXES.contains(&labels[n - 2..].join(".").as_str()) {
        3
    } else {
        2
    };
    labels[n.saturating_sub(keep)..].join(".")
}

/// Maps a non-success status to an error (401, 503/429, others).
pub fn check(call: &DavCall, ex: Exchange) -> Result<Exchange> {
    match ex.status {
        200..=299 => Ok(ex),
        401 => Err(Error::Unauthorized),
        429 | 503 => Err(Error::Throttled {
            status: ex.status,
            retry_after: super::quirks::retry_after(ex.header("retry-after")),
        }),
        status => Err(Error::Rejected {
            status,
            method: call.method.to_string(),
            path: call.target.clone(),
            precondition: Precondition::parse_error_body(&ex.body)
                .ok()
                .flatten()
                .map(Box::new),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::site;

    #[test]
    fn icloud_partitions_are_one_site_in_china_too() {
        assert_eq!(site("p42-caldav.icloud.com"), site("caldav.icloud.com"));
        assert_eq!(
            site("p42-caldav.icloud.com.cn"),
            site("caldav.icloud.com.cn")
        );
        // `com.cn` is a public suffix: another company's host is another site.
        assert_ne!(site("evil.com.cn"), site("caldav.icloud.com.cn"));
        assert_ne!(site("caldav.icloud.com"), site("caldav.icloud.com.cn"));
        assert_eq!(site("127.0.0.1"), "127.0.0.1");
        assert_ne!(site("127.0.0.1"), site("127.0.0.2"));
    }
}
