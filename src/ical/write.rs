//! Writing iCalendar text: CRLF lines folded at 75 octets on UTF-8
//! boundaries, escaped TEXT values, the busy-event and VFREEBUSY documents,
//! and line-level stripping of properties and components from stored
//! bytes (unfold, drop, refold; never a re-serialisation).

use chrono::{DateTime, Utc};

use super::busy::{BusyInterval, BusyKind};
use super::lines::{escape, parse_line, unfold};
use super::TimeRange;

const PRODID: &str = "-//calproxy//calproxy//EN";

/// Folds one content line at 75 octets (continuations start with a space),
/// never inside a UTF-8 sequence. Every physical line ends with CRLF.
pub fn fold_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / 70 * 3 + 2);
    let mut width = 0;
    for c in line.chars() {
        if c == '\r' || c == '\n' {
            continue;
        }
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
    out
}

fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// A whole VCALENDAR with one opaque VEVENT (a blocked slot).
pub fn busy_event(
    uid: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    summary: &str,
    dtstamp: DateTime<Utc>,
) -> String {
    let lines = [
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".to_string(),
        format!("PRODID:{PRODID}"),
        "BEGIN:VEVENT".to_string(),
        format!("UID:{}", escape(uid)),
        format!("DTSTAMP:{}", utc(dtstamp)),
        format!("DTSTART:{}", utc(start)),
        format!("DTEND:{}", utc(end)),
        format!("SUMMARY:{}", escape(summary)),
        "TRANSP:OPAQUE".to_string(),
        "END:VEVENT".to_string(),
        "END:VCALENDAR".to_string(),
    ];
    lines.iter().map(|l| fold_line(l)).collect()
}

/// A whole VCALENDAR with one VFREEBUSY (the RFC 4791 §7.10 answer);
/// intervals are clipped to the window and written one per line in UTC.
pub fn vfreebusy(window: TimeRange, intervals: &[BusyInterval], dtstamp: DateTime<Utc>) -> String {
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".to_string(),
        format!("PRODID:{PRODID}"),
        "BEGIN:VFREEBUSY".to_string(),
        format!("DTSTAMP:{}", utc(dtstamp)),
        format!("DTSTART:{}", utc(window.start)),
        format!("DTEND:{}", utc(window.end)),
    ];
    for i in intervals {
        let (s, e) = (i.start.max(window.start), i.end.min(window.end));
        if e <= s {
            continue;
        }
        let kind = match i.kind {
            BusyKind::Busy => "BUSY",
            BusyKind::Tentative => "BUSY-TENTATIVE",
        };
        lines.push(format!("FREEBUSY;FBTYPE={kind}:{}/{}", utc(s), utc(e)));
    }
    lines.push("END:VFREEBUSY".to_string());
    lines.push("END:VCALENDAR".to_string());
    lines.iter().map(|l| fold_line(l)).collect()
}

/// What [`strip`] removes or replaces (names compared case-insensitively).
#[derive(Clone, Debug, Default)]
pub struct StripSpec {
    /// Properties to drop, e.g. ATTENDEE, ORGANIZER, ATTACH.
    pub properties: Vec<String>,
    /// Components to drop with everything inside, e.g. VALARM.
    pub components: Vec<String>,
    /// Property name -> new TEXT value (escaped here), e.g. SUMMARY -> Busy.
    pub replace: Vec<(String, String)>,
}

/// Removes properties/components and replaces values line by line.
/// Invalid UTF-8 is replaced by U+FFFD; lines that do not parse are kept.
pub fn strip(bytes: &[u8], spec: &StripSpec) -> Vec<u8> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = String::from_utf8_lossy(bytes);
    let has = |list: &[String], name: &str| list.iter().any(|n| n.eq_ignore_ascii_case(name));
    let mut out = String::with_capacity(text.len());
    let mut skip_depth = 0usize;
    for l in unfold(&text) {
        if l.text.trim().is_empty() {
            continue;
        }
        let Ok(prop) = parse_line(&l.text, l.lineno) else {
            if skip_depth == 0 {
                out.push_str(&fold_line(&l.text));
            }
            continue;
        };
        let value = prop.value.trim();
        if skip_depth > 0 {
            match prop.name.as_str() {
                "BEGIN" => skip_depth += 1,
                "END" => skip_depth -= 1,
                _ => {}
            }
            continue;
        }
        if prop.name == "BEGIN" && has(&spec.components, value) {
            skip_depth = 1;
            continue;
        }
        if has(&spec.properties, &prop.name) {
            continue;
        }
        if let Some((_, new)) = spec
            .replace
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(&prop.name))
        {
            let head_end = l.text.len() - prop.value.len() - 1;
            let head = l.text.get(..head_end).unwrap_or(&prop.name);
            out.push_str(&fold_line(&format!("{head}:{}", escape(new))));
            continue;
        }
        out.push_str(&fold_line(&l.text));
    }
    out.into_bytes()
}

