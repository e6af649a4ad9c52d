//! WebDAV request headers (RFC 4918 §10, RFC 7232 §3, RFC 7240 Prefer),
//! parsed from an `http::HeaderMap` without touching anything else.

use http::HeaderMap;

use super::{Error, Result};
use crate::ids::ETag;

/// `Depth` (RFC 4918 §10.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    /// `0`
    Zero,
    /// `1`
    One,
    /// `infinity`
    Infinity,
}

/// `If-Match` / `If-None-Match` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EtagCondition {
    /// `*`
    Any,
    /// A list of entity tags (quotes and `W/` stripped).
    Tags(Vec<ETag>),
}

impl EtagCondition {
    /// True when `current` satisfies the list (`Any` matches any existing tag).
    pub fn matches(&self, current: &ETag) -> bool {
        match self {
            Self::Any => true,
            Self::Tags(t) => t.contains(current),
        }
    }
}

/// The DAV-relevant request headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DavHeaders {
    /// `Depth`, when sent.
    pub depth: Option<Depth>,
    /// `If-Match`.
    pub if_match: Option<EtagCondition>,
    /// `If-None-Match`.
    pub if_none_match: Option<EtagCondition>,
    /// `Overwrite` (default `T` = true).
    pub overwrite: bool,
    /// `Destination` as sent (absolute URI or path, still percent-encoded).
    pub destination: Option<String>,
    /// `Prefer: return=minimal` or the legacy `Brief: t`.
    pub prefer_minimal: bool,
    /// `Content-Type` as sent.
    pub content_type: Option<String>,
}

impl DavHeaders {
    /// The lowercase media type of `Content-Type` without parameters.
    pub fn media_type(&self) -> Option<String> {
        self.content_type.as_deref().map(|c| {
            c.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
    }

    /// The path of `Destination` (scheme and authority removed), still encoded.
    pub fn destination_path(&self) -> Option<&str> {
        let d = self.destination.as_deref()?;
        if d.starts_with('/') {
            return Some(d);
        }
        let rest = d.split_once("://")?.1;
        Some(rest.find('/').map_or("/", |i| &rest[i..]))
    }
}

fn values<'a>(h: &'a HeaderMap, name: &'static str) -> Result<Vec<&'a str>> {
    h.get_all(name)
        .iter()
        .map(|v| v.to_str().map_err(|_| Error::InvalidHeader { name }))
        .collect()
}

fn single<'a>(h: &'a HeaderMap, name: &'static str) -> Result<Option<&'a str>> {
    let v = values(h, name)?;
    match v.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.trim())),
        _ => Err(Error::InvalidHeader { name }),
    }
}

/// Parses an entity-tag list (`"a", W/"b"`) or `*`.
fn etag_condition(h: &HeaderMap, name: &'static str) -> Result<Option<EtagCondition>> {
    let vals = values(h, name)?;
    if vals.is_empty() {
        return Ok(None);
    }
    let bad = || Error::InvalidHeader { name };
    let mut tags = Vec::new();
    let mut any = false;
    for v in vals {
        let mut rest = v.trim();
        while !rest.is_empty() {
            rest = rest.trim_start_matches([' ', '\t', ',']);
            if rest.is_empty() {
                break;
            }
            if let Some(r) = rest.strip_prefix('*') {
                any = true;
                rest = r;
                continue;
            }
            let body = rest.strip_prefix("W/").unwrap_or(rest);
            let body = body.strip_prefix('"').ok_or_else(bad)?;
            let close = body.find('"').ok_or_else(bad)?;
            tags.push(ETag::new(&body[..close]));
            rest = &body[close + 1..];
            let next = rest.trim_start_matches([' ', '\t']);
            if !(next.is_empty() || next.starts_with(',')) {
                return Err(bad());
            }
        }
    }
    match (any, tags.is_empty()) {
        (true, true) => Ok(Some(EtagCondition::Any)),
        (false, false) => Ok(Some(EtagCondition::Tags(tags))),
        _ => Err(bad()),
    }
}

