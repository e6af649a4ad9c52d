//! `DAV:multistatus` (RFC 4918 §13, §14.16) with the RFC 6578 `sync-token`:
//! the model, its writer and the assembly of kept parts into one body. The
//! lenient reader of upstream bodies (iCloud's, Radicale's, Xandikos'
//! styles) is `multistatus::read`.

use super::names::{self, QName};
use super::precondition::Precondition;
use super::xml::{Element, XmlWriter};
use super::{Error, Result};
use crate::ids::{Href, SyncToken};

mod read;

pub use read::read_property;

/// A whole multistatus body.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct MultiStatus {
    /// One entry per href.
    pub responses: Vec<Response>,
    /// RFC 6578 token after the responses (sync-collection only).
    pub sync_token: Option<SyncToken>,
}

/// One `DAV:response`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The resource.
    pub href: Href,
    /// Properties or a bare status.
    pub body: ResponseBody,
}

/// Either properties grouped by status, or a status for the whole resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResponseBody {
    /// One or more propstats.
    PropStats(Vec<PropStat>),
    /// A status for the whole resource (e.g. 404 for a sync deletion).
    Status {
        /// HTTP status code.
        status: u16,
        /// A condition (`DAV:error`) attached to the response.
        error: Option<Precondition>,
    },
}

/// Properties sharing one status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PropStat {
    /// The properties.
    pub props: Vec<Property>,
    /// HTTP status code.
    pub status: u16,
}

/// A property and its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Property {
    /// The property name.
    pub name: QName,
    /// The value.
    pub value: PropValue,
}

/// A property value in the shape the proxy needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PropValue {
    /// `<name/>` (404 rows, propname answers, empty values).
    Empty,
    /// Text content (getetag, displayname, getctag, sync-token, colour…).
    Text(String),
    /// `DAV:href` children (calendar-home-set, current-user-principal…).
    Hrefs(Vec<Href>),
    /// `DAV:resourcetype` children.
    ResourceType(Vec<QName>),
    /// `DAV:current-user-privilege-set`: one name per `DAV:privilege`.
    Privileges(Vec<QName>),
    /// `C:supported-calendar-component-set`: the `comp name` values.
    CompSet(Vec<String>),
    /// `DAV:supported-report-set`: one name per `supported-report/report`.
    ReportSet(Vec<QName>),
    /// `C:calendar-data` bytes, exactly as stored or sent (not trimmed);
    /// shared, never copied on the way out.
    CalendarData(bytes::Bytes),
    /// Arbitrary children (dead properties, unknown structured values).
    Xml(Vec<Element>),
}

impl Property {
    /// A property with a value.
    pub fn new(name: QName, value: PropValue) -> Self {
        Self { name, value }
    }
}

impl Response {
    /// A response with one propstat.
    pub fn props(href: Href, status: u16, props: Vec<Property>) -> Self {
        Self {
            href,
            body: ResponseBody::PropStats(vec![PropStat { props, status }]),
        }
    }
    /// A bare-status response.
    pub fn status(href: Href, status: u16) -> Self {
        Self {
            href,
            body: ResponseBody::Status {
                status,
                error: None,
            },
        }
    }
    /// The value of a property found in a 2xx propstat.
    pub fn prop(&self, name: &QName) -> Option<&PropValue> {
        match &self.body {
            ResponseBody::PropStats(ps) => ps
                .iter()
                .filter(|p| (200..300).contains(&p.status))
                .flat_map(|p| &p.props)
                .find(|p| &p.name == name)
                .map(|p| &p.value),
            ResponseBody::Status { .. } => None,
        }
    }
    /// The text of a property found in a 2xx propstat (`Text` or `CalendarData`).
    pub fn prop_text(&self, name: &QName) -> Option<&str> {
        match self.prop(name)? {
            PropValue::Text(t) => Some(t),
            PropValue::CalendarData(b) => std::str::from_utf8(b).ok(),
            _ => None,
        }
    }
    /// The status of the whole response, when it has no propstats.
    pub fn bare_status(&self) -> Option<u16> {
        match &self.body {
            ResponseBody::Status { status, .. } => Some(*status),
            ResponseBody::PropStats(_) => None,
        }
    }
}

/// `HTTP/1.1 200 OK` for a code.
pub fn status_line(code: u16) -> String {
    let reason = http::StatusCode::from_u16(code)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Unknown");
    format!("HTTP/1.1 {code} {reason}")
}

/// Reads the code from `HTTP/1.1 404 Not Found`.
pub fn parse_status_line(line: &str) -> Result<u16> {
    let mut parts = line.split_whitespace();
    let proto = parts.next().ok_or(Error::InvalidStatus)?;
    if !proto.starts_with("HTTP/") {
        return Err(Error::InvalidStatus);
    }
    let code = parts.next().ok_or(Error::InvalidStatus)?;
    match code.parse::<u16>() {
        Ok(c) if (100..600).contains(&c) && code.len() == 3 => Ok(c),
        _ => Err(Error::InvalidStatus),
    }
}

// ---------------------------------------------------------------- writer

