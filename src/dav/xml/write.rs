//! The writer: always binds `d:` = `DAV:`, `cal:` = CalDAV, `cs:` =
//! CalendarServer and `ical:` = Apple iCal on the root element; any other
//! namespace gets a generated prefix declared on the element that uses it.
//! Also the escaping every hand-built body uses, and `pretty` for people.

use super::Element;
use crate::dav::names::{QName, NS_CALDAV, NS_CS, NS_DAV, NS_ICAL};

const FIXED: [(&str, &str); 4] = [
    (NS_DAV, "d"),
    (NS_CALDAV, "cal"),
    (NS_CS, "cs"),
    (NS_ICAL, "ical"),
];

/// Escapes text or an attribute value; keeps `\r` as `&#13;` so CRLF in
/// calendar data survives XML end-of-line normalisation, and replaces
/// characters XML 1.0 cannot carry with U+FFFD.
pub fn escape(s: &str, out: &mut String) {
    // Runs of ordinary text are copied whole; every byte that needs work
    // is ASCII or the lead byte of U+FFFE/U+FFFF (EF BF BE/BF), so each
    // cut falls on a character boundary.
    let b = s.as_bytes();
    out.reserve(s.len());
    let (mut from, mut i) = (0, 0);
    while i < b.len() {
        let (with, len) = match b[i] {
            b'<' => ("&lt;", 1),
            b'>' => ("&gt;", 1),
            b'&' => ("&amp;", 1),
            b'"' => ("&quot;", 1),
            b'\'' => ("&apos;", 1),
            b'\r' => ("&#13;", 1),
            b'\t' | b'\n' => {
                i += 1;
                continue;
            }
            c if c < 0x20 => ("\u{FFFD}", 1),
            0xEF if b.get(i + 1) == Some(&0xBF) && matches!(b.get(i + 2), Some(0xBE | 0xBF)) => {
                ("\u{FFFD}", 3)
            }
            _ => {
                i += 1;
                continue;
            }
        };
        out.push_str(&s[from..i]);
        out.push_str(with);
        i += len;
        from = i;
    }
    out.push_str(&s[from..]);
}

/// [`escape`] into a new string.
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape(s, &mut out);
    out
}

/// The namespace of the `xml` prefix (`xml:lang`, `xml:space`).
const XML_NAMESPACE: &str = "http://www.w3.org/XML/1998/namespace";

/// Builds an XML document as a string with fixed prefixes for the four
/// well-known namespaces. `end()` closes the innermost open element.
#[derive(Debug)]
pub struct XmlWriter {
    buf: String,
    open: Vec<String>,
    root_done: bool,
    gen: usize,
}

impl Default for XmlWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl XmlWriter {
    /// A writer that has emitted the XML declaration.
    pub fn new() -> Self {
        Self {
            buf: String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"),
            open: Vec::new(),
            root_done: false,
            gen: 0,
        }
    }

    /// A writer for a part of a document whose root the caller writes
    /// (see `multistatus::assemble`): no XML declaration, and the four
    /// fixed prefixes taken as declared by that root.
    pub fn fragment() -> Self {
        Self::fragment_with_capacity(0)
    }

    /// [`fragment`](Self::fragment) with room for `bytes` reserved.
    pub fn fragment_with_capacity(bytes: usize) -> Self {
        Self {
            buf: String::with_capacity(bytes),
            open: Vec::new(),
            root_done: true,
            gen: 0,
        }
    }

    /// The start of a document whose root element is `root` (declaration,
    /// root start tag with the fixed prefixes) and its end tag: what goes
    /// around [`fragment`](Self::fragment)s.
    pub fn document_around(root: &QName) -> (String, String) {
        let mut w = Self::new();
        w.start(root);
        let head = w.buf.clone();
        w.end();
        let tail = w.buf[head.len()..].to_string();
        (head, tail)
    }

