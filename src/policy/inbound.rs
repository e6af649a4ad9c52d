//! R5: what an iCloud event becomes locally. No contacts are made from
//! events: ATTENDEE, ORGANIZER, VALARM and ATTACH are removed; SUMMARY,
//! DESCRIPTION and LOCATION survive as the user's privacy level says.
//! Works line by line through `ical::strip`; never re-serialises.

use crate::ical::{self, StripSpec};
use crate::store::Privacy;

/// Properties that would create contacts or leak attachments (R5).
const ALWAYS_DROPPED: &[&str] = &[
    "ATTENDEE",
    "ORGANIZER",
    "ATTACH",
    "X-APPLE-STRUCTURED-LOCATION",
];

/// The bytes a user's own views serve for an event fetched from iCloud.
pub fn view(raw: &[u8], privacy: Privacy) -> Vec<u8> {
    let mut spec = StripSpec {
        properties: ALWAYS_DROPPED.iter().map(|s| s.to_string()).collect(),
        components: vec!["VALARM".into()],
        replace: Vec::new(),
    };
    match privacy {
        Privacy::Full => {}
        Privacy::Summary => {
            spec.properties
                .extend(["DESCRIPTION".into(), "LOCATION".into(), "URL".into()]);
        }
        Privacy::Busy => {
            spec.properties
                .extend(["DESCRIPTION".into(), "LOCATION".into(), "URL".into()]);
            spec.replace.push(("SUMMARY".into(), "Busy".into()));
        }
    }
    ical::strip(raw, &spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAW: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20260101T100000Z\r\nSUMMARY:Board meeting\r\nDESCRIPTION:secret agenda\r\nLOCATION:Room 1\r\nORGANIZER;CN=Boss:mailto:boss@example.com\r\nATTENDEE;CN=Ann;PARTSTAT=ACCEPTED:mailto:ann@exa\r\n mple.com\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    fn text(p: Privacy) -> String {
        String::from_utf8(view(RAW.as_bytes(), p)).unwrap()
    }

    #[test]
    fn r5_attendees_organizer_and_alarms_are_removed() {
        for p in [Privacy::Full, Privacy::Summary, Privacy::Busy] {
            let t = text(p);
            assert!(
                !t.contains("ATTENDEE") && !t.contains("ORGANIZER") && !t.contains("VALARM"),
                "{t}"
            );
            assert!(
                !t.contains("mple.com"),
                "folded continuation left behind: {t}"
            );
            assert!(t.contains("UID:x") && t.contains("DTSTART"), "{t}");
        }
    }

    #[test]
    fn r5_privacy_levels() {
        let full = text(Privacy::Full);
        assert!(full.contains("secret agenda") && full.contains("Room 1"));
        let summary = text(Privacy::Summary);
        assert!(
            summary.contains("Board meeting")
                && !summary.contains("secret agenda")
                && !summary.contains("Room 1")
        );
        let busy = text(Privacy::Busy);
        assert!(busy.contains("SUMMARY:Busy") && !busy.contains("Board meeting"));
    }
}
