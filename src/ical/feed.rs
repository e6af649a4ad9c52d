//! ICS feeds as calendar objects, pure. A feed (`calproxy connect --ics`)
//! is one VCALENDAR (or several, concatenated) with many VEVENTs; calproxy
//! keeps one object per UID — its master and overrides — each made of the
//! calendar's own properties (`X-WR-TIMEZONE` among them, so each object is
//! read the way its exporter meant it: `xwr`), the VTIMEZONEs its events
//! name and the events, in the feed's own physical lines (nothing is
//! re-serialised; `METHOD` is dropped, RFC 4791 §4.1). Also reads how often
//! the feed asks to be polled: `REFRESH-INTERVAL` (RFC 7986 §5.7), else
//! `X-PUBLISHED-TTL` (the Microsoft/Apple/Google property).

use std::collections::HashMap;
use std::time::Duration;

use super::lines::{decode, parse_document, parse_line, unfold};
use super::tz::parse_duration;
use super::{Error, Result};

/// One calendar object cut out of a feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedObject {
    /// The UID its events share (made from their text when they have none).
    pub uid: String,
    /// A whole VCALENDAR holding them.
    pub data: Vec<u8>,
}

/// A feed, split.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FeedCalendar {
    /// One object per UID, in the order of their first appearance.
    pub objects: Vec<FeedObject>,
    /// `X-WR-CALNAME`, if given.
    pub name: Option<String>,
    /// How often the feed asks to be polled, if it does.
    pub refresh: Option<Duration>,
    /// Components skipped (VTODO, VJOURNAL, VFREEBUSY: this server keeps events).
    pub skipped: usize,
}

/// What a feed looked like instead of iCalendar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not iCalendar: {found}")]
pub struct NotICalendar {
    /// What it starts with, in words (`an HTML page`, or its first characters).
    pub found: String,
}

/// Calendar properties an object does not carry over.
const DROPPED: &[&str] = &["METHOD"];

/// A component cut out of a VCALENDAR: its kind and physical lines.
struct Block {
    kind: String,
    lines: Vec<String>,
    /// The UID (VEVENT) or TZID (VTIMEZONE), when it has one.
    key: Option<String>,
    /// TZIDs its lines name (VEVENT).
    tzids: Vec<String>,
}

/// One VCALENDAR of the feed: its own properties and components.
#[derive(Default)]
struct Calendar {
    props: Vec<String>,
    blocks: Vec<Block>,
}

/// What a text that is not iCalendar starts with, for the error message.
fn describe_start(text: &str) -> String {
    let start = text.trim_start();
    let lower: String = start
        .chars()
        .take(64)
        .collect::<String>()
        .to_ascii_lowercase();
    if lower.starts_with("<!doctype html") || lower.starts_with("<html") {
        return "an HTML page".into();
    }
    if lower.starts_with("<?xml") || lower.starts_with('<') {
        return "an XML document".into();
    }
    if lower.starts_with('{') || lower.starts_with('[') {
        return "JSON".into();
    }
    if start.is_empty() {
        return "an empty answer".into();
    }
    let first: String = start
        .chars()
        .take(24)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!("text starting with {first:?}")
}

/// Checks that `bytes` is an iCalendar document: UTF-8 whose first line
/// is `BEGIN:VCALENDAR` and whose components nest. The message says what
/// it looked like instead.
pub fn check_icalendar(bytes: &[u8]) -> std::result::Result<(), NotICalendar> {
    let text = decode(bytes).map_err(|_| NotICalendar {
        found: "binary data (not UTF-8 text)".into(),
    })?;
    let first = text.lines().map(str::trim).find(|l| !l.is_empty());
    if !first.is_some_and(|l| l.eq_ignore_ascii_case("BEGIN:VCALENDAR")) {
        return Err(NotICalendar {
            found: describe_start(text),
        });
    }
    match parse_document(bytes, false) {
        Ok(top) if top.iter().any(|c| c.name == "VCALENDAR") => Ok(()),
        Ok(_) => Err(NotICalendar {
            found: "no VCALENDAR".into(),
        }),
        Err(e) => Err(NotICalendar {
            found: format!("broken iCalendar ({e})"),
        }),
    }
}

