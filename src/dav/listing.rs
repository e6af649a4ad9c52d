//! Member listings read as they stream by: the multistatus answer of a
//! sync-collection REPORT or of a Depth 1 PROPFIND for ETags, turned into
//! one (href, status, ETag) row per member without building a document
//! tree. A 100,000-member answer is ~30 MB of XML; its tree took ~290 MB
//! (issue 10). The rows are exactly what [`MultiStatus::parse`] followed
//! by [`Response::bare_status`] and `prop_text(getetag)` give (the tests
//! keep that reading as the oracle), with the same errors.
//!
//! [`MultiStatus::parse`]: super::MultiStatus::parse
//! [`Response::bare_status`]: super::Response::bare_status

use super::multistatus::parse_status_line;
use super::names::{self as n, QName};
use super::xml::{read_document, Builder, Element, XmlLimits};
use super::{Error, Result};
use crate::ids::{Href, SyncToken};

/// One member row of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The response's href (a response with propstats gives its first
    /// href; one with a bare status gives a row per href).
    pub href: Href,
    /// The response's own status when it has no propstats (a deleted
    /// member in a sync-collection answer: 404).
    pub status: Option<u16>,
    /// `DAV:getetag` from a 2xx propstat (trimmed, non-empty), if any.
    pub etag: Option<String>,
}

/// A listing: its rows in document order and the sync token, if any.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Listing {
    /// One row per member, in document order (not deduplicated).
    pub rows: Vec<Row>,
    /// `DAV:sync-token` (the last non-empty one).
    pub sync_token: Option<SyncToken>,
}

/// Reads a multistatus body as a listing.
pub fn read(bytes: &[u8], limits: &XmlLimits) -> Result<Listing> {
    let mut r = Reader::default();
    read_document(bytes, limits, &mut r)?;
    if !r.rooted {
        return Err(Error::EmptyBody);
    }
    Ok(r.out)
}

/// What an open element is to the listing.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    Root,
    Response,
    Href,
    ResponseStatus,
    PropStat,
    PropStatStatus,
    Prop,
    GetEtag,
    SyncToken,
    /// Anything else (and everything inside it).
    Other,
}

/// The response being read.
#[derive(Default)]
struct Current {
    hrefs: Vec<Href>,
    /// The first `status` child's text.
    status: Option<String>,
    /// Propstats merged by status, in order of first appearance, each with
    /// its first `getetag` (`Some(None)`: one without text).
    groups: Vec<(u16, Option<Option<String>>)>,
    /// The propstat being read: its first `status` text and first `getetag`.
    ps_status: Option<String>,
    ps_etag: Option<Option<String>>,
}

#[derive(Default)]
struct Reader {
    roles: Vec<Role>,
    rooted: bool,
    text: String,
    /// The open `getetag` has child elements (then it is no text value).
    etag_children: bool,
    current: Current,
    out: Listing,
}

impl Reader {
    fn finish_propstat(&mut self) -> Result<()> {
        let c = &mut self.current;
        let status = c
            .ps_status
            .take()
            .ok_or(Error::MissingElement { name: n::STATUS })
            .and_then(|s| parse_status_line(s.trim()))?;
        let etag = c.ps_etag.take();
        match c.groups.iter_mut().find(|(s, _)| *s == status) {
            Some((_, first)) => {
                if first.is_none() {
                    *first = etag;
                }
            }
            None => c.groups.push((status, etag)),
        }
        Ok(())
    }

    fn finish_response(&mut self) -> Result<()> {
        let c = std::mem::take(&mut self.current);
        let first = c
            .hrefs
            .first()
            .cloned()
            .ok_or(Error::MissingElement { name: n::HREF })?;
        if !c.groups.is_empty() {
            let etag = c
                .groups
                .into_iter()
                .filter(|(s, _)| (200..300).contains(s))
                .find_map(|(_, e)| e)
                .flatten();
            self.out.rows.push(Row {
                href: first,
                status: None,
                etag,
            });
            return Ok(());
        }
        let status = c
            .status
            .ok_or(Error::MissingElement { name: n::STATUS })
            .and_then(|s| parse_status_line(s.trim()))?;
        for href in c.hrefs {
            self.out.rows.push(Row {
                href,
                status: Some(status),
                etag: None,
            });
        }
        Ok(())
    }
}

fn trimmed(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_string())
}

impl Builder for Reader {
    fn open(&mut self, el: Element) -> Result<()> {
        let is = |q: &QName| el.name == *q;
        let role = match self.roles.last() {
            None => {
                if !is(&n::MULTISTATUS) {
                    return Err(Error::UnexpectedElement {
                        expected: n::MULTISTATUS,
                        found: el.name,
                    });
                }
                self.rooted = true;
                Role::Root
            }
            Some(Role::Root) if is(&n::RESPONSE) => {
                self.current = Current::default();
                Role::Response
            }
            Some(Role::Root) if is(&n::SYNC_TOKEN) => Role::SyncToken,
            Some(Role::Response) if is(&n::HREF) => Role::Href,
            Some(Role::Response) if is(&n::STATUS) => Role::ResponseStatus,
            Some(Role::Response) if is(&n::PROPSTAT) => {
                self.current.ps_status = None;
                self.current.ps_etag = None;
                Role::PropStat
            }
            Some(Role::PropStat) if is(&n::STATUS) => Role::PropStatStatus,
            Some(Role::PropStat) if is(&n::PROP) => Role::Prop,
            Some(Role::Prop) if is(&n::GETETAG) => {
                self.etag_children = false;
                Role::GetEtag
            }
            Some(Role::GetEtag) => {
                self.etag_children = true;
                Role::Other
            }
            Some(_) => Role::Other,
        };
        if matches!(
            role,
            Role::Href
                | Role::ResponseStatus
                | Role::PropStatStatus
                | Role::GetEtag
                | Role::SyncToken
        ) {
            self.text.clear();
        }
        self.roles.push(role);
        Ok(())
    }

    fn text(&mut self, text: &str) -> Result<()> {
        if matches!(
            self.roles.last(),
            Some(
                Role::Href
                    | Role::ResponseStatus
                    | Role::PropStatStatus
                    | Role::GetEtag
                    | Role::SyncToken
            )
        ) {
            self.text.push_str(text);
        }
        Ok(())
    }

    fn close(&mut self) -> Result<()> {
        let Some(role) = self.roles.pop() else {
            return Ok(());
        };
        let c = &mut self.current;
        match role {
            Role::Href => c.hrefs.push(Href::new(self.text.trim())),
            Role::ResponseStatus => {
                if c.status.is_none() {
                    c.status = Some(std::mem::take(&mut self.text));
                }
            }
            Role::PropStatStatus => {
                if c.ps_status.is_none() {
                    c.ps_status = Some(std::mem::take(&mut self.text));
                }
            }
            Role::GetEtag => {
                if c.ps_etag.is_none() {
                    let value = if self.etag_children {
                        None
                    } else {
                        trimmed(&self.text)
                    };
                    c.ps_etag = Some(value);
                }
            }
            Role::PropStat => self.finish_propstat()?,
            Role::Response => self.finish_response()?,
            Role::SyncToken => {
                if let Some(t) = trimmed(&self.text) {
                    self.out.sync_token = Some(SyncToken::new(t));
                }
            }
            Role::Root | Role::Prop | Role::Other => {}
        }
        Ok(())
    }
}
