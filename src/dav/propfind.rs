//! PROPFIND request bodies (RFC 4918 §9.1, §14.20).
//!
//! An empty body means `allprop`. Unknown property names are kept so the
//! handler can answer them with 404 in a second propstat.

use super::names::{self, QName};
use super::xml::{parse_document, Element, XmlLimits};
use super::{expect_root, Error, Result};

/// What a PROPFIND asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PropFind {
    /// `DAV:allprop`, plus the `DAV:include` names.
    AllProp {
        /// Extra properties named in `DAV:include`.
        include: Vec<QName>,
    },
    /// `DAV:propname`: names only.
    PropName,
    /// `DAV:prop`: exactly these properties, in request order.
    Prop(Vec<QName>),
}

/// Names of the child elements of a `DAV:prop` (or `DAV:include`), in order,
/// without duplicates.
pub fn prop_names(prop: &Element) -> Vec<QName> {
    let mut out: Vec<QName> = Vec::with_capacity(prop.children.len());
    for c in &prop.children {
        if !out.contains(&c.name) {
            out.push(c.name.clone());
        }
    }
    out
}

/// Parses a PROPFIND body; an empty or whitespace-only body is `allprop`.
pub fn parse_propfind(body: &[u8]) -> Result<PropFind> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(PropFind::AllProp { include: vec![] });
    }
    let root = parse_document(body, &XmlLimits::default())?;
    expect_root(&root, &names::PROPFIND)?;
    for c in &root.children {
        if c.is(&names::PROP) {
            return Ok(PropFind::Prop(prop_names(c)));
        }
        if c.is(&names::PROPNAME) {
            return Ok(PropFind::PropName);
        }
        if c.is(&names::ALLPROP) {
            let include = root
                .child(&names::INCLUDE)
                .map(prop_names)
                .unwrap_or_default();
            return Ok(PropFind::AllProp { include });
        }
    }
    Err(Error::MissingElement { name: names::PROP })
}