/// Splits a feed into one object per UID (see the module doc). The feed
/// must pass [`check_icalendar`] first; anything else is
/// `Error::CalendarCount` here.
pub fn split_feed(bytes: &[u8]) -> Result<FeedCalendar> {
    let text = decode(bytes)?;
    let mut calendars: Vec<Calendar> = Vec::new();
    let mut current: Option<Calendar> = None;
    let mut block: Option<Block> = None;
    let mut depth = 0usize;
    for logical in unfold(text) {
        if logical.text.trim().is_empty() {
            continue;
        }
        let Ok(prop) = parse_line(&logical.text, logical.lineno) else {
            continue;
        };
        let physical = logical.physical.iter().map(|l| l.to_string());
        match prop.name.as_str() {
            "BEGIN" => {
                depth += 1;
                let kind = prop.value.trim().to_ascii_uppercase();
                match depth {
                    1 if kind == "VCALENDAR" => current = Some(Calendar::default()),
                    2 => {
                        block = Some(Block {
                            kind,
                            lines: physical.collect(),
                            key: None,
                            tzids: Vec::new(),
                        })
                    }
                    _ => {
                        if let Some(b) = block.as_mut() {
                            b.lines.extend(physical);
                        }
                    }
                }
            }
            "END" => {
                match depth {
                    1 => calendars.extend(current.take()),
                    2 => {
                        if let (Some(mut b), Some(cal)) = (block.take(), current.as_mut()) {
                            b.lines.extend(physical);
                            cal.blocks.push(b);
                        }
                    }
                    _ => {
                        if let Some(b) = block.as_mut() {
                            b.lines.extend(physical);
                        }
                    }
                }
                depth = depth.saturating_sub(1);
            }
            name => match (depth, block.as_mut(), current.as_mut()) {
                (1, _, Some(cal)) if !DROPPED.contains(&name) => cal.props.extend(physical),
                (d, Some(b), _) if d >= 2 => {
                    if d == 2
                        && ((b.kind == "VEVENT" && name == "UID")
                            || (b.kind == "VTIMEZONE" && name == "TZID"))
                    {
                        b.key = Some(prop.value.trim().to_string());
                    }
                    if let Some(tzid) = prop.param("TZID") {
                        b.tzids.push(tzid.trim_matches('"').to_string());
                    }
                    b.lines.extend(physical);
                }
                _ => {}
            },
        }
    }
    if calendars.is_empty() {
        return Err(Error::CalendarCount { found: 0 });
    }
    let mut out = FeedCalendar::default();
    for cal in &calendars {
        for p in &cal.props {
            let Ok(prop) = parse_line(p, 0) else { continue };
            match prop.name.as_str() {
                "X-WR-CALNAME" if out.name.is_none() => {
                    out.name = Some(super::lines::unescape(prop.value.trim()))
                }
                "REFRESH-INTERVAL" => out.refresh = duration(&prop.value).or(out.refresh),
                "X-PUBLISHED-TTL" if out.refresh.is_none() => out.refresh = duration(&prop.value),
                _ => {}
            }
        }
    }
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut groups: Vec<(String, usize, Vec<usize>)> = Vec::new(); // uid, calendar, blocks
    for (ci, cal) in calendars.iter().enumerate() {
        for (bi, b) in cal.blocks.iter().enumerate() {
            if b.kind != "VEVENT" {
                if b.kind != "VTIMEZONE" {
                    out.skipped += 1;
                }
                continue;
            }
            let uid = b
                .key
                .clone()
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| made_uid(&b.lines));
            match index.get(&uid) {
                Some(&g) if groups[g].1 == ci => groups[g].2.push(bi),
                Some(_) => {} // the same UID in another VCALENDAR: the first one counts
                None => {
                    index.insert(uid.clone(), groups.len());
                    groups.push((uid, ci, vec![bi]));
                }
            }
        }
    }
    for (uid, ci, blocks) in groups {
        out.objects.push(FeedObject {
            data: object(&calendars[ci], &blocks, &uid),
            uid,
        });
    }
    Ok(out)
}

/// A UID for events that have none: made from their text, so it is the
/// same on every poll while they do not change.
fn made_uid(lines: &[String]) -> String {
    let hash = super::content_hash(lines.join("\r\n").as_bytes());
    format!(
        "calproxy-feed-{}",
        &hash.as_str()[..hash.as_str().len().min(32)]
    )
}

/// A REFRESH-INTERVAL or X-PUBLISHED-TTL value as a positive duration.
fn duration(v: &str) -> Option<Duration> {
    let d = parse_duration(v)?;
    let secs = d.days.checked_mul(86_400)?.checked_add(d.secs)?;
    (secs > 0).then(|| Duration::from_secs(secs as u64))
}

