//! Preconditions and postconditions reported in `DAV:error` bodies
//! (RFC 4918 §16, RFC 3744 §7.1.1 need-privileges, RFC 4791 §5.3.2/§7,
//! RFC 6578 §3.7/§6), their `<d:error>` writer and a lenient reader for
//! error bodies sent by upstream servers.

use super::names::{self, QName, NS_CALDAV, NS_DAV};
use super::xml::{parse_document, Element, XmlLimits, XmlWriter};
use super::Result;
use crate::ids::Href;

/// The proxy's own namespace, for the human-readable message.
pub const NS_CALPROXY: &str = "urn:x-calproxy:";

/// A named condition that explains a 403/409/412/507 answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Precondition {
    /// RFC 3744 `DAV:need-privileges`.
    NeedPrivileges {
        /// The resource lacking the privilege.
        href: Href,
        /// The missing privilege (e.g. `DAV:write`).
        privilege: QName,
    },
    /// `C:valid-calendar-data`.
    ValidCalendarData,
    /// `C:valid-calendar-object-resource`.
    ValidCalendarObjectResource,
    /// `C:supported-calendar-component`.
    SupportedCalendarComponent,
    /// `C:supported-calendar-data`.
    SupportedCalendarData,
    /// `C:no-uid-conflict` with the href of the resource already holding the UID.
    NoUidConflict {
        /// The conflicting resource.
        href: Href,
    },
    /// `C:max-resource-size`.
    MaxResourceSize,
    /// `C:min-date-time`.
    MinDateTime,
    /// `C:max-date-time`.
    MaxDateTime,
    /// `C:max-instances`.
    MaxInstances,
    /// `C:max-attendees-per-instance`.
    MaxAttendeesPerInstance,
    /// `C:calendar-collection-location-ok`.
    CalendarCollectionLocationOk,
    /// `C:valid-calendar-timezone` (RFC 7809 names the same element).
    ValidCalendarTimezone,
    /// `DAV:valid-sync-token` (RFC 6578).
    ValidSyncToken,
    /// `DAV:number-of-matches-within-limits` (RFC 5323 / RFC 6578 truncation).
    NumberOfMatchesWithinLimits,
    /// `DAV:supported-report` (RFC 3253 §3.6).
    SupportedReport,
    /// `C:supported-filter`.
    SupportedFilter,
    /// `C:valid-filter`.
    ValidFilter,
    /// `C:supported-collation`.
    SupportedCollation,
    /// `DAV:propfind-finite-depth`.
    PropfindFiniteDepth,
    /// `DAV:cannot-modify-protected-property`.
    CannotModifyProtectedProperty,
    /// `DAV:resource-must-be-null`.
    ResourceMustBeNull,
    /// Any other condition element (read from upstream bodies).
    Other {
        /// The element name.
        name: QName,
    },
}

/// Conditions that are a single empty element.
const SIMPLE: &[(Precondition, &str, &str)] = &[
    (
        Precondition::ValidCalendarData,
        NS_CALDAV,
        "valid-calendar-data",
    ),
    (
        Precondition::ValidCalendarObjectResource,
        NS_CALDAV,
        "valid-calendar-object-resource",
    ),
    (
        Precondition::SupportedCalendarComponent,
        NS_CALDAV,
        "supported-calendar-component",
    ),
    (
        Precondition::SupportedCalendarData,
        NS_CALDAV,
        "supported-calendar-data",
    ),
    (
        Precondition::MaxResourceSize,
        NS_CALDAV,
        "max-resource-size",
    ),
    (Precondition::MinDateTime, NS_CALDAV, "min-date-time"),
    (Precondition::MaxDateTime, NS_CALDAV, "max-date-time"),
    (Precondition::MaxInstances, NS_CALDAV, "max-instances"),
    (
        Precondition::MaxAttendeesPerInstance,
        NS_CALDAV,
        "max-attendees-per-instance",
    ),
    (
        Precondition::CalendarCollectionLocationOk,
        NS_CALDAV,
        "calendar-collection-location-ok",
    ),
    (
        Precondition::ValidCalendarTimezone,
        NS_CALDAV,
        "valid-calendar-timezone",
    ),
    (Precondition::ValidSyncToken, NS_DAV, "valid-sync-token"),
    (
        Precondition::NumberOfMatchesWithinLimits,
        NS_DAV,
        "number-of-matches-within-limits",
    ),
    (Precondition::SupportedReport, NS_DAV, "supported-report"),
    (Precondition::SupportedFilter, NS_CALDAV, "supported-filter"),
    (Precondition::ValidFilter, NS_CALDAV, "valid-filter"),
    (
        Precondition::SupportedCollation,
        NS_CALDAV,
        "supported-collation",
    ),
    (
        Precondition::PropfindFiniteDepth,
        NS_DAV,
        "propfind-finite-depth",
    ),
    (
        Precondition::CannotModifyProtectedProperty,
        NS_DAV,
        "cannot-modify-protected-property",
    ),
    (
        Precondition::ResourceMustBeNull,
        NS_DAV,
        "resource-must-be-null",
    ),
];

