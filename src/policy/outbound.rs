//! R1: what a system event looks like when it goes to iCloud: no METHOD
//! property (ICLOUD.md §4, cal.com strips it too) and always an end
//! (QUIRK(iCloud) §4: a VEVENT without DTEND or DURATION is a 404).

use crate::ical::{self, StripSpec};

/// The bytes to PUT upstream for a stored system event.
pub fn for_icloud(stored: &[u8]) -> Vec<u8> {
    let stripped = ical::strip(
        stored,
        &StripSpec {
            properties: vec!["METHOD".into()],
            ..StripSpec::default()
        },
    );
    ical::ensure_end(&stripped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icloud_put_gets_dtend_and_loses_method() {
        let raw = b"BEGIN:VCALENDAR\r\nMETHOD:PUBLISH\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260101T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let out = String::from_utf8(for_icloud(raw)).unwrap();
        assert!(!out.contains("METHOD"), "{out}");
        assert!(out.contains("DTEND:20260101T100000Z"), "{out}");
        let day = b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART;VALUE=DATE:20261231\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let out = String::from_utf8(for_icloud(day)).unwrap();
        assert!(out.contains("DTEND;VALUE=DATE:20270101"), "{out}");
        let ok = b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260101T100000Z\r\nDURATION:PT1H\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        assert!(!String::from_utf8(for_icloud(ok)).unwrap().contains("DTEND"));
    }
}
