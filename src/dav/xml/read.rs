//! The reader: a namespace-resolved tree (or events for a `Builder`) over
//! quick-xml's `NsReader`, with the checks quick-xml leaves to its callers:
//! unclosed elements at end of input, undeclared prefixes, depth and
//! element-count limits, trailing content after the root, and non-UTF-8
//! input. Custom entities are never expanded; a DOCTYPE that declares
//! entities is refused, any other DOCTYPE is ignored.

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

use crate::dav::names::QName;
use crate::dav::Error;

/// Bounds on a document's shape, checked while reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XmlLimits {
    /// Deepest allowed element nesting (the root is depth 1).
    pub max_depth: usize,
    /// Most elements allowed in one document.
    pub max_elements: usize,
}

impl Default for XmlLimits {
    fn default() -> Self {
        Self {
            max_depth: 64,
            max_elements: 100_000,
        }
    }
}

impl XmlLimits {
    /// Larger limits for upstream multistatus bodies (whole calendars).
    pub fn upstream() -> Self {
        Self {
            max_depth: 64,
            max_elements: 2_000_000,
        }
    }
}

/// One element with resolved names. Attributes in no namespace have `ns == ""`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Element {
    /// The element's name.
    pub name: QName,
    /// Attributes other than namespace declarations, in document order.
    pub attrs: Vec<(QName, String)>,
    /// Child elements in document order.
    pub children: Vec<Element>,
    /// All direct text and CDATA, unescaped and concatenated (not trimmed).
    pub text: String,
}

impl Element {
    /// An element with no attributes, children or text.
    pub fn new(name: QName) -> Self {
        Self {
            name,
            ..Self::default()
        }
    }
    /// Builder: set the text.
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        self.text = text.into();
        self
    }
    /// Builder: add a child.
    pub fn with_child(mut self, child: Element) -> Self {
        self.children.push(child);
        self
    }
    /// Builder: add an attribute in no namespace.
    pub fn with_attr(mut self, local: &str, value: impl Into<String>) -> Self {
        self.attrs.push((QName::new("", local), value.into()));
        self
    }
    /// True when the element has this name.
    pub fn is(&self, name: &QName) -> bool {
        &self.name == name
    }
    /// The first child with this name.
    pub fn child(&self, name: &QName) -> Option<&Element> {
        self.children.iter().find(|c| &c.name == name)
    }
    /// All children with this name.
    pub fn children_named<'a>(&'a self, name: &'a QName) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| &c.name == name)
    }
    /// The value of an attribute in no namespace.
    pub fn attr(&self, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n.ns.is_empty() && n.local == local)
            .map(|(_, v)| v.as_str())
    }
    /// The text with surrounding whitespace removed.
    pub fn text_trimmed(&self) -> &str {
        self.text.trim()
    }
}

fn malformed(pos: u64, reason: impl ToString) -> Error {
    Error::MalformedXml {
        position: pos,
        reason: reason.to_string(),
    }
}

fn resolve_ns(res: ResolveResult<'_>) -> Result<String, Error> {
    match res {
        ResolveResult::Bound(ns) => std::str::from_utf8(ns.as_ref())
            .map(str::to_owned)
            .map_err(|_| Error::NotUtf8),
        ResolveResult::Unbound => Ok(String::new()),
        ResolveResult::Unknown(p) => Err(Error::UndeclaredPrefix {
            prefix: String::from_utf8_lossy(&p).into_owned(),
        }),
    }
}

fn utf8(b: &[u8]) -> Result<String, Error> {
    std::str::from_utf8(b)
        .map(str::to_owned)
        .map_err(|_| Error::NotUtf8)
}

fn open_element(reader: &NsReader<&[u8]>, start: &BytesStart<'_>) -> Result<Element, Error> {
    let pos = reader.buffer_position();
    let (res, _) = reader.resolve_element(start.name());
    let ns = resolve_ns(res)?;
    let local = utf8(start.local_name().as_ref())?;
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| malformed(pos, e))?;
        let key = attr.key;
        if key.as_namespace_binding().is_some() {
            continue;
        }
        let (ares, alocal) = reader.resolve_attribute(key);
        let ans = resolve_ns(ares)?;
        let value = attr.unescape_value().map_err(|e| malformed(pos, e))?;
        attrs.push((QName::new(ans, utf8(alocal.as_ref())?), value.into_owned()));
    }
    Ok(Element {
        name: QName::new(ns, local),
        attrs,
        children: Vec::new(),
        text: String::new(),
    })
}