/// Parses the headers this layer understands; absent headers take RFC defaults.
pub fn parse_headers(h: &HeaderMap) -> Result<DavHeaders> {
    let depth = match single(h, "depth")? {
        None => None,
        Some("0") => Some(Depth::Zero),
        Some("1") => Some(Depth::One),
        Some(v) if v.eq_ignore_ascii_case("infinity") => Some(Depth::Infinity),
        Some(_) => return Err(Error::InvalidHeader { name: "depth" }),
    };
    let overwrite = match single(h, "overwrite")? {
        None => true,
        Some(v) if v.eq_ignore_ascii_case("t") => true,
        Some(v) if v.eq_ignore_ascii_case("f") => false,
        Some(_) => return Err(Error::InvalidHeader { name: "overwrite" }),
    };
    let destination = match single(h, "destination")? {
        Some("") => {
            return Err(Error::InvalidHeader {
                name: "destination",
            })
        }
        d => d.map(str::to_owned),
    };
    let prefer_minimal = values(h, "prefer")?
        .iter()
        .flat_map(|v| v.split(','))
        .any(|p| {
            p.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("return=minimal"))
        })
        || single(h, "brief")?.is_some_and(|b| b.eq_ignore_ascii_case("t"));
    Ok(DavHeaders {
        depth,
        if_match: etag_condition(h, "if-match")?,
        if_none_match: etag_condition(h, "if-none-match")?,
        overwrite,
        destination,
        prefer_minimal,
        content_type: single(h, "content-type")?.map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn map(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            if let Ok(v) = HeaderValue::from_str(v) {
                h.append(*k, v);
            }
        }
        h
    }

    #[test]
    fn rfc4918_10_defaults() {
        let d = parse_headers(&HeaderMap::new());
        assert_eq!(
            d,
            Ok(DavHeaders {
                depth: None,
                if_match: None,
                if_none_match: None,
                overwrite: true,
                destination: None,
                prefer_minimal: false,
                content_type: None,
            })
        );
    }

    #[test]
    fn rfc4918_10_2_depth_values() {
        for (v, want) in [
            ("0", Depth::Zero),
            ("1", Depth::One),
            ("Infinity", Depth::Infinity),
        ] {
            assert_eq!(
                parse_headers(&map(&[("depth", v)])).map(|d| d.depth),
                Ok(Some(want))
            );
        }
        assert!(parse_headers(&map(&[("depth", "2")])).is_err());
        assert!(parse_headers(&map(&[("depth", "0"), ("depth", "1")])).is_err());
    }

    #[test]
    fn rfc7232_3_etag_lists() {
        let d = parse_headers(&map(&[
            ("if-match", "\"a\", W/\"b\""),
            ("if-match", "\"c,d\""),
            ("if-none-match", "*"),
        ]));
        assert_eq!(
            d.as_ref().map(|d| d.if_match.clone()),
            Ok(Some(EtagCondition::Tags(vec![
                ETag::new("a"),
                ETag::new("b"),
                ETag::new("c,d")
            ])))
        );
        assert_eq!(d.map(|d| d.if_none_match), Ok(Some(EtagCondition::Any)));
        for bad in ["abc", "\"a", "\"a\" x", "*, \"a\"", ""] {
            assert!(parse_headers(&map(&[("if-match", bad)])).is_err(), "{bad}");
        }
    }

    #[test]
    fn rfc7240_prefer_overwrite_destination() {
        let d = parse_headers(&map(&[
            ("prefer", "handling=lenient, return=minimal"),
            ("overwrite", "F"),
            ("destination", "https://h.example/cal/a%20b.ics"),
            ("content-type", "Text/Calendar; charset=utf-8"),
        ]));
        assert_eq!(
            d.as_ref().map(|d| (d.prefer_minimal, d.overwrite)),
            Ok((true, false))
        );
        assert_eq!(
            d.as_ref().ok().and_then(|d| d.destination_path()),
            Some("/cal/a%20b.ics")
        );
        assert_eq!(
            d.ok().and_then(|d| d.media_type()),
            Some("text/calendar".into())
        );
        assert_eq!(
            parse_headers(&map(&[("brief", "t")])).map(|d| d.prefer_minimal),
            Ok(true)
        );
        assert!(parse_headers(&map(&[("overwrite", "maybe")])).is_err());
    }
}
