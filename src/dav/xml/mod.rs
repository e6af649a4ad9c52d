//! XML for DAV bodies: a small namespace-resolved tree reader (`read`) and
//! a prefix-fixed writer (`write`). Callers use `dav::xml::*`; the split is
//! one concept per file.

mod read;
mod write;

pub use read::{parse_document, read_document, Builder, Element, XmlLimits};
pub use write::{escape, escape_text, pretty, XmlWriter};

#[cfg(test)]
mod tests;