/// What [`read_document`] hands each piece of a document to, in document
/// order. The reader has already checked well-formedness and the limits.
pub trait Builder {
    /// An element starts: its name and attributes (no children, no text).
    fn open(&mut self, el: Element) -> Result<(), Error>;
    /// Text or CDATA (unescaped) directly inside the innermost open element.
    fn text(&mut self, text: &str) -> Result<(), Error>;
    /// The innermost open element ends.
    fn close(&mut self) -> Result<(), Error>;
}

/// Parses a whole document into its root element.
///
/// Fails on empty input, non-UTF-8, malformed or unbalanced markup, an
/// undeclared prefix, a DOCTYPE with entity declarations, limits exceeded,
/// or any non-whitespace content after the root.
pub fn parse_document(bytes: &[u8], limits: &XmlLimits) -> Result<Element, Error> {
    let mut tree = Tree::default();
    read_document(bytes, limits, &mut tree)?;
    tree.root.ok_or(Error::EmptyBody)
}

/// Builds the element tree ([`parse_document`]).
#[derive(Default)]
struct Tree {
    stack: Vec<Element>,
    root: Option<Element>,
}

impl Builder for Tree {
    fn open(&mut self, el: Element) -> Result<(), Error> {
        self.stack.push(el);
        Ok(())
    }
    fn text(&mut self, text: &str) -> Result<(), Error> {
        if let Some(top) = self.stack.last_mut() {
            top.text.push_str(text);
        }
        Ok(())
    }
    fn close(&mut self) -> Result<(), Error> {
        if let Some(el) = self.stack.pop() {
            match self.stack.last_mut() {
                Some(parent) => parent.children.push(el),
                None => self.root = Some(el),
            }
        }
        Ok(())
    }
}

/// Reads a whole document into `builder`, with the checks of
/// [`parse_document`]: a caller that needs only a few values of a large
/// document (an upstream listing) keeps those and builds no tree.
pub fn read_document(
    bytes: &[u8],
    limits: &XmlLimits,
    builder: &mut impl Builder,
) -> Result<(), Error> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|_| Error::NotUtf8)?;
    if text.trim().is_empty() {
        return Err(Error::EmptyBody);
    }
    let mut reader = NsReader::from_reader(text.as_bytes());
    {
        let cfg = reader.config_mut();
        cfg.check_end_names = true;
        cfg.allow_unmatched_ends = false;
        cfg.expand_empty_elements = false;
        cfg.trim_text(false);
    }
    // The names of the open elements (for the error on unclosed input).
    let mut open: Vec<QName> = Vec::new();
    let mut rooted = false;
    let mut count = 0usize;
    loop {
        let pos = reader.buffer_position();
        let ev = reader.read_event().map_err(|e| malformed(pos, e))?;
        match ev {
            Event::Start(ref s) | Event::Empty(ref s) => {
                if rooted && open.is_empty() {
                    return Err(Error::TrailingContent { position: pos });
                }
                count += 1;
                if count > limits.max_elements {
                    return Err(Error::TooManyElements {
                        max: limits.max_elements,
                    });
                }
                if open.len() + 1 > limits.max_depth {
                    return Err(Error::TooDeep {
                        max: limits.max_depth,
                    });
                }
                let el = open_element(&reader, s)?;
                rooted = true;
                let name = el.name.clone();
                builder.open(el)?;
                if matches!(ev, Event::Start(_)) {
                    open.push(name);
                } else {
                    builder.close()?;
                }
            }
            Event::End(_) => {
                // quick-xml checks that the end name matches the open tag.
                open.pop()
                    .ok_or_else(|| malformed(pos, "unmatched end tag"))?;
                builder.close()?;
            }
            Event::Text(t) => {
                let s = t.unescape().map_err(|e| malformed(pos, e))?;
                if !open.is_empty() {
                    builder.text(&s)?;
                } else if s.trim().is_empty() {
                } else if rooted {
                    return Err(Error::TrailingContent { position: pos });
                } else {
                    return Err(malformed(pos, "text outside the root element"));
                }
            }
            Event::CData(c) => {
                if !open.is_empty() {
                    builder.text(&utf8(&c)?)?;
                } else if rooted {
                    return Err(Error::TrailingContent { position: pos });
                } else {
                    return Err(malformed(pos, "cdata outside the root element"));
                }
            }
            Event::DocType(d) => {
                if rooted {
                    return Err(malformed(pos, "misplaced doctype"));
                }
                if d.windows(8).any(|w| w.eq_ignore_ascii_case(b"<!ENTITY")) {
                    return Err(Error::EntityDeclaration);
                }
            }
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(name) = open.pop() {
        return Err(Error::UnclosedElement { name });
    }
    if !rooted {
        return Err(Error::EmptyBody);
    }
    Ok(())
}
