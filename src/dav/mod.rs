//! PROTOCOL layer, pure: WebDAV/CalDAV bytes and headers to typed values and back.
//!
//! No store, no network, no tokio. Request bodies are parsed into a
//! namespace-resolved [`xml::Element`] tree first (with depth/size limits and
//! the well-formedness checks quick-xml leaves out), then into typed models:
//! [`propfind::PropFind`], [`proppatch::PropPatchOp`], [`report::Report`],
//! all reached through [`request::parse`] into one [`DavRequest`].
//! Responses are built as a [`multistatus::MultiStatus`] and rendered with
//! fixed prefixes; the same module reads multistatus bodies from upstream
//! servers (iCloud, Radicale, Xandikos), and [`listing`] reads member
//! listings as they stream by, with no tree. Error bodies (`<d:error>`) come from
//! [`precondition`]. [`headers`] parses Depth, If-Match, Prefer and friends.
//!
//! Start with `names.rs` (every QName), then `report.rs`.

pub mod filter;
pub mod headers;
pub mod listing;
pub mod multistatus;
pub mod names;
pub mod precondition;
pub mod propfind;
pub mod proppatch;
pub mod report;
pub mod request;
pub mod xml;

#[cfg(test)]
mod tests;

pub use headers::{parse_headers, DavHeaders, Depth, EtagCondition};
pub use multistatus::{MultiStatus, PropStat, PropValue, Property, Response, ResponseBody};
pub use names::QName;
pub use precondition::{error_body, Precondition};
pub use propfind::{parse_propfind, PropFind};
pub use proppatch::{parse_proppatch, PropPatchOp};
pub use report::{parse_report, PropRequest, Report};
pub use request::{parse as parse_request, DavRequest, KNOWN_METHODS};
pub use xml::{parse_document, Element, XmlLimits, XmlWriter};

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What was wrong with a `time-range`, `expand` or `limit-recurrence-set`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeRangeProblem {
    /// Neither `start` nor `end` was given (or a required one is missing).
    MissingBound,
    /// A value was not `YYYYMMDDTHHMMSSZ`.
    Malformed,
    /// A value lacked the trailing `Z` (not UTC).
    NotUtc,
    /// `end` was not after `start`.
    EndNotAfterStart,
}

impl std::fmt::Display for TimeRangeProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::MissingBound => "a bound is missing",
            Self::Malformed => "a value is not YYYYMMDDTHHMMSSZ",
            Self::NotUtc => "a value is not in UTC",
            Self::EndNotAfterStart => "end is not after start",
        })
    }
}

/// Why bytes or headers could not be understood as WebDAV/CalDAV.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The body was empty or only whitespace where a document was required.
    #[error("body is empty")]
    EmptyBody,
    /// The body is not UTF-8.
    #[error("body is not valid utf-8")]
    NotUtf8,
    /// quick-xml refused the markup.
    #[error("malformed xml near byte {position}: {reason}")]
    MalformedXml {
        /// Byte offset where reading failed.
        position: u64,
        /// quick-xml's description.
        reason: String,
    },
    /// The input ended inside an element.
    #[error("element {name} is not closed")]
    UnclosedElement {
        /// The innermost open element.
        name: QName,
    },
    /// A prefix was used without a namespace declaration.
    #[error("namespace prefix {prefix:?} is not declared")]
    UndeclaredPrefix {
        /// The prefix as written.
        prefix: String,
    },
    /// A DOCTYPE declared entities.
    #[error("doctype with entity declarations is not accepted")]
    EntityDeclaration,
    /// Content followed the root element.
    #[error("content after the root element near byte {position}")]
    TrailingContent {
        /// Byte offset of the extra content.
        position: u64,
    },
    /// Nesting deeper than allowed.
    #[error("elements nested deeper than {max}")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// More elements than allowed.
    #[error("more than {max} elements")]
    TooManyElements {
        /// The limit.
        max: usize,
    },
    /// An element other than the one required was found.
    #[error("expected element {expected}, found {found}")]
    UnexpectedElement {
        /// What was required.
        expected: QName,
        /// What was there.
        found: QName,
    },
    /// A required child element is missing.
    #[error("required element {name} is missing")]
    MissingElement {
        /// The missing element.
        name: QName,
    },
    /// A required attribute is missing.
    #[error("element {element} lacks attribute {attribute}")]
    MissingAttribute {
        /// The element.
        element: QName,
        /// The attribute's local name.
        attribute: &'static str,
    },
    /// An element's text or attribute value is not acceptable.
    #[error("element {element} has an invalid value")]
    InvalidValue {
        /// The element.
        element: QName,
    },
    /// A time-range (or expand/limit-recurrence-set) is unusable.
    #[error("invalid time range: {problem}")]
    InvalidTimeRange {
        /// What was wrong.
        problem: TimeRangeProblem,
    },
    /// The REPORT body names a report we do not implement.
    #[error("report {name} is not supported")]
    UnsupportedReport {
        /// The root element of the REPORT body.
        name: QName,
    },
    /// A request header has an invalid value.
    #[error("header {name} is invalid")]
    InvalidHeader {
        /// Lowercase header name.
        name: &'static str,
    },
    /// A `DAV:status` line could not be read.
    #[error("status line is not `HTTP/x.y NNN reason`")]
    InvalidStatus,
}

impl Error {
    /// The precondition a server should report for this error, when RFCs name one.
    pub fn precondition(&self) -> Option<Precondition> {
        match self {
            Error::InvalidTimeRange { .. } => Some(Precondition::ValidFilter),
            Error::UnsupportedReport { .. } => Some(Precondition::SupportedReport),
            Error::MissingElement { name }
                if *name == names::FILTER || *name == names::COMP_FILTER =>
            {
                Some(Precondition::ValidFilter)
            }
            _ => None,
        }
    }
}

/// Reads a child's trimmed text, or `None` when absent.
pub(crate) fn child_text<'a>(el: &'a Element, name: &QName) -> Option<&'a str> {
    el.child(name).map(Element::text_trimmed)
}

/// Checks the root element name.
pub(crate) fn expect_root(el: &Element, expected: &QName) -> Result<()> {
    if &el.name != expected {
        return Err(Error::UnexpectedElement {
            expected: expected.clone(),
            found: el.name.clone(),
        });
    }
    Ok(())
}