/// One object: the calendar's properties, the VTIMEZONEs its events name,
/// the events (a UID line added when they had none).
fn object(cal: &Calendar, blocks: &[usize], uid: &str) -> Vec<u8> {
    let events: Vec<&Block> = blocks.iter().filter_map(|&i| cal.blocks.get(i)).collect();
    let named: Vec<&str> = events
        .iter()
        .flat_map(|b| b.tzids.iter().map(String::as_str))
        .collect();
    let mut out = String::from("BEGIN:VCALENDAR\r\n");
    for p in &cal.props {
        out.push_str(p);
        out.push_str("\r\n");
    }
    for tz in cal.blocks.iter().filter(|b| b.kind == "VTIMEZONE") {
        if tz.key.as_deref().is_some_and(|k| named.contains(&k)) {
            for l in &tz.lines {
                out.push_str(l);
                out.push_str("\r\n");
            }
        }
    }
    for b in events {
        for (i, l) in b.lines.iter().enumerate() {
            out.push_str(l);
            out.push_str("\r\n");
            if i == 0 && b.key.as_deref().is_none_or(str::is_empty) {
                out.push_str("UID:");
                out.push_str(uid);
                out.push_str("\r\n");
            }
        }
    }
    out.push_str("END:VCALENDAR\r\n");
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FEED: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//Feed//EN\r\nMETHOD:PUBLISH\r\nX-WR-CALNAME:US Holidays\r\nX-WR-TIMEZONE:America/New_York\r\nREFRESH-INTERVAL;VALUE=DURATION:P1W\r\nX-PUBLISHED-TTL:PT1H\r\nBEGIN:VTIMEZONE\r\nTZID:America/New_York\r\nBEGIN:STANDARD\r\nDTSTART:19701101T020000\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\nBEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:a@x\r\nDTSTART;VALUE=DATE:20261225\r\nSUMMARY:Christmas\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:b@x\r\nDTSTART;TZID=America/New_York:20270101T090000\r\nRRULE:FREQ=YEARLY\r\nSUMMARY:Long\r\n  folded\r\nEND:VEVENT\r\nBEGIN:VTODO\r\nUID:t@x\r\nEND:VTODO\r\nBEGIN:VEVENT\r\nUID:b@x\r\nRECURRENCE-ID;TZID=America/New_York:20280101T090000\r\nDTSTART;TZID=America/New_York:20280102T090000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    #[test]
    fn a_feed_is_split_by_uid_with_its_calendar_properties() {
        check_icalendar(FEED.as_bytes()).unwrap();
        let f = split_feed(FEED.as_bytes()).unwrap();
        assert_eq!(f.name.as_deref(), Some("US Holidays"));
        assert_eq!(f.refresh, Some(Duration::from_secs(7 * 86_400)));
        assert_eq!(f.skipped, 1);
        let uids: Vec<&str> = f.objects.iter().map(|o| o.uid.as_str()).collect();
        assert_eq!(uids, ["a@x", "b@x"]);
        let a = String::from_utf8(f.objects[0].data.clone()).unwrap();
        assert!(a.contains("X-WR-TIMEZONE:America/New_York\r\n"), "{a}");
        assert!(!a.contains("METHOD"), "{a}");
        assert!(!a.contains("BEGIN:VTIMEZONE"), "no zone named: {a}");
        let b = String::from_utf8(f.objects[1].data.clone()).unwrap();
        assert_eq!(b.matches("BEGIN:VEVENT").count(), 2, "{b}");
        assert!(
            b.contains("TZID:America/New_York\r\n") && !b.contains("Europe/Berlin"),
            "{b}"
        );
        assert!(
            b.contains("SUMMARY:Long\r\n  folded\r\n"),
            "folding kept: {b}"
        );
        for o in &f.objects {
            let idx = crate::ical::parse_lenient(&o.data).unwrap();
            assert_eq!(idx.uid.as_str(), o.uid);
        }
    }

    #[test]
    fn x_published_ttl_when_no_refresh_interval() {
        let f =
            split_feed(b"BEGIN:VCALENDAR\r\nX-PUBLISHED-TTL:PT30M\r\nEND:VCALENDAR\r\n").unwrap();
        assert_eq!(f.refresh, Some(Duration::from_secs(1800)));
        assert!(f.objects.is_empty());
    }

    #[test]
    fn events_without_uid_get_a_stable_one() {
        let feed = b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20270101T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let a = split_feed(feed).unwrap();
        let b = split_feed(feed).unwrap();
        assert_eq!(a, b);
        let idx = crate::ical::parse_lenient(&a.objects[0].data).unwrap();
        assert_eq!(idx.uid.as_str(), a.objects[0].uid);
    }

    #[test]
    fn what_is_not_icalendar_is_named() {
        let e = check_icalendar(b"<!DOCTYPE html><html><body>Sign in</body></html>").unwrap_err();
        assert_eq!(e.found, "an HTML page");
        assert!(check_icalendar(b"").unwrap_err().found.contains("empty"));
        assert!(check_icalendar(b"\xff\xfe\x00").is_err());
        let e = check_icalendar(b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n").unwrap_err();
        assert!(e.found.contains("broken"), "{e}");
        check_icalendar(b"\xEF\xBB\xBF\r\nBEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n").unwrap();
    }
}
