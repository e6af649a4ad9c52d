//! The lenient reader of `DAV:multistatus` bodies from upstream servers:
//! namespace-aware, it accepts the iCloud style (no prefixes, default
//! namespace re-declared on each element, single-quoted attributes, CDATA,
//! blank lines), Radicale and Xandikos styles. Several propstats with the
//! same status are merged; a 404 propstat stays separate so callers never
//! mistake "property absent" for "resource absent". An empty property
//! element always reads back as [`PropValue::Empty`].

use super::super::names::{self, QName};
use super::super::precondition::Precondition;
use super::super::xml::{parse_document, Element, XmlLimits};
use super::super::{expect_root, Error, Result};
use super::{
    parse_status_line, MultiStatus, PropStat, PropValue, Property, Response, ResponseBody,
};
use crate::ids::{Href, SyncToken};

impl MultiStatus {
    /// Reads a multistatus body with [`XmlLimits::upstream`].
    pub fn parse(bytes: &[u8]) -> Result<MultiStatus> {
        Self::parse_with(bytes, &XmlLimits::upstream())
    }

    /// Reads a multistatus body with explicit limits.
    pub fn parse_with(bytes: &[u8], limits: &XmlLimits) -> Result<MultiStatus> {
        let root = parse_document(bytes, limits)?;
        expect_root(&root, &names::MULTISTATUS)?;
        let mut out = MultiStatus::default();
        for c in &root.children {
            if c.is(&names::RESPONSE) {
                read_response(c, &mut out.responses)?;
            } else if c.is(&names::SYNC_TOKEN) {
                let t = c.text_trimmed();
                if !t.is_empty() {
                    out.sync_token = Some(SyncToken::new(t));
                }
            }
        }
        Ok(out)
    }
}

fn read_response(el: &Element, out: &mut Vec<Response>) -> Result<()> {
    let hrefs: Vec<Href> = el
        .children_named(&names::HREF)
        .map(|h| Href::new(h.text_trimmed()))
        .collect();
    let first = hrefs
        .first()
        .cloned()
        .ok_or(Error::MissingElement { name: names::HREF })?;
    let mut stats: Vec<PropStat> = Vec::new();
    for ps in el.children_named(&names::PROPSTAT) {
        let status = ps
            .child(&names::STATUS)
            .ok_or(Error::MissingElement {
                name: names::STATUS,
            })
            .and_then(|s| parse_status_line(s.text_trimmed()))?;
        let props: Vec<Property> = ps
            .children_named(&names::PROP)
            .flat_map(|p| &p.children)
            .map(read_property)
            .collect();
        match stats.iter_mut().find(|s| s.status == status) {
            Some(existing) => existing.props.extend(props),
            None => stats.push(PropStat { props, status }),
        }
    }
    if !stats.is_empty() {
        out.push(Response {
            href: first,
            body: ResponseBody::PropStats(stats),
        });
        return Ok(());
    }
    let status = el
        .child(&names::STATUS)
        .ok_or(Error::MissingElement {
            name: names::STATUS,
        })
        .and_then(|s| parse_status_line(s.text_trimmed()))?;
    let error = el
        .child(&names::ERROR)
        .and_then(|e| e.children.first())
        .map(Precondition::from_element);
    for href in hrefs {
        out.push(Response {
            href,
            body: ResponseBody::Status {
                status,
                error: error.clone(),
            },
        });
    }
    Ok(())
}

enum Kind {
    Text,
    Hrefs,
    ResourceType,
    Privileges,
    CompSet,
    ReportSet,
    CalendarData,
    Other,
}

fn kind(name: &QName) -> Kind {
    use names::*;
    const TEXT: &[QName] = &[
        GETETAG,
        DISPLAYNAME,
        GETCTAG,
        SYNC_TOKEN,
        CALENDAR_COLOR,
        CALENDAR_ORDER,
        CALENDAR_DESCRIPTION,
        CALENDAR_TIMEZONE,
        GETCONTENTTYPE,
        GETLASTMODIFIED,
        GETCONTENTLENGTH,
        CREATIONDATE,
        MAX_RESOURCE_SIZE,
        MIN_DATE_TIME,
        MAX_DATE_TIME,
        MAX_INSTANCES,
        MAX_ATTENDEES_PER_INSTANCE,
        QUOTA_AVAILABLE_BYTES,
        QUOTA_USED_BYTES,
    ];
    // calendar-user-address-set stays Xml: iCloud marks the primary address
    // with a `preferred` attribute on its href, which Hrefs would lose.
    const HREFS: &[QName] = &[
        CALENDAR_HOME_SET,
        CURRENT_USER_PRINCIPAL,
        PRINCIPAL_URL,
        OWNER,
        CS_SOURCE,
        PRINCIPAL_COLLECTION_SET,
        SCHEDULE_INBOX_URL,
        SCHEDULE_OUTBOX_URL,
    ];
    if TEXT.contains(name) {
        Kind::Text
    } else if HREFS.contains(name) {
        Kind::Hrefs
    } else if *name == RESOURCETYPE {
        Kind::ResourceType
    } else if *name == CURRENT_USER_PRIVILEGE_SET {
        Kind::Privileges
    } else if *name == SUPPORTED_CALENDAR_COMPONENT_SET {
        Kind::CompSet
    } else if *name == SUPPORTED_REPORT_SET {
        Kind::ReportSet
    } else if *name == CALENDAR_DATA {
        Kind::CalendarData
    } else {
        Kind::Other
    }
}

/// Turns one property element into a [`Property`], choosing the
/// [`PropValue`] variant by name and falling back to `Xml` when the shape is
/// not the expected one.
pub fn read_property(el: &Element) -> Property {
    let name = el.name.clone();
    let text = el.text_trimmed();
    if el.children.is_empty() && text.is_empty() {
        return Property::new(name, PropValue::Empty);
    }
    let only = |n: &QName| el.children.iter().all(|c| &c.name == n);
    let value = match kind(&name) {
        Kind::Text if el.children.is_empty() => PropValue::Text(text.to_owned()),
        Kind::CalendarData if el.children.is_empty() => {
            PropValue::CalendarData(bytes::Bytes::from(el.text.clone()))
        }
        Kind::Hrefs if !el.children.is_empty() && only(&names::HREF) => PropValue::Hrefs(
            el.children
                .iter()
                .map(|h| Href::new(h.text_trimmed()))
                .collect(),
        ),
        Kind::ResourceType => {
            PropValue::ResourceType(el.children.iter().map(|c| c.name.clone()).collect())
        }
        Kind::Privileges if only(&names::PRIVILEGE) => PropValue::Privileges(
            el.children
                .iter()
                .flat_map(|p| &p.children)
                .map(|c| c.name.clone())
                .collect(),
        ),
        Kind::CompSet if only(&names::COMP) => PropValue::CompSet(
            el.children
                .iter()
                .filter_map(|c| c.attr("name"))
                .map(|n| n.trim().to_owned())
                .collect(),
        ),
        Kind::ReportSet if only(&names::SUPPORTED_REPORT) => PropValue::ReportSet(
            el.children
                .iter()
                .filter_map(|s| s.child(&names::REPORT))
                .flat_map(|r| &r.children)
                .map(|c| c.name.clone())
                .collect(),
        ),
        _ if el.children.is_empty() => PropValue::Text(text.to_owned()),
        _ => PropValue::Xml(el.children.clone()),
    };
    Property::new(name, value)
}