impl Precondition {
    /// The condition element's name.
    pub fn name(&self) -> QName {
        match self {
            Self::NeedPrivileges { .. } => names::NEED_PRIVILEGES,
            Self::NoUidConflict { .. } => QName::caldav("no-uid-conflict"),
            Self::Other { name } => name.clone(),
            simple => SIMPLE.iter().find(|(p, _, _)| p == simple).map_or_else(
                || QName::dav("error"),
                |(_, ns, l)| QName::new_static(ns, l),
            ),
        }
    }

    /// Writes the condition element (used inside `DAV:error` and in
    /// multistatus responses).
    pub fn write(&self, w: &mut XmlWriter) {
        match self {
            Self::NeedPrivileges { href, privilege } => {
                w.start(&names::NEED_PRIVILEGES);
                w.start(&names::RESOURCE);
                w.text_element(&names::HREF, href.as_str());
                w.start(&names::PRIVILEGE);
                w.empty(privilege);
                w.end();
                w.end();
                w.end();
            }
            Self::NoUidConflict { href } => {
                w.start(&self.name());
                w.text_element(&names::HREF, href.as_str());
                w.end();
            }
            other => w.empty(&other.name()),
        }
    }

    /// Reads one condition element (lenient: unknown names become `Other`).
    pub fn from_element(el: &Element) -> Precondition {
        if el.is(&names::NEED_PRIVILEGES) {
            let res = el.child(&names::RESOURCE);
            let href = res
                .and_then(|r| r.child(&names::HREF))
                .map(|h| Href::new(h.text_trimmed()))
                .unwrap_or_else(|| Href::new(""));
            let privilege = res
                .and_then(|r| r.child(&names::PRIVILEGE))
                .and_then(|p| p.children.first())
                .map(|p| p.name.clone())
                .unwrap_or(names::WRITE);
            return Precondition::NeedPrivileges { href, privilege };
        }
        if el.name.is(NS_CALDAV, "no-uid-conflict") {
            let href = el
                .child(&names::HREF)
                .map(|h| Href::new(h.text_trimmed()))
                .unwrap_or_else(|| Href::new(""));
            return Precondition::NoUidConflict { href };
        }
        SIMPLE
            .iter()
            .find(|(_, ns, l)| el.name.is(ns, l))
            .map(|(p, _, _)| p.clone())
            .unwrap_or_else(|| Precondition::Other {
                name: el.name.clone(),
            })
    }

    /// Reads the first condition of a `DAV:error` body (`Ok(None)` for an
    /// empty body, a different root, or an error with only a message).
    pub fn parse_error_body(bytes: &[u8]) -> Result<Option<Precondition>> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        let root = parse_document(bytes, &XmlLimits::default())?;
        if !root.is(&names::ERROR) {
            return Ok(None);
        }
        Ok(root
            .children
            .iter()
            .find(|c| c.name.ns != NS_CALPROXY)
            .map(Precondition::from_element))
    }
}

/// Renders `<d:error>` with the condition (if any) and a human-readable
/// `<cp:message>` in the proxy's namespace.
pub fn error_body(pre: Option<&Precondition>, message: &str) -> Vec<u8> {
    let mut w = XmlWriter::new();
    w.start(&names::ERROR);
    if let Some(p) = pre {
        p.write(&mut w);
    }
    w.text_element(&QName::new_static(NS_CALPROXY, "message"), message);
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<Precondition> {
        let mut v: Vec<Precondition> = SIMPLE.iter().map(|(p, _, _)| p.clone()).collect();
        v.push(Precondition::NeedPrivileges {
            href: Href::new("/u/cal/"),
            privilege: names::BIND,
        });
        v.push(Precondition::NoUidConflict {
            href: Href::new("/u/cal/x.ics"),
        });
        v
    }

    #[test]
    fn rfc4918_16_error_body_round_trips_every_condition() {
        for p in all() {
            let body = error_body(Some(&p), "no <way> & \"never\"");
            assert_eq!(
                Precondition::parse_error_body(&body),
                Ok(Some(p.clone())),
                "{p:?}"
            );
            let text = String::from_utf8_lossy(&body).into_owned();
            assert!(
                text.contains("no &lt;way&gt; &amp; &quot;never&quot;"),
                "{text}"
            );
        }
    }

    #[test]
    fn rfc3744_7_1_1_need_privileges_shape() {
        let p = Precondition::NeedPrivileges {
            href: Href::new("/a/"),
            privilege: names::WRITE_CONTENT,
        };
        let s = String::from_utf8(error_body(Some(&p), "m")).unwrap_or_default();
        assert!(s.contains("<d:need-privileges><d:resource><d:href>/a/</d:href><d:privilege><d:write-content/></d:privilege></d:resource></d:need-privileges>"), "{s}");
    }

    #[test]
    fn icloud_5_bad_sync_token_body() {
        let body = b"<error xmlns='DAV:'><valid-sync-token/></error>";
        assert_eq!(
            Precondition::parse_error_body(body),
            Ok(Some(Precondition::ValidSyncToken))
        );
        assert_eq!(Precondition::parse_error_body(b""), Ok(None));
        assert_eq!(
            Precondition::parse_error_body(b"<error xmlns='DAV:'><x xmlns='urn:y'/></error>"),
            Ok(Some(Precondition::Other {
                name: QName::new("urn:y", "x")
            }))
        );
        assert!(!error_body(None, "x").is_empty());
    }
}
