//! CalDAV on the wire, as the harness needs it: the REPORT bodies it sends
//! (calendar-query, calendar-multiget, sync-collection, free-busy-query)
//! and a namespace-aware reading of multistatus answers (the object names
//! they list). Pure: no I/O.

use chrono::{DateTime, Utc};
use percent_encoding::percent_decode_str;
use quick_xml::events::Event;
use quick_xml::name::{Namespace, ResolveResult};
use quick_xml::NsReader;

const DAV: &[u8] = b"DAV:";

/// A UTC time range.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    /// Inclusive start.
    pub start: DateTime<Utc>,
    /// Exclusive end.
    pub end: DateTime<Utc>,
}

fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// calendar-query for VEVENTs overlapping `w`, asking getetag and, when
/// `data` is set, calendar-data.
pub fn calendar_query(w: Window, data: bool) -> String {
    let cd = if data { "<C:calendar-data/>" } else { "" };
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/>{cd}</D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="{}" end="{}"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"#,
        utc(w.start),
        utc(w.end)
    )
}

/// calendar-multiget of `hrefs` (absolute paths) with getetag and calendar-data.
pub fn multiget(hrefs: &[String]) -> String {
    let list: String = hrefs
        .iter()
        .map(|h| format!("<D:href>{h}</D:href>"))
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop>{list}</C:calendar-multiget>"#
    )
}

/// sync-collection from an empty token (the initial sync), getetag only.
pub fn sync_collection() -> String {
    r#"<?xml version="1.0" encoding="utf-8"?><D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"#.to_string()
}

/// free-busy-query over `w`.
pub fn free_busy(w: Window) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:time-range start="{}" end="{}"/></C:free-busy-query>"#,
        utc(w.start),
        utc(w.end)
    )
}

/// The object names (last path segment, percent-decoded) of the
/// `DAV:response` elements of a multistatus whose `DAV:href` ends in
/// `.ics`, in document order. Errors on malformed XML.
pub fn object_names(body: &[u8]) -> Result<Vec<String>, String> {
    let mut r = NsReader::from_reader(body);
    let mut out = Vec::new();
    let mut in_response = false;
    let mut in_href = false;
    let mut href: Option<String> = None;
    let is_dav = |ns: &ResolveResult| matches!(ns, ResolveResult::Bound(Namespace(n)) if *n == DAV);
    loop {
        match r.read_resolved_event() {
            Ok((ns, Event::Start(e))) if is_dav(&ns) => match e.local_name().as_ref() {
                b"response" => {
                    in_response = true;
                    href = None;
                }
                b"href" if in_response && href.is_none() => in_href = true,
                _ => {}
            },
            Ok((_, Event::Text(t))) if in_href => {
                let raw = t.unescape().map_err(|e| e.to_string())?;
                href = Some(raw.trim().to_string());
            }
            Ok((ns, Event::End(e))) if is_dav(&ns) => match e.local_name().as_ref() {
                b"href" => in_href = false,
                b"response" => {
                    in_response = false;
                    if let Some(h) = href.take() {
                        let last = h.trim_end_matches('/').rsplit('/').next().unwrap_or("");
                        let name = percent_decode_str(last).decode_utf8_lossy().into_owned();
                        if name.ends_with(".ics") {
                            out.push(name);
                        }
                    }
                }
                _ => {}
            },
            Ok((_, Event::Eof)) => return Ok(out),
            Ok(_) => {}
            Err(e) => return Err(format!("multistatus at {}: {e}", r.buffer_position())),
        }
    }
}

/// The busy periods (`start/end` values of the unfolded FREEBUSY
/// properties) of a free-busy answer.
pub fn freebusy_periods(body: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(body).replace("\r\n ", "");
    text.lines()
        .filter(|l| l.starts_with("FREEBUSY"))
        .filter_map(|l| l.split_once(':').map(|(_, v)| v.to_string()))
        .flat_map(|v| v.split(',').map(str::to_string).collect::<Vec<_>>())
        .collect()
}