/// The UID of the busy block for an interval: fixed by its start and
/// end, so an unchanged block keeps its UID (and object name) across
/// refreshes and fetches.
pub fn busy_uid(i: &BusyInterval) -> String {
    format!(
        "calproxy-busy-{}-{}",
        i.start.timestamp(),
        i.end.timestamp()
    )
}

/// A whole VCALENDAR with one opaque "Busy" VEVENT per block: the webcal
/// availability feed. Each block carries its DTSTAMP (when it was
/// computed); UIDs derive from the interval ([`busy_uid`]).
pub fn busy_calendar(name: &str, blocks: &[(BusyInterval, DateTime<Utc>)]) -> String {
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".to_string(),
        format!("PRODID:{PRODID}"),
        "CALSCALE:GREGORIAN".to_string(),
        format!("X-WR-CALNAME:{}", escape(name)),
        "REFRESH-INTERVAL;VALUE=DURATION:PT15M".to_string(),
        "X-PUBLISHED-TTL:PT15M".to_string(),
    ];
    for (i, dtstamp) in blocks {
        lines.extend([
            "BEGIN:VEVENT".to_string(),
            format!("UID:{}", busy_uid(i)),
            format!("DTSTAMP:{}", utc(*dtstamp)),
            format!("DTSTART:{}", utc(i.start)),
            format!("DTEND:{}", utc(i.end)),
            "SUMMARY:Busy".to_string(),
            "TRANSP:OPAQUE".to_string(),
            "END:VEVENT".to_string(),
        ]);
    }
    lines.push("END:VCALENDAR".to_string());
    lines.iter().map(|l| fold_line(l)).collect()
}

/// Adds `DTEND` to every VEVENT that has neither DTEND nor DURATION:
/// equal to DTSTART for date-times, the next day for dates (RFC 5545
/// §3.6.1 defaults made explicit). Other lines are kept byte for byte.
pub fn ensure_end(bytes: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len() + 64);
    let mut in_event = 0usize;
    let mut has_end = false;
    let mut start: Option<super::lines::Prop> = None;
    let mut start_head = String::new();
    for l in unfold(&text) {
        let parsed = parse_line(&l.text, l.lineno).ok();
        if let Some(p) = &parsed {
            let value = p.value.trim();
            match p.name.as_str() {
                "BEGIN" if value.eq_ignore_ascii_case("VEVENT") => {
                    in_event = 1;
                    has_end = false;
                    start = None;
                }
                "BEGIN" if in_event > 0 => in_event += 1,
                "END" if in_event > 1 => in_event -= 1,
                "END" if in_event == 1 && value.eq_ignore_ascii_case("VEVENT") => {
                    in_event = 0;
                    if let (false, Some(s)) = (has_end, &start) {
                        out.push_str(&fold_line(&end_line(s, &start_head)));
                    }
                }
                "DTEND" | "DURATION" if in_event == 1 => has_end = true,
                "DTSTART" if in_event == 1 => {
                    start_head = l
                        .text
                        .get(..l.text.len().saturating_sub(p.value.len() + 1))
                        .unwrap_or("DTSTART")
                        .to_string();
                    start = Some(p.clone());
                }
                _ => {}
            }
        }
        out.push_str(&fold_line(&l.text));
    }
    out.into_bytes()
}

fn end_line(start: &super::lines::Prop, head: &str) -> String {
    let params = head.strip_prefix("DTSTART").unwrap_or("");
    let value = start.value.trim();
    let is_date = start
        .param("VALUE")
        .is_some_and(|v| v.eq_ignore_ascii_case("DATE"))
        || (value.len() == 8 && value.bytes().all(|b| b.is_ascii_digit()));
    if is_date {
        if let Ok(d) = chrono::NaiveDate::parse_from_str(value, "%Y%m%d") {
            if let Some(next) = d.succ_opt() {
                return format!("DTEND{params}:{}", next.format("%Y%m%d"));
            }
        }
    }
    format!("DTEND{params}:{value}")
}
