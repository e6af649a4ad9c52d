//! PROPPATCH request bodies (RFC 4918 §9.2, §14.19): `set` and `remove`
//! instructions, flattened to one operation per property in document order.

use super::names::{self, QName};
use super::xml::{parse_document, Element, XmlLimits};
use super::{expect_root, Error, Result};

/// One property change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PropPatchOp {
    /// Set a property; `value` is the property element itself (name, attributes,
    /// text and children as sent).
    Set {
        /// The property name.
        name: QName,
        /// The property element.
        value: Element,
    },
    /// Remove a property.
    Remove {
        /// The property name.
        name: QName,
    },
}

impl PropPatchOp {
    /// The property this operation touches.
    pub fn name(&self) -> &QName {
        match self {
            Self::Set { name, .. } | Self::Remove { name } => name,
        }
    }
}

/// Parses a `DAV:propertyupdate` body. At least one operation is required.
pub fn parse_proppatch(body: &[u8]) -> Result<Vec<PropPatchOp>> {
    let root = parse_document(body, &XmlLimits::default())?;
    expect_root(&root, &names::PROPERTYUPDATE)?;
    let mut ops = Vec::new();
    for instr in &root.children {
        let is_set = instr.is(&names::SET);
        if !is_set && !instr.is(&names::REMOVE) {
            continue; // RFC 4918 §17: ignore unknown elements
        }
        let prop = instr
            .child(&names::PROP)
            .ok_or(Error::MissingElement { name: names::PROP })?;
        for p in &prop.children {
            ops.push(if is_set {
                PropPatchOp::Set {
                    name: p.name.clone(),
                    value: p.clone(),
                }
            } else {
                PropPatchOp::Remove {
                    name: p.name.clone(),
                }
            });
        }
    }
    if ops.is_empty() {
        return Err(Error::MissingElement { name: names::SET });
    }
    Ok(ops)
}