    /// Writes `<tag attrs` (no closing `>`), returning the tag text.
    fn open_tag(&mut self, name: &QName, attrs: &[(QName, &str)]) -> String {
        let mut decls: Vec<(String, String)> = Vec::new();
        let tag = self.prefixed(name, &mut decls);
        let mut rendered_attrs = Vec::new();
        for (an, av) in attrs {
            let at = if an.ns.is_empty() {
                an.local.to_string()
            } else {
                self.prefixed(an, &mut decls)
            };
            rendered_attrs.push((at, *av));
        }
        self.buf.push('<');
        self.buf.push_str(&tag);
        if !self.root_done {
            self.root_done = true;
            for (ns, p) in FIXED {
                self.buf.push_str(&format!(" xmlns:{p}=\"{ns}\""));
            }
        }
        for (p, ns) in decls {
            self.buf.push_str(&format!(" xmlns:{p}=\""));
            escape(&ns, &mut self.buf);
            self.buf.push('"');
        }
        for (at, av) in rendered_attrs {
            self.buf.push(' ');
            self.buf.push_str(&at);
            self.buf.push_str("=\"");
            escape(av, &mut self.buf);
            self.buf.push('"');
        }
        tag
    }

    fn prefixed(&mut self, name: &QName, decls: &mut Vec<(String, String)>) -> String {
        if name.ns.is_empty() {
            return name.local.to_string();
        }
        if let Some((_, p)) = FIXED.iter().find(|(ns, _)| *ns == name.ns) {
            return format!("{p}:{}", name.local);
        }
        // Bound to `xml` by definition; no other prefix may be (Namespaces
        // in XML 1.0 §3), and it is never declared.
        if name.ns == XML_NAMESPACE {
            return format!("xml:{}", name.local);
        }
        let p = match decls.iter().find(|(_, ns)| *ns == name.ns) {
            Some((p, _)) => p.clone(),
            None => {
                let p = format!("x{}", self.gen);
                self.gen += 1;
                decls.push((p.clone(), name.ns.to_string()));
                p
            }
        };
        format!("{p}:{}", name.local)
    }

    /// Opens an element.
    pub fn start(&mut self, name: &QName) {
        self.start_with(name, &[]);
    }
    /// Opens an element with attributes.
    pub fn start_with(&mut self, name: &QName, attrs: &[(QName, &str)]) {
        let tag = self.open_tag(name, attrs);
        self.buf.push('>');
        self.open.push(tag);
    }
    /// Closes the innermost open element (no-op when none is open).
    pub fn end(&mut self) {
        if let Some(tag) = self.open.pop() {
            self.buf.push_str("</");
            self.buf.push_str(&tag);
            self.buf.push('>');
        }
    }
    /// Writes `<name/>`.
    pub fn empty(&mut self, name: &QName) {
        self.empty_with(name, &[]);
    }
    /// Writes `<name attrs/>`.
    pub fn empty_with(&mut self, name: &QName, attrs: &[(QName, &str)]) {
        self.open_tag(name, attrs);
        self.buf.push_str("/>");
    }
    /// Writes escaped text.
    pub fn text(&mut self, text: &str) {
        escape(text, &mut self.buf);
    }
    /// Writes `<name>text</name>`.
    pub fn text_element(&mut self, name: &QName, text: &str) {
        self.start(name);
        self.text(text);
        self.end();
    }
    /// Writes a parsed element and its subtree.
    pub fn element(&mut self, el: &Element) {
        let attrs: Vec<(QName, &str)> = el
            .attrs
            .iter()
            .map(|(n, v)| (n.clone(), v.as_str()))
            .collect();
        if el.children.is_empty() && el.text.is_empty() {
            self.empty_with(&el.name, &attrs);
            return;
        }
        self.start_with(&el.name, &attrs);
        self.text(&el.text);
        for c in &el.children {
            self.element(c);
        }
        self.end();
    }
    /// Closes any open elements and returns the bytes.
    pub fn finish(mut self) -> Vec<u8> {
        while !self.open.is_empty() {
            self.end();
        }
        self.buf.into_bytes()
    }
}

/// An XML document re-indented for people (`calproxy traffic show`,
/// `probe`); `None` when it does not parse as XML.
pub fn pretty(bytes: &[u8]) -> Option<String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(bytes);
    reader.config_mut().trim_text(true);
    let mut writer = quick_xml::Writer::new_with_indent(Vec::new(), b' ', 2);
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Eof) => break,
            Ok(e) => writer.write_event(e).ok()?,
            Err(_) => return None,
        }
        buf.clear();
    }
    String::from_utf8(writer.into_inner()).ok()
}
