//! A WebDAV/CalDAV request parsed once, at the boundary, into one typed
//! value: the method, the DAV headers and the body model. Handlers match
//! on [`DavRequest`] and never see raw XML.

use bytes::Bytes;
use http::{HeaderMap, Method};

use super::{
    parse_headers, parse_propfind, parse_proppatch, parse_report, DavHeaders, PropFind,
    PropPatchOp, Report, Result,
};

/// A parsed request to a DAV resource.
#[derive(Debug, Clone, PartialEq)]
pub enum DavRequest {
    /// `OPTIONS` (RFC 4791 §5.1).
    Options,
    /// `PROPFIND` (RFC 4918 §9.1).
    PropFind {
        /// Depth and friends.
        headers: DavHeaders,
        /// What is asked for.
        body: PropFind,
    },
    /// `PROPPATCH` (RFC 4918 §9.2).
    PropPatch(Vec<PropPatchOp>),
    /// `REPORT` (RFC 3253 §3.6).
    Report {
        /// Depth and friends.
        headers: DavHeaders,
        /// Which report (boxed: by far the largest body model).
        report: Box<Report>,
    },
    /// `GET` or `HEAD`.
    Get {
        /// `HEAD`: the same answer without its body.
        head: bool,
        /// `If-None-Match` and friends.
        headers: DavHeaders,
    },
    /// `PUT` of a calendar object; the body is checked by the handler
    /// (`ical::parse_strict`) after the policy allowed the write.
    Put {
        /// Conditions and content type.
        headers: DavHeaders,
        /// The body as received.
        body: Bytes,
    },
    /// `DELETE`.
    Delete {
        /// `If-Match`.
        headers: DavHeaders,
    },
    /// `MOVE` or `COPY` (RFC 4918 §9.8, §9.9).
    MoveOrCopy {
        /// Destination, Overwrite and If-Match.
        headers: DavHeaders,
        /// `COPY` (the source stays); `MOVE` otherwise.
        copy: bool,
    },
    /// `MKCALENDAR` (RFC 4791 §5.3.1) or `MKCOL` (RFC 4918 §9.3).
    MakeCollection {
        /// `MKCALENDAR`.
        calendar: bool,
    },
    /// A method defined for WebDAV resources that these resources do not
    /// allow (`POST`, `LOCK`, `UNLOCK`, `ACL`): 405 with `Allow`.
    NotAllowed(Method),
    /// A method this server does not know: 501.
    Unknown(Method),
}

/// Every method [`parse`] knows for DAV resources; any other is
/// [`DavRequest::Unknown`] (501).
pub const KNOWN_METHODS: &[&str] = &[
    "OPTIONS",
    "PROPFIND",
    "PROPPATCH",
    "REPORT",
    "GET",
    "HEAD",
    "PUT",
    "DELETE",
    "MOVE",
    "COPY",
    "MKCALENDAR",
    "MKCOL",
    "POST",
    "LOCK",
    "UNLOCK",
    "ACL",
];

/// Parses a request's method, headers and body.
pub fn parse(method: &Method, headers: &HeaderMap, body: Bytes) -> Result<DavRequest> {
    if method == Method::OPTIONS {
        return Ok(DavRequest::Options);
    }
    let h = parse_headers(headers)?;
    Ok(match method.as_str() {
        "PROPFIND" => DavRequest::PropFind {
            body: parse_propfind(&body)?,
            headers: h,
        },
        "PROPPATCH" => DavRequest::PropPatch(parse_proppatch(&body)?),
        "REPORT" => DavRequest::Report {
            report: Box::new(parse_report(&body)?),
            headers: h,
        },
        "GET" => DavRequest::Get {
            head: false,
            headers: h,
        },
        "HEAD" => DavRequest::Get {
            head: true,
            headers: h,
        },
        "PUT" => DavRequest::Put { headers: h, body },
        "DELETE" => DavRequest::Delete { headers: h },
        "MOVE" => DavRequest::MoveOrCopy {
            headers: h,
            copy: false,
        },
        "COPY" => DavRequest::MoveOrCopy {
            headers: h,
            copy: true,
        },
        "MKCALENDAR" => DavRequest::MakeCollection { calendar: true },
        "MKCOL" => DavRequest::MakeCollection { calendar: false },
        "POST" | "LOCK" | "UNLOCK" | "ACL" => DavRequest::NotAllowed(method.clone()),
        _ => DavRequest::Unknown(method.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_methods_are_exactly_the_parsed_ones() {
        let h = HeaderMap::new();
        let xml =
            Bytes::from_static(b"<?xml version=\"1.0\"?><d:propertyupdate xmlns:d=\"DAV:\"/>");
        for m in KNOWN_METHODS {
            let method = Method::from_bytes(m.as_bytes()).unwrap();
            let body = if *m == "PROPPATCH" {
                xml.clone()
            } else {
                Bytes::new()
            };
            // An error comes only from the body of a known method (REPORT here).
            let parsed = parse(&method, &h, body);
            assert!(
                !matches!(parsed, Ok(DavRequest::Unknown(_))),
                "{m} is listed but not parsed"
            );
        }
        for m in ["FROB", "PATCH", "SEARCH"] {
            let method = Method::from_bytes(m.as_bytes()).unwrap();
            assert!(!KNOWN_METHODS.contains(&m));
            assert!(matches!(
                parse(&method, &h, Bytes::new()),
                Ok(DavRequest::Unknown(_))
            ));
        }
    }
}
