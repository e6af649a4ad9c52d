//! Target `dav`: a request as the transport hands it over, through
//! `handlers::parse` (which feeds `dav::parse_request`: the DAV headers
//! and the PROPFIND, REPORT and PROPPATCH bodies; MKCALENDAR, PUT and the
//! rest by method).
//!
//! Input: a head and a body separated by the first empty line. The head's
//! first line is `METHOD [PATH[?QUERY]]` (the path defaults to a calendar
//! collection), the next lines `Name: value` headers; names or values
//! hyper would refuse are skipped, as hyper never delivers them. E.g.
//!
//! ```text
//! REPORT /dav/acme/bob/primary/
//! Depth: 1
//!
//! <C:calendar-query xmlns:C="urn:ietf:params:xml:ns:caldav">…
//! ```

use bytes::Bytes;
use calproxy::dav::filter::{CompFilter, TimeRangeFilter};
use calproxy::dav::report::{CalendarDataRequest, Report};
use calproxy::dav::DavRequest;
use calproxy::handlers::{self, Request};
use calproxy::route::Route;
use http::{HeaderMap, HeaderName, HeaderValue, Method};

/// The default path: a calendar collection.
const COLLECTION: &str = "/dav/acme/bob/primary/";

/// Splits `data` at its first empty line (LF or CRLF).
fn split_head(data: &[u8]) -> (&[u8], &[u8]) {
    for (i, w) in data.windows(2).enumerate() {
        if w == b"\n\n" {
            return (&data[..i], &data[i + 2..]);
        }
        if w == b"\n\r" && data.get(i + 2) == Some(&b'\n') {
            return (&data[..i], &data[i + 3..]);
        }
    }
    (data, &[])
}

/// The DAV target (see the module docs).
pub fn dav(data: &[u8]) {
    let (head, body) = split_head(data);
    let head = String::from_utf8_lossy(head);
    let mut lines = head.lines();
    let first = lines.next().unwrap_or_default().trim();
    let (method, target) = first.split_once(' ').unwrap_or((first, COLLECTION));
    let Ok(method) = Method::from_bytes(method.as_bytes()) else {
        return;
    };
    let (path, query) = match target.trim().split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target.trim(), None),
    };
    let mut headers = HeaderMap::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.trim().as_bytes()),
            HeaderValue::from_str(value.trim()),
        ) {
            headers.append(n, v);
        }
    }
    let Some(route) = Route::parse_request(path, &method) else {
        return;
    };
    let _ = handlers::needs(&route, &method);
    let Ok(request) = handlers::parse(
        route,
        &method,
        &headers,
        query,
        Bytes::copy_from_slice(body),
    ) else {
        return;
    };
    if let Request::Dav { request, .. } = request {
        check(&request);
    }
}

/// What a parsed request promises its handler.
fn check(request: &DavRequest) {
    match request {
        DavRequest::PropFind { headers, .. }
        | DavRequest::Get { headers, .. }
        | DavRequest::Put { headers, .. }
        | DavRequest::Delete { headers }
        | DavRequest::MoveOrCopy { headers, .. } => {
            let _ = headers.media_type();
            let _ = headers.destination_path();
        }
        DavRequest::Report { headers, report } => {
            let _ = headers.destination_path();
            check_report(report);
        }
        DavRequest::PropPatch(ops) => {
            let _ = format!("{ops:?}");
        }
        DavRequest::Options
        | DavRequest::MakeCollection { .. }
        | DavRequest::NotAllowed(_)
        | DavRequest::Unknown(_) => {}
    }
}

/// The parser's promises about a REPORT: every time range has a bound and
/// ends after it starts (RFC 4791 §9.9), so handlers never see an empty or
/// reversed window.
fn check_report(report: &Report) {
    match report {
        Report::CalendarQuery(q) => {
            check_filter(&q.filter);
            check_data(q.data.as_ref());
        }
        Report::CalendarMultiget(m) => {
            assert!(!m.hrefs.is_empty(), "multiget without hrefs: {m:?}");
            check_data(m.data.as_ref());
        }
        Report::SyncCollection(_) => {}
        Report::FreeBusyQuery(f) => check_range(&f.range),
    }
}

fn check_range(r: &TimeRangeFilter) {
    assert!(r.start.is_some() || r.end.is_some(), "unbounded: {r:?}");
    if let (Some(s), Some(e)) = (r.start, r.end) {
        assert!(s < e, "time range ends before it starts: {r:?}");
    }
}

fn check_filter(f: &CompFilter) {
    if let Some(r) = &f.time_range {
        check_range(r);
    }
    for p in &f.prop_filters {
        if let Some(r) = &p.time_range {
            check_range(r);
        }
    }
    f.comp_filters.iter().for_each(check_filter);
}

fn check_data(d: Option<&CalendarDataRequest>) {
    let Some(d) = d else { return };
    for (s, e) in [d.expand, d.limit_recurrence_set, d.limit_freebusy_set]
        .into_iter()
        .flatten()
    {
        assert!(s < e, "calendar-data interval ends before it starts: {d:?}");
    }
}
