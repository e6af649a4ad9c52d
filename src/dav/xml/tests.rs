//! The reader and writer against each other and their definitions.

use super::*;
use crate::dav::names::{self, QName};

/// The character-by-character definition `escape` must equal.
fn escape_by_chars(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\t' | '\n' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[test]
fn escape_equals_its_definition_on_random_text() {
    use rand::{Rng, SeedableRng};
    let alphabet: Vec<char> =
        "ab <>&\"'\r\n\t\u{1}\u{1f}\u{7f}é€\u{FFFD}\u{FFFE}\u{FFFF}\u{EFFF}\u{10000}😀"
            .chars()
            .collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for _ in 0..5_000 {
        let n = rng.gen_range(0..40);
        let s: String = (0..n)
            .map(|_| alphabet[rng.gen_range(0..alphabet.len())])
            .collect();
        assert_eq!(escape_text(&s), escape_by_chars(&s), "{s:?}");
    }
}

#[test]
fn resolves_default_and_prefixed_namespaces() {
    let doc = br#"<?xml version="1.0"?><a:x xmlns:a="DAV:"><y xmlns="urn:z" k='v&amp;'>t<![CDATA[<c>]]></y></a:x>"#;
    let root = parse_document(doc, &XmlLimits::default());
    let root = root.ok();
    assert_eq!(root.as_ref().map(|r| r.name.clone()), Some(QName::dav("x")));
    let y = root.as_ref().and_then(|r| r.children.first());
    assert_eq!(y.map(|y| y.name.clone()), Some(QName::new("urn:z", "y")));
    assert_eq!(y.and_then(|y| y.attr("k")), Some("v&"));
    assert_eq!(y.map(|y| y.text.as_str()), Some("t<c>"));
}

#[test]
fn plain_doctype_and_bom_are_ignored_and_xmlns_empty_unbinds() {
    let doc = b"\xEF\xBB\xBF<?xml version='1.0'?><!DOCTYPE propfind><!-- c --><propfind xmlns='DAV:'><x xmlns=''/></propfind>\n<!-- tail -->\n";
    let root = parse_document(doc, &XmlLimits::default()).ok();
    assert_eq!(root.as_ref().map(|r| r.name.clone()), Some(names::PROPFIND));
    let x = root.as_ref().and_then(|r| r.children.first());
    assert_eq!(x.map(|x| x.name.clone()), Some(QName::new("", "x")));
}

/// Found by the `upstream` fuzz target: an attribute in the XML
/// namespace (`xml:lang` on a property from upstream) was written with
/// a generated prefix bound to that namespace, which Namespaces in XML
/// forbids, so calproxy served XML that strict readers (its own
/// included) refuse.
#[test]
fn writer_keeps_the_xml_prefix_for_the_xml_namespace() {
    let doc = br#"<p xmlns="urn:x"><q xml:lang="en">Arbeit</q></p>"#;
    let el = parse_document(doc, &XmlLimits::default()).unwrap();
    let mut w = XmlWriter::new();
    w.element(&el);
    let bytes = w.finish();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    assert!(text.contains(r#" xml:lang="en""#), "{text}");
    assert_eq!(
        parse_document(&bytes, &XmlLimits::default()).ok(),
        Some(el),
        "{text}"
    );
}

#[test]
fn writer_round_trips_foreign_namespaces_and_crlf() {
    let el = Element::new(QName::new("urn:x", "p"))
        .with_attr("a", "1\"")
        .with_child(Element::new(names::HREF).with_text("BEGIN\r\nEND<&>"));
    let mut w = XmlWriter::new();
    w.element(&el);
    let bytes = w.finish();
    assert_eq!(parse_document(&bytes, &XmlLimits::default()).ok(), Some(el));
}