fn write_value(w: &mut XmlWriter, name: &QName, value: &PropValue) {
    match value {
        PropValue::Empty => w.empty(name),
        PropValue::Text(t) => w.text_element(name, t),
        PropValue::CalendarData(b) => w.text_element(name, &String::from_utf8_lossy(b)),
        PropValue::Hrefs(hs) => {
            w.start(name);
            for h in hs {
                w.text_element(&names::HREF, h.as_str());
            }
            w.end();
        }
        PropValue::ResourceType(ts) => {
            w.start(name);
            for t in ts {
                w.empty(t);
            }
            w.end();
        }
        PropValue::Privileges(ps) => {
            w.start(name);
            for p in ps {
                w.start(&names::PRIVILEGE);
                w.empty(p);
                w.end();
            }
            w.end();
        }
        PropValue::CompSet(cs) => {
            w.start(name);
            for c in cs {
                w.empty_with(&names::COMP, &[(QName::new_static("", "name"), c.as_str())]);
            }
            w.end();
        }
        PropValue::ReportSet(rs) => {
            w.start(name);
            for r in rs {
                w.start(&names::SUPPORTED_REPORT);
                w.start(&names::REPORT);
                w.empty(r);
                w.end();
                w.end();
            }
            w.end();
        }
        PropValue::Xml(children) => {
            w.start(name);
            for c in children {
                w.element(c);
            }
            w.end();
        }
    }
}

impl Response {
    /// This `<d:response>` alone, as it appears inside a multistatus
    /// rendered by [`MultiStatus::to_xml`] or [`assemble`] (prefixes of
    /// other namespaces are declared on the elements using them, so the
    /// part stands the same in any document).
    pub fn to_xml(&self) -> Vec<u8> {
        // Room for the markup and the calendar data (escaping rarely
        // grows it): one allocation for most responses.
        let data: usize = match &self.body {
            ResponseBody::PropStats(ps) => ps
                .iter()
                .flat_map(|p| &p.props)
                .map(|p| match &p.value {
                    PropValue::CalendarData(b) => b.len(),
                    _ => 0,
                })
                .sum(),
            ResponseBody::Status { .. } => 0,
        };
        let mut w = XmlWriter::fragment_with_capacity(data + data / 16 + 512);
        w.start(&names::RESPONSE);
        w.text_element(&names::HREF, self.href.as_str());
        match &self.body {
            ResponseBody::PropStats(ps) => {
                for p in ps {
                    w.start(&names::PROPSTAT);
                    w.start(&names::PROP);
                    for prop in &p.props {
                        write_value(&mut w, &prop.name, &prop.value);
                    }
                    w.end();
                    w.text_element(&names::STATUS, &status_line(p.status));
                    w.end();
                }
            }
            ResponseBody::Status { status, error } => {
                w.text_element(&names::STATUS, &status_line(*status));
                if let Some(e) = error {
                    w.start(&names::ERROR);
                    e.write(&mut w);
                    w.end();
                }
            }
        }
        w.finish()
    }
}

/// A multistatus body made of responses rendered one by one
/// ([`Response::to_xml`], possibly kept from earlier requests) and the
/// RFC 6578 token, in one buffer sized once.
pub fn assemble<'a, I>(parts: I, sync_token: Option<&SyncToken>) -> Vec<u8>
where
    I: IntoIterator<Item = &'a [u8]>,
    I::IntoIter: Clone,
{
    assemble_with(parts, sync_token, |_| {})
}

/// [`assemble`], also saying where each part lies in the body (a kept
/// answer's parts are copied from there into the next one).
pub fn assemble_indexed<'a, I>(
    parts: I,
    sync_token: Option<&SyncToken>,
) -> (Vec<u8>, Vec<std::ops::Range<usize>>)
where
    I: IntoIterator<Item = &'a [u8]>,
    I::IntoIter: Clone,
{
    let mut at = Vec::new();
    let body = assemble_with(parts, sync_token, |r| at.push(r));
    (body, at)
}

fn assemble_with<'a, I>(
    parts: I,
    sync_token: Option<&SyncToken>,
    mut placed: impl FnMut(std::ops::Range<usize>),
) -> Vec<u8>
where
    I: IntoIterator<Item = &'a [u8]>,
    I::IntoIter: Clone,
{
    let parts = parts.into_iter();
    static AROUND: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    let (head, tail) = AROUND.get_or_init(|| XmlWriter::document_around(&names::MULTISTATUS));
    let token = sync_token.map(|t| {
        let mut w = XmlWriter::fragment();
        w.text_element(&names::SYNC_TOKEN, t.as_str());
        w.finish()
    });
    let size = head.len()
        + parts.clone().map(<[u8]>::len).sum::<usize>()
        + token.as_ref().map_or(0, Vec::len)
        + tail.len();
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(head.as_bytes());
    for p in parts {
        let start = out.len();
        out.extend_from_slice(p);
        placed(start..out.len());
    }
    if let Some(t) = token {
        out.extend_from_slice(&t);
    }
    out.extend_from_slice(tail.as_bytes());
    out
}

impl MultiStatus {
    /// Renders the body with `d:`/`cal:`/`cs:`/`ical:` prefixes.
    pub fn to_xml(&self) -> Vec<u8> {
        let parts: Vec<Vec<u8>> = self.responses.iter().map(Response::to_xml).collect();
        assemble(parts.iter().map(Vec::as_slice), self.sync_token.as_ref())
    }
}
