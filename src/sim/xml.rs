//! iCloud-style XML output (ICLOUD.md §2.2): the standalone prolog, no
//! prefixes, the default namespace re-declared on nearly every element,
//! single-quoted `comp` attributes, CDATA calendar data and blank lines.
//!
//! Written by hand with format strings on purpose: `dav::XmlWriter` uses
//! prefixes, and the point of the sim is to make clients parse the
//! other shape. Owns no state.

use crate::dav::names::{NS_CALDAV, NS_CS, NS_DAV, NS_ICAL};
use crate::dav::QName;

/// The prolog iCloud sends.
pub(crate) const PROLOG: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n";

/// Escapes text and double-quoted attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// `<![CDATA[…]]>`, splitting any `]]>` inside the data.
pub(crate) fn cdata(s: &str) -> String {
    format!("<![CDATA[{}]]>", s.replace("]]>", "]]]]><![CDATA[>"))
}

/// An element in its own default namespace: `<local xmlns="ns">inner</local>`,
/// or the empty form when `inner` is empty.
pub(crate) fn el(ns: &str, local: &str, inner: &str) -> String {
    if inner.is_empty() {
        format!("<{local} xmlns=\"{}\"/>", esc(ns))
    } else {
        format!("<{local} xmlns=\"{}\">{inner}</{local}>", esc(ns))
    }
}

/// An element for a requested property name (any namespace).
pub(crate) fn prop_el(name: &QName, inner: &str) -> String {
    el(&name.ns, &name.local, inner)
}

/// `<href xmlns="DAV:">…</href>`.
pub(crate) fn href(h: &str) -> String {
    el(NS_DAV, "href", &esc(h))
}

/// `<comp name='X' xmlns='urn:ietf:params:xml:ns:caldav'/>` (single quotes).
pub(crate) fn comp(name: &str) -> String {
    format!("<comp name='{}' xmlns='{NS_CALDAV}'/>", esc(name))
}

/// One `<privilege>` wrapping a DAV: or CalDAV privilege.
pub(crate) fn privilege(ns: &str, local: &str) -> String {
    let inner = if ns == NS_DAV {
        format!("<{local}/>")
    } else {
        el(ns, local, "")
    };
    format!("<privilege xmlns=\"DAV:\">{inner}</privilege>")
}

/// A propstat group: status plus already rendered property elements.
pub(crate) struct PropGroup {
    pub status: u16,
    pub props: Vec<String>,
}

/// Builds one multistatus body.
pub(crate) struct Multistatus {
    out: String,
}

impl Multistatus {
    pub(crate) fn new() -> Self {
        let mut out = String::from(PROLOG);
        out.push_str("<multistatus xmlns=\"DAV:\">\n");
        Self { out }
    }

    /// A response with propstats; empty groups other than 200 are skipped
    /// (an empty 200 group stays: iCloud sends an empty `<prop>`).
    pub(crate) fn response(&mut self, href_value: &str, groups: &[PropGroup]) {
        self.out.push_str("<response xmlns=\"DAV:\">\n");
        self.out.push_str(&href(href_value));
        self.out.push('\n');
        for g in groups {
            if g.props.is_empty() && g.status != 200 {
                continue;
            }
            self.out.push_str("<propstat>\n<prop>\n");
            for p in &g.props {
                self.out.push_str(p);
                self.out.push_str("\n\n");
            }
            self.out.push_str("</prop>\n");
            self.out.push_str(&format!(
                "<status>{}</status>\n</propstat>\n",
                crate::dav::multistatus::status_line(g.status)
            ));
        }
        self.out.push_str("</response>\n\n");
    }

    /// A response with a whole-resource status (sync deletions, multiget misses).
    pub(crate) fn status_response(&mut self, href_value: &str, status: u16) {
        self.out.push_str("<response xmlns=\"DAV:\">\n");
        self.out.push_str(&href(href_value));
        self.out.push_str(&format!(
            "\n<status>{}</status>\n</response>\n\n",
            crate::dav::multistatus::status_line(status)
        ));
    }

    /// The RFC 6578 token at the end.
    pub(crate) fn sync_token(&mut self, token: &str) {
        self.out.push_str(&el(NS_DAV, "sync-token", &esc(token)));
        self.out.push('\n');
    }

    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.out.push_str("</multistatus>\n");
        self.out.into_bytes()
    }
}

/// Namespace constants re-exported for the property code.
pub(crate) const DAV: &str = NS_DAV;
/// CalDAV namespace.
pub(crate) const CALDAV: &str = NS_CALDAV;
/// CalendarServer namespace.
pub(crate) const CS: &str = NS_CS;
/// Apple iCal namespace.
pub(crate) const ICAL: &str = NS_ICAL;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dav::{MultiStatus, PropValue};
    use crate::ids::Href;

    #[test]
    fn icloud_style_multistatus_parses() {
        let mut ms = Multistatus::new();
        ms.response(
            "/1/calendars/home/",
            &[
                PropGroup {
                    status: 200,
                    props: vec![
                        el(CS, "getctag", "abc"),
                        el(CALDAV, "supported-calendar-component-set", &comp("VEVENT")),
                        el(CALDAV, "calendar-data", &cdata("A]]>B")),
                    ],
                },
                PropGroup {
                    status: 404,
                    props: vec![el(ICAL, "calendar-color", "")],
                },
            ],
        );
        ms.status_response("/1/calendars/home/gone.ics", 404);
        ms.sync_token("tok");
        let body = ms.finish();
        let text = String::from_utf8_lossy(&body);
        assert!(text.starts_with(PROLOG));
        assert!(!text.contains("<D:") && !text.contains("<d:"));
        let parsed = MultiStatus::parse(&body).expect("parses");
        assert_eq!(parsed.responses.len(), 2);
        let r = &parsed.responses[0];
        assert_eq!(r.href, Href::new("/1/calendars/home/"));
        assert_eq!(
            r.prop(&QName::cs("getctag")),
            Some(&PropValue::Text("abc".into()))
        );
        assert_eq!(r.prop_text(&QName::caldav("calendar-data")), Some("A]]>B"));
        assert_eq!(parsed.responses[1].bare_status(), Some(404));
        assert_eq!(
            parsed.sync_token.map(|t| t.as_str().to_string()),
            Some("tok".into())
        );
    }
}
