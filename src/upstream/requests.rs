//! Pure request builders for every upstream call: method, target, Depth,
//! body. No I/O. Bodies start with `<?xml` (QUIRK(iCloud): ICLOUD.md §1.5,
//! leading whitespace is a 400) and name properties explicitly (allprop
//! fails on iCloud, §3.5).

use bytes::Bytes;
use http::Method;

use crate::ids::{ETag, Href};

/// One request to the upstream server.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DavCall {
    /// HTTP method.
    pub method: Method,
    /// A path (resolved against the base URL) or an absolute URL.
    pub target: String,
    /// `Depth` header, if any.
    pub depth: Option<&'static str>,
    /// Request body (empty for GET/DELETE).
    pub body: Bytes,
    /// `Content-Type` of the body.
    pub content_type: Option<&'static str>,
    /// `If-Match` (quoted tag).
    pub if_match: Option<ETag>,
    /// `If-None-Match: *`.
    pub if_none_match_any: bool,
    /// `If-None-Match` with the validator a server gave (a feed's `ETag`,
    /// sent back verbatim, weak or strong: RFC 9110 §13.1.2).
    pub if_none_match: Option<String>,
    /// `If-Modified-Since` (a feed's `Last-Modified`, verbatim).
    pub if_modified_since: Option<String>,
    /// `Accept`, when the answer's type matters (a feed).
    pub accept: Option<&'static str>,
}

const XML: &str = "application/xml; charset=utf-8";

fn xml_call(method: &str, target: &str, depth: &'static str, body: String) -> DavCall {
    DavCall {
        method: Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET),
        target: target.to_string(),
        depth: Some(depth),
        body: Bytes::from(body),
        content_type: Some(XML),
        ..DavCall::default()
    }
}

/// `PROPFIND / Depth: 0` for `current-user-principal` (RFC 5397; ICLOUD.md §1.1:
/// Depth 0, never 1, on iCloud's root).
pub fn current_user_principal(root: &str) -> DavCall {
    xml_call(
        "PROPFIND",
        root,
        "0",
        r#"<?xml version="1.0" encoding="UTF-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:current-user-principal/></d:prop></d:propfind>"#
            .into(),
    )
}

/// `PROPFIND <principal> Depth: 0` for `calendar-home-set` (RFC 4791 §6.2.1).
pub fn calendar_home_set(principal: &str) -> DavCall {
    xml_call(
        "PROPFIND",
        principal,
        "0",
        r#"<?xml version="1.0" encoding="UTF-8"?>
<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><c:calendar-home-set/><d:displayname/></d:prop></d:propfind>"#
            .into(),
    )
}

/// `PROPFIND <home> Depth: 1`: the calendar list with ctags and sync tokens
/// (ICLOUD.md §2). One of these per connection per tick.
pub fn home_listing(home: &str) -> DavCall {
    xml_call(
        "PROPFIND",
        home,
        "1",
        r#"<?xml version="1.0" encoding="UTF-8"?>
<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:cs="http://calendarserver.org/ns/" xmlns:i="http://apple.com/ns/ical/"><d:prop><d:displayname/><d:resourcetype/><c:supported-calendar-component-set/><cs:getctag/><d:sync-token/><i:calendar-color/><d:current-user-privilege-set/><cs:source/></d:prop></d:propfind>"#
            .into(),
    )
}

/// RFC 6578 `sync-collection` with the previous token (empty = initial).
/// Depth 1 as iCloud clients send it (ICLOUD.md §3.3); only getetag.
pub fn sync_collection(calendar: &str, token: Option<&str>) -> DavCall {
    let token = token.map(crate::dav::xml::escape_text).unwrap_or_default();
    xml_call(
        "REPORT",
        calendar,
        "1",
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<d:sync-collection xmlns:d="DAV:"><d:sync-token>{token}</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"#
        ),
    )
}

/// `PROPFIND <calendar> Depth: 1` for member ETags: the fallback listing
/// when sync-collection is refused (ICLOUD.md §3.5).
pub fn etag_listing(calendar: &str) -> DavCall {
    xml_call(
        "PROPFIND",
        calendar,
        "1",
        r#"<?xml version="1.0" encoding="UTF-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/><d:resourcetype/></d:prop></d:propfind>"#
            .into(),
    )
}

/// Most hrefs one multiget asks for (ICLOUD.md §3.2: clients use 50–100).
pub const MULTIGET_BATCH: usize = 100;

/// `calendar-multiget` (RFC 4791 §7.9) for at most [`MULTIGET_BATCH`] hrefs.
pub fn multiget(calendar: &str, hrefs: &[Href]) -> DavCall {
    let mut list = String::new();
    for h in hrefs {
        list.push_str("<d:href>");
        list.push_str(&crate::dav::xml::escape_text(h.as_str()));
        list.push_str("</d:href>");
    }
    xml_call(
        "REPORT",
        calendar,
        "1",
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/><c:calendar-data/></d:prop>{list}</c:calendar-multiget>"#
        ),
    )
}

/// How a `PUT` of a calendar object is made conditional (RFC 7232).
#[derive(Debug, Clone, PartialEq)]
pub enum PutCondition {
    /// `If-None-Match: *`: create only, never overwrite (R10: a retry after a
    /// crash finds its own earlier delivery as a 412 instead of duplicating).
    Create,
    /// `If-Match: <etag>`: replace exactly the version we know.
    Replace(ETag),
}

/// `PUT` of a calendar object.
pub fn put_object(href: &Href, body: Bytes, condition: &PutCondition) -> DavCall {
    let (if_match, if_none_match_any) = match condition {
        PutCondition::Create => (None, true),
        PutCondition::Replace(tag) => (Some(tag.clone()), false),
    };
    DavCall {
        method: Method::PUT,
        target: href.as_str().to_string(),
        depth: None,
        body,
        content_type: Some("text/calendar; charset=utf-8"),
        if_match,
        if_none_match_any,
        ..DavCall::default()
    }
}

fn bodyless(method: Method, href: &Href, if_match: Option<ETag>) -> DavCall {
    DavCall {
        method,
        target: href.as_str().to_string(),
        depth: None,
        body: Bytes::new(),
        if_match,
        ..DavCall::default()
    }
}

/// `GET` of a calendar object (its bytes and ETag).
pub fn get_object(href: &Href) -> DavCall {
    bodyless(Method::GET, href, None)
}

/// `DELETE` of a calendar object, `If-Match` when an ETag is known.
pub fn delete_object(href: &Href, if_match: Option<ETag>) -> DavCall {
    bodyless(Method::DELETE, href, if_match)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icloud_bodies_start_with_the_xml_declaration() {
        for call in [
            current_user_principal("/"),
            calendar_home_set("/1/principal/"),
            home_listing("/1/calendars/"),
            sync_collection("/1/calendars/home/", Some("tok<&>")),
            etag_listing("/1/calendars/home/"),
            multiget(
                "/1/calendars/home/",
                &[Href::new("/1/calendars/home/a&b.ics")],
            ),
        ] {
            assert!(call.body.starts_with(b"<?xml"), "{call:?}");
            crate::dav::parse_document(&call.body, &Default::default()).unwrap();
        }
    }

    #[test]
    fn root_discovery_uses_depth_zero() {
        assert_eq!(current_user_principal("/").depth, Some("0"));
    }
}
