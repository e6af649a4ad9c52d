//! Repair of objects that name a zone by TZID without defining it (RFC
//! 5545 §3.2.19 requires a VTIMEZONE for every TZID; ical.js reads such
//! times as floating): a VTIMEZONE generated from the time-zone database
//! is inserted for every TZID that is referenced, undefined and
//! resolvable (IANA, prefixed IANA, Windows names). Line-level, like
//! `strip`: every other byte is kept, and an object that needs nothing
//! comes back as the very same bytes (its ETag does not move).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};

use super::lines::{decode, parse_line, unescape, unfold};
use super::tz::{iana, parse_naive};
use super::vtimezone::vtimezone;
use super::{Error, Result};

/// What [`repair`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repaired<'a> {
    /// The object with the VTIMEZONEs added; the input itself when none was.
    pub bytes: Cow<'a, [u8]>,
    /// TZIDs that got a generated VTIMEZONE, in order of first use.
    pub added: Vec<String>,
    /// TZIDs used without a VTIMEZONE that no zone name matches (left as
    /// they are: expansion reads them as UTC).
    pub unresolved: Vec<String>,
}

/// Properties whose values give the years a zone must cover.
const TIMES: &[&str] = &[
    "DTSTART",
    "DTEND",
    "DUE",
    "RECURRENCE-ID",
    "RDATE",
    "EXDATE",
];

/// One VCALENDAR as the scan sees it.
#[derive(Default)]
struct Section {
    /// Byte offset where generated VTIMEZONEs go: before the first
    /// component, or before END:VCALENDAR.
    insert_at: Option<usize>,
    defined: HashSet<String>,
    /// Referenced TZID -> (first year, last year), in order of first use.
    used: Vec<(String, Option<(i32, i32)>)>,
}

impl Section {
    fn use_tzid(&mut self, tzid: &str, years: Option<(i32, i32)>) {
        let merge = |a: Option<(i32, i32)>, b: Option<(i32, i32)>| match (a, b) {
            (Some((a0, a1)), Some((b0, b1))) => Some((a0.min(b0), a1.max(b1))),
            (a, b) => a.or(b),
        };
        match self.used.iter_mut().find(|(t, _)| t == tzid) {
            Some((_, y)) => *y = merge(*y, years),
            None => self.used.push((tzid.to_string(), years)),
        }
    }
}

/// Years of the DATE-TIME values of a property (PERIOD starts and ends).
fn years(value: &str) -> Option<(i32, i32)> {
    let mut out: Option<(i32, i32)> = None;
    for v in value.split([',', '/']) {
        if let Some((t, _)) = parse_naive(v) {
            let y = chrono::Datelike::year(&t);
            out = Some(out.map_or((y, y), |(a, b)| (a.min(y), b.max(y))));
        }
    }
    out
}

/// Byte offset of `part` inside `whole` (`part` is a slice of it).
fn offset_in(whole: &str, part: &str) -> usize {
    (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize)
}

/// Adds a generated VTIMEZONE for every TZID an object uses without
/// defining it, when the name resolves; see the module docs. Fails only
/// on input that is not UTF-8.
pub fn repair(bytes: &[u8]) -> Result<Repaired<'_>> {
    let text = decode(bytes)?;
    let bom = bytes.len() - text.len();
    let mut sections: Vec<Section> = Vec::new();
    let mut stack: Vec<String> = Vec::new();
    for l in unfold(text) {
        let Ok(p) = parse_line(&l.text, l.lineno) else {
            continue;
        };
        let at = l.physical.first().map_or(0, |s| offset_in(text, s));
        match p.name.as_str() {
            "BEGIN" => {
                let name = p.value.trim().to_ascii_uppercase();
                if stack.is_empty() && name == "VCALENDAR" {
                    sections.push(Section::default());
                } else if stack.len() == 1 {
                    if let Some(s) = sections.last_mut() {
                        s.insert_at.get_or_insert(at);
                    }
                }
                stack.push(name);
            }
            "END" => {
                if stack.len() == 1 {
                    if let Some(s) = sections.last_mut() {
                        s.insert_at.get_or_insert(at);
                    }
                }
                stack.pop();
            }
            // TEXT (RFC 5545 §3.8.3.1), as `vtimezone` writes it: a
            // backslash in the name is escaped there (found by the `ical`
            // fuzz target: repair missed its own VTIMEZONE and added another
            // on every pass).
            "TZID" if stack.len() == 2 && stack[1] == "VTIMEZONE" => {
                if let Some(s) = sections.last_mut() {
                    s.defined.insert(unescape(p.value.trim()));
                }
            }
            _ if stack.get(1).is_some_and(|c| c != "VTIMEZONE") => {
                let Some(tzid) = p.param("TZID") else {
                    continue;
                };
                let tzid = tzid.trim().trim_matches('"');
                let y = if TIMES.contains(&p.name.as_str()) {
                    years(&p.value)
                } else {
                    None
                };
                if let Some(s) = sections.last_mut() {
                    s.use_tzid(tzid, y);
                }
            }
            _ => {}
        }
    }
    let mut inserts: BTreeMap<usize, String> = BTreeMap::new();
    let (mut added, mut unresolved) = (Vec::new(), Vec::new());
    let crlf = text.contains("\r\n");
    for s in &sections {
        let Some(at) = s.insert_at else { continue };
        for (tzid, years) in s.used.iter().filter(|(t, _)| !s.defined.contains(t)) {
            // No parameter value holds a control character (RFC 5545 §3.1),
            // and TEXT could not carry it back.
            let tz = iana(tzid).filter(|_| !tzid.chars().any(char::is_control));
            let Some(tz) = tz else {
                unresolved.push(tzid.clone());
                continue;
            };
            let (first, last) = years.unwrap_or((1970, 1970));
            let mut block = vtimezone(tzid, tz, first, last);
            if !crlf {
                block = block.replace("\r\n", "\n");
            }
            inserts.entry(at).or_default().push_str(&block);
            added.push(tzid.clone());
        }
    }
    if inserts.is_empty() {
        return Ok(Repaired {
            bytes: Cow::Borrowed(bytes),
            added,
            unresolved,
        });
    }
    let mut out =
        String::with_capacity(text.len() + inserts.values().map(String::len).sum::<usize>());
    let mut pos = 0;
    for (at, block) in &inserts {
        out.push_str(text.get(pos..*at).unwrap_or_default());
        out.push_str(block);
        pos = *at;
    }
    out.push_str(text.get(pos..).unwrap_or_default());
    let mut b = bytes.get(..bom).unwrap_or_default().to_vec();
    b.extend_from_slice(out.as_bytes());
    Ok(Repaired {
        bytes: Cow::Owned(b),
        added,
        unresolved,
    })
}

/// [`repair`] for a client's PUT: the repaired bytes, or
/// [`Error::UnknownTimezone`] (`CALDAV:valid-calendar-data`) naming the
/// first TZID that has no VTIMEZONE and no known name.
pub fn repair_strict(bytes: &[u8]) -> Result<Cow<'_, [u8]>> {
    let r = repair(bytes)?;
    match r.unresolved.into_iter().next() {
        Some(tzid) => Err(Error::UnknownTimezone { tzid }),
        None => Ok(r.bytes),
    }
}
